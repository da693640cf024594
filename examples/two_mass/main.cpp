// The second system of issue #11: RL tuning of a 12-parameter MPC of a two-mass chain
// (two_mass_model.hpp), compared with the untrained MPC (theta0) and the true-model MPC.
//
//   two_mass [--method tr-qn] [--iterations 40] [--episodes 50] [--seed S] [--threads T]
//            [--process-noise SIGMA [--noise-seed S]] [--csv F] [--json F] [--quiet]
//            [--diagnose F]            also the model against the true system per iteration
//   two_mass --evaluate [--theta T1 .. T12] [--process-noise SIGMA] [--threads T]
//   two_mass --generate-states DIR     writes DIR/train_states.csv and DIR/test_states.csv
//   two_mass --sweep FIRST LAST [--method M | --methods M1,M2] [--jobs J] [--out DIR]
//            [training options]        one run per seed, summary of the final thetas' costs
//
// Exit status: 0 ok, 1 a failure (a file not written, a closed loop that failed), 2 a bad
// command line (the flag named).
#include "command_line.hpp"
#include "common/seed_sweep.hpp"
#include "two_mass_loop.hpp"
#include "two_mass_model.hpp"
#include "state_sets.hpp"

#include <rmpc/rl/log.hpp>
#include <rmpc/rl/parallel.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace two_mass;
constexpr int episode_length = 50;  // LoopSettings' default: every cost here is over 50 steps
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

/// Mean closed-loop cost of the true-model MPC over the columns of `states` (NaN if a loop
/// failed): one values-only MPC per worker, episodes in parallel, the sum in state order.
double true_model_cost(const TrueSystem& env, const States& states, int threads) {
  rmpc::mpc::LqMpcSettings<double> settings;
  settings.derivative_order = 0;
  std::vector<std::unique_ptr<TrueModelMpc>> mpcs;
  for (int w = 0; w < threads; ++w) {
    mpcs.push_back(
        std::make_unique<TrueModelMpc>(model(), TrueModelMpc::default_sizes(), settings));
    if (mpcs.back()->set_parameters(theta_true()) != rmpc::qp::Status::optimal) return nan;
  }
  std::vector<double> cost(std::size_t(states.cols()), nan);
  rmpc::rl::parallel_for(states.cols(), threads, [&](std::ptrdiff_t e, int w) {
    TrueModelMpc& mpc = *mpcs[std::size_t(w)];
    rmpc::mpc::PolicyRequest req;
    req.du0_dtheta = req.d2u0_dtheta2 = req.du0_ds = false;
    rmpc::rl::Episode<double, nx, nu> ep;
    const State s0 = states.col(e);
    rmpc::rl::run_episode<double, nx, nu>(
        env, s0, episode_length,
        [&](const State& s, const Action&, int k, Action& a) {
          req.warm_start = k > 0;
          const auto& r = mpc.evaluate(s, req);
          a = r.u0;
          return r.qp_status == rmpc::qp::Status::optimal;
        },
        ep);
    if (ep.ok()) cost[std::size_t(e)] = ep.total_cost;
  });
  double sum = 0;
  for (double c : cost) sum += c;
  return sum / double(states.cols());
}

rmpc::rl::LoopSettings<double> loop_settings(const cli::Options& o) {
  rmpc::rl::LoopSettings<double> s;  // the defaults; only what the command line sets
  s.iterations = o.iterations;
  s.seed = o.seed;
  s.threads = o.threads;
  s.optimizer = rmpc::optim::paper_settings<double>(o.rule);
  if (o.deterministic_ratio_test) s.ratio_test_cost = rmpc::rl::RatioTestCost::deterministic_batch;
  if (o.has_sigma) s.exploration.sigma = o.sigma;
  if (!o.exploration_scale.empty())
    s.exploration.scale = o.exploration_scale == "action" ? rmpc::rl::ExplorationScale::action
                                                          : rmpc::rl::ExplorationScale::cost;
  if (o.sweeps > 0) s.critic.sweeps = o.sweeps;
  if (o.memory_episodes > 0) s.buffer_episodes = Eigen::Index(o.memory_episodes);
  if (o.simd_kernel >= 0) s.critic.train.simd_kernel = o.simd_kernel != 0;
  if (o.exploration_floor >= 0) s.exploration.floor = o.exploration_floor;
  if (!o.critic.empty())
    s.critic_model =
        o.critic == "quadratic" ? rmpc::rl::CriticModel::quadratic : rmpc::rl::CriticModel::network;
  if (!o.critic_action.empty()) s.critic.action_relative = o.critic_action == "deviation";
  if (o.observed_returns) s.critic.monte_carlo_targets = true;
  if (o.nonnegative_theta) {
    // Model corrections, weights and the back-off all have a physical sign.
    s.theta_lower = Eigen::VectorXd::Zero(theta0().size());
    s.theta_upper =
        Eigen::VectorXd::Constant(theta0().size(), std::numeric_limits<double>::infinity());
  }
  return s;
}

