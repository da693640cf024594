// The model of J at an accepted theta (method.md section 4), the loop's most expensive job:
// the policy and its derivatives over the replay memory (policy_samples.hpp), the k fitted-Q
// sweeps of the critic (learn/fitted_q.hpp, in double or float), the critic's dQ/da and
// d2Q/da2 at (s_i, a_prev_i, pi(s_i)), and the DPG means (policy_gradient.hpp) -> g and H.
// PolicyOptimizer (loop.hpp) owns one and tells the optimizer what it returns.
//
// Owns the fitted-Q networks between calls: Q^(n) warm-starts from its own fit at the previous
// theta; the first fit starts from the seeded initial network (random_streams.hpp).
#pragma once

#include <rmpc/learn/critic.hpp>
#include <rmpc/learn/fitted_q.hpp>
#include <rmpc/learn/quadratic_critic.hpp>
#include <rmpc/learn/replay_buffer.hpp>
#include <rmpc/rl/checkpoint.hpp>
#include <rmpc/rl/loop_records.hpp>
#include <rmpc/rl/loop_settings.hpp>
#include <rmpc/rl/policy_gradient.hpp>
#include <rmpc/rl/policy_samples.hpp>
#include <rmpc/rl/random_streams.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace rmpc::rl {
namespace detail {

template <typename C>
CriticState critic_state(const learn::Critic<C>& q) {
  CriticState c;
  c.parameters = q.network().parameters().template cast<double>();
  c.input_mean = q.input_scaler().mean().template cast<double>();
  c.input_scale = q.input_scaler().scale().template cast<double>();
  c.target_lo = double(q.target_scaler().lo());
  c.target_hi = double(q.target_scaler().hi());
  return c;
}
/// A quadratic critic's coefficients and input scaling (its targets are not transformed).
template <typename C>
CriticState critic_state(const learn::QuadraticCritic<C>& q) {
  CriticState c;
  c.parameters = q.parameters().template cast<double>();
  c.input_mean = q.input_scaler().mean().template cast<double>();
  c.input_scale = q.input_scaler().scale().template cast<double>();
  return c;
}

template <typename FittedQ>
std::vector<CriticState> critic_states(const FittedQ& fitted_q) {
  std::vector<CriticState> out;
  for (const auto& q : fitted_q.networks()) out.push_back(critic_state(q));
  return out;
}

template <typename C>
void set_parameters(learn::Critic<C>& q, const CriticState& c) {
  q.network().set_parameters(c.parameters.template cast<C>());
  q.target_scaler().set_range(C(c.target_lo), C(c.target_hi));
}
template <typename C>
void set_parameters(learn::QuadraticCritic<C>& q, const CriticState& c) {
  q.set_parameters(c.parameters.template cast<C>());
}
template <typename C>
Eigen::Index num_parameters(const learn::Critic<C>& q) {
  return q.network().num_parameters();
}
template <typename C>
Eigen::Index num_parameters(const learn::QuadraticCritic<C>& q) {
  return q.parameters().size();
}

/// The networks of `states`, each built as `initial` (architecture, target transform).
template <typename Network>
std::vector<Network> critics_from_states(const std::vector<CriticState>& states,
                                         const Network& initial) {
  using C = typename Network::Scalar;
  std::vector<Network> out;
  for (std::size_t n = 0; n < states.size(); ++n) {
    const CriticState& c = states[n];
    const std::string name = "checkpoint.critics[" + std::to_string(n) + "]";
    if (c.parameters.size() != num_parameters(initial))
      throw std::invalid_argument(name + ".parameters: " + std::to_string(c.parameters.size()) +
                                  " values for a critic of " +
                                  std::to_string(num_parameters(initial)));
    if (c.input_mean.size() != initial.input_dim() || c.input_scale.size() != initial.input_dim())
      throw std::invalid_argument(name + ".input_mean/input_scale: wrong size");
    Network q = initial;
    set_parameters(q, c);
    q.input_scaler().set(c.input_mean.template cast<C>(), c.input_scale.template cast<C>());
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace detail

template <typename Mpc>
class PolicyModel {
 public:
  using VectorU = typename Mpc::VectorU;
  using VectorTheta = typename Mpc::VectorTheta;
  using Scalar = typename VectorTheta::Scalar;
  static constexpr int NU = VectorU::RowsAtCompileTime;
  static constexpr int NP = VectorTheta::RowsAtCompileTime;
  using MatrixTheta = Eigen::Matrix<Scalar, NP, NP>;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using Workers = std::vector<std::unique_ptr<Mpc>>;
  using Record = IterationRecord<Scalar, NP>;
  using QuadraticFittedQ = learn::FittedQ<Scalar, learn::QuadraticCritic<Scalar>>;

  /// A new run with np parameters and the curvature of `mode`: forgets the critic (the next
  /// update() starts from the seeded initial network).
  void reset(Eigen::Index np, HessianMode mode) {
    estimator_ = DpgEstimator<Scalar, NP, NU>(np, mode);
    fitted_q_.clear();
    fitted_q_float_.clear();
    fitted_q_quadratic_.clear();
  }

  /// g and H of the DPG model at the workers' theta over `buffer` (iteration `it` seeds the
  /// critic's fits). Counts (samples used, skipped, weakly active, failed successors, critic
  /// epochs and loss) and the phase times go into rec (added to, so that a restart's second
  /// model in the same iteration counts too).
  void update(const learn::ReplayBuffer<Scalar>& buffer, Workers& workers,
              const LoopSettings<Scalar>& settings, int it, Record& rec, VectorTheta& g,
              MatrixTheta& H);

  /// Q^(1)..Q^(k) in double (used unless LoopSettings::float_critic) and in float.
  learn::FittedQ<Scalar>& fitted_q() { return fitted_q_; }
  const learn::FittedQ<Scalar>& fitted_q() const { return fitted_q_; }
  learn::FittedQ<float>& float_fitted_q() { return fitted_q_float_; }
  const learn::FittedQ<float>& float_fitted_q() const { return fitted_q_float_; }
  /// Q^(1)..Q^(k) with LoopSettings::critic_model = quadratic.
  QuadraticFittedQ& quadratic_fitted_q() { return fitted_q_quadratic_; }
  const QuadraticFittedQ& quadratic_fitted_q() const { return fitted_q_quadratic_; }

  /// The networks Q^(1)..Q^(k) of the last update() in double (LoopCheckpoint::critics).
  std::vector<CriticState> critic_states() const;
  /// Replaces the critic by `states` (from critic_states(); the precision and architecture of
  /// `settings`, nx states, nu actions), as if update() had fitted them. Throws
  /// std::invalid_argument naming the network whose sizes do not fit.
  void restore_critics(const std::vector<CriticState>& states, const LoopSettings<Scalar>& settings,
                       Eigen::Index nx, Eigen::Index nu);

  /// The critic of the last update() (double, float with LoopSettings::float_critic, or the
  /// quadratic one with LoopSettings::critic_model) at the
  /// columns (s, a_prev, a): Q (m), dQ/da (nu x m), d2Q/da2 (nu*nu x m, column-major blocks),
  /// as learn::FittedQ::action_derivatives; a must be pi(s) at the current theta (on-policy:
  /// with FittedQSettings::action_relative the critic sees a - pi(s) = 0). Throws std::logic_error
  /// before the first update(). One non-template entry point, so that callers
  /// (PolicyOptimizer::diagnose) do not compile the critic's derivatives again.
  void action_derivatives(const Eigen::Ref<const Matrix>& s, const Eigen::Ref<const Matrix>& a_prev,
                          const Eigen::Ref<const Matrix>& a, Vector& q, Matrix& dq, Matrix& d2q);

 private:
  /// Which of the three fitted-Q critics the settings select.
  enum class Fitted { network, float_network, quadratic };
  static Fitted fitted_kind(const LoopSettings<Scalar>& settings) {
    if (settings.critic_model == CriticModel::quadratic) return Fitted::quadratic;
    return settings.float_critic ? Fitted::float_network : Fitted::network;
  }
  /// The seeded initial critic of a run (`Network`'s function class).
  template <typename Network>
  static Network initial_critic(const LoopSettings<Scalar>& settings, Eigen::Index nx,
                                Eigen::Index nu);

  /// The k fitted-Q sweeps over the whole memory (next actions pi(s')), then Q^(k)'s dQ/da and
  /// d2Q/da2 into dq_, d2q_.
  template <typename FittedQ>
  void fit_and_differentiate(FittedQ& fitted_q, const learn::ReplayBuffer<Scalar>& buffer,
                             const LoopSettings<Scalar>& settings, int it, Record& rec);

  Eigen::Index nx_ = 0, nu_ = 0;
  PolicySamples<Mpc> samples_;
  learn::FittedQ<Scalar> fitted_q_;       ///< Q^(1)..Q^(k)
  learn::FittedQ<float> fitted_q_float_;  ///< Q^(1)..Q^(k) with float_critic
  QuadraticFittedQ fitted_q_quadratic_;   ///< Q^(1)..Q^(k) with critic_model = quadratic
  DpgEstimator<Scalar, NP, NU> estimator_;
  Fitted fitted_ = Fitted::network;  ///< which of the three fitted the last update()
  bool action_relative_ = false;     ///< the last update()'s FittedQSettings::action_relative
  Matrix dq_, d2q_;
  Vector q_;
};

// Out of the class body: not implicitly inline, so `extern template class PolicyModel<M>`
// keeps a user's translation unit from compiling them again.
template <typename Mpc>
void PolicyModel<Mpc>::update(const learn::ReplayBuffer<Scalar>& buffer, Workers& workers,
                              const LoopSettings<Scalar>& settings, int it, Record& rec,
                              VectorTheta& g, MatrixTheta& H) {
  using clock = std::chrono::steady_clock;
  const auto seconds_since = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  const auto& sizes = workers.front()->sizes();
  nx_ = sizes.nx;
  nu_ = sizes.nu;
  const Eigen::Index np = sizes.np;
  const HessianMode mode = hessian_mode(settings.optimizer.rule);
  const bool second = mode == HessianMode::exact;

  // Policy and its derivatives at every stored state, pi at every successor state.
  auto t0 = clock::now();
  samples_.compute(buffer, workers, second);
  rec.next_action_failures += samples_.next_action_failures();
  rec.time.sensitivities += seconds_since(t0);

  // k fitted-Q sweeps (pi(s') reused by all), then the critic's action derivatives.
  t0 = clock::now();
  fitted_ = fitted_kind(settings);
  action_relative_ = settings.critic.action_relative;
  if (fitted_ == Fitted::quadratic)
    fit_and_differentiate(fitted_q_quadratic_, buffer, settings, it, rec);
  else if (fitted_ == Fitted::float_network)
    fit_and_differentiate(fitted_q_float_, buffer, settings, it, rec);
  else
    fit_and_differentiate(fitted_q_, buffer, settings, it, rec);
  rec.time.critic += seconds_since(t0);

  // DPG means in sample order.
  t0 = clock::now();
  estimator_.reset(np);
  for (Eigen::Index i = 0; i < buffer.size(); ++i) {
    const auto st = samples_.status(i);
    const bool weak = st == mpc::PolicyStatus::weakly_active;
    if (weak) ++rec.weakly_active_samples;
    if (!(st == mpc::PolicyStatus::ok || (weak && settings.use_weakly_active)) ||
        !dq_.col(i).allFinite() || !d2q_.col(i).allFinite()) {
      estimator_.skip();
      continue;
    }
    const Eigen::Map<const Eigen::Matrix<Scalar, NU, NU>> d2q(d2q_.col(i).data(), nu_, nu_);
    if (second)
      estimator_.add(samples_.dpi_dtheta(i), samples_.d2pi_dtheta2(i), dq_.col(i), d2q);
    else
      estimator_.add(samples_.dpi_dtheta(i), Matrix(), dq_.col(i), d2q);
  }
  rec.derivative_samples = int(estimator_.count());
  rec.skipped_samples = int(estimator_.skipped());
  g = estimator_.gradient();
  H = estimator_.hessian();
  rec.gradient_norm = g.norm();
  rec.model_updated = true;
  rec.time.step += seconds_since(t0);
}

template <typename Mpc>
void PolicyModel<Mpc>::action_derivatives(const Eigen::Ref<const Matrix>& s,
                                          const Eigen::Ref<const Matrix>& a_prev,
                                          const Eigen::Ref<const Matrix>& a, Vector& q, Matrix& dq,
                                          Matrix& d2q) {
  const bool empty = fitted_ == Fitted::quadratic       ? fitted_q_quadratic_.empty()
                     : fitted_ == Fitted::float_network ? fitted_q_float_.empty()
                                                        : fitted_q_.empty();
  if (empty)
    throw std::logic_error("PolicyModel::action_derivatives: no critic yet (update() first)");
  // With action_relative the critic's action input is a - pi(s), 0 on the policy.
  const Matrix input_a = action_relative_ ? Matrix(Matrix::Zero(a.rows(), a.cols())) : Matrix(a);
  if (fitted_ == Fitted::quadratic)
    fitted_q_quadratic_.template action_derivatives<Scalar>(s, a_prev, input_a, q, dq, d2q);
  else if (fitted_ == Fitted::float_network)
    fitted_q_float_.template action_derivatives<Scalar>(s, a_prev, input_a, q, dq, d2q);
  else
    fitted_q_.template action_derivatives<Scalar>(s, a_prev, input_a, q, dq, d2q);
}

template <typename Mpc>
std::vector<CriticState> PolicyModel<Mpc>::critic_states() const {
  if (fitted_ == Fitted::quadratic) return detail::critic_states(fitted_q_quadratic_);
  return fitted_ == Fitted::float_network ? detail::critic_states(fitted_q_float_)
                                          : detail::critic_states(fitted_q_);
}

template <typename Mpc>
void PolicyModel<Mpc>::restore_critics(const std::vector<CriticState>& states,
                                       const LoopSettings<Scalar>& settings, Eigen::Index nx,
                                       Eigen::Index nu) {
  nx_ = nx;
  nu_ = nu;
  fitted_ = fitted_kind(settings);
  action_relative_ = settings.critic.action_relative;
  if (fitted_ == Fitted::quadratic)
    fitted_q_quadratic_.restore(detail::critics_from_states(
        states, initial_critic<typename QuadraticFittedQ::Network>(settings, nx, nu)));
  else if (fitted_ == Fitted::float_network)
    fitted_q_float_.restore(detail::critics_from_states(
        states, initial_critic<learn::Critic<float>>(settings, nx, nu)));
  else
    fitted_q_.restore(detail::critics_from_states(
        states, initial_critic<learn::Critic<Scalar>>(settings, nx, nu)));
}

template <typename Mpc>
template <typename Network>
Network PolicyModel<Mpc>::initial_critic(const LoopSettings<Scalar>& settings, Eigen::Index nx,
                                         Eigen::Index nu) {
  using C = typename Network::Scalar;
  if constexpr (std::is_same_v<Network, learn::QuadraticCritic<C>>) {
    return Network(nx + 2 * nu);  // no random init: the first fit is a linear solve
  } else {
    return learn::make_paper_critic<C>(nx, nu, stream_seed(settings.seed, Stream::critic_init, 0),
                                       settings.critic_hidden, settings.critic_targets);
  }
}

template <typename Mpc>
template <typename FittedQ>
void PolicyModel<Mpc>::fit_and_differentiate(FittedQ& fitted_q,
                                             const learn::ReplayBuffer<Scalar>& buffer,
                                             const LoopSettings<Scalar>& settings, int it,
                                             Record& rec) {
  // The first fit starts from the seeded initial network and gets at least
  // first_fit_max_epochs per sweep.
  const bool first = fitted_q.empty();
  if (first) fitted_q.reset(initial_critic<typename FittedQ::Network>(settings, nx_, nu_));
  learn::FittedQSettings<Scalar> fq = settings.critic;
  fq.train.threads = settings.threads;  // shards in parallel; the result does not depend on it
  if (first) fq.train.max_epochs = std::max(fq.train.max_epochs, settings.first_fit_max_epochs);
  const auto fit =
      fitted_q.fit(buffer, samples_.next_actions(), samples_.actions(), fq, [&](int n) {
        return stream_seed(settings.seed, Stream::critic_fit, std::uint64_t(it), std::uint64_t(n));
      });
  rec.critic_epochs += fit.epochs;
  rec.critic_loss = Scalar(fit.fits.back().best_loss);
  if (fit.status == learn::FittedQStatus::non_finite)
    rec.critic_status = learn::FittedQStatus::non_finite;
  // With action_relative the critic's action input is a - pi(s): 0 at a = pi(s).
  if (fq.action_relative)
    fitted_q.template action_derivatives<Scalar>(buffer.states(), buffer.prev_actions(),
                                                 Matrix::Zero(nu_, buffer.size()), q_, dq_, d2q_);
  else
    fitted_q.template action_derivatives<Scalar>(buffer.states(), buffer.prev_actions(),
                                                 samples_.actions(), q_, dq_, d2q_);
}

}  // namespace rmpc::rl
