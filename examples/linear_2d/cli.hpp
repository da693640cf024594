// Command line of the linear_2d example, parsed strictly and completely before anything runs:
// whole numbers must be whole and in range, reals finite and in their domain, names known,
// every flag at most once and only in a mode that uses it. Every error names the flag.
//   --name VALUE and --name=VALUE; --theta takes exactly 8 numbers, --policy exactly 2.
//   Method names: case-insensitive, '-' and '_' alike (TR-QN, tr_qn, tr-qn).
#pragma once

#include "paper_model.hpp"

#include <rmpc/optim/update_rule.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
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
  int sweeps = 10;                            // fitted-Q sweeps k (paper: 10)
  int crn = -1, float_critic =
                    -1;  // <0: the LoopSettings default; crn: 0 off, 1 always, 2 trust-region rules
  double critic_lr = -1;      // <0: the paper's Adam 1e-3
  int batch_size = -1;        // <0: the paper's minibatch 256
  int buffer_episodes = -1;   // <0: the paper's 250
  int shrink_from_step = -1;  // <0: TrustRegionSettings default
  int refit_on_reject = -1;   // <0: the LoopSettings default
  bool paper_preset =
      false;            // --preset paper: rmpc::rl::paper_loop_settings (flags given still apply)
  int ratio_test = -1;  // <0: the LoopSettings default; 0 exploring batch, 1 deterministic batch
  int seeds = 3;
  std::string json, csv, out = "linear_2d_results";
  std::string checkpoint;  // --checkpoint: the run's state, rewritten after every iteration
  std::string resume;      // --resume: continue the run saved in this checkpoint file
  std::vector<std::string> methods;  // --compare, --sweep: canonical names (default: all eight
                                     // for --compare, --method's for --sweep)
  std::uint64_t sweep_first = 0, sweep_last = 0;  // --sweep FIRST LAST (inclusive)
  int jobs = 0;                                   // --sweep: concurrent runs (0: one per core)
  bool quiet = false, has_theta = false;
  bool help = false, version = false;  // --help / --version: print and exit 0
  Eigen::Vector2d policy_state = Eigen::Vector2d::Zero();
  Eigen::Matrix<double, np, 1> theta = theta0();
  Eigen::VectorXd theta_lower, theta_upper;  // --theta-lower / --theta-upper (empty: none)
  std::string command_line;  // argv joined by spaces (recorded in the results files)
};

