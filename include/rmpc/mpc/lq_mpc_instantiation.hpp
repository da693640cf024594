// Compiling an LqMpc type once per program, in two translation units that build in parallel.
//
// Why: an LqMpc is evaluated in values and in nested AutoDiffScalar; its two heavy members
// cost a translation unit tens of seconds and about a gigabyte of compiler memory each: the
// expansion at a theta (constructor and set_parameters: the model and the condensing in
// nested AutoDiffScalar) and the policy at a state (evaluate and q_value: the active-set
// solve and the sensitivities). Declaring just these members `extern` in the header that names
// the type keeps every other translation unit from compiling them, and defining the two groups
// in two files of their own keeps the peak memory of each file near half of one
// `template class LqMpc<...>;` (the paper's MPC: 0.9 GB and 1.1 GB instead of 1.6 GB). Every
// other member is cheap and is compiled where it is used, so no member can be left undefined.
//
//   // my_mpc.hpp, after the model functor MyModel:
//   using MyMpc = rmpc::mpc::LqMpc<double, 2, 1, 10, 8>;
//   RMPC_LQ_MPC_EXTERN(MyMpc, MyModel)
//   // my_mpc_setup.cpp:  #include "my_mpc.hpp"  RMPC_LQ_MPC_INSTANTIATE_SETUP(MyMpc, MyModel)
//   // my_mpc_policy.cpp: #include "my_mpc.hpp"  RMPC_LQ_MPC_INSTANTIATE_POLICY(MyMpc)
//
// MPC must name an LqMpc specialization without commas (a type alias); MODEL is the functor
// type passed to the constructor. The macros instantiate class templates of
// rmpc/mpc/detail/lq_mpc_compiled.hpp (standard C++ with an alias, unlike an explicit
// instantiation of a member of MyMpc). Use them at namespace scope outside any namespace (an
// explicit instantiation must be written in a namespace enclosing its template; the global
// namespace encloses every namespace).
#pragma once

#include "rmpc/mpc/lq_mpc.hpp"

/// The members compiled by RMPC_LQ_MPC_INSTANTIATE_SETUP and _POLICY, as explicit instantiation
/// declarations (`extern template`) or definitions (`template`, KEYWORD empty) of the class
/// templates of rmpc/mpc/detail/lq_mpc_compiled.hpp, which may name MPC by an alias.
#define RMPC_DETAIL_LQ_MPC_SETUP_MEMBERS(KEYWORD, MPC, MODEL)              \
  KEYWORD template struct ::rmpc::mpc::detail::LqMpcConstruct<MPC, MODEL>; \
  KEYWORD template struct ::rmpc::mpc::detail::LqMpcSetup<MPC>;

#define RMPC_DETAIL_LQ_MPC_POLICY_MEMBERS(KEYWORD, MPC) \
  KEYWORD template struct ::rmpc::mpc::detail::LqMpcPolicy<MPC>;

/// In the header that names the type: its heavy members are compiled in other files.
#define RMPC_LQ_MPC_EXTERN(MPC, MODEL)                 \
  RMPC_DETAIL_LQ_MPC_SETUP_MEMBERS(extern, MPC, MODEL) \
  RMPC_DETAIL_LQ_MPC_POLICY_MEMBERS(extern, MPC)

/// In one source file: the constructor for MODEL and set_parameters (the theta expansion).
#define RMPC_LQ_MPC_INSTANTIATE_SETUP(MPC, MODEL) RMPC_DETAIL_LQ_MPC_SETUP_MEMBERS(, MPC, MODEL)

/// In one source file: evaluate and q_value (the policy at a state and its derivatives).
#define RMPC_LQ_MPC_INSTANTIATE_POLICY(MPC) RMPC_DETAIL_LQ_MPC_POLICY_MEMBERS(, MPC)
