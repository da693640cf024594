// The RL loop (rl/loop.hpp) on the paper's 2-D system, tiny runs: same seed -> same run,
// results independent of the thread count, a different seed -> a different run, counts and
// statuses filled, and the deterministic evaluation reproduces method.md's untrained cost.
#include "rmpc/rl/log.hpp"
#include "rmpc/rl/loop.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"
#include "support/thrown_message.hpp"

#include <algorithm>
#include <sstream>

namespace {

using Action = Eigen::Matrix<double, 1, 1>;
using namespace rmpc::testing::paper_loop;  // Loop, make_mpc, states, tiny

rmpc::rl::LoopResult<double, 8> run(rmpc::optim::UpdateRule rule, std::uint64_t seed, int threads) {
  Loop loop(TrueSystem{}, make_mpc, states(), tiny(rule, seed, threads));
  return loop.run(linear_2d::theta0());
}

void require_same(const rmpc::rl::LoopResult<double, 8>& a,
                  const rmpc::rl::LoopResult<double, 8>& b) {
  REQUIRE(a.history.size() == b.history.size());
  for (std::size_t i = 0; i < a.history.size(); ++i) {
    INFO("iteration " << i);
    CHECK(a.history[i].batch_cost == b.history[i].batch_cost);
    CHECK(a.history[i].accepted == b.history[i].accepted);
    CHECK(a.history[i].theta == b.history[i].theta);
    CHECK(a.history[i].eval_cost == b.history[i].eval_cost);
  }
  CHECK(a.best_cost == b.best_cost);
}

}  // namespace

TEST_CASE("Loop: same seed, same run, for any thread count", "[loop]") {
  using R = rmpc::optim::UpdateRule;
  const auto a = run(R::tr_qn, 11, 1);
  REQUIRE(a.history.size() == 3);
  require_same(a, run(R::tr_qn, 11, 1));
  require_same(a, run(R::tr_qn, 11, 2));
  require_same(a, run(R::tr_qn, 11, 3));
  const auto c = run(R::tr_qn, 12, 1);
  CHECK(c.history[0].batch_cost != a.history[0].batch_cost);  // exploration differs with the seed
  // The first batch runs theta0; later ones moved theta (steps were taken).
  CHECK(a.history[0].theta_trial == linear_2d::theta0());
  CHECK((a.history[1].theta_trial - linear_2d::theta0()).norm() > 0);
  CHECK(a.history[0].model_updated);
  CHECK(a.history[0].derivative_samples + a.history[0].skipped_samples ==
        30);  // 3 episodes x 10 steps
  CHECK(a.history[0].failed_episodes == 0);
  CHECK(std::isfinite(a.history[0].gradient_norm));
  CHECK(a.best_cost <= a.initial_cost);
}

TEST_CASE("Loop: every update rule runs and logs", "[loop]") {
  using R = rmpc::optim::UpdateRule;
  for (R rule : {R::gd, R::tr_gd, R::qn, R::tr_bfgs, R::tr_gauss_newton, R::adam}) {
    INFO(rmpc::optim::to_string(rule));
    const auto r = run(rule, 3, 2);
    CHECK(r.history.size() == 3);
    CHECK(std::isfinite(r.best_cost));
    std::ostringstream csv, json;
    rmpc::rl::write_history_csv(csv, r);
    rmpc::rl::write_summary_json(json, r);
    CHECK(json.str().find("\"best_cost\"") != std::string::npos);
    // The history says what was tried, what the model promised and how far it stepped.
    for (const char* key : {"\"theta_trial\"", "\"predicted_decrease\"", "\"step_norm\"",
                            "\"exploration\"", "\"failed_episodes\""})
      CHECK(json.str().find(key) != std::string::npos);
    const std::string line = rmpc::rl::progress_line(r.history[1]);
    CHECK(line.find(" eps ") != std::string::npos);
    CHECK(line.find(" fail 0 ") != std::string::npos);
    const std::string text = csv.str();
    CHECK(std::count(text.begin(), text.end(), '\n') == 4);
  }
}

