// Values measured around the accepted point that a trust-region model must reproduce.
//
// A sampled model (the critic's DPG g of the RL loop) can point uphill in a direction the
// loop has already measured: a rejected trial p_j gave d_j = J(x + p_j) - J(x) > 0 where the
// model predicted a decrease. Derivative-free trust-region methods build their model so that
// it interpolates the measured values (Conn, Scheinberg & Vicente, Introduction to
// Derivative-Free Optimization, 2009, ch. 10-11); here the model's gradient gets the smallest
// change (Euclidean) after which
//
//     m(p_j) = g_c' p_j + p_j' B p_j / 2 = d_j / value_scale      for every stored p_j,
//
// i.e. g_c = g + P w with P = [p_1 .. p_m] and P' P w = d / value_scale - m_g(P): the
// minimum-norm solution of P' (g_c - g) = r. The components of g orthogonal to the measured
// steps are the model's own. value_scale converts J's units to the model's (1 when the model
// approximates J itself). Steps that are (numerically) dependent on the newer ones are left
// out: the newest measurement in a direction counts.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <vector>

namespace rmpc::optim {

template <typename Scalar, int N = Eigen::Dynamic>
class MeasuredValues {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;

  void clear() {
    steps_.clear();
    rises_.clear();
  }
  /// A trial step p from the accepted point and its measured rise d = J(x + p) - J(x); a
  /// non-finite d or p is ignored (nothing was measured).
  void add(const Eigen::Ref<const Vector>& p, Scalar d) {
    if (!std::isfinite(d) || !p.allFinite() || !(p.squaredNorm() > Scalar(0))) return;
    steps_.push_back(p);
    rises_.push_back(d);
  }
  std::size_t size() const { return steps_.size(); }
  bool empty() const { return steps_.empty(); }

  /// g_c = g + P w (see the file comment); g_c = g when nothing is stored. Returns the number
  /// of measurements used (dependent steps are left out).
  int correct(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Matrix>& B,
              Scalar value_scale, Vector& g_c) const {
    g_c = g;
    const Eigen::Index n = g.size(), m = Eigen::Index(steps_.size());
    if (m == 0) return 0;
    // Modified Gram-Schmidt on the steps, newest first: Q (n x used) orthonormal, and for each
    // used step the residual of its condition projected on the new direction.
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> Q(n, std::min(m, n));
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> R =
        Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>::Zero(std::min(m, n), std::min(m, n));
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> r(std::min(m, n));
    const Scalar tol = Scalar(1e3) * Eigen::NumTraits<Scalar>::epsilon();
    Eigen::Index used = 0;
    for (Eigen::Index j = m - 1; j >= 0 && used < n; --j) {
      const Vector& p = steps_[std::size_t(j)];
      Eigen::Matrix<Scalar, Eigen::Dynamic, 1> v = p;
      for (Eigen::Index i = 0; i < used; ++i) {
        R(i, used) = Q.col(i).dot(v);
        v -= R(i, used) * Q.col(i);
      }
      const Scalar norm = v.norm();
      if (!(norm > tol * p.norm())) continue;  // dependent on newer steps
      R(used, used) = norm;
      Q.col(used) = v / norm;
      r(used) = rises_[std::size_t(j)] / value_scale - (g.dot(p) + Scalar(0.5) * p.dot(B * p));
      ++used;
    }
    // P_used = Q R; conditions R' Q' delta = r; minimum norm: delta = Q y, R' y = r.
    const Eigen::Matrix<Scalar, Eigen::Dynamic, 1> y = R.topLeftCorner(used, used)
                       .template triangularView<Eigen::Upper>()
                       .transpose()
                       .solve(r.head(used));
    g_c += Q.leftCols(used) * y;
    return int(used);
  }

 private:
  std::vector<Vector> steps_;
  std::vector<Scalar> rises_;
};

}  // namespace rmpc::optim
