// Sensitivity: checks of the solved QP, and the working set the derivatives are taken on
// (dependent rows resolved, weakly active rows classified and handled by WeakRowChoice).
// Out-of-class definitions of rmpc/qp/sensitivity.hpp, included only from there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::validate(const Solver& solved, const Derivatives& dX) const {
  const auto& pr = solved.problem();
  const Eigen::Index n = pr.H.rows(), p = pr.A.rows(), m = pr.C.rows(), np = dX.num_parameters;
  auto fail = [](const std::string& msg) {
    throw std::invalid_argument("Sensitivity::compute: " + msg);
  };
  auto str = [](Eigen::Index v) { return std::to_string(v); };
  if (np < 0) fail("dX.num_parameters = " + str(np) + " is negative");
  if (NP != Eigen::Dynamic && np != NP)
    fail("dX.num_parameters = " + str(np) + ", expected the compile-time NP = " + str(NP));
  // An unsolved problem is not read (status not_solved): only num_parameters matters then.
  if (solved.result().status != Status::optimal) return;
  if (solved.result().z.size() != n || pr.g.size() != n || pr.d.size() != m ||
      pr.soft_weight.size() != m)
    fail("solved holds a problem of inconsistent sizes");
  auto check = [&](const auto& vec, size_t count, Eigen::Index rows, Eigen::Index cols,
                   const char* name, const char* expected) {
    if (vec.empty()) return;
    if (vec.size() != count)
      fail(std::string("dX.") + name + " has " + std::to_string(vec.size()) +
           " elements, expected " +
           (count == size_t(np) ? "num_parameters = " : "num_parameters^2 = ") +
           std::to_string(count) + " (or none)");
    for (size_t i = 0; i < vec.size(); ++i)
      if (vec[i].rows() != rows || vec[i].cols() != cols)
        fail(std::string("dX.") + name + "[" + std::to_string(i) + "] is " + str(vec[i].rows()) +
             "x" + str(vec[i].cols()) + ", expected " + expected + " = " + str(rows) + "x" +
             str(cols));
  };
  const auto k1 = size_t(np), k2 = size_t(np * np);
  check(dX.dH, k1, n, n, "dH", "n x n");
  check(dX.dg, k1, n, 1, "dg", "n x 1");
  check(dX.dA, k1, p, n, "dA", "p x n");
  check(dX.db, k1, p, 1, "db", "p x 1");
  check(dX.dC, k1, m, n, "dC", "m x n");
  check(dX.dd, k1, m, 1, "dd", "m x 1");
  check(dX.d2H, k2, n, n, "d2H", "n x n");
  check(dX.d2g, k2, n, 1, "d2g", "n x 1");
  check(dX.d2A, k2, p, n, "d2A", "p x n");
  check(dX.d2b, k2, p, 1, "d2b", "p x 1");
  check(dX.d2C, k2, m, n, "d2C", "m x n");
  check(dX.d2d, k2, m, 1, "d2d", "m x 1");
  if (!dX.second_order_pairs.empty() && dX.second_order_pairs.size() != k2)
    fail("dX.second_order_pairs has " + std::to_string(dX.second_order_pairs.size()) +
         " entries, expected num_parameters^2 = " + std::to_string(k2) + " (or none)");
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::allocate() {
  ws_.resize(n_);
  lambda_.resize(n_);
  z_.resize(n_);
  r1_.resize(n_);
  r2_.resize(n_);
  x_.resize(n_);
  l_.resize(n_);
  d_.resize(n_);
  adj_a_.resize(n_);
  adj_beta_.resize(n_);
  zero_n_.resize(n_);
  e_buf_.resize(n_);
  dz_.resize(n_, np_);
  dlambda_.resize(n_, np_);
  dy_eq_.resize(p_, np_);
  dy_ineq_.resize(m_, np_);
  ha_.resize(n_, np_);
  dN_.resize(n_, n_ * np_);
  omega_ineq_.resize(m_), beta_ineq_.resize(m_), weight_c_.resize(m_, n_),
      weighted_rows_.resize(m_);
  omega_eq_.resize(p_), row_values_eq_.resize(p_), beta_eq_.resize(p_), weight_a_.resize(p_, n_);
  weight_h_.resize(n_, n_);
  const Eigen::Index pairs = np_ * (np_ + 1) / 2;
  rhs1_.resize(n_, pairs), rhs2_.resize(n_, pairs), sol1_.resize(n_, pairs);
  sol2_.resize(n_, pairs), work_.resize(n_, pairs), signed_rhs2_.resize(n_, pairs);
  kz_.resize(n_, np_ * np_), nz_.resize(n_, np_ * np_);
  de_.resize(n_, np_);
  saturated_grad_.resize(n_, np_);
  na_.resize(n_, np_);
  row_flags_.resize(m_);
  flagged_rows_.resize(m_);
  cz_.resize(m_);
  zero_slack_.resize(m_);
  if (settings_.second_order) {
    d2z_.resize(n_, np_ * np_);
    if (settings_.multiplier_second_order) d2lambda_.resize(n_, np_ * np_);
  }
}

