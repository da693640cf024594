// How far the loop's model of J is from the truth (issue #11; method.md section 4), measured on
// any simulator that meets the environment contract (environment.hpp).
//
// The critic Q^(k) (learn/fitted_q.hpp) approximates the k-step truncated cost of taking a and
// then following the deterministic policy,
//
//     Q_k(s, a) = L(s, a) + sum_{j=1}^{k-1} gamma^j L(s_j, pi(s_j)),   s_1 = f(s, a),
//
// which the simulator gives exactly by a rollout: no critic, no model. diagnose_critic
// differentiates these rollouts by central differences in a at memory samples (s_i, pi(s_i))
// and compares them with the critic's dQ/da and d2Q/da2, and the DPG gradient and Hessian
// (policy_gradient.hpp) built from each. closed_loop_gradient differentiates the deterministic
// closed-loop cost J(theta) itself. Together they split a wrong model step into the critic's
// error (critic vs true Q_k) and the method's own bias (the true Q_k's DPG vs dJ/dtheta: the
// truncation at k steps and the memory's state distribution). Deterministic: no random draws.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <rmpc/learn/replay_buffer.hpp>
#include <rmpc/mpc/policy_result.hpp>
#include <rmpc/rl/policy_gradient.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <ostream>
#include <stdexcept>
#include <vector>

namespace rmpc::rl {

template <typename Scalar>
struct DiagnosisSettings {
  /// Memory samples compared, at most (at least one episode); default the whole memory, the
  /// loop's own sample. Fewer are whole episodes drawn at random (seed), keeping the memory's
  /// mix of time steps and initial states (a stride aliases with the episode length and the
  /// batches' order), but g varies a lot with the draw: 10 of 250 episodes moved cosines by up
  /// to 2 on linear_2d. Each sample costs 1 + 2 nu^2 rollouts.
  Eigen::Index max_samples = std::numeric_limits<Eigen::Index>::max();
  std::uint64_t seed = 0;  ///< of the episodes' draw (the same seed, the same samples)
  /// Central-difference step in a_j, relative: h = action_step * max(1, |a_j|). Q_k is
  /// piecewise quadratic in a (LQ-MPC policy, L1 penalties): small steps rarely cross a kink.
  Scalar action_step = Scalar(1e-4);
  /// Step of closed_loop_gradient in theta_i, relative like action_step.
  Scalar theta_step = Scalar(1e-4);
  /// Length of the "true" rollouts: 0 = the critic's k (its error alone); n > 0 = n steps;
  /// -1 = to the end of the sample's episode (episode_length - t: the exact finite-horizon Q
  /// of J, so that g_true differs from dJ/dtheta only by the memory's state distribution).
  int true_horizon = 0;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::finite_positive;
    using rmpc::detail::require_setting;
    require_setting(max_samples >= 1, "DiagnosisSettings::max_samples", ">= 1", max_samples);
    require_setting(finite_positive(action_step), "DiagnosisSettings::action_step",
                    "finite and > 0", action_step);
    require_setting(finite_positive(theta_step), "DiagnosisSettings::theta_step", "finite and > 0",
                    theta_step);
    require_setting(true_horizon >= -1, "DiagnosisSettings::true_horizon", ">= -1", true_horizon);
  }
};

enum class DiagnosisStatus {
  ok,          ///< at least one sample compared
  no_samples,  ///< the memory is empty or no sample had a usable policy and rollouts
};

inline const char* to_string(DiagnosisStatus s) {
  return s == DiagnosisStatus::ok ? "ok" : "no_samples";
}

/// cos of the angle between a and b (flattened); NaN when either is zero or not finite.
template <typename A, typename B>
typename A::Scalar cosine(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  using S = typename A::Scalar;
  const S den = a.norm() * b.norm();
  if (!(den > S(0)) || !std::isfinite(den)) return std::numeric_limits<S>::quiet_NaN();
  return a.cwiseProduct(b).sum() / den;
}

