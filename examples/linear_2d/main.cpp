// The paper's 2-D study (method.md sections 1 and 4): RL tuning of the 8-parameter LQ-MPC
// with the eight update rules (P1's seven and P2's GN-Momentum), against the benchmark MPC (11.901)
// and theta0 (26.350).
//
//   linear_2d                                   short TR-QN demo with progress
//   linear_2d --method tr-qn --iterations 40 [--seed S] [--threads T] [--json F] [--csv F]
//   linear_2d --compare [--seeds 3] [--methods gd,tr-gd,...] [--out DIR]
//   linear_2d --sweep FIRST LAST [--method M | --methods M1,M2] [--jobs J] [--out DIR]
//   linear_2d --test-set [--theta T1..T8 | training options]
//   linear_2d --policy X1 X2 [--theta T1..T8]
//   linear_2d --scaling --threads T [training options]   speed-up at 1..T threads
//   linear_2d --help | --version
// The whole command line is validated before anything runs (cli.hpp; exit status 2 and the
// flag named on error), output paths are checked writable before any training and a failed
// write is an error (results_io.hpp; exit status 1). CSVs start with "# key: value" lines
// (settings, rule, seed, rmpc version) and spell missing values nan; the JSON has the same
// record under "settings".
#include "cli.hpp"
#include "initial_states.hpp"
#include "common/seed_sweep.hpp"
#include "paper_loop.hpp"
#include "paper_model.hpp"
#include "policy_mode.hpp"
#include "results_io.hpp"

#include <rmpc/rl/checkpoint_json.hpp>
#include <rmpc/rl/log.hpp>
#include <rmpc/rl/loop.hpp>
#include <rmpc/rl/paper_preset.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using linear_2d::PaperMpc;
using Theta = Eigen::Matrix<double, linear_2d::np, 1>;
using linear_2d::States;
using Action = Eigen::Matrix<double, 1, 1>;

using linear_2d::TrueSystem;
using Loop = linear_2d::PaperLoop;

using linear_2d::read_states;
using linear_2d::training_states_file;

// Command line (cli.hpp) and results files (results_io.hpp).
using linear_2d::cli::Options;
using linear_2d::cli::parse_rule;
namespace io = linear_2d::io;

/// The benchmark MPC built in place: LqMpc must not be moved after set_parameters (its QP
/// solver keeps a pointer to the MPC's problem data).
std::unique_ptr<linear_2d::BenchmarkMpc> make_benchmark() {
  linear_2d::PaperModel model;
  model.terminal_P = linear_2d::terminal_P_true();
  rmpc::mpc::LqMpcSettings<double> settings;
  settings.derivative_order = 0;
  rmpc::mpc::LqSizes sizes = linear_2d::BenchmarkMpc::default_sizes();
  sizes.horizon = linear_2d::benchmark_horizon;
  auto mpc = std::make_unique<linear_2d::BenchmarkMpc>(model, sizes, settings);
  mpc->set_parameters(linear_2d::theta_true());
  return mpc;
}

std::unique_ptr<PaperMpc> make_mpc() {
  auto mpc = std::make_unique<PaperMpc>(linear_2d::PaperModel{});
  mpc->set_parameters(linear_2d::theta0());
  return mpc;
}

rmpc::rl::LoopSettings<double> loop_settings(const Options& o, rmpc::optim::UpdateRule rule,
                                             std::uint64_t seed) {
  rmpc::rl::LoopSettings<double> s =
      o.paper_preset ? rmpc::rl::paper_loop_settings<double>(rule, o.critic_epochs)
                     : rmpc::rl::LoopSettings<double>{};
  s.iterations = o.iterations;
  s.seed = seed;
  s.threads = o.threads;
  s.optimizer = rmpc::optim::paper_settings<double>(rule);
  s.critic = rmpc::rl::paper_critic_settings<double>(o.critic_epochs);
  s.first_fit_max_epochs = o.first_epochs;
  s.critic.sweeps = o.sweeps;
  if (o.restart >= 0) s.restart_on_stop = o.restart != 0;
  s.theta_lower = o.theta_lower;
  s.theta_upper = o.theta_upper;
  if (o.crn >= 0)
    s.common_random_numbers = o.crn == 0   ? rmpc::rl::CommonRandomNumbers::off
                              : o.crn == 1 ? rmpc::rl::CommonRandomNumbers::always
                                           : rmpc::rl::CommonRandomNumbers::trust_region;
  if (o.float_critic >= 0) s.float_critic = o.float_critic != 0;
  if (o.critic_model >= 0)
    s.critic_model =
        o.critic_model == 1 ? rmpc::rl::CriticModel::quadratic : rmpc::rl::CriticModel::network;
  if (o.critic_action >= 0) s.critic.action_relative = o.critic_action == 1;
  if (o.critic_returns >= 0) s.critic.monte_carlo_targets = o.critic_returns == 1;
  if (o.critic_lr > 0) s.critic.train.adam.learning_rate = o.critic_lr;
  if (o.critic_reset_adam >= 0) s.critic.train.reset_optimizer = o.critic_reset_adam != 0;
  if (o.simd_kernel >= 0) s.critic.train.simd_kernel = o.simd_kernel != 0;
  if (o.batch_size > 0) s.critic.train.batch_size = o.batch_size;
  if (o.buffer_episodes > 0) s.buffer_episodes = o.buffer_episodes;
  if (o.critic_hidden > 0) s.critic_hidden = o.critic_hidden;
  if (o.refit_on_reject >= 0) s.refit_on_reject = o.refit_on_reject != 0;
  if (o.store_rejected >= 0) s.store_rejected_batches = o.store_rejected != 0;
  if (o.ratio_test >= 0)
    s.ratio_test_cost = o.ratio_test == 1 ? rmpc::rl::RatioTestCost::deterministic_batch
                                          : rmpc::rl::RatioTestCost::exploring_batch;
  if (o.shrink_from_step >= 0)
    s.optimizer.trust_region.shrink_from_step_length = o.shrink_from_step != 0;
  if (o.exploration_floor >= 0) s.exploration.floor = o.exploration_floor;
  if (o.sigma >= 0) s.exploration.sigma = o.sigma;
  if (o.expand_factor >= 0) s.optimizer.trust_region.expand_factor = o.expand_factor;
  if (o.critic_targets >= 0)
    s.critic_targets = o.critic_targets == 1 ? rmpc::learn::TargetTransform::min_max
                                             : rmpc::learn::TargetTransform::log10_min_max;
  if (o.exploration_scale >= 0)
    s.exploration.scale = o.exploration_scale == 1 ? rmpc::rl::ExplorationScale::action
                                                   : rmpc::rl::ExplorationScale::cost;
  return s;
}

