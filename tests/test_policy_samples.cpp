// The policy over the replay memory (rl/policy_samples.hpp): on a toy MPC with a known policy
// u = -t0 s - t1^2 (so dpi/dtheta = (-s, -2 t1), d2pi/dtheta2 = diag(0, -2)) and statuses
// chosen by the state, every sample's pi(s_i), pi(s'_i), derivatives and status are checked
// by hand, including the documented fallbacks (a failed QP keeps the stored action, a failed
// successor is counted) and the warm starts that make the samples independent of the thread
// count. On the paper's MPC the samples must equal fresh, cold evaluations and must not depend
// on the number of workers.
#include "rmpc/rl/environment.hpp"
#include "rmpc/rl/policy_samples.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"

#include <Eigen/Core>

#include <memory>
#include <utility>
#include <vector>

namespace {

using V1 = Eigen::Matrix<double, 1, 1>;

struct ToySizes {
  Eigen::Index nu = 1, np = 2;
};

struct ToyResult {
  rmpc::mpc::PolicyStatus status = rmpc::mpc::PolicyStatus::ok;
  rmpc::qp::Status qp_status = rmpc::qp::Status::optimal;
  V1 u0;
  Eigen::Matrix<double, 1, 2> du0_dtheta;
  Eigen::Matrix2d d2u0_dtheta2;
};

/// pi(s) = -t0 s - t1^2 at theta = (0.5, 0.25): -0.5 s - 0.0625, exact in binary. The state
/// picks the status: 9 fails (the QP is infeasible), 7 is weakly active (one-sided but usable
/// derivatives), 5 has no derivatives (LICQ fails; u0 valid). Every call is logged.
struct ToyMpc {
  using VectorX = V1;
  using VectorU = V1;
  using VectorTheta = Eigen::Vector2d;
  struct Call {
    double s;
    bool warm, derivatives;
  };
  ToyResult r;
  std::vector<Call> calls;
  ToySizes sizes() const { return {}; }
  static double pi(double s) { return -0.5 * s - 0.0625; }
  const ToyResult& evaluate(const V1& x, const rmpc::mpc::PolicyRequest& req) {
    const double s = x(0);
    calls.push_back({s, req.warm_start, req.du0_dtheta});
    r.qp_status = s == 9 ? rmpc::qp::Status::infeasible : rmpc::qp::Status::optimal;
    r.status = s == 9   ? rmpc::mpc::PolicyStatus::solver_failed
               : s == 7 ? rmpc::mpc::PolicyStatus::weakly_active
               : s == 5 ? rmpc::mpc::PolicyStatus::sensitivity_failed
                        : rmpc::mpc::PolicyStatus::ok;
    r.u0(0) = s == 9 ? 1e9 : pi(s);  // a failed QP's u0 is garbage: it must not be used
    r.du0_dtheta << -s, -0.5;
    r.d2u0_dtheta2 << 0, 0, 0, -2;
    return r;
  }
};

using Samples = rmpc::rl::PolicySamples<ToyMpc>;

std::vector<std::unique_ptr<ToyMpc>> toy_workers(int n) {
  std::vector<std::unique_ptr<ToyMpc>> w;
  for (int i = 0; i < n; ++i) w.push_back(std::make_unique<ToyMpc>());
  return w;
}

/// Two stored episodes. A is chained (s'_i = s_{i+1}): s = 1, 2, 9, 7 with s' = 2, 9, 7, 9.
/// B is not: s = 5, 3 with s' = 4, 6. Stored actions 0.1 (i + 1): what the fallbacks return.
rmpc::learn::ReplayBuffer<double> toy_memory() {
  rmpc::learn::ReplayBuffer<double> buffer(1, 1, 10);
  const double s[] = {1, 2, 9, 7, 5, 3}, next[] = {2, 9, 7, 9, 4, 6};
  for (int i = 0; i < 6; ++i) {
    buffer.push(V1(s[i]), V1(0.0), V1(0.1 * (i + 1)), 1.0, V1(next[i]), false);
    if (i == 3 || i == 5) buffer.end_episode();
  }
  return buffer;
}

}  // namespace

