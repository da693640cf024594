// The AVX2/FMA shard kernel (learn/detail/shard_kernel.hpp) and its activations
// (learn/detail/avx2_activation.hpp): the loss and gradient of a shard equal the Eigen path's
// (Mlp::forward, regression_loss, Mlp::backward) to float round-off for odd widths, every
// supported activation, both losses and shard lengths around the 16-sample padding; the
// activations against the standard library over their whole range, NaN and infinities; the
// trainer with and without the kernel. On a CPU without AVX2/FMA the kernel cases are skipped
// (the trainer then takes the Eigen path, which the other training tests cover).
#include "rmpc_catch.hpp"

#include <rmpc/learn/critic.hpp>
#include <rmpc/learn/detail/shard_kernel.hpp>

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace rmpc::learn;

#if RMPC_HAS_AVX2_KERNEL

namespace {

// The activation of eight copies of z through the kernel's code: {a, d1}.
RMPC_TARGET_AVX2 std::pair<float, float> kernel_activation(Activation f, float z) {
  __m256 in[4], d[4];
  for (auto& v : in) v = _mm256_set1_ps(z);
  if (f == Activation::tanh)
    detail::tanh_n(in, in, d);
  else
    detail::logistic_n(in, in, d);
  float a[8], d1[8];
  _mm256_storeu_ps(a, in[3]);
  _mm256_storeu_ps(d1, d[3]);
  return {a[5], d1[5]};
}

}  // namespace

TEST_CASE("AVX2 tanh and logistic match the standard library over their range", "[kernel]") {
  if (!detail::cpu_has_avx2_fma()) {
    WARN("no AVX2/FMA on this CPU: the kernel is not used, nothing to check");
    return;
  }
  double worst_tanh = 0, worst_logistic = 0;
  for (int i = -40000; i <= 40000; ++i) {
    const float z = float(i) * 5e-4f;  // [-20, 20], steps well below the curvature scale
    const auto [t, dt] = kernel_activation(Activation::tanh, z);
    const double exact_t = std::tanh(double(z));
    worst_tanh = std::max(worst_tanh, std::abs(t - exact_t));
    CHECK(std::abs(dt - (1.0 - double(t) * t)) <= 6e-8);  // one rounding (the kernel fuses it)
    const auto [s, ds] = kernel_activation(Activation::sigmoid, z);
    const double e = std::exp(-std::abs(double(z)));
    const double exact_s = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    // Relative everywhere: the logistic's tail and its derivative are resolved in float.
    worst_logistic = std::max(worst_logistic, std::abs(s - exact_s) / exact_s);
    worst_logistic =
        std::max(worst_logistic, std::abs(ds - e / ((1 + e) * (1 + e))) * (1 + e) * (1 + e) / e);
    CHECK(std::signbit(t) == std::signbit(z));
  }
  CHECK(worst_tanh <= 2.5e-7);  // a few float ulps of 1
  CHECK(worst_logistic <= 4e-7);
  // Relative precision near 0 (tanh z = z - z^3 / 3): a gradient through a layer of small
  // pre-activations must not lose digits (an earlier form, (1 - e^{-2|z|}) / (1 + e^{-2|z|}),
  // was 11 % off at z = 1e-7).
  double worst_small = 0;
  for (double z = 0.5; z > 1e-44; z *= 0.37) {
    for (double sz : {z, -z}) {
      const float zf = float(sz);
      if (zf == 0.0f) continue;
      const double exact = std::tanh(double(zf));
      worst_small =
          std::max(worst_small, std::abs(kernel_activation(Activation::tanh, zf).first - exact) /
                                    std::abs(exact));
    }
  }
  CHECK(worst_small <= 2.5e-7);
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(kernel_activation(Activation::tanh, inf).first == 1.0f);
  CHECK(kernel_activation(Activation::tanh, -inf).first == -1.0f);
  CHECK(kernel_activation(Activation::sigmoid, inf).first == 1.0f);
  CHECK(kernel_activation(Activation::sigmoid, -inf).first <= 2e-38f);  // e^-87: exp's clamp
  CHECK(kernel_activation(Activation::sigmoid, -200.0f).first >= 0.0f);
  // NaN passes through (the trainer's finiteness check must see it), never becomes finite.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(kernel_activation(Activation::tanh, nan).first));
  CHECK(std::isnan(kernel_activation(Activation::sigmoid, nan).first));
}

