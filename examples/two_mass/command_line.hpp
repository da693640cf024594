// The two_mass command line: every flag at most once, every value checked (whole numbers whole
// and in range, reals finite), flags only in the mode that uses them; a bad command line is a
// UsageError naming the flag (main prints it and exits 2). --flag VALUE and --flag=VALUE
// (--sweep FIRST LAST: two values, no '=' form).
#pragma once

#include "two_mass_model.hpp"

#include <rmpc/optim/update_rule.hpp>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace two_mass::cli {

struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class Mode { train, evaluate, generate, sweep };

struct Options {
  Mode mode = Mode::train;
  rmpc::optim::UpdateRule rule = rmpc::optim::UpdateRule::tr_qn;
  std::string method = "tr-qn";
  int iterations = 40;
  int episodes = 50;        ///< the first N training states
  int test_episodes = 500;  ///< the first N test states in the summary (0: none)
  std::uint64_t seed = 0;
  int threads = 1;
  ProcessNoise noise;
  bool deterministic_ratio_test = false;  ///< LoopSettings::ratio_test_cost (default: exploring)
  bool has_sigma = false;                 ///< --sigma given (else the library's default)
  double sigma = 0;                       ///< LoopSettings::exploration.sigma
  std::string exploration_scale;          ///< "cost" or "action"; empty: LoopSettings' default
  int sweeps = 0;  ///< fitted-Q sweeps k, the critic's horizon (0: LoopSettings' default, 10)
  long long memory_episodes = 0;  ///< replay memory in episodes (0: LoopSettings' default, 250)
  int simd_kernel = -1;  ///< TrainSettings::simd_kernel: 0 Eigen's products (< 0: default, 1)
  double exploration_floor = -1;  ///< eps never below this (< 0: LoopSettings' default, 0.01)
  std::string critic;             ///< "network" or "quadratic"; empty: LoopSettings' default
  std::string critic_action;      ///< "action" or "deviation"; empty: LoopSettings' default
  bool observed_returns =
      false;  ///< --critic-returns observed: FittedQSettings::monte_carlo_targets
  bool nonnegative_theta = false;  ///< --theta-bounds nonnegative: theta >= 0 (physical signs)
  std::string csv, json, generate_dir;
  std::string diagnose;  ///< --diagnose FILE: the model against the true system per iteration
  bool has_theta = false;
  Theta theta = theta0();
  bool quiet = false, help = false;
  std::vector<std::string> methods;               ///< --sweep: --methods, or --method's one
  std::uint64_t sweep_first = 0, sweep_last = 0;  ///< --sweep FIRST LAST (inclusive)
  int jobs = 0;                                   ///< --sweep: runs at a time (0: one per core)
  std::string out = "two_mass_sweep";             ///< --sweep: the output directory
};

/// Update rules by their command-line names (case-insensitive, '_' = '-').
inline const std::vector<std::pair<std::string, rmpc::optim::UpdateRule>>& methods() {
  using R = rmpc::optim::UpdateRule;
  static const std::vector<std::pair<std::string, R>> m = {{"gd", R::gd},
                                                           {"tr-gd", R::tr_gd},
                                                           {"qn", R::qn},
                                                           {"tr-qn", R::tr_qn},
                                                           {"tr-bfgs", R::tr_bfgs},
                                                           {"tr-gn", R::tr_gauss_newton},
                                                           {"adam", R::adam},
                                                           {"tr-gauss-newton", R::tr_gauss_newton},
                                                           {"gn-momentum", R::gn_momentum}};
  return m;
}

/// The canonical name of a method (case-insensitive, '_' = '-'); UsageError naming `flag`.
inline std::string method_name(const std::string& flag, const std::string& v,
                               rmpc::optim::UpdateRule* rule = nullptr) {
  std::string name = v;
  for (auto& ch : name) ch = ch == '_' ? '-' : char(std::tolower(static_cast<unsigned char>(ch)));
  for (const auto& m : methods())
    if (m.first == name) {
      if (rule) *rule = m.second;
      return name;
    }
  throw UsageError(flag + ": unknown method '" + v + "'");
}

inline long long parse_int(const std::string& flag, const std::string& v, long long lo,
                           long long hi) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || x < lo || x > hi)
    throw UsageError(flag + ": expected a whole number from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ", got '" + v + "'");
  return x;
}

inline std::uint64_t parse_u64(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || !std::isdigit(static_cast<unsigned char>(v[0])) || *end != '\0' || errno != 0)
    throw UsageError(flag + ": expected a whole number from 0 to 2^64-1, got '" + v + "'");
  return x;
}

