/* gemm_kernel_avx2.c - AVX2 + FMA kernels: the packed path's 6 x 16
 * micro-kernel (12 accumulators, 6 rows x 2 ymm, + 2 for B + 1 broadcast
 * = 15 of the 16 ymm registers); unpacked tiles for small C from an
 * untransposed B (unpacked: nothing copied); dot products for small C from
 * a long K (dot_nt); C of at most 16 columns without packing A (narrow,
 * narrow_at); and the transpose the direct conv weight gradient reads.
 * Built with -mavx2 -mfma; only called when the CPU has them. */
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
    /* C's tile into L1 while the K loop runs: the rows of a wide C lie a
     * multiple of 4 KiB apart, in the same sets, and the tiles below one
     * another evict each other's rows before the store reads them */
    for (int i = 0; i < mr; i++) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
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


/* Unpacked tiles (gemm.h, unpacked; untransposed C only, the one gemm.c
 * asks of a kernel with a packed path): R rows by V vectors of 8 columns,
 * at most 12 accumulators. Per k, V vector loads from a row of v and R
 * broadcasts from s feed R * V FMAs, straight from where the operands lie:
 * on small C (an affine layer's forward, 100 x 100 x 4320 or 100 x 120 x
 * 400) packing both operands cost as much as it saved the 6 x 16 kernel.
 * The last vector is masked to the valid columns (maskload never faults on
 * the lanes it leaves out). Each element is one FMA chain in k order within
 * a block of K, whatever tile computes it, so the bits do not depend on
 * how gemm() split C. */
static inline __attribute__((always_inline)) void unpacked_tile(const int R, const int V, long k, float alpha,
                                                               const float *s, long s_row, long s_k, const float *v,
                                                               long ldv, __m256i last, float beta, float *C,
                                                               long ldc)
{
    __m256 acc[12][3];
    const float *row[12];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        row[r] = s + r * s_row;
#pragma GCC unroll 3
        for (int q = 0; q < V; q++)
            acc[r][q] = _mm256_setzero_ps();
    }
    for (long p = 0; p < k; p++) {
        const float *vp = v + p * ldv;
        __m256 x[3];
#pragma GCC unroll 3
        for (int q = 0; q < V; q++)
            x[q] = q < V - 1 ? _mm256_loadu_ps(vp + 8 * q) : _mm256_maskload_ps(vp + 8 * q, last);
#pragma GCC unroll 12
        for (int r = 0; r < R; r++) {
            const __m256 a = _mm256_broadcast_ss(row[r] + p * s_k);
#pragma GCC unroll 3
            for (int q = 0; q < V; q++)
                acc[r][q] = _mm256_fmadd_ps(a, x[q], acc[r][q]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int q = 0; q < V; q++) {
            float *c = C + r * ldc + 8 * q;
            __m256 out = alpha == 1.0f ? acc[r][q] : _mm256_mul_ps(va, acc[r][q]);
            if (q < V - 1) {
                if (beta != 0.0f)
                    out = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), out);
                _mm256_storeu_ps(c, out);
            } else {
                if (beta != 0.0f)
                    out = _mm256_fmadd_ps(vb, _mm256_maskload_ps(c, last), out);
                _mm256_maskstore_ps(c, last, out);
            }
        }
}

typedef void (*unpacked_tile_fn)(long k, float alpha, const float *s, long s_row, long s_k, const float *v, long ldv,
                                 __m256i last, float beta, float *C, long ldc);

#define TILE(R, V)                                                                                                   \
    static void unpacked_##R##x##V(long k, float alpha, const float *s, long s_row, long s_k, const float *v,      \
                                   long ldv, __m256i last, float beta, float *C, long ldc)                           \
    {                                                                                                                \
        unpacked_tile(R, V, k, alpha, s, s_row, s_k, v, ldv, last, beta, C, ldc);                                    \
    }
TILE(1, 1) TILE(2, 1) TILE(3, 1) TILE(4, 1) TILE(5, 1) TILE(6, 1)
TILE(7, 1) TILE(8, 1) TILE(9, 1) TILE(10, 1) TILE(11, 1) TILE(12, 1)
TILE(1, 2) TILE(2, 2) TILE(3, 2) TILE(4, 2) TILE(5, 2) TILE(6, 2)
TILE(1, 3) TILE(2, 3) TILE(3, 3) TILE(4, 3)
#undef TILE

