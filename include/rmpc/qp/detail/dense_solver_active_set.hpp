// DenseSolver: the dual active-set solve (Goldfarb-Idnani with exact-L1 rows): run() and its
// start (equalities, warm-start guess), the dual repair and the working-set moves; the main
// loop's steps are in dense_solver_iteration.hpp, the certificate in dense_solver_certificate.hpp.
// Out-of-class definitions of rmpc/qp/dense_solver.hpp, included only from there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M>
auto DenseSolver<Scalar, N, P, M>::run(bool warm) -> const ResultType& {
  result_.iterations = 0;
  result_.message.clear();
  iter_ = 0;
  g_eff_ = problem_.g;
  state_.setConstant(m(), std::int8_t(RowState::inactive));
  skip_.setZero(m());
  any_skip_ = false;
  rejected_row_ = -1;
  // H, A and C are unchanged since the last solve (update_linear_terms keeps them), so its
  // working-set factorization is still exact: a warm start edits it instead of rebuilding,
  // and a right guess costs one KKT back-solve. Not with redundant equalities: their
  // consistency depends on b and is tested only by the equality phase.
  const bool reuse = warm && factor_valid_ && redundant_equalities_ == 0;
  factor_valid_ = true;
  if (reuse)
    keep_guessed_members();
  else if (!add_equalities())
    return result_;
  if (warm) enter_guess();
  for (int pass = 0;; ++pass)
    if (!add_violated_rows() || certify(pass >= 8)) return result_;
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::keep_guessed_members() {
  for (Eigen::Index k = ws_.size() - 1; k >= 0; --k) {
    if (is_equality(k)) continue;
    const Eigen::Index i = ws_.member(k) - p();
    const bool keep =
        guess_(i) == RowState::active || (guess_(i) == RowState::saturated && !soft(i));
    if (keep && ws_.sign(k) > 0)
      state_(i) = RowState::active;
    else
      pop(k);
  }
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::add_equalities() {
  ws_.reset();
  redundant_equalities_ = 0;
  // Equalities first (Goldfarb-Idnani step 1): they enter with free-sign multipliers
  // and never leave. Their order of entry is the row order.
  ws_.factor().solve_hessian(g_eff_, z_);
  z_ = -z_;
  for (Eigen::Index k = 0; k < p(); ++k) {
    normal_ = detail::row(problem_.A, k).transpose();
    ws_.factor().rotate_normal(normal_, step_d_);
    const Eigen::Index q = ws_.size();
    const Scalar d2 = ws_.null_space_norm2(step_d_);
    const Scalar viol = normal_.dot(z_) - problem_.b(k);
    ws_.factor().dual_step(step_d_, dual_r_);
    if (!independent(d2)) {
      Scalar scale;
      const Scalar gap = dependent_gap(problem_.b(k), scale);
      if (std::abs(gap) <= equality_tolerance() * scale) {
        ++redundant_equalities_;
        continue;
      }
      factor_valid_ = false;
      finish(Status::infeasible, "equality rows are inconsistent (row " + std::to_string(k) +
                                     " contradicts the rows before it)");
      return false;
    }
    const Scalar t = viol / d2;
    ws_.factor().primal_step(step_d_, step_s_);
    z_ += t * step_s_;
    lambda_.head(q) -= t * dual_r_.head(q);
    push(int(k), 1, t);
    ++iter_;
  }
  return true;
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::enter_guess() {
  // Saturated guesses enter g_eff; active guesses enter the working set; then the
  // multipliers are recomputed and rows with out-of-box multipliers leave until the
  // working set is dual feasible, which is all Goldfarb-Idnani needs to continue.
  for (Eigen::Index i = 0; num_soft_ > 0 && i < m(); ++i) {
    if (guess_(i) == RowState::saturated && soft(i)) {
      state_(i) = RowState::saturated;
      saturate(i, Scalar(1));
    }
  }
  for (Eigen::Index i = 0; i < m(); ++i) {
    const std::int8_t s = guess_(i);
    if (!(s == RowState::active || (s == RowState::saturated && !soft(i)))) continue;
    if (state_(i) == RowState::active) continue;  // kept from the reused working set
    if (ws_.size() == n()) break;
    rotate_row(i, 1);
    if (!independent(ws_.null_space_norm2(step_d_))) continue;
    state_(i) = RowState::active;
    push(int(p() + i), 1, Scalar(0));
  }
  repair_dual();
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::repair_dual() {
  const Eigen::Index pp = p();
  for (;;) {
    solve_working_set();
    Eigen::Index worst = -1;
    Scalar worst_excess = 0;
    bool worst_upper = false;
    for (Eigen::Index k = 0; k < ws_.size(); ++k) {
      if (is_equality(k)) continue;
      const Eigen::Index i = ws_.member(k) - pp;
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

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::rebuild_g_eff() {
  g_eff_ = problem_.g;
  if (num_soft_ > 0)  // only soft rows are ever saturated
    for (Eigen::Index i = 0; i < m(); ++i)
      if (state_(i) == RowState::saturated) saturate(i, Scalar(1));
  for (Eigen::Index k = 0; k < ws_.size(); ++k)
    if (ws_.sign(k) < 0) saturate(ws_.member(k) - p(), Scalar(1));
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::pop(Eigen::Index k) {
  const Eigen::Index q = ws_.size();
  for (Eigen::Index j = k; j + 1 < q; ++j) lambda_(j) = lambda_(j + 1);
  ws_.remove(k);
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::leave(Eigen::Index k, bool at_upper) {
  const Eigen::Index i = ws_.member(k) - p();
  const std::int8_t sign = ws_.sign(k);
  // Orientation +1 at 0 or -1 at w: inactive; +1 at w or -1 at 0: saturated.
  const bool to_saturated = (sign > 0) == at_upper;
  if (sign > 0 && at_upper) saturate(i, Scalar(1));
  if (sign < 0 && at_upper) saturate(i, Scalar(-1));
  state_(i) = to_saturated ? RowState::saturated : RowState::inactive;
  pop(k);
}

}  // namespace rmpc::qp
