// Field cases of issue #15 for every update rule: gradients far outside the unit range
// (entries 1e154..1e300, whose squared norm overflows), NaN trial values, NaN gradients, an
// infinite objective at the start, denormal radii, float instantiations. Each must end with
// the status that says what happened, never with a convergence status at the start point,
// and no NaN/Inf trial value or non-finite step may ever be accepted.
#include <rmpc/optim/minimize.hpp>
#include <rmpc/optim/update_rule.hpp>

#include "rmpc_catch.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <iostream>
#include <limits>
#include <vector>

using namespace rmpc::optim;
using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;

namespace {

const UpdateRule kAllRules[] = {UpdateRule::gd,    UpdateRule::tr_gd,   UpdateRule::qn,
                                UpdateRule::tr_qn, UpdateRule::tr_bfgs, UpdateRule::tr_gauss_newton,
                                UpdateRule::adam};
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// f = (s / 2) |x - c|^2: g = s (x - c), H = s I. From x0 = c + (1, -1), |g_i| = s.
struct ScaledQuadratic {
  double s;
  V2 c{0.25, -0.5};
  double value(const V2& x) const { return 0.5 * s * (x - c).squaredNorm(); }
  V2 gradient(const V2& x) const { return s * (x - c); }
  M2 hessian() const { return s * M2::Identity(); }
};

// f = s (x1 - x2) + |x|^2 / 2: g = s (1, -1) + x with H = I of order one, so the Newton
// step is huge and every radius-limited step is linear-model dominated.
struct LinearDominated {
  double s;
  double value(const V2& x) const { return s * (x(0) - x(1)) + 0.5 * x.squaredNorm(); }
  V2 gradient(const V2& x) const { return s * V2(1.0, -1.0) + x; }
  M2 hessian() const { return M2::Identity(); }
};

struct RunLog {
  int accepted = 0;
  int trials = 0;
  bool accepted_non_finite = false;  // a NaN/Inf value or step was accepted
  bool stopped_at_start = false;     // stopped before any trial
};

// The RL loop's shape: tell (g, H) at every accepted point; ask; measure; tell_value.
template <typename Objective>
RunLog drive(Optimizer<double, 2>& opt, const V2& x0, const Objective& f, int max_trials) {
  RunLog log;
  opt.reset(x0, f.value(x0));
  if (opt.status() != Status::running) {
    log.stopped_at_start = true;
    return log;
  }
  opt.tell_model(f.gradient(x0), f.hessian());
  while (opt.status() == Status::running && log.trials < max_trials) {
    const TrialStep<double, 2> step = opt.ask();
    if (opt.status() != Status::running) break;
    ++log.trials;
    const double J = f.value(opt.x() + step.step);
    const V2 x_before = opt.x();
    const auto out = opt.tell_value(J);
    if (out.accepted) {
      ++log.accepted;
      if (!std::isfinite(J) || !step.step.allFinite() || !opt.x().allFinite() ||
          !std::isfinite(opt.value()))
        log.accepted_non_finite = true;
    } else if (opt.x() != x_before) {
      log.accepted_non_finite = true;  // a rejection must not move x
    }
    if (out.accepted && opt.status() == Status::running)
      opt.tell_model(f.gradient(opt.x()), f.hessian());
  }
  return log;
}

}  // namespace

TEST_CASE("field case: gradient entries 1e154..1e300 on a quadratic, every update rule",
          "[optim][field]") {
  // Before the fix, ||g||^2 overflowed: TR-QN, TR-BFGS, TR-GD (and TR-Gauss-Newton) took a
  // zero step and reported converged_step at x0; Adam's g^2 overflowed to a zero step.
  for (double s : {1.4e154, 1e200, 1e250, 1e300}) {
    const ScaledQuadratic f{s};
    const V2 x0 = f.c + V2(1.0, -1.0);
    for (UpdateRule rule : kAllRules) {
      auto settings = paper_settings<double>(rule);
      settings.trust_region.max_iterations = settings.fixed_rate.max_iterations = 5;
      Optimizer<double, 2> opt(settings);
      const RunLog log = drive(opt, x0, f, 100);
      INFO("s = " << s << ", rule " << to_string(rule) << ": " << to_string(opt.status())
                  << " after " << log.trials << " trials, " << log.accepted
                  << " accepted, x = " << opt.x().transpose());
      CHECK_FALSE(log.stopped_at_start);
      CHECK_FALSE(log.accepted_non_finite);
      CHECK(opt.x().allFinite());
      CHECK(std::isfinite(opt.value()));
      if (rule == UpdateRule::gd) {
        // p = -1e-4 g: the trial J overflows (or, for s >= 1e200, already the predicted
        // decrease 1e-4 |g|^2 does). Rejected, x kept, and said so.
        CHECK((opt.status() == Status::non_finite_objective ||
               opt.status() == Status::numerical_overflow));
        CHECK(opt.x() == x0);
        if (s < 1e160) CHECK(opt.status() == Status::non_finite_objective);
        if (s >= 1e200) CHECK(opt.status() == Status::numerical_overflow);
      } else {
        // Every other rule makes real progress: five accepted steps and the budget status.
        CHECK(opt.status() == Status::max_iterations);
        CHECK(log.accepted == 5);
        CHECK(f.value(opt.x()) < f.value(x0));
        CHECK((opt.x() - x0).norm() > 1e-3);
      }
    }
  }
}

