// The structure of the inequality rows C, found once per compute(): a row with a single
// nonzero is a bound on one variable (C_i z = a z_k), and a row equal to another or to its
// negative (the two sides of l <= c'z <= u written as c'z <= u, -c'z <= -l) shares that row's
// product. The violation scan then multiplies z by the distinct dense rows only, and an
// entering bound is rotated with one row of J instead of a product with J (n instead of n^2).
// A bound row's value is bitwise its full dot product (the terms dropped are exact zeros) and
// a mirrored row's the exact negation of its partner's.
//
// The distinct dense rows are stored sorted by their last nonzero column and multiplied in
// panels of kPanel columns, each panel only with the rows that reach into it: a condensed MPC's
// state rows are block lower triangular (x_k depends on u_0 .. u_{k-1}), so about half of the
// product is exact zeros and skipped (anchor QP nx = 8, N = 30: 240 x 90 rows).
#pragma once

#include "rmpc/qp/detail/rows.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace rmpc::qp::detail {

template <typename Scalar, int N, int M>
class RowStructure {
 public:
  using MatrixC = RowsMatrix<Scalar, M, N>;
  // Column-major: each panel of the product is a tall matrix-vector product (row-major made
  // the panels' short dot products slower than the zeros they skip). At most one row (M = 1)
  // must be row-major in Eigen unless it is also a single column.
  static constexpr int RowsLayout = (M == 1 && N != 1) ? Eigen::RowMajor : Eigen::ColMajor;
  // (No rows at all, M = 0: no maximum; Eigen's zero-size storage loses the column count.)
  using DenseRows =
      Eigen::Matrix<Scalar, Eigen::Dynamic, N, RowsLayout, M == 0 ? Eigen::Dynamic : M, N>;
  // z followed by the dense rows' values: every row's C_i z is one entry of it times a
  // coefficient (a branch-free gather).
  static constexpr int MaxGathered =
      (N == Eigen::Dynamic || M == Eigen::Dynamic) ? Eigen::Dynamic : N + M;
  using Gathered = Eigen::Matrix<Scalar, Eigen::Dynamic, 1, Eigen::ColMajor, MaxGathered, 1>;
  /// Columns per panel of the product: wide enough that a panel is one efficient
  /// matrix-vector product, narrow enough to skip most of a staircase's zeros.
  static constexpr Eigen::Index kPanel = 16;
  static constexpr int MaxPanels = N == Eigen::Dynamic ? Eigen::Dynamic : (N + 15) / 16;
  using PanelStarts = Eigen::Matrix<int, Eigen::Dynamic, 1, Eigen::ColMajor, MaxPanels, 1>;

  /// Classifies every row of C and copies the distinct dense rows. Allocates only when the
  /// sizes grow (dynamic sizes); nothing for fixed sizes.
  void analyze(const MatrixC& C) {
    const Eigen::Index m = C.rows(), n = C.cols();
    ref_.resize(m);
    coef_.resize(m);
    bound_.resize(m);
    hash_.resize(m);
    order_.resize(m);
    source_.resize(m);
    end_.resize(m);
    position_.resize(m);
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
    // Distinct rows first get a provisional reference -(1 + id); their storage position
    // (sorted by last nonzero column) is known only once all are found.
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
        ref_(i) = -int(1 + distinct);
        coef_(i) = Scalar(1);
        source_(distinct++) = i;
      }
    }
    // Sort the distinct rows by their end (last nonzero column + 1), ties by first occurrence.
    for (Eigen::Index id = 0; id < distinct; ++id) {
      Eigen::Index end = n;
      while (end > 0 && C(source_(id), end - 1) == Scalar(0)) --end;
      end_(id) = int(end);
      order_(id) = int(id);
    }
    std::sort(order_.data(), order_.data() + distinct,
              [this](int a, int b) { return end_(a) < end_(b) || (end_(a) == end_(b) && a < b); });
    rows_.resize(distinct, n);
    for (Eigen::Index pos = 0; pos < distinct; ++pos) {
      rows_.row(pos) = C.row(source_(order_(pos)));
      position_(order_(pos)) = int(pos);
    }
    for (Eigen::Index i = 0; i < m; ++i)
      if (!bound_(i)) ref_(i) = int(n + position_(-ref_(i) - 1));
    // Panel p (columns p kPanel ..) is multiplied with the sorted rows that end after its first
    // column: rows from panel_start_(p) on.
    const Eigen::Index panels = (n + kPanel - 1) / kPanel;
    panel_start_.resize(panels);
    Eigen::Index pos = 0;
    for (Eigen::Index p = 0; p < panels; ++p) {
      while (pos < distinct && end_(order_(pos)) <= p * kPanel) ++pos;
      panel_start_(p) = int(pos);
    }
    gathered_.resize(n + distinct);
  }

  /// cz = C z, the distinct dense rows multiplied once, each panel only with the rows that
  /// reach into it.
  template <typename Z, typename Out>
  void multiply(const Z& z, Out& cz) const {
    const Eigen::Index n = z.size(), distinct = rows_.rows();
    gathered_.head(n) = z;
    auto y = gathered_.tail(distinct);
    if (panel_start_.size() == 1) {
      y.noalias() = rows_ * z;
    } else {
      y.setZero();
      for (Eigen::Index p = 0; p < panel_start_.size(); ++p) {
        const Eigen::Index j0 = p * kPanel, w = std::min<Eigen::Index>(kPanel, n - j0);
        const Eigen::Index r0 = panel_start_(p);
        y.tail(distinct - r0).noalias() += rows_.block(r0, j0, distinct - r0, w) * z.segment(j0, w);
      }
    }
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
  Eigen::Matrix<int, M, 1> source_;          ///< Scratch: the row of C of each distinct row.
  Eigen::Matrix<int, M, 1> end_;             ///< Scratch: its last nonzero column + 1.
  Eigen::Matrix<int, M, 1> position_;        ///< Scratch: its position in rows_.
  PanelStarts panel_start_;                  ///< First row of rows_ reaching into panel p.
  DenseRows rows_;                           ///< The distinct dense rows.
  mutable Gathered gathered_;                ///< (z, rows_ z).
};

}  // namespace rmpc::qp::detail
