// Batches of closed-loop episodes (rl/episode_batch.hpp). A toy MPC whose policy is
// u = -s/2 and whose exploration term shifts u by exactly the drawn d makes every claim of the
// header checkable: deterministic episodes by hand; eps = 0 explores nothing; an episode
// depends on its own seed only (not on the other episodes, the worker or their order);
// common random numbers give step k the same (uniform, d) whatever eps; d_map scales d; a
// failed QP ends only its own episode. On the paper's MPC (warm starts that could leak
// between episodes) the batch must be the same for 1 and 3 workers and reproduce
// method.md's untrained closed-loop cost.
#include "rmpc/rl/episode_batch.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/loop_fixture.hpp"

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

namespace {

using V1 = Eigen::Matrix<double, 1, 1>;

/// s+ = s + a, L = s^2 + a^2.
struct ToyEnv {
  V1 step(const V1& s, const V1& a) const { return s + a; }
  double cost(const V1& s, const V1& a) const { return s(0) * s(0) + a(0) * a(0); }
};

struct ToySizes {
  Eigen::Index nu = 1;
};

struct ToyResult {
  rmpc::qp::Status qp_status = rmpc::qp::Status::optimal;
  V1 u0;
};

/// u0 = -s/2, plus extra(0) when an exploration term is passed: the explored offset
/// u0 - (-s/2) is the drawn d (up to round-off). |s| > 10 is an infeasible QP.
struct ToyMpc {
  using VectorX = V1;
  using VectorU = V1;
  using VectorZ = Eigen::VectorXd;  // as an MPC of run-time sizes
  ToyResult r;
  ToySizes sizes() const { return {}; }
  Eigen::Index num_variables() const { return 2; }
  /// d (u_0 - u_1) as a term on z = (u_0, u_1).
  void exploration_cost(const V1& d, VectorZ& extra) const { extra << d(0), -d(0); }
  const ToyResult& evaluate(const V1& s, const rmpc::mpc::PolicyRequest&) {
    r.qp_status = std::abs(s(0)) > 10 ? rmpc::qp::Status::infeasible : rmpc::qp::Status::optimal;
    r.u0(0) = -0.5 * s(0);
    return r;
  }
  const ToyResult& evaluate(const V1& s, const rmpc::mpc::PolicyRequest& req,
                            const VectorZ& extra) {
    evaluate(s, req);
    r.u0(0) += extra(0);
    return r;
  }
};

using Batch = rmpc::rl::EpisodeBatch<ToyEnv, ToyMpc>;
using Episodes = Batch::Episodes;
using States = Batch::States;

std::vector<std::unique_ptr<ToyMpc>> toy_workers(int n) {
  std::vector<std::unique_ptr<ToyMpc>> w;
  for (int i = 0; i < n; ++i) w.push_back(std::make_unique<ToyMpc>());
  return w;
}

States toy_states() {
  States s(1, 3);
  s << 1.0, -0.5, 2.0;
  return s;
}

std::uint64_t seed_of(std::uint64_t e) { return 1000 + e; }

/// Explored offset d of step k of episode e (0 where the step did not explore).
double offset(const Episodes& eps, std::size_t e, Eigen::Index k) {
  return eps[e].actions(0, k) + 0.5 * eps[e].states(0, k);
}

void require_same(const Episodes& a, const Episodes& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t e = 0; e < a.size(); ++e) {
    INFO("episode " << e);
    CHECK(a[e].length == b[e].length);
    CHECK(a[e].states == b[e].states);
    CHECK(a[e].actions == b[e].actions);
    CHECK(a[e].total_cost == b[e].total_cost);
  }
}

}  // namespace

TEST_CASE("EpisodeBatch: deterministic episodes of a known policy, by hand", "[episode_batch]") {
  auto workers = toy_workers(2);
  Batch batch;
  States s0(1, 2);
  s0 << 1.0, 12.0;  // the second QP is infeasible from the start
  const Episodes& eps = batch.deterministic(ToyEnv{}, workers, s0, 4);
  REQUIRE(eps.size() == 2);
  // s_k = 2^-k, a_k = -s_k / 2, L = 1.25 s_k^2: every number is exact in binary.
  const auto& e = eps[0];
  CHECK(e.ok());
  CHECK(e.length == 4);
  CHECK(e.states == (Eigen::RowVector4d() << 1, 0.5, 0.25, 0.125).finished());
  CHECK(e.actions == (Eigen::RowVector4d() << -0.5, -0.25, -0.125, -0.0625).finished());
  CHECK(e.prev_actions == (Eigen::RowVector4d() << 0, -0.5, -0.25, -0.125).finished());
  CHECK(e.next_states == (Eigen::RowVector4d() << 0.5, 0.25, 0.125, 0.0625).finished());
  CHECK(e.total_cost == 1.25 * (1 + 0.25 + 0.0625 + 0.015625));
  // A failed QP ends its own episode (as data, not an exception) and no other.
  CHECK_FALSE(eps[1].ok());
  CHECK(eps[1].failed_step == 0);
  CHECK(eps[1].length == 0);
  // Without exploration explore() is the deterministic batch.
  const Episodes det = eps;
  require_same(batch.explore(ToyEnv{}, workers, s0, 4, 0.0, 0.3, false, seed_of), det);
}