TEST_CASE("PolicySamples: pi, pi(s'), derivatives and statuses of every sample, by hand",
          "[policy_samples]") {
  using rmpc::mpc::PolicyStatus;
  const auto buffer = toy_memory();
  for (int threads : {1, 2}) {
    INFO(threads << " workers");
    auto workers = toy_workers(threads);
    Samples p;
    p.compute(buffer, workers, true);
    REQUIRE(p.size() == 6);
    // pi(s_i): the policy, except at the failed QP (s = 9), which keeps the stored action.
    const double pi_s[] = {ToyMpc::pi(1), ToyMpc::pi(2), 0.1 * 3,
                           ToyMpc::pi(7), ToyMpc::pi(5), ToyMpc::pi(3)};
    // pi(s'_i): s' = 9 fails twice (kept: the stored a_1, a_3); inside episode A pi(s'_0) is
    // pi(s_1), and pi(s'_2) is pi(7) (weakly active still solved); B's successors are solved.
    const double pi_next[] = {ToyMpc::pi(2), 0.1 * 2,       ToyMpc::pi(7),
                              0.1 * 4,       ToyMpc::pi(4), ToyMpc::pi(6)};
    const PolicyStatus status[] = {PolicyStatus::ok,
                                   PolicyStatus::ok,
                                   PolicyStatus::solver_failed,
                                   PolicyStatus::weakly_active,
                                   PolicyStatus::sensitivity_failed,
                                   PolicyStatus::ok};
    const double s[] = {1, 2, 9, 7, 5, 3};
    for (Eigen::Index i = 0; i < 6; ++i) {
      INFO("sample " << i);
      CHECK(p.actions()(0, i) == pi_s[i]);
      CHECK(p.next_actions()(0, i) == pi_next[i]);
      CHECK(p.status(i) == status[i]);
      const bool usable = Samples::usable(status[i]);
      CHECK(usable == (status[i] == PolicyStatus::ok || status[i] == PolicyStatus::weakly_active));
      if (!usable) continue;
      CHECK(p.dpi_dtheta(i)(0, 0) == -s[i]);
      CHECK(p.dpi_dtheta(i)(0, 1) == -0.5);
      CHECK(p.d2pi_dtheta2(i) == (Eigen::Matrix2d() << 0, 0, 0, -2).finished());
    }
    CHECK(p.next_action_failures() == 2);
    // Each stored episode starts cold and warm-starts along itself only: that is what makes
    // the samples the same for any number of workers.
    for (const auto& w : workers)
      for (const auto& c : w->calls)
        if (c.derivatives) CHECK(c.warm == (c.s != 1 && c.s != 5));
  }
}

TEST_CASE("PolicySamples: the paper's MPC equals cold evaluations, for any number of workers",
          "[policy_samples]") {
  using Mpc = linear_2d::PaperMpc;
  const auto make_workers = rmpc::testing::paper_loop::workers_at_theta0;
  // A memory of three closed-loop episodes of the MPC itself on the true system, with a
  // perturbed input so that the memory's actions are not the policy's.
  rmpc::learn::ReplayBuffer<double> buffer(2, 1, 10);
  auto one = make_workers(1);
  for (const Eigen::Vector2d& s0 :
       {Eigen::Vector2d(0.5, 0.5), Eigen::Vector2d(0.2, 0.1), Eigen::Vector2d(0.05, -0.2)}) {
    rmpc::rl::Episode<double, 2, 1> ep;
    rmpc::rl::run_episode<double, 2, 1>(
        linear_2d::TrueSystem{}, s0, 6,
        [&](const Eigen::Vector2d& s, const V1&, int k, V1& a) {
          a = one[0]->evaluate(s).u0 + V1(0.05 * (k % 2 ? 1 : -1));
          return true;
        },
        ep);
    REQUIRE(ep.ok());
    std::vector<bool> done(6, false);
    done.back() = true;
    buffer.add_episode(ep.states, ep.prev_actions, ep.actions, ep.costs, ep.next_states, done);
  }
  rmpc::rl::PolicySamples<Mpc> p1, p3;
  p1.compute(buffer, one, true);
  auto three = make_workers(3);
  p3.compute(buffer, three, true);
  CHECK(p1.actions() == p3.actions());
  CHECK(p1.next_actions() == p3.next_actions());
  CHECK(p1.next_action_failures() == 0);
  Mpc fresh(linear_2d::PaperModel{});
  REQUIRE(fresh.set_parameters(linear_2d::theta0()) == rmpc::qp::Status::optimal);
  rmpc::mpc::PolicyRequest cold;
  cold.warm_start = false;
  cold.du0_ds = false;
  int usable = 0;
  for (Eigen::Index i = 0; i < buffer.size(); ++i) {
    INFO("sample " << i);
    CHECK(p1.status(i) == p3.status(i));
    const auto r = fresh.evaluate(buffer.states().col(i), cold);
    CHECK(p1.actions()(0, i) == Approx(r.u0(0)).epsilon(0).margin(1e-10));
    const auto next = fresh.evaluate(buffer.next_states().col(i), cold);
    CHECK(p1.next_actions()(0, i) == Approx(next.u0(0)).epsilon(0).margin(1e-10));
    if (!rmpc::rl::PolicySamples<Mpc>::usable(p1.status(i))) continue;
    ++usable;
    CHECK(Eigen::Matrix<double, 1, 8>(p1.dpi_dtheta(i)) ==
          Eigen::Matrix<double, 1, 8>(p3.dpi_dtheta(i)));
    CHECK(Eigen::MatrixXd(p1.d2pi_dtheta2(i)) == Eigen::MatrixXd(p3.d2pi_dtheta2(i)));
    CHECK((p1.dpi_dtheta(i) - r.du0_dtheta).norm() <= 1e-8);
    CHECK((p1.d2pi_dtheta2(i) - r.d2u0_dtheta2).norm() <= 1e-7);
  }
  CHECK(usable > buffer.size() / 2);  // the derivatives were compared, not skipped
}
