// The heavy members of an LqMpc behind three class templates, so that
// rmpc/mpc/lq_mpc_instantiation.hpp can compile them once per program.
//
// Why class templates: an explicit instantiation of a class template specialization may name
// the LqMpc by an alias (`template struct LqMpcPolicy<MyMpc>;`), while one of a member of the
// LqMpc itself must spell its template-id (ISO C++ [temp.explicit]: `template void
// MyMpc::f();` with MyMpc an alias is a compiler extension; clang -Wpedantic rejects it). Each
// static function forwards to the member. Its definition is out of the class body, so it is
// not inline: a translation unit that sees the `extern template` declaration compiles neither
// it nor the member it calls.
//
// Included only from rmpc/mpc/lq_mpc.hpp (LqMpc declares these templates its friends).
#pragma once

#include "rmpc/mpc/policy_result.hpp"
#include "rmpc/qp/problem.hpp"

namespace rmpc::mpc::detail {

/// The constructor's work for the functor type Model: the model in values and in nested
/// AutoDiffScalar (std::function wrappers), the size checks and the allocation.
template <typename Mpc, typename Model>
struct LqMpcConstruct {
  static void construct(Mpc& mpc, const Model& model);
};

/// set_parameters() after its size check: the expansion at theta (method.md §3).
template <typename Mpc>
struct LqMpcSetup {
  static qp::Status set_parameters(Mpc& mpc, const typename Mpc::VectorTheta& theta);
};

/// The policy at a state (evaluate: the solve and the sensitivities) and q_value.
template <typename Mpc>
struct LqMpcPolicy {
  static void evaluate(Mpc& mpc, const typename Mpc::VectorX& s, const PolicyRequest& request,
                       bool with_extra, typename Mpc::Result& out);
  static typename Mpc::QResult q_value(Mpc& mpc);
};

template <typename Mpc, typename Model>
void LqMpcConstruct<Mpc, Model>::construct(Mpc& mpc, const Model& model) {
  mpc.construct_impl(model);
}

template <typename Mpc>
qp::Status LqMpcSetup<Mpc>::set_parameters(Mpc& mpc, const typename Mpc::VectorTheta& theta) {
  return mpc.set_parameters_checked(theta);
}

template <typename Mpc>
void LqMpcPolicy<Mpc>::evaluate(Mpc& mpc, const typename Mpc::VectorX& s,
                                const PolicyRequest& request, bool with_extra,
                                typename Mpc::Result& out) {
  mpc.evaluate_impl(s, request, with_extra, out);
}

template <typename Mpc>
typename Mpc::QResult LqMpcPolicy<Mpc>::q_value(Mpc& mpc) {
  return mpc.q_value_impl();
}

}  // namespace rmpc::mpc::detail
