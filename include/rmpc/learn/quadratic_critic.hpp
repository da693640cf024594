// A Q-function critic that is a quadratic form of the standardised input z = (x - mean)/scale,
//
//     Q(x) = c + b' z + 1/2 z' M z,     M symmetric (d x d),
//
// fitted by ridge-regularised linear least squares on the features (1, z_i, z_i z_j for i <= j):
// one linear solve per fit, no epochs, no seed. Not in the paper (which fits a tanh network,
// critic.hpp); the classical choice for linear-quadratic problems (Bradtke, Ydstie & Barto,
// "Adaptive linear quadratic control using policy iteration", ACC 1994): for linear dynamics,
// quadratic stage cost and a policy that is affine where it is differentiable, the k-step Q is
// quadratic on every set of (s, a) whose k-step rollout stays in one affine piece of pi (no
// change of the active constraints along it). Saturation, soft-constraint penalties or a
// nonquadratic cost make the true Q piecewise, and the global fit then averages the pieces
// (README, Second system: per-sample dQ/da on two_mass is far from the true one).
// dQ/da = (b + M z)_a / scale_a and d2Q/da2 = M_aa / (scale_a scale_a') are exact derivatives
// of the fitted form.
//
// The same interface as Critic (fit / value / value_gradient_hessian), so that
// FittedQ<C, QuadraticCritic<C>> runs the k fitted-Q sweeps with it (LoopSettings::critic_model).
#pragma once

#include <rmpc/learn/scaling.hpp>
#include <rmpc/learn/training.hpp>

#include <Eigen/Core>

#include <cmath>
#include <stdexcept>
#include <vector>

namespace rmpc::learn {

template <typename Scalar_>
class QuadraticCritic {
 public:
  using Scalar = Scalar_;
  using Index = Eigen::Index;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  QuadraticCritic() = default;
  /// Input dimension d; ridge: the Tikhonov weight on every non-constant coefficient, relative
  /// to the number of samples (standardised features have unit mean square, so ridge = 1e-6
  /// changes a well-determined coefficient by about 1e-6 relative and keeps a direction the
  /// data do not excite, e.g. an input that is constant in the data, at zero).
  explicit QuadraticCritic(Index d, Scalar ridge = Scalar(1e-6))
      : input_scaler_(d), ridge_(ridge), coefficients_(Vector::Zero(num_features(d))) {
    if (d < 1) throw std::invalid_argument("QuadraticCritic: d must be >= 1");
    if (!(ridge >= Scalar(0))) throw std::invalid_argument("QuadraticCritic: ridge must be >= 0");
  }

  /// 1 + d + d (d + 1) / 2 coefficients: constant, linear, upper triangle row by row.
  static Index num_features(Index d) { return 1 + d + d * (d + 1) / 2; }

  Index input_dim() const { return input_scaler_.dim(); }
  Scalar ridge() const { return ridge_; }
  Standardizer<Scalar>& input_scaler() { return input_scaler_; }
  const Standardizer<Scalar>& input_scaler() const { return input_scaler_; }
  /// The coefficients in feature order (num_features(d)).
  const Vector& parameters() const { return coefficients_; }
  void set_parameters(const Eigen::Ref<const Vector>& w) {
    if (w.size() != coefficients_.size())
      throw std::invalid_argument("QuadraticCritic::set_parameters: w must have num_features(d)");
    coefficients_ = w;
  }

  /// Least-squares fit of Q to the targets y (N) at the inputs x (d x N). `settings` is not
  /// used (there are no epochs; the argument keeps Critic's signature); refit_scalers
  /// re-estimates mean and scale on x first. Status non_finite (coefficients and scaling
  /// unchanged) when
  /// the data or the solution are not finite or the normal equations are not positive definite
  /// (ridge = 0 and features the data do not excite); otherwise max_epochs with epochs = 1 and the
  /// mean squared residual as best_loss and final_loss.
  TrainResult<Scalar> fit(const Eigen::Ref<const Matrix>& x, const Eigen::Ref<const Vector>& y,
                          const TrainSettings<Scalar>& /*settings*/, bool refit_scalers = true) {
    if (x.rows() != input_dim() || y.size() != x.cols() || x.cols() < 1)
      throw std::invalid_argument("QuadraticCritic::fit: x must be d_in x N (N >= 1), y of size N");
    TrainResult<Scalar> result;
    result.epochs = 1;
    result.best_epoch = 0;
    if (!x.allFinite() || !y.allFinite()) {
      result.status = TrainStatus::non_finite;
      return result;
    }
    // The new scaling is kept only with the coefficients fitted on it.
    const Standardizer<Scalar> previous_scaler = input_scaler_;
    if (refit_scalers) input_scaler_.fit(x);
    features(x, phi_);
    const Index p = phi_.rows(), n = phi_.cols();
    // The normal equations, lower triangle, by loops (see solve_normal_equations).
    gram_.setZero(p, p);
    rhs_.setZero(p);
    for (Index c = 0; c < n; ++c)
      for (Index i = 0; i < p; ++i) {
        const Scalar fi = phi_(i, c);
        rhs_(i) += fi * y(c);
        for (Index j = 0; j <= i; ++j) gram_(i, j) += fi * phi_(j, c);
      }
    for (Index i = 1; i < p; ++i) gram_(i, i) += ridge_ * Scalar(n);
    Vector w = rhs_;
    if (!solve_normal_equations(gram_, w) || !w.allFinite()) {
      input_scaler_ = previous_scaler;
      result.status = TrainStatus::non_finite;
      return result;
    }
    coefficients_ = std::move(w);
    Scalar loss = Scalar(0);
    for (Index c = 0; c < n; ++c) loss += numext_square(phi_.col(c).dot(coefficients_) - y(c));
    result.final_loss = result.best_loss = loss / Scalar(n);
    result.loss_history.assign(1, result.final_loss);
    return result;
  }