TEST_CASE("field case: gradient entries 1e154..1e300 with a unit Hessian, every update rule",
          "[optim][field]") {
  // Before the fix the exact-Hessian and Gauss-Newton models (and BFGS, TR-GD) returned
  // converged_step at x0 here: ||p(lambda)||^2 overflowed in the secular equation.
  for (double s : {1.4e154, 1e200, 1e250, 1e300}) {
    const LinearDominated f{s};
    const V2 x0(0.5, 0.25);
    for (UpdateRule rule : kAllRules) {
      auto settings = paper_settings<double>(rule);
      settings.trust_region.max_iterations = settings.fixed_rate.max_iterations = 5;
      Optimizer<double, 2> opt(settings);
      const RunLog log = drive(opt, x0, f, 100);
      INFO("s = " << s << ", rule " << to_string(rule) << ": " << to_string(opt.status())
                  << " after " << log.trials << " trials, " << log.accepted << " accepted");
      CHECK_FALSE(log.accepted_non_finite);
      CHECK(opt.x().allFinite());
      if ((rule == UpdateRule::gd || rule == UpdateRule::qn) && s >= 1e200) {
        // Steps of 1e-4 |g| and 1e-2 |g|: m(0) - m(p) ~ lr |g|^2 leaves the range.
        CHECK(opt.status() == Status::numerical_overflow);
        CHECK(opt.x() == x0);
      } else if (rule == UpdateRule::gd || rule == UpdateRule::qn) {
        // s = 1.4e154: the long steps (1e150) are representable and decrease J: taken.
        CHECK(opt.status() == Status::max_iterations);
        CHECK(log.accepted == 5);
        CHECK(f.value(opt.x()) < f.value(x0));
      } else {
        CHECK(opt.status() == Status::max_iterations);
        CHECK(log.accepted == 5);
        CHECK(f.value(opt.x()) < f.value(x0));
        if (uses_trust_region(rule)) CHECK((opt.x() - x0).norm() > 1e-3);
      }
    }
  }
}

TEST_CASE("field case: huge-gradient quadratic converges at x*, not at x0 (TR models)",
          "[optim][field]") {
  // Run to a stop: the second-order models reach c; the stop is a convergence status at c.
  for (double s : {1.4e154, 1e300}) {
    const ScaledQuadratic f{s};
    const V2 x0 = f.c + V2(1.0, -1.0);
    for (UpdateRule rule :
         {UpdateRule::tr_qn, UpdateRule::tr_gauss_newton, UpdateRule::tr_bfgs, UpdateRule::tr_gd}) {
      auto settings = paper_settings<double>(rule);
      settings.trust_region.max_iterations = 5000;
      Optimizer<double, 2> opt(settings);
      const RunLog log = drive(opt, x0, f, 10000);
      INFO("s = " << s << ", rule " << to_string(rule) << ": " << to_string(opt.status())
                  << " after " << log.trials << " trials, |x - c| = " << (opt.x() - f.c).norm());
      CHECK_FALSE(log.accepted_non_finite);
      CHECK_FALSE(is_failure(opt.status()));
      CHECK(opt.status() != Status::running);
      CHECK(opt.status() != Status::max_iterations);
      CHECK(log.accepted >= 14);  // |x0 - c| = 1.41 at radii <= 0.1
      CHECK((opt.x() - f.c).norm() < 1e-9);
    }
  }
}

