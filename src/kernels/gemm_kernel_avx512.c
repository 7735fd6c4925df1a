/* gemm_kernel_avx512.c - AVX-512 kernels, without the packed path.
 * Reading A in place by broadcasts and B's rows as vectors beat packing
 * both at every size measured, from the 10-output affines to 3000 squares
 * (README, speed), so only B is ever copied, when it comes transposed. Three paths (gemm.c chooses):
 *   unpacked  tiles of 6 rows x 64 columns (24 accumulators, 10 loads for
 *             24 FMAs; narrower tiles for few columns), K in blocks;
 *   transpose a block of B^T into row-major form for it;
 *   dot_nt    dot products for small C from a long K (weight gradients).
 * Built with -mavx512f; only called when the CPU has it. */
#include "gemm.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "gemm_pack.h"

/* The sums of acc[0..11]'s lanes in one vector: lane 4 * (e % 4) + e / 4
 * holds acc[e]'s (lanes 3, 7, 11, 15 hold 0). A transpose and add in
 * halves, 36 instructions for the twelve; reducing them four at a time and
 * storing the sums one by one had taken 15% of a 30 x 25 x 576 product. */
static inline __attribute__((always_inline)) __m512 reduce12(const __m512 acc[12])
{
    __m512 pair[6], quad[3];
    /* 128-bit lanes of a pair (a, b): a0+a2, a1+a3, b0+b2, b1+b3 */
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++)
        pair[i] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0x44),
                                _mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0xee));
    /* lane L of quad[g] holds the four partial sums of acc[4g + L] */
#pragma GCC unroll 3
    for (int g = 0; g < 3; g++)
        quad[g] = _mm512_add_ps(_mm512_shuffle_f32x4(pair[2 * g], pair[2 * g + 1], 0x88),
                                _mm512_shuffle_f32x4(pair[2 * g], pair[2 * g + 1], 0xdd));
    /* within each lane: x0+x2, y0+y2, x1+x3, y1+y3 for quads x, y */
    const __m512 zero = _mm512_setzero_ps();
    const __m512 t = _mm512_add_ps(_mm512_unpacklo_ps(quad[0], quad[1]), _mm512_unpackhi_ps(quad[0], quad[1]));
    const __m512 u = _mm512_add_ps(_mm512_unpacklo_ps(quad[2], zero), _mm512_unpackhi_ps(quad[2], zero));
    /* lane L: the sums of acc[L], acc[4 + L], acc[8 + L], 0 */
    return _mm512_add_ps(_mm512_shuffle_ps(t, u, 0x44), _mm512_shuffle_ps(t, u, 0xee));
}

/* Whether the masked-off lanes of a 16-float access at p, of which the
 * first `valid` are wanted, reach into the next 4 KiB page. The last row of
 * an operand may end right before a page nothing ever touched, and a masked
 * access into such a page takes a microcode assist each time, so a GEMM's
 * speed would depend on where the allocator put its operands. */
static inline int tail_crosses_page(const float *p, int valid)
{
    return valid < 16 && (((uintptr_t)(p + valid - 1) ^ (uintptr_t)(p + 15)) >> 12) != 0;
}

/* p itself, or a zero-padded copy of its `valid` floats in pad (then
 * *used advances) when a masked load at p would reach the next page */
static inline const float *tail_at(const float *p, int valid, float *pad, int *used)
{
    if (!tail_crosses_page(p, valid))
        return p;
    memset(pad, 0, sizeof(float) * 16);
    memcpy(pad, p, sizeof(float) * valid);
    ++*used;
    return pad;
}

/* The last K % 16 of a dot_nt block into its accumulators, through
 * masked loads, from padded copies of the rows whose masked tail would
 * reach into the next page (tail_crosses_page). */
