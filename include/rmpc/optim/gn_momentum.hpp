// GN-Momentum: the update rule of P2 (Brandner, Gros, Lucia, arXiv 2508.02441, "momentum-based
// Hessian averaging ... coupled with an adaptive trust region"), in the ask/tell shape of
// TrustRegion and FixedRate. At the k-th told model (g_k, H_k), H_k the Gauss-Newton matrix
// E[dpi' d2Q/da2 dpi] (rl::HessianMode::gauss_newton, PSD for a convex critic):
//
//   m_k = b1 m_{k-1} + (1 - b1) g_k          m^ = m_k / (1 - b1^k)    momentum gradient
//   v_k = b2 v_{k-1} + (1 - b2) g_k.^2       v^ = v_k / (1 - b2^k)    Adam's second moment
//   G_k = bG G_{k-1} + (1 - bG) H_k          G^ = G_k / (1 - bG^k)    averaged curvature
//   Delta_k = || lr m^ ./ (sqrt(v^) + eps) ||                         length of Adam's step
//   p_k = argmin m^'p + p'Bp/2  s.t. ||p|| <= Delta_k (and the box), B = |G^| (P1's absolute
//         eigenvalues; B = G^ for a PSD average)
//
// with m_0 = v_0 = 0, G_0 = 0. Every finite step is accepted (no ratio test): tell_value only
// records J and the informative ratio. Adam's step length is the radius because it is
// scale-free in g (each component about lr when g is consistent) and shrinks by itself when g
// changes sign from model to model (noise near the optimum), while the Gauss-Newton model
// chooses the direction and the length inside it.
//
// Source. The paper's own equations could not be read while this was written (only its
// abstract was reachable), so the update is the one stated in issue #16, written from the
// maths above; the moment factors follow the authors' public code for the paper's first
// version (gradient momentum 0.75, Hessian momentum 0.9), which starts G from a prior matrix
// instead of 0 and has no radius. Re-telling a model at the same point (a refitted critic)
// replaces that point's contribution to m, v and G instead of adding a second one.
//
// Statuses (status.hpp): converged_gradient (||g|| projected on the box <= tolerance),
// converged_step (the model predicts no decrease: m^ = 0 or lr = 0), max_iterations,
// non_finite_input (g, H, x0 or J0 NaN/Inf), subproblem_failed (eigensolver), non_finite_objective
// (a NaN/Inf J(x + p): the trial is rejected, x keeps its value, and the rule stops, as there is
// no radius to shrink), numerical_overflow (finite data, but the step or decrease overflows).
// Call-order errors throw std::logic_error, wrong sizes std::invalid_argument.
#pragma once

#include "rmpc/detail/adam.hpp"
#include "rmpc/detail/settings_check.hpp"

#include <rmpc/optim/box_bounds.hpp>
#include <rmpc/optim/curvature.hpp>
#include <rmpc/optim/detail/ask_tell.hpp>
#include <rmpc/optim/status.hpp>
#include <rmpc/optim/subproblem.hpp>

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace rmpc::optim {

template <typename Scalar = double>
struct GnMomentumSettings {
  /// lr of the radius: P1's QN rate and TR-QN's Delta0 (method.md section 4), the step scale of
  /// this repository's second-order rules (the authors' CSTR code uses 1e-3 on scaled actions).
  Scalar learning_rate = Scalar(1e-2);
  Scalar beta1 = Scalar(0.75);   ///< Gradient momentum of the authors' P2 code (momentum_beta).
  Scalar beta2 = Scalar(0.999);  ///< Adam's second moment, Kingma & Ba default (radius only).
  Scalar curvature_beta = Scalar(0.9);  ///< Hessian momentum of the authors' P2 code (eta).
  Scalar epsilon = Scalar(1e-8);        ///< Adam's epsilon, Kingma & Ba default (radius only).
  /// absolute_eigenvalues (P1's, as TR-QN): B = |G^|, a no-op for a PSD average; none keeps G^
  /// and lets the exact subproblem use negative curvature of a critic that is not convex.
  Regularisation regularisation = Regularisation::absolute_eigenvalues;
  /// Stop when ||g|| <= this at the current point (same meaning as in TrustRegionSettings).
  Scalar gradient_tolerance = detail::default_tolerance<Scalar>(1e-8, 64);
  int max_iterations = 1000;                ///< Step budget (tell_value calls), as the other rules.
  ExactSubproblemSettings<Scalar> exact{};  ///< The subproblem solver's tolerances.

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(rmpc::detail::finite_nonnegative(learning_rate),
                    "GnMomentumSettings::learning_rate", "finite and >= 0 (0: no step)",
                    learning_rate);
    require_setting(beta1 >= Scalar(0) && beta1 < Scalar(1), "GnMomentumSettings::beta1",
                    "in [0, 1)", beta1);
    require_setting(beta2 >= Scalar(0) && beta2 < Scalar(1), "GnMomentumSettings::beta2",
                    "in [0, 1)", beta2);
    require_setting(curvature_beta >= Scalar(0) && curvature_beta < Scalar(1),
                    "GnMomentumSettings::curvature_beta", "in [0, 1)", curvature_beta);
    require_setting(rmpc::detail::finite_positive(epsilon), "GnMomentumSettings::epsilon",
                    "finite and > 0", epsilon);
    require_setting(rmpc::detail::finite_nonnegative(gradient_tolerance),
                    "GnMomentumSettings::gradient_tolerance", "finite and >= 0",
                    gradient_tolerance);
    require_setting(max_iterations > 0, "GnMomentumSettings::max_iterations", "> 0",
                    max_iterations);
    exact.validate();
  }
};

