// Row access that stays a compile-time row vector even for matrices with a fixed zero row
// count (e.g. A of a QP with P = 0), where Eigen's row() is not a vector expression.
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

}  // namespace rmpc::qp::detail
