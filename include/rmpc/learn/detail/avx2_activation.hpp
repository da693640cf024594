// Eight-lane float activations and their derivatives for the AVX2/FMA training kernel
// (shard_kernel.hpp), on x86-64 compilers that take per-function target attributes (GCC,
// Clang; not on Windows, where GCC cannot align the stack for 32-byte registers, PR 54412).
// Everything here is compiled for AVX2 + FMA whatever the translation unit's flags; it may
// only run after cpu_has_avx2_fma() said yes.
//
// Both activations go through e^x - 1 for x <= 0 (x = -2|z| or -|z|: nothing overflows): the
// usual range reduction x = n ln2 + r, |r| <= ln2 / 2, then q = e^r - 1 = r + r^2 P(r) with P
// the Taylor polynomial of degree 5 (truncation r^8 / 8!, relative 1.5e-8 at the ends), so q
// keeps full relative precision as r -> 0, and e^x - 1 = 2^n q + (2^n - 1), e^x = 2^n q + 2^n.
// tanh|z| = -(e^{-2|z|} - 1) / (e^{-2|z|} + 1) has no cancellation for small z (tanh z = z
// to float precision; the form (1 - e) / (1 + e) lost all digits below |z| ~ 1e-7). x is
// clamped at -87 to keep 2^n normal (e^-87 = 1.6e-38: both activations are saturated there).
#pragma once

#if defined(__GNUC__) && defined(__x86_64__) && !defined(_WIN32)
#define RMPC_HAS_AVX2_KERNEL 1
#include <immintrin.h>
#define RMPC_TARGET_AVX2 __attribute__((target("avx2,fma")))
// Loops over a block's registers must be unrolled for the registers to stay registers: -O2
// does not unroll them on its own (the kernel ran 2.7x slower at -O2 than at -O3).
#define RMPC_UNROLL _Pragma("GCC unroll 16")
#else
#define RMPC_HAS_AVX2_KERNEL 0
#endif

namespace rmpc::learn::detail {

/// Whether this CPU (and its operating system) runs AVX2 and FMA instructions.
inline bool cpu_has_avx2_fma() {
#if RMPC_HAS_AVX2_KERNEL
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return has;
#else
  return false;
#endif
}

#if RMPC_HAS_AVX2_KERNEL

// Each function works on N registers at once, stage by stage, so that N independent chains
// of dependent FMAs (latency 4-5 cycles each) overlap instead of running one after another.

/// For x <= 0, k < N: scale[k] = 2^n and q[k] = e^r - 1 with x = n ln2 + r (the header
/// comment), so that e^x = 2^n q + 2^n and e^x - 1 = 2^n q + (2^n - 1). NaN stays NaN.
template <int N>
RMPC_TARGET_AVX2 inline void reduce_exp(const __m256 (&x_in)[N], __m256 (&scale)[N],
                                        __m256 (&q)[N]) {
  __m256 n[N], r[N];
  RMPC_UNROLL
  for (int k = 0; k < N; ++k) {
    // max returns its second operand for NaN, so NaN passes on.
    const __m256 x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x_in[k]);
    n[k] = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // x / ln2, rounded
    // r = x - n ln2 in two steps (ln2's high part has few bits, so n * high is exact).
    r[k] = _mm256_fnmadd_ps(n[k], _mm256_set1_ps(0.693359375f), x);
    r[k] = _mm256_fnmadd_ps(n[k], _mm256_set1_ps(-2.12194440e-4f), r[k]);
    q[k] = _mm256_set1_ps(1.0f / 5040.0f);
  }
  const float taylor[5] = {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f};
  RMPC_UNROLL
  for (float c : taylor) RMPC_UNROLL
  for (int k = 0; k < N; ++k) q[k] = _mm256_fmadd_ps(q[k], r[k], _mm256_set1_ps(c));
  RMPC_UNROLL
  for (int k = 0; k < N; ++k) {
    q[k] = _mm256_fmadd_ps(_mm256_mul_ps(r[k], r[k]), q[k], r[k]);  // r + r^2 P(r)
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n[k]), _mm256_set1_epi32(127));
    scale[k] = _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23));
  }
}

/// |z| lane by lane.
RMPC_TARGET_AVX2 inline __m256 abs8(__m256 z) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z); }

/// a = tanh z = sign(z) (-m) / (2 + m), m = e^{-2|z|} - 1; d1 = 1 - a^2 (z and a may alias).
template <int N>
RMPC_TARGET_AVX2 inline void tanh_n(__m256 (&z)[N], __m256 (&a)[N], __m256 (&d1)[N]) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  __m256 x[N], scale[N], m[N];
  RMPC_UNROLL
  for (int k = 0; k < N; ++k) x[k] = _mm256_mul_ps(_mm256_set1_ps(-2.0f), abs8(z[k]));
  reduce_exp(x, scale, m);
  RMPC_UNROLL
  for (int k = 0; k < N; ++k) {
    m[k] = _mm256_fmadd_ps(scale[k], m[k], _mm256_sub_ps(scale[k], one));  // e^x - 1 <= 0
    const __m256 magnitude =
        _mm256_div_ps(_mm256_sub_ps(_mm256_setzero_ps(), m[k]),  // +0 at z = 0, never -0
                      _mm256_add_ps(_mm256_set1_ps(2.0f), m[k]));
    a[k] = _mm256_or_ps(magnitude, _mm256_and_ps(z[k], sign));  // z's sign
    d1[k] = _mm256_fnmadd_ps(a[k], a[k], one);
  }
}

/// Logistic with e = e^{-|z|}, r = 1 / (1 + e): a = r for z >= 0 and e r below;
/// d1 = a (1 - a) = e r^2 (both factors without cancellation; z and a may alias).
template <int N>
RMPC_TARGET_AVX2 inline void logistic_n(__m256 (&z)[N], __m256 (&a)[N], __m256 (&d1)[N]) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 x[N], scale[N], e[N];
  RMPC_UNROLL
  for (int k = 0; k < N; ++k) x[k] = _mm256_sub_ps(_mm256_setzero_ps(), abs8(z[k]));
  reduce_exp(x, scale, e);
  RMPC_UNROLL
  for (int k = 0; k < N; ++k) {
    e[k] = _mm256_fmadd_ps(scale[k], e[k], scale[k]);  // e^x
    const __m256 r = _mm256_div_ps(one, _mm256_add_ps(one, e[k]));
    const __m256 er = _mm256_mul_ps(e[k], r);
    a[k] = _mm256_blendv_ps(r, er, _mm256_cmp_ps(z[k], _mm256_setzero_ps(), _CMP_LT_OQ));
    d1[k] = _mm256_mul_ps(er, r);
  }
}

#endif  // RMPC_HAS_AVX2_KERNEL

}  // namespace rmpc::learn::detail
