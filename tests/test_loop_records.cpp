// What the loop reports (rl/loop_records.hpp): the statuses' names (results files and logs
// spell them), the phase times' sum and accumulation, and the defaults of a record and a
// result, which say "not measured" (NaN), "nothing yet" (+inf best cost, iteration -1) or
// "accepted" (iteration 0's theta0) before the loop fills them.
#include "rmpc/rl/loop_records.hpp"

#include "rmpc_catch.hpp"

#include <cmath>
#include <limits>
#include <string>

TEST_CASE("loop records: every status has its own name", "[loop_records]") {
  using rmpc::rl::LoopStatus;
  using rmpc::rl::to_string;
  CHECK(std::string(to_string(LoopStatus::completed)) == "completed");
  CHECK(std::string(to_string(LoopStatus::optimizer_stopped)) == "optimizer_stopped");
  CHECK(std::string(to_string(LoopStatus::no_initial_states)) == "no_initial_states");
  CHECK(std::string(to_string(LoopStatus::setup_failed)) == "setup_failed");
  CHECK(std::string(to_string(LoopStatus::initial_episodes_failed)) == "initial_episodes_failed");
  CHECK(std::string(to_string(LoopStatus::stopped)) == "stopped");
  CHECK(std::string(to_string(static_cast<LoopStatus>(99))) == "unknown");
}

TEST_CASE("loop records: phase times sum and accumulate per phase", "[loop_records]") {
  rmpc::rl::PhaseTimes a;
  CHECK(a.total() == 0);
  a.rollouts = 1;
  a.sensitivities = 2;
  a.critic = 4;
  a.step = 8;
  a.evaluation = 16;
  CHECK(a.total() == 31);
  rmpc::rl::PhaseTimes b;
  b.rollouts = 32;
  b.evaluation = 64;
  rmpc::rl::PhaseTimes& same = (b += a);
  CHECK(&same == &b);  // chains like +=
  CHECK(b.rollouts == 33);
  CHECK(b.sensitivities == 2);
  CHECK(b.critic == 4);
  CHECK(b.step == 8);
  CHECK(b.evaluation == 80);
  CHECK(b.total() == 127);
  CHECK(a.total() == 31);  // the right-hand side is unchanged
}

TEST_CASE("loop records: a fresh record and result say 'not measured', not zero",
          "[loop_records]") {
  const rmpc::rl::IterationRecord<double, 8> r;
  for (double v :
       {r.exploration_probability, r.batch_cost, r.accepted_batch_cost, r.eval_cost, r.trial_cost,
        r.ratio, r.predicted_decrease, r.radius, r.gradient_norm, r.critic_loss})
    CHECK(std::isnan(v));
  CHECK(r.step_norm == 0);
  CHECK(r.accepted);  // iteration 0 accepts theta0
  CHECK(r.optimizer_status == rmpc::optim::Status::running);
  CHECK(r.failed_episodes + r.derivative_samples + r.skipped_samples + r.weakly_active_samples +
            r.next_action_failures + r.critic_epochs ==
        0);
  CHECK_FALSE(r.model_updated);
  CHECK_FALSE(r.restarted);
  CHECK(r.critic_status == rmpc::learn::FittedQStatus::ok);
  CHECK(r.time.total() == 0);
  CHECK(std::isnan(rmpc::rl::IterationRecord<float, Eigen::Dynamic>{}.batch_cost));

  const rmpc::rl::LoopResult<double, 8> res;
  CHECK(res.status == rmpc::rl::LoopStatus::completed);
  CHECK(res.optimizer_status == rmpc::optim::Status::running);
  CHECK(res.history.empty());
  CHECK(std::isnan(res.initial_cost));
  CHECK(res.best_cost == std::numeric_limits<double>::infinity());  // any finite cost beats it
  CHECK(res.best_iteration == -1);
  CHECK(res.restarts == 0);
  CHECK(res.wall_seconds == 0);
}
