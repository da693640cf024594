// The one compiled copy of the paper's MPC's expansion at a theta (constructor and
// set_parameters; paper_model.hpp declares them extern). The policy at a state is compiled in
// paper_mpc_policy.cpp, in parallel (rmpc/mpc/lq_mpc_instantiation.hpp).
#include "paper_model.hpp"

RMPC_LQ_MPC_INSTANTIATE_SETUP(linear_2d::PaperMpc, linear_2d::PaperModel)
