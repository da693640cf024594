// The one compiled copy of the paper's loop's model at a theta (paper_loop.hpp declares it
// extern): the critic's fits in both precisions and the DPG means.
#include "paper_loop.hpp"

template class rmpc::rl::PolicyModel<linear_2d::PaperMpc>;