/// The critic's function class and action input a run uses (the flags, else the defaults).
const char* critic_name(const cli::Options& o) {
  return loop_settings(o).critic_model == rmpc::rl::CriticModel::quadratic ? "quadratic"
                                                                           : "network";
}
const char* critic_action_name(const cli::Options& o) {
  return loop_settings(o).critic.action_relative ? "deviation" : "action";
}

/// The exploration sigma a run uses (--sigma, else the library's default).
double sigma_of(const cli::Options& o) { return loop_settings(o).exploration.sigma; }

/// Costs of the summary on one state set.
struct Costs {
  double untrained = nan, final_theta = nan, best_theta = nan, true_model = nan;
  /// (untrained - learned) / (untrained - true model), in percent.
  double gap_closed(double learned) const {
    return 100.0 * (untrained - learned) / (untrained - true_model);
  }
};

Costs measure(Loop& loop, const TrueSystem& env, const States& states, int threads,
              const Theta* final_theta, const Theta* best_theta) {
  Costs c;
  if (states.cols() == 0) return c;
  c.untrained = loop.evaluate(theta0(), states);
  if (final_theta) c.final_theta = loop.evaluate(*final_theta, states);
  if (best_theta) c.best_theta = loop.evaluate(*best_theta, states);
  c.true_model = true_model_cost(env, states, threads);
  return c;
}

void print_theta(const char* name, const Theta& t) {
  std::printf("%-12s", name);
  for (int j = 0; j < np; ++j) std::printf(" %.6f", t(j));
  std::printf("\n");
}

void print_summary(const Costs& train, const Costs& test, long train_n, long test_n,
                   const char* learned_name, bool best) {
  std::printf("closed-loop cost, mean over %d steps   training (%ld)   test (%ld)\n",
              episode_length, train_n, test_n);
  auto row = [](const char* name, double a, double b) {
    std::printf("  %-34s %14.5f %12.5f\n", name, a, b);
  };
  auto gap = [](const char* name, const Costs& tr, const Costs& te, double a, double b) {
    std::printf("  gap closed, %-22s %13.1f%% %11.1f%%\n", name, tr.gap_closed(a),
                te.gap_closed(b));
  };
  row("untrained MPC (theta0)", train.untrained, test.untrained);
  row(learned_name, train.final_theta, test.final_theta);
  if (best) row("learned, best theta", train.best_theta, test.best_theta);
  row("true-model MPC", train.true_model, test.true_model);
  gap(learned_name, train, test, train.final_theta, test.final_theta);
  if (best) gap("best theta", train, test, train.best_theta, test.best_theta);
}

int run_generate(const cli::Options& o) {
  std::filesystem::create_directories(o.generate_dir);
  write_states(o.generate_dir + "/train_states.csv",
               generate_states(training_seed, training_count));
  write_states(o.generate_dir + "/test_states.csv", generate_states(test_seed, test_count));
  std::printf("wrote %s/train_states.csv (%d, seed %llu) and test_states.csv (%d, seed %llu)\n",
              o.generate_dir.c_str(), training_count, (unsigned long long)training_seed, test_count,
              (unsigned long long)test_seed);
  return 0;
}

