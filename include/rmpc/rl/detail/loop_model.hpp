// PolicyOptimizer: the model at an accepted theta (policy_model.hpp computes g and H; this
// tells the optimizer). Out-of-class definition of rmpc/rl/loop.hpp, included only from there.
#pragma once

namespace rmpc::rl {

template <typename Env, typename Mpc>
void PolicyOptimizer<Env, Mpc>::update_model(const VectorTheta& theta, int it, Record& rec) {
  set_parameters(theta);
  VectorTheta g(np_);
  MatrixTheta H(np_, np_);
  model_.update(buffer_, mpcs_, settings_, it, rec, g, H);
  model_theta_ = theta;
  has_model_ = true;
  const auto t0 = std::chrono::steady_clock::now();
  optimizer_->tell_model(g, H);
  rec.time.step += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

template <typename Env, typename Mpc>
auto PolicyOptimizer<Env, Mpc>::diagnose(const DiagnosisSettings<Scalar>& settings,
                                         VectorTheta* closed_loop_gradient)
    -> ModelDiagnosis<Scalar, NP> {
  if (!has_model_) throw std::logic_error("PolicyOptimizer::diagnose: no model yet (run first)");
  settings.validate();
  const HessianMode mode = hessian_mode(settings_.optimizer.rule);
  Mpc& mpc = *mpcs_.front();
  ModelDiagnosis<Scalar, NP> out;
  if (mpc.set_parameters(model_theta_) != qp::Status::optimal) return out;
  const int k = settings_.critic.sweeps;
  const Scalar gamma = settings_.critic.gamma;
  // Through the model's one compiled copy of the critic's derivatives (float or double).
  const auto critic = [this](const auto& s, const auto& a_prev, const auto& a, auto& q, auto& dq,
                             auto& d2q) { model_.action_derivatives(s, a_prev, a, q, dq, d2q); };
  out = diagnose_critic(env_, mpc, buffer_, critic, k, gamma, mode, settings,
                        settings_.episode_length);
  if (closed_loop_gradient)
    *closed_loop_gradient = rl::closed_loop_gradient(
        model_theta_, [&](const VectorTheta& t) { return evaluate(t, initial_states_); },
        settings.theta_step);
  return out;
}

}  // namespace rmpc::rl
