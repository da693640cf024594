// Logging of the RL loop (loop.hpp): one progress line per iteration (stderr), a CSV row per
// iteration and a JSON summary (best cost, best theta, history, time per phase).
#pragma once

#include <rmpc/rl/loop_records.hpp>

#include <cmath>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <string>

namespace rmpc::rl {

/// A number as the CSV files write it: `digits` significant digits (%.*g; 17 reads back every
/// double bit for bit, 10 is the default for histories), non-finite values as nan / inf / -inf
/// (what gnuplot, awk and pandas read).
template <typename Scalar>
std::string csv_number(Scalar v, int digits = 10) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
  return buf;
}

namespace detail {
/// JSON number (null for NaN/Inf, which JSON cannot spell).
template <typename Scalar>
std::string json_number(Scalar v) {
  return std::isfinite(v) ? csv_number(v) : std::string("null");
}
template <typename Derived>
std::string json_array(const Eigen::DenseBase<Derived>& v) {
  std::string s = "[";
  for (Eigen::Index i = 0; i < v.size(); ++i) s += (i ? ", " : "") + json_number(v(i));
  return s + "]";
}
inline std::string json_times(const PhaseTimes& t) {
  std::ostringstream o;
  o << "{\"rollouts\": " << json_number(t.rollouts)
    << ", \"sensitivities\": " << json_number(t.sensitivities)
    << ", \"critic\": " << json_number(t.critic) << ", \"step\": " << json_number(t.step)
    << ", \"evaluation\": " << json_number(t.evaluation)
    << ", \"total\": " << json_number(t.total()) << "}";
  return o.str();
}
}  // namespace detail

/// "it  12  eps 0.23  Jbar 12.34568  eval 12.01000  radius 1.00e-02  accepted  rho 0.9
///  |g| 1.20e-01  fail 0  skip 3  0.83 s" (stderr): eps = the batch's exploration
/// probability, fail = its failed episodes, skip = samples left out of the DPG means.
template <typename Scalar, int NP>
std::string progress_line(const IterationRecord<Scalar, NP>& r, const char* label = "") {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "%s it %3d  eps %4.2f  Jbar %10.5f  eval %10.5f  radius %8.2e  %s  rho %8.3g  |g| "
                "%8.2e  fail %d  skip %d  %.2f s",
                label, r.iteration, double(r.exploration_probability), double(r.batch_cost),
                double(r.eval_cost), double(r.radius), r.accepted ? "accepted" : "REJECTED",
                double(r.ratio), double(r.gradient_norm), r.failed_episodes, r.skipped_samples,
                r.time.total());
  return buf;
}

/// CSV header + one row per iteration (non-finite values as nan / inf / -inf).
template <typename Scalar, int NP>
void write_history_csv(std::ostream& out, const LoopResult<Scalar, NP>& res) {
  out << "iteration,exploration,batch_cost,accepted,accepted_batch_cost,eval_cost,ratio,predicted_"
         "decrease,step_norm,"
         "radius,gradient_norm,failed_episodes,derivative_samples,skipped_samples,weakly_active_"
         "samples,"
         "next_action_failures,critic_epochs,critic_loss,t_rollouts,t_sensitivities,t_critic,t_"
         "step,t_evaluation";
  const Eigen::Index np = res.theta.size();
  for (Eigen::Index j = 0; j < np; ++j) out << ",theta" << (j + 1);
  out << "\n";
  for (const auto& r : res.history) {
    out << r.iteration << ',' << csv_number(r.exploration_probability) << ','
        << csv_number(r.batch_cost) << ',' << (r.accepted ? 1 : 0) << ','
        << csv_number(r.accepted_batch_cost) << ',' << csv_number(r.eval_cost) << ','
        << csv_number(r.ratio) << ',' << csv_number(r.predicted_decrease) << ','
        << csv_number(r.step_norm) << ',' << csv_number(r.radius) << ','
        << csv_number(r.gradient_norm) << ',' << r.failed_episodes << ',' << r.derivative_samples
        << ',' << r.skipped_samples << ',' << r.weakly_active_samples << ','
        << r.next_action_failures << ',' << r.critic_epochs << ',' << csv_number(r.critic_loss)
        << ',' << csv_number(r.time.rollouts) << ',' << csv_number(r.time.sensitivities) << ','
        << csv_number(r.time.critic) << ',' << csv_number(r.time.step) << ','
        << csv_number(r.time.evaluation);
    for (Eigen::Index j = 0; j < r.theta.size(); ++j) out << ',' << csv_number(r.theta(j));
    out << "\n";
  }
}

/// JSON summary: status, best_cost, best_theta, initial_cost, final theta, timings per phase,
/// per-iteration history. `extra` (already JSON, e.g. "\"method\": \"tr-qn\"") goes first.
template <typename Scalar, int NP>
void write_summary_json(std::ostream& out, const LoopResult<Scalar, NP>& res,
                        const std::string& extra = "") {
  using detail::json_number;
  out << "{\n";
  if (!extra.empty()) out << "  " << extra << ",\n";
  out << "  \"status\": \"" << to_string(res.status) << "\",\n";
  out << "  \"optimizer_status\": \"" << optim::to_string(res.optimizer_status) << "\",\n";
  out << "  \"initial_cost\": " << json_number(res.initial_cost) << ",\n";
  out << "  \"best_cost\": " << json_number(res.best_cost) << ",\n";
  out << "  \"best_iteration\": " << res.best_iteration << ",\n";
  out << "  \"best_theta\": " << detail::json_array(res.best_theta) << ",\n";
  out << "  \"theta\": " << detail::json_array(res.theta) << ",\n";
  out << "  \"timings\": " << detail::json_times(res.time) << ",\n";
  out << "  \"wall_seconds\": " << json_number(res.wall_seconds) << ",\n";
  out << "  \"history\": [\n";
  for (std::size_t i = 0; i < res.history.size(); ++i) {
    const auto& r = res.history[i];
    out << "    {\"iteration\": " << r.iteration
        << ", \"exploration\": " << json_number(r.exploration_probability)
        << ", \"batch_cost\": " << json_number(r.batch_cost)
        << ", \"accepted\": " << (r.accepted ? "true" : "false")
        << ", \"eval_cost\": " << json_number(r.eval_cost)
        << ", \"ratio\": " << json_number(r.ratio)
        << ", \"predicted_decrease\": " << json_number(r.predicted_decrease)
        << ", \"step_norm\": " << json_number(r.step_norm)
        << ", \"radius\": " << json_number(r.radius)
        << ", \"gradient_norm\": " << json_number(r.gradient_norm)
        << ", \"failed_episodes\": " << r.failed_episodes
        << ", \"skipped_samples\": " << r.skipped_samples
        << ", \"weakly_active_samples\": " << r.weakly_active_samples
        << ", \"critic_epochs\": " << r.critic_epochs
        << ", \"theta_trial\": " << detail::json_array(r.theta_trial)
        << ", \"theta\": " << detail::json_array(r.theta)
        << ", \"timings\": " << detail::json_times(r.time) << "}"
        << (i + 1 < res.history.size() ? "," : "") << "\n";
  }
  out << "  ]\n}\n";
}

}  // namespace rmpc::rl
