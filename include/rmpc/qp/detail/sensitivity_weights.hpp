// Sensitivity: the rows' weights in the second-order data terms, and the saturated soft rows'
// term w_k(theta) C_k(theta)' differentiated whole (its weight's derivatives dX.dw, dX.d2w).
// Out-of-class definitions of rmpc/qp/sensitivity.hpp, included only from there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::validate_weights(const Solver& solved,
                                                        const Derivatives& dX) const {
  if (solved.result().status != Status::optimal) return;  // not read: see validate()
  const Eigen::Index m = solved.problem().C.rows(), np = dX.num_parameters;
  auto check = [m](const std::vector<typename Derivatives::VectorM>& vec, size_t count,
                   const char* name, const char* expected) {
    if (vec.empty()) return;
    if (vec.size() != count)
      throw std::invalid_argument("Sensitivity::compute: dX." + std::string(name) + " has " +
                                  std::to_string(vec.size()) + " elements, expected " + expected +
                                  std::to_string(count) + " (or none)");
    for (size_t i = 0; i < vec.size(); ++i)
      if (vec[i].rows() != m)
        throw std::invalid_argument("Sensitivity::compute: dX." + std::string(name) + "[" +
                                    std::to_string(i) + "] has " + std::to_string(vec[i].rows()) +
                                    " entries, expected m = " + std::to_string(m));
  };
  check(dX.dw, size_t(np), "dw", "num_parameters = ");
  check(dX.d2w, size_t(np * np), "d2w", "num_parameters^2 = ");
}

template <typename Scalar, int N, int P, int M, int NP>
bool Sensitivity<Scalar, N, P, M, NP>::has_weight_second_order() const {
  const Derivatives& dX = *dx_;
  return num_saturated_ > 0 && (!dX.d2w.empty() || (!dX.dw.empty() && !dX.dC.empty()));
}

template <typename Scalar, int N, int P, int M, int NP>
void Sensitivity<Scalar, N, P, M, NP>::build_row_weights() {
  const auto& pr = *problem_;
  omega_ineq_.setZero(m_);
  omega_eq_.setZero(p_);
  num_weighted_ = 0;
  for (Eigen::Index r = 0; r < m_; ++r)
    if (row_state_(r) == RowState::saturated) {
      omega_ineq_(r) = pr.soft_weight(r);
      sat_c_.row(num_weighted_) = pr.C.row(r);
      weighted_rows_(num_weighted_++) = int(r);
    }
  num_saturated_ = num_weighted_;
  for (Eigen::Index k = 0; k < ws_.size(); ++k) {
    const int idx = ws_.member(k);
    if (idx < p_) {
      omega_eq_(idx) = lambda_(k);
    } else {
      omega_ineq_(idx - p_) = lambda_(k);
      weighted_rows_(num_weighted_++) = idx - int(p_);
    }
  }
}

