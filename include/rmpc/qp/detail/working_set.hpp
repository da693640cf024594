// The Goldfarb-Idnani factorization of a working set, shared by the solver (which grows
// and shrinks it) and the sensitivities (which reuse it for back-solves).
//
// With H = L L' and the working-set normals N (columns), L^{-1} N = Q [R; 0]. We keep
// J = L^{-T} Q and the upper-triangular R, so that J'N = [R; 0] and J J' = H^{-1}
// (Goldfarb & Idnani 1983, section 3). Adding or removing a normal is a sequence of Givens
// rotations on J and R: O(n^2), no refactorization.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace rmpc::qp::detail {

template <typename Scalar, int N>
class WorkingSetFactor {
 public:
  using MatrixNN = Eigen::Matrix<Scalar, N, N>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;

  void resize(Eigen::Index n) {
    J0_.resize(n, n);
    J_.resize(n, n);
    R_.resize(n, n);
    work_.resize(n);
    q_ = 0;
    pristine_ = false;
  }

  /// Once per H: J0 = L^{-T} / scale for the Cholesky factor L (lower triangle of `L`) of
  /// H / scale^2, `scale` a power of two so that the division is exact. J0 is the empty working
  /// set's J; it depends on H only, so every cold start reuses it (reset()).
  template <typename LowerFactor>
  void set_hessian_factor(const LowerFactor& L, Scalar scale) {
    J0_.setIdentity(L.rows(), L.cols());
    L.transpose().template triangularView<Eigen::Upper>().solveInPlace(J0_);
    if (scale != Scalar(1)) J0_ /= scale;
    J_.resize(L.rows(), L.cols());
    R_.resize(L.rows(), L.cols());
    work_.resize(L.rows());
    q_ = 0;
    pristine_ = true;
  }
  const MatrixNN& J0() const { return J0_; }

  /// x = H^{-1} r = J0 J0' r: two triangular products (J0 is upper triangular), no division.
  template <typename R, typename X>
  void solve_hessian(const R& r, X& x) const {
    work_.noalias() = J0_.template triangularView<Eigen::Upper>().transpose() * r;
    x.noalias() = J0_.template triangularView<Eigen::Upper>() * work_;
  }

  /// Start from the empty working set, J = J0. Nothing is copied until the first add(): a
  /// cold solve that ends with no active row never touches J.
  void reset() {
    q_ = 0;
    pristine_ = true;
  }

  Eigen::Index size() const { return q_; }
  Eigen::Index dim() const { return J_.rows(); }
  const MatrixNN& J() const { return pristine_ ? J0_ : J_; }
  const MatrixNN& R() const { return R_; }

  /// d = J' n: the normal in the rotated coordinates. Its head(q) gives the dual step
  /// (R r = d1) and its tail the primal step (s = -J2 d2).
  template <typename Normal>
  void rotate_normal(const Normal& normal, VectorN& d) const {
    d.noalias() = J().transpose() * normal;
  }

  /// d = J' (a e_k) = a J(k, :)': the rotated normal of a bound on variable k, in O(n).
  void rotate_unit(Eigen::Index k, Scalar a, VectorN& d) const {
    d.noalias() = a * J().row(k).transpose();
  }

  /// Primal step s = -J2 d2 (the projection of -H^{-1} n onto the working set's null space).
  void primal_step(const VectorN& d, VectorN& s) const {
    const Eigen::Index n = dim();
    if (q_ == n) {
      s.setZero();
      return;
    }
    s.noalias() = -J().rightCols(n - q_) * d.tail(n - q_);
  }

  /// Dual step r = R^{-1} d1 (the working-set multipliers change by -t r).
  template <typename Out>
  void dual_step(const VectorN& d, Out& r) const {
    r.head(q_) = d.head(q_);
    R_.topLeftCorner(q_, q_).template triangularView<Eigen::Upper>().solveInPlace(r.head(q_));
  }

  /// Appends the normal whose rotated form is d (overwritten). Returns |R(q,q)|, the
  /// normal's distance from the span of the working set in the H^{-1} metric.
  Scalar add(VectorN& d) {
    const Eigen::Index n = dim();
    if (pristine_) {
      J_ = J0_;
      pristine_ = false;
    }
    for (Eigen::Index j = n - 1; j > q_; --j) {
      const Scalar a = d(j - 1), b = d(j);
      if (b == Scalar(0)) continue;
      Scalar c, s, h;
      givens(a, b, c, s, h);
      d(j - 1) = h;
      d(j) = Scalar(0);
      rotate_columns(j - 1, j, c, s);
    }
    R_.col(q_).head(q_ + 1) = d.head(q_ + 1);
    ++q_;
    return std::abs(d(q_ - 1));
  }

  /// Negates the k-th normal (J'N = [R; 0] keeps holding: column k of R changes sign).
  void flip(Eigen::Index k) { R_.col(k).head(k + 1) *= Scalar(-1); }

