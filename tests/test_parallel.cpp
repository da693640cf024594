// parallel_for: every item exactly once on any number of workers, worker ids in range, and an
// exception of an item rethrown on the calling thread.
#include "rmpc/rl/parallel.hpp"

#include "rmpc_catch.hpp"

#include <atomic>
#include <stdexcept>
#include <vector>

TEST_CASE("parallel_for covers every item once and rethrows", "[parallel]") {
  for (int threads : {1, 2, 5}) {
    std::vector<int> hits(37, 0);
    std::atomic<bool> worker_in_range{true};
    rmpc::rl::parallel_for(37, threads, [&](std::ptrdiff_t i, int w) {
      if (w < 0 || w >= threads) worker_in_range = false;
      hits[std::size_t(i)] += 1;
    });
    CHECK(worker_in_range);
    for (int hcount : hits) CHECK(hcount == 1);
  }
  CHECK_THROWS_AS(rmpc::rl::parallel_for(10, 2,
                                         [](std::ptrdiff_t i, int) {
                                           if (i == 3) throw std::invalid_argument("x");
                                         }),
                  std::invalid_argument);
}
