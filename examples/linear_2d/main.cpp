// The paper's 2-D study (method.md sections 1 and 4): RL tuning of the 8-parameter LQ-MPC
// with the seven update rules, against the benchmark MPC (11.901) and theta0 (26.350).
//
//   linear_2d                                   short TR-QN demo with progress
//   linear_2d --method tr-qn --iterations 40 [--seed S] [--threads T] [--json F] [--csv F]
//   linear_2d --compare [--seeds 3] [--methods gd,tr-gd,...] [--out DIR]
//   linear_2d --test-set [--theta T1..T8 | training options]
//   linear_2d --policy X1 X2 [--theta T1..T8]
#include "paper_model.hpp"
#include "policy_mode.hpp"

#include <rmpc/rl/log.hpp>
#include <rmpc/rl/loop.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
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

/// The true system of method.md section 1 as an rl environment.
struct TrueSystem {
  Eigen::Vector2d step(const Eigen::Vector2d& s, const Action& a) const { return linear_2d::true_step(s, a(0)); }
  double cost(const Eigen::Vector2d& s, const Action& a) const { return linear_2d::stage_cost(s, a(0)); }
};

using Loop = rmpc::rl::PolicyOptimizer<TrueSystem, PaperMpc>;

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

struct MethodName {
  const char* cli;
  rmpc::optim::UpdateRule rule;
};
const std::vector<MethodName>& methods() {
  using R = rmpc::optim::UpdateRule;
  static const std::vector<MethodName> m = {{"gd", R::gd},       {"tr-gd", R::tr_gd},     {"qn", R::qn},
                                            {"tr-qn", R::tr_qn}, {"tr-bfgs", R::tr_bfgs}, {"tr-gauss-newton", R::tr_gauss_newton},
                                            {"adam", R::adam}};
  return m;
}
rmpc::optim::UpdateRule parse_rule(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');  // tr_qn and tr-qn both accepted
  for (const auto& m : methods())
    if (name == m.cli) return m.rule;
  throw std::invalid_argument("unknown --method " + name);
}

struct Options {
  std::string method = "tr-qn";
  int iterations = 40;
  std::uint64_t seed = 0;
  int threads = 1;
  int episodes = -1;       // first n training states only (smoke tests)
  int critic_epochs = 25;  // per-sweep epoch cap of warm-started fits
  int first_epochs = 60;   // epoch cap of the first fits (random init)
  bool restart = false;    // restart_on_stop (not in the paper)
  double exploration_floor = -1, sigma = -1;  // <0: the paper's 0.01 and 0.1
  int sweeps = 10;         // fitted-Q sweeps k (paper: 10)
  int crn = -1, float_critic = -1;  // <0: the LoopSettings default; crn: 0 off, 1 always, 2 trust-region rules
  double critic_lr = -1;   // <0: the paper's Adam 1e-3
  int batch_size = -1;     // <0: the paper's minibatch 256
  int buffer_episodes = -1;  // <0: the paper's 250
  int shrink_from_step = -1;  // <0: TrustRegionSettings default
  int refit_on_reject = -1;   // <0: the LoopSettings default
  int seeds = 3;
  std::string json, csv, out = "linear_2d_results", methods_list;
  bool compare = false, test_set = false, policy = false, quiet = false, has_theta = false;
  Eigen::Vector2d policy_state = Eigen::Vector2d::Zero();
  Theta theta = linear_2d::theta0();
};

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

rmpc::rl::LoopSettings<double> loop_settings(const Options& o, rmpc::optim::UpdateRule rule, std::uint64_t seed) {
  rmpc::rl::LoopSettings<double> s;
  s.iterations = o.iterations;
  s.seed = seed;
  s.threads = o.threads;
  s.optimizer = rmpc::optim::paper_settings<double>(rule);
  s.critic = rmpc::rl::paper_critic_settings<double>(o.critic_epochs);
  s.first_fit_max_epochs = o.first_epochs;
  s.critic.sweeps = o.sweeps;
  s.restart_on_stop = o.restart;
  if (o.crn >= 0)
    s.common_random_numbers = o.crn == 0   ? rmpc::rl::CommonRandomNumbers::off
                              : o.crn == 1 ? rmpc::rl::CommonRandomNumbers::always
                                           : rmpc::rl::CommonRandomNumbers::trust_region;
  if (o.float_critic >= 0) s.float_critic = o.float_critic != 0;
  if (o.critic_lr > 0) s.critic.train.adam.learning_rate = o.critic_lr;
  if (o.batch_size > 0) s.critic.train.batch_size = o.batch_size;
  if (o.buffer_episodes > 0) s.buffer_episodes = o.buffer_episodes;
  if (o.refit_on_reject >= 0) s.refit_on_reject = o.refit_on_reject != 0;
  if (o.shrink_from_step >= 0) s.optimizer.trust_region.shrink_from_step_length = o.shrink_from_step != 0;
  if (o.exploration_floor >= 0) s.exploration.floor = o.exploration_floor;
  if (o.sigma >= 0) s.exploration.sigma = o.sigma;
  return s;
}

