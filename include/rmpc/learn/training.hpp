// Minibatch training of an Mlp on (X, Y) pairs: Adam, MSE or Huber loss, seeded shuffling,
// early stopping on the epoch loss with patience and restore-best (method.md section 4:
// minibatch 256, Adam lr 1e-3, patience 50). Warm start = calling fit() again on the same
// network: training continues from its current weights.
//
// Each epoch visits a fresh seeded permutation of the samples in minibatches (the last one
// may be smaller); every minibatch is split into shards of shard_size samples. A shard's loss
// gradient comes from the AVX2/FMA kernel (detail/shard_kernel.hpp) for float networks on a
// CPU that has it (TrainSettings::simd_kernel), otherwise from one forward and one backward
// pass of Eigen products over its gathered samples on a network copy of its own (double
// networks, softplus layers, other CPUs and compilers). The shards' gradients and losses are summed
// in shard order, weighted by their share of the minibatch, so the result depends on
// shard_size but not on how many threads computed the shards (OpenMP when the consumer
// compiles with it; without, the same shards run one after another). The epoch loss is the
// sample-weighted mean of the minibatch losses seen during the epoch.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <rmpc/learn/adam.hpp>
#include <rmpc/learn/detail/shard_kernel.hpp>
#include <rmpc/learn/mlp.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace rmpc::learn {

template <typename Scalar_>
struct TrainSettings {
  using Scalar = Scalar_;
  int max_epochs = 500;            ///< hard cap; early stopping normally ends the fit first.
  Eigen::Index batch_size = 256;   ///< the paper's minibatch size.
  Loss loss = Loss::huber;         ///< the paper's critic loss.
  Scalar huber_delta = Scalar(1);  ///< scaled targets live in [0, 1]: 1 is the Keras default.
  AdamSettings<Scalar> adam{};     ///< lr 1e-3 as in the paper.
  int patience = 50;               ///< epochs without improvement before stopping (paper: 50).
  Scalar min_delta = Scalar(0);    ///< an epoch loss must beat best - min_delta to count.
  bool restore_best = true;        ///< end with the weights of the best epoch, not the last.
  bool reset_optimizer = true;     ///< fresh Adam moments per fit (targets change between fits).
  std::uint64_t seed = 0;          ///< shuffling seed; same seed and data -> same weights.
  /// Samples per gradient shard (the unit of parallel work): 128 = two shards per paper
  /// minibatch, one per core of a 2-core machine; large shards keep the matrix products
  /// efficient. Part of the result (the order of the sums), unlike `threads`.
  Eigen::Index shard_size = 128;
  /// Workers over the shards (OpenMP; 1 without it). The result does not depend on it.
  int threads = 1;
  /// Float networks on an AVX2/FMA CPU: each shard through detail/shard_kernel.hpp (register
  /// blocked FMA products with the activation fused; ~2.5x faster fits), not Eigen's
  /// products. Off: the Eigen path everywhere, whose results do not depend on the CPU's
  /// vector width.
  bool simd_kernel = true;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(max_epochs > 0, "TrainSettings::max_epochs", "> 0", max_epochs);
    require_setting(batch_size > 0, "TrainSettings::batch_size", "> 0", batch_size);
    require_setting(rmpc::detail::finite_positive(huber_delta), "TrainSettings::huber_delta",
                    "finite and > 0", huber_delta);
    require_setting(patience > 0, "TrainSettings::patience", "> 0", patience);
    require_setting(shard_size > 0, "TrainSettings::shard_size", "> 0", shard_size);
    require_setting(threads > 0, "TrainSettings::threads", "> 0", threads);
    require_setting(rmpc::detail::finite_nonnegative(min_delta), "TrainSettings::min_delta",
                    "finite and >= 0", min_delta);
    adam.validate();
  }
};

/// The same settings in another scalar type (e.g. a float network trained under double
/// loop settings).
template <typename To, typename From>
TrainSettings<To> cast_settings(const TrainSettings<From>& s) {
  TrainSettings<To> t;
  t.max_epochs = s.max_epochs;
  t.batch_size = s.batch_size;
  t.loss = s.loss;
  t.huber_delta = To(s.huber_delta);
  t.adam.learning_rate = To(s.adam.learning_rate);
  t.adam.beta1 = To(s.adam.beta1);
  t.adam.beta2 = To(s.adam.beta2);
  t.adam.epsilon = To(s.adam.epsilon);
  t.patience = s.patience;
  t.min_delta = To(s.min_delta);
  t.restore_best = s.restore_best;
  t.reset_optimizer = s.reset_optimizer;
  t.seed = s.seed;
  t.shard_size = s.shard_size;
  t.threads = s.threads;
  t.simd_kernel = s.simd_kernel;
  return t;
}

