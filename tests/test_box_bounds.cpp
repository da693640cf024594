// Box bounds on the optimizer's variables (optim/box_bounds.hpp): the bounded trust-region
// step against exact answers and a brute-force search, every update rule never leaving the
// box and converging to the bound-constrained minimiser, and the programmer errors.
#include <rmpc/optim/box_bounds.hpp>
#include <rmpc/optim/subproblem.hpp>
#include <rmpc/optim/update_rule.hpp>

#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <vector>

using namespace rmpc::optim;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;

BoxBounds<double> box(double l0, double l1, double u0, double u1) {
  BoxBounds<double> b;
  b.lower = Eigen::Vector2d(l0, l1);
  b.upper = Eigen::Vector2d(u0, u1);
  return b;
}

double model(const V2& g, const M2& B, const V2& p) { return g.dot(p) + 0.5 * p.dot(B * p); }

// min m(p) over ||p|| <= radius, x + p in the box, by a fine polar grid (brute force). Written
// in scalars, not Eigen expressions: its 576 000 points per call took minutes in the
// unoptimized sanitizer build (same grid, same points, same model value up to round-off).
double brute_force_min(const BoxBounds<double>& b, const V2& x, const V2& g, const M2& B,
                       double radius) {
  const bool bounded = !b.empty();
  const double lo0 = bounded ? b.lower(0) : -inf, lo1 = bounded ? b.lower(1) : -inf;
  const double up0 = bounded ? b.upper(0) : inf, up1 = bounded ? b.upper(1) : inf;
  const double x0 = x(0), x1 = x(1), g0 = g(0), g1 = g(1);
  const double b00 = B(0, 0), b01 = B(0, 1), b10 = B(1, 0), b11 = B(1, 1);
  double best = 0;
  const int nr = 400, na = 1440;
  std::vector<double> cos_a(na), sin_a(na);
  for (int j = 0; j < na; ++j) {
    const double a = 2 * M_PI * j / na;
    cos_a[j] = std::cos(a);
    sin_a[j] = std::sin(a);
  }
  for (int i = 1; i <= nr; ++i)
    for (int j = 0; j < na; ++j) {
      const double r = radius * i / nr;
      const double p0 = r * cos_a[j], p1 = r * sin_a[j];
      const double y0 = x0 + p0, y1 = x1 + p1;
      if (!(y0 >= lo0 && y0 <= up0 && y1 >= lo1 && y1 <= up1)) continue;
      const double m =
          g0 * p0 + g1 * p1 + 0.5 * (p0 * (b00 * p0 + b01 * p1) + p1 * (b10 * p0 + b11 * p1));
      best = std::min(best, m);
    }
  return best;
}

}  // namespace

TEST_CASE("bounded_step: a bound cuts the Newton step; the rest moves freely", "[box_bounds]") {
  // B = I, g = (-1, -1), x = 0: Newton step (1, 1); with x1 <= 0.3 the minimiser of the model
  // over the box is (0.3, 1) (separable), inside the radius 10.
  const auto b = box(-inf, -inf, 0.3, inf);
  ExactSubproblem<double> solver;
  const auto s = bounded_step<double, 2>(b, V2::Zero(), V2(-1, -1), M2::Identity(), 10.0, solver);
  CHECK(s.step(0) == 0.3);  // exactly on the bound
  CHECK(s.step(1) == Approx(1).margin(1e-14));
  CHECK(s.predicted_decrease == Approx(-model(V2(-1, -1), M2::Identity(), s.step)));
  CHECK(s.passes == 2);
}

TEST_CASE("bounded_step: a variable at its bound with an outward gradient does not move",
          "[box_bounds]") {
  const auto b = box(0, -inf, inf, inf);
  ExactSubproblem<double> solver;
  M2 B;
  B << 2, 0.5, 0.5, 1;
  const auto s = bounded_step<double, 2>(b, V2(0, 0.2), V2(3, -1), B, 0.5, solver);
  CHECK(s.step(0) == 0);
  CHECK(s.step.norm() <= 0.5 * (1 + 1e-12));
  CHECK(s.predicted_decrease > 0);
}

TEST_CASE("bounded_step: within 1e-4 of a brute-force search, never outside the box",
          "[box_bounds]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (int trial = 0; trial < 40; ++trial) {
    INFO("trial " << trial);
    M2 A;
    A << u(rng), u(rng), u(rng), u(rng);
    const M2 B = A * A.transpose() + 0.05 * M2::Identity();  // PSD, as the regularised models
    const V2 g(u(rng), u(rng));
    const double radius = 0.2 + std::abs(u(rng));
    const auto b =
        box(-0.3 * std::abs(u(rng)), -0.3 * std::abs(u(rng)), 0.3 * std::abs(u(rng)), inf);
    const V2 x = V2::Zero();
    ExactSubproblem<double> solver;
    const auto s = bounded_step<double, 2>(b, x, g, B, radius, solver);
    REQUIRE(s.finite);
    CHECK(b.contains(x + s.step));
    CHECK(s.step.norm() <= radius * (1 + 1e-10));
    CHECK(s.predicted_decrease >= 0);
    const double brute = brute_force_min(b, x, g, B, radius);
    // The active-set path is a descent path, not always the global minimiser over the
    // intersection; on these 2-D cases it reaches the brute-force value.
    CHECK(-s.predicted_decrease <= brute + 1e-4 * (1 + std::abs(brute)));
  }
}

