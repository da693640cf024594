// Condensing of the LQ-MPC of model.hpp into a dense QP in z = (u_0, ..., u_{N-1}),
// with the initial state s = x_0 eliminated (method.md §2):
//
//     x_k = Phi_k s + Gamma_k z + c_k,   Phi_k = A^k,  Gamma_k = [A^{k-1}B ... B 0 ... 0],
//     c_0 = 0,  c_{k+1} = A c_k + b.
//
// Substituting into the cost and constraints gives the QP data of rmpc::qp::Problem,
// affine in s:
//
//     1/2 z'Hz + (G s + g0)'z + const(s),      C z <= D s + d0,
//     H  = 2 (Rbar + sum_{k=1}^N Gamma_k' W_k Gamma_k),   W_k = sym(Q) (k < N), sym(P) (k = N),
//     G  = 2 sum_k Gamma_k' W_k Phi_k,   g0 = rbar + sum_k Gamma_k' (2 W_k c_k + w_k).
//
// Rows, in the order of CondensedRowLayout (model.hpp, the one place it is written): input
// bounds u_k <= u_ub, -u_k <= -u_lb per stage k = 0..N-1; state bounds x_k <= x_ub,
// -x_k <= -x_lb for k = 1..N-1; general rows E_x x_k + E_u u_k <= e for k = 0..N-1; one row
// per slack variable. State bounds on x_0 = s do not involve z: they are a
// constant penalty (stage_penalty), never a QP row, so they cannot break the KKT system.
// Rows that constrain nothing are INERT so that sizes stay fixed: an infinite bound, and an
// exact-L1 soft component of weight 0 ("no penalty": the QP itself accepts only w > 0 or
// +inf, problem.hpp, so the MPC never hands it a zero weight) get C_r = 0, D_r = 0, d0_r = 1
// and a hard weight: 0 <= 1 holds for every z and s, the row is never active, never
// infeasible, and has zero derivatives. (Before, infinite bounds became rows at +-1e20 that
// still moved with the state and turned infeasible once a predicted state passed 1e20.)
//
// Soft components with a quadratic weight (model.hpp) append slack variables after the
// inputs, z = (u_0, ..., u_{N-1}, eps_1, ..., eps_ns), numbered in the row order above; the
// component's rows get -eps (hard), and each slack adds the cost w eps + rho eps^2
// (H_ee = 2 rho, g_e = w) and a last row -eps <= 0. The per-row soft weight vector w_row of
// the QP (exact-L1 rows: w; others +inf) is condensed in T as well, so its theta-derivatives
// are available.
//
// The functions are templated on the scalar so that the same code runs with double and with
// (nested) AutoDiffScalar, whose derivative parts are the exact theta-derivatives of the data.
#pragma once

#include "rmpc/mpc/model.hpp"

#include <Eigen/Core>
#include <unsupported/Eigen/AutoDiff>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <vector>

