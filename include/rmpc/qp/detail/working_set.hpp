// The Goldfarb-Idnani factorization of a working set, shared by the solver (which grows
// and shrinks it) and the sensitivities (which reuse it for back-solves).
//
// With H = L L' and the working-set normals N (columns), L^{-1} N = Q [R; 0]. We keep
// J = L^{-T} Q and the upper-triangular R, so that J'N = [R; 0] and J J' = H^{-1}
// (Goldfarb & Idnani 1983, section 3). Adding a normal is one Householder reflection of J's
// null-space columns, removing one a sequence of Givens rotations on J and R: O(n^2), no
// refactorization.
#pragma once

#include "rmpc/qp/detail/small_product.hpp"

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
    v_.resize(n);
    w_.resize(n);
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
    v_.resize(L.rows());
    w_.resize(L.rows());
    q_ = 0;
    pristine_ = true;
  }
  const MatrixNN& J0() const { return J0_; }

  /// x = H^{-1} r = J0 J0' r: two triangular products (J0 is upper triangular), no division.
  /// Below kTriangularFrom variables the full products (zeros included) are used: Eigen's
  /// triangular product works in panels and costs twice the plain product at n = 10 (38 vs
  /// 72 ns for the pair, 178 vs 257 ns at n = 30); from about n = 50 on, half the flops win.
  template <typename R, typename X>
  void solve_hessian(const R& r, X& x) const {
    if (dim() < kTriangularFrom) {
      work_.noalias() = J0_.transpose() * r;
      x.noalias() = J0_ * work_;
    } else {
      work_.noalias() = J0_.template triangularView<Eigen::Upper>().transpose() * r;
      x.noalias() = J0_.template triangularView<Eigen::Upper>() * work_;
    }
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
    solve_r(r.head(q_));
  }

  /// Appends the normal whose rotated form is d (overwritten). Returns |R(q,q)|, the
  /// normal's distance from the span of the working set in the H^{-1} metric.
  Scalar add(VectorN& d) {
    reflect_null_space(d);
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
    if ((m < big && m > small) || !std::isfinite(m)) {  // NaN / Inf: no ilogb, passed on
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
    const MatrixNN& J = this->J();
    work_.noalias() = J.transpose() * r1;
    // u = R^{-T} r2 in lambda's storage; then work = (u, v2) and lambda = v1 - u, so that
    // x = J work is one product, and lambda = R^{-1}(v1 - u).
    lambda.head(q_) = r2.head(q_);
    solve_r_transposed(lambda.head(q_));
    for (Eigen::Index k = 0; k < q_; ++k) {
      const Scalar v1 = work_(k);
      work_(k) = lambda(k);
      lambda(k) = v1 - lambda(k);
    }
    x.noalias() = J * work_;
    solve_r(lambda.head(q_));
  }

  /// The same for k right-hand sides (columns of r1, r2) by matrix products; work: n x k.
  template <typename R1, typename R2, typename X, typename Lambda, typename Work>
  void solve_kkt_block(const R1& r1, const R2& r2, X& x, Lambda& lambda, Work& work) const {
    const Eigen::Index n = dim();
    const MatrixNN& J = this->J();
    small_product<N>(work, J.transpose(), r1);
    lambda.topRows(q_) = r2.topRows(q_);
    R_.topLeftCorner(q_, q_).transpose().template triangularView<Eigen::Lower>().solveInPlace(
        lambda.topRows(q_));
    small_product<N>(x, J.leftCols(q_), lambda.topRows(q_));
    if (q_ < n) small_product<N, Update::add>(x, J.rightCols(n - q_), work.bottomRows(n - q_));
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
  /// x <- R^{-1} x and x <- R^{-T} x with the leading q x q block of R, by plain loops over
  /// R's columns: Eigen's triangular solves cost four times as much at q = 2 (call overhead,
  /// 37 vs 9 ns for the pair), 1.3x at q = 5 and the same from q = 30 on.
  template <typename V>
  void solve_r(V&& x) const {
    for (Eigen::Index j = q_ - 1; j >= 0; --j) {
      x(j) /= R_(j, j);
      x.head(j) -= x(j) * R_.col(j).head(j);
    }
  }
  template <typename V>
  void solve_r_transposed(V&& x) const {
    for (Eigen::Index j = 0; j < q_; ++j)
      x(j) = (x(j) - R_.col(j).head(j).dot(x.head(j))) / R_(j, j);
  }

  /// Maps d's null-space part d2 = d.tail(n - q) to (|d2|, 0, ..., 0) by one Householder
  /// reflection P = I - beta v v' applied to J's last n - q columns (J2 <- J2 P keeps
  /// J'HJ = I: P is orthogonal). One matrix-vector product and one rank-one update instead
  /// of n - q - 1 Givens rotations (a chain of dependent square roots and divisions, and
  /// column pairs touched one at a time): a cold solve with one active row went from 13.8 to
  /// 11.5 us at n = 90 (anchor QP nx = 8, N = 30), the same within noise at n = 10.
  /// v(0) = d2(0) - |d2| is formed without cancellation (Parlett's form for d2(0) > 0), so
  /// that R(q,q) = |d2| >= 0. A tail below round-off of |d2| (|d2(1:)| <= eps |d2| / 2) is
  /// dropped instead: J'n then misses the tail, an error of at most eps / 2 of R(q,q), below
  /// the round-off of computing it. Reflecting it broke: in a closed loop of the paper's MPC a
  /// rotated bound came out as (0.047, -1.8e-178), the tail's square underflowed to zero,
  /// beta = 2 / |v|^2 was inf and J turned NaN. Entries whose squares could overflow or
  /// underflow (subnormal rotated normals occur: see givens()) are first scaled by a power of
  /// two; NaN and Inf are passed on (reflected), never dropped.
  void reflect_null_space(VectorN& d) {
    const Eigen::Index n = dim(), k = n - q_;
    if (k > 1 && (pristine_ ? reflect_pristine(d) : reflect_columns(d.tail(k)))) return;
    if (pristine_) J_ = J0_;
    pristine_ = false;
    if (k == 0) return;
    auto d2 = d.tail(k);
    // Nothing below d2(0) (or only round-off): R(q,q) = |d2(0)|, J's column q signed to match.
    d2.tail(k - 1).setZero();
    if (d2(0) < Scalar(0)) {
      d2(0) = -d2(0);
      J_.col(q_) *= Scalar(-1);
    }
  }

  /// J2 <- J2 P for the reflection P that maps d2 to (|d2|, 0, ..., 0); false (nothing
  /// written) when no reflection is needed.
  template <typename D2>
  bool reflect_columns(D2&& d2) {
    const Eigen::Index k = d2.size();
    auto v = v_.head(k);
    Scalar h;
    int e;
    if (!householder_vector(d2, v, h, e)) return false;
    auto J2 = J_.rightCols(k);
    w_.noalias() = J2 * v;
    w_ *= beta_;
    J2.noalias() -= w_ * v.transpose();
    set_reflected(d2, h, e);
    return true;
  }

  /// The first add() after reset() (q = 0): J = J0 - beta (J0 v) v' in one pass, no copy of
  /// J0 first. False (nothing written) when no reflection is needed.
  bool reflect_pristine(VectorN& d) {
    const Eigen::Index n = dim();
    Scalar h;
    int e;
    auto v = v_.head(n);
    if (!householder_vector(d, v, h, e)) return false;
    if (n < kTriangularFrom)
      w_.noalias() = J0_ * v;
    else
      w_.noalias() = J0_.template triangularView<Eigen::Upper>() * v;
    w_ *= beta_;
    for (Eigen::Index c = 0; c < n; ++c) J_.col(c) = J0_.col(c) - v(c) * w_;
    pristine_ = false;
    set_reflected(d, h, e);
    return true;
  }

  /// x <- (|x|, 0, ..., 0) after its reflection, |x| = h 2^e.
  template <typename X>
  static void set_reflected(X&& x, Scalar h, int e) {
    x.setZero();
    x(0) = e == 0 ? h : std::ldexp(h, e);
  }

  /// The Householder vector v (in beta_) of x, scaled by 2^-e, and |x| = h 2^e; false when x's
  /// tail is zero or below round-off of |x| (no reflection needed).
  template <typename X, typename V>
  bool householder_vector(const X& x, V& v, Scalar& h, int& e) {
    using std::sqrt;
    const Eigen::Index k = x.size();
    if (x.tail(k - 1).isZero(Scalar(0))) return false;
    const Scalar eps = std::numeric_limits<Scalar>::epsilon();
    // In [small, big] no square below can overflow, and eps^2 h^2 / 4 stays a normal number.
    const Scalar big = sqrt(std::numeric_limits<Scalar>::max()) / Scalar(4 * k);
    const Scalar small = Scalar(16) * sqrt(std::numeric_limits<Scalar>::min()) / eps;
    const Scalar m = x.cwiseAbs().maxCoeff();
    e = 0;
    if ((m < big && m > small) || !std::isfinite(m)) {  // NaN / Inf: no ilogb, passed on
      v = x;
    } else {
      e = std::ilogb(m);
      for (Eigen::Index i = 0; i < k; ++i) v(i) = std::scalbn(x(i), -e);
    }
    const Scalar sigma = v.tail(k - 1).squaredNorm();
    h = sqrt(v(0) * v(0) + sigma);
    if (sigma <= Scalar(0.25) * (eps * h) * (eps * h)) return false;  // (NaN: reflected)
    v(0) = v(0) <= Scalar(0) ? v(0) - h : -sigma / (v(0) + h);
    beta_ = Scalar(2) / (v(0) * v(0) + sigma);
    return true;
  }

  void rotate_columns(Eigen::Index a, Eigen::Index b, Scalar c, Scalar s) {
    for (Eigen::Index i = 0; i < J_.rows(); ++i) {
      const Scalar x = J_(i, a), y = J_(i, b);
      J_(i, a) = c * x + s * y;
      J_(i, b) = -s * x + c * y;
    }
  }
  static constexpr Eigen::Index kTriangularFrom = 48;  ///< See solve_hessian().
  MatrixNN J0_;  ///< L(H)^{-T}: once per H (upper triangular; its lower part exact zeros).
  MatrixNN J_;   ///< J0 times the working set's rotations; stale while pristine_.
  MatrixNN R_;
  mutable VectorN work_;
  VectorN v_, w_;            ///< Householder vector and beta J2 v (reflect_null_space).
  Scalar beta_ = Scalar(0);  ///< 2 / |v|^2.
  Eigen::Index q_ = 0;
  bool pristine_ = false;  ///< J is J0 (no add() since reset()): J_ not yet written.
};

}  // namespace rmpc::qp::detail
