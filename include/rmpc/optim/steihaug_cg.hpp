// SteihaugCg: the trust-region subproblem of subproblem.hpp by truncated conjugate gradients
// (Nocedal & Wright Algorithm 7.2) for larger n: stops at the boundary, on negative
// curvature, or when the residual is small; needs only products B v. Range-safe as
// ExactSubproblem (power-of-two scaling, scaled norms).
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <rmpc/optim/subproblem.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>

namespace rmpc::optim {

template <typename Scalar = double>
struct SteihaugCgSettings {
  /// Stop when ||r|| <= min(0.5, sqrt(||g||)) ||g|| (N&W eq. 7.10 forcing term: superlinear).
  Scalar forcing_cap = Scalar(0.5);
  /// CG iteration limit as a multiple of n (exact arithmetic needs n).
  int max_iterations_per_dimension = 2;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(rmpc::detail::finite_positive(forcing_cap) && forcing_cap < Scalar(1),
                    "SteihaugCgSettings::forcing_cap", "in (0, 1)", forcing_cap);
    require_setting(max_iterations_per_dimension > 0,
                    "SteihaugCgSettings::max_iterations_per_dimension", "> 0",
                    max_iterations_per_dimension);
  }
};

/// Steihaug's truncated CG (N&W Algorithm 7.2); for larger n where eigen-decomposition costs.
template <typename Scalar = double, int N = Eigen::Dynamic>
class SteihaugCg {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  using Result = SubproblemResult<Scalar, N>;

  explicit SteihaugCg(SteihaugCgSettings<Scalar> settings = {}) : settings_(settings) {
    settings_.validate();
  }

  SteihaugCg& compute(const Eigen::Ref<const Matrix>& B) {
    if (B.rows() != B.cols()) throw std::invalid_argument("SteihaugCg::compute: B must be square");
    B_ = B;
    info_ = B_.allFinite() ? Eigen::Success : Eigen::NumericalIssue;
    b_max_ = info_ == Eigen::Success && B_.size() > 0 ? B_.cwiseAbs().maxCoeff() : Scalar(0);
    return *this;
  }
  Eigen::ComputationInfo info() const { return info_; }

  Result solve(const Eigen::Ref<const Vector>& g, Scalar Delta) {
    Result res;
    const Eigen::Index n = B_.rows();
    if (g.size() != n) throw std::invalid_argument("SteihaugCg::solve: g has the wrong size");
    res.step.setZero(n);
    if (info_ != Eigen::Success || !g.allFinite() || !(Delta > Scalar(0)) || !std::isfinite(Delta))
      return res;
    // (g, B) / sigma: same minimiser and CG iterates; sigma = 1 in the normal range.
    sigma_ = 1;
    const Scalar big = std::max(n > 0 ? g.cwiseAbs().maxCoeff() : Scalar(0), b_max_);
    static const Scalar high = std::sqrt(std::sqrt((std::numeric_limits<Scalar>::max)()));
    if (big > high || (big > Scalar(0) && big < Scalar(1) / high))
      sigma_ = detail::power_of_two(big);
    if (sigma_ == Scalar(1)) {
      gs_ = g;
    } else {
      gs_ = g * (Scalar(1) / sigma_);
      Bs_ = B_ * (Scalar(1) / sigma_);
    }
    const Matrix& B = sigma_ == Scalar(1) ? B_ : Bs_;
    const Scalar g_norm = detail::safe_norm(gs_);
    // Forcing term of the unscaled ||g|| (N&W eq. 7.10), applied to the scaled residual.
    const Scalar eta = std::min(settings_.forcing_cap, std::sqrt(g_norm * sigma_));
    const Scalar tol = eta * g_norm;
    Vector& z = res.step;
    r_ = gs_;
    d_ = -gs_;
    res.status = SubproblemStatus::interior;
    if (g_norm <= tol || g_norm == Scalar(0)) return finish(gs_, B, res);
    const int max_it = std::max(1, settings_.max_iterations_per_dimension * static_cast<int>(n));
    res.status = SubproblemStatus::max_iterations;
    for (int j = 0; j < max_it; ++j) {
      res.iterations = j + 1;
      Bd_.noalias() = B * d_;
      const Scalar dBd = d_.dot(Bd_);
      if (dBd <= Scalar(0)) {
        z += boundary_tau(z, d_, Delta) * d_;
        res.status = SubproblemStatus::negative_curvature;
        return finish(gs_, B, res);
      }
      const Scalar rr = r_.squaredNorm();
      const Scalar alpha = rr / dBd;
      if (detail::safe_norm(z + alpha * d_) >= Delta) {
        z += boundary_tau(z, d_, Delta) * d_;
        res.status = SubproblemStatus::boundary;
        return finish(gs_, B, res);
      }
      z += alpha * d_;
      r_ += alpha * Bd_;
      if (detail::safe_norm(r_) < tol) {
        res.status = SubproblemStatus::interior;
        return finish(gs_, B, res);
      }
      d_ = -r_ + (r_.squaredNorm() / rr) * d_;
    }
    return finish(gs_, B, res);
  }

 private:
  // tau >= 0 with ||z + tau d|| = Delta; in units of Delta and ||d|| when the plain
  // quadratic would overflow or underflow (tiny radii, huge directions).
  static Scalar boundary_tau(const Vector& z, const Vector& d, Scalar Delta) {
    const Scalar a = d.squaredNorm(), b = 2 * z.dot(d), c = z.squaredNorm() - Delta * Delta;
    const Scalar tau = (-b + std::sqrt(std::max(b * b - 4 * a * c, Scalar(0)))) / (2 * a);
    static const Scalar small =
        std::sqrt((std::numeric_limits<Scalar>::min)() / Eigen::NumTraits<Scalar>::epsilon());
    if (std::isfinite(tau) && std::isfinite(b * b - 4 * a * c) && Delta >= small &&
        a >= small * small)
      return tau;
    const Scalar dn = detail::safe_norm(d);
    const Vector zh = z / Delta, dh = d / dn;  // ||zh + th dh|| = 1, tau = th Delta / ||d||
    const Scalar bh = zh.dot(dh), ch = zh.squaredNorm() - Scalar(1);
    const Scalar th = -bh + std::sqrt(std::max(bh * bh - ch, Scalar(0)));
    return th * (Delta / dn);
  }
  Result& finish(const Eigen::Ref<const Vector>& g, const Matrix& B, Result& res) {
    Bd_.noalias() = B * res.step;
    res.predicted_decrease = -(g.dot(res.step) + Scalar(0.5) * res.step.dot(Bd_));
    if (sigma_ != Scalar(1)) res.predicted_decrease *= sigma_;
    if (!res.step.allFinite() || !std::isfinite(res.predicted_decrease))
      res.status = SubproblemStatus::non_finite;
    return res;
  }

  SteihaugCgSettings<Scalar> settings_;
  Matrix B_, Bs_;
  Vector r_, d_, Bd_, gs_;
  Scalar b_max_ = 0;
  Scalar sigma_ = 1;
  Eigen::ComputationInfo info_ = Eigen::InvalidInput;
};

}  // namespace rmpc::optim
