// The trainer's shuffle (learn/detail/shuffle.hpp): SplitMix64's reference outputs, bounded
// integers below their bound and uniform (chi-square at a bound that does not divide 2^32, so
// the rejection step matters), uniform permutations, and the same permutation for a seed.
#include "rmpc_catch.hpp"

#include <rmpc/learn/detail/shuffle.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

using rmpc::learn::detail::shuffle;
using rmpc::learn::detail::SplitMix64;
using rmpc::learn::detail::uniform_below;

TEST_CASE("SplitMix64 gives the reference implementation's outputs", "[shuffle]") {
  // splitmix64.c (Vigna, prng.di.unimi.it) from state 0: its first two outputs.
  SplitMix64 g(0);
  CHECK(g.next() == 0xe220a8397b1dcdafULL);
  CHECK(g.next() == 0x6e789e6aa1b965f4ULL);
  g.seed(0);
  CHECK(g.next() == 0xe220a8397b1dcdafULL);  // seed() restarts the stream
}

TEST_CASE("uniform_below is uniform and stays below its bound", "[shuffle]") {
  SplitMix64 g(42);
  for (std::uint32_t bound : {1u, 2u, 3u, 7u, 1000u, 4294967295u}) {
    INFO("bound " << bound);
    for (int i = 0; i < 2000; ++i) CHECK(uniform_below(bound, g) < bound);
  }
  // Chi-square over 6 classes (2^32 mod 6 = 4: the rejection step matters), 600 000 draws:
  // 5 degrees of freedom, P(chi2 > 20.5) = 0.001.
  std::array<long, 6> counts{};
  for (int i = 0; i < 600000; ++i) ++counts[uniform_below(6, g)];
  double chi2 = 0;
  for (long c : counts) chi2 += double(c - 100000) * double(c - 100000) / 100000.0;
  CHECK(chi2 < 20.5);
}

TEST_CASE("shuffle permutes, uniformly, and the same way for a seed", "[shuffle]") {
  // All 24 orders of 4 items equally likely: chi-square with 23 degrees of freedom,
  // P(chi2 > 49.7) = 0.001, over 240 000 shuffles of one array (each from the last order).
  SplitMix64 g(7);
  std::array<int, 4> a{0, 1, 2, 3};
  std::map<std::array<int, 4>, long> seen;
  for (int i = 0; i < 240000; ++i) {
    shuffle(a.begin(), a.size(), g);
    ++seen[a];
  }
  REQUIRE(seen.size() == 24);
  double chi2 = 0;
  for (const auto& [order, c] : seen) chi2 += double(c - 10000) * double(c - 10000) / 10000.0;
  CHECK(chi2 < 49.7);

  // A permutation of 0..999; the same one again from the same seed; 0 and 1 items untouched.
  std::vector<long> v(1000), w(1000);
  std::iota(v.begin(), v.end(), 0);
  std::iota(w.begin(), w.end(), 0);
  SplitMix64 g1(3), g2(3);
  shuffle(v.begin(), v.size(), g1);
  shuffle(w.begin(), w.size(), g2);
  CHECK(v == w);
  std::vector<long> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (long i = 0; i < 1000; ++i) CHECK(sorted[std::size_t(i)] == i);
  CHECK(v != sorted);
  // The first entries for seed 3, from an independent transcription of the algorithm (Python,
  // arbitrary-precision integers): a change of the stream, which changes every fit, is seen.
  CHECK(std::vector<long>(v.begin(), v.begin() + 5) == std::vector<long>{954, 236, 780, 647, 634});
  std::vector<long> one{5};
  shuffle(one.begin(), 1, g1);
  CHECK(one[0] == 5);
}
