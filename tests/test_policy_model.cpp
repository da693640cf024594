// The model of J at a theta (rl/policy_model.hpp) on the paper's 2-D system: update() on the
// memory of a loop run's first batch must give the loop's own first model (its record, and its
// critics as the checkpoint holds them) on any number of workers; g and H must be the DPG means
// of the policy's derivatives (policy_samples.hpp) and the critic's action derivatives, as
// recomputed through the public parts; and the critic's state must restore to the same
// critic, with a state that does not fit and a call before update() named.
#include "rmpc/rl/loop.hpp"
#include "rmpc/rl/policy_gradient.hpp"
#include "rmpc/rl/policy_model.hpp"
#include "rmpc/rl/policy_samples.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"
#include "support/thrown_message.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace {

using namespace rmpc::testing::paper_loop;  // Loop, make_mpc, states, tiny
using rmpc::testing::thrown_message;
using Model = rmpc::rl::PolicyModel<linear_2d::PaperMpc>;
using Record = Model::Record;
using Theta = Eigen::Matrix<double, 8, 1>;
using ThetaMatrix = Eigen::Matrix<double, 8, 8>;

/// Iteration 0 of a loop run: its memory (the first batch), its record (the model at theta0
/// fitted at its end) and its critics (as a checkpoint holds them).
struct FirstModel {
  rmpc::learn::ReplayBuffer<double> memory;
  Record record;
  std::vector<rmpc::rl::CriticState> critics;
};

FirstModel loop_first_model(const rmpc::rl::LoopSettings<double>& settings) {
  Loop loop(TrueSystem{}, make_mpc, states(), settings);
  FirstModel out;
  loop.run(linear_2d::theta0(), [&](const Record& rec) {
    if (rec.iteration != 0) return;
    out.memory = loop.buffer();
    out.record = rec;
    out.critics = loop.checkpoint().critics;
    loop.request_stop();  // nothing after the first model is needed
  });
  return out;
}

}  // namespace

TEST_CASE("PolicyModel: update() is the loop's model at theta0, on any number of workers",
          "[policy_model]") {
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 5, 1);
  const FirstModel first = loop_first_model(settings);
  REQUIRE(first.record.model_updated);
  REQUIRE(first.memory.size() == 30);  // 3 episodes x 10 steps
  for (int threads : {1, 2}) {
    INFO(threads << " workers");
    settings.threads = threads;
    auto workers = workers_at_theta0(threads);
    Model model;
    model.reset(8, rmpc::rl::hessian_mode(settings.optimizer.rule));
    Record rec;
    Theta g;
    ThetaMatrix H;
    model.update(first.memory, workers, settings, 0, rec, g, H);
    CHECK(rec.model_updated);
    CHECK(rec.gradient_norm == first.record.gradient_norm);
    CHECK(rec.gradient_norm == g.norm());
    CHECK(rec.derivative_samples == first.record.derivative_samples);
    CHECK(rec.skipped_samples == first.record.skipped_samples);
    CHECK(rec.weakly_active_samples == first.record.weakly_active_samples);
    CHECK(rec.next_action_failures == first.record.next_action_failures);
    CHECK(rec.critic_epochs == first.record.critic_epochs);
    CHECK(rec.critic_loss == first.record.critic_loss);
    CHECK(rec.derivative_samples + rec.skipped_samples == 30);  // every sample counted once
    CHECK(rec.derivative_samples > 0);
    CHECK(H == H.transpose());  // symmetrised
    const auto critics = model.critic_states();
    REQUIRE(critics.size() == first.critics.size());
    REQUIRE(critics.size() == 2);  // k = 2 sweeps: Q^(1), Q^(2)
    for (std::size_t n = 0; n < critics.size(); ++n) {
      INFO("Q^(" << n + 1 << ")");
      CHECK(critics[n].parameters == first.critics[n].parameters);
      CHECK(critics[n].input_mean == first.critics[n].input_mean);
      CHECK(critics[n].input_scale == first.critics[n].input_scale);
      CHECK(critics[n].target_lo == first.critics[n].target_lo);
      CHECK(critics[n].target_hi == first.critics[n].target_hi);
    }
  }
}

TEST_CASE("PolicyModel: g and H are the DPG means of dpi/dtheta and the critic's dQ/da",
          "[policy_model]") {
  auto settings = tiny(rmpc::optim::UpdateRule::tr_qn, 9, 1);
  settings.float_critic = false;  // the double network (the other test: the float one)
  const FirstModel first = loop_first_model(settings);
  REQUIRE(first.record.model_updated);
  auto workers = workers_at_theta0(1);
  Model model;
  const rmpc::rl::HessianMode mode = rmpc::rl::hessian_mode(settings.optimizer.rule);
  REQUIRE(mode == rmpc::rl::HessianMode::exact);
  model.reset(8, mode);
  Record rec;
  Theta g;
  ThetaMatrix H;
  model.update(first.memory, workers, settings, 0, rec, g, H);
  CHECK(rec.gradient_norm == first.record.gradient_norm);

  // The same means through the public parts: the policy over the memory, the model's critic
  // at (s, a_prev, pi(s)), and the estimator over the usable samples in order.
  rmpc::rl::PolicySamples<linear_2d::PaperMpc> samples;
  samples.compute(first.memory, workers, true);
  Model::Vector q;
  Model::Matrix dq, d2q;
  model.action_derivatives(first.memory.states(), first.memory.prev_actions(), samples.actions(), q,
                           dq, d2q);
  REQUIRE(dq.cols() == 30);
  rmpc::rl::DpgEstimator<double, 8, 1> dpg(8, mode);
  for (Eigen::Index i = 0; i < 30; ++i) {
    if (!samples.usable(samples.status(i)) || !std::isfinite(dq(0, i)) || !std::isfinite(d2q(0, i)))
      continue;
    dpg.add(samples.dpi_dtheta(i), samples.d2pi_dtheta2(i), dq.col(i),
            Eigen::Matrix<double, 1, 1>(d2q(0, i)));
  }
  CHECK(dpg.count() == rec.derivative_samples);
  CHECK((dpg.gradient() - g).norm() <= 1e-12 * g.norm());
  CHECK((dpg.hessian() - H).norm() <= 1e-12 * H.norm());
  CHECK(g.norm() > 0);

  // The critic's state restores to the same critic (what resume() relies on).
  Model restored;
  restored.restore_critics(model.critic_states(), settings, 2, 1);
  Model::Vector q2;
  Model::Matrix dq2, d2q2;
  restored.action_derivatives(first.memory.states(), first.memory.prev_actions(), samples.actions(),
                              q2, dq2, d2q2);
  CHECK(q2 == q);
  CHECK(dq2 == dq);
  CHECK(d2q2 == d2q);
  auto cut = model.critic_states();
  cut[1].parameters.conservativeResize(cut[1].parameters.size() - 1);
  CHECK(thrown_message([&] {
          restored.restore_critics(cut, settings, 2, 1);
        }).find("checkpoint.critics[1].parameters: ") == 0);
}

TEST_CASE("PolicyModel: the critic's derivatives before any update() are a named error",
          "[policy_model]") {
  Model model;
  model.reset(8, rmpc::rl::HessianMode::exact);
  const Model::Matrix s = Model::Matrix::Zero(2, 1), a = Model::Matrix::Zero(1, 1);
  Model::Vector q;
  Model::Matrix dq, d2q;
  CHECK(thrown_message<std::logic_error>([&] { model.action_derivatives(s, a, a, q, dq, d2q); }) ==
        "PolicyModel::action_derivatives: no critic yet (update() first)");
}
