// Shared by every settings struct: the range checks of validate() (a setting outside its
// documented range is a programmer error, README "Errors": std::invalid_argument whose message
// names the struct, the field, the rule and the value), the size check of the data structs'
// resize() (require_size) and default_tolerance (never below a few
// machine epsilons of the Scalar, float included). Used by every layer; includes nothing of rmpc.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace rmpc::detail {

/// Throws std::invalid_argument("<field> must be <rule> (got <value>)") unless `ok`.
/// `field` names the struct and member, e.g. "TrustRegionSettings::initial_radius".
template <typename T>
void require_setting(bool ok, const char* field, const char* rule, const T& value) {
  if (ok) return;
  std::ostringstream message;
  message << field << " must be " << rule << " (got " << value << ")";
  throw std::invalid_argument(message.str());
}

template <typename T>
bool finite_positive(T v) {
  return std::isfinite(v) && v > T(0);
}

template <typename T>
bool finite_nonnegative(T v) {
  return std::isfinite(v) && v >= T(0);
}

/// Throws std::invalid_argument("<owner>: <name> = <n> but <param> = <fixed><hint>") when a
/// run-time size contradicts a compile-time one (Eigen ignores such a resize with its asserts
/// off), and "<owner>: <name> = <n> is negative" for a negative size.
inline void require_size(int fixed, Eigen::Index n, const char* owner, const char* name,
                         const char* param, const char* hint = "") {
  if (n >= 0 && (fixed == Eigen::Dynamic || n == fixed)) return;
  std::ostringstream message;
  message << owner << ": " << name << " = " << n;
  if (n < 0)
    message << " is negative";
  else
    message << " but " << param << " = " << fixed << hint;
  throw std::invalid_argument(message.str());
}

/// max(v, k eps): a default tolerance that keeps the double value v and never sits below
/// k machine epsilons of Scalar (float instantiations), for every layer's settings.
template <typename Scalar>
Scalar default_tolerance(double v, double k) {
  return (std::max)(Scalar(v), Scalar(k) * Eigen::NumTraits<Scalar>::epsilon());
}

}  // namespace rmpc::detail
