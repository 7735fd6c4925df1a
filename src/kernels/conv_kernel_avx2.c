/* conv_kernel_avx2.c - the direct stride-1 convolution kernels (see
 * conv_direct.h) for CPUs with AVX2 and FMA but not AVX-512. Built with
 * -mavx2 -mfma; only called when the CPU has them.
 *
 * The chunks are the AVX-512 ones (16 output pixels, in one or two
 * segments), each two 8-lane halves; but the kernel reads a zero-padded copy
 * of the image (padded = 1), so no lane needs a mask: a half is one load
 * (from the segment it lies in), or two blended where the chunk's second
 * segment starts inside it. Masked loads
 * (vmaskmovps, through a mask looked up per segment and tap) had taken
 * most of the tile's time on Zen 3.
 * With 16 ymm registers a tile holds 12 accumulators:
 *   forward   6 filters x 1 chunk (2 halves: 12 accumulators, 2 loads and
 *             6 broadcasts for 12 FMAs), 4 filters for a short last block;
 *   wgrad     6 taps x 2 vectors of 8 filters (the AVX-512 one's 6 x 4 at
 *             half the width). */
#include "conv_direct.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Where chunk `index` of one image's chunks reads (in its zero-padded
 * copy) and writes; past `end`, the empty chunk. */
struct lane_source {
    /* + channel and tap offset: lane 8h of half h when the half lies in
     * one segment (segment 0's, or segment 1's if the half starts past
     * the split); else segment 0's, with segment 1 blended in */
    const float *half[2];
    const float *seg1;         /* + channel and tap offset: lane 0 of segment 1 */
    __m256i second[2];         /* per half: the lanes that read segment 1 */
    long q0;                   /* output offset of lane 0 in the image's plane */
    int len;
    int two;                   /* a half has lanes of both segments */
};

ALWAYS_INLINE struct lane_source lane_source(const struct conv_plan *plan, const float *xpad, long index, long end)
{
    const struct conv_chunk *c = &plan->chunk[index < end ? index : plan->chunks];
    const float *seg0 = xpad + c->pbase[0], *seg1 = xpad + c->pbase[1];
    /* A split on a half's edge (8: rows of 24 output pixels, as in
     * simple's and lenet5's conv1) needs no blend: each half is one load
     * from its own segment. */
    struct lane_source s = {{(c->psplit > 0 ? seg0 : seg1), (c->psplit > 8 ? seg0 : seg1) + 8},
                            seg1, {_mm256_setzero_si256(), _mm256_setzero_si256()},
                            c->q0, c->len, c->psplit < c->len && c->psplit % 8 != 0};
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int h = 0; h < 2; h++)
        s.second[h] = _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(c->psplit - 8 * h - 1));
    return s;
}

/* Lanes [8*half, 8*half + 8) of row `tap` of col for the chunk; TWO: a
 * half may straddle the split, segment 1 blended in. */
ALWAYS_INLINE __m256 load_half(const int TWO, const struct lane_source *s, long offset, int half)
{
    const __m256 v = _mm256_loadu_ps(s->half[half] + offset);
    if (!TWO)
        return v;
    return _mm256_blendv_ps(v, _mm256_loadu_ps(s->seg1 + offset + 8 * half), _mm256_castsi256_ps(s->second[half]));
}

/* lanes [0, count) all ones, 0 < count < 8 */
ALWAYS_INLINE __m256i first_lanes(int count)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The packed weights' panels are 6 rows wide (rows[0] below). */
#define PANEL_ROWS 6

/* R <= 6 filters x the first NH halves of one chunk. */
ALWAYS_INLINE void forward_tile(const int R, const int NH, const int TWO, const struct lane_source *src,
                                const struct conv_plan *plan, const float *a, int r0, int rows,
                                const struct conv_out *out)
{
    __m256 acc[6][2];  /* R <= 6 */
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++)
            acc[r][h] = _mm256_setzero_ps();
    const int spatial = plan->spatial;
    for (int ch = 0; ch < plan->channels; ch++) {
        const long channel_offset = ch * plan->padded_plane;
        for (int s = 0; s < spatial; s++, a += PANEL_ROWS) {
            const long offset = channel_offset + plan->ptap_offset[s];
            __m256 b[2];
#pragma GCC unroll 2
            for (int h = 0; h < NH; h++)
                b[h] = load_half(TWO, src, offset, h);
#pragma GCC unroll 12
            for (int r = 0; r < R; r++) {
                const __m256 w = _mm256_broadcast_ss(a + r);
#pragma GCC unroll 2
                for (int h = 0; h < NH; h++)
                    acc[r][h] = _mm256_fmadd_ps(w, b[h], acc[r][h]);
            }
        }
    }
    const long P = plan->out_plane;
    const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        if (r >= rows)
            break;
        const __m256 bias = out->bias ? _mm256_set1_ps(out->bias[r0 + r]) : zero;
        float *y = out->y + src->q0 + (long)(r0 + r) * P;
