// Trust-region driver: standard test functions from standard starts, convergence order,
// ratio test and radius rule, ask/tell == minimize, statuses, noisy objectives.
#include <rmpc/optim/trust_region.hpp>
#include <rmpc/optim/minimize.hpp>
#include <rmpc/optim/steihaug_cg.hpp>
#include <rmpc/optim/update_rule.hpp>

#include "rmpc_catch.hpp"
#include "support/optim_test_functions.hpp"
#include "support/thrown_message.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <iostream>
#include <random>
#include <vector>

using namespace rmpc::optim;
using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;
using rmpc::testing::beale;
using rmpc::testing::double_well;
using rmpc::testing::rosenbrock;
using rmpc::testing::rosenbrock_gn;
using rmpc::testing::unconstrained_settings;

namespace {

std::vector<double> errors(const std::vector<V2>& it, const V2& xs) {
  std::vector<double> e;
  for (const auto& x : it) e.push_back((x - xs).norm());
  return e;
}

}  // namespace

TEST_CASE("trust region: derivatives of the test functions match central differences",
          "[trust_region]") {
  const V2 pts[3] = {V2(-1.2, 1.0), V2(0.7, -0.3), V2(2.0, 0.4)};
  for (auto fn : {&rosenbrock, &beale, &double_well}) {
    for (const V2& x : pts) {
      V2 g;
      M2 H;
      fn(x, &g, &H);
      const double h = 1e-6;
      for (int i = 0; i < 2; ++i) {
        V2 e = V2::Zero();
        e(i) = h;
        V2 gp, gm;
        CHECK((fn(x + e, nullptr, nullptr) - fn(x - e, nullptr, nullptr)) / (2 * h) ==
              Approx(g(i)).epsilon(1e-6).margin(1e-6));
        fn(x + e, &gp, nullptr);
        fn(x - e, &gm, nullptr);
        CHECK(((gp - gm) / (2 * h) - H.col(i)).norm() <= 1e-5 * (1 + H.norm()));
      }
    }
  }
}

TEST_CASE("trust region: Rosenbrock from (-1.2, 1) with every curvature model", "[trust_region]") {
  const V2 x0(-1.2, 1.0), xs(1.0, 1.0);
  for (auto model : {TrustRegionModel::exact_hessian, TrustRegionModel::bfgs}) {
    for (auto reg : {Regularisation::none, Regularisation::absolute_eigenvalues}) {
      auto s = unconstrained_settings();
      s.regularisation = reg;
      const auto r = minimize(rosenbrock, x0, model, s);
      INFO("model " << static_cast<int>(model) << " reg " << static_cast<int>(reg) << " status "
                    << to_string(r.status) << " iterations " << r.iterations);
      CHECK(r.status == Status::converged_gradient);
      CHECK((r.x - xs).norm() < 1e-8);
      std::cout << "rosenbrock model " << static_cast<int>(model) << " reg "
                << static_cast<int>(reg) << ": " << r.iterations << " trials, " << r.accepted
                << " accepted\n";
    }
  }
  const auto gn =
      minimize(rosenbrock_gn, x0, TrustRegionModel::gauss_newton, unconstrained_settings());
  CHECK(gn.status == Status::converged_gradient);
  CHECK((gn.x - xs).norm() < 1e-8);
  std::cout << "rosenbrock gauss-newton: " << gn.iterations << " trials\n";
  // The paper's radii (Delta max 0.1) still get there, just in more steps.
  TrustRegionSettings<double> paper;
  paper.max_iterations = 5000;
  const auto rp = minimize(rosenbrock, x0, TrustRegionModel::exact_hessian, paper);
  CHECK(rp.status == Status::converged_gradient);
  CHECK((rp.x - xs).norm() < 1e-6);
}

