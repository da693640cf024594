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
// (exploration.hpp; with common_random_numbers the episode streams drop the iteration); each worker owns one MPC object; each work item (an episode, or one
// stored episode of the memory) starts its QP cold and warm-starts inside the item only;
// reductions run in sample order. The same seed gives the same run for any `threads`.
// Numerical failures (QP not solved, degenerate sensitivities) are counted per iteration;
// nothing throws inside the loop.
#pragma once

#include <rmpc/learn/critic.hpp>
#include <rmpc/learn/replay_buffer.hpp>
#include <rmpc/learn/targets.hpp>
#include <rmpc/mpc/lq_mpc.hpp>
#include <rmpc/optim/update_rule.hpp>
#include <rmpc/rl/environment.hpp>
#include <rmpc/rl/exploration.hpp>
#include <rmpc/rl/parallel.hpp>
#include <rmpc/rl/policy_gradient.hpp>

#include <Eigen/Core>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmpc::rl {

/// Curvature each update rule needs from the estimator.
inline HessianMode hessian_mode(optim::UpdateRule rule) {
  switch (rule) {
    case optim::UpdateRule::qn:
    case optim::UpdateRule::tr_qn: return HessianMode::exact;
    case optim::UpdateRule::tr_gauss_newton: return HessianMode::gauss_newton;
    default: return HessianMode::none;
  }
}

/// The paper's critic training (method.md section 4): k = 10 sweeps, gamma = 1, truncated
/// episodes, Huber, Adam 1e-3, minibatch 256, patience 50, warm start. max_epochs caps
/// each warm-started sweep (the one-minute budget: with patience 50 every fit would run
/// >= 51 full epochs over 12 500 samples, ~10 s per iteration here; 25 epochs with the
/// float critic ~0.8 s).
template <typename Scalar>
learn::FittedQSettings<Scalar> paper_critic_settings(int max_epochs = 25) {
  learn::FittedQSettings<Scalar> s;
  s.sweeps = 10;
  s.gamma = Scalar(1);
  s.done_is_truncation = true;
  s.refit_scalers = true;
  s.train.batch_size = 256;
  s.train.loss = learn::Loss::huber;
  s.train.patience = 50;
  s.train.max_epochs = max_epochs;
  return s;
}

/// Which update rules run their batches with common random numbers (LoopSettings).
enum class CommonRandomNumbers {
  off,           ///< fresh exploration streams every iteration (the paper)
  trust_region,  ///< for the rules with a ratio test (tr_*), fresh streams for the others
  always,        ///< for every rule
};

