// The fitted-Q critic of method.md section 4: k networks Q^(1)..Q^(k) over the replay memory,
//
//     Q^(1) fits y = L(s, a);   Q^(n) fits y = L(s, a) + gamma m Q^(n-1)(s', a, pi(s')),
//
// with the critic input x = (s, a_prev, a) (targets.hpp builds x and y). Q^(k) approximates
// the k-step truncated cost of taking a and then following pi; its action derivatives
// dQ/da and d2Q/da2 are what the policy gradient and Hessian need. pi(s') is fixed while theta
// is, so the caller computes it once per theta and passes it in.
//
// Warm starts: at the first fit Q^(1) starts from the network given to reset() and Q^(n) from
// Q^(n-1) just fitted (one network trained through the k sweeps); at every later fit Q^(n)
// starts from its own previous fit (Q^(n) moves little when theta moves). The networks may
// run in another scalar than the data (C = float halves the fit's time; the data and the
// derivatives stay in the buffer's Scalar).
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <rmpc/learn/critic.hpp>
#include <rmpc/learn/replay_buffer.hpp>
#include <rmpc/learn/targets.hpp>
#include <rmpc/learn/training.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace rmpc::learn {

template <typename Scalar_>
struct FittedQSettings {
  using Scalar = Scalar_;
  int sweeps = 10;           ///< k of method.md section 4 (Q^(k) = k-step look-ahead).
  Scalar gamma = Scalar(1);  ///< the paper's discount.
  bool done_is_truncation =
      true;                   ///< paper: 50-step episodes are cut, so s' is still bootstrapped.
  bool refit_scalers = true;  ///< target range grows per sweep; the sigmoid output cannot exceed 1.
  /// Not in the paper: the critic's action input is the deviation a - pi(s) from the current
  /// policy instead of a (Silver et al., "Deterministic policy gradient algorithms", ICML 2014,
  /// section 4.3: compatible advantage). On-policy a = pi(s) is a function of s, so a fit in
  /// (s, a) can trade a misfit in s for a wrong slope in a; the deviation (exploration, and
  /// older policies' actions) varies independently of the fitted state terms. dQ/da = dQ/d(a -
  /// pi(s)) at fixed s, taken at a deviation of 0. It needs exploration: without deviations
  /// in the data the slope in a is not determined (the ridge of the quadratic critic keeps it
  /// at 0; the network's is arbitrary). Measured (README): it lifts the quadratic
  /// critic on two_mass (median gap closed -2.8 % -> 19.6 %) and costs the network 3 of 16
  /// seeds on the 2-D study (11 / 16 within 1 % against 14): off by default.
  bool action_relative = false;
  /// Not in the paper: one critic fitted to the observed k-step return along the stored
  /// episode (the costs of the next k stored steps, fewer at the episode's end; no bootstrap),
  /// instead of k fitted-Q sweeps. The sweeps take Q^(n)'s slope in a from Q^(n-1)'s
  /// s-gradient at s', so a critic that is wrong in s is wrong in a; observed returns are not
  /// (they are the behaviour policies' returns: older batches' theta and their exploration).
  /// One fit instead of k. Measured (README): two_mass with the quadratic critic on a - pi(s)
  /// and theta >= 0, median gap closed 33.1 % (every seed better than theta0) against 21.3 %;
  /// the 2-D study with the network, 15 / 16 within 1 % on seeds 3-18 but 11 / 16 on 19-34
  /// (defaults 14 and 13), at 3.5x less time: off by default.
  bool monte_carlo_targets = false;
  TrainSettings<Scalar> train{};  ///< per-sweep fit (warm-started from the previous sweep).

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(sweeps > 0, "FittedQSettings::sweeps", "> 0", sweeps);
    require_setting(gamma > Scalar(0) && gamma <= Scalar(1), "FittedQSettings::gamma", "in (0, 1]",
                    gamma);
    train.validate();
  }
};

enum class FittedQStatus {
  ok,          ///< all sweeps fitted.
  non_finite,  ///< a fit met NaN/Inf (its best weights are kept; the other sweeps ran).
};

