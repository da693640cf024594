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
  const Eigen::Index m = buffer_.size(), np = np_;
  set_parameters(theta);

  // Policy and its derivatives at every stored state, pi at every successor state.
  auto t0 = clock::now();
  samples_.compute(buffer_, mpcs_, second);
  rec.next_action_failures += samples_.next_action_failures();
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
    const auto st = samples_.status(i);
    const bool weak = st == mpc::PolicyStatus::weakly_active;
    if (weak) ++rec.weakly_active_samples;
    if (!(st == mpc::PolicyStatus::ok || (weak && settings_.use_weakly_active)) ||
        !dq_.col(i).allFinite() || !d2q_.col(i).allFinite()) {
      estimator_.skip();
      continue;
    }
    const Eigen::Map<const Eigen::Matrix<Scalar, NU, NU>> d2q(d2q_.col(i).data(), nu_, nu_);
    if (second)
      estimator_.add(samples_.dpi_dtheta(i), samples_.d2pi_dtheta2(i), dq_.col(i), d2q);
    else
      estimator_.add(samples_.dpi_dtheta(i), Matrix(), dq_.col(i), d2q);
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
  const auto fit = fitted_q.fit(buffer_, samples_.next_actions(), fq, [&](int n) {
    return stream_seed(settings_.seed, Stream::critic_fit, std::uint64_t(it), std::uint64_t(n));
  });
  rec.critic_epochs += fit.epochs;
  rec.critic_loss = Scalar(fit.fits.back().best_loss);
  if (fit.status == learn::FittedQStatus::non_finite)
    rec.critic_status = learn::FittedQStatus::non_finite;
  fitted_q.template action_derivatives<Scalar>(buffer_.states(), buffer_.prev_actions(),
                                               samples_.actions(), q_, dq_, d2q_);
}

}  // namespace rmpc::rl
