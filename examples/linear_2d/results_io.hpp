// Results files of the linear_2d example: output paths checked before any training, writes
// checked after (a failed write is an error), the settings record (full loop settings, rule,
// seed, rmpc version, command line) as "# key: value" lines heading every CSV and as a
// "settings" object in the JSON, and the history CSV with non-finite values as nan / inf / -inf
// (readable by gnuplot, awk, numpy and pandas with comment='#'), never null.
#pragma once

#include "cli.hpp"

#include <rmpc/rl/log.hpp>
#include <rmpc/rl/loop.hpp>
#include <rmpc/version.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

namespace linear_2d::io {

/// One "key: value" of the settings record; `text` values are JSON strings, others numbers.
struct Setting {
  std::string key, value;
  bool text = false;
};
using Settings = std::vector<Setting>;

/// A number in the results files: 10 digits, nan / inf / -inf (as the loop's history CSV).
inline std::string number(double v) { return rmpc::rl::csv_number(v); }

inline std::string json_string(const std::string& s) {
  std::string r = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(static_cast<unsigned char>(c)));
      r += buf;
    } else {
      r += c;
    }
  }
  return r + "\"";
}

/// {"key": value, ...} on one line (non-finite numbers as null: JSON has no NaN).
inline std::string json_object(const Settings& s) {
  std::string r = "{";
  for (std::size_t i = 0; i < s.size(); ++i) {
    r += (i ? ", " : "") + json_string(s[i].key) + ": ";
    if (s[i].text)
      r += json_string(s[i].value);
    else if (s[i].value == "nan" || s[i].value == "inf" || s[i].value == "-inf")
      r += "null";
    else
      r += s[i].value;
  }
  return r + "}";
}

/// "# key: value" lines (line breaks inside a value become spaces).
inline void write_comment_header(std::ostream& out, const Settings& s) {
  for (const auto& kv : s) {
    std::string v = kv.value;
    for (auto& c : v)
      if (c == '\n' || c == '\r') c = ' ';
    out << "# " << kv.key << ": " << v << "\n";
  }
}

inline const char* to_string(rmpc::rl::CommonRandomNumbers c) {
  switch (c) {
    case rmpc::rl::CommonRandomNumbers::off: return "off";
    case rmpc::rl::CommonRandomNumbers::always: return "on";
    case rmpc::rl::CommonRandomNumbers::trust_region: return "tr";
  }
  return "unknown";
}

