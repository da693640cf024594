// The anchor QPs of ../shared/spec/anchor_qps.md: condensed MPC problems (nx = 2 with
// N = 10/20/50, nx = 8 with N = 10/30; hard bounds on every input and state), their initial
// states and an independent reference solution. Shared by bench/bench_anchor_qps.cpp (the
// speed comparison) and tests/test_dense_solver_field_cases.cpp (the solver's verdicts).
#pragma once

#include "rmpc/qp/problem.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace rmpc::testing::anchor {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

/// Uniform draw on [-1, 1] exactly as anchor_qps.md defines it.
inline double uniform(std::mt19937_64& r) {
  return 2.0 * (double(r() >> 11) * std::ldexp(1.0, -53)) - 1.0;
}

struct System {
  MatrixXd A, B, Q, R, P;
  int riccati_iterations = 0;  ///< Of the terminal-weight iteration (57 for nx = 2, 32 for 8).
};

/// P <- Q + A'PA - A'PB (R + B'PB)^-1 B'PA from P = Q until the largest entry change is below
/// 1e-13 max(1, max|P|).
inline void terminal_weight(System& s) {
  s.P = s.Q;
  for (int it = 1; it <= 10000; ++it) {
    const MatrixXd BtPA = s.B.transpose() * s.P * s.A;
    const MatrixXd S = s.R + s.B.transpose() * s.P * s.B;
    const MatrixXd next =
        s.Q + s.A.transpose() * s.P * s.A - BtPA.transpose() * S.llt().solve(BtPA);
    const double change = (next - s.P).cwiseAbs().maxCoeff();
    const double scale = std::max(1.0, next.cwiseAbs().maxCoeff());
    s.P = next;
    if (change < 1e-13 * scale) {
      s.riccati_iterations = it;
      return;
    }
  }
}

inline System system_nx2() {
  System s;
  s.A = (MatrixXd(2, 2) << 0.9, 0.35, 0.0, 1.1).finished();
  s.B = (MatrixXd(2, 1) << 0.0813, 0.2).finished();
  s.Q = MatrixXd::Identity(2, 2);
  s.R = MatrixXd::Constant(1, 1, 0.5);
  terminal_weight(s);
  return s;
}

inline System system_nx8() {
  System s;
  std::mt19937_64 r(7);
  MatrixXd M(8, 8);
  for (Index i = 0; i < 8; ++i)
    for (Index j = 0; j < 8; ++j) M(i, j) = uniform(r);  // row-major draw order
  const double rho = Eigen::EigenSolver<MatrixXd>(M, false).eigenvalues().cwiseAbs().maxCoeff();
  s.A = M / rho;
  s.B.resize(8, 3);
  for (Index i = 0; i < 8; ++i)
    for (Index j = 0; j < 3; ++j) s.B(i, j) = uniform(r);
  s.Q = MatrixXd::Identity(8, 8);
  s.R = 0.5 * MatrixXd::Identity(3, 3);
  terminal_weight(s);
  return s;
}

/// The seed of the 1000 initial states: 42 for nx = 2, 43 for nx = 8.
inline std::uint64_t x0_seed(const System& s) { return s.A.rows() == 2 ? 42 : 43; }

/// The condensed QP: minimize 1/2 U'HU + g'U with g = G x0, subject to -1 <= U <= 1 and
/// -1 - Sx x0 <= Su U <= 1 - Sx x0. qp::Problem takes one-sided rows C U <= d, so the 2n
/// input bounds and 2m state bounds are stacked as (U; -U; Su U; -Su U).
struct Condensed {
  System sys;
  int N = 0;
  MatrixXd Sx, Su, H, G;
  qp::Problem<double> problem;  ///< H and C; g and d come from g(x0) and d(x0).

  Index n() const { return H.rows(); }
  Index m_state() const { return Su.rows(); }
  VectorXd g(const VectorXd& x0) const { return G * x0; }
  VectorXd d(const VectorXd& x0) const {
    const Index nn = n(), ms = m_state();
    VectorXd out(2 * nn + 2 * ms);
    out.head(2 * nn).setOnes();
    const VectorXd free = Sx * x0;
    out.segment(2 * nn, ms) = VectorXd::Ones(ms) - free;
    out.tail(ms) = VectorXd::Ones(ms) + free;
    return out;
  }
};

