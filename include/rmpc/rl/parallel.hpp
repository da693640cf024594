// Deterministic parallel loop over independent work items (episodes, buffer chunks).
//
// Item i writes only its own output slot, so the result is the same for any thread count;
// reductions happen afterwards, in index order, on the calling thread. Work items are taken
// from a shared counter (load balancing without changing any result).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace rmpc::rl {

/// Calls fn(i, worker) for i in [0, count) on `threads` workers (worker in [0, threads)).
/// threads <= 1 runs inline. An exception in fn (a programmer error: the loop itself
/// reports numerical failures as statuses) is rethrown on the calling thread.
template <typename Fn>
void parallel_for(std::ptrdiff_t count, int threads, Fn&& fn) {
  if (count <= 0) return;
  const int workers = static_cast<int>(std::min<std::ptrdiff_t>(std::max(threads, 1), count));
  if (workers == 1) {
    for (std::ptrdiff_t i = 0; i < count; ++i) fn(i, 0);
    return;
  }
  std::atomic<std::ptrdiff_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&](int worker) {
    try {
      for (std::ptrdiff_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(count);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace rmpc::rl
