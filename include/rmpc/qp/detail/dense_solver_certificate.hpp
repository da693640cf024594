// DenseSolver: the final KKT certificate before a solve may report optimal (residuals,
// dual boxes, every row, refinement). Out-of-class definitions of rmpc/qp/dense_solver.hpp,
// included only from there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M>
Scalar DenseSolver<Scalar, N, P, M>::kkt_residual() {
  const Eigen::Index q = factor_.size();
  hz_.noalias() = problem_.H * z_;
  residual_x_ = hz_ + g_eff_;
  Scalar scale = h_norm_ * z_.cwiseAbs().maxCoeff() + g_eff_.cwiseAbs().maxCoeff();
  const Scalar z_norm = z_.norm();
  Scalar worst = 0;
  for (Eigen::Index k = 0; k < q; ++k) {
    normal_of(k, normal_);
    residual_x_.noalias() += lambda_(k) * normal_;
    scale += std::abs(lambda_(k)) * normal_.cwiseAbs().maxCoeff();
    const Scalar rk = rhs_of(k);
    const Scalar r =
        relative(std::abs(normal_.dot(z_) - rk), normal_.norm() * z_norm + std::abs(rk));
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
  for (Eigen::Index k = 0; k < factor_.size(); ++k) {
    if (is_equality(k)) continue;
    const Eigen::Index i = ws_index_(k) - pp;
    const Scalar nk = row_norm_(i);
    if (-lambda_(k) * nk > tol) return false;
    if (soft(i) && (lambda_(k) - weight(i)) * nk > tol) return false;
  }
  return true;
}

template <typename Scalar, int N, int P, int M>
Eigen::Index DenseSolver<Scalar, N, P, M>::primal_violated(bool z_moved) {
  if (z_moved) cz_.noalias() = problem_.C * z_;
  const Scalar zn = z_.norm();
  Eigen::Index worst = -1;
  Scalar worst_score = 0;
  for (Eigen::Index i = 0; i < m(); ++i) {
    if (state_(i) == RowState::active) continue;
    const Scalar scale = row_scale(i, zn);
    // No excuse for skipped (dependent) rows: their gap was judged through the working-set
    // decomposition, whose round-off can be far above the data (huge dual_r_ on a nearly
    // dependent working set); at the final z the row is evaluated directly.
    const Scalar r = relative(std::max(Scalar(0), violation(i, cz_(i))), scale);
    if (!(r <= settings_.certificate_tolerance) && !(r <= worst_score)) worst = i, worst_score = r;
  }
  return worst;
}

template <typename Scalar, int N, int P, int M>
Scalar DenseSolver<Scalar, N, P, M>::equality_residual() const {
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
  const Eigen::Index q = factor_.size();
  hz_.noalias() = problem_.H * z_;
  residual_x_ = -hz_ - g_eff_;
  for (Eigen::Index k = 0; k < q; ++k) {
    normal_of(k, normal_);
    residual_x_.noalias() -= lambda_(k) * normal_;
    kkt_rhs_(k) = rhs_of(k) - normal_.dot(z_);
  }
  factor_.solve_kkt(residual_x_, kkt_rhs_, step_s_, correction_l_);
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
  // On the optimal path the certificate's last kkt_residual() and primal_violated() saw this
  // z: H z and C z are reused. Any other status may come after a step: recomputed.
  if (status != Status::optimal) {
    hz_.noalias() = problem_.H * z_;
    cz_.noalias() = problem_.C * z_;
  }
  Scalar obj = Scalar(0.5) * z_.dot(hz_) + problem_.g.dot(z_);
  for (Eigen::Index i = 0; i < mm; ++i)
    if (soft(i)) obj += weight(i) * std::max(Scalar(0), cz_(i) - problem_.d(i));
  result_.objective = obj;
  return result_;
}

}  // namespace rmpc::qp
