// The user-facing data of a parameterized linear-quadratic MPC (method.md §2):
//
//     min  sum_{k=0}^{N-1} ( x_k'Q x_k + q'x_k + u_k'R u_k + r'u_k + penalties_k ) + x_N'P x_N +
//     p'x_N s.t. x_0 = s,   x_{k+1} = A x_k + B u_k + b,
//          u_lb <= u_k <= u_ub                          (k = 0..N-1),
//          x_lb <= x_k <= x_ub                          (k = 0..N-1; at k = 0 a constant),
//          E_x x_k + E_u u_k <= e                       (k = 0..N-1),
//
// every entry a function of the parameters theta. Note the cost has no 1/2 factor (as in
// method.md), so the condensed QP Hessian is 2 (...). A finite bound is a constraint, an
// infinite one none. Back-offs are just theta-dependent bounds.
//
// Soft constraints. A component with a finite soft weight w >= 0 is penalized instead of
// enforced: w v + rho v^2 with v = max(0, violation) and rho >= 0 its quadratic weight.
//  * rho = 0 (exact L1): no slack variable; the QP row is soft (its multiplier is boxed to
//    [0, w], dense_solver.hpp), so the QP keeps its size. Exact for w above the largest
//    multiplier of the hard problem (the soft solution then equals the hard one when feasible).
//  * rho > 0 (quadratic, optionally plus L1): one slack eps >= 0 per component and stage,
//    shared by its two sides (x_lb - eps <= x <= x_ub + eps), cost w eps + rho eps^2. The slack
//    count is a size of the MPC (soft_slack_count(); template parameter NS of LqMpc).
// Both weights may depend on theta; their derivatives enter the policy derivatives.
//
// How theta enters is the user's choice: a functor with a templated call operator
//
//     template <class T> void operator()(const Eigen::Matrix<T, NP, 1>& theta,
//                                        LqData<T, NX, NU, NC>& out) const;
//
// that overwrites the entries it needs (LqData starts from neutral defaults). It is evaluated
// with double and with (nested) Eigen::AutoDiffScalar, so write it with T arithmetic only:
// T(1.0), not 1, for constants.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <Eigen/Core>

#include <limits>
#include <stdexcept>
#include <type_traits>

namespace rmpc::mpc {

template <typename T, int NX = Eigen::Dynamic, int NU = Eigen::Dynamic, int NC = 0>
struct LqData {
  using MatrixXX = Eigen::Matrix<T, NX, NX>;
  using MatrixXU = Eigen::Matrix<T, NX, NU>;
  using MatrixUU = Eigen::Matrix<T, NU, NU>;
  using VectorX = Eigen::Matrix<T, NX, 1>;
  using VectorU = Eigen::Matrix<T, NU, 1>;
  using MatrixCX = Eigen::Matrix<T, NC, NX>;
  using MatrixCU = Eigen::Matrix<T, NC, NU>;
  using VectorC = Eigen::Matrix<T, NC, 1>;

  MatrixXX A;  ///< Dynamics x+ = A x + B u + b.
  MatrixXU B;
  VectorX b;
  MatrixXX Q;  ///< Stage cost x'Qx + q'x + u'Ru + r'u (no 1/2).
  VectorX q;
  MatrixUU R;
  VectorU r;
  MatrixXX P;  ///< Terminal cost x_N'P x_N + p'x_N.
  VectorX p;
  VectorU u_lb, u_ub;        ///< Input bounds on u_0..u_{N-1}; +-inf: no row.
  VectorU u_soft_weight;     ///< +inf: hard; finite w >= 0: soft, L1 weight w (both sides).
  VectorU u_soft_quadratic;  ///< rho >= 0 of soft components: + rho v^2 via a slack variable.
  VectorX x_lb, x_ub;        ///< State bounds on x_0..x_{N-1} (x_0 = s: constant penalty only).
  VectorX x_soft_weight;     ///< Per component, both sides; +inf: hard.
  VectorX x_soft_quadratic;  ///< Quadratic weight of soft state components (0: exact L1 only).
  MatrixCX E_x;              ///< General rows E_x x_k + E_u u_k <= e on k = 0..N-1.
  MatrixCU E_u;
  VectorC e;
  VectorC e_soft_weight;
  VectorC e_soft_quadratic;

  LqData() {
    if constexpr (NX != Eigen::Dynamic && NU != Eigen::Dynamic && NC != Eigen::Dynamic)
      resize(NX, NU, NC);
  }
  LqData(Eigen::Index nx, Eigen::Index nu, Eigen::Index nc = 0) { resize(nx, nu, nc); }

