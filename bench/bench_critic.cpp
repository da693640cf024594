// Critic speed (method.md section 4): fitting the paper's 4-20-20-1 network (541 weights) to
// 12 500 samples with minibatch 256, and the single-sample Q, dQ/da, d2Q/da2 path the
// policy-gradient estimator calls once per buffer sample, against its batched form.
#include <rmpc/learn/critic.hpp>

#include <benchmark/benchmark.h>

#include <random>

namespace {

constexpr Eigen::Index kSamples = 12500;  // 250 episodes x 50 steps

template <typename Scalar>
void make_data(Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& x,
               Eigen::Matrix<Scalar, Eigen::Dynamic, 1>& y) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  x.resize(4, kSamples);
  y.resize(kSamples);
  for (Eigen::Index i = 0; i < kSamples; ++i) {
    for (Eigen::Index r = 0; r < 4; ++r) x(r, i) = Scalar(u(rng));
    const double s1 = double(x(0, i)), s2 = double(x(1, i)), a = double(x(3, i));
    y(i) = Scalar(1.0 + s1 * s1 + 0.5 * s2 * s2 + (a - 0.3 * s1) * (a - 0.3 * s1));
  }
}

// 10 epochs of the paper's fit (49 minibatches of <= 256 each) per iteration.
template <typename Scalar>
void BM_CriticFitTenEpochs(benchmark::State& state) {
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> x;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> y;
  make_data(x, y);
  auto critic = rmpc::learn::make_paper_critic<Scalar>(2, 1, 3);
  rmpc::learn::TrainSettings<Scalar> settings;
  settings.max_epochs = 10;
  settings.patience = 1000;  // always run all 10 epochs
  for (auto _ : state) {
    auto result = critic.fit(x, y, settings);
    benchmark::DoNotOptimize(result.final_loss);
  }
  state.SetItemsProcessed(state.iterations() *
                          10);  // items = epochs: 100 / items_per_second = s per 100 epochs
}
BENCHMARK_TEMPLATE(BM_CriticFitTenEpochs, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_CriticFitTenEpochs, float)->Unit(benchmark::kMillisecond);

// The float fit of the loop by gradient shard size, threads and kernel (TrainSettings::
// shard_size, threads, simd_kernel): args (shard_size, threads, simd_kernel). shard 256 = one
// shard per minibatch = the unsharded computation; the shards' sum does not depend on threads.
// simd_kernel 0 = Eigen's products (the path before the AVX2 kernel, and the path on CPUs
// without AVX2/FMA). Read the times as ratios to (128, 1, 0) in the same run; threads beyond
// the machine's cores only measure oversubscription.
// The float data, the paper's critic and its fit's settings (epochs, threads, kernel).
struct FloatCritic {
  FloatCritic(int epochs, int threads, bool simd_kernel) {
    make_data(x, y);
    settings.max_epochs = epochs;
    settings.patience = 1000;  // always run all epochs
    settings.threads = threads;
    settings.simd_kernel = simd_kernel;
  }
  Eigen::MatrixXf x;
  Eigen::VectorXf y;
  rmpc::learn::Critic<float> critic = rmpc::learn::make_paper_critic<float>(2, 1, 3);
  rmpc::learn::TrainSettings<float> settings;
};

void BM_CriticFitShards(benchmark::State& state) {
  FloatCritic c(10, int(state.range(1)), state.range(2) != 0);
  c.settings.shard_size = state.range(0);
  for (auto _ : state) {
    auto result = c.critic.fit(c.x, c.y, c.settings);
    benchmark::DoNotOptimize(result.final_loss);
  }
  state.SetItemsProcessed(state.iterations() * 10);
}
BENCHMARK(BM_CriticFitShards)
    ->Args({128, 1, 0})
    ->Args({128, 1, 1})
    ->Args({256, 1, 1})
    ->Args({128, 2, 0})
    ->Args({128, 2, 1})
    ->Args({64, 2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Q at all 12 500 samples (the fitted-Q targets of one sweep), float: args (threads,
// simd_kernel) as above; the values do not depend on threads. One fit of one epoch first, so
// that value() runs with that fit's settings.
void BM_CriticValue(benchmark::State& state) {
  FloatCritic c(1, int(state.range(0)), state.range(1) != 0);
  c.critic.fit(c.x, c.y, c.settings);
  Eigen::VectorXf q(kSamples);
  for (auto _ : state) {
    c.critic.value(c.x, q);
    benchmark::DoNotOptimize(q.data());
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK(BM_CriticValue)
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
// All 12 500 samples through the single-sample fast path (one policy-gradient pass).
void BM_ValueGradientHessianSingle(benchmark::State& state) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  make_data(x, y);
  auto critic = rmpc::learn::make_paper_critic<double>(2, 1, 3);
  const auto idx = rmpc::learn::critic_action_indices(2, 1);
  for (auto _ : state) {
    double sum = 0.0;
    for (Eigen::Index i = 0; i < kSamples; ++i) {
      const auto& r = critic.value_gradient_hessian(x.col(i), idx);
      sum += r.dq_da(0) + r.d2q_da2(0, 0);
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK(BM_ValueGradientHessianSingle)->Unit(benchmark::kMillisecond);

// The same 12 500 samples in one batched call.
void BM_ValueGradientHessianBatched(benchmark::State& state) {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  make_data(x, y);
  auto critic = rmpc::learn::make_paper_critic<double>(2, 1, 3);
  const auto idx = rmpc::learn::critic_action_indices(2, 1);
  Eigen::VectorXd q(kSamples);
  Eigen::MatrixXd g(1, kSamples), h(1, kSamples);
  for (auto _ : state) {
    critic.value_gradient_hessian(x, idx, q, g, h);
    benchmark::DoNotOptimize(h.data());
  }
  state.SetItemsProcessed(state.iterations() * kSamples);
}
BENCHMARK(BM_ValueGradientHessianBatched)->Unit(benchmark::kMillisecond);

}  // namespace
