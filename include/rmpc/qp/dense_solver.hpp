// Dense convex QP solver: the Goldfarb-Idnani dual active-set method (Math. Prog. 27, 1983)
// extended to exact-L1 soft rows, whose multipliers live in the box [0, w_i].
//
//     minimize 1/2 z'Hz + g'z + sum_{soft} w_i max(0, C_i z - d_i)  s.t.  A z = b, C_i z <= d_i (hard)
//
// The method keeps z the minimiser over the working set W with dual-feasible multipliers and
// adds the most violated row until none is left. Every step raises the dual objective, so it
// terminates, and the final working set is the exact active set: the KKT system it leaves
// factorized (detail::WorkingSetFactor) is the one the sensitivities differentiate.
//
// Soft rows. A soft row is the dual of a slack eps_i >= 0 with cost w_i eps_i: its multiplier
// mu_i is in [0, w_i]. mu_i = w_i ("saturated") means eps_i > 0 and the row acts as the
// linear term w_i C_i' added to g (kept in g_eff). A saturated row with C_i z < d_i is violated
// from above and re-enters the working set with its orientation flipped (normal -C_i,
// multiplier w_i - mu_i). No slack variable is ever carried.
#pragma once

#include "rmpc/qp/detail/rows.hpp"
#include "rmpc/qp/detail/working_set.hpp"
#include "rmpc/qp/problem.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
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
  using Factor = detail::WorkingSetFactor<Scalar, N>;
  // The working set never holds more than n linearly independent normals.
  using IndexN = Eigen::Matrix<int, N, 1>;
  using SignN = Eigen::Matrix<std::int8_t, N, 1>;

  explicit DenseSolver(const Settings<Scalar>& settings = {}) : settings_(settings) {}

  const Settings<Scalar>& settings() const { return settings_; }
  Settings<Scalar>& settings() { return settings_; }

  /// Checks the data, copies it and factors H = LL'. Sizes are taken from `problem`; with
  /// dynamic sizes, storage is reallocated only when they change. A rejected problem leaves
  /// the solver `failed` (info() says why) until a later compute() succeeds.
  DenseSolver& compute(const ProblemType& problem) {
    factor_valid_ = false;
    redundant_equalities_ = 0;
    result_.iterations = 0;
    if (settings_.check_input && !check_problem(problem)) return reject();
    problem_ = problem;
    allocate();
    // Factor H / 4^k with 4^k near max|H_ij|: power-of-two scaling is exact, and the
    // factorization can neither overflow nor underflow for any finite H.
    const Scalar h_max = problem_.H.cwiseAbs().maxCoeff();
    int k = 0;
    if (h_max > Scalar(0) && std::isfinite(h_max)) k = std::ilogb(h_max) / 2;
    h_shift_ = std::ldexp(Scalar(1), k);
    llt_.compute(problem_.H * std::ldexp(Scalar(1), -2 * k));
    const Scalar h_scale = problem_.H.diagonal().cwiseAbs().maxCoeff() * std::ldexp(Scalar(1), -2 * k);
    if (llt_.info() != Eigen::Success || !llt_.matrixLLT().allFinite() ||
        !(llt_.matrixLLT().diagonal().minCoeff() >
          std::sqrt(Scalar(n()) * std::numeric_limits<Scalar>::epsilon() * (h_scale > 0 ? h_scale : Scalar(1))))) {
      classify_hessian(k);
      return reject();
    }
    for (Eigen::Index i = 0; i < m(); ++i) row_norm_(i) = problem_.C.row(i).norm();
    for (Eigen::Index k2 = 0; k2 < p(); ++k2) eq_norm_(k2) = detail::row(problem_.A, k2).norm();
    h_norm_ = problem_.H.cwiseAbs().rowwise().sum().maxCoeff();
    solver_state_ = SolverState::ready;
    result_.status = Status::optimal;
    result_.message.clear();
    return *this;
  }

  /// Replaces g, b and d only: H, A, C and the soft weights (and the factorization) stay.
  /// Rejected (wrong sizes, NaN/Inf, no valid problem): info() is invalid_input with its own
  /// message and the data of the last accepted call stay, ready to solve.
  DenseSolver& update_linear_terms(const Eigen::Ref<const VectorN>& g, const Eigen::Ref<const VectorP>& b,
                                   const Eigen::Ref<const VectorM>& d) {
    result_.iterations = 0;
    if (solver_state_ != SolverState::ready) {
      not_ready("update_linear_terms()");
      return *this;
    }
    if (g.size() != n() || b.size() != p() || d.size() != m()) {
      result_.status = Status::invalid_input;
      result_.message = "update_linear_terms: sizes of g, b or d do not match the computed problem";
      return *this;
    }
    if (settings_.check_input && !(g.allFinite() && b.allFinite() && d.allFinite())) {
      result_.status = Status::invalid_input;
      result_.message = !g.allFinite() ? "g has NaN/Inf entries" : !b.allFinite() ? "b has NaN/Inf entries" : "d has NaN/Inf entries";
      return *this;
    }
    problem_.g = g;
    problem_.b = b;
    problem_.d = d;
    result_.status = Status::optimal;
    result_.message.clear();
    return *this;
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
  const ResultType& solve(const RowStates& warm_start) {
    if (solver_state_ != SolverState::ready) return not_ready("solve()");
    if (warm_start.size() != m()) {
      result_.status = Status::invalid_input;
      result_.iterations = 0;
      result_.message = "warm_start has " + std::to_string(warm_start.size()) + " entries, expected m = " + std::to_string(m());
      return result_;
    }
    guess_ = warm_start;
    return run(true);
  }

  const ResultType& result() const { return result_; }
  const ProblemType& problem() const { return problem_; }

  // ---- The final working set, for sensitivities ------------------------------------------
  /// Working-set members in factor order: index < p is an equality row, else inequality row
  /// index - p. Sign -1 marks a soft row entered from saturation (normal -C_i).
  Eigen::Index working_set_size() const { return factor_.size(); }
  int working_set_member(Eigen::Index k) const { return ws_index_(k); }
  std::int8_t working_set_sign(Eigen::Index k) const { return ws_sign_(k); }
  const Factor& factor() const { return factor_; }
  /// Equality rows dropped as linearly dependent on the others (consistent, so redundant).
  bool has_redundant_equalities() const { return redundant_equalities_ > 0; }

  /// Solves [H K'; K 0][x; mu] = [r1; r2] where K stacks the working set's rows in their
  /// natural orientation (A_i or C_i) in working-set order.
  template <typename R1, typename R2, typename X, typename Mu>
  void solve_kkt(const R1& r1, const R2& r2, X& x, Mu& mu) const {
    const Eigen::Index q = factor_.size();
    for (Eigen::Index k = 0; k < q; ++k) kkt_rhs_(k) = ws_sign_(k) * r2(k);
    factor_.solve_kkt(r1, kkt_rhs_, x, mu);
    for (Eigen::Index k = 0; k < q; ++k) mu(k) *= ws_sign_(k);
  }


 private:
  Eigen::Index n() const { return problem_.H.rows(); }
  Eigen::Index p() const { return problem_.A.rows(); }
  Eigen::Index m() const { return problem_.C.rows(); }
  Scalar weight(Eigen::Index i) const { return problem_.soft_weight(i); }
  bool soft(Eigen::Index i) const { return problem_.is_soft(i); }
  static constexpr Scalar eps() { return std::numeric_limits<Scalar>::epsilon(); }

  void allocate() {
    const Eigen::Index nn = n(), mm = m(), pp = p();
    if (factor_.dim() != nn) factor_.resize(nn);
    z_.resize(nn);
    g_eff_.resize(nn);
    step_d_.resize(nn);
    step_s_.resize(nn);
    normal_.resize(nn);
    residual_x_.resize(nn);
    ws_index_.resize(nn);
    ws_sign_.resize(nn);
    lambda_.resize(nn);
    dual_r_.resize(nn);
    kkt_rhs_.resize(nn);
    residual_l_.resize(nn);
    correction_l_.resize(nn);
    row_norm_.resize(mm);
    skip_scale_.resize(mm);
    skip_scale_per_z_.resize(mm);
    eq_norm_.resize(pp);
    cz_.resize(mm);
    state_.resize(mm);
    guess_.resize(mm);
    skip_.setZero(mm);
    any_skip_ = false;
    result_.z.resize(nn);
    result_.y_eq.resize(pp);
    result_.y_ineq.resize(mm);
    result_.row_state.resize(mm);
  }

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

  const ResultType& not_ready(const char* what) {
    result_.iterations = 0;
    if (solver_state_ == SolverState::failed) {
      result_.status = failure_status_;
      result_.message = std::string(what) + ": no problem to solve, the last compute() was rejected: " + failure_message_;
    } else {
      result_.status = Status::invalid_input;
      result_.message = std::string(what) + " called before a successful compute()";
    }
    return result_;
  }

  bool fail_input(const std::string& msg) {
    result_.status = Status::invalid_input;
    result_.message = msg;
    return false;
  }

  bool check_problem(const ProblemType& q) {
    const Eigen::Index nn = q.H.rows();
    if (q.H.cols() != nn) return fail_input("H must be square, got " + std::to_string(q.H.rows()) + "x" + std::to_string(q.H.cols()));
    if (q.g.size() != nn) return fail_input("g has " + std::to_string(q.g.size()) + " entries, expected n = " + std::to_string(nn));
    if (q.A.cols() != nn) return fail_input("A has " + std::to_string(q.A.cols()) + " columns, expected n = " + std::to_string(nn));
    if (q.b.size() != q.A.rows()) return fail_input("b has " + std::to_string(q.b.size()) + " entries, expected p = rows(A) = " + std::to_string(q.A.rows()));
    if (q.C.cols() != nn) return fail_input("C has " + std::to_string(q.C.cols()) + " columns, expected n = " + std::to_string(nn));
    if (q.d.size() != q.C.rows()) return fail_input("d has " + std::to_string(q.d.size()) + " entries, expected m = rows(C) = " + std::to_string(q.C.rows()));
    if (q.soft_weight.size() != q.C.rows()) return fail_input("soft_weight has " + std::to_string(q.soft_weight.size()) + " entries, expected m = rows(C) = " + std::to_string(q.C.rows()));
    if (nn == 0) return fail_input("the problem has no variables (n = 0)");
    if (!q.H.allFinite()) return fail_input("H has NaN/Inf entries");
    if (!q.g.allFinite()) return fail_input("g has NaN/Inf entries");
    if (!q.A.allFinite()) return fail_input("A has NaN/Inf entries");
    if (!q.b.allFinite()) return fail_input("b has NaN/Inf entries");
    if (!q.C.allFinite()) return fail_input("C has NaN/Inf entries");
    if (!q.d.allFinite()) return fail_input("d has NaN/Inf entries");
    for (Eigen::Index i = 0; i < q.soft_weight.size(); ++i)
      if (!(q.soft_weight(i) > 0)) return fail_input("soft_weight(" + std::to_string(i) + ") must be > 0 (or +inf for a hard row)");
    // Relative to |H| (no absolute floor): a scaled H is as symmetric.
    const Scalar h_max = q.H.cwiseAbs().maxCoeff();
    for (Eigen::Index j = 0; j < nn; ++j)
      for (Eigen::Index i = j + 1; i < nn; ++i)
        if (std::abs(q.H(i, j) - q.H(j, i)) > Scalar(1e3) * eps() * h_max) return fail_input("H is not symmetric");
    return true;
  }

  // H failed the positive-definiteness test: say whether it is indefinite (non-convex),
  // positive semidefinite (convex, but singular) or not even decomposable.
  void classify_hessian(int k) {
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix<Scalar, N, N>> es(problem_.H * std::ldexp(Scalar(1), -2 * k), Eigen::EigenvaluesOnly);
    const Scalar unscale = std::ldexp(Scalar(1), 2 * k);
    if (es.info() != Eigen::Success || !es.eigenvalues().allFinite()) {
      result_.status = Status::invalid_input;
      result_.message = "H could not be factorized: Cholesky and the eigenvalue decomposition both failed (largest entry " +
                        fmt(problem_.H.cwiseAbs().maxCoeff()) + ")";
      return;
    }
    const Scalar lmin = es.eigenvalues().minCoeff(), lmax = es.eigenvalues().cwiseAbs().maxCoeff();
    if (lmin < -Scalar(64) * Scalar(n()) * eps() * lmax) {
      result_.status = Status::non_convex;
      result_.message = "H is not positive semidefinite (smallest eigenvalue " + fmt(lmin * unscale) + ")";
    } else {
      result_.status = Status::singular_hessian;
      result_.message = "H is positive semidefinite but singular to working precision (eigenvalues in [" + fmt(lmin * unscale) + ", " +
                        fmt(lmax * unscale) + "]): the QP is convex, but the dual active-set method needs a positive definite H";
    }
  }

  // Violation of a row in the direction it would enter: for an inactive row C_i z - d_i,
  // for a saturated one d_i - C_i z (its slack would turn negative).
  Scalar violation(Eigen::Index i, Scalar ci_z) const {
    const Scalar v = ci_z - problem_.d(i);
    return state_(i) == RowState::saturated ? -v : v;
  }
  // The scale of C_i z - d_i: |C_i| |z| + |d_i| (a bound on the terms summed), so that a
  // positive row scaling never changes a verdict.
  Scalar row_scale(Eigen::Index i, Scalar z_norm) const { return row_norm_(i) * z_norm + std::abs(problem_.d(i)); }

  void saturate(Eigen::Index i, Scalar sign) { g_eff_.noalias() += (sign * weight(i)) * problem_.C.row(i).transpose(); }

  // g_eff = g + w_i C_i' summed over saturated rows and rows that entered the working set
  // from saturation (normal -C_i, multiplier w_i - lambda), from scratch (no running round-off).
  void rebuild_g_eff() {
    g_eff_ = problem_.g;
    for (Eigen::Index i = 0; i < m(); ++i)
      if (state_(i) == RowState::saturated) saturate(i, Scalar(1));
    for (Eigen::Index k = 0; k < factor_.size(); ++k)
      if (ws_sign_(k) < 0) saturate(ws_index_(k) - p(), Scalar(1));
  }

  void clear_skips() {
    if (!any_skip_) return;
    skip_.setZero();
    any_skip_ = false;
  }

  // z and the multipliers of the current working set from one KKT solve.
  void solve_working_set() {
    const Eigen::Index q = factor_.size();
    for (Eigen::Index k = 0; k < q; ++k) kkt_rhs_(k) = rhs_of(k);
    residual_x_ = -g_eff_;
    factor_.solve_kkt(residual_x_, kkt_rhs_, z_, lambda_);
  }

  // Drops working-set rows with multipliers outside their boxes until none is left
  // (the working set is then dual feasible, all Goldfarb-Idnani needs to continue).
  void repair_dual() {
    const Eigen::Index pp = p();
    for (;;) {
      solve_working_set();
      Eigen::Index worst = -1;
      Scalar worst_excess = 0;
      bool worst_upper = false;
      for (Eigen::Index k = 0; k < factor_.size(); ++k) {
        if (is_equality(k)) continue;
        const Eigen::Index i = ws_index_(k) - pp;
        const Scalar lo_excess = -lambda_(k);
        const Scalar up_excess = soft(i) ? lambda_(k) - weight(i) : Scalar(0);
        if (lo_excess > worst_excess) worst = k, worst_excess = lo_excess, worst_upper = false;
        if (up_excess > worst_excess) worst = k, worst_excess = up_excess, worst_upper = true;
      }
      if (worst < 0) break;
      leave(worst, worst_upper);
      ++iter_;
    }
    clear_skips();
  }

  Scalar rhs_of(Eigen::Index k) const {
    const int idx = ws_index_(k);
    return idx < p() ? problem_.b(idx) : ws_sign_(k) * problem_.d(idx - p());
  }
  template <typename Out>
  void normal_of(Eigen::Index k, Out& out) const {
    const int idx = ws_index_(k);
    if (idx < p())
      out = detail::row(problem_.A, idx).transpose();
    else
      out = Scalar(ws_sign_(k)) * problem_.C.row(idx - p()).transpose();
  }
  bool is_equality(Eigen::Index k) const { return ws_index_(k) < p(); }

  // For a normal n (in normal_) that lies in the span of the working set, n = sum_k r_k n_k
  // with r = dual_r_ (dual_step of its rotated form): the violation n'z - rhs at every z that
  // meets the working set is the data gap sum_k r_k rhs_k - rhs. Returns it and, in `scale`,
  // the size of the terms it sums, so that round-off is told from a real violation
  // (a linearly dependent row) or a real Farkas certificate (infeasibility).
  // The round-off scale is c0 + cz |z|: the |z| part is kept apart (scale_per_z) so that a
  // row skipped while the iterate was far away (tiny H, huge g: |z| ~ 1e20 before the
  // working set pins it) is judged at the FINAL z, not with a stale scale that would
  // excuse any violation there (a fuzz input: a hard row violated by 1e-5 relative).
  Scalar dependent_gap(Scalar rhs, Scalar& scale) {
    Scalar scale_per_z;
    return dependent_gap(rhs, scale, scale_per_z);
  }
  Scalar dependent_gap(Scalar rhs, Scalar& scale, Scalar& scale_per_z) {
    const Eigen::Index q = factor_.size();
    const Scalar z_norm = z_.norm();
    Scalar gap = -rhs;
    Scalar c0 = std::abs(rhs);
    scale_per_z = normal_.norm();
    for (Eigen::Index k = 0; k < q; ++k) {
      const Scalar rk = rhs_of(k);
      normal_of(k, residual_l_);
      gap += dual_r_(k) * rk;
      c0 += std::abs(dual_r_(k)) * std::abs(rk);
      scale_per_z += std::abs(dual_r_(k)) * residual_l_.norm();
    }
    scale = c0 + scale_per_z * z_norm;
    skip_scale_const_ = c0;
    return gap;
  }

  // Adds the row whose normal is in normal_ (already rotated into step_d_) to the working set.
  void push(int index, std::int8_t sign, Scalar multiplier) {
    const Eigen::Index q = factor_.size();
    ws_index_(q) = index;
    ws_sign_(q) = sign;
    lambda_(q) = multiplier;
    factor_.add(step_d_);
  }

  void pop(Eigen::Index k) {
    const Eigen::Index q = factor_.size();
    for (Eigen::Index j = k; j + 1 < q; ++j) {
      ws_index_(j) = ws_index_(j + 1);
      ws_sign_(j) = ws_sign_(j + 1);
      lambda_(j) = lambda_(j + 1);
    }
    factor_.remove(k);
  }

  // Removes working-set member k whose multiplier hit a bound; `at_upper` for lambda = w.
  void leave(Eigen::Index k, bool at_upper) {
    const Eigen::Index i = ws_index_(k) - p();
    const std::int8_t sign = ws_sign_(k);
    // Orientation +1 at 0 or -1 at w: inactive; +1 at w or -1 at 0: saturated.
    const bool to_saturated = (sign > 0) == at_upper;
    if (sign > 0 && at_upper) saturate(i, Scalar(1));
    if (sign < 0 && at_upper) saturate(i, Scalar(-1));
    state_(i) = to_saturated ? RowState::saturated : RowState::inactive;
    pop(k);
  }

  // Relative residual num / scale, 0 for 0 / 0 (NaN stays NaN: it fails every test).
  static Scalar relative(Scalar num, Scalar scale) { return num == Scalar(0) ? Scalar(0) : num / scale; }

  // Largest relative KKT residual of the working set at (z, lambda): stationarity
  // |Hz + g_eff + N lambda| against |H||z| + |g_eff| + |N||lambda| (infinity norms), and each
  // working-set row's |n_k'z - rhs_k| against |n_k|_2 |z|_2 + |rhs_k|. Leaves the stationarity
  // scale in stat_scale_.
  Scalar kkt_residual() {
    const Eigen::Index q = factor_.size();
    residual_x_.noalias() = problem_.H * z_;
    residual_x_ += g_eff_;
    Scalar scale = h_norm_ * z_.cwiseAbs().maxCoeff() + g_eff_.cwiseAbs().maxCoeff();
    const Scalar z_norm = z_.norm();
    Scalar worst = 0;
    for (Eigen::Index k = 0; k < q; ++k) {
      normal_of(k, normal_);
      residual_x_.noalias() += lambda_(k) * normal_;
      scale += std::abs(lambda_(k)) * normal_.cwiseAbs().maxCoeff();
      const Scalar rk = rhs_of(k);
      const Scalar r = relative(std::abs(normal_.dot(z_) - rk), normal_.norm() * z_norm + std::abs(rk));
      if (!(r <= worst)) worst = r;
    }
    stat_scale_ = scale;
    const Scalar r = relative(residual_x_.cwiseAbs().maxCoeff(), scale);
    if (!(r <= worst)) worst = r;
    return worst;
  }

  // Multipliers of the working set inside their boxes, to the certificate's tolerance
  // (their contribution to the stationarity residual is what is compared).
  bool dual_feasible() {
    const Eigen::Index pp = p();
    const Scalar tol = settings_.certificate_tolerance * stat_scale_;
    for (Eigen::Index k = 0; k < factor_.size(); ++k) {
      if (is_equality(k)) continue;
      const Eigen::Index i = ws_index_(k) - pp;
      const Scalar nk = row_norm_(i);
      if (-lambda_(k) * nk > tol) return false;
      if (soft(i) && (lambda_(k) - weight(i)) * nk > tol) return false;
    }
    return true;
  }

  // Primal feasibility (and, for saturated soft rows, the sign of the slack) of every row
  // outside the working set; -1 when all pass, else the worst row.
  Eigen::Index primal_violated() {
    cz_.noalias() = problem_.C * z_;
    const Scalar zn = z_.norm();
    Eigen::Index worst = -1;
    Scalar worst_score = 0;
    for (Eigen::Index i = 0; i < m(); ++i) {
      if (state_(i) == RowState::active) continue;
      Scalar scale = row_scale(i, zn);
      if (skip_(i)) scale = std::max(scale, skip_scale_(i) + skip_scale_per_z_(i) * zn);
      const Scalar r = relative(std::max(Scalar(0), violation(i, cz_(i))), scale);
      if (!(r <= settings_.certificate_tolerance) && !(r <= worst_score)) worst = i, worst_score = r;
    }
    return worst;
  }

  // Every equality, the redundant ones included.
  Scalar equality_residual() const {
    const Scalar zn = z_.norm();
    Scalar worst = 0;
    for (Eigen::Index k = 0; k < p(); ++k) {
      const Scalar r = relative(std::abs(detail::row(problem_.A, k).dot(z_) - problem_.b(k)), eq_norm_(k) * zn + std::abs(problem_.b(k)));
      if (!(r <= worst)) worst = r;
    }
    return worst;
  }

  const ResultType& run(bool warm) {
    result_.iterations = 0;
    result_.message.clear();
    const Eigen::Index nn = n(), pp = p(), mm = m();
    const int max_iter = settings_.max_iterations > 0 ? settings_.max_iterations : int(5 * (nn + mm + pp) + 20);
    const Scalar feas_tol = settings_.feasibility_tolerance, cert_tol = settings_.certificate_tolerance;
    const Scalar eq_tol = std::max(cert_tol, Scalar(1e3) * feas_tol);
    int& iter = iter_;
    iter = 0;
    g_eff_ = problem_.g;
    state_.setConstant(mm, std::int8_t(RowState::inactive));
    skip_.setZero(mm);
    any_skip_ = false;
    // H, A and C are unchanged since the last solve (update_linear_terms keeps them), so its
    // working-set factorization is still exact: a warm start edits it instead of rebuilding,
    // and a right guess costs one KKT back-solve. Not with redundant equalities: their
    // consistency depends on b and is tested only by the equality phase.
    const bool reuse = warm && factor_valid_ && redundant_equalities_ == 0;
    factor_valid_ = true;
    if (reuse) {
      for (Eigen::Index k = factor_.size() - 1; k >= 0; --k) {
        if (is_equality(k)) continue;
        const Eigen::Index i = ws_index_(k) - pp;
        const bool keep = guess_(i) == RowState::active || (guess_(i) == RowState::saturated && !soft(i));
        if (keep && ws_sign_(k) > 0)
          state_(i) = RowState::active;
        else
          pop(k);
      }
    } else {
      factor_.reset(llt_.matrixLLT(), h_shift_);
      redundant_equalities_ = 0;
      // Equalities first (Goldfarb-Idnani step 1): they enter with free-sign multipliers
      // and never leave. Their order of entry is the row order.
      z_ = llt_.solve(g_eff_);
      z_ /= -h_shift_;
      z_ /= h_shift_;
      for (Eigen::Index k = 0; k < pp; ++k) {
        normal_ = detail::row(problem_.A, k).transpose();
        factor_.rotate_normal(normal_, step_d_);
        const Eigen::Index q = factor_.size();
        const Scalar d2 = step_d_.tail(nn - q).squaredNorm();
        const Scalar viol = normal_.dot(z_) - problem_.b(k);
        factor_.dual_step(step_d_, dual_r_);
        if (!(d2 > square(settings_.dependency_tolerance) * normal_.squaredNorm() * square(llt_scale()))) {
          Scalar scale;
          const Scalar gap = dependent_gap(problem_.b(k), scale);
          if (std::abs(gap) <= eq_tol * scale) {
            ++redundant_equalities_;
            continue;
          }
          factor_valid_ = false;
          return finish(Status::infeasible, "equality rows are inconsistent (row " + std::to_string(k) + " contradicts the rows before it)");
        }
        const Scalar t = viol / d2;
        factor_.primal_step(step_d_, step_s_);
        z_ += t * step_s_;
        lambda_.head(q) -= t * dual_r_.head(q);
        push(int(k), 1, t);
        ++iter;
      }
    }

    if (warm) {
      // Saturated guesses enter g_eff; active guesses enter the working set; then the
      // multipliers are recomputed and rows with out-of-box multipliers leave until the
      // working set is dual feasible, which is all Goldfarb-Idnani needs to continue.
      for (Eigen::Index i = 0; i < mm; ++i) {
        const std::int8_t s = guess_(i);
        if (s == RowState::saturated && soft(i)) {
          state_(i) = RowState::saturated;
          saturate(i, Scalar(1));
        }
      }
      for (Eigen::Index i = 0; i < mm; ++i) {
        const std::int8_t s = guess_(i);
        if (!(s == RowState::active || (s == RowState::saturated && !soft(i)))) continue;
        if (state_(i) == RowState::active) continue;  // kept from the reused working set
        if (factor_.size() == nn) break;
        normal_ = problem_.C.row(i).transpose();
        factor_.rotate_normal(normal_, step_d_);
        const Scalar d2 = step_d_.tail(nn - factor_.size()).squaredNorm();
        if (!(d2 > square(settings_.dependency_tolerance) * normal_.squaredNorm() * square(llt_scale()))) continue;
        state_(i) = RowState::active;
        push(int(pp + i), 1, Scalar(0));
      }
      repair_dual();
    }

    for (int pass = 0;; ++pass) {
      // Main loop (Goldfarb-Idnani step 2): add the most violated row.
      for (;;) {
        if (iter >= max_iter) return finish(Status::max_iterations, "iteration limit reached");
        Eigen::Index pick = -1;
        Scalar pick_score = 0;
        cz_.noalias() = problem_.C * z_;
        const Scalar zn = z_.norm();
        for (Eigen::Index i = 0; i < mm; ++i) {
          if (state_(i) == RowState::active || skip_(i)) continue;
          const Scalar v = violation(i, cz_(i));
          if (v > feas_tol * row_scale(i, zn)) {
            const Scalar score = v / row_norm_(i);
            if (score > pick_score || pick < 0) pick = i, pick_score = score;
          }
        }
        if (pick < 0) break;

        const std::int8_t sign = state_(pick) == RowState::saturated ? -1 : 1;
        const bool pick_soft = soft(pick);
        const Scalar rhs = Scalar(sign) * problem_.d(pick);
        Scalar lambda_pick = 0;
        for (;;) {
          if (iter >= max_iter) return finish(Status::max_iterations, "iteration limit reached");
          normal_ = Scalar(sign) * problem_.C.row(pick).transpose();
          const Eigen::Index q = factor_.size();
          factor_.rotate_normal(normal_, step_d_);
          factor_.primal_step(step_d_, step_s_);
          factor_.dual_step(step_d_, dual_r_);
          const Scalar d2 = q < nn ? step_d_.tail(nn - q).squaredNorm() : Scalar(0);
          const bool primal_move = d2 > square(settings_.dependency_tolerance) * normal_.squaredNorm() * square(llt_scale());

          if (!primal_move) {
            // A row linearly dependent on the working set: it may exchange places with a
            // member or prove infeasibility only if the data say it is violated; a violation
            // at round-off level (parallel copies of a row, a vertex where more rows meet
            // than there are variables) leaves it out, so no cycling and no Farkas
            // certificate built from round-off.
            Scalar scale, scale_per_z;
            const Scalar gap = dependent_gap(rhs, scale, scale_per_z);
            if (!(gap > cert_tol * scale)) {
              if (lambda_pick > Scalar(0)) {
                // Partial dual steps were taken: n = sum r_k n_k carries lambda_pick over.
                lambda_.head(q) += lambda_pick * dual_r_.head(q);
                repair_dual();
              } else {
                skip_(pick) = 1;
                skip_scale_(pick) = skip_scale_const_;
                skip_scale_per_z_(pick) = scale_per_z;
                any_skip_ = true;
              }
              break;
            }
          }

          // Step lengths, each clamped at 0 against round-off (a row met to within rounding
          // by the previous partial step, a multiplier a hair outside its box), and compared
          // by <= only: the branch taken never depends on floating-point equality.
          const Scalar inf = std::numeric_limits<Scalar>::infinity();
          const Scalar t_full = primal_move ? std::max(Scalar(0), (normal_.dot(z_) - rhs) / d2) : inf;
          Scalar t_block = inf;
          Eigen::Index block = -1;
          bool block_upper = false;
          for (Eigen::Index k = 0; k < q; ++k) {
            if (is_equality(k)) continue;
            const Scalar r = dual_r_(k);
            if (r > 0) {
              const Scalar t = std::max(Scalar(0), lambda_(k) / r);
              if (t < t_block) t_block = t, block = k, block_upper = false;
            } else if (r < 0) {
              const Eigen::Index i = ws_index_(k) - pp;
              if (!soft(i)) continue;
              const Scalar t = std::max(Scalar(0), (weight(i) - lambda_(k)) / (-r));
              if (t < t_block) t_block = t, block = k, block_upper = true;
            }
          }
          const Scalar t_cap = pick_soft ? std::max(Scalar(0), weight(pick) - lambda_pick) : inf;
          const Scalar t = std::min({t_full, t_block, t_cap});
          if (!(t < inf)) return finish(Status::infeasible, "hard constraints are infeasible (row " + std::to_string(pick) + " cannot be satisfied)");

          if (primal_move) z_ += t * step_s_;
          lambda_.head(q) -= t * dual_r_.head(q);
          lambda_pick += t;
          ++iter;
          clear_skips();
          if (t_full <= t_block && t_full <= t_cap) {
            state_(pick) = RowState::active;
            push(int(pp + pick), sign, lambda_pick);
            break;
          }
          if (t_cap <= t_block) {
            // The entering soft row's multiplier reached its bound before the row was met:
            // it flips between inactive and saturated without entering.
            if (sign > 0) {
              saturate(pick, Scalar(1));
              state_(pick) = RowState::saturated;
            } else {
              saturate(pick, Scalar(-1));
              state_(pick) = RowState::inactive;
            }
            break;
          }
          leave(block, block_upper);
        }
      }

      // Certificate. z and the multipliers are recomputed from the final working set with
      // a g_eff rebuilt from scratch (no drift from running updates), refined only if the
      // residual test asks for it, and every row is re-checked: a row the last step or the
      // refinement moved z across sends the loop back to work.
      // Soft rows that entered from saturation (normal -C_i, multiplier w_i - lambda, w_i C_i'
      // in g_eff) turn into their natural orientation (normal C_i, multiplier lambda): the
      // same KKT point without two terms of size w_i that cancel.
      for (Eigen::Index k = 0; k < factor_.size(); ++k)
        if (ws_sign_(k) < 0) ws_sign_(k) = 1, factor_.flip(k);
      rebuild_g_eff();
      solve_working_set();
      Scalar res = kkt_residual();
      for (int r = 0; r < 3 && settings_.refine && !(res <= cert_tol); ++r) {
        refine();
        res = kkt_residual();
      }
      const bool last_pass = pass >= 8;
      if (!dual_feasible()) {
        if (last_pass) return finish(Status::inaccurate, "multipliers outside their bounds after repeated repair");
        repair_dual();
        continue;
      }
      const Eigen::Index bad = primal_violated();
      if (bad >= 0) {
        if (last_pass) return finish(Status::inaccurate, "row " + std::to_string(bad) + " stays violated beyond round-off after repeated passes");
        clear_skips();
        continue;
      }
      const Scalar eq_res = equality_residual();
      if (!(eq_res <= eq_tol))
        return finish(Status::inaccurate, "equality residual " + fmt(eq_res) + " (relative) exceeds the tolerance");
      if (!(res <= cert_tol))
        return finish(Status::inaccurate, "KKT residual " + fmt(res) + " (relative) exceeds certificate_tolerance " + fmt(cert_tol));
      return finish(Status::optimal, {});
    }
  }

  // One step of iterative refinement on the final working-set KKT system.
  void refine() {
    const Eigen::Index q = factor_.size();
    residual_x_.noalias() = -(problem_.H * z_);
    residual_x_ -= g_eff_;
    for (Eigen::Index k = 0; k < q; ++k) {
      normal_of(k, normal_);
      residual_x_.noalias() -= lambda_(k) * normal_;
      kkt_rhs_(k) = rhs_of(k) - normal_.dot(z_);
    }
    factor_.solve_kkt(residual_x_, kkt_rhs_, step_s_, correction_l_);
    z_ += step_s_;
    lambda_.head(q) += correction_l_.head(q);
  }

  const ResultType& finish(Status status, const std::string& message) {
    const Eigen::Index pp = p(), mm = m();
    result_.status = status;
    if (status != Status::optimal) result_.message = message;
    result_.iterations = iter_;
    result_.z = z_;
    result_.y_eq.setZero(pp);
    result_.y_ineq.setZero(mm);
    for (Eigen::Index i = 0; i < mm; ++i)
      if (state_(i) == RowState::saturated) result_.y_ineq(i) = weight(i);
    for (Eigen::Index k = 0; k < factor_.size(); ++k) {
      const int idx = ws_index_(k);
      if (idx < pp) {
        result_.y_eq(idx) = lambda_(k);
      } else {
        const Eigen::Index i = idx - pp;
        Scalar y = ws_sign_(k) > 0 ? lambda_(k) : weight(i) - lambda_(k);
        // Certified: anything outside the box is round-off (within certificate_tolerance).
        if (status == Status::optimal) y = std::min(std::max(y, Scalar(0)), weight(i));
        result_.y_ineq(i) = y;
      }
    }
    result_.row_state = state_;
    Scalar obj = Scalar(0.5) * z_.dot(problem_.H * z_) + problem_.g.dot(z_);
    for (Eigen::Index i = 0; i < mm; ++i)
      if (soft(i)) obj += weight(i) * std::max(Scalar(0), problem_.C.row(i).dot(z_) - problem_.d(i));
    result_.objective = obj;
    return result_;
  }

  // J = L^{-T} scales like 1/sqrt(|H|): dependency tests compare |J'n|^2 with |n|^2 / |H|.
  Scalar llt_scale() const { return Scalar(1) / (h_shift_ * llt_.matrixLLT().diagonal().maxCoeff()); }
  static Scalar square(Scalar x) { return x * x; }

  Settings<Scalar> settings_;
  ProblemType problem_;
  Eigen::LLT<Eigen::Matrix<Scalar, N, N>> llt_;  ///< Of H / h_shift_^2.
  Scalar h_shift_ = Scalar(1);                   ///< A power of two: L(H) = h_shift_ L(H / h_shift_^2).
  Scalar h_norm_ = Scalar(0);                    ///< |H|_inf.
  Factor factor_;
  ResultType result_;
  SolverState solver_state_ = SolverState::empty;
  Status failure_status_ = Status::invalid_input;
  std::string failure_message_;
  int redundant_equalities_ = 0;
  int iter_ = 0;
  bool factor_valid_ = false;  ///< The factor holds a working set of the current H, A, C.
  bool any_skip_ = false;
  Scalar stat_scale_ = Scalar(0);

  VectorN z_, g_eff_, step_d_, step_s_, normal_, residual_x_;
  IndexN ws_index_;
  SignN ws_sign_;
  VectorN lambda_, dual_r_, correction_l_, residual_l_;
  mutable VectorN kkt_rhs_;
  VectorM row_norm_, cz_, skip_scale_, skip_scale_per_z_;  ///< skipped row i: round-off scale c0 + cz |z|
  Scalar skip_scale_const_ = 0;
  VectorP eq_norm_;
  RowStates state_, guess_, skip_;
};

}  // namespace rmpc::qp