template <typename Scalar = double>
struct LoopSettings {
  int iterations = 40;                 ///< batches of episodes, the first at theta0 (paper: 40 = 2000 episodes).
  int episode_length = 50;             ///< steps per episode (paper: 50, gamma = 1).
  Eigen::Index buffer_episodes = 250;  ///< replay memory = the last 250 episodes (paper).
  std::uint64_t seed = 0;              ///< every random stream derives from it (same seed, same run).
  int threads = 1;                     ///< workers for episodes and MPC solves; results do not depend on it.
  /// Update rule and its radii/rates (paper_settings(rule) = method.md section 4).
  optim::OptimizerSettings<Scalar> optimizer = optim::paper_settings<Scalar>(optim::UpdateRule::tr_qn);
  ExplorationSettings<Scalar> exploration{};                           ///< paper schedule.
  learn::FittedQSettings<Scalar> critic = paper_critic_settings<Scalar>();  ///< k-step fitted-Q training.
  Eigen::Index critic_hidden = 20;     ///< width of the critic's two tanh layers (paper: 20).
  /// Epoch cap of the very first fits (from the random init); later fits are warm-started
  /// from the same sweep level and use critic.train.max_epochs.
  int first_fit_max_epochs = 60;
  /// Deterministic closed-loop cost of every accepted theta over the initial states (no
  /// exploration): the learning curve and best_cost. Not used by the learning itself.
  bool evaluate_accepted = true;
  /// Not in the paper: when the trust region stops (radius at its floor after rejections, a
  /// noisy Jbar of the accepted point can cause it), refit the model at the accepted theta
  /// and restart from Delta0 instead of ending the run.
  bool restart_on_stop = false;
  /// Samples with a weakly active constraint (one-sided derivatives) enter the DPG means.
  bool use_weakly_active = true;
  /// Not in the paper: common random numbers. Episode e draws the same exploration stream in
  /// every iteration (seeded by (seed, e), not by the iteration), so the ratio test's
  /// Jbar(theta + p) - Jbar(theta) is not swamped by the batches' exploration noise (+-0.003
  /// on the 2-D study, above the predicted decrease near the optimum). Rules without a ratio
  /// test gain nothing and their critic sees less varied data (GD, QN, Adam did worse with
  /// it), hence on for the trust-region rules only by default. off = the paper.
  CommonRandomNumbers common_random_numbers = CommonRandomNumbers::trust_region;
  /// Not in the paper: the critic network trains and evaluates in float (~3x faster fits,
  /// so 25 epochs per sweep fit the one-minute budget; the fit error dwarfs float round-off).
  /// Inputs, targets and dQ/da are converted at the boundary.
  bool float_critic = true;
  /// Not in the paper (which keeps g and H after a rejection): refit the critic and g, H at
  /// the accepted theta after a rejected trial, with the rejected batch now in the memory.
  /// With common random numbers a wrong model direction is rejected deterministically, so
  /// retrying it at a smaller radius would only repeat the rejection. false = the paper.
  bool refit_on_reject = true;
};

/// Seconds spent per phase.
struct PhaseTimes {
  double rollouts = 0;       ///< batch episodes (MPC solves with exploration)
  double sensitivities = 0;  ///< pi, dpi/dtheta, d2pi/dtheta2 at the buffer states, pi(s')
  double critic = 0;         ///< k fitted-Q sweeps and the batched dQ/da, d2Q/da2
  double step = 0;           ///< DPG reduction and the optimizer (ask/tell)
  double evaluation = 0;     ///< deterministic cost of accepted parameters (monitoring only)
  double total() const { return rollouts + sensitivities + critic + step + evaluation; }
  PhaseTimes& operator+=(const PhaseTimes& o) {
    rollouts += o.rollouts; sensitivities += o.sensitivities; critic += o.critic; step += o.step;
    evaluation += o.evaluation;
    return *this;
  }
};

template <typename Scalar, int NP>
struct IterationRecord {
  using VectorTheta = Eigen::Matrix<Scalar, NP, 1>;
  static constexpr Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  int iteration = 0;
  VectorTheta theta_trial;              ///< parameters the batch ran with
  VectorTheta theta;                    ///< accepted parameters after this iteration
  Scalar exploration_probability = nan; ///< eps of this batch
  Scalar batch_cost = nan;              ///< Jbar of this batch (mean episode cost, with exploration)
  Scalar accepted_batch_cost = nan;     ///< Jbar of the accepted point after this iteration
  Scalar eval_cost = nan;               ///< deterministic mean cost of `theta` (NaN when not evaluated)
  bool accepted = true;                 ///< the trial became the accepted point (it 0: theta0)
  Scalar ratio = nan;                   ///< rho of the ratio test (NaN at it 0)
  Scalar predicted_decrease = nan;
  Scalar step_norm = 0;
  Scalar radius = nan;                  ///< trust radius for the next step (+inf: none)
  Scalar gradient_norm = nan;           ///< ||g|| of the model at `theta` (last computed)
  optim::Status optimizer_status = optim::Status::running;
  // Numerical failures (counted, never thrown).
  int failed_episodes = 0;              ///< episodes cut short by a failed MPC solve
  int derivative_samples = 0;           ///< buffer samples in the DPG means
  int skipped_samples = 0;              ///< left out: QP failed or sensitivity not defined
  int weakly_active_samples = 0;        ///< one-sided derivatives (in the means if use_weakly_active)
  int next_action_failures = 0;         ///< pi(s') not solved (the previous sweep's action kept: a)
  bool model_updated = false;           ///< critic refit and g, H recomputed this iteration
  bool restarted = false;               ///< optimizer restarted after stopping (restart_on_stop)
  int critic_epochs = 0;                ///< sum over the sweeps
  Scalar critic_loss = nan;             ///< best (scaled) loss of the last sweep
  learn::FittedQStatus critic_status = learn::FittedQStatus::ok;
  PhaseTimes time;
};

