// First-order baselines (GD, QN without trust region, Adam) and the enum-selected Optimizer
// over all seven update rules of method.md section 4.
#include <rmpc/optim/update_rule.hpp>

#include "rmpc_catch.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <iostream>

using namespace rmpc::optim;
using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;

namespace {
const M2 kQ = (M2() << 3.0, 1.0, 1.0, 2.0).finished();
const V2 kC(0.4, -0.3);
double quad(const V2& x) { return 0.5 * (x - kC).dot(kQ * (x - kC)); }
V2 quad_grad(const V2& x) { return kQ * (x - kC); }

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

TEST_CASE("Optimizer: every update rule through one ask/tell interface", "[fixed_rate]") {
  const V2 x0(-0.5, 0.6);
  for (UpdateRule rule : {UpdateRule::gd, UpdateRule::tr_gd, UpdateRule::qn, UpdateRule::tr_qn,
                          UpdateRule::tr_bfgs, UpdateRule::tr_gauss_newton, UpdateRule::adam}) {
    auto s = paper_settings<double>(rule);
    s.fixed_rate.max_iterations = s.trust_region.max_iterations = 100;
    Optimizer<double, 2> opt(s);
    opt.reset(x0, quad(x0));
    // The RL loop's shape: always pass (g, H); rules that do not need H ignore it.
    opt.tell_model(quad_grad(x0), kQ);
    int trials = 0;
    while (opt.status() == Status::running) {
      const V2 p = opt.ask().step;
      if (opt.status() != Status::running) break;
      ++trials;
      const auto out = opt.tell_value(quad(opt.x() + p));
      if (!uses_trust_region(rule)) CHECK(out.accepted);
      if (out.accepted && opt.status() == Status::running) opt.tell_model(quad_grad(opt.x()), kQ);
    }
    const double gap0 = quad(x0), gap = quad(opt.x());
    std::cout << to_string(rule) << ": " << trials << " trials, J " << gap0 << " -> " << gap << " ("
              << to_string(opt.status()) << ")\n";
    INFO(to_string(rule));
    CHECK(gap < gap0);
    CHECK(opt.iterations() == trials);
    if (uses_trust_region(rule))
      CHECK(opt.radius() <= s.trust_region.max_radius);
    else
      CHECK(std::isinf(opt.radius()));
    // Second-order TR rules reach the minimiser within the 100-trial budget at the paper radii.
    if (rule == UpdateRule::tr_qn || rule == UpdateRule::tr_gauss_newton ||
        rule == UpdateRule::tr_bfgs)
      CHECK(opt.status() == Status::converged_gradient);
  }
  CHECK(needs_hessian(UpdateRule::tr_qn));
  CHECK_FALSE(needs_hessian(UpdateRule::tr_bfgs));
  CHECK(paper_settings<double>(UpdateRule::tr_gd).trust_region.initial_radius == 1e-3);
  CHECK(paper_settings<double>(UpdateRule::tr_gd).trust_region.min_radius == 1e-10);
  CHECK(paper_settings<double>(UpdateRule::tr_qn).trust_region.initial_radius == 1e-2);
}
