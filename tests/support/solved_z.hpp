// The optimal z of a QP by a fresh DenseSolver, REQUIRE-ing an optimal status: the re-solves of
// the finite-difference checks in the qp tests (test_sensitivity, test_derivatives).
#pragma once

#include "rmpc/qp/dense_solver.hpp"

#include "rmpc_catch.hpp"

#include <Eigen/Core>

namespace rmpc::testing {

inline Eigen::VectorXd solved_z(const qp::Problem<double>& problem) {
  qp::DenseSolver<double> solver;
  const auto& r = solver.compute(problem).solve();
  REQUIRE(r.status == qp::Status::optimal);
  return r.z;
}

}  // namespace rmpc::testing
