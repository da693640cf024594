// The enum-selected Optimizer (optim/update_rule.hpp): every update rule of method.md section 4
// through the one ask/tell interface the RL loop uses, on a convex quadratic; the rule
// predicates and the paper's radii.
#include <rmpc/optim/update_rule.hpp>

#include "rmpc_catch.hpp"
#include "support/optim_test_functions.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <iostream>

using namespace rmpc::optim;
using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;
using rmpc::testing::quad;
using rmpc::testing::quad_grad;

namespace {
const M2& kQ = rmpc::testing::quadratic_hessian();
}  // namespace

TEST_CASE("Optimizer: every update rule through one ask/tell interface", "[update_rule]") {
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