int run_evaluate(const cli::Options& o, const States& train, const States& test) {
  const TrueSystem env(o.noise);
  rmpc::rl::LoopSettings<double> s;
  s.threads = o.threads;
  Loop loop(env, make_mpc, train, s);
  const Theta theta = o.has_theta ? o.theta : theta0();
  const Costs ctr = measure(loop, env, train, o.threads, &theta, nullptr);
  const Costs cte = measure(loop, env, test, o.threads, &theta, nullptr);
  std::printf("process noise sigma %g (noise seed %llu)\n", o.noise.sigma,
              (unsigned long long)o.noise.seed);
  print_theta("theta", theta);
  print_summary(ctr, cte, long(train.cols()), long(test.cols()), "given theta", false);
  std::printf("true-model MPC beats untrained on the training states: %s\n",
              ctr.true_model < ctr.untrained ? "yes" : "no");
  return std::isfinite(ctr.final_theta) && std::isfinite(ctr.true_model) ? 0 : 1;
}

/// The training settings of the command line as "\n# key: value" lines (no final newline):
/// the per-run CSV and the sweep CSV write the same ones.
void write_settings_lines(std::ostream& csv, const cli::Options& o) {
  csv << "\n# ratio_test: " << (o.deterministic_ratio_test ? "deterministic" : "exploring")
      << "\n# sigma: " << sigma_of(o)
      << "\n# exploration_scale: " << rmpc::rl::to_string(loop_settings(o).exploration.scale)
      << "\n# exploration_floor: " << loop_settings(o).exploration.floor
      << "\n# sweeps: " << loop_settings(o).critic.sweeps << "\n# critic: " << critic_name(o)
      << "\n# critic_action: " << critic_action_name(o)
      << "\n# theta_bounds: " << (o.nonnegative_theta ? "nonnegative" : "none")
      << "\n# critic_returns: " << (o.observed_returns ? "observed" : "sweeps")
      << "\n# memory_episodes: " << loop_settings(o).buffer_episodes
      << "\n# simd_kernel: " << loop_settings(o).critic.train.simd_kernel
      << "\n# process_noise: " << o.noise.sigma << "\n# noise_seed: " << o.noise.seed;
}

/// The run's settings as comment lines, then its history (rl/log.hpp): --csv and --sweep's
/// per-run files.
void write_run_csv(std::ostream& csv, const cli::Options& o, const Loop::Result& r) {
  csv << "# program: two_mass\n# method: " << o.method << "\n# seed: " << o.seed;
  write_settings_lines(csv, o);
  csv << "\n# status: " << rmpc::rl::to_string(r.status) << "\n";
  rmpc::rl::write_history_csv(csv, r);
}

bool trained(const std::string& status) {
  return status == rmpc::rl::to_string(rmpc::rl::LoopStatus::completed) ||
         status == rmpc::rl::to_string(rmpc::rl::LoopStatus::optimizer_stopped);
}

