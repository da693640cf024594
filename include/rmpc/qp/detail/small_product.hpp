// dst = lhs rhs (or +=, -=) for products over the variables of a QP whose count N is fixed
// and small (the sensitivities' block solves and data terms, the rows' values C z of a policy
// evaluation): coefficient-wise (lazyProduct) when N <= 16, Eigen's general product otherwise.
//
// Why: Eigen's general product packs both operands into panels before its kernel runs; for a
// 10 x 10 by 10 x 8 product (the paper's policy: n = 10 variables, 8 parameters) the packing
// costs more than the flops. bench_mpc: the first-order sensitivities 3.44 -> 3.26 us, the
// policy with all derivatives 6.09 -> 5.83 us (min of 6 alternated runs, 2026-12-07) from the
// KKT block solve alone. Dynamic or larger N (the anchor QPs, n up to 90) keep the packed
// product, which wins there.
#pragma once

#include <Eigen/Core>

namespace rmpc::qp::detail {

/// What small_product does with dst: dst = lhs rhs, dst += lhs rhs or dst -= lhs rhs.
enum class Update { assign, add, subtract };

template <int N, Update U = Update::assign, typename Dst, typename Lhs, typename Rhs>
void small_product(Dst&& dst, const Lhs& lhs, const Rhs& rhs) {
  if constexpr (N != Eigen::Dynamic && N <= 16) {
    if constexpr (U == Update::add)
      dst.noalias() += lhs.lazyProduct(rhs);
    else if constexpr (U == Update::subtract)
      dst.noalias() -= lhs.lazyProduct(rhs);
    else
      dst.noalias() = lhs.lazyProduct(rhs);
  } else {
    if constexpr (U == Update::add)
      dst.noalias() += lhs * rhs;
    else if constexpr (U == Update::subtract)
      dst.noalias() -= lhs * rhs;
    else
      dst.noalias() = lhs * rhs;
  }
}

}  // namespace rmpc::qp::detail
