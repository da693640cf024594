// The one compiled copy of the true-model MPC (values only; two_mass_model.hpp declares it
// extern). A file of its own so that it compiles in parallel with the learned MPC.
#include "two_mass_model.hpp"

template class rmpc::mpc::LqMpc<double, two_mass::nx, two_mass::nu, two_mass::horizon, two_mass::np,
                                0, 0, 0>;
template rmpc::mpc::LqMpc<double, two_mass::nx, two_mass::nu, two_mass::horizon, two_mass::np, 0, 0,
                          0>::LqMpc(const two_mass::TwoMassModel&, const rmpc::mpc::LqSizes&,
                                    const rmpc::mpc::LqMpcSettings<double>&);