inline const char* to_string(FittedQStatus s) {
  return s == FittedQStatus::ok ? "ok" : s == FittedQStatus::non_finite ? "non_finite" : "unknown";
}

template <typename C>
struct FittedQResult {
  FittedQStatus status = FittedQStatus::ok;
  std::vector<TrainResult<C>> fits;  ///< one per sweep, Q^(1) first.
  int epochs = 0;                    ///< epochs over all sweeps.
};

/// C: the networks' scalar; Network: the function class of each Q^(n) (Critic<C>, the paper's
/// network, or QuadraticCritic<C>; anything with Critic's fit / value / value_gradient_hessian).
/// Errors: sizes and call order throw (std::invalid_argument, std::logic_error) naming the
/// argument; a non-finite fit is FittedQStatus::non_finite.
template <typename C, typename Network_ = Critic<C>>
class FittedQ {
 public:
  using Network = Network_;

  FittedQ() = default;

  /// Forgets every fit; the first fit starts from `initial` (input (s, a_prev, a)).
  void reset(Network initial) {
    critics_.clear();
    critics_.push_back(std::move(initial));
    fitted_ = false;
  }

  /// Forgets every network: empty() until the next reset().
  void clear() {
    critics_.clear();
    fitted_ = false;
  }

  /// Continues from the networks of an earlier fit (networks(), e.g. from a checkpoint): the
  /// next fit warm-starts Q^(n) from fitted[n-1] and needs settings.sweeps = fitted.size().
  /// An empty list is clear().
  void restore(std::vector<Network> fitted) {
    critics_ = std::move(fitted);
    fitted_ = !critics_.empty();
  }

  bool empty() const { return critics_.empty(); }
  /// Q^(1)..Q^(k) (after a fit; before it, the initial network only).
  const std::vector<Network>& networks() const { return critics_; }
  /// Q^(k), the critic of the policy gradient.
  Network& critic() {
    if (critics_.empty()) throw std::logic_error("FittedQ::critic: reset() first");
    return critics_.back();
  }

