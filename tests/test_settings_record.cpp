// The settings record (rl/settings_record.hpp), what a checkpoint stores so that resume() can
// refuse a run with other settings: keys are unique paths, iterations and the thread counts
// are left out (a run may continue longer, on other threads), values are text that reads back
// to the same number (17 digits; bools 0/1, enums their integer, the rule its name, vectors
// in brackets), and changing one field, at any depth of the nested settings, changes exactly
// the entry of that field's path (a key written under another field's name would let resume()
// accept a run whose settings differ).
#include "rmpc/rl/loop_settings.hpp"
#include "rmpc/rl/settings_record.hpp"

#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using rmpc::testing::paper_loop::changed_keys;
using Settings = rmpc::rl::LoopSettings<double>;

std::map<std::string, std::string> record_map(const Settings& s) {
  const auto r = rmpc::rl::settings_record(s);
  return {r.begin(), r.end()};
}

}  // namespace

TEST_CASE("settings record: unique paths, iterations and thread counts left out",
          "[settings_record]") {
  const auto r = rmpc::rl::settings_record(Settings{});
  std::set<std::string> keys;
  for (const auto& kv : r) keys.insert(kv.first);
  CHECK(keys.size() == r.size());  // no path written twice
  CHECK(r.size() > 90);            // every nested struct is in it
  CHECK(keys.count("iterations") == 0);
  for (const auto& k : keys) CHECK(k.find("threads") == std::string::npos);
  // What may change between a run and its continuation does not change the record.
  Settings longer;
  longer.iterations = 400;
  longer.threads = 7;
  longer.critic.train.threads = 3;
  CHECK(rmpc::rl::settings_record(longer) == r);
}

TEST_CASE("settings record: values are text that reads back to the same value",
          "[settings_record]") {
  Settings s;
  s.seed = std::numeric_limits<std::uint64_t>::max();
  s.exploration.sigma = 1.0 / 3.0;
  s.critic.gamma = std::nextafter(1.0, 0.0);
  s.evaluate_accepted = false;
  s.optimizer.rule = rmpc::optim::UpdateRule::tr_bfgs;
  s.theta_lower = Eigen::Vector2d(0.5, -std::numeric_limits<double>::infinity());
  s.theta_upper = Eigen::Vector2d(2.0, 1e300);
  const auto m = record_map(s);
  CHECK(m.at("seed") == "18446744073709551615");  // all 64 bits, no sign
  CHECK(m.at("exploration.sigma") == "0.33333333333333331");
  CHECK(std::stod(m.at("exploration.sigma")) == 1.0 / 3.0);
  CHECK(std::stod(m.at("critic.gamma")) == std::nextafter(1.0, 0.0));
  CHECK(m.at("critic.gamma") != "1");  // one ulp below 1 is not 1
  CHECK(m.at("evaluate_accepted") == "0");
  CHECK(m.at("restart_on_stop") == "1");
  CHECK(m.at("optimizer.rule") == "TR-BFGS");
  CHECK(m.at("critic_targets") ==
        std::to_string(static_cast<int>(rmpc::learn::TargetTransform::log10_min_max)));
  CHECK(m.at("exploration.scale") ==
        std::to_string(static_cast<int>(rmpc::rl::ExplorationScale::action)));
  CHECK(m.at("theta_lower") == "[0.5 -inf]");
  CHECK(m.at("theta_upper") == "[2 1.0000000000000001e+300]");
  CHECK(record_map(Settings{}).at("theta_lower") == "[]");  // no bounds
  CHECK(m.at("episode_length") == "50");
}

TEST_CASE("settings record: one field changed, at any depth, changes exactly its own entry",
          "[settings_record]") {
  using S = Settings;
  const std::vector<std::pair<std::string, std::function<void(S&)>>> edits = {
      {"episode_length", [](S& s) { s.episode_length = 11; }},
      {"buffer_episodes", [](S& s) { s.buffer_episodes = 12; }},
      {"seed", [](S& s) { s.seed = 5; }},
      {"critic_hidden", [](S& s) { s.critic_hidden = 7; }},
      {"first_fit_max_epochs", [](S& s) { s.first_fit_max_epochs = 61; }},
      {"use_weakly_active", [](S& s) { s.use_weakly_active = false; }},
      {"common_random_numbers",
       [](S& s) { s.common_random_numbers = rmpc::rl::CommonRandomNumbers::always; }},
      {"float_critic", [](S& s) { s.float_critic = false; }},
      {"critic_model", [](S& s) { s.critic_model = rmpc::rl::CriticModel::quadratic; }},
      {"refit_on_reject", [](S& s) { s.refit_on_reject = false; }},
      {"store_rejected_batches", [](S& s) { s.store_rejected_batches = false; }},
      {"ratio_test_cost",
       [](S& s) { s.ratio_test_cost = rmpc::rl::RatioTestCost::deterministic_batch; }},
      {"failed_episode_cost",
       [](S& s) { s.failed_episode_cost = rmpc::rl::FailedEpisodeCost::truncated; }},
      {"exploration.floor", [](S& s) { s.exploration.floor = 0.02; }},
      {"optimizer.rule", [](S& s) { s.optimizer.rule = rmpc::optim::UpdateRule::adam; }},
      {"optimizer.trust_region.min_radius", [](S& s) { s.optimizer.trust_region.min_radius = 0; }},
      {"optimizer.trust_region.max_radius", [](S& s) { s.optimizer.trust_region.max_radius = 9; }},
      {"optimizer.trust_region.exact.hard_case_tolerance",
       [](S& s) { s.optimizer.trust_region.exact.hard_case_tolerance *= 2; }},
      {"optimizer.trust_region.steihaug.forcing_cap",
       [](S& s) { s.optimizer.trust_region.steihaug.forcing_cap *= 0.5; }},
      {"optimizer.trust_region.bfgs.initial_scale",
       [](S& s) { s.optimizer.trust_region.bfgs.initial_scale *= 2; }},
      {"optimizer.fixed_rate.adam_beta2", [](S& s) { s.optimizer.fixed_rate.adam_beta2 = 0.9; }},
      {"optimizer.gn_momentum.beta1", [](S& s) { s.optimizer.gn_momentum.beta1 = 0.5; }},
      {"optimizer.gn_momentum.exact.max_iterations",
       [](S& s) { s.optimizer.gn_momentum.exact.max_iterations += 1; }},
      {"critic.sweeps", [](S& s) { s.critic.sweeps = 3; }},
      {"critic.monte_carlo_targets", [](S& s) { s.critic.monte_carlo_targets = true; }},
      {"critic.train.batch_size", [](S& s) { s.critic.train.batch_size = 64; }},
      {"critic.train.adam.epsilon", [](S& s) { s.critic.train.adam.epsilon *= 10; }},
      {"critic.train.shard_size", [](S& s) { s.critic.train.shard_size = 64; }},
      {"critic.train.restore_best", [](S& s) { s.critic.train.restore_best = false; }},
      {"critic.train.simd_kernel", [](S& s) { s.critic.train.simd_kernel = false; }},
  };
  const S defaults;
  for (const auto& [key, edit] : edits) {
    INFO(key);
    S s;
    edit(s);
    CHECK(changed_keys(defaults, s) == std::set<std::string>{key});
  }
}
