// The minibatch trainer (learn/training.hpp): seeded shuffling, gradient shards, early
// stopping, restore-best, warm start, and the settings' conversion and validation. Adam and
// the losses are tested in test_adam.cpp, the critic's fits in test_critic.cpp.
#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"

#include <rmpc/learn/critic.hpp>
#include <rmpc/learn/targets.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <random>

using namespace rmpc::learn;

namespace {

struct Data {
  Eigen::MatrixXd x, y;
};

Data smooth_data(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Data d{Eigen::MatrixXd(2, n), Eigen::MatrixXd(1, n)};
  for (int i = 0; i < n; ++i) {
    d.x(0, i) = u(rng);
    d.x(1, i) = u(rng);
    d.y(0, i) = 0.5 + 0.3 * std::sin(2 * d.x(0, i)) * d.x(1, i);
  }
  return d;
}

Mlp<double> small_net(std::uint64_t seed) {
  Mlp<double> net({2, 10, 1}, {Activation::tanh, Activation::sigmoid});
  net.initialize_glorot(seed);
  return net;
}

// Minibatches of 64 in shards of 16 (four shards each, their network copies kept between fits).
TrainSettings<double> sharded_settings(int max_epochs) {
  TrainSettings<double> s;
  s.max_epochs = max_epochs;
  s.batch_size = 64;
  s.shard_size = 16;
  return s;
}

}  // namespace

TEST_CASE("Trainer is deterministic by seed and its loss history is consistent", "[training]") {
  const Data d = smooth_data(300, 1);
  TrainSettings<double> s;
  s.max_epochs = 30;
  s.batch_size = 64;
  s.seed = 9;
  auto a = small_net(2), b = small_net(2), c = small_net(2);
  Trainer<double> ta(s), tb(s);
  const auto ra = ta.fit(a, d.x, d.y);
  const auto rb = tb.fit(b, d.x, d.y);
  CHECK(a.parameters() == b.parameters());
  CHECK(ra.loss_history == rb.loss_history);
  s.seed = 10;
  Trainer<double> tc(s);
  tc.fit(c, d.x, d.y);
  CHECK(a.parameters() != c.parameters());
  CHECK(static_cast<int>(ra.loss_history.size()) == ra.epochs);
  CHECK(ra.best_loss == *std::min_element(ra.loss_history.begin(), ra.loss_history.end()));
  CHECK(ra.loss_history.back() < ra.loss_history.front());
  CHECK_THROWS_AS(ta.fit(a, d.x.topRows(1), d.y), std::invalid_argument);
}

TEST_CASE("Gradient shards: the same weights for any thread count, the unsharded sum for one shard",
          "[training][shards]") {
  const Data d = smooth_data(300, 1);
  TrainSettings<double> s = sharded_settings(12);  // the last minibatch (44) in three shards
  s.seed = 4;
  std::vector<Mlp<double>> nets;
  std::vector<TrainResult<double>> results;
  for (int threads : {1, 2, 3, 8}) {
    INFO("threads " << threads);
    s.threads = threads;
    nets.push_back(small_net(2));
    Trainer<double> t(s);
    results.push_back(t.fit(nets.back(), d.x, d.y));
    CHECK(nets.back().parameters() == nets.front().parameters());  // bit for bit
    CHECK(results.back().loss_history == results.front().loss_history);
  }
  // Shards change only the order of the sums: one shard (shard_size >= batch) is the
  // unsharded minibatch; four shards agree with it to round-off after the first epoch.
  s.threads = 1;
  s.max_epochs = 1;
  s.shard_size = 64;
  auto one = small_net(2), four = small_net(2);
  Trainer<double>(s).fit(one, d.x, d.y);
  s.shard_size = 16;
  Trainer<double>(s).fit(four, d.x, d.y);
  CHECK((one.parameters() - four.parameters()).norm() <= 1e-12 * one.parameters().norm());
  CHECK(one.parameters() != four.parameters());  // the sums did change order
}

TEST_CASE("A trainer reused on a network of the same widths but other activations trains it",
          "[training][shards]") {
  const Data d = smooth_data(200, 2);
  const TrainSettings<double> s = sharded_settings(5);
  auto tanh_net = small_net(1);
  Trainer<double> reused(s);
  reused.fit(tanh_net, d.x, d.y);
  Mlp<double> logistic({2, 10, 1}, {Activation::sigmoid, Activation::sigmoid});
  logistic.initialize_glorot(1);
  Mlp<double> fresh_copy = logistic;
  const auto r = reused.fit(logistic, d.x, d.y);
  const auto expected = Trainer<double>(s).fit(fresh_copy, d.x, d.y);
  CHECK(r.loss_history == expected.loss_history);
  CHECK(logistic.parameters() == fresh_copy.parameters());
}