inline double parse_real(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || !std::isfinite(x))
    throw UsageError(flag + ": expected a finite number, got '" + v + "'");
  return x;
}

inline Options parse(int argc, char** argv) {
  Options o;
  std::set<std::string> seen;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string f = args[i], v;
    bool inline_value = false;
    if (f.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + f + "'");
    if (const auto eq = f.find('='); eq != std::string::npos) {
      v = f.substr(eq + 1);
      f = f.substr(0, eq);
      inline_value = true;
    }
    if (!seen.insert(f).second) throw UsageError(f + " given more than once");
    if (f == "--sweep" && inline_value)
      throw UsageError("--sweep takes 2 values separated by spaces: --sweep FIRST LAST");
    const bool takes_value =
        f != "--evaluate" && f != "--quiet" && f != "--help" && f != "--theta" && f != "--sweep";
    if (takes_value && !inline_value) {
      if (i + 1 >= args.size()) throw UsageError(f + ": missing value");
      v = args[++i];
    }
    if (f == "--help") {
      o.help = true;
    } else if (f == "--quiet") {
      o.quiet = true;
    } else if (f == "--evaluate") {
      o.mode = Mode::evaluate;
    } else if (f == "--generate-states") {
      if (v.empty()) throw UsageError(f + ": empty directory name");
      o.mode = Mode::generate;
      o.generate_dir = v;
    } else if (f == "--method") {
      o.method = method_name(f, v, &o.rule);
    } else if (f == "--methods") {
      std::string rest = v + ",";
      for (std::size_t at; (at = rest.find(',')) != std::string::npos; rest.erase(0, at + 1)) {
        const std::string name = method_name(f, rest.substr(0, at));
        for (const auto& m : o.methods)
          if (m == name) throw UsageError(f + ": " + name + " listed more than once");
        o.methods.push_back(name);
      }
    } else if (f == "--sweep") {
      if (i + 2 >= args.size()) throw UsageError("--sweep: expected FIRST LAST (2 seeds)");
      const std::string first = args[i + 1], last = args[i + 2];
      i += 2;
      o.mode = Mode::sweep;
      o.sweep_first = parse_u64("--sweep FIRST", first);
      o.sweep_last = parse_u64("--sweep LAST", last);
      if (o.sweep_first > o.sweep_last)
        throw UsageError("--sweep: FIRST (" + first + ") exceeds LAST (" + last + ")");
      if (o.sweep_last - o.sweep_first >= 10000)
        throw UsageError("--sweep: at most 10000 seeds, got " + first + ".." + last);
    } else if (f == "--jobs") {
      o.jobs = int(parse_int(f, v, 1, 1024));
    } else if (f == "--out") {
      if (v.empty()) throw UsageError(f + ": empty directory name");
      // The plot's script names its files in single quotes (seed_sweep.hpp, plot_png).
      if (v.find('\'') != std::string::npos)
        throw UsageError(f + ": the directory name must not contain a single quote");
      o.out = v;
    } else if (f == "--iterations") {
      o.iterations = int(parse_int(f, v, 1, 100000));
    } else if (f == "--episodes") {
      o.episodes = int(parse_int(f, v, 1, 50));
    } else if (f == "--test-episodes") {
      o.test_episodes = int(parse_int(f, v, 0, 500));
    } else if (f == "--seed") {
      o.seed = parse_u64(f, v);
    } else if (f == "--threads") {
      o.threads = int(parse_int(f, v, 1, 1024));
    } else if (f == "--process-noise") {
      o.noise.sigma = parse_real(f, v);
      if (o.noise.sigma < 0) throw UsageError(f + ": expected a number >= 0, got '" + v + "'");
    } else if (f == "--noise-seed") {
      o.noise.seed = parse_u64(f, v);
    } else if (f == "--sigma") {
      o.sigma = parse_real(f, v);
      if (!(o.sigma > 0)) throw UsageError(f + ": expected a number > 0, got '" + v + "'");
      o.has_sigma = true;
    } else if (f == "--exploration-floor") {
      o.exploration_floor = parse_real(f, v);
      if (!(o.exploration_floor >= 0 && o.exploration_floor <= 1))
        throw UsageError(f + ": expected a number in [0, 1], got '" + v + "'");
    } else if (f == "--sweeps") {
      o.sweeps = int(parse_int(f, v, 1, 10000));
    } else if (f == "--memory-episodes") {
      o.memory_episodes = parse_int(f, v, 1, 1000000);
    } else if (f == "--simd-kernel") {
      o.simd_kernel = int(parse_int(f, v, 0, 1));
    } else if (f == "--critic") {
      if (v != "network" && v != "quadratic")
        throw UsageError(f + ": expected network or quadratic, got '" + v + "'");
      o.critic = v;
    } else if (f == "--critic-action") {
      if (v != "action" && v != "deviation")
        throw UsageError(f + ": expected action or deviation, got '" + v + "'");
      o.critic_action = v;
    } else if (f == "--critic-returns") {
      if (v != "sweeps" && v != "observed")
        throw UsageError(f + ": expected sweeps or observed, got '" + v + "'");
      o.observed_returns = v == "observed";
    } else if (f == "--theta-bounds") {
      if (v != "none" && v != "nonnegative")
        throw UsageError(f + ": expected none or nonnegative, got '" + v + "'");
      o.nonnegative_theta = v == "nonnegative";
    } else if (f == "--exploration-scale") {
      if (v != "cost" && v != "action")
        throw UsageError(f + ": expected cost or action, got '" + v + "'");
      o.exploration_scale = v;
    } else if (f == "--ratio-test") {
      if (v != "exploring" && v != "deterministic")
        throw UsageError(f + ": expected exploring or deterministic, got '" + v + "'");
      o.deterministic_ratio_test = v == "deterministic";
    } else if (f == "--diagnose") {
      if (v.empty()) throw UsageError(f + ": empty file name");
      o.diagnose = v;
    } else if (f == "--csv" || f == "--json") {
      if (v.empty()) throw UsageError(f + ": empty file name");
      (f == "--csv" ? o.csv : o.json) = v;
    } else if (f == "--theta") {
      if (inline_value) throw UsageError("--theta: give its 12 numbers as separate arguments");
      int n = 0;
      while (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
        ++i;
        if (n < np) o.theta(n) = parse_real("--theta value " + std::to_string(n + 1), args[i]);
        ++n;
      }
      if (n != np)
        throw UsageError("--theta: expected exactly 12 numbers, got " + std::to_string(n));
      o.has_theta = true;
    } else {
      throw UsageError("unknown flag '" + f + "'");
    }
  }
  // Flags that mean nothing in the chosen mode are errors, not silently ignored.
  if (int(seen.count("--evaluate")) + int(seen.count("--generate-states")) +
          int(seen.count("--sweep")) >
      1)
    throw UsageError("--evaluate, --generate-states and --sweep are separate modes");
  const bool sweep = o.mode == Mode::sweep;
  if (sweep && seen.count("--seed"))
    throw UsageError("--seed has no effect with --sweep (FIRST LAST are the seeds)");
  if (sweep && seen.count("--threads"))
    throw UsageError(
        "--threads has no effect with --sweep (each run is single-threaded; --jobs J runs J at a "
        "time)");
  for (const char* f : {"--csv", "--json", "--test-episodes"})
    if (sweep && seen.count(f))
      throw UsageError(std::string(f) +
                       " has no effect with --sweep (it writes its files to --out DIR and "
                       "evaluates on the training states)");
  if (seen.count("--method") && seen.count("--methods"))
    throw UsageError("--method and --methods: give one (--sweep runs every method listed)");
  for (const char* f : {"--methods", "--jobs", "--out"})
    if (!sweep && seen.count(f))
      throw UsageError(std::string(f) + " has no effect without --sweep");
  if (sweep && o.methods.empty()) o.methods.push_back(o.method);
  const bool train = o.mode == Mode::train || sweep;
  for (const char* f : {"--method", "--iterations", "--episodes", "--seed", "--csv", "--json",
                        "--ratio-test", "--sigma", "--exploration-scale", "--sweeps",
                        "--exploration-floor", "--critic", "--critic-action", "--theta-bounds",
                        "--critic-returns", "--memory-episodes", "--simd-kernel"})
    if (!train && seen.count(f))
      throw UsageError(std::string(f) + " has no effect without training");
  if (o.memory_episodes > 0 && o.memory_episodes < o.episodes)
    throw UsageError("--memory-episodes " + std::to_string(o.memory_episodes) +
                     " is below one batch (--episodes " + std::to_string(o.episodes) +
                     "): the critic would not see the batch it was collected for");
  if (o.mode != Mode::evaluate && o.has_theta)
    throw UsageError("--theta has no effect without --evaluate");
  if (o.mode == Mode::generate && seen.size() > 1)
    throw UsageError("--generate-states takes no other flag");
  return o;
}

}  // namespace two_mass::cli