template <typename Scalar, int N, int P, int M, int NP>
bool Sensitivity<Scalar, N, P, M, NP>::independent_of_working_set(Eigen::Index i) {
  if (ws_.size() == n_) return false;
  r1_ = problem_->C.row(i).transpose();
  ws_.factor().rotate_normal(r1_, d_);
  return std::sqrt(ws_.null_space_norm2(d_)) > std::sqrt(settings_.singular_tolerance) * d_.norm();
}

template <typename Scalar, int N, int P, int M, int NP>
bool Sensitivity<Scalar, N, P, M, NP>::join_working_set(Eigen::Index i) {
  if (!independent_of_working_set(i)) return false;
  ws_.add(int(p_ + i), 1, d_);
  row_state_(i) = RowState::active;
  y_ineq_(i) = Scalar(0);
  return true;
}

template <typename Scalar, int N, int P, int M, int NP>
bool Sensitivity<Scalar, N, P, M, NP>::pair_consistent(Eigen::Index i, Eigen::Index j,
                                                       Scalar c) const {
  const Derivatives& dX = *dx_;
  for (Eigen::Index k = 0; k < np_; ++k) {
    Scalar r = 0, scale = 1;
    if (!dX.dC.empty()) {
      const Scalar ci = dX.dC[size_t(k)].row(i).dot(z_), cj = dX.dC[size_t(k)].row(j).dot(z_);
      r += cj + c * ci;
      scale += std::abs(cj) + c * std::abs(ci);
    }
    if (!dX.dd.empty()) {
      const Scalar di = dX.dd[size_t(k)](i), dj = dX.dd[size_t(k)](j);
      r -= dj + c * di;
      scale += std::abs(dj) + c * std::abs(di);
    }
    if (std::abs(r) > Scalar(1e-8) * scale) return false;
  }
  return true;
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::resolve_dependent_rows() {
  const auto& pr = *problem_;
  const Scalar dep_tol = std::sqrt(settings_.singular_tolerance);
  // The candidates, hard rows at zero slack that are not saturated, listed once (ascending).
  Eigen::Index num_candidates = 0;
  for (Eigen::Index i = 0; i < m_; ++i)
    if (zero_slack_(i) != 0 && !pr.is_soft(i) && row_state_(i) != RowState::saturated)
      flagged_rows_(num_candidates++) = int(i);
  // Pairs C_j = -c C_i, c > 0.
  for (Eigen::Index a = 0; a < num_candidates; ++a) {
    const Eigen::Index i = flagged_rows_(a);
    if (row_flags_(i) == RowFlag::row_dependent) continue;
    const Scalar nii = pr.C.row(i).squaredNorm();
    if (!(nii > 0)) continue;
    for (Eigen::Index b = a + 1; b < num_candidates; ++b) {
      const Eigen::Index j = flagged_rows_(b);
      if (row_flags_(j) == RowFlag::row_dependent) continue;
      const Scalar dot = pr.C.row(i).dot(pr.C.row(j));
      if (!(dot < 0)) continue;
      const Scalar c = -dot / nii;
      if ((pr.C.row(j) + c * pr.C.row(i)).norm() > dep_tol * pr.C.row(j).norm()) continue;
      if (!pair_consistent(i, j, c)) {
        row_flags_(i) = row_flags_(j) = RowFlag::row_dependent;
        status_ = SensitivityStatus::licq_violated;
        break;
      }
      const bool in_i = in_working_set(i), in_j = in_working_set(j);
      if (in_i && in_j) {
        row_flags_(i) = row_flags_(j) = RowFlag::row_dependent;
        status_ = SensitivityStatus::licq_violated;
      } else if (in_i || in_j) {
        row_flags_(in_i ? i : j) =
            RowFlag::row_regular;  // an equality: its multiplier sign is free
        row_flags_(in_i ? j : i) = RowFlag::row_dependent;
      } else if (join_working_set(i)) {
        row_flags_(i) = RowFlag::row_regular;
        row_flags_(j) = RowFlag::row_dependent;
      }
      // else: both dependent on the working set, handled below.
      break;
    }
  }
  // Zero-slack rows outside the working set in its span (duplicates, equalities pinning a
  // bound): dependent; check_one_sided() requires them to keep zero slack.
  for (Eigen::Index a = 0; a < num_candidates; ++a) {
    const Eigen::Index i = flagged_rows_(a);
    if (row_flags_(i) == RowFlag::row_dependent || row_state_(i) == RowState::active) continue;
    if (!independent_of_working_set(i)) row_flags_(i) = RowFlag::row_dependent;
  }
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::check_one_sided() {
  if (status_ != SensitivityStatus::ok && status_ != SensitivityStatus::weakly_active) return;
  const Derivatives& dX = *dx_;
  const auto& pr = *problem_;
  const Scalar tol = Scalar(1e-7);
  // Regular rows are not checked: list the others once, not once per parameter.
  Eigen::Index num_flagged = 0;
  for (Eigen::Index r = 0; r < m_; ++r)
    if (row_flags_(r) != RowFlag::row_regular) flagged_rows_(num_flagged++) = int(r);
  for (Eigen::Index k = 0; k < np_; ++k) {
    Scalar scale = Scalar(1) + dz_.col(k).cwiseAbs().maxCoeff();
    const Eigen::Index q = ws_.size();
    if (q > 0) scale += dlambda_.col(k).head(q).cwiseAbs().maxCoeff();
    bool plus = true, minus = true;
    for (Eigen::Index f = 0; f < num_flagged; ++f) {
      const Eigen::Index r = flagged_rows_(f);
      const int flag = row_flags_(r);
      if (row_state_(r) == RowState::active) {
        if (flag != RowFlag::row_weakly_active) continue;
        const bool at_upper = pr.is_soft(r) && y_ineq_(r) > Scalar(0.5) * pr.soft_weight(r);
        // At the weight w_r(theta) the bound moves too: the multiplier stays in its box while
        // d(mu_r) - dw_r has the right sign.
        Scalar dl = dy_ineq_(r, k);
        if (at_upper && !dX.dw.empty()) dl -= dX.dw[size_t(k)](r);
        const Scalar t = tol * scale;
        if (at_upper ? dl > t : dl < -t) plus = false;
        if (at_upper ? dl < -t : dl > t) minus = false;
        continue;
      }
      Scalar sd = pr.C.row(r).dot(dz_.col(k)), t = scale + std::abs(sd);
      if (!dX.dC.empty()) sd += dX.dC[size_t(k)].row(r).dot(z_);
      if (!dX.dd.empty()) {
        sd -= dX.dd[size_t(k)](r);
        t += std::abs(dX.dd[size_t(k)](r));
      }
      t *= tol;
      if (flag == RowFlag::row_dependent) {
        if (std::abs(sd) > t) {
          status_ = SensitivityStatus::licq_violated;
          return;
        }
        continue;
      }
      const bool saturated = row_state_(r) == RowState::saturated;  // slack must stay >= 0
      if (saturated ? sd < -t : sd > t) plus = false;
      if (saturated ? sd > t : sd < -t) minus = false;
    }
    if (!plus && !minus) {
      status_ = SensitivityStatus::licq_violated;
      return;
    }
  }
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::classify_rows() {
  const auto& pr = *problem_;
  const Scalar tol = settings_.weak_tolerance;
  const Scalar mu_scale = Scalar(1) + (m_ > 0 ? y_ineq_.cwiseAbs().maxCoeff() : Scalar(0));
  // All rows' values in one product: C is column-major, a dot product per row strides.
  detail::small_product<N>(cz_, pr.C, z_);
  for (Eigen::Index i = 0; i < m_; ++i) {
    const Scalar ci_z = cz_(i);
    const bool zero_slack =
        std::abs(ci_z - pr.d(i)) <= tol * (Scalar(1) + std::abs(pr.d(i)) + std::abs(ci_z));
    const Scalar w = pr.soft_weight(i);
    const bool soft = pr.is_soft(i);
    bool weak = false;
    switch (row_state_(i)) {
      case RowState::active:
        weak = y_ineq_(i) <= tol * mu_scale || (soft && w - y_ineq_(i) <= tol * mu_scale);
        break;
      case RowState::inactive:
      case RowState::saturated: weak = zero_slack; break;
      default: break;
    }
    zero_slack_(i) = std::int8_t(zero_slack || row_state_(i) == RowState::active);
    if (weak) row_flags_(i) = RowFlag::row_weakly_active;
  }
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::apply_weak_choice() {
  if (settings_.weak_rows == WeakRowChoice::as_solved ||
      status_ != SensitivityStatus::weakly_active)
    return;
  const auto& pr = *problem_;
  if (settings_.weak_rows == WeakRowChoice::drop) {
    for (Eigen::Index k = ws_.size() - 1; k >= 0; --k) {
      const int idx = ws_.member(k);
      if (idx < p_ || row_flags_(idx - p_) != RowFlag::row_weakly_active) continue;
      const Eigen::Index i = idx - p_;
      // Released to the side its multiplier sits on: 0 -> inactive, w -> saturated.
      row_state_(i) = y_ineq_(i) <= Scalar(0.5) * (pr.is_soft(i) ? pr.soft_weight(i) : Scalar(1))
                          ? RowState::inactive
                          : RowState::saturated;
      if (row_state_(i) == RowState::inactive) y_ineq_(i) = 0;
      ws_.remove(k);
    }
    return;
  }
  // keep_active: weakly active rows outside the working set join it (multiplier at its bound).
  for (Eigen::Index i = 0; i < m_; ++i) {
    if (row_flags_(i) != RowFlag::row_weakly_active || row_state_(i) == RowState::active) continue;
    if (!independent_of_working_set(i)) {
      row_flags_(i) = RowFlag::row_dependent;
      status_ = SensitivityStatus::licq_violated;
      continue;
    }
    ws_.add(int(p_ + i), 1, d_);
    row_state_(i) = RowState::active;
  }
}

}  // namespace rmpc::qp