TEST_CASE("Loop evaluation reproduces the untrained cost from (0.5, 0.5)", "[loop]") {
  Eigen::Matrix<double, 2, Eigen::Dynamic> s0(2, 1);
  s0 << 0.5, 0.5;
  rmpc::rl::LoopSettings<double> settings;
  Loop loop(TrueSystem{}, make_mpc, s0, settings);
  std::vector<double> per_state;
  const double j = loop.evaluate(linear_2d::theta0(), s0, &per_state);
  CHECK(j == Approx(8.306).margin(2e-3));  // method.md section 1
  REQUIRE(per_state.size() == 1);
}

TEST_CASE("Loop: common random numbers give every batch the same exploration", "[loop]") {
  // theta never moves (GD with rate 0) and eps is constant: with common random numbers every
  // batch repeats the first exactly; with per-iteration streams (the paper) they differ.
  auto settings = tiny(rmpc::optim::UpdateRule::gd, 5, 1);
  settings.optimizer.fixed_rate.gd_learning_rate = 0.0;
  settings.exploration.initial_probability = 0.5;
  settings.exploration.decay = 1.0;
  settings.common_random_numbers = rmpc::rl::CommonRandomNumbers::always;
  const auto crn = Loop(TrueSystem{}, make_mpc, states(), settings).run(linear_2d::theta0());
  REQUIRE(crn.history.size() == 3);
  CHECK(crn.history[1].batch_cost == crn.history[0].batch_cost);
  CHECK(crn.history[2].batch_cost == crn.history[0].batch_cost);
  settings.common_random_numbers = rmpc::rl::CommonRandomNumbers::trust_region;  // GD: off
  const auto paper = Loop(TrueSystem{}, make_mpc, states(), settings).run(linear_2d::theta0());
  CHECK(paper.history[1].batch_cost != paper.history[0].batch_cost);
}

TEST_CASE("Loop: double critic and the paper's model reuse after a rejection still run", "[loop]") {
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 7, 1);
  settings.float_critic = false;
  settings.refit_on_reject = false;
  Loop loop(TrueSystem{}, make_mpc, states(), settings);
  const auto r = loop.run(linear_2d::theta0());
  CHECK(r.history.size() == 3);
  CHECK(std::isfinite(r.best_cost));
  for (const auto& h : r.history)
    CHECK((h.accepted || !h.model_updated));  // paper: no refit after a rejection
  CHECK(loop.critic().input_dim() == 4);
}

TEST_CASE("Loop: the deterministic ratio test accepts only steps that lower the deterministic cost",
          "[loop]") {
  // With heavy exploration the exploring batch's Jbar moves with eps; the deterministic test
  // compares J(theta) without exploration, so rho > reject_ratio = 0 means a real decrease.
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 11, 1);
  settings.iterations = 6;
  settings.exploration.initial_probability = 0.5;
  settings.ratio_test_cost = rmpc::rl::RatioTestCost::deterministic_batch;
  Loop loop(TrueSystem{}, make_mpc, states(), settings);
  const auto r = loop.run(linear_2d::theta0());
  REQUIRE(r.history.size() >= 2);
  double accepted_cost = r.history[0].trial_cost;
  REQUIRE(std::isfinite(accepted_cost));
  CHECK(r.history[0].eval_cost == accepted_cost);
  CHECK(r.initial_cost == accepted_cost);
  for (std::size_t i = 1; i < r.history.size(); ++i) {
    const auto& h = r.history[i];
    INFO("iteration " << i << ", rho " << h.ratio);
    // The compared cost is the trial's closed-loop cost without exploration, reproducible.
    CHECK(h.trial_cost == loop.evaluate(h.theta_trial, states()));
    if (h.accepted) {
      CHECK(h.trial_cost < accepted_cost);
      accepted_cost = h.trial_cost;
      CHECK(h.eval_cost == h.trial_cost);
    }
    CHECK(h.accepted_batch_cost == accepted_cost);
  }
}

