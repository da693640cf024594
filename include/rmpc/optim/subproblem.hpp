// The trust-region subproblem (Nocedal & Wright eq. 4.3)
//
//     minimize m(p) = g'p + p'Bp/2   subject to ||p|| <= Delta
//
// ExactSubproblem: eigen-decomposition B = Q Lambda Q' once per B (compute), then for any g
// and Delta (solve) the global minimiser characterised by N&W Theorem 4.1 (More-Sorensen):
//     (B + lambda I) p = -g,  lambda >= 0,  lambda (Delta - ||p||) = 0,  B + lambda I PSD.
// With gt = Q'g, ||p(lambda)||^2 = sum_i gt_i^2 / (lambda_i + lambda)^2 (N&W eq. 4.39), and
// the secular equation 1/||p(lambda)|| = 1/Delta is solved by Newton's method (N&W Algorithm
// 4.3, whose update is exact for one pole) safeguarded by bisection. The hard case (gt = 0
// on the eigenspace of lambda_1 and ||p(-lambda_1)|| < Delta, N&W eq. 4.45) adds tau z along
// the eigenvector z of lambda_1 to reach the boundary. Because the decomposition depends
// only on B, a rejected step re-solves with a smaller radius at O(n^2) cost.
//
// SteihaugCg (steihaug_cg.hpp) solves the same subproblem approximately for larger n.
//
// Range safety: the minimiser p is unchanged when g and B are divided by the same sigma > 0.
// Both solvers (this one and SteihaugCg) divide by a power of two sigma (exact arithmetic, so
// results in the normal range are bit-identical to sigma = 1) when the entries of g or B are far
// from 1, and step norms fall back to scaled sums when a sum of squares would overflow or
// underflow: a finite g with entries of 1e300 gives a boundary step, not a zero step. Only a
// predicted decrease that truly exceeds the range is reported, as SubproblemStatus::non_finite.
#pragma once

#include "rmpc/detail/settings_check.hpp"
#include "rmpc/detail/symmetric_eigen.hpp"

#include <rmpc/optim/status.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace rmpc::optim {

enum class SubproblemStatus {
  interior,            ///< Unconstrained minimiser inside the region (lambda = 0, B PD).
  boundary,            ///< ||p|| = Delta with lambda > max(0, -lambda_1) from the secular equation.
  hard_case,           ///< ||p|| = Delta, lambda = -lambda_1, p has a component along z (N&W 4.3).
  negative_curvature,  ///< Steihaug-CG met d'Bd <= 0 and stopped at the boundary.
  max_iterations,      ///< Iteration limit; the step is feasible but not optimal to tolerance.
  non_finite,  ///< NaN/Inf in B, g or Delta, the eigensolver failed, or p / m(0) - m(p) overflow.
};

inline const char* to_string(SubproblemStatus s) {
  switch (s) {
    case SubproblemStatus::interior: return "interior";
    case SubproblemStatus::boundary: return "boundary";
    case SubproblemStatus::hard_case: return "hard_case";
    case SubproblemStatus::negative_curvature: return "negative_curvature";
    case SubproblemStatus::max_iterations: return "max_iterations";
    case SubproblemStatus::non_finite: return "non_finite";
  }
  return "unknown";
}

template <typename Scalar = double>
struct ExactSubproblemSettings {
  /// Accept lambda when | ||p|| - Delta | <= radius_tolerance * Delta (N&W suggest loose
  /// values for speed; 1e-12 keeps the optimality conditions checkable in tests and is cheap
  /// with the eigen-decomposition, O(n) per Newton step). Tolerances here are at least a
  /// small multiple of the epsilon of Scalar (float instantiations).
  Scalar radius_tolerance = detail::default_tolerance<Scalar>(1e-12, 64);
  /// Newton/bisection limit; Newton converges in a handful of steps, bisection needs ~60.
  int max_iterations = 200;
  /// Eigenvalues within this (relative to max |lambda_i|, at least the absolute floor below)
  /// of lambda_1 belong to its eigenspace for the hard-case test.
  Scalar eigenvalue_tolerance = detail::default_tolerance<Scalar>(1e-10, 1024);
  /// |gt_i| <= hard_case_tolerance * ||g|| counts as zero (N&W eq. 4.45 "q_j'g = 0").
  Scalar hard_case_tolerance = detail::default_tolerance<Scalar>(1e-10, 1024);

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(rmpc::detail::finite_positive(radius_tolerance) && radius_tolerance < Scalar(1),
                    "ExactSubproblemSettings::radius_tolerance", "in (0, 1)", radius_tolerance);
    require_setting(max_iterations > 0, "ExactSubproblemSettings::max_iterations", "> 0",
                    max_iterations);
    require_setting(rmpc::detail::finite_nonnegative(eigenvalue_tolerance),
                    "ExactSubproblemSettings::eigenvalue_tolerance", "finite and >= 0",
                    eigenvalue_tolerance);
    require_setting(rmpc::detail::finite_nonnegative(hard_case_tolerance),
                    "ExactSubproblemSettings::hard_case_tolerance", "finite and >= 0",
                    hard_case_tolerance);
  }
};