static inline __attribute__((always_inline)) void dot_tail(const int RB, const int CB, const float *const a[6],
                                                          const float *const b[6], long kv, long k, __m512 acc[12])
{
    const int valid = (int)(k - kv);
    const __mmask16 tail = (__mmask16)((1u << valid) - 1);
    const float *ta[6], *tb[6];
    float pad[12][16] __attribute__((aligned(64)));
    int padded = 0;
#pragma GCC unroll 6
    for (int r = 0; r < RB; r++)
        ta[r] = tail_at(a[r] + kv, valid, pad[padded], &padded);
#pragma GCC unroll 6
    for (int q = 0; q < CB; q++)
        tb[q] = tail_at(b[q] + kv, valid, pad[padded], &padded);
    __m512 x[6], y[6];
#pragma GCC unroll 6
    for (int r = 0; r < RB; r++)
        x[r] = _mm512_maskz_loadu_ps(tail, ta[r]);
#pragma GCC unroll 6
    for (int q = 0; q < CB; q++)
        y[q] = _mm512_maskz_loadu_ps(tail, tb[q]);
#pragma GCC unroll 6
    for (int r = 0; r < RB; r++)
#pragma GCC unroll 6
        for (int q = 0; q < CB; q++)
            acc[r * CB + q] = _mm512_fmadd_ps(x[r], y[q], acc[r * CB + q]);
}

/* sum[DOT_AT(e)]: alpha times the lanes of acc[e] added */
static inline __attribute__((always_inline)) void dot_reduce(const __m512 acc[12], float alpha, float *sum)
{
    _mm512_store_ps(sum, _mm512_mul_ps(_mm512_set1_ps(alpha), reduce12(acc)));
}

/* The shared tiles (gemm_dot.h) at 16 floats: dot_nt, whose last K % 16
 * go through a mask, and the FMA peak loop (24 chains). */
#define VEC __m512
#define VEC_FLOATS 16
#define vec_zero() _mm512_setzero_ps()
#define vec_set1(x) _mm512_set1_ps(x)
#define vec_loadu(p) _mm512_loadu_ps(p)
#define vec_fma(a, b, c) _mm512_fmadd_ps(a, b, c)
#define vec_sum(v) _mm512_reduce_add_ps(v)
#define PEAK_CHAINS 24
#define DOT_MASKED_TAIL 1
#define DOT_AT(e) (4 * ((e) % 4) + (e) / 4)

#include "gemm_dot.h"

/* C[0..valid) = out + beta C (C not read when beta == 0: it may hold NaN);
 * through a copy when the masked-off lanes would reach into the next page
 * (tail_crosses_page) */
static inline __attribute__((always_inline)) void store_c(float *c, int valid, __m512 out, float beta)
{
    const __mmask16 m = (__mmask16)(valid == 16 ? 0xffff : (1u << valid) - 1);
    if (tail_crosses_page(c, valid)) {
        float t[16];
        memcpy(t, c, sizeof(float) * valid);
        if (beta != 0.0f)
            out = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, t), out);
        _mm512_storeu_ps(t, out);
        memcpy(c, t, sizeof(float) * valid);
        return;
    }
    if (beta != 0.0f)
        out = _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_maskz_loadu_ps(m, c), out);
    _mm512_mask_storeu_ps(c, m, out);
}

/* col[j] = column j of the eight rows x[0..7] (16 columns each), in lanes
 * 0-7: pairs of rows interleaved, then quads (each 128-bit lane now holds
 * rows 0-3 or 4-7 of one column), then the 128-bit lanes gathered; 40
 * shuffles. */
static inline __attribute__((always_inline)) void transpose_8x16(const __m512 x[8], __m512 col[16])
{
    __m512 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_ps(x[2 * i], x[2 * i + 1]);      /* per lane: r0[0] r1[0] r0[1] r1[1] */
        t[2 * i + 1] = _mm512_unpackhi_ps(x[2 * i], x[2 * i + 1]);  /* r0[2] r1[2] r0[3] r1[3] */
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {  /* rows 0-3, rows 4-7: u[4h + s] lane l = column 4l + s */
        u[4 * h + 0] = _mm512_shuffle_ps(t[4 * h], t[4 * h + 2], 0x44);
        u[4 * h + 1] = _mm512_shuffle_ps(t[4 * h], t[4 * h + 2], 0xee);
        u[4 * h + 2] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0x44);
        u[4 * h + 3] = _mm512_shuffle_ps(t[4 * h + 1], t[4 * h + 3], 0xee);
    }
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {
        /* lanes: rows 0-3 and 4-7 of columns s, 8 + s (even) and 4 + s, 12 + s (odd) */
        const __m512 even = _mm512_shuffle_f32x4(u[s], u[4 + s], _MM_SHUFFLE(2, 0, 2, 0));
        const __m512 odd = _mm512_shuffle_f32x4(u[s], u[4 + s], _MM_SHUFFLE(3, 1, 3, 1));
        col[s] = _mm512_shuffle_f32x4(even, even, _MM_SHUFFLE(0, 0, 2, 0));
        col[8 + s] = _mm512_shuffle_f32x4(even, even, _MM_SHUFFLE(0, 0, 3, 1));
        col[4 + s] = _mm512_shuffle_f32x4(odd, odd, _MM_SHUFFLE(0, 0, 2, 0));
        col[12 + s] = _mm512_shuffle_f32x4(odd, odd, _MM_SHUFFLE(0, 0, 3, 1));
    }
}

