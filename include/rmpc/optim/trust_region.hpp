// Trust-region driver (Nocedal & Wright Algorithm 4.1; method.md section 4) with
// interchangeable curvature models and an ask/tell interface for noisy, measured objectives.
//
//     m(p) = g'p + p'Bp/2,    p = argmin m(p) s.t. ||p|| <= Delta            (N&W eq. 4.3)
//     rho  = (J(x) - J(x + p)) / (m(0) - m(p))                               (N&W eq. 4.4)
//     rho <= reject_ratio: reject (x kept, same g and B, smaller Delta)
//     rho <  shrink_ratio: Delta *= shrink_factor;  rho > expand_ratio: Delta *= expand_factor
//     Delta clamped to [min_radius, max_radius]
//
// B comes from the model: exact Hessian or Gauss-Newton matrix supplied by the caller
// (tell_model), BFGS secant updates from accepted gradients (tell_gradient), or B = 0 with
// the step -g clipped to the radius (TR-GD of method.md section 4). The RL loop drives it
// step by step:
//
//     reset(theta0, J0); tell_model(g, H);
//     loop: p = ask().step; J = measure(theta + p); out = tell_value(J);
//           if (out.accepted) tell_model(g(theta), H(theta));   // else ask() again
//
// and minimize(f, x0) (minimize.hpp) runs exactly this loop on a deterministic function.
//
// Non-finite and out-of-range numbers are statuses, never convergence: norms are range-safe
// (detail::safe_norm, scaled subproblems), a finite g whose step or predicted decrease still
// overflows stops with numerical_overflow, and a NaN/Inf trial value is a rejected trial
// (StepOutcome::non_finite_value) whose radius collapse ends as non_finite_objective.
#pragma once

#include <rmpc/optim/box_bounds.hpp>
#include <rmpc/optim/curvature.hpp>
#include <rmpc/optim/detail/ask_tell.hpp>
#include <rmpc/optim/status.hpp>
#include <rmpc/optim/steihaug_cg.hpp>
#include <rmpc/optim/subproblem.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace rmpc::optim {

/// Where the model Hessian B comes from.
enum class TrustRegionModel {
  exact_hessian,     ///< Caller's Hessian (P1 "improved quasi-Newton", TR-QN); tell_model(g, H).
  gauss_newton,      ///< Caller's Gauss-Newton matrix (P2, TR-Gauss-Newton); tell_model(g, H).
  bfgs,              ///< Secant updates from accepted steps (TR-BFGS); tell_gradient(g).
  clipped_gradient,  ///< B = 0, p = -g clipped to the radius (TR-GD); tell_gradient(g).
};

enum class SubproblemMethod {
  exact,        ///< Eigen-decomposition + secular equation (More-Sorensen); O(n^3) per model.
  steihaug_cg,  ///< Truncated CG; O(n^2) per CG step, approximate.
  automatic,    ///< exact for n <= exact_max_dimension, Steihaug-CG above.
};

