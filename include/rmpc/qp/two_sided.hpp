// Simple bounds and two-sided rows, the form in which qpmad, DAQP and OSQP take a QP:
//
//     minimize 1/2 z'Hz + g'z + (exact-L1 penalties of soft sides)
//     subject to A z = b,   lb <= z <= ub,   l <= C z <= u
//
// -inf / +inf mark an absent side. TwoSidedSolver writes each finite side as one row of the
// one-sided Problem that DenseSolver solves and maps the answer back; the rows are four blocks,
//     z_j <= ub_j (all j),  -z_j <= -lb_j (all j),  C_i z <= u_i (all i),  -C_i z <= -l_i (all i),
// finite sides only, in index order.
// Nothing is lost by this: DenseSolver recognises a bound row (one nonzero: it enters the
// working set with one row of J, its product is read off z) and a row with its mirror (one
// product serves both sides) on its own (qp/detail/row_structure.hpp). A side pair with
// l_i = u_i (an equality written as a two-sided row, an input pinned by equal bounds) is solved
// as the one row it is, and qp::Sensitivity differentiates it as one equality.
//
// Multipliers are signed, one per bound and per row: y > 0 when the upper side is active (or
// saturated), y < 0 for the lower side, so that H z + g + A'y_eq + y_bound + C'y_row = 0. Where
// both sides are in play (l = u, a soft pair with one side active and the other saturated) the
// state follows the sign of y. Crossed soft sides (l > u, both violated) have no SideState of
// their own: each side's state is in one_sided_solver().result().row_state.
// Sensitivities: qp::Sensitivity works on one_sided_solver() with a ProblemDerivatives of the
// one-sided rows, filled by expand_rhs / expand_rows / expand_weights from the derivatives of
// lb, ub, l, u, C and the weights.
//
// Errors: sizes, and a change of which sides are finite in update_linear_terms() (the row
// layout, fixed by compute()), throw std::invalid_argument naming the argument (a throwing
// compute() leaves the solver as it was); a call before compute() throws std::logic_error; NaN
// data, a side at the wrong infinity (lb = +inf, u = -inf, ...) and a weight <= 0 are
// Status::invalid_input, named in result().message.
#pragma once

#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/problem.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmpc::qp {

/// Where a bound or a two-sided row is at a solution (and in a warm-start guess).
enum class SideState : std::int8_t {
  inactive,     ///< strictly inside (or on a side with a zero multiplier that did not enter)
  lower,        ///< lb_j = z_j or l_i = C_i z, y <= 0
  upper,        ///< z_j = ub_j or C_i z = u_i, y >= 0
  below_lower,  ///< soft lower side violated: its multiplier is pinned at -w
  above_upper,  ///< soft upper side violated: its multiplier is pinned at +w
};

template <typename Scalar, int N = Eigen::Dynamic, int P = Eigen::Dynamic>
struct TwoSidedProblem {
  using MatrixH = Eigen::Matrix<Scalar, N, N>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;
  using MatrixA = Eigen::Matrix<Scalar, P, N>;
  using VectorP = Eigen::Matrix<Scalar, P, 1>;
  using MatrixC = Eigen::Matrix<Scalar, Eigen::Dynamic, N>;
  using VectorX = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  MatrixH H;
  VectorN g;
  MatrixA A;  ///< p x n equality rows
  VectorP b;
  VectorN lb, ub;             ///< -inf / +inf: no bound
  VectorN bound_soft_weight;  ///< +inf: hard bound; w > 0: w max(0, z - ub) + w max(0, lb - z)
  MatrixC C;                  ///< m x n two-sided rows
  VectorX l, u;               ///< -inf / +inf: no side
  VectorX soft_weight;        ///< per row, both sides; +inf: hard

  TwoSidedProblem() {
    if constexpr (N != Eigen::Dynamic) resize(N, P == Eigen::Dynamic ? 0 : P, 0);
  }
  TwoSidedProblem(Eigen::Index n, Eigen::Index p, Eigen::Index m) { resize(n, p, m); }

