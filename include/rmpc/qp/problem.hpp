// QP data, settings, statuses and the result of a dense convex QP:
//
//     minimize 1/2 z'Hz + g'z + sum_{i soft} w_i max(0, C_i z - d_i)
//     subject to A z = b,   C_i z <= d_i  (i hard)
//
// A row of C is hard when its soft weight is +inf (the default) and an exact L1 penalty
// with weight w_i > 0 otherwise. Exact L1 rows are the dual of a slack eps_i >= 0 with cost
// w_i eps_i: their multiplier lives in the box [0, w_i] and no slack variable is carried.
// Multipliers follow L = 1/2 z'Hz + g'z + y_eq'(Az - b) + y_ineq'(Cz - d), y_ineq >= 0.
#pragma once

#include "rmpc/detail/settings_check.hpp"
#include "rmpc/qp/detail/rows.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <limits>
#include <string>

namespace rmpc::qp {

enum class Status {
  optimal,           ///< KKT conditions certified to round-off, relative to the data's scale.
  infeasible,        ///< The (hard) constraints admit no point (a checked Farkas certificate).
  max_iterations,    ///< Active-set iteration limit hit; the iterate is dual feasible only.
  non_convex,        ///< H has a (clearly) negative eigenvalue: the QP is not convex.
  invalid_input,     ///< NaN/Inf or an unusable H (sizes throw); `message` says which.
  singular_hessian,  ///< H is positive semidefinite but (numerically) singular: the QP is
                     ///< convex, but this solver needs a positive definite H.
  inaccurate,        ///< The solver stopped, but its answer failed the final KKT certificate.
};

inline const char* to_string(Status s) {
  switch (s) {
    case Status::optimal: return "optimal";
    case Status::infeasible: return "infeasible";
    case Status::max_iterations: return "max_iterations";
    case Status::non_convex: return "non_convex";
    case Status::invalid_input: return "invalid_input";
    case Status::singular_hessian: return "singular_hessian";
    case Status::inaccurate: return "inaccurate";
  }
  return "unknown";
}

/// State of one inequality row at a solution (and of a warm-start guess).
/// `active`: C_i z = d_i with multiplier in [0, w_i]; `saturated`: a soft row violated at
/// the optimum, C_i z > d_i, its multiplier pinned at w_i (the L1 slack is positive).
enum RowState : std::int8_t { inactive = 0, active = 1, saturated = 2 };

/// N variables, P equality rows, M inequality rows, each a compile-time size or Eigen::Dynamic;
/// P = 0 and M = 0 are allowed (C with M = 0 is stored with a run-time count of 0 rows:
/// detail::RowsMatrix).
template <typename Scalar_, int N = Eigen::Dynamic, int P = Eigen::Dynamic, int M = Eigen::Dynamic>
struct Problem {
  using Scalar = Scalar_;
  static constexpr int n_at_compile_time = N;
  static constexpr int p_at_compile_time = P;
  static constexpr int m_at_compile_time = M;
  using MatrixH = Eigen::Matrix<Scalar, N, N>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;
  using MatrixA = Eigen::Matrix<Scalar, P, N>;
  using VectorP = Eigen::Matrix<Scalar, P, 1>;
  using MatrixC = detail::RowsMatrix<Scalar, M, N>;
  using VectorM = Eigen::Matrix<Scalar, M, 1>;

  MatrixH H;
  VectorN g;
  MatrixA A;
  VectorP b;
  MatrixC C;
  VectorM d;
  VectorM soft_weight;  ///< +inf: hard row; finite w > 0: exact L1 penalty w max(0, C_i z - d_i).

  Problem() {
    if constexpr (N != Eigen::Dynamic && P != Eigen::Dynamic && M != Eigen::Dynamic)
      resize(N, P, M);
  }
  Problem(Eigen::Index n, Eigen::Index p, Eigen::Index m) { resize(n, p, m); }

  /// Sizes every block, zero data, all rows hard. A size that contradicts N, P or M throws
  /// std::invalid_argument naming it.
  void resize(Eigen::Index n, Eigen::Index p, Eigen::Index m) {
    rmpc::detail::require_size(N, n, "qp::Problem", "n", "N");
    rmpc::detail::require_size(P, p, "qp::Problem", "p", "P");
    rmpc::detail::require_size(M, m, "qp::Problem", "m", "M");
    H.setZero(n, n);
    g.setZero(n);
    A.setZero(p, n);
    b.setZero(p);
    C.setZero(m, n);
    d.setZero(m);
    soft_weight.setConstant(m, std::numeric_limits<Scalar>::infinity());
  }

