// First- and second-order sensitivities of a QP solution with respect to parameters theta,
// from the solver's own factorization (method.md section 3).
//
// At a solution with working set W (equality rows E, active inequality rows S) and saturated
// soft rows T (multiplier pinned at their weight w_k(theta)), the KKT conditions
// F(w, theta) = 0 in w = (z, lambda_W) read
//     H z + g + N' lambda + sum_{k in T} w_k C_k' = 0,     N z = e,      N = [A_E; C_S], e = [b_E;
//     d_S].
// Differentiating once and twice (K = [[H, N'], [N, 0]], subscripts are d/dtheta):
//     K w_i  = -(K_i w + f_i)                                       (1)
//     K w_ij = -(K_j w_i + K_i w_j + K_ij w + f_ij)                 (2)
// One factorization (the solver's J, R) serves all np + np(np+1)/2 right-hand sides. For a
// linear functional e'z, (2) collapses by one adjoint solve K [a; beta] = [e; 0]:
//     e'z_ij = [a; beta]' rhs_ij,  which needs only matrix-vector products per parameter.
// The saturated rows' term sum_T w_k C_k' is differentiated whole, weights included (dX.dw,
// dX.d2w): f_i holds dw_k,i C_k' + w_k dC_k,i', f_ij d2w_k,ij C_k' + dw_k,i dC_k,j' +
// dw_k,j dC_k,i' + w_k d2C_k,ij'. Inactive multipliers have zero derivatives, saturated ones
// those of their weight (dw).
//
// Degenerate active sets with dependent rows (method.md section 3 assumes LICQ). Hard rows at
// zero slack whose normals are dependent are resolved before the solve, so that a value is
// either the derivative of the right reduced system or not reported at all:
//  * an opposite-parallel pair C_j = -c C_i (c > 0) with both rows at zero slack (lb = ub,
//    an input pinned by equal bounds) is ONE equality row: one of the two is kept in (or
//    added to) the working set, its multiplier sign is free (not weakly active), the other is
//    flagged row_dependent. If the pair does not stay an equality to first order (its rhs
//    derivatives disagree), the status is licq_violated.
//  * a zero-slack row outside the working set whose normal lies in the span of the working
//    set (a duplicated row, an equality pinning a bound) is flagged row_dependent; it must keep
//    zero slack along every parameter (checked after the solve), else licq_violated.
//  * after the solve, the reported derivative must be a one-sided derivative in the + or -
//    direction of each parameter (weakly active rows stay feasible and their multipliers in
//    their box); if neither holds, licq_violated instead of a wrong value.
//
// Ownership. compute() reads `solved` and `dX` and keeps a pointer to `dX` that
// functional_hessian() reads later: dX must stay alive and unchanged until then. Binding a
// temporary ProblemDerivatives is a compile error (deleted rvalue overload). All sizes of dX
// are checked against the solved problem before anything is read (when the solve was not
// optimal nothing is read and only num_parameters is checked); a mismatch throws
// std::invalid_argument naming the argument (a programmer error, never a status).
#pragma once

#include "rmpc/detail/settings_check.hpp"
#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/derivatives.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace rmpc::qp {

enum class SensitivityStatus {
  ok,             ///< Strict complementarity and LICQ hold: the derivatives exist.
  weakly_active,  ///< A row has zero slack and a multiplier at a bound: one-sided derivatives.
  licq_violated,  ///< Active normals are linearly dependent (e.g. redundant equalities).
  singular_kkt,   ///< The working-set KKT matrix is numerically singular (conditioning, or the
                  ///< first-order residual certificate failed): derivatives are zero.
  not_solved,     ///< The QP was not solved to optimality; nothing was computed.
};

inline const char* to_string(SensitivityStatus s) {
  switch (s) {
    case SensitivityStatus::ok: return "ok";
    case SensitivityStatus::weakly_active: return "weakly_active";
    case SensitivityStatus::licq_violated: return "licq_violated";
    case SensitivityStatus::singular_kkt: return "singular_kkt";
    case SensitivityStatus::not_solved: return "not_solved";
  }
  return "unknown";
}

/// Which one-sided derivative to return at weakly active rows.
enum class WeakRowChoice {
  as_solved,    ///< The working set the solver ended with (default: matches the solution).
  keep_active,  ///< Weakly active rows held at equality (the branch where they stay active).
  drop,         ///< Weakly active rows released (the branch where they leave).
};

