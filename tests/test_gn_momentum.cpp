// GN-Momentum (optim/gn_momentum.hpp, P2): convergence on a convex quadratic, the Adam-length
// radius, bias correction and the momentum averages against hand-computed values, box
// bounds, statuses for NaN data, call-order errors and settings checks; the Optimizer's
// eighth rule.
#include <rmpc/optim/gn_momentum.hpp>
#include <rmpc/optim/update_rule.hpp>

#include "rmpc_catch.hpp"
#include "support/optim_test_functions.hpp"
#include "support/thrown_message.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

using namespace rmpc::optim;
using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;

namespace {
const double kEps = std::numeric_limits<double>::epsilon();
const M2& kQ = rmpc::testing::quadratic_hessian();
const V2 kC = rmpc::testing::quadratic_minimiser();
using rmpc::testing::quad;
using rmpc::testing::quad_grad;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("GN-Momentum: exact g and H of a convex quadratic reach its minimiser", "[gn_momentum]") {
  GnMomentumSettings<double> s;
  s.learning_rate = 0.1;
  s.max_iterations = 3000;
  GnMomentum<double, 2> opt(s);
  const V2 x0(-1.5, 1.2);
  opt.reset(x0, quad(x0));
  opt.tell_model(quad_grad(x0), kQ);
  int steps = 0;
  while (opt.status() == Status::running) {
    const auto& t = opt.ask();
    if (opt.status() != Status::running) break;
    const auto out = opt.tell_value(quad(t.point));
    CHECK(out.accepted);  // no ratio test: every finite value is taken
    ++steps;
    if (opt.status() == Status::running) opt.tell_model(quad_grad(opt.x()), kQ);
  }
  INFO("status " << to_string(opt.status()) << " after " << steps << " steps");
  CHECK(opt.status() == Status::converged_gradient);
  CHECK((opt.x() - kC).norm() < 1e-7);  // ||g|| <= 1e-8, smallest eigenvalue of kQ 1.38
  CHECK(opt.iterations() == steps);
  CHECK(steps < 3000);
}

TEST_CASE("GN-Momentum: no step is longer than Adam's step, the radius", "[gn_momentum]") {
  // Weak curvature: the Newton step -G^-1 m^ is long, so the radius is what limits the step.
  const M2 H = (M2() << 0.02, 0.0, 0.0, 0.01).finished();
  const auto f = [&](const V2& x) { return 0.5 * (x - kC).dot(H * (x - kC)); };
  const auto df = [&](const V2& x) -> V2 { return H * (x - kC); };
  GnMomentumSettings<double> s;
  s.learning_rate = 0.05;
  GnMomentum<double, 2> opt(s);
  V2 x(3.0, -2.0);
  opt.reset(x, f(x));
  // The moments recomputed here, independently of the class, give the expected radius.
  V2 m = V2::Zero(), v = V2::Zero();
  double b1t = 1, b2t = 1;
  int on_boundary = 0;
  for (int k = 0; k < 60; ++k) {
    const V2 g = df(opt.x());
    REQUIRE(opt.tell_model(g, H) == Status::running);
    m = s.beta1 * m + (1 - s.beta1) * g;
    v = s.beta2 * v + (1 - s.beta2) * g.cwiseAbs2();
    b1t *= s.beta1;
    b2t *= s.beta2;
    const V2 m_hat = m / (1 - b1t), v_hat = v / (1 - b2t);
    const double radius =
        (s.learning_rate * m_hat.array() / (v_hat.array().sqrt() + s.epsilon)).matrix().norm();
    CHECK(opt.radius() == Approx(radius).epsilon(64 * kEps));
    const auto& t = opt.ask();
    CHECK(t.radius == opt.radius());
    // The exact subproblem meets ||p|| = Delta to its radius_tolerance (1e-12 relative).
    CHECK(t.step.norm() <= radius * (1 + s.exact.radius_tolerance + 4 * kEps));
    // The predicted decrease is that of the momentum model m^'p + p'Bp/2.
    CHECK(t.predicted_decrease ==
          Approx(-(m_hat.dot(t.step) + 0.5 * t.step.dot(H * t.step))).epsilon(1e-12));
    if (t.on_boundary) ++on_boundary;
    opt.tell_value(f(t.point));
  }
  CHECK(on_boundary > 30);  // the bound was active, so the check above had something to bite
  CHECK(f(opt.x()) < f(V2(3.0, -2.0)));
}

TEST_CASE("GN-Momentum: bias correction gives the first g and H exactly", "[gn_momentum]") {
  GnMomentumSettings<double> s;
  s.learning_rate = 0.01;
  GnMomentum<double, 2> opt(s);
  opt.reset(V2(0.0, 0.0), 1.0);
  const V2 g(0.3, -4.0);
  const M2 H = (M2() << 2.0, 0.5, 0.5, 1.0).finished();
  opt.tell_model(g, H);
  CHECK(opt.models() == 1);
  CHECK((opt.momentum_gradient() - g).norm() <= 4 * kEps * g.norm());
  CHECK((opt.averaged_curvature() - H).norm() <= 4 * kEps * H.norm());
  // Adam's first step is lr sign(g) (to eps), so the radius is lr sqrt(n).
  CHECK(opt.radius() == Approx(0.01 * std::sqrt(2.0)).epsilon(1e-7));
  // Told again at the same point (a refitted critic): the new model replaces the first.
  const V2 g2(-1.0, 2.0);
  const M2 H2 = (M2() << 1.0, 0.0, 0.0, 3.0).finished();
  opt.tell_model(g2, H2);
  CHECK(opt.models() == 1);
  CHECK((opt.momentum_gradient() - g2).norm() <= 4 * kEps * g2.norm());
  CHECK((opt.averaged_curvature() - H2).norm() <= 4 * kEps * H2.norm());
}

TEST_CASE("GN-Momentum: momentum averages of three models match hand-computed values",
          "[gn_momentum]") {
  GnMomentumSettings<double> s;
  s.beta1 = 0.5;  // weights 1/8, 1/4, 1/2 after three models; bias 1 - 1/8 = 7/8
  s.curvature_beta = 0.5;
  s.beta2 = 0.75;  // weights 0.140625, 0.1875, 0.25; bias 1 - 0.421875 = 0.578125
  s.learning_rate = 0.1;
  GnMomentum<double, 2> opt(s);
  const V2 gs[3] = {V2(1.0, 2.0), V2(3.0, -2.0), V2(-1.0, 4.0)};
  const M2 Hs[3] = {(M2() << 2.0, 0.0, 0.0, 4.0).finished(),
                    (M2() << 4.0, 1.0, 1.0, 2.0).finished(),
                    (M2() << 1.0, -1.0, -1.0, 6.0).finished()};
  opt.reset(V2(0.0, 0.0), 0.0);
  for (int k = 0; k < 3; ++k) {
    REQUIRE(opt.tell_model(gs[k], Hs[k]) == Status::running);
    if (k == 1) {
      // m2 = (g1/4 + g2/2) / (3/4) = ((0.25 + 1.5) / 0.75, (0.5 - 1) / 0.75)
      CHECK(opt.momentum_gradient()(0) == Approx(1.75 / 0.75));
      CHECK(opt.momentum_gradient()(1) == Approx(-0.5 / 0.75));
    }
    if (k < 2) {
      opt.ask();
      opt.tell_value(opt.value() - 1.0);
    }
  }
  // m3 = g1/8 + g2/4 + g3/2 = (0.375, 1.75); m^ = m3 / 0.875.
  CHECK(opt.momentum_gradient()(0) == Approx(0.375 / 0.875));
  CHECK(opt.momentum_gradient()(1) == Approx(1.75 / 0.875));
  // G3 = H1/8 + H2/4 + H3/2 = [[1.75, -0.25], [-0.25, 4.0]]; G^ = G3 / 0.875.
  const M2 G3 = (M2() << 1.75, -0.25, -0.25, 4.0).finished();
  CHECK((opt.averaged_curvature() - G3 / 0.875).norm() <= 16 * kEps);
  // v3 = 0.140625 g1^2 + 0.1875 g2^2 + 0.25 g3^2 = (2.078125, 5.3125); v^ = v3 / 0.578125.
  const double vh0 = 2.078125 / 0.578125, vh1 = 5.3125 / 0.578125;
  const double r0 = 0.1 * (0.375 / 0.875) / (std::sqrt(vh0) + 1e-8);
  const double r1 = 0.1 * (1.75 / 0.875) / (std::sqrt(vh1) + 1e-8);
  CHECK(opt.radius() == Approx(std::hypot(r0, r1)));
  CHECK(opt.models() == 3);
}

TEST_CASE("GN-Momentum: box bounds hold every trial point", "[gn_momentum]") {
  const M2 Q = (M2() << 3.0, 0.0, 0.0, 2.0).finished();  // diagonal: minimiser = clamp(c)
  const auto f = [&](const V2& x) { return 0.5 * (x - kC).dot(Q * (x - kC)); };
  GnMomentumSettings<double> s;
  s.learning_rate = 0.1;
  s.max_iterations = 2000;
  GnMomentum<double, 2> opt(s);
  const Eigen::VectorXd lo = Eigen::Vector2d(-1.0, -1.0);
  const Eigen::VectorXd hi = Eigen::Vector2d(0.2, 1.0);
  opt.set_bounds(lo, hi);
  const V2 x0(-0.9, 0.9);
  opt.reset(x0, f(x0));
  opt.tell_model(Q * (x0 - kC), Q);
  int outside = 0;
  while (opt.status() == Status::running) {
    const auto& t = opt.ask();
    if (opt.status() != Status::running) break;
    if ((t.point.array() < lo.array()).any() || (t.point.array() > hi.array()).any()) ++outside;
    opt.tell_value(f(t.point));
    if (opt.status() == Status::running) opt.tell_model(Q * (opt.x() - kC), Q);
  }
  CHECK(outside == 0);
  CHECK((opt.status() == Status::converged_gradient || opt.status() == Status::converged_step));
  CHECK((opt.x() - V2(0.2, -0.3)).norm() < 1e-6);
  GnMomentum<double, 2> outside_start(s);
  outside_start.set_bounds(lo, hi);
  CHECK_THROWS_AS(outside_start.reset(V2(0.5, 0.0), 0.0), std::invalid_argument);
  GnMomentum<double, 2> wrong_size(s);
  wrong_size.set_bounds(Eigen::VectorXd::Zero(3), Eigen::VectorXd::Ones(3));
  CHECK_THROWS_AS(wrong_size.reset(V2(0.5, 0.5), 0.0), std::invalid_argument);
}

TEST_CASE("GN-Momentum: NaN values and gradients are statuses, not exceptions", "[gn_momentum]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const V2 x0(1.0, 1.0);
  GnMomentum<double, 2> a;
  a.reset(x0, quad(x0));
  a.tell_model(quad_grad(x0), kQ);
  a.ask();
  const auto out = a.tell_value(nan);
  CHECK_FALSE(out.accepted);
  CHECK(out.non_finite_value);
  CHECK(out.status == Status::non_finite_objective);
  CHECK(a.status() == Status::non_finite_objective);
  CHECK(a.x() == x0);  // the NaN trial is never taken
  CHECK(a.non_finite_trials() == 1);
  CHECK(a.ask().step.norm() == 0.0);  // after a stop: zero steps, no throw
  CHECK(a.tell_value(1.0).status == Status::non_finite_objective);

  GnMomentum<double, 2> b;
  b.reset(x0, quad(x0));
  CHECK(b.tell_model(V2(nan, 0.0), kQ) == Status::non_finite_input);
  GnMomentum<double, 2> c;
  c.reset(x0, quad(x0));
  M2 H = kQ;
  H(1, 0) = std::numeric_limits<double>::infinity();
  CHECK(c.tell_model(quad_grad(x0), H) == Status::non_finite_input);
  GnMomentum<double, 2> d;
  d.reset(x0, nan);
  CHECK(d.status() == Status::non_finite_input);
  CHECK(d.tell_model(quad_grad(x0), kQ) == Status::non_finite_input);
}

TEST_CASE("GN-Momentum: call-order and size errors throw", "[gn_momentum]") {
  GnMomentum<double, 2> opt;
  const V2 x0(1.0, 1.0);
  opt.reset(x0, quad(x0));
  CHECK_THROWS_AS(opt.ask(), std::logic_error);                              // tell_model first
  CHECK_THROWS_AS(opt.tell_value(1.0), std::logic_error);                    // ask first
  CHECK_THROWS_AS(opt.tell_gradient(quad_grad(x0)), std::invalid_argument);  // needs H
  GnMomentum<double> dyn;
  dyn.reset(Eigen::VectorXd::Ones(2), 1.0);
  CHECK_THROWS_AS(dyn.tell_model(Eigen::VectorXd::Ones(3), Eigen::MatrixXd::Identity(2, 2)),
                  std::invalid_argument);
  CHECK_THROWS_AS(dyn.tell_model(Eigen::VectorXd::Ones(2), Eigen::MatrixXd::Identity(3, 3)),
                  std::invalid_argument);
  opt.tell_model(quad_grad(x0), kQ);
  opt.ask();
  CHECK_THROWS_AS(opt.tell_model(quad_grad(x0), kQ), std::logic_error);  // step pending
  CHECK_THROWS_AS(opt.ask(), std::logic_error);                          // tell_value first
  CHECK(opt.tell_value(0.5).accepted);
  CHECK_THROWS_AS(opt.tell_value(0.5), std::logic_error);  // needs a new model and ask()
}

TEST_CASE("GN-Momentum: settings validate() names the bad field", "[gn_momentum]") {
  using rmpc::testing::thrown_message;
  const auto bad = [](auto change) {
    GnMomentumSettings<double> s;
    change(s);
    return thrown_message([&] { s.validate(); });
  };
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(thrown_message([] { GnMomentumSettings<double>{}.validate(); }).empty());
  CHECK(contains(bad([&](auto& s) { s.learning_rate = -1e-3; }),
                 "GnMomentumSettings::learning_rate"));
  CHECK(
      contains(bad([&](auto& s) { s.learning_rate = inf; }), "GnMomentumSettings::learning_rate"));
  CHECK(contains(bad([](auto& s) { s.beta1 = 1.0; }), "GnMomentumSettings::beta1"));
  CHECK(contains(bad([](auto& s) { s.beta2 = -0.1; }), "GnMomentumSettings::beta2"));
  CHECK(
      contains(bad([](auto& s) { s.curvature_beta = 1.5; }), "GnMomentumSettings::curvature_beta"));
  CHECK(contains(bad([](auto& s) { s.epsilon = 0.0; }), "GnMomentumSettings::epsilon"));
  CHECK(contains(bad([](auto& s) { s.gradient_tolerance = -1.0; }),
                 "GnMomentumSettings::gradient_tolerance"));
  CHECK(contains(bad([](auto& s) { s.max_iterations = 0; }), "GnMomentumSettings::max_iterations"));
  CHECK(contains(bad([](auto& s) { s.exact.max_iterations = 0; }), "ExactSubproblemSettings"));
  GnMomentumSettings<double> s;
  s.beta1 = 2.0;
  CHECK(contains(thrown_message([&] { GnMomentum<double, 2> g(s); }), "GnMomentumSettings::beta1"));
  OptimizerSettings<double> o;
  o.gn_momentum.curvature_beta = -0.5;
  CHECK(contains(thrown_message([&] { o.validate(); }), "GnMomentumSettings::curvature_beta"));
}

TEST_CASE("GN-Momentum: the Optimizer's eighth rule", "[gn_momentum]") {
  CHECK(std::string(to_string(UpdateRule::gn_momentum)) == "GN-Momentum");
  CHECK(needs_hessian(UpdateRule::gn_momentum));
  CHECK_FALSE(uses_trust_region(UpdateRule::gn_momentum));
  auto s = paper_settings<double>(UpdateRule::gn_momentum);
  s.gn_momentum.learning_rate = 0.1;
  s.gn_momentum.max_iterations = 3000;
  Optimizer<double, 2> opt(s);
  const V2 x0(-0.5, 0.6);
  opt.reset(x0, quad(x0));
  opt.tell_model(quad_grad(x0), kQ);
  CHECK(std::isfinite(opt.radius()));
  CHECK(opt.radius() == opt.gn_momentum().radius());
  CHECK(opt.gn_momentum().models() == 1);  // the rule's own optimizer received the model
  CHECK_THROWS_AS(opt.tell_gradient(quad_grad(x0)), std::invalid_argument);
  while (opt.status() == Status::running) {
    const V2 p = opt.ask().step;
    if (opt.status() != Status::running) break;
    CHECK(opt.tell_value(quad(opt.x() + p)).accepted);
    if (opt.status() == Status::running) opt.tell_model(quad_grad(opt.x()), kQ);
  }
  CHECK(opt.status() == Status::converged_gradient);
  CHECK((opt.x() - kC).norm() < 1e-7);
  CHECK(opt.iterations() == opt.gn_momentum().iterations());
}