inline Condensed condense(const System& sys, int N) {
  Condensed c;
  c.sys = sys;
  c.N = N;
  const Index nx = sys.A.rows(), nu = sys.B.cols();
  c.Sx.resize(N * nx, nx);
  c.Su.setZero(N * nx, N * nu);
  MatrixXd Ak = MatrixXd::Identity(nx, nx);
  std::vector<MatrixXd> AkB;  // A^k B
  for (int k = 0; k < N; ++k) {
    AkB.push_back(Ak * sys.B);
    Ak = sys.A * Ak;
    c.Sx.middleRows(k * nx, nx) = Ak;
  }
  for (int i = 0; i < N; ++i)
    for (int j = 0; j <= i; ++j) c.Su.block(i * nx, j * nu, nx, nu) = AkB[size_t(i - j)];
  MatrixXd Qbar = MatrixXd::Zero(N * nx, N * nx);
  for (int k = 0; k < N; ++k) Qbar.block(k * nx, k * nx, nx, nx) = k + 1 < N ? sys.Q : sys.P;
  MatrixXd Rbar = MatrixXd::Zero(N * nu, N * nu);
  for (int k = 0; k < N; ++k) Rbar.block(k * nu, k * nu, nu, nu) = sys.R;
  c.H = 2.0 * (c.Su.transpose() * Qbar * c.Su + Rbar);
  c.H = 0.5 * (c.H + c.H.transpose()).eval();
  c.G = 2.0 * c.Su.transpose() * Qbar * c.Sx;
  const Index n = c.H.rows(), ms = c.Su.rows();
  c.problem.resize(n, 0, 2 * n + 2 * ms);
  c.problem.H = c.H;
  c.problem.C.topRows(n).setIdentity();
  c.problem.C.middleRows(n, n) = -MatrixXd::Identity(n, n);
  c.problem.C.middleRows(2 * n, ms) = c.Su;
  c.problem.C.bottomRows(ms) = -c.Su;
  return c;
}

/// The 1000 initial states of anchor_qps.md, in draw order.
inline std::vector<VectorXd> initial_states(const System& s, int count = 1000) {
  std::mt19937_64 r(x0_seed(s));
  std::vector<VectorXd> out;
  for (int k = 0; k < count; ++k) {
    VectorXd x0(s.A.rows());
    for (Index i = 0; i < x0.size(); ++i) x0(i) = uniform(r);
    out.push_back(x0);
  }
  return out;
}

/// An independent solution: the active set read off a candidate z is re-solved as an
/// equality-constrained QP by a different factorization (Eigen's full-pivoting LU of the KKT
/// matrix), then checked against the KKT conditions with the problem's own data: primal
/// feasibility of every row, multipliers >= 0, stationarity. A wrong active set fails here,
/// so a pass proves the reference is THE optimum (H > 0: it is unique).
struct Reference {
  bool ok = false;
  bool any_active = false;
  VectorXd z;
};

inline Reference reference_solution(const Condensed& c, const VectorXd& g, const VectorXd& d,
                                    const VectorXd& z_candidate) {
  const MatrixXd& C = c.problem.C;
  const Index n = c.n(), m = C.rows();
  const VectorXd slack = d - C * z_candidate;
  std::vector<Index> act;
  for (Index i = 0; i < m; ++i)
    if (slack(i) <= 1e-9 * (1.0 + std::abs(d(i)))) act.push_back(i);
  const Index q = Index(act.size());
  MatrixXd K = MatrixXd::Zero(n + q, n + q);
  VectorXd rhs(n + q);
  K.topLeftCorner(n, n) = c.H;
  rhs.head(n) = -g;
  for (Index k = 0; k < q; ++k) {
    K.block(0, n + k, n, 1) = C.row(act[size_t(k)]).transpose();
    K.block(n + k, 0, 1, n) = C.row(act[size_t(k)]);
    rhs(n + k) = d(act[size_t(k)]);
  }
  Eigen::FullPivLU<MatrixXd> lu(K);
  Reference ref;
  ref.any_active = q > 0;
  if (lu.rank() < n + q) return ref;  // dependent active rows: not checkable this way
  const VectorXd sol = lu.solve(rhs);
  ref.z = sol.head(n);
  const double scale = 1.0 + ref.z.cwiseAbs().maxCoeff(), g_scale = 1.0 + g.cwiseAbs().maxCoeff();
  const bool feasible = ((C * ref.z - d).array() <= 1e-9 * scale).all();
  const bool dual = q == 0 || (sol.tail(q).array() >= -1e-9 * g_scale).all();
  VectorXd stat = c.H * ref.z + g;
  for (Index k = 0; k < q; ++k) stat += sol(n + k) * C.row(act[size_t(k)]).transpose();
  ref.ok = feasible && dual && stat.cwiseAbs().maxCoeff() <= 1e-9 * g_scale;
  return ref;
}

}  // namespace rmpc::testing::anchor