/// Ask/tell GN-Momentum on x (N entries, or Eigen::Dynamic): reset(x0, J0); tell_model(g, H)
/// with g (n) and H (n x n, symmetric); ask() -> TrialStep (step n, point = x + step in the box,
/// radius = Delta_k); tell_value(J(point)) -> StepOutcome (always accepted unless J is NaN/Inf).
template <typename Scalar = double, int N = Eigen::Dynamic>
class GnMomentum : private detail::AskTell<Scalar, N> {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  using Step = TrialStep<Scalar, N>;
  using Outcome = StepOutcome<Scalar>;

  explicit GnMomentum(GnMomentumSettings<Scalar> settings = {})
      : AskTellBase("GnMomentum"), settings_(settings), exact_(settings.exact) {
    settings_.validate();
  }

  /// Starts at x0 with its measured value J0 and empty moments. Next: tell_model.
  void reset(const Eigen::Ref<const Vector>& x0, Scalar J0) {
    if constexpr (N != Eigen::Dynamic)
      if (x0.size() != N) throw std::invalid_argument("GnMomentum::reset: x0 has the wrong size");
    const Eigen::Index n = x0.size();
    bounds_.validate(n, "GnMomentum::set_bounds");
    if (!bounds_.contains(x0))
      throw std::invalid_argument("GnMomentum::reset: x0 lies outside the bounds");
    x_ = x0;
    value_ = J0;
    g_.setZero(n);
    now_.reset(n);
    before_.reset(n);
    m_hat_.setZero(n);
    G_hat_.setZero(n, n);
    B_.setZero(n, n);
    tmp_.setZero(n);
    trial_.step.setZero(n);
    trial_.point = x_;
    trial_.radius = radius_ = Scalar(0);
    iterations_ = non_finite_trials_ = 0;
    phase_ = Phase::need_model;
    status_ = (x0.allFinite() && std::isfinite(J0)) ? Status::running : Status::non_finite_input;
  }

  /// Gradient g and Gauss-Newton matrix H at the current point: advances m, v and G (or, told
  /// again at the same point before ask(), replaces this point's contribution), then sets
  /// m^, G^ and the radius Delta_k.
  Status tell_model(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Matrix>& H) {
    if (H.rows() != x_.size() || H.cols() != x_.size())
      throw std::invalid_argument("GnMomentum::tell_model: H has the wrong size");
    const bool new_point = phase_ == Phase::need_model;
    if (!begin_model(g)) return status_;
    if (!H.allFinite()) return stop(Status::non_finite_input);
    if (new_point) before_ = now_;  // the moments before this point, kept for a re-tell
    now_ = before_;
    const Scalar b1 = settings_.beta1, bG = settings_.curvature_beta;
    ++now_.t;
    now_.b1_power *= b1;
    now_.bG_power *= bG;
    now_.m = b1 * now_.m + (Scalar(1) - b1) * g_;
    // 0.5 H + 0.5 H' (not (H + H') / 2): symmetric, exact for a symmetric H, no overflow.
    now_.G = bG * now_.G + (Scalar(1) - bG) * (Scalar(0.5) * H + Scalar(0.5) * H.transpose());
    now_.adam.update(g_, b1, settings_.beta2);
    m_hat_ = now_.m / (Scalar(1) - now_.b1_power);
    G_hat_ = now_.G / (Scalar(1) - now_.bG_power);
    tmp_.setZero();  // Adam's step lr m^ ./ (sqrt(v^) + eps) (range-safe v, detail/adam.hpp)
    now_.adam.subtract_step(tmp_, settings_.learning_rate, settings_.epsilon);
    radius_ = detail::safe_norm(tmp_);
    if (!std::isfinite(radius_) || !m_hat_.allFinite() || !G_hat_.allFinite())
      return stop(Status::numerical_overflow);  // finite g, H whose averages left the range
    if (settings_.regularisation == Regularisation::absolute_eigenvalues) {
      if (!regularise_absolute_eigenvalues<Scalar, N>(G_hat_, Scalar(0), B_))
        return stop(Status::subproblem_failed);
    } else {
      B_ = G_hat_;
    }
    if (exact_.compute(B_).info() != Eigen::Success) return stop(Status::subproblem_failed);
    phase_ = Phase::need_ask;
    if (detail::safe_norm(bounds_.projected_gradient(x_, g_)) <= settings_.gradient_tolerance)
      return stop(Status::converged_gradient);
    return status_;
  }

