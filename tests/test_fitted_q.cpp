// The fitted-Q critic (learn/fitted_q.hpp): Q^(3) of k = 3 sweeps approaches the 3-step
// truncated cost of a hand-computable chain; at a second fit every Q^(n) starts from its own
// previous fit (a second fit on the same data changes little and keeps k networks); call
// order and sizes are named errors.
#include "rmpc_catch.hpp"

#include <rmpc/learn/fitted_q.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <random>
#include <stdexcept>

using rmpc::learn::ReplayBuffer;

namespace {
/// Episodes of 5 steps on the chain s' = s + 0.1 from s0 ~ U[0, 1], actions ~ U[-0.5, 0.5]
/// that do not move the state, cost L(s, a) = 1 + s (positive for the log10 scaling).
ReplayBuffer<double> chain(int episodes, std::uint64_t seed) {
  ReplayBuffer<double> buf(1, 1, episodes);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int e = 0; e < episodes; ++e) {
    double s = u(rng);
    for (int t = 0; t < 5; ++t) {
      const double a = u(rng) - 0.5;
      buf.push(Eigen::VectorXd::Constant(1, s), Eigen::VectorXd::Zero(1),
               Eigen::VectorXd::Constant(1, a), 1.0 + s, Eigen::VectorXd::Constant(1, s + 0.1),
               t == 4);
      s += 0.1;
    }
    buf.end_episode();
  }
  return buf;
}
}  // namespace

// [long]: 3 sweeps of 1500 epochs; the sanitizer build runs the same sweeps in the next case
// (tests/CMakeLists.txt, RMPC_TEST_SKIP_LONG).
TEST_CASE("fitted-Q sweeps approach the k-step truncated cost", "[fitted_q][long]") {
  // Deterministic chain s' = s + 0.1, cost L(s, a) = 1 + s (positive for the log10 scaling),
  // policy independent of the action: Q^(k)(s) = sum_{j<k} (1 + s + 0.1 j) with
  // gamma = 1 and truncation bootstrapping. Episodes start at s in [0, 1].
  const ReplayBuffer<double> buf = chain(60, 3);
  rmpc::learn::FittedQ<double> fitted_q;
  fitted_q.reset(rmpc::learn::make_paper_critic<double>(1, 1, 11));
  const Eigen::MatrixXd pi_next = Eigen::MatrixXd::Zero(1, buf.size());
  rmpc::learn::FittedQSettings<double> settings;
  settings.sweeps = 3;
  settings.train.max_epochs = 1500;
  settings.train.batch_size = 32;
  settings.train.adam.learning_rate = 3e-3;
  settings.train.loss = rmpc::learn::Loss::mse;
  settings.train.seed = 5;
  const auto result = fitted_q.fit(buf, pi_next, settings, [](int) { return std::uint64_t(5); });
  CHECK(result.status == rmpc::learn::FittedQStatus::ok);
  CHECK(result.fits.size() == 3);
  CHECK(fitted_q.networks().size() == 3);
  auto& critic = fitted_q.critic();
  const Eigen::MatrixXd x = rmpc::learn::critic_inputs(buf);
  const Eigen::VectorXd q = critic.value(x);
  // Near the top of the data (s > 1) Q^(n-1) is evaluated at s' beyond every stored state,
  // so the interior gets the tight bound and the whole memory a mean bound.
  double max_rel_interior = 0.0, mean_rel = 0.0;
  for (Eigen::Index i = 0; i < buf.size(); ++i) {
    const double s = buf.states()(0, i);
    const double exact = 3 * (1 + s) + 0.3;  // Q^(3) = (1+s) + (1.1+s) + (1.2+s)
    const double rel = std::abs(q(i) - exact) / exact;
    mean_rel += rel / double(buf.size());
    if (s <= 1.0) max_rel_interior = std::max(max_rel_interior, rel);
  }
  INFO("max relative error of Q^(3) for s <= 1: " << max_rel_interior << ", mean: " << mean_rel);
  CHECK(max_rel_interior < 0.03);
  CHECK(mean_rel < 0.01);
}