  /// settings.sweeps fitted-Q sweeps over the whole memory. next_actions = pi(s'_i)
  /// (action_dim x size()); sweep_seed(n) gives the training seed of sweep n = 1..k (its
  /// minibatch order). settings.train is used as given (threads, max_epochs included).
  /// All k sweeps run; a fit that meets NaN/Inf keeps its best weights and the result says
  /// non_finite.
  template <typename Scalar, typename SweepSeed>
  FittedQResult<C> fit(const ReplayBuffer<Scalar>& buffer,
                       const Eigen::Ref<const typename ReplayBuffer<Scalar>::Matrix>& next_actions,
                       const FittedQSettings<Scalar>& settings, SweepSeed&& sweep_seed) {
    return fit(buffer, next_actions, typename ReplayBuffer<Scalar>::Matrix(), settings,
               std::forward<SweepSeed>(sweep_seed));
  }
  /// The same with policy_actions = pi(s_i) (action_dim x size()), which
  /// settings.action_relative needs: the inputs are then (s, a_prev, a - pi(s)) and (s', a, 0),
  /// and action_derivatives() takes a - pi(s) as its a (0 on the policy).
  template <typename Scalar, typename SweepSeed>
  FittedQResult<C> fit(
      const ReplayBuffer<Scalar>& buffer,
      const Eigen::Ref<const typename ReplayBuffer<Scalar>::Matrix>& next_actions,
      const Eigen::Ref<const typename ReplayBuffer<Scalar>::Matrix>& policy_actions,
      const FittedQSettings<Scalar>& settings, SweepSeed&& sweep_seed) {
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
    using MatrixC = Eigen::Matrix<C, Eigen::Dynamic, Eigen::Dynamic>;
    using VectorC = Eigen::Matrix<C, Eigen::Dynamic, 1>;
    if (critics_.empty()) throw std::logic_error("FittedQ::fit: reset() first");
    settings.validate();
    const int k = settings.sweeps;
    const int levels = settings.monte_carlo_targets ? 1 : k;  // networks fitted
    if (fitted_ && std::size_t(levels) != critics_.size())
      throw std::invalid_argument(
          "FittedQ::fit: settings.sweeps = " + std::to_string(k) + " (monte_carlo_targets " +
          std::to_string(int(settings.monte_carlo_targets)) + ") but the critic was fitted with " +
          std::to_string(critics_.size()) + " networks (reset() to change k)");
    if (buffer.empty()) throw std::invalid_argument("FittedQ::fit: buffer is empty");
    if (critics_.front().input_dim() != buffer.state_dim() + 2 * buffer.action_dim())
      throw std::invalid_argument("FittedQ::fit: the critic's input must be (s, a_prev, a)");
    if (!fitted_)
      critics_.reserve(std::size_t(levels));  // copies of back() below must not reallocate
    typename ReplayBuffer<Scalar>::Matrix x_data = critic_inputs(buffer);
    typename ReplayBuffer<Scalar>::Matrix x_next_data = next_critic_inputs(buffer, next_actions);
    if (settings.action_relative) {
      const Eigen::Index nu = buffer.action_dim();
      if (policy_actions.rows() != nu || policy_actions.cols() != buffer.size())
        throw std::invalid_argument(
            "FittedQ::fit: settings.action_relative needs policy_actions = pi(s_i), action_dim x "
            "buffer.size() (the overload that takes them)");
      x_data.bottomRows(nu) -= policy_actions;  // in the data's scalar: deviations can be small
      x_next_data.bottomRows(nu).setZero();
    }
    const MatrixC x = x_data.template cast<C>();
    const MatrixC x_next = x_next_data.template cast<C>();
    VectorC next_q(buffer.size());
    Vector y;
    const TrainSettings<C> train_c = cast_settings<C>(settings.train);
    FittedQResult<C> result;
    for (int n = 1; n <= levels; ++n) {
      if (!fitted_ && n > 1) critics_.push_back(critics_.back());
      if (settings.monte_carlo_targets) {
        y = k_step_returns(buffer, k, settings.gamma, Vector(Vector::Zero(buffer.size())));
      } else if (n == 1) {
        y = buffer.costs();
      } else {
        critics_[std::size_t(n - 2)].value(x_next, next_q);  // Q^(n-1)(s', a, pi(s'))
        y = fitted_q_targets(buffer, Vector(next_q.template cast<Scalar>()), settings.gamma,
                             settings.done_is_truncation);
      }
      TrainSettings<C> train = train_c;
      train.seed = sweep_seed(n);
      const VectorC yc = y.template cast<C>();
      result.fits.push_back(critics_[std::size_t(n - 1)].fit(x, yc, train, settings.refit_scalers));
      result.epochs += result.fits.back().epochs;
      if (result.fits.back().status == TrainStatus::non_finite)
        result.status = FittedQStatus::non_finite;
    }
    fitted_ = true;
    return result;
  }

  /// Q^(k), dQ/da and d2Q/da2 at x_i = (s_i, a_prev_i, a_i): q (m), dq (nu x m) and d2q
  /// (nu*nu x m, column-major nu x nu per sample), in the data's Scalar. After a fit with
  /// FittedQSettings::action_relative, a_i is the deviation a - pi(s_i) (0 on the policy).
  template <typename Scalar>
  void action_derivatives(
      const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>& s,
      const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>& a_prev,
      const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>& a,
      Eigen::Matrix<Scalar, Eigen::Dynamic, 1>& q,
      Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& dq,
      Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& d2q) {
    using MatrixC = Eigen::Matrix<C, Eigen::Dynamic, Eigen::Dynamic>;
    using VectorC = Eigen::Matrix<C, Eigen::Dynamic, 1>;
    const Eigen::Index m = s.cols(), nu = a.rows();
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> x;
    make_critic_inputs<Scalar>(s, a_prev, a, x);
    VectorC qc(m);
    MatrixC dqc(nu, m), d2qc(nu * nu, m);
    critic().value_gradient_hessian(x.template cast<C>(), critic_action_indices(s.rows(), nu), qc,
                                    dqc, d2qc);
    q = qc.template cast<Scalar>();
    dq = dqc.template cast<Scalar>();
    d2q = d2qc.template cast<Scalar>();
  }

 private:
  std::vector<Network> critics_;
  bool fitted_ = false;
};

}  // namespace rmpc::learn
