// A LoopCheckpoint (checkpoint.hpp) as JSON, exact: numbers are written with the shortest
// digits that read back to the same double (nlohmann::json), non-finite ones as the strings
// "nan", "inf", "-inf" (JSON has none), matrices as {"rows", "cols", "data" (column-major)}.
//
// Optional part of the library: needs nlohmann/json (Debian nlohmann-json3-dev; CMake
// nlohmann_json::nlohmann_json); nothing else in rmpc includes it.
//
//   save_checkpoint("run.json", loop.checkpoint());                  // e.g. in the callback
//   loop2.resume(load_checkpoint<double, 8>("run.json"));              // same result
//
// Errors: an unreadable or unwritable file is std::runtime_error naming the path; a document
// that is not a checkpoint of this format, or has a missing or mistyped field, is
// std::invalid_argument naming the field.
#pragma once

#include <rmpc/rl/checkpoint.hpp>
#include <rmpc/version.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace rmpc::rl {
namespace detail {

inline nlohmann::json json_scalar(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

inline double scalar_from_json(const nlohmann::json& j, const std::string& field) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto s = j.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  throw std::invalid_argument("checkpoint JSON: " + field + " is not a number");
}

template <typename Derived>
nlohmann::json json_matrix(const Eigen::MatrixBase<Derived>& m) {
  nlohmann::json data = nlohmann::json::array();
  for (Eigen::Index c = 0; c < m.cols(); ++c)
    for (Eigen::Index r = 0; r < m.rows(); ++r) data.push_back(json_scalar(double(m(r, c))));
  return {{"rows", m.rows()}, {"cols", m.cols()}, {"data", std::move(data)}};
}

/// The matrix at j[field] into m (resized when m's type allows it).
template <typename Matrix>
void matrix_from_json(const nlohmann::json& j, const std::string& field, Matrix& m) {
  if (!j.contains(field)) throw std::invalid_argument("checkpoint JSON: " + field + " is missing");
  const auto& v = j.at(field);
  if (!v.is_object() || !v.contains("rows") || !v.contains("cols") || !v.contains("data") ||
      !v.at("data").is_array())
    throw std::invalid_argument("checkpoint JSON: " + field + " is not a {rows, cols, data}");
  const auto rows = v.at("rows").get<Eigen::Index>(), cols = v.at("cols").get<Eigen::Index>();
  if (rows < 0 || cols < 0 || v.at("data").size() != std::size_t(rows * cols) ||
      (Matrix::RowsAtCompileTime != Eigen::Dynamic && rows != Matrix::RowsAtCompileTime) ||
      (Matrix::ColsAtCompileTime != Eigen::Dynamic && cols != Matrix::ColsAtCompileTime))
    throw std::invalid_argument("checkpoint JSON: " + field + " has the wrong size");
  m.resize(rows, cols);
  std::size_t k = 0;
  for (Eigen::Index c = 0; c < cols; ++c)
    for (Eigen::Index r = 0; r < rows; ++r, ++k)
      m(r, c) = typename Matrix::Scalar(scalar_from_json(v.at("data")[k], field));
}

template <typename T>
T field_from_json(const nlohmann::json& j, const std::string& field) {
  if (!j.contains(field)) throw std::invalid_argument("checkpoint JSON: " + field + " is missing");
  if (std::is_integral<T>::value && !std::is_same<T, bool>::value &&
      !j.at(field).is_number_integer())  // 2.5 or 1e30 would be cut silently
    throw std::invalid_argument("checkpoint JSON: " + field + " is not an integer");
  try {
    return j.at(field).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument("checkpoint JSON: " + field + " has the wrong type");
  }
}

inline nlohmann::json times_to_json(const PhaseTimes& t) {
  return {t.rollouts, t.sensitivities, t.critic, t.step, t.evaluation};
}
inline PhaseTimes times_from_json(const nlohmann::json& j) {
  if (!j.is_array() || j.size() != 5)
    throw std::invalid_argument("checkpoint JSON: time is not 5 phase times");
  PhaseTimes t;
  t.rollouts = j[0].get<double>();
  t.sensitivities = j[1].get<double>();
  t.critic = j[2].get<double>();
  t.step = j[3].get<double>();
  t.evaluation = j[4].get<double>();
  return t;
}

template <typename Scalar, int NP>
nlohmann::json record_to_json(const IterationRecord<Scalar, NP>& r) {
  return {
      {"iteration", r.iteration},
      {"theta_trial", json_matrix(r.theta_trial)},
      {"theta", json_matrix(r.theta)},
      {"scalars",
       {json_scalar(double(r.exploration_probability)), json_scalar(double(r.batch_cost)),
        json_scalar(double(r.accepted_batch_cost)), json_scalar(double(r.eval_cost)),
        json_scalar(double(r.trial_cost)), json_scalar(double(r.ratio)),
        json_scalar(double(r.predicted_decrease)), json_scalar(double(r.step_norm)),
        json_scalar(double(r.radius)), json_scalar(double(r.gradient_norm)),
        json_scalar(double(r.critic_loss))}},
      {"counts",
       {r.failed_episodes, r.derivative_samples, r.skipped_samples, r.weakly_active_samples,
        r.next_action_failures, r.critic_epochs, int(r.optimizer_status), int(r.critic_status)}},
      {"flags", {r.accepted, r.model_updated, r.restarted}},
      {"time", times_to_json(r.time)}};
}

template <typename Scalar, int NP>
IterationRecord<Scalar, NP> record_from_json(const nlohmann::json& j) {
  IterationRecord<Scalar, NP> r;
  r.iteration = field_from_json<int>(j, "iteration");
  matrix_from_json(j, "theta_trial", r.theta_trial);
  matrix_from_json(j, "theta", r.theta);
  const auto& v = j.at("scalars");
  const auto& n = j.at("counts");
  const auto& f = j.at("flags");
  if (v.size() != 11 || n.size() != 8 || f.size() != 3)
    throw std::invalid_argument("checkpoint JSON: a history record has the wrong length");
  Scalar* scalars[] = {&r.exploration_probability,
                       &r.batch_cost,
                       &r.accepted_batch_cost,
                       &r.eval_cost,
                       &r.trial_cost,
                       &r.ratio,
                       &r.predicted_decrease,
                       &r.step_norm,
                       &r.radius,
                       &r.gradient_norm,
                       &r.critic_loss};
  for (std::size_t i = 0; i < 11; ++i) *scalars[i] = Scalar(scalar_from_json(v[i], "history"));
  int* counts[] = {&r.failed_episodes,       &r.derivative_samples,   &r.skipped_samples,
                   &r.weakly_active_samples, &r.next_action_failures, &r.critic_epochs};
  for (std::size_t i = 0; i < 6; ++i) *counts[i] = n[i].get<int>();
  r.optimizer_status = static_cast<optim::Status>(n[6].get<int>());
  r.critic_status = static_cast<learn::FittedQStatus>(n[7].get<int>());
  r.accepted = f[0].get<bool>();
  r.model_updated = f[1].get<bool>();
  r.restarted = f[2].get<bool>();
  r.time = times_from_json(j.at("time"));
  return r;
}

inline constexpr const char* checkpoint_format = "rmpc.loop_checkpoint";
inline constexpr int checkpoint_format_version = 2;

}  // namespace detail

