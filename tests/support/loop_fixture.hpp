// The RL loop on the paper's 2-D system with tiny settings, and a diff of settings records,
// shared by the tests of the loop and of its parts (test_loop, test_checkpoint,
// test_checkpoint_json, test_loop_settings, test_policy_model, test_policy_samples,
// test_episode_batch, test_settings_record, test_paper_preset): one definition, so that "the same
// small run" means the same settings in every file. Included at global scope (the rl test group
// hoists it).
#pragma once

#include "rmpc/rl/loop.hpp"
#include "rmpc/rl/settings_record.hpp"

#include "../../examples/linear_2d/paper_model.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmpc::testing::paper_loop {

using linear_2d::TrueSystem;
using Loop = rmpc::rl::PolicyOptimizer<TrueSystem, linear_2d::PaperMpc>;

/// The loop's MPC factory: one paper MPC per worker.
inline std::unique_ptr<linear_2d::PaperMpc> make_mpc() {
  return std::make_unique<linear_2d::PaperMpc>(linear_2d::PaperModel{});
}

/// n worker MPCs with theta0 set, as the loop's workers are at its first model. Throws if the
/// expansion fails (it does not at theta0): a test's REQUIRE then reports it.
inline std::vector<std::unique_ptr<linear_2d::PaperMpc>> workers_at_theta0(int n) {
  std::vector<std::unique_ptr<linear_2d::PaperMpc>> w;
  for (int i = 0; i < n; ++i) {
    w.push_back(make_mpc());
    if (w.back()->set_parameters(linear_2d::theta0()) != rmpc::qp::Status::optimal)
      throw std::runtime_error("workers_at_theta0: set_parameters(theta0) failed");
  }
  return w;
}

/// Three initial states inside the state bounds (one episode each per batch).
inline Eigen::Matrix<double, 2, Eigen::Dynamic> states() {
  Eigen::Matrix<double, 2, Eigen::Dynamic> s(2, 3);
  s << 0.5, 0.2, 0.05, 0.5, 0.1, -0.2;
  return s;
}

/// Three iterations of three 10-step episodes with a small critic (6 hidden, 2 sweeps):
/// seconds in Release, yet every phase of the loop runs.
inline rmpc::rl::LoopSettings<double> tiny(rmpc::optim::UpdateRule rule, std::uint64_t seed,
                                           int threads) {
  rmpc::rl::LoopSettings<double> s;
  s.iterations = 3;
  s.episode_length = 10;
  s.seed = seed;
  s.threads = threads;
  s.optimizer = rmpc::optim::paper_settings<double>(rule);
  s.critic = rmpc::rl::paper_critic_settings<double>(3);
  s.critic.sweeps = 2;
  s.critic_hidden = 6;
  return s;
}

/// tiny() with seed 21 on one thread, `iterations` long, and a memory of 7 episodes (less than
/// three batches: eviction happens before and after a checkpoint).
inline rmpc::rl::LoopSettings<double> small(rmpc::optim::UpdateRule rule, int iterations) {
  auto s = tiny(rule, 21, 1);  // the resumed runs use 2 threads: a checkpoint does not depend on it
  s.iterations = iterations;
  s.buffer_episodes = 7;
  return s;
}

/// Equal, or both NaN (bit-exact comparisons of records that hold NaN).
inline bool same_number(double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); }

/// The keys of settings_record() whose values differ between a and b: what a change of
/// settings changes, as resume() sees it.
inline std::set<std::string> changed_keys(const rmpc::rl::LoopSettings<double>& a,
                                          const rmpc::rl::LoopSettings<double>& b) {
  const auto ra = rmpc::rl::settings_record(a), rb = rmpc::rl::settings_record(b);
  std::map<std::string, std::string> values(ra.begin(), ra.end());
  std::set<std::string> changed;
  for (const auto& [key, value] : rb) {
    const auto it = values.find(key);
    if (it == values.end() || it->second != value) changed.insert(key);
    if (it != values.end()) values.erase(it);
  }
  for (const auto& kv : values) changed.insert(kv.first);  // in a only
  return changed;
}

}  // namespace rmpc::testing::paper_loop
