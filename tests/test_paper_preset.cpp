// The paper's preset (rl/paper_preset.hpp) against the library's defaults: the header's table
// says which settings differ; the settings record (every field that can change a run) must
// differ in exactly those, so that a comparison "paper vs library" changes nothing else. The
// rule and the epoch cap are the preset's two arguments, and every rule's preset validates.
#include "rmpc/rl/paper_preset.hpp"
#include "rmpc/rl/settings_record.hpp"

#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"

#include <set>
#include <string>

namespace {
using rmpc::testing::paper_loop::changed_keys;
}  // namespace

TEST_CASE("paper preset: differs from the defaults in exactly the settings of its table",
          "[paper_preset]") {
  const auto paper = rmpc::rl::paper_loop_settings();
  CHECK(changed_keys(rmpc::rl::LoopSettings<double>{}, paper) ==
        std::set<std::string>{"common_random_numbers", "refit_on_reject", "restart_on_stop",
                              "failed_episode_cost", "float_critic", "exploration.scale"});
  // And in the direction the table says.
  CHECK(paper.common_random_numbers == rmpc::rl::CommonRandomNumbers::off);
  CHECK_FALSE(paper.refit_on_reject);
  CHECK_FALSE(paper.restart_on_stop);
  CHECK(paper.failed_episode_cost == rmpc::rl::FailedEpisodeCost::truncated);
  CHECK_FALSE(paper.float_critic);
  CHECK(paper.ratio_test_cost == rmpc::rl::RatioTestCost::exploring_batch);
  CHECK(paper.exploration.scale == rmpc::rl::ExplorationScale::cost);
  CHECK(paper.optimizer.rule == rmpc::optim::UpdateRule::tr_qn);
  CHECK(paper.critic.train.max_epochs == 25);  // the deviation the header names
  CHECK(paper.critic.train.patience == 50);
}

TEST_CASE("paper preset: the rule's paper settings and the epoch cap are its arguments",
          "[paper_preset]") {
  using rmpc::optim::UpdateRule;
  for (UpdateRule rule :
       {UpdateRule::gd, UpdateRule::tr_gd, UpdateRule::qn, UpdateRule::tr_qn, UpdateRule::tr_bfgs,
        UpdateRule::tr_gauss_newton, UpdateRule::adam, UpdateRule::gn_momentum}) {
    INFO(rmpc::optim::to_string(rule));
    const auto p = rmpc::rl::paper_loop_settings(rule, 40);
    CHECK_NOTHROW(p.validate());
    // The same as the default preset with the rule's paper_settings and the cap swapped in.
    auto expected = rmpc::rl::paper_loop_settings();
    expected.optimizer = rmpc::optim::paper_settings<double>(rule);
    expected.critic.train.max_epochs = 40;
    CHECK(rmpc::rl::settings_record(p) == rmpc::rl::settings_record(expected));
    CHECK(p.optimizer.rule == rule);
  }
  // tr_gd's paper radii are not tr_qn's: the rule's settings really come along.
  CHECK(changed_keys(rmpc::rl::paper_loop_settings(UpdateRule::tr_qn),
                     rmpc::rl::paper_loop_settings(UpdateRule::tr_gd))
            .count("optimizer.trust_region.initial_radius") == 1);
}