TEST_CASE("The shard kernel's loss and gradient equal the Eigen path's", "[kernel]") {
  if (!detail::cpu_has_avx2_fma()) {
    WARN("no AVX2/FMA on this CPU: the kernel is not used, nothing to check");
    return;
  }
  using A = Activation;
  struct Shape {
    std::vector<Eigen::Index> widths;
    std::vector<A> activations;
  };
  const std::vector<Shape> shapes = {
      {{4, 20, 20, 1}, {A::tanh, A::tanh, A::sigmoid}},  // the paper's critic
      {{3, 5, 1}, {A::tanh, A::identity}},
      {{7, 9, 3, 2}, {A::sigmoid, A::tanh, A::identity}},
      {{1, 1}, {A::tanh}},
      {{6, 17, 13, 1}, {A::tanh, A::sigmoid, A::sigmoid}},
      {{2, 32, 32, 3}, {A::tanh, A::tanh, A::tanh}},
  };
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  detail::Avx2ShardKernel kernel;  // one workspace through every size: it must resize right
  for (std::size_t c = 0; c < shapes.size(); ++c) {
    Mlp<float> net(shapes[c].widths, shapes[c].activations);
    net.initialize_glorot(c);
    for (auto& p : net.parameters()) p += 0.3f * u(rng);  // nonzero biases
    const Eigen::Index n = 300, d_in = net.input_dim(), d_out = net.output_dim();
    Eigen::MatrixXf x(d_in + 2, n), y(d_out, n);  // x a block of a taller matrix: a stride
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = 3.0f * u(rng);
    for (Eigen::Index i = 0; i < y.size(); ++i) y.data()[i] = u(rng);
    for (Eigen::Index len : {1, 7, 16, 17, 128, 255}) {
      for (Loss loss : {Loss::mse, Loss::huber}) {
        INFO("shape " << c << ", " << len << " samples, loss " << int(loss));
        std::vector<Eigen::Index> cols(static_cast<std::size_t>(len));
        for (auto& i : cols) i = Eigen::Index(std::uniform_int_distribution<int>(0, n - 1)(rng));
        Eigen::VectorXf g(net.num_parameters()), expected(net.num_parameters());
        const float l =
            kernel.loss_and_gradient(net, x.data(), x.outerStride(), y.data(), y.outerStride(),
                                     cols.data(), len, loss, 0.5f, g.data());
        Eigen::MatrixXf xb(d_in, len), yb(d_out, len), dy(d_out, len);
        for (Eigen::Index s = 0; s < len; ++s) {
          xb.col(s) = x.col(cols[std::size_t(s)]).head(d_in);
          yb.col(s) = y.col(cols[std::size_t(s)]);
        }
        Mlp<float> reference = net;
        const float expected_loss = regression_loss(loss, 0.5f, reference.forward(xb), yb, dy);
        reference.backward(dy, expected);
        CHECK(std::abs(l - expected_loss) <= 1e-5f * expected_loss);
        CHECK((g - expected).cwiseAbs().maxCoeff() <= 2e-5f * expected.cwiseAbs().maxCoeff());
      }
    }
  }
}

TEST_CASE("The shard kernel keeps its precision at small input scales", "[kernel]") {
  if (!detail::cpu_has_avx2_fma()) {
    WARN("no AVX2/FMA on this CPU: the kernel is not used, nothing to check");
    return;
  }
  // A tanh layer fed tiny inputs: the kernel's gradient against a double reference, as
  // precise as the Eigen float path's at every scale.
  Mlp<float> net({2, 3, 1}, {Activation::tanh, Activation::identity});
  net.initialize_glorot(3);
  Mlp<double> reference({2, 3, 1}, {Activation::tanh, Activation::identity});
  reference.set_parameters(net.parameters().cast<double>());
  detail::Avx2ShardKernel kernel;
  for (float scale : {1.0f, 1e-4f, 1e-8f}) {
    INFO("input scale " << scale);
    Eigen::MatrixXf x(2, 5), y = Eigen::MatrixXf::Zero(1, 5);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = scale * float(i % 7 - 3) / 3.0f;
    std::vector<Eigen::Index> cols = {0, 1, 2, 3, 4};
    Eigen::VectorXf g(net.num_parameters());
    kernel.loss_and_gradient(net, x.data(), 2, y.data(), 1, cols.data(), 5, Loss::mse, 1.0f,
                             g.data());
    Eigen::MatrixXd dy(1, 5);
    const Eigen::MatrixXd xd = x.cast<double>();
    regression_loss(Loss::mse, 1.0, reference.forward(xd), Eigen::MatrixXd::Zero(1, 5), dy);
    Eigen::VectorXd expected(reference.num_parameters());
    reference.backward(dy, expected);
    CHECK((g.cast<double>() - expected).norm() <= 1e-5 * expected.norm());
  }
}