States training_states(const Options& o) {
  States s = read_states(training_states_file);
  if (o.episodes > 0 && o.episodes < s.cols()) s.conservativeResize(Eigen::NoChange, o.episodes);
  return s;
}

/// --checkpoint FILE: the run's state after every iteration, written to FILE.tmp and renamed
/// (a run killed while writing keeps the previous checkpoint).
void save_checkpoint(const Loop& loop, const std::string& path) {
  const std::string tmp = path + ".tmp";
  rmpc::rl::save_checkpoint(tmp, loop.checkpoint());
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error("--checkpoint: cannot write '" + path + "': " + ec.message());
}

rmpc::rl::LoopResult<double, linear_2d::np> train(const Options& o, rmpc::optim::UpdateRule rule,
                                                  std::uint64_t seed, const States& states) {
  Loop loop(TrueSystem{}, make_mpc, states, loop_settings(o, rule, seed));
  const std::string label = std::string(rmpc::optim::to_string(rule)) + " s" + std::to_string(seed);
  std::ofstream diagnosis;  // --diagnose (single run): rl/model_diagnosis.hpp, a row per model
  if (!o.diagnose.empty()) {
    diagnosis.open(o.diagnose);
    if (!diagnosis) throw std::runtime_error("--diagnose: cannot write '" + o.diagnose + "'");
    rmpc::rl::write_diagnosis_csv_header(diagnosis);
  }
  const auto on_iteration = [&](const Loop::Record& r) {
    if (!o.checkpoint.empty()) save_checkpoint(loop, o.checkpoint);
    if (diagnosis.is_open() && r.model_updated) {
      rmpc::rl::write_diagnosis_csv_row(diagnosis, loop, r.iteration);
      diagnosis.flush();
    }
    // One call per line: the runs of a sweep write from several threads.
    if (!o.quiet) std::fprintf(stderr, "%s\n", rmpc::rl::progress_line(r, label.c_str()).c_str());
  };
  if (o.resume.empty()) return loop.run(linear_2d::theta0(), on_iteration);
  return loop.resume(rmpc::rl::load_checkpoint<double, linear_2d::np>(o.resume), on_iteration);
}

/// The reference costs over the states a run trains on. method.md section 1 gives them over
/// all 50 training states (11.901, 26.350); a run on the first N (--episodes N) is compared
/// with the same references over its own N states.
struct References {
  double benchmark = 0;  ///< benchmark MPC (true model, N = 50)
  double untrained = 0;  ///< the paper's MPC at theta0
  Eigen::Index states = 0, all_states = 0;
  /// Which states: "the 50 training states" or "the first 4 of the 50 training states".
  std::string which() const {
    if (states == all_states) return "the " + std::to_string(all_states) + " training states";
    return "the first " + std::to_string(states) + " of the " + std::to_string(all_states) +
           " training states";
  }
};

References reference_costs(const States& states) {
  References ref;
  ref.states = states.cols();
  ref.all_states = read_states(training_states_file).cols();
  Loop untrained(TrueSystem{}, make_mpc, states, {});
  ref.untrained = untrained.evaluate(linear_2d::theta0(), states);
  // Benchmark: its own MPC, values only.
  auto bench_ptr = make_benchmark();
  auto& bench = *bench_ptr;
  for (Eigen::Index e = 0; e < states.cols(); ++e) {
    rmpc::rl::Episode<double, 2, 1> ep;
    rmpc::mpc::PolicyRequest req;
    req.du0_dtheta = req.d2u0_dtheta2 = req.du0_ds = false;
    const Eigen::Vector2d s0 = states.col(e);
    rmpc::rl::run_episode<double, 2, 1>(
        TrueSystem{}, s0, 50,
        [&](const Eigen::Vector2d& s, const Action&, int, Action& a) {
          const auto& r = bench.evaluate(s, req);
          a = r.u0;
          return r.qp_status == rmpc::qp::Status::optimal;
        },
        ep);
    ref.benchmark += ep.total_cost / double(states.cols());
  }
  return ref;
}

