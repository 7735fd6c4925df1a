/* gemm_kernel_avx2.c - AVX2 + FMA micro-kernel, 6 x 16 tile.
 * 12 accumulators (6 rows x 2 ymm) + 2 for B + 1 broadcast = 15 of the 16
 * ymm registers. Built with -mavx2 -mfma; only called when the CPU has them. */
#include "gemm.h"

#include <immintrin.h>

#define MR 6
#define NR 16

#include "gemm_pack.h"

static void kernel_6x16(long kc, const float *a, const float *b, float *c, long ldc, int accumulate, int mr, int nr)
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
    /* Edge tiles narrower than NR go through a local tile; rows past mr are
     * not stored. */
    float tile[MR * NR];
    float *out = c;
    long ldo = ldc;
    if (nr < NR) {
        out = tile;
        ldo = NR;
        if (accumulate)
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++)
                    tile[i * NR + j] = c[i * ldc + j];
    }
#define STORE(i)                                                                   \
    if (i < mr) {                                                                  \
        float *ci = out + i * ldo;                                                 \
        if (accumulate) {                                                          \
            c##i##a = _mm256_add_ps(_mm256_loadu_ps(ci), c##i##a);                 \
            c##i##b = _mm256_add_ps(_mm256_loadu_ps(ci + 8), c##i##b);             \
        }                                                                          \
        _mm256_storeu_ps(ci, c##i##a);                                             \
        _mm256_storeu_ps(ci + 8, c##i##b);                                         \
    }
    STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
    if (nr < NR)
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++)
                c[i * ldc + j] = tile[i * NR + j];
#undef STORE
}


/* 12 independent FMA chains (distinct start values, or the compiler merges
 * them): enough to cover the 4-cycle latency on two
 * pipes. The sum is returned so the compiler keeps the work. */
static volatile float peak_sink;
static float sum8(__m256 v) { float t[8]; _mm256_storeu_ps(t, v); return t[0] + t[7]; }
static double fma_peak_loop(long iterations)
{
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    __m256 r0 = _mm256_set1_ps(0.0f);
    __m256 r1 = _mm256_set1_ps(1.0f);
    __m256 r2 = _mm256_set1_ps(2.0f);
    __m256 r3 = _mm256_set1_ps(3.0f);
    __m256 r4 = _mm256_set1_ps(4.0f);
    __m256 r5 = _mm256_set1_ps(5.0f);
    __m256 r6 = _mm256_set1_ps(6.0f);
    __m256 r7 = _mm256_set1_ps(7.0f);
    __m256 r8 = _mm256_set1_ps(8.0f);
    __m256 r9 = _mm256_set1_ps(9.0f);
    __m256 r10 = _mm256_set1_ps(10.0f);
    __m256 r11 = _mm256_set1_ps(11.0f);
    for (long i = 0; i < iterations; i++) {
        r0 = _mm256_fmadd_ps(r0, m, a); r1 = _mm256_fmadd_ps(r1, m, a); r2 = _mm256_fmadd_ps(r2, m, a); r3 = _mm256_fmadd_ps(r3, m, a);
        r4 = _mm256_fmadd_ps(r4, m, a); r5 = _mm256_fmadd_ps(r5, m, a); r6 = _mm256_fmadd_ps(r6, m, a); r7 = _mm256_fmadd_ps(r7, m, a);
        r8 = _mm256_fmadd_ps(r8, m, a); r9 = _mm256_fmadd_ps(r9, m, a); r10 = _mm256_fmadd_ps(r10, m, a); r11 = _mm256_fmadd_ps(r11, m, a);
    }
    peak_sink = sum8(r0) + sum8(r1) + sum8(r2) + sum8(r3) + sum8(r4) + sum8(r5) + sum8(r6) + sum8(r7) + sum8(r8) + sum8(r9) + sum8(r10) + sum8(r11);
    return 2.0 * 8 * 12 * (double)iterations;
}

/* The direct convolution's weight gradient (conv_kernel_avx2.c) reads
 * dy^T laid out by this. */
static void transpose(const float *src, long ld, long cols, long kc, float *dst, long width)
{
    pack_transposed(src, ld, cols, kc, 1.0f, dst, (int)width);
}

static int has_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const struct gemm_kernel gemm_kernel_avx2 = {
    .name = "avx2", .mr = MR, .nr = NR, .mc = 120, .kc = 256, .nc = 3072,
    .fma_peak_loop = fma_peak_loop, .run = kernel_6x16, .pack_a = pack_a, .pack_b = pack_b, .supported = has_avx2,
    .transpose = transpose,
};