/// ||a - b||_F / ||b||_F (NaN when b is zero).
template <typename A, typename B>
typename A::Scalar relative_error(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  using S = typename A::Scalar;
  const S den = b.norm();
  return den > S(0) ? S((a - b).norm() / den) : std::numeric_limits<S>::quiet_NaN();
}

/// The comparison of diagnose_critic: "critic" from the fitted Q^(k), "true" from rollouts of
/// the simulator; both DPG means over the same samples.
template <typename Scalar, int NP = Eigen::Dynamic>
struct ModelDiagnosis {
  using VectorTheta = Eigen::Matrix<Scalar, NP, 1>;
  using MatrixTheta = Eigen::Matrix<Scalar, NP, NP>;
  static constexpr Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();

  DiagnosisStatus status = DiagnosisStatus::no_samples;
  Eigen::Index samples = 0;         ///< compared
  Eigen::Index skipped = 0;         ///< policy not usable at s_i, or a rollout failed
  Scalar dq_relative_error = nan;   ///< ||dQ_critic - dQ_true||_F / ||dQ_true||_F over samples
  Scalar dq_cosine = nan;           ///< cos between the stacked dQ/da of both
  Scalar d2q_relative_error = nan;  ///< the same for d2Q/da2
  VectorTheta gradient_critic, gradient_true;  ///< DPG g (np)
  MatrixTheta hessian_critic, hessian_true;    ///< DPG H of the mode (np x np)
  Scalar gradient_cosine = nan;                ///< cos(g_critic, g_true)
  Scalar hessian_relative_error = nan;         ///< ||H_critic - H_true||_F / ||H_true||_F
};

namespace detail {
/// Q_k(s, a) by a rollout of the deterministic policy (values only, cold QPs); NaN on failure.
template <typename Env, typename Mpc, typename VectorX, typename VectorU, typename Scalar>
Scalar k_step_cost(const Env& env, Mpc& mpc, const VectorX& s, const VectorU& a, int k,
                   Scalar gamma) {
  mpc::PolicyRequest values;
  values.du0_dtheta = values.d2u0_dtheta2 = values.du0_ds = false;
  values.warm_start = false;
  Scalar q = env.cost(s, a), discount = Scalar(1);
  VectorX x = env.step(s, a);
  for (int j = 1; j < k && std::isfinite(q); ++j) {
    const auto& r = mpc.evaluate(x, values);
    if (r.qp_status != qp::Status::optimal) return std::numeric_limits<Scalar>::quiet_NaN();
    const VectorU u = r.u0;
    discount *= gamma;
    q += discount * env.cost(x, u);
    x = env.step(x, u);
    if (!x.allFinite()) return std::numeric_limits<Scalar>::quiet_NaN();
  }
  return std::isfinite(q) ? q : std::numeric_limits<Scalar>::quiet_NaN();
}
}  // namespace detail

