// Row access that stays a compile-time row vector even for matrices with a fixed zero row
// count (e.g. A of a QP with P = 0), where Eigen's row() is not a vector expression.
#pragma once

#include <Eigen/Core>

namespace rmpc::qp::detail {

template <typename Derived>
auto row(const Eigen::PlainObjectBase<Derived>& m, Eigen::Index i) {
  static_assert(!Derived::IsRowMajor, "rmpc::qp::detail::row expects column-major storage");
  using RowType = const Eigen::Matrix<typename Derived::Scalar, 1, Derived::ColsAtCompileTime>;
  return Eigen::Map<RowType, 0, Eigen::InnerStride<>>(m.data() + i, 1, m.cols(), Eigen::InnerStride<>(m.rows()));
}

}  // namespace rmpc::qp::detail
