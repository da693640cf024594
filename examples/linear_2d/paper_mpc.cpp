// The one compiled copy of the paper's parameterized MPC (paper_model.hpp declares it extern):
// every program that includes paper_model.hpp links library linear_2d_paper_mpc.
#include "paper_model.hpp"

template class rmpc::mpc::LqMpc<double, linear_2d::nx, linear_2d::nu, linear_2d::horizon,
                                linear_2d::np>;
template rmpc::mpc::LqMpc<double, linear_2d::nx, linear_2d::nu, linear_2d::horizon,
                          linear_2d::np>::LqMpc(const linear_2d::PaperModel&,
                                                const rmpc::mpc::LqSizes&,
                                                const rmpc::mpc::LqMpcSettings<double>&);