template <typename Scalar, int N = Eigen::Dynamic>
struct SubproblemResult {
  Eigen::Matrix<Scalar, N, 1> step;  ///< p.
  Scalar lambda = 0;                 ///< Multiplier of ||p|| <= Delta.
  Scalar predicted_decrease = 0;     ///< m(0) - m(p) = -(g'p + p'Bp/2) >= 0.
  int iterations = 0;
  SubproblemStatus status = SubproblemStatus::non_finite;
  bool on_boundary() const {
    return status == SubproblemStatus::boundary || status == SubproblemStatus::hard_case ||
           status == SubproblemStatus::negative_curvature;
  }
};

/// Exact (More-Sorensen) subproblem solver by eigen-decomposition; for small n.
template <typename Scalar = double, int N = Eigen::Dynamic>
class ExactSubproblem {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  using Result = SubproblemResult<Scalar, N>;

  explicit ExactSubproblem(ExactSubproblemSettings<Scalar> settings = {}) : settings_(settings) {
    settings_.validate();
  }

  /// Decomposes symmetric B (lower triangle read). Check info() before solve().
  ExactSubproblem& compute(const Eigen::Ref<const Matrix>& B) {
    if (B.rows() != B.cols())
      throw std::invalid_argument("ExactSubproblem::compute: B must be square");
    if (!B.allFinite()) {
      info_ = Eigen::NumericalIssue;
      return *this;
    }
    eig_.compute(B);
    info_ = eig_.info();
    return *this;
  }

  Eigen::ComputationInfo info() const { return info_; }
  /// Eigenvalues of B, ascending.
  const Vector& eigenvalues() const { return eig_.eigenvalues(); }

