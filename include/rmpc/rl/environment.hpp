// The environment the RL loop learns on (method.md section 1) and the closed-loop episode.
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

/// Runs `steps` steps from s0: policy(s, a_prev, k, a) -> bool fills a (false = failure,
/// the episode stops there, never throws); env.step / env.cost as above. A non-finite
/// successor state also stops the episode (counted as a failure).
template <typename Scalar, int NX, int NU, typename Env, typename Policy>
void run_episode(const Env& env, const Eigen::Matrix<Scalar, NX, 1>& s0, int steps, Policy&& policy,
                 Episode<Scalar, NX, NU>& out, Eigen::Index nu = NU) {
  const Eigen::Index nx = s0.size();
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
    if (!policy(s, a_prev, k, a) || !a.allFinite()) {
      out.failed_step = k;
      break;
    }
    const Scalar c = env.cost(s, a);
    const Eigen::Matrix<Scalar, NX, 1> s_next = env.step(s, a);
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

}  // namespace rmpc::rl