  /// Q at every column of x (d_in x B) into q (B).
  void value(const Eigen::Ref<const Matrix>& x, Eigen::Ref<Vector> q) {
    if (x.rows() != input_dim() || q.size() != x.cols())
      throw std::invalid_argument("QuadraticCritic::value: x must be d_in x B and q of size B");
    features(x, phi_);
    for (Index c = 0; c < q.size(); ++c) q(c) = phi_.col(c).dot(coefficients_);
  }

  /// Batched Q, dQ/da and d2Q/da2 at every column of x (d_in x B), a = the inputs listed in
  /// action_indices (k): q (B), dq_da (k x B), d2q_da2 (k*k x B, entry (i*k + j, b)), in
  /// physical units; the same layout as Critic::value_gradient_hessian.
  void value_gradient_hessian(const Eigen::Ref<const Matrix>& x,
                              const std::vector<Index>& action_indices, Eigen::Ref<Vector> q,
                              Eigen::Ref<Matrix> dq_da, Eigen::Ref<Matrix> d2q_da2) {
    const Index k = static_cast<Index>(action_indices.size()), d = input_dim();
    if (x.rows() != d)
      throw std::invalid_argument("QuadraticCritic::value_gradient_hessian: x must have d_in rows");
    if (q.size() != x.cols() || dq_da.rows() != k || dq_da.cols() != x.cols() ||
        d2q_da2.rows() != k * k || d2q_da2.cols() != x.cols())
      throw std::invalid_argument(
          "QuadraticCritic::value_gradient_hessian: q (B), dq_da (k x B), d2q_da2 (k*k x B)");
    value(x, q);
    quadratic_form(linear_, hessian_);
    const Vector& scale = input_scaler_.scale();
    z_.resize(d);
    for (Index b = 0; b < x.cols(); ++b) {
      z_ = (x.col(b) - input_scaler_.mean()).cwiseQuotient(scale);
      for (Index i = 0; i < k; ++i) {
        const Index ai = action_indices[std::size_t(i)];
        dq_da(i, b) = (linear_(ai) + hessian_.row(ai).dot(z_)) / scale(ai);
        for (Index j = 0; j < k; ++j) {
          const Index aj = action_indices[std::size_t(j)];
          d2q_da2(i * k + j, b) = hessian_(ai, aj) / (scale(ai) * scale(aj));
        }
      }
    }
  }

 private:
  /// phi = (1, z, z_i z_j for i <= j) per column of x, z standardised.
  void features(const Eigen::Ref<const Matrix>& x, Matrix& phi) {
    const Index d = input_dim(), n = x.cols();
    z_.resize(d);
    phi.resize(num_features(d), n);
    for (Index c = 0; c < n; ++c) {
      z_ = (x.col(c) - input_scaler_.mean()).cwiseQuotient(input_scaler_.scale());
      Index r = 0;
      phi(r++, c) = Scalar(1);
      for (Index i = 0; i < d; ++i) phi(r++, c) = z_(i);
      for (Index i = 0; i < d; ++i)
        for (Index j = i; j < d; ++j) phi(r++, c) = z_(i) * z_(j);
    }
  }

  static Scalar numext_square(Scalar v) { return v * v; }

  /// Solves G w = r in place (w holds r on entry) by a Cholesky factorization of the lower
  /// triangle of G, overwritten. false if G is not numerically positive definite: a pivot
  /// below p eps G_jj is round-off, not information. A loop of our
  /// own, not Eigen::LLT: for the p <= a few hundred features here it is as fast, and LLT's
  /// blocked kernels added ~20 % to the compile time of every translation unit that
  /// instantiates the loop (measured on linear_2d's paper_loop_model.cpp).
  static bool solve_normal_equations(Matrix& g, Vector& w) {
    const Index p = g.rows();
    const Scalar tolerance = Eigen::NumTraits<Scalar>::epsilon() * Scalar(p);
    for (Index j = 0; j < p; ++j) {
      Scalar d = g(j, j);
      for (Index k = 0; k < j; ++k) d -= g(j, k) * g(j, k);
      if (!(d > tolerance * g(j, j))) return false;
      g(j, j) = std::sqrt(d);
      for (Index i = j + 1; i < p; ++i) {
        Scalar v = g(i, j);
        for (Index k = 0; k < j; ++k) v -= g(i, k) * g(j, k);
        g(i, j) = v / g(j, j);
      }
    }
    for (Index i = 0; i < p; ++i) {  // L v = r
      for (Index k = 0; k < i; ++k) w(i) -= g(i, k) * w(k);
      w(i) /= g(i, i);
    }
    for (Index i = p - 1; i >= 0; --i) {  // L' w = v
      for (Index k = i + 1; k < p; ++k) w(i) -= g(k, i) * w(k);
      w(i) /= g(i, i);
    }
    return true;
  }

  /// b and M of Q = c + b'z + z'Mz/2 from the coefficients.
  void quadratic_form(Vector& b, Matrix& m) const {
    const Index d = input_dim();
    b = coefficients_.segment(1, d);
    m.resize(d, d);
    Index r = 1 + d;
    for (Index i = 0; i < d; ++i)
      for (Index j = i; j < d; ++j, ++r) {
        m(i, j) = m(j, i) = i == j ? Scalar(2) * coefficients_(r) : coefficients_(r);
      }
  }

  Standardizer<Scalar> input_scaler_;
  Scalar ridge_ = Scalar(1e-6);
  Vector coefficients_;
  Matrix phi_, gram_, hessian_;
  Vector rhs_, linear_, z_;
};

}  // namespace rmpc::learn
