// Central finite-difference check of an LqMpc's policy derivatives (du0/dtheta, d2u0/dtheta2
// as differences of the exact first derivative, du0/ds) on one smooth branch: the active set
// must not change at theta +- h.
#pragma once

#include "rmpc_catch.hpp"

#include <Eigen/Core>

#include <cmath>

namespace rmpc_test {

/// Max abs error of du0/dtheta, d2u0/dtheta2 and du0/ds against central differences.
template <class Mpc, class Theta, class State>
void check_against_fd(Mpc& mpc, const Theta& theta, const State& s, double h, double tol1,
                      double tol2) {
  const Eigen::Index np = theta.size(), nu = mpc.sizes().nu, nx = s.size();
  REQUIRE(mpc.set_parameters(theta) == rmpc::qp::Status::optimal);
  const auto r = mpc.evaluate(s);
  REQUIRE(r.qp_status == rmpc::qp::Status::optimal);
  REQUIRE(r.status == rmpc::mpc::PolicyStatus::ok);
  for (Eigen::Index i = 0; i < np; ++i) {
    Theta tp = theta, tm = theta;
    tp(i) += h;
    tm(i) -= h;
    mpc.set_parameters(tp);
    const auto rp = mpc.evaluate(s);
    mpc.set_parameters(tm);
    const auto rm = mpc.evaluate(s);
    REQUIRE(rp.row_state == r.row_state);  // same active set: the FD is of a smooth branch
    REQUIRE(rm.row_state == r.row_state);
    for (Eigen::Index j = 0; j < nu; ++j) {
      INFO("theta_" << i << " input " << j);
      CHECK(std::abs((rp.u0(j) - rm.u0(j)) / (2 * h) - r.du0_dtheta(j, i)) < tol1);
      // Column i of the Hessian = d(du0/dtheta)/dtheta_i.
      const Eigen::RowVectorXd fd_row = (rp.du0_dtheta.row(j) - rm.du0_dtheta.row(j)) / (2 * h);
      CHECK((fd_row.transpose() - r.hessian(j).col(i)).cwiseAbs().maxCoeff() < tol2);
    }
  }
  mpc.set_parameters(theta);
  for (Eigen::Index i = 0; i < nx; ++i) {
    State sp = s, sm = s;
    sp(i) += h;
    sm(i) -= h;
    const auto up = mpc.evaluate(sp).u0;
    const auto um = mpc.evaluate(sm).u0;
    CHECK(((up - um) / (2 * h) - r.du0_ds.col(i)).cwiseAbs().maxCoeff() < tol1);
  }
}

}  // namespace rmpc_test
