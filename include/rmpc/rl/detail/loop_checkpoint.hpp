// PolicyOptimizer: checkpoint() and resume() (rl/checkpoint.hpp). Out-of-class definitions of
// rmpc/rl/loop.hpp, included only from there.
#pragma once

namespace rmpc::rl {
namespace detail {

template <typename C>
std::vector<CriticState> critic_states(const learn::FittedQ<C>& fitted_q) {
  std::vector<CriticState> out;
  for (const auto& q : fitted_q.networks()) {
    CriticState c;
    c.parameters = q.network().parameters().template cast<double>();
    c.input_mean = q.input_scaler().mean().template cast<double>();
    c.input_scale = q.input_scaler().scale().template cast<double>();
    c.target_lo = double(q.target_scaler().lo());
    c.target_hi = double(q.target_scaler().hi());
    out.push_back(std::move(c));
  }
  return out;
}

/// The networks of `states`, each built as `initial` (architecture, target transform).
template <typename C>
std::vector<learn::Critic<C>> critics_from_states(const std::vector<CriticState>& states,
                                                  const learn::Critic<C>& initial) {
  std::vector<learn::Critic<C>> out;
  for (std::size_t n = 0; n < states.size(); ++n) {
    const CriticState& c = states[n];
    const std::string name = "checkpoint.critics[" + std::to_string(n) + "]";
    if (c.parameters.size() != initial.network().num_parameters())
      throw std::invalid_argument(name + ".parameters: " + std::to_string(c.parameters.size()) +
                                  " values for a network of " +
                                  std::to_string(initial.network().num_parameters()));
    if (c.input_mean.size() != initial.input_dim() || c.input_scale.size() != initial.input_dim())
      throw std::invalid_argument(name + ".input_mean/input_scale: wrong size");
    learn::Critic<C> q = initial;
    q.network().set_parameters(c.parameters.template cast<C>());
    q.input_scaler().set(c.input_mean.template cast<C>(), c.input_scale.template cast<C>());
    q.target_scaler().set_range(C(c.target_lo), C(c.target_hi));
    out.push_back(std::move(q));
  }
  return out;
}

inline void require_same(const char* field, long long mine, long long theirs) {
  if (mine != theirs)
    throw std::invalid_argument("PolicyOptimizer::resume: checkpoint.identity." +
                                std::string(field) + " = " + std::to_string(theirs) +
                                ", this run has " + std::to_string(mine));
}

}  // namespace detail

template <typename Env, typename Mpc>
CheckpointIdentity PolicyOptimizer<Env, Mpc>::identity() const {
  CheckpointIdentity id;
  id.seed = settings_.seed;
  id.rule = optim::to_string(settings_.optimizer.rule);
  id.nx = int(nx_);
  id.nu = int(nu_);
  id.np = int(np_);
  id.episode_length = settings_.episode_length;
  id.initial_states = int(initial_states_.cols());
  id.sweeps = settings_.critic.sweeps;
  id.critic_hidden = int(settings_.critic_hidden);
  id.float_critic = settings_.float_critic;
  id.buffer_episodes = long(settings_.buffer_episodes);
  return id;
}

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::checkpoint() const -> Checkpoint {
  if (last_iteration_ < 0 || !optimizer_)
    throw std::logic_error("PolicyOptimizer::checkpoint: no completed iteration (run() first)");
  if (!settings_.critic.train.reset_optimizer)
    throw std::logic_error(
        "PolicyOptimizer::checkpoint: critic.train.reset_optimizer = false keeps Adam moments "
        "between fits, which a checkpoint does not hold");
  Checkpoint c;
  c.identity = identity();
  c.iteration = last_iteration_;
  c.accepted = last_accepted_;
  c.prepared = prepared_;
  c.theta = theta_;
  c.gradient_norm = gradient_norm_;
  c.eval_cost = eval_cost_;
  c.initial_cost = result_.initial_cost;
  c.best_cost = result_.best_cost;
  c.best_theta = result_.best_theta;
  c.best_iteration = result_.best_iteration;
  c.restarts = result_.restarts;
  c.optimizer_calls = optimizer_->calls();
  c.states = buffer_.states();
  c.prev_actions = buffer_.prev_actions();
  c.actions = buffer_.actions();
  c.next_states = buffer_.next_states();
  c.costs = buffer_.costs();
  c.dones = buffer_.dones();
  const std::vector<Eigen::Index> starts = buffer_.episode_starts();
  for (std::size_t e = 0; e + 1 < starts.size(); ++e)
    c.episode_lengths.push_back(long(starts[e + 1] - starts[e]));
  c.critics = settings_.float_critic ? detail::critic_states(fitted_q_float_)
                                     : detail::critic_states(fitted_q_);
  return c;
}

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::resume(const Checkpoint& c, const Callback& on_iteration)
    -> Result {
  const auto t_start = std::chrono::steady_clock::now();
  if (!settings_.critic.train.reset_optimizer)
    throw std::logic_error(
        "PolicyOptimizer::resume: critic.train.reset_optimizer = false is not resumable");
  const CheckpointIdentity mine = identity();
  const CheckpointIdentity& id = c.identity;
  if (id.seed != mine.seed)
    throw std::invalid_argument("PolicyOptimizer::resume: checkpoint.identity.seed differs");
  if (id.rule != mine.rule)
    throw std::invalid_argument("PolicyOptimizer::resume: checkpoint.identity.rule = " + id.rule +
                                ", this run has " + mine.rule);
  detail::require_same("nx", mine.nx, id.nx);
  detail::require_same("nu", mine.nu, id.nu);
  detail::require_same("np", mine.np, id.np);
  detail::require_same("episode_length", mine.episode_length, id.episode_length);
  detail::require_same("initial_states", mine.initial_states, id.initial_states);
  detail::require_same("sweeps", mine.sweeps, id.sweeps);
  detail::require_same("critic_hidden", mine.critic_hidden, id.critic_hidden);
  detail::require_same("float_critic", mine.float_critic, id.float_critic);
  detail::require_same("buffer_episodes", mine.buffer_episodes, id.buffer_episodes);
  if (c.iteration < 0)
    throw std::invalid_argument("PolicyOptimizer::resume: checkpoint.iteration < 0");
  if (c.theta.size() != np_ || c.best_theta.size() != np_)
    throw std::invalid_argument("PolicyOptimizer::resume: checkpoint.theta/best_theta size");
  const Eigen::Index m = c.states.cols();
  if (c.states.rows() != nx_ || c.next_states.rows() != nx_ || c.next_states.cols() != m ||
      c.actions.rows() != nu_ || c.actions.cols() != m || c.prev_actions.rows() != nu_ ||
      c.prev_actions.cols() != m || c.costs.size() != m || c.dones.size() != m)
    throw std::invalid_argument("PolicyOptimizer::resume: checkpoint memory sizes disagree");
  long total = 0;
  for (long len : c.episode_lengths) total += len > 0 ? len : m + 1;
  if (total != long(m))
    throw std::invalid_argument(
        "PolicyOptimizer::resume: checkpoint.episode_lengths do not split the memory");
  if (!c.critics.empty() && int(c.critics.size()) != settings_.critic.sweeps)
    throw std::invalid_argument(
        "PolicyOptimizer::resume: checkpoint.critics needs one network "
        "per sweep");

  stop_requested_ = false;
  Result fresh;  // fixed-size thetas set before the copy (never copy uninitialized storage)
  fresh.theta = c.theta;
  fresh.best_theta = c.best_theta;
  result_ = std::move(fresh);
  result_.initial_cost = c.initial_cost;
  result_.best_cost = c.best_cost;
  result_.best_theta = c.best_theta;
  result_.best_iteration = c.best_iteration;
  result_.restarts = c.restarts;
  theta_ = c.theta;
  gradient_norm_ = c.gradient_norm;
  eval_cost_ = c.eval_cost;
  last_iteration_ = c.iteration;
  last_accepted_ = c.accepted;
  prepared_ = c.prepared;

  buffer_ = learn::ReplayBuffer<Scalar>(nx_, nu_, settings_.buffer_episodes);
  Eigen::Index begin = 0;
  for (long len : c.episode_lengths) {
    std::vector<bool> done(static_cast<std::size_t>(len));
    for (long i = 0; i < len; ++i) done[std::size_t(i)] = c.dones(begin + i) != Scalar(0);
    buffer_.add_episode(c.states.middleCols(begin, len), c.prev_actions.middleCols(begin, len),
                        c.actions.middleCols(begin, len), c.costs.segment(begin, len),
                        c.next_states.middleCols(begin, len), done);
    begin += len;
  }
  const auto init_seed = stream_seed(settings_.seed, Stream::critic_init, 0);
  if (settings_.float_critic) {
    fitted_q_.clear();
    fitted_q_float_.restore(detail::critics_from_states(
        c.critics, learn::make_paper_critic<float>(nx_, nu_, init_seed, settings_.critic_hidden)));
  } else {
    fitted_q_float_.clear();
    fitted_q_.restore(detail::critics_from_states(
        c.critics, learn::make_paper_critic<Scalar>(nx_, nu_, init_seed, settings_.critic_hidden)));
  }
  optimizer_ = std::make_unique<optim::RecordedOptimizer<Scalar, NP>>(settings_.optimizer);
  optimizer_->set_bounds(settings_.theta_lower, settings_.theta_upper);
  optimizer_->replay(c.optimizer_calls);
  estimator_ = DpgEstimator<Scalar, NP, NU>(np_, hessian_mode(settings_.optimizer.rule));

  if (!set_parameters(theta_)) {
    result_.status = LoopStatus::setup_failed;
    return result_;
  }
  const bool more = c.iteration + 1 < settings_.iterations;
  // A checkpoint of a run's last iteration lacks that iteration's end (no step followed): a
  // longer run does it now, as the uninterrupted longer run would have.
  if (more && !c.prepared) {
    Record scratch;
    prepare_next(c.iteration, c.accepted, scratch);
    prepared_ = true;
    result_.time += scratch.time;
  }
  const auto& optimizer = optimizer_->optimizer();
  if (more && optimizer.status() != optim::Status::running) {
    result_.status = LoopStatus::optimizer_stopped;
    result_.optimizer_status = optimizer.status();
    return result_;
  }
  return iterate(c.iteration + 1, on_iteration, t_start);
}

}  // namespace rmpc::rl