/* [R - 1][V - 1]: 4 rows of 3 vectors (7 loads for 12 FMAs), 6 of 2, 12 of 1 */
static const unpacked_tile_fn unpacked_tiles[12][3] = {
    {unpacked_1x1, unpacked_1x2, unpacked_1x3}, {unpacked_2x1, unpacked_2x2, unpacked_2x3},
    {unpacked_3x1, unpacked_3x2, unpacked_3x3}, {unpacked_4x1, unpacked_4x2, unpacked_4x3},
    {unpacked_5x1, unpacked_5x2}, {unpacked_6x1, unpacked_6x2}, {unpacked_7x1}, {unpacked_8x1},
    {unpacked_9x1}, {unpacked_10x1}, {unpacked_11x1}, {unpacked_12x1},
};

/* K in blocks, so a strip's block (UNPACKED_KC x 24 floats, 24 KiB) stays
 * in L1 while the row tiles go by */
#define UNPACKED_KC 256

static int unpacked_rows(int vectors)
{
    return vectors == 3 ? 4 : vectors == 2 ? 6 : 12;
}

static void unpacked(long rows, long cols, long k, float alpha, const float *s, long s_row, long s_k, const float *v,
                     long ldv, float beta, float *C, long ldc, int transposed, float *scratch)
{
    (void)transposed;  /* always 0 here (gemm.c) */
    (void)scratch;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (long p0 = 0; p0 < k; p0 += UNPACKED_KC) {
        const long kc = k - p0 < UNPACKED_KC ? k - p0 : UNPACKED_KC;
        const float beta_here = p0 == 0 ? beta : 1.0f;  /* later blocks of K add on */
        for (long j = 0; j < cols; j += 24) {
            const long strip = cols - j < 24 ? cols - j : 24;
            const int V = (int)((strip + 7) / 8), R0 = unpacked_rows(V);
            const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(strip - 8 * (V - 1))), lane);
            for (long i = 0; i < rows; i += R0) {
                const int R = rows - i < R0 ? (int)(rows - i) : R0;
                unpacked_tiles[R - 1][V - 1](kc, alpha, s + i * s_row + p0 * s_k, s_row, s_k, v + p0 * ldv + j, ldv,
                                             last, beta_here, C + i * ldc + j, ldc);
            }
        }
    }
}

/* The shared tiles (gemm_dot.h) at 8 floats: dot_nt, whose last K % 8
 * are added in scalar code, and the FMA peak loop (12 chains cover the
 * 4-cycle latency on two pipes). */
#define VEC __m256
#define VEC_FLOATS 8
#define vec_zero() _mm256_setzero_ps()
#define vec_set1(x) _mm256_set1_ps(x)
#define vec_loadu(p) _mm256_loadu_ps(p)
#define vec_fma(a, b, c) _mm256_fmadd_ps(a, b, c)
#define vec_sum(v) sum8(v)
#define PEAK_CHAINS 12
#define DOT_MASKED_TAIL 0
#define DOT_AT(e) (e)

static inline float sum8(__m256 v)
{
    float t[8];
    _mm256_storeu_ps(t, v);
    return t[0] + t[7];
}

