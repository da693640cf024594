// Random streams of the RL loop: the seed depends on the whole tuple (seed, purpose, a, b) and
// on nothing else, so the same tuple gives the same stream on any thread.
#include "rmpc/rl/random_streams.hpp"

#include "rmpc_catch.hpp"

#include <random>

TEST_CASE("Random streams depend on the tuple and on nothing else", "[random_streams]") {
  using rmpc::rl::Stream;
  using rmpc::rl::stream_seed;
  CHECK(stream_seed(1, Stream::episode, 2, 3) == stream_seed(1, Stream::episode, 2, 3));
  CHECK(stream_seed(1, Stream::episode, 2, 3) != stream_seed(1, Stream::episode, 3, 2));
  CHECK(stream_seed(1, Stream::episode, 2, 3) != stream_seed(2, Stream::episode, 2, 3));
  CHECK(stream_seed(1, Stream::episode, 2, 3) != stream_seed(1, Stream::critic_fit, 2, 3));
  CHECK(stream_seed(1, Stream::episode, 2) == stream_seed(1, Stream::episode, 2, 0));
  std::mt19937_64 a(stream_seed(7, Stream::critic_init, 0)),
      b(stream_seed(7, Stream::critic_init, 0));
  for (int i = 0; i < 100; ++i) CHECK(a() == b());
}