void print_reference_costs(const References& ref) {
  if (ref.states == ref.all_states) {
    std::printf(
        "benchmark MPC (true model, N = 50): mean cost %.4f over %d training states (method.md: "
        "11.901)\n",
        ref.benchmark, int(ref.states));
    std::printf("untrained MPC (theta0, N = 10):     mean cost %.4f (method.md: 26.350)\n",
                ref.untrained);
    return;
  }
  std::printf(
      "benchmark MPC (true model, N = 50): mean cost %.4f over %s (rows 1-%d of "
      "data/ecc24_train_initial_states.csv; method.md's 11.901 is over all %d)\n",
      ref.benchmark, ref.which().c_str(), int(ref.states), int(ref.all_states));
  std::printf(
      "untrained MPC (theta0, N = 10):     mean cost %.4f over the same %d states (method.md's "
      "26.350: all %d)\n",
      ref.untrained, int(ref.states), int(ref.all_states));
}

/// First iteration whose accepted deterministic cost is within `tol` of the benchmark (-1: never).
int iterations_to(const rmpc::rl::LoopResult<double, linear_2d::np>& r, double tol,
                  const References& ref) {
  return examples_common::first_iteration_within(r, (1.0 + tol) * ref.benchmark);
}

/// The statuses that mean the run never trained (nothing to deploy): exit status 1.
bool setup_failure(rmpc::rl::LoopStatus s) {
  return s == rmpc::rl::LoopStatus::no_initial_states || s == rmpc::rl::LoopStatus::setup_failed ||
         s == rmpc::rl::LoopStatus::initial_episodes_failed;
}

bool setup_failure(const std::string& status) {
  using rmpc::rl::LoopStatus;
  for (const auto s : {LoopStatus::no_initial_states, LoopStatus::setup_failed,
                       LoopStatus::initial_episodes_failed})
    if (status == rmpc::rl::to_string(s)) return true;
  return false;
}

/// The history CSV of one run, headed by its settings record and outcome (--csv, --compare,
/// --sweep).
void write_run_csv(const std::string& path, const Options& o, rmpc::optim::UpdateRule rule,
                   std::uint64_t seed, const States& states,
                   const rmpc::rl::LoopResult<double, linear_2d::np>& r, const References& ref) {
  io::Settings header =
      io::settings_record(o, loop_settings(o, rule, seed), true, seed, states.cols());
  header.push_back({"status", rmpc::rl::to_string(r.status), true});
  header.push_back({"best_cost", io::number(r.best_cost), false});
  header.push_back({"best_iteration", std::to_string(r.best_iteration), false});
  header.push_back({"benchmark_cost", io::number(ref.benchmark), false});
  header.push_back({"untrained_cost", io::number(ref.untrained), false});
  header.push_back({"reference_states", ref.which(), true});
  io::write_file(path, [&](std::ostream& f) {
    io::write_comment_header(f, header);
    rmpc::rl::write_history_csv(f, r);
  });
}

/// Exit status 1, naming the status, when the run never trained.
int setup_failure_exit(const rmpc::rl::LoopResult<double, linear_2d::np>& r, const char* what) {
  if (!setup_failure(r.status)) return 0;
  std::fprintf(stderr, "linear_2d: %s: the run did not train: loop status %s\n", what,
               rmpc::rl::to_string(r.status));
  return 1;
}

int run_single(const Options& o, const References* known = nullptr) {
  const States states = training_states(o);
  const References ref = known ? *known : reference_costs(states);
  const auto rule = parse_rule(o.method);
  const auto r = train(o, rule, o.seed, states);
  std::printf(
      "%s seed %llu: best deterministic cost %.5f at iteration %d (benchmark %.3f, theta0 %.3f "
      "over %s; within 5%% at it %d, 1%% at it %d); "
      "%.1f s (rollouts %.1f, sensitivities %.1f, critic %.1f, step %.2f, evaluation %.2f)\n",
      rmpc::optim::to_string(rule), static_cast<unsigned long long>(o.seed), r.best_cost,
      r.best_iteration, ref.benchmark, ref.untrained, ref.which().c_str(),
      iterations_to(r, 0.05, ref), iterations_to(r, 0.01, ref), r.wall_seconds, r.time.rollouts,
      r.time.sensitivities, r.time.critic, r.time.step, r.time.evaluation);
  std::printf("best theta:");
  for (Eigen::Index j = 0; j < r.best_theta.size(); ++j) std::printf(" %.6f", r.best_theta(j));
  std::printf("\n");
  // What a user deploys; %.17g so that a --sweep row can be compared with it bit for bit.
  const double final_cost =
      r.history.empty() ? std::numeric_limits<double>::quiet_NaN() : r.history.back().eval_cost;
  std::printf("final theta (status %s): deterministic cost %.17g\n", rmpc::rl::to_string(r.status),
              final_cost);
  // Settings record: full loop settings, rule, seed, rmpc version, command line.
  const io::Settings record =
      io::settings_record(o, loop_settings(o, rule, o.seed), true, o.seed, states.cols());
  if (!o.json.empty()) {
    io::write_file(o.json, [&](std::ostream& f) {
      rmpc::rl::write_summary_json(
          f, r,
          "\"program\": \"linear_2d\", \"rmpc_version\": " + io::json_string(rmpc::version_string) +
              ", \"method\": " + io::json_string(o.method) +
              ", \"rule\": " + io::json_string(rmpc::optim::to_string(rule)) + ", \"seed\": " +
              std::to_string(o.seed) + ", \"threads\": " + std::to_string(o.threads) +
              ", \"benchmark_cost\": " + io::number(ref.benchmark) +
              ", \"untrained_cost\": " + io::number(ref.untrained) + ", \"reference_states\": " +
              io::json_string(ref.which()) + ", \"settings\": " + io::json_object(record));
    });
    std::printf("wrote %s\n", o.json.c_str());
  }
  if (!o.csv.empty()) {
    write_run_csv(o.csv, o, rule, o.seed, states, r, ref);
    std::printf("wrote %s\n", o.csv.c_str());
  }
  std::printf("{\"best_cost\": %.6f}\n", r.best_cost);
  return setup_failure_exit(r, "--method");
}

