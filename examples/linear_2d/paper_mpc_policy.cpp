// The one compiled copy of the paper's MPC's policy at a state (evaluate and q_value: the QP
// solve and its sensitivities; paper_model.hpp declares them extern).
#include "paper_model.hpp"

RMPC_LQ_MPC_INSTANTIATE_POLICY(linear_2d::PaperMpc)
