// The critic's activations (learn/activation.hpp): values, and first and second derivatives
// against central differences, including the saturated tails where tanh, sigmoid and
// softplus must stay finite and exact.
#include "rmpc_catch.hpp"

#include <rmpc/learn/activation.hpp>

#include <Eigen/Core>

#include <cmath>

using rmpc::learn::Activation;

TEST_CASE("Activations and their first and second derivatives", "[activation]") {
  Eigen::ArrayXd z(7), a(7), d1(7), d2(7);
  z << -30.0, -2.0, -0.3, 0.0, 0.5, 3.0, 30.0;
  using rmpc::learn::activate;
  for (Activation kind :
       {Activation::identity, Activation::tanh, Activation::sigmoid, Activation::softplus}) {
    activate(kind, z, a);
    rmpc::learn::activate_derivative(kind, z, a, d1);
    rmpc::learn::activate_second_derivative(kind, a, d1, d2);
    const double h = 1e-5;
    Eigen::ArrayXd ap(7), am(7), d1p(7), d1m(7);
    activate(kind, (z + h).eval(), ap);
    activate(kind, (z - h).eval(), am);
    rmpc::learn::activate_derivative(kind, (z + h).eval(), ap, d1p);
    rmpc::learn::activate_derivative(kind, (z - h).eval(), am, d1m);
    for (int i = 0; i < 7; ++i) {
      INFO(rmpc::learn::to_string(kind) << " z=" << z(i));
      CHECK(std::isfinite(a(i)));
      CHECK(d1(i) == Approx((ap(i) - am(i)) / (2 * h)).margin(1e-8));
      CHECK(d2(i) == Approx((d1p(i) - d1m(i)) / (2 * h)).margin(1e-8));
    }
  }
  activate(Activation::tanh, z, a);
  CHECK(a(1) == Approx(std::tanh(-2.0)).margin(1e-15));
  activate(Activation::softplus, z, a);
  CHECK(a(6) == Approx(30.0).margin(1e-12));
  CHECK(a(0) == Approx(std::exp(-30.0)).epsilon(1e-10));
}
