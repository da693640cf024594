// Dense convex QP solver: the Goldfarb-Idnani dual active-set method (Math. Prog. 27, 1983)
// extended to exact-L1 soft rows, whose multipliers live in the box [0, w_i].
//
//   min 1/2 z'Hz + g'z + sum_{soft} w_i max(0, C_i z - d_i)  s.t.  A z = b, C_i z <= d_i (hard)
//
// The method keeps z the minimiser over the working set W with dual-feasible multipliers and
// adds the most violated row until none is left. Every step raises the dual objective, so it
// terminates, and the final working set is the exact active set: the KKT system it leaves
// factorized (detail::WorkingSet) is the one the sensitivities differentiate.
//
// Soft rows. A soft row is the dual of a slack eps_i >= 0 with cost w_i eps_i: its multiplier
// mu_i is in [0, w_i]. mu_i = w_i ("saturated") means eps_i > 0 and the row acts as the
// linear term w_i C_i' added to g (kept in g_eff). A saturated row with C_i z < d_i is violated
// from above and re-enters the working set with its orientation flipped (normal -C_i,
// multiplier w_i - mu_i). No slack variable is ever carried.
#pragma once

#include "rmpc/detail/symmetric_eigen.hpp"
#include "rmpc/qp/detail/row_structure.hpp"
#include "rmpc/qp/detail/rows.hpp"
#include "rmpc/qp/detail/working_set_members.hpp"
#include "rmpc/qp/problem.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace rmpc::qp {

/// What a DenseSolver holds: nothing yet, a rejected problem (the last compute() failed:
/// nothing can be solved until a compute() succeeds), or a factorized problem ready to solve.
/// Only compute() changes it; a rejected update_linear_terms() or solve() leaves it as it was.
enum class SolverState : std::int8_t { empty, failed, ready };

template <typename Scalar, int N = Eigen::Dynamic, int P = Eigen::Dynamic, int M = Eigen::Dynamic>
class DenseSolver {
 public:
  using ProblemType = Problem<Scalar, N, P, M>;
  using ResultType = Result<Scalar, N, P, M>;
  using RowStates = Eigen::Matrix<std::int8_t, M, 1>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;
  using VectorP = Eigen::Matrix<Scalar, P, 1>;
  using VectorM = Eigen::Matrix<Scalar, M, 1>;
  using WorkingSet = detail::WorkingSet<Scalar, N>;
  using Factor = typename WorkingSet::Factor;

  explicit DenseSolver(const Settings<Scalar>& settings = {}) : settings_(settings) {}

  const Settings<Scalar>& settings() const { return settings_; }
  Settings<Scalar>& settings() { return settings_; }

  /// Checks the data, copies it and factors H = LL'. Sizes are taken from `problem`; with
  /// dynamic sizes, storage is reallocated only when they change. Inconsistent sizes (or
  /// n = 0) throw std::invalid_argument naming the argument. Rejected data (NaN/Inf, an
  /// asymmetric or unusable H, a soft weight <= 0) leave the solver `failed` (info() says
  /// why) until a later compute() succeeds.
  DenseSolver& compute(const ProblemType& problem);

  /// Replaces g, b and d only: H, A, C and the soft weights (and the factorization) stay.
  /// Wrong sizes (checked as given, before any conversion to fixed sizes) throw
  /// std::invalid_argument, a call before any compute() std::logic_error. Rejected (NaN/Inf,
  /// or the last compute() was rejected): info() is invalid_input with its own message and
  /// the data of the last accepted call stay, ready to solve.
  template <typename G, typename B, typename D>
  DenseSolver& update_linear_terms(const Eigen::MatrixBase<G>& g, const Eigen::MatrixBase<B>& b,
                                   const Eigen::MatrixBase<D>& d) {
    return linear_sizes_fit(g.size(), b.size(), d.size()) ? accept_linear_terms(g, b, d) : *this;
  }

  /// After compute()/update_linear_terms(): optimal when the call was accepted (ready to
  /// solve), else that call's status. After solve(): the solve's status.
  Status info() const { return result_.status; }
  SolverState state() const { return solver_state_; }

  /// Cold start from the unconstrained minimiser.
  const ResultType& solve() {
    if (solver_state_ != SolverState::ready) return not_ready("solve()");
    guess_.setConstant(m(), std::int8_t(RowState::inactive));
    return run(false);
  }