/// Per-row flags reported with the status.
enum RowFlag : std::int8_t { row_regular = 0, row_weakly_active = 1, row_dependent = 2 };

template <typename Scalar>
struct SensitivitySettings {
  /// d2z/dtheta2 for all pairs (np(np+1)/2 back-solves); off when only functionals are needed.
  bool second_order = true;
  /// Also return d2(lambda)/dtheta2 of the working-set multipliers.
  bool multiplier_second_order = false;
  /// Relative size under which a multiplier (distance to 0 or w) and a slack count as zero
  /// (1e-9 in double; never below 64 epsilons, so a float solution's round-off is not taken as
  /// a strictly active or inactive row).
  Scalar weak_tolerance = rmpc::detail::default_tolerance<Scalar>(1e-9, 64);
  /// Relative size of min|R_jj| / max|R_jj| under which the working set is taken as dependent
  /// (1e-11 in double; never below 16 epsilons: a float factor's round-off is not rank).
  Scalar singular_tolerance = rmpc::detail::default_tolerance<Scalar>(1e-11, 16);
  /// Largest residual of the first-order KKT derivative system, relative to the normwise size
  /// of its data terms (not the multipliers'), that `ok` / `weakly_active` may carry; above it the
  /// solve was not backward stable (a numerically singular working set) and the status is
  /// `singular_kkt`. Same scale as the solver's certificate_tolerance.
  Scalar residual_tolerance = Scalar(1e4) * std::numeric_limits<Scalar>::epsilon();
  WeakRowChoice weak_rows = WeakRowChoice::as_solved;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(weak_tolerance >= Scalar(0) && weak_tolerance < Scalar(1),
                    "SensitivitySettings::weak_tolerance", "in [0, 1)", weak_tolerance);
    require_setting(singular_tolerance >= Scalar(0) && singular_tolerance < Scalar(1),
                    "SensitivitySettings::singular_tolerance", "in [0, 1)", singular_tolerance);
    require_setting(residual_tolerance > Scalar(0) && residual_tolerance < Scalar(1),
                    "SensitivitySettings::residual_tolerance", "in (0, 1)", residual_tolerance);
  }
};

template <typename Scalar, int N = Eigen::Dynamic, int P = Eigen::Dynamic, int M = Eigen::Dynamic,
          int NP = Eigen::Dynamic>
class Sensitivity {
  static constexpr int NP2 = NP == Eigen::Dynamic ? Eigen::Dynamic : NP * NP;

 public:
  using Solver = DenseSolver<Scalar, N, P, M>;
  using Derivatives = ProblemDerivatives<Scalar, N, P, M>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;
  using MatrixNNP = Eigen::Matrix<Scalar, N, NP>;
  using MatrixNNP2 = Eigen::Matrix<Scalar, N, NP2>;

  /// Differentiates the solution held by `solved` along the data derivatives `dX`. `dX` must
  /// outlive every later functional_hessian() call (see the header comment).
  Sensitivity& compute(const Solver& solved, const Derivatives& dX,
                       const SensitivitySettings<Scalar>& settings = {});
  /// A temporary dX would dangle in functional_hessian(): not allowed.
  Sensitivity& compute(const Solver& solved, const Derivatives&& dX,
                       const SensitivitySettings<Scalar>& settings = {}) = delete;

  SensitivityStatus info() const { return status_; }
  /// RowFlag per inequality row (weakly active, or dependent on the working set).
  const Eigen::Matrix<std::int8_t, M, 1>& row_flags() const { return row_flags_; }

  const MatrixNNP& dz_dtheta() const { return dz_; }
  const Eigen::Matrix<Scalar, P, NP>& dy_eq_dtheta() const { return dy_eq_; }
  const detail::RowsMatrix<Scalar, M, NP>& dy_ineq_dtheta() const { return dy_ineq_; }

  /// d2z/(dtheta_i dtheta_j), available when settings.second_order.
  auto d2z_dtheta2(Eigen::Index i, Eigen::Index j) const { return d2z_.col(i * np_ + j); }
  /// All second derivatives: column i * np + j holds d2z/(dtheta_i dtheta_j).
  const MatrixNNP2& d2z_dtheta2() const { return d2z_; }
  /// d2(lambda_k)/(dtheta_i dtheta_j) of working-set member k (multiplier_second_order).
  Scalar d2lambda_dtheta2(Eigen::Index k, Eigen::Index i, Eigen::Index j) const {
    return d2lambda_(k, i * np_ + j);
  }
  Eigen::Index working_set_size() const { return ws_.size(); }
  /// Working-set member k: index < p an equality row, else inequality row index - p.
  int working_set_member(Eigen::Index k) const { return ws_.member(k); }