States training_states(const Options& o) {
  States s = read_states(LINEAR_2D_DATA_DIR "/ecc24_train_initial_states.csv");
  if (o.episodes > 0 && o.episodes < s.cols()) s.conservativeResize(Eigen::NoChange, o.episodes);
  return s;
}

rmpc::rl::LoopResult<double, linear_2d::np> train(const Options& o, rmpc::optim::UpdateRule rule, std::uint64_t seed,
                                                  const States& states) {
  Loop loop(TrueSystem{}, make_mpc, states, loop_settings(o, rule, seed));
  const std::string label = std::string(rmpc::optim::to_string(rule)) + " s" + std::to_string(seed);
  return loop.run(linear_2d::theta0(), [&](const Loop::Record& r) {
    if (!o.quiet) std::cerr << rmpc::rl::progress_line(r, label.c_str()) << std::endl;
  });
}

/// First iteration whose accepted deterministic cost is within `tol` of the benchmark (-1: never).
int iterations_to(const rmpc::rl::LoopResult<double, linear_2d::np>& r, double tol) {
  for (const auto& h : r.history)
    if (std::isfinite(h.eval_cost) && h.eval_cost <= (1.0 + tol) * benchmark_cost) return h.iteration;
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
    rmpc::rl::run_episode<double, 2, 1>(TrueSystem{}, s0, 50,
                                        [&](const Eigen::Vector2d& s, const Action&, int, Action& a) {
                                          const auto& r = bench.evaluate(s, req);
                                          a = r.u0;
                                          return r.qp_status == rmpc::qp::Status::optimal;
                                        },
                                        ep);
    jb += ep.total_cost / double(states.cols());
  }
  std::printf("benchmark MPC (true model, N = 50): mean cost %.4f over %d training states (method.md: 11.901)\n", jb,
              int(states.cols()));
  std::printf("untrained MPC (theta0, N = 10):     mean cost %.4f (method.md: 26.350)\n", ju);
}

int run_single(const Options& o) {
  const States states = training_states(o);
  const auto rule = parse_rule(o.method);
  const auto r = train(o, rule, o.seed, states);
  std::printf("%s seed %llu: best deterministic cost %.5f at iteration %d (benchmark %.3f; within 5%% at it %d, 1%% at it %d); "
              "%.1f s (rollouts %.1f, sensitivities %.1f, critic %.1f, step %.2f, evaluation %.2f)\n",
              rmpc::optim::to_string(rule), static_cast<unsigned long long>(o.seed), r.best_cost, r.best_iteration,
              benchmark_cost, iterations_to(r, 0.05), iterations_to(r, 0.01), r.wall_seconds, r.time.rollouts,
              r.time.sensitivities, r.time.critic, r.time.step, r.time.evaluation);
  std::printf("best theta:");
  for (Eigen::Index j = 0; j < r.best_theta.size(); ++j) std::printf(" %.6f", r.best_theta(j));
  std::printf("\n");
  if (!o.json.empty()) {
    std::ofstream f(o.json);
    rmpc::rl::write_summary_json(f, r, "\"method\": \"" + o.method + "\", \"seed\": " + std::to_string(o.seed) +
                                           ", \"threads\": " + std::to_string(o.threads) +
                                           ", \"benchmark_cost\": 11.901");
    std::printf("wrote %s\n", o.json.c_str());
  }
  if (!o.csv.empty()) {
    std::ofstream f(o.csv);
    rmpc::rl::write_history_csv(f, r);
  }
  std::printf("{\"best_cost\": %.6f}\n", r.best_cost);
  return 0;
}

bool have_gnuplot() { return std::system("command -v gnuplot > /dev/null 2>&1") == 0; }