template <typename Scalar, int NP>
nlohmann::json to_json(const LoopCheckpoint<Scalar, NP>& c) {
  using detail::json_matrix;
  using detail::json_scalar;
  const auto& id = c.identity;
  nlohmann::json j;
  j["format"] = detail::checkpoint_format;
  j["format_version"] = detail::checkpoint_format_version;
  j["rmpc_version"] = rmpc::version_string;
  j["identity"] = {{"nx", id.nx},
                   {"nu", id.nu},
                   {"np", id.np},
                   {"initial_states", json_matrix(id.initial_states)},
                   {"settings", id.settings}};
  j["iteration"] = c.iteration;
  j["accepted"] = c.accepted;
  j["prepared"] = c.prepared;
  j["theta"] = json_matrix(c.theta);
  j["gradient_norm"] = json_scalar(double(c.gradient_norm));
  j["eval_cost"] = json_scalar(double(c.eval_cost));
  j["initial_cost"] = json_scalar(double(c.initial_cost));
  j["best_cost"] = json_scalar(double(c.best_cost));
  j["best_theta"] = json_matrix(c.best_theta);
  j["best_iteration"] = c.best_iteration;
  j["restarts"] = c.restarts;
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& call : c.optimizer_calls)
    calls.push_back({{"kind", optim::to_string(call.kind)},
                     {"value", json_scalar(double(call.value))},
                     {"vector", json_matrix(call.vector)},
                     {"matrix", json_matrix(call.matrix)}});
  j["optimizer_calls"] = std::move(calls);
  j["memory"] = {
      {"states", json_matrix(c.states)},     {"prev_actions", json_matrix(c.prev_actions)},
      {"actions", json_matrix(c.actions)},   {"next_states", json_matrix(c.next_states)},
      {"costs", json_matrix(c.costs)},       {"dones", json_matrix(c.dones)},
      {"episode_lengths", c.episode_lengths}};
  nlohmann::json critics = nlohmann::json::array();
  for (const auto& q : c.critics)
    critics.push_back({{"parameters", json_matrix(q.parameters)},
                       {"input_mean", json_matrix(q.input_mean)},
                       {"input_scale", json_matrix(q.input_scale)},
                       {"target_lo", json_scalar(q.target_lo)},
                       {"target_hi", json_scalar(q.target_hi)}});
  j["critics"] = std::move(critics);
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : c.history) history.push_back(detail::record_to_json(r));
  j["history"] = std::move(history);
  j["time"] = detail::times_to_json(c.time);
  return j;
}

