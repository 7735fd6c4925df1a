/* gemm_pack.h - packing of A and B panels, included once by each
 * gemm_kernel_*.c, so the copies are compiled for that kernel's instruction
 * set. A kernel with the packed path defines MR and NR first, so the tile
 * size is known (the full-width row of a B panel becomes a few vector moves,
 * not a counted scalar loop):
 *
 * pack_a: ceil(mc/MR) panels, each kc x MR (k-major, a[p*MR + i]), alpha
 *         folded in, rows past mc zero.
 * pack_b: ceil(nc/NR) panels, each kc x NR (k-major, b[p*NR + j]), columns
 *         past nc zero.
 * pack_transposed, the transposing copy both use, and dot_nt_shape, the
 * dot-product GEMMs' block shape, are there for all. */
#include <stddef.h>

/* dst[p*width + i] = alpha * src[i*ld + p] for i < rows, p < kc, and zero
 * for rows <= i < width: a block of a K-contiguous matrix turned k-major,
 * the packing of A untransposed and of B transposed. With AVX the rows go
 * eight (then four) at a time through an in-register transpose of 8 x 8
 * (4 x 8) floats; scalar stores strided by width were a fifth of an
 * affine layer's forward GEMM. */
static void pack_transposed(const float *src, long ld, long rows, long kc, float alpha, float *dst, int width)
{
    long i = 0;
#ifdef __AVX__
    const long p8 = kc & ~7L;
    const __m256 a8 = _mm256_set1_ps(alpha);
    for (; i + 8 <= rows; i += 8) {
        const float *s = src + i * ld;
        for (long p = 0; p < p8; p += 8) {
            __m256 r0 = _mm256_loadu_ps(s + p), r1 = _mm256_loadu_ps(s + ld + p);
            __m256 r2 = _mm256_loadu_ps(s + 2 * ld + p), r3 = _mm256_loadu_ps(s + 3 * ld + p);
            __m256 r4 = _mm256_loadu_ps(s + 4 * ld + p), r5 = _mm256_loadu_ps(s + 5 * ld + p);
            __m256 r6 = _mm256_loadu_ps(s + 6 * ld + p), r7 = _mm256_loadu_ps(s + 7 * ld + p);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
            float *d = dst + p * width + i;
            /* column q of the 8 x 8 block: rows 0-3 from u(q%4), rows 4-7 from u(4+q%4) */
            _mm256_storeu_ps(d, _mm256_mul_ps(a8, _mm256_permute2f128_ps(u0, u4, 0x20)));
            _mm256_storeu_ps(d + width, _mm256_mul_ps(a8, _mm256_permute2f128_ps(u1, u5, 0x20)));
            _mm256_storeu_ps(d + 2 * width, _mm256_mul_ps(a8, _mm256_permute2f128_ps(u2, u6, 0x20)));
            _mm256_storeu_ps(d + 3 * width, _mm256_mul_ps(a8, _mm256_permute2f128_ps(u3, u7, 0x20)));
            _mm256_storeu_ps(d + 4 * width, _mm256_mul_ps(a8, _mm256_permute2f128_ps(u0, u4, 0x31)));
            _mm256_storeu_ps(d + 5 * width, _mm256_mul_ps(a8, _mm256_permute2f128_ps(u1, u5, 0x31)));
            _mm256_storeu_ps(d + 6 * width, _mm256_mul_ps(a8, _mm256_permute2f128_ps(u2, u6, 0x31)));
            _mm256_storeu_ps(d + 7 * width, _mm256_mul_ps(a8, _mm256_permute2f128_ps(u3, u7, 0x31)));
        }
        for (long p = p8; p < kc; p++)
            for (int r = 0; r < 8; r++)
                dst[p * width + i + r] = alpha * s[r * ld + p];
    }
    for (; i + 4 <= rows; i += 4) {
        const float *s = src + i * ld;
        for (long p = 0; p < p8; p += 8) {
            __m256 r0 = _mm256_loadu_ps(s + p), r1 = _mm256_loadu_ps(s + ld + p);
            __m256 r2 = _mm256_loadu_ps(s + 2 * ld + p), r3 = _mm256_loadu_ps(s + 3 * ld + p);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            /* u0 holds columns 0 and 4, u1 columns 1 and 5, ... */
            __m256 u0 = _mm256_mul_ps(a8, _mm256_shuffle_ps(t0, t2, 0x44));
            __m256 u1 = _mm256_mul_ps(a8, _mm256_shuffle_ps(t0, t2, 0xee));
            __m256 u2 = _mm256_mul_ps(a8, _mm256_shuffle_ps(t1, t3, 0x44));
            __m256 u3 = _mm256_mul_ps(a8, _mm256_shuffle_ps(t1, t3, 0xee));
            float *d = dst + p * width + i;
            _mm_storeu_ps(d, _mm256_castps256_ps128(u0));
            _mm_storeu_ps(d + width, _mm256_castps256_ps128(u1));
            _mm_storeu_ps(d + 2 * width, _mm256_castps256_ps128(u2));
            _mm_storeu_ps(d + 3 * width, _mm256_castps256_ps128(u3));
            _mm_storeu_ps(d + 4 * width, _mm256_extractf128_ps(u0, 1));
            _mm_storeu_ps(d + 5 * width, _mm256_extractf128_ps(u1, 1));
            _mm_storeu_ps(d + 6 * width, _mm256_extractf128_ps(u2, 1));
            _mm_storeu_ps(d + 7 * width, _mm256_extractf128_ps(u3, 1));
        }
        for (long p = p8; p < kc; p++)
            for (int r = 0; r < 4; r++)
                dst[p * width + i + r] = alpha * s[r * ld + p];
    }
#endif
    for (; i < rows; i++) {
        const float *restrict s = src + i * ld;
        for (long p = 0; p < kc; p++)
            dst[p * width + i] = alpha * s[p];
    }
    for (; i < width; i++)
        for (long p = 0; p < kc; p++)
            dst[p * width + i] = 0.0f;
}

