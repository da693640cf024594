// The least-squares quadratic critic (learn/quadratic_critic.hpp): it recovers an exact
// quadratic from data to round-off, its dQ/da and d2Q/da2 agree with central differences of
// its own value() in physical units, it keeps a direction the data do not excite at zero, and
// it runs the k fitted-Q sweeps through FittedQ (with the action input a - pi(s) too). Sizes are
// named errors; non-finite data are a status, not a throw.
#include "rmpc_catch.hpp"

#include <rmpc/learn/fitted_q.hpp>
#include <rmpc/learn/quadratic_critic.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

using rmpc::learn::QuadraticCritic;

namespace {
Eigen::MatrixXd random_inputs(Eigen::Index d, Eigen::Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0.0, 1.0);
  Eigen::MatrixXd x(d, n);
  for (Eigen::Index c = 0; c < n; ++c)
    for (Eigen::Index r = 0; r < d; ++r) x(r, c) = 0.3 * double(r + 1) * g(rng) + double(r);
  return x;
}
}  // namespace

TEST_CASE("quadratic critic recovers an exact quadratic and its action derivatives",
          "[quadratic_critic]") {
  const Eigen::Index d = 5;
  Eigen::MatrixXd m = Eigen::MatrixXd::Random(d, d);
  m = (m + m.transpose()).eval();
  const Eigen::VectorXd b = Eigen::VectorXd::LinSpaced(d, -1.0, 2.0);
  const auto q_true = [&](const Eigen::VectorXd& x) { return 0.7 + b.dot(x) + 0.5 * x.dot(m * x); };
  const Eigen::MatrixXd x = random_inputs(d, 400, 3);
  Eigen::VectorXd y(x.cols());
  for (Eigen::Index c = 0; c < x.cols(); ++c) y(c) = q_true(x.col(c));

  QuadraticCritic<double> critic(d, 0.0);  // no ridge: the fit must be exact
  const auto fit = critic.fit(x, y, {});
  REQUIRE(fit.status == rmpc::learn::TrainStatus::max_epochs);
  CHECK(fit.best_loss < 1e-20);

  const Eigen::MatrixXd xt = random_inputs(d, 7, 4);
  const std::vector<Eigen::Index> act = {3, 1};
  Eigen::VectorXd q(xt.cols());
  Eigen::MatrixXd dq(2, xt.cols()), d2q(4, xt.cols());
  critic.value_gradient_hessian(xt, act, q, dq, d2q);
  for (Eigen::Index c = 0; c < xt.cols(); ++c) {
    const Eigen::VectorXd xc = xt.col(c);
    CHECK(std::abs(q(c) - q_true(xc)) < 1e-9 * (1 + std::abs(q_true(xc))));
    const Eigen::VectorXd grad = b + m * xc;
    for (int i = 0; i < 2; ++i) {
      CHECK(std::abs(dq(i, c) - grad(act[std::size_t(i)])) < 1e-8);
      for (int j = 0; j < 2; ++j)
        CHECK(std::abs(d2q(i * 2 + j, c) - m(act[std::size_t(i)], act[std::size_t(j)])) < 1e-8);
    }
  }
}

TEST_CASE("quadratic critic's derivatives match central differences of its value",
          "[quadratic_critic]") {
  // Targets that are not quadratic: the fit is approximate, its derivatives still exact.
  const Eigen::Index d = 4;
  const Eigen::MatrixXd x = random_inputs(d, 300, 5);
  Eigen::VectorXd y(x.cols());
  for (Eigen::Index c = 0; c < x.cols(); ++c)
    y(c) = std::exp(0.2 * x(0, c)) + std::abs(x(2, c) - 2.0) + x(3, c) * x(1, c);
  QuadraticCritic<double> critic(d);
  REQUIRE(critic.fit(x, y, {}).status == rmpc::learn::TrainStatus::max_epochs);
  const std::vector<Eigen::Index> act = {2, 3};
  const Eigen::MatrixXd xt = random_inputs(d, 5, 6);
  Eigen::VectorXd q(xt.cols());
  Eigen::MatrixXd dq(2, xt.cols()), d2q(4, xt.cols());
  critic.value_gradient_hessian(xt, act, q, dq, d2q);
  const double h = 1e-4;
  Eigen::VectorXd v(1);
  const auto value = [&](Eigen::VectorXd p) {
    critic.value(p, v);
    return v(0);
  };
  for (Eigen::Index c = 0; c < xt.cols(); ++c)
    for (int i = 0; i < 2; ++i) {
      Eigen::VectorXd p = xt.col(c), mns = xt.col(c);
      p(act[std::size_t(i)]) += h;
      mns(act[std::size_t(i)]) -= h;
      const double fd = (value(p) - value(mns)) / (2 * h);
      CHECK(std::abs(dq(i, c) - fd) < 1e-7 * (1 + std::abs(fd)));
      for (int j = 0; j < 2; ++j) {
        const auto shifted = [&](double si, double sj) {
          Eigen::VectorXd z = xt.col(c);
          z(act[std::size_t(i)]) += si;
          z(act[std::size_t(j)]) += sj;
          return value(z);
        };
        const double fd2 =
            (shifted(h, h) - shifted(h, -h) - shifted(-h, h) + shifted(-h, -h)) / (4 * h * h);
        CHECK(std::abs(d2q(i * 2 + j, c) - fd2) < 1e-4 * (1 + std::abs(fd2)));
      }
    }
}