enum class TrainStatus {
  early_stopped,  ///< the loss did not improve for `patience` epochs.
  max_epochs,     ///< ran all epochs.
  non_finite,     ///< a loss or gradient became NaN/Inf; the best weights seen are restored.
};

inline const char* to_string(TrainStatus s) {
  switch (s) {
    case TrainStatus::early_stopped: return "early_stopped";
    case TrainStatus::max_epochs: return "max_epochs";
    case TrainStatus::non_finite: return "non_finite";
  }
  return "unknown";
}

template <typename Scalar_>
struct TrainResult {
  using Scalar = Scalar_;
  TrainStatus status = TrainStatus::max_epochs;
  int epochs = 0;       ///< epochs run.
  int best_epoch = -1;  ///< 0-based epoch of best_loss.
  Scalar best_loss = std::numeric_limits<Scalar>::infinity();
  Scalar final_loss = std::numeric_limits<Scalar>::infinity();  ///< loss of the last epoch run.
  std::vector<Scalar> loss_history;                             ///< one entry per epoch.
};

/// Holds the optimiser state, the shuffling generator and the minibatch buffers, so that
/// repeated fits reuse their memory.
template <typename Scalar_>
class Trainer {
 public:
  using Scalar = Scalar_;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Settings = TrainSettings<Scalar>;
  using Result = TrainResult<Scalar>;

  Trainer() = default;
  explicit Trainer(const Settings& settings) : settings_(settings) { settings_.validate(); }
  const Settings& settings() const { return settings_; }
  void set_settings(const Settings& settings) { settings_ = settings; }

  /// Fits net to Y (d_out x N) from X (d_in x N) starting from its current weights.
  Result fit(Mlp<Scalar>& net, const Eigen::Ref<const Matrix>& x,
             const Eigen::Ref<const Matrix>& y) {
    if (x.rows() != net.input_dim())
      throw std::invalid_argument("Trainer::fit: x must have d_in rows");
    if (y.rows() != net.output_dim() || y.cols() != x.cols())
      throw std::invalid_argument("Trainer::fit: y must be d_out x N with N = x.cols()");
    if (x.cols() < 1) throw std::invalid_argument("Trainer::fit: no samples");
    if (!x.allFinite()) throw std::invalid_argument("Trainer::fit: x has NaN/Inf");
    if (!y.allFinite()) throw std::invalid_argument("Trainer::fit: y has NaN/Inf");
    if (settings_.batch_size < 1)
      throw std::invalid_argument("Trainer::fit: batch_size must be >= 1");
    const Eigen::Index n = x.cols();
    const Eigen::Index nb = std::min(settings_.batch_size, n);
    adam_.set_settings(settings_.adam);
    if (settings_.reset_optimizer || adam_.steps() == 0) adam_.reset(net.num_parameters());
    rng_.seed(settings_.seed);
    order_.resize(static_cast<std::size_t>(n));
    std::iota(order_.begin(), order_.end(), Eigen::Index(0));
    grad_.resize(net.num_parameters());
    best_params_ = net.parameters();
    use_kernel_ = settings_.simd_kernel && detail::avx2_kernel_applies(net);

    Result result;
    result.loss_history.reserve(static_cast<std::size_t>(std::max(settings_.max_epochs, 0)));
    int since_best = 0;
    result.status = TrainStatus::max_epochs;
    for (int epoch = 0; epoch < settings_.max_epochs; ++epoch) {
      std::shuffle(order_.begin(), order_.end(), rng_);
      Scalar epoch_loss = Scalar(0);
      bool finite = true;
      for (Eigen::Index start = 0; start < n; start += nb) {
        const Eigen::Index b = std::min(nb, n - start);
        xb_.resize(x.rows(), b);
        yb_.resize(y.rows(), b);
        dy_.resize(y.rows(), b);
        const Scalar batch_loss = minibatch_gradient(net, x, y, start, b);
        if (!std::isfinite(batch_loss) || !grad_.allFinite()) {
          finite = false;
          break;
        }
        adam_.step(net.parameters(), grad_);
        epoch_loss += batch_loss * Scalar(b);
      }
      if (!finite) {
        result.status = TrainStatus::non_finite;
        net.set_parameters(best_params_);
        result.epochs = epoch + 1;
        return result;
      }
      epoch_loss /= Scalar(n);
      result.loss_history.push_back(epoch_loss);
      result.final_loss = epoch_loss;
      result.epochs = epoch + 1;
      if (epoch_loss < result.best_loss - settings_.min_delta) {
        result.best_loss = epoch_loss;
        result.best_epoch = epoch;
        best_params_ = net.parameters();
        since_best = 0;
      } else if (++since_best >= settings_.patience) {
        result.status = TrainStatus::early_stopped;
        break;
      }
    }
    if (settings_.restore_best && result.best_epoch >= 0) net.set_parameters(best_params_);
    return result;
  }

