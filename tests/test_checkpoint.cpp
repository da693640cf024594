// Save and resume a learning run (rl/checkpoint.hpp, rl/checkpoint_json.hpp,
// PolicyOptimizer::checkpoint / resume / request_stop): a run stopped at iteration k, written
// to JSON, read back and resumed by another PolicyOptimizer equals the uninterrupted run to
// the last bit, for every update rule (the optimizer is rebuilt from the record of its calls);
// a finished run continued with more iterations equals the longer run; a checkpoint of another
// run is refused by name. The JSON file format's round trip: test_checkpoint_json.cpp.
#include "rmpc/rl/checkpoint_json.hpp"
#include "rmpc/rl/loop.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"
#include "support/thrown_message.hpp"

#include <string>

namespace {

using namespace rmpc::testing::paper_loop;  // Loop, make_mpc, states, small, same_number
using rmpc::testing::thrown_message;
using Result = rmpc::rl::LoopResult<double, 8>;
using Checkpoint = rmpc::rl::LoopCheckpoint<double, 8>;
using Rule = rmpc::optim::UpdateRule;

/// Through the file format: what a user saves is what resume() gets.
Checkpoint through_json(const Checkpoint& c) {
  const std::string text = rmpc::rl::to_json(c).dump();
  return rmpc::rl::checkpoint_from_json<double, 8>(nlohmann::json::parse(text));
}

/// The resumed run's result (its history from iteration 0) equals the uninterrupted run's, to
/// the last bit.
void require_same_tail(const Result& full, const Result& tail) {
  REQUIRE(full.history.size() == tail.history.size());
  for (std::size_t i = 0; i < tail.history.size(); ++i) {
    const auto& a = full.history[i];
    const auto& b = tail.history[i];
    INFO("iteration " << a.iteration);
    CHECK(a.iteration == b.iteration);
    CHECK(a.theta_trial == b.theta_trial);
    CHECK(a.theta == b.theta);
    CHECK(same_number(a.batch_cost, b.batch_cost));
    CHECK(a.accepted == b.accepted);
    CHECK(same_number(a.ratio, b.ratio));
    CHECK(same_number(a.predicted_decrease, b.predicted_decrease));
    CHECK(same_number(a.radius, b.radius));
    CHECK(same_number(a.eval_cost, b.eval_cost));
    CHECK(same_number(a.gradient_norm, b.gradient_norm));
    CHECK(same_number(a.critic_loss, b.critic_loss));
    CHECK(a.critic_epochs == b.critic_epochs);
    CHECK(a.restarted == b.restarted);
    CHECK(a.optimizer_status == b.optimizer_status);
    CHECK(a.failed_episodes == b.failed_episodes);
    CHECK(a.skipped_samples == b.skipped_samples);
    CHECK(a.model_updated == b.model_updated);
  }
  CHECK(full.status == tail.status);
  CHECK(full.theta == tail.theta);
  CHECK(same_number(full.best_cost, tail.best_cost));
  CHECK(full.best_theta == tail.best_theta);
  CHECK(full.best_iteration == tail.best_iteration);
  CHECK(same_number(full.initial_cost, tail.initial_cost));
  CHECK(full.restarts == tail.restarts);
}

}  // namespace

TEST_CASE("Checkpoint: a run stopped at iteration k and resumed equals the uninterrupted run",
          "[checkpoint]") {
  for (Rule rule : {Rule::tr_qn, Rule::tr_bfgs, Rule::tr_gd, Rule::tr_gauss_newton, Rule::qn,
                    Rule::gd, Rule::adam, Rule::gn_momentum}) {
    INFO(rmpc::optim::to_string(rule));
    const auto settings = small(rule, 6);
    const Result full = Loop(TrueSystem{}, make_mpc, states(), settings).run(linear_2d::theta0());
    REQUIRE(full.history.size() == 6);

    Loop first(TrueSystem{}, make_mpc, states(), settings);
    Checkpoint saved;
    const Result stopped = first.run(linear_2d::theta0(), [&](const auto& rec) {
      if (rec.iteration == 2) {
        saved = first.checkpoint();
        first.request_stop();
      }
    });
    CHECK(stopped.status == rmpc::rl::LoopStatus::stopped);
    REQUIRE(stopped.history.size() == 3);
    CHECK(saved.iteration == 2);
    CHECK(saved.prepared);

    auto on_two_threads = settings;  // a new process, in effect, on another thread count
    on_two_threads.threads = 2;
    Loop second(TrueSystem{}, make_mpc, states(), on_two_threads);
    require_same_tail(full, second.resume(through_json(saved)));
  }
}

