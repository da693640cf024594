// One ask/tell optimizer over the seven policy-update rules compared in method.md section 4
// and P2's GN-Momentum (gn_momentum.hpp), selected by an enum so the RL loop can swap them:
//   gd, tr_gd, qn, tr_qn (proposed, P1), tr_bfgs, tr_gauss_newton (P2), adam,
//   gn_momentum (P2: averaged Gauss-Newton curvature, momentum gradient, Adam-length radius).
// paper_settings(rule) returns the radii and rates of method.md section 4 for each rule.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <rmpc/optim/fixed_rate.hpp>
#include <rmpc/optim/gn_momentum.hpp>
#include <rmpc/optim/status.hpp>
#include <rmpc/optim/trust_region.hpp>

#include <Eigen/Core>

#include <limits>

namespace rmpc::optim {

enum class UpdateRule { gd, tr_gd, qn, tr_qn, tr_bfgs, tr_gauss_newton, adam, gn_momentum };

inline const char* to_string(UpdateRule r) {
  switch (r) {
    case UpdateRule::gd: return "GD";
    case UpdateRule::tr_gd: return "TR-GD";
    case UpdateRule::qn: return "QN";
    case UpdateRule::tr_qn: return "TR-QN";
    case UpdateRule::tr_bfgs: return "TR-BFGS";
    case UpdateRule::tr_gauss_newton: return "TR-Gauss-Newton";
    case UpdateRule::adam: return "Adam";
    case UpdateRule::gn_momentum: return "GN-Momentum";
  }
  return "unknown";
}

/// True when the rule reads H in tell_model (the caller must compute the Hessian estimate).
inline bool needs_hessian(UpdateRule r) {
  return r == UpdateRule::qn || r == UpdateRule::tr_qn || r == UpdateRule::tr_gauss_newton ||
         r == UpdateRule::gn_momentum;
}
/// True when the rule has a ratio test (tell_value may reject; then ask() again, same model).
/// Not gn_momentum: its radius comes from Adam's step length and every finite step is taken.
inline bool uses_trust_region(UpdateRule r) {
  return r == UpdateRule::tr_gd || r == UpdateRule::tr_qn || r == UpdateRule::tr_bfgs ||
         r == UpdateRule::tr_gauss_newton;
}

template <typename Scalar = double>
struct OptimizerSettings {
  UpdateRule rule = UpdateRule::tr_qn;         ///< The proposed method (P1).
  TrustRegionSettings<Scalar> trust_region{};  ///< Used by tr_* rules; defaults = TR-QN radii.
  FixedRateSettings<Scalar> fixed_rate{};      ///< Used by gd, qn, adam.
  GnMomentumSettings<Scalar> gn_momentum{};    ///< Used by gn_momentum; defaults in its header.

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    trust_region.validate();
    fixed_rate.validate();
    gn_momentum.validate();
  }
};

/// method.md section 4 settings for `rule`: TR-GD radii Delta0 1e-3, max 1e-1, min 1e-10;
/// TR-QN / TR-BFGS / TR-Gauss-Newton Delta0 1e-2, max 1e-1, min 1e-6; GD lr 1e-4; QN lr 1e-2.
template <typename Scalar = double>
OptimizerSettings<Scalar> paper_settings(UpdateRule rule) {
  OptimizerSettings<Scalar> s;
  s.rule = rule;
  if (rule == UpdateRule::tr_gd) {
    s.trust_region.initial_radius = Scalar(1e-3);
    s.trust_region.max_radius = Scalar(1e-1);
    s.trust_region.min_radius = Scalar(1e-10);
  }
  return s;
}

template <typename Scalar = double, int N = Eigen::Dynamic>
class Optimizer {
 public:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  using Matrix = Eigen::Matrix<Scalar, N, N>;
  using Step = TrialStep<Scalar, N>;
  using Outcome = StepOutcome<Scalar>;

  explicit Optimizer(OptimizerSettings<Scalar> settings = {})
      : settings_(settings),
        tr_(trust_region_model(settings.rule), settings.trust_region),
        fixed_rate_(fixed_rate_rule(settings.rule), settings.fixed_rate),
        gn_momentum_(settings.gn_momentum) {}

