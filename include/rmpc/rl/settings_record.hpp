// Every field of LoopSettings (nested settings included) as "key = value" text, in one
// place: what a checkpoint stores so that resume() can refuse a run whose settings differ
// (checkpoint.hpp), and what results files can record. Numbers are written with 17
// significant digits (a double reads back to the same value), enums as their integer value.
//
// Keep in step with the settings structs: a new field that changes a run belongs here (the
// test in tests/test_checkpoint.cpp changes one field of each nested struct and expects
// resume() to name it).
#pragma once

#include <rmpc/rl/loop_settings.hpp>

#include <cstdio>
#include <type_traits>
#include <string>
#include <utility>
#include <vector>

namespace rmpc::rl {

using SettingsRecord = std::vector<std::pair<std::string, std::string>>;

namespace detail {

class RecordWriter {
 public:
  explicit RecordWriter(SettingsRecord& out) : out_(out) {}
  template <typename T>
  void operator()(const std::string& key, const T& value) {
    out_.emplace_back(key, text(value));
  }

 private:
  static std::string text(const char* t) { return t; }
  static std::string text(bool b) { return b ? "1" : "0"; }
  static std::string text(int v) { return std::to_string(v); }
  static std::string text(long v) { return std::to_string(v); }
  static std::string text(long long v) { return std::to_string(v); }
  static std::string text(unsigned long v) { return std::to_string(v); }
  static std::string text(unsigned long long v) { return std::to_string(v); }
  static std::string text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
  }
  static std::string text(float v) { return text(double(v)); }
  template <typename E, typename = std::enable_if_t<std::is_enum<E>::value>>
  static std::string text(E e) {
    return std::to_string(static_cast<long long>(e));
  }
  template <typename Derived>
  static std::string text(const Eigen::MatrixBase<Derived>& v) {
    std::string t = "[";
    for (Eigen::Index i = 0; i < v.size(); ++i) t += (i ? " " : "") + text(double(v(i)));
    return t + "]";
  }
  SettingsRecord& out_;
};

}  // namespace detail

