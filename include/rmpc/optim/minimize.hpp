// minimize(f, x0): the trust-region ask/tell loop of trust_region.hpp run verbatim on a
// deterministic smooth function (Nocedal & Wright Algorithm 4.1), for tests and for users
// who optimize a computed, not a measured, objective.
#pragma once

#include <rmpc/optim/trust_region.hpp>

#include <Eigen/Core>

#include <vector>

namespace rmpc::optim {

template <typename Scalar, int N = Eigen::Dynamic>
struct MinimizeResult {
  Eigen::Matrix<Scalar, N, 1> x;         ///< Last accepted point.
  Scalar value = 0;                      ///< f(x).
  Eigen::Matrix<Scalar, N, 1> gradient;  ///< grad f(x).
  Status status = Status::running;
  int iterations = 0;   ///< Trials (function evaluations after the first).
  int accepted = 0;     ///< Accepted steps.
  int evaluations = 0;  ///< Calls of f.
};

/// Deterministic driver for smooth f: Scalar f(const Vector& x, Vector* grad, Matrix* hess),
/// grad always requested, hess only for exact_hessian / gauss_newton (nullptr otherwise).
/// It runs the ask/tell loop of TrustRegion verbatim; `iterates`, if given, receives x0 and
/// every accepted point.
template <typename Scalar, int N, typename Function>
MinimizeResult<Scalar, N> minimize(Function&& f, const Eigen::Matrix<Scalar, N, 1>& x0,
                                   TrustRegionModel model = TrustRegionModel::exact_hessian,
                                   const TrustRegionSettings<Scalar>& settings = {},
                                   std::vector<Eigen::Matrix<Scalar, N, 1>>* iterates = nullptr) {
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  const bool needs_hessian =
      model == TrustRegionModel::exact_hessian || model == TrustRegionModel::gauss_newton;
  const Eigen::Index n = x0.size();
  TrustRegion<Scalar, N> tr(model, settings);
  MinimizeResult<Scalar, N> res;
  Vector g(n), g_trial(n), x_trial(n);
  Matrix H = Matrix::Zero(n, n), H_trial = Matrix::Zero(n, n);
  const Scalar f0 = f(x0, &g, needs_hessian ? &H : nullptr);
  res.evaluations = 1;
  tr.reset(x0, f0);
  if (iterates) iterates->assign(1, x0);
  auto tell = [&](const Vector& gg, const Matrix& HH) {
    if (needs_hessian)
      tr.tell_model(gg, HH);
    else
      tr.tell_gradient(gg);
  };
  if (tr.status() == Status::running) tell(g, H);
  while (tr.status() == Status::running) {
    const TrialStep<Scalar, N>& step = tr.ask();
    if (tr.status() != Status::running) break;
    x_trial = tr.x() + step.step;
    const Scalar f_trial = f(x_trial, &g_trial, needs_hessian ? &H_trial : nullptr);
    ++res.evaluations;
    const StepOutcome<Scalar> out = tr.tell_value(f_trial);
    if (out.accepted) {
      g = g_trial;
      if (needs_hessian) H = H_trial;
      if (iterates) iterates->push_back(tr.x());
      if (tr.status() == Status::running) tell(g, H);
    }
  }
  res.x = tr.x();
  res.value = tr.value();
  res.gradient = g;
  res.status = tr.status();
  res.iterations = tr.iterations();
  res.accepted = tr.accepted_steps();
  return res;
}

}  // namespace rmpc::optim
