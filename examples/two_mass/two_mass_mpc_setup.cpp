// The one compiled copy of the learned MPC's expansion at a theta (constructor and
// set_parameters; two_mass_model.hpp declares them extern). Its policy at a state is compiled
// in two_mass_mpc_policy.cpp, in parallel (rmpc/mpc/lq_mpc_instantiation.hpp).
#include "two_mass_model.hpp"

RMPC_LQ_MPC_INSTANTIATE_SETUP(two_mass::TwoMassMpc, two_mass::TwoMassModel)
