// The critic's training step on one gradient shard (training.hpp) for a float network on an
// AVX2/FMA CPU: the loss of the shard's samples and its gradient with respect to the
// parameters, the same quantities as Mlp::forward + regression_loss + Mlp::backward.
//
// Why a kernel of our own: the paper's network (4-20-20-1) makes every product small (20 x 20
// times 20 x 128); Eigen's general product packs both operands for each of them and is built
// for the translation unit's instruction set (SSE2 without -march), and each layer's
// activation and derivative is a separate pass. Here the activations are stored sample-major
// (row r of a layer holds feature r of all samples, the shard padded to a multiple of 16 with
// copies of its first sample), so eight samples fill one register: a layer is W's entries broadcast
// against rows of the layer below, accumulated by FMA in registers for a block of 4 outputs x
// 16 samples, with the activation and its derivative applied before the block is stored. The
// weight gradient is a dot product over the samples per (output, input) pair, 2 x 4 pairs at
// a time. Padded samples have zero loss derivative, so they add nothing to the gradient.
// The activations keep full relative precision near 0 (avx2_activation.hpp), so a gradient
// agrees with the Eigen path's to float round-off at any input scale.
//
// Sums run in a fixed order (per shard), so a shard's result does not depend on the thread
// that computes it. It differs from the Eigen path in round-off (FMA, other summation order,
// a polynomial exp); results are identical run to run on one machine, and may differ in the
// last bits between machines with and without AVX2/FMA.
#pragma once

#include <rmpc/learn/adam.hpp>
#include <rmpc/learn/detail/avx2_activation.hpp>
#include <rmpc/learn/mlp.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <type_traits>
#include <vector>

namespace rmpc::learn::detail {

/// Whether the AVX2 kernel trains this network: float parameters, an AVX2/FMA CPU, and every
/// activation identity, tanh or logistic (softplus keeps the Eigen path).
template <typename Scalar>
bool avx2_kernel_applies(const Mlp<Scalar>& net) {
  if (!std::is_same<Scalar, float>::value || !cpu_has_avx2_fma() || net.num_layers() == 0)
    return false;
  for (Activation a : net.activations())
    if (a == Activation::softplus) return false;
  return true;
}

#if RMPC_HAS_AVX2_KERNEL

class Avx2ShardKernel {
 public:
  using Index = Eigen::Index;

  /// Mean loss of the samples cols[0..len) of (x, y) and its gradient into grad
  /// (net.num_parameters() entries, overwritten). x is d_in x N column-major with column
  /// stride ldx, y d_out x N with stride ldy. No allocation once sized for the largest len.
  float loss_and_gradient(const Mlp<float>& net, const float* x, Index ldx, const float* y,
                          Index ldy, const Index* cols, Index len, Loss loss, float huber_delta,
                          float* grad) {
    const auto& widths = net.widths();
    const Index layers = net.num_layers();
    size_for(net, len);
    gather(x, ldx, widths.front(), cols, len, act_.data());
    const Index d_out = widths.back();
    gather(y, ldy, d_out, cols, len, target_.data());
    for (Index l = 0; l < layers; ++l)
      forward_layer(net, l, layer(act_, l), layer(act_, l + 1), layer(d1_, l + 1));

    // dloss/dy by the shared loss (same definition as the Eigen path), then delta = dloss f'.
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using View = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;
    using ConstView = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
    const Eigen::OuterStride<> outer(stride_);
    View dloss(delta_.data(), d_out, len, outer);
    const float mean_loss =
        regression_loss(loss, huber_delta, ConstView(layer(act_, layers), d_out, len, outer),
                        ConstView(target_.data(), d_out, len, outer), dloss);
    const float* d1_out = layer(d1_, layers);
    for (Index i = 0; i < d_out; ++i) {
      float* row = delta_.data() + i * stride_;
      for (Index s = 0; s < len; ++s) row[s] *= d1_out[i * stride_ + s];
      std::fill(row + len, row + stride_, 0.0f);  // padded samples add nothing
    }
    for (Index l = layers - 1; l >= 0; --l) {
      gradient_layer(net, l, delta_.data(), layer(act_, l), grad + net.parameter_offset(l));
      if (l > 0) {
        backpropagate_layer(net, l, delta_.data(), layer(d1_, l), delta_below_.data());
        delta_.swap(delta_below_);
      }
    }
    return mean_loss;
  }

