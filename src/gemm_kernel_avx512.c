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


/* 24 independent FMA chains (distinct start values, or the compiler merges
 * them): enough to cover the 4-cycle latency on two
 * pipes. The sum is returned so the compiler keeps the work. */
static volatile float peak_sink;

static double fma_peak_loop(long iterations)
{
    const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    __m512 r0 = _mm512_set1_ps(0.0f);
    __m512 r1 = _mm512_set1_ps(1.0f);
    __m512 r2 = _mm512_set1_ps(2.0f);
    __m512 r3 = _mm512_set1_ps(3.0f);
    __m512 r4 = _mm512_set1_ps(4.0f);
    __m512 r5 = _mm512_set1_ps(5.0f);
    __m512 r6 = _mm512_set1_ps(6.0f);
    __m512 r7 = _mm512_set1_ps(7.0f);
    __m512 r8 = _mm512_set1_ps(8.0f);
    __m512 r9 = _mm512_set1_ps(9.0f);
    __m512 r10 = _mm512_set1_ps(10.0f);
    __m512 r11 = _mm512_set1_ps(11.0f);
    __m512 r12 = _mm512_set1_ps(12.0f);
    __m512 r13 = _mm512_set1_ps(13.0f);
    __m512 r14 = _mm512_set1_ps(14.0f);
    __m512 r15 = _mm512_set1_ps(15.0f);
    __m512 r16 = _mm512_set1_ps(16.0f);
    __m512 r17 = _mm512_set1_ps(17.0f);
    __m512 r18 = _mm512_set1_ps(18.0f);
    __m512 r19 = _mm512_set1_ps(19.0f);
    __m512 r20 = _mm512_set1_ps(20.0f);
    __m512 r21 = _mm512_set1_ps(21.0f);
    __m512 r22 = _mm512_set1_ps(22.0f);
    __m512 r23 = _mm512_set1_ps(23.0f);
    for (long i = 0; i < iterations; i++) {
        r0 = _mm512_fmadd_ps(r0, m, a); r1 = _mm512_fmadd_ps(r1, m, a); r2 = _mm512_fmadd_ps(r2, m, a); r3 = _mm512_fmadd_ps(r3, m, a);
        r4 = _mm512_fmadd_ps(r4, m, a); r5 = _mm512_fmadd_ps(r5, m, a); r6 = _mm512_fmadd_ps(r6, m, a); r7 = _mm512_fmadd_ps(r7, m, a);
        r8 = _mm512_fmadd_ps(r8, m, a); r9 = _mm512_fmadd_ps(r9, m, a); r10 = _mm512_fmadd_ps(r10, m, a); r11 = _mm512_fmadd_ps(r11, m, a);
        r12 = _mm512_fmadd_ps(r12, m, a); r13 = _mm512_fmadd_ps(r13, m, a); r14 = _mm512_fmadd_ps(r14, m, a); r15 = _mm512_fmadd_ps(r15, m, a);
        r16 = _mm512_fmadd_ps(r16, m, a); r17 = _mm512_fmadd_ps(r17, m, a); r18 = _mm512_fmadd_ps(r18, m, a); r19 = _mm512_fmadd_ps(r19, m, a);
        r20 = _mm512_fmadd_ps(r20, m, a); r21 = _mm512_fmadd_ps(r21, m, a); r22 = _mm512_fmadd_ps(r22, m, a); r23 = _mm512_fmadd_ps(r23, m, a);
    }
    peak_sink = _mm512_reduce_add_ps(r0) + _mm512_reduce_add_ps(r1) + _mm512_reduce_add_ps(r2) + _mm512_reduce_add_ps(r3) + _mm512_reduce_add_ps(r4) + _mm512_reduce_add_ps(r5) + _mm512_reduce_add_ps(r6) + _mm512_reduce_add_ps(r7) + _mm512_reduce_add_ps(r8) + _mm512_reduce_add_ps(r9) + _mm512_reduce_add_ps(r10) + _mm512_reduce_add_ps(r11) + _mm512_reduce_add_ps(r12) + _mm512_reduce_add_ps(r13) + _mm512_reduce_add_ps(r14) + _mm512_reduce_add_ps(r15) + _mm512_reduce_add_ps(r16) + _mm512_reduce_add_ps(r17) + _mm512_reduce_add_ps(r18) + _mm512_reduce_add_ps(r19) + _mm512_reduce_add_ps(r20) + _mm512_reduce_add_ps(r21) + _mm512_reduce_add_ps(r22) + _mm512_reduce_add_ps(r23);
    return 2.0 * 16 * 24 * (double)iterations;
}

static int has_avx512(void)
{
    return __builtin_cpu_supports("avx512f");
}

const struct gemm_kernel gemm_kernel_avx512 = {
    .name = "avx512", .mr = MR, .nr = NR, .mc = 144, .kc = 384, .nc = 3072,
    .fma_peak_loop = fma_peak_loop, .run = kernel_12x32, .supported = has_avx512,
};
