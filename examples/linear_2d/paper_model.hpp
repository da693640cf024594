// The paper's 2-D case study (method.md §1-2): the 8-parameter LQ-MPC as a model functor,
// its constants, the true system, the stage cost and the benchmark MPC.
#pragma once

#include "rmpc/mpc/lq_mpc.hpp"
#include "rmpc/mpc/lq_mpc_instantiation.hpp"
#include "rmpc/mpc/model.hpp"

#include <Eigen/Core>

#include <algorithm>

namespace linear_2d {

inline constexpr int nx = 2;
inline constexpr int nu = 1;
inline constexpr int np = 8;
inline constexpr int horizon = 10;            ///< the parameterized MPC's N
inline constexpr int benchmark_horizon = 50;  ///< the benchmark MPC's N
inline constexpr double soft_weight = 100.0;  ///< L1 weight of the state-bound slacks
inline constexpr double input_weight = 0.5;   ///< R (Q = I)

/// theta0 = (t1..t8): A = [[t1, t2], [0, t3]], B = (t4, t5), b = (t6, t7), t8 = back-off of x1's
/// lower bound.
inline Eigen::Matrix<double, np, 1> theta0() {
  return (Eigen::Matrix<double, np, 1>() << 1.0, 0.25, 1.0, 0.1, 0.3, 0.0, 0.0, 0.0).finished();
}
/// The true system written in the same parameterization (no offset, no back-off).
inline Eigen::Matrix<double, np, 1> theta_true() {
  return (Eigen::Matrix<double, np, 1>() << 0.9, 0.35, 1.1, 0.0813, 0.2, 0.0, 0.0, 0.0).finished();
}
inline Eigen::Matrix2d true_A() { return (Eigen::Matrix2d() << 0.9, 0.35, 0.0, 1.1).finished(); }
inline Eigen::Vector2d true_B() { return Eigen::Vector2d(0.0813, 0.2); }
/// DARE solution for (A_theta0, B_theta0, I, 0.5): the parameterized MPC's fixed terminal cost.
inline Eigen::Matrix2d terminal_P_nominal() {
  return (Eigen::Matrix2d() << 5.6864860847, 1.3312047384, 1.3312047384, 3.3367363667).finished();
}
/// DARE solution of the true system: the benchmark's terminal cost.
inline Eigen::Matrix2d terminal_P_true() {
  return (Eigen::Matrix2d() << 3.5965022568, 1.4063781817, 1.4063781817, 6.80745714).finished();
}
inline Eigen::Vector2d state_lb() { return Eigen::Vector2d(0.0, -1.0); }
inline Eigen::Vector2d state_ub() { return Eigen::Vector2d(1.0, 1.0); }

/// The parameterized LQ-MPC of method.md §2 (the user code the library asks for).
struct PaperModel {
  Eigen::Matrix2d terminal_P = terminal_P_nominal();

  template <class T>
  void operator()(const Eigen::Matrix<T, np, 1>& t, rmpc::mpc::LqData<T, nx, nu>& out) const {
    out.A << t(0), t(1), T(0.0), t(2);
    out.B << t(3), t(4);
    out.b << t(5), t(6);
    out.Q.setIdentity();
    out.R(0, 0) = T(input_weight);
    out.P = terminal_P.cast<T>();
    out.u_lb(0) = T(-1.0);
    out.u_ub(0) = T(1.0);
    out.x_lb << t(7), T(-1.0);
    out.x_ub << T(1.0), T(1.0);
    out.x_soft_weight.setConstant(T(soft_weight));
  }
};

/// The paper's MPC policy: fixed sizes nx = 2, nu = 1, N = 10, np = 8.
using PaperMpc = rmpc::mpc::LqMpc<double, nx, nu, horizon, np>;
/// The benchmark MPC: true model (theta_true), N = 50, P_true, values only (MaxOrder 0: no
/// AutoDiffScalar, no sensitivities compiled). The horizon is a run-time size: a fixed
/// 50-stage QP would put ~100 KB blocks on the stack.
using BenchmarkMpc = rmpc::mpc::LqMpc<double, nx, nu, Eigen::Dynamic, np, 0, 0, 0>;

/// A template only so that translation units that include this header without calling it do
/// not compile a second MPC type (when it is not the extern one above).
template <typename Mpc = BenchmarkMpc>
Mpc make_benchmark_mpc() {
  PaperModel model;
  model.terminal_P = terminal_P_true();
  rmpc::mpc::LqMpcSettings<double> settings;
  settings.derivative_order = 0;
  rmpc::mpc::LqSizes sizes = Mpc::default_sizes();
  sizes.horizon = benchmark_horizon;
  Mpc mpc(model, sizes, settings);
  mpc.set_parameters(theta_true());
  return mpc;
}

/// L(s, u) = s's + 0.5 u^2 + 100 sum_i max(0, s_i - ub_i, lb_i - s_i) (method.md §1).
inline double stage_cost(const Eigen::Vector2d& s, double u) {
  double pen = 0.0;
  for (int i = 0; i < 2; ++i) pen += std::max({0.0, s(i) - state_ub()(i), state_lb()(i) - s(i)});
  return s.squaredNorm() + input_weight * u * u + soft_weight * pen;
}

/// True dynamics s+ = A s + B u.
inline Eigen::Vector2d true_step(const Eigen::Vector2d& s, double u) {
  return true_A() * s + true_B() * u;
}

/// The true system as an rl environment (rmpc/rl/environment.hpp): what the loop learns on
/// and what every closed-loop cost of the study is measured on.
struct TrueSystem {
  Eigen::Vector2d step(const Eigen::Vector2d& s, const Eigen::Matrix<double, 1, 1>& a) const {
    return true_step(s, a(0));
  }
  double cost(const Eigen::Vector2d& s, const Eigen::Matrix<double, 1, 1>& a) const {
    return stage_cost(s, a(0));
  }
};

}  // namespace linear_2d

// Both MPC types are compiled once per program, their heavy members in files of their own
// (paper_mpc_setup.cpp, paper_mpc_policy.cpp, benchmark_mpc.cpp: target linear_2d_paper_mpc,
// which every user of this header links; rmpc/mpc/lq_mpc_instantiation.hpp says why). A
// translation unit that needs its own copy, because it compiles Eigen with
// EIGEN_RUNTIME_NO_MALLOC (the allocation checks must be inside the code under test), gets one
// automatically.
#ifndef EIGEN_RUNTIME_NO_MALLOC
RMPC_LQ_MPC_EXTERN(linear_2d::PaperMpc, linear_2d::PaperModel)
RMPC_LQ_MPC_EXTERN(linear_2d::BenchmarkMpc, linear_2d::PaperModel)
#endif