TEST_CASE("quadratic critic: an unexcited input keeps zero coefficients; errors",
          "[quadratic_critic]") {
  // Input 2 is constant: its linear and quadratic terms are not determined by the data; the
  // ridge keeps them at zero instead of an arbitrary solution of a singular system.
  Eigen::MatrixXd x = random_inputs(3, 200, 7);
  x.row(2).setConstant(4.0);
  Eigen::VectorXd y = x.row(0).transpose().array().square() + x.row(1).transpose().array();
  QuadraticCritic<double> critic(3);
  REQUIRE(critic.fit(x, y, {}).status == rmpc::learn::TrainStatus::max_epochs);
  Eigen::VectorXd q(1);
  Eigen::MatrixXd dq(1, 1), d2q(1, 1);
  critic.value_gradient_hessian(x.col(0), {2}, q, dq, d2q);
  CHECK(std::abs(dq(0, 0)) < 1e-9);
  CHECK(std::abs(d2q(0, 0)) < 1e-9);
  CHECK(QuadraticCritic<double>::num_features(3) == 10);

  CHECK_THROWS_AS(critic.fit(x.topRows(2), y, {}), std::invalid_argument);
  Eigen::VectorXd wrong(3);
  CHECK_THROWS_AS(critic.value(x, wrong), std::invalid_argument);
  CHECK_THROWS_AS(QuadraticCritic<double>(0), std::invalid_argument);
  const Eigen::VectorXd before = critic.parameters();
  // Without a ridge the normal equations of the constant input are singular: a status.
  // A constant that standardises to round-off (0.1: z ~ 1e-17, not exactly 0) must be caught by
  // the relative pivot test too; a failed fit keeps the old scaling with the old coefficients.
  for (double constant : {4.0, 0.1}) {
    x.row(2).setConstant(constant);
    QuadraticCritic<double> no_ridge(3, 0.0);
    CHECK(no_ridge.fit(x, y, {}).status == rmpc::learn::TrainStatus::non_finite);
    CHECK(no_ridge.input_scaler().mean().isZero());
    CHECK(no_ridge.parameters().isZero());
  }
  y(5) = std::numeric_limits<double>::quiet_NaN();
  CHECK(critic.fit(x, y, {}).status == rmpc::learn::TrainStatus::non_finite);
  CHECK(critic.parameters() == before);
}

