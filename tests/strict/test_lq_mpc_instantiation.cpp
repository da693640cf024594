// The instantiation macros of rmpc/mpc/lq_mpc_instantiation.hpp as a user writes them (an alias
// for the LqMpc type, the extern declarations, then both definitions), compiled by
// strict_compile.cmake with -std=c++17 -Wall -Wextra -Wpedantic -Werror: by every compiler
// found (clang rejects an explicit instantiation of a member named through an alias).
#include <rmpc/mpc/lq_mpc_instantiation.hpp>

namespace user {
/// x+ = theta0 x + u, |u| <= 1, Q = R = 1: the smallest model with a parameter.
struct ScalarModel {
  template <class T>
  void operator()(const Eigen::Matrix<T, 1, 1>& theta, rmpc::mpc::LqData<T, 1, 1>& out) const {
    out.A(0, 0) = theta(0);
    out.B(0, 0) = T(1);
    out.b.setZero();
    out.Q.setIdentity();
    out.R.setIdentity();
    out.P.setIdentity();
    out.u_lb(0) = T(-1);
    out.u_ub(0) = T(1);
    out.x_lb(0) = T(-10);
    out.x_ub(0) = T(10);
  }
};
using ScalarMpc = rmpc::mpc::LqMpc<double, 1, 1, 3, 1>;
}  // namespace user

RMPC_LQ_MPC_EXTERN(user::ScalarMpc, user::ScalarModel)
RMPC_LQ_MPC_INSTANTIATE_SETUP(user::ScalarMpc, user::ScalarModel)
RMPC_LQ_MPC_INSTANTIATE_POLICY(user::ScalarMpc)

// A use after the extern declarations, as in any other file of the user's program.
double first_input(double x) {
  user::ScalarMpc mpc(user::ScalarModel{});
  mpc.set_parameters(Eigen::Matrix<double, 1, 1>(0.9));
  return mpc.evaluate(Eigen::Matrix<double, 1, 1>(x)).u0(0);
}
