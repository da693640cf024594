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
  t0 = clock::now();
  if (settings_.float_critic)
    fit_and_differentiate(fitted_q_float_, it, rec);
  else
    fit_and_differentiate(fitted_q_, it, rec);
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
void PolicyOptimizer<Env, Mpc>::fit_and_differentiate(learn::FittedQ<C>& fitted_q, int it,
                                                      Record& rec) {
  // Q^(n) warm-starts from its own fit at the previous accepted theta; the first fit starts
  // from the seeded initial network and gets at least first_fit_max_epochs per sweep.
  const bool first = fitted_q.empty();
  if (first)
    fitted_q.reset(learn::make_paper_critic<C>(
        nx_, nu_, stream_seed(settings_.seed, Stream::critic_init, 0), settings_.critic_hidden));
  learn::FittedQSettings<Scalar> fq = settings_.critic;
  fq.train.threads = settings_.threads;  // shards in parallel; the result does not depend on it
  if (first) fq.train.max_epochs = std::max(fq.train.max_epochs, settings_.first_fit_max_epochs);
  const auto fit = fitted_q.fit(buffer_, pi_next_, fq, [&](int n) {
    return stream_seed(settings_.seed, Stream::critic_fit, std::uint64_t(it), std::uint64_t(n));
  });
  rec.critic_epochs += fit.epochs;
  rec.critic_loss = Scalar(fit.fits.back().best_loss);
  if (fit.status == learn::FittedQStatus::non_finite)
    rec.critic_status = learn::FittedQStatus::non_finite;
  fitted_q.template action_derivatives<Scalar>(buffer_.states(), buffer_.prev_actions(), pi_s_, q_,
                                               dq_, d2q_);
}

}  // namespace rmpc::rl
