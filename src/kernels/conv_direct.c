/* conv_direct.c - the lane layout of a stride-1 convolution (see
 * conv_direct.h) and the packing of its weights; the arithmetic is in
 * conv_kernel_avx512.c and conv_kernel_avx2.c. */
#include "conv_direct.h"

#include <string.h>

/* Walks the output plane in chunks: 16 pixels of one row, or what is left
 * of the row plus the start of the next, so that maps narrower than 16
 * still fill most lanes. Fills out (if not NULL); returns the count. */
static int walk_chunks(const struct conv_geometry *g, struct conv_chunk *out)
{
    const int OH = g->oh, OW = g->ow;
    const long P = (long)OH * OW;
    int n = 0;
    for (long q0 = 0; q0 < P; n++) {
        const int oy = (int)(q0 / OW), ox = (int)(q0 % OW);
        const int rest = OW - ox;
        int split, len;
        if (rest >= CONV_LANES || oy + 1 >= OH) {
            split = len = rest < CONV_LANES ? rest : CONV_LANES;
        } else {
            split = rest;
            len = rest + (CONV_LANES - rest < OW ? CONV_LANES - rest : OW);
        }
        const int wp = g->w + 2 * g->pw;
        if (out)
            out[n] = (struct conv_chunk){(int)q0, len, split, {oy * g->w + ox, (oy + 1) * g->w - split}, split,
                                         {oy * wp + ox, (oy + 1) * wp - split}};
        q0 += len;
    }
    return n;
}

static size_t plan_layout(const struct conv_geometry *g, int chunks, size_t *tap_at, size_t *mask_at)
{
    const int spatial = g->kh * g->kw;
    size_t bytes = sizeof(struct conv_chunk) * (chunks + 1);
    *tap_at = bytes;
    bytes += sizeof(int) * 2 * spatial;  /* tap_offset, then ptap_offset */
    *mask_at = bytes;
    bytes += sizeof(uint16_t) * 2 * spatial * (chunks + 1);
    return bytes;
}

size_t conv_plan_bytes(const struct conv_geometry *g)
{
    if (g->sh != 1 || g->sw != 1 || g->oh <= 0 || g->ow <= 0)
        return 0;
    size_t tap_at, mask_at;
    return plan_layout(g, walk_chunks(g, NULL), &tap_at, &mask_at);
}

/* Lanes [from, to) of a segment whose lane `from` reads output pixel
 * (oy, ox): those whose input pixel for tap (ki, kj) is inside the image. */
static uint16_t segment_mask(const struct conv_geometry *g, int ki, int kj, int oy, int ox, int from, int to)
{
    const int iy = oy + ki * g->dh - g->ph;
    if (iy < 0 || iy >= g->h)
        return 0;
    uint16_t m = 0;
    for (int t = from; t < to; t++) {
        const int ix = ox + (t - from) + kj * g->dw - g->pw;
        if (ix >= 0 && ix < g->w)
            m |= (uint16_t)(1u << t);
    }
    return m;
}

void conv_plan_init(struct conv_plan *plan, const struct conv_geometry *g, void *storage)
{
    const int spatial = g->kh * g->kw;
    const int chunks = walk_chunks(g, NULL);
    size_t tap_at, mask_at;
    plan_layout(g, chunks, &tap_at, &mask_at);
    struct conv_chunk *chunk = storage;
    int *tap = (int *)((char *)storage + tap_at);
    uint16_t *mask = (uint16_t *)((char *)storage + mask_at);
    walk_chunks(g, chunk);
    chunk[chunks] = (struct conv_chunk){0, 0, 0, {0, 0}, 0, {0, 0}};
    for (int ki = 0; ki < g->kh; ki++)
        for (int kj = 0; kj < g->kw; kj++) {
            tap[ki * g->kw + kj] = (ki * g->dh - g->ph) * g->w + kj * g->dw - g->pw;
            tap[spatial + ki * g->kw + kj] = ki * g->dh * (g->w + 2 * g->pw) + kj * g->dw;
        }
    for (int n = 0; n <= chunks; n++) {
        const struct conv_chunk *c = &chunk[n];
        const int oy = c->q0 / g->ow, ox = c->q0 % g->ow;
        const int split = c->split;
        for (int s = 0; s < spatial; s++) {
            const int ki = s / g->kw, kj = s % g->kw;
            uint16_t *m = mask + ((long)n * spatial + s) * 2;
            m[0] = c->len ? segment_mask(g, ki, kj, oy, ox, 0, split) : 0;
            m[1] = c->len > split ? segment_mask(g, ki, kj, oy + 1, 0, split, c->len) : 0;
        }
        /* When the output row is as wide as the input row (a "same"
         * convolution) both segments read from one base: one load does. */
        if (c->len > split && c->base[0] == c->base[1]) {
            for (int s = 0; s < spatial; s++) {
                uint16_t *m = mask + ((long)n * spatial + s) * 2;
                m[0] |= m[1];
                m[1] = 0;
            }
            chunk[n].split = c->len;
        }
    }
    const int hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    *plan = (struct conv_plan){chunks, spatial, (long)g->h * g->w, (long)g->oh * g->ow, g->c, chunk, mask, tap,
                               g->h, g->w, g->ph, g->pw, wp, (long)hp * wp, tap + spatial};
}

