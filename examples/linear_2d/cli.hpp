// Command line of the linear_2d example, parsed strictly and completely before anything runs:
// whole numbers must be whole and in range, reals finite and in their domain, names known,
// every flag at most once and only in a mode that uses it. Every error names the flag.
//   --name VALUE and --name=VALUE; --theta takes exactly 8 numbers, --policy exactly 2.
//   Method names: case-insensitive, '-' and '_' alike (TR-QN, tr_qn, tr-qn).
//   Options and method names: cli_options.hpp; the flags and value parsers: cli_values.hpp.
#pragma once

#include "cli_options.hpp"
#include "cli_values.hpp"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace linear_2d::cli {

namespace detail {

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
    o.mode = has("--method") || has("--iterations") || has("--json") || has("--resume") ||
                     has("--diagnose") || has("--scaling")
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
    } else if (f == "--diagnose") {
      if (v.empty()) throw UsageError("--diagnose: empty file name");
      o.diagnose = v;
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
    } else if (f == "--critic-targets") {
      if (v != "log" && v != "linear") throw UsageError("--critic-targets: log or linear");
      o.critic_targets = v == "linear" ? 1 : 0;
    } else if (f == "--expand-factor") {
      o.expand_factor = parse_real(
          f, v, [](double x) { return x >= 1; }, ">= 1");
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
    } else if (f == "--critic") {
      if (v != "network" && v != "quadratic")
        throw UsageError("--critic: expected network or quadratic, got " + quoted(v));
      o.critic_model = v == "quadratic" ? 1 : 0;
    } else if (f == "--critic-action") {
      if (v != "action" && v != "deviation")
        throw UsageError("--critic-action: expected action or deviation, got " + quoted(v));
      o.critic_action = v == "deviation" ? 1 : 0;
    } else if (f == "--critic-returns") {
      if (v != "sweeps" && v != "observed")
        throw UsageError("--critic-returns: expected sweeps or observed, got " + quoted(v));
      o.critic_returns = v == "observed" ? 1 : 0;
    } else if (f == "--float-critic") {
      o.float_critic = parse_01(f, v);
    } else if (f == "--critic-lr") {
      o.critic_lr = parse_real(f, v, positive, "> 0");
    } else if (f == "--critic-reset-adam") {
      o.critic_reset_adam = parse_01(f, v);
    } else if (f == "--simd-kernel") {
      o.simd_kernel = parse_01(f, v);
    } else if (f == "--batch-size") {
      o.batch_size = int(parse_int(f, v, 1, big));
    } else if (f == "--buffer-episodes") {
      o.buffer_episodes = int(parse_int(f, v, 1, 1000000));
    } else if (f == "--critic-hidden") {
      o.critic_hidden = int(parse_int(f, v, 1, 1000));
    } else if (f == "--shrink-from-step") {
      o.shrink_from_step = parse_01(f, v);
    } else if (f == "--refit-on-reject") {
      o.refit_on_reject = parse_01(f, v);
    } else if (f == "--store-rejected") {
      o.store_rejected = parse_01(f, v);
    } else if (f == "--exploration-scale") {
      o.exploration_scale = v == "cost" ? 0 : v == "action" ? 1 : -2;
      if (o.exploration_scale == -2)
        throw UsageError("--exploration-scale: expected cost or action, got " + quoted(v));
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
    } else if (f == "--scaling") {
      o.scaling = true;
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
  // A checkpoint holds the critic's weights, not its optimiser's moments.
  if (o.critic_reset_adam == 0 && (!o.checkpoint.empty() || !o.resume.empty()))
    throw UsageError(
        "--critic-reset-adam 0 with --checkpoint/--resume: a checkpoint does not "
        "hold Adam's moments, so the resumed run would differ from one run");
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
  if (o.scaling && (!o.json.empty() || !o.csv.empty() || !o.checkpoint.empty() ||
                    !o.resume.empty() || !o.diagnose.empty()))
    throw UsageError(
        "--scaling times fresh runs and writes no files: drop --json, --csv, "
        "--checkpoint, --resume, --diagnose");
  if (o.scaling && o.threads < 2)
    throw UsageError("--scaling compares 1..T threads: give --threads T with T >= 2");
  if (!o.json.empty() && o.json == o.csv)
    throw UsageError("--json and --csv name the same file " + quoted(o.json));
  for (const std::string* other : {&o.json, &o.csv})
    if (!o.diagnose.empty() && o.diagnose == *other)
      throw UsageError("--diagnose names the same file as --json or --csv " + quoted(o.diagnose));
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