/// --scaling: the single run at 1, 2, .., --threads threads, one after another: wall time,
/// phases and speed-up against one thread, and a check that every run ends bit for bit like
/// the first (exit status 1 otherwise: the result must not depend on the thread count).
int run_scaling(const Options& o) {
  const States states = training_states(o);
  const auto rule = parse_rule(o.method);
  std::printf("%s seed %llu, %d iterations, threads 1..%d:\n", rmpc::optim::to_string(rule),
              static_cast<unsigned long long>(o.seed), o.iterations, o.threads);
  std::printf("threads  wall s  speed-up  rollouts  sensitivities  critic   step\n");
  double one_thread = 0;
  rmpc::rl::LoopResult<double, linear_2d::np> first;
  bool identical = true;
  for (int t = 1; t <= o.threads; ++t) {
    Options ot = o;
    ot.threads = t;
    ot.quiet = true;
    const auto r = train(ot, rule, o.seed, states);
    if (setup_failure(r.status)) return setup_failure_exit(r, "--scaling");
    if (t == 1) {
      one_thread = r.wall_seconds;
      first = r;
    } else {
      identical = identical && r.theta == first.theta && r.best_theta == first.best_theta &&
                  r.best_cost == first.best_cost && r.history.size() == first.history.size();
    }
    std::printf("%7d  %6.2f  %7.2fx  %8.2f  %13.2f  %6.2f  %5.2f\n", t, r.wall_seconds,
                one_thread / r.wall_seconds, r.time.rollouts, r.time.sensitivities, r.time.critic,
                r.time.step);
    std::fflush(stdout);
  }
  if (!identical) {
    std::fprintf(stderr, "linear_2d: --scaling: the runs differ between thread counts\n");
    return 1;
  }
  std::printf("final and best theta identical bit for bit at every thread count\n");
  return 0;
}

/// --compare: o.methods (validated, canonical) x seeds; o.out was created and probed by main.
int run_compare(const Options& o) {
  const States states = training_states(o);
  const References ref = reference_costs(states);
  int failed = 0;  // runs that never trained (exit status 1 once everything is written)
  const std::vector<std::string>& names = o.methods;
  const std::string summary_path = o.out + "/summary.csv";
  std::ofstream summary(summary_path);
  if (!summary) throw std::runtime_error("cannot open '" + summary_path + "' for writing");
  io::write_comment_header(
      summary, io::settings_record(o, loop_settings(o, parse_rule(names.front()), o.seed), false,
                                   o.seed, states.cols()));
  summary << "method,seed,final_cost,best_cost,best_iteration,it_5pct,it_1pct,rejected,wall_s,t_"
             "rollouts,t_sensitivities,t_critic,t_step,t_evaluation\n";
  // Mean learning curve per method: best accepted deterministic cost so far, per iteration.
  std::map<std::string, std::vector<double>> curve;
  for (const auto& name : names) {
    const auto rule = parse_rule(name);
    std::vector<double>& c = curve[name];
    c.assign(std::size_t(o.iterations), 0.0);
    for (int k = 0; k < o.seeds; ++k) {
      const std::uint64_t seed = o.seed + std::uint64_t(k);
      const auto r = train(o, rule, seed, states);
      write_run_csv(o.out + "/" + name + "_seed" + std::to_string(seed) + ".csv", o, rule, seed,
                    states, r, ref);
      failed += setup_failure_exit(r, (name + " seed " + std::to_string(seed)).c_str());
      int rejected = 0;
      for (const auto& h : r.history) rejected += h.accepted ? 0 : 1;
      double best = std::numeric_limits<double>::infinity();
      for (int i = 0; i < o.iterations; ++i) {
        if (i < int(r.history.size()) && std::isfinite(r.history[std::size_t(i)].eval_cost))
          best = std::min(best, r.history[std::size_t(i)].eval_cost);
        c[std::size_t(i)] += best / o.seeds;
      }
      // What a user deploys: the deterministic cost of the final theta (best_cost is chosen by
      // monitoring evaluations the learner does not see).
      const double final_cost =
          r.history.empty() ? std::numeric_limits<double>::quiet_NaN() : r.history.back().eval_cost;
      summary << name << ',' << seed << ',' << final_cost << ',' << r.best_cost << ','
              << r.best_iteration << ',' << iterations_to(r, 0.05, ref) << ','
              << iterations_to(r, 0.01, ref) << ',' << rejected << ',' << r.wall_seconds << ','
              << r.time.rollouts << ',' << r.time.sensitivities << ',' << r.time.critic << ','
              << r.time.step << ',' << r.time.evaluation << "\n";
      summary.flush();
      if (!summary) throw std::runtime_error("writing '" + summary_path + "' failed");
      std::printf(
          "%-16s seed %llu  final %.5f  best %.5f (it %d)  5%%: it %d  1%%: it %d  rejected %d  "
          "%.1f s\n",
          name.c_str(), static_cast<unsigned long long>(seed), final_cost, r.best_cost,
          r.best_iteration, iterations_to(r, 0.05, ref), iterations_to(r, 0.01, ref), rejected,
          r.wall_seconds);
      std::fflush(stdout);
    }
  }
  summary.close();
  if (summary.fail()) throw std::runtime_error("writing '" + summary_path + "' failed");
  io::write_file(o.out + "/curves.dat", [&](std::ostream& f) {
    f << "# iteration";
    for (const auto& n : names) f << ' ' << n;
    f << "\n";
    for (int i = 0; i < o.iterations; ++i) {
      f << i;
      for (const auto& n : names) f << ' ' << io::number(curve[n][std::size_t(i)]);
      f << "\n";
    }
  });
  std::printf("wrote %s, %s/curves.dat and one CSV per run in %s\n", summary_path.c_str(),
              o.out.c_str(), o.out.c_str());
  const std::string gp_path = o.out + "/curves.gp", png = o.out + "/learning_curves.png";
  auto write_gp = [&](const char* terminal) {
    io::write_file(gp_path, [&](std::ostream& gp) {
      gp << "set terminal " << terminal << "\nset output '" << png << "'\n"
         << "set xlabel 'RL iteration (batch of " << states.cols()
         << " episodes)'\nset ylabel 'best closed-loop cost so far (" << states.cols()
         << " training states)'\n"
         << "set logscale y\nset key top right\nset grid\nset title 'linear\\_2d: mean over "
         << o.seeds << " seeds'\n"
         << "plot ";
      for (std::size_t k = 0; k < names.size(); ++k)
        gp << "'" << o.out << "/curves.dat' using 1:" << (k + 2)
           << " with linespoints pt 7 ps 0.5 title '" << names[k] << "', ";
      char title[64];
      std::snprintf(title, sizeof title, "benchmark %.4f", ref.benchmark);
      gp << io::number(ref.benchmark) << " with lines dt 2 lw 2 lc rgb 'black' title '" << title
         << "'\n";
    });
  };
  if (examples_common::plot_png(gp_path, png, write_gp))
    std::printf("wrote %s\n", png.c_str());
  else
    std::printf("gnuplot not found: skipped the plot (data in %s/curves.dat, script %s)\n",
                o.out.c_str(), gp_path.c_str());
  if (failed > 0) {
    std::fprintf(stderr, "linear_2d: %d run(s) did not train (loop status above)\n", failed);
    return 1;
  }
  return 0;
}

