// Trust-region subproblem: More-Sorensen optimality conditions (N&W Theorem 4.1) for the
// exact solver in the easy, interior, indefinite and hard cases (Steihaug-CG:
// test_steihaug_cg.cpp).
#include <rmpc/optim/subproblem.hpp>

#include "rmpc_catch.hpp"
#include "support/random_symmetric.hpp"

#include <Eigen/Dense>

#include <random>

using namespace rmpc::optim;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using rmpc::testing::random_symmetric;

namespace {

// (B + lambda I) p = -g, lambda >= 0, lambda (Delta - ||p||) = 0, B + lambda I PSD, ||p|| <= Delta.
void check_optimality(const Mat& B, const Vec& g, double Delta, const SubproblemResult<double>& r) {
  const Eigen::Index n = g.size();
  const Mat K = B + r.lambda * Mat::Identity(n, n);
  const double scale = 1.0 + B.norm() + g.norm();
  CHECK((K * r.step + g).norm() <= 1e-9 * scale);
  CHECK(r.lambda >= 0.0);
  CHECK(r.step.norm() <= Delta * (1 + 1e-9));
  CHECK(std::abs(r.lambda * (Delta - r.step.norm())) <= 1e-9 * scale * Delta);
  Eigen::SelfAdjointEigenSolver<Mat> eig(K);
  CHECK(eig.eigenvalues().minCoeff() >= -1e-9 * scale);
  CHECK(r.predicted_decrease ==
        Approx(-(g.dot(r.step) + 0.5 * r.step.dot(B * r.step))).epsilon(1e-10).margin(1e-14));
}

}  // namespace

TEST_CASE("exact subproblem: interior Newton step for positive definite B", "[subproblem]") {
  Mat B(2, 2);
  B << 4, 1, 1, 3;
  Vec g(2);
  g << 1, -2;
  ExactSubproblem<double> sp;
  REQUIRE(sp.compute(B).info() == Eigen::Success);
  const auto r = sp.solve(g, 10.0);
  CHECK(r.status == SubproblemStatus::interior);
  CHECK(r.lambda == 0.0);
  CHECK((r.step - (-B.ldlt().solve(g))).norm() < 1e-12);
  check_optimality(B, g, 10.0, r);
}

TEST_CASE("exact subproblem: boundary solutions satisfy the More-Sorensen conditions",
          "[subproblem]") {
  std::mt19937_64 rng(20240517);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    const Eigen::Index n = 1 + trial % 8;
    Vec ev(n);
    for (Eigen::Index i = 0; i < n; ++i) ev(i) = 3.0 * normal(rng);  // indefinite in general
    const Mat B = random_symmetric(rng, n, ev);
    Vec g(n);
    for (Eigen::Index i = 0; i < n; ++i) g(i) = normal(rng);
    const double Delta = std::exp(normal(rng));
    ExactSubproblem<double> sp;
    REQUIRE(sp.compute(B).info() == Eigen::Success);
    const auto r = sp.solve(g, Delta);
    INFO("trial " << trial << " n " << n << " status " << to_string(r.status));
    REQUIRE(r.status != SubproblemStatus::non_finite);
    REQUIRE(r.status != SubproblemStatus::max_iterations);
    check_optimality(B, g, Delta, r);
    if (ev.minCoeff() < 0) CHECK(r.step.norm() == Approx(Delta).epsilon(1e-9));
  }
}

TEST_CASE("exact subproblem: hard case (g orthogonal to the lowest eigenvector)", "[subproblem]") {
  // B = diag(-2, 1, 3), g has no component on e1: p(-lambda_1) = -(0, g2/3, g3/5) is short.
  Mat B = Eigen::Vector3d(-2, 1, 3).asDiagonal();
  Vec g(3);
  g << 0, 0.3, -0.5;
  ExactSubproblem<double> sp;
  REQUIRE(sp.compute(B).info() == Eigen::Success);
  const double Delta = 1.0;
  const auto r = sp.solve(g, Delta);
  CHECK(r.status == SubproblemStatus::hard_case);
  CHECK(r.lambda == Approx(2.0));
  CHECK(r.step.norm() == Approx(Delta).epsilon(1e-12));
  CHECK(std::abs(r.step(0)) > 0.9);  // the step leaves along the negative-curvature direction
  check_optimality(B, g, Delta, r);

  // Rotated version, and the saddle with g = 0.
  std::mt19937_64 rng(7);
  const Mat Br = random_symmetric(rng, 3, (Vec(3) << -2, 1, 3).finished());
  Eigen::SelfAdjointEigenSolver<Mat> eig(Br);
  const Vec gr = eig.eigenvectors().rightCols(2) * Vec((Vec(2) << 0.3, -0.5).finished());
  REQUIRE(sp.compute(Br).info() == Eigen::Success);
  const auto rr = sp.solve(gr, Delta);
  CHECK(rr.status == SubproblemStatus::hard_case);
  check_optimality(Br, gr, Delta, rr);
  const auto r0 = sp.solve(Vec::Zero(3), 0.5);
  CHECK(r0.status == SubproblemStatus::hard_case);
  CHECK(r0.step.norm() == Approx(0.5));
  CHECK(r0.predicted_decrease == Approx(0.25 * 2.0 / 2.0 * 1.0));  // -(-2) * 0.25 / 2
  check_optimality(Br, Vec::Zero(3), 0.5, r0);
}

TEST_CASE("exact subproblem: near-hard case and PSD singular B", "[subproblem]") {
  Mat B = Eigen::Vector2d(-1, 2).asDiagonal();
  Vec g(2);
  g << 1e-7, 1.0;  // tiny component on the negative eigenvector: near-hard, steep secular equation
  ExactSubproblem<double> sp;
  REQUIRE(sp.compute(B).info() == Eigen::Success);
  for (double Delta : {0.1, 1.0, 10.0}) {
    const auto r = sp.solve(g, Delta);
    INFO("Delta " << Delta << " " << to_string(r.status));
    check_optimality(B, g, Delta, r);
  }
  Mat S = Eigen::Vector2d(0, 2).asDiagonal();
  Vec gs(2);
  gs << 0, 1;
  REQUIRE(sp.compute(S).info() == Eigen::Success);
  const auto rs = sp.solve(gs, 1.0);
  CHECK(rs.status == SubproblemStatus::interior);
  CHECK((rs.step - Vec((Vec(2) << 0, -0.5).finished())).norm() < 1e-14);
  check_optimality(S, gs, 1.0, rs);
}

TEST_CASE("exact subproblem: fixed-size instantiation and non-finite input", "[subproblem]") {
  Eigen::Matrix2d B;
  B << 1, 0, 0, -1;
  ExactSubproblem<double, 2> sp;
  REQUIRE(sp.compute(B).info() == Eigen::Success);
  const auto r = sp.solve(Eigen::Vector2d(1, 1), 0.5);
  CHECK(r.step.norm() == Approx(0.5));
  CHECK(r.lambda > 1.0);
  B(0, 0) = std::nan("");
  CHECK(sp.compute(B).info() != Eigen::Success);
  CHECK(sp.solve(Eigen::Vector2d(1, 1), 0.5).status == SubproblemStatus::non_finite);
}
