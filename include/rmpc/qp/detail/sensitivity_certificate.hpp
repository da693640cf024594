// Sensitivity: the residual certificate of the first-order solve (never `ok` over a solve
// that was not backward stable). Out-of-class definition of rmpc/qp/sensitivity.hpp, included
// only from there.
#pragma once

namespace rmpc::qp {

template <typename Scalar, int N, int P, int M, int NP>
bool Sensitivity<Scalar, N, P, M, NP>::first_order_certified() {
  // A backward-stable block solve leaves residuals of a few eps times the size of the terms
  // (measured: 2e3 eps at cond(H) = 2e11). A duplicated row that entered the working set as
  // a second copy left 2e9 eps, with dz off by 1.1 in a near-null direction of H.
  const auto& pr = *problem_;
  Scalar h_norm = 0, n_norm = 0;
  for (Eigen::Index r = 0; r < n_; ++r) h_norm = std::max(h_norm, pr.H.row(r).cwiseAbs().sum());
  for (Eigen::Index k = 0; k < ws_.size(); ++k) {
    const int idx = ws_.member(k);
    n_norm = std::max(n_norm, idx < p_ ? detail::row(pr.A, idx).cwiseAbs().sum()
                                       : pr.C.row(idx - p_).cwiseAbs().sum());
  }
  auto res = work_.leftCols(np_);
  detail::small_product<N>(res, pr.H, dz_);
  res -= rhs1_.leftCols(np_);
  for (Eigen::Index k = 0; k < ws_.size(); ++k) {
    const int idx = ws_.member(k);
    if (idx < p_)
      res.noalias() += detail::row(pr.A, idx).transpose() * dlambda_.row(k);
    else
      res.noalias() += pr.C.row(idx - p_).transpose() * dlambda_.row(k);
  }
  for (Eigen::Index j = 0; j < np_; ++j) {
    const Scalar dz_max = dz_.col(j).cwiseAbs().maxCoeff();
    Scalar rhs_max = rhs1_.col(j).cwiseAbs().maxCoeff();
    Scalar r = res.col(j).cwiseAbs().maxCoeff();
    for (Eigen::Index k = 0; k < ws_.size(); ++k) {
      const int idx = ws_.member(k);
      const Scalar nz =
          idx < p_ ? detail::row(pr.A, idx).dot(dz_.col(j)) : pr.C.row(idx - p_).dot(dz_.col(j));
      r = std::max(r, std::abs(nz - rhs2_(k, j)));
      rhs_max = std::max(rhs_max, std::abs(rhs2_(k, j)));
    }
    // Not nt_norm * dl_max: on a nearly dependent working set the multipliers' derivatives
    // blow up (two copies of one row share +-1e10) and would excuse any residual.
    const Scalar scale = h_norm * dz_max + n_norm * dz_max + rhs_max;
    if (!(r <= settings_.residual_tolerance * scale)) return false;
  }
  return true;
}

}  // namespace rmpc::qp