/// Compares the critic's action derivatives and the DPG model built from them with the true
/// k-step ones at up to settings.max_samples memory samples.
///   env:    the simulator (environment.hpp); mpc: the policy at theta (set_parameters done,
///           derivative_order >= 1; 2 for mode exact).
///   critic: a callable critic(s, a_prev, a, q, dq, d2q) with learn::FittedQ's
///           action_derivatives contract (columns of Scalar matrices in; Q, dQ/da, d2Q/da2
///           out), e.g. [&](auto&&... x) { fitted_q.template action_derivatives<double>(x...); }.
///   k, gamma: the critic's sweeps and discount (LoopSettings::critic).
///   episode_length: the episodes' length T (settings.true_horizon = -1 rolls out T - t).
///   mode:   the curvature the optimizer uses (hessian_mode(rule)); none compares g only.
template <typename Env, typename Mpc, typename Critic, typename Scalar>
ModelDiagnosis<Scalar, Mpc::VectorTheta::RowsAtCompileTime> diagnose_critic(
    const Env& env, Mpc& mpc, const learn::ReplayBuffer<Scalar>& buffer, Critic&& critic, int k,
    Scalar gamma, HessianMode mode, const DiagnosisSettings<Scalar>& settings = {},
    int episode_length = 0) {
  using VectorX = typename Mpc::VectorX;
  using VectorU = typename Mpc::VectorU;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  constexpr int NP = Mpc::VectorTheta::RowsAtCompileTime;
  settings.validate();
  if (settings.true_horizon == -1 && episode_length < 1)
    throw std::invalid_argument(
        "diagnose_critic: episode_length must be >= 1 with DiagnosisSettings::true_horizon = -1");
  const Eigen::Index np = mpc.sizes().np, nu = buffer.action_dim(), n = buffer.size();
  ModelDiagnosis<Scalar, NP> out;
  DpgEstimator<Scalar, NP> est_critic(np, mode), est_true(np, mode);
  if (n == 0) return out;
  const std::vector<Eigen::Index> starts = buffer.episode_starts();
  const Eigen::Index episodes = Eigen::Index(starts.size()) - 1;
  std::vector<Eigen::Index> picked;  // memory indices of the compared samples
  {
    const Eigen::Index mean_length = std::max<Eigen::Index>(1, n / episodes);
    const Eigen::Index take =
        std::clamp<Eigen::Index>(settings.max_samples / mean_length, 1, episodes);
    std::vector<Eigen::Index> order(static_cast<std::size_t>(episodes));
    std::iota(order.begin(), order.end(), Eigen::Index(0));
    std::mt19937_64 rng(settings.seed);
    for (Eigen::Index j = 0; j < take; ++j) {  // partial Fisher-Yates: `take` distinct episodes
      std::uniform_int_distribution<Eigen::Index> pick(j, episodes - 1);
      std::swap(order[std::size_t(j)], order[std::size_t(pick(rng))]);
    }
    std::sort(order.begin(), order.begin() + take);
    for (Eigen::Index j = 0; j < take; ++j) {
      const auto e = std::size_t(order[std::size_t(j)]);
      for (Eigen::Index idx = starts[e]; idx < starts[e + 1]; ++idx)
        if (Eigen::Index(picked.size()) < settings.max_samples || j == 0) picked.push_back(idx);
    }
  }
  const Eigen::Index m = Eigen::Index(picked.size());
  const auto horizon_at = [&](Eigen::Index idx) {
    if (settings.true_horizon > 0) return settings.true_horizon;
    if (settings.true_horizon == 0) return k;
    const auto e = std::upper_bound(starts.begin(), starts.end(), idx) - 1;  // idx's episode
    return std::max(1, episode_length - int(idx - *e));
  };

  // The samples, the policy and its theta-derivatives there.
  mpc::PolicyRequest req;
  req.du0_dtheta = true;
  req.d2u0_dtheta2 = mode == HessianMode::exact;
  req.du0_ds = false;
  req.warm_start = false;
  Matrix s(buffer.state_dim(), m), a_prev(nu, m), a = Matrix::Zero(nu, m);
  Matrix dq_true = Matrix::Constant(nu, m, std::numeric_limits<Scalar>::quiet_NaN()),
         d2q_true = Matrix::Constant(nu * nu, m, std::numeric_limits<Scalar>::quiet_NaN());
  std::vector<Matrix> dpi, d2pi;
  std::vector<char> usable(std::size_t(m), 0);
  for (Eigen::Index i = 0; i < m; ++i) {
    const Eigen::Index idx = picked[std::size_t(i)];
    s.col(i) = buffer.states().col(idx);
    a_prev.col(i) = buffer.prev_actions().col(idx);
    const VectorX si = s.col(i);
    const int horizon = horizon_at(idx);
    const auto& r = mpc.evaluate(si, req);
    dpi.emplace_back(r.du0_dtheta);
    d2pi.emplace_back(req.d2u0_dtheta2 ? Matrix(r.d2u0_dtheta2) : Matrix());
    if (r.status != mpc::PolicyStatus::ok || !r.u0.allFinite()) continue;
    const VectorU ai = r.u0;
    a.col(i) = ai;
    // True dQ_k/da, d2Q_k/da2 by central differences (4-point for the mixed terms).
    const auto q_at = [&](Eigen::Index j, Scalar dj, Eigen::Index l, Scalar dl) {
      VectorU x = ai;
      if (j >= 0) x(j) += dj;
      if (l >= 0) x(l) += dl;
      return detail::k_step_cost(env, mpc, si, x, horizon, gamma);
    };
    Vector h(nu);
    for (Eigen::Index j = 0; j < nu; ++j)
      h(j) = settings.action_step * std::max(Scalar(1), std::abs(ai(j)));
    const Scalar q0 = q_at(-1, 0, -1, 0);
    Eigen::Map<Matrix> d2q(d2q_true.col(i).data(), nu, nu);
    for (Eigen::Index j = 0; j < nu; ++j) {
      const Scalar qp = q_at(j, h(j), -1, 0), qm = q_at(j, -h(j), -1, 0);
      dq_true(j, i) = (qp - qm) / (2 * h(j));
      d2q(j, j) = (qp - 2 * q0 + qm) / (h(j) * h(j));
      for (Eigen::Index l = 0; l < j; ++l) {
        const Scalar mixed = q_at(j, h(j), l, h(l)) - q_at(j, h(j), l, -h(l)) -
                             q_at(j, -h(j), l, h(l)) + q_at(j, -h(j), l, -h(l));
        d2q(j, l) = d2q(l, j) = mixed / (4 * h(j) * h(l));
      }
    }
    usable[std::size_t(i)] = dq_true.col(i).allFinite() && d2q_true.col(i).allFinite();
  }

  // The critic at the same (s, a_prev, pi(s)); then both DPG means over the usable samples.
  Vector q_critic;
  Matrix dq_critic, d2q_critic;
  critic(s, a_prev, a, q_critic, dq_critic, d2q_critic);
  Eigen::Index used = 0;
  for (Eigen::Index i = 0; i < m; ++i)
    used += usable[std::size_t(i)] && dq_critic.col(i).allFinite() && d2q_critic.col(i).allFinite();
  Matrix dqc(nu, used), dqt(nu, used), d2qc(nu * nu, used), d2qt(nu * nu, used);
  for (Eigen::Index i = 0, c = 0; i < m; ++i) {
    if (!usable[std::size_t(i)] || !dq_critic.col(i).allFinite() ||
        !d2q_critic.col(i).allFinite()) {
      ++out.skipped;
      continue;
    }
    dqc.col(c) = dq_critic.col(i);
    dqt.col(c) = dq_true.col(i);
    d2qc.col(c) = d2q_critic.col(i);
    d2qt.col(c) = d2q_true.col(i);
    const Eigen::Map<const Matrix> hc(d2q_critic.col(i).data(), nu, nu),
        ht(d2q_true.col(i).data(), nu, nu);
    est_critic.add(dpi[std::size_t(i)], d2pi[std::size_t(i)], dq_critic.col(i), hc);
    est_true.add(dpi[std::size_t(i)], d2pi[std::size_t(i)], dq_true.col(i), ht);
    ++c;
  }
  out.samples = used;
  out.gradient_critic = est_critic.gradient();
  out.gradient_true = est_true.gradient();
  out.hessian_critic = est_critic.hessian();
  out.hessian_true = est_true.hessian();
  if (used == 0) return out;
  out.status = DiagnosisStatus::ok;
  out.dq_relative_error = relative_error(dqc, dqt);
  out.dq_cosine = cosine(dqc, dqt);
  out.d2q_relative_error = relative_error(d2qc, d2qt);
  out.gradient_cosine = cosine(out.gradient_critic, out.gradient_true);
  if (mode != HessianMode::none)
    out.hessian_relative_error = relative_error(out.hessian_critic, out.hessian_true);
  return out;
}