  /// e' d2z/dtheta2 (np x np) by one adjoint solve, equation (2) contracted with [a; beta].
  /// Valid after compute() whether or not settings.second_order was set.
  template <typename E, typename Out>
  void functional_hessian(const E& e, Out& out) const;

 private:
  // Sizes of everything compute() and functional_hessian() read, before anything is read.
  void validate(const Solver& solved, const Derivatives& dX) const;
  // The same for the soft-weight blocks dX.dw, dX.d2w.
  void validate_weights(const Solver& solved, const Derivatives& dX) const;

  bool in_working_set(Eigen::Index i) const { return ws_.contains(int(p_ + i)); }

  // Whether the normal of inequality row i is independent of the working set (false when it
  // is full); leaves its rotated normal in d_ for ws_.add.
  bool independent_of_working_set(Eigen::Index i);

  // Adds inequality row i to the working set (multiplier 0) when its normal is independent of
  // it; false when dependent (or the working set is full).
  bool join_working_set(Eigen::Index i);

  // d/dtheta_k of (C_j + c C_i) z - (d_j + c d_i) at fixed z: zero when the pair i, j stays an
  // equality (c > 0: opposite-parallel) to first order along theta_k.
  bool pair_consistent(Eigen::Index i, Eigen::Index j, Scalar c) const;

  // Dependent hard rows at zero slack (see the header comment): opposite-parallel pairs become
  // one equality; rows in the span of the working set are flagged row_dependent.
  void resolve_dependent_rows();

  // The derivative must be one-sided in the + or - direction of each parameter: rows outside
  // the working set at zero slack stay feasible (dependent rows: stay at zero slack), weakly
  // active working-set multipliers stay in their box. Otherwise it is no derivative at all.
  void check_one_sided();

  void allocate();

  Scalar multiplier_of(Eigen::Index k) const {
    const int idx = ws_.member(k);
    return idx < p_ ? y_eq_(idx) : y_ineq_(idx - p_);
  }

  // Weakly active rows: zero slack with a multiplier at a bound of its box [0, w].
  void classify_rows();

  // Builds the working set of the requested one-sided derivative from the solver's.
  void apply_weak_choice();

  // Gathers, once per compute(), the derivatives of the working-set rows (dN_i, q x n per
  // parameter), of their right-hand sides (de_i) and the saturated rows' gradient terms
  // sum_T (w_k dC_i,k' + dw_k,i C_k'), so that each back-solve's right-hand side is a few
  // dense products.
  void gather_first_order_data();

  void first_order();

  // Residual certificate of first_order(): per parameter, the larger of
  // |H dz + N' dlambda - rhs1| and |N dz - rhs2| relative to (||H|| + ||N||) ||dz|| +
  // ||rhs1|| + ||rhs2|| (infinity norms); false above residual_tolerance.
  bool first_order_certified();

  // Multipliers of the rows as they enter K_ij w + f_ij: omega_ineq(r) = mu_r for working-set
  // rows, w_r for saturated rows (their term w_r C_r'), 0 otherwise; omega_eq likewise.
  // Only these rows (working set and saturated, usually a handful of the m) enter the
  // second-order data terms: they are listed in weighted_rows_ so that the per-pair work is
  // O(rows in the list * n) instead of O(m n).
  void build_row_weights();

  // [a; beta]' (K_ij w + f_ij) for all pairs: each term is a Frobenius product of a second
  // derivative with a rank-two weight built once, e.g. a'd2H z = <d2H, a z'> and
  // sum_r (omega_r a + beta_r z)' d2C_r - beta_r d2d_r, over the weighted rows only (omega_r
  // and beta_r vanish elsewhere); weight_c_ row t holds omega_r a' + beta_r z' of row t's r.
  template <typename Out>
  void add_second_order_data_terms(const VectorN& a, const VectorN& beta, Out& out) const;