  void reset(const Eigen::Ref<const Vector>& x0, Scalar J0) {
    visit([&](auto& o) { o.reset(x0, J0); });
  }
  /// Box bounds lower <= x <= upper honoured by every rule (box_bounds.hpp: a bounded
  /// subproblem for the trust-region rules and GN-Momentum, projected steps for GD, QN and
  /// Adam). Set before reset(); empty vectors remove them.
  void set_bounds(const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& lower,
                  const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& upper) {
    tr_.set_bounds(lower, upper);
    fixed_rate_.set_bounds(lower, upper);
    gn_momentum_.set_bounds(lower, upper);
  }
  /// g and H at the current accepted point; H is ignored unless needs_hessian(rule).
  Status tell_model(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Matrix>& H) {
    if (!needs_hessian(settings_.rule)) return tell_gradient(g);
    return visit([&](auto& o) { return o.tell_model(g, H); });
  }
  /// g only; for rules with needs_hessian(rule) == false.
  Status tell_gradient(const Eigen::Ref<const Vector>& g) {
    return visit([&](auto& o) { return o.tell_gradient(g); });
  }
  const Step& ask() {
    return visit([](auto& o) -> const Step& { return o.ask(); });
  }
  Outcome tell_value(Scalar J_trial) {
    return visit([&](auto& o) { return o.tell_value(J_trial); });
  }

  const Vector& x() const {
    return visit([](const auto& o) -> const Vector& { return o.x(); });
  }
  Scalar value() const {
    return visit([](const auto& o) { return o.value(); });
  }
  Status status() const {
    return visit([](const auto& o) { return o.status(); });
  }
  int iterations() const {
    return visit([](const auto& o) { return o.iterations(); });
  }
  /// Trials with a NaN/Inf value (rejected; see Status::non_finite_objective).
  int non_finite_trials() const {
    return visit([](const auto& o) { return o.non_finite_trials(); });
  }
  bool needs_model() const {
    return visit([](const auto& o) { return o.needs_model(); });
  }
  /// Trust radius of the next step: Delta for the tr_* rules, the Adam-step radius for
  /// gn_momentum, +inf for gd, qn and adam.
  Scalar radius() const {
    if (settings_.rule == UpdateRule::gn_momentum) return gn_momentum_.radius();
    return tr() ? tr_.radius() : std::numeric_limits<Scalar>::infinity();
  }
  UpdateRule rule() const { return settings_.rule; }
  const TrustRegion<Scalar, N>& trust_region() const { return tr_; }
  const FixedRate<Scalar, N>& fixed_rate() const { return fixed_rate_; }
  const GnMomentum<Scalar, N>& gn_momentum() const { return gn_momentum_; }

 private:
  bool tr() const { return uses_trust_region(settings_.rule); }
  // f(the optimizer of the selected rule); one place decides which member serves the rule.
  template <typename F>
  decltype(auto) visit(F&& f) {
    if (settings_.rule == UpdateRule::gn_momentum) return f(gn_momentum_);
    return tr() ? f(tr_) : f(fixed_rate_);
  }
  template <typename F>
  decltype(auto) visit(F&& f) const {
    if (settings_.rule == UpdateRule::gn_momentum) return f(gn_momentum_);
    return tr() ? f(tr_) : f(fixed_rate_);
  }
  static TrustRegionModel trust_region_model(UpdateRule r) {
    switch (r) {
      case UpdateRule::tr_gd: return TrustRegionModel::clipped_gradient;
      case UpdateRule::tr_bfgs: return TrustRegionModel::bfgs;
      case UpdateRule::tr_gauss_newton: return TrustRegionModel::gauss_newton;
      default: return TrustRegionModel::exact_hessian;
    }
  }
  static FixedRateRule fixed_rate_rule(UpdateRule r) {
    switch (r) {
      case UpdateRule::qn: return FixedRateRule::quasi_newton;
      case UpdateRule::adam: return FixedRateRule::adam;
      default: return FixedRateRule::gradient_descent;
    }
  }

  OptimizerSettings<Scalar> settings_;
  TrustRegion<Scalar, N> tr_;
  FixedRate<Scalar, N> fixed_rate_;
  GnMomentum<Scalar, N> gn_momentum_;
};

}  // namespace rmpc::optim