TEST_CASE("EpisodeBatch: an episode depends on its own seed only, not on workers or order",
          "[episode_batch]") {
  Batch batch;
  auto one = toy_workers(1);
  const Episodes all = batch.explore(ToyEnv{}, one, toy_states(), 10, 0.5, 0.3, false, seed_of);
  int explored = 0, not_explored = 0;
  for (std::size_t e = 0; e < all.size(); ++e)
    for (Eigen::Index k = 0; k < all[e].length; ++k)
      (offset(all, e, k) == 0 ? not_explored : explored) += 1;
  CHECK(explored > 0);  // eps = 0.5: both kinds of step occur
  CHECK(not_explored > 0);
  auto three = toy_workers(3);
  require_same(batch.explore(ToyEnv{}, three, toy_states(), 10, 0.5, 0.3, false, seed_of), all);
  // The third episode alone, with its seed: the same episode.
  States last(1, 1);
  last << 2.0;
  const Episodes alone = batch.explore(ToyEnv{}, one, last, 10, 0.5, 0.3, false,
                                       [](std::uint64_t e) { return seed_of(e + 2); });
  REQUIRE(alone.size() == 1);
  CHECK(alone[0].actions == all[2].actions);
  CHECK(alone[0].total_cost == all[2].total_cost);
  // Another seed, another exploration.
  const Episodes other = batch.explore(ToyEnv{}, one, toy_states(), 10, 0.5, 0.3, false,
                                       [](std::uint64_t e) { return seed_of(e) + 7; });
  CHECK(other[0].actions != all[0].actions);
}

TEST_CASE("EpisodeBatch: common random numbers keep step k's d whatever eps; d_map scales d",
          "[episode_batch]") {
  Batch batch;
  auto workers = toy_workers(2);
  const auto explore = [&](double eps, bool crn, const Eigen::Matrix<double, 1, 1>* d_map) {
    return Episodes(
        batch.explore(ToyEnv{}, workers, toy_states(), 10, eps, 0.3, crn, seed_of, d_map));
  };
  const Episodes always = explore(1.0, true, nullptr);
  // At eps = 1 every step draws d anyway: common random numbers change nothing.
  require_same(explore(1.0, false, nullptr), always);
  const Episodes half = explore(0.5, true, nullptr), most = explore(0.8, true, nullptr);
  int explored_half = 0, explored_most = 0;
  for (std::size_t e = 0; e < always.size(); ++e)
    for (Eigen::Index k = 0; k < 10; ++k) {
      INFO("episode " << e << ", step " << k);
      const double d = offset(always, e, k);
      REQUIRE(d != 0);
      // A step explores or not (same uniform), and when it does, with the same d.
      const double h = offset(half, e, k), m = offset(most, e, k);
      if (h != 0) CHECK(h == Approx(d).epsilon(0).margin(1e-12));
      if (m != 0) CHECK(m == Approx(d).epsilon(0).margin(1e-12));
      if (h != 0) CHECK(m != 0);  // u < 0.5 implies u < 0.8
      explored_half += h != 0;
      explored_most += m != 0;
    }
  CHECK(explored_half > 0);
  CHECK(explored_most > explored_half);
  CHECK(explored_most < 30);
  // d = d_map x: the same draws x, twice the offsets.
  const Eigen::Matrix<double, 1, 1> twice = Eigen::Matrix<double, 1, 1>::Constant(2.0);
  const Episodes scaled = explore(1.0, true, &twice);
  for (std::size_t e = 0; e < always.size(); ++e)
    for (Eigen::Index k = 0; k < 10; ++k)
      CHECK(offset(scaled, e, k) == Approx(2 * offset(always, e, k)).epsilon(0).margin(1e-12));
}

TEST_CASE("EpisodeBatch: the paper's MPC, the same batch on 1 and 3 workers", "[episode_batch]") {
  using Mpc = linear_2d::PaperMpc;
  using PaperBatch = rmpc::rl::EpisodeBatch<linear_2d::TrueSystem, Mpc>;
  const auto make_workers = rmpc::testing::paper_loop::workers_at_theta0;
  PaperBatch::States s0(2, 3);
  s0 << 0.5, 0.2, 0.05, 0.5, 0.1, -0.2;
  PaperBatch batch;
  auto one = make_workers(1), three = make_workers(3);
  const auto seed = [](std::uint64_t e) { return 40 + e; };
  const PaperBatch::Episodes a =
      batch.explore(linear_2d::TrueSystem{}, one, s0, 10, 0.5, 0.1, false, seed);
  const PaperBatch::Episodes b =
      batch.explore(linear_2d::TrueSystem{}, three, s0, 10, 0.5, 0.1, false, seed);
  REQUIRE(a.size() == 3);
  for (std::size_t e = 0; e < 3; ++e) {
    INFO("episode " << e);
    CHECK(a[e].ok());
    CHECK(a[e].actions == b[e].actions);
    CHECK(a[e].total_cost == b[e].total_cost);
  }
  // The untrained policy from (0.5, 0.5), 50 steps: method.md section 1's cost.
  PaperBatch::States start(2, 1);
  start << 0.5, 0.5;
  const auto& det = batch.deterministic(linear_2d::TrueSystem{}, three, start, 50);
  REQUIRE(det.size() == 1);
  CHECK(det[0].ok());
  CHECK(det[0].total_cost == Approx(8.306).margin(2e-3));
}