TEST_CASE("FittedQ: a second fit warm-starts every Q^(n); errors are named", "[fitted_q]") {
  const ReplayBuffer<double> buf = chain(10, 4);
  const Eigen::MatrixXd pi_next = Eigen::MatrixXd::Zero(1, buf.size());
  rmpc::learn::FittedQSettings<double> settings;
  settings.sweeps = 2;
  settings.train.max_epochs = 200;
  settings.train.loss = rmpc::learn::Loss::mse;
  auto seed = [](int n) { return std::uint64_t(n); };

  rmpc::learn::FittedQ<float> fq;
  CHECK_THROWS_AS(fq.fit(buf, pi_next, settings, seed), std::logic_error);
  CHECK_THROWS_AS(fq.critic(), std::logic_error);
  fq.reset(rmpc::learn::make_paper_critic<float>(1, 1, 3));
  CHECK_THROWS_AS(fq.fit(buf, Eigen::MatrixXd::Zero(1, 3), settings, seed), std::invalid_argument);
  const auto first = fq.fit(buf, pi_next, settings, seed);
  REQUIRE(first.status == rmpc::learn::FittedQStatus::ok);
  REQUIRE(fq.networks().size() == 2);
  // The second fit on the same data starts every Q^(n) at its own first fit: its first
  // epoch's loss is far below that of the cold start (Q^(2)'s targets moved with Q^(1), so
  // not quite at the first fit's final level).
  const auto second = fq.fit(buf, pi_next, settings, seed);
  REQUIRE(second.status == rmpc::learn::FittedQStatus::ok);
  CHECK(fq.networks().size() == 2);
  const float cold = first.fits[0].loss_history.front();
  INFO("cold first-epoch loss " << cold << "; Q^(1) first fit best " << first.fits[0].best_loss
                                << ", second fit first epoch "
                                << second.fits[0].loss_history.front() << "; Q^(2) "
                                << first.fits[1].best_loss << ", "
                                << second.fits[1].loss_history.front());
  CHECK(second.fits[0].loss_history.front() <= 2.0f * first.fits[0].best_loss + 1e-6f);
  CHECK(second.fits[1].loss_history.front() <= 0.1f * cold);
  CHECK(cold > 5.0f * first.fits[0].best_loss);
  // k cannot change without a reset.
  settings.sweeps = 3;
  CHECK_THROWS_AS(fq.fit(buf, pi_next, settings, seed), std::invalid_argument);

  // Action derivatives in the data's Scalar: dQ/da against central differences of Q.
  Eigen::VectorXd q;
  Eigen::MatrixXd dq, d2q;
  const Eigen::MatrixXd s = buf.states(), ap = buf.prev_actions(), a = buf.actions();
  fq.action_derivatives<double>(s, ap, a, q, dq, d2q);
  REQUIRE(q.size() == buf.size());
  REQUIRE(dq.rows() == 1);
  REQUIRE(d2q.rows() == 1);
  const double h = 1e-2;
  Eigen::VectorXd qp, qm;
  Eigen::MatrixXd unused1, unused2;
  fq.action_derivatives<double>(s, ap, (a.array() + h).matrix(), qp, unused1, unused2);
  fq.action_derivatives<double>(s, ap, (a.array() - h).matrix(), qm, unused1, unused2);
  for (Eigen::Index i = 0; i < buf.size(); ++i)
    CHECK(dq(0, i) == Approx((qp(i) - qm(i)) / (2 * h)).margin(1e-3).epsilon(1e-2));
}

TEST_CASE("make_paper_critic: log10 targets by default (the paper), min-max on request",
          "[fitted_q]") {
  using rmpc::learn::TargetTransform;
  const Eigen::VectorXd y = Eigen::Vector3d(1.0, 10.0, 100.0);
  auto paper = rmpc::learn::make_paper_critic<double>(2, 1, 5);
  CHECK(paper.target_scaler().settings().transform == TargetTransform::log10_min_max);
  paper.target_scaler().fit(y);
  CHECK(paper.target_scaler().forward(10.0) == Approx(0.5));  // halfway in decades
  auto linear = rmpc::learn::make_paper_critic<double>(2, 1, 5, 20, TargetTransform::min_max);
  CHECK(linear.target_scaler().settings().transform == TargetTransform::min_max);
  linear.target_scaler().fit(y);
  CHECK(linear.target_scaler().forward(10.0) == Approx(9.0 / 99.0));     // linear in value
  CHECK(linear.network().parameters() == paper.network().parameters());  // the same init
}
