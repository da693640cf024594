// Adam's moments and step (Kingma & Ba 2015, Algorithm 1; the bias corrections folded into the
// step size as in their section 2, last paragraph), written once for the critic's optimiser
// (learn/adam.hpp) and the Adam update rule (optim/fixed_rate.hpp):
//
//   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g.^2,
//   x <- x - lr sqrt(1 - b2^t) / (1 - b1^t) * m ./ (sqrt(v) + eps sqrt(1 - b2^t)),
//
// which is x - lr m_hat ./ (sqrt(v_hat) + eps). g.^2 overflows for |g| > 1e154 (double):
// v is kept as v / 4^e, e raised exactly (by powers of two) when max |g| / 2^e leaves
// [0, range^(1/4)]; e = 0, and the arithmetic the plain formula's, in the normal range.
// Allocation-free after reset(n). Used by learn and optim; includes nothing of rmpc.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <limits>

namespace rmpc::detail {

template <typename Scalar, int N = Eigen::Dynamic>
class AdamMoments {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;

  /// Zero moments and step count for n parameters.
  void reset(Eigen::Index n) {
    m_.setZero(n);
    v_.setZero(n);
    t_ = 0;
    b1_power_ = Scalar(1);
    b2_power_ = Scalar(1);
    v_exponent_ = 0;
  }
  Eigen::Index size() const { return m_.size(); }
  /// Moment updates so far (t of Algorithm 1).
  long steps() const { return t_; }

  /// One moment update with gradient g (size(); a NaN/Inf g makes the moments non-finite).
  template <typename Derived>
  void update(const Eigen::MatrixBase<Derived>& g, Scalar beta1, Scalar beta2) {
    ++t_;
    b1_power_ *= beta1;
    b2_power_ *= beta2;
    m_ = beta1 * m_ + (Scalar(1) - beta1) * g;
    static const Scalar high = std::sqrt(std::sqrt((std::numeric_limits<Scalar>::max)()));
    const Scalar g_scaled_max = std::ldexp(g.cwiseAbs().maxCoeff(), -v_exponent_);
    if (g_scaled_max > high && std::isfinite(g_scaled_max)) {
      const int raise = std::ilogb(g_scaled_max);
      v_ *= std::ldexp(Scalar(1), -raise);  // twice: 2^-2raise alone may underflow
      v_ *= std::ldexp(Scalar(1), -raise);
      v_exponent_ += raise;
    }
    if (v_exponent_ == 0)
      v_.array() = beta2 * v_.array() + (Scalar(1) - beta2) * g.array().square();
    else
      v_.array() = beta2 * v_.array() +
                   (Scalar(1) - beta2) * (g.array() * std::ldexp(Scalar(1), -v_exponent_)).square();
  }

  /// x <- x - lr m_hat ./ (sqrt(v_hat) + eps) with the moments of the last update().
  template <typename Derived>
  void subtract_step(Eigen::MatrixBase<Derived>& x, Scalar learning_rate, Scalar epsilon) const {
    const Scalar c2_root = std::sqrt(Scalar(1) - b2_power_);
    const Scalar alpha = learning_rate * c2_root / (Scalar(1) - b1_power_);
    const Scalar eps_hat = epsilon * c2_root;
    if (v_exponent_ == 0) {
      x.array() -= alpha * m_.array() / (v_.array().sqrt() + eps_hat);
    } else {  // sqrt(v) = sqrt(stored v) 2^e, exactly
      const Scalar root_scale = std::ldexp(Scalar(1), v_exponent_);
      x.array() -= alpha * m_.array() / (v_.array().sqrt() * root_scale + eps_hat);
    }
  }

 private:
  Vector m_, v_;
  long t_ = 0;
  Scalar b1_power_ = Scalar(1), b2_power_ = Scalar(1);
  int v_exponent_ = 0;  ///< stored v_ = v / 4^v_exponent_.
};

}  // namespace rmpc::detail