  /// GN-Momentum needs H: always a programmer error (std::invalid_argument).
  Status tell_gradient(const Eigen::Ref<const Vector>&) {
    throw std::invalid_argument("GnMomentum::tell_gradient: GN-Momentum needs tell_model(g, H)");
  }

  /// The step of the file comment for the last told model. After a stop: a zero step.
  const Step& ask() {
    if (status_ != Status::running) return zero_step();
    if (phase_ != Phase::need_ask) throw std::logic_error("GnMomentum::ask: tell_model first");
    trial_.radius = radius_;
    if (!bounds_.empty()) {
      const BoundedStep<Scalar, N> b = bounded_step(bounds_, x_, m_hat_, B_, radius_, exact_);
      if (!b.finite) return stop_with_zero_step(Status::numerical_overflow);
      trial_.step = b.step;
      trial_.predicted_decrease = b.predicted_decrease;
      trial_.on_boundary = b.on_boundary;
    } else {
      const SubproblemResult<Scalar> sub = exact_.solve(m_hat_, radius_);
      if (sub.status == SubproblemStatus::non_finite)
        return stop_with_zero_step(Status::numerical_overflow);
      trial_.step = sub.step;
      trial_.predicted_decrease = sub.predicted_decrease;
      trial_.on_boundary = sub.on_boundary();
    }
    if (!place_trial(trial_, bounds_)) return stop_with_zero_step(Status::numerical_overflow);
    // m^ = 0, lr = 0, or every descent direction leaves the box: nothing to gain.
    if (!(trial_.predicted_decrease > Scalar(0)))
      return stop_with_zero_step(Status::converged_step);
    phase_ = Phase::need_value;
    return trial_;
  }

  /// Records J(x + p); a finite J is always taken. A NaN/Inf J is a rejected trial (x kept)
  /// and a stop: Status::non_finite_objective. ratio: J's decrease over the decrease of the
  /// momentum model m^'p + p'Bp/2 (informative only).
  Outcome tell_value(Scalar J_trial) {
    return this->take_step(J_trial, trial_, radius_, value_, iterations_, non_finite_trials_,
                           settings_.max_iterations);
  }

  /// Box bounds on x (box_bounds.hpp; empty vectors: none); set before reset(), which checks
  /// their sizes and that x0 lies inside. Steps come from the bounded subproblem.
  void set_bounds(const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& lower,
                  const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& upper) {
    bounds_.lower = lower;
    bounds_.upper = upper;
  }
  const BoxBounds<Scalar>& bounds() const { return bounds_; }

  const Vector& x() const { return x_; }                       ///< Current point.
  Scalar value() const { return value_; }                      ///< Measured J at x().
  const Vector& gradient() const { return g_; }                ///< Last told g.
  const Vector& momentum_gradient() const { return m_hat_; }   ///< m^ (bias-corrected).
  const Matrix& averaged_curvature() const { return G_hat_; }  ///< G^ (bias-corrected).
  const Matrix& model_hessian() const { return B_; }           ///< B = |G^| (or G^).
  Scalar radius() const { return radius_; }                    ///< Delta_k of the next ask().
  long models() const { return now_.t; }                       ///< Points whose model was told.
  Status status() const { return status_; }
  int iterations() const { return iterations_; }  ///< tell_value calls so far.
  /// tell_value calls with a NaN/Inf value (each one rejected).
  int non_finite_trials() const { return non_finite_trials_; }
  bool needs_model() const { return status_ == Status::running && phase_ == Phase::need_model; }
  const GnMomentumSettings<Scalar>& settings() const { return settings_; }

 private:
  using AskTellBase = detail::AskTell<Scalar, N>;
  using AskTellBase::begin_model;
  using AskTellBase::g_;
  using AskTellBase::phase_;
  using AskTellBase::place_trial;
  using AskTellBase::status_;
  using AskTellBase::stop;
  using AskTellBase::x_;
  using typename AskTellBase::Phase;

  /// The running averages; copied whole so a re-tell can start again from the previous ones.
  struct Moments {
    Vector m;
    Matrix G;
    rmpc::detail::AdamMoments<Scalar, N> adam;  // v (and its own m) for the radius
    Scalar b1_power = Scalar(1), bG_power = Scalar(1);
    long t = 0;
    void reset(Eigen::Index n) {
      m.setZero(n);
      G.setZero(n, n);
      adam.reset(n);
      b1_power = bG_power = Scalar(1);
      t = 0;
    }
  };

  const Step& zero_step() {
    trial_.step.setZero();
    trial_.point = x_;
    trial_.predicted_decrease = 0;
    return trial_;
  }
  const Step& stop_with_zero_step(Status s) {
    stop(s);
    return zero_step();
  }

  GnMomentumSettings<Scalar> settings_;
  ExactSubproblem<Scalar> exact_;  // run-time size: bounded_step solves on the free variables
  BoxBounds<Scalar> bounds_;
  Moments now_, before_;
  Vector m_hat_, tmp_;
  Matrix G_hat_, B_;
  Step trial_;
  Scalar value_ = 0;
  Scalar radius_ = 0;
  int iterations_ = 0;
  int non_finite_trials_ = 0;
};

}  // namespace rmpc::optim
