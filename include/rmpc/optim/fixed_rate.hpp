// Update rules with a fixed learning rate and no ratio test, the paper's baselines (method.md
// section 4; first-order GD and Adam, and QN, which scales g by |H|^-1 but has no trust
// region), in the ask/tell shape of TrustRegion so the RL loop can swap them:
//   GD:   p = -lr g                                     (paper: lr = 1e-4)
//   QN:   p = -lr |H|^-1 g, |H| = V max(|Lambda|, floor) V'   (paper: lr = 1e-2, P1's H)
//   Adam: p = -lr m_hat / (sqrt(v_hat) + eps)           (Kingma & Ba 2015, Algorithm 1)
// Every finite step is accepted; tell_value only records J and the (informative) ratio. A
// NaN/Inf J(x + p) is the exception: the step is rejected (x keeps its finite value) and the
// rule stops with Status::non_finite_objective, as there is no radius to shrink. A step or
// predicted decrease that overflows stops with Status::numerical_overflow. TR-GD, the
// radius-clipped gradient step with the ratio test, is TrustRegionModel::clipped_gradient.
#pragma once

#include "rmpc/detail/adam.hpp"
#include "rmpc/detail/settings_check.hpp"
#include "rmpc/detail/symmetric_eigen.hpp"

#include <rmpc/optim/box_bounds.hpp>
#include <rmpc/optim/detail/ask_tell.hpp>
#include <rmpc/optim/status.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace rmpc::optim {

enum class FixedRateRule {
  gradient_descent,  ///< p = -lr g.
  quasi_newton,      ///< p = -lr |H|^-1 g (no trust region).
  adam,              ///< Adam moments on g.
};

template <typename Scalar = double>
struct FixedRateSettings {
  Scalar gd_learning_rate = Scalar(1e-4);  ///< GD of method.md section 4.
  Scalar qn_learning_rate = Scalar(1e-2);  ///< QN of method.md section 4.
  /// |lambda| floored at qn_relative_floor * max|lambda|: keeps |H|^-1 bounded (a singular
  /// H would otherwise give an unbounded step without a trust region).
  Scalar qn_relative_floor = detail::default_tolerance<Scalar>(1e-8, 64);
  Scalar adam_learning_rate = Scalar(1e-3);  ///< Kingma & Ba default.
  Scalar adam_beta1 = Scalar(0.9);           ///< Kingma & Ba default.
  Scalar adam_beta2 = Scalar(0.999);         ///< Kingma & Ba default.
  Scalar adam_epsilon = Scalar(1e-8);        ///< Kingma & Ba default.
  /// Stop when ||g|| <= this at the current point (same meaning as in TrustRegionSettings).
  Scalar gradient_tolerance = detail::default_tolerance<Scalar>(1e-8, 64);
  /// Step budget (tell_value calls).
  int max_iterations = 1000;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(rmpc::detail::finite_nonnegative(gd_learning_rate),
                    "FixedRateSettings::gd_learning_rate", "finite and >= 0 (0: no step)",
                    gd_learning_rate);
    require_setting(rmpc::detail::finite_nonnegative(qn_learning_rate),
                    "FixedRateSettings::qn_learning_rate", "finite and >= 0 (0: no step)",
                    qn_learning_rate);
    require_setting(
        rmpc::detail::finite_positive(qn_relative_floor) && qn_relative_floor <= Scalar(1),
        "FixedRateSettings::qn_relative_floor", "in (0, 1]", qn_relative_floor);
    require_setting(rmpc::detail::finite_nonnegative(adam_learning_rate),
                    "FixedRateSettings::adam_learning_rate", "finite and >= 0 (0: no step)",
                    adam_learning_rate);
    require_setting(adam_beta1 >= Scalar(0) && adam_beta1 < Scalar(1),
                    "FixedRateSettings::adam_beta1", "in [0, 1)", adam_beta1);
    require_setting(adam_beta2 >= Scalar(0) && adam_beta2 < Scalar(1),
                    "FixedRateSettings::adam_beta2", "in [0, 1)", adam_beta2);
    require_setting(rmpc::detail::finite_positive(adam_epsilon), "FixedRateSettings::adam_epsilon",
                    "finite and > 0", adam_epsilon);
    require_setting(rmpc::detail::finite_nonnegative(gradient_tolerance),
                    "FixedRateSettings::gradient_tolerance", "finite and >= 0", gradient_tolerance);
    require_setting(max_iterations > 0, "FixedRateSettings::max_iterations", "> 0", max_iterations);
  }
};