TEST_CASE("field case: a gradient beyond the range (|g| > DBL_MAX, entries finite)",
          "[optim][field]") {
  // Entries 1.5e308: ||g|| itself is +Inf. TR-GD still steps along -g at the radius; models
  // whose step or predicted decrease cannot be represented stop with numerical_overflow.
  const V2 g(1.5e308, -1.5e308);
  const V2 x0(0.0, 0.0);
  {
    TrustRegion<double, 2> tr(TrustRegionModel::clipped_gradient);
    tr.reset(x0, 1.0);
    REQUIRE(tr.tell_gradient(g) == Status::running);
    const auto& step = tr.ask();
    REQUIRE(tr.status() == Status::running);
    CHECK(step.step.norm() == Approx(tr.radius()));
    CHECK(step.step(0) < 0);
    CHECK(step.step(1) > 0);
    CHECK(std::isfinite(step.predicted_decrease));
    CHECK(step.predicted_decrease > 0);
  }
  for (auto model : {TrustRegionModel::exact_hessian, TrustRegionModel::bfgs}) {
    TrustRegion<double, 2> tr(model);
    tr.reset(x0, 1.0);
    model == TrustRegionModel::bfgs ? tr.tell_gradient(g) : tr.tell_model(g, M2::Identity());
    const auto& step = tr.ask();
    INFO(to_string(tr.status()));
    CHECK(tr.status() == Status::running);  // |p| = Delta, m(0) - m(p) = Delta |g| ~ 2e306
    CHECK(step.step.allFinite());
    CHECK(step.step.norm() == Approx(tr.radius()));
  }
  {  // Radius 100 (allowed): m(0) - m(p) = 100 * 2.1e308 overflows.
    TrustRegionSettings<double> s;
    s.initial_radius = s.max_radius = 100;
    TrustRegion<double, 2> tr(TrustRegionModel::exact_hessian, s);
    tr.reset(x0, 1.0);
    tr.tell_model(g, M2::Identity());
    CHECK(tr.ask().step.isZero());
    CHECK(tr.status() == Status::numerical_overflow);
    CHECK(is_failure(tr.status()));
  }
}

TEST_CASE("field case: every trial value NaN ends as non_finite_objective", "[optim][field]") {
  struct NaNTrials {
    V2 c{0.25, -0.5};
    V2 x0{1.0, 1.0};
    double value(const V2& x) const { return x == x0 ? 1.0 : kNaN; }
    V2 gradient(const V2& x) const { return x - c; }
    M2 hessian() const { return M2::Identity(); }
  } f;
  for (UpdateRule rule : kAllRules) {
    auto settings = paper_settings<double>(rule);
    Optimizer<double, 2> opt(settings);
    const RunLog log = drive(opt, f.x0, f, 1000);
    INFO(to_string(rule) << ": " << to_string(opt.status()) << " after " << log.trials
                         << " trials");
    CHECK(opt.status() == Status::non_finite_objective);
    CHECK(log.accepted == 0);
    CHECK_FALSE(log.accepted_non_finite);
    CHECK(opt.x() == f.x0);
    CHECK(opt.value() == 1.0);
    CHECK(opt.non_finite_trials() == log.trials);
    if (uses_trust_region(rule)) {
      CHECK(log.trials > 1);  // shrunk to min_radius first
      CHECK(opt.radius() == settings.trust_region.min_radius);
    } else {
      CHECK(log.trials == 1);  // no radius to shrink: the first non-finite trial stops
    }
  }
  // Ask/tell detail: each non-finite trial is a recorded rejection with ratio -Inf.
  TrustRegion<double, 2> tr(TrustRegionModel::exact_hessian);
  tr.reset(f.x0, 1.0);
  tr.tell_model(f.gradient(f.x0), f.hessian());
  for (double bad : {kNaN, kInf, -kInf}) {
    tr.ask();
    const auto out = tr.tell_value(bad);
    CHECK_FALSE(out.accepted);
    CHECK(out.non_finite_value);
    CHECK(out.ratio == -kInf);
    CHECK(out.status == Status::running);
  }
  CHECK(tr.non_finite_trials() == 3);
  CHECK(tr.x() == f.x0);
  // Mixed NaN and worse values: the trial at the floor decides. Radii 1e-2 / 4^k reach the
  // 1e-6 floor at the eighth trial (k = 7).
  for (int parity : {0, 1}) {
    TrustRegion<double, 2> tf(TrustRegionModel::exact_hessian);
    tf.reset(f.x0, 1.0);
    tf.tell_model(f.gradient(f.x0), f.hessian());
    int trials = 0;
    for (int k = 0; k < 100 && tf.status() == Status::running; ++k, ++trials) {
      tf.ask();
      tf.tell_value(k % 2 == parity ? kNaN : 2.0);
    }
    CHECK(trials == 8);
    // parity 0: the floor trial (k = 7) measured 2.0, a finite rejection: converged_radius.
    CHECK(tf.status() == (parity == 0 ? Status::converged_radius : Status::non_finite_objective));
    CHECK(tf.x() == f.x0);
  }
}

