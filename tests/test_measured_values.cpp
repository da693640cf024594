// MeasuredValues (least-change gradient correction to measured values) and the trust region's
// interpolate_measured: the corrected model reproduces every measured value, changes g only in
// the span of the measured steps, and turns a model that points uphill downhill.
#include <rmpc/optim/measured_values.hpp>
#include <rmpc/optim/minimize.hpp>
#include <rmpc/optim/trust_region.hpp>

#include "rmpc_catch.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <random>

using namespace rmpc::optim;

namespace {

Eigen::VectorXd random_vector(std::mt19937_64& rng, Eigen::Index n) {
  std::normal_distribution<double> nd;
  Eigen::VectorXd v(n);
  for (Eigen::Index i = 0; i < n; ++i) v(i) = nd(rng);
  return v;
}

double model(const Eigen::VectorXd& g, const Eigen::MatrixXd& B, const Eigen::VectorXd& p) {
  return g.dot(p) + 0.5 * p.dot(B * p);
}

}  // namespace

TEST_CASE("measured values: the corrected model reproduces each value, least change",
          "[trust_region]") {
  std::mt19937_64 rng(7);
  const Eigen::Index n = 6;
  const Eigen::VectorXd g = random_vector(rng, n);
  Eigen::MatrixXd B = Eigen::MatrixXd::Random(n, n);
  B = (B * B.transpose()).eval();
  MeasuredValues<double> measured;
  Eigen::VectorXd g_c;
  CHECK(measured.correct(g, B, 1.0, g_c) == 0);
  CHECK(g_c == g);  // nothing measured: the model's own gradient

  const double scale = 50;  // J in units 50 x the model's (the RL loop's episode length)
  std::vector<Eigen::VectorXd> steps;
  std::vector<double> rises;
  for (int j = 0; j < 3; ++j) {
    steps.push_back(1e-2 * random_vector(rng, n));
    rises.push_back(0.3 * (j + 1));
    measured.add(steps.back(), rises.back());
  }
  measured.add(steps[0], std::nan(""));  // nothing measured: ignored
  REQUIRE(measured.size() == 3);
  REQUIRE(measured.correct(g, B, scale, g_c) == 3);
  for (int j = 0; j < 3; ++j)
    CHECK(model(g_c, B, steps[j]) == Approx(rises[j] / scale).epsilon(1e-12));
  // Least change: g_c - g lies in the span of the steps (no component orthogonal to them).
  Eigen::MatrixXd P(n, 3);
  for (int j = 0; j < 3; ++j) P.col(j) = steps[j];
  const Eigen::VectorXd delta = g_c - g;
  const Eigen::VectorXd in_span = P * P.colPivHouseholderQr().solve(delta);
  CHECK((delta - in_span).norm() <= 1e-12 * (1 + delta.norm()));

  // A step dependent on a newer one is left out: the newest measurement in a direction counts.
  measured.add(2 * steps[0], 5.0);
  REQUIRE(measured.correct(g, B, scale, g_c) == 3);
  CHECK(model(g_c, B, 2 * steps[0]) == Approx(5.0 / scale).epsilon(1e-12));
  CHECK(model(g_c, B, steps[1]) == Approx(rises[1] / scale).epsilon(1e-12));
  measured.clear();
  CHECK(measured.empty());
}

TEST_CASE("trust region: interpolate_measured turns an uphill model around after one rejection",
          "[trust_region]") {
  // f = (x - 1)^2 / 2 from x = 0 (f' = -1); the model is told g = +1, uphill, as a sampled
  // critic can be. Without interpolation every retry goes the same wrong way at a smaller
  // radius; with it the rejected value makes the model's slope exact (-1) in one step.
  const auto f = [](double x) { return 0.5 * (x - 1) * (x - 1); };
  for (const bool interpolate : {false, true}) {
    TrustRegionSettings<double> s;
    s.interpolate_measured = interpolate;
    TrustRegion<double> tr(TrustRegionModel::exact_hessian, s);
    tr.reset(Eigen::VectorXd::Zero(1), f(0));
    tr.tell_model(Eigen::VectorXd::Constant(1, 1.0), Eigen::MatrixXd::Identity(1, 1));
    const double p1 = tr.ask().step(0);
    CHECK(p1 < 0);
    CHECK_FALSE(tr.tell_value(f(p1)).accepted);
    const double p2 = tr.ask().step(0);
    if (interpolate) {
      CHECK(tr.gradient()(0) == Approx(-1.0).epsilon(1e-12));
      CHECK(p2 > 0);
      CHECK(tr.tell_value(f(p2)).accepted);
    } else {
      CHECK(p2 < 0);
      CHECK_FALSE(tr.tell_value(f(p2)).accepted);
    }
  }
}

TEST_CASE("trust region: interpolate_measured keeps an exact model's iterates on a quadratic",
          "[trust_region]") {
  // With an exact model m(p) = f(x + p) - f(x) on a quadratic, so no correction is needed: the
  // run is the one without interpolation, to round-off.
  Eigen::Matrix3d A;
  A << 4, 1, 0, 1, 3, 0.5, 0, 0.5, 2;
  const Eigen::Vector3d b(1, -2, 0.5);
  const auto f = [&](const Eigen::Vector3d& x, Eigen::Vector3d* g, Eigen::Matrix3d* H) {
    if (g) *g = A * x - b;
    if (H) *H = A;
    return 0.5 * x.dot(A * x) - b.dot(x);
  };
  TrustRegionSettings<double> s;
  s.initial_radius = 0.05;
  s.max_radius = 0.2;
  const auto plain = minimize<double, 3>(f, Eigen::Vector3d(3, 3, 3),
                                         TrustRegionModel::exact_hessian, s);
  s.interpolate_measured = true;
  const auto interpolated = minimize<double, 3>(f, Eigen::Vector3d(3, 3, 3),
                                                TrustRegionModel::exact_hessian, s);
  CHECK(interpolated.status == plain.status);
  CHECK(interpolated.accepted == plain.accepted);
  CHECK((interpolated.x - A.ldlt().solve(b)).norm() <= 1e-8);
}