  // The saturated rows' weight terms of f_ij beyond w_k d2C_k': out += d2w_k,ij C_k' +
  // dw_k,i dC_k,j' + dw_k,j dC_k,i' (i >= j), summed over the saturated rows.
  template <typename Out>
  void add_weight_terms(Eigen::Index i, Eigen::Index j, Out& out) const;
  // a' times the same for all pairs: out(i, j) -= a' (...), from C_k a and dC_k,i a once.
  template <typename Out>
  void add_weight_functional_terms(const VectorN& a, Out& out) const;
  bool has_weight_second_order() const;

  void second_order();

  SensitivitySettings<Scalar> settings_;
  const Derivatives* dx_ = nullptr;
  const Problem<Scalar, N, P, M>* problem_ = nullptr;
  SensitivityStatus status_ = SensitivityStatus::not_solved;
  Eigen::Index n_ = 0, p_ = 0, m_ = 0, np_ = 0;
  bool has_second_ = false;

  // A copy of the solver's working set, edited for the requested one-sided derivative; its
  // KKT solves (natural orientation) serve every back-solve.
  detail::WorkingSet<Scalar, N> ws_;
  VectorN lambda_, z_, r1_, r2_, x_, l_, d_;
  mutable VectorN adj_a_, adj_beta_, zero_n_, e_buf_;
  Eigen::Matrix<Scalar, M, 1> y_ineq_, cz_;
  Eigen::Matrix<Scalar, P, 1> y_eq_;
  Eigen::Matrix<std::int8_t, M, 1> row_state_, row_flags_, zero_slack_;
  MatrixNNP dz_, dlambda_;
  mutable MatrixNNP ha_, na_;
  Eigen::Matrix<Scalar, P, NP> dy_eq_;
  detail::RowsMatrix<Scalar, M, NP> dy_ineq_;
  MatrixNNP2 d2z_, d2lambda_;
  static constexpr int NNP =
      (N == Eigen::Dynamic || NP == Eigen::Dynamic) ? Eigen::Dynamic : N * NP;
  Eigen::Matrix<Scalar, N, NNP> dN_;  ///< Block i: d/dtheta_i of the working-set rows (q x n).
  MatrixNNP de_;                      ///< Column i: d/dtheta_i of the working-set right-hand sides.
  MatrixNNP saturated_grad_;          ///< Column i: sum over saturated rows of w_k dC_i,k'.
  bool has_dN_ = false;
  Eigen::Matrix<Scalar, M, 1> omega_ineq_;
  Eigen::Matrix<int, M, 1> weighted_rows_;  ///< saturated rows first, then working-set rows
  Eigen::Matrix<int, M, 1>
      flagged_rows_;  ///< scratch row list (dependent-row candidates, flagged rows)
  Eigen::Index num_weighted_ = 0, num_saturated_ = 0;
  detail::RowsMatrix<Scalar, M, N>
      sat_c_;  ///< Row t: C_k of saturated row t (read after compute())
  mutable Eigen::Matrix<Scalar, M, 1> sat_ca_;         ///< C_k a of saturated row t (functionals)
  mutable detail::RowsMatrix<Scalar, M, NP> sat_dca_;  ///< dC_k,i a of saturated row t, parameter i
  Eigen::Matrix<Scalar, P, 1> omega_eq_, row_values_eq_;
  mutable Eigen::Matrix<Scalar, M, 1> beta_ineq_;
  mutable Eigen::Matrix<Scalar, P, 1> beta_eq_;
  mutable Eigen::Matrix<Scalar, N, N> weight_h_;
  mutable detail::RowsMatrix<Scalar, M, N> weight_c_;
  mutable Eigen::Matrix<Scalar, P, N> weight_a_;
  // Block solves: columns are parameters (first order) or pairs i >= j (second order).
  static constexpr int NPAIRS = NP == Eigen::Dynamic ? Eigen::Dynamic : NP * (NP + 1) / 2;
  Eigen::Matrix<Scalar, N, NPAIRS> rhs1_, rhs2_, sol1_, sol2_, work_;
  Eigen::Matrix<Scalar, N, NPAIRS> signed_rhs2_;  ///< ws_.solve_kkt_block scratch
  MatrixNNP2 kz_, nz_;
};

}  // namespace rmpc::qp

// Member definitions, out of the class body (not implicitly inline).
#include "rmpc/qp/detail/sensitivity_working_set.hpp"
#include "rmpc/qp/detail/sensitivity_solves.hpp"
#include "rmpc/qp/detail/sensitivity_weights.hpp"
#include "rmpc/qp/detail/sensitivity_certificate.hpp"
