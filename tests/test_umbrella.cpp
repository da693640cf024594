// The umbrella header is self-sufficient and compiles warning-free on its own.
#include "rmpc/rmpc.hpp"

#include "rmpc_catch.hpp"

TEST_CASE("the umbrella header exposes every part", "[package]") {
  rmpc::qp::Problem<double> problem(1, 0, 1);
  problem.H << 2.0;
  problem.g << -4.0;
  problem.C << 1.0;
  problem.d << 1.0;
  rmpc::qp::DenseSolver<double> solver;
  const auto& result = solver.compute(problem).solve();
  REQUIRE(result.ok());
  CHECK(result.z(0) == Approx(1.0));
  CHECK(result.y_ineq(0) == Approx(2.0));
  CHECK(std::string(rmpc::optim::to_string(rmpc::optim::Status::running)) == "running");
}