/// --sweep FIRST LAST: o.methods x seeds FIRST..LAST, --jobs runs at a time, each on one
/// thread (a run's result does not depend on its thread count: the same seed alone gives the
/// same row); o.out was created and probed by main. The rows stream in seed order.
int run_sweep(const Options& o) {
  namespace ec = examples_common;
  const States states = training_states(o);
  const References ref = reference_costs(states);
  const double threshold = 1.01 * ref.benchmark;
  const auto tasks = ec::sweep_tasks(o.methods, o.sweep_first, o.sweep_last);
  const int jobs = int(
      std::min<std::size_t>(std::size_t(o.jobs > 0 ? o.jobs : ec::default_jobs()), tasks.size()));
  Options one = o;  // each run single-threaded: the cores go to the runs in parallel
  one.threads = 1;
  print_reference_costs(ref);
  std::printf("sweep: %zu run(s), seeds %llu..%llu, %d at a time, each on one thread\n",
              tasks.size(), static_cast<unsigned long long>(o.sweep_first),
              static_cast<unsigned long long>(o.sweep_last), jobs);
  std::fflush(stdout);
  const std::string csv_path = o.out + "/sweep.csv";
  std::ofstream csv(csv_path);
  if (!csv) throw std::runtime_error("cannot open '" + csv_path + "' for writing");
  io::Settings record =
      io::settings_record(one, loop_settings(one, parse_rule(o.methods.front()), o.sweep_first),
                          false, o.sweep_first, states.cols());
  record.push_back({"jobs", std::to_string(jobs), false});
  record.push_back({"benchmark_cost", io::number(ref.benchmark), false});
  record.push_back({"untrained_cost", io::number(ref.untrained), false});
  record.push_back({"reference_states", ref.which(), true});
  io::write_comment_header(csv, record);
  ec::write_sweep_csv_header(csv, linear_2d::np);
  int failed = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto rows = ec::run_sweep(
      tasks, jobs,
      [&](const ec::SweepTask& t) {
        const auto rule = parse_rule(t.method);
        const auto r = train(one, rule, t.seed, states);
        write_run_csv(o.out + "/" + t.method + "_seed" + std::to_string(t.seed) + ".csv", one, rule,
                      t.seed, states, r, ref);
        return ec::make_row(t.method, t.seed, r, ref.benchmark, states.cols());
      },
      [&](const ec::SweepRow& row) {  // in seed order, one at a time
        ec::write_sweep_csv_row(csv, row);
        csv.flush();
        if (!csv) throw std::runtime_error("writing '" + csv_path + "' failed");
        std::printf(
            "%-16s seed %llu  %s  final %.5f  best %.5f (it %d)  5%%: it %d  1%%: it %d  "
            "%.1f s\n",
            row.method.c_str(), static_cast<unsigned long long>(row.seed), row.status.c_str(),
            row.final_cost, row.best_cost, row.best_iteration, row.it_5pct, row.it_1pct,
            row.wall_seconds);
        std::fflush(stdout);
        if (setup_failure(row.status)) {
          std::fprintf(stderr, "linear_2d: %s seed %llu: the run did not train: loop status %s\n",
                       row.method.c_str(), static_cast<unsigned long long>(row.seed),
                       row.status.c_str());
          ++failed;
        }
      });
  csv.close();
  if (csv.fail()) throw std::runtime_error("writing '" + csv_path + "' failed");
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char timing[160];
  std::snprintf(timing, sizeof timing, "%zu run(s) in %.1f s wall, %d at a time\n", rows.size(),
                wall, jobs);
  const std::string summary =
      std::string(timing) + ec::summary_text(ec::summarize(rows, o.methods, threshold), threshold,
                                             ref.benchmark, "over " + ref.which());
  io::write_file(o.out + "/sweep_summary.txt", [&](std::ostream& f) {
    f << "linear_2d --sweep " << o.sweep_first << ' ' << o.sweep_last << " (" << o.command_line
      << ")\n"
      << summary;
  });
  std::printf("%s", summary.c_str());
  std::printf("wrote %s, %s/sweep_summary.txt and one CSV per run in %s\n", csv_path.c_str(),
              o.out.c_str(), o.out.c_str());
  const std::string dat = o.out + "/sweep.dat", gp_path = o.out + "/sweep.gp",
                    png = o.out + "/sweep_final_cost.png";
  io::write_file(dat, [&](std::ostream& f) { ec::write_distribution_dat(f, rows, o.methods); });
  const std::string title = "linear_2d: final theta, seeds " + std::to_string(o.sweep_first) +
                            ".." + std::to_string(o.sweep_last);
  const std::string ylabel =
      "deterministic cost of the final theta (" + std::to_string(states.cols()) + " states)";
  const bool plotted = ec::plot_png(gp_path, png, [&](const char* terminal) {
    io::write_file(gp_path, [&](std::ostream& gp) {
      ec::write_distribution_gp(gp, terminal, dat, png, rows, o.methods, threshold, title, ylabel);
    });
  });
  if (plotted)
    std::printf("wrote %s\n", png.c_str());
  else
    std::printf("gnuplot not found: skipped the plot (data in %s, script %s)\n", dat.c_str(),
                gp_path.c_str());
  if (failed > 0) {
    std::fprintf(stderr, "linear_2d: %d run(s) did not train (loop status above)\n", failed);
    return 1;
  }
  return 0;
}