  /// Neutral defaults: zero model and cost, no bounds (infinite), all rows hard. A size that
  /// contradicts a compile-time size (NX, NU, NC; NC defaults to a fixed 0) throws
  /// std::invalid_argument naming it (Eigen would ignore it with its asserts off).
  void resize(Eigen::Index nx, Eigen::Index nu, Eigen::Index nc) {
    rmpc::detail::require_size(NX, nx, "LqData", "nx", "NX");
    rmpc::detail::require_size(NU, nu, "LqData", "nu", "NU");
    rmpc::detail::require_size(
        NC, nc, "LqData", "nc", "NC",
        " (NC defaults to 0; LqData<T, NX, NU, Eigen::Dynamic> for general rows)");
    const T inf = T(std::numeric_limits<double>::infinity());
    A.setZero(nx, nx);
    B.setZero(nx, nu);
    b.setZero(nx);
    Q.setZero(nx, nx);
    q.setZero(nx);
    R.setZero(nu, nu);
    r.setZero(nu);
    P.setZero(nx, nx);
    p.setZero(nx);
    u_lb.setConstant(nu, -inf);
    u_ub.setConstant(nu, inf);
    u_soft_weight.setConstant(nu, inf);
    u_soft_quadratic.setZero(nu);
    x_lb.setConstant(nx, -inf);
    x_ub.setConstant(nx, inf);
    x_soft_weight.setConstant(nx, inf);
    x_soft_quadratic.setZero(nx);
    E_x.setZero(nc, nx);
    E_u.setZero(nc, nu);
    e.setConstant(nc, inf);
    e_soft_weight.setConstant(nc, inf);
    e_soft_quadratic.setZero(nc);
  }

  Eigen::Index nx() const { return A.rows(); }
  Eigen::Index nu() const { return B.cols(); }
  Eigen::Index nc() const { return E_x.rows(); }
};

/// Problem sizes, for dynamic-size instances (compile-time sizes must agree when fixed).
struct LqSizes {
  Eigen::Index nx = 0;       ///< State dimension.
  Eigen::Index nu = 0;       ///< Input dimension.
  Eigen::Index horizon = 0;  ///< N: inputs u_0..u_{N-1}, states x_0..x_N.
  Eigen::Index np = 0;       ///< Number of parameters theta.
  Eigen::Index nc = 0;       ///< General constraint rows per stage.
  Eigen::Index ns =
      0;  ///< Slack variables in total (soft_slack_count()); set by LqMpc when NS is dynamic.
};

/// Slack variables of an MPC whose model has, per stage, nsx soft state components, nsu soft
/// inputs and nse soft general rows with a quadratic weight rho > 0 (state bounds act on
/// x_1..x_{N-1}; x_0 = s is a constant). Use it for LqMpc's NS.
constexpr int soft_slack_count(int horizon, int nsx, int nsu = 0, int nse = 0) {
  return nsx * (horizon - 1) + (nsu + nse) * horizon;
}

namespace detail {
/// Compile-time product/sum that stays Dynamic when an operand is.
constexpr int size_mul(int a, int b) {
  return (a == Eigen::Dynamic || b == Eigen::Dynamic) ? Eigen::Dynamic : a * b;
}
constexpr int size_add(int a, int b) {
  return (a == Eigen::Dynamic || b == Eigen::Dynamic) ? Eigen::Dynamic : a + b;
}

/// dst = src for operands whose sizes the caller has ALREADY checked at run time. When the
/// compile-time sizes contradict each other the assignment is not instantiated (Eigen would
/// reject it with a static assertion): the run-time check has thrown before reaching it, so
/// generic callers get the same std::invalid_argument for fixed and dynamic arguments.
template <typename Dst, typename Src>
void assign_checked(Dst&& dst, const Src& src) {
  using D = std::decay_t<Dst>;
  constexpr int dr = D::RowsAtCompileTime, dc = D::ColsAtCompileTime;
  constexpr int sr = Src::RowsAtCompileTime, sc = Src::ColsAtCompileTime;
  constexpr bool rows_ok = dr == Eigen::Dynamic || sr == Eigen::Dynamic || dr == sr;
  constexpr bool cols_ok = dc == Eigen::Dynamic || sc == Eigen::Dynamic || dc == sc;
  if constexpr (rows_ok && cols_ok) {
    dst = src;
  } else {
    throw std::invalid_argument(
        "assign_checked: compile-time sizes differ");  // unreachable after the caller's check
  }
}

/// Resizes a resizable x (a plain matrix whose compile-time sizes allow rows x cols) to
/// rows x cols; leaves any other x as it is, for the caller's size check to report.
template <typename Derived>
void resize_if_possible(Eigen::MatrixBase<Derived>& x, Eigen::Index rows, Eigen::Index cols) {
  if constexpr (std::is_base_of_v<Eigen::PlainObjectBase<Derived>, Derived>) {
    constexpr int R = Derived::RowsAtCompileTime, C = Derived::ColsAtCompileTime;
    if ((R == Eigen::Dynamic || R == rows) && (C == Eigen::Dynamic || C == cols) &&
        (x.rows() != rows || x.cols() != cols))
      x.derived().resize(rows, cols);
  } else {
    (void)x, (void)rows, (void)cols;
  }
}
}  // namespace detail

/// The order of the condensed QP's inequality rows, written once: condense(),
/// condensed_soft_weights(), condensed_rows() and CondensedSizes read it (and so may a caller
/// that looks up a row, e.g. in PolicyResult::row_state; LqMpc::row_layout()).
///  1. input bounds, per stage k = 0..N-1: u_k <= u_ub (nu rows), then -u_k <= -u_lb (nu rows);
///  2. state bounds, per stage k = 1..N-1 (x_0 = s is no row): x_k <= x_ub (nx rows), then
///     -x_k <= -x_lb (nx rows);
///  3. general rows, per stage k = 0..N-1: E_x x_k + E_u u_k <= e (nc rows);
///  4. one row -eps_s <= 0 per slack variable s = 0..ns-1 (slacks numbered in the order of
///     their components' first rows above).
struct CondensedRowLayout {
  Eigen::Index nx = 0, nu = 0, horizon = 0, nc = 0, ns = 0;