int run_compare(const Options& o) {
  const States states = training_states(o);
  std::vector<std::string> names;
  if (o.methods_list.empty()) {
    for (const auto& m : methods()) names.push_back(m.cli);
  } else {
    std::stringstream ss(o.methods_list);
    std::string n;
    while (std::getline(ss, n, ',')) names.push_back(n);
  }
  std::system(("mkdir -p '" + o.out + "'").c_str());
  std::ofstream summary(o.out + "/summary.csv");
  summary << "method,seed,best_cost,best_iteration,it_5pct,it_1pct,rejected,wall_s,t_rollouts,t_sensitivities,t_critic,t_step,t_evaluation\n";
  // Mean learning curve per method: best accepted deterministic cost so far, per iteration.
  std::map<std::string, std::vector<double>> curve;
  for (const auto& name : names) {
    const auto rule = parse_rule(name);
    std::vector<double>& c = curve[name];
    c.assign(std::size_t(o.iterations), 0.0);
    for (int k = 0; k < o.seeds; ++k) {
      const std::uint64_t seed = o.seed + std::uint64_t(k);
      const auto r = train(o, rule, seed, states);
      std::ofstream f(o.out + "/" + name + "_seed" + std::to_string(seed) + ".csv");
      rmpc::rl::write_history_csv(f, r);
      int rejected = 0;
      for (const auto& h : r.history) rejected += h.accepted ? 0 : 1;
      double best = std::numeric_limits<double>::infinity();
      for (int i = 0; i < o.iterations; ++i) {
        if (i < int(r.history.size()) && std::isfinite(r.history[std::size_t(i)].eval_cost))
          best = std::min(best, r.history[std::size_t(i)].eval_cost);
        c[std::size_t(i)] += best / o.seeds;
      }
      summary << name << ',' << seed << ',' << r.best_cost << ',' << r.best_iteration << ',' << iterations_to(r, 0.05) << ','
              << iterations_to(r, 0.01) << ',' << rejected << ',' << r.wall_seconds << ',' << r.time.rollouts << ','
              << r.time.sensitivities << ',' << r.time.critic << ',' << r.time.step << ',' << r.time.evaluation << "\n";
      summary.flush();
      std::printf("%-16s seed %llu  best %.5f (it %d)  5%%: it %d  1%%: it %d  rejected %d  %.1f s\n", name.c_str(),
                  static_cast<unsigned long long>(seed), r.best_cost, r.best_iteration, iterations_to(r, 0.05),
                  iterations_to(r, 0.01), rejected, r.wall_seconds);
      std::fflush(stdout);
    }
  }
  {
    std::ofstream f(o.out + "/curves.dat");
    f << "# iteration";
    for (const auto& n : names) f << ' ' << n;
    f << "\n";
    for (int i = 0; i < o.iterations; ++i) {
      f << i;
      for (const auto& n : names) f << ' ' << curve[n][std::size_t(i)];
      f << "\n";
    }
  }
  std::ofstream gp(o.out + "/curves.gp");
  gp << "set terminal pngcairo size 800,500 font ',10'\nset output '" << o.out << "/learning_curves.png'\n"
     << "set xlabel 'RL iteration (batch of 50 episodes)'\nset ylabel 'best closed-loop cost so far (50 training states)'\n"
     << "set logscale y\nset key top right\nset grid\nset title 'linear\\_2d: mean over " << o.seeds << " seeds'\n"
     << "plot ";
  for (std::size_t k = 0; k < names.size(); ++k)
    gp << "'" << o.out << "/curves.dat' using 1:" << (k + 2) << " with linespoints pt 7 ps 0.5 title '" << names[k] << "', ";
  gp << benchmark_cost << " with lines dt 2 lw 2 lc rgb 'black' title 'benchmark 11.901'\n";
  gp.close();
  if (have_gnuplot()) {
    if (std::system(("gnuplot '" + o.out + "/curves.gp'").c_str()) != 0) {
      // pngcairo missing in some builds: fall back to the plain png terminal.
      std::system(("sed -i \"s/pngcairo size 800,500 font ',10'/png size 800,500/\" '" + o.out + "/curves.gp' && gnuplot '" +
                   o.out + "/curves.gp'").c_str());
    }
    std::printf("wrote %s/learning_curves.png\n", o.out.c_str());
  } else {
    std::printf("gnuplot not found: skipped the plot (data in %s/curves.dat)\n", o.out.c_str());
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
  rmpc::rl::run_episode<double, 2, 1>(TrueSystem{}, s0, 50,
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
      const double v = std::max({0.0, x(i) - linear_2d::state_ub()(i), linear_2d::state_lb()(i) - x(i)});
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
    source = o.method + " seed " + std::to_string(o.seed) + " best (training cost " + std::to_string(r.best_cost) + ")";
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
    if (threw > 0) std::printf("warning: the QP solver threw on %d closed loops (%s)\n", threw,
                               v == &bench ? "benchmark" : v == &untrained ? "untrained" : "learned");
  }
  std::vector<std::size_t> kept;
  for (std::size_t e = 0; e < std::size_t(n); ++e)
    if (bench[e].ok && bench[e].max_violation <= 1e-9) kept.push_back(e);
  std::printf("test set: %d states, %d kept (benchmark violates the box by > 1e-9 from %d; method.md: 510 dropped)\n",
              int(n), int(kept.size()), int(n - Eigen::Index(kept.size())));
  std::printf("learned theta from %s:", source.c_str());
  for (Eigen::Index j = 0; j < theta.size(); ++j) std::printf(" %.6f", theta(j));
  std::printf("\n%-22s %9s %11s %10s %10s %14s %12s\n", "controller", "feasible", "infeasible", "mean cost", "std",
              "max violation", "violations");
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
    std::printf("%-22s %9d %11d %10.4f %10.4f %14.4g %12d\n", name, feasible, int(kept.size()) - feasible, mean, sd, maxv, viol);
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
  std::printf("demo: TR-QN, %d RL iterations of %d episodes (full study: --iterations 40, or --compare)\n", o.iterations,
              int(states.cols()));
  std::fflush(stdout);
  return run_single(o);
}

void usage() {
  std::fprintf(stderr,
               "usage: linear_2d [--method gd|tr-gd|qn|tr-qn|tr-bfgs|tr-gauss-newton|adam] [--iterations K] [--seed S]\n"
               "                 [--threads T] [--json FILE] [--csv FILE] [--episodes N] [--critic-epochs E] [--first-epochs E] [--restart] [--quiet]\n"
               "                 [--exploration-floor F] [--sigma S] [--sweeps K] [--crn off|on|tr] [--float-critic 0|1]\n"
               "                 [--critic-lr LR] [--batch-size B] [--buffer-episodes E] [--shrink-from-step 0|1]\n"
               "                 [--refit-on-reject 0|1]\n"
               "       linear_2d --compare [--seeds N] [--methods a,b,..] [--out DIR]\n"
               "       linear_2d --test-set [--theta T1..T8]\n"
               "       linear_2d --policy X1 X2 [--theta T1..T8]\n");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o;
    bool any_mode = false;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument("missing value after " + a);
        return argv[++i];
      };
      if (a == "--method") { o.method = next(); any_mode = true; }
      else if (a == "--iterations") { o.iterations = std::stoi(next()); any_mode = true; }
      else if (a == "--seed") o.seed = std::stoull(next());
      else if (a == "--threads") o.threads = std::stoi(next());
      else if (a == "--json") o.json = next();
      else if (a == "--csv") o.csv = next();
      else if (a == "--episodes") o.episodes = std::stoi(next());
      else if (a == "--critic-epochs") o.critic_epochs = std::stoi(next());
      else if (a == "--first-epochs") o.first_epochs = std::stoi(next());
      else if (a == "--restart") o.restart = true;
      else if (a == "--exploration-floor") o.exploration_floor = std::stod(next());
      else if (a == "--sigma") o.sigma = std::stod(next());
      else if (a == "--sweeps") o.sweeps = std::stoi(next());
      else if (a == "--crn") {
        const std::string v = next();
        o.crn = v == "off" || v == "0" ? 0 : v == "on" || v == "1" ? 1 : v == "tr" || v == "2" ? 2 : -2;
        if (o.crn == -2) throw std::invalid_argument("--crn: expected off, on or tr, got '" + v + "'");
      }
      else if (a == "--float-critic") o.float_critic = std::stoi(next());
      else if (a == "--critic-lr") o.critic_lr = std::stod(next());
      else if (a == "--batch-size") o.batch_size = std::stoi(next());
      else if (a == "--buffer-episodes") o.buffer_episodes = std::stoi(next());
      else if (a == "--shrink-from-step") o.shrink_from_step = std::stoi(next());
      else if (a == "--refit-on-reject") o.refit_on_reject = std::stoi(next());
      else if (a == "--seeds") o.seeds = std::stoi(next());
      else if (a == "--methods") o.methods_list = next();
      else if (a == "--out") o.out = next();
      else if (a == "--quiet") o.quiet = true;
      else if (a == "--compare") o.compare = true;
      else if (a == "--test-set") o.test_set = true;
      else if (a == "--policy") {
        o.policy = true;
        o.policy_state(0) = std::stod(next());
        o.policy_state(1) = std::stod(next());
      } else if (a == "--theta") {
        o.has_theta = true;
        for (Eigen::Index j = 0; j < o.theta.size(); ++j) o.theta(j) = std::stod(next());
      } else if (a == "--help" || a == "-h") {
        usage();
        return 0;
      } else {
        usage();
        return 2;
      }
    }
    if (o.policy) return run_policy(o);
    if (o.compare) return run_compare(o);
    if (o.test_set) return run_test_set(o);
    if (!any_mode && o.json.empty()) {
      o.iterations = 8;
      return run_demo(o);
    }
    return run_single(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "linear_2d: %s\n", e.what());
    return 1;
  }
}
