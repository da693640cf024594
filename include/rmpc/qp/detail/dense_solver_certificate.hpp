// DenseSolver: the final KKT certificate before a solve may report optimal (residuals,
// dual boxes, every row, refinement), and the round-off judge of a dependent row's gap.
// Out-of-class definitions of rmpc/qp/dense_solver.hpp, included only from there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M>
Scalar DenseSolver<Scalar, N, P, M>::dependent_gap(Scalar rhs, Scalar& scale) {
  // The coefficients r (normal = sum_k r_k n_k) carry round-off in EVERY component: a row equal
  // to working-set member 0 came out as r = (1, 2.9e-18), and 2.9e-18 b_1 was then the whole
  // gap against a componentwise scale sum_k |r_k b_k| of the same size (an equality written
  // twice reported inconsistent; fuzz input equality_copy_roundoff_coefficient). The rhs part
  // of the scale is therefore normwise, ||(r_k |n_k|)|| ||(b_k / |n_k|)||: each row measured in
  // units of its own norm, so that a positive row scaling (r_k / s, s n_k, s b_k) changes
  // nothing (a plain ||r|| ||b|| mixed rows scaled by 1e8 and 1e-8). r comes from the
  // working-set factor, so its error is eps times that factor's condition, estimated from R's
  // diagonal with each column in units of its row's norm (max/min of |R_kk| / |n_k|: a row
  // scaling must not change it). The rhs part is scaled by it (a copy of a working-set row
  // under cond(L) = 1.6e5 came out as r = (2e-11, -1, -3e-11) with a gap 3.7e-12 of the plain
  // scale, and an equality written as two inequalities was `infeasible`; fuzz input
  // dependent_copy_roundoff_ill_conditioned_ws). Too lax a gap only skips a row; the final
  // certificate still judges it at z.
  const Eigen::Index q = ws_.size();
  Scalar rn_min = std::numeric_limits<Scalar>::infinity(), rn_max = 0;
  const Scalar z_norm = z_.norm();
  Scalar gap = -rhs;
  Scalar r_sq = 0, rhs_sq = 0;
  Scalar scale_per_z = normal_.norm();
  for (Eigen::Index k = 0; k < q; ++k) {
    const Scalar rk = rhs_of(k);
    normal_of(k, residual_l_);
    const Scalar nk = residual_l_.norm();
    if (nk > Scalar(0)) {
      const Scalar rn = std::abs(ws_.factor().R()(k, k)) / nk;
      rn_min = std::min(rn_min, rn);
      rn_max = std::max(rn_max, rn);
    }
    gap += dual_r_(k) * rk;
    r_sq += square(dual_r_(k) * nk);
    if (nk > Scalar(0)) rhs_sq += square(rk / nk);
    scale_per_z += std::abs(dual_r_(k)) * nk;
  }
  const Scalar kappa_cap = Scalar(1) / std::numeric_limits<Scalar>::epsilon();
  const Scalar kappa = rn_max > Scalar(0) && rn_min > rn_max / kappa_cap
                           ? rn_max / rn_min
                           : (rn_max > Scalar(0) ? kappa_cap : Scalar(1));
  scale = std::abs(rhs) + kappa * std::sqrt(r_sq) * std::sqrt(rhs_sq) + scale_per_z * z_norm;
  return gap;
}

