// The one compiled copy of the paper's benchmark MPC (run-time horizon, values only;
// paper_model.hpp declares its heavy members extern). A file of its own so that it compiles in
// parallel with the paper's MPC.
#include "paper_model.hpp"

RMPC_LQ_MPC_INSTANTIATE_SETUP(linear_2d::BenchmarkMpc, linear_2d::PaperModel)
RMPC_LQ_MPC_INSTANTIATE_POLICY(linear_2d::BenchmarkMpc)