int run_train(const cli::Options& o, const States& all_train, const States& test) {
  const States train = all_train.leftCols(o.episodes);
  std::ofstream csv, json;  // opened (truncated) before training: a bad path fails at once
  auto open = [](std::ofstream& f, const std::string& path, const char* flag) {
    if (path.empty()) return;
    f.open(path);
    if (!f) throw std::runtime_error(std::string(flag) + ": cannot write '" + path + "'");
  };
  open(csv, o.csv, "--csv");
  open(json, o.json, "--json");
  std::ofstream diagnosis;  // --diagnose: rl/model_diagnosis.hpp, one row per new model
  open(diagnosis, o.diagnose, "--diagnose");
  if (diagnosis.is_open()) rmpc::rl::write_diagnosis_csv_header(diagnosis);
  const TrueSystem env(o.noise);
  Loop loop(env, make_mpc, train, loop_settings(o));
  const std::string label =
      std::string(rmpc::optim::to_string(o.rule)) + " s" + std::to_string(o.seed);
  const auto r = loop.run(theta0(), [&](const Loop::Record& rec) {
    if (!o.quiet) std::fprintf(stderr, "%s\n", rmpc::rl::progress_line(rec, label.c_str()).c_str());
    if (diagnosis.is_open() && rec.model_updated) {
      rmpc::rl::write_diagnosis_csv_row(diagnosis, loop, rec.iteration);
      diagnosis.flush();
    }
  });
  const Costs ctr = measure(loop, env, train, o.threads, &r.theta, &r.best_theta);
  const Costs cte = measure(loop, env, test, o.threads, &r.theta, &r.best_theta);
  std::printf("%s seed %llu, %d iterations x %ld episodes, process noise %g: %s, %.1f s\n",
              rmpc::optim::to_string(o.rule), (unsigned long long)o.seed, o.iterations,
              long(train.cols()), o.noise.sigma, rmpc::rl::to_string(r.status), r.wall_seconds);
  // The number a --sweep row carries as final_cost, in %.17g: the ctest compares them bit for bit.
  std::printf("final theta, the loop's deterministic training cost: %.17g\n",
              r.history.empty() ? nan : double(r.history.back().eval_cost));
  print_summary(ctr, cte, long(train.cols()), long(test.cols()), "learned, final theta", true);
  print_theta("final theta", r.theta);
  print_theta("best theta", r.best_theta);
  char line[512];
  std::snprintf(line, sizeof line,
                "\"untrained_train\": %.10g, \"final_train\": %.10g, \"best_train\": %.10g, "
                "\"true_model_train\": %.10g, \"untrained_test\": %.10g, \"final_test\": %.10g, "
                "\"best_test\": %.10g, \"true_model_test\": %.10g",
                ctr.untrained, ctr.final_theta, ctr.best_theta, ctr.true_model, cte.untrained,
                cte.final_theta, cte.best_theta, cte.true_model);
  std::printf("{%s}\n", line);  // one machine-readable line (nan where not measured)
  std::ostringstream settings;
  settings << "\"program\": \"two_mass\", \"method\": \"" << o.method << "\", \"seed\": " << o.seed
           << ", \"iterations\": " << o.iterations << ", \"episodes\": " << train.cols()
           << ", \"ratio_test\": \"" << (o.deterministic_ratio_test ? "deterministic" : "exploring")
           << "\", \"sigma\": " << sigma_of(o) << ", \"exploration_scale\": \""
           << rmpc::rl::to_string(loop_settings(o).exploration.scale) << "\""
           << ", \"exploration_floor\": " << loop_settings(o).exploration.floor
           << ", \"sweeps\": " << loop_settings(o).critic.sweeps << ", \"critic\": \""
           << critic_name(o) << "\", \"critic_action\": \"" << critic_action_name(o)
           << "\", \"theta_bounds\": \"" << (o.nonnegative_theta ? "nonnegative" : "none")
           << "\", \"critic_returns\": \"" << (o.observed_returns ? "observed" : "sweeps") << "\""
           << ", \"memory_episodes\": " << loop_settings(o).buffer_episodes
           << ", \"simd_kernel\": " << int(loop_settings(o).critic.train.simd_kernel)
           << ", \"process_noise\": " << o.noise.sigma << ", \"noise_seed\": " << o.noise.seed;
  if (json.is_open()) {
    // JSON has no NaN: the numbers line is written only where every cost is finite.
    rmpc::rl::write_summary_json(
        json, r,
        settings.str() + (std::string(line).find("nan") == std::string::npos
                              ? ", " + std::string(line)
                              : std::string()));
    json.close();
    if (!json) throw std::runtime_error("writing '" + o.json + "' failed");
  }
  if (csv.is_open()) {
    write_run_csv(csv, o, r);
    csv.close();
    if (!csv) throw std::runtime_error("writing '" + o.csv + "' failed");
  }
  return trained(rmpc::rl::to_string(r.status)) ? 0 : 1;
}

void write_file(const std::string& path, const std::function<void(std::ostream&)>& write) {
  std::ofstream f(path);
  if (!f) throw std::runtime_error("cannot open '" + path + "' for writing");
  write(f);
  f.close();
  if (!f) throw std::runtime_error("writing '" + path + "' failed");
}