/// One closed loop of 50 steps: cost, max box violation, violating (point, component) entries.
struct LoopStats {
  double cost = 0, max_violation = 0;
  int violations = 0;
  bool ok = true;
  bool threw = false;  // the QP solver threw (reported separately)
};
template <class Mpc>
LoopStats closed_loop_stats(Mpc& mpc, const Eigen::Vector2d& s0) {
  rmpc::rl::Episode<double, 2, 1> ep;
  rmpc::mpc::PolicyRequest req;
  req.du0_dtheta = req.d2u0_dtheta2 = req.du0_ds = false;
  rmpc::rl::run_episode<double, 2, 1>(
      TrueSystem{}, s0, 50,
      [&](const Eigen::Vector2d& s, const Action&, int k, Action& a) {
        req.warm_start = k > 0;
        const auto& r = mpc.evaluate(s, req);
        a = r.u0;
        return r.qp_status == rmpc::qp::Status::optimal;
      },
      ep);
  LoopStats st;
  st.ok = ep.ok();
  st.cost = ep.total_cost;
  auto check = [&](const Eigen::Vector2d& x) {
    for (int i = 0; i < 2; ++i) {
      const double v =
          std::max({0.0, x(i) - linear_2d::state_ub()(i), linear_2d::state_lb()(i) - x(i)});
      st.max_violation = std::max(st.max_violation, v);
      if (v > 1e-9) ++st.violations;
    }
  };
  for (int k = 0; k < ep.length; ++k) check(ep.states.col(k));
  if (ep.length > 0) check(ep.next_states.col(ep.length - 1));
  return st;
}