template <typename Scalar = double, int N = Eigen::Dynamic>
class FixedRate : private detail::AskTell<Scalar, N> {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  using Step = TrialStep<Scalar, N>;
  using Outcome = StepOutcome<Scalar>;

  explicit FixedRate(FixedRateRule rule = FixedRateRule::gradient_descent,
                     FixedRateSettings<Scalar> settings = {})
      : AskTellBase("FixedRate"), rule_(rule), settings_(settings) {
    settings_.validate();
  }

  void reset(const Eigen::Ref<const Vector>& x0, Scalar J0) {
    if constexpr (N != Eigen::Dynamic)
      if (x0.size() != N) throw std::invalid_argument("FixedRate::reset: x0 has the wrong size");
    const Eigen::Index n = x0.size();
    x_ = x0;
    value_ = J0;
    g_.setZero(n);
    adam_.reset(n);
    non_finite_trials_ = 0;
    Hreg_.setZero(n, n);
    trial_.step.setZero(n);
    trial_.point = x_;
    trial_.radius = std::numeric_limits<Scalar>::infinity();
    bounds_.validate(n, "FixedRate::set_bounds");
    if (!bounds_.contains(x0))
      throw std::invalid_argument("FixedRate::reset: x0 lies outside the bounds");
    iterations_ = 0;
    phase_ = Phase::need_model;
    status_ = (x0.allFinite() && std::isfinite(J0)) ? Status::running : Status::non_finite_input;
  }

  /// Gradient and Hessian at the current point (H used by quasi_newton only).
  Status tell_model(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Matrix>& H) {
    if (rule_ != FixedRateRule::quasi_newton) return tell_gradient(g);
    if (H.rows() != x_.size() || H.cols() != x_.size())
      throw std::invalid_argument("FixedRate::tell_model: H has the wrong size");
    if (!begin_model(g)) return status_;
    if (!H.allFinite()) return stop(Status::non_finite_input);
    eig_.compute(H);
    if (eig_.info() != Eigen::Success) return stop(Status::non_finite_input);
    const Scalar floor = settings_.qn_relative_floor * eig_.eigenvalues().cwiseAbs().maxCoeff();
    if (!(floor > Scalar(0))) return stop(Status::subproblem_failed);  // H = 0: no Newton step
    lambda_ = eig_.eigenvalues().cwiseAbs().cwiseMax(floor);
    Hreg_.noalias() = eig_.eigenvectors() * lambda_.asDiagonal() * eig_.eigenvectors().transpose();
    return end();
  }

  /// Gradient at the current point (gradient_descent, adam).
  Status tell_gradient(const Eigen::Ref<const Vector>& g) {
    if (rule_ == FixedRateRule::quasi_newton)
      throw std::invalid_argument("FixedRate::tell_gradient: quasi_newton needs tell_model(g, H)");
    if (!begin_model(g)) return status_;
    return end();
  }

