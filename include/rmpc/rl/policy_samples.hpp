// The policy over the replay memory at one theta (method.md section 4): pi(s_i), dpi/dtheta
// and, for the exact Hessian, d2pi/dtheta2 at every stored state s_i, and pi(s'_i) at every
// successor state (the critic's next actions, fixed while theta is). Computed once per
// accepted theta on the worker MPCs (their theta already set), in parallel over the stored
// episodes; what the fitted-Q sweeps and the DPG means (policy_gradient.hpp) then read.
//
// Determinism: each stored episode is one work item whose QPs start cold and warm-start along
// the episode only, so the samples do not depend on the thread count.
#pragma once

#include <rmpc/learn/replay_buffer.hpp>
#include <rmpc/mpc/policy_result.hpp>
#include <rmpc/qp/problem.hpp>
#include <rmpc/rl/parallel.hpp>

#include <Eigen/Core>

#include <memory>
#include <vector>

namespace rmpc::rl {

template <typename Mpc>
class PolicySamples {
 public:
  using VectorX = typename Mpc::VectorX;
  using VectorU = typename Mpc::VectorU;
  using VectorTheta = typename Mpc::VectorTheta;
  using Scalar = typename VectorX::Scalar;
  static constexpr int NU = VectorU::RowsAtCompileTime;
  static constexpr int NP = VectorTheta::RowsAtCompileTime;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Workers = std::vector<std::unique_ptr<Mpc>>;

  /// All samples of `buffer` at the workers' theta; second_order: d2pi/dtheta2 too. A sample
  /// whose QP fails keeps its stored action as pi(s_i) (status() says it is not usable); a
  /// successor whose QP fails keeps the stored action as pi(s'_i) (next_action_failures()).
  void compute(const learn::ReplayBuffer<Scalar>& buffer, Workers& workers, bool second_order) {
    const auto& sizes = workers.front()->sizes();
    const Eigen::Index m = buffer.size(), nu = sizes.nu, np = sizes.np;
    nu_ = nu;
    np_ = np;
    pi_s_ = buffer.actions();
    pi_next_.resize(nu, m);
    dpi_.resize(nu * np, m);
    if (second_order) d2pi_.resize(nu * np * np, m);
    status_.assign(static_cast<std::size_t>(m), mpc::PolicyStatus::not_ready);
    std::vector<char> next_ok(static_cast<std::size_t>(m), 1);
    const std::vector<Eigen::Index> starts = buffer.episode_starts();
    const auto states = buffer.states();
    const auto next_states = buffer.next_states();
    parallel_for(
        std::ptrdiff_t(starts.size()) - 1, int(workers.size()), [&](std::ptrdiff_t e, int w) {
          Mpc& mpc = *workers[static_cast<std::size_t>(w)];
          const Eigen::Index begin = starts[static_cast<std::size_t>(e)],
                             end = starts[static_cast<std::size_t>(e) + 1];
          mpc::PolicyRequest req;
          req.du0_dtheta = true;
          req.d2u0_dtheta2 = second_order;
          req.du0_ds = false;
          for (Eigen::Index i = begin; i < end; ++i) {
            req.warm_start = i > begin;
            const VectorX s = states.col(i);
            const auto& r = mpc.evaluate(s, req);
            status_[static_cast<std::size_t>(i)] = r.status;
            if (r.qp_status != qp::Status::optimal) continue;
            pi_s_.col(i) = r.u0;
            if (usable(r.status)) {
              Eigen::Map<Eigen::Matrix<Scalar, NU, NP>>(dpi_.col(i).data(), nu, np) = r.du0_dtheta;
              if (second_order)
                Eigen::Map<Matrix>(d2pi_.col(i).data(), nu * np, np) = r.d2u0_dtheta2;
            }
          }
          // pi(s'_i) = pi(s_{i+1}) inside an episode (same state); one solve for the last one.
          mpc::PolicyRequest values;  // pi only, cold: one solve per episode end
          values.du0_dtheta = values.d2u0_dtheta2 = values.du0_ds = false;
          values.warm_start = false;
          for (Eigen::Index i = begin; i < end; ++i) {
            const auto next = static_cast<std::size_t>(i + 1);
            const bool chained = i + 1 < end && next_states.col(i) == states.col(i + 1) &&
                                 status_[next] != mpc::PolicyStatus::solver_failed &&
                                 status_[next] != mpc::PolicyStatus::not_ready;
            if (chained) {
              pi_next_.col(i) = pi_s_.col(i + 1);
              continue;
            }
            const VectorX s = next_states.col(i);
            const auto& r = mpc.evaluate(s, values);
            if (r.qp_status == qp::Status::optimal)
              pi_next_.col(i) = r.u0;
            else {
              pi_next_.col(i) = buffer.actions().col(i);
              next_ok[static_cast<std::size_t>(i)] = 0;
            }
          }
        });
    next_action_failures_ = 0;
    for (char ok : next_ok) next_action_failures_ += ok ? 0 : 1;
  }

  /// ok, or weakly_active (one-sided derivatives): the sample has dpi (and d2pi).
  static bool usable(mpc::PolicyStatus s) {
    return s == mpc::PolicyStatus::ok || s == mpc::PolicyStatus::weakly_active;
  }

  Eigen::Index size() const { return pi_s_.cols(); }
  /// pi(s_i) (nu x m): the critic's action a_i of the gradient.
  const Matrix& actions() const { return pi_s_; }
  /// pi(s'_i) (nu x m): the critic's next actions.
  const Matrix& next_actions() const { return pi_next_; }
  mpc::PolicyStatus status(Eigen::Index i) const { return status_[static_cast<std::size_t>(i)]; }
  /// dpi/dtheta at sample i (nu x np), valid when usable(status(i)).
  Eigen::Map<const Eigen::Matrix<Scalar, NU, NP>> dpi_dtheta(Eigen::Index i) const {
    return Eigen::Map<const Eigen::Matrix<Scalar, NU, NP>>(dpi_.col(i).data(), nu_, np_);
  }
  /// d2pi/dtheta2 at sample i (nu*np x np, row block j = input j), with second_order.
  Eigen::Map<const Matrix> d2pi_dtheta2(Eigen::Index i) const {
    return Eigen::Map<const Matrix>(d2pi_.col(i).data(), nu_ * np_, np_);
  }
  /// Successors whose QP failed (their stored action stands in for pi(s')).
  int next_action_failures() const { return next_action_failures_; }

 private:
  Eigen::Index nu_ = 0, np_ = 0;
  Matrix pi_s_, pi_next_, dpi_, d2pi_;
  std::vector<mpc::PolicyStatus> status_;
  int next_action_failures_ = 0;
};

}  // namespace rmpc::rl
