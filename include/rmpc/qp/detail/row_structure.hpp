// The structure of the inequality rows C, found once per compute(): a row with a single
// nonzero is a bound on one variable (C_i z = a z_k), and a row equal to another or to its
// negative (the two sides of l <= c'z <= u written as c'z <= u, -c'z <= -l) shares that row's
// product. The violation scan then multiplies z by the distinct dense rows only, and an
// entering bound is rotated with one row of J instead of a product with J (n instead of n^2).
// A bound row's value is bitwise its full dot product (the terms dropped are exact zeros) and
// a mirrored row's the exact negation of its partner's.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rmpc::qp::detail {

template <typename Scalar, int N, int M>
class RowStructure {
 public:
  using MatrixC = Eigen::Matrix<Scalar, M, N>;
  // Row-major: a dense row is contiguous (normals are read row by row). A single column
  // must be column-major in Eigen.
  using DenseRows =
      Eigen::Matrix<Scalar, Eigen::Dynamic, N, (N == 1 ? Eigen::ColMajor : Eigen::RowMajor), M, N>;
  // z followed by the dense rows' values: every row's C_i z is one entry of it times a
  // coefficient (a branch-free gather).
  static constexpr int MaxGathered =
      (N == Eigen::Dynamic || M == Eigen::Dynamic) ? Eigen::Dynamic : N + M;
  using Gathered = Eigen::Matrix<Scalar, Eigen::Dynamic, 1, Eigen::ColMajor, MaxGathered, 1>;

  /// Classifies every row of C and copies the distinct dense rows. Allocates only when the
  /// sizes grow (dynamic sizes); nothing for fixed sizes.
  void analyze(const MatrixC& C) {
    const Eigen::Index m = C.rows(), n = C.cols();
    ref_.resize(m);
    coef_.resize(m);
    bound_.resize(m);
    hash_.resize(m);
    order_.resize(m);
    Eigen::Index dense = 0;
    for (Eigen::Index i = 0; i < m; ++i) {
      Eigen::Index nonzeros = 0, last = 0, first = -1;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (C(i, j) == Scalar(0)) continue;
        ++nonzeros;
        last = j;
        if (first < 0) first = j;
      }
      bound_(i) = nonzeros == 1;
      if (bound_(i)) {
        ref_(i) = int(last);
        coef_(i) = C(i, last);
        continue;
      }
      // Sign-normalized hash: a row and its negative hash alike.
      const Scalar s = first >= 0 && C(i, first) < Scalar(0) ? Scalar(-1) : Scalar(1);
      std::uint64_t h = 1469598103934665603ull;
      for (Eigen::Index j = 0; j < n; ++j) {
        Scalar v = s * C(i, j);
        if (v == Scalar(0)) v = Scalar(0);  // -0 and +0 alike
        unsigned char bytes[sizeof(Scalar)];
        std::memcpy(bytes, &v, sizeof(Scalar));
        for (unsigned char b : bytes) h = (h ^ b) * 1099511628211ull;
      }
      hash_(i) = h;
      order_(dense++) = int(i);
    }
    // Rows with equal hashes become neighbours, first occurrence first (in place: no buffer).
    std::sort(order_.data(), order_.data() + dense, [this](int a, int b) {
      return hash_(a) < hash_(b) || (hash_(a) == hash_(b) && a < b);
    });
    rows_.resize(dense, n);
    Eigen::Index distinct = 0;
    for (Eigen::Index k = 0; k < dense; ++k) {
      const int i = order_(k);
      int match = -1;
      Scalar sign = Scalar(1);
      for (Eigen::Index l = k - 1; l >= 0 && hash_(order_(l)) == hash_(i); --l) {
        const int j = order_(l);
        if (C.row(i) == C.row(j)) {
          match = j, sign = Scalar(1);
        } else if (C.row(i) == -C.row(j)) {
          match = j, sign = Scalar(-1);
        }
        if (match >= 0) break;
      }
      if (match >= 0) {
        ref_(i) = ref_(match);
        coef_(i) = sign * coef_(match);
      } else {
        ref_(i) = int(n + distinct);  // the entry of gathered_ after z
        coef_(i) = Scalar(1);
        rows_.row(distinct++) = C.row(i);
      }
    }
    rows_.conservativeResize(distinct, n);
    gathered_.resize(n + distinct);
  }

  /// cz = C z, the distinct dense rows multiplied once.
  template <typename Z, typename Out>
  void multiply(const Z& z, Out& cz) const {
    const Eigen::Index n = z.size();
    gathered_.head(n) = z;
    gathered_.tail(rows_.rows()).noalias() = rows_ * z;
    for (Eigen::Index i = 0; i < ref_.size(); ++i) cz(i) = coef_(i) * gathered_(ref_(i));
  }

  /// A bound row: C_i z = coefficient(i) z(variable(i)).
  bool is_bound(Eigen::Index i) const { return bound_(i) != 0; }
  int variable(Eigen::Index i) const { return ref_(i); }
  Scalar coefficient(Eigen::Index i) const { return coef_(i); }
  Eigen::Index num_dense_rows() const { return rows_.rows(); }

 private:
  Eigen::Matrix<int, M, 1> ref_;             ///< Variable (bound) or n + dense-row index.
  Eigen::Matrix<Scalar, M, 1> coef_;         ///< a of a z_k, or +-1 for a dense row.
  Eigen::Matrix<std::int8_t, M, 1> bound_;   ///< 1: a bound row.
  Eigen::Matrix<std::uint64_t, M, 1> hash_;  ///< Scratch of analyze().
  Eigen::Matrix<int, M, 1> order_;           ///< Scratch of analyze().
  DenseRows rows_;                           ///< The distinct dense rows.
  mutable Gathered gathered_;                ///< (z, rows_ z).
};

}  // namespace rmpc::qp::detail