TEST_CASE("trust region: Beale, convex quadratic, clipped gradient", "[trust_region]") {
  for (auto model : {TrustRegionModel::exact_hessian, TrustRegionModel::bfgs}) {
    for (const V2& x0 : {V2(1.0, 1.0), V2(-1.0, -1.0), V2(0.0, 0.0)}) {
      auto s = unconstrained_settings();
      s.regularisation = Regularisation::none;
      const auto r = minimize(beale, x0, model, s);
      INFO("x0 " << x0.transpose() << " status " << to_string(r.status));
      CHECK(r.status == Status::converged_gradient);
      CHECK((r.x - V2(3.0, 0.5)).norm() < 1e-7);
    }
  }
  // Convex quadratic in 6-D (dynamic size): Newton lands in one interior step once the
  // radius allows; BFGS and clipped gradient get there too.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  const Eigen::Index n = 6;
  Eigen::MatrixXd A(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) A(i, j) = normal(rng);
  const Eigen::MatrixXd Q = A * A.transpose() + Eigen::MatrixXd::Identity(n, n);
  Eigen::VectorXd b(n);
  for (Eigen::Index i = 0; i < n; ++i) b(i) = normal(rng);
  const Eigen::VectorXd xs = Q.ldlt().solve(b);
  auto quad = [&](const Eigen::VectorXd& x, Eigen::VectorXd* g, Eigen::MatrixXd* H) {
    if (g) *g = Q * x - b;
    if (H) *H = Q;
    return 0.5 * x.dot(Q * x) - b.dot(x);
  };
  const Eigen::VectorXd x0 = Eigen::VectorXd::Zero(n);
  auto s = unconstrained_settings();
  s.initial_radius = 2 * xs.norm();
  const auto rn = minimize(quad, x0, TrustRegionModel::exact_hessian, s);
  CHECK(rn.status == Status::converged_gradient);
  CHECK(rn.accepted == 1);
  CHECK((rn.x - xs).norm() < 1e-10);
  auto s2 = unconstrained_settings();
  s2.max_iterations = 100000;
  const auto rb = minimize(quad, x0, TrustRegionModel::bfgs, s2);
  CHECK(rb.status == Status::converged_gradient);
  CHECK((rb.x - xs).norm() < 1e-8);
  // Clipped gradient p = -g is gradient descent with unit rate: scale Q so that it is stable
  // (lambda_max = 1.5 < 2).
  const double lmax = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(Q).eigenvalues().maxCoeff();
  auto quad_scaled = [&](const Eigen::VectorXd& x, Eigen::VectorXd* g, Eigen::MatrixXd* H) {
    const double k = 1.5 / lmax;
    if (g) *g = k * (Q * x - b);
    if (H) *H = k * Q;
    return k * (0.5 * x.dot(Q * x) - b.dot(x));
  };
  const auto rg = minimize(quad_scaled, x0, TrustRegionModel::clipped_gradient, s2);
  INFO("clipped gradient " << to_string(rg.status) << " after " << rg.iterations);
  CHECK(rg.status == Status::converged_gradient);
  CHECK((rg.x - xs).norm() < 1e-6);
  // Steihaug-CG path on the same problem.
  auto sc = unconstrained_settings();
  sc.subproblem = SubproblemMethod::steihaug_cg;
  const auto rc = minimize(quad, x0, TrustRegionModel::exact_hessian, sc);
  CHECK(rc.status == Status::converged_gradient);
  CHECK((rc.x - xs).norm() < 1e-8);
}

TEST_CASE("trust region: escapes a saddle through the hard case (no regularisation)",
          "[trust_region]") {
  auto s = unconstrained_settings();
  s.regularisation = Regularisation::none;
  TrustRegion<double, 2> tr(TrustRegionModel::exact_hessian, s);
  const V2 x0(0.0, 0.5);  // g = (0, 0.5) orthogonal to the negative-curvature direction e1
  V2 g;
  M2 H;
  tr.reset(x0, double_well(x0, &g, &H));
  tr.tell_model(g, H);
  const auto& step = tr.ask();
  CHECK(tr.last_subproblem_status() == SubproblemStatus::hard_case);
  CHECK(std::abs(step.step(0)) > 0.1);
  std::vector<V2> it;
  const auto r = minimize(double_well, x0, TrustRegionModel::exact_hessian, s, &it);
  CHECK(r.status == Status::converged_gradient);
  CHECK(std::abs(std::abs(r.x(0)) - 1.0) < 1e-9);
  CHECK(std::abs(r.x(1)) < 1e-9);
  // With P1's absolute-eigenvalue regularisation the model is convex and the iteration
  // converges to the stationary saddle instead: documented behaviour, not a bug.
  auto sa = s;
  sa.regularisation = Regularisation::absolute_eigenvalues;
  const auto ra = minimize(double_well, x0, TrustRegionModel::exact_hessian, sa);
  CHECK(ra.status == Status::converged_gradient);
  CHECK(std::abs(ra.x(0)) < 1e-9);
}