namespace detail {

// Modes a flag is used in: single run or demo, --compare, --test-set (training),
// --test-set --theta (no training), --policy, --sweep.
enum : unsigned { S = 1u, C = 2u, T = 4u, TT = 8u, P = 16u, W = 32u };
constexpr unsigned train = S | C | T | W;

struct FlagSpec {
  const char* name;
  int arity;  // number of values
  unsigned modes;
};
inline const std::vector<FlagSpec>& flags() {
  static const std::vector<FlagSpec> f = {
      {"--method", 1, S | T | W},
      {"--iterations", 1, train},
      {"--seed", 1, S | C | T},          // --sweep: FIRST LAST are the seeds
      {"--threads", 1, S | C | T | TT},  // --sweep: each run on one thread, --jobs in parallel
      {"--json", 1, S},
      {"--csv", 1, S},
      {"--checkpoint", 1, S},
      {"--resume", 1, S},
      {"--episodes", 1, train},
      {"--critic-epochs", 1, train},
      {"--first-epochs", 1, train},
      {"--restart", 1, train},
      {"--exploration-floor", 1, train},
      {"--sigma", 1, train},
      {"--sweeps", 1, train},
      {"--crn", 1, train},
      {"--float-critic", 1, train},
      {"--critic-lr", 1, train},
      {"--batch-size", 1, train},
      {"--buffer-episodes", 1, train},
      {"--shrink-from-step", 1, train},
      {"--refit-on-reject", 1, train},
      {"--ratio-test", 1, train},
      {"--preset", 1, train},
      {"--seeds", 1, C},
      {"--methods", 1, C | W},
      {"--out", 1, C | W},
      {"--jobs", 1, W},
      {"--quiet", 0, train | TT},
      {"--theta", np, TT | P},
      {"--theta-lower", np, train},
      {"--theta-upper", np, train},
      {"--compare", 0, ~0u},
      {"--test-set", 0, ~0u},
      {"--policy", 2, ~0u},
      {"--sweep", 2, ~0u},
  };
  return f;
}
inline const FlagSpec* find_flag(const std::string& name) {
  for (const auto& f : flags())
    if (name == f.name) return &f;
  return nullptr;
}

inline std::string quoted(const std::string& s) { return "'" + s + "'"; }

inline std::string int_range(long long lo, long long hi) {
  if (hi == std::numeric_limits<long long>::max()) return ">= " + std::to_string(lo);
  return "from " + std::to_string(lo) + " to " + std::to_string(hi);
}

inline long long parse_int(const std::string& flag, const std::string& text, long long lo,
                           long long hi) {
  long long v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  const auto [p, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec != std::errc() || p != e || v < lo || v > hi)
    throw UsageError(flag + ": expected a whole number " + int_range(lo, hi) + ", got " +
                     quoted(text));
  return v;
}

inline std::uint64_t parse_u64(const std::string& flag, const std::string& text) {
  std::uint64_t v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  const auto [p, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec != std::errc() || p != e)
    throw UsageError(flag + ": expected a whole number from 0 to " +
                     std::to_string(std::numeric_limits<std::uint64_t>::max()) + ", got " +
                     quoted(text));
  return v;
}

/// A finite real satisfying `ok` (described by `domain`, e.g. "> 0").
inline double parse_real(const std::string& flag, const std::string& text,
                         const std::function<bool(double)>& ok, const std::string& domain) {
  double v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  const auto [p, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec != std::errc() || p != e || !std::isfinite(v) || !ok(v))
    throw UsageError(flag + ": expected a finite number" + (domain.empty() ? "" : " " + domain) +
                     ", got " + quoted(text));
  return v;
}

/// A bound: a finite number, or inf (-inf for a lower bound) for none.
inline double parse_bound(const std::string& flag, const std::string& text, bool lower) {
  const std::string none = lower ? "-inf" : "inf";
  if (text == none)
    return lower ? -std::numeric_limits<double>::infinity()
                 : std::numeric_limits<double>::infinity();
  double v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  const auto [p, ec] = std::from_chars(b, e, v);
  if (text.empty() || ec != std::errc() || p != e || !std::isfinite(v))
    throw UsageError(flag + ": expected a finite number or " + none + ", got " + quoted(text));
  return v;
}

inline int parse_01(const std::string& flag, const std::string& text) {
  if (text == "0") return 0;
  if (text == "1") return 1;
  throw UsageError(flag + ": expected 0 or 1, got " + quoted(text));
}

inline bool looks_like_flag(const std::string& s) {
  return s.size() >= 2 && s[0] == '-' && s[1] == '-';
}

struct Given {
  const FlagSpec* spec;
  std::vector<std::string> values;
};

}  // namespace detail

