// run_episode, the library's one closed-loop simulation: transitions and cost of a known
// linear system, failures as data (policy refusal, NaN action, NaN successor state), and the
// size checks that name the argument (s0, nu, steps, a resized action, a wrong-size state).
#include "rmpc/rl/environment.hpp"

#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <string>

using rmpc::testing::thrown_message;

namespace {
using State = Eigen::Matrix<double, 4, 1>;
using Action = Eigen::Matrix<double, 1, 1>;

/// s+ = s / 2 + a (on the first entry), L = |s|^2 + a^2.
struct Halving {
  State step(const State& s, const Action& a) const {
    State n = 0.5 * s;
    n(0) += a(0);
    return n;
  }
  double cost(const State& s, const Action& a) const { return s.squaredNorm() + a(0) * a(0); }
};

struct DynamicHalving {
  Eigen::VectorXd step(const Eigen::VectorXd& s, const Eigen::VectorXd&) const {
    return s.head(s.size() - (s.size() > 3 ? 1 : 0));  // drops an entry: a broken contract
  }
  double cost(const Eigen::VectorXd& s, const Eigen::VectorXd&) const { return s.squaredNorm(); }
};
}  // namespace

TEST_CASE("run_episode records the transitions and the cost of a known system", "[environment]") {
  const State s0 = State::Ones();
  rmpc::rl::Episode<double, 4, 1> ep;
  auto zero = [](const State&, const Action&, int, Action& a) {
    a.setZero();
    return true;
  };
  rmpc::rl::run_episode<double, 4, 1>(Halving{}, s0, 5, zero, ep);
  REQUIRE(ep.ok());
  CHECK(ep.length == 5);
  CHECK(ep.total_cost == Approx(4.0 * (1 + 0.25 + 0.0625 + 0.015625 + 0.00390625)));
  CHECK(ep.states.col(0) == s0);
  CHECK(ep.next_states.col(4) == State::Constant(1.0 / 32));
  for (int k = 1; k < 5; ++k) CHECK(ep.states.col(k) == ep.next_states.col(k - 1));

  // a_{k-1} is recorded as the previous action: a_k = k, so prev_actions(k) = k - 1.
  auto count = [](const State&, const Action& prev, int k, Action& a) {
    a(0) = k;
    return k == 0 || prev(0) == k - 1;
  };
  rmpc::rl::run_episode<double, 4, 1>(Halving{}, s0, 4, count, ep);
  REQUIRE(ep.ok());
  CHECK(ep.prev_actions(0, 0) == 0);
  CHECK(ep.prev_actions(0, 3) == 2);
  CHECK(ep.actions(0, 3) == 3);
}

TEST_CASE("run_episode reports failures as data, never throws for them", "[environment]") {
  const State s0 = State::Ones();
  rmpc::rl::Episode<double, 4, 1> ep;
  auto refuse_at_2 = [](const State&, const Action&, int k, Action& a) {
    a.setZero();
    return k != 2;
  };
  rmpc::rl::run_episode<double, 4, 1>(Halving{}, s0, 5, refuse_at_2, ep);
  CHECK(!ep.ok());
  CHECK(ep.failed_step == 2);
  CHECK(ep.length == 2);
  CHECK(ep.states.cols() == 2);

  auto nan_at_1 = [](const State&, const Action&, int k, Action& a) {
    a(0) = k == 1 ? std::numeric_limits<double>::quiet_NaN() : 0.0;
    return true;
  };
  rmpc::rl::run_episode<double, 4, 1>(Halving{}, s0, 5, nan_at_1, ep);
  CHECK(ep.failed_step == 1);

  auto huge = [](const State&, const Action&, int, Action& a) {
    a(0) = std::numeric_limits<double>::max();
    return true;
  };
  rmpc::rl::run_episode<double, 4, 1>(Halving{}, s0, 5, huge, ep);  // cost overflows to inf
  CHECK(ep.failed_step == 0);
  CHECK(std::isfinite(ep.total_cost));
}

TEST_CASE("run_episode checks s0, nu, steps and the sizes policy and env return",
          "[environment][sizes]") {
  rmpc::rl::Episode<double, 4, 1> ep;
  auto zero = [](const State&, const Action&, int, Action& a) {
    a.setZero();
    return true;
  };
  CHECK(thrown_message([&] {
          rmpc::rl::run_episode<double, 4, 1>(Halving{}, State::Ones(), 5, zero, ep, 2);
        }).find("nu = 2") != std::string::npos);
  CHECK(thrown_message([&] {
          rmpc::rl::run_episode<double, 4, 1>(Halving{}, State::Ones(), -1, zero, ep);
        }).find("steps = -1") != std::string::npos);

  using Dyn = rmpc::rl::Episode<double, Eigen::Dynamic, Eigen::Dynamic>;
  Dyn dyn;
  auto one = [](const Eigen::VectorXd&, const Eigen::VectorXd&, int, Eigen::VectorXd& a) {
    a.setZero(1);
    return true;
  };
  const Eigen::VectorXd s4 = Eigen::VectorXd::Ones(4);
  CHECK(thrown_message([&] {
          rmpc::rl::run_episode<double, Eigen::Dynamic, Eigen::Dynamic>(
              DynamicHalving{}, Eigen::VectorXd(), 5, one, dyn, 1);
        }).find("s0 is empty") != std::string::npos);
  CHECK(thrown_message([&] {
          rmpc::rl::run_episode<double, Eigen::Dynamic, Eigen::Dynamic>(DynamicHalving{}, s4, 5,
                                                                        one, dyn, 1);
        }).find("env.step returned a 3x1 state") != std::string::npos);
  CHECK(thrown_message([&] {
          rmpc::rl::run_episode<double, Eigen::Dynamic, Eigen::Dynamic>(DynamicHalving{}, s4, 5,
                                                                        one, dyn, 2);
        }).find("policy resized a") != std::string::npos);
  const Eigen::VectorXd s3 = Eigen::VectorXd::Ones(3);
  rmpc::rl::run_episode<double, Eigen::Dynamic, Eigen::Dynamic>(DynamicHalving{}, s3, 3, one, dyn,
                                                                1);
  CHECK(dyn.ok());
  CHECK(dyn.total_cost == Approx(9.0));
}