TEST_CASE("Loop: theta bounds are never left, and bind", "[loop][bounds]") {
  // A box of +-2e-3 around theta0: the first steps (radius 1e-2) would leave it.
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 11, 1);
  settings.iterations = 5;
  const Eigen::VectorXd t0 = linear_2d::theta0();
  settings.theta_lower = t0.array() - 2e-3;
  settings.theta_upper = t0.array() + 2e-3;
  Loop loop(TrueSystem{}, make_mpc, states(), settings);
  const auto r = loop.run(linear_2d::theta0());
  REQUIRE(r.history.size() >= 2);
  bool on_a_bound = false;
  for (const auto& h : r.history) {
    INFO("iteration " << h.iteration);
    for (const auto* t : {&h.theta_trial, &h.theta}) {
      CHECK(((t->array() >= settings.theta_lower.array()).all() &&
             (t->array() <= settings.theta_upper.array()).all()));
      on_a_bound = on_a_bound || (t->array() == settings.theta_lower.array()).any() ||
                   (t->array() == settings.theta_upper.array()).any();
    }
  }
  CHECK(on_a_bound);  // the box did cut steps (else this test would not test anything)
}

TEST_CASE("Loop: bounds of the wrong size and a theta0 outside them are named", "[loop][bounds]") {
  using rmpc::testing::thrown_message;
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 0, 1);
  settings.theta_lower = Eigen::VectorXd::Zero(3);
  settings.theta_upper = Eigen::VectorXd::Ones(3);
  CHECK(
      thrown_message([&] {
        Loop loop(TrueSystem{}, make_mpc, states(), settings);
      }).find("LoopSettings::theta_lower/theta_upper: lower and upper must both have 8 entries") ==
      0);
  settings.theta_lower = Eigen::VectorXd::Constant(8, 0.5);
  settings.theta_upper = Eigen::VectorXd::Constant(8, 2.0);
  Loop loop(TrueSystem{}, make_mpc, states(), settings);
  CHECK(thrown_message([&] { loop.run(linear_2d::theta0()); }) ==
        "PolicyOptimizer::run: theta0 lies outside LoopSettings::theta_lower/theta_upper");
}

namespace {
// The true system, except that from the third initial state (0.05, -0.2) itself the next
// state is NaN: that episode fails at its first step, the others never meet the state.
struct FailingSystem {
  Eigen::Vector2d step(const Eigen::Vector2d& s, const Action& a) const {
    if (s(0) == 0.05 && s(1) == -0.2)
      return Eigen::Vector2d::Constant(std::numeric_limits<double>::quiet_NaN());
    return linear_2d::true_step(s, a(0));
  }
  double cost(const Eigen::Vector2d& s, const Action& a) const {
    return linear_2d::stage_cost(s, a(0));
  }
};
}  // namespace

TEST_CASE("Loop: a failed episode makes the batch infeasible, not cheap", "[loop][failed]") {
  using FailingLoop = rmpc::rl::PolicyOptimizer<FailingSystem, linear_2d::PaperMpc>;
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 3, 1);
  REQUIRE(settings.failed_episode_cost == rmpc::rl::FailedEpisodeCost::infinite);  // the default
  FailingLoop strict(FailingSystem{}, make_mpc, states(), settings);
  const auto r = strict.run(linear_2d::theta0());
  CHECK(r.status == rmpc::rl::LoopStatus::initial_episodes_failed);
  REQUIRE(r.history.size() == 1);
  CHECK(r.history[0].failed_episodes == 1);
  CHECK(r.history[0].batch_cost == std::numeric_limits<double>::infinity());
  CHECK(r.theta == linear_2d::theta0());

  // The paper's accounting: the failed episode adds nothing, so the batch looks cheaper than
  // the two good episodes alone would make it.
  settings.failed_episode_cost = rmpc::rl::FailedEpisodeCost::truncated;
  settings.iterations = 1;
  FailingLoop paper(FailingSystem{}, make_mpc, states(), settings);
  const auto p = paper.run(linear_2d::theta0());
  CHECK(p.status == rmpc::rl::LoopStatus::completed);
  REQUIRE(p.history.size() == 1);
  CHECK(p.history[0].failed_episodes == 1);
  CHECK(std::isfinite(p.history[0].batch_cost));
}

