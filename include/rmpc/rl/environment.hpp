// The environment the RL loop learns on (method.md section 1) and the closed-loop episode: the
// library's one closed-loop simulation (training batches, evaluations, the examples' tables).
//
// An environment is any type E with (const, thread-safe: episodes run in parallel)
//
//     State  E::step(const State& s, const Action& a) const;   // s+ = f(s, a)
//     Scalar E::cost(const State& s, const Action& a) const;   // stage cost L(s, a), minimised
//
// where State = Eigen::Matrix<Scalar, NX, 1> and Action = Eigen::Matrix<Scalar, NU, 1>.
// Episodes have a fixed length (the paper's 50 steps, gamma = 1): they are truncated, not
// terminated, so the last transition is bootstrapped by the critic (learn/targets.hpp).
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace rmpc::rl {

/// One closed-loop episode: columns are steps k = 0..length-1 (transition k is
/// (s_k, a_{k-1}, a_k, L(s_k, a_k), s_{k+1}); a_{-1} = 0).
template <typename Scalar, int NX, int NU>
struct Episode {
  Eigen::Matrix<Scalar, NX, Eigen::Dynamic> states;
  Eigen::Matrix<Scalar, NU, Eigen::Dynamic> prev_actions;
  Eigen::Matrix<Scalar, NU, Eigen::Dynamic> actions;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> costs;
  Eigen::Matrix<Scalar, NX, Eigen::Dynamic> next_states;
  Scalar total_cost = Scalar(0);  ///< sum of the stage costs (gamma = 1)
  int length = 0;                 ///< steps simulated (< requested when the policy failed)
  int failed_step = -1;           ///< first step where the policy gave no action, -1 if none
  bool ok() const { return failed_step < 0; }
};

namespace detail {
/// run_episode's body (an Env that meets the contract only: the static_assert comes first).
template <typename Scalar, int NX, int NU, typename Env, typename Policy>
void simulate_episode(const Env& env, const Eigen::Matrix<Scalar, NX, 1>& s0, int steps,
                      Policy& policy, Episode<Scalar, NX, NU>& out, Eigen::Index nu) {
  const Eigen::Index nx = s0.size();
  if (nx < 1) throw std::invalid_argument("run_episode: s0 is empty");
  if (nu < 0 || (NU != Eigen::Dynamic && nu != NU))
    throw std::invalid_argument("run_episode: nu = " + std::to_string(nu) + ", expected NU = " +
                                std::to_string(NU) + " (pass nu for a dynamic NU)");
  if (steps < 0)
    throw std::invalid_argument("run_episode: steps = " + std::to_string(steps) + " is negative");
  out.states.resize(nx, steps);
  out.prev_actions.resize(nu, steps);
  out.actions.resize(nu, steps);
  out.costs.resize(steps);
  out.next_states.resize(nx, steps);
  out.total_cost = Scalar(0);
  out.length = 0;
  out.failed_step = -1;
  Eigen::Matrix<Scalar, NX, 1> s = s0;
  Eigen::Matrix<Scalar, NU, 1> a_prev = Eigen::Matrix<Scalar, NU, 1>::Zero(nu), a(nu);
  for (int k = 0; k < steps; ++k) {
    const bool acted = policy(s, a_prev, k, a);
    if (a.size() != nu)
      throw std::invalid_argument("run_episode: the policy resized a to " +
                                  std::to_string(a.size()) +
                                  " entries, expected nu = " + std::to_string(nu));
    if (!acted || !a.allFinite()) {
      out.failed_step = k;
      break;
    }
    const Scalar c = env.cost(s, a);
    const auto next = env.step(s, a);  // size checked before the fixed-size copy
    if (next.rows() != nx || next.cols() != 1)
      throw std::invalid_argument("run_episode: env.step returned a " +
                                  std::to_string(next.rows()) + "x" + std::to_string(next.cols()) +
                                  " state, expected nx = " + std::to_string(nx) + " entries");
    const Eigen::Matrix<Scalar, NX, 1> s_next = next;
    if (!s_next.allFinite() || !std::isfinite(c)) {
      out.failed_step = k;
      break;
    }
    out.states.col(k) = s;
    out.prev_actions.col(k) = a_prev;
    out.actions.col(k) = a;
    out.costs(k) = c;
    out.next_states.col(k) = s_next;
    out.total_cost += c;
    out.length = k + 1;
    a_prev = a;
    s = s_next;
  }
  if (out.length < steps) {
    out.states.conservativeResize(Eigen::NoChange, out.length);
    out.prev_actions.conservativeResize(Eigen::NoChange, out.length);
    out.actions.conservativeResize(Eigen::NoChange, out.length);
    out.costs.conservativeResize(out.length);
    out.next_states.conservativeResize(Eigen::NoChange, out.length);
  }
}
}  // namespace detail

/// True when Env meets the contract above for State and Action: const step(s, a) returning
/// something a State can be built from, const cost(s, a) returning something convertible to
/// the Scalar.
template <typename Env, typename State, typename Action, typename = void>
struct is_environment : std::false_type {};
template <typename Env, typename State, typename Action>
struct is_environment<
    Env, State, Action,
    std::void_t<decltype(std::declval<const Env&>().step(std::declval<const State&>(),
                                                         std::declval<const Action&>())),
                decltype(std::declval<const Env&>().cost(std::declval<const State&>(),
                                                         std::declval<const Action&>()))>>
    : std::integral_constant<
          bool,
          std::is_constructible<State, decltype(std::declval<const Env&>().step(
                                           std::declval<const State&>(),
                                           std::declval<const Action&>()))>::value &&
              std::is_convertible<decltype(std::declval<const Env&>().cost(
                                      std::declval<const State&>(), std::declval<const Action&>())),
                                  typename State::Scalar>::value> {};

/// Runs `steps` steps from s0: policy(s, a_prev, k, a) -> bool fills a (false = failure,
/// the episode stops there, never throws); env.step / env.cost as above. A non-finite
/// action, cost or successor state also stops the episode (counted as a failure). Sizes are
/// programmer errors (std::invalid_argument naming the argument): s0 empty, nu != NU for a
/// fixed NU, steps < 0, a policy that resizes a, an env.step that returns another size.
template <typename Scalar, int NX, int NU, typename Env, typename Policy>
void run_episode(const Env& env, const Eigen::Matrix<Scalar, NX, 1>& s0, int steps, Policy&& policy,
                 Episode<Scalar, NX, NU>& out, Eigen::Index nu = NU) {
  constexpr bool valid =
      is_environment<Env, Eigen::Matrix<Scalar, NX, 1>, Eigen::Matrix<Scalar, NU, 1>>::value;
  static_assert(valid,
                "rmpc::rl: the environment must have const member functions step(s, a) "
                "returning the next state and cost(s, a) returning the stage cost, for s and a "
                "Eigen vectors of the loop's Scalar and sizes (rl/environment.hpp)");
  if constexpr (valid) detail::simulate_episode(env, s0, steps, policy, out, nu);
}

}  // namespace rmpc::rl
