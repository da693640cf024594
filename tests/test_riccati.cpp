// DARE by structured doubling (riccati.hpp) against the terminal costs of method.md §2.
#include "rmpc/mpc/riccati.hpp"

#include "rmpc_catch.hpp"

#include <Eigen/Core>

#include <stdexcept>
#include <string>
#include <Eigen/Eigenvalues>

namespace {
using rmpc::mpc::DareSolver;
using rmpc::mpc::DareStatus;

Eigen::Matrix2d A_theta0() { return (Eigen::Matrix2d() << 1.0, 0.25, 0.0, 1.0).finished(); }
Eigen::Vector2d B_theta0() { return Eigen::Vector2d(0.1, 0.3); }
Eigen::Matrix2d A_true() { return (Eigen::Matrix2d() << 0.9, 0.35, 0.0, 1.1).finished(); }
Eigen::Vector2d B_true() { return Eigen::Vector2d(0.0813, 0.2); }
}  // namespace

TEST_CASE("DARE reproduces the nominal terminal cost of method.md", "[riccati]") {
  DareSolver<double, 2, 1> dare;
  const Eigen::Matrix<double, 1, 1> R = Eigen::Matrix<double, 1, 1>::Constant(0.5);
  dare.compute(A_theta0(), B_theta0(), Eigen::Matrix2d::Identity(), R);
  REQUIRE(dare.info() == DareStatus::converged);
  Eigen::Matrix2d P_ref;
  P_ref << 5.6864860847, 1.3312047384, 1.3312047384, 3.3367363667;
  CHECK((dare.P() - P_ref).cwiseAbs().maxCoeff() < 1e-9);
  CHECK(dare.residual() < 1e-10);
  // Closed loop A - BK is Schur stable (the stabilizing solution).
  const Eigen::Matrix2d Acl = A_theta0() - B_theta0() * dare.gain();
  CHECK(Acl.eigenvalues().cwiseAbs().maxCoeff() < 1.0);
}

TEST_CASE("DARE reproduces P_true of the benchmark", "[riccati]") {
  const Eigen::Matrix2d P = rmpc::mpc::solve_dare(A_true(), B_true(), Eigen::Matrix2d::Identity(),
                                                  Eigen::Matrix<double, 1, 1>::Constant(0.5));
  Eigen::Matrix2d P_ref;
  P_ref << 3.5965022568, 1.4063781817, 1.4063781817, 6.80745714;
  CHECK((P - P_ref).cwiseAbs().maxCoeff() < 1e-8);
}

TEST_CASE("DARE agrees with the fixed point of the Riccati recursion (dynamic sizes)",
          "[riccati]") {
  Eigen::MatrixXd A(3, 3), B(3, 2), Q(3, 3), R(2, 2);
  A << 1.1, 0.2, 0.0, 0.0, 0.9, 0.3, 0.1, 0.0, 1.05;
  B << 1.0, 0.0, 0.0, 0.5, 0.2, 1.0;
  Q << 2.0, 0.1, 0.0, 0.1, 1.0, 0.0, 0.0, 0.0, 0.5;
  R << 1.0, 0.2, 0.2, 0.7;
  DareSolver<double> dare;
  dare.compute(A, B, Q, R);
  REQUIRE(dare.info() == DareStatus::converged);
  Eigen::MatrixXd P = Q;
  for (int k = 0; k < 2000; ++k) {
    const Eigen::MatrixXd K = (R + B.transpose() * P * B).ldlt().solve(B.transpose() * P * A);
    P = Q + A.transpose() * P * A - A.transpose() * P * B * K;
  }
  CHECK((dare.P() - P).norm() < 1e-9 * P.norm());
  CHECK(dare.residual() < 1e-9 * P.norm());
}

TEST_CASE("DARE reports a singular R instead of throwing", "[riccati]") {
  DareSolver<double, 2, 1> dare;
  dare.compute(A_true(), B_true(), Eigen::Matrix2d::Identity(),
               Eigen::Matrix<double, 1, 1>::Zero());
  CHECK(dare.info() == DareStatus::singular);
}

TEST_CASE("DARE rejects mismatched dimensions", "[riccati]") {
  DareSolver<double> dare;
  CHECK_THROWS_AS(dare.compute(Eigen::MatrixXd::Identity(2, 2), Eigen::MatrixXd::Ones(3, 1),
                               Eigen::MatrixXd::Identity(2, 2), Eigen::MatrixXd::Identity(1, 1)),
                  std::invalid_argument);
}

TEST_CASE("DareSettings are validated by the solver", "[riccati][settings]") {
  rmpc::mpc::DareSettings<double> s;
  CHECK_NOTHROW(s.validate());
  s.max_iterations = 0;
  std::string msg;
  try {
    DareSolver<double> dare(s);
  } catch (const std::invalid_argument& e) {
    msg = e.what();
  }
  CHECK(msg == "DareSettings::max_iterations must be > 0 (got 0)");
}
