// The one compiled copy of the learned MPC (two_mass_model.hpp declares it extern).
#include "two_mass_model.hpp"

template class rmpc::mpc::LqMpc<double, two_mass::nx, two_mass::nu, two_mass::horizon,
                                two_mass::np>;
template rmpc::mpc::LqMpc<double, two_mass::nx, two_mass::nu, two_mass::horizon,
                          two_mass::np>::LqMpc(const two_mass::TwoMassModel&,
                                               const rmpc::mpc::LqSizes&,
                                               const rmpc::mpc::LqMpcSettings<double>&);
