// Your own system in one file: a cart on a track, tuned by rmpc's RL loop (README, "Your own
// system"; this file and the README's code block are kept identical by a test). Copy
// examples/template/ (this file and its CMakeLists.txt) and replace the four marked parts.
#include <rmpc/rmpc.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>

// 1. The true system, as the loop sees it (rl/environment.hpp): a cart of 1.25 kg with viscous
// friction 0.5 N s/m, state (position, velocity), input a force in [-1, 1] N, dt = 0.1 s.
// step() and cost() must be const and thread-safe.
struct Cart {
  using State = Eigen::Vector2d;
  using Action = Eigen::Matrix<double, 1, 1>;
  State step(const State& s, const Action& a) const {
    return State(s(0) + 0.1 * s(1), 0.96 * s(1) + 0.08 * a(0));
  }
  // Stage cost the loop minimises: p^2 + 0.1 v^2 + 0.1 u^2, plus 10 per m/s above |v| = 0.5.
  double cost(const State& s, const Action& a) const {
    return s(0) * s(0) + 0.1 * s(1) * s(1) + 0.1 * a(0) * a(0) +
           10.0 * std::max(0.0, std::abs(s(1)) - 0.5);
  }
};

// 2. The parameterized MPC (mpc/model.hpp): a template over the scalar T, because LqMpc also
// evaluates it with AutoDiffScalar for the exact theta-derivatives. Every theta entry is O(1)
// in its own unit (the trust radii are absolute in theta): theta = (friction / mass in 1/s,
// 1 / mass in 1/kg, terminal weight scale).
struct CartModel {
  template <class T>
  void operator()(const Eigen::Matrix<T, 3, 1>& theta, rmpc::mpc::LqData<T, 2, 1>& out) const {
    const T dt(0.1);
    out.A << T(1.0), dt, T(0.0), T(1.0) - dt * theta(0);
    out.B << T(0.0), dt * theta(1);
    out.Q.diagonal() << T(1.0), T(0.1);
    out.R(0, 0) = T(0.1);
    out.P = theta(2) * T(10.0) * out.Q;
    out.u_lb(0) = T(-1.0);
    out.u_ub(0) = T(1.0);
    out.x_lb(1) = T(-0.5);  // |v| <= 0.5 as a soft bound: L1 weight 10, as in Cart::cost
    out.x_ub(1) = T(0.5);
    out.x_soft_weight.setConstant(T(10.0));
  }
};
using CartMpc = rmpc::mpc::LqMpc<double, 2, 1, 10, 3>;  // nx, nu, horizon N, np
using CartLoop = rmpc::rl::PolicyOptimizer<Cart, CartMpc>;

int main() {
  // A wrong first guess: no friction and a 2 kg cart (the true one: 0.4 1/s, 0.8 1/kg).
  const Eigen::Vector3d theta0(0.0, 0.5, 1.0);

  // Check the model's derivatives once before learning with it (mpc/derivative_check.hpp).
  CartMpc probe(CartModel{});
  const auto check = rmpc::mpc::check_policy_derivatives(probe, Eigen::Vector2d(0.3, 0.1), theta0);
  if (check.status == rmpc::mpc::DerivativeCheckStatus::policy_failed || check.max_error() > 1e-5) {
    std::printf("derivative check failed: %s, error %g\n", rmpc::mpc::to_string(check.status),
                check.max_error());
    return 1;
  }

  // 3. The settings that depend on the problem's scale (README, "Your own system").
  rmpc::rl::LoopSettings<double> s;
  s.iterations = 6;        // a short demonstration run; tens for a real one
  s.episode_length = 40;   // 4 s: the closed loop settles well within an episode
  s.buffer_episodes = 40;  // the last 5 batches of 8 episodes
  s.seed = 1;
  s.exploration.sigma = 0.1;  // N: the input perturbation (exploration.scale = action)
  s.optimizer.trust_region.initial_radius = 0.05;  // absolute, in theta
  s.optimizer.trust_region.max_radius = 0.2;
  s.theta_lower = Eigen::Vector3d(-std::numeric_limits<double>::infinity(), 0.05, 0.1);
  s.theta_upper = Eigen::Vector3d::Constant(std::numeric_limits<double>::infinity());
  s.ratio_test_cost = rmpc::rl::RatioTestCost::deterministic_batch;  // accepted = cheaper
  s.critic_hidden = 16;
  s.critic = rmpc::rl::paper_critic_settings<double>(10);  // at most 10 epochs per sweep
  s.critic.sweeps = 3;
  s.first_fit_max_epochs = 20;

  // Initial states, one episode each per iteration (columns): positions +-1 and +-0.5 m.
  Eigen::Matrix<double, 2, 8> states;
  states << 1.0, -1.0, 0.5, -0.5, 1.0, -1.0, 0.5, -0.5,  //
      0.0, 0.0, 0.0, 0.0, 0.2, -0.2, -0.2, 0.2;

  // 4. Run: one MPC per worker thread from the factory, a line per iteration.
  CartLoop loop(
      Cart{}, [] { return std::make_unique<CartMpc>(CartModel{}); }, states, s);
  const auto result = loop.run(theta0, [](const CartLoop::Record& r) {
    std::printf("%s\n", rmpc::rl::progress_line(r, "cart").c_str());
  });

  std::printf("status %s, closed-loop cost %.4f -> %.4f (iteration %d), %.1f s\n",
              rmpc::rl::to_string(result.status), result.initial_cost, result.best_cost,
              result.best_iteration, result.wall_seconds);
  std::printf("theta = (%.4f, %.4f, %.4f)\n", result.best_theta(0), result.best_theta(1),
              result.best_theta(2));
  const bool ran = result.status == rmpc::rl::LoopStatus::completed ||
                   result.status == rmpc::rl::LoopStatus::optimizer_stopped;
  return ran && result.best_cost < result.initial_cost ? 0 : 1;
}
