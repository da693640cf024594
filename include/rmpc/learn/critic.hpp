// The Q-function critic of method.md section 4:
//
//     Q(x) = T^{-1}( net( (x - mean) / scale ) ),   x = (s, a_prev, a),
//
// an Mlp between an input Standardizer and a TargetScaler (paper: log10 targets min-max
// mapped to [0, 1], sigmoid output, Q = 10^(lo + (hi - lo) net)). dQ/da and d2Q/da2 are
// exact in physical units by the chain rule through both scalings:
//     dQ/da_i      = T'(o) do/dx_i / scale_i,
//     d2Q/da_i da_j = T''(o) (do/dx_i)(do/dx_j) / (scale_i scale_j) + T'(o) d2o/dx_i dx_j /
//     (scale_i scale_j),
// where o is the network output and do/dx, d2o/dx2 its derivatives w.r.t. standardised inputs.
// value_gradient_hessian() is the single-sample fast path of the policy-gradient estimator
// (one call per buffer sample): it allocates nothing once warmed up for a given k.
#pragma once

#include <rmpc/learn/mlp.hpp>
#include <rmpc/learn/scaling.hpp>
#include <rmpc/learn/training.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace rmpc::learn {

/// Value and action derivatives of Q at one point, in physical units.
template <typename Scalar_>
struct ValueGradientHessian {
  using Scalar = Scalar_;
  Scalar value = Scalar(0);                                       ///< Q(x)
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> dq_da;                 ///< dQ/da (k)
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> d2q_da2;  ///< d2Q/da2 (k x k)
};

template <typename Scalar_>
class Critic {
 public:
  using Scalar = Scalar_;
  using Index = Eigen::Index;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  Critic() = default;
  /// `net` must have a scalar output; the scalers start as identity / range [0, 1] until fit().
  explicit Critic(Mlp<Scalar> net, TargetScalerSettings<Scalar> target = {})
      : net_(std::move(net)), input_scaler_(net_.input_dim()), target_scaler_(target) {
    if (net_.output_dim() != 1)
      throw std::invalid_argument("Critic: net must have a scalar output");
  }

  Mlp<Scalar>& network() { return net_; }
  const Mlp<Scalar>& network() const { return net_; }
  Standardizer<Scalar>& input_scaler() { return input_scaler_; }
  const Standardizer<Scalar>& input_scaler() const { return input_scaler_; }
  TargetScaler<Scalar>& target_scaler() { return target_scaler_; }
  const TargetScaler<Scalar>& target_scaler() const { return target_scaler_; }
  Index input_dim() const { return net_.input_dim(); }

  /// Fits Q to the physical targets y (N) at inputs x (d_in x N), continuing from the
  /// current weights (warm start). refit_scalers: re-estimate mean/scale and lo/hi on this
  /// data first (needed when the target range grows from one fitted-Q sweep to the next,
  /// because the sigmoid output cannot leave [0, 1]).
  TrainResult<Scalar> fit(const Eigen::Ref<const Matrix>& x, const Eigen::Ref<const Vector>& y,
                          const TrainSettings<Scalar>& settings, bool refit_scalers = true) {
    if (x.rows() != input_dim() || y.size() != x.cols())
      throw std::invalid_argument("Critic::fit: x must be d_in x N and y of size N");
    if (refit_scalers) {
      input_scaler_.fit(x);
      target_scaler_.fit(y);
    }
    xs_.resize(x.rows(), x.cols());
    input_scaler_.transform(x, xs_);
    ys_.resize(1, y.size());
    for (Index i = 0; i < y.size(); ++i) ys_(0, i) = target_scaler_.forward(y(i));
    trainer_.set_settings(settings);
    return trainer_.fit(net_, xs_, ys_);
  }