  /// Warm start from a guessed row state (e.g. the previous solution's `row_state`). A right
  /// guess costs one working-set factorization; a wrong or stale one is repaired.
  const ResultType& solve(const RowStates& warm_start);

  const ResultType& result() const { return result_; }
  const ProblemType& problem() const { return problem_; }

  // ---- The final working set, for sensitivities ------------------------------------------
  /// The working set the last solve ended with (members in factor order, their orientation,
  /// the factor of their normals; see detail::WorkingSet). After an optimal solve every
  /// member has its natural orientation (sign +1).
  const WorkingSet& working_set() const { return ws_; }
  /// Shorthands for working_set(): index < p is an equality row, else inequality row index - p;
  /// sign -1 marks a soft row entered from saturation (normal -C_i).
  Eigen::Index working_set_size() const { return ws_.size(); }
  int working_set_member(Eigen::Index k) const { return ws_.member(k); }
  std::int8_t working_set_sign(Eigen::Index k) const { return ws_.sign(k); }
  const Factor& factor() const { return ws_.factor(); }
  /// Equality rows dropped as linearly dependent on the others (consistent, so redundant).
  bool has_redundant_equalities() const { return redundant_equalities_ > 0; }

  /// Solves [H K'; K 0][x; mu] = [r1; r2] where K stacks the working set's rows in their
  /// natural orientation (A_i or C_i) in working-set order.
  template <typename R1, typename R2, typename X, typename Mu>
  void solve_kkt(const R1& r1, const R2& r2, X& x, Mu& mu) const {
    ws_.solve_kkt(r1, r2, x, mu);
  }

 private:
  Eigen::Index n() const { return problem_.H.rows(); }
  Eigen::Index p() const { return problem_.A.rows(); }
  Eigen::Index m() const { return problem_.C.rows(); }
  Scalar weight(Eigen::Index i) const { return problem_.soft_weight(i); }
  bool soft(Eigen::Index i) const { return problem_.is_soft(i); }
  static constexpr Scalar eps() { return std::numeric_limits<Scalar>::epsilon(); }

  void allocate();

  static std::string fmt(Scalar x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", double(x));
    return buf;
  }

  // A rejected compute(): result_ already holds its status and message.
  DenseSolver& reject() {
    solver_state_ = SolverState::failed;
    failure_status_ = result_.status;
    failure_message_ = result_.message;
    return *this;
  }

  const ResultType& not_ready(const char* what);
  // update_linear_terms: false (status set) after a rejected compute(); else throws or true.
  bool linear_sizes_fit(Eigen::Index g, Eigen::Index b, Eigen::Index d);
  DenseSolver& accept_linear_terms(const Eigen::Ref<const VectorN>& g,
                                   const Eigen::Ref<const VectorP>& b,
                                   const Eigen::Ref<const VectorM>& d);

  /// Sizes are programmer errors (README, "Errors"): thrown, naming the argument.
  [[noreturn]] static void size_error(const std::string& msg) {
    throw std::invalid_argument("DenseSolver::compute: " + msg);
  }

  bool fail_input(const std::string& msg) {
    result_.status = Status::invalid_input;
    result_.message = msg;
    return false;
  }

  void check_sizes(const ProblemType& q);
  bool check_problem(const ProblemType& q);

  // H failed the positive-definiteness test: say whether it is indefinite (non-convex),
  // positive semidefinite (convex, but singular) or not even decomposable.
  void classify_hessian(int k);

  // Violation of a row in the direction it would enter: for an inactive row C_i z - d_i,
  // for a saturated one d_i - C_i z (its slack would turn negative).
  Scalar violation(Eigen::Index i, Scalar ci_z) const {
    const Scalar v = ci_z - problem_.d(i);
    return state_(i) == RowState::saturated ? -v : v;
  }
  // The scale of C_i z - d_i: |C_i| |z| + |d_i| (a bound on the terms summed), so that a
  // positive row scaling never changes a verdict.
  Scalar row_scale(Eigen::Index i, Scalar z_norm) const {
    return row_norm_(i) * z_norm + std::abs(problem_.d(i));
  }

  void saturate(Eigen::Index i, Scalar sign) {
    g_eff_.noalias() += (sign * weight(i)) * problem_.C.row(i).transpose();
  }

  // g_eff = g + w_i C_i' summed over saturated rows and rows that entered the working set
  // from saturation (normal -C_i, multiplier w_i - lambda), from scratch (no running round-off).
  void rebuild_g_eff();

