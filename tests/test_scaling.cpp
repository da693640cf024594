// Standardizer, TargetScaler and the Critic's chain rule through both scalings: dQ/da and
// d2Q/da2 in physical units against central differences of the physical Q; the
// single-sample fast path allocates nothing after warm-up.
#include <atomic>

// Eigen allocates through malloc, not operator new: with EIGEN_RUNTIME_NO_MALLOC it checks
// every allocation against a runtime switch via eigen_assert, which is redirected to a counter.
static std::atomic<long> g_eigen_assert_failures{0};
#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x) ((x) ? (void)0 : (void)++g_eigen_assert_failures)

#include "rmpc_catch.hpp"

#include <rmpc/learn/critic.hpp>

#include <Eigen/Core>

#include "support/counting_new.hpp"

#include <atomic>
#include <random>

using rmpc::learn::Activation;
using rmpc::learn::Critic;
using rmpc::learn::Mlp;
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

namespace {

template <typename Scalar>
Critic<Scalar> make_fitted_scalers_critic() {
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  Mlp<Scalar> net({5, 8, 6, 1}, {Activation::tanh, Activation::tanh, Activation::sigmoid});
  net.initialize_glorot(17);
  Critic<Scalar> critic(std::move(net));
  // Non-trivial scalers: inputs with different spreads, targets over several decades.
  std::mt19937_64 rng(4);
  std::normal_distribution<double> n01(0.0, 1.0);
  Matrix x(5, 50);
  Vector y(50);
  for (Eigen::Index j = 0; j < 50; ++j) {
    for (Eigen::Index i = 0; i < 5; ++i) x(i, j) = Scalar(0.3 + (i + 1) * 0.7 * n01(rng));
    y(j) = Scalar(std::pow(10.0, 3.0 * n01(rng)));
  }
  critic.input_scaler().fit(x);
  critic.target_scaler().fit(y);
  return critic;
}

template <typename Scalar>
void check_critic_chain_rule(Scalar h, double rel_tol) {
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  auto critic = make_fitted_scalers_critic<Scalar>();
  const std::vector<Eigen::Index> idx = {4, 2};
  Vector x(5);
  x << Scalar(0.4), Scalar(-1.0), Scalar(0.8), Scalar(2.0), Scalar(-0.5);
  const auto r = critic.value_gradient_hessian(x, idx);  // copy
  CHECK(double(r.value) == Approx(double(critic.value_single(x))).epsilon(1e-5));
  for (std::size_t i = 0; i < idx.size(); ++i) {
    Vector xp = x, xm = x;
    xp(idx[i]) += h;
    xm(idx[i]) -= h;
    const Scalar fd = (critic.value_single(xp) - critic.value_single(xm)) / (2 * h);
    INFO("i=" << i);
    CHECK(double(r.dq_da(Eigen::Index(i))) ==
          Approx(double(fd)).epsilon(rel_tol).margin(rel_tol * std::abs(double(r.value))));
    const Vector gp = critic.value_gradient_hessian(xp, idx).dq_da;
    const Vector gm = critic.value_gradient_hessian(xm, idx).dq_da;
    for (std::size_t j = 0; j < idx.size(); ++j) {
      const Scalar fd2 = (gp(Eigen::Index(j)) - gm(Eigen::Index(j))) / (2 * h);
      CHECK(double(r.d2q_da2(Eigen::Index(j), Eigen::Index(i))) ==
            Approx(double(fd2)).epsilon(rel_tol).margin(rel_tol * std::abs(double(r.value))));
    }
  }
  CHECK(double(r.d2q_da2(0, 1)) == Approx(double(r.d2q_da2(1, 0))).epsilon(1e-5));
}

}  // namespace

TEST_CASE("Critic dQ/da and d2Q/da2 are exact through both scalings (double)", "[scaling][fd]") {
  check_critic_chain_rule<double>(1e-5, 1e-6);
}

TEST_CASE("Critic dQ/da and d2Q/da2 are exact through both scalings (float)", "[scaling][fd]") {
  check_critic_chain_rule<float>(1e-2f, 3e-2);
}

TEST_CASE("Critic batched derivatives equal the single-sample path", "[scaling]") {
  auto critic = make_fitted_scalers_critic<double>();
  const std::vector<Eigen::Index> idx = {3, 4};
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(5, 9);
  Eigen::VectorXd q(9);
  Eigen::MatrixXd g(2, 9), hs(4, 9);
  critic.value_gradient_hessian(x, idx, q, g, hs);
  const Eigen::VectorXd qv = critic.value(x);
  for (Eigen::Index b = 0; b < 9; ++b) {
    const auto& r = critic.value_gradient_hessian(Eigen::VectorXd(x.col(b)), idx);
    CHECK(q(b) == Approx(r.value).epsilon(1e-13));
    CHECK(qv(b) == Approx(r.value).epsilon(1e-13));
    CHECK(g(0, b) == Approx(r.dq_da(0)).epsilon(1e-12));
    CHECK(g(1, b) == Approx(r.dq_da(1)).epsilon(1e-12));
    CHECK(hs(1, b) == Approx(r.d2q_da2(0, 1)).epsilon(1e-12));
    CHECK(hs(3, b) == Approx(r.d2q_da2(1, 1)).epsilon(1e-12));
  }
}

TEST_CASE("Critic single-sample fast path allocates nothing after warm-up", "[scaling]") {
  auto critic = rmpc::learn::make_paper_critic<double>(2, 1, 3);
  const auto idx = rmpc::learn::critic_action_indices(2, 1);
  REQUIRE(idx.size() == 1);
  CHECK(idx[0] == 3);
  Eigen::MatrixXd inputs = Eigen::MatrixXd::Random(4, 100);
  Eigen::VectorXd x(4);
  x = inputs.col(0);
  critic.value_gradient_hessian(x, idx);  // warm-up sizes the workspace
  double sum = 0.0;
  const long before = rmpc_test::operator_new_calls().load();
  const long eigen_before = g_eigen_assert_failures.load();
  Eigen::internal::set_is_malloc_allowed(false);
  for (Eigen::Index b = 0; b < inputs.cols(); ++b) {
    x = inputs.col(b);
    const auto& r = critic.value_gradient_hessian(x, idx);
    sum += r.value + r.dq_da(0) + r.d2q_da2(0, 0);
    // A column of a matrix binds to the Ref without a copy as well.
    sum += critic.value_gradient_hessian(inputs.col(b), idx).value;
  }
  Eigen::internal::set_is_malloc_allowed(true);
  const long after = rmpc_test::operator_new_calls().load();
  CHECK(after - before == 0);
  CHECK(g_eigen_assert_failures.load() - eigen_before == 0);
  CHECK(std::isfinite(sum));
}