 private:
  /// Loss of the minibatch order_[start, start + b) of (x, y) and its gradient into grad_, as
  /// the shard-weighted sums of the file comment. Each shard gathers its own samples.
  Scalar minibatch_gradient(Mlp<Scalar>& net, const Eigen::Ref<const Matrix>& x,
                            const Eigen::Ref<const Matrix>& y, Eigen::Index start, Eigen::Index b) {
    const Eigen::Index shard = std::min(settings_.shard_size, b);
    const int shards = int((b + shard - 1) / shard);
    // The copies hold the architecture too: a refit of another network with the same widths
    // but other activations must not train the old ones.
    if (!shard_nets_.empty() && (shard_nets_.front().widths() != net.widths() ||
                                 shard_nets_.front().activations() != net.activations()))
      shard_nets_.clear();
    if (use_kernel_) {
#if RMPC_HAS_AVX2_KERNEL
      if (kernels_.size() < std::size_t(shards)) kernels_.resize(std::size_t(shards));
#endif
    } else if (shard_nets_.size() < std::size_t(shards)) {
      shard_nets_.resize(std::size_t(shards), net);
    }
    shard_grads_.resize(net.num_parameters(), shards);
    shard_losses_.resize(shards);
    const int threads = std::max(1, std::min(settings_.threads, shards));
    (void)threads;  // read by OpenMP only
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (int k = 0; k < shards; ++k) {
      const Eigen::Index begin = Eigen::Index(k) * shard, len = std::min(shard, b - begin);
#if RMPC_HAS_AVX2_KERNEL
      if constexpr (std::is_same<Scalar, float>::value) {
        if (use_kernel_) {
          shard_losses_(k) = kernels_[std::size_t(k)].loss_and_gradient(
              net, x.data(), x.outerStride(), y.data(), y.outerStride(),
              order_.data() + start + begin, len, settings_.loss, settings_.huber_delta,
              shard_grads_.col(k).data());
          continue;
        }
      }
#endif
      Mlp<Scalar>& copy = shard_nets_[std::size_t(k)];
      copy.parameters() = net.parameters();
      for (Eigen::Index j = begin; j < begin + len; ++j) {
        const Eigen::Index c = order_[static_cast<std::size_t>(start + j)];
        xb_.col(j) = x.col(c);
        yb_.col(j) = y.col(c);
      }
      const Matrix& pred = copy.forward(xb_.middleCols(begin, len));
      auto dy = dy_.middleCols(begin, len);
      shard_losses_(k) = regression_loss(settings_.loss, settings_.huber_delta, pred,
                                         yb_.middleCols(begin, len), dy);
      copy.backward(dy, shard_grads_.col(k));
    }
    if (shards == 1) {
      grad_ = shard_grads_.col(0);
      return shard_losses_(0);
    }
    grad_.setZero();
    Scalar loss = Scalar(0);
    for (int k = 0; k < shards; ++k) {
      const Eigen::Index len = std::min(shard, b - Eigen::Index(k) * shard);
      const Scalar weight = Scalar(len) / Scalar(b);
      grad_ += weight * shard_grads_.col(k);
      loss += weight * shard_losses_(k);
    }
    return loss;
  }

  Settings settings_{};
  Adam<Scalar> adam_{};
  std::mt19937_64 rng_{0};
  std::vector<Eigen::Index> order_;
  Vector grad_, best_params_;
  Matrix xb_, yb_, dy_;
  std::vector<Mlp<Scalar>> shard_nets_;  ///< one network copy (parameters and workspace) per shard
  bool use_kernel_ = false;              ///< this fit's shards go through the AVX2 kernel
#if RMPC_HAS_AVX2_KERNEL
  std::vector<detail::Avx2ShardKernel> kernels_;  ///< one workspace per shard (kernel path)
#endif
  Matrix shard_grads_;  ///< column k: the gradient of shard k
  Vector shard_losses_;
};

}  // namespace rmpc::learn