/// Every field of `s` that can change a run's result, keyed by its path ("critic.train.adam.
/// learning_rate"). Left out: iterations and the thread counts (a run may be continued with
/// more iterations, on any number of threads, with the same result).
template <typename Scalar>
SettingsRecord settings_record(const LoopSettings<Scalar>& s) {
  SettingsRecord r;
  detail::RecordWriter add(r);
  add("episode_length", s.episode_length);
  add("buffer_episodes", static_cast<long long>(s.buffer_episodes));
  add("seed", static_cast<unsigned long long>(s.seed));
  add("critic_hidden", static_cast<long long>(s.critic_hidden));
  add("critic_targets", s.critic_targets);
  add("first_fit_max_epochs", s.first_fit_max_epochs);
  add("evaluate_accepted", s.evaluate_accepted);
  add("restart_on_stop", s.restart_on_stop);
  add("use_weakly_active", s.use_weakly_active);
  add("common_random_numbers", s.common_random_numbers);
  add("float_critic", s.float_critic);
  add("critic_model", s.critic_model);
  add("refit_on_reject", s.refit_on_reject);
  add("store_rejected_batches", s.store_rejected_batches);
  add("ratio_test_cost", s.ratio_test_cost);
  add("failed_episode_cost", s.failed_episode_cost);
  add("theta_lower", s.theta_lower);
  add("theta_upper", s.theta_upper);
  const auto& e = s.exploration;
  add("exploration.initial_probability", e.initial_probability);
  add("exploration.decay", e.decay);
  add("exploration.floor", e.floor);
  add("exploration.sigma", e.sigma);
  add("exploration.scale", e.scale);
  const auto& o = s.optimizer;
  add("optimizer.rule", optim::to_string(o.rule));
  const auto& t = o.trust_region;
  add("optimizer.trust_region.initial_radius", t.initial_radius);
  add("optimizer.trust_region.max_radius", t.max_radius);
  add("optimizer.trust_region.min_radius", t.min_radius);
  add("optimizer.trust_region.shrink_ratio", t.shrink_ratio);
  add("optimizer.trust_region.shrink_factor", t.shrink_factor);
  add("optimizer.trust_region.expand_ratio", t.expand_ratio);
  add("optimizer.trust_region.expand_factor", t.expand_factor);
  add("optimizer.trust_region.expand_only_on_boundary", t.expand_only_on_boundary);
  add("optimizer.trust_region.shrink_from_step_length", t.shrink_from_step_length);
  add("optimizer.trust_region.gradient_tolerance", t.gradient_tolerance);
  add("optimizer.trust_region.step_tolerance", t.step_tolerance);
  add("optimizer.trust_region.roundoff_tolerance", t.roundoff_tolerance);
  add("optimizer.trust_region.max_iterations", t.max_iterations);
  add("optimizer.trust_region.regularisation", t.regularisation);
  add("optimizer.trust_region.regularisation_floor", t.regularisation_floor);
  add("optimizer.trust_region.subproblem", t.subproblem);
  add("optimizer.trust_region.exact_max_dimension", static_cast<long long>(t.exact_max_dimension));
  add("optimizer.trust_region.exact.radius_tolerance", t.exact.radius_tolerance);
  add("optimizer.trust_region.exact.max_iterations", t.exact.max_iterations);
  add("optimizer.trust_region.exact.eigenvalue_tolerance", t.exact.eigenvalue_tolerance);
  add("optimizer.trust_region.exact.hard_case_tolerance", t.exact.hard_case_tolerance);
  add("optimizer.trust_region.steihaug.forcing_cap", t.steihaug.forcing_cap);
  add("optimizer.trust_region.steihaug.max_iterations_per_dimension",
      t.steihaug.max_iterations_per_dimension);
  add("optimizer.trust_region.bfgs.powell_damping", t.bfgs.powell_damping);
  add("optimizer.trust_region.bfgs.damping_threshold", t.bfgs.damping_threshold);
  add("optimizer.trust_region.bfgs.skip_tolerance", t.bfgs.skip_tolerance);
  add("optimizer.trust_region.bfgs.scale_initial", t.bfgs.scale_initial);
  add("optimizer.trust_region.bfgs.initial_scale", t.bfgs.initial_scale);
  const auto& f = o.fixed_rate;
  add("optimizer.fixed_rate.gd_learning_rate", f.gd_learning_rate);
  add("optimizer.fixed_rate.qn_learning_rate", f.qn_learning_rate);
  add("optimizer.fixed_rate.qn_relative_floor", f.qn_relative_floor);
  add("optimizer.fixed_rate.adam_learning_rate", f.adam_learning_rate);
  add("optimizer.fixed_rate.adam_beta1", f.adam_beta1);
  add("optimizer.fixed_rate.adam_beta2", f.adam_beta2);
  add("optimizer.fixed_rate.adam_epsilon", f.adam_epsilon);
  add("optimizer.fixed_rate.gradient_tolerance", f.gradient_tolerance);
  add("optimizer.fixed_rate.max_iterations", f.max_iterations);
  const auto& g = o.gn_momentum;
  add("optimizer.gn_momentum.learning_rate", g.learning_rate);
  add("optimizer.gn_momentum.beta1", g.beta1);
  add("optimizer.gn_momentum.beta2", g.beta2);
  add("optimizer.gn_momentum.curvature_beta", g.curvature_beta);
  add("optimizer.gn_momentum.epsilon", g.epsilon);
  add("optimizer.gn_momentum.regularisation", g.regularisation);
  add("optimizer.gn_momentum.gradient_tolerance", g.gradient_tolerance);
  add("optimizer.gn_momentum.max_iterations", g.max_iterations);
  add("optimizer.gn_momentum.exact.radius_tolerance", g.exact.radius_tolerance);
  add("optimizer.gn_momentum.exact.max_iterations", g.exact.max_iterations);
  add("optimizer.gn_momentum.exact.eigenvalue_tolerance", g.exact.eigenvalue_tolerance);
  add("optimizer.gn_momentum.exact.hard_case_tolerance", g.exact.hard_case_tolerance);
  const auto& c = s.critic;
  add("critic.sweeps", c.sweeps);
  add("critic.gamma", c.gamma);
  add("critic.done_is_truncation", c.done_is_truncation);
  add("critic.refit_scalers", c.refit_scalers);
  add("critic.action_relative", c.action_relative);
  add("critic.monte_carlo_targets", c.monte_carlo_targets);
  const auto& tr = c.train;
  add("critic.train.max_epochs", tr.max_epochs);
  add("critic.train.batch_size", static_cast<long long>(tr.batch_size));
  add("critic.train.loss", tr.loss);
  add("critic.train.huber_delta", tr.huber_delta);
  add("critic.train.adam.learning_rate", tr.adam.learning_rate);
  add("critic.train.adam.beta1", tr.adam.beta1);
  add("critic.train.adam.beta2", tr.adam.beta2);
  add("critic.train.adam.epsilon", tr.adam.epsilon);
  add("critic.train.patience", tr.patience);
  add("critic.train.min_delta", tr.min_delta);
  add("critic.train.restore_best", tr.restore_best);
  add("critic.train.reset_optimizer", tr.reset_optimizer);
  add("critic.train.shard_size", static_cast<long long>(tr.shard_size));
  add("critic.train.simd_kernel", tr.simd_kernel);
  return r;
}

}  // namespace rmpc::rl
