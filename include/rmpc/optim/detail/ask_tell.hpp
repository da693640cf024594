// The call-order state of the ask/tell cycle (status.hpp), shared by TrustRegion, FixedRate and
// GnMomentum: the current point x and gradient g, which call is expected next, the status,
// the checks at tell_model, and tell_value of the rules that take every finite step. Out of
// the public API.
#pragma once

#include <rmpc/optim/status.hpp>

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace rmpc::optim::detail {

template <typename Scalar, int N>
class AskTell {
 protected:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  enum class Phase { need_model, need_ask, need_value };

  /// `name` prefixes the messages of programmer errors ("TrustRegion", "FixedRate").
  explicit AskTell(const char* name) : name_(name) {}

  Status stop(Status s) {
    status_ = s;
    return s;
  }

  /// tell_model's checks: a wrong size of g throws (std::invalid_argument), a pending step
  /// throws (std::logic_error); false when the rule has stopped or g is not finite (it stops
  /// with non_finite_input). Otherwise stores g.
  bool begin_model(const Eigen::Ref<const Vector>& g) {
    if (g.size() != x_.size())
      throw std::invalid_argument(std::string(name_) + "::tell_model: g has the wrong size");
    if (status_ != Status::running) return false;
    if (phase_ == Phase::need_value)
      throw std::logic_error(std::string(name_) +
                             "::tell_model: tell_value() for the pending step first");
    if (!g.allFinite()) {
      stop(Status::non_finite_input);
      return false;
    }
    g_ = g;
    return true;
  }

  /// The end of ask() for a step from a trust-region subproblem (TrustRegion, GnMomentum):
  /// false when the step, its predicted decrease or x + step is not finite (the rule then
  /// stops with numerical_overflow); otherwise trial.point = x + step, clamped into the box.
  template <typename Step, typename Bounds>
  bool place_trial(Step& trial, const Bounds& bounds) const {
    if (!trial.step.allFinite() || !std::isfinite(trial.predicted_decrease) ||
        !(x_ + trial.step).allFinite())
      return false;
    trial.point = x_ + trial.step;
    bounds.clamp(trial.point);
    return true;
  }

  /// tell_value of the rules without a ratio test (FixedRate, GnMomentum): a finite J is always
  /// taken (x moves to the trial point); a NaN/Inf J is a rejected trial (x kept) and a stop,
  /// Status::non_finite_objective. value, iterations and non_finite_trials are the rule's.
  template <typename Step>
  StepOutcome<Scalar> take_step(Scalar J_trial, const Step& trial, Scalar radius, Scalar& value,
                                int& iterations, int& non_finite_trials, int max_iterations) {
    StepOutcome<Scalar> out;
    out.radius = radius;
    out.status = status_;
    if (status_ != Status::running) return out;
    if (phase_ != Phase::need_value)
      throw std::logic_error(std::string(name_) + "::tell_value: ask() first");
    ++iterations;
    out.actual_decrease = value - J_trial;
    out.predicted_decrease = trial.predicted_decrease;
    if (!std::isfinite(J_trial)) {
      ++non_finite_trials;
      out.accepted = false;
      out.non_finite_value = true;
      out.ratio = -std::numeric_limits<Scalar>::infinity();
      phase_ = Phase::need_ask;  // same g; nothing to retry without a ratio test
      out.status = stop(Status::non_finite_objective);
      return out;
    }
    out.accepted = true;
    out.ratio = out.actual_decrease / trial.predicted_decrease;
    x_ = trial.point;
    value = J_trial;
    phase_ = Phase::need_model;
    if (iterations >= max_iterations) stop(Status::max_iterations);
    out.status = status_;
    return out;
  }

  const char* name_;
  Vector x_, g_;  ///< current (accepted) point and the gradient told there
  Phase phase_ = Phase::need_model;
  Status status_ = Status::non_finite_input;
};

}  // namespace rmpc::optim::detail
