// PolicyOptimizer: checkpoint() and resume() (rl/checkpoint.hpp). Out-of-class definitions of
// rmpc/rl/loop.hpp, included only from there.
#pragma once

namespace rmpc::rl {
namespace detail {

inline std::invalid_argument bad_checkpoint(const std::string& what) {
  return std::invalid_argument("PolicyOptimizer::resume: checkpoint" + what);
}

inline void require_same(const char* field, long long mine, long long theirs) {
  if (mine != theirs)
    throw bad_checkpoint(".identity." + std::string(field) + " = " + std::to_string(theirs) +
                         ", this run has " + std::to_string(mine));
}

/// The first setting that differs, named with both values.
inline void require_same_settings(const SettingsRecord& mine, const SettingsRecord& theirs) {
  for (const auto& [key, value] : mine) {
    const std::string* other = nullptr;
    for (const auto& kv : theirs)
      if (kv.first == key) other = &kv.second;
    if (other == nullptr)
      throw bad_checkpoint(".identity.settings lacks " + key +
                           " (a checkpoint of another version)");
    if (*other != value)
      throw bad_checkpoint(": setting " + key + " = " + *other + ", this run has " + value +
                           " (resume needs the same settings; only iterations and threads may "
                           "change)");
  }
  if (theirs.size() != mine.size())
    throw bad_checkpoint(".identity.settings has settings this version does not know");
}

}  // namespace detail

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::identity() const -> CheckpointIdentity<Scalar> {
  CheckpointIdentity<Scalar> id;
  id.nx = int(nx_);
  id.nu = int(nu_);
  id.np = int(np_);
  id.initial_states = initial_states_;
  id.settings = settings_record(settings_);
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
  c.history = result_.history;
  c.time = result_.time;
  c.critics = model_.critic_states();
  return c;
}

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::resume(const Checkpoint& c, const Callback& on_iteration)
    -> Result {
  const auto t_start = std::chrono::steady_clock::now();
  if (!settings_.critic.train.reset_optimizer)
    throw std::logic_error(
        "PolicyOptimizer::resume: critic.train.reset_optimizer = false is not resumable");
  const CheckpointIdentity<Scalar> mine = identity();
  const CheckpointIdentity<Scalar>& id = c.identity;
  detail::require_same("nx", mine.nx, id.nx);
  detail::require_same("nu", mine.nu, id.nu);
  detail::require_same("np", mine.np, id.np);
  if (id.initial_states.rows() != mine.initial_states.rows() ||
      id.initial_states.cols() != mine.initial_states.cols() ||
      id.initial_states != mine.initial_states)
    throw detail::bad_checkpoint(".identity.initial_states differ from this run's");
  detail::require_same_settings(mine.settings, id.settings);
  if (c.iteration < 0) throw detail::bad_checkpoint(".iteration < 0");
  if (c.iteration + 1 >= settings_.iterations)
    throw std::invalid_argument(
        "PolicyOptimizer::resume: nothing left to run: the checkpoint ends at iteration " +
        std::to_string(c.iteration) + " and settings.iterations = " +
        std::to_string(settings_.iterations) + " (raise iterations to continue)");
  if (int(c.history.size()) != c.iteration + 1)
    throw detail::bad_checkpoint(".history needs one record per iteration 0.." +
                                 std::to_string(c.iteration));
  if (c.theta.size() != np_ || c.best_theta.size() != np_)
    throw detail::bad_checkpoint(".theta/best_theta size");
  if (!c.theta.allFinite()) throw detail::bad_checkpoint(".theta is not finite");
  if (!optim::BoxBounds<Scalar>{settings_.theta_lower, settings_.theta_upper}.contains(c.theta))
    throw detail::bad_checkpoint(".theta lies outside theta_lower/theta_upper");
  const Eigen::Index m = c.states.cols();
  if (c.states.rows() != nx_ || c.next_states.rows() != nx_ || c.next_states.cols() != m ||
      c.actions.rows() != nu_ || c.actions.cols() != m || c.prev_actions.rows() != nu_ ||
      c.prev_actions.cols() != m || c.costs.size() != m || c.dones.size() != m)
    throw detail::bad_checkpoint(" memory: sizes disagree");
  if (!c.states.allFinite() || !c.prev_actions.allFinite() || !c.actions.allFinite() ||
      !c.next_states.allFinite() || !c.costs.allFinite())
    throw detail::bad_checkpoint(" memory: a transition is not finite");
  for (Eigen::Index i = 0; i < m; ++i)
    if (c.dones(i) != Scalar(0) && c.dones(i) != Scalar(1))
      throw detail::bad_checkpoint(" memory: dones must be 0 or 1");
  long total = 0;
  for (long len : c.episode_lengths) total += len > 0 ? len : m + 1;
  if (total != long(m)) throw detail::bad_checkpoint(".episode_lengths do not split the memory");
  bool modelled = false;  // a model was told: the critic was fitted
  for (const auto& call : c.optimizer_calls) modelled |= call.kind == optim::CallKind::tell_model;
  if (c.optimizer_calls.empty() || c.optimizer_calls.front().kind != optim::CallKind::reset)
    throw detail::bad_checkpoint(".optimizer_calls must begin with reset");
  if (modelled ? int(c.critics.size()) != settings_.critic.sweeps : !c.critics.empty())
    throw detail::bad_checkpoint(".critics needs one network per sweep once a model was fitted");
  for (std::size_t n = 0; n < c.critics.size(); ++n)
    if (!c.critics[n].parameters.allFinite() || !c.critics[n].input_mean.allFinite() ||
        !(c.critics[n].input_scale.array() > 0).all() ||
        !(c.critics[n].target_hi > c.critics[n].target_lo))
      throw detail::bad_checkpoint(".critics[" + std::to_string(n) +
                                   "]: non-finite weights or an invalid scaler");

  stop_requested_ = false;
  Result fresh;  // fixed-size thetas set before the copy (never copy uninitialized storage)
  fresh.theta = c.theta;
  fresh.best_theta = c.best_theta;
  fresh.history = c.history;
  fresh.time = c.time;
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
  model_theta_ = c.theta;  // a prepared checkpoint's critic was fitted at its theta
  has_model_ = c.prepared;

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
  model_.reset(np_, hessian_mode(settings_.optimizer.rule));
  model_.restore_critics(c.critics, settings_, nx_, nu_);
  optimizer_ = std::make_unique<optim::RecordedOptimizer<Scalar, NP>>(settings_.optimizer);
  optimizer_->set_bounds(settings_.theta_lower, settings_.theta_upper);
  try {
    optimizer_->replay(c.optimizer_calls);
  } catch (const std::logic_error& e) {  // a call out of order: not this run's record
    throw detail::bad_checkpoint(".optimizer_calls: " + std::string(e.what()));
  }
  const auto& replayed = optimizer_->optimizer();
  int values = 0;  // one tell_value per iteration after the first
  for (const auto& call : c.optimizer_calls) values += call.kind == optim::CallKind::tell_value;
  if (replayed.x() != c.theta || values != c.iteration ||
      (c.prepared && replayed.status() == optim::Status::running && replayed.needs_model()))
    throw detail::bad_checkpoint(".optimizer_calls do not lead to checkpoint.theta at iteration " +
                                 std::to_string(c.iteration));

  if (!set_parameters(theta_)) {
    result_.status = LoopStatus::setup_failed;
    return result_;
  }
  const bool more = c.iteration + 1 < settings_.iterations;
  // A checkpoint of a run's last iteration lacks that iteration's end (no step followed): a
  // longer run does it now, as the uninterrupted longer run would have.
  if (more && !c.prepared) {
    Record& last = result_.history.back();  // that iteration's record, completed as it would be
    prepare_next(c.iteration, c.accepted, c.accepted || settings_.store_rejected_batches, last);
    close_record(last);
    prepared_ = true;
    result_.time = PhaseTimes{};  // summed in iteration order, as the run does
    for (const Record& r : result_.history) result_.time += r.time;
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
