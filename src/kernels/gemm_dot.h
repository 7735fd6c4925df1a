/* gemm_dot.h - what the AVX2 and AVX-512 kernels share, written once for
 * any vector width (as gemm_pack.h shares the packing): the dot-product
 * GEMM's blocks (gemm.h, dot_nt) and the FMA peak loop. Included once by
 * gemm_kernel_avx2.c and gemm_kernel_avx512.c, which define first:
 *
 *   VEC, VEC_FLOATS             the vector type and the floats in one
 *   vec_zero(), vec_set1(x), vec_loadu(p), vec_fma(a, b, c) (a * b + c)
 *   vec_sum(v)                  the sum of v's lanes (the peak loop's sink)
 *   PEAK_CHAINS                 FMA chains that cover the FMA latency
 *   dot_reduce(acc, alpha, sum) alpha times the lane sums of acc[0..11]
 *                               into sum[], acc[e]'s at sum[DOT_AT(e)]
 *   DOT_MASKED_TAIL             1: the last K % VEC_FLOATS go through
 *                               dot_tail(RB, CB, a, b, kv, k, acc) before
 *                               the reduction; 0: added in scalar code after
 *                               it (dot_reduce then leaves alpha out, given 1)
 */
#ifndef CNNCTL_GEMM_DOT_H
#define CNNCTL_GEMM_DOT_H

/* PEAK_CHAINS independent FMA chains (distinct start values, or the
 * compiler merges them): the FMA pipes' peak. The sum is kept so the
 * compiler keeps the work. */
static volatile float peak_sink;

static double fma_peak_loop(long iterations)
{
    const VEC m = vec_set1(0.999999f), a = vec_set1(1e-7f);
    VEC r[PEAK_CHAINS];
#pragma GCC unroll 24
    for (int c = 0; c < PEAK_CHAINS; c++)
        r[c] = vec_set1((float)c);
    for (long i = 0; i < iterations; i++)
#pragma GCC unroll 24
        for (int c = 0; c < PEAK_CHAINS; c++)
            r[c] = vec_fma(r[c], m, a);
    float sum = 0.0f;
    for (int c = 0; c < PEAK_CHAINS; c++)
        sum += vec_sum(r[c]);
    peak_sink = sum;
    return 2.0 * VEC_FLOATS * PEAK_CHAINS * (double)iterations;
}

/* C = alpha A B^T + beta C, K contiguous in both A (m x k) and B (n x k):
 * a conv weight gradient with few taps (dW = dy col^T, K = the pixels),
 * where packing would transpose both operands and fill a tile with a few
 * rows. Blocks of RB rows of A by CB rows of B, RB * CB = 12 accumulators in
 * flight; per vector of k, RB + CB loads feed 12 FMAs. The block shape is
 * chosen per GEMM for the least padding (dot_nt_shape): a 6 x 25 weight
 * gradient in 4 x 3 blocks computes 8 x 27 dot products, in 6 x 2 blocks
 * 6 x 26. Edge blocks repeat their last row (column) and store only the
 * valid ones: a single dot product loads two vectors per FMA, so a 30 x 25
 * weight gradient had run its last 2 rows at a quarter of the speed. */
#define DOT_STEP(LOAD_A, LOAD_B)                                                                                     \
    {                                                                                                                \
        VEC x[6], y[6];                                                                                              \
        _Pragma("GCC unroll 6") for (int r = 0; r < RB; r++) x[r] = LOAD_A(r);                                       \
        _Pragma("GCC unroll 6") for (int q = 0; q < CB; q++) y[q] = LOAD_B(q);                                       \
        _Pragma("GCC unroll 6") for (int r = 0; r < RB; r++)                                                         \
            _Pragma("GCC unroll 6") for (int q = 0; q < CB; q++)                                                     \
                acc[r * CB + q] = vec_fma(x[r], y[q], acc[r * CB + q]);                                              \
    }

static inline __attribute__((always_inline)) void dot_nt_blocks(const int RB, const int CB, long m, long n, long k,
                                                               float alpha, const float *A, long lda,
                                                               const float *B, long ldb, float beta, float *C,
                                                               long ldc)
{
    const long kv = k / VEC_FLOATS * VEC_FLOATS;
    for (long i = 0; i < m; i += RB) {
        const int rows = m - i < RB ? (int)(m - i) : RB;
        const float *a[6];
#pragma GCC unroll 6
        for (int r = 0; r < RB; r++)
            a[r] = A + (i + (r < rows ? r : rows - 1)) * lda;
        for (long j = 0; j < n; j += CB) {
            const int cols = n - j < CB ? (int)(n - j) : CB;
            const float *b[6];
#pragma GCC unroll 6
            for (int q = 0; q < CB; q++)
                b[q] = B + (j + (q < cols ? q : cols - 1)) * ldb;
            VEC acc[12];
#pragma GCC unroll 12
            for (int e = 0; e < 12; e++)
                acc[e] = vec_zero();
#define FULL_A(r) vec_loadu(a[r] + p)
#define FULL_B(q) vec_loadu(b[q] + p)
#pragma GCC unroll 2
            for (long p = 0; p < kv; p += VEC_FLOATS)
                DOT_STEP(FULL_A, FULL_B)
#undef FULL_A
#undef FULL_B
            float sum[16] __attribute__((aligned(64)));
#if DOT_MASKED_TAIL
            if (kv < k)
                dot_tail(RB, CB, a, b, kv, k, acc);
            dot_reduce(acc, alpha, sum);
#else
            dot_reduce(acc, 1.0f, sum);
            /* the last K % VEC_FLOATS, then alpha */
            for (int r = 0; r < rows; r++)
                for (int q = 0; q < cols; q++) {
                    float s = sum[DOT_AT(r * CB + q)];
                    for (long p = kv; p < k; p++)
                        s += a[r][p] * b[q][p];
                    sum[DOT_AT(r * CB + q)] = alpha * s;
                }
#endif
#define SUM(r, q) sum[DOT_AT((r) * CB + (q))]
            if (rows == RB && cols == CB && beta == 0.0f) {
                /* a whole block's stores unrolled */
#pragma GCC unroll 6
                for (int r = 0; r < RB; r++)
#pragma GCC unroll 6
                    for (int q = 0; q < CB; q++)
                        C[(i + r) * ldc + j + q] = SUM(r, q);
            } else if (rows == RB && cols == CB) {
#pragma GCC unroll 6
                for (int r = 0; r < RB; r++)
#pragma GCC unroll 6
                    for (int q = 0; q < CB; q++)
                        C[(i + r) * ldc + j + q] = SUM(r, q) + beta * C[(i + r) * ldc + j + q];
            } else {
                for (int r = 0; r < rows; r++)
                    for (int q = 0; q < cols; q++) {
                        float *c = C + (i + r) * ldc + j + q;
                        *c = beta == 0.0f ? SUM(r, q) : SUM(r, q) + beta * *c;
                    }
            }
#undef SUM
        }
    }
}

#undef DOT_STEP

static void dot_nt(long m, long n, long k, float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                   float *C, long ldc)
{
    switch (dot_nt_shape(m, n)) {
    case 0: dot_nt_blocks(4, 3, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 1: dot_nt_blocks(3, 4, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 2: dot_nt_blocks(6, 2, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: dot_nt_blocks(2, 6, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc); break;
    }
}

#endif
