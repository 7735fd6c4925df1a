/* gemm_pack.h - packing of A and B panels, included once by each
 * gemm_kernel_*.c after it defines MR and NR, so the copies are compiled for
 * that kernel's instruction set with the tile size known (the full-width
 * row of a B panel becomes a few vector moves, not a counted scalar loop).
 *
 * pack_a: ceil(mc/MR) panels, each kc x MR (k-major, a[p*MR + i]), alpha
 *         folded in, rows past mc zero.
 * pack_b: ceil(nc/NR) panels, each kc x NR (k-major, b[p*NR + j]), columns
 *         past nc zero. */
#ifndef MR
#error "define MR and NR before including gemm_pack.h"
#endif

#include <stddef.h>

static void pack_a(enum gemm_trans ta, const float *A, long lda, long i0, long p0, long mc, long kc, float alpha,
                   float *dst)
{
    for (long ir = 0; ir < mc; ir += MR, dst += (long)MR * kc) {
        const long rows = mc - ir < MR ? mc - ir : MR;
        if (ta == GEMM_T) {
            /* op(A)(i, p) = A[p][i]: MR consecutive floats per p */
            for (long p = 0; p < kc; p++) {
                const float *restrict src = A + (p0 + p) * lda + i0 + ir;
                float *restrict d = dst + p * MR;
                if (rows == MR) {
#pragma omp simd
                    for (int i = 0; i < MR; i++)
                        d[i] = alpha * src[i];
                } else {
                    for (int i = 0; i < MR; i++)
                        d[i] = i < rows ? alpha * src[i] : 0.0f;
                }
            }
        } else {
            /* MR rows side by side: a transpose, row by row */
            for (long i = 0; i < rows; i++) {
                const float *restrict src = A + (i0 + ir + i) * lda + p0;
                float *restrict d = dst + i;
                for (long p = 0; p < kc; p++)
                    d[p * MR] = alpha * src[p];
            }
            for (long i = rows; i < MR; i++)
                for (long p = 0; p < kc; p++)
                    dst[p * MR + i] = 0.0f;
        }
    }
}

static void pack_b(enum gemm_trans tb, const float *B, long ldb, long p0, long j0, long kc, long nc, float *dst)
{
    for (long jr = 0; jr < nc; jr += NR, dst += (long)NR * kc) {
        const long cols = nc - jr < NR ? nc - jr : NR;
        if (tb == GEMM_N) {
            for (long p = 0; p < kc; p++) {
                const float *restrict src = B + (p0 + p) * ldb + j0 + jr;
                float *restrict d = dst + p * NR;
                if (cols == NR) {
#pragma omp simd
                    for (int j = 0; j < NR; j++)
                        d[j] = src[j];
                } else {
                    for (int j = 0; j < NR; j++)
                        d[j] = j < cols ? src[j] : 0.0f;
                }
            }
        } else {
            /* op(B)(p, j) = B[j][p] */
            for (long j = 0; j < cols; j++) {
                const float *restrict src = B + (j0 + jr + j) * ldb + p0;
                float *restrict d = dst + j;
                for (long p = 0; p < kc; p++)
                    d[p * NR] = src[p];
            }
            for (long j = cols; j < NR; j++)
                for (long p = 0; p < kc; p++)
                    dst[p * NR + j] = 0.0f;
        }
    }
}
