// Exploration of method.md section 4 and the seeding of every random stream of the RL loop.
//
// At each step, with probability eps, the MPC is solved with the extra linear cost
// d (u_0 - u_1), d ~ N(0, sigma^2), and its u_0 is applied. eps = max(floor, eps0 decay^i)
// after i RL iterations (paper: eps0 = 1, decay = 0.01^(1/8), floor = 0.01, sigma = 0.1).
//
// Streams: every episode, critic fit and initialisation draws from its own std::mt19937_64
// seeded by stream_seed(seed, a, b, c) (SplitMix64 finaliser over the tuple), so results do
// not depend on which thread ran which episode or in which order.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace rmpc::rl {

template <typename Scalar = double>
struct ExplorationSettings {
  Scalar initial_probability = Scalar(1);  ///< eps at iteration 0 (paper: 1).
  Scalar decay =
      std::pow(Scalar(0.01), Scalar(1) / 8);  ///< eps *= decay per iteration (paper: 0.01^(1/8)).
  Scalar floor = Scalar(0.01);                ///< eps never below (paper: 0.01).
  Scalar sigma = Scalar(0.1);                 ///< std of d in d (u_0 - u_1) (paper: 0.1).

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(initial_probability >= Scalar(0) && initial_probability <= Scalar(1),
                    "ExplorationSettings::initial_probability", "in [0, 1]", initial_probability);
    require_setting(decay > Scalar(0) && decay <= Scalar(1), "ExplorationSettings::decay",
                    "in (0, 1]", decay);
    require_setting(floor >= Scalar(0) && floor <= Scalar(1), "ExplorationSettings::floor",
                    "in [0, 1]", floor);
    require_setting(rmpc::detail::finite_nonnegative(sigma), "ExplorationSettings::sigma",
                    "finite and >= 0", sigma);
  }
};

/// eps after `iteration` completed RL iterations.
template <typename Scalar>
Scalar exploration_probability(const ExplorationSettings<Scalar>& s, int iteration) {
  return std::max(s.floor, s.initial_probability * std::pow(s.decay, Scalar(iteration)));
}

namespace detail {
/// SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mixer.
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace detail

/// Purpose tags of the random streams (the first word of stream_seed's tuple).
/// episode_common: the iteration-independent episode streams of common random numbers.
enum class Stream : std::uint64_t {
  episode = 1,
  critic_init = 2,
  critic_fit = 3,
  episode_common = 4
};

/// Seed of the stream (purpose, a, b) under the run seed: distinct tuples give unrelated
/// streams; the same tuple gives the same stream on any thread.
inline std::uint64_t stream_seed(std::uint64_t seed, Stream purpose, std::uint64_t a,
                                 std::uint64_t b = 0) {
  std::uint64_t h = detail::splitmix64(seed);
  h = detail::splitmix64(h ^ static_cast<std::uint64_t>(purpose));
  h = detail::splitmix64(h ^ a);
  return detail::splitmix64(h ^ (b * 0x632be59bd9b4e019ULL));
}

}  // namespace rmpc::rl