TEST_CASE("trust region: convergence order near the optimum", "[trust_region]") {
  const V2 x0(-1.2, 1.0), xs(1.0, 1.0);
  auto s = unconstrained_settings();
  s.gradient_tolerance = 1e-13;
  std::vector<V2> it;
  minimize(rosenbrock, x0, TrustRegionModel::exact_hessian, s, &it);
  const auto e = errors(it, xs);
  // Quadratic: e_{k+1} / e_k^2 bounded once e_k < 1e-2 (and above round-off). The bound
  // ||H*^-1|| L / 2 ~ 2.5 * 2700 / 2 for Rosenbrock (L: Lipschitz constant of the Hessian).
  int checked = 0;
  for (size_t k = 0; k + 1 < e.size(); ++k) {
    if (e[k] < 1e-2 && e[k] > 1e-7 && e[k + 1] > 0) {
      const double q = e[k + 1] / (e[k] * e[k]);
      std::cout << "newton e_k " << e[k] << " e_k+1/e_k^2 " << q << "\n";
      CHECK(q < 3.5e3);
      CHECK(e[k + 1] / e[k] < 1e-2);
      ++checked;
    }
  }
  CHECK(checked >= 2);

  std::vector<V2> ib;
  minimize(rosenbrock, x0, TrustRegionModel::bfgs, s, &ib);
  const auto eb = errors(ib, xs);
  // Superlinear: e_{k+1}/e_k -> 0; the last ratios with e_k in (1e-10, 1e-3) fall well below 1.
  std::vector<double> ratios;
  for (size_t k = 0; k + 1 < eb.size(); ++k)
    if (eb[k] < 1e-3 && eb[k] > 1e-10) ratios.push_back(eb[k + 1] / eb[k]);
  for (double r : ratios) std::cout << "bfgs e_k+1/e_k " << r << "\n";
  REQUIRE(ratios.size() >= 3);
  CHECK(ratios.back() < 0.05);
  CHECK(ratios.back() < ratios.front());
  CHECK(ratios[ratios.size() - 2] < 0.2);
}

TEST_CASE("trust region: ratio test and radius rule follow the settings", "[trust_region]") {
  TrustRegionSettings<double> s;  // paper defaults: Delta0 1e-2, max 1e-1, min 1e-6
  s.regularisation = Regularisation::none;
  TrustRegion<double> tr(TrustRegionModel::exact_hessian, s);
  const Eigen::Vector3d x0(0.1, -0.2, 0.3);
  const Eigen::Vector3d g(1.0, 2.0, -1.0);
  const Eigen::Matrix3d H = Eigen::Vector3d(1.0, 2.0, 3.0).asDiagonal();
  tr.reset(x0, 5.0);
  tr.tell_model(g, H);
  CHECK(tr.radius() == 1e-2);
  // rho = 0.5: accepted, radius unchanged.
  auto p = tr.ask();
  CHECK(p.step.norm() == Approx(1e-2));
  auto out = tr.tell_value(5.0 - 0.5 * p.predicted_decrease);
  CHECK(out.accepted);
  CHECK(out.ratio == Approx(0.5));
  CHECK(tr.radius() == 1e-2);
  CHECK((tr.x() - (x0 + p.step)).norm() == 0.0);
  CHECK(tr.needs_model());
  CHECK_THROWS_AS(tr.ask(), std::logic_error);
  // rho = 0.9: expanded x2; repeated, capped at max_radius.
  tr.tell_model(g, H);
  for (double expected : {2e-2, 4e-2, 8e-2, 1e-1, 1e-1}) {
    const double J = tr.value();
    p = tr.ask();
    out = tr.tell_value(J - 0.9 * p.predicted_decrease);
    CHECK(out.accepted);
    CHECK(tr.radius() == Approx(expected));
    tr.tell_model(g, H);
  }
  // rho = 0.1: accepted but shrunk x1/4.
  double J = tr.value();
  p = tr.ask();
  out = tr.tell_value(J - 0.1 * p.predicted_decrease);
  CHECK(out.accepted);
  CHECK(tr.radius() == Approx(2.5e-2));
  // rho <= 0: rejected, x reverted, retried with the same g, H and radius / 4.
  tr.tell_model(g, H);
  const Eigen::VectorXd x_before = tr.x();
  J = tr.value();
  p = tr.ask();
  out = tr.tell_value(J + 1.0);
  CHECK_FALSE(out.accepted);
  CHECK(out.ratio < 0);
  CHECK(tr.x() == x_before);
  CHECK(tr.value() == J);
  CHECK(tr.radius() == Approx(6.25e-3));
  CHECK_FALSE(tr.needs_model());
  const auto retry = tr.ask();
  ExactSubproblem<double> sp;
  sp.compute(H);
  CHECK((retry.step - sp.solve(g, 6.25e-3).step).norm() < 1e-15);
  // rho exactly 0 is a rejection as well; a NaN trial value is a rejection, not a stop.
  out = tr.tell_value(J);
  CHECK_FALSE(out.accepted);
  tr.ask();
  out = tr.tell_value(std::nan(""));
  CHECK_FALSE(out.accepted);
  CHECK(out.status == Status::running);
  CHECK(tr.radius() == Approx(6.25e-3 / 16));
}