  /// Global minimiser of g'p + p'Bp/2 over ||p|| <= Delta for the last computed B.
  Result solve(const Eigen::Ref<const Vector>& g, Scalar Delta) {
    Result res;
    const Eigen::Index n = eig_.eigenvalues().size();
    if (info_ != Eigen::Success || g.size() != n || !g.allFinite() || !(Delta > Scalar(0)) ||
        !std::isfinite(Delta)) {
      if (info_ == Eigen::Success && g.size() != n)
        throw std::invalid_argument("ExactSubproblem::solve: g has the wrong size");
      res.step.setZero(g.size());
      return res;
    }
    const Vector& lam_raw = eig_.eigenvalues();
    const Matrix& Q = eig_.eigenvectors();
    // (g, B) / sigma: same minimiser; sigma a power of two, 1 in the normal range.
    const Scalar lam_max = lam_raw.cwiseAbs().maxCoeff();
    sigma_ = scale_for(std::max(g.cwiseAbs().maxCoeff(), lam_max));
    if (sigma_ == Scalar(1)) {
      lam_ = lam_raw;
      gt_.noalias() = Q.transpose() * g;
    } else {
      lam_ = lam_raw * (Scalar(1) / sigma_);
      gs_ = g * (Scalar(1) / sigma_);
      gt_.noalias() = Q.transpose() * gs_;
    }
    const Vector& lam = lam_;
    c_.resize(n);
    // Work in the shifted multiplier t = lambda + lambda_1, with lambda_i + lambda =
    // (lambda_i - lambda_1) + t: exact near the pole t = 0 where lambda itself loses digits.
    const Scalar lambda1 = lam(0);
    delta_ = lam.array() - lambda1;
    const Scalar scale = std::max(lam_max, Scalar(1));
    const Scalar eig_tol = settings_.eigenvalue_tolerance * scale / sigma_;
    const Scalar g_norm = detail::safe_norm(gt_);

    // Interior: B positive definite and the Newton step fits (N&W Theorem 4.1, lambda = 0).
    if (lambda1 > Scalar(0)) {
      if (step_norm(lambda1) <= Delta) {
        fill_step(lambda1, res);
        res.lambda = 0;
        res.status = SubproblemStatus::interior;
        return finish(res);
      }
    }
    // Hard case (N&W eq. 4.45): gt vanishes on lambda_1's eigenspace and the step from the
    // other components at lambda = -lambda_1 (t = 0) is shorter than Delta.
    if (lambda1 <= eig_tol) {
      bool gt_zero_on_z = true;
      for (Eigen::Index i = 0; i < n && delta_(i) <= eig_tol; ++i)
        if (std::abs(gt_(i)) > settings_.hard_case_tolerance * g_norm) gt_zero_on_z = false;
      if (gt_zero_on_z) {
        const bool psd = lambda1 >= -eig_tol;
        Scalar norm2 = 0;
        for (Eigen::Index i = 0; i < n; ++i) {
          c_(i) = delta_(i) <= eig_tol
                      ? Scalar(0)
                      : -gt_(i) / (delta_(i) + (psd ? std::max(lambda1, Scalar(0)) : Scalar(0)));
          norm2 += c_(i) * c_(i);
        }
        Scalar c_norm = std::sqrt(norm2);
        if (!(c_norm >= tiny_norm()) || !std::isfinite(c_norm)) c_norm = detail::safe_norm(c_);
        if (c_norm <= Delta) {
          if (psd) {
            // B PSD and singular with g in its range: the minimum-norm minimiser, lambda = 0.
            res.lambda = 0;
            res.status = SubproblemStatus::interior;
          } else {
            // tau solves ||p + tau z|| = Delta along the first eigenvector z (either sign is
            // optimal; + keeps runs deterministic).
            c_(0) = Delta >= tiny_norm() && std::isfinite(Delta * Delta) && std::isfinite(norm2)
                        ? std::sqrt(std::max(Delta * Delta - norm2, Scalar(0)))
                        : std::sqrt(std::max((Delta - c_norm) * (Delta + c_norm), Scalar(0)));
            res.lambda = -lambda1 * sigma_;
            res.status = SubproblemStatus::hard_case;
          }
          res.step.noalias() = Q * c_;
          return finish(res);
        }
      }
    }
    // Secular equation in t on (lo, hi): ||p|| falls from +inf (pole at t = 0) or from
    // ||p(lambda = 0)|| > Delta at lo to <= Delta at hi, as ||p(t)|| <= ||g|| / t.
    Scalar lo = std::max(Scalar(0), lambda1);
    Scalar hi =
        std::max(lo, g_norm / Delta) * (Scalar(1) + detail::default_tolerance<Scalar>(1e-12, 4)) +
        std::numeric_limits<Scalar>::min();
    // Start at lambda = 0 when B is PD, else just right of the pole, where Newton's first
    // step is nearly exact (one dominant pole).
    Scalar t =
        lambda1 > Scalar(0) ? lambda1 : lo + detail::default_tolerance<Scalar>(1e-8, 4) * (hi - lo);
    res.status = SubproblemStatus::max_iterations;
    for (int it = 0; it < settings_.max_iterations; ++it) {
      res.iterations = it + 1;
      Scalar newton = 0;
      const Scalar pn = step_norm(t, &newton);
      if (std::abs(pn - Delta) <= settings_.radius_tolerance * Delta) {
        res.status = SubproblemStatus::boundary;
        break;
      }
      if (pn > Delta)
        lo = t;
      else
        hi = t;
      // N&W Algorithm 4.3: lambda += (||p|| / ||q||)^2 (||p|| - Delta) / Delta, ||q||^2 =
      // p'(B+lambda I)^-1 p.
      Scalar next = t + newton * (pn - Delta) / Delta;
      if (!(next > lo && next < hi) || !std::isfinite(next)) next = Scalar(0.5) * (lo + hi);
      if (next == t) {
        res.status = SubproblemStatus::boundary;  // bracket collapsed to round-off
        break;
      }
      t = next;
    }
    fill_step(t, res);
    res.lambda = std::max(t - lambda1, Scalar(0)) * sigma_;
    return finish(res);
  }