TEST_CASE("fitted-Q sweeps with the quadratic critic give the k-step cost exactly",
          "[quadratic_critic][fitted_q]") {
  // s' = s + a, L = s^2 + a^2, pi(s) = -s/2 (next actions given). Q^(1) = s^2 + a^2 and
  // Q^(2) = s^2 + a^2 + Q^(1)(s', pi(s')) = s^2 + a^2 + 1.25 (s + a)^2: quadratics, so the
  // least-squares sweeps reproduce them to round-off; with action_relative the input is
  // a - pi(s) and dQ/da at a = pi(s) is the same number.
  rmpc::learn::ReplayBuffer<double> buf(1, 1, 40);
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Eigen::MatrixXd pi_next(1, 0), pi_now(1, 0);
  for (int e = 0; e < 40; ++e) {
    double s = u(rng);
    for (int t = 0; t < 4; ++t) {
      const double a = -0.5 * s + 0.3 * u(rng);
      const double s_next = s + a;
      buf.push(Eigen::VectorXd::Constant(1, s), Eigen::VectorXd::Zero(1),
               Eigen::VectorXd::Constant(1, a), s * s + a * a, Eigen::VectorXd::Constant(1, s_next),
               t == 3);
      pi_next.conservativeResize(1, pi_next.cols() + 1);
      pi_next(0, pi_next.cols() - 1) = -0.5 * s_next;
      pi_now.conservativeResize(1, pi_now.cols() + 1);
      pi_now(0, pi_now.cols() - 1) = -0.5 * s;
      s = s_next;
    }
    buf.end_episode();
  }
  for (bool relative : {false, true}) {
    rmpc::learn::FittedQ<double, QuadraticCritic<double>> fq;
    fq.reset(QuadraticCritic<double>(3, 1e-12));  // a_prev = 0 throughout: a ridge is needed
    rmpc::learn::FittedQSettings<double> settings;
    settings.sweeps = 2;
    settings.action_relative = relative;
    const auto result = fq.fit(buf, pi_next, pi_now, settings, [](int) { return 0ull; });
    REQUIRE(result.status == rmpc::learn::FittedQStatus::ok);
    // At s = 0.4 on the policy (a = -0.2): dQ^(2)/da = 2a + 2.5 (s + a) = 0.1, d2Q/da2 = 4.5.
    Eigen::VectorXd q;
    Eigen::MatrixXd dq, d2q;
    const Eigen::MatrixXd s = Eigen::MatrixXd::Constant(1, 1, 0.4);
    fq.action_derivatives<double>(s, Eigen::MatrixXd::Zero(1, 1),
                                  Eigen::MatrixXd::Constant(1, 1, relative ? 0.0 : -0.2), q, dq,
                                  d2q);
    CHECK(std::abs(q(0) - (0.16 + 0.04 + 1.25 * 0.04)) < 1e-9);
    CHECK(std::abs(dq(0, 0) - 0.1) < 1e-9);
    CHECK(std::abs(d2q(0, 0) - 4.5) < 1e-8);
  }
}

TEST_CASE("observed-return targets: one critic, fitted to the stored k-step returns",
          "[quadratic_critic][fitted_q]") {
  // k = 1: the observed 1-step return is the stage cost L = s^2 + a^2 itself, so the single
  // quadratic critic reproduces it (dQ/da = 2a, d2Q/da2 = 2); one network, not k.
  rmpc::learn::ReplayBuffer<double> buf(1, 1, 10);
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int e = 0; e < 10; ++e) {
    double s = u(rng);
    for (int t = 0; t < 5; ++t) {
      const double a = u(rng);
      buf.push(Eigen::VectorXd::Constant(1, s), Eigen::VectorXd::Zero(1),
               Eigen::VectorXd::Constant(1, a), s * s + a * a, Eigen::VectorXd::Constant(1, s + a),
               t == 4);
      s = 0.5 * (s + a);
    }
    buf.end_episode();
  }
  for (int k : {1, 3}) {
    rmpc::learn::FittedQ<double, QuadraticCritic<double>> fq;
    fq.reset(QuadraticCritic<double>(3, 1e-12));
    rmpc::learn::FittedQSettings<double> settings;
    settings.sweeps = k;
    settings.monte_carlo_targets = true;
    const Eigen::MatrixXd unused = Eigen::MatrixXd::Zero(1, buf.size());
    const auto result = fq.fit(buf, unused, settings, [](int) { return 0ull; });
    REQUIRE(result.status == rmpc::learn::FittedQStatus::ok);
    CHECK(result.fits.size() == 1);
    CHECK(fq.networks().size() == 1);
    if (k != 1) continue;
    Eigen::VectorXd q;
    Eigen::MatrixXd dq, d2q;
    fq.action_derivatives<double>(Eigen::MatrixXd::Constant(1, 1, 0.4), Eigen::MatrixXd::Zero(1, 1),
                                  Eigen::MatrixXd::Constant(1, 1, -0.2), q, dq, d2q);
    CHECK(std::abs(q(0) - 0.2) < 1e-9);
    CHECK(std::abs(dq(0, 0) + 0.4) < 1e-9);
    CHECK(std::abs(d2q(0, 0) - 2.0) < 1e-8);
  }
}