/* Unpacked tiles (gemm.h, unpacked): R rows by V vectors of 16 columns.
 * Per k, V vector loads from a row of the vector operand and R broadcasts
 * from the scalar operand feed R * V FMAs; nothing is copied first (on the
 * small GEMMs of a CNN packing costs as much as the arithmetic). The last
 * vector is masked to the valid columns. Every element is one FMA chain in
 * k order within a block of K, whatever tile computes it. */
static inline __attribute__((always_inline)) void unpacked_tile(const int R, const int V, long k, float alpha,
                                                               const float *s, long s_row, long s_k, const float *v,
                                                               long ldv, __mmask16 last, float beta, float *C,
                                                               long ldc, int transposed, int valid_cols)
{
    __m512 acc[12][4];
    const float *row[12];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        row[r] = s + r * s_row;
#pragma GCC unroll 4
        for (int q = 0; q < V; q++)
            acc[r][q] = _mm512_setzero_ps();
    }
    /* one k: V vectors of the row vp, R broadcasts from column o of s */
#define UNPACKED_STEP(vp, o)                                                                                         \
    {                                                                                                                \
        __m512 x[4];                                                                                                 \
        _Pragma("GCC unroll 4") for (int q = 0; q < V; q++) x[q] =                                                   \
            q < V - 1 ? _mm512_loadu_ps((vp) + 16 * q) : _mm512_maskz_loadu_ps(last, (vp) + 16 * q);               \
        _Pragma("GCC unroll 12") for (int r = 0; r < R; r++)                                                         \
        {                                                                                                            \
            const __m512 a = _mm512_set1_ps(row[r][o]);                                                              \
            _Pragma("GCC unroll 4") for (int q = 0; q < V; q++) acc[r][q] = _mm512_fmadd_ps(a, x[q], acc[r][q]);   \
        }                                                                                                            \
    }
    for (long p = 0; p < k; p++)
        UNPACKED_STEP(v + p * ldv, p * s_k)
#undef UNPACKED_STEP
    const __m512 va = _mm512_set1_ps(alpha);
    if (!transposed) {
#pragma GCC unroll 12
        for (int r = 0; r < R; r++)
#pragma GCC unroll 4
            for (int q = 0; q < V; q++)
                store_c(C + r * ldc + 16 * q, q < V - 1 ? 16 : __builtin_popcount(last),
                        alpha == 1.0f ? acc[r][q] : _mm512_mul_ps(va, acc[r][q]), beta);
        return;
    }
    /* C^T: the tile's column j is row j of C, R floats at C[j*ldc]; eight
     * rows at a time turned into columns by shuffles (scalar stores of the
     * elements had taken a third of a 100 x 10 x 100 weight gradient) */
#pragma GCC unroll 4
    for (int q = 0; q < V; q++) {
        const int valid = q < V - 1 ? 16 : valid_cols - 16 * q;
#pragma GCC unroll 2
        for (int g = 0; g < R; g += 8) {
            __m512 x[8], col[16];
#pragma GCC unroll 8
            for (int r = 0; r < 8; r++)
                x[r] = g + r >= R ? _mm512_setzero_ps() : alpha == 1.0f ? acc[g + r][q] : _mm512_mul_ps(va, acc[g + r][q]);
            transpose_8x16(x, col);
            const int rows = R - g < 8 ? R - g : 8;
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                if (j < valid)
                    store_c(C + (16 * q + j) * ldc + g, rows, col[j], beta);
        }
    }
}

typedef void (*unpacked_tile_fn)(long k, float alpha, const float *s, long s_row, long s_k, const float *v, long ldv,
                                 __mmask16 last, float beta, float *C, long ldc, int transposed, int valid_cols);

