// The one compiled copy of the paper's RL loop (paper_loop.hpp declares it extern).
#include "paper_loop.hpp"

template class rmpc::rl::PolicyOptimizer<linear_2d::TrueSystem, linear_2d::PaperMpc>;