/* The block shape of a dot-product GEMM (dot_nt) with the least padding
 * for an m x n C, from 4 x 3 (0), 3 x 4 (1), 6 x 2 (2) and 2 x 6 (3) rows
 * x columns, 12 accumulators each: a 6 x 25 weight gradient in 4 x 3
 * blocks computes 8 x 27 dot products, in 6 x 2 blocks 6 x 26. */
static inline int dot_nt_shape(long m, long n)
{
    static const int shapes[4][2] = {{4, 3}, {3, 4}, {6, 2}, {2, 6}};
    int best = 0;
    long best_work = 0;
    for (int s = 0; s < 4; s++) {
        const long rb = shapes[s][0], cb = shapes[s][1];
        const long work = (m + rb - 1) / rb * rb * ((n + cb - 1) / cb * cb);
        if (s == 0 || work < best_work) {
            best = s;
            best_work = work;
        }
    }
    return best;
}

#ifdef MR
/* dst[p*WIDTH + i] = alpha * src[p*ld + i] for i < count, zero up to
 * WIDTH: WIDTH consecutive floats per p, the packing of A transposed and
 * of B untransposed. */
static inline void pack_rows(const float *src, long ld, long count, long kc, float alpha, float *dst, const int width)
{
    for (long p = 0; p < kc; p++) {
        const float *restrict s = src + p * ld;
        float *restrict d = dst + p * width;
        if (count == width) {
#pragma omp simd
            for (int i = 0; i < width; i++)
                d[i] = alpha * s[i];
        } else {
            for (int i = 0; i < width; i++)
                d[i] = i < count ? alpha * s[i] : 0.0f;
        }
    }
}

static void pack_a(enum gemm_trans ta, const float *A, long lda, long i0, long p0, long mc, long kc, float alpha,
                   float *dst)
{
    for (long ir = 0; ir < mc; ir += MR, dst += (long)MR * kc) {
        const long rows = mc - ir < MR ? mc - ir : MR;
        if (ta == GEMM_T)  /* op(A)(i, p) = A[p][i]: MR consecutive floats per p */
            pack_rows(A + p0 * lda + i0 + ir, lda, rows, kc, alpha, dst, MR);
        else  /* MR rows side by side: a transpose */
            pack_transposed(A + (i0 + ir) * lda + p0, lda, rows, kc, alpha, dst, MR);
    }
}

static void pack_b(enum gemm_trans tb, const float *B, long ldb, long p0, long j0, long kc, long nc, float *dst)
{
    for (long jr = 0; jr < nc; jr += NR, dst += (long)NR * kc) {
        const long cols = nc - jr < NR ? nc - jr : NR;
        if (tb == GEMM_N)
            pack_rows(B + p0 * ldb + j0 + jr, ldb, cols, kc, 1.0f, dst, NR);
        else  /* op(B)(p, j) = B[j][p]: a transpose */
            pack_transposed(B + (j0 + jr) * ldb + p0, ldb, cols, kc, 1.0f, dst, NR);
    }
}
#endif