/// The settings record of a run: `rule` set for one rule (single run, one CSV of --compare or
/// --sweep), unset for the --compare and --sweep tables (which list the methods instead).
inline Settings settings_record(const cli::Options& o, const rmpc::rl::LoopSettings<double>& s,
                                bool one_rule, std::uint64_t seed, long long training_states) {
  using rmpc::optim::UpdateRule;
  auto num = [](double v) { return number(v); };
  auto flag = [](bool b) { return std::string(b ? "1" : "0"); };
  Settings r;
  r.push_back({"program", "linear_2d", true});
  r.push_back({"rmpc_version", rmpc::version_string, true});
  r.push_back({"command", o.command_line, true});
  r.push_back({"mode", cli::to_string(o.mode), true});
  if (one_rule) {
    const UpdateRule rule = s.optimizer.rule;
    r.push_back({"rule", rmpc::optim::to_string(rule), true});
    std::string cli_name;
    for (const auto& m : cli::methods())
      if (m.rule == rule) cli_name = m.cli;
    r.push_back({"method", cli_name, true});
    r.push_back({"seed", std::to_string(seed), false});
    if (rmpc::optim::uses_trust_region(rule)) {
      r.push_back({"tr_initial_radius", num(s.optimizer.trust_region.initial_radius), false});
      r.push_back({"tr_max_radius", num(s.optimizer.trust_region.max_radius), false});
      r.push_back({"tr_min_radius", num(s.optimizer.trust_region.min_radius), false});
    } else if (rule == UpdateRule::gn_momentum) {
      const auto& g = s.optimizer.gn_momentum;
      r.push_back({"learning_rate", num(g.learning_rate), false});
      r.push_back({"gn_momentum_beta1", num(g.beta1), false});
      r.push_back({"gn_momentum_beta2", num(g.beta2), false});
      r.push_back({"gn_momentum_curvature_beta", num(g.curvature_beta), false});
    } else {
      const auto& f = s.optimizer.fixed_rate;
      const double lr = rule == UpdateRule::gd   ? f.gd_learning_rate
                        : rule == UpdateRule::qn ? f.qn_learning_rate
                                                 : f.adam_learning_rate;
      r.push_back({"learning_rate", num(lr), false});
    }
    const bool crn = s.common_random_numbers == rmpc::rl::CommonRandomNumbers::always ||
                     (s.common_random_numbers == rmpc::rl::CommonRandomNumbers::trust_region &&
                      rmpc::optim::uses_trust_region(rule));
    r.push_back({"common_random_numbers_used", flag(crn), false});
  } else {
    std::string names;
    for (const auto& m : o.methods) names += (names.empty() ? "" : ",") + m;
    r.push_back({"methods", names, true});
    if (o.mode == cli::Mode::sweep) {
      r.push_back({"seed_first", std::to_string(o.sweep_first), false});
      r.push_back({"seed_last", std::to_string(o.sweep_last), false});
    } else {
      r.push_back({"seed", std::to_string(o.seed), false});
      r.push_back({"seeds", std::to_string(o.seeds), false});
    }
  }
  r.push_back({"iterations", std::to_string(s.iterations), false});
  r.push_back({"episodes", std::to_string(training_states), false});
  r.push_back({"episode_length", std::to_string(s.episode_length), false});
  r.push_back({"threads", std::to_string(s.threads), false});
  r.push_back({"critic_epochs", std::to_string(s.critic.train.max_epochs), false});
  r.push_back({"first_epochs", std::to_string(s.first_fit_max_epochs), false});
  r.push_back({"sweeps", std::to_string(s.critic.sweeps), false});
  r.push_back({"critic_lr", num(s.critic.train.adam.learning_rate), false});
  r.push_back({"critic_reset_adam", flag(s.critic.train.reset_optimizer), false});
  r.push_back({"simd_kernel", flag(s.critic.train.simd_kernel), false});
  r.push_back({"batch_size", std::to_string(s.critic.train.batch_size), false});
  r.push_back({"buffer_episodes", std::to_string(s.buffer_episodes), false});
  r.push_back({"critic_hidden", std::to_string(s.critic_hidden), false});
  r.push_back({"critic_targets",
               s.critic_targets == rmpc::learn::TargetTransform::min_max ? "linear" : "log", true});
  r.push_back({"exploration_initial", num(s.exploration.initial_probability), false});
  r.push_back({"exploration_decay", num(s.exploration.decay), false});
  r.push_back({"exploration_floor", num(s.exploration.floor), false});
  r.push_back({"sigma", num(s.exploration.sigma), false});
  r.push_back({"exploration_scale", rmpc::rl::to_string(s.exploration.scale), true});
  r.push_back({"crn", to_string(s.common_random_numbers), true});
  r.push_back({"float_critic", flag(s.float_critic), false});
  r.push_back({"critic_model",
               s.critic_model == rmpc::rl::CriticModel::quadratic ? "quadratic" : "network", true});
  r.push_back({"critic_action", s.critic.action_relative ? "deviation" : "action", true});
  r.push_back({"critic_returns", s.critic.monte_carlo_targets ? "observed" : "sweeps", true});
  r.push_back({"refit_on_reject", flag(s.refit_on_reject), false});
  r.push_back({"store_rejected", flag(s.store_rejected_batches), false});
  r.push_back({"restart_on_stop", flag(s.restart_on_stop), false});
  r.push_back({"ratio_test",
               s.ratio_test_cost == rmpc::rl::RatioTestCost::deterministic_batch ? "deterministic"
                                                                                 : "exploring",
               true});
  r.push_back({"shrink_from_step", flag(s.optimizer.trust_region.shrink_from_step_length), false});
  r.push_back({"expand_factor", num(s.optimizer.trust_region.expand_factor), false});
  r.push_back({"use_weakly_active", flag(s.use_weakly_active), false});
  r.push_back(
      {"failed_episode_cost",
       s.failed_episode_cost == rmpc::rl::FailedEpisodeCost::infinite ? "infinite" : "truncated",
       true});
  const auto bounds = [&](const Eigen::VectorXd& b) {
    if (b.size() == 0) return std::string("none");
    std::string t;
    for (Eigen::Index j = 0; j < b.size(); ++j) t += (j ? " " : "") + num(b(j));
    return t;
  };
  r.push_back({"theta_lower", bounds(s.theta_lower), true});
  r.push_back({"theta_upper", bounds(s.theta_upper), true});
  return r;
}

inline std::string os_error(int err) { return std::strerror(err); }

/// Fails (std::runtime_error naming `flag`) unless `path` can be created or appended to; a
/// file created by the probe is removed again.
inline void check_writable_file(const std::string& flag, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw std::runtime_error(flag + ": '" + path + "' is a directory");
  const bool existed = fs::exists(path, ec);
  errno = 0;
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr)
    throw std::runtime_error(flag + ": cannot write '" + path + "': " + os_error(errno));
  std::fclose(f);
  if (!existed) fs::remove(path, ec);
}

/// Creates `dir` (and its parents) and checks that a file can be written there.
inline void prepare_output_dir(const std::string& flag, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error(flag + ": cannot create directory '" + dir + "': " + ec.message());
  if (!fs::is_directory(dir, ec))
    throw std::runtime_error(flag + ": '" + dir + "' is not a directory");
  const std::string probe = dir + "/.linear_2d_write_probe_" + std::to_string(::getpid());
  errno = 0;
  std::FILE* f = std::fopen(probe.c_str(), "w");
  if (f == nullptr)
    throw std::runtime_error(flag + ": cannot write in directory '" + dir +
                             "': " + os_error(errno));
  const bool ok = std::fputs("probe\n", f) >= 0;
  const bool closed = std::fclose(f) == 0;
  fs::remove(probe, ec);
  if (!ok || !closed) throw std::runtime_error(flag + ": cannot write in directory '" + dir + "'");
}

/// Writes `path` with `body(std::ostream&)`; throws std::runtime_error when any part fails.
template <class Body>
void write_file(const std::string& path, Body&& body) {
  std::ofstream f(path);
  if (!f) throw std::runtime_error("cannot open '" + path + "' for writing");
  body(f);
  f.flush();
  f.close();
  if (f.fail()) throw std::runtime_error("writing '" + path + "' failed");
}

}  // namespace linear_2d::io
