// What the LQ-MPC policy returns and how it is asked (method.md §2-3): the status of one
// policy evaluation, the settings of LqMpc, the request flags of evaluate(), the policy result
// with its derivatives and the Q-value result of q_value().
#pragma once

#include "rmpc/detail/settings_check.hpp"
#include "rmpc/mpc/model.hpp"
#include "rmpc/qp/problem.hpp"
#include "rmpc/qp/sensitivity.hpp"

#include <Eigen/Core>

#include <cstdint>

namespace rmpc::mpc {

enum class PolicyStatus {
  ok,                  ///< QP solved, requested derivatives valid.
  weakly_active,       ///< Solved; a row is weakly active, derivatives are one-sided (see
                       ///< qp::WeakRowChoice).
  sensitivity_failed,  ///< Solved; LICQ fails or the KKT matrix is singular: derivatives not
                       ///< defined.
  solver_failed,       ///< The QP was not solved to optimality (see qp_status).
  not_ready,           ///< set_parameters() failed or was not called (see setup_status()).
};

inline const char* to_string(PolicyStatus s) {
  switch (s) {
    case PolicyStatus::ok: return "ok";
    case PolicyStatus::weakly_active: return "weakly_active";
    case PolicyStatus::sensitivity_failed: return "sensitivity_failed";
    case PolicyStatus::solver_failed: return "solver_failed";
    case PolicyStatus::not_ready: return "not_ready";
  }
  return "unknown";
}

template <typename Scalar>
struct LqMpcSettings {
  /// QP solver settings (tolerances, iteration limit).
  qp::Settings<Scalar> qp = {};
  /// Degeneracy handling of the sensitivities; second_order is forced off (the policy Hessian
  /// comes from one adjoint solve per input instead of np(np+1)/2 solves).
  qp::SensitivitySettings<Scalar> sensitivity = {};
  /// Theta-derivative order prepared by set_parameters(): 0 (values only, e.g. a fixed
  /// benchmark MPC), 1 (du0/dtheta) or 2 (also d2u0/dtheta2). Higher costs more per theta only.
  int derivative_order = 2;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    qp.validate();
    sensitivity.validate();
    require_setting(derivative_order >= 0 && derivative_order <= 2,
                    "LqMpcSettings::derivative_order", "0, 1 or 2", derivative_order);
  }
};

/// What evaluate() computes beyond u_0*.
struct PolicyRequest {
  bool du0_dtheta = true;    ///< First-order policy derivative (needs derivative_order >= 1).
  bool d2u0_dtheta2 = true;  ///< Second order (needs derivative_order == 2 and du0_dtheta).
  bool du0_ds = true;        ///< State derivative (needs the type's MaxOrder >= 1).
  bool dz_dtheta = false;    ///< Full dz/dtheta of all inputs (with du0_dtheta).
  bool warm_start = true;    ///< Start the QP from the last solution's row state.
};

template <typename Scalar, int NX, int NU, int N, int NP, int NZ, int M, int NS = 0>
struct PolicyResult {
  PolicyStatus status = PolicyStatus::not_ready;
  qp::Status qp_status = qp::Status::invalid_input;
  qp::SensitivityStatus sensitivity_status =
      qp::SensitivityStatus::not_solved;  ///< theta-sensitivity
  qp::SensitivityStatus state_sensitivity_status =
      qp::SensitivityStatus::not_solved;                ///< s-sensitivity
  Eigen::Matrix<Scalar, NU, 1> u0;                      ///< pi_theta(s)
  Eigen::Matrix<Scalar, detail::size_mul(N, NU), 1> u;  ///< u_0..u_{N-1} stacked
  Eigen::Matrix<Scalar, NS, 1> slack;                   ///< slack variables (quadratic soft rows)
  Eigen::Matrix<Scalar, NX, detail::size_add(N, 1)> x;  ///< predicted x_0..x_N (columns)
  Scalar cost = Scalar(0);                              ///< optimal MPC cost (with x_0 penalty)
  Eigen::Matrix<Scalar, NU, NP> du0_dtheta;
  /// Rows j*np .. j*np+np-1: the np x np Hessian of input j (hessian(j)).
  Eigen::Matrix<Scalar, detail::size_mul(NU, NP), NP> d2u0_dtheta2;
  Eigen::Matrix<Scalar, NU, NX> du0_ds;
  Eigen::Matrix<Scalar, NZ, NP> dz_dtheta;     ///< when requested; z = (u, slack)
  Eigen::Matrix<std::int8_t, M, 1> row_state;  ///< QP row states (warm start)
  int iterations = 0;                          ///< QP active-set changes

  bool ok() const { return status == PolicyStatus::ok; }
  /// d2 u0_j / dtheta2 (np x np).
  auto hessian(Eigen::Index j) const {
    return d2u0_dtheta2.middleRows(j * du0_dtheta.cols(), du0_dtheta.cols());
  }
};

/// Q_theta(s, a): the optimal MPC cost with u_0 = a fixed (method.md, MPC as Q-function).
template <typename Scalar, int NX, int NU, int N>
struct QValueResult {
  qp::Status status = qp::Status::invalid_input;
  Scalar cost = Scalar(0);
  Eigen::Matrix<Scalar, detail::size_mul(N, NU), 1> u;
  Eigen::Matrix<Scalar, NX, detail::size_add(N, 1)> x;
  bool ok() const { return status == qp::Status::optimal; }
};

}  // namespace rmpc::mpc