  Eigen::Index num_variables() const { return H.rows(); }
  Eigen::Index num_equalities() const { return A.rows(); }
  Eigen::Index num_inequalities() const { return C.rows(); }
  bool is_soft(Eigen::Index i) const {
    return soft_weight(i) < std::numeric_limits<Scalar>::infinity();
  }
};

template <typename Scalar>
struct Settings {
  /// Active-set changes allowed before giving up; 0 picks 5 (n + m + p) + 20, far above
  /// what a non-degenerate dual active-set run needs (each row enters about once).
  int max_iterations = 0;
  /// A row counts as violated when C_i z - d_i > feasibility_tolerance * (|C_i| |z| + |d_i|):
  /// relative to the row's own scale, so a positive row scaling never changes the answer;
  /// near round-off so the active set is the exact one.
  Scalar feasibility_tolerance = Scalar(64) * std::numeric_limits<Scalar>::epsilon();
  /// Final certificate before `optimal` (and the test that a linearly dependent row is
  /// really violated before it may change the working set or prove infeasibility): primal
  /// feasibility of every row, multiplier boxes, complementarity and stationarity, each
  /// relative to the scale of the terms it sums (|C_i||z| + |d_i|, |H||z| + |g| + |N'||y|).
  Scalar certificate_tolerance = Scalar(1e4) * std::numeric_limits<Scalar>::epsilon();
  /// Smallest |pivot| accepted when a constraint enters (the part of J'n outside the working
  /// set's span, relative to |n| times the largest column norm of L(H)^{-T}): below it the
  /// normal is taken as linearly dependent on the working set. The round-off of an exactly
  /// dependent normal grows with the rotations applied to J: 1e-15 to 1.5e-12 on the anchor
  /// QPs (nx = 8), where independent rows sit above 1e-3; 1e3 eps let such round-off enter
  /// as a pivot, the working set turned singular and infeasible problems ended `inaccurate`.
  Scalar dependency_tolerance = Scalar(1e5) * std::numeric_limits<Scalar>::epsilon();
  /// Iterative refinement of the final KKT system, used only when the certificate's residual
  /// test fails (at most two steps). Off: such an answer is reported `inaccurate`.
  bool refine = true;
  /// Scan the data for NaN/Inf and size mismatches (cheap; turn off only in trusted hot loops).
  bool check_input = true;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(max_iterations >= 0, "qp::Settings::max_iterations", ">= 0 (0: automatic)",
                    max_iterations);
    require_setting(feasibility_tolerance >= Scalar(0) && feasibility_tolerance < Scalar(1),
                    "qp::Settings::feasibility_tolerance", "in [0, 1)", feasibility_tolerance);
    require_setting(certificate_tolerance > Scalar(0) && certificate_tolerance < Scalar(1),
                    "qp::Settings::certificate_tolerance", "in (0, 1)", certificate_tolerance);
    require_setting(dependency_tolerance >= Scalar(0) && dependency_tolerance < Scalar(1),
                    "qp::Settings::dependency_tolerance", "in [0, 1)", dependency_tolerance);
  }
};

template <typename Scalar, int N = Eigen::Dynamic, int P = Eigen::Dynamic, int M = Eigen::Dynamic>
struct Result {
  Status status = Status::invalid_input;
  Eigen::Matrix<Scalar, N, 1> z;
  Eigen::Matrix<Scalar, P, 1> y_eq;
  Eigen::Matrix<Scalar, M, 1> y_ineq;
  Eigen::Matrix<std::int8_t, M, 1> row_state;  ///< RowState per inequality row.
  Scalar objective = Scalar(0);                ///< Includes the L1 penalties of soft rows.
  int iterations = 0;                          ///< Active-set changes (adds + drops).
  std::string message;                         ///< Set only when status != optimal.

  bool ok() const { return status == Status::optimal; }
  Eigen::Index num_active() const {
    return (row_state.array() == std::int8_t(RowState::active)).count();
  }
};

}  // namespace rmpc::qp