  /// Zero data, no bounds, every side absent and hard. A size that contradicts N or P (or a
  /// negative m) throws std::invalid_argument naming it.
  void resize(Eigen::Index n, Eigen::Index p, Eigen::Index m) {
    rmpc::detail::require_size(N, n, "qp::TwoSidedProblem", "n", "N");
    rmpc::detail::require_size(P, p, "qp::TwoSidedProblem", "p", "P");
    rmpc::detail::require_size(Eigen::Dynamic, m, "qp::TwoSidedProblem", "m", "M");
    const Scalar inf = std::numeric_limits<Scalar>::infinity();
    H.setZero(n, n);
    g.setZero(n);
    A.setZero(p, n);
    b.setZero(p);
    lb.setConstant(n, -inf);
    ub.setConstant(n, inf);
    bound_soft_weight.setConstant(n, inf);
    C.setZero(m, n);
    l.setConstant(m, -inf);
    u.setConstant(m, inf);
    soft_weight.setConstant(m, inf);
  }
};

template <typename Scalar, int N = Eigen::Dynamic, int P = Eigen::Dynamic>
struct TwoSidedResult {
  Status status = Status::invalid_input;
  Eigen::Matrix<Scalar, N, 1> z;
  Eigen::Matrix<Scalar, P, 1> y_eq;
  Eigen::Matrix<Scalar, N, 1> y_bound;             ///< signed: + upper side, - lower side
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> y_row;  ///< signed, per two-sided row
  std::vector<SideState> bound_state;  ///< n entries (sized by compute(), not per solve)
  std::vector<SideState> row_state;    ///< m entries
  Scalar objective = Scalar(0);        ///< includes the L1 penalties of soft sides
  int iterations = 0;
  std::string message;  ///< set only when status != optimal

  bool ok() const { return status == Status::optimal; }
};

template <typename Scalar, int N = Eigen::Dynamic, int P = Eigen::Dynamic>
class TwoSidedSolver {
 public:
  using ProblemType = TwoSidedProblem<Scalar, N, P>;
  using ResultType = TwoSidedResult<Scalar, N, P>;
  using OneSidedSolver = DenseSolver<Scalar, N, P, Eigen::Dynamic>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;
  using VectorP = Eigen::Matrix<Scalar, P, 1>;
  using VectorX = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using MatrixX = Eigen::Matrix<Scalar, Eigen::Dynamic, N>;

  explicit TwoSidedSolver(const Settings<Scalar>& settings = {}) : solver_(settings) {}
  const Settings<Scalar>& settings() const { return solver_.settings(); }
  Settings<Scalar>& settings() { return solver_.settings(); }

  /// Fixes the row layout (which sides are finite), copies the data and factors H.
  /// info() as DenseSolver::compute, plus invalid_input for NaN or wrong-infinity sides.
  TwoSidedSolver& compute(const ProblemType& q);

  /// New g, b and sides; H, A, C and the weights stay. Which sides are finite must not change.
  /// Wrong sizes throw std::invalid_argument naming the arguments (checked as given, before
  /// any conversion to fixed sizes).
  template <typename G, typename B, typename LB, typename UB, typename L, typename U>
  TwoSidedSolver& update_linear_terms(const Eigen::MatrixBase<G>& g, const Eigen::MatrixBase<B>& b,
                                      const Eigen::MatrixBase<LB>& lb,
                                      const Eigen::MatrixBase<UB>& ub,
                                      const Eigen::MatrixBase<L>& l,
                                      const Eigen::MatrixBase<U>& u) {
    check_linear_sizes(g.size(), b.size(), lb.size(), ub.size(), l.size(), u.size());
    return accept_linear_terms(g, b, lb, ub, l, u);
  }

  /// After compute()/update_linear_terms(): optimal when accepted (ready to solve), else that
  /// call's status (result().message says why). After solve(): the solve's status.
  Status info() const { return rejected_ || update_rejected_ ? result_.status : solver_.info(); }

  /// Cold start. After a rejected compute(): its invalid_input result, nothing solved.
  const ResultType& solve();
  /// Warm start from a guess of every bound's and row's state (e.g. the last result's).
  /// Wrong sizes throw std::invalid_argument.
  const ResultType& solve(const std::vector<SideState>& bound_state,
                          const std::vector<SideState>& row_state);

