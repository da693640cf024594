// Critic targets over a replay memory (method.md section 4).
//
// (a) fitted-Q targets y = L(s, a) + gamma * m * Q^(n-1)(s', a, pi(s')) of the sweeps of
//     fitted_q.hpp, with critic input x = (s, a_prev, a): at the next state the previous
//     action is the action just taken. pi(s') is fixed while theta is, so the caller computes
//     it once for all samples (next_actions()) and passes the matrix in.
// (b) k-step returns along the stored episodes with a bootstrap at step k:
//         y_t = sum_{j<m} gamma^j c_{t+j} + gamma^m * m_{t+m-1} * V_{t+m-1},
//     m = min(k, steps left in t's episode), V_i = Q(s'_i, a_i, pi(s'_i)).
// The mask m_i is 0 only for a transition flagged done that truly terminates the episode.
// With done_is_truncation = true (the paper's fixed 50-step episodes, which are cut, not
// ended) every transition bootstraps, the last one of an episode included.
#pragma once

#include <rmpc/learn/critic.hpp>
#include <rmpc/learn/replay_buffer.hpp>
#include <rmpc/learn/training.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

namespace rmpc::learn {

/// Stacks the critic input x = (s; a_prev; a) column by column into out (resized).
template <typename Scalar>
void make_critic_inputs(const Eigen::Ref<const typename ReplayBuffer<Scalar>::Matrix>& s,
                        const Eigen::Ref<const typename ReplayBuffer<Scalar>::Matrix>& a_prev,
                        const Eigen::Ref<const typename ReplayBuffer<Scalar>::Matrix>& a,
                        Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& out) {
  if (a_prev.cols() != s.cols() || a.cols() != s.cols())
    throw std::invalid_argument(
        "make_critic_inputs: s, a_prev and a need the same number of columns");
  out.resize(s.rows() + a_prev.rows() + a.rows(), s.cols());
  out.topRows(s.rows()) = s;
  out.middleRows(s.rows(), a_prev.rows()) = a_prev;
  out.bottomRows(a.rows()) = a;
}

/// Critic inputs of the stored transitions, x_i = (s_i, a_prev_i, a_i).
template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> critic_inputs(
    const ReplayBuffer<Scalar>& buffer) {
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> x;
  make_critic_inputs<Scalar>(buffer.states(), buffer.prev_actions(), buffer.actions(), x);
  return x;
}

/// Critic inputs at the successor states, x'_i = (s'_i, a_i, next_actions_i).
template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> next_critic_inputs(
    const ReplayBuffer<Scalar>& buffer,
    const Eigen::Ref<const typename ReplayBuffer<Scalar>::Matrix>& next_actions) {
  if (next_actions.rows() != buffer.action_dim() || next_actions.cols() != buffer.size())
    throw std::invalid_argument(
        "next_critic_inputs: next_actions must be action_dim x buffer.size()");
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> x;
  make_critic_inputs<Scalar>(buffer.next_states(), buffer.actions(), next_actions, x);
  return x;
}

/// pi(s'_i) for every stored transition, computed once (theta is fixed during critic
/// fitting). `policy` maps a state (Eigen vector, state_dim) to an action (action_dim).
template <typename Scalar, typename Policy>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> next_actions(
    const ReplayBuffer<Scalar>& buffer, Policy&& policy) {
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> out(buffer.action_dim(), buffer.size());
  Vector s(buffer.state_dim());
  for (Eigen::Index i = 0; i < buffer.size(); ++i) {
    s = buffer.next_states().col(i);
    const Vector a = policy(s);
    if (a.size() != buffer.action_dim())
      throw std::invalid_argument("next_actions: policy returned the wrong size");
    out.col(i) = a;
  }
  return out;
}

/// Bootstrap mask m_i in {0, 1} (see the header comment).
template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, 1> bootstrap_mask(const ReplayBuffer<Scalar>& buffer,
                                                        bool done_is_truncation) {
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> m =
      Eigen::Matrix<Scalar, Eigen::Dynamic, 1>::Ones(buffer.size());
  if (!done_is_truncation) m -= buffer.dones();
  return m;
}

/// (b) k-step returns along the stored episodes; bootstrap_values(i) = V_i = Q(s'_i, a_i, pi(s'_i))
/// (pass zeros for the plain truncated k-step cost). Returns y (size()).
template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, 1> k_step_returns(
    const ReplayBuffer<Scalar>& buffer, int k, Scalar gamma,
    const Eigen::Ref<const typename ReplayBuffer<Scalar>::Vector>& bootstrap_values,
    bool done_is_truncation = true) {
  if (k < 1) throw std::invalid_argument("k_step_returns: k must be >= 1");
  if (bootstrap_values.size() != buffer.size())
    throw std::invalid_argument("k_step_returns: bootstrap_values must have buffer.size() entries");
  const auto mask = bootstrap_mask(buffer, done_is_truncation);
  const auto cost = buffer.costs();
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> y(buffer.size());
  const std::vector<Eigen::Index> starts = buffer.episode_starts();
  for (std::size_t e = 0; e + 1 < starts.size(); ++e) {
    const Eigen::Index end = starts[e + 1];
    for (Eigen::Index t = starts[e]; t < end; ++t) {
      const Eigen::Index m = std::min<Eigen::Index>(k, end - t);
      Scalar acc = Scalar(0), discount = Scalar(1);
      for (Eigen::Index j = 0; j < m; ++j) {
        acc += discount * cost(t + j);
        discount *= gamma;
      }
      const Eigen::Index last = t + m - 1;
      y(t) = acc + discount * mask(last) * bootstrap_values(last);
    }
  }
  return y;
}

/// One fitted-Q target vector: y = cost + gamma * mask .* next_q.
template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, 1> fitted_q_targets(
    const ReplayBuffer<Scalar>& buffer,
    const Eigen::Ref<const typename ReplayBuffer<Scalar>::Vector>& next_q, Scalar gamma,
    bool done_is_truncation = true) {
  if (next_q.size() != buffer.size())
    throw std::invalid_argument("fitted_q_targets: next_q must have buffer.size() entries");
  return buffer.costs() + gamma * bootstrap_mask(buffer, done_is_truncation).cwiseProduct(next_q);
}

/// (b) as a critic target: k-step returns with V_i = critic(s'_i, a_i, next_actions_i).
template <typename Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, 1> k_step_targets(
    Critic<Scalar>& critic, const ReplayBuffer<Scalar>& buffer,
    const Eigen::Ref<const typename ReplayBuffer<Scalar>::Matrix>& next_actions, int k,
    Scalar gamma, bool done_is_truncation = true) {
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> v(buffer.size());
  critic.value(next_critic_inputs(buffer, next_actions), v);
  return k_step_returns(buffer, k, gamma, v, done_is_truncation);
}

}  // namespace rmpc::learn
