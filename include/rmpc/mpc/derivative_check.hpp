// check_policy_derivatives(): the policy's exact derivatives against central finite
// differences, for a user's own model functor (a wrong derivative in the functor, a theta the
// model ignores, a sign error) and for tests:
//
//   du0/dtheta    vs (u0(theta + h e_i) - u0(theta - h e_i)) / 2h
//   d2u0/dtheta2  vs (du0/dtheta(theta + h e_i) - du0/dtheta(theta - h e_i)) / 2h, column i
//                 (differences of the exact first derivative: error O(h^2), not O(1/h^2) eps)
//   du0/ds        vs (u0(s + h e_i) - u0(s - h e_i)) / 2h
//
// The policy is piecewise smooth: a difference across a change of the QP's active set measures
// a kink, not the derivative. The check therefore reports whether the row states at theta +- h
// (s +- h) differ from those at theta (active_set_changed), and errors on such a coordinate are
// left out of the maxima (counted in skipped_coordinates). Steps are h = step (1 + |x_i|).
#pragma once

#include "rmpc/detail/settings_check.hpp"
#include "rmpc/mpc/policy_result.hpp"
#include "rmpc/qp/problem.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>

namespace rmpc::mpc {

template <typename Scalar = double>
struct DerivativeCheckSettings {
  /// Relative step h / (1 + |x_i|): 1e-5 balances the O(h^2) truncation error against the
  /// O(eps / h) round-off of a difference of solutions (about 1e-10 each way in double).
  Scalar step = Scalar(1e-5);
  bool check_second_order = true;  ///< d2u0/dtheta2 (needs derivative_order 2).
  bool check_state = true;         ///< du0/ds.

  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(rmpc::detail::finite_positive(step) && step < Scalar(1),
                    "DerivativeCheckSettings::step", "in (0, 1)", step);
  }
};

enum class DerivativeCheckStatus {
  ok,                  ///< every coordinate compared (errors in the result).
  active_set_changed,  ///< some coordinates crossed a change of active set (left out).
  policy_failed,       ///< the policy at the point was not `ok` (QP, sensitivity, setup): no check.
};

inline const char* to_string(DerivativeCheckStatus s) {
  switch (s) {
    case DerivativeCheckStatus::ok: return "ok";
    case DerivativeCheckStatus::active_set_changed: return "active_set_changed";
    case DerivativeCheckStatus::policy_failed: return "policy_failed";
  }
  return "unknown";
}

namespace detail {
/// max(a, b) that keeps a NaN (a NaN error must not read as a small one).
template <typename Scalar>
Scalar worse(Scalar a, Scalar b) {
  return (b <= a) ? a : b;
}
}  // namespace detail

template <typename Scalar = double>
struct DerivativeCheck {
  DerivativeCheckStatus status = DerivativeCheckStatus::policy_failed;
  PolicyStatus policy_status = PolicyStatus::not_ready;  ///< of the policy at (s, theta)
  Scalar du0_dtheta_error = 0;    ///< max abs error over inputs and compared theta_i
  Scalar d2u0_dtheta2_error = 0;  ///< max abs error over the compared Hessian columns
  Scalar du0_ds_error = 0;        ///< max abs error over inputs and compared s_i
  Eigen::Index worst_theta = -1;  ///< theta index of du0_dtheta_error (-1: none compared)
  int skipped_coordinates = 0;    ///< theta_i and s_i left out: the active set changed
  /// Largest of the three errors (what a test compares with its tolerance).
  Scalar max_error() const {
    return detail::worse(detail::worse(du0_dtheta_error, d2u0_dtheta2_error), du0_ds_error);
  }
};

/// Checks mpc's derivatives at state s and parameters theta (the file comment). Leaves mpc
/// set up at theta. Mpc: LqMpc or any type with its set_parameters / evaluate / sizes.
template <typename Mpc, typename DerivedS, typename DerivedTheta>
auto check_policy_derivatives(
    Mpc& mpc, const Eigen::MatrixBase<DerivedS>& s, const Eigen::MatrixBase<DerivedTheta>& theta,
    const DerivativeCheckSettings<typename DerivedS::Scalar>& settings = {})
    -> DerivativeCheck<typename DerivedS::Scalar> {
  using Scalar = typename DerivedS::Scalar;
  settings.validate();
  DerivativeCheck<Scalar> out;
  PolicyRequest request;
  request.d2u0_dtheta2 = settings.check_second_order;
  request.du0_ds = settings.check_state;
  request.warm_start = false;  // every solve from the same (cold) start: no path dependence
  const auto restore = [&] { mpc.set_parameters(theta); };
  if (mpc.set_parameters(theta) != qp::Status::optimal) return out;
  const auto r = mpc.evaluate(s, request);
  out.policy_status = r.status;
  if (r.status != PolicyStatus::ok) return out;
  out.status = DerivativeCheckStatus::ok;
  const Eigen::Index np = theta.size(), nx = s.size(), nu = r.u0.size();
  auto t = theta.eval();
  for (Eigen::Index i = 0; i < np; ++i) {
    const Scalar h = settings.step * (Scalar(1) + std::abs(t(i)));
    t(i) = theta(i) + h;
    const bool plus_ok = mpc.set_parameters(t) == qp::Status::optimal;
    const auto rp = mpc.evaluate(s, request);
    t(i) = theta(i) - h;
    const bool minus_ok = mpc.set_parameters(t) == qp::Status::optimal;
    const auto rm = mpc.evaluate(s, request);
    t(i) = theta(i);
    if (!plus_ok || !minus_ok || rp.status != PolicyStatus::ok || rm.status != PolicyStatus::ok ||
        rp.row_state != r.row_state || rm.row_state != r.row_state) {
      ++out.skipped_coordinates;
      continue;
    }
    for (Eigen::Index j = 0; j < nu; ++j) {
      const Scalar e1 = std::abs((rp.u0(j) - rm.u0(j)) / (2 * h) - r.du0_dtheta(j, i));
      if (!(e1 <= out.du0_dtheta_error)) {
        out.du0_dtheta_error = e1;
        out.worst_theta = i;
      }
      if (settings.check_second_order) {
        for (Eigen::Index k = 0; k < np; ++k) {
          const Scalar fd = (rp.du0_dtheta(j, k) - rm.du0_dtheta(j, k)) / (2 * h);
          out.d2u0_dtheta2_error =
              detail::worse(out.d2u0_dtheta2_error, std::abs(fd - r.hessian(j)(k, i)));
        }
      }
    }
  }
  restore();
  if (settings.check_state) {
    auto sp = s.eval();
    for (Eigen::Index i = 0; i < nx; ++i) {
      const Scalar h = settings.step * (Scalar(1) + std::abs(s(i)));
      sp(i) = s(i) + h;
      const auto rp = mpc.evaluate(sp, request);
      sp(i) = s(i) - h;
      const auto rm = mpc.evaluate(sp, request);
      sp(i) = s(i);
      if (rp.status != PolicyStatus::ok || rm.status != PolicyStatus::ok ||
          rp.row_state != r.row_state || rm.row_state != r.row_state) {
        ++out.skipped_coordinates;
        continue;
      }
      for (Eigen::Index j = 0; j < nu; ++j)
        out.du0_ds_error = detail::worse(
            out.du0_ds_error, std::abs((rp.u0(j) - rm.u0(j)) / (2 * h) - r.du0_ds(j, i)));
    }
  }
  if (out.skipped_coordinates > 0) out.status = DerivativeCheckStatus::active_set_changed;
  return out;
}

}  // namespace rmpc::mpc
