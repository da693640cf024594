// The state of a learning run after one of its iterations, as plain data: what
// PolicyOptimizer::checkpoint() returns and PolicyOptimizer::resume() continues from, with
// the same result as the uninterrupted run of the same settings and seed (to the last bit).
// checkpoint_json.hpp writes and reads it as JSON.
//
// Why this is enough: every random stream of the loop is seeded from (seed, purpose,
// iteration, ...) (random_streams.hpp), every work item starts its QP cold, and the MPC's
// expansion is a function of theta; what carries over from one iteration to the next is the
// accepted theta, the optimizer (rebuilt from the record of its calls,
// optim/recorded_optimizer.hpp), the replay memory and the fitted-Q networks (warm starts of
// the next fit), and the running best of the result.
#pragma once

#include <rmpc/optim/recorded_optimizer.hpp>
#include <rmpc/rl/loop_records.hpp>
#include <rmpc/rl/settings_record.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace rmpc::rl {

/// One fitted-Q network Q^(n): its weights and the scalers of its inputs and targets (in
/// double whatever the critic's scalar: float -> double -> float is exact). For the quadratic
/// critic (LoopSettings::critic_model): its coefficients and input scaling; target_lo/hi unused.
struct CriticState {
  Eigen::VectorXd parameters;  ///< Mlp::parameters() or QuadraticCritic::parameters()
  Eigen::VectorXd input_mean;  ///< Standardizer::mean()
  Eigen::VectorXd input_scale;
  double target_lo = 0;  ///< TargetScaler::lo(), hi()
  double target_hi = 1;
};

/// What identifies the run a checkpoint belongs to; resume() refuses a checkpoint whose
/// identity differs from its own (std::invalid_argument naming the field or setting).
template <typename Scalar>
struct CheckpointIdentity {
  int nx = 0, nu = 0, np = 0;
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> initial_states;  ///< nx x episodes
  /// settings_record() of the run's LoopSettings: every field but iterations and threads.
  SettingsRecord settings;
};

template <typename Scalar, int NP>
struct LoopCheckpoint {
  using VectorTheta = Eigen::Matrix<Scalar, NP, 1>;
  static constexpr Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();

  CheckpointIdentity<Scalar> identity;
  int iteration = -1;    ///< the last completed iteration; resume() runs iteration + 1 on
  bool accepted = true;  ///< that iteration's trial was accepted
  /// The model for the next step was fitted at its end (false for the last iteration of a
  /// run: resume() with more iterations fits it first, as a longer run would have).
  bool prepared = true;
  VectorTheta theta;           ///< accepted parameters
  Scalar gradient_norm = nan;  ///< ||g|| of the last model (IterationRecord::gradient_norm)
  Scalar eval_cost = nan;      ///< IterationRecord::eval_cost of that iteration

  // The running result (LoopResult) up to this iteration.
  Scalar initial_cost = nan;
  Scalar best_cost = std::numeric_limits<Scalar>::infinity();
  VectorTheta best_theta;
  int best_iteration = -1;
  int restarts = 0;

  /// Every state-changing call of the optimizer since the run began.
  std::vector<optim::OptimizerCall<Scalar>> optimizer_calls;

  // The replay memory, oldest transition first (column i = transition i, as
  // learn::ReplayBuffer's views); episode_lengths splits the columns into episodes.
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> states, prev_actions, actions, next_states;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> costs, dones;
  std::vector<long> episode_lengths;

  /// Q^(1)..Q^(k) (empty before the first fit).
  std::vector<CriticState> critics;

  /// The records of iterations 0..iteration (resume() returns them with the new ones).
  std::vector<IterationRecord<Scalar, NP>> history;
  PhaseTimes time;  ///< LoopResult::time so far
};

}  // namespace rmpc::rl
