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
// SteihaugCg: truncated conjugate gradients (N&W Algorithm 7.2) for larger n: stops at the
// boundary, on negative curvature, or when the residual is small; needs only products B v.
#pragma once

#include <rmpc/optim/status.hpp>  // first: wraps Eigen includes (GCC 12 false warning)

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace rmpc::optim {

enum class SubproblemStatus {
  interior,           ///< Unconstrained minimiser inside the region (lambda = 0, B PD).
  boundary,           ///< ||p|| = Delta with lambda > max(0, -lambda_1) from the secular equation.
  hard_case,          ///< ||p|| = Delta, lambda = -lambda_1, p has a component along z (N&W 4.3).
  negative_curvature, ///< Steihaug-CG met d'Bd <= 0 and stopped at the boundary.
  max_iterations,     ///< Iteration limit; the step is feasible but not optimal to tolerance.
  non_finite,         ///< NaN/Inf in B, g or Delta, or the eigensolver failed.
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
  /// with the eigen-decomposition, O(n) per Newton step).
  Scalar radius_tolerance = Scalar(1e-12);
  /// Newton/bisection limit; Newton converges in a handful of steps, bisection needs ~60.
  int max_iterations = 200;
  /// Eigenvalues within this (relative to max |lambda_i|, at least the absolute floor below)
  /// of lambda_1 belong to its eigenspace for the hard-case test.
  Scalar eigenvalue_tolerance = Scalar(1e-10);
  /// |gt_i| <= hard_case_tolerance * ||g|| counts as zero (N&W eq. 4.45 "q_j'g = 0").
  Scalar hard_case_tolerance = Scalar(1e-10);
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

  explicit ExactSubproblem(ExactSubproblemSettings<Scalar> settings = {}) : settings_(settings) {}

  /// Decomposes symmetric B (lower triangle read). Check info() before solve().
  ExactSubproblem& compute(const Eigen::Ref<const Matrix>& B) {
    if (B.rows() != B.cols()) throw std::invalid_argument("ExactSubproblem::compute: B must be square");
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
    if (info_ != Eigen::Success || g.size() != n || !g.allFinite() || !(Delta > Scalar(0)) || !std::isfinite(Delta)) {
      if (info_ == Eigen::Success && g.size() != n)
        throw std::invalid_argument("ExactSubproblem::solve: g has the wrong size");
      res.step.setZero(g.size());
      return res;
    }
    const Vector& lam = eig_.eigenvalues();
    const Matrix& Q = eig_.eigenvectors();
    gt_.noalias() = Q.transpose() * g;
    c_.resize(n);
    // Work in the shifted multiplier t = lambda + lambda_1, with lambda_i + lambda =
    // (lambda_i - lambda_1) + t: exact near the pole t = 0 where lambda itself loses digits.
    const Scalar lambda1 = lam(0);
    delta_ = lam.array() - lambda1;
    const Scalar scale = std::max(lam.cwiseAbs().maxCoeff(), Scalar(1));
    const Scalar eig_tol = settings_.eigenvalue_tolerance * scale;
    const Scalar g_norm = gt_.norm();

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
          c_(i) = delta_(i) <= eig_tol ? Scalar(0) : -gt_(i) / (delta_(i) + (psd ? std::max(lambda1, Scalar(0)) : Scalar(0)));
          norm2 += c_(i) * c_(i);
        }
        if (std::sqrt(norm2) <= Delta) {
          if (psd) {
            // B PSD and singular with g in its range: the minimum-norm minimiser, lambda = 0.
            res.lambda = 0;
            res.status = SubproblemStatus::interior;
          } else {
            // tau solves ||p + tau z|| = Delta along the first eigenvector z (either sign is
            // optimal; + keeps runs deterministic).
            c_(0) = std::sqrt(std::max(Delta * Delta - norm2, Scalar(0)));
            res.lambda = -lambda1;
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
    Scalar hi = std::max(lo, g_norm / Delta) * (Scalar(1) + Scalar(1e-12)) + std::numeric_limits<Scalar>::min();
    // Start at lambda = 0 when B is PD, else just right of the pole, where Newton's first
    // step is nearly exact (one dominant pole).
    Scalar t = lambda1 > Scalar(0) ? lambda1 : lo + Scalar(1e-8) * (hi - lo);
    res.status = SubproblemStatus::max_iterations;
    for (int it = 0; it < settings_.max_iterations; ++it) {
      res.iterations = it + 1;
      Scalar q2 = 0;
      const Scalar pn = step_norm(t, &q2);
      if (std::abs(pn - Delta) <= settings_.radius_tolerance * Delta) {
        res.status = SubproblemStatus::boundary;
        break;
      }
      if (pn > Delta) lo = t; else hi = t;
      // N&W Algorithm 4.3: lambda += (||p|| / ||q||)^2 (||p|| - Delta) / Delta, ||q||^2 = p'(B+lambda I)^-1 p.
      Scalar next = t + (pn * pn / q2) * (pn - Delta) / Delta;
      if (!(next > lo && next < hi) || !std::isfinite(next)) next = Scalar(0.5) * (lo + hi);
      if (next == t) {
        res.status = SubproblemStatus::boundary;  // bracket collapsed to round-off
        break;
      }
      t = next;
    }
    fill_step(t, res);
    res.lambda = std::max(t - lambda1, Scalar(0));
    return finish(res);
  }

  const ExactSubproblemSettings<Scalar>& settings() const { return settings_; }

 private:
  // ||p(t)|| and, optionally, ||q||^2 = sum gt_i^2 / d_i^3, d_i = lambda_i - lambda_1 + t.
  Scalar step_norm(Scalar t, Scalar* q2 = nullptr) const {
    Scalar p2 = 0, s3 = 0;
    for (Eigen::Index i = 0; i < delta_.size(); ++i) {
      const Scalar d = delta_(i) + t;
      const Scalar ci = gt_(i) / d;
      p2 += ci * ci;
      s3 += ci * ci / d;
    }
    if (q2) *q2 = s3;
    return std::sqrt(p2);
  }

  void fill_step(Scalar t, Result& res) {
    for (Eigen::Index i = 0; i < delta_.size(); ++i) c_(i) = -gt_(i) / (delta_(i) + t);
    res.step.noalias() = eig_.eigenvectors() * c_;
  }

  // Predicted decrease in eigen-coordinates: -(gt'c + c'Lambda c/2).
  Result& finish(Result& res) {
    const Vector& lam = eig_.eigenvalues();
    Scalar m = 0;
    for (Eigen::Index i = 0; i < lam.size(); ++i) m += gt_(i) * c_(i) + Scalar(0.5) * lam(i) * c_(i) * c_(i);
    res.predicted_decrease = -m;
    if (!res.step.allFinite() || !std::isfinite(res.predicted_decrease)) res.status = SubproblemStatus::non_finite;
    return res;
  }

  ExactSubproblemSettings<Scalar> settings_;
  Eigen::SelfAdjointEigenSolver<Matrix> eig_;
  Eigen::ComputationInfo info_ = Eigen::InvalidInput;
  Vector gt_;
  Vector c_;
  Vector delta_;
};

template <typename Scalar = double>
struct SteihaugCgSettings {
  /// Stop when ||r|| <= min(0.5, sqrt(||g||)) ||g|| (N&W eq. 7.10 forcing term: superlinear).
  Scalar forcing_cap = Scalar(0.5);
  /// CG iteration limit as a multiple of n (exact arithmetic needs n).
  int max_iterations_per_dimension = 2;
};

/// Steihaug's truncated CG (N&W Algorithm 7.2); for larger n where eigen-decomposition costs.
template <typename Scalar = double, int N = Eigen::Dynamic>
class SteihaugCg {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  using Result = SubproblemResult<Scalar, N>;

  explicit SteihaugCg(SteihaugCgSettings<Scalar> settings = {}) : settings_(settings) {}

  SteihaugCg& compute(const Eigen::Ref<const Matrix>& B) {
    if (B.rows() != B.cols()) throw std::invalid_argument("SteihaugCg::compute: B must be square");
    B_ = B;
    info_ = B_.allFinite() ? Eigen::Success : Eigen::NumericalIssue;
    return *this;
  }
  Eigen::ComputationInfo info() const { return info_; }

  Result solve(const Eigen::Ref<const Vector>& g, Scalar Delta) {
    Result res;
    const Eigen::Index n = B_.rows();
    if (g.size() != n) throw std::invalid_argument("SteihaugCg::solve: g has the wrong size");
    res.step.setZero(n);
    if (info_ != Eigen::Success || !g.allFinite() || !(Delta > Scalar(0)) || !std::isfinite(Delta)) return res;
    const Scalar g_norm = g.norm();
    const Scalar tol = std::min(settings_.forcing_cap, std::sqrt(g_norm)) * g_norm;
    Vector& z = res.step;
    r_ = g;
    d_ = -g;
    res.status = SubproblemStatus::interior;
    if (g_norm <= tol || g_norm == Scalar(0)) return finish(g, res);
    const int max_it = std::max(1, settings_.max_iterations_per_dimension * static_cast<int>(n));
    res.status = SubproblemStatus::max_iterations;
    for (int j = 0; j < max_it; ++j) {
      res.iterations = j + 1;
      Bd_.noalias() = B_ * d_;
      const Scalar dBd = d_.dot(Bd_);
      if (dBd <= Scalar(0)) {
        z += boundary_tau(z, d_, Delta) * d_;
        res.status = SubproblemStatus::negative_curvature;
        return finish(g, res);
      }
      const Scalar rr = r_.squaredNorm();
      const Scalar alpha = rr / dBd;
      if ((z + alpha * d_).norm() >= Delta) {
        z += boundary_tau(z, d_, Delta) * d_;
        res.status = SubproblemStatus::boundary;
        return finish(g, res);
      }
      z += alpha * d_;
      r_ += alpha * Bd_;
      if (r_.norm() < tol) {
        res.status = SubproblemStatus::interior;
        return finish(g, res);
      }
      d_ = -r_ + (r_.squaredNorm() / rr) * d_;
    }
    return finish(g, res);
  }

 private:
  // tau >= 0 with ||z + tau d|| = Delta.
  static Scalar boundary_tau(const Vector& z, const Vector& d, Scalar Delta) {
    const Scalar a = d.squaredNorm(), b = 2 * z.dot(d), c = z.squaredNorm() - Delta * Delta;
    return (-b + std::sqrt(std::max(b * b - 4 * a * c, Scalar(0)))) / (2 * a);
  }
  Result& finish(const Eigen::Ref<const Vector>& g, Result& res) {
    Bd_.noalias() = B_ * res.step;
    res.predicted_decrease = -(g.dot(res.step) + Scalar(0.5) * res.step.dot(Bd_));
    if (!res.step.allFinite() || !std::isfinite(res.predicted_decrease)) res.status = SubproblemStatus::non_finite;
    return res;
  }

  SteihaugCgSettings<Scalar> settings_;
  Matrix B_;
  Vector r_, d_, Bd_;
  Eigen::ComputationInfo info_ = Eigen::InvalidInput;
};

}  // namespace rmpc::optim
