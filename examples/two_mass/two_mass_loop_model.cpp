// The one compiled copy of the loop's model at a theta (two_mass_loop.hpp declares it extern).
#include "two_mass_loop.hpp"

template class rmpc::rl::PolicyModel<two_mass::TwoMassMpc>;