  const Step& ask() {
    if (status_ != Status::running) {
      trial_.step.setZero();
      trial_.point = x_;
      trial_.predicted_decrease = 0;
      return trial_;
    }
    if (phase_ != Phase::need_ask)
      throw std::logic_error("FixedRate::ask: tell_model/tell_gradient first");
    switch (rule_) {
      case FixedRateRule::gradient_descent:
        trial_.step = -settings_.gd_learning_rate * g_;
        trial_.predicted_decrease = -g_.dot(trial_.step);
        break;
      case FixedRateRule::quasi_newton: {
        // p = -lr V |Lambda|^-1 V' g; predicted decrease of m(p) = g'p + p'|H|p/2.
        tmp_.noalias() = eig_.eigenvectors().transpose() * g_;
        tmp_.array() /= lambda_.array();
        trial_.step.noalias() = eig_.eigenvectors() * tmp_;
        trial_.step *= -settings_.qn_learning_rate;
        tmp_.noalias() = Hreg_ * trial_.step;
        trial_.predicted_decrease = -(g_.dot(trial_.step) + Scalar(0.5) * trial_.step.dot(tmp_));
        break;
      }
      case FixedRateRule::adam: {
        // Moments were advanced in tell_gradient (one update per point, rmpc/detail/adam.hpp).
        trial_.step.setZero();
        adam_.subtract_step(trial_.step, settings_.adam_learning_rate, settings_.adam_epsilon);
        trial_.predicted_decrease = -g_.dot(trial_.step);
        break;
      }
    }
    if (!bounds_.empty() && trial_.step.allFinite()) {
      // Projected step (box_bounds.hpp); the predicted decrease is that of the projected step.
      bounds_.project_step(x_, trial_.step);
      trial_.predicted_decrease = -g_.dot(trial_.step);
      if (rule_ == FixedRateRule::quasi_newton) {
        tmp_.noalias() = Hreg_ * trial_.step;
        trial_.predicted_decrease -= Scalar(0.5) * trial_.step.dot(tmp_);
      }
    }
    trial_.point = x_ + trial_.step;
    bounds_.clamp(trial_.point);
    if (!trial_.step.allFinite() || !std::isfinite(trial_.predicted_decrease)) {
      // g and H are finite (checked in tell_*): the step or m(0) - m(p) left the range.
      stop(Status::numerical_overflow);
      trial_.step.setZero();
      trial_.point = x_;
      trial_.predicted_decrease = 0;
      return trial_;
    }
    phase_ = Phase::need_value;
    return trial_;
  }

  /// Records J(x + p); a finite J is always taken (no ratio test). A NaN/Inf J is a
  /// rejected trial (x unchanged) and a stop: Status::non_finite_objective.
  Outcome tell_value(Scalar J_trial) {
    return this->take_step(J_trial, trial_, trial_.radius, value_, iterations_, non_finite_trials_,
                           settings_.max_iterations);
  }

  /// Box bounds on x (box_bounds.hpp; empty vectors: none); set before reset(), which checks
  /// their sizes and that x0 lies inside. Every step is projected onto the box.
  void set_bounds(const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& lower,
                  const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& upper) {
    bounds_.lower = lower;
    bounds_.upper = upper;
  }
  const BoxBounds<Scalar>& bounds() const { return bounds_; }

  const Vector& x() const { return x_; }
  Scalar value() const { return value_; }
  const Vector& gradient() const { return g_; }
  Status status() const { return status_; }
  int iterations() const { return iterations_; }
  /// tell_value calls with a NaN/Inf value (each one rejected).
  int non_finite_trials() const { return non_finite_trials_; }
  bool needs_model() const { return status_ == Status::running && phase_ == Phase::need_model; }
  FixedRateRule rule() const { return rule_; }
  const FixedRateSettings<Scalar>& settings() const { return settings_; }

 private:
  using AskTellBase = detail::AskTell<Scalar, N>;
  using AskTellBase::begin_model;
  using AskTellBase::g_;
  using AskTellBase::phase_;
  using AskTellBase::status_;
  using AskTellBase::stop;
  using AskTellBase::x_;
  using typename AskTellBase::Phase;

  Status end() {
    // Adam: one moment update per point; re-telling at the same point only replaces g.
    if (rule_ == FixedRateRule::adam && phase_ == Phase::need_model) {
      adam_.update(g_, settings_.adam_beta1, settings_.adam_beta2);
    }
    phase_ = Phase::need_ask;
    if (detail::safe_norm(bounds_.projected_gradient(x_, g_)) <= settings_.gradient_tolerance)
      return stop(Status::converged_gradient);
    return status_;
  }

  FixedRateRule rule_;
  FixedRateSettings<Scalar> settings_;
  rmpc::detail::SymmetricEigen<Scalar, N> eig_;
  rmpc::detail::AdamMoments<Scalar, N> adam_;
  Vector lambda_, tmp_;
  Matrix Hreg_;
  Step trial_;
  BoxBounds<Scalar> bounds_;
  Scalar value_ = 0;
  int iterations_ = 0;
  int non_finite_trials_ = 0;
};

}  // namespace rmpc::optim