  const ExactSubproblemSettings<Scalar>& settings() const { return settings_; }

 private:
  // Power of two to divide g and B by when their magnitude `big` is far from 1 (else 1).
  static Scalar scale_for(Scalar big) {
    static const Scalar high = std::sqrt(std::sqrt((std::numeric_limits<Scalar>::max)()));
    if (!(big > Scalar(0)) || !std::isfinite(big) || (big <= high && big >= Scalar(1) / high))
      return Scalar(1);
    return detail::power_of_two(big);
  }
  // Below this a sum of squares may have lost digits to underflow.
  static Scalar tiny_norm() {
    static const Scalar v =
        std::sqrt((std::numeric_limits<Scalar>::min)() / Eigen::NumTraits<Scalar>::epsilon());
    return v;
  }

  // ||p(t)|| and, optionally, the Newton factor ||p||^2 / ||q||^2 of N&W Algorithm 4.3, with
  // ||q||^2 = sum gt_i^2 / d_i^3, d_i = lambda_i - lambda_1 + t. Sums of squares that
  // overflow or underflow are redone scaled by max |c_i| (||p|| = +Inf only beyond the range).
  Scalar step_norm(Scalar t, Scalar* newton = nullptr) const {
    Scalar p2 = 0, s3 = 0;
    bool all_zero = true;
    for (Eigen::Index i = 0; i < delta_.size(); ++i) {
      const Scalar d = delta_(i) + t;
      const Scalar ci = gt_(i) / d;
      p2 += ci * ci;
      s3 += ci * ci / d;
      all_zero = all_zero && ci == Scalar(0);
    }
    const Scalar pn = std::sqrt(p2);
    if (std::isfinite(pn) && std::isfinite(s3) && (pn >= tiny_norm() || all_zero)) {
      if (newton) *newton = pn * pn / s3;
      return pn;
    }
    Scalar m = 0;
    for (Eigen::Index i = 0; i < delta_.size(); ++i)
      m = std::max(m, std::abs(gt_(i) / (delta_(i) + t)));
    if (!std::isfinite(m) || m == Scalar(0)) {
      if (newton) *newton = std::numeric_limits<Scalar>::quiet_NaN();  // bisection takes over
      return m;
    }
    Scalar p2s = 0, s3s = 0;
    for (Eigen::Index i = 0; i < delta_.size(); ++i) {
      const Scalar d = delta_(i) + t;
      const Scalar ci = gt_(i) / d / m;
      p2s += ci * ci;
      s3s += ci * ci / d;
    }
    if (newton) *newton = p2s / s3s;
    return m * std::sqrt(p2s);
  }

  void fill_step(Scalar t, Result& res) {
    for (Eigen::Index i = 0; i < delta_.size(); ++i) c_(i) = -gt_(i) / (delta_(i) + t);
    res.step.noalias() = eig_.eigenvectors() * c_;
  }

  // Predicted decrease in eigen-coordinates: -(gt'c + c'Lambda c/2), times sigma.
  Result& finish(Result& res) {
    const Vector& lam = lam_;
    Scalar m = 0;
    for (Eigen::Index i = 0; i < lam.size(); ++i)
      m += gt_(i) * c_(i) + Scalar(0.5) * lam(i) * c_(i) * c_(i);
    res.predicted_decrease = sigma_ == Scalar(1) ? -m : -m * sigma_;
    if (!res.step.allFinite() || !std::isfinite(res.predicted_decrease))
      res.status = SubproblemStatus::non_finite;
    return res;
  }

  ExactSubproblemSettings<Scalar> settings_;
  rmpc::detail::SymmetricEigen<Scalar, N> eig_;
  Eigen::ComputationInfo info_ = Eigen::InvalidInput;
  Vector gt_;
  Vector gs_;
  Vector lam_;
  Vector c_;
  Vector delta_;
  Scalar sigma_ = 1;
};

}  // namespace rmpc::optim
