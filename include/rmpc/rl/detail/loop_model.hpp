// PolicyOptimizer: the model at an accepted theta: policy derivatives over the replay
// memory, the fitted-Q sweeps of the critic, dQ/da and d2Q/da2, and the DPG gradient and
// Hessian for the optimizer. Out-of-class definitions of rmpc/rl/loop.hpp, included only
// from there.
#pragma once

namespace rmpc::rl {

template <typename Env, typename Mpc>
void PolicyOptimizer<Env, Mpc>::update_model(const VectorTheta& theta, int it, Record& rec) {
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
    const Eigen::Index begin = starts[static_cast<std::size_t>(e)],
                       end = starts[static_cast<std::size_t>(e) + 1];
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
      const bool chained =
          i + 1 < end && next_states.col(i) == states.col(i + 1) &&
          status_[static_cast<std::size_t>(i + 1)] != mpc::PolicyStatus::solver_failed &&
          status_[static_cast<std::size_t>(i + 1)] != mpc::PolicyStatus::not_ready;
      if (chained) {
        pi_next_.col(i) = pi_s_.col(i + 1);
        continue;
      }
      const VectorX s = next_states.col(i);
      const auto& r = mpc.evaluate(s, values_request(false));
      if (r.qp_status == qp::Status::optimal)
        pi_next_.col(i) = r.u0;
      else {
        pi_next_.col(i) = buffer_.actions().col(i);
        next_ok[static_cast<std::size_t>(i)] = 0;
      }
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
  if (settings_.float_critic)
    fit_and_differentiate(critics_float_, it, rec);
  else
    fit_and_differentiate(critics_, it, rec);
  rec.time.critic += std::chrono::duration<double>(clock::now() - t0).count();

  // DPG means in sample order, then the optimizer's model.
  t0 = clock::now();
  estimator_.reset(np);
  for (Eigen::Index i = 0; i < m; ++i) {
    const auto st = status_[static_cast<std::size_t>(i)];
    const bool weak = st == mpc::PolicyStatus::weakly_active;
    if (weak) ++rec.weakly_active_samples;
    if (!(st == mpc::PolicyStatus::ok || (weak && settings_.use_weakly_active)) ||
        !dq_.col(i).allFinite() || !d2q_.col(i).allFinite()) {
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

template <typename Env, typename Mpc>
template <typename C>
void PolicyOptimizer<Env, Mpc>::fit_and_differentiate(std::vector<learn::Critic<C>>& critics,
                                                      int it, Record& rec) {
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
        critics.push_back(learn::make_paper_critic<C>(
            nx_, nu_, stream_seed(settings_.seed, Stream::critic_init, 0),
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
    train.seed =
        stream_seed(settings_.seed, Stream::critic_fit, std::uint64_t(it), std::uint64_t(n));
    if (first) train.max_epochs = std::max(train.max_epochs, settings_.first_fit_max_epochs);
    train.threads = settings_.threads;  // shards in parallel; the result does not depend on it
    const VectorC yc = y.template cast<C>();
    const auto fit = critics[std::size_t(n - 1)].fit(xc, yc, train, fq.refit_scalers);
    rec.critic_epochs += fit.epochs;
    rec.critic_loss = Scalar(fit.best_loss);
    if (fit.status == learn::TrainStatus::non_finite)
      rec.critic_status = learn::FittedQStatus::non_finite;
  }
  const Eigen::Index m = buffer_.size(), nu = nu_;
  learn::make_critic_inputs<Scalar>(buffer_.states(), buffer_.prev_actions(), pi_s_, x);
  VectorC qc(m);
  MatrixC dqc(nu, m), d2qc(nu * nu, m);
  critics.back().value_gradient_hessian(x.template cast<C>(), learn::critic_action_indices(nx_, nu),
                                        qc, dqc, d2qc);
  q_ = qc.template cast<Scalar>();
  dq_ = dqc.template cast<Scalar>();
  d2q_ = d2qc.template cast<Scalar>();
}

}  // namespace rmpc::rl