enum class LoopStatus {
  completed,          ///< all iterations ran.
  optimizer_stopped,  ///< the optimizer stopped early (converged or failed; see optimizer_status).
  no_initial_states,  ///< nothing to run.
  setup_failed,       ///< the MPC could not be set up at theta0 (set_parameters failed).
};

inline const char* to_string(LoopStatus s) {
  switch (s) {
    case LoopStatus::completed: return "completed";
    case LoopStatus::optimizer_stopped: return "optimizer_stopped";
    case LoopStatus::no_initial_states: return "no_initial_states";
    case LoopStatus::setup_failed: return "setup_failed";
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
  Scalar best_cost = std::numeric_limits<Scalar>::infinity();      ///< best deterministic cost of accepted thetas
  VectorTheta best_theta;
  int best_iteration = -1;
  VectorTheta theta;  ///< final accepted parameters
  PhaseTimes time;    ///< summed over iterations
  double wall_seconds = 0;
};

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
  using Factory = std::function<std::unique_ptr<Mpc>()>;
  using Callback = std::function<void(const Record&)>;

  PolicyOptimizer(Env env, Factory factory, States initial_states, Settings settings = {})
      : env_(std::move(env)), initial_states_(std::move(initial_states)), settings_(settings) {
    if (!factory) throw std::invalid_argument("PolicyOptimizer: factory is empty");
    if (settings_.iterations < 1) throw std::invalid_argument("PolicyOptimizer: settings.iterations must be >= 1");
    if (settings_.episode_length < 1) throw std::invalid_argument("PolicyOptimizer: settings.episode_length must be >= 1");
    const int workers = std::max(settings_.threads, 1);
    for (int w = 0; w < workers; ++w) mpcs_.push_back(factory());
    nx_ = mpcs_[0]->sizes().nx;
    nu_ = mpcs_[0]->sizes().nu;
    np_ = mpcs_[0]->sizes().np;
    if (initial_states_.rows() != nx_) throw std::invalid_argument("PolicyOptimizer: initial_states must have nx rows");
  }

  const Settings& settings() const { return settings_; }

  /// Mean deterministic closed-loop cost (no exploration) of theta over the columns of
  /// `states` (per-state costs into per_state if given). NaN if a loop failed.
  Scalar evaluate(const Eigen::Ref<const VectorTheta>& theta, const States& states, std::vector<Scalar>* per_state = nullptr,
                  int* failed = nullptr) {
    if (!set_parameters(theta)) return std::numeric_limits<Scalar>::quiet_NaN();
    std::vector<Scalar> cost(static_cast<std::size_t>(states.cols()));
    std::vector<char> ok(cost.size(), 1);
    parallel_for(states.cols(), threads(), [&](std::ptrdiff_t e, int w) {
      Mpc& mpc = *mpcs_[static_cast<std::size_t>(w)];
      Episode<Scalar, NX, NU> ep;
      const VectorX s0 = states.col(e);
      run_episode<Scalar, NX, NU>(env_, s0, settings_.episode_length,
                                  [&](const VectorX& s, const VectorU&, int k, VectorU& a) {
                                    const auto& r = mpc.evaluate(s, values_request(k > 0));
                                    if (r.qp_status != qp::Status::optimal) return false;
                                    a = r.u0;
                                    return true;
                                  },
                                  ep, nu_);
      cost[static_cast<std::size_t>(e)] = ep.total_cost;
      ok[static_cast<std::size_t>(e)] = ep.ok() ? 1 : 0;
    });
    Scalar mean = 0;
    int bad = 0;
    for (std::size_t e = 0; e < cost.size(); ++e) {
      mean += cost[e];
      bad += ok[e] ? 0 : 1;
    }
    if (per_state) *per_state = cost;
    if (failed) *failed = bad;
    if (bad > 0) return std::numeric_limits<Scalar>::quiet_NaN();
    return mean / Scalar(cost.size());
  }

  /// Runs settings().iterations RL iterations from theta0; on_iteration is called after each.
  Result run(const Eigen::Ref<const VectorTheta>& theta0, const Callback& on_iteration = {}) {
    using clock = std::chrono::steady_clock;
    const auto t_start = clock::now();
    Result result;
    result.theta = theta0;
    result.best_theta = theta0;
    if (initial_states_.cols() == 0) {
      result.status = LoopStatus::no_initial_states;
      return result;
    }
    buffer_ = learn::ReplayBuffer<Scalar>(nx_, nu_, settings_.buffer_episodes);
    critics_.clear();
    critics_float_.clear();
    optimizer_ = std::make_unique<optim::Optimizer<Scalar, NP>>(settings_.optimizer);
    estimator_ = DpgEstimator<Scalar, NP, NU>(np_, hessian_mode(settings_.optimizer.rule));
    if (!set_parameters(theta0)) {
      result.status = LoopStatus::setup_failed;
      return result;
    }
    const auto seconds_since = [](clock::time_point t0) {
      return std::chrono::duration<double>(clock::now() - t0).count();
    };

    VectorTheta theta = theta0;  // accepted
    Scalar last_gradient_norm = std::numeric_limits<Scalar>::quiet_NaN();
    for (int it = 0; it < settings_.iterations; ++it) {
      Record rec;
      rec.iteration = it;
      rec.exploration_probability = exploration_probability(settings_.exploration, it);

      // Trial parameters.
      auto t0 = clock::now();
      VectorTheta trial = theta;
      if (it > 0) {
        const auto& step = optimizer_->ask();
        rec.predicted_decrease = step.predicted_decrease;
        rec.step_norm = step.step.norm();
        trial = theta + step.step;
      }
      rec.time.step += seconds_since(t0);
      rec.theta_trial = trial;

      // Batch of episodes at the trial parameters.
      t0 = clock::now();
      rec.batch_cost = run_batch(trial, it, rec.exploration_probability, rec.failed_episodes);
      rec.time.rollouts += seconds_since(t0);

      // Ratio test / acceptance.
      t0 = clock::now();
      bool accepted = true;
      if (it == 0) {
        optimizer_->reset(theta0, rec.batch_cost);
      } else {
        const auto out = optimizer_->tell_value(rec.batch_cost);
        accepted = out.accepted;
        rec.ratio = out.ratio;
      }
      if (accepted) theta = optimizer_->x();
      rec.accepted = accepted;
      rec.time.step += seconds_since(t0);

      // Monitoring: deterministic cost of a newly accepted point.
      if (accepted && settings_.evaluate_accepted) {
        t0 = clock::now();
        rec.eval_cost = evaluate(theta, initial_states_);
        rec.time.evaluation += seconds_since(t0);
        if (it == 0) result.initial_cost = rec.eval_cost;
        if (std::isfinite(rec.eval_cost) && rec.eval_cost < result.best_cost) {
          result.best_cost = rec.eval_cost;
          result.best_theta = theta;
          result.best_iteration = it;
        }
      } else if (!result.history.empty()) {
        rec.eval_cost = result.history.back().eval_cost;  // the accepted point did not change
      }

      // Model (critic, g, H) at a newly accepted point (or after a rejection, refit_on_reject),
      // when another step follows.
      if ((accepted || settings_.refit_on_reject) && it + 1 < settings_.iterations &&
          optimizer_->status() == optim::Status::running) {
        update_model(theta, it, rec);
        last_gradient_norm = rec.gradient_norm;
      }
      // Optional restart when the trust region collapsed (noisy Jbar): fresh model, Delta0.
      const optim::Status st = optimizer_->status();
      if (settings_.restart_on_stop && it + 1 < settings_.iterations &&
          (st == optim::Status::converged_radius || st == optim::Status::converged_step)) {
        optimizer_->reset(theta, optimizer_->value());
        update_model(theta, it, rec);
        last_gradient_norm = rec.gradient_norm;
        rec.restarted = true;
      }
      rec.gradient_norm = last_gradient_norm;
      rec.theta = theta;
      rec.accepted_batch_cost = optimizer_->value();
      rec.radius = optimizer_->radius();
      rec.optimizer_status = optimizer_->status();
      result.time += rec.time;
      result.history.push_back(rec);
      if (on_iteration) on_iteration(result.history.back());
      if (optimizer_->status() != optim::Status::running) {
        result.status = LoopStatus::optimizer_stopped;
        break;
      }
    }
    result.theta = theta;
    result.optimizer_status = optimizer_->status();
    result.wall_seconds = seconds_since(t_start);
    return result;
  }

  const learn::ReplayBuffer<Scalar>& buffer() const { return buffer_; }
  /// Q^(k), the critic of the gradient (valid after a run without float_critic).
  learn::Critic<Scalar>& critic() {
    if (critics_.empty()) throw std::logic_error("PolicyOptimizer::critic: no critic (not run, or float_critic)");
    return critics_.back();
  }
  /// Q^(k) of a run with float_critic.
  learn::Critic<float>& float_critic() {
    if (critics_float_.empty()) throw std::logic_error("PolicyOptimizer::float_critic: no float critic");
    return critics_float_.back();
  }

 private:
  int threads() const { return static_cast<int>(mpcs_.size()); }

  bool common_random_numbers_active() const {
    switch (settings_.common_random_numbers) {
      case CommonRandomNumbers::off: return false;
      case CommonRandomNumbers::always: return true;
      case CommonRandomNumbers::trust_region: return optim::uses_trust_region(settings_.optimizer.rule);
    }
    return false;
  }

  static mpc::PolicyRequest values_request(bool warm) {
    mpc::PolicyRequest r;
    r.du0_dtheta = false;
    r.d2u0_dtheta2 = false;
    r.du0_ds = false;
    r.warm_start = warm;
    return r;
  }

  bool set_parameters(const Eigen::Ref<const VectorTheta>& theta) {
    bool ok = true;
    for (auto& m : mpcs_) ok = (m->set_parameters(theta) == qp::Status::optimal) && ok;
    return ok;
  }

  /// One episode per initial state with exploration eps; episodes enter the memory in
  /// initial-state order. Returns Jbar.
  Scalar run_batch(const VectorTheta& theta, int it, Scalar eps, int& failed) {
    failed = 0;
    const Eigen::Index ne = initial_states_.cols();
    if (!set_parameters(theta)) {
      failed = int(ne);
      return std::numeric_limits<Scalar>::infinity();
    }
    std::vector<Episode<Scalar, NX, NU>> episodes(static_cast<std::size_t>(ne));
    const Scalar sigma = settings_.exploration.sigma;
    parallel_for(ne, threads(), [&](std::ptrdiff_t e, int w) {
      Mpc& mpc = *mpcs_[static_cast<std::size_t>(w)];
      const bool crn = common_random_numbers_active();
      std::mt19937_64 rng(crn ? stream_seed(settings_.seed, Stream::episode_common, std::uint64_t(e))
                              : stream_seed(settings_.seed, Stream::episode, std::uint64_t(it), std::uint64_t(e)));
      std::uniform_real_distribution<Scalar> uniform(Scalar(0), Scalar(1));
      std::normal_distribution<Scalar> normal(Scalar(0), sigma);
      VectorU d(nu_);
      VectorZ extra(mpc.num_variables());
      const VectorX s0 = initial_states_.col(e);
      run_episode<Scalar, NX, NU>(env_, s0, settings_.episode_length,
                                  [&](const VectorX& s, const VectorU&, int k, VectorU& a) {
                                    const bool explore = uniform(rng) < eps;
                                    const auto req = values_request(k > 0);
                                    // CRN: d is drawn at every step, so step k of episode e sees the
                                    // same (uniform, d) whatever eps and the earlier decisions were.
                                    if (explore || crn)
                                      for (Eigen::Index j = 0; j < nu_; ++j) d(j) = normal(rng);
                                    if (explore) mpc.exploration_cost(d, extra);
                                    const auto& r = explore ? mpc.evaluate(s, req, extra) : mpc.evaluate(s, req);
                                    if (r.qp_status != qp::Status::optimal) return false;
                                    a = r.u0;
                                    return true;
                                  },
                                  episodes[static_cast<std::size_t>(e)], nu_);
    });
    Scalar mean = 0;
    for (const auto& ep : episodes) {
      mean += ep.total_cost;
      if (!ep.ok()) ++failed;
      if (ep.length == 0) continue;
      std::vector<bool> done(static_cast<std::size_t>(ep.length), false);
      done.back() = true;
      buffer_.add_episode(ep.states, ep.prev_actions, ep.actions, ep.costs, ep.next_states, done);
    }
    return mean / Scalar(ne);
  }

  /// Critic and DPG model at the accepted theta; tells the optimizer g and H.
  void update_model(const VectorTheta& theta, int it, Record& rec) {
    using clock = std::chrono::steady_clock;
    const HessianMode mode = hessian_mode(settings_.optimizer.rule);
    const bool second = mode == HessianMode::exact;
    const Eigen::Index m = buffer_.size(), np = np_, nu = nu_;
    set_parameters(theta);

    // Policy and its derivatives at every stored state, pi at every successor state.
    auto t0 = clock::now();
    pi_s_ = buffer_.actions();  // stands in where the QP fails (those samples are skipped)
    pi_next_.resize(nu, m);
    dpi_.resize(nu * np, m);
    if (second) d2pi_.resize(nu * np * np, m);
    status_.assign(static_cast<std::size_t>(m), mpc::PolicyStatus::not_ready);
    std::vector<char> next_ok(static_cast<std::size_t>(m), 1);
    const std::vector<Eigen::Index> starts = buffer_.episode_starts();
    const auto states = buffer_.states();
    const auto next_states = buffer_.next_states();
    parallel_for(std::ptrdiff_t(starts.size()) - 1, threads(), [&](std::ptrdiff_t e, int w) {
      Mpc& mpc = *mpcs_[static_cast<std::size_t>(w)];
      const Eigen::Index begin = starts[static_cast<std::size_t>(e)], end = starts[static_cast<std::size_t>(e) + 1];
      mpc::PolicyRequest req;
      req.du0_dtheta = true;
      req.d2u0_dtheta2 = second;
      req.du0_ds = false;
      for (Eigen::Index i = begin; i < end; ++i) {
        req.warm_start = i > begin;
        const VectorX s = states.col(i);
        const auto& r = mpc.evaluate(s, req);
        status_[static_cast<std::size_t>(i)] = r.status;
        if (r.qp_status != qp::Status::optimal) continue;
        pi_s_.col(i) = r.u0;
        if (r.status == mpc::PolicyStatus::ok || r.status == mpc::PolicyStatus::weakly_active) {
          Eigen::Map<Eigen::Matrix<Scalar, NU, NP>>(dpi_.col(i).data(), nu, np) = r.du0_dtheta;
          if (second) Eigen::Map<Matrix>(d2pi_.col(i).data(), nu * np, np) = r.d2u0_dtheta2;
        }
      }
      // pi(s'_i) = pi(s_{i+1}) inside an episode (same state); one solve for the last one.
      for (Eigen::Index i = begin; i < end; ++i) {
        const bool chained = i + 1 < end && next_states.col(i) == states.col(i + 1) &&
                             status_[static_cast<std::size_t>(i + 1)] != mpc::PolicyStatus::solver_failed &&
                             status_[static_cast<std::size_t>(i + 1)] != mpc::PolicyStatus::not_ready;
        if (chained) {
          pi_next_.col(i) = pi_s_.col(i + 1);
          continue;
        }
        const VectorX s = next_states.col(i);
        const auto& r = mpc.evaluate(s, values_request(false));
        if (r.qp_status == qp::Status::optimal) pi_next_.col(i) = r.u0;
        else { pi_next_.col(i) = buffer_.actions().col(i); next_ok[static_cast<std::size_t>(i)] = 0; }
      }
    });
    for (char ok : next_ok) rec.next_action_failures += ok ? 0 : 1;
    rec.time.sensitivities += std::chrono::duration<double>(clock::now() - t0).count();

    // k fitted-Q sweeps (pi(s') reused by all), then the critic's action derivatives.
    // Q^(n) = critics_[n-1], warm-started from its own fit at the previous accepted theta
    // (Q^(n) moves little with theta); at the first fit from Q^(n-1) just fitted.
    t0 = clock::now();
    q_.resize(m);
    dq_.resize(nu, m);
    d2q_.resize(nu * nu, m);
    if (settings_.float_critic) fit_and_differentiate(critics_float_, it, rec);
    else fit_and_differentiate(critics_, it, rec);
    rec.time.critic += std::chrono::duration<double>(clock::now() - t0).count();

    // DPG means in sample order, then the optimizer's model.
    t0 = clock::now();
    estimator_.reset(np);
    for (Eigen::Index i = 0; i < m; ++i) {
      const auto st = status_[static_cast<std::size_t>(i)];
      const bool weak = st == mpc::PolicyStatus::weakly_active;
      if (weak) ++rec.weakly_active_samples;
      if (!(st == mpc::PolicyStatus::ok || (weak && settings_.use_weakly_active)) || !dq_.col(i).allFinite() ||
          !d2q_.col(i).allFinite()) {
        estimator_.skip();
        continue;
      }
      const Eigen::Map<const Eigen::Matrix<Scalar, NU, NP>> dpi(dpi_.col(i).data(), nu, np);
      const Eigen::Map<const Eigen::Matrix<Scalar, NU, NU>> d2q(d2q_.col(i).data(), nu, nu);
      if (second) {
        const Eigen::Map<const Matrix> d2pi(d2pi_.col(i).data(), nu * np, np);
        estimator_.add(dpi, d2pi, dq_.col(i), d2q);
      } else {
        estimator_.add(dpi, Matrix(), dq_.col(i), d2q);
      }
    }
    rec.derivative_samples = int(estimator_.count());
    rec.skipped_samples = int(estimator_.skipped());
    const VectorTheta g = estimator_.gradient();
    const MatrixTheta H = estimator_.hessian();
    rec.gradient_norm = g.norm();
    rec.model_updated = true;
    optimizer_->tell_model(g, H);
    rec.time.step += std::chrono::duration<double>(clock::now() - t0).count();
  }

  /// The k fitted-Q sweeps of method.md section 4 over the whole memory (next actions
  /// pi_next_), then Q^(k)'s dQ/da and d2Q/da2 at (s_i, a_prev_i, pi(s_i)) into dq_, d2q_.
  /// C is the critic network's scalar (Scalar, or float with float_critic).
  template <typename C>
  void fit_and_differentiate(std::vector<learn::Critic<C>>& critics, int it, Record& rec) {
    using MatrixC = Eigen::Matrix<C, Eigen::Dynamic, Eigen::Dynamic>;
    using VectorC = Eigen::Matrix<C, Eigen::Dynamic, 1>;
    const auto& fq = settings_.critic;
    const int k = std::max(fq.sweeps, 1);
    const bool first = critics.empty();
    if (first) critics.reserve(std::size_t(k));  // copies of back() below must not reallocate
    Matrix x, x_next;
    learn::make_critic_inputs<Scalar>(buffer_.states(), buffer_.prev_actions(), buffer_.actions(), x);
    learn::make_critic_inputs<Scalar>(buffer_.next_states(), buffer_.actions(), pi_next_, x_next);
    const MatrixC xc = x.template cast<C>(), xc_next = x_next.template cast<C>();
    Vector y;
    VectorC next_qc(buffer_.size());
    const learn::TrainSettings<C> train_c = learn::cast_settings<C>(fq.train);
    for (int n = 1; n <= k; ++n) {
      if (first) {
        if (n == 1)
          critics.push_back(learn::make_paper_critic<C>(nx_, nu_, stream_seed(settings_.seed, Stream::critic_init, 0),
                                                        settings_.critic_hidden));
        else
          critics.push_back(critics.back());
      }
      if (n == 1) {
        y = buffer_.costs();
      } else {
        critics[std::size_t(n - 2)].value(xc_next, next_qc);  // Q^(n-1)(s', a, pi(s'))
        const Vector next_q = next_qc.template cast<Scalar>();
        y = learn::fitted_q_targets(buffer_, next_q, fq.gamma, fq.done_is_truncation);
      }
      auto train = train_c;
      train.seed = stream_seed(settings_.seed, Stream::critic_fit, std::uint64_t(it), std::uint64_t(n));
      if (first) train.max_epochs = std::max(train.max_epochs, settings_.first_fit_max_epochs);
      const VectorC yc = y.template cast<C>();
      const auto fit = critics[std::size_t(n - 1)].fit(xc, yc, train, fq.refit_scalers);
      rec.critic_epochs += fit.epochs;
      rec.critic_loss = Scalar(fit.best_loss);
      if (fit.status == learn::TrainStatus::non_finite) rec.critic_status = learn::FittedQStatus::non_finite;
    }
    const Eigen::Index m = buffer_.size(), nu = nu_;
    learn::make_critic_inputs<Scalar>(buffer_.states(), buffer_.prev_actions(), pi_s_, x);
    VectorC qc(m);
    MatrixC dqc(nu, m), d2qc(nu * nu, m);
    critics.back().value_gradient_hessian(x.template cast<C>(), learn::critic_action_indices(nx_, nu), qc, dqc, d2qc);
    q_ = qc.template cast<Scalar>();
    dq_ = dqc.template cast<Scalar>();
    d2q_ = d2qc.template cast<Scalar>();
  }

  Env env_;
  States initial_states_;
  Settings settings_;
  std::vector<std::unique_ptr<Mpc>> mpcs_;
  Eigen::Index nx_ = 0, nu_ = 0, np_ = 0;
  learn::ReplayBuffer<Scalar> buffer_;
  std::vector<learn::Critic<Scalar>> critics_;       ///< Q^(1)..Q^(k)
  std::vector<learn::Critic<float>> critics_float_;  ///< Q^(1)..Q^(k) with float_critic
  std::unique_ptr<optim::Optimizer<Scalar, NP>> optimizer_;
  DpgEstimator<Scalar, NP, NU> estimator_;
  std::vector<mpc::PolicyStatus> status_;
  Matrix pi_s_, pi_next_, dpi_, d2pi_, dq_, d2q_;
  Vector q_;
};

}  // namespace rmpc::rl
