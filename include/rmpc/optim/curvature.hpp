// Curvature models for the quadratic model m(p) = g'p + p'Bp/2 of the trust-region step
// (method.md section 4):
//  - exact / Gauss-Newton: B is supplied by the caller (P1's "improved quasi-Newton" Hessian,
//    or its second term alone, P2); nothing to do here but optional regularisation;
//  - BFGS: B is built from secant pairs (s, y) of accepted steps, Nocedal & Wright eq. (6.19),
//    with Powell's damping (N&W Procedure 18.2) or a skip when s'y is not positive enough.
// Indefinite B may be regularised by absolute eigenvalues, B = V |Lambda| V' (method.md
// section 4, "replace eigenvalues by their absolute values"), optionally floored.
#pragma once

#include "rmpc/detail/settings_check.hpp"
#include "rmpc/detail/symmetric_eigen.hpp"

#include <rmpc/optim/status.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rmpc::optim {

/// How an indefinite model Hessian is made usable.
enum class Regularisation {
  none,  ///< Use B as given; the exact trust-region subproblem handles indefinite B.
  absolute_eigenvalues,  ///< B <- V max(|Lambda|, floor) V' (P1; keeps the curvature magnitude).
};

/// B <- V max(|Lambda|, floor) V' for symmetric B (lower triangle read), written to `out`.
/// floor >= 0 bounds the smallest eigenvalue away from 0 (needed when B is inverted, as in
/// the QN rule without trust region); floor = 0 only flips signs. Returns false on NaN/Inf.
template <typename Scalar, int N>
bool regularise_absolute_eigenvalues(const Eigen::Matrix<Scalar, N, N>& B, Scalar floor,
                                     Eigen::Matrix<Scalar, N, N>& out) {
  if (!B.allFinite()) return false;
  if (!(floor >= Scalar(0)))
    throw std::invalid_argument("regularise_absolute_eigenvalues: floor must be >= 0");
  rmpc::detail::SymmetricEigen<Scalar, N> eig;
  eig.compute(B);
  if (eig.info() != Eigen::Success) return false;
  const Eigen::Matrix<Scalar, N, 1> lambda = eig.eigenvalues().cwiseAbs().cwiseMax(floor);
  out.noalias() = eig.eigenvectors() * lambda.asDiagonal() * eig.eigenvectors().transpose();
  return true;
}

/// Outcome of one BFGS secant update.
enum class BfgsUpdate {
  updated,     ///< Plain BFGS update with y (s'y >= damping_threshold s'Bs).
  damped,      ///< Powell-damped update with r = t y + (1 - t) B s (N&W eq. 18.14-18.15).
  skipped,     ///< s'y (or s'r) not positive enough: B kept (N&W section 6.1, "skip").
  non_finite,  ///< s or y not finite, or s'y / the update overflows the range: B kept.
};

template <typename Scalar = double>
struct BfgsSettings {
  /// Powell damping instead of skipping when s'y < damping_threshold s'Bs (keeps B positive
  /// definite with noisy gradients, where s'y <= 0 is common).
  bool powell_damping = true;
  /// N&W Procedure 18.2 uses 0.2: the damped r satisfies s'r = 0.2 s'Bs > 0.
  Scalar damping_threshold = Scalar(0.2);
  /// Skip the update when s'y <= skip_tolerance ||s|| ||y|| (undamped mode, or degenerate s).
  Scalar skip_tolerance = detail::default_tolerance<Scalar>(1e-10, 64);
  /// Rescale B0 = (y'y / s'y) I before the first update (N&W eq. 6.20, inverted), so the
  /// initial radius-limited steps are not dominated by an arbitrary identity scale.
  bool scale_initial = true;
  /// B0 = initial_scale * I until the first secant pair arrives.
  Scalar initial_scale = Scalar(1);

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(damping_threshold > Scalar(0) && damping_threshold < Scalar(1),
                    "BfgsSettings::damping_threshold", "in (0, 1)", damping_threshold);
    require_setting(rmpc::detail::finite_nonnegative(skip_tolerance),
                    "BfgsSettings::skip_tolerance", "finite and >= 0", skip_tolerance);
    require_setting(rmpc::detail::finite_positive(initial_scale), "BfgsSettings::initial_scale",
                    "finite and > 0", initial_scale);
  }
};

/// Dense BFGS approximation B of the Hessian (not its inverse: the trust-region subproblem
/// needs B itself). N&W eq. (6.19): B+ = B - (Bs)(Bs)'/(s'Bs) + yy'/(y's).
template <typename Scalar = double, int N = Eigen::Dynamic>
class BfgsModel {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;

  explicit BfgsModel(BfgsSettings<Scalar> settings = {}) : settings_(settings) {
    settings_.validate();
    if constexpr (N != Eigen::Dynamic) reset(N);
  }

