// The second system of issue #11: two masses on springs, wall -k1- m1 -(k2, c)- m2, state
// s = (p1, v1, p2, v2), input a = (F1, F2) with |F_i| <= 1, zero-order hold dt = 0.2 s.
// The true system and the 12-parameter MPC share one discretization (zoh(), written once,
// templated on the scalar), so theta at the true corrections reproduces the true discrete
// model up to round-off.
#pragma once

#include "rmpc/mpc/lq_mpc.hpp"
#include "rmpc/mpc/lq_mpc_instantiation.hpp"
#include "rmpc/mpc/model.hpp"
#include "rmpc/mpc/riccati.hpp"
#include "rmpc/rl/random_streams.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace two_mass {

inline constexpr int nx = 4;
inline constexpr int nu = 2;
inline constexpr int np = 12;
inline constexpr int horizon = 10;
inline constexpr double dt = 0.2;
inline constexpr double two_pi = 6.283185307179586;
inline constexpr double soft_weight = 100.0;  ///< L1 weight of max(0, -p2) (stage cost and MPC)

/// Physical parameters of the chain.
struct Physics {
  double m1, m2, k1, k2, c;
};
inline constexpr Physics true_physics{1.0, 0.6, 1.0, 2.0, 0.1};
inline constexpr Physics nominal_physics{1.2, 0.75, 0.8, 1.6, 0.13};

/// Stage-cost weights: s' diag(1, .1, 1, .1) s + a' diag(.1, .1) a.
inline Eigen::Vector4d stage_Q() { return Eigen::Vector4d(1.0, 0.1, 1.0, 0.1); }
inline Eigen::Vector2d stage_R() { return Eigen::Vector2d(0.1, 0.1); }

/// Continuous-time model (Ac, Bc) of the chain for stiffnesses k1, k2, damping c and inverse
/// masses w1 = 1/m1, w2 = 1/m2 (the MPC corrects 1/m, which enters linearly).
template <class T>
void continuous_model(const T& k1, const T& k2, const T& c, const T& w1, const T& w2,
                      Eigen::Matrix<T, nx, nx>& Ac, Eigen::Matrix<T, nx, nu>& Bc) {
  const T zero(0.0), one(1.0);
  Ac << zero, one, zero, zero,                    //
      -(k1 + k2) * w1, -c * w1, k2 * w1, c * w1,  //
      zero, zero, zero, one,                      //
      k2 * w2, c * w2, -k2 * w2, -c * w2;
  Bc << zero, zero, w1, zero, zero, zero, zero, w2;
}

/// Order of the Taylor series in zoh(). Its truncation error is bounded by
/// ||X||^(K+1) / (K+2)! e^||X|| for X = Ac dt: ||X||_inf is 1.4 for the true chain (0.92
/// nominal), where K = 24 leaves < 1e-20, and stays < 3e-16 up to ||X||_inf = 2.5 (corrections
/// of 1.8x the true stiffness over mass); far beyond that the MPC's model is still a smooth
/// function of theta, only no longer the exact ZOH of those parameters.
inline constexpr int zoh_order = 24;

/// Zero-order-hold discretization A = exp(Ac dt), B = int_0^dt exp(Ac t) dt Bc, the blocks of
/// exp([[Ac, Bc], [0, 0]] dt) = [[A, Psi Bc dt], [0, I]] with A = I + X Psi, X = Ac dt and
/// Psi = sum_k X^k / (k+1)!, evaluated by Horner as I + X/2 (I + X/3 (I + ... X/(K+1))): a
/// fixed sequence of T operations, so the same code runs in double for the true system and in
/// nested AutoDiffScalar for the MPC (exact theta-derivatives of the discretization).
template <class T>
void zoh(const Eigen::Matrix<T, nx, nx>& Ac, const Eigen::Matrix<T, nx, nu>& Bc,
         Eigen::Matrix<T, nx, nx>& A, Eigen::Matrix<T, nx, nu>& B) {
  const Eigen::Matrix<T, nx, nx> X = Ac * T(dt);
  const Eigen::Matrix<T, nx, nx> I = Eigen::Matrix<T, nx, nx>::Identity();
  Eigen::Matrix<T, nx, nx> Psi = I;
  for (int j = zoh_order + 1; j >= 2; --j) Psi = I + (X * Psi) * T(1.0 / j);
  A = I + X * Psi;
  B = Psi * Bc * T(dt);
}

/// The discrete model (A, B) of physical parameters p (double): the true and nominal chains.
inline void discrete_model(const Physics& p, Eigen::Matrix4d& A, Eigen::Matrix<double, 4, 2>& B) {
  Eigen::Matrix4d Ac;
  Eigen::Matrix<double, 4, 2> Bc;
  continuous_model(p.k1, p.k2, p.c, 1.0 / p.m1, 1.0 / p.m2, Ac, Bc);
  zoh(Ac, Bc, A, B);
}

using Theta = Eigen::Matrix<double, np, 1>;

/// theta = (k1, k2, c, 1/m1, 1/m2 corrections (multiplicative, 1 = nominal), Q diagonal (4),
/// R diagonal (2), back-off b of the soft bound p2 >= b). theta0: the nominal model with the
/// stage cost's weights and no back-off.
inline Theta theta0() {
  Theta t;
  t << 1.0, 1.0, 1.0, 1.0, 1.0, stage_Q(), stage_R(), 0.0;
  return t;
}
/// The true chain in the same parameterization (stage-cost weights, no back-off).
inline Theta theta_true() {
  const Physics n = nominal_physics, p = true_physics;
  Theta t;
  t << p.k1 / n.k1, p.k2 / n.k2, p.c / n.c, n.m1 / p.m1, n.m2 / p.m2, stage_Q(), stage_R(), 0.0;
  return t;
}

