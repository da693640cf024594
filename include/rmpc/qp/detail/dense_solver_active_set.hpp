// DenseSolver: the dual active-set iteration (Goldfarb-Idnani with exact-L1 rows) and its
// working-set moves. Out-of-class definitions of rmpc/qp/dense_solver.hpp, included only from
// there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M>
auto DenseSolver<Scalar, N, P, M>::run(bool warm) -> const ResultType& {
  result_.iterations = 0;
  result_.message.clear();
  const Eigen::Index nn = n(), pp = p(), mm = m();
  const int max_iter =
      settings_.max_iterations > 0 ? settings_.max_iterations : int(5 * (nn + mm + pp) + 20);
  const Scalar feas_tol = settings_.feasibility_tolerance,
               cert_tol = settings_.certificate_tolerance;
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
      const bool keep =
          guess_(i) == RowState::active || (guess_(i) == RowState::saturated && !soft(i));
      if (keep && ws_sign_(k) > 0)
        state_(i) = RowState::active;
      else
        pop(k);
    }
  } else {
    factor_.reset();
    redundant_equalities_ = 0;
    // Equalities first (Goldfarb-Idnani step 1): they enter with free-sign multipliers
    // and never leave. Their order of entry is the row order.
    factor_.solve_hessian(g_eff_, z_);
    z_ = -z_;
    for (Eigen::Index k = 0; k < pp; ++k) {
      normal_ = detail::row(problem_.A, k).transpose();
      factor_.rotate_normal(normal_, step_d_);
      const Eigen::Index q = factor_.size();
      const Scalar d2 = step_d_.tail(nn - q).squaredNorm();
      const Scalar viol = normal_.dot(z_) - problem_.b(k);
      factor_.dual_step(step_d_, dual_r_);
      if (!(d2 >
            square(settings_.dependency_tolerance) * normal_.squaredNorm() * square(j_scale()))) {
        Scalar scale;
        const Scalar gap = dependent_gap(problem_.b(k), scale);
        if (std::abs(gap) <= eq_tol * scale) {
          ++redundant_equalities_;
          continue;
        }
        factor_valid_ = false;
        return finish(Status::infeasible, "equality rows are inconsistent (row " +
                                              std::to_string(k) +
                                              " contradicts the rows before it)");
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
      rotate_row(i, 1);
      const Scalar d2 = step_d_.tail(nn - factor_.size()).squaredNorm();
      if (!(d2 >
            square(settings_.dependency_tolerance) * normal_.squaredNorm() * square(j_scale())))
        continue;
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
      rows_.multiply(z_, cz_);
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
        const Eigen::Index q = factor_.size();
        rotate_row(pick, sign);
        factor_.primal_step(step_d_, step_s_);
        factor_.dual_step(step_d_, dual_r_);
        const Scalar d2 = q < nn ? step_d_.tail(nn - q).squaredNorm() : Scalar(0);
        const bool primal_move =
            d2 > square(settings_.dependency_tolerance) * normal_.squaredNorm() * square(j_scale());

        if (!primal_move) {
          // A row linearly dependent on the working set: it may exchange places with a
          // member or prove infeasibility only if the data say it is violated; a violation
          // at round-off level (parallel copies of a row, a vertex where more rows meet
          // than there are variables) leaves it out, so no cycling and no Farkas
          // certificate built from round-off.
          Scalar scale;
          const Scalar gap = dependent_gap(rhs, scale);
          if (!(gap > cert_tol * scale)) {
            if (lambda_pick > Scalar(0)) {
              // Partial dual steps were taken: n = sum r_k n_k carries lambda_pick over.
              lambda_.head(q) += lambda_pick * dual_r_.head(q);
              repair_dual();
            } else {
              skip_(pick) = 1;
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
        if (!(t < inf))
          return finish(Status::infeasible, "hard constraints are infeasible (row " +
                                                std::to_string(pick) + " cannot be satisfied)");

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
    // The running iterate is tested first: when its residual passes, z is the one the last
    // scan saw (that scan's C z is reused below) and the re-solve is saved.
    for (Eigen::Index k = 0; k < factor_.size(); ++k) {
      if (ws_sign_(k) > 0) continue;
      ws_sign_(k) = 1;
      factor_.flip(k);
      lambda_(k) = weight(ws_index_(k) - pp) - lambda_(k);
    }
    rebuild_g_eff();
    Scalar res = kkt_residual();
    bool z_moved = false;
    if (!(res <= cert_tol)) {
      solve_working_set();
      res = kkt_residual();
      z_moved = true;
    }
    for (int r = 0; r < 3 && settings_.refine && !(res <= cert_tol); ++r) {
      refine();
      res = kkt_residual();
    }
    const bool last_pass = pass >= 8;
    if (!dual_feasible()) {
      if (last_pass)
        return finish(Status::inaccurate, "multipliers outside their bounds after repeated repair");
      repair_dual();
      continue;
    }
    const Eigen::Index bad = primal_violated(z_moved);
    if (bad >= 0) {
      if (last_pass)
        return finish(Status::inaccurate,
                      "row " + std::to_string(bad) +
                          " stays violated beyond round-off after repeated passes");
      clear_skips();
      continue;
    }
    const Scalar eq_res = equality_residual();
    if (!(eq_res <= eq_tol))
      return finish(Status::inaccurate,
                    "equality residual " + fmt(eq_res) + " (relative) exceeds the tolerance");
    if (!(res <= cert_tol))
      return finish(Status::inaccurate, "KKT residual " + fmt(res) +
                                            " (relative) exceeds certificate_tolerance " +
                                            fmt(cert_tol));
    return finish(Status::optimal, {});
  }
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::repair_dual() {
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

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::pop(Eigen::Index k) {
  const Eigen::Index q = factor_.size();
  for (Eigen::Index j = k; j + 1 < q; ++j) {
    ws_index_(j) = ws_index_(j + 1);
    ws_sign_(j) = ws_sign_(j + 1);
    lambda_(j) = lambda_(j + 1);
  }
  factor_.remove(k);
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::leave(Eigen::Index k, bool at_upper) {
  const Eigen::Index i = ws_index_(k) - p();
  const std::int8_t sign = ws_sign_(k);
  // Orientation +1 at 0 or -1 at w: inactive; +1 at w or -1 at 0: saturated.
  const bool to_saturated = (sign > 0) == at_upper;
  if (sign > 0 && at_upper) saturate(i, Scalar(1));
  if (sign < 0 && at_upper) saturate(i, Scalar(-1));
  state_(i) = to_saturated ? RowState::saturated : RowState::inactive;
  pop(k);
}

}  // namespace rmpc::qp