#define TILE(R, V)                                                                                                   \
    static void unpacked_##R##x##V(long k, float alpha, const float *s, long s_row, long s_k, const float *v,      \
                                   long ldv, __mmask16 last, float beta, float *C, long ldc, int transposed,         \
                                   int valid_cols)                                                                   \
    {                                                                                                                \
        unpacked_tile(R, V, k, alpha, s, s_row, s_k, v, ldv, last, beta, C, ldc, transposed, valid_cols);          \
    }
#define TILES(R) TILE(R, 1) TILE(R, 2) TILE(R, 3) TILE(R, 4)
TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6)
TILE(7, 1) TILE(7, 2) TILE(7, 3) TILE(8, 1) TILE(8, 2) TILE(8, 3)
TILE(9, 1) TILE(10, 1) TILE(11, 1) TILE(12, 1)
#undef TILES
#undef TILE

/* [R - 1][V - 1]; at most 24 accumulators, so 7 and 8 rows go up to 3
 * vectors, 9 to 12 rows take one */
#define ROW(R) {unpacked_##R##x1, unpacked_##R##x2, unpacked_##R##x3, unpacked_##R##x4}
static const unpacked_tile_fn unpacked_tiles[12][4] = {
    ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6),
    {unpacked_7x1, unpacked_7x2, unpacked_7x3, NULL}, {unpacked_8x1, unpacked_8x2, unpacked_8x3, NULL},
    {unpacked_9x1}, {unpacked_10x1}, {unpacked_11x1}, {unpacked_12x1},
};
#undef ROW

/* K in blocks: a block of a strip (UNPACKED_KC x 64 floats, 128 KiB)
 * stays in L2 while the rows go by */
#define UNPACKED_KC 512

/* out(r, j) = sum_p s[r*s_row + p*s_k] * v[p*ldv + j] for r < rows, j < cols;
 * out is C (C[r*ldc + j]) or, transposed, C^T (C[j*ldc + r]). Tiles of 4
 * vectors by 6 rows (24 accumulators, 10 loads for 24 FMAs), of 2 or 3
 * vectors by 8 rows, or of one vector by 12 rows (12 chains cover the FMA
 * latency where 8 did not); column strips outer, so a strip of v stays in
 * L1 while the rows go by. */
static void unpacked(long rows, long cols, long k, float alpha, const float *s, long s_row, long s_k, const float *v,
                     long ldv, float beta, float *C, long ldc, int transposed, float *scratch)
{
    const long vectors = (cols + 15) / 16;
    const int V0 = vectors < 4 ? (int)vectors : 4, R0 = V0 == 4 ? 6 : V0 == 1 ? 12 : 8;
    for (long p0 = 0; p0 < k; p0 += UNPACKED_KC) {
        const long kc = k - p0 < UNPACKED_KC ? k - p0 : UNPACKED_KC;
        const float beta_here = p0 == 0 ? beta : 1.0f;  /* later blocks of K add on */
        for (long j = 0; j < cols; j += 16L * V0) {
            const long strip = cols - j < 16L * V0 ? cols - j : 16L * V0;
            const int V = (int)((strip + 15) / 16);
            const int tail = (int)(strip - 16L * (V - 1));
            const __mmask16 last = (__mmask16)(tail == 16 ? 0xffff : (1u << tail) - 1);
            /* the strip from a copy (scratch, rows 64 floats apart) when
             * the masked tail of v's last row would reach into the next
             * page (tail_crosses_page), or when v's rows are a multiple of
             * 2 KiB apart and many row tiles will read the strip: then the
             * strip's rows crowd into a few L2 sets and it streams from L3
             * for every tile. The same arithmetic either way. */
            const float *vs = v + p0 * ldv + j;
            long ldvs = ldv;
            if ((p0 + kc == k && tail_crosses_page(vs + (kc - 1) * ldv + 16 * (V - 1), tail)) ||
                (ldv % 512 == 0 && rows >= 8 * R0)) {
                for (long p = 0; p < kc; p++)
                    memcpy(scratch + p * 64, vs + p * ldv, sizeof(float) * strip);
                vs = scratch;
                ldvs = 64;
            }
            for (long i = 0; i < rows; i += R0) {
                const int R = rows - i < R0 ? (int)(rows - i) : R0;
                float *c = transposed ? C + j * ldc + i : C + i * ldc + j;
                unpacked_tiles[R - 1][V - 1](kc, alpha, s + i * s_row + p0 * s_k, s_row, s_k, vs, ldvs, last,
                                             beta_here, c, ldc, transposed, (int)strip);
            }
        }
    }
}

