// The policy-optimization loop of method.md section 4 (P1's Algorithm, all update rules).
//
// One RL iteration = one batch of episodes, one per initial state, run with the trial
// parameters theta + p and the exploration of exploration.hpp:
//
//   it = 0:   batch at theta0 -> Jbar0; optimizer.reset(theta0, Jbar0); model at theta0
//   it >= 1:  p = ask(); batch at theta + p -> Jbar; tell_value(Jbar)   (ratio test, TR rules)
//             accepted: model at the new theta; rejected: theta reverted, smaller radius,
//             the batch still enters the replay memory; the paper keeps g and H, the
//             default (refit_on_reject) refits the model at theta with that batch
//   model at theta: pi(s'_i) and pi(s_i), dpi/dtheta, d2pi/dtheta2 at all buffer samples
//             (parallel, once per theta) -> k fitted-Q sweeps of the critic (pi(s') reused
//             by all sweeps) -> batched dQ/da, d2Q/da2 -> DPG g and H (policy_gradient.hpp)
//             -> tell_model(g, H)
//
// Determinism: every random stream is seeded from (seed, purpose, iteration, episode)
// (random_streams.hpp; with common_random_numbers the episode streams drop the iteration); each
// worker owns one MPC object; each work item (an episode, or one stored episode of the memory)
// starts its QP cold and warm-starts inside the item only; reductions run in sample order. The same
// seed gives the same run for any `threads`. Numerical failures (QP not solved, degenerate
// sensitivities) are counted per iteration; nothing throws inside the loop.
//
// The jobs, one file each: episode batches (episode_batch.hpp), the policy and its
// derivatives over the memory (policy_samples.hpp), the fitted-Q critic (learn/fitted_q.hpp),
// the DPG means (policy_gradient.hpp), the update rule (optim/); this class orchestrates them
// (detail/loop_run.hpp: the iterations; detail/loop_model.hpp: the model at a theta).
//
// Save and resume: checkpoint() after any iteration (e.g. from the callback), resume() on a
// new PolicyOptimizer with the same settings continues it with the same result as the
// uninterrupted run (checkpoint.hpp says why that holds; checkpoint_json.hpp stores it).
#pragma once

#include <rmpc/learn/replay_buffer.hpp>
#include <rmpc/mpc/lq_mpc.hpp>
#include <rmpc/optim/recorded_optimizer.hpp>
#include <rmpc/rl/checkpoint.hpp>
#include <rmpc/rl/environment.hpp>
#include <rmpc/rl/episode_batch.hpp>
#include <rmpc/rl/exploration.hpp>
#include <rmpc/rl/loop_records.hpp>
#include <rmpc/rl/loop_settings.hpp>
#include <rmpc/rl/model_diagnosis.hpp>
#include <rmpc/rl/parallel.hpp>
#include <rmpc/rl/policy_gradient.hpp>
#include <rmpc/rl/policy_model.hpp>
#include <rmpc/rl/random_streams.hpp>

#include <Eigen/Core>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmpc::rl {

/// Env: see environment.hpp. Mpc: rmpc::mpc::LqMpc (or anything with its set_parameters /
/// evaluate / exploration_cost interface). One Mpc per worker comes from `factory`.
template <typename Env, typename Mpc>
class PolicyOptimizer {
 public:
  using VectorX = typename Mpc::VectorX;
  using VectorU = typename Mpc::VectorU;
  using VectorTheta = typename Mpc::VectorTheta;
  using VectorZ = typename Mpc::VectorZ;
  using Scalar = typename VectorX::Scalar;
  static constexpr int NX = VectorX::RowsAtCompileTime;
  static constexpr int NU = VectorU::RowsAtCompileTime;
  static constexpr int NP = VectorTheta::RowsAtCompileTime;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using States = Eigen::Matrix<Scalar, NX, Eigen::Dynamic>;
  using MatrixTheta = Eigen::Matrix<Scalar, NP, NP>;
  using Settings = LoopSettings<Scalar>;
  using Record = IterationRecord<Scalar, NP>;
  using Result = LoopResult<Scalar, NP>;
  using Checkpoint = LoopCheckpoint<Scalar, NP>;
  using Factory = std::function<std::unique_ptr<Mpc>()>;
  using Callback = std::function<void(const Record&)>;