template <typename Scalar = double>
struct TrustRegionSettings {
  Scalar initial_radius = Scalar(1e-2);  ///< Delta0 of TR-QN (method.md section 4).
  Scalar max_radius = Scalar(1e-1);      ///< Cap of TR-QN (method.md section 4).
  /// Floor of TR-QN; a rejection at it stops (converged_radius, or non_finite_objective when
  /// the rejected trial value was NaN/Inf). Must be a normal number (not 0 or denormal).
  Scalar min_radius = Scalar(1e-6);
  Scalar reject_ratio =
      Scalar(0);  ///< Reject when rho <= this (paper: rho <= 0; N&W eta in [0, 1/4)).
  Scalar shrink_ratio = Scalar(0.25);   ///< rho below: shrink (paper and N&W Algorithm 4.1).
  Scalar shrink_factor = Scalar(0.25);  ///< Delta /= 4 (paper and N&W Algorithm 4.1).
  Scalar expand_ratio = Scalar(0.75);   ///< rho above: expand (paper and N&W Algorithm 4.1).
  Scalar expand_factor = Scalar(2);     ///< Delta *= 2, capped at max_radius (paper).
  /// N&W expand only when ||p|| = Delta; the paper expands on rho alone (default).
  bool expand_only_on_boundary = false;
  /// Shrink from min(Delta, ||p||) instead of Delta, so that a rejected interior step is not
  /// retried unchanged (a deterministic waste); off = the paper's Delta /= 4.
  bool shrink_from_step_length = false;
  /// Stop when ||g|| at an accepted point is <= this (sampled gradients never reach 0 exactly).
  /// 1e-8 for double; never below 64 epsilons of Scalar (float).
  Scalar gradient_tolerance = detail::default_tolerance<Scalar>(1e-8, 64);
  /// Stop when an accepted ||p|| <= step_tolerance (1 + ||x||): no measurable progress left.
  /// 1e-14 for double; never below 4 epsilons of Scalar (float).
  Scalar step_tolerance = detail::default_tolerance<Scalar>(1e-14, 4);
  /// When |actual| and predicted decrease are both <= roundoff_tolerance (1 + |J|), rho is
  /// round-off noise: take rho = 1 (Conn, Gould & Toint, Trust-Region Methods, section 17.4.2).
  /// Sampled J (RL) has noise far above this, so the guard only acts on smooth f near x*.
  Scalar roundoff_tolerance = Scalar(10) * Eigen::NumTraits<Scalar>::epsilon();
  /// Trial budget (tell_value calls); each trial costs one batch of episodes in the RL loop.
  int max_iterations = 1000;
  /// P1 replaces eigenvalues of an indefinite B by their absolute values; none keeps B and
  /// lets the exact subproblem exploit negative curvature (saddle escape, hard case).
  Regularisation regularisation = Regularisation::absolute_eigenvalues;
  /// Eigenvalue floor of the regularisation; 0 is enough since the trust region bounds p.
  Scalar regularisation_floor = Scalar(0);
  SubproblemMethod subproblem = SubproblemMethod::automatic;
  /// Largest n solved exactly under `automatic` (eigen-decomposition is cheap below this).
  Eigen::Index exact_max_dimension = 200;
  ExactSubproblemSettings<Scalar> exact{};
  SteihaugCgSettings<Scalar> steihaug{};
  BfgsSettings<Scalar> bfgs{};

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(std::isnormal(min_radius) && min_radius > Scalar(0),
                    "TrustRegionSettings::min_radius", "a normal number > 0", min_radius);
    require_setting(rmpc::detail::finite_positive(max_radius) && max_radius >= min_radius,
                    "TrustRegionSettings::max_radius", "finite and >= min_radius", max_radius);
    require_setting(rmpc::detail::finite_positive(initial_radius),
                    "TrustRegionSettings::initial_radius", "finite and > 0", initial_radius);
    require_setting(reject_ratio >= Scalar(0) && reject_ratio < Scalar(1),
                    "TrustRegionSettings::reject_ratio", "in [0, 1)", reject_ratio);
    require_setting(shrink_ratio >= reject_ratio && shrink_ratio <= expand_ratio,
                    "TrustRegionSettings::shrink_ratio", "in [reject_ratio, expand_ratio]",
                    shrink_ratio);
    require_setting(expand_ratio < Scalar(1), "TrustRegionSettings::expand_ratio", "< 1",
                    expand_ratio);
    require_setting(shrink_factor > Scalar(0) && shrink_factor < Scalar(1),
                    "TrustRegionSettings::shrink_factor", "in (0, 1)", shrink_factor);
    require_setting(rmpc::detail::finite_positive(expand_factor) && expand_factor >= Scalar(1),
                    "TrustRegionSettings::expand_factor", "finite and >= 1", expand_factor);
    require_setting(rmpc::detail::finite_nonnegative(gradient_tolerance),
                    "TrustRegionSettings::gradient_tolerance", "finite and >= 0",
                    gradient_tolerance);
    require_setting(rmpc::detail::finite_nonnegative(step_tolerance),
                    "TrustRegionSettings::step_tolerance", "finite and >= 0", step_tolerance);
    require_setting(rmpc::detail::finite_nonnegative(roundoff_tolerance),
                    "TrustRegionSettings::roundoff_tolerance", "finite and >= 0",
                    roundoff_tolerance);
    require_setting(max_iterations > 0, "TrustRegionSettings::max_iterations", "> 0",
                    max_iterations);
    require_setting(rmpc::detail::finite_nonnegative(regularisation_floor),
                    "TrustRegionSettings::regularisation_floor", "finite and >= 0",
                    regularisation_floor);
    require_setting(exact_max_dimension >= 0, "TrustRegionSettings::exact_max_dimension", ">= 0",
                    exact_max_dimension);
    exact.validate();
    steihaug.validate();
    bfgs.validate();
  }
};