TEST_CASE("Padded samples add nothing, not even NaN", "[kernel]") {
  if (!detail::cpu_has_avx2_fma()) {
    WARN("no AVX2/FMA on this CPU: the kernel is not used, nothing to check");
    return;
  }
  // A network that overflows on a zero input but not on the real one (x = 1): the padding of
  // a one-sample shard to 16 must not turn the finite gradient into NaN.
  Mlp<float> net({1, 1, 1, 1}, {Activation::identity, Activation::identity, Activation::identity});
  net.parameters() << -1e30f, 1e30f, 1e10f, 0.0f, 1.0f, 0.0f;
  const Eigen::MatrixXf x = Eigen::MatrixXf::Ones(1, 1), y = Eigen::MatrixXf::Ones(1, 1);
  const Eigen::Index col = 0;
  detail::Avx2ShardKernel kernel;
  Eigen::VectorXf g(net.num_parameters()), expected(net.num_parameters());
  kernel.loss_and_gradient(net, x.data(), 1, y.data(), 1, &col, 1, Loss::mse, 1.0f, g.data());
  Mlp<float> copy = net;
  Eigen::MatrixXf dy(1, 1);
  regression_loss(Loss::mse, 1.0f, copy.forward(x), y, dy);
  copy.backward(dy, expected);
  CHECK(g.allFinite());
  CHECK(g == expected);
}

#endif  // RMPC_HAS_AVX2_KERNEL

TEST_CASE("The trainer fits alike with and without the kernel, by seed and for any threads",
          "[kernel][training]") {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  Eigen::MatrixXf x(4, 1000), y(1, 1000);
  for (Eigen::Index i = 0; i < x.cols(); ++i) {
    for (Eigen::Index r = 0; r < 4; ++r) x(r, i) = u(rng);
    y(0, i) = 0.2f + 0.5f * x(0, i) * x(0, i) + 0.2f * (x(3, i) - 0.3f * x(1, i)) * x(2, i);
  }
  auto fit = [&](bool simd, int threads) {
    Mlp<float> net({4, 20, 20, 1}, {Activation::tanh, Activation::tanh, Activation::sigmoid});
    net.initialize_glorot(7);
    TrainSettings<float> s;
    s.max_epochs = 40;
    s.batch_size = 256;
    s.shard_size = 100;  // the last shard of each minibatch is partial: padding in use
    s.simd_kernel = simd;
    s.threads = threads;
    s.seed = 3;
    const auto r = Trainer<float>(s).fit(net, x, y);
    return std::make_pair(net.parameters().eval(), r.best_loss);
  };
  const auto [eigen_params, eigen_loss] = fit(false, 1);
  const auto [simd_params, simd_loss] = fit(true, 1);
  // The same descent to round-off: 40 epochs of Adam amplify it only mildly on this data.
  CHECK(std::abs(simd_loss - eigen_loss) <= 1e-3f * eigen_loss);
  CHECK((simd_params - eigen_params).norm() <= 1e-3f * eigen_params.norm());
  for (int threads : {2, 3}) {
    INFO("threads " << threads);
    const auto [p, l] = fit(true, threads);
    CHECK(p == simd_params);  // bit for bit
    CHECK(l == simd_loss);
  }
}

TEST_CASE("The critic's values by the kernel equal Mlp::forward's, for any threads and sizes",
          "[kernel][critic]") {
  if (!detail::cpu_has_avx2_fma()) {
    WARN("no AVX2/FMA on this CPU: the kernel is not used, nothing to check");
    return;
  }
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  Eigen::MatrixXf x(4, 1000);
  Eigen::VectorXf y(1000);
  for (Eigen::Index i = 0; i < x.cols(); ++i) {
    for (Eigen::Index r = 0; r < 4; ++r) x(r, i) = u(rng);
    y(i) = 1.0f + x(0, i) * x(0, i) + 0.5f * std::abs(x(3, i));
  }
  Critic<float> critic = make_paper_critic<float>(2, 1, 11);
  TrainSettings<float> s;
  s.max_epochs = 3;
  s.seed = 2;
  for (bool simd : {false, true}) {
    for (int threads : {1, 2, 3}) {
      s.simd_kernel = simd;
      s.threads = threads;
      Critic<float> c = critic;
      c.fit(x, y, s);  // the scalers and weights of a fit; value() then runs like it
      // Across the chunk boundaries (256): 1, 255, 256, 257 and all samples.
      for (Eigen::Index count : {1, 255, 256, 257, 1000}) {
        INFO("simd " << simd << ", threads " << threads << ", " << count << " samples");
        const Eigen::MatrixXf xc = x.leftCols(count);
        const Eigen::VectorXf q = c.value(xc);
        Eigen::MatrixXf xs(4, count);
        c.input_scaler().transform(xc, xs);
        const Eigen::MatrixXf o = c.network().forward(xs);
        float worst = 0;
        for (Eigen::Index i = 0; i < count; ++i) {
          const float ref = c.target_scaler().inverse(o(0, i));
          worst = std::max(worst, std::abs(q(i) - ref) / std::abs(ref));
          if (!simd) CHECK(q(i) == ref);  // the Eigen path is Mlp::forward itself
          // Each sample on its own in the kernel: the same value whatever the batch and
          // thread count (Eigen's products are not: a matrix-vector product sums otherwise).
          if (simd && count == 1000 && i < 257)
            CHECK(q(i) == c.value_single(Eigen::VectorXf(xc.col(i))));
        }
        CHECK(worst <= 2e-6f);  // float round-off of three layers and the log10 inverse
      }
    }
  }
}
