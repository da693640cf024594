// A small fully connected network y = f_L(W_L ... f_1(W_1 x + b_1) ... + b_L) (method.md
// section 4: the Q-function critic), templated on Scalar.
//
// - Batched forward pass and backpropagation as dense matrix products on column-major
//   batches (inputs d_in x B), into workspaces that are reused while B stays the same.
// - Exact first and second derivatives of a scalar output with respect to chosen inputs
//   (the action columns of the critic input), by forward-mode propagation of
//   z, dz/dx_S and d2z/dx_S^2 through the layers: with a = f(z),
//       da = f'(z) dz,   d2a_ij = f''(z) dz_i dz_j + f'(z) d2z_ij,   next z = W a + b.
//   All 1 + k + k^2 derivative blocks of a layer go through one matrix product, so the
//   batched and the single-sample (B = 1) paths share the code; the latter allocates
//   nothing once its workspace has been sized by a first call.
// - Parameters live in one flat vector (layer by layer: W_l column-major, then b_l), which
//   is what the optimiser (adam.hpp) updates; Xavier/Glorot uniform initialisation from a seed.
#pragma once

#include <rmpc/learn/activation.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmpc::learn {

template <typename Scalar_>
class Mlp {
 public:
  using Scalar = Scalar_;
  using Index = Eigen::Index;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using MatrixMap = Eigen::Map<Matrix>;
  using ConstMatrixMap = Eigen::Map<const Matrix>;
  using VectorMap = Eigen::Map<Vector>;
  using ConstVectorMap = Eigen::Map<const Vector>;

  Mlp() = default;

  /// widths = {d_in, n_1, ..., n_L}; activations[l] acts on layer l+1 (size L). Parameters
  /// start at zero: call initialize_glorot(seed).
  Mlp(std::vector<Index> widths, std::vector<Activation> activations)
      : widths_(std::move(widths)), activations_(std::move(activations)) {
    if (widths_.size() < 2) throw std::invalid_argument("Mlp: widths needs at least {d_in, d_out}");
    if (activations_.size() != widths_.size() - 1)
      throw std::invalid_argument("Mlp: activations must have widths.size() - 1 entries");
    Index n = 0;
    for (std::size_t l = 0; l < widths_.size(); ++l) {
      if (widths_[l] <= 0) throw std::invalid_argument("Mlp: widths must be positive");
      if (l > 0) {
        offsets_.push_back(n);
        n += widths_[l] * widths_[l - 1] + widths_[l];
      }
    }
    params_.setZero(n);
    const std::size_t layers = activations_.size();
    z_.resize(layers);
    a_.resize(layers);
    delta_.resize(layers);
    p_.resize(layers);
    t_.resize(layers);
    s_.resize(layers);
    d1_.resize(layers);
    d2_.resize(layers);
  }

  Index input_dim() const { return widths_.empty() ? 0 : widths_.front(); }
  Index output_dim() const { return widths_.empty() ? 0 : widths_.back(); }
  Index num_layers() const { return static_cast<Index>(activations_.size()); }
  Index num_parameters() const { return params_.size(); }
  const std::vector<Index>& widths() const { return widths_; }
  const std::vector<Activation>& activations() const { return activations_; }

  const Vector& parameters() const { return params_; }
  /// Writable flat parameter vector (the optimiser updates it in place).
  Vector& parameters() { return params_; }
  void set_parameters(const Eigen::Ref<const Vector>& theta) {
    if (theta.size() != params_.size())
      throw std::invalid_argument("Mlp::set_parameters: theta has the wrong size");
    params_ = theta;
  }

  /// W_l (n_l x n_{l-1}), l = 0..L-1, viewing the flat parameter vector.
  MatrixMap weights(Index l) {
    return MatrixMap(params_.data() + offsets_[l], widths_[l + 1], widths_[l]);
  }
  ConstMatrixMap weights(Index l) const {
    return ConstMatrixMap(params_.data() + offsets_[l], widths_[l + 1], widths_[l]);
  }
  VectorMap bias(Index l) {
    return VectorMap(params_.data() + offsets_[l] + widths_[l + 1] * widths_[l], widths_[l + 1]);
  }
  ConstVectorMap bias(Index l) const {
    return ConstVectorMap(params_.data() + offsets_[l] + widths_[l + 1] * widths_[l],
                          widths_[l + 1]);
  }
  /// Offset of layer l's block (W_l then b_l) in the flat vector.
  Index parameter_offset(Index l) const { return offsets_[l]; }

