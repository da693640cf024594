// Batches of closed-loop episodes of an MPC policy, one episode per initial state, on a pool
// of worker MPCs (one per thread, their theta already set): with the exploration of
// method.md section 4 (the RL batch: with probability eps a step adds the linear cost
// d'(u0 - u1) to the MPC, d ~ N(0, sigma^2), exploration.hpp) or deterministic (the
// evaluation of a theta).
//
// Determinism: episode e draws from its own stream seeded by episode_seed(e) and starts its
// QP cold (warm starts only inside an episode), so the episodes do not depend on which worker
// ran them or in which order: the same batch for any thread count.
#pragma once

#include <rmpc/mpc/policy_result.hpp>
#include <rmpc/qp/problem.hpp>
#include <rmpc/rl/environment.hpp>
#include <rmpc/rl/parallel.hpp>

#include <Eigen/Core>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

namespace rmpc::rl {

/// Mpc: rmpc::mpc::LqMpc (or anything with its evaluate / exploration_cost /
/// num_variables interface). Env: see environment.hpp.
template <typename Env, typename Mpc>
class EpisodeBatch {
 public:
  using VectorX = typename Mpc::VectorX;
  using VectorU = typename Mpc::VectorU;
  using VectorZ = typename Mpc::VectorZ;
  using Scalar = typename VectorX::Scalar;
  static constexpr int NX = VectorX::RowsAtCompileTime;
  static constexpr int NU = VectorU::RowsAtCompileTime;
  using States = Eigen::Matrix<Scalar, NX, Eigen::Dynamic>;
  using Episodes = std::vector<Episode<Scalar, NX, NU>>;
  using Workers = std::vector<std::unique_ptr<Mpc>>;

  /// The value-only request of a closed-loop step (warm: a warm start from the last step).
  static mpc::PolicyRequest values_request(bool warm) {
    mpc::PolicyRequest r;
    r.du0_dtheta = false;
    r.d2u0_dtheta2 = false;
    r.du0_ds = false;
    r.warm_start = warm;
    return r;
  }

  /// Episodes with exploration: at each step, with probability eps, the MPC gets the extra
  /// cost d'(u0 - u1) (d ~ N(0, sigma^2) per input, or d = d_map x with x ~ N(0, sigma^2) when
  /// d_map, nu x nu, is given: exploration.hpp, ExplorationScale::action); episode e draws
  /// from a std::mt19937_64 seeded by episode_seed(e). common_random_numbers: d is drawn at
  /// every step, explored or not, so step k of episode e sees the same (uniform, d) whatever
  /// eps and the earlier decisions were. Returns the episodes in initial-state order (valid
  /// until the next call).
  template <typename EpisodeSeed>
  const Episodes& explore(const Env& env, Workers& workers, const States& initial_states, int steps,
                          Scalar eps, Scalar sigma, bool common_random_numbers,
                          EpisodeSeed&& episode_seed,
                          const Eigen::Matrix<Scalar, NU, NU>* d_map = nullptr) {
    const Eigen::Index nu = workers.front()->sizes().nu;
    episodes_.resize(static_cast<std::size_t>(initial_states.cols()));
    parallel_for(initial_states.cols(), int(workers.size()), [&](std::ptrdiff_t e, int w) {
      Mpc& mpc = *workers[static_cast<std::size_t>(w)];
      std::mt19937_64 rng(episode_seed(std::uint64_t(e)));
      std::uniform_real_distribution<Scalar> uniform(Scalar(0), Scalar(1));
      std::normal_distribution<Scalar> normal(Scalar(0), sigma);
      VectorU d(nu), x(nu);
      VectorZ extra(mpc.num_variables());
      const VectorX s0 = initial_states.col(e);
      run_episode<Scalar, NX, NU>(
          env, s0, steps,
          [&](const VectorX& s, const VectorU&, int k, VectorU& a) {
            const bool explore = uniform(rng) < eps;
            const auto req = values_request(k > 0);
            if (explore || common_random_numbers) {
              for (Eigen::Index j = 0; j < nu; ++j) x(j) = normal(rng);
              if (d_map)
                d.noalias() = *d_map * x;
              else
                d = x;
            }
            if (explore) mpc.exploration_cost(d, extra);
            const auto& r = explore ? mpc.evaluate(s, req, extra) : mpc.evaluate(s, req);
            if (r.qp_status != qp::Status::optimal) return false;
            a = r.u0;
            return true;
          },
          episodes_[static_cast<std::size_t>(e)], nu);
    });
    return episodes_;
  }

  /// Episodes of the deterministic policy (no exploration), in initial-state order.
  const Episodes& deterministic(const Env& env, Workers& workers, const States& initial_states,
                                int steps) {
    const Eigen::Index nu = workers.front()->sizes().nu;
    episodes_.resize(static_cast<std::size_t>(initial_states.cols()));
    parallel_for(initial_states.cols(), int(workers.size()), [&](std::ptrdiff_t e, int w) {
      Mpc& mpc = *workers[static_cast<std::size_t>(w)];
      const VectorX s0 = initial_states.col(e);
      run_episode<Scalar, NX, NU>(
          env, s0, steps,
          [&](const VectorX& s, const VectorU&, int k, VectorU& a) {
            const auto& r = mpc.evaluate(s, values_request(k > 0));
            if (r.qp_status != qp::Status::optimal) return false;
            a = r.u0;
            return true;
          },
          episodes_[static_cast<std::size_t>(e)], nu);
    });
    return episodes_;
  }

 private:
  Episodes episodes_;
};

}  // namespace rmpc::rl
