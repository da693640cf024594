// The paper's RL loop: PolicyOptimizer on the true system with the paper's MPC. Compiled once,
// in paper_loop.cpp: the loop with both critic precisions is the largest instantiation of the
// example, and a file of its own compiles in parallel with main.cpp and the MPCs.
#pragma once

#include "paper_model.hpp"

#include <rmpc/rl/loop.hpp>

namespace linear_2d {
using PaperLoop = rmpc::rl::PolicyOptimizer<TrueSystem, PaperMpc>;
}  // namespace linear_2d

extern template class rmpc::rl::PolicyOptimizer<linear_2d::TrueSystem, linear_2d::PaperMpc>;