  /// Xavier/Glorot uniform: W ~ U(-r, r), r = sqrt(6 / (fan_in + fan_out)), b = 0. Keeps the
  /// activation variance O(1) through tanh/sigmoid layers (Glorot & Bengio 2010).
  void initialize_glorot(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (Index l = 0; l < num_layers(); ++l) {
      const Scalar r = std::sqrt(Scalar(6) / Scalar(widths_[l] + widths_[l + 1]));
      std::uniform_real_distribution<double> dist(-double(r), double(r));
      auto w = weights(l);
      for (Index j = 0; j < w.cols(); ++j)
        for (Index i = 0; i < w.rows(); ++i) w(i, j) = Scalar(dist(rng));
      bias(l).setZero();
    }
  }

  /// Batched forward pass: X is d_in x B; returns the d_out x B output (a reference into the
  /// workspace, valid until the next call). Stores what backward() needs.
  const Matrix& forward(const Eigen::Ref<const Matrix>& x) {
    check_input(x, "Mlp::forward: x");
    x_ = x;
    for (Index l = 0; l < num_layers(); ++l) {
      Matrix& z = z_[l];
      z.resize(widths_[l + 1], x.cols());
      if (l == 0)
        z.noalias() = weights(l) * x_;
      else
        z.noalias() = weights(l) * a_[l - 1];
      z.colwise() += bias(l);
      a_[l].resize(z.rows(), z.cols());
      activate(activations_[l], z.array(), a_[l].array());
    }
    return a_.back();
  }

  /// Gradient of a loss with respect to the parameters, given dloss/dy (d_out x B) for the
  /// batch of the last forward() call. grad has num_parameters() entries (overwritten).
  void backward(const Eigen::Ref<const Matrix>& dloss_dy, Eigen::Ref<Vector> grad) {
    const Index layers = num_layers();
    if (layers == 0 || dloss_dy.rows() != output_dim() || dloss_dy.cols() != x_.cols())
      throw std::invalid_argument(
          "Mlp::backward: dloss_dy must be d_out x B of the last forward()");
    if (grad.size() != params_.size())
      throw std::invalid_argument("Mlp::backward: grad has the wrong size");
    // delta_L = dloss/dy .* f_L'(z_L); delta_{l-1} = (W_l' delta_l) .* f'(z_{l-1}).
    for (Index l = layers - 1; l >= 0; --l) {
      Matrix& delta = delta_[l];
      delta.resize(z_[l].rows(), z_[l].cols());
      if (l == layers - 1)
        delta = dloss_dy;
      else
        delta.noalias() = weights(l + 1).transpose() * delta_[l + 1];
      Array& d1 = d1_[l];
      d1.resize(delta.rows(), delta.cols());
      activate_derivative(activations_[l], z_[l].array(), a_[l].array(), d1);
      delta.array() *= d1;
      MatrixMap gw(grad.data() + offsets_[l], widths_[l + 1], widths_[l]);
      if (l == 0)
        gw.noalias() = delta * x_.transpose();
      else
        gw.noalias() = delta * a_[l - 1].transpose();
      VectorMap(grad.data() + offsets_[l] + widths_[l + 1] * widths_[l], widths_[l + 1]).noalias() =
          delta.rowwise().sum();
    }
  }

