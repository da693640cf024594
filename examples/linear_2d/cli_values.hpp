// The flags of the linear_2d command line (name, number of values, the modes that use it) and
// their values, parsed strictly: whole numbers whole and in range, reals finite and in their
// domain; every error is a UsageError naming the flag (cli.hpp parses the whole line).
#pragma once

#include "cli_options.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

namespace linear_2d::cli::detail {

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
      {"--diagnose", 1, S},
      {"--episodes", 1, train},
      {"--critic-epochs", 1, train},
      {"--first-epochs", 1, train},
      {"--restart", 1, train},
      {"--exploration-floor", 1, train},
      {"--sigma", 1, train},
      {"--expand-factor", 1, train},
      {"--critic-targets", 1, train},
      {"--sweeps", 1, train},
      {"--crn", 1, train},
      {"--float-critic", 1, train},
      {"--critic", 1, train},
      {"--critic-action", 1, train},
      {"--critic-returns", 1, train},
      {"--critic-lr", 1, train},
      {"--critic-reset-adam", 1, train},
      {"--simd-kernel", 1, train},
      {"--batch-size", 1, train},
      {"--buffer-episodes", 1, train},
      {"--critic-hidden", 1, train},
      {"--shrink-from-step", 1, train},
      {"--refit-on-reject", 1, train},
      {"--store-rejected", 1, train},
      {"--ratio-test", 1, train},
      {"--exploration-scale", 1, train},
      {"--preset", 1, train},
      {"--seeds", 1, C},
      {"--methods", 1, C | W},
      {"--out", 1, C | W},
      {"--jobs", 1, W},
      {"--quiet", 0, train | TT},
      {"--scaling", 0, S},
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

}  // namespace linear_2d::cli::detail