TEST_CASE("field case: NaN gradient is non_finite_input for every rule", "[optim][field]") {
  const V2 x0(1.0, 1.0);
  for (UpdateRule rule : kAllRules) {
    for (const V2& g : {V2(kNaN, 1.0), V2(1.0, kInf), V2(-kInf, kNaN)}) {
      Optimizer<double, 2> opt(paper_settings<double>(rule));
      opt.reset(x0, 1.0);
      INFO(to_string(rule) << " g = " << g.transpose());
      CHECK(opt.tell_model(g, M2::Identity()) == Status::non_finite_input);
      CHECK(opt.status() == Status::non_finite_input);
      CHECK(opt.ask().step.isZero());
      CHECK(opt.x() == x0);
    }
    // After an accepted step as well: the NaN gradient of the new point stops the run.
    Optimizer<double, 2> opt(paper_settings<double>(rule));
    opt.reset(x0, 1.0);
    opt.tell_model(V2(1.0, 0.5), M2::Identity());
    const V2 p = opt.ask().step;
    REQUIRE(opt.tell_value(1.0 - 0.9 * V2(1.0, 0.5).dot(-p)).accepted);
    CHECK(opt.tell_model(V2(kNaN, kNaN), M2::Identity()) == Status::non_finite_input);
    CHECK(opt.x().allFinite());
  }
  // NaN Hessian for the rules that read it.
  for (UpdateRule rule : {UpdateRule::qn, UpdateRule::tr_qn, UpdateRule::tr_gauss_newton}) {
    Optimizer<double, 2> opt(paper_settings<double>(rule));
    opt.reset(x0, 1.0);
    M2 H = M2::Identity();
    H(0, 1) = H(1, 0) = kNaN;
    CHECK(opt.tell_model(V2(1.0, 0.5), H) == Status::non_finite_input);
  }
}

TEST_CASE("field case: infinite objective at the start is non_finite_input", "[optim][field]") {
  for (UpdateRule rule : kAllRules) {
    for (double J0 : {kInf, -kInf, kNaN}) {
      Optimizer<double, 2> opt(paper_settings<double>(rule));
      opt.reset(V2(1.0, 1.0), J0);
      INFO(to_string(rule) << " J0 = " << J0);
      CHECK(opt.status() == Status::non_finite_input);
      CHECK(is_failure(opt.status()));
      CHECK(opt.ask().step.isZero());
      CHECK(opt.tell_value(0.0).status == Status::non_finite_input);
      CHECK_FALSE(opt.tell_value(0.0).accepted);
    }
  }
  // minimize() with f(x0) = Inf.
  auto inf_at_start = [](const V2&, V2* g, M2* H) {
    if (g) *g = V2(1.0, 1.0);
    if (H) *H = M2::Identity();
    return kInf;
  };
  for (auto model : {TrustRegionModel::exact_hessian, TrustRegionModel::gauss_newton,
                     TrustRegionModel::bfgs, TrustRegionModel::clipped_gradient}) {
    const auto r = minimize(inf_at_start, V2(0.0, 0.0), model);
    CHECK(r.status == Status::non_finite_input);
    CHECK(r.evaluations == 1);
    CHECK(r.accepted == 0);
  }
}