  /// Value, gradient and Hessian of the (scalar) output with respect to the inputs listed in
  /// `idx` (k of them), for every column of x (d_in x B):
  ///   value(b) = y(x_b),  grad(j, b) = dy/dx_{idx_j},  hess(i*k + j, b) = d2y/dx_{idx_i}
  ///   dx_{idx_j}.
  /// No heap allocation once the workspace has been sized for this (B, k).
  void input_derivatives(const Eigen::Ref<const Matrix>& x, const std::vector<Index>& idx,
                         Eigen::Ref<Vector> value, Eigen::Ref<Matrix> grad,
                         Eigen::Ref<Matrix> hess) {
    check_input(x, "Mlp::input_derivatives: x");
    if (output_dim() != 1)
      throw std::invalid_argument("Mlp::input_derivatives: needs a scalar output (d_out = 1)");
    const Index k = static_cast<Index>(idx.size());
    const Index nb = x.cols();
    for (Index j = 0; j < k; ++j)
      if (idx[j] < 0 || idx[j] >= input_dim())
        throw std::invalid_argument("Mlp::input_derivatives: idx out of range");
    if (value.size() != nb || grad.rows() != k || grad.cols() != nb || hess.rows() != k * k ||
        hess.cols() != nb)
      throw std::invalid_argument(
          "Mlp::input_derivatives: value (B), grad (k x B), hess (k*k x B) sizes");
    const Index blocks = 1 + k + k * k;  // column blocks: value | dz/dx_j | d2z/dx_i dx_j
    for (Index l = 0; l < num_layers(); ++l) {
      const Index n = widths_[l + 1];
      Matrix& p = p_[l];
      p.resize(n, blocks * nb);
      if (l == 0) {
        // First layer: z = W x + b is affine in x, so dz/dx_j = W(:, idx_j) and d2z = 0.
        p.leftCols(nb).noalias() = weights(0) * x;
        p.leftCols(nb).colwise() += bias(0);
        for (Index j = 0; j < k; ++j)
          p.middleCols((1 + j) * nb, nb).colwise() = weights(0).col(idx[j]);
        p.rightCols(k * k * nb).setZero();
      } else {
        p.noalias() = weights(l) * t_[l - 1];
        p.leftCols(nb).colwise() += bias(l);
      }
      // Activation and its derivatives at the value block.
      Matrix& t = t_[l];
      t.resize(n, blocks * nb);
      Array& s = s_[l];
      Array& d1 = d1_[l];
      Array& d2 = d2_[l];
      s.resize(n, nb);
      d1.resize(n, nb);
      d2.resize(n, nb);
      activate(activations_[l], p.leftCols(nb).array(), s);
      activate_derivative(activations_[l], p.leftCols(nb).array(), s, d1);
      activate_second_derivative(activations_[l], s, d1, d2);
      t.leftCols(nb).array() = s;
      for (Index j = 0; j < k; ++j)
        t.middleCols((1 + j) * nb, nb).array() = d1 * p.middleCols((1 + j) * nb, nb).array();
      for (Index i = 0; i < k; ++i)
        for (Index j = 0; j < k; ++j) {
          const Index c = (1 + k + i * k + j) * nb;
          t.middleCols(c, nb).array() =
              d2 * p.middleCols((1 + i) * nb, nb).array() * p.middleCols((1 + j) * nb, nb).array() +
              d1 * p.middleCols(c, nb).array();
        }
    }
    const Matrix& out = t_.back();  // 1 x blocks*B
    value = out.row(0).head(nb).transpose();
    for (Index j = 0; j < k; ++j) grad.row(j) = out.row(0).segment((1 + j) * nb, nb);
    for (Index ij = 0; ij < k * k; ++ij) hess.row(ij) = out.row(0).segment((1 + k + ij) * nb, nb);
  }

 private:
  void check_input(const Eigen::Ref<const Matrix>& x, const char* what) const {
    if (widths_.empty()) throw std::invalid_argument(std::string(what) + ": network has no layers");
    if (x.rows() != input_dim())
      throw std::invalid_argument(std::string(what) + " must have d_in rows");
  }

  std::vector<Index> widths_;
  std::vector<Activation> activations_;
  std::vector<Index> offsets_;
  Vector params_;
  // Per-layer workspaces, resized only when the batch size or k changes.
  Matrix x_;
  std::vector<Matrix> z_, a_, delta_, p_, t_;
  std::vector<Array> s_, d1_, d2_;
};

}  // namespace rmpc::learn