/// Parses and validates the whole command line (UsageError on any problem). The mode is
/// --compare, --test-set or --policy (at most one); else "single" when --method, --iterations
/// or --json is given, else the short demo. `training_states()` (the number of training
/// states, for --episodes) is called only when needed.
inline Options parse(int argc, const char* const* argv,
                     const std::function<long long()>& training_states) {
  using namespace detail;
  Options o;
  for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);

  // 1. Split into flags and their values.
  std::vector<Given> given;
  std::set<std::string> seen;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      return o;
    }
    if (a == "--version") {
      o.version = true;
      return o;
    }
    if (!looks_like_flag(a)) {
      std::string msg = "unexpected argument " + quoted(a);
      if (!given.empty() && given.back().spec->arity > 1)
        msg += " (" + std::string(given.back().spec->name) + " takes exactly " +
               std::to_string(given.back().spec->arity) + " values)";
      else if (!given.empty() && given.back().spec->arity == 0)
        msg += " (" + std::string(given.back().spec->name) + " takes no value)";
      else
        msg += " (options start with --; see --help)";
      throw UsageError(msg);
    }
    const auto eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const FlagSpec* spec = find_flag(name);
    if (spec == nullptr) throw UsageError("unknown option " + quoted(name) + " (see --help)");
    if (!seen.insert(name).second) throw UsageError(name + " given more than once");
    Given g{spec, {}};
    if (spec->arity == 0) {
      if (eq != std::string::npos) throw UsageError(name + " takes no value, got " + quoted(a));
    } else if (spec->arity == 1) {
      if (eq != std::string::npos) {
        g.values.push_back(a.substr(eq + 1));
      } else {
        if (i + 1 >= argc || looks_like_flag(argv[i + 1]))
          throw UsageError(name + ": missing value");
        g.values.push_back(argv[++i]);
      }
    } else {
      if (eq != std::string::npos)
        throw UsageError(name + " takes " + std::to_string(spec->arity) +
                         " values separated by spaces, not " + quoted(a));
      while (i + 1 < argc && !looks_like_flag(argv[i + 1])) g.values.push_back(argv[++i]);
      if (int(g.values.size()) != spec->arity)
        throw UsageError(name + ": expected exactly " + std::to_string(spec->arity) +
                         " numbers, got " + std::to_string(g.values.size()));
    }
    given.push_back(std::move(g));
  }

  // 2. The mode, and flags that the mode would ignore.
  auto has = [&](const char* n) { return seen.count(n) > 0; };
  const int modes =
      int(has("--compare")) + int(has("--test-set")) + int(has("--policy")) + int(has("--sweep"));
  if (modes > 1)
    throw UsageError(
        "--compare, --sweep, --test-set and --policy are separate modes: give at most one");
  unsigned bit = S;
  std::string where;
  if (has("--policy")) {
    o.mode = Mode::policy;
    bit = P;
    where = "with --policy";
  } else if (has("--compare")) {
    o.mode = Mode::compare;
    bit = C;
    where = "with --compare";
  } else if (has("--sweep")) {
    o.mode = Mode::sweep;
    bit = W;
    where = "with --sweep";
    // The generic message would not say what to use instead.
    if (has("--seed"))
      throw UsageError("--seed has no effect with --sweep (FIRST LAST are the seeds)");
    if (has("--threads"))
      throw UsageError(
          "--threads has no effect with --sweep (each run is single-threaded; --jobs J runs J "
          "seeds at a time)");
    if (has("--method") && has("--methods"))
      throw UsageError("--method and --methods: give one (--sweep runs every method listed)");
  } else if (has("--test-set")) {
    o.mode = Mode::test_set;
    bit = has("--theta") ? TT : T;
    where = has("--theta") ? "with --test-set --theta (no training)" : "with --test-set";
  } else {
    o.mode = has("--method") || has("--iterations") || has("--json") || has("--resume")
                 ? Mode::single
                 : Mode::demo;
    where = "without --compare, --test-set or --policy";
  }
  for (const auto& g : given)
    if ((g.spec->modes & bit) == 0)
      throw UsageError(std::string(g.spec->name) + " has no effect " + where);

  // 3. Values.
  constexpr long long big = std::numeric_limits<int>::max();
  for (const auto& g : given) {
    const std::string f = g.spec->name;
    const std::string v = g.values.empty() ? "" : g.values[0];
    auto positive = [](double x) { return x > 0; };
    if (f == "--method") {
      o.method = canonical_method(v);
      if (o.method.empty()) (void)parse_rule(v, f);  // throws, naming the flag
    } else if (f == "--iterations") {
      o.iterations = int(parse_int(f, v, 1, 100000));
    } else if (f == "--seed") {
      o.seed = parse_u64(f, v);
    } else if (f == "--threads") {
      o.threads = int(parse_int(f, v, 1, 1024));
    } else if (f == "--json") {
      if (v.empty()) throw UsageError("--json: empty file name");
      o.json = v;
    } else if (f == "--csv") {
      if (v.empty()) throw UsageError("--csv: empty file name");
      o.csv = v;
    } else if (f == "--checkpoint") {
      if (v.empty()) throw UsageError("--checkpoint: empty file name");
      o.checkpoint = v;
    } else if (f == "--resume") {
      if (v.empty()) throw UsageError("--resume: empty file name");
      o.resume = v;
    } else if (f == "--episodes") {
      const long long n = training_states();
      o.episodes = int(parse_int(f, v, 1, n));
    } else if (f == "--critic-epochs") {
      o.critic_epochs = int(parse_int(f, v, 1, big));
    } else if (f == "--first-epochs") {
      o.first_epochs = int(parse_int(f, v, 1, big));
    } else if (f == "--preset") {
      if (v != "paper" && v != "default")
        throw UsageError("--preset: expected paper or default, got " + quoted(v));
      o.paper_preset = v == "paper";
    } else if (f == "--restart") {
      o.restart = parse_01(f, v);
    } else if (f == "--exploration-floor") {
      o.exploration_floor = parse_real(
          f, v, [](double x) { return x >= 0 && x <= 1; }, "in [0, 1]");
    } else if (f == "--sigma") {
      o.sigma = parse_real(f, v, positive, "> 0");
    } else if (f == "--sweeps") {
      o.sweeps = int(parse_int(f, v, 1, 10000));
    } else if (f == "--crn") {
      o.crn = v == "off" || v == "0"  ? 0
              : v == "on" || v == "1" ? 1
              : v == "tr" || v == "2" ? 2
                                      : -2;
      if (o.crn == -2)
        throw UsageError("--crn: expected off, on or tr (0, 1, 2), got " + quoted(v));
    } else if (f == "--float-critic") {
      o.float_critic = parse_01(f, v);
    } else if (f == "--critic-lr") {
      o.critic_lr = parse_real(f, v, positive, "> 0");
    } else if (f == "--batch-size") {
      o.batch_size = int(parse_int(f, v, 1, big));
    } else if (f == "--buffer-episodes") {
      o.buffer_episodes = int(parse_int(f, v, 1, 1000000));
    } else if (f == "--shrink-from-step") {
      o.shrink_from_step = parse_01(f, v);
    } else if (f == "--refit-on-reject") {
      o.refit_on_reject = parse_01(f, v);
    } else if (f == "--ratio-test") {
      o.ratio_test = v == "exploring" ? 0 : v == "deterministic" ? 1 : -2;
      if (o.ratio_test == -2)
        throw UsageError("--ratio-test: expected exploring or deterministic, got " + quoted(v));
    } else if (f == "--jobs") {
      o.jobs = int(parse_int(f, v, 1, 1024));
    } else if (f == "--sweep") {
      o.sweep_first = parse_u64(f + " FIRST", g.values[0]);
      o.sweep_last = parse_u64(f + " LAST", g.values[1]);
      if (o.sweep_first > o.sweep_last)
        throw UsageError("--sweep: FIRST (" + g.values[0] + ") exceeds LAST (" + g.values[1] +
                         "): seeds FIRST..LAST, inclusive");
      if (o.sweep_last - o.sweep_first >= 10000)
        throw UsageError("--sweep: at most 10000 seeds, got " + g.values[0] + ".." + g.values[1]);
    } else if (f == "--seeds") {
      o.seeds = int(parse_int(f, v, 1, 10000));
    } else if (f == "--methods") {
      std::size_t start = 0;
      while (true) {
        const auto comma = v.find(',', start);
        const std::string n =
            v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (n.empty()) throw UsageError("--methods: empty method name in " + quoted(v));
        const std::string c = canonical_method(n);
        if (c.empty()) (void)parse_rule(n, f);
        if (std::find(o.methods.begin(), o.methods.end(), c) != o.methods.end())
          throw UsageError("--methods: " + c + " listed more than once");
        o.methods.push_back(c);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (f == "--out") {
      if (v.empty()) throw UsageError("--out: empty directory name");
      // The plot step passes the directory to gnuplot and the shell inside single quotes.
      if (v.find('\'') != std::string::npos)
        throw UsageError("--out: the directory name must not contain a single quote");
      o.out = v;
    } else if (f == "--quiet") {
      o.quiet = true;
    } else if (f == "--theta") {
      o.has_theta = true;
      for (int j = 0; j < np; ++j)
        o.theta(j) = parse_real(
            f + " value " + std::to_string(j + 1), g.values[std::size_t(j)],
            [](double) { return true; }, "");
    } else if (f == "--theta-lower" || f == "--theta-upper") {
      auto& bound = f == "--theta-lower" ? o.theta_lower : o.theta_upper;
      bound.resize(np);
      for (int j = 0; j < np; ++j)
        bound(j) = parse_bound(f + " value " + std::to_string(j + 1), g.values[std::size_t(j)],
                               f == "--theta-lower");
    } else if (f == "--policy") {
      for (int j = 0; j < 2; ++j)
        o.policy_state(j) = parse_real(
            f + " value " + std::to_string(j + 1), g.values[std::size_t(j)],
            [](double) { return true; }, "");
    }
  }

  // 4. Combinations.
  if (o.mode == Mode::sweep && o.methods.empty()) o.methods.push_back(o.method);
  if (o.mode == Mode::compare) {
    if (o.methods.empty())
      for (const auto& m : methods()) o.methods.push_back(m.cli);
    if (std::uint64_t(o.seeds - 1) > std::numeric_limits<std::uint64_t>::max() - o.seed)
      throw UsageError("--seeds: seeds " + std::to_string(o.seed) + " + 0.." +
                       std::to_string(o.seeds - 1) + " overflow 64 bits (lower --seed)");
  }
  if (o.theta_lower.size() > 0 || o.theta_upper.size() > 0) {
    if (o.theta_lower.size() == 0)
      o.theta_lower = Eigen::VectorXd::Constant(np, -std::numeric_limits<double>::infinity());
    if (o.theta_upper.size() == 0)
      o.theta_upper = Eigen::VectorXd::Constant(np, std::numeric_limits<double>::infinity());
    for (int j = 0; j < np; ++j) {
      if (o.theta_lower(j) > o.theta_upper(j))
        throw UsageError("--theta-lower value " + std::to_string(j + 1) +
                         " exceeds --theta-upper value " + std::to_string(j + 1));
      if (theta0()(j) < o.theta_lower(j) || theta0()(j) > o.theta_upper(j))
        throw UsageError("--theta-lower/--theta-upper value " + std::to_string(j + 1) +
                         ": theta0 = " + std::to_string(theta0()(j)) + " lies outside the bounds");
    }
  }
  if (!o.json.empty() && o.json == o.csv)
    throw UsageError("--json and --csv name the same file " + quoted(o.json));
  for (const std::string* other : {&o.json, &o.csv}) {
    if (!o.checkpoint.empty() && o.checkpoint == *other)
      throw UsageError("--checkpoint names the same file as --json or --csv " +
                       quoted(o.checkpoint));
    if (!o.resume.empty() && o.resume == *other)
      throw UsageError("--json or --csv would overwrite the --resume file " + quoted(o.resume));
  }
  return o;
}

}  // namespace linear_2d::cli