  /// Q at every column of x (d_in x B) into q (B). Like the last fit's training (its
  /// TrainSettings; the defaults before any fit): with simd_kernel, a float network on an
  /// AVX2/FMA CPU is evaluated by the training kernel (detail/shard_kernel.hpp) in fixed
  /// chunks of value_chunk samples spread over `threads` (the same values for any thread
  /// count), otherwise by Mlp::forward.
  void value(const Eigen::Ref<const Matrix>& x, Eigen::Ref<Vector> q) {
    if (x.rows() != input_dim() || q.size() != x.cols())
      throw std::invalid_argument("Critic::value: x must be d_in x B and q of size B");
    xs_.resize(x.rows(), x.cols());
    input_scaler_.transform(x, xs_);
    if (kernel_values(q)) return;
    const Matrix& o = net_.forward(xs_);
    for (Index i = 0; i < q.size(); ++i) q(i) = target_scaler_.inverse(o(0, i));
  }
  Vector value(const Eigen::Ref<const Matrix>& x) {
    Vector q(x.cols());
    value(x, q);
    return q;
  }
  Scalar value_single(const Eigen::Ref<const Vector>& x) {
    Vector q(1);
    value(x, q);
    return q(0);
  }

  /// Batched Q, dQ/da and d2Q/da2 at every column of x (d_in x B); a = the inputs listed in
  /// action_indices (k). Outputs: q (B), dq_da (k x B), d2q_da2 (k*k x B, entry (i*k + j, b)).
  void value_gradient_hessian(const Eigen::Ref<const Matrix>& x,
                              const std::vector<Index>& action_indices, Eigen::Ref<Vector> q,
                              Eigen::Ref<Matrix> dq_da, Eigen::Ref<Matrix> d2q_da2) {
    const Index k = static_cast<Index>(action_indices.size());
    if (x.rows() != input_dim())
      throw std::invalid_argument("Critic::value_gradient_hessian: x must have d_in rows");
    if (q.size() != x.cols() || dq_da.rows() != k || dq_da.cols() != x.cols() ||
        d2q_da2.rows() != k * k || d2q_da2.cols() != x.cols())
      throw std::invalid_argument(
          "Critic::value_gradient_hessian: q (B), dq_da (k x B), d2q_da2 (k*k x B)");
    xs_.resize(x.rows(), x.cols());
    input_scaler_.transform(x, xs_);
    net_.input_derivatives(xs_, action_indices, q, dq_da, d2q_da2);  // network units first
    const auto& scale = input_scaler_.scale();
    for (Index b = 0; b < x.cols(); ++b) {
      Scalar y, dy, d2y;
      target_scaler_.inverse_derivatives(q(b), y, dy, d2y);
      for (Index i = 0; i < k; ++i)
        for (Index j = 0; j < k; ++j) {
          const Scalar si = scale(action_indices[i]), sj = scale(action_indices[j]);
          d2q_da2(i * k + j, b) =
              (d2y * dq_da(i, b) * dq_da(j, b) + dy * d2q_da2(i * k + j, b)) / (si * sj);
        }
      for (Index i = 0; i < k; ++i) dq_da(i, b) = dy * dq_da(i, b) / scale(action_indices[i]);
      q(b) = y;
    }
  }

  /// Single-sample fast path: Q, dQ/da (k), d2Q/da2 (k x k) at one input. Returns a reference
  /// to an internal result, valid until the next call; no heap allocation after the first
  /// call with this k.
  const ValueGradientHessian<Scalar>& value_gradient_hessian(
      const Eigen::Ref<const Vector>& x, const std::vector<Index>& action_indices) {
    const Index k = static_cast<Index>(action_indices.size());
    if (x.size() != input_dim())
      throw std::invalid_argument("Critic::value_gradient_hessian: x must have d_in entries");
    single_q_.resize(1);
    single_g_.resize(k, 1);
    single_h_.resize(k * k, 1);
    value_gradient_hessian(x, action_indices, single_q_, single_g_, single_h_);
    single_.value = single_q_(0);
    single_.dq_da = single_g_.col(0);
    single_.d2q_da2.resize(k, k);
    for (Index i = 0; i < k; ++i)
      for (Index j = 0; j < k; ++j) single_.d2q_da2(i, j) = single_h_(i * k + j, 0);
    return single_;
  }

