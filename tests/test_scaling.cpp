// Standardizer and TargetScaler (learn/scaling.hpp): centring and scaling of the critic's
// inputs, the log10 min-max map of its targets and its inverse. The critic's chain rule through
// both is tested in test_critic.cpp.
#include "rmpc_catch.hpp"

#include <rmpc/learn/scaling.hpp>

#include <Eigen/Core>

using rmpc::learn::Standardizer;
using rmpc::learn::TargetScaler;
using rmpc::learn::TargetScalerSettings;
using rmpc::learn::TargetTransform;

TEST_CASE("Standardizer centres and scales each row; constant rows are only centred", "[scaling]") {
  Eigen::MatrixXd x(3, 4);
  x << 1, 2, 3, 4,     //
      10, 10, 10, 10,  //
      -2, 2, -2, 2;
  Standardizer<double> st;
  st.fit(x);
  CHECK(st.mean()(0) == Approx(2.5));
  CHECK(st.scale()(0) == Approx(std::sqrt(1.25)));
  CHECK(st.scale()(1) == 1.0);
  CHECK(st.scale()(2) == Approx(2.0));
  const Eigen::MatrixXd z = st.transform(x);
  CHECK(z.rowwise().mean().norm() == Approx(0.0).margin(1e-14));
  CHECK(z.row(2).cwiseAbs().maxCoeff() == Approx(1.0));
  CHECK(z.row(1).isZero());
  CHECK_THROWS_AS(st.transform(Eigen::MatrixXd::Zero(2, 1)), std::invalid_argument);
}

TEST_CASE("TargetScaler log10 min-max maps the fitted range to [0, 1] and inverts", "[scaling]") {
  Eigen::VectorXd y(4);
  y << 0.01, 1.0, 100.0, 3.0;
  TargetScaler<double> ts;  // default: the paper's log10 min-max
  ts.fit(y);
  CHECK(ts.lo() == Approx(-2.0));
  CHECK(ts.hi() == Approx(2.0));
  CHECK(ts.forward(0.01) == Approx(0.0).margin(1e-15));
  CHECK(ts.forward(100.0) == Approx(1.0));
  CHECK(ts.forward(1.0) == Approx(0.5));
  CHECK(ts.inverse(ts.forward(3.0)) == Approx(3.0).epsilon(1e-13));
  CHECK(ts.forward(0.0) == ts.forward(ts.settings().floor));  // floored, finite
  // dy/dt, d2y/dt2 against central differences of the inverse.
  for (double t : {-0.2, 0.1, 0.5, 0.93}) {
    double yv, dy, d2y;
    ts.inverse_derivatives(t, yv, dy, d2y);
    const double h = 1e-5;
    CHECK(dy == Approx((ts.inverse(t + h) - ts.inverse(t - h)) / (2 * h)).epsilon(1e-8));
    CHECK(d2y == Approx((ts.inverse(t + h) - 2 * yv + ts.inverse(t - h)) / (h * h)).epsilon(1e-5));
  }
  TargetScaler<double> lin(TargetScalerSettings<double>{TargetTransform::min_max, 0.0});
  lin.fit(y);
  CHECK(lin.forward(-1.0) == Approx(-1.01 / 99.99));
  CHECK(lin.inverse(1.0) == Approx(100.0));
}
