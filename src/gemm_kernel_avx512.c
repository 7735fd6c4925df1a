/* gemm_kernel_avx512.c - AVX-512 micro-kernel, 12 x 32 tile.
 * 24 accumulators (12 rows x 2 zmm) keep the two FMA pipes busy through the
 * 4-cycle latency (12 or more independent chains are needed); 2 zmm hold a
 * row of B, A is broadcast from the packed panel. Built with -mavx512f;
 * only called when the CPU has it. */
#include "gemm.h"

#include <immintrin.h>

#define MR 12
#define NR 32

static void kernel_12x32(long kc, const float *a, const float *b, float *c, long ldc, int accumulate)
{
    __m512 c0a = _mm512_setzero_ps(), c0b = _mm512_setzero_ps();
    __m512 c1a = _mm512_setzero_ps(), c1b = _mm512_setzero_ps();
    __m512 c2a = _mm512_setzero_ps(), c2b = _mm512_setzero_ps();
    __m512 c3a = _mm512_setzero_ps(), c3b = _mm512_setzero_ps();
    __m512 c4a = _mm512_setzero_ps(), c4b = _mm512_setzero_ps();
    __m512 c5a = _mm512_setzero_ps(), c5b = _mm512_setzero_ps();
    __m512 c6a = _mm512_setzero_ps(), c6b = _mm512_setzero_ps();
    __m512 c7a = _mm512_setzero_ps(), c7b = _mm512_setzero_ps();
    __m512 c8a = _mm512_setzero_ps(), c8b = _mm512_setzero_ps();
    __m512 c9a = _mm512_setzero_ps(), c9b = _mm512_setzero_ps();
    __m512 c10a = _mm512_setzero_ps(), c10b = _mm512_setzero_ps();
    __m512 c11a = _mm512_setzero_ps(), c11b = _mm512_setzero_ps();
    for (long p = 0; p < kc; p++, a += MR, b += NR) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#define ROW(i)                                       \
    {                                                \
        __m512 ai = _mm512_set1_ps(a[i]);            \
        c##i##a = _mm512_fmadd_ps(ai, b0, c##i##a);  \
        c##i##b = _mm512_fmadd_ps(ai, b1, c##i##b);  \
    }
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7) ROW(8) ROW(9) ROW(10) ROW(11)
#undef ROW
    }
#define STORE(i)                                                                   \
    {                                                                              \
        float *ci = c + i * ldc;                                                   \
        if (accumulate) {                                                          \
            c##i##a = _mm512_add_ps(_mm512_loadu_ps(ci), c##i##a);                 \
            c##i##b = _mm512_add_ps(_mm512_loadu_ps(ci + 16), c##i##b);            \
        }                                                                          \
        _mm512_storeu_ps(ci, c##i##a);                                             \
        _mm512_storeu_ps(ci + 16, c##i##b);                                        \
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
    STORE(6) STORE(7) STORE(8) STORE(9) STORE(10) STORE(11)
#undef STORE
}

static int has_avx512(void)
{
    return __builtin_cpu_supports("avx512f");
}

const struct gemm_kernel gemm_kernel_avx512 = {
    .name = "avx512", .mr = MR, .nr = NR, .mc = 144, .kc = 384, .nc = 3072,
    .run = kernel_12x32, .supported = has_avx512,
};
