// Deterministic policy gradient (DPG) estimates of the gradient and Hessian of
// J(theta) = E[Q(s, pi_theta(s))] over the M samples of a replay memory (method.md section 4):
//
//     g        = (1/M) sum_i dpi/dtheta(s_i)' dQ/da(s_i, pi(s_i))
//     H_exact  = (1/M) sum_i [ sum_j dQ/da_j d2pi_j/dtheta2 + dpi/dtheta' d2Q/da2 dpi/dtheta ]
//     H_gn     = (1/M) sum_i dpi/dtheta' d2Q/da2 dpi/dtheta          (Gauss-Newton, P2)
//
// (chain rule of Q(s, pi_theta(s)) twice in theta; P1 "improved quasi-Newton" keeps both
// terms). Samples are added one by one in a fixed order, so the sums (and the run) do not
// depend on how the per-sample derivatives were computed in parallel. Samples whose policy
// derivative is not available are not added; the caller counts them (skipped()).
// Indefinite H is left to the optimizer (|eigenvalues|, optim/curvature.hpp).
#pragma once

#include <Eigen/Core>

#include <stdexcept>

namespace rmpc::rl {

/// Which curvature the estimator accumulates.
enum class HessianMode {
  none,          ///< gradient only (GD, TR-GD, TR-BFGS, Adam).
  exact,         ///< both terms (P1's Hessian; TR-QN, QN).
  gauss_newton,  ///< second term only (P2; TR-Gauss-Newton).
};

inline const char* to_string(HessianMode m) {
  switch (m) {
    case HessianMode::none: return "none";
    case HessianMode::exact: return "exact";
    case HessianMode::gauss_newton: return "gauss_newton";
  }
  return "unknown";
}

/// Running sums of the DPG estimates; gradient()/hessian() return the means.
template <typename Scalar, int NP = Eigen::Dynamic, int NU = Eigen::Dynamic>
class DpgEstimator {
 public:
  using VectorTheta = Eigen::Matrix<Scalar, NP, 1>;
  using MatrixTheta = Eigen::Matrix<Scalar, NP, NP>;

  explicit DpgEstimator(Eigen::Index np = (NP == Eigen::Dynamic ? 0 : NP),
                        HessianMode mode = HessianMode::exact)
      : mode_(mode) {
    reset(np);
  }

  void reset(Eigen::Index np) {
    g_sum_.setZero(np);
    h_sum_.setZero(np, np);
    count_ = 0;
    skipped_ = 0;
  }
  void set_mode(HessianMode mode) { mode_ = mode; }
  HessianMode mode() const { return mode_; }

  /// One sample: du0_dtheta (nu x np), d2u0_dtheta2 (nu*np x np, rows j*np.. = Hessian of
  /// input j; read only when mode == exact), dq_da (nu), d2q_da2 (nu x nu; read unless mode ==
  /// none).
  template <typename DPi, typename D2Pi, typename DQ, typename D2Q>
  void add(const Eigen::MatrixBase<DPi>& du0_dtheta, const Eigen::MatrixBase<D2Pi>& d2u0_dtheta2,
           const Eigen::MatrixBase<DQ>& dq_da, const Eigen::MatrixBase<D2Q>& d2q_da2) {
    const Eigen::Index np = g_sum_.size(), nu = dq_da.size();
    if (du0_dtheta.rows() != nu || du0_dtheta.cols() != np)
      throw std::invalid_argument("DpgEstimator::add: du0_dtheta must be nu x np");
    if (mode_ == HessianMode::exact &&
        (d2u0_dtheta2.rows() != nu * np || d2u0_dtheta2.cols() != np))
      throw std::invalid_argument("DpgEstimator::add: d2u0_dtheta2 must be nu*np x np");
    if (mode_ != HessianMode::none && (d2q_da2.rows() != nu || d2q_da2.cols() != nu))
      throw std::invalid_argument("DpgEstimator::add: d2q_da2 must be nu x nu");
    g_sum_.noalias() += du0_dtheta.transpose() * dq_da;
    if (mode_ != HessianMode::none) {
      for (Eigen::Index a = 0; a < nu; ++a)
        for (Eigen::Index b = 0; b < nu; ++b) {
          const Scalar q_ab = d2q_da2(a, b);
          if (q_ab == Scalar(0)) continue;
          h_sum_.noalias() += q_ab * du0_dtheta.row(a).transpose() * du0_dtheta.row(b);
        }
      if (mode_ == HessianMode::exact)
        for (Eigen::Index j = 0; j < nu; ++j)
          h_sum_ += dq_da(j) * d2u0_dtheta2.middleRows(j * np, np);
    }
    ++count_;
  }
  /// A sample left out of the means (bad derivative status); only counted.
  void skip() { ++skipped_; }

  Eigen::Index count() const { return count_; }
  Eigen::Index skipped() const { return skipped_; }
  /// g (zero when no sample was added).
  VectorTheta gradient() const {
    return count_ > 0 ? VectorTheta(g_sum_ / Scalar(count_)) : VectorTheta(g_sum_);
  }
  /// H of the mode, symmetrised (zero for mode none or no samples).
  MatrixTheta hessian() const {
    MatrixTheta h = count_ > 0 ? MatrixTheta(h_sum_ / Scalar(count_)) : MatrixTheta(h_sum_);
    return Scalar(0.5) * (h + h.transpose());
  }

 private:
  HessianMode mode_;
  VectorTheta g_sum_;
  MatrixTheta h_sum_;
  Eigen::Index count_ = 0, skipped_ = 0;
};

}  // namespace rmpc::rl
