// Eight-lane float activations and their derivatives for the AVX2/FMA training kernel
// (shard_kernel.hpp), on x86-64 compilers that take per-function target attributes (GCC,
// Clang). Everything here is compiled for AVX2 + FMA whatever the translation unit's flags;
// it may only run after cpu_has_avx2_fma() said yes.
//
// exp is the usual range reduction x = n ln2 + r, |r| <= ln2 / 2, with a degree-7 Taylor
// polynomial (truncation 0.35^8 / 8! = 5e-9, below float round-off) and 2^n built in the
// exponent bits. Only exp(x) for x <= 0 is needed (tanh and the logistic are written through
// e^{-|z|}), so nothing overflows; x is clamped at -87 to keep 2^n normal (e^-87 = 1.6e-38:
// tanh and the logistic are already 1 or 0 to float precision there).
#pragma once

#if defined(__GNUC__) && defined(__x86_64__)
#define RMPC_HAS_AVX2_KERNEL 1
#include <immintrin.h>
#define RMPC_TARGET_AVX2 __attribute__((target("avx2,fma")))
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

/// x[k] = e^{x[k]} for x <= 0, k < N.
template <int N>
RMPC_TARGET_AVX2 inline void exp_nonpositive(__m256 (&x)[N]) {
  __m256 n[N], p[N];
  for (int k = 0; k < N; ++k) {
    x[k] = _mm256_max_ps(_mm256_set1_ps(-87.0f), x[k]);  // max returns its second operand for NaN
    n[k] = _mm256_round_ps(_mm256_mul_ps(x[k], _mm256_set1_ps(1.44269504f)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);  // x / ln2, rounded
  }
  // r = x - n ln2 in two steps (ln2's high part has few bits, so n * high is exact).
  for (int k = 0; k < N; ++k) {
    x[k] = _mm256_fnmadd_ps(n[k], _mm256_set1_ps(0.693359375f), x[k]);
    x[k] = _mm256_fnmadd_ps(n[k], _mm256_set1_ps(-2.12194440e-4f), x[k]);
    p[k] = _mm256_set1_ps(1.0f / 5040.0f);
  }
  const float taylor[7] = {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f, 1.0f,
                           1.0f};
  for (float c : taylor)
    for (int k = 0; k < N; ++k) p[k] = _mm256_fmadd_ps(p[k], x[k], _mm256_set1_ps(c));
  for (int k = 0; k < N; ++k) {
    const __m256i biased = _mm256_add_epi32(_mm256_cvtps_epi32(n[k]), _mm256_set1_epi32(127));
    x[k] = _mm256_mul_ps(p[k], _mm256_castsi256_ps(_mm256_slli_epi32(biased, 23)));
  }
}

/// |z| lane by lane.
RMPC_TARGET_AVX2 inline __m256 abs8(__m256 z) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
}

/// a = tanh z = sign(z) (1 - t) / (1 + t), t = e^{-2|z|}; d1 = 1 - a^2 (z and a may alias).
template <int N>
RMPC_TARGET_AVX2 inline void tanh_n(__m256 (&z)[N], __m256 (&a)[N], __m256 (&d1)[N]) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  __m256 t[N];
  for (int k = 0; k < N; ++k) t[k] = _mm256_mul_ps(_mm256_set1_ps(-2.0f), abs8(z[k]));
  exp_nonpositive(t);
  for (int k = 0; k < N; ++k) {
    const __m256 magnitude = _mm256_div_ps(_mm256_sub_ps(one, t[k]), _mm256_add_ps(one, t[k]));
    a[k] = _mm256_or_ps(magnitude, _mm256_and_ps(z[k], sign));  // z's sign
    d1[k] = _mm256_fnmadd_ps(a[k], a[k], one);
  }
}

/// Logistic a = 1 / (1 + e) for z >= 0 and e / (1 + e) below, e = e^{-|z|};
/// d1 = a (1 - a) (z and a may alias).
template <int N>
RMPC_TARGET_AVX2 inline void logistic_n(__m256 (&z)[N], __m256 (&a)[N], __m256 (&d1)[N]) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 e[N];
  for (int k = 0; k < N; ++k) e[k] = _mm256_sub_ps(_mm256_setzero_ps(), abs8(z[k]));
  exp_nonpositive(e);
  for (int k = 0; k < N; ++k) {
    const __m256 numerator =
        _mm256_blendv_ps(one, e[k], _mm256_cmp_ps(z[k], _mm256_setzero_ps(), _CMP_LT_OQ));
    a[k] = _mm256_div_ps(numerator, _mm256_add_ps(one, e[k]));
    d1[k] = _mm256_mul_ps(a[k], _mm256_sub_ps(one, a[k]));
  }
}

#endif  // RMPC_HAS_AVX2_KERNEL

}  // namespace rmpc::learn::detail