  /// The network's output at the samples first .. first + len - 1 of x (d_in x N, column
  /// stride ldx) into out (d_out x len, column stride ldo): Mlp::forward's values, computed by
  /// the same layer code as the loss (the derivatives of the activations are formed and not
  /// read). No allocation once sized for the largest len.
  void forward(const Mlp<float>& net, const float* x, Index ldx, Index first, Index len, float* out,
               Index ldo) {
    const auto& widths = net.widths();
    const Index layers = net.num_layers();
    size_for(net, len);
    for (Index r = 0; r < widths.front(); ++r) {
      float* row = act_.data() + r * stride_;
      for (Index s = 0; s < len; ++s) row[s] = x[(first + s) * ldx + r];
      std::fill(row + len, row + stride_, row[0]);
    }
    for (Index l = 0; l < layers; ++l)
      forward_layer(net, l, layer(act_, l), layer(act_, l + 1), layer(d1_, l + 1));
    const float* o = layer(act_, layers);
    for (Index i = 0; i < widths.back(); ++i)
      for (Index s = 0; s < len; ++s) out[s * ldo + i] = o[i * stride_ + s];
  }

 private:
  /// Layer offsets and buffers for a shard of len samples (grown, never shrunk).
  void size_for(const Mlp<float>& net, Index len) {
    const auto& widths = net.widths();
    const Index layers = net.num_layers();
    stride_ = (len + 15) / 16 * 16;
    offset_.resize(std::size_t(layers) + 1);
    Index total = 0, widest = 0;
    for (Index l = 0; l <= layers; ++l) {
      offset_[std::size_t(l)] = total;
      total += widths[std::size_t(l)] * stride_;
      widest = std::max(widest, widths[std::size_t(l)]);
    }
    if (Index(act_.size()) < total) {
      act_.resize(std::size_t(total));
      d1_.resize(std::size_t(total));
    }
    if (Index(delta_.size()) < widest * stride_) {
      delta_.resize(std::size_t(widest * stride_));
      delta_below_.resize(std::size_t(widest * stride_));
      target_.resize(std::size_t(widest * stride_));
    }
  }

  const float* layer(const std::vector<float>& v, Index l) const {
    return v.data() + offset_[std::size_t(l)];
  }
  float* layer(std::vector<float>& v, Index l) { return v.data() + offset_[std::size_t(l)]; }

  /// Rows of `out` (rows x stride_) = the columns cols[] of src (rows x N, stride ld); the
  /// padding repeats the first sample: a real sample's activations, so that 0 * (its
  /// activation) is NaN only where that sample's own gradient is (zeros as inputs could
  /// overflow a layer on their own and add NaN to a finite gradient).
  void gather(const float* src, Index ld, Index rows, const Index* cols, Index len, float* out) {
    for (Index r = 0; r < rows; ++r) {
      float* row = out + r * stride_;
      for (Index s = 0; s < len; ++s) row[s] = src[cols[s] * ld + r];
      std::fill(row + len, row + stride_, row[0]);
    }
  }

  // Layer l: out = f(W in + b), d1 = f'(W in + b), four outputs at a time.
  void forward_layer(const Mlp<float>& net, Index l, const float* in, float* out, float* d1) {
    const Index n_out = net.widths()[std::size_t(l + 1)], n_in = net.widths()[std::size_t(l)];
    const float* w = net.parameters().data() + net.parameter_offset(l);
    const float* b = w + n_out * n_in;
    const Activation f = net.activations()[std::size_t(l)];
    for (Index i = 0; i < n_out; i += 4) {
      switch (std::min<Index>(4, n_out - i)) {
        case 4:
          affine<4>(w + i, n_out, b + i, in, n_in, f, out + i * stride_, d1 + i * stride_);
          break;
        case 3:
          affine<3>(w + i, n_out, b + i, in, n_in, f, out + i * stride_, d1 + i * stride_);
          break;
        case 2:
          affine<2>(w + i, n_out, b + i, in, n_in, f, out + i * stride_, d1 + i * stride_);
          break;
        default: affine<1>(w + i, n_out, b + i, in, n_in, f, out + i * stride_, d1 + i * stride_);
      }
    }
  }

