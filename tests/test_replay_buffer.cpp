// ReplayBuffer: capacity in episodes, eviction order, episode boundaries, contiguous views
// across compaction and growth, seeded sampling.
#include "rmpc_catch.hpp"

#include <rmpc/learn/replay_buffer.hpp>

#include <Eigen/Core>

#include <random>

using Buffer = rmpc::learn::ReplayBuffer<double>;

namespace {

// Episode e, step t: s = (e, t), a_prev = 100 e + t - 1, a = 100 e + t, cost = 1000 e + t,
// s' = (e, t + 1), done at the last step. Every field identifies its episode and step.
void push_episode(Buffer& buf, int e, int steps) {
  for (int t = 0; t < steps; ++t) {
    Eigen::Vector2d s(e, t), sn(e, t + 1);
    Eigen::VectorXd ap = Eigen::VectorXd::Constant(1, 100.0 * e + t - 1);
    Eigen::VectorXd a = Eigen::VectorXd::Constant(1, 100.0 * e + t);
    buf.push(s, ap, a, 1000.0 * e + t, sn, t == steps - 1);
  }
  buf.end_episode();
}

void check_contents(const Buffer& buf, const std::vector<std::pair<int, int>>& episodes) {
  Eigen::Index i = 0;
  const auto starts = buf.episode_starts();
  REQUIRE(static_cast<Eigen::Index>(starts.size()) == buf.num_episodes() + 1);
  for (std::size_t k = 0; k < episodes.size(); ++k) {
    const auto [e, steps] = episodes[k];
    CHECK(starts[k] == i);
    CHECK(buf.episode_length(Eigen::Index(k)) == steps);
    for (int t = 0; t < steps; ++t, ++i) {
      INFO("episode " << e << " step " << t);
      CHECK(buf.states()(0, i) == e);
      CHECK(buf.states()(1, i) == t);
      CHECK(buf.next_states()(1, i) == t + 1);
      CHECK(buf.prev_actions()(0, i) == 100.0 * e + t - 1);
      CHECK(buf.actions()(0, i) == 100.0 * e + t);
      CHECK(buf.costs()(i) == 1000.0 * e + t);
      CHECK(buf.done(i) == (t == steps - 1));
    }
  }
  CHECK(buf.size() == i);
  CHECK(starts.back() == i);
}

}  // namespace

TEST_CASE("ReplayBuffer keeps the last capacity_episodes episodes, oldest first", "[replay]") {
  Buffer buf(2, 1, 3);
  CHECK(buf.empty());
  push_episode(buf, 0, 4);
  push_episode(buf, 1, 2);
  check_contents(buf, {{0, 4}, {1, 2}});
  push_episode(buf, 2, 5);
  CHECK(buf.evicted_episodes() == 0);
  push_episode(buf, 3, 3);  // evicts episode 0 (whole)
  CHECK(buf.evicted_episodes() == 1);
  CHECK(buf.num_episodes() == 3);
  check_contents(buf, {{1, 2}, {2, 5}, {3, 3}});
  // Many more episodes of varying length: forces compaction and growth several times.
  for (int e = 4; e < 200; ++e) push_episode(buf, e, 1 + e % 7);
  check_contents(buf, {{197, 1 + 197 % 7}, {198, 1 + 198 % 7}, {199, 1 + 199 % 7}});
  CHECK(buf.evicted_episodes() == 197);
}

TEST_CASE("ReplayBuffer open episode is visible and only closed episodes count", "[replay]") {
  Buffer buf(2, 1, 1);
  push_episode(buf, 0, 3);
  Eigen::VectorXd a = Eigen::VectorXd::Constant(1, 100.0 * 1 + 0);
  Eigen::VectorXd ap = Eigen::VectorXd::Constant(1, 100.0 * 1 - 1);
  buf.push(Eigen::Vector2d(1, 0), ap, a, 1000.0, Eigen::Vector2d(1, 1), false);
  CHECK(buf.num_episodes() == 2);  // one closed + the open one; nothing evicted yet
  CHECK(buf.size() == 4);
  CHECK(buf.episode_length(1) == 1);
  buf.end_episode();
  CHECK(buf.num_episodes() == 1);
  CHECK(buf.size() == 1);
  CHECK(buf.states()(0, 0) == 1.0);
  CHECK_FALSE(buf.done(0));
  buf.end_episode();  // empty open episode: no-op
  CHECK(buf.num_episodes() == 1);
}

TEST_CASE("ReplayBuffer add_episode and argument checks", "[replay]") {
  Buffer buf(2, 1, 10);
  Eigen::MatrixXd s(2, 3), sn(2, 3), a(1, 3), ap(1, 3);
  s << 0, 1, 2, 0, 0, 0;
  sn << 1, 2, 3, 0, 0, 0;
  a << 0.1, 0.2, 0.3;
  ap << 0.0, 0.1, 0.2;
  Eigen::VectorXd c(3);
  c << 1, 2, 3;
  buf.add_episode(s, ap, a, c, sn, {false, false, true});
  CHECK(buf.size() == 3);
  CHECK(buf.states().isApprox(s));
  CHECK(buf.actions().isApprox(a));
  CHECK(buf.dones()(2) == 1.0);
  CHECK_THROWS_AS(buf.push(Eigen::Vector3d::Zero(), ap.col(0), a.col(0), 0.0, s.col(0), false),
                  std::invalid_argument);
  CHECK_THROWS_AS(buf.push(s.col(0), ap.col(0), a.col(0), std::nan(""), s.col(0), false),
                  std::invalid_argument);
  CHECK_THROWS_AS(Buffer(2, 1, 0), std::invalid_argument);
}

TEST_CASE("ReplayBuffer sampling is uniform and deterministic by seed", "[replay]") {
  Buffer buf(2, 1, 250);
  for (int e = 0; e < 10; ++e) push_episode(buf, e, 10);
  std::mt19937_64 r1(7), r2(7), r3(8);
  const auto a = buf.sample_indices(5000, r1);
  const auto b = buf.sample_indices(5000, r2);
  const auto c = buf.sample_indices(5000, r3);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int> counts(100, 0);
  for (auto i : a) {
    REQUIRE(i >= 0);
    REQUIRE(i < 100);
    ++counts[static_cast<std::size_t>(i)];
  }
  // Each index expected 50 times; a binomial(5000, 0.01) stays within 50 +- 30 with
  // overwhelming probability (and the seed is fixed).
  for (int n : counts) {
    CHECK(n > 20);
    CHECK(n < 80);
  }
}