/* Narrow C (gemm.h, narrow): C = alpha A B + beta C with n <= 16 columns,
 * A and B untransposed (an affine layer's forward with 10 outputs). The
 * unpacked 12 x 1 tile issues a broadcast per FMA and fills 10 of its 16
 * lanes; here B is copied with each two of its rows interleaved (lane
 * 2l + e of a pair's first vector is B[p + e][l], of its second
 * B[p + e][8 + l]), so one 64-bit broadcast of A[i][p..p+1] feeds two FMAs
 * and a pair of k shares each vector: 14 loads for 24 FMAs instead of 13
 * for 12. The even and odd lanes are added at the end. */
#define NARROW_KC 384  /* k per block: 16 x 384 floats of B in pairs, 24 KiB */

/* B's rows p and p + 1 (or zeros when p + 1 == k) into one pair: two
 * vectors, the second only when n > 8 */
static void narrow_pack(const float *B, long ldb, long k, long n, float *pairs)
{
    const __m512i interleave = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const int lo = n < 8 ? (int)n : 8, hi = n > 8 ? (int)n - 8 : 0;
    const __mmask16 lo_mask = (__mmask16)((1u << lo) - 1), hi_mask = (__mmask16)((1u << hi) - 1);
    /* pairs whose rows' 16-float windows end inside B: no page check */
    const long inside = ((k - 1) * ldb + n - 16) / ldb - 1;
    long p = 0;
    for (; p < inside; p += 2, pairs += 32) {
        const float *r0 = B + p * ldb, *r1 = r0 + ldb;
        _mm512_store_ps(pairs, _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo_mask, r0), interleave,
                                                      _mm512_maskz_loadu_ps(lo_mask, r1)));
        if (hi)
            _mm512_store_ps(pairs + 16, _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(hi_mask, r0 + 8), interleave,
                                                               _mm512_maskz_loadu_ps(hi_mask, r1 + 8)));
    }
    for (; p < k; p += 2, pairs += 32) {
        float pad[4][16] __attribute__((aligned(64)));
        int padded = 0;
        const float *r0 = B + p * ldb, *r1 = r0 + ldb;
        const int two = p + 1 < k;
        const __m512 x0 = _mm512_maskz_loadu_ps(lo_mask, tail_at(r0, lo, pad[padded], &padded));
        const __m512 y0 = two ? _mm512_maskz_loadu_ps(lo_mask, tail_at(r1, lo, pad[padded], &padded)) : _mm512_setzero_ps();
        _mm512_store_ps(pairs, _mm512_permutex2var_ps(x0, interleave, y0));
        if (hi) {
            const __m512 x1 = _mm512_maskz_loadu_ps(hi_mask, tail_at(r0 + 8, hi, pad[padded], &padded));
            const __m512 y1 =
                two ? _mm512_maskz_loadu_ps(hi_mask, tail_at(r1 + 8, hi, pad[padded], &padded)) : _mm512_setzero_ps();
            _mm512_store_ps(pairs + 16, _mm512_permutex2var_ps(x1, interleave, y1));
        }
    }
}

/* One pair of k into R rows' accumulators: the 64-bit broadcast of
 * A[r][p], A[r][p + 1], or alone (the last k of an odd K) of A[r][p] and a
 * zero, since B's odd lanes there are padding zeros (no Inf * 0) */
static inline __attribute__((always_inline)) void narrow_pair(const int R, const int W, const int alone,
                                                             __m512 acc[12][2], const float *pair, const float *A,
                                                             long lda)
{
    __m512 v[2];
#pragma GCC unroll 2
    for (int w = 0; w < W; w++)
        v[w] = _mm512_load_ps(pair + 16 * w);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        const float two[2] = {A[r * lda], alone ? 0.0f : A[r * lda + 1]};
        double bits;
        memcpy(&bits, two, sizeof bits);
        const __m512 a = _mm512_castpd_ps(_mm512_set1_pd(bits));
#pragma GCC unroll 2
        for (int w = 0; w < W; w++)
            acc[r][w] = _mm512_fmadd_ps(a, v[w], acc[r][w]);
    }
}

