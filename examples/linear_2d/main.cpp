// The paper's 2-D study (method.md sections 1 and 4): RL tuning of the 8-parameter LQ-MPC
// with the eight update rules (P1's seven and P2's GN-Momentum), against the benchmark MPC (11.901)
// and theta0 (26.350).
//
//   linear_2d                                   short TR-QN demo with progress
//   linear_2d --method tr-qn --iterations 40 [--seed S] [--threads T] [--json F] [--csv F]
//   linear_2d --compare [--seeds 3] [--methods gd,tr-gd,...] [--out DIR]
//   linear_2d --test-set [--theta T1..T8 | training options]
//   linear_2d --policy X1 X2 [--theta T1..T8]
//   linear_2d --help | --version
// The whole command line is validated before anything runs (cli.hpp; exit status 2 and the
// flag named on error), output paths are checked writable before any training and a failed
// write is an error (results_io.hpp; exit status 1). CSVs start with "# key: value" lines
// (settings, rule, seed, rmpc version) and spell missing values nan; the JSON has the same
// record under "settings".
#include "cli.hpp"
#include "paper_loop.hpp"
#include "paper_model.hpp"
#include "policy_mode.hpp"
#include "results_io.hpp"

#include <rmpc/rl/checkpoint_json.hpp>
#include <rmpc/rl/log.hpp>
#include <rmpc/rl/loop.hpp>
#include <rmpc/rl/paper_preset.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef LINEAR_2D_DATA_DIR
#define LINEAR_2D_DATA_DIR "data"
#endif

namespace {

using linear_2d::PaperMpc;
using Theta = Eigen::Matrix<double, linear_2d::np, 1>;
using States = Eigen::Matrix<double, 2, Eigen::Dynamic>;
using Action = Eigen::Matrix<double, 1, 1>;

constexpr double benchmark_cost = 11.901;  // method.md section 1
constexpr double untrained_cost = 26.350;

using linear_2d::TrueSystem;
using Loop = linear_2d::PaperLoop;

States read_states(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<Eigen::Vector2d> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto comma = line.find(',');
    rows.emplace_back(std::stod(line.substr(0, comma)), std::stod(line.substr(comma + 1)));
  }
  States s(2, Eigen::Index(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) s.col(Eigen::Index(i)) = rows[i];
  return s;
}

// Command line (cli.hpp) and results files (results_io.hpp).
using linear_2d::cli::Options;
using linear_2d::cli::parse_rule;
namespace io = linear_2d::io;
constexpr const char* training_states_file = LINEAR_2D_DATA_DIR "/ecc24_train_initial_states.csv";

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
  if (o.critic_lr > 0) s.critic.train.adam.learning_rate = o.critic_lr;
  if (o.batch_size > 0) s.critic.train.batch_size = o.batch_size;
  if (o.buffer_episodes > 0) s.buffer_episodes = o.buffer_episodes;
  if (o.refit_on_reject >= 0) s.refit_on_reject = o.refit_on_reject != 0;
  if (o.ratio_test >= 0)
    s.ratio_test_cost = o.ratio_test == 1 ? rmpc::rl::RatioTestCost::deterministic_batch
                                          : rmpc::rl::RatioTestCost::exploring_batch;
  if (o.shrink_from_step >= 0)
    s.optimizer.trust_region.shrink_from_step_length = o.shrink_from_step != 0;
  if (o.exploration_floor >= 0) s.exploration.floor = o.exploration_floor;
  if (o.sigma >= 0) s.exploration.sigma = o.sigma;
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
  const auto on_iteration = [&](const Loop::Record& r) {
    if (!o.checkpoint.empty()) save_checkpoint(loop, o.checkpoint);
    if (!o.quiet) std::cerr << rmpc::rl::progress_line(r, label.c_str()) << std::endl;
  };
  if (o.resume.empty()) return loop.run(linear_2d::theta0(), on_iteration);
  return loop.resume(rmpc::rl::load_checkpoint<double, linear_2d::np>(o.resume), on_iteration);
}

/// First iteration whose accepted deterministic cost is within `tol` of the benchmark (-1: never).
int iterations_to(const rmpc::rl::LoopResult<double, linear_2d::np>& r, double tol) {
  for (const auto& h : r.history)
    if (std::isfinite(h.eval_cost) && h.eval_cost <= (1.0 + tol) * benchmark_cost)
      return h.iteration;
  return -1;
}

void print_reference_costs(const States& states) {
  Loop untrained(TrueSystem{}, make_mpc, states, {});
  const double ju = untrained.evaluate(linear_2d::theta0(), states);
  // Benchmark: its own MPC, values only.
  auto bench_ptr = make_benchmark();
  auto& bench = *bench_ptr;
  double jb = 0;
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
    jb += ep.total_cost / double(states.cols());
  }
  std::printf(
      "benchmark MPC (true model, N = 50): mean cost %.4f over %d training states (method.md: "
      "11.901)\n",
      jb, int(states.cols()));
  std::printf("untrained MPC (theta0, N = 10):     mean cost %.4f (method.md: 26.350)\n", ju);
}

