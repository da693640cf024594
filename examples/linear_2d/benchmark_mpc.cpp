// The one compiled copy of the paper's benchmark MPC (run-time horizon; paper_model.hpp
// declares it extern). A file of its own so that the two MPC types compile in parallel.
#include "paper_model.hpp"

template class rmpc::mpc::LqMpc<double, linear_2d::nx, linear_2d::nu, Eigen::Dynamic, linear_2d::np,
                                0, 0, 0>;
template rmpc::mpc::LqMpc<double, linear_2d::nx, linear_2d::nu, Eigen::Dynamic, linear_2d::np, 0, 0,
                          0>::LqMpc(const linear_2d::PaperModel&, const rmpc::mpc::LqSizes&,
                                    const rmpc::mpc::LqMpcSettings<double>&);
