// Statuses and step records shared by every update rule of rmpc::optim (trust region,
// first-order baselines). One ask/tell shape for all of them (method.md section 4):
//
//     tell_model(g, H) at the accepted point -> ask() -> TrialStep {p, predicted decrease}
//     -> caller measures J(x + p) -> tell_value(J) -> StepOutcome {accepted, rho, radius, status}
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>

namespace rmpc::optim {

/// Why an optimizer stopped (or that it has not). Never an exception in the loop.
enum class Status {
  running,             ///< Not stopped; the next call in the ask/tell cycle is expected.
  converged_gradient,  ///< ||g|| <= gradient_tolerance at the accepted point.
  converged_step,      ///< Accepted step below step_tolerance, or the model predicts no decrease.
  converged_radius,    ///< A step of length <= min_radius was rejected: no progress possible.
  max_iterations,      ///< Trial budget (tell_value calls) exhausted.
  non_finite_input,    ///< g, H or the value at an accepted point is NaN/Inf.
  subproblem_failed,   ///< The step computation failed (eigensolver; QN with H = 0).
  /// Trial values J(x + p) were NaN/Inf: the trust region shrank to min_radius on a
  /// non-finite trial (the measurement, not the model, stopped progress), or a rule
  /// without a ratio test met one. The non-finite trial is never accepted.
  non_finite_objective,
  /// Finite g, H and x, but a derived quantity (norm, step, predicted decrease) overflows
  /// the floating-point range even with scaled arithmetic.
  numerical_overflow,
};

inline const char* to_string(Status s) {
  switch (s) {
    case Status::running: return "running";
    case Status::converged_gradient: return "converged_gradient";
    case Status::converged_step: return "converged_step";
    case Status::converged_radius: return "converged_radius";
    case Status::max_iterations: return "max_iterations";
    case Status::non_finite_input: return "non_finite_input";
    case Status::subproblem_failed: return "subproblem_failed";
    case Status::non_finite_objective: return "non_finite_objective";
    case Status::numerical_overflow: return "numerical_overflow";
  }
  return "unknown";
}

/// One sentence on why the optimizer stopped (for logs and error messages).
inline const char* describe(Status s) {
  switch (s) {
    case Status::running: return "running: the next ask/tell call is expected";
    case Status::converged_gradient:
      return "converged: gradient norm at or below gradient_tolerance";
    case Status::converged_step:
      return "converged: accepted step below step_tolerance or no model decrease left";
    case Status::converged_radius: return "converged: a finite trial was rejected at min_radius";
    case Status::max_iterations: return "stopped: trial budget exhausted";
    case Status::non_finite_input:
      return "failed: NaN/Inf in the gradient, Hessian, start point or start value";
    case Status::subproblem_failed:
      return "failed: the step computation failed (eigensolver or singular Hessian)";
    case Status::non_finite_objective:
      return "failed: trial objective values were NaN/Inf (rejected, radius collapsed)";
    case Status::numerical_overflow:
      return "failed: a norm, step or predicted decrease overflows the floating-point range";
  }
  return "unknown";
}

/// True for the statuses that mean a numerical failure (never convergence).
inline bool is_failure(Status s) {
  return s == Status::non_finite_input || s == Status::subproblem_failed ||
         s == Status::non_finite_objective || s == Status::numerical_overflow;
}

namespace detail {

/// Euclidean norm without spurious overflow/underflow: the plain norm in the normal range
/// (bit-identical to v.norm()), Eigen's scaled stableNorm when the sum of squares would
/// overflow or lose digits to underflow. +Inf only when the norm itself exceeds the range.
template <typename Derived>
typename Derived::RealScalar safe_norm(const Eigen::MatrixBase<Derived>& v) {
  using Real = typename Derived::RealScalar;
  const Real n = v.norm();
  // n^2 >= min / eps: underflowed squares change the sum by less than one ulp.
  static const Real small =
      std::sqrt((std::numeric_limits<Real>::min)() / Eigen::NumTraits<Real>::epsilon());
  if (std::isfinite(n) && n >= small) return n;
  if (!v.allFinite()) return std::numeric_limits<Real>::quiet_NaN();
  return v.stableNorm();
}

/// The nearest power of two to |x| (x finite, > 0): scaling by it is exact.
template <typename Real>
Real power_of_two(Real x) {
  return std::ldexp(Real(1), std::ilogb(x));
}

using rmpc::detail::default_tolerance;

}  // namespace detail

/// The trial step returned by ask(): theta_trial = x + step.
template <typename Scalar, int N = Eigen::Dynamic>
struct TrialStep {
  Eigen::Matrix<Scalar, N, 1> step;  ///< p.
  Eigen::Matrix<Scalar, N, 1>
      point;  ///< x + p, clamped into the box bounds (box_bounds.hpp): measure J here.
  Scalar predicted_decrease = 0;  ///< -(g'p + p'Hp/2) (H = 0 for linear models); m(0) - m(p).
  Scalar radius = 0;              ///< Trust radius used (+inf for rules without one).
  bool on_boundary = false;       ///< ||p|| = radius (to solver tolerance).
};

/// What tell_value() decided.
template <typename Scalar>
struct StepOutcome {
  bool accepted = false;       ///< x moved to x + p.
  Scalar ratio = 0;            ///< rho = actual / predicted decrease (NaN for rules without it).
  Scalar actual_decrease = 0;  ///< J(x) - J(x + p) as measured by the caller.
  Scalar predicted_decrease = 0;
  Scalar radius = 0;  ///< Trust radius for the next step (after the update rule).
  Status status = Status::running;
  bool non_finite_value = false;  ///< J(x + p) was NaN/Inf: rejected, ratio = -Inf.
};

}  // namespace rmpc::optim
