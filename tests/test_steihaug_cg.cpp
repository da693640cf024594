// Steihaug-CG (optim/steihaug_cg.hpp, Nocedal & Wright Algorithm 7.2): the interior Newton
// step, a boundary step whose decrease lies between the Cauchy point's and the exact
// subproblem's, and the stop on negative curvature.
#include <rmpc/optim/steihaug_cg.hpp>
#include <rmpc/optim/subproblem.hpp>

#include "rmpc_catch.hpp"
#include "support/random_symmetric.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <random>

using namespace rmpc::optim;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using rmpc::testing::random_symmetric;

TEST_CASE("Steihaug-CG: interior Newton step, boundary, negative curvature", "[steihaug_cg]") {
  std::mt19937_64 rng(11);
  const Eigen::Index n = 20;
  Vec ev = Vec::LinSpaced(n, 1.0, 10.0);
  const Mat B = random_symmetric(rng, n, ev);
  std::normal_distribution<double> normal(0.0, 1.0);
  Vec g(n);
  for (Eigen::Index i = 0; i < n; ++i) g(i) = 1e-3 * normal(rng);  // small g: tight forcing term
  SteihaugCgSettings<double> cs;
  cs.forcing_cap = 1e-10;
  SteihaugCg<double> cg(cs);
  cg.compute(B);
  const auto r_in = cg.solve(g, 10.0);
  CHECK(r_in.status == SubproblemStatus::interior);
  CHECK((B * r_in.step + g).norm() <= 1e-8 * g.norm());
  // Boundary: decrease at least the Cauchy point's, no more than the exact optimum.
  const double Delta = 1e-4;
  const auto r_b = cg.solve(g, Delta);
  CHECK(r_b.status == SubproblemStatus::boundary);
  CHECK(r_b.step.norm() == Approx(Delta).epsilon(1e-10));
  ExactSubproblem<double> sp;
  sp.compute(B);
  const auto r_ex = sp.solve(g, Delta);
  const double gBg = g.dot(B * g);
  const double tau = std::min(1.0, std::pow(g.norm(), 3) / (Delta * gBg));
  const double cauchy =
      tau * Delta * g.norm() - 0.5 * tau * tau * Delta * Delta * gBg / g.squaredNorm();
  CHECK(r_b.predicted_decrease >= cauchy * (1 - 1e-12));
  CHECK(r_b.predicted_decrease <= r_ex.predicted_decrease * (1 + 1e-12));
  // Negative curvature along the first CG direction -g.
  Mat Bn = -Mat::Identity(n, n);
  cg.compute(Bn);
  const auto r_n = cg.solve(g, 0.5);
  CHECK(r_n.status == SubproblemStatus::negative_curvature);
  CHECK(r_n.step.norm() == Approx(0.5));
  CHECK(r_n.step.dot(g) < 0);
}