#pragma GCC unroll 2
        for (int h = 0; h < NH; h++) {
            const int lane0 = 8 * h, count = src->len - lane0;
            if (count <= 0)
                break;
            float *yh = y + lane0;
            __m256 val = _mm256_add_ps(acc[r][h], bias);
            if (count >= 8) {
                if (out->accumulate)
                    val = _mm256_add_ps(val, _mm256_loadu_ps(yh));
                if (out->relu)
                    val = _mm256_max_ps(val, zero);
                _mm256_storeu_ps(yh, val);
            } else {
                const __m256i m = first_lanes(count);
                if (out->accumulate)
                    val = _mm256_add_ps(val, _mm256_maskload_ps(yh, m));
                if (out->relu)
                    val = _mm256_max_ps(val, zero);
                _mm256_maskstore_ps(yh, m, val);
            }
        }
    }
}

/* The tile: 6 filters x one chunk (vectors = 1) of the image whose padded
 * copy is x; a last row block of 4 filters or fewer in a 4-row tile (8
 * accumulators: lenet5's 16 filters as 6 + 6 + 4 rows, not 18), a chunk
 * of 8 lanes or fewer (the end of a narrow map) as one half. */
#define TILE(R, NH)                                                      \
    (src.two ? forward_tile(R, NH, 1, &src, plan, a, r0, rows, out)      \
             : forward_tile(R, NH, 0, &src, plan, a, r0, rows, out))
static void forward(int choice, const struct conv_plan *plan, const float *x, long xs, const float *a, long c0,
                    long c1, int r0, int rows, const struct conv_out *out)
{
    (void)choice;  /* one panel shape */
    (void)xs;      /* one image at a time (padded) */
    const struct lane_source src = lane_source(plan, x, c0, c1);
    if (src.len > 8)
        rows > 4 ? TILE(6, 2) : TILE(4, 2);
    else if (src.len > 0)
        rows > 4 ? TILE(6, 1) : TILE(4, 1);
}
#undef TILE

/* weight gradient: R taps x V vectors of 8 filters of dW^T, per output
 * pixel V loads from dy^T's row, R broadcasts from the padded image and
 * R*V FMAs (as conv_kernel_avx512.c's wgrad_tile). Rows past `rows`
 * repeat the last tap and are not stored. */
ALWAYS_INLINE void wgrad_tile(const int R, const int V, const struct conv_wgrad_geometry *g, const float *xpad,
                              int t0, int rows, const float *dyt, long ld, float *dwt)
{
    __m256 acc[6][2];  /* R <= 6 */
    const float *row[6];
    const int spatial = g->kh * g->kw;
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        const int t = t0 + (r < rows ? r : rows - 1), s = t % spatial;
        row[r] = xpad + (long)(t / spatial) * g->plane + (long)(s / g->kw) * g->dh * g->wp + (long)(s % g->kw) * g->dw;
#pragma GCC unroll 2
        for (int q = 0; q < V; q++)
            acc[r][q] = _mm256_setzero_ps();
    }
    const float *v = dyt;
    for (int oy = 0; oy < g->oh; oy++) {
        const long base = oy * g->wp;
        for (int ox = 0; ox < g->ow; ox++, v += ld) {
            __m256 b[2];
#pragma GCC unroll 2
            for (int q = 0; q < V; q++)
                b[q] = _mm256_loadu_ps(v + 8 * q);
#pragma GCC unroll 12
            for (int r = 0; r < R; r++) {
                const __m256 w = _mm256_broadcast_ss(row[r] + base + ox);
#pragma GCC unroll 2
                for (int q = 0; q < V; q++)
                    acc[r][q] = _mm256_fmadd_ps(w, b[q], acc[r][q]);
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        if (r >= rows)
            break;
#pragma GCC unroll 2
        for (int q = 0; q < V; q++) {
            float *d = dwt + (long)(t0 + r) * ld + 8 * q;
            _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), acc[r][q]));
        }
    }
}

static void wgrad_6x2(const struct conv_wgrad_geometry *g, const float *xpad, int t0, int rows, const float *dyt,
                      long ld, float *dwt)
{
    wgrad_tile(6, 2, g, xpad, t0, rows, dyt, ld, dwt);
}

/* Strips of 16 filters (ld is a multiple of 16, conv_direct.h) in tiles
 * of 6 taps. */
static void weight_gradient(const struct conv_wgrad_geometry *g, const float *xpad, const float *dyt, long ld,
                            float *dwt)
{
    for (long j = 0; j < ld; j += 16)
        for (int t = 0; t < g->taps; t += 6)
            wgrad_6x2(g, xpad, t, g->taps - t < 6 ? g->taps - t : 6, dyt + j, ld, dwt + j);
}

const struct conv_direct_kernel conv_direct_avx2 = {
    .name = "avx2", .padded = 1, .row_choices = 1, .rows = {6}, .vectors = {1},
    .forward = forward, .weight_gradient = weight_gradient,
};
