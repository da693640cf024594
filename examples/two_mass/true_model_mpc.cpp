// The one compiled copy of the true-model MPC (values only; two_mass_model.hpp declares its
// heavy members extern). A file of its own so that it compiles in parallel with the learned MPC.
#include "two_mass_model.hpp"

RMPC_LQ_MPC_INSTANTIATE_SETUP(two_mass::TrueModelMpc, two_mass::TwoMassModel)
RMPC_LQ_MPC_INSTANTIATE_POLICY(two_mass::TrueModelMpc)
