// Adam (learn/adam.hpp, Kingma & Ba 2015, Algorithm 1): the bias-corrected first step and
// convergence on a convex quadratic; the regression losses of the critic fit (MSE and Huber)
// and their gradients, by hand and against central differences.
#include "rmpc_catch.hpp"

#include <rmpc/learn/adam.hpp>

#include <Eigen/Core>

using namespace rmpc::learn;

TEST_CASE("Adam converges on a convex quadratic; first step has length lr per coordinate",
          "[adam]") {
  Eigen::Vector3d d(1.0, 10.0, 100.0), b(1.0, -2.0, 3.0);
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(3);
  AdamSettings<double> s;
  s.learning_rate = 1e-2;
  Adam<double> adam(s);
  adam.step(theta, (d.array() * theta.array()).matrix() - b);
  // Bias-corrected first step: mhat / sqrt(vhat) = sign(g) (up to eps).
  CHECK(theta(0) == Approx(1e-2).epsilon(1e-5));
  CHECK(theta(1) == Approx(-1e-2).epsilon(1e-5));
  CHECK(adam.steps() == 1);
  for (int k = 0; k < 20000; ++k) adam.step(theta, (d.array() * theta.array()).matrix() - b);
  const Eigen::Vector3d opt = (b.array() / d.array()).matrix();
  CHECK((theta - opt).norm() < 1e-3);  // constant-lr Adam hovers at ~lr/100 here
}

TEST_CASE("MSE and Huber losses and their gradients", "[adam]") {
  Eigen::RowVectorXd pred(4), target(4), g(4);
  pred << 0.0, 1.0, 3.0, -2.5;
  target << 0.5, 1.0, 0.0, 0.0;
  const double mse = regression_loss(Loss::mse, 1.0, pred, target, g);
  CHECK(mse == Approx((0.25 + 0 + 9 + 6.25) / 4));
  CHECK(g(2) == Approx(2 * 3.0 / 4));
  const double hub = regression_loss(Loss::huber, 1.0, pred, target, g);
  CHECK(hub == Approx((0.125 + 0 + (3 - 0.5) + (2.5 - 0.5)) / 4));
  CHECK(g(0) == Approx(-0.5 / 4));
  CHECK(g(2) == Approx(1.0 / 4));  // linear branch: slope delta
  CHECK(g(3) == Approx(-1.0 / 4));
  // Central differences of the Huber loss away from the kinks.
  for (int i = 0; i < 4; ++i) {
    const double h = 1e-6;
    Eigen::RowVectorXd pp = pred, pm = pred, tmp(4);
    pp(i) += h;
    pm(i) -= h;
    const double fd = (regression_loss(Loss::huber, 1.0, pp, target, tmp) -
                       regression_loss(Loss::huber, 1.0, pm, target, tmp)) /
                      (2 * h);
    regression_loss(Loss::huber, 1.0, pred, target, g);
    CHECK(g(i) == Approx(fd).margin(1e-8));
  }
}