  // delta_below = (W' delta) .* f'(layer l's input), four inputs at a time.
  void backpropagate_layer(const Mlp<float>& net, Index l, const float* delta, const float* d1,
                           float* below) {
    const Index n_out = net.widths()[std::size_t(l + 1)], n_in = net.widths()[std::size_t(l)];
    const float* w = net.parameters().data() + net.parameter_offset(l);
    for (Index j = 0; j < n_in; j += 4) {
      const float* wj = w + j * n_out;
      float* o = below + j * stride_;
      const float* dj = d1 + j * stride_;
      switch (std::min<Index>(4, n_in - j)) {
        case 4: transposed<4>(wj, n_out, delta, dj, o); break;
        case 3: transposed<3>(wj, n_out, delta, dj, o); break;
        case 2: transposed<2>(wj, n_out, delta, dj, o); break;
        default: transposed<1>(wj, n_out, delta, dj, o);
      }
    }
  }

  // Layer l's block of the gradient: dW = delta in', db = delta 1.
  void gradient_layer(const Mlp<float>& net, Index l, const float* delta, const float* in,
                      float* g) {
    const Index n_out = net.widths()[std::size_t(l + 1)], n_in = net.widths()[std::size_t(l)];
    for (Index i = 0; i < n_out; i += 2) {
      const bool pair = n_out - i >= 2;
      for (Index j = 0; j < n_in; j += 4) {
        const Index cols = std::min<Index>(4, n_in - j);
        float* gij = g + i + j * n_out;
        const float* dl = delta + i * stride_;
        const float* a = in + j * stride_;
        if (pair) {
          switch (cols) {
            case 4: outer_sums<2, 4>(dl, a, n_out, gij); break;
            case 3: outer_sums<2, 3>(dl, a, n_out, gij); break;
            case 2: outer_sums<2, 2>(dl, a, n_out, gij); break;
            default: outer_sums<2, 1>(dl, a, n_out, gij);
          }
        } else {
          switch (cols) {
            case 4: outer_sums<1, 4>(dl, a, n_out, gij); break;
            case 3: outer_sums<1, 3>(dl, a, n_out, gij); break;
            case 2: outer_sums<1, 2>(dl, a, n_out, gij); break;
            default: outer_sums<1, 1>(dl, a, n_out, gij);
          }
        }
      }
    }
    for (Index i = 0; i < n_out; ++i) g[n_out * n_in + i] = row_sum(delta + i * stride_);
  }