static inline __attribute__((always_inline)) __m128 sum4(__m256 a, __m256 b, __m256 c, __m256 d)
{
    /* in each 128-bit half: the partial sums of a, b, c, d */
    const __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

/* sum[e]: the lanes of acc[e] added (alpha is 1: the scalar tail is added
 * before alpha is applied) */
static inline __attribute__((always_inline)) void dot_reduce(const __m256 acc[12], float alpha, float *sum)
{
    (void)alpha;
    _mm_storeu_ps(sum, sum4(acc[0], acc[1], acc[2], acc[3]));
    _mm_storeu_ps(sum + 4, sum4(acc[4], acc[5], acc[6], acc[7]));
    _mm_storeu_ps(sum + 8, sum4(acc[8], acc[9], acc[10], acc[11]));
}

#include "gemm_dot.h"

/* C = alpha op(A) B + beta C for C of at most 16 columns (an affine
 * layer's forward with few outputs, and with A transposed its weight
 * gradient): the packed path would pad N to 16 anyway, and packing A costs
 * as much as the arithmetic there. B is copied a block of K at a time into
 * rows of 16 floats (zeros past n, alpha folded in), op(A) is broadcast
 * from where it lies (element (i, p) at A[i*s_row + p*s_k]); tiles of 6
 * rows x 2 vectors, as the packed micro-kernel's. */
#define NARROW_KB 512

static void narrow_rows(long m, long n, long k, float alpha, const float *A, long s_row, long s_k, const float *B,
                        long ldb, float beta, float *C, long ldc, float *pack)
{
    /* B's rows through masked loads: lanes past n read as zero and never
     * fault */
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), lane);
    const __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n - 8), lane);
    const __m256 alpha8 = _mm256_set1_ps(alpha);
    for (long p0 = 0; p0 < k; p0 += NARROW_KB) {
        const long kb = k - p0 < NARROW_KB ? k - p0 : NARROW_KB;
        for (long p = 0; p < kb; p++) {
            const float *b = B + (p0 + p) * ldb;
            _mm256_store_ps(pack + p * 16, _mm256_mul_ps(alpha8, _mm256_maskload_ps(b, m0)));
            _mm256_store_ps(pack + p * 16 + 8, _mm256_mul_ps(alpha8, _mm256_maskload_ps(b + 8, m1)));
        }
        for (long i = 0; i < m; i += MR) {
            const int rows = m - i < MR ? (int)(m - i) : MR;
            const float *a[MR];
            for (int r = 0; r < MR; r++)
                a[r] = A + (i + (r < rows ? r : rows - 1)) * s_row + p0 * s_k;
            __m256 acc[MR][2];
#pragma GCC unroll 6
            for (int r = 0; r < MR; r++)
                acc[r][0] = acc[r][1] = _mm256_setzero_ps();
            for (long p = 0; p < kb; p++) {
                const __m256 b0 = _mm256_load_ps(pack + p * 16), b1 = _mm256_load_ps(pack + p * 16 + 8);
#pragma GCC unroll 6
                for (int r = 0; r < MR; r++) {
                    const __m256 w = _mm256_broadcast_ss(a[r] + p * s_k);
                    acc[r][0] = _mm256_fmadd_ps(w, b0, acc[r][0]);
                    acc[r][1] = _mm256_fmadd_ps(w, b1, acc[r][1]);
                }
            }
            /* r a constant in each copy of the body, so acc stays in
             * registers (indexed by a variable, it lived on the stack) */
#pragma GCC unroll 6
            for (int r = 0; r < MR; r++) {
                if (r >= rows)
                    break;
                float out[16], *c = C + (i + r) * ldc;
                _mm256_storeu_ps(out, acc[r][0]);
                _mm256_storeu_ps(out + 8, acc[r][1]);
                if (p0 > 0)
                    for (long j = 0; j < n; j++)
                        c[j] += out[j];
                else if (beta == 0.0f)
                    for (long j = 0; j < n; j++)
                        c[j] = out[j];
                else
                    for (long j = 0; j < n; j++)
                        c[j] = out[j] + beta * c[j];
            }
        }
    }
}

static void narrow(long m, long n, long k, float alpha, const float *A, long lda, const float *B, long ldb,
                   float beta, float *C, long ldc, float *pack)
{
    narrow_rows(m, n, k, alpha, A, lda, 1, B, ldb, beta, C, ldc, pack);
}

static void narrow_at(long m, long n, long k, float alpha, const float *A, long lda, const float *B, long ldb,
                      float beta, float *C, long ldc, float *pack)
{
    narrow_rows(m, n, k, alpha, A, 1, lda, B, ldb, beta, C, ldc, pack);
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
    .transpose = transpose, .dot_nt = dot_nt, .unpacked = unpacked, .narrow = narrow, .narrow_at = narrow_at,
    .narrow_pack_floats = 16 * NARROW_KB,
    .paths = {.dot_nt_max_c = 16384, .narrow_max_n = 16, .narrow_min_m = 24, .unpacked_min_k = 64,
              .unpacked_max_c = 16384},
};
