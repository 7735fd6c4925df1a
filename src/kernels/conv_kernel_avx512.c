/* conv_kernel_avx512.c - the direct stride-1 convolution kernels (see
 * conv_direct.h). Built with -mavx512f; only called when the CPU has it.
 *
 * forward: an R x (16*V) tile of output (R filters, V chunks of pixels)
 * from a weight panel (K x R, k-major) and the image itself. Per tap: V
 * rows of B come straight from x as masked loads (one per segment of a
 * chunk; padding lanes are masked off and read as 0), R weights are
 * broadcast, R*V FMAs: the GEMM's unpacked tile, with B gathered from the
 * image. R*V = 24 accumulators cover the FMA latency; the shapes are such
 * that 6, 8, 12 or 16 filters fill whole tiles. */
#include "conv_direct.h"

#include <immintrin.h>

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Where chunk `index` of the flattened (image, chunk) list reads and writes. */
struct lane_source {
    const float *seg0, *seg1;   /* + channel and tap offset: lane 0 of each segment */
    const uint16_t *mask;       /* [spatial][2] */
    long q0_image;              /* output offset of lane 0 in the image's plane, + image offset */
    int len;
    int two;                    /* two segments: two loads per tap */
};

/* Chunk `chunk` of the image whose input starts at xi, output at out. */
ALWAYS_INLINE struct lane_source chunk_source(const struct conv_plan *plan, const float *xi, long out, long chunk)
{
    const struct conv_chunk *c = &plan->chunk[chunk];
    return (struct lane_source){xi + c->base[0], xi + c->base[1], plan->mask + chunk * plan->spatial * 2,
                                out + c->q0, c->len, c->split < c->len};
}

/* Chunk `index` of the flattened (image, chunk) list; past `end`, the empty
 * chunk that pads a tile. */
ALWAYS_INLINE struct lane_source lane_source(const struct conv_plan *plan, const float *x, long x_image_stride,
                                             long out_image_stride, long index, long end)
{
    if (index >= end)
        return chunk_source(plan, x, 0, plan->chunks);
    const long image = index / plan->chunks;
    return chunk_source(plan, x + image * x_image_stride, image * out_image_stride, index % plan->chunks);
}

/* Row `tap` of col for the chunk's lanes; TWO: the chunk may have a second
 * segment (the constant lets the one-segment tiles skip its load). */
ALWAYS_INLINE __m512 load_lanes(const int TWO, const struct lane_source *s, long offset, int tap)
{
    __m512 v = _mm512_maskz_loadu_ps(s->mask[2 * tap], s->seg0 + offset);
    if (TWO)
        v = _mm512_mask_loadu_ps(v, s->mask[2 * tap + 1], s->seg1 + offset);
    return v;
}

ALWAYS_INLINE void forward_tile(const int R, const int V, const int TWO, const struct lane_source *src,
                                const struct conv_plan *plan, const float *a, int r0, int rows,
                                const struct conv_out *out)
{
    __m512 acc[12][6];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++)
#pragma GCC unroll 6
        for (int v = 0; v < V; v++)
            acc[r][v] = _mm512_setzero_ps();
    const int spatial = plan->spatial;
    for (int ch = 0; ch < plan->channels; ch++) {
        const long channel_offset = ch * plan->in_plane;
        for (int s = 0; s < spatial; s++, a += R) {
            const long offset = channel_offset + plan->tap_offset[s];
            __m512 b[6];
#pragma GCC unroll 6
            for (int v = 0; v < V; v++)
                b[v] = load_lanes(TWO, &src[v], offset, s);
#pragma GCC unroll 12
            for (int r = 0; r < R; r++) {
                const __m512 w = _mm512_set1_ps(a[r]);
#pragma GCC unroll 6
                for (int v = 0; v < V; v++)
                    acc[r][v] = _mm512_fmadd_ps(w, b[v], acc[r][v]);
            }
        }
    }
    const long P = plan->out_plane;
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        if (r >= rows)
            break;
        const __m512 bias = out->bias ? _mm512_set1_ps(out->bias[r0 + r]) : zero;
#pragma GCC unroll 6
        for (int v = 0; v < V; v++) {
            const __mmask16 m = (__mmask16)((1u << src[v].len) - 1);
            float *y = out->y + src[v].q0_image + (long)(r0 + r) * P;
            __m512 val = _mm512_add_ps(acc[r][v], bias);
            if (out->accumulate)
                val = _mm512_add_ps(val, _mm512_maskz_loadu_ps(m, y));
            if (out->relu)
                val = _mm512_max_ps(val, zero);
            _mm512_mask_storeu_ps(y, m, val);
        }
    }
}

#define FORWARD(R, V)                                                                                          \
    static void forward_##R##x##V(const struct conv_plan *plan, const float *x, long xs, const float *a, long c0, \
                                  long c1, int r0, int rows, const struct conv_out *out)                       \
    {                                                                                                          \
        struct lane_source src[V];                                                                             \
        int two = 0;                                                                                           \
        for (int v = 0; v < V; v++) {                                                                          \
            src[v] = lane_source(plan, x, xs, out->image_stride, c0 + v, c1);                                  \
            two |= src[v].two;                                                                                 \
        }                                                                                                      \
        if (two)                                                                                               \
            forward_tile(R, V, 1, src, plan, a, r0, rows, out);                                                \
        else                                                                                                   \
            forward_tile(R, V, 0, src, plan, a, r0, rows, out);                                                \
    }
