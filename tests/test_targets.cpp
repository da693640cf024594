// k-step targets on a hand-computable chain: fitted-Q target algebra and k-step returns with
// truncation vs termination (the fitted-Q critic itself: test_fitted_q.cpp).
#include "rmpc_catch.hpp"

#include <rmpc/learn/learn.hpp>

#include <Eigen/Core>

using rmpc::learn::ReplayBuffer;

namespace {

// One episode of 4 steps on the chain s_{t+1} = s_t + 1, a_t = 0.5, costs 1, 2, 3, 4.
// The last transition is flagged done.
ReplayBuffer<double> chain(int episodes = 1) {
  ReplayBuffer<double> buf(1, 1, 10);
  for (int e = 0; e < episodes; ++e) {
    for (int t = 0; t < 4; ++t) {
      Eigen::VectorXd s = Eigen::VectorXd::Constant(1, t), sn = Eigen::VectorXd::Constant(1, t + 1);
      Eigen::VectorXd ap = Eigen::VectorXd::Constant(1, t == 0 ? 0.0 : 0.5),
                      a = Eigen::VectorXd::Constant(1, 0.5);
      buf.push(s, ap, a, double(t + 1), sn, t == 3);
    }
    buf.end_episode();
  }
  return buf;
}

}  // namespace

TEST_CASE("critic inputs stack (s, a_prev, a) and (s', a, pi(s'))", "[targets]") {
  const auto buf = chain();
  const Eigen::MatrixXd x = rmpc::learn::critic_inputs(buf);
  REQUIRE(x.rows() == 3);
  CHECK(x(0, 2) == 2.0);
  CHECK(x(1, 0) == 0.0);
  CHECK(x(1, 2) == 0.5);
  CHECK(x(2, 3) == 0.5);
  const Eigen::MatrixXd pi_next = rmpc::learn::next_actions(
      buf, [](const Eigen::VectorXd& s) { return Eigen::VectorXd::Constant(1, -s(0)); });
  CHECK(pi_next(0, 1) == -2.0);
  const Eigen::MatrixXd xn = rmpc::learn::next_critic_inputs(buf, pi_next);
  CHECK(xn(0, 1) == 2.0);   // s'
  CHECK(xn(1, 1) == 0.5);   // a_prev' = a
  CHECK(xn(2, 1) == -2.0);  // pi(s')
  CHECK_THROWS_AS(rmpc::learn::next_critic_inputs(buf, Eigen::MatrixXd::Zero(1, 3)),
                  std::invalid_argument);
}

TEST_CASE("fitted-Q targets bootstrap at done only for truncated episodes", "[targets]") {
  const auto buf = chain();
  Eigen::VectorXd next_q(4);
  next_q << 10, 20, 30, 40;
  const Eigen::VectorXd y_trunc = rmpc::learn::fitted_q_targets(buf, next_q, 0.5, true);
  const Eigen::VectorXd y_term = rmpc::learn::fitted_q_targets(buf, next_q, 0.5, false);
  CHECK(y_trunc(0) == 1 + 5.0);
  CHECK(y_trunc(3) == 4 + 20.0);
  CHECK(y_term(2) == 3 + 15.0);
  CHECK(y_term(3) == 4.0);  // true terminal: no bootstrap
}

TEST_CASE("k-step returns along an episode, hand-computed", "[targets]") {
  const auto buf = chain(2);  // two identical episodes: returns must not cross the boundary
  Eigen::VectorXd v(8);
  v << 10, 20, 30, 40, 10, 20, 30, 40;  // V_i = Q(s'_i, a_i, pi(s'_i))
  const double g = 0.5;
  SECTION("k = 2, truncated episodes bootstrap at the end") {
    const Eigen::VectorXd y = rmpc::learn::k_step_returns(buf, 2, g, v, true);
    CHECK(y(0) == Approx(1 + g * 2 + g * g * 20));
    CHECK(y(1) == Approx(2 + g * 3 + g * g * 30));
    CHECK(y(2) == Approx(3 + g * 4 + g * g * 40));
    CHECK(y(3) == Approx(4 + g * 40));  // one step left, bootstrap from s'_3
    CHECK(y(4) == Approx(y(0)));
    CHECK(y(7) == Approx(y(3)));
  }
  SECTION("k = 2, terminal episodes do not bootstrap past done") {
    const Eigen::VectorXd y = rmpc::learn::k_step_returns(buf, 2, g, v, false);
    CHECK(y(1) == Approx(2 + g * 3 + g * g * 30));
    CHECK(y(2) == Approx(3 + g * 4));
    CHECK(y(3) == Approx(4.0));
  }
  SECTION("k = 1 equals the fitted-Q target; k >= length is the Monte Carlo tail cost") {
    const Eigen::VectorXd y1 = rmpc::learn::k_step_returns(buf, 1, g, v, true);
    const Eigen::VectorXd q1 = rmpc::learn::fitted_q_targets(buf, v, g, true);
    CHECK((y1 - q1).norm() == Approx(0.0).margin(1e-14));
    const Eigen::VectorXd mc =
        rmpc::learn::k_step_returns(buf, 10, 1.0, Eigen::VectorXd::Zero(8), true);
    CHECK(mc(0) == 10.0);
    CHECK(mc(1) == 9.0);
    CHECK(mc(3) == 4.0);
    CHECK(mc(4) == 10.0);
  }
  CHECK_THROWS_AS(rmpc::learn::k_step_returns(buf, 0, g, v, true), std::invalid_argument);
}
