// Options of the linear_2d command line (what cli.hpp's parse fills in), its modes and the
// method names; main.cpp and results_io.hpp read them.
#pragma once

#include "paper_model.hpp"

#include <rmpc/optim/update_rule.hpp>

#include <Eigen/Core>

#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace linear_2d::cli {

/// A bad command line: main prints "linear_2d: <what>" and exits with status 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class Mode { demo, single, compare, sweep, test_set, policy };

inline const char* to_string(Mode m) {
  switch (m) {
    case Mode::demo: return "demo";
    case Mode::single: return "single";
    case Mode::compare: return "compare";
    case Mode::sweep: return "sweep";
    case Mode::test_set: return "test-set";
    case Mode::policy: return "policy";
  }
  return "unknown";
}

struct MethodName {
  const char* cli;
  rmpc::optim::UpdateRule rule;
};
inline const std::vector<MethodName>& methods() {
  using R = rmpc::optim::UpdateRule;
  static const std::vector<MethodName> m = {
      {"gd", R::gd},           {"tr-gd", R::tr_gd},
      {"qn", R::qn},           {"tr-qn", R::tr_qn},
      {"tr-bfgs", R::tr_bfgs}, {"tr-gauss-newton", R::tr_gauss_newton},
      {"adam", R::adam},       {"gn-momentum", R::gn_momentum}};
  return m;
}
inline std::string method_names() {
  std::string s;
  for (const auto& m : methods()) s += (s.empty() ? "" : ", ") + std::string(m.cli);
  return s;
}
/// The canonical (lower case, '-') name of a method, or "" when unknown.
inline std::string canonical_method(std::string name) {
  for (auto& c : name) c = c == '_' ? '-' : char(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& m : methods())
    if (name == m.cli) return m.cli;
  return "";
}
/// The rule of a canonical or user-spelled method name (UsageError naming `flag` if unknown).
inline rmpc::optim::UpdateRule parse_rule(const std::string& name,
                                          const std::string& flag = "--method") {
  const std::string c = canonical_method(name);
  for (const auto& m : methods())
    if (c == m.cli) return m.rule;
  throw UsageError(flag + ": unknown method '" + name + "' (expected one of " + method_names() +
                   ")");
}

struct Options {
  Mode mode = Mode::demo;
  std::string method = "tr-qn";  // canonical name
  int iterations = 40;
  std::uint64_t seed = 0;
  int threads = 1;
  int episodes = -1;       // first n training states only (smoke tests)
  int critic_epochs = 25;  // per-sweep epoch cap of warm-started fits
  int first_epochs = 60;   // epoch cap of the first fits (random init)
  int restart = -1;        // <0: the LoopSettings default (restart_on_stop, not in the paper)
  double exploration_floor = -1, sigma = -1;  // <0: the paper's 0.01 and 0.1
  double expand_factor = -1;                  // <0: the paper's 2
  int sweeps = 10;                            // fitted-Q sweeps k (paper: 10)
  int crn = -1, float_critic =
                    -1;  // <0: the LoopSettings default; crn: 0 off, 1 always, 2 trust-region rules
  double critic_lr = -1;       // <0: the paper's Adam 1e-3
  int critic_reset_adam = -1;  // <0: the default 1 (fresh Adam moments per fit, the paper)
  int simd_kernel = -1;        // <0: the default 1 (the AVX2 training kernel where it runs)
  int batch_size = -1;         // <0: the paper's minibatch 256
  int buffer_episodes = -1;    // <0: the paper's 250
  int critic_hidden = -1;      // <0: the paper's 20 (width of both tanh layers)
  int shrink_from_step = -1;   // <0: TrustRegionSettings default
  int critic_targets = -1;     // <0: LoopSettings default (log); 1: linear (min-max)
  int refit_on_reject = -1;    // <0: the LoopSettings default
  int store_rejected = -1;     // <0: the LoopSettings default (store_rejected_batches)
  bool paper_preset =
      false;            // --preset paper: rmpc::rl::paper_loop_settings (flags given still apply)
  int ratio_test = -1;  // <0: the LoopSettings default; 0 exploring batch, 1 deterministic batch
  int exploration_scale = -1;  // <0: the LoopSettings default; 0 cost, 1 action
  int critic_model = -1;       // <0: the LoopSettings default; 0 network, 1 quadratic
  int critic_action = -1;      // <0: the LoopSettings default; 0 a, 1 the deviation a - pi(s)
  int critic_returns = -1;     // <0: the LoopSettings default; 0 fitted-Q sweeps, 1 observed
  int seeds = 3;
  std::string json, csv, out = "linear_2d_results";
  std::string checkpoint;  // --checkpoint: the run's state, rewritten after every iteration
  std::string resume;      // --resume: continue the run saved in this checkpoint file
  std::string diagnose;    // --diagnose: the model against the true system, one row per model
  std::vector<std::string> methods;  // --compare, --sweep: canonical names (default: all eight
                                     // for --compare, --method's for --sweep)
  std::uint64_t sweep_first = 0, sweep_last = 0;  // --sweep FIRST LAST (inclusive)
  int jobs = 0;                                   // --sweep: concurrent runs (0: one per core)
  bool quiet = false, has_theta = false;
  bool scaling = false;                ///< --scaling: the run at 1, 2, .., threads threads, timed
  bool help = false, version = false;  // --help / --version: print and exit 0
  Eigen::Vector2d policy_state = Eigen::Vector2d::Zero();
  Eigen::Matrix<double, np, 1> theta = theta0();
  Eigen::VectorXd theta_lower, theta_upper;  // --theta-lower / --theta-upper (empty: none)
  std::string command_line;  // argv joined by spaces (recorded in the results files)
};

}  // namespace linear_2d::cli
