// The RL loop on the two-mass chain, compiled once in two files of its own (as linear_2d):
// the model at a theta (PolicyModel: the critic in both precisions, the DPG means) in
// two_mass_loop_model.cpp, the rest of the loop in two_mass_loop.cpp.
#pragma once

#include "two_mass_model.hpp"

#include <rmpc/rl/loop.hpp>

namespace two_mass {
using Loop = rmpc::rl::PolicyOptimizer<TrueSystem, TwoMassMpc>;
}  // namespace two_mass

extern template class rmpc::rl::PolicyModel<two_mass::TwoMassMpc>;
extern template class rmpc::rl::PolicyOptimizer<two_mass::TrueSystem, two_mass::TwoMassMpc>;
