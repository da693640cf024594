// Mlp: forward pass, backpropagation and input derivatives against central differences.
#include "rmpc_catch.hpp"

#include <rmpc/learn/mlp.hpp>

#include <Eigen/Core>

#include <random>

using rmpc::learn::Activation;
using rmpc::learn::Mlp;

namespace {

template <typename Scalar>
Mlp<Scalar> make_net(std::uint64_t seed, Activation hidden, Activation out) {
  Mlp<Scalar> net({4, 7, 5, 1}, {hidden, Activation::softplus, out});
  net.initialize_glorot(seed);
  // Non-zero biases so every activation is exercised away from z = 0.
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<double> n01(0.0, 0.3);
  for (Eigen::Index l = 0; l < net.num_layers(); ++l)
    for (Eigen::Index i = 0; i < net.bias(l).size(); ++i) net.bias(l)(i) = Scalar(n01(rng));
  return net;
}

template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> random_inputs(Eigen::Index d, Eigen::Index n,
                                                                    std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> x(d, n);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < d; ++i) x(i, j) = Scalar(n01(rng));
  return x;
}

template <typename Scalar>
void check_input_derivatives(Scalar h, Scalar tol, Activation hidden, Activation out) {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  auto net = make_net<Scalar>(3, hidden, out);
  const Matrix x = random_inputs<Scalar>(4, 6, 11);
  const std::vector<Eigen::Index> idx = {3, 1};
  const Eigen::Index k = 2;
  Vector value(x.cols());
  Matrix grad(k, x.cols()), hess(k * k, x.cols());
  net.input_derivatives(x, idx, value, grad, hess);
  const Matrix y = net.forward(x);
  for (Eigen::Index b = 0; b < x.cols(); ++b) {
    CHECK(value(b) == Approx(double(y(0, b))).margin(1e-12).epsilon(1e-5));
    for (Eigen::Index i = 0; i < k; ++i) {
      Matrix xp = x.col(b), xm = x.col(b);
      xp(idx[i]) += h;
      xm(idx[i]) -= h;
      const Scalar fd = (net.forward(xp)(0, 0) - net.forward(xm)(0, 0)) / (2 * h);
      CHECK(double(grad(i, b)) == Approx(double(fd)).margin(double(tol)));
      // Hessian column i = central difference of the analytic gradient.
      Vector vp(1), vm(1);
      Matrix gp(k, 1), gm(k, 1), hp(k * k, 1), hm(k * k, 1);
      net.input_derivatives(xp, idx, vp, gp, hp);
      net.input_derivatives(xm, idx, vm, gm, hm);
      for (Eigen::Index j = 0; j < k; ++j) {
        const Scalar fd2 = (gp(j, 0) - gm(j, 0)) / (2 * h);
        CHECK(double(hess(j * k + i, b)) == Approx(double(fd2)).margin(double(tol)));
      }
    }
    CHECK(double(hess(1, b)) == Approx(double(hess(2, b))).margin(1e-12));  // symmetric
  }
}

template <typename Scalar>
void check_weight_gradient(Scalar h, Scalar tol) {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  Mlp<Scalar> net({3, 6, 4, 2}, {Activation::tanh, Activation::softplus, Activation::sigmoid});
  net.initialize_glorot(5);
  const Matrix x = random_inputs<Scalar>(3, 5, 8);
  const Matrix w = random_inputs<Scalar>(2, 5, 9);  // loss = sum(w .* y)
  net.forward(x);
  Vector grad(net.num_parameters());
  net.backward(w, grad);
  const Vector theta = net.parameters();
  for (Eigen::Index p = 0; p < theta.size(); ++p) {
    Vector t = theta;
    t(p) += h;
    net.set_parameters(t);
    const Scalar lp = (w.array() * net.forward(x).array()).sum();
    t(p) -= 2 * h;
    net.set_parameters(t);
    const Scalar lm = (w.array() * net.forward(x).array()).sum();
    CHECK(double(grad(p)) == Approx(double((lp - lm) / (2 * h))).margin(double(tol)));
  }
  net.set_parameters(theta);
}

}  // namespace

TEST_CASE("Mlp layout, sizes and Glorot init are deterministic", "[mlp]") {
  Mlp<double> a({4, 20, 20, 1}, {Activation::tanh, Activation::tanh, Activation::sigmoid});
  CHECK(a.num_parameters() == 541);  // the paper's critic
  a.initialize_glorot(42);
  Mlp<double> b = a;
  b.initialize_glorot(42);
  CHECK(a.parameters() == b.parameters());
  b.initialize_glorot(43);
  CHECK(a.parameters() != b.parameters());
  const double r = std::sqrt(6.0 / 24.0);
  CHECK(a.weights(0).cwiseAbs().maxCoeff() <= r);
  CHECK(a.weights(0).cwiseAbs().maxCoeff() > 0.5 * r);
  CHECK(a.bias(1).isZero());
  CHECK_THROWS_AS(Mlp<double>({4, 3}, {Activation::tanh, Activation::tanh}), std::invalid_argument);
  CHECK_THROWS_AS(a.forward(Eigen::MatrixXd::Zero(3, 2)), std::invalid_argument);
}

TEST_CASE("Mlp forward matches a hand-written evaluation", "[mlp]") {
  Mlp<double> net({2, 3, 1}, {Activation::tanh, Activation::identity});
  net.initialize_glorot(1);
  Eigen::MatrixXd x(2, 3);
  x << 0.1, -0.4, 2.0, 0.7, 0.3, -1.0;
  const Eigen::MatrixXd y = net.forward(x);
  for (Eigen::Index b = 0; b < 3; ++b) {
    const Eigen::VectorXd hdn = (net.weights(0) * x.col(b) + net.bias(0)).array().tanh().matrix();
    const double expect = (net.weights(1) * hdn + net.bias(1))(0);
    CHECK(y(0, b) == Approx(expect).margin(1e-14));
  }
}

TEST_CASE("Mlp input gradient and Hessian match central differences (double)", "[mlp][fd]") {
  check_input_derivatives<double>(1e-5, 1e-7, Activation::tanh, Activation::sigmoid);
  check_input_derivatives<double>(1e-5, 1e-7, Activation::sigmoid, Activation::identity);
  check_input_derivatives<double>(1e-5, 1e-7, Activation::softplus, Activation::tanh);
}

TEST_CASE("Mlp input gradient and Hessian match central differences (float)", "[mlp][fd]") {
  check_input_derivatives<float>(3e-2f, 2e-3f, Activation::tanh, Activation::sigmoid);
  check_input_derivatives<float>(3e-2f, 2e-3f, Activation::softplus, Activation::identity);
}

TEST_CASE("Mlp backpropagation matches central differences", "[mlp][fd]") {
  check_weight_gradient<double>(1e-6, 1e-7);
  check_weight_gradient<float>(1e-2f, 2e-3f);
}