/// --sweep FIRST LAST: o.methods x seeds FIRST..LAST, --jobs runs at a time, each on one
/// thread (a run does not depend on its thread count: a row equals the single run with that
/// seed). This system is judged by the gap closed, not by a ratio to a benchmark: the
/// thresholds handed to seed_sweep.hpp are the training costs that close 50 % and 90 % of the
/// gap between the untrained and the true-model MPC, a run "succeeds" at 90 %.
int run_sweep(const cli::Options& o, const States& all_train) {
  namespace ec = examples_common;
  const States train = all_train.leftCols(o.episodes);
  const auto tasks = ec::sweep_tasks(o.methods, o.sweep_first, o.sweep_last);
  const int jobs = int(
      std::min<std::size_t>(std::size_t(o.jobs > 0 ? o.jobs : ec::default_jobs()), tasks.size()));
  const TrueSystem env(o.noise);
  rmpc::rl::LoopSettings<double> ref_settings;
  ref_settings.threads = jobs;
  Loop ref_loop(env, make_mpc, train, ref_settings);
  // The gap's ends on the states the loop evaluates its thetas on (IterationRecord::eval_cost).
  const double untrained = ref_loop.evaluate(theta0(), train);
  const double true_model = true_model_cost(env, train, jobs);
  const auto gap = [&](double c) { return 100.0 * (untrained - c) / (untrained - true_model); };
  const double t50 = untrained - 0.5 * (untrained - true_model);
  const double t90 = untrained - 0.9 * (untrained - true_model);
  std::printf("training states %ld: untrained MPC %.5f, true-model MPC %.5f\n", long(train.cols()),
              untrained, true_model);
  if (!(untrained > true_model))
    std::printf("warning: the true-model MPC does not beat theta0 here: the gap is not defined\n");
  std::printf("sweep: %zu run(s), seeds %llu..%llu, %d at a time, each on one thread\n",
              tasks.size(), (unsigned long long)o.sweep_first, (unsigned long long)o.sweep_last,
              jobs);
  std::fflush(stdout);
  ec::SweepWording w;
  w.loose_column = "it_50pct_gap";
  w.tight_column = "it_90pct_gap";
  w.extra_columns = {"gap_closed_pct"};
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "closes >= 90 %% of the gap: <= %.4f (untrained %.5f, true model %.5f)", t90,
                untrained, true_model);
  w.criterion = buf;
  w.within = "gap >= 90 %";
  w.median_it = "median it to 90 %";
  std::snprintf(buf, sizeof buf, "closes 90 %% of the gap: %.4f", t90);
  w.plot_label = buf;
  std::filesystem::create_directories(o.out);
  const std::string csv_path = o.out + "/sweep.csv";
  std::ofstream csv(csv_path);
  if (!csv) throw std::runtime_error("--out: cannot write '" + csv_path + "'");
  csv << "# program: two_mass --sweep " << o.sweep_first << ' ' << o.sweep_last
      << "\n# iterations: " << o.iterations << "\n# episodes: " << train.cols();
  write_settings_lines(csv, o);
  csv << "\n# jobs: " << jobs << "\n# untrained_cost: " << ec::g17(untrained)
      << "\n# true_model_cost: " << ec::g17(true_model)
      << "\n# it_50pct_gap, it_90pct_gap: first iteration whose accepted theta closes 50 %, 90 % "
         "of the gap (-1: never)\n";
  ec::write_sweep_csv_header(csv, np, w);
  int failed = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto rows = ec::run_sweep(
      tasks, jobs,
      [&](const ec::SweepTask& t) {
        cli::Options one = o;  // each run single-threaded: the cores go to the runs in parallel
        one.threads = 1;
        one.seed = t.seed;
        one.method = cli::method_name("--method", t.method, &one.rule);
        Loop loop(env, make_mpc, train, loop_settings(one));
        const std::string label = t.method + " s" + std::to_string(t.seed);
        const auto r = loop.run(theta0(), [&](const Loop::Record& rec) {
          if (!o.quiet)
            std::fprintf(stderr, "%s\n", rmpc::rl::progress_line(rec, label.c_str()).c_str());
        });
        write_file(o.out + "/" + t.method + "_seed" + std::to_string(t.seed) + ".csv",
                   [&](std::ostream& f) { write_run_csv(f, one, r); });
        ec::SweepRow row = ec::make_row_at(t.method, t.seed, r, t50, t90, train.cols());
        row.extra = {gap(row.final_cost)};
        return row;
      },
      [&](const ec::SweepRow& row) {  // in seed order, one at a time
        ec::write_sweep_csv_row(csv, row);
        csv.flush();
        if (!csv) throw std::runtime_error("writing '" + csv_path + "' failed");
        std::printf(
            "%-8s seed %llu  %s  final %.5f (gap closed %.1f %%)  best %.5f (it %d)  50 %%: it %d  "
            "90 %%: it %d  %.1f s\n",
            row.method.c_str(), (unsigned long long)row.seed, row.status.c_str(), row.final_cost,
            row.extra[0], row.best_cost, row.best_iteration, row.it_5pct, row.it_1pct,
            row.wall_seconds);
        std::fflush(stdout);
        if (!trained(row.status)) ++failed;
      });
  csv.close();
  if (csv.fail()) throw std::runtime_error("writing '" + csv_path + "' failed");
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::snprintf(buf, sizeof buf, "%zu run(s) in %.1f s wall, %d at a time\n", rows.size(), wall,
                jobs);
  const auto summaries = ec::summarize(rows, o.methods, t90);
  std::string summary =
      buf + ec::summary_text(summaries, w,
                             "over the " + std::to_string(train.cols()) + " training states");
  // The gap is affine in the cost, so the median gap closed is the median cost's (+inf: -inf).
  for (const auto& m : summaries) {
    std::snprintf(buf, sizeof buf,
                  "%s: median gap closed %.1f %%, worst %.1f %%; %d of %d runs close >= 90 %%\n",
                  m.method.c_str(), gap(m.median_final), gap(m.worst_final), m.within, m.runs);
    summary += buf;
  }
  write_file(o.out + "/sweep_summary.txt", [&](std::ostream& f) { f << summary; });
  std::printf("%swrote %s, %s/sweep_summary.txt and one CSV per run in %s\n", summary.c_str(),
              csv_path.c_str(), o.out.c_str(), o.out.c_str());
  const std::string dat = o.out + "/sweep.dat", gp_path = o.out + "/sweep.gp",
                    png = o.out + "/sweep_final_cost.png";
  write_file(dat, [&](std::ostream& f) { ec::write_distribution_dat(f, rows, o.methods); });
  const std::string title = "two_mass: final theta, seeds " + std::to_string(o.sweep_first) + ".." +
                            std::to_string(o.sweep_last);
  const std::string ylabel =
      "deterministic cost of the final theta (" + std::to_string(train.cols()) + " states)";
  const bool plotted = ec::plot_png(gp_path, png, [&](const char* terminal) {
    write_file(gp_path, [&](std::ostream& gp) {
      ec::write_distribution_gp(gp, terminal, dat, png, rows, o.methods, t90, title, ylabel,
                                w.plot_label);
    });
  });
  std::printf(plotted ? "wrote %s\n" : "gnuplot not found: skipped the plot %s\n", png.c_str());
  if (failed > 0) {
    std::fprintf(stderr, "two_mass: %d run(s) did not train (loop status above)\n", failed);
    return 1;
  }
  return 0;
}

