// The one compiled copy of the learned MPC's policy at a state (evaluate and q_value: the QP
// solve and its sensitivities; two_mass_model.hpp declares them extern).
#include "two_mass_model.hpp"

RMPC_LQ_MPC_INSTANTIATE_POLICY(two_mass::TwoMassMpc)
