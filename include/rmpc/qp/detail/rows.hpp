// Matrices with a compile-time row count that may be zero (A of a QP with P = 0, C with
// M = 0): Eigen's row() is not a vector expression on a fixed zero-row matrix.
#pragma once

#include <Eigen/Core>

#include <type_traits>

namespace rmpc::qp::detail {

/// A matrix of M rows and Cols columns, M = 0 stored with a run-time row count (always 0: an
/// empty dynamic matrix allocates nothing), so that the code that reads its rows compiles.
/// (A maximum row count of 0 would be the natural type, but Eigen 3.4's zero-size storage
/// loses the fixed column count.)
template <typename Scalar, int M, int Cols>
using RowsMatrix = std::conditional_t<M == 0, Eigen::Matrix<Scalar, Eigen::Dynamic, Cols>,
                                      Eigen::Matrix<Scalar, M, Cols>>;

/// Row i of m as a compile-time row vector, also for a fixed zero row count (A with P = 0).
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

}  // namespace rmpc::qp::detail
