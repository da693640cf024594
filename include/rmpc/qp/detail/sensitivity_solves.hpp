// Sensitivity: the first-order solve (dz/dtheta), the adjoint functional Hessian
// e'd2z/dtheta2 and the full second-order solve. Out-of-class definitions of
// rmpc/qp/sensitivity.hpp, included only from there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M, int NP>
auto Sensitivity<Scalar, N, P, M, NP>::compute(const Solver& solved, const Derivatives& dX,
                                               const SensitivitySettings<Scalar>& settings)
    -> Sensitivity& {
  validate(solved, dX);
  validate_weights(solved, dX);
  settings.validate();
  settings_ = settings;
  dx_ = &dX;
  const auto& pr = solved.problem();
  const auto& res = solved.result();
  n_ = pr.H.rows();
  p_ = pr.A.rows();
  m_ = pr.C.rows();
  np_ = dX.num_parameters;
  allocate();
  sat_c_.resize(m_, n_);
  sat_ca_.resize(m_);
  sat_dca_.resize(m_, np_);
  num_saturated_ = 0;
  dz_.setZero();
  dlambda_.setZero();
  dy_eq_.setZero();
  dy_ineq_.setZero();
  row_flags_.setZero();
  zero_slack_.setZero();
  has_second_ = false;
  if (res.status != Status::optimal) {
    status_ = SensitivityStatus::not_solved;
    return *this;
  }
  problem_ = &pr;
  z_ = res.z;
  y_eq_ = res.y_eq;
  y_ineq_ = res.y_ineq;
  row_state_ = res.row_state;
  ws_ = solved.working_set();
  status_ = SensitivityStatus::ok;
  if (solved.has_redundant_equalities()) status_ = SensitivityStatus::licq_violated;
  classify_rows();
  resolve_dependent_rows();
  if (status_ == SensitivityStatus::ok)
    for (Eigen::Index i = 0; i < m_; ++i)
      if (row_flags_(i) == RowFlag::row_weakly_active) status_ = SensitivityStatus::weakly_active;
  apply_weak_choice();
  if (ws_.factor().conditioning() < settings_.singular_tolerance)
    status_ = SensitivityStatus::singular_kkt;
  if (status_ == SensitivityStatus::singular_kkt) {
    problem_ = nullptr;
    return *this;
  }

  for (Eigen::Index k = 0; k < ws_.size(); ++k) lambda_(k) = multiplier_of(k);
  build_row_weights();
  first_order();
  if (!first_order_certified()) {
    // Never a wrong value under a good status: the derivative solve was not backward stable.
    status_ = SensitivityStatus::singular_kkt;
    dz_.setZero();
    dlambda_.setZero();
    dy_eq_.setZero();
    dy_ineq_.setZero();
    problem_ = nullptr;
    return *this;
  }
  check_one_sided();
  if (settings_.second_order && np_ > 0) second_order();
  problem_ = nullptr;  // not read after compute()
  return *this;
}

