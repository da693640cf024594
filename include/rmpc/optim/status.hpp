// Statuses and step records shared by every update rule of rmpc::optim (trust region,
// first-order baselines). One ask/tell shape for all of them (method.md section 4):
//
//     tell_model(g, H) at the accepted point -> ask() -> TrialStep {p, predicted decrease}
//     -> caller measures J(x + p) -> tell_value(J) -> StepOutcome {accepted, rho, radius, status}
#pragma once

// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's symmetric eigensolver
// (selfadjoint/triangular matrix-vector kernels) when sizes are known after inlining; the
// state must be set while Eigen's text is parsed, so it wraps Eigen's includes here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace rmpc::optim {

/// Why an optimizer stopped (or that it has not). Never an exception in the loop.
enum class Status {
  running,             ///< Not stopped; the next call in the ask/tell cycle is expected.
  converged_gradient,  ///< ||g|| <= gradient_tolerance at the accepted point.
  converged_step,      ///< Accepted step below step_tolerance, or the model predicts no decrease.
  converged_radius,    ///< A step of length <= min_radius was rejected: no progress possible.
  max_iterations,      ///< Trial budget (tell_value calls) exhausted.
  non_finite_input,    ///< g, H or the value at an accepted point is NaN/Inf.
  subproblem_failed,   ///< The step computation produced a non-finite step.
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
  }
  return "unknown";
}

/// The trial step returned by ask(): theta_trial = x + step.
template <typename Scalar, int N = Eigen::Dynamic>
struct TrialStep {
  Eigen::Matrix<Scalar, N, 1> step;  ///< p.
  Scalar predicted_decrease = 0;     ///< -(g'p + p'Hp/2) (H = 0 for linear models); m(0) - m(p).
  Scalar radius = 0;                 ///< Trust radius used (+inf for rules without one).
  bool on_boundary = false;          ///< ||p|| = radius (to solver tolerance).
};

/// What tell_value() decided.
template <typename Scalar>
struct StepOutcome {
  bool accepted = false;        ///< x moved to x + p.
  Scalar ratio = 0;             ///< rho = actual / predicted decrease (NaN for rules without it).
  Scalar actual_decrease = 0;   ///< J(x) - J(x + p) as measured by the caller.
  Scalar predicted_decrease = 0;
  Scalar radius = 0;            ///< Trust radius for the next step (after the update rule).
  Status status = Status::running;
};

}  // namespace rmpc::optim