int run_test_set(const Options& o) {
  const States test = read_states(LINEAR_2D_DATA_DIR "/ecc24_test_initial_states.csv");
  Theta theta = o.theta;
  std::string source = "--theta";
  if (!o.has_theta) {
    const auto r = train(o, parse_rule(o.method), o.seed, training_states(o));
    if (setup_failure(r.status)) return setup_failure_exit(r, "--test-set");
    theta = r.best_theta;
    source = o.method + " seed " + std::to_string(o.seed) + " best (training cost " +
             std::to_string(r.best_cost) + ")";
  }
  const Eigen::Index n = test.cols();
  const auto count = static_cast<std::size_t>(n);
  std::vector<LoopStats> bench(count), untrained(count), learned(count);
  const int workers = std::max(o.threads, 1);
  std::vector<std::unique_ptr<linear_2d::BenchmarkMpc>> bm;
  std::vector<std::unique_ptr<PaperMpc>> um, lm;
  for (int w = 0; w < workers; ++w) {
    bm.push_back(make_benchmark());
    um.push_back(make_mpc());
    lm.push_back(make_mpc());
    lm.back()->set_parameters(theta);
  }
  rmpc::rl::parallel_for(n, workers, [&](std::ptrdiff_t e, int w) {
    const Eigen::Vector2d s0 = test.col(e);
    // A solver exception (a QP bug, not a numerical status) marks that loop failed and is counted.
    auto guarded = [&](auto& mpc, std::vector<LoopStats>& out) {
      try {
        out[std::size_t(e)] = closed_loop_stats(mpc, s0);
      } catch (const std::exception&) {
        out[std::size_t(e)].ok = false;
        out[std::size_t(e)].threw = true;
      }
    };
    guarded(*bm[std::size_t(w)], bench);
    guarded(*um[std::size_t(w)], untrained);
    guarded(*lm[std::size_t(w)], learned);
  });
  for (const auto* v : {&bench, &untrained, &learned}) {
    int threw = 0;
    for (const auto& st : *v) threw += st.threw ? 1 : 0;
    if (threw > 0)
      std::printf("warning: the QP solver threw on %d closed loops (%s)\n", threw,
                  v == &bench       ? "benchmark"
                  : v == &untrained ? "untrained"
                                    : "learned");
  }
  std::vector<std::size_t> kept;
  for (std::size_t e = 0; e < std::size_t(n); ++e)
    if (bench[e].ok && bench[e].max_violation <= 1e-9) kept.push_back(e);
  std::printf(
      "test set: %d states, %d kept (benchmark violates the box by > 1e-9 from %d; method.md: 510 "
      "dropped)\n",
      int(n), int(kept.size()), int(n - Eigen::Index(kept.size())));
  std::printf("learned theta from %s:", source.c_str());
  for (Eigen::Index j = 0; j < theta.size(); ++j) std::printf(" %.6f", theta(j));
  std::printf("\n%-22s %9s %11s %10s %10s %14s %12s\n", "controller", "feasible", "infeasible",
              "mean cost", "std", "max violation", "violations");
  auto row = [&](const char* name, const std::vector<LoopStats>& s) {
    int feasible = 0, viol = 0;
    double mean = 0, sq = 0, maxv = 0;
    for (auto e : kept) {
      feasible += s[e].violations == 0 && s[e].ok ? 1 : 0;
      viol += s[e].violations;
      mean += s[e].cost;
      sq += s[e].cost * s[e].cost;
      maxv = std::max(maxv, s[e].max_violation);
    }
    const double m = double(kept.size());
    mean /= m;
    const double sd = std::sqrt(std::max(0.0, sq / m - mean * mean) * m / (m - 1));
    std::printf("%-22s %9d %11d %10.4f %10.4f %14.4g %12d\n", name, feasible,
                int(kept.size()) - feasible, mean, sd, maxv, viol);
  };
  row("benchmark (N=50, true)", bench);
  row("untrained (theta0)", untrained);
  row("learned", learned);
  return 0;
}

int run_policy(const Options& o) { return linear_2d::print_policy_json(o.policy_state, o.theta); }

int run_demo(Options o) {
  const States states = training_states(o);
  const References ref = reference_costs(states);
  print_reference_costs(ref);
  std::printf(
      "demo: TR-QN, %d RL iterations of %d episodes (full study: --iterations 40, or --compare)\n",
      o.iterations, int(states.cols()));
  std::fflush(stdout);
  return run_single(o, &ref);
}

void usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: linear_2d                      short TR-QN demo (8 iterations) with progress\n"
      "       linear_2d --method M [--iterations K] [training options] [--json FILE] [--csv FILE]\n"
      "       linear_2d --compare [--seeds N] [--methods M1,M2,..] [--out DIR] [training options]\n"
      "       linear_2d --sweep FIRST LAST [--method M | --methods M1,M2,..] [--jobs J] [--out "
      "DIR]\n"
      "                 [training options but --seed, --threads]\n"
      "       linear_2d --test-set [--method M] [training options]\n"
      "       linear_2d --test-set --theta T1 .. T8 [--threads T]\n"
      "       linear_2d --policy X1 X2 [--theta T1 .. T8]\n"
      "       linear_2d --scaling --threads T [training options]\n"
      "       linear_2d --help | --version\n"
      "methods (case-insensitive, '-' or '_'): %s (default tr-qn)\n"
      "training options:\n"
      "  --iterations K          RL iterations, 1..100000 (default 40, demo 8)\n"
      "  --seed S                0..2^64-1 (default 0; --compare runs seeds S..S+N-1)\n"
      "  --threads T             1..1024 (default 1; results do not depend on it)\n"
      "  --episodes N            the first N training states, 1..number of states (default all "
      "50);\n"
      "                          the benchmark and theta0 costs printed are over the same N\n"
      "  --critic-epochs E       >= 1 (default 25)      --first-epochs E     >= 1 (default 60)\n"
      "  --sweeps K              1..10000 (default 10)  --critic-lr LR       > 0 (default 1e-3)\n"
      "  --critic-reset-adam 0|1 fresh Adam moments for every fit (default 1, the paper) or\n"
      "                          each network's moments carried from its previous fit\n"
      "  --batch-size B          >= 1 (default 256)     --buffer-episodes E  1..1000000 (default "
      "250)\n"
      "  --critic-hidden W       1..1000: width of the critic's two tanh layers (default 20)\n"
      "  --exploration-floor F   in [0, 1] (default 0.01)\n"
      "  --sigma S               > 0 (default 0.1)\n"
      "  --critic-targets log|linear  the critic fits log10 (default, the paper) or plain\n"
      "                          min-max scaled costs\n"
      "  --expand-factor F       >= 1: the trust radius after a very successful step is F times\n"
      "                          larger (default 2, the paper)\n"
      "  --exploration-scale cost|action  what sigma measures: the change of the input u0 that\n"
      "                          d causes (action, default) or d itself (cost, the paper)\n"
      "  --crn off|on|tr         common random numbers (default tr: trust-region rules only)\n"
      "  --float-critic 0|1      (default 1)            --shrink-from-step 0|1 (default 0)\n"
      "  --simd-kernel 0|1       float critic fits by the AVX2/FMA kernel where the CPU has it\n"
      "                          (default 1) or by Eigen's products (0: the same digits on\n"
      "                          every x86-64 CPU, ~2.6x slower fits)\n"
      "  --critic network|quadratic  the critic's function class (default network, the paper;\n"
      "                          quadratic: least squares, LoopSettings::critic_model)\n"
      "  --critic-action action|deviation  the critic's action input: a (default, the paper)\n"
      "                          or a - pi(s) (FittedQSettings::action_relative)\n"
      "  --critic-returns sweeps|observed  k fitted-Q sweeps (default, the paper) or one fit to\n"
      "                          the observed k-step returns "
      "(FittedQSettings::monte_carlo_targets)\n"
      "  --refit-on-reject 0|1   (default 1)            --restart 0|1        (default 1)\n"
      "  --store-rejected 0|1    a rejected trial's batch enters the memory (default 1, the "
      "paper)\n"
      "  --theta-lower L1 .. L8  --theta-upper U1 .. U8 box bounds on theta (-inf / inf: none; "
      "default none)\n"
      "  --preset paper|default  start from the paper's loop (rl/paper_preset.hpp) or the "
      "defaults\n"
      "  --quiet\n"
      "  --scaling               run the training at 1, 2, .., --threads threads in turn: wall\n"
      "                          time, phases and speed-up against 1 thread; exit status 1 if\n"
      "                          the results differ (they must not depend on the threads)\n"
      "  --ratio-test exploring|deterministic  cost the trust-region ratio test compares (default "
      "exploring)\n"
      "outputs (checked writable before any training; a failed write exits with status 1):\n"
      "  --json FILE             summary, history and the settings record (single run)\n"
      "  --diagnose FILE         single run: after each new model, its critic's dQ/da, d2Q/da2 "
      "and\n"
      "                          DPG g, H against true 10-step rollouts at every memory state, "
      "and\n"
      "                          dJ/dtheta by central differences (rmpc/rl/model_diagnosis.hpp)\n"
      "  --checkpoint FILE       single run: its state (theta, critic, optimizer, memory) as JSON\n"
      "                          after every iteration\n"
      "  --resume FILE           continue the run saved in FILE: the same flags (checked; only\n"
      "                          --iterations, which must exceed the saved iteration, and\n"
      "                          --threads may change), the same result as one long run\n"
      "  --csv FILE              history; '# key: value' settings lines first; nan for missing "
      "values\n"
      "  --out DIR               --compare: one CSV per run, summary.csv, curves.dat, curves.gp,\n"
      "                          learning_curves.png (default linear_2d_results)\n"
      "                          --sweep: one CSV per run, sweep.csv (one row per run: final and\n"
      "                          best cost, iterations to 5 %% / 1 %%, status, final theta; "
      "%%.17g),\n"
      "                          sweep_summary.txt, sweep.dat, sweep.gp, sweep_final_cost.png\n"
      "--sweep FIRST LAST: seeds FIRST..LAST (inclusive, at most 10000) of each method (default\n"
      "  tr-qn), --jobs J runs at a time (1..1024, default one per core), each on one thread: a\n"
      "  row equals the single run with the same seed. Rows and output in seed order.\n"
      "--theta takes exactly 8 finite numbers, --policy 2. Exit status: 0 ok, 1 failure (also a\n"
      "run that did not train: loop status setup_failed, initial_episodes_failed), 2 bad command "
      "line.\n",
      linear_2d::cli::method_names().c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // 1. The whole command line, before anything runs (exit status 2 on a bad one).
  Options o;
  try {
    o = linear_2d::cli::parse(argc, argv, [] {
      return static_cast<long long>(read_states(training_states_file).cols());
    });
  } catch (const linear_2d::cli::UsageError& e) {
    std::fprintf(stderr, "linear_2d: %s\nrun 'linear_2d --help' for the usage\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "linear_2d: %s\n", e.what());
    return 1;
  }
  if (o.help) {
    usage(stdout);
    return 0;
  }
  if (o.version) {
    std::printf("linear_2d (rmpc %s)\n", rmpc::version_string);
    return 0;
  }
  try {
    // 2. Output paths, before any training.
    if (!o.json.empty()) io::check_writable_file("--json", o.json);
    if (!o.csv.empty()) io::check_writable_file("--csv", o.csv);
    if (!o.diagnose.empty()) io::check_writable_file("--diagnose", o.diagnose);
    if (!o.checkpoint.empty()) {
      // Renamed over at every iteration: only a regular file (or none) may be replaced.
      std::error_code ec;
      const auto st = std::filesystem::symlink_status(o.checkpoint, ec);
      if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
        throw std::runtime_error("--checkpoint: '" + o.checkpoint +
                                 "' exists and is not a regular file");
      io::check_writable_file("--checkpoint", o.checkpoint + ".tmp");
    }
    if (!o.resume.empty())  // read and checked against the run before any training
      (void)rmpc::rl::load_checkpoint<double, linear_2d::np>(o.resume);
    if (o.mode == linear_2d::cli::Mode::compare || o.mode == linear_2d::cli::Mode::sweep)
      io::prepare_output_dir("--out", o.out);
    // 3. The run.
    switch (o.mode) {
      case linear_2d::cli::Mode::policy: return run_policy(o);
      case linear_2d::cli::Mode::compare: return run_compare(o);
      case linear_2d::cli::Mode::sweep: return run_sweep(o);
      case linear_2d::cli::Mode::test_set: return run_test_set(o);
      case linear_2d::cli::Mode::demo: o.iterations = 8; return run_demo(o);
      case linear_2d::cli::Mode::single: return o.scaling ? run_scaling(o) : run_single(o);
    }
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "linear_2d: %s\n", e.what());
    return 1;
  }
}