TEST_CASE("trust region: every stop is a status", "[trust_region]") {
  TrustRegionSettings<double> s;
  const Eigen::Vector2d x0(1.0, 1.0), g(1.0, 0.0);
  const Eigen::Matrix2d H = Eigen::Matrix2d::Identity();
  {  // Always-worse measurements: radius shrinks to min_radius, then converged_radius.
    TrustRegion<double, 2> tr(TrustRegionModel::exact_hessian, s);
    tr.reset(x0, 0.0);
    tr.tell_model(g, H);
    int trials = 0;
    while (tr.status() == Status::running && trials < 100) {
      tr.ask();
      tr.tell_value(1.0);
      ++trials;
    }
    CHECK(tr.status() == Status::converged_radius);
    CHECK(tr.radius() == s.min_radius);
    CHECK(tr.x() == x0);
    CHECK(trials ==
          8);  // 1e-2 / 4^k is clamped to the 1e-6 floor at k = 7, one more rejection at the floor
    CHECK(tr.ask().step.isZero());  // stopped: zero step, no exception
  }
  {
    TrustRegion<double, 2> tr(TrustRegionModel::exact_hessian, s);
    tr.reset(x0, 0.0);
    CHECK(tr.tell_model(Eigen::Vector2d(std::nan(""), 0.0), H) == Status::non_finite_input);
    tr.reset(x0, 0.0);
    Eigen::Matrix2d Hn = H;
    Hn(1, 1) = INFINITY;
    CHECK(tr.tell_model(g, Hn) == Status::non_finite_input);
    tr.reset(x0, std::nan(""));
    CHECK(tr.status() == Status::non_finite_input);
    tr.reset(x0, 0.0);
    CHECK(tr.tell_model(Eigen::Vector2d::Zero(), H) == Status::converged_gradient);
    CHECK_THROWS_AS(tr.tell_gradient(g), std::invalid_argument);
  }
  {
    auto sm = s;
    sm.max_iterations = 3;
    TrustRegion<double, 2> tr(TrustRegionModel::exact_hessian, sm);
    tr.reset(x0, 0.0);
    tr.tell_model(g, H);
    for (int k = 0; k < 3; ++k) {
      const double pred = tr.ask().predicted_decrease;
      tr.tell_value(tr.value() - pred);
      if (tr.status() == Status::running) tr.tell_model(g, H);
    }
    CHECK(tr.status() == Status::max_iterations);
    CHECK(tr.iterations() == 3);
  }
  CHECK_THROWS_AS((TrustRegion<double, 2>(TrustRegionModel::bfgs,
                                          [] {
                                            TrustRegionSettings<double> b;
                                            b.min_radius = 0;
                                            return b;
                                          }())),
                  std::invalid_argument);
}