/// Ask/tell trust-region optimizer; see the file comment for the call sequence.
template <typename Scalar = double, int N = Eigen::Dynamic>
class TrustRegion : private detail::AskTell<Scalar, N> {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  using Step = TrialStep<Scalar, N>;
  using Outcome = StepOutcome<Scalar>;

  explicit TrustRegion(TrustRegionModel model = TrustRegionModel::exact_hessian,
                       TrustRegionSettings<Scalar> settings = {})
      : AskTellBase("TrustRegion"),
        model_(model),
        settings_(settings),
        exact_(settings.exact),
        cg_(settings.steihaug),
        bfgs_(settings.bfgs) {
    settings_.validate();
  }

  /// Starts at the accepted point x0 with its measured value J0. Next: tell_model/tell_gradient.
  void reset(const Eigen::Ref<const Vector>& x0, Scalar J0) {
    if constexpr (N != Eigen::Dynamic)
      if (x0.size() != N) throw std::invalid_argument("TrustRegion::reset: x0 has the wrong size");
    const Eigen::Index n = x0.size();
    x_ = x0;
    value_ = J0;
    g_.setZero(n);
    B_.setZero(n, n);
    s_prev_.setZero(n);
    trial_.step.setZero(n);
    trial_.point = x_;
    bounds_.validate(n, "TrustRegion::set_bounds");
    if (!bounds_.contains(x0))
      throw std::invalid_argument("TrustRegion::reset: x0 lies outside the bounds");
    bfgs_.reset(n);
    radius_ = std::clamp(settings_.initial_radius, settings_.min_radius, settings_.max_radius);
    iterations_ = 0;
    accepted_ = 0;
    non_finite_trials_ = 0;
    moved_since_model_ = false;
    has_model_ = false;
    phase_ = Phase::need_model;
    status_ = (x0.allFinite() && std::isfinite(J0)) ? Status::running : Status::non_finite_input;
  }

  /// Model at the accepted point: gradient g and Hessian H (exact or Gauss-Newton; H is
  /// ignored by the bfgs and clipped_gradient models). May also replace the model at the
  /// same point before ask() (e.g. a refitted critic).
  Status tell_model(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Matrix>& H) {
    if (model_ == TrustRegionModel::bfgs || model_ == TrustRegionModel::clipped_gradient)
      return tell_gradient(g);
    if (H.rows() != x_.size() || H.cols() != x_.size())
      throw std::invalid_argument("TrustRegion::tell_model: H has the wrong size");
    if (!begin_model(g)) return status_;
    if (!H.allFinite()) return stop(Status::non_finite_input);
    if (settings_.regularisation == Regularisation::absolute_eigenvalues) {
      const Matrix Hs = H;
      if (!regularise_absolute_eigenvalues<Scalar, N>(Hs, settings_.regularisation_floor, B_))
        return stop(Status::non_finite_input);
    } else {
      B_ = H;
    }
    return end_model();
  }

  /// Gradient at the accepted point for the bfgs and clipped_gradient models (BFGS secant
  /// update with s = last accepted step, y = g - g_previous, N&W eq. 6.19).
  Status tell_gradient(const Eigen::Ref<const Vector>& g) {
    if (model_ == TrustRegionModel::exact_hessian || model_ == TrustRegionModel::gauss_newton)
      throw std::invalid_argument("TrustRegion::tell_gradient: this model needs tell_model(g, H)");
    if (model_ == TrustRegionModel::bfgs && has_model_ && moved_since_model_ &&
        g.size() == g_.size() && g.allFinite()) {
      y_ = g - g_;
      last_bfgs_update_ = bfgs_.update(s_prev_, y_);
    }
    if (!begin_model(g)) return status_;
    if (model_ == TrustRegionModel::bfgs) B_ = bfgs_.hessian();
    return end_model();
  }