TEST_CASE("Checkpoint: a run with the quadratic critic on a - pi(s) resumes exactly",
          "[checkpoint][quadratic_critic]") {
  auto settings = small(Rule::tr_qn, 6);
  settings.critic_model = rmpc::rl::CriticModel::quadratic;
  settings.critic.action_relative = true;
  const Result full = Loop(TrueSystem{}, make_mpc, states(), settings).run(linear_2d::theta0());
  REQUIRE(full.history.size() == 6);
  CHECK(full.history.front().critic_epochs == 2);  // the first model: one solve per sweep
  Loop first(TrueSystem{}, make_mpc, states(), settings);
  Checkpoint saved;
  first.run(linear_2d::theta0(), [&](const auto& rec) {
    if (rec.iteration == 2) {
      saved = first.checkpoint();
      first.request_stop();
    }
  });
  CHECK(saved.critics.size() == 2);
  Loop second(TrueSystem{}, make_mpc, states(), settings);
  require_same_tail(full, second.resume(through_json(saved)));
  CHECK(second.quadratic_critic().parameters().size() ==
        rmpc::learn::QuadraticCritic<double>::num_features(2 + 2));
  // A network run cannot continue from it, nor a run on a instead of a - pi(s).
  Loop network(TrueSystem{}, make_mpc, states(), small(Rule::tr_qn, 6));
  CHECK(thrown_message<std::invalid_argument>([&] {
          network.resume(saved);
        }).find("critic_model") != std::string::npos);
  auto on_a = settings;
  on_a.critic.action_relative = false;
  Loop absolute(TrueSystem{}, make_mpc, states(), on_a);
  CHECK(thrown_message<std::invalid_argument>([&] {
          absolute.resume(saved);
        }).find("critic.action_relative") != std::string::npos);
}

TEST_CASE("Checkpoint: a finished run continued with more iterations equals the longer run",
          "[checkpoint]") {
  const auto longer = small(Rule::tr_qn, 6);
  const Result full = Loop(TrueSystem{}, make_mpc, states(), longer).run(linear_2d::theta0());
  Loop shorter(TrueSystem{}, make_mpc, states(), small(Rule::tr_qn, 3));
  CHECK(shorter.run(linear_2d::theta0()).status == rmpc::rl::LoopStatus::completed);
  const Checkpoint c = shorter.checkpoint();
  CHECK(c.iteration == 2);
  CHECK_FALSE(c.prepared);  // the last iteration of its run fitted no model
  Loop continued(TrueSystem{}, make_mpc, states(), longer);
  require_same_tail(full, continued.resume(through_json(c)));
}

