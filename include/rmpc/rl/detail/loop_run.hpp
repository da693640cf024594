// PolicyOptimizer: run() (the iterations of the loop), the batch of episodes at a trial theta
// and the deterministic evaluation. Out-of-class definitions of rmpc/rl/loop.hpp, included
// only from there.
#pragma once

namespace rmpc::rl {

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::run(const Eigen::Ref<const VectorTheta>& theta0,
                                    const Callback& on_iteration) -> Result {
  const auto t_start = std::chrono::steady_clock::now();
  stop_requested_ = false;
  Result fresh;  // fixed-size thetas set before the copy (never copy uninitialized storage)
  fresh.theta = theta0;
  fresh.best_theta = theta0;
  result_ = std::move(fresh);
  theta_ = theta0;
  gradient_norm_ = std::numeric_limits<Scalar>::quiet_NaN();
  eval_cost_ = std::numeric_limits<Scalar>::quiet_NaN();
  last_iteration_ = -1;
  has_model_ = false;
  if (initial_states_.cols() == 0) {
    result_.status = LoopStatus::no_initial_states;
    return result_;
  }
  buffer_ = learn::ReplayBuffer<Scalar>(nx_, nu_, settings_.buffer_episodes);
  model_.reset(np_, hessian_mode(settings_.optimizer.rule));
  if (!optim::BoxBounds<Scalar>{settings_.theta_lower, settings_.theta_upper}.contains(theta0))
    throw std::invalid_argument(
        "PolicyOptimizer::run: theta0 lies outside LoopSettings::theta_lower/theta_upper");
  optimizer_ = std::make_unique<optim::RecordedOptimizer<Scalar, NP>>(settings_.optimizer);
  optimizer_->set_bounds(settings_.theta_lower, settings_.theta_upper);
  if (!set_parameters(theta0)) {
    result_.status = LoopStatus::setup_failed;
    return result_;
  }
  return iterate(0, on_iteration, t_start);
}

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::iterate(int first_iteration, const Callback& on_iteration,
                                        std::chrono::steady_clock::time_point t_start) -> Result {
  using clock = std::chrono::steady_clock;
  const auto seconds_since = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  Result& result = result_;
  const auto& optimizer = optimizer_->optimizer();  // the state; calls go through optimizer_
  VectorTheta& theta = theta_;                      // accepted
  for (int it = first_iteration; it < settings_.iterations; ++it) {
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
      trial = step.point;  // theta + p, inside the bounds
    }
    rec.time.step += seconds_since(t0);
    rec.theta_trial = trial;

    // Batch of episodes at the trial parameters.
    t0 = clock::now();
    rec.batch_cost = run_batch(trial, it, rec.exploration_probability, rec.failed_episodes);
    rec.time.rollouts += seconds_since(t0);

    // The cost the ratio test compares (LoopSettings::ratio_test_cost).
    Scalar test_cost = rec.batch_cost;
    const bool deterministic_test = settings_.ratio_test_cost == RatioTestCost::deterministic_batch;
    if (deterministic_test) {
      t0 = clock::now();
      const Scalar cost = evaluate(trial, initial_states_);
      rec.time.evaluation += seconds_since(t0);
      rec.trial_cost = std::isnan(cost) ? std::numeric_limits<Scalar>::infinity() : cost;
      test_cost = rec.trial_cost;
    }

    // Ratio test / acceptance.
    t0 = clock::now();
    bool accepted = true;
    if (it == 0) {
      if (!std::isfinite(test_cost)) {
        rec.accepted = false;
        result.status = LoopStatus::initial_episodes_failed;
        result.time += rec.time;
        result.history.push_back(rec);
        if (on_iteration) on_iteration(result.history.back());
        break;
      }
      optimizer_->reset(theta, test_cost);
    } else {
      const auto out = optimizer_->tell_value(test_cost);
      accepted = out.accepted;
      rec.ratio = out.ratio;
    }
    if (accepted) theta = optimizer.x();
    rec.accepted = accepted;
    const bool stored = accepted || settings_.store_rejected_batches;
    if (stored) store_batch();
    rec.time.step += seconds_since(t0);

    // Monitoring: deterministic cost of a newly accepted point.
    if (accepted && (settings_.evaluate_accepted || deterministic_test)) {
      t0 = clock::now();
      // The deterministic test already measured the accepted (= trial) theta.
      rec.eval_cost = deterministic_test ? (std::isfinite(rec.trial_cost)
                                                ? rec.trial_cost
                                                : std::numeric_limits<Scalar>::quiet_NaN())
                                         : evaluate(theta, initial_states_);
      rec.time.evaluation += seconds_since(t0);
      if (it == 0) result.initial_cost = rec.eval_cost;
      if (std::isfinite(rec.eval_cost) && rec.eval_cost < result.best_cost) {
        result.best_cost = rec.eval_cost;
        result.best_theta = theta;
        result.best_iteration = it;
      }
    } else {
      rec.eval_cost = eval_cost_;  // the accepted point did not change
    }

    if (it + 1 < settings_.iterations) prepare_next(it, accepted, stored, rec);
    close_record(rec);
    result.time += rec.time;
    result.history.push_back(rec);
    last_iteration_ = it;
    last_accepted_ = accepted;
    prepared_ = it + 1 < settings_.iterations;
    eval_cost_ = rec.eval_cost;
    if (on_iteration) on_iteration(result.history.back());
    // A stop on the last iteration ends nothing early: the run completed (optimizer_status
    // still says why the optimizer stopped).
    if (optimizer.status() != optim::Status::running && it + 1 < settings_.iterations) {
      result.status = LoopStatus::optimizer_stopped;
      break;
    }
    if (stop_requested_ && it + 1 < settings_.iterations) {
      result.status = LoopStatus::stopped;
      break;
    }
  }
  result.theta = theta;
  result.optimizer_status = optimizer.status();
  result.wall_seconds = seconds_since(t_start);
  return result;
}