  /// Upper (u_k <= u_ub) or lower (-u_k <= -u_lb) bound row of input component i at stage k.
  constexpr Eigen::Index input_row(Eigen::Index k, Eigen::Index i, bool upper) const {
    return 2 * nu * k + (upper ? i : nu + i);
  }
  /// Upper or lower bound row of state component i at stage k = 1..N-1.
  constexpr Eigen::Index state_row(Eigen::Index k, Eigen::Index i, bool upper) const {
    return input_rows() + 2 * nx * (k - 1) + (upper ? i : nx + i);
  }
  /// General row i at stage k = 0..N-1.
  constexpr Eigen::Index general_row(Eigen::Index k, Eigen::Index i) const {
    return input_rows() + state_rows() + nc * k + i;
  }
  /// The row -eps_s <= 0 of slack variable s.
  constexpr Eigen::Index slack_row(Eigen::Index s) const { return constraint_rows() + s; }

  constexpr Eigen::Index input_rows() const { return 2 * nu * horizon; }
  constexpr Eigen::Index state_rows() const { return 2 * nx * (horizon - 1); }
  constexpr Eigen::Index general_rows() const { return nc * horizon; }
  /// All rows but the slack rows.
  constexpr Eigen::Index constraint_rows() const {
    return input_rows() + state_rows() + general_rows();
  }
  constexpr Eigen::Index rows() const { return constraint_rows() + ns; }
};

/// Condensed sizes: n = N nu inputs + NS slacks; m = the rows of CondensedRowLayout.
template <int NX, int NU, int N, int NC, int NS = 0>
struct CondensedSizes {
  static constexpr int n = detail::size_add(detail::size_mul(N, NU), NS);
  static constexpr int m = (NX == Eigen::Dynamic || NU == Eigen::Dynamic || N == Eigen::Dynamic ||
                            NC == Eigen::Dynamic || NS == Eigen::Dynamic)
                               ? Eigen::Dynamic
                               : int(CondensedRowLayout{NX, NU, N, NC, NS}.rows());
};

namespace detail {
/// Whether `model(theta, out)` compiles for scalar T: LqMpc's static_asserts use it to reject
/// a wrong functor with one sentence, before std::function (which would report it in pages of
/// library internals) sees it. Checks the declaration only; an error inside a templated body
/// is still reported where it is.
template <typename Model, typename T, int NP, int NX, int NU, int NC>
inline constexpr bool is_model_for =
    std::is_invocable_v<Model&, const Eigen::Matrix<T, NP, 1>&, LqData<T, NX, NU, NC>&>;

/// The model as the member `Function` (a std::function, or NotCompiled): an empty one when the
/// call does not compile, so that only the static_assert reports it.
template <typename Function, typename Model>
Function model_function(const Model& model) {
  if constexpr (std::is_constructible_v<Function, const Model&>) {
    return Function(model);
  } else {
    return Function();
  }
}
}  // namespace detail

/// Number of condensed rows (CondensedRowLayout::rows()).
inline Eigen::Index condensed_rows(Eigen::Index nx, Eigen::Index nu, Eigen::Index horizon,
                                   Eigen::Index nc, Eigen::Index ns = 0) {
  return CondensedRowLayout{nx, nu, horizon, nc, ns}.rows();
}

}  // namespace rmpc::mpc