/* R rows of C from kc of k: W = 1 when n <= 8 (the second vectors are zero) */
static inline __attribute__((always_inline)) void narrow_tile(const int R, const int W, long kc, float alpha,
                                                             const float *A, long lda, const float *pairs,
                                                             float beta, float *C, long ldc, int n)
{
    __m512 acc[12][2];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int w = 0; w < W; w++)
            acc[r][w] = _mm512_setzero_ps();
    const long even = kc & ~1L;
    for (long p = 0; p < even; p += 2)
        narrow_pair(R, W, 0, acc, pairs + p * 16, A + p, lda);
    if (kc & 1)
        narrow_pair(R, W, 1, acc, pairs + even * 16, A + even, lda);
    const __m512i even_lanes = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd_lanes = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        const __m512 second = W == 2 ? acc[r][1] : _mm512_setzero_ps();
        const __m512 sum = _mm512_add_ps(_mm512_permutex2var_ps(acc[r][0], even_lanes, second),
                                         _mm512_permutex2var_ps(acc[r][0], odd_lanes, second));
        store_c(C + r * ldc, n, _mm512_mul_ps(va, sum), beta);
    }
}

typedef void (*narrow_tile_fn)(long kc, float alpha, const float *A, long lda, const float *pairs, float beta,
                               float *C, long ldc, int n);
#define NARROW(R, W)                                                                                                 \
    static void narrow_##R##x##W(long kc, float alpha, const float *A, long lda, const float *pairs, float beta,  \
                                 float *C, long ldc, int n)                                                          \
    {                                                                                                                \
        narrow_tile(R, W, kc, alpha, A, lda, pairs, beta, C, ldc, n);                                                \
    }
#define NARROWS(R) NARROW(R, 1) NARROW(R, 2)
NARROWS(1) NARROWS(2) NARROWS(3) NARROWS(4) NARROWS(5) NARROWS(6)
NARROWS(7) NARROWS(8) NARROWS(9) NARROWS(10) NARROWS(11) NARROWS(12)
#undef NARROWS
#undef NARROW
#define ROW(R) {narrow_##R##x1, narrow_##R##x2}
static const narrow_tile_fn narrow_tiles[12][2] = {  /* [R - 1][W - 1] */
    ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6), ROW(7), ROW(8), ROW(9), ROW(10), ROW(11), ROW(12),
};
#undef ROW

static void narrow(long m, long n, long k, float alpha, const float *A, long lda, const float *B, long ldb,
                   float beta, float *C, long ldc, float *pairs)
{
    const int W = n > 8 ? 2 : 1;
    for (long p0 = 0; p0 < k; p0 += NARROW_KC) {
        const long kc = k - p0 < NARROW_KC ? k - p0 : NARROW_KC;
        narrow_pack(B + p0 * ldb, ldb, kc, n, pairs);
        for (long i = 0; i < m; i += 12) {
            const int R = m - i < 12 ? (int)(m - i) : 12;
            narrow_tiles[R - 1][W - 1](kc, alpha, A + i * lda + p0, lda, pairs, p0 == 0 ? beta : 1.0f, C + i * ldc,
                                       ldc, (int)n);
        }
    }
}

static void transpose(const float *src, long ld, long cols, long kc, float *dst, long width)
{
    pack_transposed(src, ld, cols, kc, 1.0f, dst, (int)width);
}

static int has_avx512(void)
{
    return __builtin_cpu_supports("avx512f");
}

const struct gemm_kernel gemm_kernel_avx512 = {
    /* mr x nr: the unpacked tile, the unit gemm() splits C in; kc x nc:
     * the blocks of B^T transposed at a time */
    .name = "avx512", .mr = 6, .nr = 64, .kc = 384, .nc = 3072,
    .dot_nt = dot_nt, .unpacked = unpacked, .unpacked_scratch = UNPACKED_KC * 64, .transpose = transpose,
    .narrow = narrow, .narrow_pack_floats = 32 * ((NARROW_KC + 1) / 2),
    .fma_peak_loop = fma_peak_loop,
    .supported = has_avx512,
    .paths = {.dot_nt_max_c = 16384, .narrow_max_n = 16, .narrow_min_m = 24, .at_max_m = 64, .at_min_k = 96},
};