TEST_CASE("Checkpoint: another run's checkpoint, a corrupt file and call-order errors are named",
          "[checkpoint]") {
  Loop idle(TrueSystem{}, make_mpc, states(), small(Rule::tr_qn, 3));
  CHECK(thrown_message<std::logic_error>([&] {
          idle.checkpoint();
        }).find("no completed iteration") != std::string::npos);

  Loop loop(TrueSystem{}, make_mpc, states(), small(Rule::tr_qn, 3));
  loop.run(linear_2d::theta0());
  const Checkpoint c = loop.checkpoint();

  auto other_seed = small(Rule::tr_qn, 6);
  other_seed.seed = 22;
  Loop a(TrueSystem{}, make_mpc, states(), other_seed);
  CHECK(thrown_message<std::invalid_argument>([&] { a.resume(c); }).find("seed") !=
        std::string::npos);
  Loop b(TrueSystem{}, make_mpc, states(), small(Rule::tr_bfgs, 6));
  CHECK(thrown_message<std::invalid_argument>([&] { b.resume(c); }).find("rule") !=
        std::string::npos);
  auto wider = small(Rule::tr_qn, 6);
  wider.critic_hidden = 7;
  Loop d(TrueSystem{}, make_mpc, states(), wider);
  CHECK(thrown_message<std::invalid_argument>([&] { d.resume(c); }).find("critic_hidden") !=
        std::string::npos);
  // Any setting that changes the run, nested ones too, is named; iterations and threads may
  // change.
  auto linear_targets = small(Rule::tr_qn, 6);
  linear_targets.critic_targets = rmpc::learn::TargetTransform::min_max;
  Loop log_vs_linear(TrueSystem{}, make_mpc, states(), linear_targets);
  CHECK(thrown_message<std::invalid_argument>([&] {
          log_vs_linear.resume(c);
        }).find("critic_targets") != std::string::npos);
  auto louder = small(Rule::tr_qn, 6);
  louder.exploration.sigma *= 3;
  Loop f(TrueSystem{}, make_mpc, states(), louder);
  CHECK(thrown_message<std::invalid_argument>([&] {
          f.resume(c);
        }).find("exploration.sigma = 0.10000000000000001, this run has 0.30000000000000004") !=
        std::string::npos);
  auto faster = small(Rule::tr_qn, 6);
  faster.critic.train.adam.learning_rate = 0.01;
  Loop g(TrueSystem{}, make_mpc, states(), faster);
  CHECK(thrown_message<std::invalid_argument>([&] {
          g.resume(c);
        }).find("critic.train.adam.learning_rate") != std::string::npos);
  auto radius = small(Rule::tr_qn, 6);
  radius.optimizer.trust_region.exact.radius_tolerance *= 2;
  Loop h(TrueSystem{}, make_mpc, states(), radius);
  CHECK(thrown_message<std::invalid_argument>([&] {
          h.resume(c);
        }).find("optimizer.trust_region.exact.radius_tolerance") != std::string::npos);
  Eigen::Matrix<double, 2, Eigen::Dynamic> moved = states();
  moved(0, 1) += 1e-12;
  Loop k(TrueSystem{}, make_mpc, moved, small(Rule::tr_qn, 6));
  CHECK(thrown_message<std::invalid_argument>([&] { k.resume(c); }).find("initial_states") !=
        std::string::npos);
  auto more_threads = small(Rule::tr_qn, 6);
  more_threads.threads = 2;
  Loop ok(TrueSystem{}, make_mpc, states(), more_threads);
  CHECK(ok.resume(c).history.size() == 6);
  Loop same_length(TrueSystem{}, make_mpc, states(), small(Rule::tr_qn, 3));
  CHECK(thrown_message<std::invalid_argument>([&] {
          same_length.resume(c);
        }).find("nothing left to run") != std::string::npos);

  nlohmann::json j = rmpc::rl::to_json(c);
  j.erase("best_theta");
  CHECK(thrown_message<std::invalid_argument>([&] {
          rmpc::rl::checkpoint_from_json<double, 8>(j);
        }).find("best_theta") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["iteration"] = 2.5;
  CHECK(thrown_message<std::invalid_argument>([&] {
          rmpc::rl::checkpoint_from_json<double, 8>(j);
        }).find("iteration is not an integer") != std::string::npos);
  // Edited contents are refused by name.
  const auto refused = [&](nlohmann::json edited) {
    Loop l(TrueSystem{}, make_mpc, states(), small(Rule::tr_qn, 6));
    return thrown_message<std::invalid_argument>(
        [&] { l.resume(rmpc::rl::checkpoint_from_json<double, 8>(edited)); });
  };
  j = rmpc::rl::to_json(c);
  j["critics"] = nlohmann::json::array();
  CHECK(refused(j).find("critics") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["optimizer_calls"] = nlohmann::json::array();
  CHECK(refused(j).find("optimizer_calls") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["optimizer_calls"].erase(j["optimizer_calls"].size() - 1);
  CHECK(refused(j).find("optimizer_calls") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["theta"]["data"][0] = "nan";
  CHECK(refused(j).find("theta") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["theta"]["data"][0] = 5.0;  // not where the optimizer's record leads
  CHECK(refused(j).find("theta") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["memory"]["dones"]["data"][0] = 7;
  CHECK(refused(j).find("dones") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["memory"]["costs"]["data"][0] = "inf";
  CHECK(refused(j).find("memory") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["history"].erase(0);
  CHECK(refused(j).find("history") != std::string::npos);
  j = rmpc::rl::to_json(c);
  j["memory"]["episode_lengths"][0] = 3;  // no longer splits the memory
  Loop e(TrueSystem{}, make_mpc, states(), small(Rule::tr_qn, 6));
  CHECK(thrown_message<std::invalid_argument>([&] {
          e.resume(rmpc::rl::checkpoint_from_json<double, 8>(j));
        }).find("episode_lengths") != std::string::npos);
  CHECK(thrown_message<std::runtime_error>([&] {
          rmpc::rl::save_checkpoint("/proc/rmpc_no_such_dir/x.json", c);
        }).find("/proc/rmpc_no_such_dir/x.json") != std::string::npos);
  CHECK(thrown_message<std::runtime_error>([&] {
          rmpc::rl::load_checkpoint<double, 8>("/proc/rmpc_no_such_dir/x.json");
        }).find("cannot read") != std::string::npos);
  CHECK(thrown_message<std::runtime_error>([&] {
          rmpc::rl::load_checkpoint<double, 8>("/tmp");
        }).find("not a regular file") != std::string::npos);
}