  /// B = initial_scale I of size n; forgets all secant pairs.
  void reset(Eigen::Index n) {
    B_.setIdentity(n, n);
    B_ *= settings_.initial_scale;
    Bs_.setZero(n);
    r_.setZero(n);
    updates_ = 0;
  }

  /// One secant update from an accepted step s = x+ - x and y = g(x+) - g(x).
  BfgsUpdate update(const Eigen::Ref<const Vector>& s, const Eigen::Ref<const Vector>& y) {
    if (s.size() != B_.rows())
      throw std::invalid_argument("BfgsModel::update: s has the wrong size");
    if (y.size() != B_.rows())
      throw std::invalid_argument("BfgsModel::update: y has the wrong size");
    if (!s.allFinite() || !y.allFinite()) return BfgsUpdate::non_finite;
    // Norms, s'y and the rank-one terms are range-safe: gradients of 1e300 give y'y and
    // (Bs)(Bs)' beyond the range, the update itself does not.
    const Scalar sy = s.dot(y);
    const Scalar s_norm = detail::safe_norm(s);
    const Scalar y_norm = detail::safe_norm(y);
    if (s_norm == Scalar(0)) return BfgsUpdate::skipped;
    if (!std::isfinite(sy) || !std::isfinite(s_norm) || !std::isfinite(y_norm))
      return BfgsUpdate::non_finite;
    if (updates_ == 0 && settings_.scale_initial && cosine_above(sy, s_norm, y_norm)) {
      Scalar b0 = y.squaredNorm() / sy;  // N&W eq. (6.20) for B0 = H0^-1.
      if (!std::isfinite(b0) || !(b0 > Scalar(0))) b0 = y_norm * (y_norm / sy);
      if (!std::isfinite(b0) || !(b0 > Scalar(0))) return BfgsUpdate::non_finite;
      B_.setIdentity();
      B_ *= b0;
    }
    Bs_.noalias() = B_ * s;
    const Scalar sBs = s.dot(Bs_);
    if (!Bs_.allFinite() || !std::isfinite(sBs)) return BfgsUpdate::non_finite;
    BfgsUpdate kind = BfgsUpdate::updated;
    r_ = y;
    Scalar sr = sy;
    if (settings_.powell_damping && sy < settings_.damping_threshold * sBs) {
      // N&W eq. (18.15): t chosen so that s'r = damping_threshold * s'Bs.
      const Scalar t = (Scalar(1) - settings_.damping_threshold) * sBs / (sBs - sy);
      r_ = t * y + (Scalar(1) - t) * Bs_;
      sr = s.dot(r_);
      kind = BfgsUpdate::damped;
    }
    if (!std::isfinite(sr) || !r_.allFinite()) return BfgsUpdate::non_finite;
    if (!cosine_above(sr, s_norm, detail::safe_norm(r_)) || !(sBs > Scalar(0)))
      return BfgsUpdate::skipped;
    B_next_ = B_;
    B_next_.noalias() -= (Bs_ * Bs_.transpose()) / sBs;
    B_next_.noalias() += (r_ * r_.transpose()) / sr;
    if (!B_next_.allFinite()) {
      // Outer products beyond the range: the same update as u u' - v v' with u = Bs / sqrt(s'Bs),
      // v = r / sqrt(s'r), whose entries are bounded by |B| and |r|^2 / s'r.
      B_next_ = B_;
      Bs_ /= std::sqrt(sBs);
      r_ /= std::sqrt(sr);
      B_next_.noalias() -= Bs_ * Bs_.transpose();
      B_next_.noalias() += r_ * r_.transpose();
      if (!B_next_.allFinite()) return BfgsUpdate::non_finite;
    }
    B_ = (B_next_ + B_next_.transpose()) *
         Scalar(0.5);  // keep exact symmetry against round-off drift
    ++updates_;
    return kind;
  }

  const Matrix& hessian() const { return B_; }
  /// Number of secant pairs applied (damped ones included).
  int updates() const { return updates_; }
  const BfgsSettings<Scalar>& settings() const { return settings_; }

 private:
  // a / (|s| |v|) > skip_tolerance without forming the (possibly overflowing) product.
  bool cosine_above(Scalar a, Scalar s_norm, Scalar v_norm) const {
    const Scalar bound = settings_.skip_tolerance * s_norm * v_norm;
    if (std::isfinite(bound)) return a > bound;
    return a / s_norm / v_norm > settings_.skip_tolerance;
  }

  BfgsSettings<Scalar> settings_;
  Matrix B_, B_next_;
  Vector Bs_;
  Vector r_;
  int updates_ = 0;
};

}  // namespace rmpc::optim