template <typename Scalar, int N, int P, int M>
Scalar DenseSolver<Scalar, N, P, M>::kkt_residual() {
  const Eigen::Index q = ws_.size();
  hz_.noalias() = problem_.H * z_;
  residual_x_ = hz_ + g_eff_;
  Scalar scale = h_norm_ * z_.cwiseAbs().maxCoeff() + g_eff_.cwiseAbs().maxCoeff();
  const Scalar z_norm = z_.norm();
  Scalar worst = 0;
  for (Eigen::Index k = 0; k < q; ++k) {
    const int idx = ws_.member(k);
    Scalar nz, n_norm;  // n_k'z and |n_k|
    if (idx >= p() && rows_.is_bound(idx - p())) {
      // n_k = a e_j: one entry instead of n (bitwise the same sums: the others add zeros)
      const int j = rows_.variable(idx - p());
      const Scalar a = Scalar(ws_.sign(k)) * rows_.coefficient(idx - p());
      residual_x_(j) += lambda_(k) * a;
      scale += std::abs(lambda_(k)) * std::abs(a);
      nz = a * z_(j);
      n_norm = std::abs(a);
    } else {
      normal_of(k, normal_);
      residual_x_.noalias() += lambda_(k) * normal_;
      scale += std::abs(lambda_(k)) * normal_.cwiseAbs().maxCoeff();
      nz = normal_.dot(z_);
      n_norm = normal_.norm();
    }
    const Scalar rk = rhs_of(k);
    const Scalar r = relative(std::abs(nz - rk), n_norm * z_norm + std::abs(rk));
    if (!(r <= worst)) worst = r;
  }
  stat_scale_ = scale;
  const Scalar r = relative(residual_x_.cwiseAbs().maxCoeff(), scale);
  if (!(r <= worst)) worst = r;
  return worst;
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::dual_feasible() {
  const Eigen::Index pp = p();
  const Scalar tol = settings_.certificate_tolerance * stat_scale_;
  for (Eigen::Index k = 0; k < ws_.size(); ++k) {
    if (is_equality(k)) continue;
    const Eigen::Index i = ws_.member(k) - pp;
    const Scalar nk = row_norm_(i);
    if (-lambda_(k) * nk > tol) return false;
    if (soft(i) && (lambda_(k) - weight(i)) * nk > tol) return false;
  }
  return true;
}

template <typename Scalar, int N, int P, int M>
Eigen::Index DenseSolver<Scalar, N, P, M>::primal_violated(bool z_moved) {
  // The main loop's last scan saw this z and these row states and found every row, the
  // skipped ones included, within the feasibility tolerance: within this one too.
  if (!z_moved && scan_clean_ && settings_.feasibility_tolerance <= settings_.certificate_tolerance)
    return -1;
  if (z_moved) rows_.multiply(z_, cz_);
  const Scalar zn = z_.norm();
  Eigen::Index worst = -1;
  Scalar worst_score = 0;
  for (Eigen::Index i = 0; i < m(); ++i) {
    if (state_(i) == RowState::active) continue;
    const Scalar scale = row_scale(i, zn);
    // No excuse for skipped (dependent) rows: their gap was judged through the working-set
    // decomposition, whose round-off can be far above the data (huge dual_r_ on a nearly
    // dependent working set); at the final z the row is evaluated directly.
    const Scalar v = std::max(Scalar(0), violation(i, cz_(i)));
    if (v <= settings_.certificate_tolerance * scale) continue;  // the common case: no division
    const Scalar r = relative(v, scale);
    if (!(r <= settings_.certificate_tolerance) && !(r <= worst_score)) worst = i, worst_score = r;
  }
  return worst;
}

template <typename Scalar, int N, int P, int M>
Scalar DenseSolver<Scalar, N, P, M>::equality_residual() const {
  if (p() == 0) return Scalar(0);
  const Scalar zn = z_.norm();
  Scalar worst = 0;
  for (Eigen::Index k = 0; k < p(); ++k) {
    const Scalar r = relative(std::abs(detail::row(problem_.A, k).dot(z_) - problem_.b(k)),
                              eq_norm_(k) * zn + std::abs(problem_.b(k)));
    if (!(r <= worst)) worst = r;
  }
  return worst;
}

template <typename Scalar, int N, int P, int M>
void DenseSolver<Scalar, N, P, M>::refine() {
  const Eigen::Index q = ws_.size();
  hz_.noalias() = problem_.H * z_;
  residual_x_ = -hz_ - g_eff_;
  for (Eigen::Index k = 0; k < q; ++k) {
    normal_of(k, normal_);
    residual_x_.noalias() -= lambda_(k) * normal_;
    kkt_rhs_(k) = rhs_of(k) - normal_.dot(z_);
  }
  ws_.factor().solve_kkt(residual_x_, kkt_rhs_, step_s_, correction_l_);
  z_ += step_s_;
  lambda_.head(q) += correction_l_.head(q);
}

template <typename Scalar, int N, int P, int M>
auto DenseSolver<Scalar, N, P, M>::finish(Status status, const std::string& message)
    -> const ResultType& {
  const Eigen::Index pp = p(), mm = m();
  result_.status = status;
  if (status != Status::optimal) result_.message = message;
  result_.iterations = iter_;
  result_.z = z_;
  result_.y_eq.setZero(pp);
  result_.y_ineq.setZero(mm);
  if (num_soft_ > 0)
    for (Eigen::Index i = 0; i < mm; ++i)
      if (state_(i) == RowState::saturated) result_.y_ineq(i) = weight(i);
  for (Eigen::Index k = 0; k < ws_.size(); ++k) {
    const int idx = ws_.member(k);
    if (idx < pp) {
      result_.y_eq(idx) = lambda_(k);
    } else {
      const Eigen::Index i = idx - pp;
      Scalar y = ws_.sign(k) > 0 ? lambda_(k) : weight(i) - lambda_(k);
      // Certified: anything outside the box is round-off (within certificate_tolerance).
      if (status == Status::optimal) y = std::min(std::max(y, Scalar(0)), weight(i));
      result_.y_ineq(i) = y;
    }
  }
  result_.row_state = state_;
  // On the optimal path the certificate's last kkt_residual() and primal_violated() saw this
  // z: H z and C z are reused. Any other status may come after a step: recomputed.
  if (status != Status::optimal) {
    hz_.noalias() = problem_.H * z_;
    rows_.multiply(z_, cz_);
  }
  Scalar obj = Scalar(0.5) * z_.dot(hz_) + problem_.g.dot(z_);
  if (num_soft_ > 0)
    for (Eigen::Index i = 0; i < mm; ++i)
      if (soft(i)) obj += weight(i) * std::max(Scalar(0), cz_(i) - problem_.d(i));
  result_.objective = obj;
  return result_;
}

template <typename Scalar, int N, int P, int M>
Scalar DenseSolver<Scalar, N, P, M>::certified_residual(bool& z_moved) {
  // z and the multipliers are recomputed from the final working set with a g_eff rebuilt from
  // scratch (no drift from running updates), refined only if the residual test asks for it.
  // Soft rows that entered from saturation (normal -C_i, multiplier w_i - lambda, w_i C_i'
  // in g_eff) turn into their natural orientation (normal C_i, multiplier lambda): the
  // same KKT point without two terms of size w_i that cancel.
  // The running iterate is tested first: when its residual passes, z is the one the last
  // scan saw (that scan's C z is reused by primal_violated) and the re-solve is saved.
  const Scalar cert_tol = settings_.certificate_tolerance;
  for (Eigen::Index k = 0; k < ws_.size(); ++k) {
    if (ws_.sign(k) > 0) continue;
    ws_.make_natural(k);
    lambda_(k) = weight(ws_.member(k) - p()) - lambda_(k);
  }
  rebuild_g_eff();
  Scalar res = kkt_residual();
  z_moved = false;
  if (!(res <= cert_tol)) {
    solve_working_set();
    res = kkt_residual();
    z_moved = true;
  }
  for (int r = 0; r < 3 && settings_.refine && !(res <= cert_tol); ++r) {
    refine();
    res = kkt_residual();
  }
  return res;
}

template <typename Scalar, int N, int P, int M>
bool DenseSolver<Scalar, N, P, M>::certify(bool last_pass) {
  // Every row is re-checked: a row the last step or the refinement moved z across sends the
  // loop back to work (false).
  const Scalar cert_tol = settings_.certificate_tolerance;
  bool z_moved;
  const Scalar res = certified_residual(z_moved);
  if (!dual_feasible()) {
    if (last_pass) {
      finish(Status::inaccurate, "multipliers outside their bounds after repeated repair");
      return true;
    }
    repair_dual();
    return false;
  }
  const Eigen::Index bad = primal_violated(z_moved);
  if (bad >= 0) {
    if (last_pass) {
      finish(Status::inaccurate, "row " + std::to_string(bad) +
                                     " stays violated beyond round-off after repeated passes");
      return true;
    }
    clear_skips();
    rejected_row_ = bad;
    return false;
  }
  const Scalar eq_res = equality_residual();
  if (!(eq_res <= equality_tolerance()))
    finish(Status::inaccurate,
           "equality residual " + fmt(eq_res) + " (relative) exceeds the tolerance");
  else if (!(res <= cert_tol))
    finish(Status::inaccurate, "KKT residual " + fmt(res) +
                                   " (relative) exceeds certificate_tolerance " + fmt(cert_tol));
  else
    finish(Status::optimal, {});
  return true;
}

}  // namespace rmpc::qp