  /// acc[r][h] += sum_j M(r, j) in(j, s + 8h .. s + 8h + 7) for r < Rows, j < n, with
  /// M(r, j) = w[r row_step + j col_step]: W's block for a layer, W's transpose for delta.
  template <int Rows>
  RMPC_TARGET_AVX2 void accumulate(const float* w, Index row_step, Index col_step, const float* in,
                                   Index n, Index s, __m256 (&acc)[Rows][2]) const {
    for (Index j = 0; j < n; ++j) {
      const __m256 x0 = _mm256_loadu_ps(in + j * stride_ + s);
      const __m256 x1 = _mm256_loadu_ps(in + j * stride_ + s + 8);
      RMPC_UNROLL
      for (int r = 0; r < Rows; ++r) {
        const __m256 wr = _mm256_set1_ps(w[r * row_step + j * col_step]);
        acc[r][0] = _mm256_fmadd_ps(wr, x0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(wr, x1, acc[r][1]);
      }
    }
  }

  template <int Rows>
  RMPC_TARGET_AVX2 void affine(const float* w, Index ldw, const float* b, const float* in,
                               Index n_in, Activation f, float* out, float* d1) const {
    for (Index s = 0; s < stride_; s += 16) {
      __m256 acc[Rows][2];
      RMPC_UNROLL
      for (int r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = _mm256_set1_ps(b[r]);
      accumulate<Rows>(w, 1, ldw, in, n_in, s, acc);  // W(r, j) = w[r + j ldw]
      // Two rows' registers at a time: four chains overlap and still fit the 16 registers.
      RMPC_UNROLL
      for (int r = 0; r < Rows; r += 2) {
        __m256 z[4], d[4];
        RMPC_UNROLL
        for (int k = 0; k < 4; ++k) z[k] = acc[std::min(r + k / 2, Rows - 1)][k % 2];
        if (f == Activation::tanh)
          tanh_n(z, z, d);
        else if (f == Activation::sigmoid)
          logistic_n(z, z, d);
        else
          for (int k = 0; k < 4; ++k) d[k] = _mm256_set1_ps(1.0f);
        for (int k = 0; k < (r + 1 < Rows ? 4 : 2); ++k) {
          const Index at = (r + k / 2) * stride_ + s + 8 * (k % 2);
          _mm256_storeu_ps(out + at, z[k]);
          _mm256_storeu_ps(d1 + at, d[k]);
        }
      }
    }
  }

  template <int Cols>
  RMPC_TARGET_AVX2 void transposed(const float* w, Index ldw, const float* delta, const float* d1,
                                   float* below) const {
    for (Index s = 0; s < stride_; s += 16) {
      __m256 acc[Cols][2];
      RMPC_UNROLL
      for (int c = 0; c < Cols; ++c) acc[c][0] = acc[c][1] = _mm256_setzero_ps();
      accumulate<Cols>(w, ldw, 1, delta, ldw, s, acc);  // W'(c, i) = w[i + c ldw], ldw = n_out
      RMPC_UNROLL
      for (int k = 0; k < 2 * Cols; ++k) {
        const Index at = (k / 2) * stride_ + s + 8 * (k % 2);
        _mm256_storeu_ps(below + at, _mm256_mul_ps(acc[k / 2][k % 2], _mm256_loadu_ps(d1 + at)));
      }
    }
  }

  template <int Rows, int Cols>
  RMPC_TARGET_AVX2 void outer_sums(const float* delta, const float* in, Index ldg, float* g) const {
    __m256 acc[Rows][Cols];
    RMPC_UNROLL
    for (int r = 0; r < Rows; ++r) RMPC_UNROLL
    for (int c = 0; c < Cols; ++c) acc[r][c] = _mm256_setzero_ps();
    for (Index s = 0; s < stride_; s += 8) {
      __m256 a[Cols];
      RMPC_UNROLL
      for (int c = 0; c < Cols; ++c) a[c] = _mm256_loadu_ps(in + c * stride_ + s);
      RMPC_UNROLL
      for (int r = 0; r < Rows; ++r) {
        const __m256 d = _mm256_loadu_ps(delta + r * stride_ + s);
        RMPC_UNROLL
        for (int c = 0; c < Cols; ++c) acc[r][c] = _mm256_fmadd_ps(d, a[c], acc[r][c]);
      }
    }
    if constexpr (Rows * Cols == 8) {  // the full block: eight sums in one register
      alignas(32) float sums[8];
      _mm256_store_ps(sums, lane_sums(acc));
      RMPC_UNROLL
      for (int r = 0; r < Rows; ++r) RMPC_UNROLL
      for (int c = 0; c < Cols; ++c) g[r + c * ldg] = sums[r * Cols + c];
    } else {
      RMPC_UNROLL
      for (int r = 0; r < Rows; ++r) RMPC_UNROLL
      for (int c = 0; c < Cols; ++c) g[r + c * ldg] = lane_sum(acc[r][c]);
    }
  }

  /// The eight lane sums of v[0][0], v[0][1], ... (row-major) as one register, by pairwise
  /// horizontal adds (9 instructions instead of 8 reductions of 5).
  template <int Rows, int Cols>
  RMPC_TARGET_AVX2 static __m256 lane_sums(const __m256 (&v)[Rows][Cols]) {
    const __m256* w = &v[0][0];
    const __m256 q0 = _mm256_hadd_ps(_mm256_hadd_ps(w[0], w[1]), _mm256_hadd_ps(w[2], w[3]));
    const __m256 q1 = _mm256_hadd_ps(_mm256_hadd_ps(w[4], w[5]), _mm256_hadd_ps(w[6], w[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20),
                         _mm256_permute2f128_ps(q0, q1, 0x31));
  }

  RMPC_TARGET_AVX2 float row_sum(const float* row) const {
    __m256 acc = _mm256_setzero_ps();
    for (Index s = 0; s < stride_; s += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(row + s));
    return lane_sum(acc);
  }

  RMPC_TARGET_AVX2 static float lane_sum(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
  }

  Index stride_ = 0;             ///< samples per row: the shard padded to a multiple of 16
  std::vector<Index> offset_;    ///< start of layer l's rows in act_ and d1_
  std::vector<float> act_, d1_;  ///< activations (layer 0 = input) and f' per layer, sample-major
  std::vector<float> delta_, delta_below_, target_;
};

#endif  // RMPC_HAS_AVX2_KERNEL

}  // namespace rmpc::learn::detail