void usage() {
  std::printf(
      "usage: two_mass [--method M] [--iterations K] [--episodes N] [--seed S] [--threads T]\n"
      "                [--process-noise SIGMA] [--noise-seed S] [--test-episodes N]\n"
      "                [--ratio-test exploring|deterministic] [--sigma S]\n"
      "                [--exploration-scale cost|action] [--exploration-floor F]\n"
      "                [--sweeps K] [--critic network|quadratic]\n"
      "                [--critic-action action|deviation] [--theta-bounds none|nonnegative]\n"
      "                [--critic-returns sweeps|observed] [--memory-episodes N]\n"
      "                [--simd-kernel 0|1] [--csv FILE]\n"
      "                [--json FILE] [--diagnose FILE] [--quiet]     train, then the summary\n"
      "       two_mass --evaluate [--theta T1 .. T12] [--process-noise SIGMA] [--threads T]\n"
      "       two_mass --generate-states DIR    regenerate the training and test states\n"
      "       two_mass --sweep FIRST LAST [--method M | --methods M1,M2,..] [--jobs J]\n"
      "                [--out DIR] [--iterations K] [--episodes N] [--process-noise SIGMA]\n"
      "                [--noise-seed S] [--ratio-test R] [--sigma S]\n"
      "                [--exploration-scale cost|action] [--exploration-floor F]\n"
      "                [--sweeps K] [--critic C] [--critic-action A] [--theta-bounds B]\n"
      "                [--critic-returns R] [--memory-episodes N] [--simd-kernel 0|1]\n"
      "                [--quiet]\n"
      "                                                  one run per seed, summary\n"
      "methods: gd, tr-gd, qn, tr-qn (default), tr-bfgs, tr-gn (tr-gauss-newton), adam,\n"
      "gn-momentum. --iterations 1..100000 (40), --episodes 1..50 (the first N training states),\n"
      "--test-episodes 0..500 (the first N test states in the summary), --threads 1..1024 (1;\n"
      "results do not depend on it), --process-noise SIGMA >= 0 (0): Gaussian on v1, v2 per step.\n"
      "--sigma S > 0 (the library's 0.1): exploration, the std of the change of F it causes,\n"
      "or with --exploration-scale cost the std of d in cost units (moves F by about S / (2 R)).\n"
      "--exploration-floor F in [0, 1] (the paper's 0.01): the exploration probability's floor.\n"
      "--sweeps K 1..10000 (the paper's 10): fitted-Q sweeps, the critic's horizon in steps.\n"
      "--critic network (the paper's, default) or quadratic (least squares, LoopSettings::\n"
      "critic_model). --critic-action deviation: the critic sees a - pi(s) instead of a\n"
      "(FittedQSettings::action_relative). --theta-bounds nonnegative: theta >= 0 (corrections,\n"
      "weights and back-off all have a physical sign; LoopSettings::theta_lower).\n"
      "--critic-returns observed: one critic fitted to the observed k-step returns (k =\n"
      "--sweeps) instead of k fitted-Q sweeps (FittedQSettings::monte_carlo_targets).\n"
      "--memory-episodes N (the paper's 250; at least --episodes, at most 1000000): the replay\n"
      "memory, the last N episodes (LoopSettings::buffer_episodes).\n"
      "--simd-kernel 0: the network critic's fits by Eigen's products, not the AVX2/FMA kernel\n"
      "(the same digits on every x86-64 CPU; TrainSettings::simd_kernel).\n"
      "theta = (k1, k2, c, 1/m1, 1/m2 corrections, Q diagonal (4), R diagonal (2), back-off).\n"
      "--sweep FIRST LAST: seeds FIRST..LAST (inclusive, at most 10000) of each method, --jobs J\n"
      "runs at a time (1..1024, default one per core), each on one thread: a row equals the\n"
      "single run with that seed. --out DIR (two_mass_sweep): sweep.csv (per run: final cost,\n"
      "gap closed, iterations to 50 %% and 90 %% of the gap), sweep_summary.txt (median and worst\n"
      "final cost, median gap closed, runs closing >= 90 %%), one history CSV per run, sweep.dat,\n"
      "sweep.gp, sweep_final_cost.png. gap = (untrained - final) / (untrained - true model).\n"
      "--diagnose FILE: after each new model, its critic's dQ/da, d2Q/da2 and DPG g, H against\n"
      "true k-step rollouts (k = --sweeps) at every memory state, and dJ/dtheta by central\n"
      "differences of the deterministic cost (rmpc/rl/model_diagnosis.hpp); one CSV row per\n"
      "model, the run unchanged.\n");
}

}  // namespace

int main(int argc, char** argv) {
  cli::Options o;
  try {
    o = cli::parse(argc, argv);
  } catch (const cli::UsageError& e) {
    std::fprintf(stderr, "two_mass: %s (two_mass --help for the usage)\n", e.what());
    return 2;
  }
  if (o.help) {
    usage();
    return 0;
  }
  try {
    if (o.mode == cli::Mode::generate) return run_generate(o);
    const States train = read_states(training_states_file);
    const States test = read_states(test_states_file).leftCols(o.test_episodes);
    if (o.mode == cli::Mode::evaluate) return run_evaluate(o, train, test);
    if (o.mode == cli::Mode::sweep) return run_sweep(o, train);
    return run_train(o, train, test);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "two_mass: %s\n", e.what());
    return 1;
  }
}