template <typename Scalar, int N, int P, int M, int NP>
template <typename Out>
void Sensitivity<Scalar, N, P, M, NP>::add_second_order_data_terms(const VectorN& a,
                                                                   const VectorN& beta,
                                                                   Out& out) const {
  const Derivatives& dX = *dx_;
  beta_ineq_.setZero(m_);
  beta_eq_.setZero(p_);
  for (Eigen::Index k = 0; k < ws_.size(); ++k) {
    const int idx = ws_.member(k);
    if (idx < p_)
      beta_eq_(idx) = beta(k);
    else
      beta_ineq_(idx - p_) = beta(k);
  }
  if (!dX.d2H.empty()) weight_h_.noalias() = a * z_.transpose();
  if (!dX.d2C.empty())
    for (Eigen::Index t = 0; t < num_weighted_; ++t) {
      const Eigen::Index r = weighted_rows_(t);
      weight_c_.row(t) = omega_ineq_(r) * a.transpose() + beta_ineq_(r) * z_.transpose();
    }
  if (!dX.d2A.empty()) weight_a_.noalias() = omega_eq_ * a.transpose() + beta_eq_ * z_.transpose();
  if (has_weight_second_order()) add_weight_functional_terms(a, out);
  for (Eigen::Index i = 0; i < np_; ++i)
    for (Eigen::Index j = 0; j <= i; ++j) {
      if (!dX.pair_present(i, j)) continue;
      const size_t ij = size_t(i * np_ + j);
      // Blocks the pair's mask marks zero are skipped: adding their zero would not change v.
      const bool with_C = !dX.d2C.empty() && dX.pair_has(i, j, Derivatives::block_C);
      const bool with_d = !dX.d2d.empty() && dX.pair_has(i, j, Derivatives::block_d);
      Scalar v = 0;
      if (!dX.d2H.empty() && dX.pair_has(i, j, Derivatives::block_H))
        v += dX.d2H[ij].cwiseProduct(weight_h_).sum();
      if (!dX.d2g.empty() && dX.pair_has(i, j, Derivatives::block_g)) v += a.dot(dX.d2g[ij]);
      if (with_C || with_d)
        for (Eigen::Index t = 0; t < num_weighted_; ++t) {
          const Eigen::Index r = weighted_rows_(t);
          if (with_C) v += dX.d2C[ij].row(r).dot(weight_c_.row(t));
          if (with_d) v -= beta_ineq_(r) * dX.d2d[ij](r);
        }
      if (!dX.d2A.empty() && dX.pair_has(i, j, Derivatives::block_A))
        v += dX.d2A[ij].cwiseProduct(weight_a_).sum();
      if (!dX.d2b.empty() && dX.pair_has(i, j, Derivatives::block_b)) v -= beta_eq_.dot(dX.d2b[ij]);
      out(i, j) -= v;
      if (i != j) out(j, i) -= v;
    }
}

template <typename Scalar, int N, int P, int M, int NP>
template <typename Out>
void Sensitivity<Scalar, N, P, M, NP>::add_weight_terms(Eigen::Index i, Eigen::Index j,
                                                        Out& out) const {
  const Derivatives& dX = *dx_;
  const size_t ij = size_t(i * np_ + j), si = size_t(i), sj = size_t(j);
  const bool cross = !dX.dw.empty() && !dX.dC.empty();
  for (Eigen::Index t = 0; t < num_saturated_; ++t) {
    const Eigen::Index r = weighted_rows_(t);
    if (!dX.d2w.empty()) out.noalias() += dX.d2w[ij](r) * sat_c_.row(t).transpose();
    if (cross) {
      out.noalias() += dX.dw[si](r) * dX.dC[sj].row(r).transpose();
      out.noalias() += dX.dw[sj](r) * dX.dC[si].row(r).transpose();
    }
  }
}

template <typename Scalar, int N, int P, int M, int NP>
template <typename Out>
void Sensitivity<Scalar, N, P, M, NP>::add_weight_functional_terms(const VectorN& a,
                                                                   Out& out) const {
  const Derivatives& dX = *dx_;
  const bool cross = !dX.dw.empty() && !dX.dC.empty();
  for (Eigen::Index t = 0; t < num_saturated_; ++t) {
    const Eigen::Index r = weighted_rows_(t);
    if (!dX.d2w.empty()) sat_ca_(t) = sat_c_.row(t).dot(a);
    if (cross)
      for (Eigen::Index k = 0; k < np_; ++k) sat_dca_(t, k) = dX.dC[size_t(k)].row(r).dot(a);
  }
  for (Eigen::Index i = 0; i < np_; ++i)
    for (Eigen::Index j = 0; j <= i; ++j) {
      if (!dX.pair_has(i, j, Derivatives::block_w)) continue;
      const size_t ij = size_t(i * np_ + j), si = size_t(i), sj = size_t(j);
      Scalar v = 0;
      for (Eigen::Index t = 0; t < num_saturated_; ++t) {
        const Eigen::Index r = weighted_rows_(t);
        if (!dX.d2w.empty()) v += dX.d2w[ij](r) * sat_ca_(t);
        if (cross) v += dX.dw[si](r) * sat_dca_(t, j) + dX.dw[sj](r) * sat_dca_(t, i);
      }
      out(i, j) -= v;
      if (i != j) out(j, i) -= v;
    }
}

}  // namespace rmpc::qp
