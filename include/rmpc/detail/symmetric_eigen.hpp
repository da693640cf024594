// Eigen-decomposition of a small symmetric matrix by the cyclic Jacobi method (Golub & Van
// Loan, Matrix Computations, 4th ed., Algorithms 8.5.1-8.5.3), for the library's three uses:
// the exact trust-region subproblem and |H| of the quasi-Newton rules (theta-sized, n <= a
// few dozen) and the classification of a QP Hessian whose Cholesky failed (eigenvalues only).
//
// Why not Eigen::SelfAdjointEigenSolver: each instantiation of it costs 5-6 s of g++ time
// (tridiagonalisation, Householder sequences, implicit QR), paid in every translation unit
// and for every size: 10 s of the 42 s of the paper MPC's compiled copy and 7 s of the
// benchmark MPC's (measured with g++ 12 at -O2). This one compiles in a fraction of a second.
// Jacobi is also the more accurate method (Demmel & Veselic 1992); its O(n^3) per sweep with
// about 5-10 sweeps is immaterial at these sizes. Eigenvalues ascending, eigenvectors
// orthonormal columns, as Eigen's solver returns them; only the lower triangle is read.
// Used by qp and optim; includes nothing of rmpc.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

namespace rmpc::detail {

template <typename Scalar, int N = Eigen::Dynamic>
class SymmetricEigen {
 public:
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  using Vector = Eigen::Matrix<Scalar, N, 1>;

  SymmetricEigen() = default;

  /// Preallocates for n x n matrices (dynamic sizes: compute() then allocates nothing).
  explicit SymmetricEigen(Eigen::Index n) : a_(n, n), v_(n, n), lambda_(n) {}

  /// Decomposes symmetric A (lower triangle read) into V diag(lambda) V'. with_vectors = false
  /// skips V. info(): Success, NumericalIssue (NaN/Inf in A) or NoConvergence (sweep budget
  /// spent: not seen on any test matrix; quadratic convergence takes ~log2(n) + 4 sweeps).
  template <typename Derived>
  SymmetricEigen& compute(const Eigen::MatrixBase<Derived>& A, bool with_vectors = true) {
    const Eigen::Index n = A.rows();
    if (A.cols() != n)
      throw std::invalid_argument("SymmetricEigen::compute: A must be square (got " +
                                  std::to_string(n) + " x " + std::to_string(A.cols()) + ")");
    with_vectors_ = with_vectors;
    lambda_.resize(n);
    a_.resize(n, n);
    a_.template triangularView<Eigen::Lower>() = A;
    if (with_vectors) v_.setIdentity(n, n);
    // Scaled to max |a_ij| = 1 so that no square below over- or underflows.
    Scalar scale(0);
    bool finite = true;
    for (Eigen::Index j = 0; j < n; ++j)
      for (Eigen::Index i = j; i < n; ++i) {
        finite = finite && std::isfinite(a_(i, j));
        scale = std::max(scale, std::abs(a_(i, j)));
      }
    if (!finite) {
      lambda_.setConstant(std::numeric_limits<Scalar>::quiet_NaN());
      info_ = Eigen::NumericalIssue;
      return *this;
    }
    if (scale == Scalar(0)) {
      lambda_.setZero();
      info_ = Eigen::Success;
      return *this;
    }
    for (Eigen::Index j = 0; j < n; ++j)
      for (Eigen::Index i = j; i < n; ++i) {
        a_(i, j) /= scale;
        a_(j, i) = a_(i, j);
      }
    info_ = sweep(n) ? Eigen::Success : Eigen::NoConvergence;
    for (Eigen::Index i = 0; i < n; ++i) lambda_(i) = a_(i, i) * scale;
    sort_ascending(n);
    return *this;
  }