  PolicyOptimizer(Env env, Factory factory, States initial_states, Settings settings = {})
      : env_(std::move(env)), initial_states_(std::move(initial_states)), settings_(settings) {
    if (!factory) throw std::invalid_argument("PolicyOptimizer: factory is empty");
    settings_.validate();
    const int workers = settings_.threads;
    for (int w = 0; w < workers; ++w) mpcs_.push_back(factory());
    nx_ = mpcs_[0]->sizes().nx;
    nu_ = mpcs_[0]->sizes().nu;
    np_ = mpcs_[0]->sizes().np;
    if (initial_states_.rows() != nx_)
      throw std::invalid_argument("PolicyOptimizer: initial_states must have nx rows");
    optim::BoxBounds<Scalar>{settings_.theta_lower, settings_.theta_upper}.validate(
        np_, "LoopSettings::theta_lower/theta_upper");
  }

  const Settings& settings() const { return settings_; }

  /// Mean deterministic closed-loop cost (no exploration) of theta over the columns of
  /// `states` (per-state costs into per_state if given). NaN if a loop failed.
  Scalar evaluate(const Eigen::Ref<const VectorTheta>& theta, const States& states,
                  std::vector<Scalar>* per_state = nullptr, int* failed = nullptr);

  /// Runs settings().iterations RL iterations from theta0; on_iteration is called after each.
  Result run(const Eigen::Ref<const VectorTheta>& theta0, const Callback& on_iteration = {});

  /// Continues the run a checkpoint was taken from (possibly by another PolicyOptimizer, with
  /// the same settings; settings().iterations may be larger) from iteration
  /// checkpoint.iteration + 1 up to settings().iterations: the records, theta and best cost
  /// equal those of the uninterrupted run. The result's history holds the new iterations;
  /// initial and best cost, best theta and restarts carry over. Throws std::invalid_argument
  /// naming the field when the checkpoint belongs to another run (checkpoint.identity) or does
  /// not fit; std::logic_error when the critic's trainer keeps its Adam moments
  /// (critic.train.reset_optimizer = false: they are not part of a checkpoint).
  Result resume(const Checkpoint& checkpoint, const Callback& on_iteration = {});

  /// The run's state after its last completed iteration (callable from on_iteration, or after
  /// run() / resume() returned). Throws std::logic_error before any iteration or when
  /// critic.train.reset_optimizer is false.
  Checkpoint checkpoint() const;

  /// Ends the running run() / resume() after the current iteration (its record and callback
  /// done) with LoopStatus::stopped. Safe from the callback and from another thread.
  void request_stop() { stop_requested_ = true; }

  const learn::ReplayBuffer<Scalar>& buffer() const { return buffer_; }

  /// The model last fitted (at the theta it was fitted at) against the simulator
  /// (model_diagnosis.hpp): the critic's dQ/da, d2Q/da2 and the DPG g and H against those of
  /// true k-step rollouts at memory samples; with closed_loop_gradient given, also dJ/dtheta of
  /// the deterministic cost over the initial states (2 np evaluations). Call from on_iteration
  /// or after run(): the run goes on exactly as without it (nothing random; every batch sets
  /// the MPCs' theta again). Throws std::logic_error before the first model.
  ModelDiagnosis<Scalar, NP> diagnose(const DiagnosisSettings<Scalar>& settings = {},
                                      VectorTheta* closed_loop_gradient = nullptr);
  /// Q^(k), the critic of the gradient (valid after a run with the double network critic).
  learn::Critic<Scalar>& critic() {
    if (model_.fitted_q().empty())
      throw std::logic_error(
          "PolicyOptimizer::critic: no critic (not run, float_critic, or critic_model quadratic)");
    return model_.fitted_q().critic();
  }
  /// Q^(k) of a run with float_critic.
  learn::Critic<float>& float_critic() {
    if (model_.float_fitted_q().empty())
      throw std::logic_error("PolicyOptimizer::float_critic: no float critic");
    return model_.float_fitted_q().critic();
  }
  /// Q^(k) of a run with critic_model = quadratic. Like critic() and float_critic(), its
  /// input is (s, a_prev, a), or (s, a_prev, a - pi(s)) with critic.action_relative.
  learn::QuadraticCritic<Scalar>& quadratic_critic() {
    if (model_.quadratic_fitted_q().empty())
      throw std::logic_error("PolicyOptimizer::quadratic_critic: no quadratic critic");
    return model_.quadratic_fitted_q().critic();
  }