TEST_CASE("field case: tiny and denormal radii, huge and tiny points", "[optim][field]") {
  // A denormal (or zero) floor is refused up front.
  TrustRegionSettings<double> s;
  s.min_radius = 1e-320;
  CHECK_THROWS_AS((TrustRegion<double, 2>(TrustRegionModel::exact_hessian, s)),
                  std::invalid_argument);
  s.min_radius = 1e-6;
  s.max_radius = kInf;
  CHECK_THROWS_AS((TrustRegion<double, 2>(TrustRegionModel::exact_hessian, s)),
                  std::invalid_argument);
  s.max_radius = 1e-1;
  s.initial_radius = kNaN;
  CHECK_THROWS_AS((TrustRegion<double, 2>(TrustRegionModel::exact_hessian, s)),
                  std::invalid_argument);
  // Radii near the bottom of the normal range: steps of length Delta (squares underflow).
  for (auto method : {SubproblemMethod::exact, SubproblemMethod::steihaug_cg}) {
    for (auto model : {TrustRegionModel::exact_hessian, TrustRegionModel::clipped_gradient}) {
      TrustRegionSettings<double> t;
      t.initial_radius = t.min_radius = 1e-300;
      t.max_radius = 1.0;
      t.subproblem = method;
      TrustRegion<double, 2> tr(model, t);
      tr.reset(V2(0.0, 0.0), 1.0);
      model == TrustRegionModel::clipped_gradient ? tr.tell_gradient(V2(3.0, 4.0))
                                                  : tr.tell_model(V2(3.0, 4.0), M2::Identity());
      const auto& step = tr.ask();
      INFO(to_string(tr.status()));
      REQUIRE(tr.status() == Status::running);
      CHECK(step.step.stableNorm() == Approx(1e-300).epsilon(1e-9));
      CHECK(step.step(0) == Approx(-0.6e-300).epsilon(1e-9));
      CHECK(step.predicted_decrease > 0);
    }
  }
  // |x| ~ 1e200: ||x||^2 overflows, which made every accepted step "below step_tolerance
  // (1 + ||x||) = Inf". A step of 1e190 (relative 1e-10) is progress, not stagnation.
  {
    TrustRegionSettings<double> t;
    t.initial_radius = t.max_radius = 1e195;
    TrustRegion<double, 2> tr(TrustRegionModel::exact_hessian, t);
    const V2 x0(1e200, -1e200);
    tr.reset(x0, 1.0);
    tr.tell_model(V2(1e90, 0.0), 1e-100 * M2::Identity());
    const auto& step = tr.ask();
    REQUIRE(tr.status() == Status::running);
    CHECK(step.step(0) == Approx(-1e190));
    CHECK(step.predicted_decrease == Approx(0.5e280));
    const auto out = tr.tell_value(1.0 - step.predicted_decrease);
    CHECK(out.accepted);
    CHECK(tr.status() == Status::running);
  }
}

TEST_CASE("field case: float instantiation, default tolerances above float epsilon",
          "[optim][field]") {
  const float eps = Eigen::NumTraits<float>::epsilon();
  const TrustRegionSettings<float> ts;
  CHECK(ts.gradient_tolerance >= eps);
  CHECK(ts.step_tolerance >= eps);
  CHECK(ts.roundoff_tolerance >= eps);
  CHECK(ts.exact.radius_tolerance >= eps);
  CHECK(ts.exact.eigenvalue_tolerance >= eps);
  CHECK(ts.exact.hard_case_tolerance >= eps);
  CHECK(ts.bfgs.skip_tolerance >= eps);
  const FixedRateSettings<float> fs;
  CHECK(fs.gradient_tolerance >= eps);
  CHECK(fs.qn_relative_floor >= eps);
  // The double defaults are the documented values.
  const TrustRegionSettings<double> td;
  CHECK(td.gradient_tolerance == 1e-8);
  CHECK(td.step_tolerance == 1e-14);
  CHECK(td.exact.radius_tolerance == 1e-12);
  CHECK(td.bfgs.skip_tolerance == 1e-10);
  // A float run on a quadratic converges (statuses, not a stall to max_iterations).
  using V2f = Eigen::Vector2f;
  using M2f = Eigen::Matrix2f;
  const M2f Q = (M2f() << 3.0f, 1.0f, 1.0f, 2.0f).finished();
  const V2f c(0.4f, -0.3f);
  auto f = [&](const V2f& x, V2f* g, M2f* H) {
    if (g) *g = Q * (x - c);
    if (H) *H = Q;
    return 0.5f * (x - c).dot(Q * (x - c));
  };
  TrustRegionSettings<float> s;
  s.initial_radius = 1.0f;
  s.max_radius = 10.0f;
  s.min_radius = 1e-6f;
  for (auto model : {TrustRegionModel::exact_hessian, TrustRegionModel::bfgs}) {
    const auto r = minimize(f, V2f(-1.0f, 1.0f), model, s);
    INFO(to_string(r.status) << " after " << r.iterations);
    CHECK((r.status == Status::converged_gradient || r.status == Status::converged_step ||
           r.status == Status::converged_radius));
    CHECK((r.x - c).norm() < 1e-4f);
  }
}
