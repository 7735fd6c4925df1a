/* gemm_kernel_avx2.c - AVX2 + FMA micro-kernel, 6 x 16 tile.
 * 12 accumulators (6 rows x 2 ymm) + 2 for B + 1 broadcast = 15 of the 16
 * ymm registers. Built with -mavx2 -mfma; only called when the CPU has them. */
#include "gemm.h"

#include <immintrin.h>

#define MR 6
#define NR 16

static void kernel_6x16(long kc, const float *a, const float *b, float *c, long ldc, int accumulate)
{
    __m256 c0a = _mm256_setzero_ps(), c0b = _mm256_setzero_ps();
    __m256 c1a = _mm256_setzero_ps(), c1b = _mm256_setzero_ps();
    __m256 c2a = _mm256_setzero_ps(), c2b = _mm256_setzero_ps();
    __m256 c3a = _mm256_setzero_ps(), c3b = _mm256_setzero_ps();
    __m256 c4a = _mm256_setzero_ps(), c4b = _mm256_setzero_ps();
    __m256 c5a = _mm256_setzero_ps(), c5b = _mm256_setzero_ps();
    for (long p = 0; p < kc; p++, a += MR, b += NR) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#define ROW(i)                                       \
    {                                                \
        __m256 ai = _mm256_broadcast_ss(a + i);      \
        c##i##a = _mm256_fmadd_ps(ai, b0, c##i##a);  \
        c##i##b = _mm256_fmadd_ps(ai, b1, c##i##b);  \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
    }
#define STORE(i)                                                                   \
    {                                                                              \
        float *ci = c + i * ldc;                                                   \
        if (accumulate) {                                                          \
            c##i##a = _mm256_add_ps(_mm256_loadu_ps(ci), c##i##a);                 \
            c##i##b = _mm256_add_ps(_mm256_loadu_ps(ci + 8), c##i##b);             \
        }                                                                          \
        _mm256_storeu_ps(ci, c##i##a);                                             \
        _mm256_storeu_ps(ci + 8, c##i##b);                                         \
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
#undef STORE
}

static int has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const struct gemm_kernel gemm_kernel_avx2 = {
    .name = "avx2", .mr = MR, .nr = NR, .mc = 120, .kc = 256, .nc = 3072,
    .run = kernel_6x16, .supported = has_avx2,
};
