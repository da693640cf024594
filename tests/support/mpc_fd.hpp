// Central finite-difference check of an LqMpc's policy derivatives (du0/dtheta, d2u0/dtheta2
// as differences of the exact first derivative, du0/ds) on one smooth branch, by the library's
// checker (rmpc/mpc/derivative_check.hpp): the active set must not change at theta +- h.
#pragma once

#include "rmpc/mpc/derivative_check.hpp"
#include "rmpc_catch.hpp"

#include <Eigen/Core>

namespace rmpc_test {

/// Requires every coordinate compared (no active-set change within the step h (1 + |x_i|))
/// and errors of du0/dtheta, du0/ds below tol1 and of d2u0/dtheta2 below tol2.
template <class Mpc, class Theta, class State>
void check_against_fd(Mpc& mpc, const Theta& theta, const State& s, double h, double tol1,
                      double tol2) {
  rmpc::mpc::DerivativeCheckSettings<double> settings;
  settings.step = h;
  const auto c = rmpc::mpc::check_policy_derivatives(mpc, s, theta, settings);
  INFO("status " << rmpc::mpc::to_string(c.status) << ", policy "
                 << rmpc::mpc::to_string(c.policy_status) << ", worst theta " << c.worst_theta);
  REQUIRE(c.status == rmpc::mpc::DerivativeCheckStatus::ok);
  CHECK(c.du0_dtheta_error < tol1);
  CHECK(c.du0_ds_error < tol1);
  CHECK(c.d2u0_dtheta2_error < tol2);
}

}  // namespace rmpc_test
