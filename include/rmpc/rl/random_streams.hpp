// The seeding of every random stream of the RL loop: every episode, critic fit and critic
// initialisation draws from its own std::mt19937_64 seeded by stream_seed(seed, purpose, a, b)
// (SplitMix64 finaliser over the tuple), so results do not depend on which thread ran which
// episode or in which order: same seed, same run, any thread count.
#pragma once

#include <cstdint>

namespace rmpc::rl {

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