 private:
  bool common_random_numbers_active() const {
    switch (settings_.common_random_numbers) {
      case CommonRandomNumbers::off: return false;
      case CommonRandomNumbers::always: return true;
      case CommonRandomNumbers::trust_region:
        return optim::uses_trust_region(settings_.optimizer.rule);
    }
    return false;
  }

  /// The iterations first_iteration.. of run() and resume() (result_, theta_ set up).
  Result iterate(int first_iteration, const Callback& on_iteration,
                 std::chrono::steady_clock::time_point start);

  /// The end of iteration `it` when another follows: the model at the accepted theta_ (after
  /// a rejection too with refit_on_reject), and the restart of a collapsed trust region.
  void prepare_next(int it, bool accepted, bool stored, Record& rec);

  /// The record's state after the iteration: ||g||, theta, the optimizer's value, radius, status.
  void close_record(Record& rec) const;

  /// The identity of this run (checkpoint.hpp).
  CheckpointIdentity<Scalar> identity() const;

  bool set_parameters(const Eigen::Ref<const VectorTheta>& theta) {
    bool ok = true;
    for (auto& m : mpcs_) ok = (m->set_parameters(theta) == qp::Status::optimal) && ok;
    return ok;
  }

  /// One episode per initial state with exploration eps, kept for store_batch(). Returns Jbar.
  Scalar run_batch(const VectorTheta& theta, int it, Scalar eps, int& failed);
  /// The last batch into the memory, in initial-state order (after the ratio test).
  void store_batch();

  /// Critic and DPG model at the accepted theta; tells the optimizer g and H.
  void update_model(const VectorTheta& theta, int it, Record& rec);

  Env env_;
  States initial_states_;
  Settings settings_;
  std::vector<std::unique_ptr<Mpc>> mpcs_;
  Eigen::Index nx_ = 0, nu_ = 0, np_ = 0;
  learn::ReplayBuffer<Scalar> buffer_;
  std::unique_ptr<optim::RecordedOptimizer<Scalar, NP>> optimizer_;
  // The run in progress (what a checkpoint holds besides the memory, critic and optimizer).
  Result result_;
  VectorTheta theta_;        ///< accepted parameters
  VectorTheta model_theta_;  ///< where the last model (critic, g, H) was fitted
  bool has_model_ = false;
  Scalar gradient_norm_ = std::numeric_limits<Scalar>::quiet_NaN();  ///< ||g||, last model
  Scalar eval_cost_ = std::numeric_limits<Scalar>::quiet_NaN();      ///< of theta_, last measured
  int last_iteration_ = -1;    ///< last completed iteration (-1: none)
  bool last_accepted_ = true;  ///< its trial was accepted
  bool prepared_ = false;      ///< prepare_next() ran at its end (another iteration followed)
  std::atomic<bool> stop_requested_{false};
  EpisodeBatch<Env, Mpc> batch_;  ///< episode storage of run_batch() / evaluate()
  typename EpisodeBatch<Env, Mpc>::Episodes pending_;  ///< run_batch()'s, until store_batch()
  PolicyModel<Mpc> model_;  ///< the critic and the DPG model at an accepted theta
};

}  // namespace rmpc::rl

// Member definitions, out of the class body (not implicitly inline).
#include "rmpc/rl/detail/loop_run.hpp"
#include "rmpc/rl/detail/loop_model.hpp"
#include "rmpc/rl/detail/loop_checkpoint.hpp"