TEST_CASE("Early stopping with patience and restore-best", "[training]") {
  const Data d = smooth_data(200, 3);
  TrainSettings<double> s;
  s.max_epochs = 3000;
  s.batch_size = 16;
  s.patience = 5;
  s.adam.learning_rate = 5e-2;  // large steps: the epoch loss stalls and fluctuates
  s.seed = 4;
  auto net = small_net(5);
  const Mlp<double> init = net;
  const auto r = Trainer<double>(s).fit(net, d.x, d.y);
  REQUIRE(r.status == TrainStatus::early_stopped);
  CHECK(r.epochs == r.best_epoch + 1 + s.patience);
  // Same seed, stopped right after the best epoch without restoring: identical weights.
  auto replay = init;
  TrainSettings<double> s2 = s;
  s2.max_epochs = r.best_epoch + 1;
  s2.restore_best = false;
  const auto r2 = Trainer<double>(s2).fit(replay, d.x, d.y);
  CHECK(r2.status == TrainStatus::max_epochs);
  CHECK(replay.parameters() == net.parameters());
  CHECK(r2.final_loss == r.best_loss);
}

TEST_CASE("Warm start continues from the current weights", "[training]") {
  const Data d = smooth_data(300, 6);
  TrainSettings<double> s;
  s.max_epochs = 40;
  s.batch_size = 32;
  s.patience = 1000;
  auto net = small_net(7);
  Trainer<double> t(s);
  const auto first = t.fit(net, d.x, d.y);
  const auto second = t.fit(net, d.x, d.y);
  CHECK(second.loss_history.front() < first.loss_history.front());
  CHECK(second.best_loss < first.best_loss);
}

TEST_CASE("Train settings convert between scalar types", "[training]") {
  rmpc::learn::TrainSettings<double> d;
  d.max_epochs = 7;
  d.batch_size = 64;
  d.adam.learning_rate = 2e-3;
  d.huber_delta = 0.5;
  d.patience = 3;
  d.seed = 99;
  const auto f = rmpc::learn::cast_settings<float>(d);
  CHECK(f.max_epochs == 7);
  CHECK(f.batch_size == 64);
  CHECK(f.adam.learning_rate == Approx(2e-3f));
  CHECK(f.huber_delta == 0.5f);
  CHECK(f.patience == 3);
  CHECK(f.seed == 99u);
  CHECK(f.loss == d.loss);
}

TEST_CASE("learn settings: defaults validate, a bad field is named by the consumer",
          "[training][settings]") {
  using rmpc::testing::thrown_message;
  CHECK_NOTHROW(FittedQSettings<float>{}.validate());
  CHECK_NOTHROW(TargetScalerSettings<double>{}.validate());
  TrainSettings<double> ts;
  ts.batch_size = 0;
  CHECK(thrown_message([&] { Trainer<double> t(ts); }) ==
        "TrainSettings::batch_size must be > 0 (got 0)");
  ts = {};
  ts.shard_size = 0;
  CHECK(thrown_message([&] { Trainer<double> t(ts); }) ==
        "TrainSettings::shard_size must be > 0 (got 0)");
  ts = {};
  ts.threads = 0;
  CHECK(thrown_message([&] { Trainer<double> t(ts); }) ==
        "TrainSettings::threads must be > 0 (got 0)");
  ts = {};
  ts.adam.beta1 = -0.1;
  CHECK(thrown_message([&] {
          Trainer<double> t(ts);
        }).find("AdamSettings::beta1 must be in [0, 1)") == 0);
  AdamSettings<float> as;
  as.learning_rate = 0;
  CHECK(thrown_message([&] { Adam<float> a(as); }).find("AdamSettings::learning_rate") == 0);
  FittedQSettings<double> fq;
  fq.gamma = 1.5;
  CHECK(thrown_message([&] { fq.validate(); }).find("FittedQSettings::gamma must be in (0, 1]") ==
        0);
  TargetScalerSettings<double> sc;
  sc.floor = -1;
  CHECK(thrown_message([&] { TargetScaler<double> s(sc); }).find("TargetScalerSettings::floor") ==
        0);
}