 private:
  /// Samples per chunk of the kernel's evaluation (part of no result: each sample's value is
  /// computed on its own).
  static constexpr Index value_chunk = 256;

  /// value() by the kernel from the standardised inputs xs_, the target transform's inverse
  /// in the same chunks (it is the costlier half: a power of ten per sample); false when the
  /// kernel does not apply (Scalar, CPU, activations, settings.simd_kernel).
  bool kernel_values(Eigen::Ref<Vector> q) {
#if RMPC_HAS_AVX2_KERNEL
    if constexpr (std::is_same<Scalar, float>::value) {
      if (!trainer_.settings().simd_kernel || !detail::avx2_kernel_applies(net_)) return false;
      const Index count = xs_.cols(), chunks = (count + value_chunk - 1) / value_chunk;
      const int threads =
          int(std::max<Index>(1, std::min<Index>(trainer_.settings().threads, chunks)));
      if (value_kernels_.size() < std::size_t(threads)) value_kernels_.resize(std::size_t(threads));
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
      for (Index c = 0; c < chunks; ++c) {
#if defined(_OPENMP)
        const std::size_t worker = std::size_t(omp_get_thread_num());
#else
        const std::size_t worker = 0;
#endif
        const Index first = c * value_chunk, len = std::min(value_chunk, count - first);
        // The network's outputs straight into q (one output, q's inner stride is 1), then the
        // transform's inverse in place.
        value_kernels_[worker].forward(net_, xs_.data(), xs_.outerStride(), first, len,
                                       q.data() + first, 1);
        for (Index i = first; i < first + len; ++i) q(i) = target_scaler_.inverse(q(i));
      }
      return true;
    }
#endif
    (void)q;
    return false;
  }

  Mlp<Scalar> net_;
  Standardizer<Scalar> input_scaler_;
  TargetScaler<Scalar> target_scaler_;
  Trainer<Scalar> trainer_;
  Matrix xs_, ys_;
#if RMPC_HAS_AVX2_KERNEL
  std::vector<detail::Avx2ShardKernel> value_kernels_;  ///< one workspace per thread
#endif
  Vector single_q_;
  Matrix single_g_, single_h_;
  ValueGradientHessian<Scalar> single_;
};

/// The paper's critic on x = (s, a_prev, a): d_in = state_dim + 2 action_dim, two hidden
/// tanh layers of 20, sigmoid output, log10 min-max targets (or `targets`), Glorot init from
/// `seed` (541 weights for the 2-D benchmark).
template <typename Scalar>
Critic<Scalar> make_paper_critic(Eigen::Index state_dim, Eigen::Index action_dim,
                                 std::uint64_t seed, Eigen::Index hidden = 20,
                                 TargetTransform targets = TargetTransform::log10_min_max) {
  Mlp<Scalar> net({state_dim + 2 * action_dim, hidden, hidden, 1},
                  {Activation::tanh, Activation::tanh, Activation::sigmoid});
  net.initialize_glorot(seed);
  TargetScalerSettings<Scalar> target;
  target.transform = targets;
  return Critic<Scalar>(std::move(net), target);
}

/// Indices of the action a inside the critic input (s, a_prev, a): the last action_dim entries.
inline std::vector<Eigen::Index> critic_action_indices(Eigen::Index state_dim,
                                                       Eigen::Index action_dim) {
  std::vector<Eigen::Index> idx(static_cast<std::size_t>(action_dim));
  for (Eigen::Index j = 0; j < action_dim; ++j)
    idx[static_cast<std::size_t>(j)] = state_dim + action_dim + j;
  return idx;
}

}  // namespace rmpc::learn