  void clear_skips() {
    if (!any_skip_) return;
    skip_.setZero();
    any_skip_ = false;
  }

  // z and the multipliers of the current working set from one KKT solve.
  void solve_working_set() {
    const Eigen::Index q = ws_.size();
    for (Eigen::Index k = 0; k < q; ++k) kkt_rhs_(k) = rhs_of(k);
    residual_x_ = -g_eff_;
    ws_.factor().solve_kkt(residual_x_, kkt_rhs_, z_, lambda_);
  }

  // Drops working-set rows with multipliers outside their boxes until none is left
  // (the working set is then dual feasible, all Goldfarb-Idnani needs to continue).
  void repair_dual();

  Scalar rhs_of(Eigen::Index k) const {
    const int idx = ws_.member(k);
    return idx < p() ? problem_.b(idx) : ws_.sign(k) * problem_.d(idx - p());
  }
  template <typename Out>
  void normal_of(Eigen::Index k, Out& out) const {
    const int idx = ws_.member(k);
    if (idx < p())
      out = detail::row(problem_.A, idx).transpose();
    else
      out = Scalar(ws_.sign(k)) * problem_.C.row(idx - p()).transpose();
  }
  bool is_equality(Eigen::Index k) const { return ws_.member(k) < p(); }

  // For a normal n (in normal_) that lies in the span of the working set, n = sum_k r_k n_k
  // with r = dual_r_ (dual_step of its rotated form): the violation n'z - rhs at every z that
  // meets the working set is the data gap sum_k r_k rhs_k - rhs. Returns it and, in `scale`,
  // the size of the terms it sums, so that round-off is told from a real violation
  // (a linearly dependent row) or a real Farkas certificate (infeasibility).
  // The scale is c0 + cz |z| at the current iterate. A skipped row is judged again at the
  // final z by the certificate, directly (C_i z - d_i against its own scale), never with this
  // scale: on a nearly dependent working set dual_r_ is huge and so is this scale (fuzz
  // inputs: a hard row violated by 1e-5 relative; a soft row violated by 8.59, scale 4e16).
  Scalar dependent_gap(Scalar rhs, Scalar& scale);

  // normal_ = sign C_i' and step_d_ = J' normal_ (one row of J for a bound row).
  void rotate_row(Eigen::Index i, std::int8_t sign) {
    if (rows_.is_bound(i)) {
      const Scalar a = Scalar(sign) * rows_.coefficient(i);
      normal_.setZero();
      normal_(rows_.variable(i)) = a;
      ws_.factor().rotate_unit(rows_.variable(i), a, step_d_);
    } else {
      normal_ = Scalar(sign) * problem_.C.row(i).transpose();
      ws_.factor().rotate_normal(normal_, step_d_);
    }
  }

  // Adds the row whose normal is in normal_ (already rotated into step_d_) to the working set.
  void push(int index, std::int8_t sign, Scalar multiplier) {
    lambda_(ws_.size()) = multiplier;
    ws_.add(index, sign, step_d_);
  }

  void pop(Eigen::Index k);

  // Removes working-set member k whose multiplier hit a bound; `at_upper` for lambda = w.
  void leave(Eigen::Index k, bool at_upper);

  // Relative residual num / scale, 0 for 0 / 0 (NaN stays NaN: it fails every test).
  static Scalar relative(Scalar num, Scalar scale) {
    return num == Scalar(0) ? Scalar(0) : num / scale;
  }

  // Largest relative KKT residual of the working set at (z, lambda): stationarity
  // |Hz + g_eff + N lambda| against |H||z| + |g_eff| + |N||lambda| (infinity norms), and each
  // working-set row's |n_k'z - rhs_k| against |n_k|_2 |z|_2 + |rhs_k|. Leaves the stationarity
  // scale in stat_scale_.
  Scalar kkt_residual();

  // Multipliers of the working set inside their boxes, to the certificate's tolerance
  // (their contribution to the stationarity residual is what is compared).
  bool dual_feasible();

  // Primal feasibility (and, for saturated soft rows, the sign of the slack) of every row
  // outside the working set; -1 when all pass, else the worst row. C z is recomputed only when
  // z moved since the last scan of the main loop (which left it in cz_).
  Eigen::Index primal_violated(bool z_moved);