  /// Trial step for the current model and radius. After a stop: a zero step.
  const Step& ask();

  /// Measured value J(x + p) of the last ask(): ratio test, radius update, accept/reject.
  /// A non-finite J_trial is a rejection (the trial point blew up; out.non_finite_value,
  /// ratio -Inf), not a stop; when it happens at min_radius the status is
  /// non_finite_objective, not converged_radius.
  Outcome tell_value(Scalar J_trial);

  /// Box bounds on x (box_bounds.hpp; empty vectors: none); set before reset(), which checks
  /// their sizes and that x0 lies inside. Steps come from the bounded subproblem.
  void set_bounds(const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& lower,
                  const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& upper) {
    bounds_.lower = lower;
    bounds_.upper = upper;
  }
  const BoxBounds<Scalar>& bounds() const { return bounds_; }

  const Vector& x() const { return x_; }              ///< Accepted point.
  Scalar value() const { return value_; }             ///< Measured J at the accepted point.
  const Vector& gradient() const { return g_; }       ///< Last told gradient.
  const Matrix& model_hessian() const { return B_; }  ///< B after regularisation / BFGS.
  Scalar radius() const { return radius_; }           ///< Radius of the next ask().
  Status status() const { return status_; }
  int iterations() const { return iterations_; }  ///< tell_value calls so far.
  int accepted_steps() const { return accepted_; }
  /// tell_value calls with a NaN/Inf value (each one a rejection).
  int non_finite_trials() const { return non_finite_trials_; }
  /// True when the next call must be tell_model/tell_gradient (after reset or an acceptance).
  bool needs_model() const { return status_ == Status::running && phase_ == Phase::need_model; }
  SubproblemStatus last_subproblem_status() const { return last_subproblem_; }
  BfgsUpdate last_bfgs_update() const { return last_bfgs_update_; }
  TrustRegionModel model() const { return model_; }
  const TrustRegionSettings<Scalar>& settings() const { return settings_; }

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

  const Step& stop_with_zero_step(Status s) {
    stop(s);
    trial_.step.setZero();
    trial_.point = x_;
    trial_.predicted_decrease = 0;
    return trial_;
  }

  Status end_model() {
    has_model_ = true;
    moved_since_model_ = false;
    phase_ = Phase::need_ask;
    if (detail::safe_norm(bounds_.projected_gradient(x_, g_)) <= settings_.gradient_tolerance)
      return stop(Status::converged_gradient);
    if (model_ == TrustRegionModel::clipped_gradient) return status_;
    use_exact_ = settings_.subproblem == SubproblemMethod::exact ||
                 (settings_.subproblem == SubproblemMethod::automatic &&
                  x_.size() <= settings_.exact_max_dimension);
    if (use_exact_) {
      if (exact_.compute(B_).info() != Eigen::Success) return stop(Status::subproblem_failed);
    } else {
      cg_.compute(B_);
    }
    return status_;
  }

  TrustRegionModel model_;
  TrustRegionSettings<Scalar> settings_;
  // The subproblem solvers at run-time size whatever N is: with bounds they work on the free
  // variables, without on all of them. One size keeps one instantiation per Scalar: each
  // size costs seconds of compile time in every user's translation unit, and theta is small,
  // so the fixed-size kernels bought nothing measurable. Set up once per model, not per ask.
  ExactSubproblem<Scalar> exact_;
  SteihaugCg<Scalar> cg_;
  BfgsModel<Scalar, N> bfgs_;
  BoxBounds<Scalar> bounds_;
  Vector s_prev_, y_;
  Matrix B_;
  Step trial_;
  Scalar value_ = 0;
  Scalar radius_ = 0;
  int iterations_ = 0;
  int accepted_ = 0;
  int non_finite_trials_ = 0;
  bool moved_since_model_ = false;
  bool has_model_ = false;
  bool use_exact_ = true;
  SubproblemStatus last_subproblem_ = SubproblemStatus::non_finite;
  BfgsUpdate last_bfgs_update_ = BfgsUpdate::skipped;
};

}  // namespace rmpc::optim

// Member definitions, out of the class body (not implicitly inline).
#include "rmpc/detail/settings_check.hpp"
#include "rmpc/optim/detail/trust_region_step.hpp"
