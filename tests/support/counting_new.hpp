// Replaces the global operator new/delete with a counting malloc/free pair, so that "no heap
// allocation after warm-up" is testable for everything, std::string and std::vector included
// (Eigen's own allocations go through malloc and are caught by EIGEN_RUNTIME_NO_MALLOC).
// Include it from exactly ONE translation unit of a test executable (the replacement is a
// definition). Under AddressSanitizer, whose runtime owns operator new/delete, the replacement
// is left out (it would mix the runtime's allocator with malloc/free: alloc-dealloc-mismatch)
// and RMPC_TEST_COUNTS_OPERATOR_NEW is 0; tests then skip the count and keep the Eigen check.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

// GCC defines __SANITIZE_ADDRESS__; clang (before 16) only answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define RMPC_TEST_COUNTS_OPERATOR_NEW 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RMPC_TEST_COUNTS_OPERATOR_NEW 0
#endif
#endif
#ifndef RMPC_TEST_COUNTS_OPERATOR_NEW
#define RMPC_TEST_COUNTS_OPERATOR_NEW 1
#endif

namespace rmpc_test {
/// Calls of the global operator new so far (always 0 when the replacement is left out).
inline std::atomic<long>& operator_new_calls() {
  static std::atomic<long> calls{0};
  return calls;
}
}  // namespace rmpc_test

#if RMPC_TEST_COUNTS_OPERATOR_NEW
// The replacement pair is malloc/free by design.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) {
  ++rmpc_test::operator_new_calls();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif
