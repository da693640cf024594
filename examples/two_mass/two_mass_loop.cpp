// The one compiled copy of the loop (two_mass_loop.hpp declares it extern).
#include "two_mass_loop.hpp"

template class rmpc::rl::PolicyOptimizer<two_mass::TrueSystem, two_mass::TwoMassMpc>;