int run_single(const Options& o) {
  const States states = training_states(o);
  const auto rule = parse_rule(o.method);
  const auto r = train(o, rule, o.seed, states);
  std::printf(
      "%s seed %llu: best deterministic cost %.5f at iteration %d (benchmark %.3f; within 5%% at "
      "it %d, 1%% at it %d); "
      "%.1f s (rollouts %.1f, sensitivities %.1f, critic %.1f, step %.2f, evaluation %.2f)\n",
      rmpc::optim::to_string(rule), static_cast<unsigned long long>(o.seed), r.best_cost,
      r.best_iteration, benchmark_cost, iterations_to(r, 0.05), iterations_to(r, 0.01),
      r.wall_seconds, r.time.rollouts, r.time.sensitivities, r.time.critic, r.time.step,
      r.time.evaluation);
  std::printf("best theta:");
  for (Eigen::Index j = 0; j < r.best_theta.size(); ++j) std::printf(" %.6f", r.best_theta(j));
  std::printf("\n");
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
              ", \"benchmark_cost\": 11.901, \"settings\": " + io::json_object(record));
    });
    std::printf("wrote %s\n", o.json.c_str());
  }
  if (!o.csv.empty()) {
    io::Settings header = record;
    header.push_back({"status", rmpc::rl::to_string(r.status), true});
    header.push_back({"best_cost", io::number(r.best_cost), false});
    header.push_back({"best_iteration", std::to_string(r.best_iteration), false});
    header.push_back({"benchmark_cost", io::number(benchmark_cost), false});
    io::write_file(o.csv, [&](std::ostream& f) {
      io::write_comment_header(f, header);
      rmpc::rl::write_history_csv(f, r);
    });
    std::printf("wrote %s\n", o.csv.c_str());
  }
  std::printf("{\"best_cost\": %.6f}\n", r.best_cost);
  return 0;
}

bool have_gnuplot() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

/// --compare: o.methods (validated, canonical) x seeds; o.out was created and probed by main.
int run_compare(const Options& o) {
  const States states = training_states(o);
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
      io::Settings header =
          io::settings_record(o, loop_settings(o, rule, seed), true, seed, states.cols());
      header.push_back({"status", rmpc::rl::to_string(r.status), true});
      header.push_back({"best_cost", io::number(r.best_cost), false});
      header.push_back({"best_iteration", std::to_string(r.best_iteration), false});
      io::write_file(o.out + "/" + name + "_seed" + std::to_string(seed) + ".csv",
                     [&](std::ostream& f) {
                       io::write_comment_header(f, header);
                       rmpc::rl::write_history_csv(f, r);
                     });
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
              << r.best_iteration << ',' << iterations_to(r, 0.05) << ',' << iterations_to(r, 0.01)
              << ',' << rejected << ',' << r.wall_seconds << ',' << r.time.rollouts << ','
              << r.time.sensitivities << ',' << r.time.critic << ',' << r.time.step << ','
              << r.time.evaluation << "\n";
      summary.flush();
      if (!summary) throw std::runtime_error("writing '" + summary_path + "' failed");
      std::printf(
          "%-16s seed %llu  final %.5f  best %.5f (it %d)  5%%: it %d  1%%: it %d  rejected %d  "
          "%.1f s\n",
          name.c_str(), static_cast<unsigned long long>(seed), final_cost, r.best_cost,
          r.best_iteration, iterations_to(r, 0.05), iterations_to(r, 0.01), rejected,
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
         << "set xlabel 'RL iteration (batch of 50 episodes)'\nset ylabel 'best closed-loop cost "
            "so far (50 training states)'\n"
         << "set logscale y\nset key top right\nset grid\nset title 'linear\\_2d: mean over "
         << o.seeds << " seeds'\n"
         << "plot ";
      for (std::size_t k = 0; k < names.size(); ++k)
        gp << "'" << o.out << "/curves.dat' using 1:" << (k + 2)
           << " with linespoints pt 7 ps 0.5 title '" << names[k] << "', ";
      gp << benchmark_cost << " with lines dt 2 lw 2 lc rgb 'black' title 'benchmark 11.901'\n";
    });
  };
  write_gp("pngcairo size 800,500 font ',10'");
  if (!have_gnuplot()) {
    std::printf("gnuplot not found: skipped the plot (data in %s/curves.dat, script %s)\n",
                o.out.c_str(), gp_path.c_str());
    return 0;
  }
  // A stale plot must not pass for a new one: the plot counts as written only if gnuplot
  // succeeds and the file exists afterwards.
  std::error_code ec;
  std::filesystem::remove(png, ec);
  auto plotted = [&](const char* redirect) {
    return std::system(("gnuplot '" + gp_path + "'" + redirect).c_str()) == 0 &&
           std::filesystem::exists(png, ec);
  };
  bool ok = plotted(" 2>/dev/null");
  if (!ok) {
    // pngcairo missing in some builds: fall back to the plain png terminal.
    write_gp("png size 800,500");
    ok = plotted("");
  }
  if (!ok)
    throw std::runtime_error("gnuplot did not write " + png + " (data in " + o.out +
                             "/curves.dat, script " + gp_path + ")");
  std::printf("wrote %s\n", png.c_str());
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
  print_reference_costs(states);
  std::printf(
      "demo: TR-QN, %d RL iterations of %d episodes (full study: --iterations 40, or --compare)\n",
      o.iterations, int(states.cols()));
  std::fflush(stdout);
  return run_single(o);
}

