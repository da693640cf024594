// Objectives of the optimizer tests, with exact gradients and Hessians: a convex quadratic
// (the GD / QN / Adam / GN-Momentum checks) and standard test functions from the literature
// (Rosenbrock, Beale, a double well with a saddle), and a trust region's settings for them.
#pragma once

#include <rmpc/optim/trust_region.hpp>

#include <Eigen/Dense>

#include <cmath>

namespace rmpc::testing {

/// The convex quadratic 0.5 (x - c)' Q (x - c), minimum 0 at c.
inline const Eigen::Matrix2d& quadratic_hessian() {
  static const Eigen::Matrix2d Q = (Eigen::Matrix2d() << 3.0, 1.0, 1.0, 2.0).finished();
  return Q;
}
inline Eigen::Vector2d quadratic_minimiser() { return Eigen::Vector2d(0.4, -0.3); }
inline double quad(const Eigen::Vector2d& x) {
  const Eigen::Vector2d d = x - quadratic_minimiser();
  return 0.5 * d.dot(quadratic_hessian() * d);
}
inline Eigen::Vector2d quad_grad(const Eigen::Vector2d& x) {
  return quadratic_hessian() * (x - quadratic_minimiser());
}

// Rosenbrock f = 100 (y - x^2)^2 + (1 - x)^2, minimum (1, 1).
inline double rosenbrock(const Eigen::Vector2d& v, Eigen::Vector2d* g, Eigen::Matrix2d* H) {
  const double x = v(0), y = v(1);
  if (g) *g << -400 * x * (y - x * x) - 2 * (1 - x), 200 * (y - x * x);
  if (H) *H << 1200 * x * x - 400 * y + 2, -400 * x, -400 * x, 200;
  return 100 * (y - x * x) * (y - x * x) + (1 - x) * (1 - x);
}

// Gauss-Newton of Rosenbrock as r'r, r = (10 (y - x^2), 1 - x): H = 2 J'J (zero residual at x*).
inline double rosenbrock_gn(const Eigen::Vector2d& v, Eigen::Vector2d* g, Eigen::Matrix2d* H) {
  const double f = rosenbrock(v, g, nullptr);
  if (H) {
    Eigen::Matrix2d J;
    J << -20 * v(0), 10, -1, 0;
    *H = 2 * J.transpose() * J;
  }
  return f;
}

// Beale, minimum (3, 0.5); its Hessian is indefinite in parts of the plane.
inline double beale(const Eigen::Vector2d& v, Eigen::Vector2d* g, Eigen::Matrix2d* H) {
  const double x = v(0), y = v(1);
  const double c[3] = {1.5, 2.25, 2.625};
  double f = 0;
  Eigen::Vector2d gg = Eigen::Vector2d::Zero();
  Eigen::Matrix2d HH = Eigen::Matrix2d::Zero();
  for (int i = 0; i < 3; ++i) {
    const int k = i + 1;
    const double yk = std::pow(y, k);
    const double r = c[i] - x * (1 - yk);
    Eigen::Vector2d dr(-(1 - yk), x * k * std::pow(y, k - 1));
    Eigen::Matrix2d d2r;
    d2r << 0, k * std::pow(y, k - 1), k * std::pow(y, k - 1),
        x * k * (k - 1) * (k >= 2 ? std::pow(y, k - 2) : 0.0);
    f += r * r;
    gg += 2 * r * dr;
    HH += 2 * (dr * dr.transpose() + r * d2r);
  }
  if (g) *g = gg;
  if (H) *H = HH;
  return f;
}

// f = x^4/4 - x^2/2 + y^2/2: saddle at 0, minima (+-1, 0).
inline double double_well(const Eigen::Vector2d& v, Eigen::Vector2d* g, Eigen::Matrix2d* H) {
  const double x = v(0), y = v(1);
  if (g) *g << x * x * x - x, y;
  if (H) *H << 3 * x * x - 1, 0, 0, 1;
  return 0.25 * x * x * x * x - 0.5 * x * x + 0.5 * y * y;
}

inline rmpc::optim::TrustRegionSettings<double> unconstrained_settings() {
  rmpc::optim::TrustRegionSettings<double> s;  // radii of a generic solver, not the RL defaults
  s.initial_radius = 1.0;
  s.max_radius = 100.0;
  s.min_radius = 1e-14;
  s.gradient_tolerance = 1e-10;
  s.max_iterations = 2000;
  s.shrink_from_step_length = true;
  return s;
}

}  // namespace rmpc::testing