/// dJ/dtheta of a closed-loop cost J (a callable theta -> Scalar, e.g. the loop's deterministic
/// evaluation) by central differences, h_i = step * max(1, |theta_i|). Entries whose
/// evaluations failed (NaN or Inf) are NaN.
template <typename VectorTheta, typename Cost>
VectorTheta closed_loop_gradient(const VectorTheta& theta, Cost&& cost,
                                 typename VectorTheta::Scalar step) {
  using Scalar = typename VectorTheta::Scalar;
  VectorTheta g(theta.size());
  for (Eigen::Index i = 0; i < theta.size(); ++i) {
    const Scalar h = step * std::max(Scalar(1), std::abs(theta(i)));
    VectorTheta tp = theta, tm = theta;
    tp(i) += h;
    tm(i) -= h;
    const Scalar jp = cost(tp), jm = cost(tm);
    g(i) = std::isfinite(jp) && std::isfinite(jm) ? (jp - jm) / (2 * h)
                                                  : std::numeric_limits<Scalar>::quiet_NaN();
  }
  return g;
}

/// One CSV line per diagnosis (the examples' --diagnose): the columns of diagnosis_csv_row.
inline void write_diagnosis_csv_header(std::ostream& os) {
  os << "iteration,samples,skipped,dq_relative_error,dq_cosine,d2q_relative_error,"
        "gradient_cosine,hessian_relative_error,gradient_critic_norm,gradient_true_norm,"
        "gradient_closed_loop_norm,cosine_critic_closed_loop,cosine_true_closed_loop,"
        "gradient_episode_norm,cosine_critic_episode,cosine_episode_closed_loop\n";
}