TEST_CASE(
    "every update rule stays in the box and the trust-region rules reach the bounded minimiser",
    "[box_bounds]") {
  // f = (x - 2)^2 + (y + 1)^2 + x y / 2 over x <= 1, y >= 0: minimiser (1, 0) (both bounds
  // active: grad f(1, 0) = (-2, 2.5) points out of the box on both).
  const auto f = [](const V2& v, V2& g, M2& H) {
    g << 2 * (v(0) - 2) + 0.5 * v(1), 2 * (v(1) + 1) + 0.5 * v(0);
    H << 2, 0.5, 0.5, 2;
    return (v(0) - 2) * (v(0) - 2) + (v(1) + 1) * (v(1) + 1) + 0.5 * v(0) * v(1);
  };
  const Eigen::VectorXd lower = Eigen::Vector2d(-inf, 0);
  const Eigen::VectorXd upper = Eigen::Vector2d(1, inf);
  for (UpdateRule rule : {UpdateRule::gd, UpdateRule::tr_gd, UpdateRule::qn, UpdateRule::tr_qn,
                          UpdateRule::tr_bfgs, UpdateRule::tr_gauss_newton, UpdateRule::adam}) {
    INFO(to_string(rule));
    auto settings = paper_settings<double>(rule);
    settings.fixed_rate.gd_learning_rate = 0.1;
    settings.fixed_rate.qn_learning_rate = 0.5;
    settings.fixed_rate.adam_learning_rate = 0.05;
    Optimizer<double, 2> opt(settings);
    opt.set_bounds(lower, upper);
    V2 g;
    M2 H;
    const V2 x0(0.5, 0.5);
    opt.reset(x0, f(x0, g, H));
    opt.tell_model(g, H);
    for (int it = 0; it < 300 && opt.status() == Status::running; ++it) {
      const auto& step = opt.ask();
      if (opt.status() != Status::running) break;
      REQUIRE(step.point(0) <= 1.0);
      REQUIRE(step.point(1) >= 0.0);
      const auto out = opt.tell_value(f(step.point, g, H));
      if (out.accepted) opt.tell_model(g, H);
    }
    CHECK(opt.x()(0) <= 1.0);
    CHECK(opt.x()(1) >= 0.0);
    if (uses_trust_region(rule) ||
        rule == UpdateRule::gd) {  // projected Newton (QN) may stop short
      CHECK(opt.x()(0) == Approx(1).margin(1e-6));
      CHECK(opt.x()(1) == Approx(0).margin(1e-6));
    }
  }
}

TEST_CASE("without bounds the trial point is x + p", "[box_bounds]") {
  Optimizer<double, 2> opt(paper_settings<double>(UpdateRule::tr_qn));
  opt.reset(V2(0.5, 0.5), 1.0);
  opt.tell_model(V2(1, -2), M2::Identity());
  const auto& step = opt.ask();
  CHECK(step.point == V2(0.5, 0.5) + step.step);
}

TEST_CASE("box bounds: programmer errors are named", "[box_bounds]") {
  using rmpc::testing::thrown_message;
  Optimizer<double, 2> opt(paper_settings<double>(UpdateRule::tr_qn));
  opt.set_bounds(Eigen::VectorXd::Zero(3), Eigen::VectorXd::Ones(3));
  CHECK(thrown_message([&] {
          opt.reset(V2(0.5, 0.5), 1.0);
        }).find("TrustRegion::set_bounds: lower and upper must both have 2") == 0);
  opt.set_bounds(Eigen::VectorXd::Ones(2), Eigen::VectorXd::Zero(2));
  CHECK(thrown_message([&] {
          opt.reset(V2(0.5, 0.5), 1.0);
        }).find("TrustRegion::set_bounds: entry 0 needs lower <= upper") == 0);
  opt.set_bounds(Eigen::VectorXd::Zero(2), Eigen::VectorXd::Constant(2, 0.25));
  CHECK(thrown_message([&] { opt.reset(V2(0.5, 0.5), 1.0); }) ==
        "TrustRegion::reset: x0 lies outside the bounds");
  Optimizer<double, 2> gd(paper_settings<double>(UpdateRule::gd));
  gd.set_bounds(Eigen::VectorXd::Zero(2), Eigen::VectorXd::Constant(2, 0.25));
  CHECK(thrown_message([&] { gd.reset(V2(0.5, 0.5), 1.0); }) ==
        "FixedRate::reset: x0 lies outside the bounds");
}