void usage(std::FILE* to) {
  std::fprintf(
      to,
      "usage: linear_2d                      short TR-QN demo (8 iterations) with progress\n"
      "       linear_2d --method M [--iterations K] [training options] [--json FILE] [--csv FILE]\n"
      "       linear_2d --compare [--seeds N] [--methods M1,M2,..] [--out DIR] [training options]\n"
      "       linear_2d --test-set [--method M] [training options]\n"
      "       linear_2d --test-set --theta T1 .. T8 [--threads T]\n"
      "       linear_2d --policy X1 X2 [--theta T1 .. T8]\n"
      "       linear_2d --help | --version\n"
      "methods (case-insensitive, '-' or '_'): %s (default tr-qn)\n"
      "training options:\n"
      "  --iterations K          RL iterations, 1..100000 (default 40, demo 8)\n"
      "  --seed S                0..2^64-1 (default 0; --compare runs seeds S..S+N-1)\n"
      "  --threads T             1..1024 (default 1; results do not depend on it)\n"
      "  --episodes N            the first N training states, 1..number of states (default all "
      "50)\n"
      "  --critic-epochs E       >= 1 (default 25)      --first-epochs E     >= 1 (default 60)\n"
      "  --sweeps K              1..10000 (default 10)  --critic-lr LR       > 0 (default 1e-3)\n"
      "  --batch-size B          >= 1 (default 256)     --buffer-episodes E  1..1000000 (default "
      "250)\n"
      "  --exploration-floor F   in [0, 1] (default 0.01)\n"
      "  --sigma S               > 0 (default 0.1)\n"
      "  --crn off|on|tr         common random numbers (default tr: trust-region rules only)\n"
      "  --float-critic 0|1      (default 1)            --shrink-from-step 0|1 (default 0)\n"
      "  --refit-on-reject 0|1   (default 1)            --restart 0|1        (default 1)\n"
      "  --theta-lower L1 .. L8  --theta-upper U1 .. U8 box bounds on theta (-inf / inf: none; "
      "default none)\n"
      "  --preset paper|default  start from the paper's loop (rl/paper_preset.hpp) or the "
      "defaults\n"
      "  --quiet\n"
      "  --ratio-test exploring|deterministic  cost the trust-region ratio test compares (default "
      "exploring)\n"
      "outputs (checked writable before any training; a failed write exits with status 1):\n"
      "  --json FILE             summary, history and the settings record (single run)\n"
      "  --checkpoint FILE       single run: its state (theta, critic, optimizer, memory) as JSON\n"
      "                          after every iteration\n"
      "  --resume FILE           continue the run saved in FILE: the same flags (checked; only\n"
      "                          --iterations, which must exceed the saved iteration, and\n"
      "                          --threads may change), the same result as one long run\n"
      "  --csv FILE              history; '# key: value' settings lines first; nan for missing "
      "values\n"
      "  --out DIR               --compare: one CSV per run, summary.csv, curves.dat, curves.gp,\n"
      "                          learning_curves.png (default linear_2d_results)\n"
      "--theta takes exactly 8 finite numbers, --policy 2. Exit status: 0 ok, 1 failure, 2 bad "
      "command line.\n",
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
    if (o.mode == linear_2d::cli::Mode::compare) io::prepare_output_dir("--out", o.out);
    // 3. The run.
    switch (o.mode) {
      case linear_2d::cli::Mode::policy: return run_policy(o);
      case linear_2d::cli::Mode::compare: return run_compare(o);
      case linear_2d::cli::Mode::test_set: return run_test_set(o);
      case linear_2d::cli::Mode::demo: o.iterations = 8; return run_demo(o);
      case linear_2d::cli::Mode::single: return run_single(o);
    }
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "linear_2d: %s\n", e.what());
    return 1;
  }
}