  Eigen::ComputationInfo info() const { return info_; }
  /// Eigenvalues, ascending (size n).
  const Vector& eigenvalues() const { return lambda_; }
  /// Orthonormal eigenvectors as columns, in the order of eigenvalues() (n x n).
  const Matrix& eigenvectors() const {
    if (!with_vectors_)
      throw std::logic_error("SymmetricEigen::eigenvectors: computed with with_vectors = false");
    return v_;
  }

 private:
  /// Cyclic Jacobi sweeps until the off-diagonal mass is below eps * ||A||_F (the accuracy of
  /// a backward-stable method). Returns false if the sweep budget ran out.
  bool sweep(Eigen::Index n) {
    const Scalar eps = Eigen::NumTraits<Scalar>::epsilon();
    const Scalar target = eps * eps * a_.squaredNorm();
    for (int s = 0; s < max_sweeps; ++s) {
      Scalar off(0);
      for (Eigen::Index q = 1; q < n; ++q)
        for (Eigen::Index p = 0; p < q; ++p) off += a_(p, q) * a_(p, q);
      if (off <= target) return true;
      for (Eigen::Index q = 1; q < n; ++q)
        for (Eigen::Index p = 0; p < q; ++p) rotate(n, p, q);
    }
    return false;
  }

  /// The rotation J(p, q, c, s) that zeroes a_pq: a_ <- J' a_ J, v_ <- v_ J (GvL Alg. 8.5.1).
  void rotate(Eigen::Index n, Eigen::Index p, Eigen::Index q) {
    const Scalar apq = a_(p, q);
    if (apq == Scalar(0)) return;
    const Scalar tau = (a_(q, q) - a_(p, p)) / (Scalar(2) * apq);
    // t = tan(angle), the smaller root of t^2 + 2 tau t - 1 = 0; 1 / (2 tau) once tau^2
    // would overflow (the root's limit).
    const Scalar big = Scalar(1) / Eigen::NumTraits<Scalar>::epsilon();
    const Scalar t = std::abs(tau) > big ? Scalar(1) / (Scalar(2) * tau)
                                         : (tau >= Scalar(0) ? Scalar(1) : Scalar(-1)) /
                                               (std::abs(tau) + std::sqrt(Scalar(1) + tau * tau));
    const Scalar c = Scalar(1) / std::sqrt(Scalar(1) + t * t), s = t * c;
    for (Eigen::Index k = 0; k < n; ++k) {  // columns p, q
      const Scalar akp = a_(k, p), akq = a_(k, q);
      a_(k, p) = c * akp - s * akq;
      a_(k, q) = s * akp + c * akq;
    }
    for (Eigen::Index k = 0; k < n; ++k) {  // rows p, q
      const Scalar apk = a_(p, k), aqk = a_(q, k);
      a_(p, k) = c * apk - s * aqk;
      a_(q, k) = s * apk + c * aqk;
    }
    a_(p, q) = a_(q, p) = Scalar(0);  // zero by construction; round-off dropped
    if (!with_vectors_) return;
    for (Eigen::Index k = 0; k < n; ++k) {
      const Scalar vkp = v_(k, p), vkq = v_(k, q);
      v_(k, p) = c * vkp - s * vkq;
      v_(k, q) = s * vkp + c * vkq;
    }
  }

  /// Selection sort of lambda_ (and the columns of v_): n swaps at most.
  void sort_ascending(Eigen::Index n) {
    for (Eigen::Index i = 0; i + 1 < n; ++i) {
      Eigen::Index k;
      lambda_.tail(n - i).minCoeff(&k);
      k += i;
      if (k == i) continue;
      std::swap(lambda_(i), lambda_(k));
      if (with_vectors_) v_.col(i).swap(v_.col(k));
    }
  }

  static constexpr int max_sweeps = 60;
  Matrix a_, v_;
  Vector lambda_;
  bool with_vectors_ = true;
  Eigen::ComputationInfo info_ = Eigen::InvalidInput;
};

}  // namespace rmpc::detail
