// Input standardisation and target transforms of the critic, with the derivatives the
// chain rule needs (method.md section 4: "inputs standardised, targets log10-scaled to
// [0, 1]; the chain rule through both scalings gives dQ/da and d2Q/da2 in physical units").
//
//   Standardizer:  x_std = (x - mean) / scale,         dx_std/dx = 1 / scale.
//   TargetScaler (log10_min_max):  t = (log10 max(y, floor) - lo) / (hi - lo),
//       inverse  y = 10^(lo + (hi - lo) t),  dy/dt = y c,  d2y/dt2 = y c^2,  c = ln(10) (hi - lo).
//   TargetScaler (min_max):  t = (y - lo) / (hi - lo),  dy/dt = hi - lo,  d2y/dt2 = 0.
// lo and hi are the minimum and maximum of the (transformed) fitted targets.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rmpc::learn {

template <typename Scalar_>
class Standardizer {
 public:
  using Scalar = Scalar_;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  Standardizer() = default;
  /// Identity scaling of dimension d (mean 0, scale 1).
  explicit Standardizer(Eigen::Index d) : mean_(Vector::Zero(d)), scale_(Vector::Ones(d)) {}

  /// Per-row mean and (population) standard deviation of X (d x N). A feature whose standard
  /// deviation is below `min_scale` (e.g. a constant column) keeps scale 1 so that it is
  /// only centred, never divided by ~0.
  void fit(const Eigen::Ref<const Matrix>& x,
           Scalar min_scale = rmpc::detail::default_tolerance<Scalar>(1e-8, 4)) {
    if (x.cols() < 1) throw std::invalid_argument("Standardizer::fit: x needs at least one column");
    if (!x.allFinite()) throw std::invalid_argument("Standardizer::fit: x has NaN/Inf");
    mean_ = x.rowwise().mean();
    scale_ =
        ((x.colwise() - mean_).array().square().rowwise().sum() / Scalar(x.cols())).sqrt().matrix();
    for (Eigen::Index i = 0; i < scale_.size(); ++i)
      if (!(scale_(i) >= min_scale)) scale_(i) = Scalar(1);
  }
  void set(const Eigen::Ref<const Vector>& mean, const Eigen::Ref<const Vector>& scale) {
    if (mean.size() != scale.size())
      throw std::invalid_argument("Standardizer::set: mean and scale sizes differ");
    if ((scale.array() <= Scalar(0)).any())
      throw std::invalid_argument("Standardizer::set: scale must be > 0");
    mean_ = mean;
    scale_ = scale;
  }

  Eigen::Index dim() const { return mean_.size(); }
  const Vector& mean() const { return mean_; }
  const Vector& scale() const { return scale_; }

  /// out = (x - mean) / scale, column by column. out may be x itself.
  template <typename DerivedIn, typename DerivedOut>
  void transform(const Eigen::MatrixBase<DerivedIn>& x,
                 const Eigen::MatrixBase<DerivedOut>& out_) const {
    auto& out = const_cast<DerivedOut&>(out_.derived());  // Eigen idiom for writable expressions.
    if (x.rows() != dim())
      throw std::invalid_argument("Standardizer::transform: x must have dim() rows");
    out.array() = (x.array().colwise() - mean_.array()).colwise() / scale_.array();
  }
  Matrix transform(const Eigen::Ref<const Matrix>& x) const {
    Matrix out(x.rows(), x.cols());
    transform(x, out);
    return out;
  }

 private:
  Vector mean_;
  Vector scale_;
};

enum class TargetTransform {
  min_max,        ///< t = (y - lo) / (hi - lo).
  log10_min_max,  ///< t = (log10 y - lo) / (hi - lo): the paper's critic targets (y > 0).
};

template <typename Scalar_>
struct TargetScalerSettings {
  using Scalar = Scalar_;
  TargetTransform transform =
      TargetTransform::log10_min_max;  ///< the paper's choice: costs span decades.
  Scalar floor =
      Scalar(1e-6);  ///< log10 targets are clamped to >= floor: a zero cost has no logarithm.

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(rmpc::detail::finite_nonnegative(floor), "TargetScalerSettings::floor",
                    "finite and >= 0", floor);
  }
};

template <typename Scalar_>
class TargetScaler {
 public:
  using Scalar = Scalar_;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Settings = TargetScalerSettings<Scalar>;

  TargetScaler() = default;
  explicit TargetScaler(const Settings& settings) : settings_(settings) { settings_.validate(); }

  const Settings& settings() const { return settings_; }
  Scalar lo() const { return lo_; }
  Scalar hi() const { return hi_; }
  /// Sets lo and hi directly (in the transformed domain: log10 units for log10_min_max).
  void set_range(Scalar lo, Scalar hi) {
    if (!(hi > lo)) throw std::invalid_argument("TargetScaler::set_range: needs hi > lo");
    lo_ = lo;
    hi_ = hi;
  }

  /// lo, hi = min, max of the pre-transformed targets. A constant target set gets hi = lo + 1
  /// so that the map stays invertible.
  void fit(const Eigen::Ref<const Vector>& y) {
    if (y.size() < 1) throw std::invalid_argument("TargetScaler::fit: y is empty");
    if (!y.allFinite()) throw std::invalid_argument("TargetScaler::fit: y has NaN/Inf");
    lo_ = pre(y(0));
    hi_ = lo_;
    for (Eigen::Index i = 1; i < y.size(); ++i) {
      const Scalar v = pre(y(i));
      lo_ = std::min(lo_, v);
      hi_ = std::max(hi_, v);
    }
    if (!(hi_ > lo_)) hi_ = lo_ + Scalar(1);
  }

  /// Scaled target t of a physical target y.
  Scalar forward(Scalar y) const { return (pre(y) - lo_) / (hi_ - lo_); }
  void forward(const Eigen::Ref<const Vector>& y, Eigen::Ref<Vector> t) const {
    for (Eigen::Index i = 0; i < y.size(); ++i) t(i) = forward(y(i));
  }
  /// Physical value y of a scaled output t.
  Scalar inverse(Scalar t) const {
    const Scalar u = lo_ + (hi_ - lo_) * t;
    return settings_.transform == TargetTransform::log10_min_max ? std::pow(Scalar(10), u) : u;
  }
  /// y = inverse(t) with dy/dt and d2y/dt2 (chain rule of method.md section 4).
  void inverse_derivatives(Scalar t, Scalar& y, Scalar& dy_dt, Scalar& d2y_dt2) const {
    y = inverse(t);
    if (settings_.transform == TargetTransform::log10_min_max) {
      const Scalar c = Scalar(std::log(10.0)) * (hi_ - lo_);
      dy_dt = y * c;
      d2y_dt2 = y * c * c;
    } else {
      dy_dt = hi_ - lo_;
      d2y_dt2 = Scalar(0);
    }
  }

 private:
  Scalar pre(Scalar y) const {
    return settings_.transform == TargetTransform::log10_min_max
               ? std::log10(std::max(y, settings_.floor))
               : y;
  }

  Settings settings_{};
  Scalar lo_ = Scalar(0);
  Scalar hi_ = Scalar(1);
};

}  // namespace rmpc::learn
