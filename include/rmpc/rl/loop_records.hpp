// What the policy-optimization loop (loop.hpp) reports: per-phase times, one record per
// iteration, the loop's status and its result.
#pragma once

#include <rmpc/learn/fitted_q.hpp>
#include <rmpc/optim/status.hpp>

#include <Eigen/Core>

#include <limits>
#include <vector>

namespace rmpc::rl {

/// Seconds spent per phase.
struct PhaseTimes {
  double rollouts = 0;       ///< batch episodes (MPC solves with exploration)
  double sensitivities = 0;  ///< pi, dpi/dtheta, d2pi/dtheta2 at the buffer states, pi(s')
  double critic = 0;         ///< k fitted-Q sweeps and the batched dQ/da, d2Q/da2
  double step = 0;           ///< DPG reduction and the optimizer (ask/tell)
  double evaluation = 0;     ///< deterministic cost of accepted parameters (monitoring only)
  double total() const { return rollouts + sensitivities + critic + step + evaluation; }
  PhaseTimes& operator+=(const PhaseTimes& o) {
    rollouts += o.rollouts;
    sensitivities += o.sensitivities;
    critic += o.critic;
    step += o.step;
    evaluation += o.evaluation;
    return *this;
  }
};

template <typename Scalar, int NP>
struct IterationRecord {
  using VectorTheta = Eigen::Matrix<Scalar, NP, 1>;
  static constexpr Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  int iteration = 0;
  VectorTheta theta_trial;               ///< parameters the batch ran with
  VectorTheta theta;                     ///< accepted parameters after this iteration
  Scalar exploration_probability = nan;  ///< eps of this batch
  Scalar batch_cost = nan;  ///< Jbar of this batch (mean episode cost, with exploration)
  Scalar accepted_batch_cost =
      nan;  ///< ratio-test cost of the accepted point after this iteration (Jbar, or its
            ///< deterministic cost: LoopSettings::ratio_test_cost)
  Scalar eval_cost = nan;   ///< deterministic mean cost of `theta` (NaN when not evaluated)
  Scalar trial_cost = nan;  ///< deterministic mean cost of theta_trial (ratio_test_cost =
                            ///< deterministic_batch; +inf: an episode failed)
  bool accepted = true;     ///< the trial became the accepted point (it 0: theta0)
  Scalar ratio = nan;       ///< rho of the ratio test (NaN at it 0)
  Scalar predicted_decrease = nan;
  Scalar step_norm = 0;
  Scalar radius = nan;         ///< trust radius for the next step (+inf: none)
  Scalar gradient_norm = nan;  ///< ||g|| of the model at `theta` (last computed)
  optim::Status optimizer_status = optim::Status::running;
  // Numerical failures (counted, never thrown).
  int failed_episodes = 0;        ///< episodes cut short by a failed MPC solve
  int derivative_samples = 0;     ///< buffer samples in the DPG means
  int skipped_samples = 0;        ///< left out: QP failed or sensitivity not defined
  int weakly_active_samples = 0;  ///< one-sided derivatives (in the means if use_weakly_active)
  int next_action_failures = 0;   ///< pi(s') not solved (the previous sweep's action kept: a)
  bool model_updated = false;     ///< critic refit and g, H recomputed this iteration
  bool restarted = false;         ///< optimizer restarted after stopping (restart_on_stop)
  int critic_epochs = 0;          ///< sum over the sweeps
  Scalar critic_loss = nan;       ///< best (scaled) loss of the last sweep
  learn::FittedQStatus critic_status = learn::FittedQStatus::ok;
  PhaseTimes time;
};

enum class LoopStatus {
  completed,          ///< all iterations ran.
  optimizer_stopped,  ///< the optimizer stopped early (converged or failed; see optimizer_status).
  no_initial_states,  ///< nothing to run.
  setup_failed,       ///< the MPC could not be set up at theta0 (set_parameters failed).
  /// the batch at theta0 has no finite cost (an episode failed under
  /// FailedEpisodeCost::infinite, or every episode failed): nothing to improve on.
  initial_episodes_failed,
  stopped,  ///< PolicyOptimizer::request_stop() was called (e.g. from the callback); resumable.
};

inline const char* to_string(LoopStatus s) {
  switch (s) {
    case LoopStatus::completed: return "completed";
    case LoopStatus::optimizer_stopped: return "optimizer_stopped";
    case LoopStatus::no_initial_states: return "no_initial_states";
    case LoopStatus::setup_failed: return "setup_failed";
    case LoopStatus::initial_episodes_failed: return "initial_episodes_failed";
    case LoopStatus::stopped: return "stopped";
  }
  return "unknown";
}

template <typename Scalar, int NP>
struct LoopResult {
  using VectorTheta = Eigen::Matrix<Scalar, NP, 1>;
  LoopStatus status = LoopStatus::completed;
  optim::Status optimizer_status = optim::Status::running;
  std::vector<IterationRecord<Scalar, NP>> history;
  Scalar initial_cost = std::numeric_limits<Scalar>::quiet_NaN();  ///< deterministic cost at theta0
  Scalar best_cost =
      std::numeric_limits<Scalar>::infinity();  ///< best deterministic cost of accepted thetas
  VectorTheta best_theta;
  int best_iteration = -1;
  int restarts = 0;   ///< optimizer restarts after a stop at the radius floor (restart_on_stop)
  VectorTheta theta;  ///< final accepted parameters
  PhaseTimes time;    ///< summed over iterations
  double wall_seconds = 0;
};

}  // namespace rmpc::rl
