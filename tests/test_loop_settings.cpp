// Settings of the RL loop (rl/loop_settings.hpp): the defaults validate, a field out of range
// is named (a nested one by its own struct, and by the loop's constructor, which validates
// before it builds anything), each update rule gets the curvature its optimizer reads, and
// paper_critic_settings is the paper's critic training (method.md section 4).
#include "rmpc/rl/loop.hpp"
#include "rmpc/rl/loop_settings.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"
#include "support/thrown_message.hpp"

namespace {
using namespace rmpc::testing::paper_loop;  // Loop, make_mpc, states
}  // namespace

TEST_CASE("loop settings: defaults validate, a bad field (nested too) is named by the loop",
          "[loop][settings]") {
  using rmpc::testing::thrown_message;
  CHECK_NOTHROW(rmpc::rl::LoopSettings<double>{}.validate());
  rmpc::rl::LoopSettings<double> s;
  s.threads = 0;
  CHECK(thrown_message([&] { s.validate(); }) == "LoopSettings::threads must be > 0 (got 0)");
  s = {};
  s.exploration.decay = 0;
  CHECK(thrown_message([&] {
          s.validate();
        }).find("ExplorationSettings::decay must be in (0, 1]") == 0);
  s = {};
  s.optimizer.trust_region.expand_factor = 0.5;
  CHECK(thrown_message([&] { s.validate(); }).find("TrustRegionSettings::expand_factor") == 0);
  s = {};
  s.critic.train.patience = 0;
  CHECK(thrown_message([&] {
          Loop loop(TrueSystem{}, make_mpc, states(), s);
        }).find("TrainSettings::patience must be > 0") == 0);
}

TEST_CASE("loop settings: each update rule gets the curvature its optimizer reads",
          "[loop][settings]") {
  using rmpc::optim::UpdateRule;
  using rmpc::rl::hessian_mode;
  using rmpc::rl::HessianMode;
  // The quasi-Newton rules of P1 read the exact DPG Hessian, the Gauss-Newton ones its second
  // term only, and the first-order rules none (computing it would only cost time).
  CHECK(hessian_mode(UpdateRule::tr_qn) == HessianMode::exact);
  CHECK(hessian_mode(UpdateRule::qn) == HessianMode::exact);
  CHECK(hessian_mode(UpdateRule::tr_gauss_newton) == HessianMode::gauss_newton);
  CHECK(hessian_mode(UpdateRule::gn_momentum) == HessianMode::gauss_newton);
  for (UpdateRule r : {UpdateRule::gd, UpdateRule::tr_gd, UpdateRule::tr_bfgs, UpdateRule::adam}) {
    INFO(rmpc::optim::to_string(r));
    CHECK(hessian_mode(r) == HessianMode::none);
  }
  // A rule that reads H must get one: the optimizer's own view agrees with the loop's.
  for (UpdateRule r :
       {UpdateRule::gd, UpdateRule::tr_gd, UpdateRule::qn, UpdateRule::tr_qn, UpdateRule::tr_bfgs,
        UpdateRule::tr_gauss_newton, UpdateRule::adam, UpdateRule::gn_momentum}) {
    INFO(rmpc::optim::to_string(r));
    CHECK(rmpc::optim::needs_hessian(r) == (hessian_mode(r) != HessianMode::none));
  }
}

TEST_CASE("loop settings: paper_critic_settings is the paper's critic training, and the default",
          "[loop][settings]") {
  const auto c = rmpc::rl::paper_critic_settings<double>(7);
  CHECK(c.sweeps == 10);
  CHECK(c.gamma == 1.0);
  CHECK(c.done_is_truncation);  // 50-step episodes are truncated, not terminated
  CHECK(c.refit_scalers);
  CHECK(c.train.batch_size == 256);
  CHECK(c.train.loss == rmpc::learn::Loss::huber);
  CHECK(c.train.patience == 50);
  CHECK(c.train.max_epochs == 7);  // the argument caps each warm-started sweep
  CHECK_NOTHROW(c.validate());
  CHECK(rmpc::rl::paper_critic_settings<double>().train.max_epochs == 25);
  // LoopSettings' critic is the paper's with the default cap.
  const rmpc::rl::LoopSettings<double> s;
  CHECK(s.critic.sweeps == 10);
  CHECK(s.critic.train.max_epochs == 25);
  CHECK(s.critic.train.patience == 50);
}