namespace rmpc::mpc {

/// The d0 of an inert row (C_r = 0, D_r = 0): 0 <= inert_bound holds for every z and s.
inline constexpr double inert_bound = 1.0;

namespace detail {
inline double value_of(double x) { return x; }
inline float value_of(float x) { return x; }
template <typename Der>
auto value_of(const Eigen::AutoDiffScalar<Der>& x) {
  return value_of(x.value());
}

/// A soft component (finite L1 weight w) with quadratic weight rho > 0 gets a slack variable.
template <typename T>
bool has_slack(const T& w, const T& rho) {
  return std::isfinite(value_of(w)) && value_of(rho) > 0;
}

/// A soft component with an exact-L1 weight of 0 (and no slack) penalizes nothing: its rows
/// are inert. (+inf: hard; w > 0: a soft row of the QP.)
template <typename T>
bool zero_l1_weight(const T& w, const T& rho) {
  return !has_slack(w, rho) && value_of(w) == 0;
}
}  // namespace detail

/// Condensed QP data in the scalar T (dynamic sizes: used once per theta, not per state).
template <typename T>
struct CondensedQp {
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  Matrix H, G, C, D;
  Vector g0, d0;
  Vector soft_weight;  ///< Per row: L1 weight of exact-L1 soft rows, +inf for hard rows (and rows
                       ///< with a slack).
};

/// Number of slack variables of `data` over `horizon` stages (model.hpp, soft constraints).
template <typename T, int NX, int NU, int NC>
Eigen::Index count_slacks(const LqData<T, NX, NU, NC>& data, Eigen::Index horizon) {
  Eigen::Index ns = 0;
  for (Eigen::Index i = 0; i < data.nu(); ++i)
    ns += horizon * detail::has_slack(data.u_soft_weight(i), data.u_soft_quadratic(i));
  for (Eigen::Index i = 0; i < data.nx(); ++i)
    ns += (horizon - 1) * detail::has_slack(data.x_soft_weight(i), data.x_soft_quadratic(i));
  for (Eigen::Index i = 0; i < data.nc(); ++i)
    ns += horizon * detail::has_slack(data.e_soft_weight(i), data.e_soft_quadratic(i));
  return ns;
}

/// Why the soft weights cannot define a convex penalty, or nullptr: a soft weight must be
/// >= 0 (+inf: hard) and a quadratic weight finite and >= 0.
template <typename T, int NX, int NU, int NC>
const char* invalid_soft_weights(const LqData<T, NX, NU, NC>& data) {
  auto bad = [](const auto& w, const auto& rho) {
    for (Eigen::Index i = 0; i < w.size(); ++i) {
      const double wi = double(detail::value_of(w(i))), ri = double(detail::value_of(rho(i)));
      if (std::isnan(wi) || wi < 0 || !std::isfinite(ri) || ri < 0) return true;
    }
    return false;
  };
  if (bad(data.u_soft_weight, data.u_soft_quadratic)) return "u_soft_weight / u_soft_quadratic";
  if (bad(data.x_soft_weight, data.x_soft_quadratic)) return "x_soft_weight / x_soft_quadratic";
  if (bad(data.e_soft_weight, data.e_soft_quadratic)) return "e_soft_weight / e_soft_quadratic";
  return nullptr;
}

/// Condensed data of `data` over `horizon` stages into `out` (see the header comment).
template <typename T, int NX, int NU, int NC>
void condense(const LqData<T, NX, NU, NC>& data, Eigen::Index horizon, CondensedQp<T>& out) {
  using Matrix = typename CondensedQp<T>::Matrix;
  using Vector = typename CondensedQp<T>::Vector;
  const Eigen::Index nx = data.nx(), nu = data.nu(), nc = data.nc(), N = horizon;
  if (N < 1) throw std::invalid_argument("condense: horizon must be >= 1");
  const Eigen::Index ns = count_slacks(data, N);
  const CondensedRowLayout layout{nx, nu, N, nc, ns};
  const Eigen::Index n0 = N * nu, n = n0 + ns, m = layout.rows();

  // Prediction matrices for k = 0..N, stacked. Every product below is nx or nc deep:
  // lazyProduct (coefficient-wise) is as fast as a blocked GEMM there, gives the same sums,
  // and does not compile Eigen's GEMM/GEMV kernels for the nested AutoDiffScalar of
  // set_parameters (about 6 s of compiler time per MPC type).
  Matrix Phi = Matrix::Zero((N + 1) * nx, nx);
  Matrix Gam = Matrix::Zero((N + 1) * nx, n0);
  Vector c = Vector::Zero((N + 1) * nx);
  Phi.topRows(nx).setIdentity();
  for (Eigen::Index k = 0; k < N; ++k) {
    Phi.middleRows((k + 1) * nx, nx).noalias() = data.A.lazyProduct(Phi.middleRows(k * nx, nx));
    if (k > 0)
      Gam.block((k + 1) * nx, 0, nx, k * nu).noalias() =
          data.A.lazyProduct(Gam.block(k * nx, 0, nx, k * nu));
    Gam.block((k + 1) * nx, k * nu, nx, nu) = data.B;
    c.segment((k + 1) * nx, nx).noalias() = data.A.lazyProduct(c.segment(k * nx, nx));
    c.segment((k + 1) * nx, nx) += data.b;
  }

  const Matrix Qs = T(0.5) * (data.Q + data.Q.transpose());
  const Matrix Ps = T(0.5) * (data.P + data.P.transpose());
  const Matrix Rs = T(0.5) * (data.R + data.R.transpose());
  out.H = Matrix::Zero(n, n);
  out.G = Matrix::Zero(n, nx);
  out.g0 = Vector::Zero(n);
  for (Eigen::Index k = 0; k < N; ++k) {
    out.H.block(k * nu, k * nu, nu, nu) = T(2) * Rs;
    out.g0.segment(k * nu, nu) = data.r;
  }
  for (Eigen::Index k = 1; k <= N; ++k) {
    const Matrix& W = (k < N) ? Qs : Ps;
    const Vector w = (k < N) ? Vector(data.q) : Vector(data.p);
    const Eigen::Index cols = k * nu;  // Gamma_k vanishes beyond u_{k-1}
    const auto Gk = Gam.block(k * nx, 0, nx, cols);
    const Matrix WG = (T(2) * W).lazyProduct(Gk);
    out.H.topLeftCorner(cols, cols).noalias() += Gk.transpose().lazyProduct(WG);
    out.G.topRows(cols).noalias() += WG.transpose().lazyProduct(Phi.middleRows(k * nx, nx));
    out.g0.head(cols).noalias() += WG.transpose().lazyProduct(c.segment(k * nx, nx));
    out.g0.head(cols).noalias() += Gk.transpose().lazyProduct(w);
  }

  out.C = Matrix::Zero(m, n);
  out.D = Matrix::Zero(m, nx);
  out.d0 = Vector::Zero(m);
  out.soft_weight = Vector::Constant(m, T(std::numeric_limits<double>::infinity()));
  Eigen::Index slack = 0;
  std::vector<Eigen::Index> inert;  // rows that constrain nothing (made inert at the end)
  // Rows [row, row + count) of one soft component: exact-L1 soft rows, or hard rows sharing a
  // new slack variable (cost w eps + rho eps^2, row -eps <= 0). Weight 0 without a slack: inert.
  auto soften = [&](const T& w, const T& rho, std::initializer_list<Eigen::Index> rows) {
    if (!std::isfinite(detail::value_of(w))) return;
    if (detail::zero_l1_weight(w, rho)) {
      for (Eigen::Index r : rows) inert.push_back(r);
      return;
    }
    if (!detail::has_slack(w, rho)) {
      for (Eigen::Index r : rows) out.soft_weight(r) = w;
      return;
    }
    const Eigen::Index e = n0 + slack;
    for (Eigen::Index r : rows) out.C(r, e) = T(-1);
    out.H(e, e) = T(2) * rho;
    out.g0(e) = w;
    out.C(layout.slack_row(slack), e) = T(-1);
    ++slack;
  };
  // d0 of a bound row; an infinite bound marks the row inert.
  auto bound = [&](Eigen::Index r, const T& value) {
    if (!std::isfinite(detail::value_of(value))) {
      inert.push_back(r);
      return T(inert_bound);
    }
    return value;
  };
  for (Eigen::Index k = 0; k < N; ++k)
    for (Eigen::Index i = 0; i < nu; ++i) {
      const Eigen::Index up = layout.input_row(k, i, true), lo = layout.input_row(k, i, false);
      out.C(up, k * nu + i) = T(1);
      out.d0(up) = bound(up, T(data.u_ub(i)));
      out.C(lo, k * nu + i) = T(-1);
      out.d0(lo) = bound(lo, T(-data.u_lb(i)));
      soften(data.u_soft_weight(i), data.u_soft_quadratic(i), {up, lo});
    }
  for (Eigen::Index k = 1; k < N; ++k) {
    const auto Gk = Gam.block(k * nx, 0, nx, k * nu);
    const auto Pk = Phi.middleRows(k * nx, nx);
    const auto ck = c.segment(k * nx, nx);
    for (Eigen::Index i = 0; i < nx; ++i) {
      const Eigen::Index up = layout.state_row(k, i, true), lo = layout.state_row(k, i, false);
      out.C.row(up).head(k * nu) = Gk.row(i);
      out.D.row(up) = -Pk.row(i);
      out.C.row(lo).head(k * nu) = -Gk.row(i);
      out.D.row(lo) = Pk.row(i);
      out.d0(up) = bound(up, T(data.x_ub(i) - ck(i)));
      out.d0(lo) = bound(lo, T(ck(i) - data.x_lb(i)));
      soften(data.x_soft_weight(i), data.x_soft_quadratic(i), {up, lo});
    }
  }
  if constexpr (NC != 0) {
    for (Eigen::Index k = 0; k < N && nc > 0; ++k) {
      const Eigen::Index row = layout.general_row(k, 0);  // the stage's nc rows are contiguous
      out.C.block(row, 0, nc, k * nu).noalias() =
          data.E_x.lazyProduct(Gam.block(k * nx, 0, nx, k * nu));
      out.C.block(row, k * nu, nc, nu) = data.E_u;
      out.D.middleRows(row, nc).noalias() = -data.E_x.lazyProduct(Phi.middleRows(k * nx, nx));
      const Vector Ec = data.E_x.lazyProduct(c.segment(k * nx, nx));
      for (Eigen::Index i = 0; i < nc; ++i) {
        const Eigen::Index r = layout.general_row(k, i);
        out.d0(r) = bound(r, T(data.e(i) - Ec(i)));
        soften(data.e_soft_weight(i), data.e_soft_quadratic(i), {r});
      }
    }
  }
  for (Eigen::Index r : inert) {
    out.C.row(r).setZero();
    out.D.row(r).setZero();
    out.d0(r) = T(inert_bound);
    out.soft_weight(r) = T(std::numeric_limits<double>::infinity());
  }
}

/// Soft weight of every condensed row (CondensedRowLayout); +inf: hard (also the
/// rows of components with a slack variable, the slack rows themselves and the inert rows of
/// infinite bounds and zero-weight components).
template <typename Scalar, int NX, int NU, int NC, typename Derived>
void condensed_soft_weights(const LqData<Scalar, NX, NU, NC>& data, Eigen::Index horizon,
                            Eigen::MatrixBase<Derived>& w) {
  const Eigen::Index nx = data.nx(), nu = data.nu(), nc = data.nc(), N = horizon;
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  // Slack components, zero-weight exact-L1 components and infinite bounds (inert rows) have no soft
  // row.
  auto row_weight = [inf](Scalar wi, Scalar rho, Scalar bound) {
    return detail::has_slack(wi, rho) || wi == 0 || !std::isfinite(bound) ? inf : wi;
  };
  const CondensedRowLayout layout{nx, nu, N, nc, 0};
  w.setConstant(inf);
  for (Eigen::Index k = 0; k < N; ++k)
    for (Eigen::Index i = 0; i < nu; ++i) {
      const Scalar wi = data.u_soft_weight(i), rho = data.u_soft_quadratic(i);
      w(layout.input_row(k, i, true)) = row_weight(wi, rho, data.u_ub(i));
      w(layout.input_row(k, i, false)) = row_weight(wi, rho, data.u_lb(i));
    }
  for (Eigen::Index k = 1; k < N; ++k)
    for (Eigen::Index i = 0; i < nx; ++i) {
      const Scalar wi = data.x_soft_weight(i), rho = data.x_soft_quadratic(i);
      w(layout.state_row(k, i, true)) = row_weight(wi, rho, data.x_ub(i));
      w(layout.state_row(k, i, false)) = row_weight(wi, rho, data.x_lb(i));
    }
  for (Eigen::Index k = 0; k < N; ++k)
    for (Eigen::Index i = 0; i < nc; ++i)
      w(layout.general_row(k, i)) =
          row_weight(data.e_soft_weight(i), data.e_soft_quadratic(i), data.e(i));
}

namespace detail {
/// Penalty of one soft component with violations v_up, v_lo of its two sides (model.hpp):
/// exact L1 rows are penalized separately; a slack covers the larger violation.
template <typename Scalar>
Scalar component_penalty(Scalar w, Scalar rho, Scalar v_up, Scalar v_lo) {
  if (!std::isfinite(w)) return Scalar(0);
  if (!has_slack(w, rho)) return w * (std::max(Scalar(0), v_up) + std::max(Scalar(0), v_lo));
  const Scalar v = std::max({Scalar(0), v_up, v_lo});
  return w * v + rho * v * v;
}
}  // namespace detail

/// Penalty of the soft rows of one stage at (x, u): sum over soft components of
/// w v + rho v^2; hard rows contribute nothing here (they hold at a feasible solution).
template <typename Scalar, int NX, int NU, int NC, typename DerivedX, typename DerivedU>
Scalar stage_penalty(const LqData<Scalar, NX, NU, NC>& data, const Eigen::MatrixBase<DerivedX>& x,
                     const Eigen::MatrixBase<DerivedU>& u) {
  Scalar pen(0);
  for (Eigen::Index i = 0; i < data.nx(); ++i)
    pen += detail::component_penalty(data.x_soft_weight(i), data.x_soft_quadratic(i),
                                     x(i) - data.x_ub(i), data.x_lb(i) - x(i));
  for (Eigen::Index i = 0; i < data.nu(); ++i)
    pen += detail::component_penalty(data.u_soft_weight(i), data.u_soft_quadratic(i),
                                     u(i) - data.u_ub(i), data.u_lb(i) - u(i));
  if (data.nc() > 0) {
    const Eigen::Matrix<Scalar, NC, 1> v = data.E_x * x + data.E_u * u - data.e;
    for (Eigen::Index i = 0; i < data.nc(); ++i)
      pen += detail::component_penalty(data.e_soft_weight(i), data.e_soft_quadratic(i), v(i),
                                       Scalar(0));
  }
  return pen;
}

/// State-bound part of stage_penalty only: the constant penalty of x_0 = s (its input and
/// general rows are QP rows).
template <typename Scalar, int NX, int NU, int NC, typename DerivedX>
Scalar state_bound_penalty(const LqData<Scalar, NX, NU, NC>& data,
                           const Eigen::MatrixBase<DerivedX>& x) {
  Scalar pen(0);
  for (Eigen::Index i = 0; i < data.nx(); ++i)
    pen += detail::component_penalty(data.x_soft_weight(i), data.x_soft_quadratic(i),
                                     x(i) - data.x_ub(i), data.x_lb(i) - x(i));
  return pen;
}

}  // namespace rmpc::mpc