template <typename Scalar, int N, int P, int M, int NP>
template <typename E, typename Out>
void Sensitivity<Scalar, N, P, M, NP>::functional_hessian(const E& e, Out& out) const {
  if (e.rows() != n_ || e.cols() != 1)
    throw std::invalid_argument("Sensitivity::functional_hessian: e is " +
                                std::to_string(e.rows()) + "x" + std::to_string(e.cols()) +
                                ", expected a vector of n = " + std::to_string(n_) + " entries");
  if (out.rows() != np_ || out.cols() != np_)
    throw std::invalid_argument("Sensitivity::functional_hessian: out is " +
                                std::to_string(out.rows()) + "x" + std::to_string(out.cols()) +
                                ", expected np x np = " + std::to_string(np_) + "x" +
                                std::to_string(np_));
  out.setZero();
  if (status_ == SensitivityStatus::not_solved || status_ == SensitivityStatus::singular_kkt ||
      np_ == 0)
    return;
  const Derivatives& dX = *dx_;
  const Eigen::Index q = ws_.size();
  zero_n_.head(q).setZero();
  e_buf_ = e;
  ws_.solve_kkt(e_buf_, zero_n_, adj_a_, adj_beta_);
  // Per parameter j: (dH_j a + dN_j' beta) and dN_j a.
  for (Eigen::Index j = 0; j < np_; ++j) {
    auto ha = ha_.col(j);
    if (!dX.dH.empty())
      detail::small_product<N>(ha, dX.dH[size_t(j)], adj_a_);
    else
      ha.setZero();
    if (has_dN_ && q > 0) {
      const auto dNj = dN_.block(0, j * n_, q, n_);
      // dN' beta by Eigen's product: coefficient-wise it rounds differently from q = 8 on.
      ha.noalias() += dNj.transpose() * adj_beta_.head(q);
      detail::small_product<N>(na_.col(j).head(q), dNj, adj_a_);
    } else {
      na_.col(j).head(q).setZero();
    }
  }
  for (Eigen::Index i = 0; i < np_; ++i)
    for (Eigen::Index j = 0; j <= i; ++j) {
      Scalar v = ha_.col(j).dot(dz_.col(i)) + ha_.col(i).dot(dz_.col(j)) +
                 na_.col(j).head(q).dot(dlambda_.col(i).head(q)) +
                 na_.col(i).head(q).dot(dlambda_.col(j).head(q));
      out(i, j) = -v;
      out(j, i) = -v;
    }
  if (dX.has_second_order()) add_second_order_data_terms(adj_a_, adj_beta_, out);
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::gather_first_order_data() {
  const Derivatives& dX = *dx_;
  const auto& pr = *problem_;
  has_dN_ = !dX.dC.empty() || !dX.dA.empty();
  de_.setZero();
  saturated_grad_.setZero();
  for (Eigen::Index i = 0; i < np_; ++i) {
    for (Eigen::Index k = 0; k < ws_.size(); ++k) {
      const int idx = ws_.member(k);
      auto dN_row = dN_.block(k, i * n_, 1, n_);
      if (idx < p_) {
        if (!dX.dA.empty())
          dN_row = detail::row(dX.dA[size_t(i)], idx);
        else if (has_dN_)
          dN_row.setZero();
        if (!dX.db.empty()) de_(k, i) = dX.db[size_t(i)](idx);
      } else {
        const Eigen::Index r = idx - p_;
        if (!dX.dC.empty())
          dN_row = dX.dC[size_t(i)].row(r);
        else if (has_dN_)
          dN_row.setZero();
        if (!dX.dd.empty()) de_(k, i) = dX.dd[size_t(i)](r);
      }
    }
    // d/dtheta_i of the saturated rows' w_r C_r': w_r dC_r' + dw_r C_r', over the saturated
    // rows build_row_weights() listed (ascending r, as a scan of all m rows would add them).
    for (Eigen::Index t = 0; t < num_saturated_; ++t) {
      const Eigen::Index r = weighted_rows_(t);
      if (!dX.dC.empty())
        saturated_grad_.col(i).noalias() += pr.soft_weight(r) * dX.dC[size_t(i)].row(r).transpose();
      if (!dX.dw.empty())
        saturated_grad_.col(i).noalias() += dX.dw[size_t(i)](r) * pr.C.row(r).transpose();
    }
  }
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::first_order() {
  const Eigen::Index q = ws_.size();
  const Derivatives& dX = *dx_;
  gather_first_order_data();
  // Right-hand sides of (1), -(K_i w + f_i), as the columns of one block solve.
  rhs1_.leftCols(np_) = saturated_grad_;
  for (Eigen::Index i = 0; i < np_; ++i) {
    if (!dX.dH.empty())
      detail::small_product<N, detail::Update::add>(rhs1_.col(i), dX.dH[size_t(i)], z_);
    if (!dX.dg.empty()) rhs1_.col(i) += dX.dg[size_t(i)];
    rhs2_.col(i).head(q) = de_.col(i).head(q);
    if (has_dN_ && q > 0) {
      const auto dNi = dN_.block(0, i * n_, q, n_);
      rhs1_.col(i).noalias() += dNi.transpose() * lambda_.head(q);  // Eigen's, as dN' beta
      detail::small_product<N, detail::Update::subtract>(rhs2_.col(i).head(q), dNi, z_);
    }
  }
  rhs1_.leftCols(np_) = -rhs1_.leftCols(np_);
  auto x = sol1_.leftCols(np_);
  auto l = sol2_.leftCols(np_);
  auto w = work_.leftCols(np_);
  ws_.solve_kkt_block(rhs1_.leftCols(np_), rhs2_.leftCols(np_), x, l, signed_rhs2_, w);
  dz_ = x;
  dlambda_.topRows(q) = l.topRows(q);
  for (Eigen::Index k = 0; k < q; ++k) {
    const int idx = ws_.member(k);
    if (idx < p_)
      dy_eq_.row(idx) = l.row(k);
    else
      dy_ineq_.row(idx - p_) = l.row(k);
  }
  if (!dX.dw.empty())  // a saturated multiplier is its weight
    for (Eigen::Index t = 0; t < num_saturated_; ++t) {
      const Eigen::Index r = weighted_rows_(t);
      for (Eigen::Index i = 0; i < np_; ++i) dy_ineq_(r, i) = dX.dw[size_t(i)](r);
    }
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::second_order() {
  const Eigen::Index q = ws_.size();
  const Derivatives& dX = *dx_;
  has_second_ = true;
  // Block a of kz_ / nz_: K_a applied to all first-order solutions, i.e. columns
  // (dH_a dz_b + dN_a' dlambda_b) and dN_a dz_b for b = 0..np-1.
  for (Eigen::Index a = 0; a < np_; ++a) {
    auto kz = kz_.middleCols(a * np_, np_);
    if (!dX.dH.empty())
      kz.noalias() = dX.dH[size_t(a)] * dz_;
    else
      kz.setZero();
    if (has_dN_ && q > 0) {
      const auto dNa = dN_.block(0, a * n_, q, n_);
      kz.noalias() += dNa.transpose() * dlambda_.topRows(q);
      nz_.block(0, a * np_, q, np_).noalias() = dNa * dz_;
    } else {
      nz_.block(0, a * np_, q, np_).setZero();
    }
  }
  Eigen::Index c = 0;
  for (Eigen::Index i = 0; i < np_; ++i)
    for (Eigen::Index j = 0; j <= i; ++j, ++c) {
      // rhs of (2): -(K_j w_i + K_i w_j + K_ij w + f_ij).
      r1_ = kz_.col(j * np_ + i) + kz_.col(i * np_ + j);
      r2_.head(q) = nz_.col(j * np_ + i).head(q) + nz_.col(i * np_ + j).head(q);
      const size_t ij = size_t(i * np_ + j);
      if (!dX.pair_present(i, j)) {
        rhs1_.col(c) = -r1_;
        rhs2_.col(c).head(q) = -r2_.head(q);
        continue;
      }
      // Blocks the pair's mask marks zero are skipped (adding their zero changes nothing).
      auto with = [&](const auto& blocks, typename Derivatives::SecondOrderBlock b) {
        return !blocks.empty() && dX.pair_has(i, j, b);
      };
      const bool with_A = with(dX.d2A, Derivatives::block_A),
                 with_C = with(dX.d2C, Derivatives::block_C),
                 with_d = with(dX.d2d, Derivatives::block_d);
      if (with(dX.d2H, Derivatives::block_H)) r1_.noalias() += dX.d2H[ij] * z_;
      if (with(dX.d2g, Derivatives::block_g)) r1_ += dX.d2g[ij];
      if (with_C)
        for (Eigen::Index t = 0; t < num_weighted_; ++t) {
          const Eigen::Index r = weighted_rows_(t);
          r1_.noalias() += omega_ineq_(r) * dX.d2C[ij].row(r).transpose();
        }
      if (has_weight_second_order() && dX.pair_has(i, j, Derivatives::block_w))
        add_weight_terms(i, j, r1_);
      if (with_A) {
        r1_.noalias() += dX.d2A[ij].transpose() * omega_eq_;
        row_values_eq_.noalias() = dX.d2A[ij] * z_;
      } else {
        row_values_eq_.setZero(p_);
      }
      if (with(dX.d2b, Derivatives::block_b)) row_values_eq_ -= dX.d2b[ij];
      for (Eigen::Index k = 0; k < q; ++k) {  // d2/dtheta2 of the working-set rows' residuals at z
        const int idx = ws_.member(k);
        if (idx < p_) {
          r2_(k) += row_values_eq_(idx);
        } else {
          const Eigen::Index r = idx - p_;
          if (with_C) r2_(k) += dX.d2C[ij].row(r).dot(z_);
          if (with_d) r2_(k) -= dX.d2d[ij](r);
        }
      }
      rhs1_.col(c) = -r1_;
      rhs2_.col(c).head(q) = -r2_.head(q);
    }
  auto x = sol1_.leftCols(c);
  auto l = sol2_.leftCols(c);
  auto w = work_.leftCols(c);
  ws_.solve_kkt_block(rhs1_.leftCols(c), rhs2_.leftCols(c), x, l, signed_rhs2_, w);
  c = 0;
  for (Eigen::Index i = 0; i < np_; ++i)
    for (Eigen::Index j = 0; j <= i; ++j, ++c) {
      d2z_.col(i * np_ + j) = x.col(c);
      d2z_.col(j * np_ + i) = x.col(c);
      if (settings_.multiplier_second_order) {
        d2lambda_.col(i * np_ + j).head(q) = l.col(c).head(q);
        d2lambda_.col(j * np_ + i).head(q) = l.col(c).head(q);
      }
    }
}

}  // namespace rmpc::qp