TEST_CASE("trust region: noisy sampled objective (ask/tell with measured J)", "[trust_region]") {
  // J measured with noise sigma = 1e-4 on f = |x - c|_Q^2 / 2, g with noise 1e-4, exact H
  // (the RL loop's shape). Paper radii. The iterate must end near c despite noisy ratios.
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0.0, 1e-4);
  const Eigen::Vector3d c(0.3, -0.1, 0.2);
  const Eigen::Matrix3d Q = Eigen::Vector3d(1.0, 4.0, 0.5).asDiagonal();
  auto f = [&](const Eigen::Vector3d& x) { return 0.5 * (x - c).dot(Q * (x - c)); };
  TrustRegionSettings<double> s;
  TrustRegion<double, 3> tr(TrustRegionModel::exact_hessian, s);
  Eigen::Vector3d x0(-0.5, 0.4, 0.6);
  tr.reset(x0, f(x0) + noise(rng));
  tr.tell_model(Q * (x0 - c) + Eigen::Vector3d(noise(rng), noise(rng), noise(rng)), Q);
  int rejected = 0;
  for (int k = 0; k < 40 && tr.status() == Status::running; ++k) {
    const Eigen::Vector3d p = tr.ask().step;
    if (tr.status() != Status::running) break;
    const auto out = tr.tell_value(f(tr.x() + p) + noise(rng));
    if (out.accepted) {
      if (tr.status() == Status::running)
        tr.tell_model(Q * (tr.x() - c) + Eigen::Vector3d(noise(rng), noise(rng), noise(rng)), Q);
    } else {
      ++rejected;
    }
  }
  CHECK((tr.x() - c).norm() < 1e-3);
  std::cout << "noisy quadratic: |x - c| " << (tr.x() - c).norm() << ", rejected " << rejected
            << "\n";
}

TEST_CASE("optimizer settings: defaults and paper presets validate, a bad field is named",
          "[trust_region][settings]") {
  using rmpc::testing::thrown_message;
  CHECK_NOTHROW(TrustRegionSettings<double>{}.validate());
  CHECK_NOTHROW(OptimizerSettings<float>{}.validate());
  for (UpdateRule rule : {UpdateRule::gd, UpdateRule::qn, UpdateRule::adam, UpdateRule::tr_gd,
                          UpdateRule::tr_qn, UpdateRule::tr_gauss_newton, UpdateRule::tr_bfgs})
    CHECK_NOTHROW(paper_settings<double>(rule).validate());

  TrustRegionSettings<double> tr;
  tr.shrink_factor = 1.5;
  CHECK(thrown_message([&] { TrustRegion<double> t(TrustRegionModel::exact_hessian, tr); }) ==
        "TrustRegionSettings::shrink_factor must be in (0, 1) (got 1.5)");
  tr = {};
  tr.min_radius = 1e-320;  // denormal
  CHECK(thrown_message([&] { tr.validate(); }).find("TrustRegionSettings::min_radius") == 0);
  tr = {};
  tr.bfgs.damping_threshold = 0;  // nested settings are validated too
  CHECK(thrown_message([&] { tr.validate(); }).find("BfgsSettings::damping_threshold") == 0);
  OptimizerSettings<double> os;
  os.fixed_rate.adam_beta2 = 1.0;
  CHECK(thrown_message([&] {
          Optimizer<double> o(os);
        }).find("FixedRateSettings::adam_beta2 must be in [0, 1)") == 0);
  SteihaugCgSettings<double> cg;
  cg.max_iterations_per_dimension = 0;
  CHECK(thrown_message([&] {
          SteihaugCg<double> s(cg);
        }).find("SteihaugCgSettings::max_iterations_per_dimension") == 0);
  ExactSubproblemSettings<double> ex;
  ex.radius_tolerance = std::nan("");
  CHECK(thrown_message([&] {
          ExactSubproblem<double> e(ex);
        }).find("ExactSubproblemSettings::radius_tolerance") == 0);
}