template <typename Env, typename Mpc>
void PolicyOptimizer<Env, Mpc>::prepare_next(int it, bool accepted, bool stored, Record& rec) {
  const auto& optimizer = optimizer_->optimizer();
  // Model (critic, g, H) at a newly accepted point (or after a rejection, refit_on_reject, when
  // the rejected batch entered the memory).
  if ((accepted || (settings_.refit_on_reject && stored)) &&
      optimizer.status() == optim::Status::running) {
    update_model(theta_, it, rec);
    gradient_norm_ = rec.gradient_norm;
  }
  // Optional restart when the trust region collapsed (noisy Jbar): fresh model, Delta0.
  const optim::Status st = optimizer.status();
  if (settings_.restart_on_stop &&
      (st == optim::Status::converged_radius || st == optim::Status::converged_step)) {
    optimizer_->reset(theta_, optimizer.value());
    update_model(theta_, it, rec);
    gradient_norm_ = rec.gradient_norm;
    rec.restarted = true;
    ++result_.restarts;
  }
}

template <typename Env, typename Mpc>
void PolicyOptimizer<Env, Mpc>::close_record(Record& rec) const {
  const auto& optimizer = optimizer_->optimizer();
  rec.gradient_norm = gradient_norm_;
  rec.theta = theta_;
  rec.accepted_batch_cost = optimizer.value();
  rec.radius = optimizer.radius();
  rec.optimizer_status = optimizer.status();
}

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::run_batch(const VectorTheta& theta, int it, Scalar eps, int& failed)
    -> Scalar {
  failed = 0;
  const Eigen::Index ne = initial_states_.cols();
  if (!set_parameters(theta)) {
    failed = int(ne);
    return std::numeric_limits<Scalar>::infinity();
  }
  const bool crn = common_random_numbers_active();
  // ExplorationScale::action: d = T x from this theta's QP (the same on every worker); a theta
  // without the map (u_0 not moved by d) explores in cost units.
  Eigen::Matrix<Scalar, Mpc::VectorU::RowsAtCompileTime, Mpc::VectorU::RowsAtCompileTime> d_map;
  const bool use_map = settings_.exploration.scale == ExplorationScale::action &&
                       action_exploration_map(*mpcs_.front(), d_map);
  const auto& episodes = batch_.explore(
      env_, mpcs_, initial_states_, settings_.episode_length, eps, settings_.exploration.sigma, crn,
      [&](std::uint64_t e) {
        return crn ? stream_seed(settings_.seed, Stream::episode_common, e)
                   : stream_seed(settings_.seed, Stream::episode, std::uint64_t(it), e);
      },
      use_map ? &d_map : nullptr);
  Scalar mean = 0;
  for (const auto& ep : episodes) {
    mean += ep.total_cost;
    if (!ep.ok()) ++failed;
  }
  // The memory takes the batch after the ratio test (store_batch); evaluate() reuses batch_.
  pending_ = episodes;
  if (failed > 0 &&
      (failed == int(ne) || settings_.failed_episode_cost == FailedEpisodeCost::infinite))
    return std::numeric_limits<Scalar>::infinity();
  return mean / Scalar(ne);
}

template <typename Env, typename Mpc>
void PolicyOptimizer<Env, Mpc>::store_batch() {
  for (const auto& ep : pending_) {
    if (ep.length == 0) continue;
    std::vector<bool> done(static_cast<std::size_t>(ep.length), false);
    done.back() = true;
    buffer_.add_episode(ep.states, ep.prev_actions, ep.actions, ep.costs, ep.next_states, done);
  }
}

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::evaluate(const Eigen::Ref<const VectorTheta>& theta,
                                         const States& states, std::vector<Scalar>* per_state,
                                         int* failed) -> Scalar {
  if (!set_parameters(theta)) return std::numeric_limits<Scalar>::quiet_NaN();
  const auto& episodes = batch_.deterministic(env_, mpcs_, states, settings_.episode_length);
  std::vector<Scalar> cost(episodes.size());
  Scalar mean = 0;
  int bad = 0;
  for (std::size_t e = 0; e < cost.size(); ++e) {
    cost[e] = episodes[e].total_cost;
    mean += cost[e];
    bad += episodes[e].ok() ? 0 : 1;
  }
  if (per_state) *per_state = cost;
  if (failed) *failed = bad;
  if (bad > 0) return std::numeric_limits<Scalar>::quiet_NaN();
  return mean / Scalar(cost.size());
}

}  // namespace rmpc::rl
