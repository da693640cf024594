// Row access that stays a compile-time row vector even for matrices with a fixed zero row
// count (e.g. A of a QP with P = 0), where Eigen's row() is not a vector expression; the
// finiteness test of the data handed to every solve.
#pragma once

#include <Eigen/Core>

namespace rmpc::qp::detail {

template <typename Derived>
auto row(const Eigen::PlainObjectBase<Derived>& m, Eigen::Index i) {
  using RowType = const Eigen::Matrix<typename Derived::Scalar, 1, Derived::ColsAtCompileTime>;
  using RowMap = Eigen::Map<RowType, 0, Eigen::InnerStride<>>;
  // Eigen stores fixed single-row matrices row-major.
  if constexpr (Derived::IsRowMajor)
    return RowMap(m.data() + i * m.outerStride(), 1, m.cols(), Eigen::InnerStride<>(1));
  else
    return RowMap(m.data() + i, 1, m.cols(), Eigen::InnerStride<>(m.outerStride()));
}

/// Whether every entry is finite, as one vectorized sum: x * 0 is (+-)0 for a finite x and NaN
/// for NaN or +-Inf, and a sum with a NaN term is NaN. Eigen's allFinite() compares x - x
/// with itself entry by entry, unvectorized: 5 % of a small cold solve's time was that check.
template <typename Derived>
bool all_finite(const Eigen::DenseBase<Derived>& x) {
  using Scalar = typename Derived::Scalar;
  return x.size() == 0 || (x.derived().array() * Scalar(0)).sum() == Scalar(0);
}

}  // namespace rmpc::qp::detail
