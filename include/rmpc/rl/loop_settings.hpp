// Settings of the policy-optimization loop (loop.hpp): the update rule's curvature, the
// paper's critic training and LoopSettings.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <rmpc/learn/fitted_q.hpp>
#include <rmpc/optim/update_rule.hpp>
#include <rmpc/rl/exploration.hpp>
#include <rmpc/rl/policy_gradient.hpp>

#include <Eigen/Core>

#include <cmath>
#include <limits>

namespace rmpc::rl {

/// Curvature each update rule needs from the estimator.
inline HessianMode hessian_mode(optim::UpdateRule rule) {
  switch (rule) {
    case optim::UpdateRule::qn:
    case optim::UpdateRule::tr_qn: return HessianMode::exact;
    case optim::UpdateRule::tr_gauss_newton:
    case optim::UpdateRule::gn_momentum: return HessianMode::gauss_newton;
    default: return HessianMode::none;
  }
}

/// The paper's critic training (method.md section 4): k = 10 sweeps, gamma = 1, truncated
/// episodes, Huber, Adam 1e-3, minibatch 256, patience 50, warm start. max_epochs caps
/// each warm-started sweep (the one-minute budget: with patience 50 every fit would run
/// >= 51 full epochs over 12 500 samples, ~10 s per iteration here; 25 epochs with the
/// float critic ~0.8 s).
template <typename Scalar>
learn::FittedQSettings<Scalar> paper_critic_settings(int max_epochs = 25) {
  learn::FittedQSettings<Scalar> s;
  s.sweeps = 10;
  s.gamma = Scalar(1);
  s.done_is_truncation = true;
  s.refit_scalers = true;
  s.train.batch_size = 256;
  s.train.loss = learn::Loss::huber;
  s.train.patience = 50;
  s.train.max_epochs = max_epochs;
  return s;
}

/// Which update rules run their batches with common random numbers (LoopSettings).
enum class CommonRandomNumbers {
  off,           ///< fresh exploration streams every iteration (the paper)
  trust_region,  ///< for the rules with a ratio test (tr_*), fresh streams for the others
  always,        ///< for every rule
};

/// How a batch's mean cost counts an episode cut short by a failed MPC solve (LoopSettings).
enum class FailedEpisodeCost {
  truncated,  ///< its cost up to the failure (the paper): a theta that fails earlier looks cheaper.
  infinite,   ///< +inf for the whole batch: the trial is rejected like an infeasible point.
};            // A batch in which every episode failed costs +inf either way.

/// The cost the ratio test of the trust-region rules compares (LoopSettings).
enum class RatioTestCost {
  exploring_batch,      ///< Jbar of the batch that explores (the paper).
  deterministic_batch,  ///< closed-loop cost without exploration from the same initial states.
};

/// The function class of the fitted-Q critic (LoopSettings).
enum class CriticModel {
  network,    ///< the paper's tanh network (learn/critic.hpp), trained by Adam.
  quadratic,  ///< a quadratic form of (s, a_prev, a) fitted by least squares
              ///< (learn/quadratic_critic.hpp): one linear solve per sweep.
};

template <typename Scalar = double>
struct LoopSettings {
  int iterations = 40;  ///< batches of episodes, the first at theta0 (paper: 40 = 2000 episodes).
  int episode_length = 50;             ///< steps per episode (paper: 50, gamma = 1).
  Eigen::Index buffer_episodes = 250;  ///< replay memory = the last 250 episodes (paper).
  std::uint64_t seed = 0;  ///< every random stream derives from it (same seed, same run).
  int threads = 1;         ///< workers for episodes and MPC solves; results do not depend on it.
  /// Update rule and its radii/rates (paper_settings(rule) = method.md section 4). The model
  /// (g, H) is a mean per stored transition while Jbar sums an episode's steps, so rho is
  /// about episode_length x actual / predicted, as in the paper; the thresholds act on that
  /// rho (README, Results: with an exact model the honest scaling was not worse).
  optim::OptimizerSettings<Scalar> optimizer =
      optim::paper_settings<Scalar>(optim::UpdateRule::tr_qn);
  ExplorationSettings<Scalar> exploration{};  ///< paper schedule.
  learn::FittedQSettings<Scalar> critic =
      paper_critic_settings<Scalar>();  ///< k-step fitted-Q training.
  /// Not in the paper for `quadratic`: the critic's function class. The network fits any
  /// shape and needs epochs; a quadratic is exact for a linear system with quadratic cost where
  /// no input saturates (where one does, dpi/dtheta is zero) and costs one solve per sweep.
  /// Measured (README, Second system): with critic.action_relative it is the better critic on
  /// two_mass (median gap closed 19.6 % against 4.3 %, 16 seeds; a sweep 2.7-3.6x faster) and
  /// stalls on the 2-D study, whose costs span decades (0 / 16 within 1 %): not the default.
  /// With `quadratic`, float_critic, critic_hidden, critic_targets, first_fit_max_epochs and
  /// critic.train are not used (they stay in the settings record, so resume compares them).
  CriticModel critic_model = CriticModel::network;
  Eigen::Index critic_hidden = 20;  ///< width of the critic's two tanh layers (paper: 20).
  /// How the critic scales its targets (paper: log10 min-max, as costs span decades). min_max
  /// fits absolute errors, which is what the DPG mean of dQ/da weighs, yet on the 2-D study it
  /// ends 2 of 16 seeds within 1 % against 14 (README, Results): keep the paper's unless costs
  /// span less than a decade.
  learn::TargetTransform critic_targets = learn::TargetTransform::log10_min_max;
  /// Epoch cap of the very first fits (from the random init); later fits are warm-started
  /// from the same sweep level and use critic.train.max_epochs.
  int first_fit_max_epochs = 60;
  /// Deterministic closed-loop cost of every accepted theta over the initial states (no
  /// exploration): the learning curve and best_cost. Not used by the learning itself.
  bool evaluate_accepted = true;
  /// Not in the paper: when the trust region stops (radius at its floor after rejections, a
  /// noisy Jbar of the accepted point can cause it), refit the model at the accepted theta
  /// and restart from Delta0 instead of ending the run.
  ///
  /// Default on (not the paper): a stop at the radius floor after rejections in a row means the
  /// model at theta is wrong, not that theta is optimal; the refit sees the rejected batches
  /// and the remaining budget is used. 16 seeds (3-18) of the 2-D study, TR-QN, final theta
  /// within 1 %: 12 / 16 with it, 8 / 16 without (README, Results).
  bool restart_on_stop = true;
  /// Samples with a weakly active constraint (one-sided derivatives) enter the DPG means.
  bool use_weakly_active = true;
  /// Not in the paper: common random numbers. Episode e draws the same exploration stream in
  /// every iteration (seeded by (seed, e), not by the iteration), so the ratio test's
  /// Jbar(theta + p) - Jbar(theta) is not swamped by the batches' exploration noise (+-0.003
  /// on the 2-D study, above the predicted decrease near the optimum). Rules without a ratio
  /// test gain nothing and their critic sees less varied data (GD, QN, Adam did worse with
  /// it), hence on for the trust-region rules only by default. off = the paper.
  CommonRandomNumbers common_random_numbers = CommonRandomNumbers::trust_region;
  /// Not in the paper: the critic network trains and evaluates in float (~3x faster fits,
  /// so 25 epochs per sweep fit the one-minute budget; the fit error dwarfs float round-off).
  /// Inputs, targets and dQ/da are converted at the boundary.
  bool float_critic = true;
  /// Not in the paper (which keeps g and H after a rejection): refit the critic and g, H at
  /// the accepted theta after a rejected trial, with the rejected batch now in the memory.
  /// With common random numbers a wrong model direction is rejected deterministically, so
  /// retrying it at a smaller radius would only repeat the rejection. false = the paper.
  bool refit_on_reject = true;
  /// The paper (true): a rejected trial's batch enters the replay memory too. Its episodes
  /// come from a theta the loop did not take, often a worse one (a rejected step of rho ~ -1e3
  /// visits states the accepted policy never reaches), and the DPG means over the memory
  /// weight them like the accepted theta's own: measured with rl/model_diagnosis.hpp on
  /// linear_2d (seed 8, iterations 18-22), the exact DPG g over such a memory points away from
  /// dJ/dtheta (cosine -0.85 to -0.90). false: only accepted batches are stored, and a
  /// rejection leaves the model as it was (nothing new to refit with).
  bool store_rejected_batches = true;
  /// Not in the paper: the ratio test compares the trial's deterministic closed-loop cost
  /// (one more batch per iteration, without exploration, from the same initial states; it
  /// also is the learning curve, so evaluate_accepted costs nothing extra) with the accepted
  /// theta's. The exploring batch's Jbar moves with the exploration schedule eps_k by far
  /// more than a step's predicted decrease (2-D study: ~1 against ~1e-3 in the first
  /// iterations: harmful steps accepted with rho ~ 1e3), and a failed episode truncates it
  /// (a theta that fails early looks cheap). The deterministic cost is the J(theta) the DPG
  /// model approximates, and a failed episode makes it +inf: the trial is rejected.
  RatioTestCost ratio_test_cost = RatioTestCost::exploring_batch;
  /// Not in the paper: a batch with a failed episode costs +inf, so the ratio test rejects a
  /// theta whose MPC fails instead of rewarding it with a truncated (cheaper) cost. At theta0
  /// such a batch ends the run with LoopStatus::initial_episodes_failed.
  FailedEpisodeCost failed_episode_cost = FailedEpisodeCost::infinite;
  /// Not in the paper: box bounds theta_lower <= theta <= theta_upper, honoured by every update
  /// rule (optim/box_bounds.hpp); np entries each (+-inf: unbounded) or both empty (none).
  /// Physical meaning is the reason to set them: a weight must stay positive, a back-off a
  /// tightening; a step that leaves them would only waste a batch. theta0 must lie inside.
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> theta_lower, theta_upper;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(iterations > 0, "LoopSettings::iterations", "> 0", iterations);
    require_setting(episode_length > 0, "LoopSettings::episode_length", "> 0", episode_length);
    require_setting(buffer_episodes > 0, "LoopSettings::buffer_episodes", "> 0", buffer_episodes);
    require_setting(threads > 0, "LoopSettings::threads", "> 0", threads);
    require_setting(critic_hidden > 0, "LoopSettings::critic_hidden", "> 0", critic_hidden);
    require_setting(first_fit_max_epochs > 0, "LoopSettings::first_fit_max_epochs", "> 0",
                    first_fit_max_epochs);
    optim::BoxBounds<Scalar>{theta_lower, theta_upper}.validate(
        theta_lower.size(), "LoopSettings::theta_lower/theta_upper");
    optimizer.validate();
    exploration.validate();
    critic.validate();
  }
};

}  // namespace rmpc::rl