  const ResultType& result() const { return result_; }
  /// The one-sided solver and problem: for qp::Sensitivity and the row layout.
  const OneSidedSolver& one_sided_solver() const { return solver_; }
  /// One-sided row of bound j's (or row i's) upper or lower side; -1 when that side is absent.
  Eigen::Index bound_row(Eigen::Index j, bool upper) const {
    require_computed("bound_row");
    return upper ? ub_row_(j) : lb_row_(j);
  }
  Eigen::Index row(Eigen::Index i, bool upper) const {
    require_computed("row");
    return upper ? u_row_(i) : l_row_(i);
  }

  /// The maps below are linear, so they serve second derivatives (d2lb, ...) as well.
  /// d (one-sided, m1 entries) of the side derivatives; an empty argument is a zero derivative.
  void expand_rhs(const Eigen::Ref<const VectorX>& dlb, const Eigen::Ref<const VectorX>& dub,
                  const Eigen::Ref<const VectorX>& dl, const Eigen::Ref<const VectorX>& du,
                  VectorX& dd) const;
  /// dC (one-sided, m1 x n) of the rows' derivative dC (m x n, or empty: zero); bound rows are
  /// constant.
  void expand_rows(const Eigen::Ref<const MatrixX>& dC, MatrixX& dC_one_sided) const;
  /// dw (one-sided) of the weights' derivatives; an empty argument is a zero derivative.
  void expand_weights(const Eigen::Ref<const VectorX>& dw_bound,
                      const Eigen::Ref<const VectorX>& dw_row, VectorX& dw) const;

 private:
  Eigen::Index n() const { return lb_row_.size(); }
  Eigen::Index m() const { return l_row_.size(); }

  // The finite sides into the one-sided d_ in the layout of compute(); "" when every side is
  // a number or the right infinity, else what is wrong (and d_ is left as it was).
  std::string write_sides(const Eigen::Ref<const VectorN>& lb, const Eigen::Ref<const VectorN>& ub,
                          const Eigen::Ref<const VectorX>& l, const Eigen::Ref<const VectorX>& u);
  void check_linear_sizes(Eigen::Index g, Eigen::Index b, Eigen::Index lb, Eigen::Index ub,
                          Eigen::Index l, Eigen::Index u) const;
  TwoSidedSolver& accept_linear_terms(const Eigen::Ref<const VectorN>& g,
                                      const Eigen::Ref<const VectorP>& b,
                                      const Eigen::Ref<const VectorN>& lb,
                                      const Eigen::Ref<const VectorN>& ub,
                                      const Eigen::Ref<const VectorX>& l,
                                      const Eigen::Ref<const VectorX>& u);
  const ResultType& map(const typename OneSidedSolver::ResultType& r);
  static void check_derivative(const char* name, Eigen::Index size, Eigen::Index want) {
    if (size != 0 && size != want)
      throw std::invalid_argument("TwoSidedSolver::expand: " + std::string(name) + " has " +
                                  std::to_string(size) + " entries, expected 0 or " +
                                  std::to_string(want));
  }
  static SideState state_of(std::int8_t upper, std::int8_t lower, Scalar y);
  void require_computed(const char* what) const {
    if (!computed_)
      throw std::logic_error("TwoSidedSolver::" + std::string(what) + " called before compute()");
  }

  OneSidedSolver solver_;
  Problem<Scalar, N, P, Eigen::Dynamic> one_sided_;
  Eigen::Matrix<Eigen::Index, N, 1> lb_row_, ub_row_;
  Eigen::Matrix<Eigen::Index, Eigen::Dynamic, 1> l_row_, u_row_;
  Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> guess_;
  VectorX d_;
  ResultType result_;
  bool computed_ = false;         ///< compute() was called: the layout exists
  bool rejected_ = false;         ///< the last compute() failed its side checks
  bool update_rejected_ = false;  ///< the last update_linear_terms() was rejected (data kept)
};

}  // namespace rmpc::qp

#include "rmpc/qp/detail/two_sided_solver.hpp"