/// d (true_horizon 0) at the model of iteration `iteration`, with dJ/dtheta of the
/// deterministic closed loop (closed_loop_gradient) and, if given, `episode` (true_horizon -1):
/// cosine_critic_closed_loop < 0 means the model's gradient points uphill;
/// cosine_true_closed_loop says how far the method is from dJ/dtheta with a perfect k-step
/// critic; cosine_episode_closed_loop the same with the exact finite-horizon Q, which leaves
/// the memory's state distribution as the only difference (NaN columns without `episode`).
template <typename Scalar, int NP, typename G>
void write_diagnosis_csv_row(std::ostream& os, int iteration, const ModelDiagnosis<Scalar, NP>& d,
                             const Eigen::MatrixBase<G>& g_closed_loop,
                             const ModelDiagnosis<Scalar, NP>* episode = nullptr) {
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  const auto old = os.precision(9);
  os << iteration << ',' << d.samples << ',' << d.skipped << ',' << d.dq_relative_error << ','
     << d.dq_cosine << ',' << d.d2q_relative_error << ',' << d.gradient_cosine << ','
     << d.hessian_relative_error << ',' << d.gradient_critic.norm() << ',' << d.gradient_true.norm()
     << ',' << g_closed_loop.norm() << ',' << cosine(d.gradient_critic, g_closed_loop) << ','
     << cosine(d.gradient_true, g_closed_loop) << ','
     << (episode ? Scalar(episode->gradient_true.norm()) : nan) << ','
     << (episode ? cosine(d.gradient_critic, episode->gradient_true) : nan) << ','
     << (episode ? cosine(episode->gradient_true, g_closed_loop) : nan) << '\n';
  os.precision(old);
}

/// The examples' --diagnose row: loop.diagnose() (a PolicyOptimizer, after a record with
/// model_updated) with the critic's k and to the episode's end, and dJ/dtheta; one CSV row.
template <typename Loop>
void write_diagnosis_csv_row(std::ostream& os, Loop& loop, int iteration) {
  using Scalar = typename Loop::Scalar;
  typename Loop::VectorTheta g_closed_loop;
  const auto k_steps = loop.diagnose(DiagnosisSettings<Scalar>{}, &g_closed_loop);
  DiagnosisSettings<Scalar> to_episode_end;
  to_episode_end.true_horizon = -1;
  const auto episode = loop.diagnose(to_episode_end);
  write_diagnosis_csv_row(os, iteration, k_steps, g_closed_loop, &episode);
}

}  // namespace rmpc::rl