  // excess_(i) = violation(i) - tol row_scale(i) of every row (members and skipped ones too) in
  // one vectorized pass; false (none positive) proves a row-by-row scan would find nothing.
  bool rows_over(Scalar tol, Scalar z_norm);

  // Every equality, the redundant ones included.
  Scalar equality_residual() const;

  // ---- The solve (run), in its steps; a step that returns false has called finish() --------
  const ResultType& run(bool warm);
  void keep_guessed_members();   // reused factor: drops the members the guess does not keep
  bool add_equalities();         // Goldfarb-Idnani step 1, from the unconstrained minimiser
  void enter_guess();            // warm start: saturated and active guesses, then repair_dual()
  bool add_violated_rows();      // step 2 until no row is violated
  Eigen::Index most_violated();  // the row to add (largest violation / |C_i|), -1 if none
  bool enter_row(Eigen::Index pick, int max_iter);  // partial steps until `pick` enters or crosses
  // A dependent row violated at round-off level: left out (skipped, or its multiplier handed
  // to the members); false when the data or the certificate say it is violated.
  bool leave_out_dependent(Eigen::Index pick, Scalar rhs, Scalar lambda_pick,
                           bool& gap_at_round_off);
  // Largest step before a member's multiplier reaches a bound of its box (infinity if none).
  Scalar blocking_step(Eigen::Index& block, bool& block_upper) const;
  void cross(Eigen::Index pick, std::int8_t sign);  // soft row: inactive <-> saturated
  Scalar certified_residual(bool& z_moved);         // final z, multipliers and KKT residual
  bool certify(bool last_pass);                     // true: finished (optimal or a failure)

  int max_iterations() const;
  Scalar equality_tolerance() const;  // equality residuals and redundant equalities
  // d2 = |J2'n|^2 of normal_ (rotated into step_d_) is above round-off: n is independent of
  // the working set (see j_scale()).
  bool independent(Scalar d2) const;

  // One step of iterative refinement on the final working-set KKT system.
  void refine();

  const ResultType& finish(Status status, const std::string& message);

  // The largest column norm of J0 = L^{-T}, the scale of the dependency test (compute()).
  Scalar j_scale() const { return j_scale_; }
  static Scalar square(Scalar x) { return x * x; }

  Settings<Scalar> settings_;
  ProblemType problem_;
  Eigen::LLT<Eigen::Matrix<Scalar, N, N>> llt_;  ///< Of H / h_shift_^2.
  Scalar h_shift_ = Scalar(1);  ///< A power of two: L(H) = h_shift_ L(H / h_shift_^2).
  Scalar h_norm_ = Scalar(0);   ///< |H|_inf.
  Scalar j_scale_ = Scalar(1);  ///< Largest column norm of L(H)^{-T} (see j_scale()).
  WorkingSet ws_;  ///< The working set (members, orientation, factor; its H part per compute()).
  ResultType result_;
  SolverState solver_state_ = SolverState::empty;
  Status failure_status_ = Status::invalid_input;
  std::string failure_message_;
  int redundant_equalities_ = 0;
  Eigen::Index num_soft_ = 0;  ///< Soft rows of C (per compute()).
  int iter_ = 0;
  bool factor_valid_ = false;  ///< The factor holds a working set of the current H, A, C.
  bool any_skip_ = false;
  Eigen::Index rejected_row_ = -1;  ///< The row the certificate last found violated (this solve)
  /// The last most_violated() found no row at all over its tolerance (rows_over): the row scan
  /// of the certificate right after it, at the same z, can only agree.
  bool scan_clean_ = false;
  Scalar stat_scale_ = Scalar(0);

  VectorN z_, g_eff_, step_d_, step_s_, normal_, residual_x_, hz_;
  VectorN lambda_, dual_r_, correction_l_, residual_l_;
  mutable VectorN kkt_rhs_;
  VectorM row_norm_, cz_, excess_;
  detail::RowStructure<Scalar, N, M> rows_;  ///< Bounds and mirrored rows of C, per compute().
  VectorP eq_norm_;
  RowStates state_, guess_, skip_;
};

}  // namespace rmpc::qp

// Member definitions, out of the class body (not implicitly inline).
#include "rmpc/qp/detail/dense_solver_setup.hpp"
#include "rmpc/qp/detail/dense_solver_active_set.hpp"
#include "rmpc/qp/detail/dense_solver_iteration.hpp"
#include "rmpc/qp/detail/dense_solver_certificate.hpp"