FORWARD(8, 3)
FORWARD(12, 2)
FORWARD(6, 4)
FORWARD(4, 6)
#undef FORWARD

/* The tile shapes, in the order conv_direct_choice() prefers them. */
static void forward(int choice, const struct conv_plan *plan, const float *x, long xs, const float *a, long c0,
                    long c1, int r0, int rows, const struct conv_out *out)
{
    switch (choice) {
    case 0: forward_8x3(plan, x, xs, a, c0, c1, r0, rows, out); break;
    case 1: forward_12x2(plan, x, xs, a, c0, c1, r0, rows, out); break;
    case 2: forward_6x4(plan, x, xs, a, c0, c1, r0, rows, out); break;
    default: forward_4x6(plan, x, xs, a, c0, c1, r0, rows, out); break;
    }
}

/* weight gradient: an R x (16*V) tile of dW^T (R taps, V vectors of
 * filters). Per output pixel: V loads from dy^T's row, R broadcasts from
 * the padded image, R*V FMAs; the pixels in image order, one row of the
 * output at a time, so each element is one FMA chain per image. Rows past
 * `rows` repeat the last tap and are not stored. */
ALWAYS_INLINE void wgrad_tile(const int R, const int V, const struct conv_wgrad_geometry *g, const float *xpad,
                              int t0, int rows, const float *dyt, long ld, float *dwt)
{
    __m512 acc[12][4];
    const float *row[12];
    const int spatial = g->kh * g->kw;
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        const int t = t0 + (r < rows ? r : rows - 1), s = t % spatial;
        row[r] = xpad + (long)(t / spatial) * g->plane + (long)(s / g->kw) * g->dh * g->wp + (long)(s % g->kw) * g->dw;
#pragma GCC unroll 4
        for (int q = 0; q < V; q++)
            acc[r][q] = _mm512_setzero_ps();
    }
    const float *v = dyt;
    for (int oy = 0; oy < g->oh; oy++) {
        const long base = oy * g->wp;
        for (int ox = 0; ox < g->ow; ox++, v += ld) {
            __m512 b[4];
#pragma GCC unroll 4
            for (int q = 0; q < V; q++)
                b[q] = _mm512_loadu_ps(v + 16 * q);
#pragma GCC unroll 12
            for (int r = 0; r < R; r++) {
                const __m512 w = _mm512_set1_ps(row[r][base + ox]);
#pragma GCC unroll 4
                for (int q = 0; q < V; q++)
                    acc[r][q] = _mm512_fmadd_ps(w, b[q], acc[r][q]);
            }
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        if (r >= rows)
            break;
#pragma GCC unroll 4
        for (int q = 0; q < V; q++) {
            float *d = dwt + (long)(t0 + r) * ld + 16 * q;
            _mm512_storeu_ps(d, _mm512_add_ps(_mm512_loadu_ps(d), acc[r][q]));
        }
    }
}

typedef void (*wgrad_tile_fn)(const struct conv_wgrad_geometry *g, const float *xpad, int t0, int rows,
                              const float *dyt, long ld, float *dwt);
#define WGRAD(R, V)                                                                                            \
    static void wgrad_##R##x##V(const struct conv_wgrad_geometry *g, const float *xpad, int t0, int rows,       \
                                const float *dyt, long ld, float *dwt)                                         \
    {                                                                                                          \
        wgrad_tile(R, V, g, xpad, t0, rows, dyt, ld, dwt);                                                     \
    }
WGRAD(6, 4) WGRAD(6, 3) WGRAD(6, 2) WGRAD(6, 1) WGRAD(8, 3) WGRAD(8, 2) WGRAD(12, 1)
#undef WGRAD

/* Strips of up to 4 vectors of filters; 6 taps by 4 vectors (24
 * accumulators), 8 by 3 or 2, 12 by 1, as the GEMM's unpacked tiles. */
static void weight_gradient(const struct conv_wgrad_geometry *g, const float *xpad, const float *dyt, long ld,
                            float *dwt)
{
    const int vectors = (int)(ld / 16);
    const int V0 = vectors < 4 ? vectors : 4, R0 = V0 == 4 ? 6 : V0 == 1 ? 12 : 8;
    for (int j = 0; j < vectors; j += V0) {
        const int V = vectors - j < V0 ? vectors - j : V0;
        const wgrad_tile_fn tile = R0 == 6 ? (V == 4 ? wgrad_6x4 : V == 3 ? wgrad_6x3 : V == 2 ? wgrad_6x2 : wgrad_6x1)
                                   : R0 == 8 ? (V == 3 ? wgrad_8x3 : wgrad_8x2)
                                             : wgrad_12x1;
        for (int t = 0; t < g->taps; t += R0)
            tile(g, xpad, t, g->taps - t < R0 ? g->taps - t : R0, dyt + 16 * j, ld, dwt + 16 * j);
    }
}

const struct conv_direct_kernel conv_direct_avx512 = {
    .name = "avx512", .row_choices = 4, .rows = {8, 12, 6, 4}, .vectors = {3, 2, 4, 6},
    .forward = forward, .weight_gradient = weight_gradient,
};
