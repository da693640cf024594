// The checkpoint file format (rl/checkpoint_json.hpp): a LoopCheckpoint of a real run, saved
// to a file and loaded back, equals the original field by field, bit for bit, NaN and +inf
// included (JSON has no spelling for them) and numbers that need all 17 digits. resume() then
// continues such a checkpoint exactly (test_checkpoint.cpp), so this is what makes a saved run
// resumable at all. Files and documents that are not a checkpoint: test_checkpoint.cpp.
#include "rmpc/rl/checkpoint_json.hpp"
#include "rmpc/rl/loop.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace {

using namespace rmpc::testing::paper_loop;  // Loop, make_mpc, states, small, same_number
using Checkpoint = rmpc::rl::LoopCheckpoint<double, 8>;
using Rule = rmpc::optim::UpdateRule;

}  // namespace

TEST_CASE("Checkpoint: the JSON round trip is exact, non-finite values included", "[checkpoint]") {
  Loop loop(TrueSystem{}, make_mpc, states(), small(Rule::tr_qn, 3));
  loop.run(linear_2d::theta0());
  Checkpoint c = loop.checkpoint();
  REQUIRE(c.critics.size() == 2);
  REQUIRE(c.optimizer_calls.size() > 3);
  c.eval_cost = std::numeric_limits<double>::quiet_NaN();
  c.best_cost = std::numeric_limits<double>::infinity();
  c.theta(3) = 1.0 / 3.0;  // needs all 17 digits
  c.theta(4) = std::nextafter(0.1, 1.0);
  const std::string path = "test_checkpoint_roundtrip.json";
  rmpc::rl::save_checkpoint(path, c);
  const Checkpoint r = rmpc::rl::load_checkpoint<double, 8>(path);
  std::remove(path.c_str());
  CHECK(std::isnan(r.eval_cost));
  CHECK(r.best_cost == std::numeric_limits<double>::infinity());
  CHECK(r.theta == c.theta);
  CHECK(r.best_theta == c.best_theta);
  CHECK(r.iteration == c.iteration);
  CHECK(r.states == c.states);
  CHECK(r.next_states == c.next_states);
  CHECK(r.costs == c.costs);
  CHECK(r.dones == c.dones);
  CHECK(r.episode_lengths == c.episode_lengths);
  REQUIRE(r.optimizer_calls.size() == c.optimizer_calls.size());
  for (std::size_t i = 0; i < c.optimizer_calls.size(); ++i) {
    CHECK(r.optimizer_calls[i].kind == c.optimizer_calls[i].kind);
    CHECK(r.optimizer_calls[i].vector == c.optimizer_calls[i].vector);
    CHECK(r.optimizer_calls[i].matrix == c.optimizer_calls[i].matrix);
    CHECK(same_number(r.optimizer_calls[i].value, c.optimizer_calls[i].value));
  }
  REQUIRE(r.history.size() == c.history.size());
  for (std::size_t i = 0; i < c.history.size(); ++i) {
    CHECK(r.history[i].theta == c.history[i].theta);
    CHECK(same_number(r.history[i].ratio, c.history[i].ratio));
    CHECK(r.history[i].time.critic == c.history[i].time.critic);
    CHECK(r.history[i].optimizer_status == c.history[i].optimizer_status);
  }
  CHECK(r.identity.settings == c.identity.settings);
  CHECK(r.identity.initial_states == c.identity.initial_states);
  REQUIRE(r.critics.size() == c.critics.size());
  for (std::size_t n = 0; n < c.critics.size(); ++n) {
    CHECK(r.critics[n].parameters == c.critics[n].parameters);
    CHECK(r.critics[n].input_scale == c.critics[n].input_scale);
    CHECK(r.critics[n].target_hi == c.critics[n].target_hi);
  }
}
