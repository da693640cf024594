// First-order baselines of optim/fixed_rate.hpp: GD, QN without trust region and Adam on a
// convex quadratic (the enum-selected Optimizer over every rule: test_update_rule.cpp).
#include <rmpc/optim/update_rule.hpp>

#include "rmpc_catch.hpp"
#include "support/optim_test_functions.hpp"

#include <Eigen/Dense>

#include <cmath>

using namespace rmpc::optim;
using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;

namespace {
const M2& kQ = rmpc::testing::quadratic_hessian();
const V2 kC = rmpc::testing::quadratic_minimiser();
using rmpc::testing::quad;
using rmpc::testing::quad_grad;

// Drives any ask/tell optimizer on the quadratic for `steps` trials.
template <typename Opt>
void run(Opt& opt, const V2& x0, int steps, bool with_hessian) {
  opt.reset(x0, quad(x0));
  with_hessian ? opt.tell_model(quad_grad(x0), kQ) : opt.tell_gradient(quad_grad(x0));
  for (int k = 0; k < steps && opt.status() == Status::running; ++k) {
    const V2 p = opt.ask().step;
    if (opt.status() != Status::running) break;
    const auto out = opt.tell_value(quad(opt.x() + p));
    if (out.accepted && opt.status() == Status::running)
      with_hessian ? opt.tell_model(quad_grad(opt.x()), kQ) : opt.tell_gradient(quad_grad(opt.x()));
  }
}
}  // namespace

TEST_CASE("GD: p = -lr g, always accepted", "[fixed_rate]") {
  FixedRateSettings<double> s;
  s.gd_learning_rate = 0.1;
  FixedRate<double, 2> gd(FixedRateRule::gradient_descent, s);
  const V2 x0(0.0, 0.0);
  gd.reset(x0, quad(x0));
  gd.tell_gradient(quad_grad(x0));
  const auto& t = gd.ask();
  CHECK((t.step + 0.1 * quad_grad(x0)).norm() == 0.0);
  CHECK(t.predicted_decrease == Approx(0.1 * quad_grad(x0).squaredNorm()));
  const auto out = gd.tell_value(1e9);  // even a huge increase is taken
  CHECK(out.accepted);
  CHECK(gd.x() == x0 - 0.1 * quad_grad(x0));
  run(gd, x0, 2000, false);
  CHECK(gd.status() == Status::converged_gradient);
  CHECK((gd.x() - kC).norm() < 1e-8);
}

TEST_CASE("QN without trust region: p = -lr |H|^-1 g", "[fixed_rate]") {
  FixedRateSettings<double> s;
  s.qn_learning_rate = 1.0;  // full Newton step lands on the minimiser of a quadratic
  FixedRate<double, 2> qn(FixedRateRule::quasi_newton, s);
  run(qn, V2(1.0, 1.0), 5, true);
  CHECK(qn.status() == Status::converged_gradient);
  CHECK(qn.iterations() == 1);
  CHECK((qn.x() - kC).norm() < 1e-12);
  // Indefinite H: |H| is used, so the step is still a descent direction.
  FixedRate<double, 2> qi(FixedRateRule::quasi_newton, FixedRateSettings<double>{});
  const V2 g(1.0, 1.0);
  const M2 H = (M2() << -2.0, 0.0, 0.0, 4.0).finished();
  qi.reset(V2::Zero(), 0.0);
  qi.tell_model(g, H);
  const auto& t = qi.ask();
  CHECK((t.step - V2(-1e-2 * 0.5, -1e-2 * 0.25)).norm() < 1e-15);
  CHECK(t.step.dot(g) < 0);
  FixedRate<double, 2> qz(FixedRateRule::quasi_newton);
  qz.reset(V2::Zero(), 0.0);
  CHECK(qz.tell_model(g, M2::Zero()) == Status::subproblem_failed);
  CHECK_THROWS_AS(qz.tell_gradient(g), std::invalid_argument);
}

TEST_CASE("Adam: first step is -lr sign(g), converges on a quadratic", "[fixed_rate]") {
  FixedRateSettings<double> s;
  s.adam_learning_rate = 1e-2;
  s.max_iterations = 20000;
  s.gradient_tolerance = 1e-6;
  FixedRate<double, 2> adam(FixedRateRule::adam, s);
  const V2 x0(1.0, -1.0);
  adam.reset(x0, quad(x0));
  adam.tell_gradient(quad_grad(x0));
  const V2 g0 = quad_grad(x0);
  const V2 p = adam.ask().step;
  // Bias-corrected moments at t = 1: m_hat = g, v_hat = g^2, p = -lr g / (|g| + eps).
  for (int i = 0; i < 2; ++i) CHECK(p(i) == Approx(-1e-2 * g0(i) / (std::abs(g0(i)) + 1e-8)));
  run(adam, x0, 20000, false);
  CHECK((adam.x() - kC).norm() < 1e-4);
}
