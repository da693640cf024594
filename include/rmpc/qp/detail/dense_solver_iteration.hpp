// DenseSolver: one pass of the main loop (Goldfarb-Idnani step 2), which adds the most violated
// row until none is left: the pick, the primal and dual step, the step length and the move it
// ends with (the row enters, a soft row crosses between inactive and saturated, or a member
// leaves). Out-of-class definitions of rmpc/qp/dense_solver.hpp, included only from there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M>
int DenseSolver<Scalar, N, P, M>::max_iterations() const {
  return settings_.max_iterations > 0 ? settings_.max_iterations : int(5 * (n() + m() + p()) + 20);
}

template <typename Scalar, int N, int P, int M>
Scalar DenseSolver<Scalar, N, P, M>::equality_tolerance() const {
  return std::max(settings_.certificate_tolerance, Scalar(1e3) * settings_.feasibility_tolerance);
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::independent(Scalar d2) const {
  return d2 > square(settings_.dependency_tolerance) * normal_.squaredNorm() * square(j_scale());
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::add_violated_rows() {
  const int max_iter = max_iterations();
  for (;;) {
    if (iter_ >= max_iter) {
      finish(Status::max_iterations, "iteration limit reached");
      return false;
    }
    const Eigen::Index pick = most_violated();
    if (pick < 0) return true;
    if (!enter_row(pick, max_iter)) return false;
  }
}

template <typename Scalar, int N, int P, int M>
Eigen::Index DenseSolver<Scalar, N, P, M>::most_violated() {
  const Scalar feas_tol = settings_.feasibility_tolerance;
  Eigen::Index pick = -1;
  Scalar pick_score = 0;
  rows_.multiply(z_, cz_);
  const Scalar zn = z_.norm();
  scan_clean_ = !rows_over(feas_tol, zn);
  if (scan_clean_) return -1;
  for (Eigen::Index i = 0; i < m(); ++i) {
    // excess_ > 0: violation(i) > feas_tol * row_scale(i), as computed by rows_over()
    if (!(excess_(i) > Scalar(0)) || state_(i) == RowState::active || skip_(i)) continue;
    const Scalar score = violation(i, cz_(i)) / row_norm_(i);
    if (score > pick_score || pick < 0) pick = i, pick_score = score;
  }
  return pick;
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::rows_over(Scalar tol, Scalar z_norm) {
  // One fused pass (the expression form with a NaN-ignoring maxCoeff took a fifth of a warm
  // solve at n = 10: three passes and a scalar reduction). excess > 0 exactly when
  // violation > threshold (IEEE subtraction of finite numbers is zero only for equal ones);
  // NaN entries compare false and are ignored, as the row-by-row tests ignore them.
  const Eigen::Index mm = m();
  const Scalar* cz = cz_.data();
  const Scalar* d = problem_.d.data();
  const Scalar* rn = row_norm_.data();
  Scalar* excess = excess_.data();
  bool over = false;
  if (num_soft_ == 0) {  // no row can be saturated
    for (Eigen::Index i = 0; i < mm; ++i) {
      const Scalar e = (cz[i] - d[i]) - tol * (rn[i] * z_norm + std::abs(d[i]));
      excess[i] = e;
      over |= e > Scalar(0);
    }
  } else {
    const std::int8_t* state = state_.data();
    for (Eigen::Index i = 0; i < mm; ++i) {
      const Scalar v = cz[i] - d[i];
      const Scalar e =
          (state[i] == RowState::saturated ? -v : v) - tol * (rn[i] * z_norm + std::abs(d[i]));
      excess[i] = e;
      over |= e > Scalar(0);
    }
  }
  return over;
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::enter_row(Eigen::Index pick, int max_iter) {
  const std::int8_t sign = state_(pick) == RowState::saturated ? -1 : 1;
  const Scalar rhs = Scalar(sign) * problem_.d(pick);
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  Scalar lambda_pick = 0;
  for (;;) {
    if (iter_ >= max_iter) {
      finish(Status::max_iterations, "iteration limit reached");
      return false;
    }
    const Eigen::Index q = ws_.size();
    rotate_row(pick, sign);
    ws_.factor().primal_step(step_d_, step_s_);
    ws_.factor().dual_step(step_d_, dual_r_);
    const Scalar d2 = ws_.null_space_norm2(step_d_);
    const bool primal_move = independent(d2);
    bool gap_at_round_off = false;
    if (!primal_move && leave_out_dependent(pick, rhs, lambda_pick, gap_at_round_off)) return true;

    // Step lengths, each clamped at 0 against round-off (a row met to within rounding
    // by the previous partial step, a multiplier a hair outside its box), and compared
    // by <= only: the branch taken never depends on floating-point equality.
    const Scalar t_full = primal_move ? std::max(Scalar(0), (normal_.dot(z_) - rhs) / d2) : inf;
    Eigen::Index block = -1;
    bool block_upper = false;
    const Scalar t_block = blocking_step(block, block_upper);
    const Scalar t_cap = soft(pick) ? std::max(Scalar(0), weight(pick) - lambda_pick) : inf;
    const Scalar t = std::min({t_full, t_block, t_cap});
    if (!(t < inf)) {
      if (gap_at_round_off)  // no member can leave, but the gap is no proof either
        finish(Status::inaccurate, "row " + std::to_string(pick) +
                                       " depends on the working set and is violated by about"
                                       " its round-off: neither met nor proven infeasible");
      else
        finish(Status::infeasible, "hard constraints are infeasible (row " + std::to_string(pick) +
                                       " cannot be satisfied)");
      return false;
    }
    if (primal_move) z_ += t * step_s_;
    lambda_.head(q) -= t * dual_r_.head(q);
    lambda_pick += t;
    ++iter_;
    clear_skips();
    if (t_full <= t_block && t_full <= t_cap) {
      state_(pick) = RowState::active;
      push(int(p() + pick), sign, lambda_pick);
      return true;
    }
    if (t_cap <= t_block) {
      cross(pick, sign);
      return true;
    }
    leave(block, block_upper);
  }
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::leave_out_dependent(Eigen::Index pick, Scalar rhs,
                                                       Scalar lambda_pick, bool& gap_at_round_off) {
  // A row linearly dependent on the working set: it may exchange places with a member or
  // prove infeasibility only if the data say it is violated; a violation at round-off level
  // (parallel copies of a row, a vertex where more rows meet than there are variables) leaves
  // it out, so no cycling and no Farkas certificate built from round-off.
  Scalar scale;
  const Scalar gap = dependent_gap(rhs, scale);
  if (gap > settings_.certificate_tolerance * scale) return false;
  // Unless the certificate rejected this very row at the end of a pass: skipped again, it
  // would send every pass back to it and the solve would end `inaccurate`. At a vertex of a
  // condensed MPC where u_0 <= 1 lies in the span of six active state rows, its gap 1.0e-11
  // was round-off against the scale above (9.7) but 5.0e-12 of the row's own scale (2.0) at the
  // final z, over certificate_tolerance. Such a row exchanges places with a member (a pure
  // dual step) when it is still over the certificate's tolerance here. Only then: judged at
  // an intermediate z, rows met at the end (an equality written as two rows) would exchange
  // with no member that can leave.
  gap_at_round_off = true;
  if (pick == rejected_row_ &&
      normal_.dot(z_) - rhs > settings_.certificate_tolerance * row_scale(pick, z_.norm()))
    return false;
  if (lambda_pick > Scalar(0)) {
    // Partial dual steps were taken: n = sum r_k n_k carries lambda_pick over.
    const Eigen::Index q = ws_.size();
    lambda_.head(q) += lambda_pick * dual_r_.head(q);
    repair_dual();
  } else {
    skip_(pick) = 1;
    any_skip_ = true;
  }
  return true;
}

template <typename Scalar, int N, int P, int M>
Scalar DenseSolver<Scalar, N, P, M>::blocking_step(Eigen::Index& block, bool& block_upper) const {
  Scalar t_block = std::numeric_limits<Scalar>::infinity();
  for (Eigen::Index k = 0; k < ws_.size(); ++k) {
    if (is_equality(k)) continue;
    const Scalar r = dual_r_(k);
    if (r > 0) {
      const Scalar t = std::max(Scalar(0), lambda_(k) / r);
      if (t < t_block) t_block = t, block = k, block_upper = false;
    } else if (r < 0) {
      const Eigen::Index i = ws_.member(k) - p();
      if (!soft(i)) continue;
      const Scalar t = std::max(Scalar(0), (weight(i) - lambda_(k)) / (-r));
      if (t < t_block) t_block = t, block = k, block_upper = true;
    }
  }
  return t_block;
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::cross(Eigen::Index pick, std::int8_t sign) {
  // The entering soft row's multiplier reached its bound before the row was met: it flips
  // between inactive and saturated without entering.
  if (sign > 0) {
    saturate(pick, Scalar(1));
    state_(pick) = RowState::saturated;
  } else {
    saturate(pick, Scalar(-1));
    state_(pick) = RowState::inactive;
  }
}

}  // namespace rmpc::qp
