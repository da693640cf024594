// Adam (Kingma & Ba 2015, Algorithm 1) on a flat parameter vector, and the regression
// losses of the critic fit (method.md section 4: Huber loss, Adam lr 1e-3).
//
//   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g.^2,
//   theta <- theta - lr * (m / (1 - b1^t)) ./ (sqrt(v / (1 - b2^t)) + eps).
// Losses are means over the batch: mse = mean r^2, huber = mean h(r) with h(r) = r^2 / 2
// for |r| <= delta and delta (|r| - delta / 2) otherwise, r = prediction - target.
#pragma once

#include "rmpc/detail/adam.hpp"
#include "rmpc/detail/settings_check.hpp"

#include <Eigen/Core>

#include <cmath>
#include <stdexcept>

namespace rmpc::learn {

template <typename Scalar_>
struct AdamSettings {
  using Scalar = Scalar_;
  Scalar learning_rate = Scalar(1e-3);  ///< the paper's critic learning rate.
  Scalar beta1 = Scalar(0.9);           ///< first-moment decay (Kingma & Ba default).
  Scalar beta2 = Scalar(0.999);         ///< second-moment decay (Kingma & Ba default).
  Scalar epsilon = Scalar(1e-7);        ///< denominator guard; 1e-7 also representable in float.

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(rmpc::detail::finite_positive(learning_rate), "AdamSettings::learning_rate",
                    "finite and > 0", learning_rate);
    require_setting(beta1 >= Scalar(0) && beta1 < Scalar(1), "AdamSettings::beta1", "in [0, 1)",
                    beta1);
    require_setting(beta2 >= Scalar(0) && beta2 < Scalar(1), "AdamSettings::beta2", "in [0, 1)",
                    beta2);
    require_setting(rmpc::detail::finite_positive(epsilon), "AdamSettings::epsilon",
                    "finite and > 0", epsilon);
  }
};

template <typename Scalar_>
class Adam {
 public:
  using Scalar = Scalar_;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Settings = AdamSettings<Scalar>;

  Adam() = default;
  explicit Adam(const Settings& settings) : settings_(settings) { settings_.validate(); }

  const Settings& settings() const { return settings_; }
  void set_settings(const Settings& settings) { settings_ = settings; }
  /// Zero moments and step count for n parameters.
  void reset(Eigen::Index n) { moments_.reset(n); }
  long steps() const { return moments_.steps(); }

  /// One update theta <- theta - lr * mhat / (sqrt(vhat) + eps) (rmpc/detail/adam.hpp).
  /// Allocation-free.
  void step(Eigen::Ref<Vector> theta, const Eigen::Ref<const Vector>& grad) {
    if (theta.size() != grad.size())
      throw std::invalid_argument("Adam::step: theta and grad sizes differ");
    if (moments_.size() != theta.size()) reset(theta.size());
    moments_.update(grad, settings_.beta1, settings_.beta2);
    moments_.subtract_step(theta, settings_.learning_rate, settings_.epsilon);
  }

 private:
  Settings settings_{};
  rmpc::detail::AdamMoments<Scalar> moments_;
};

enum class Loss {
  mse,    ///< mean squared error.
  huber,  ///< quadratic within huber_delta of the target, linear beyond (robust to outliers).
};

/// Mean loss over the batch of residuals r = prediction - target, and dloss/dprediction
/// into `dloss` (same shape). Allocation-free.
template <typename DerivedP, typename DerivedT, typename DerivedG>
typename DerivedP::Scalar regression_loss(Loss loss, typename DerivedP::Scalar huber_delta,
                                          const Eigen::MatrixBase<DerivedP>& prediction,
                                          const Eigen::MatrixBase<DerivedT>& target,
                                          const Eigen::MatrixBase<DerivedG>& dloss_) {
  using Scalar = typename DerivedP::Scalar;
  auto& dloss = const_cast<DerivedG&>(dloss_.derived());  // Eigen idiom for writable expressions.
  const Scalar n = Scalar(prediction.size());
  dloss = prediction - target;  // residuals first, mapped to the derivative below
  Scalar total = Scalar(0);
  if (loss == Loss::mse) {
    total = dloss.squaredNorm();
    dloss *= Scalar(2) / n;
  } else {
    for (Eigen::Index j = 0; j < dloss.cols(); ++j)
      for (Eigen::Index i = 0; i < dloss.rows(); ++i) {
        const Scalar r = dloss(i, j);
        const Scalar ar = std::abs(r);
        if (ar <= huber_delta) {
          total += Scalar(0.5) * r * r;
          dloss(i, j) = r / n;
        } else {
          total += huber_delta * (ar - Scalar(0.5) * huber_delta);
          dloss(i, j) = (r > 0 ? huber_delta : -huber_delta) / n;
        }
      }
  }
  return total / n;
}

}  // namespace rmpc::learn