long conv_plan_padded_floats(const struct conv_plan *plan)
{
    return plan->channels * plan->padded_plane + CONV_LANES;
}

void conv_plan_pad(const struct conv_plan *plan, const float *x, float *xpad, int border_too)
{
    if (border_too)
        memset(xpad, 0, sizeof(float) * conv_plan_padded_floats(plan));
    for (int ch = 0; ch < plan->channels; ch++)
        for (int y = 0; y < plan->h; y++)
            memcpy(xpad + ch * plan->padded_plane + (long)(y + plan->ph) * plan->wp + plan->pw,
                   x + ch * plan->in_plane + (long)y * plan->w, sizeof(float) * plan->w);
}

int conv_transposed_geometry(const struct conv_geometry *g, int filters_per_group, struct conv_geometry *out)
{
    const int eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
    const int ph = eh - 1 - g->ph, pw = ew - 1 - g->pw;
    if (g->sh != 1 || g->sw != 1 || ph < 0 || pw < 0)
        return -1;
    *out = (struct conv_geometry){filters_per_group, g->oh, g->ow, g->kh, g->kw, 1, 1, ph, pw, g->h, g->w,
                                  g->dh, g->dw};
    /* at stride 1 the transposed convolution gives back exactly H x W */
    if (conv_output_size(out->h, eh, 1, ph, 0) != g->h || conv_output_size(out->w, ew, 1, pw, 0) != g->w)
        return -1;
    return 0;
}

int conv_direct_choice(const struct conv_direct_kernel *k, int rows)
{
    int best = 0, best_waste = -1;
    for (int i = 0; i < k->row_choices; i++) {
        const int R = k->rows[i], waste = (rows + R - 1) / R * R - rows;
        if (best_waste < 0 || waste < best_waste) {
            best = i;
            best_waste = waste;
        }
    }
    return best;
}

long conv_direct_pack(const struct conv_direct_kernel *k, int choice, const float *w, int filters, int channels,
                      int spatial, int flip, float *dst)
{
    const int R = k->rows[choice];
    const int rows = flip ? channels : filters;
    const long K = (long)(flip ? filters : channels) * spatial;
    const long blocks = (rows + R - 1) / R;
    for (long b = 0; b < blocks; b++) {
        float *panel = dst + b * K * R;
        for (int r = 0; r < R; r++) {
            const long row = b * R + r;
            if (row >= rows) {
                for (long p = 0; p < K; p++)
                    panel[p * R + r] = 0.0f;
            } else if (!flip) {
                const float *src = w + row * K;
                for (long p = 0; p < K; p++)
                    panel[p * R + r] = src[p];
            } else {
                /* column (f, s) of W' = W[f][row][spatial-1-s] */
                for (int f = 0; f < filters; f++) {
                    const float *src = w + ((long)f * channels + row) * spatial;
                    for (int s = 0; s < spatial; s++)
                        panel[((long)f * spatial + s) * R + r] = src[spatial - 1 - s];
                }
            }
        }
    }
    return blocks * K * R;
}

long conv_direct_pack_floats(int rows, long K)
{
    return (long)(rows + 11) * K;
}