/// Terminal cost: the DARE solution of the nominal discrete model at the stage cost's Q, R.
inline Eigen::Matrix4d terminal_P_nominal() {
  Eigen::Matrix4d A;
  Eigen::Matrix<double, 4, 2> B;
  discrete_model(nominal_physics, A, B);
  rmpc::mpc::DareSolver<double, 4, 2> dare;
  dare.compute(A, B, stage_Q().asDiagonal().toDenseMatrix(),
               stage_R().asDiagonal().toDenseMatrix());
  if (dare.info() != rmpc::mpc::DareStatus::converged)
    throw std::runtime_error("two_mass: the nominal DARE did not converge");
  return dare.P();
}

/// The parameterized MPC's model (mpc/model.hpp): N = 10, the soft bound p2 >= theta(11) with
/// the stage cost's L1 weight, |F_i| <= 1 hard.
struct TwoMassModel {
  Eigen::Matrix4d terminal_P = terminal_P_nominal();

  template <class T>
  void operator()(const Eigen::Matrix<T, np, 1>& t, rmpc::mpc::LqData<T, nx, nu>& out) const {
    const Physics n = nominal_physics;
    Eigen::Matrix<T, nx, nx> Ac;
    Eigen::Matrix<T, nx, nu> Bc;
    continuous_model<T>(T(n.k1) * t(0), T(n.k2) * t(1), T(n.c) * t(2), T(1.0 / n.m1) * t(3),
                        T(1.0 / n.m2) * t(4), Ac, Bc);
    zoh<T>(Ac, Bc, out.A, out.B);
    out.Q.diagonal() = t.template segment<4>(5);
    out.R.diagonal() = t.template segment<2>(9);
    out.P = terminal_P.cast<T>();
    out.u_lb.setConstant(T(-1.0));
    out.u_ub.setConstant(T(1.0));
    out.x_lb(2) = t(11);  // the other state bounds stay infinite: no QP rows
    out.x_soft_weight.setConstant(T(soft_weight));
  }
};

/// The learned MPC (first and second theta-derivatives) and the true-model MPC (values only:
/// MaxOrder 0 compiles no AutoDiffScalar and no sensitivities).
using TwoMassMpc = rmpc::mpc::LqMpc<double, nx, nu, horizon, np>;
using TrueModelMpc = rmpc::mpc::LqMpc<double, nx, nu, horizon, np, 0, 0, 0>;

using State = Eigen::Matrix<double, nx, 1>;
using Action = Eigen::Matrix<double, nu, 1>;

/// s' diag(1, .1, 1, .1) s + a' diag(.1, .1) a + 100 max(0, -p2).
inline double stage_cost(const State& s, const Action& a) {
  return s.cwiseAbs2().dot(stage_Q()) + a.cwiseAbs2().dot(stage_R()) +
         soft_weight * std::max(0.0, -s(2));
}

/// Process noise: sigma N(0, 1) added to v1 and v2 after each step (sigma = 0: none).
struct ProcessNoise {
  double sigma = 0.0;
  std::uint64_t seed = 0;
};

/// The true chain as an rl environment (rl/environment.hpp). The contract passes step() no
/// random stream and requires it const and thread-safe, so the noise is a fixed function of
/// (seed, s, a): a SplitMix64 hash of their bits gives two uniforms per step, Box-Muller two
/// standard normals. Any change of s or a draws unrelated values (white noise along a
/// trajectory), and the same (s, a) always the same: same seed, same run, any thread count,
/// and the deterministic evaluation of a theta stays deterministic.
struct TrueSystem {
  ProcessNoise noise;
  Eigen::Matrix4d A;
  Eigen::Matrix<double, 4, 2> B;

  explicit TrueSystem(ProcessNoise n = {}) : noise(n) { discrete_model(true_physics, A, B); }

  State step(const State& s, const Action& a) const {
    State next = A * s + B * a;
    if (noise.sigma > 0.0) {
      double u[2];
      noise_uniforms(s, a, u);
      const double r = std::sqrt(-2.0 * std::log(u[0])), phi = two_pi * u[1];
      next(1) += noise.sigma * r * std::cos(phi);
      next(3) += noise.sigma * r * std::sin(phi);
    }
    return next;
  }
  double cost(const State& s, const Action& a) const { return stage_cost(s, a); }

 private:
  /// Two uniforms in (0, 1] from the bits of (seed, s, a).
  void noise_uniforms(const State& s, const Action& a, double (&u)[2]) const {
    using rmpc::rl::detail::splitmix64;
    std::uint64_t h = splitmix64(noise.seed ^ 0x74776f6d61737321ULL);
    auto mix = [&h](double x) {
      std::uint64_t bits;
      std::memcpy(&bits, &x, sizeof bits);
      h = splitmix64(h ^ bits);
    };
    for (int i = 0; i < nx; ++i) mix(s(i));
    for (int i = 0; i < nu; ++i) mix(a(i));
    for (double& ui : u) {
      h = splitmix64(h);
      ui = double((h >> 11) + 1) * 0x1.0p-53;  // 53 random bits, never 0 (log in Box-Muller)
    }
  }
};

}  // namespace two_mass

// Both MPC types are compiled once, their heavy members in files of their own
// (two_mass_mpc_setup.cpp, two_mass_mpc_policy.cpp, true_model_mpc.cpp; why:
// rmpc/mpc/lq_mpc_instantiation.hpp).
RMPC_LQ_MPC_EXTERN(two_mass::TwoMassMpc, two_mass::TwoMassModel)
RMPC_LQ_MPC_EXTERN(two_mass::TrueModelMpc, two_mass::TwoMassModel)
