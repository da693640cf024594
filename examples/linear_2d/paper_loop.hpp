// The paper's RL loop: PolicyOptimizer on the true system with the paper's MPC. Compiled once,
// in two files of its own that compile in parallel with main.cpp and the MPCs: the model at a
// theta (PolicyModel: the critic in both precisions, the DPG means) in paper_loop_model.cpp,
// the rest of the loop (batches, steps, checkpoints) in paper_loop.cpp; one file for both would
// need about 1.8 GB of compiler memory.
#pragma once

#include "paper_model.hpp"

#include <rmpc/rl/loop.hpp>

namespace linear_2d {
using PaperLoop = rmpc::rl::PolicyOptimizer<TrueSystem, PaperMpc>;
}  // namespace linear_2d

extern template class rmpc::rl::PolicyModel<linear_2d::PaperMpc>;
extern template class rmpc::rl::PolicyOptimizer<linear_2d::TrueSystem, linear_2d::PaperMpc>;