  /// The Givens rotation that maps (a, b) to (h, 0): c = a / h, s = b / h, h = sqrt(a^2 + b^2)
  /// (b != 0). The plain formula where the squares can neither overflow nor underflow;
  /// outside that range a and b are first scaled by a power of two (exact), so that c and s
  /// are accurate and c^2 + s^2 = 1 to round-off. std::hypot alone is not enough: with
  /// subnormal a, b (products of small entries of J, 1e-320 on an anchor QP with nx = 8,
  /// N = 30) its subnormal h kept about ten significant bits, c^2 + s^2 missed 1 by 3e-4 and
  /// J lost its orthogonality for every later solve (warm starts ended `inaccurate`).
  static void givens(Scalar a, Scalar b, Scalar& c, Scalar& s, Scalar& h) {
    using std::abs;
    using std::sqrt;
    const Scalar big = sqrt(std::numeric_limits<Scalar>::max()) / Scalar(4);
    const Scalar small = sqrt(std::numeric_limits<Scalar>::min()) * Scalar(4);
    const Scalar m = std::max(abs(a), abs(b));
    if (m < big && m > small) {
      h = sqrt(a * a + b * b);
      c = a / h;
      s = b / h;
      return;
    }
    const int e = std::ilogb(m);
    const Scalar as = std::scalbn(a, -e), bs = std::scalbn(b, -e);
    const Scalar hs = sqrt(as * as + bs * bs);
    c = as / hs;
    s = bs / hs;
    h = std::scalbn(hs, e);
  }

  /// Removes the k-th normal, restoring R's triangular form with Givens rotations.
  void remove(Eigen::Index k) {
    for (Eigen::Index col = k; col + 1 < q_; ++col)
      R_.col(col).head(col + 2) = R_.col(col + 1).head(col + 2);
    for (Eigen::Index j = k; j + 1 < q_; ++j) {
      const Scalar a = R_(j, j), b = R_(j + 1, j);
      if (b == Scalar(0)) continue;
      Scalar c, s, h;
      givens(a, b, c, s, h);
      R_(j, j) = h;
      R_(j + 1, j) = Scalar(0);
      for (Eigen::Index col = j + 1; col + 1 < q_; ++col) {
        const Scalar x = R_(j, col), y = R_(j + 1, col);
        R_(j, col) = c * x + s * y;
        R_(j + 1, col) = -s * x + c * y;
      }
      rotate_columns(j, j + 1, c, s);
    }
    --q_;
  }

  /// Solves the working-set KKT system  [H N; N' 0] [x; lambda] = [r1; r2]  in O(n^2):
  /// v = J'r1, R lambda = v1 - R^{-T} r2, x = J2 v2 + J1 R^{-T} r2.
  template <typename R1, typename R2, typename X, typename Lambda>
  void solve_kkt(const R1& r1, const R2& r2, X& x, Lambda& lambda) const {
    const Eigen::Index n = dim();
    const MatrixNN& J = this->J();
    work_.noalias() = J.transpose() * r1;
    // u = R^{-T} r2 overwrites lambda's storage, then lambda = R^{-1}(v1 - u).
    lambda.head(q_) = r2.head(q_);
    R_.topLeftCorner(q_, q_).transpose().template triangularView<Eigen::Lower>().solveInPlace(
        lambda.head(q_));
    x.noalias() = J.leftCols(q_) * lambda.head(q_);
    if (q_ < n) x.noalias() += J.rightCols(n - q_) * work_.tail(n - q_);
    lambda.head(q_) = work_.head(q_) - lambda.head(q_);
    R_.topLeftCorner(q_, q_).template triangularView<Eigen::Upper>().solveInPlace(lambda.head(q_));
  }

  /// The same for k right-hand sides at once (columns of r1, r2): matrix products instead of
  /// k matrix-vector products. `work` is n x k scratch.
  template <typename R1, typename R2, typename X, typename Lambda, typename Work>
  void solve_kkt_block(const R1& r1, const R2& r2, X& x, Lambda& lambda, Work& work) const {
    const Eigen::Index n = dim();
    const MatrixNN& J = this->J();
    work.noalias() = J.transpose() * r1;
    lambda.topRows(q_) = r2.topRows(q_);
    R_.topLeftCorner(q_, q_).transpose().template triangularView<Eigen::Lower>().solveInPlace(
        lambda.topRows(q_));
    x.noalias() = J.leftCols(q_) * lambda.topRows(q_);
    if (q_ < n) x.noalias() += J.rightCols(n - q_) * work.bottomRows(n - q_);
    lambda.topRows(q_) = work.topRows(q_) - lambda.topRows(q_);
    R_.topLeftCorner(q_, q_).template triangularView<Eigen::Upper>().solveInPlace(
        lambda.topRows(q_));
  }

  /// Smallest |R(j,j)| relative to the largest: near zero when the working-set normals are
  /// (nearly) linearly dependent, i.e. LICQ fails.
  Scalar conditioning() const {
    if (q_ == 0) return Scalar(1);
    const auto diag = R_.diagonal().head(q_).cwiseAbs();
    return diag.minCoeff() / diag.maxCoeff();
  }

 private:
  void rotate_columns(Eigen::Index a, Eigen::Index b, Scalar c, Scalar s) {
    for (Eigen::Index i = 0; i < J_.rows(); ++i) {
      const Scalar x = J_(i, a), y = J_(i, b);
      J_(i, a) = c * x + s * y;
      J_(i, b) = -s * x + c * y;
    }
  }
  MatrixNN J0_;  ///< L(H)^{-T}: once per H.
  MatrixNN J_;   ///< J0 times the working set's rotations; stale while pristine_.
  MatrixNN R_;
  mutable VectorN work_;
  Eigen::Index q_ = 0;
  bool pristine_ = false;  ///< J is J0 (no add() since reset()): J_ not yet written.
};

}  // namespace rmpc::qp::detail
