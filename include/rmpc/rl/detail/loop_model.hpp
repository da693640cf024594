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
  const auto t0 = std::chrono::steady_clock::now();
  optimizer_->tell_model(g, H);
  rec.time.step += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace rmpc::rl