namespace detail {

template <typename Scalar, int NP>
LoopCheckpoint<Scalar, NP> checkpoint_from_json(const nlohmann::json& j) {
  using detail::field_from_json;
  using detail::matrix_from_json;
  using detail::scalar_from_json;
  if (!j.is_object() || !j.contains("format") ||
      j.at("format") != std::string(detail::checkpoint_format))
    throw std::invalid_argument("checkpoint JSON: format is not '" +
                                std::string(detail::checkpoint_format) + "'");
  if (field_from_json<int>(j, "format_version") != detail::checkpoint_format_version)
    throw std::invalid_argument("checkpoint JSON: format_version is not " +
                                std::to_string(detail::checkpoint_format_version));
  LoopCheckpoint<Scalar, NP> c;
  const auto& id = j.at("identity");
  c.identity.nx = field_from_json<int>(id, "nx");
  c.identity.nu = field_from_json<int>(id, "nu");
  c.identity.np = field_from_json<int>(id, "np");
  matrix_from_json(id, "initial_states", c.identity.initial_states);
  c.identity.settings = field_from_json<SettingsRecord>(id, "settings");
  c.iteration = field_from_json<int>(j, "iteration");
  c.accepted = field_from_json<bool>(j, "accepted");
  c.prepared = field_from_json<bool>(j, "prepared");
  matrix_from_json(j, "theta", c.theta);
  c.gradient_norm = Scalar(scalar_from_json(j.at("gradient_norm"), "gradient_norm"));
  c.eval_cost = Scalar(scalar_from_json(j.at("eval_cost"), "eval_cost"));
  c.initial_cost = Scalar(scalar_from_json(j.at("initial_cost"), "initial_cost"));
  c.best_cost = Scalar(scalar_from_json(j.at("best_cost"), "best_cost"));
  matrix_from_json(j, "best_theta", c.best_theta);
  c.best_iteration = field_from_json<int>(j, "best_iteration");
  c.restarts = field_from_json<int>(j, "restarts");
  for (const auto& call : j.at("optimizer_calls")) {
    optim::OptimizerCall<Scalar> oc;
    oc.kind = optim::call_kind_from_string(field_from_json<std::string>(call, "kind"));
    oc.value = Scalar(scalar_from_json(call.at("value"), "optimizer_calls[].value"));
    matrix_from_json(call, "vector", oc.vector);
    matrix_from_json(call, "matrix", oc.matrix);
    c.optimizer_calls.push_back(std::move(oc));
  }
  const auto& mem = j.at("memory");
  matrix_from_json(mem, "states", c.states);
  matrix_from_json(mem, "prev_actions", c.prev_actions);
  matrix_from_json(mem, "actions", c.actions);
  matrix_from_json(mem, "next_states", c.next_states);
  matrix_from_json(mem, "costs", c.costs);
  matrix_from_json(mem, "dones", c.dones);
  c.episode_lengths = field_from_json<std::vector<long>>(mem, "episode_lengths");
  for (const auto& q : j.at("critics")) {
    CriticState s;
    matrix_from_json(q, "parameters", s.parameters);
    matrix_from_json(q, "input_mean", s.input_mean);
    matrix_from_json(q, "input_scale", s.input_scale);
    s.target_lo = scalar_from_json(q.at("target_lo"), "critics[].target_lo");
    s.target_hi = scalar_from_json(q.at("target_hi"), "critics[].target_hi");
    c.critics.push_back(std::move(s));
  }
  for (const auto& r : j.at("history")) c.history.push_back(record_from_json<Scalar, NP>(r));
  c.time = times_from_json(j.at("time"));
  return c;
}

}  // namespace detail

/// The checkpoint in `j` (as to_json writes it).
template <typename Scalar, int NP>
LoopCheckpoint<Scalar, NP> checkpoint_from_json(const nlohmann::json& j) {
  try {
    return detail::checkpoint_from_json<Scalar, NP>(j);
  } catch (const nlohmann::json::exception& e) {  // a missing object or a mistyped value
    throw std::invalid_argument(std::string("checkpoint JSON: ") + e.what());
  }
}

/// Writes the checkpoint to `path` (compact JSON); std::runtime_error when that fails.
template <typename Scalar, int NP>
void save_checkpoint(const std::string& path, const LoopCheckpoint<Scalar, NP>& c) {
  std::ofstream f(path);
  if (!f) throw std::runtime_error("save_checkpoint: cannot write '" + path + "'");
  f << to_json(c).dump() << '\n';
  f.flush();
  if (!f) throw std::runtime_error("save_checkpoint: writing '" + path + "' failed");
}

/// Reads a checkpoint written by save_checkpoint.
template <typename Scalar, int NP>
LoopCheckpoint<Scalar, NP> load_checkpoint(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("load_checkpoint: cannot read '" + path + "'");
  if (!std::filesystem::is_regular_file(path))
    throw std::runtime_error("load_checkpoint: '" + path + "' is not a regular file");
  nlohmann::json j;
  try {
    f >> j;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument("load_checkpoint: '" + path + "' is not JSON: " + e.what());
  }
  return checkpoint_from_json<Scalar, NP>(j);
}

}  // namespace rmpc::rl