TEST_CASE("Loop: a stop at the radius floor restarts the trust region instead of ending the run",
          "[loop][restart]") {
  // min = max = initial radius: the first rejected trial is a rejection at the floor.
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 5, 1);
  settings.iterations = 8;
  settings.optimizer.trust_region.initial_radius = 0.05;
  settings.optimizer.trust_region.max_radius = 0.05;
  settings.optimizer.trust_region.min_radius = 0.05;
  settings.restart_on_stop = false;
  Loop paper(TrueSystem{}, make_mpc, states(), settings);
  const auto stopped = paper.run(linear_2d::theta0());
  REQUIRE(stopped.status == rmpc::rl::LoopStatus::optimizer_stopped);  // a rejection happened
  CHECK(stopped.optimizer_status == rmpc::optim::Status::converged_radius);
  CHECK(int(stopped.history.size()) < settings.iterations);

  settings.restart_on_stop = true;  // the default
  Loop restarting(TrueSystem{}, make_mpc, states(), settings);
  const auto r = restarting.run(linear_2d::theta0());
  CHECK(r.status == rmpc::rl::LoopStatus::completed);
  CHECK(int(r.history.size()) == settings.iterations);  // the whole budget is used
  CHECK(r.restarts >= 1);
  int flagged = 0;
  for (const auto& h : r.history) flagged += h.restarted ? 1 : 0;
  CHECK(flagged == r.restarts);
  // Up to the first stop both runs are the same run.
  const std::size_t same = stopped.history.size();
  for (std::size_t i = 0; i + 1 < same; ++i) CHECK(r.history[i].theta == stopped.history[i].theta);
}

TEST_CASE("Loop: diagnose() measures the model against the true system and changes nothing",
          "[loop][diagnosis]") {
  const auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 5, 2);
  Loop plain(TrueSystem{}, make_mpc, states(), settings);
  CHECK_THROWS_AS(plain.diagnose(), std::logic_error);  // no model before a run
  const auto expected = plain.run(linear_2d::theta0());

  Loop loop(TrueSystem{}, make_mpc, states(), settings);
  rmpc::rl::DiagnosisSettings<double> ds;
  ds.max_samples = 12;
  int diagnosed = 0;
  const auto r =
      loop.run(linear_2d::theta0(), [&](const rmpc::rl::IterationRecord<double, 8>& rec) {
        if (!rec.model_updated) return;
        Eigen::Matrix<double, 8, 1> g_closed_loop;
        const auto d = loop.diagnose(ds, &g_closed_loop);
        INFO("iteration " << rec.iteration);
        CHECK(d.status == rmpc::rl::DiagnosisStatus::ok);
        CHECK(d.samples + d.skipped == 10);  // whole episodes: one of 10 steps
        CHECK(d.samples > 0);
        CHECK(std::isfinite(d.dq_cosine));
        CHECK(std::isfinite(d.gradient_cosine));
        CHECK(d.gradient_true.allFinite());
        CHECK(g_closed_loop.allFinite());
        CHECK(g_closed_loop.norm() > 0);
        ++diagnosed;
      });
  CHECK(diagnosed > 0);
  require_same(r, expected);  // nothing random, the MPCs' theta set again by every batch
}

TEST_CASE("Loop: store_rejected_batches = false keeps rejected trials' batches out of the memory",
          "[loop]") {
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 7, 1);
  settings.iterations = 4;
  settings.optimizer.trust_region.initial_radius = 0.5;  // large first steps: some are rejected
  settings.optimizer.trust_region.max_radius = 0.5;
  settings.store_rejected_batches = false;
  Loop loop(TrueSystem{}, make_mpc, states(), settings);
  const auto r = loop.run(linear_2d::theta0());
  REQUIRE(r.history.size() == 4);
  int accepted = 0, rejected = 0;
  for (const auto& h : r.history) {
    accepted += h.accepted;
    rejected += !h.accepted;
    if (!h.accepted && !h.restarted) CHECK_FALSE(h.model_updated);  // nothing new to refit with
  }
  CHECK(rejected > 0);
  CHECK(loop.buffer().num_episodes() == 3 * accepted);  // 3 initial states per batch

  settings.store_rejected_batches = true;  // the paper: every batch enters the memory
  Loop paper(TrueSystem{}, make_mpc, states(), settings);
  const auto p = paper.run(linear_2d::theta0());
  CHECK(paper.buffer().num_episodes() == 3 * int(p.history.size()));
}
