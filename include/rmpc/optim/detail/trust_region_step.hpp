// TrustRegion: ask() (the trial step from the subproblem) and tell_value() (the ratio test
// and radius update, N&W Algorithm 4.1). Out-of-class definitions of
// rmpc/optim/trust_region.hpp, included only from there.
#pragma once

namespace rmpc::optim {

template <typename Scalar, int N>
auto TrustRegion<Scalar, N>::ask() -> const Step& {
  if (status_ != Status::running) {
    trial_.step.setZero();
    trial_.point = x_;
    trial_.predicted_decrease = 0;
    return trial_;
  }
  if (phase_ == Phase::need_model)
    throw std::logic_error("TrustRegion::ask: tell_model/tell_gradient first");
  trial_.radius = radius_;
  if (model_ == TrustRegionModel::clipped_gradient) {
    const Scalar gn = detail::safe_norm(g_);
    const Scalar alpha = radius_ / gn;
    if (std::isfinite(gn) &&
        (alpha >= Scalar(1) || alpha >= (std::numeric_limits<Scalar>::min)())) {
      trial_.step = -std::min(Scalar(1), alpha) * g_;  // method.md section 4, TR-GD
    } else if (std::isfinite(gn)) {
      trial_.step = -radius_ * (g_ / gn);  // radius / ||g|| would underflow
    } else {
      // ||g|| beyond the range (entries finite): direction of g / max |g|, length radius.
      const Vector u = g_ / g_.cwiseAbs().maxCoeff();
      trial_.step = -(radius_ / detail::safe_norm(u)) * u;
    }
    trial_.on_boundary = !(gn < radius_);
    if (!bounds_.empty() && trial_.step.allFinite()) {
      bounds_.project_step(x_, trial_.step);  // a descent step for the linear model stays one
      trial_.on_boundary = false;
    }
    trial_.predicted_decrease = -g_.dot(trial_.step);  // linear model, B = 0
  } else if (!bounds_.empty()) {
    const BoundedStep<Scalar, N> b = use_exact_ ? bounded_step(bounds_, x_, g_, B_, radius_, exact_)
                                                : bounded_step(bounds_, x_, g_, B_, radius_, cg_);
    if (!b.finite) return stop_with_zero_step(Status::numerical_overflow);
    trial_.step = b.step;
    trial_.predicted_decrease = b.predicted_decrease;
    trial_.on_boundary = b.on_boundary;
  } else {
    const SubproblemResult<Scalar> sub =
        use_exact_ ? exact_.solve(g_, radius_) : cg_.solve(g_, radius_);
    last_subproblem_ = sub.status;
    if (sub.status == SubproblemStatus::non_finite) {
      // g, B and the radius are finite here: the step or m(0) - m(p) left the range.
      return stop_with_zero_step(Status::numerical_overflow);
    }
    trial_.step = sub.step;
    trial_.predicted_decrease = sub.predicted_decrease;
    trial_.on_boundary = sub.on_boundary();
  }
  if (!place_trial(trial_, bounds_)) return stop_with_zero_step(Status::numerical_overflow);
  if (!(trial_.predicted_decrease > Scalar(0))) {
    // g = 0 with B PSD (to round-off), or every descent direction leaves the box: the model
    // offers nothing; x is stationary for it.
    stop(Status::converged_step);
    trial_.step.setZero();
    trial_.point = x_;
    return trial_;
  }
  phase_ = Phase::need_value;
  return trial_;
}

template <typename Scalar, int N>
auto TrustRegion<Scalar, N>::tell_value(Scalar J_trial) -> Outcome {
  Outcome out;
  out.radius = radius_;
  out.status = status_;
  if (status_ != Status::running) return out;
  if (phase_ != Phase::need_value) throw std::logic_error("TrustRegion::tell_value: ask() first");
  ++iterations_;
  const Scalar pred = trial_.predicted_decrease;
  const Scalar actual = value_ - J_trial;
  const Scalar noise = settings_.roundoff_tolerance * (Scalar(1) + std::abs(value_));
  const bool finite_trial = std::isfinite(J_trial);
  Scalar rho = finite_trial ? actual / pred : -std::numeric_limits<Scalar>::infinity();
  if (finite_trial && std::abs(actual) <= noise && pred <= noise) rho = Scalar(1);
  if (!finite_trial) {
    ++non_finite_trials_;
    out.non_finite_value = true;
  }
  out.actual_decrease = actual;
  out.predicted_decrease = pred;
  out.ratio = rho;
  out.accepted = finite_trial && rho > settings_.reject_ratio;
  const Scalar step_norm = detail::safe_norm(trial_.step);
  const Scalar trial_radius = radius_;
  if (!(rho >= settings_.shrink_ratio)) {
    const Scalar base = settings_.shrink_from_step_length ? std::min(radius_, step_norm) : radius_;
    radius_ = std::max(settings_.shrink_factor * base, settings_.min_radius);
  } else if (rho > settings_.expand_ratio &&
             (!settings_.expand_only_on_boundary || trial_.on_boundary)) {
    radius_ = std::min(settings_.expand_factor * radius_, settings_.max_radius);
  }
  out.radius = radius_;
  if (out.accepted) {
    x_ = trial_.point;
    value_ = J_trial;
    s_prev_ = trial_.step;
    moved_since_model_ = true;
    ++accepted_;
    phase_ = Phase::need_model;
    if (step_norm <= settings_.step_tolerance * (Scalar(1) + detail::safe_norm(x_)))
      stop(Status::converged_step);
  } else {
    phase_ = Phase::need_ask;  // same g and B, smaller radius (method.md section 4)
    // A rejection at the floor is convergence only when the trial was measured (finite).
    if (trial_radius <= settings_.min_radius)
      stop(finite_trial ? Status::converged_radius : Status::non_finite_objective);
    // A rejected step far inside the smallest radius: round-off of J dominates (near x*).
    else if (step_norm <= settings_.step_tolerance * (Scalar(1) + detail::safe_norm(x_)))
      stop(finite_trial ? Status::converged_step : Status::non_finite_objective);
  }
  if (status_ == Status::running && iterations_ >= settings_.max_iterations)
    stop(Status::max_iterations);
  out.status = status_;
  return out;
}

}  // namespace rmpc::optim
