/* layer_pool.c - max and average pooling over KH x KW windows.
 *
 *   x: (N, C, H, W) -> y: (N, C, OH, OW), each channel on its own.
 * Max pooling keeps, per output, the index (in its input plane) of the first
 * largest value; padding never wins (it counts as -infinity). Average
 * pooling divides by KH*KW, padding included (zeros count), like the
 * im2col formulation of the seed notes. Backward routes dy to the arg-max,
 * or spreads it evenly over the window. */
#include "layer.h"
#include "onnx_graph.h"
#include "im2col.h"
#include "cpu_target.h"
#include "pool.h"

#include <float.h>
#include <stdio.h>
#include <math.h>
#include "parallel.h"

#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>

/* mask ? a : b, lane by lane, for integer lanes (SSE2 has no blend) */
static inline __m128i select_epi32(__m128i mask, __m128i a, __m128i b)
{
    return _mm_or_si128(_mm_and_si128(mask, a), _mm_andnot_si128(mask, b));
}
#endif

struct pool_conf {
    int is_max;
    int kh, kw, sh, sw, ph, pw, floor;
};

static int pool_parse(struct layer *l, struct config *cfg, struct config_section *s, int is_max)
{
    struct pool_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    c->is_max = is_max;
    int rc = 0;
    if (layer_parse_pair(cfg, s, "size", &c->kh, &c->kw, 2, 1, 1024) < 0)
        rc = -1;
    /* The stride defaults to the window (0 here): non-overlapping pooling. */
    if (layer_parse_pair(cfg, s, "stride", &c->sh, &c->sw, 0, 1, 1024) < 0)
        rc = -1;
    if (c->sh == 0)
        c->sh = c->kh;
    if (c->sw == 0)
        c->sw = c->kw;
    if (layer_parse_pair(cfg, s, "pad", &c->ph, &c->pw, 0, 0, 1024) < 0)
        rc = -1;
    if (layer_parse_rounding(cfg, s, &c->floor) < 0)
        rc = -1;
    if (rc == 0 && (c->ph >= c->kh || c->pw >= c->kw)) {
        config_error(cfg, s, config_find(s, "pad"), "pad must be smaller than the window (size)");
        rc = -1;
    }
    return rc;
}

static int maxpool_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    return pool_parse(l, cfg, s, 1);
}

static int avgpool_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    return pool_parse(l, cfg, s, 0);
}

static int pool_shape(struct layer *l, char *err, size_t errlen)
{
    struct pool_conf *c = l->conf;
    struct shape in = l->in[0];
    int oh = conv_output_size(in.h, c->kh, c->sh, c->ph, c->floor);
    int ow = conv_output_size(in.w, c->kw, c->sw, c->pw, c->floor);
    if (oh < 0) {
        layer_size_error(err, errlen, "output height", in.h, c->kh, c->sh, c->ph);
        return -1;
    }
    if (ow < 0) {
        layer_size_error(err, errlen, "output width", in.w, c->kw, c->sw, c->pw);
        return -1;
    }
    l->out = (struct shape){in.c, oh, ow};
    if (c->is_max)
        l->state_floats = shape_size(l->out);  /* arg-max indices, stored as int32 */
    l->flops = (double)shape_size(l->out) * c->kh * c->kw;
    return 0;
}

/* 2x2 windows at stride 2 without padding, the common case, without the
 * general loop's bounds arithmetic and four outputs at a time where the CPU
 * has SSE2 (every x86-64). Same results, same arg-max choice (the first
 * largest in row-major order; a NaN never wins): the selects are written
 * out as masks, because GCC turns float ?: into jumps, which mispredict
 * half the time on real activations. */
#ifdef __SSE2__
/* Windows ox .. ox+3 of the output row from input rows r0, r1 (row oy). */
static inline void maxpool_2x2_four(const float *r0, const float *r1, int w, int oy, int ox, float *yr, int32_t *ar)
{
    const __m128i step = _mm_setr_epi32(0, 2, 4, 6), one = _mm_set1_epi32(1), down = _mm_set1_epi32(w);
    __m128 t0 = _mm_loadu_ps(r0 + 2 * ox), t1 = _mm_loadu_ps(r0 + 2 * ox + 4);
    __m128 b0 = _mm_loadu_ps(r1 + 2 * ox), b1 = _mm_loadu_ps(r1 + 2 * ox + 4);
    __m128 a = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));  /* top-left of 4 windows */
    __m128 b = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));  /* top-right */
    __m128 c = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0));  /* bottom-left */
    __m128 d = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));  /* bottom-right */
    __m128i i0 = _mm_add_epi32(_mm_set1_epi32(2 * oy * w + 2 * ox), step);
    __m128 best = a;
    __m128i where = i0;
    __m128 gt = _mm_cmpgt_ps(b, best);
    best = _mm_or_ps(_mm_and_ps(gt, b), _mm_andnot_ps(gt, best));
    where = select_epi32(_mm_castps_si128(gt), _mm_add_epi32(i0, one), where);
    gt = _mm_cmpgt_ps(c, best);
    best = _mm_or_ps(_mm_and_ps(gt, c), _mm_andnot_ps(gt, best));
    where = select_epi32(_mm_castps_si128(gt), _mm_add_epi32(i0, down), where);
    gt = _mm_cmpgt_ps(d, best);
    best = _mm_or_ps(_mm_and_ps(gt, d), _mm_andnot_ps(gt, best));
    where = select_epi32(_mm_castps_si128(gt), _mm_add_epi32(i0, _mm_add_epi32(down, one)), where);
    _mm_storeu_ps(yr + ox, best);
    _mm_storeu_si128((__m128i *)(ar + ox), where);
}
#endif

static void maxpool_2x2(const float *x, int w, int oh, int ow, float *y, int32_t *arg)
{
    for (int oy = 0; oy < oh; oy++) {
        const float *r0 = x + 2 * oy * w, *r1 = r0 + w;
        float *yr = y + oy * ow;
        int32_t *ar = arg + oy * ow;
        int ox = 0;
#ifdef __SSE2__
        for (; ox + 4 <= ow; ox += 4)
            maxpool_2x2_four(r0, r1, w, oy, ox, yr, ar);
        /* the last 1-3 windows as the row's last four, again: the same
         * values stored twice (lenet5's rows of 14 and 5 had spent more
         * time in the scalar tail than in the vectors) */
        if (ox < ow && ow >= 4) {
            maxpool_2x2_four(r0, r1, w, oy, ow - 4, yr, ar);
            ox = ow;
        }
#endif
        for (; ox < ow; ox++) {
            /* the index moves by arithmetic on comparison results */
            int i0 = 2 * oy * w + 2 * ox;
            float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
            float best = a;
            int where = i0, gt;
            gt = b > best;
            where += gt * (i0 + 1 - where);
            best = b > best ? b : best;  /* maxss; fmaxf would be a libm call */
            gt = c > best;
            where += gt * (i0 + w - where);
            best = c > best ? c : best;
            gt = d > best;
            where += gt * (i0 + w + 1 - where);
            best = d > best ? d : best;
            yr[ox] = best;
            ar[ox] = where;
        }
    }
}

#ifdef __SSE2__
/* The gradient of windows ox .. ox+3 of row oy into dx rows r0, r1. */
static inline void maxpool_2x2_backward_four(const float *g, const int32_t *ar, int w, int oy, int ox, float *r0,
                                             float *r1, int accumulate)
{
    const __m128i step = _mm_setr_epi32(0, 2, 4, 6), one = _mm_set1_epi32(1), down = _mm_set1_epi32(w);
    __m128 d = _mm_loadu_ps(g + ox);
    __m128i i0 = _mm_add_epi32(_mm_set1_epi32(2 * oy * w + 2 * ox), step);
    __m128i where = _mm_loadu_si128((const __m128i *)(ar + ox));
    __m128 tl = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(where, i0)), d);
    __m128 tr = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(where, _mm_add_epi32(i0, one))), d);
    __m128 bl = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(where, _mm_add_epi32(i0, down))), d);
    __m128 br = _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(where, _mm_add_epi32(i0, _mm_add_epi32(down, one)))), d);
    __m128 t0 = _mm_unpacklo_ps(tl, tr), t1 = _mm_unpackhi_ps(tl, tr);
    __m128 b0 = _mm_unpacklo_ps(bl, br), b1 = _mm_unpackhi_ps(bl, br);
    if (accumulate) {
        t0 = _mm_add_ps(t0, _mm_loadu_ps(r0 + 2 * ox));
        t1 = _mm_add_ps(t1, _mm_loadu_ps(r0 + 2 * ox + 4));
        b0 = _mm_add_ps(b0, _mm_loadu_ps(r1 + 2 * ox));
        b1 = _mm_add_ps(b1, _mm_loadu_ps(r1 + 2 * ox + 4));
    }
    _mm_storeu_ps(r0 + 2 * ox, t0);
    _mm_storeu_ps(r0 + 2 * ox + 4, t1);
    _mm_storeu_ps(r1 + 2 * ox, b0);
    _mm_storeu_ps(r1 + 2 * ox + 4, b1);
}
#endif

/* The gradient of maxpool_2x2: each window of dx gets dy at its arg-max and
 * zero elsewhere (added to dx when accumulate), written row by row instead
 * of memset plus scatter. Rows and columns no window covers (odd sizes
 * under rounding = floor) are left to the caller. */
static void maxpool_2x2_backward(const float *dy, const int32_t *arg, int w, int oh, int ow, float *dx,
                                 int accumulate)
{
    for (int oy = 0; oy < oh; oy++) {
        float *r0 = dx + 2 * oy * w, *r1 = r0 + w;
        const float *g = dy + oy * ow;
        const int32_t *ar = arg + oy * ow;
        int ox = 0;
#ifdef __SSE2__
        for (; ox + 4 <= ow; ox += 4)
            maxpool_2x2_backward_four(g, ar, w, oy, ox, r0, r1, accumulate);
        /* overwriting, the last windows can be the last four again */
        if (ox < ow && ow >= 4 && !accumulate) {
            maxpool_2x2_backward_four(g, ar, w, oy, ow - 4, r0, r1, 0);
            ox = ow;
        }
#endif
        for (; ox < ow; ox++) {
            int i0 = 2 * oy * w + 2 * ox, where = ar[ox];
            float v[4] = {0, 0, 0, 0};
            v[where == i0 ? 0 : where == i0 + 1 ? 1 : where == i0 + w ? 2 : 3] = g[ox];
            float *cell[4] = {r0 + 2 * ox, r0 + 2 * ox + 1, r1 + 2 * ox, r1 + 2 * ox + 1};
            for (int q = 0; q < 4; q++)
                *cell[q] = accumulate ? *cell[q] + v[q] : v[q];
        }
    }
}

static struct maxpool_geometry geometry_of(const struct pool_conf *c, struct shape in, struct shape out,
                                           const struct cpu_target *t)
{
    return (struct maxpool_geometry){in.h, in.w, out.h, out.w, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw,
                                     t && t->pool_lanes == 8};
}

int maxpool_geometry(const struct layer *l, const struct cpu_target *t, struct maxpool_geometry *g)
{
    const struct pool_conf *c = l->conf;
    *g = geometry_of(c, l->in[0], l->out, t);
    return 0;
}

/* 2x2 windows at stride 2, unpadded: the fast path */
static int is_2x2(const struct maxpool_geometry *g)
{
    return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0;
}

void maxpool_plane(const struct maxpool_geometry *g, const float *x, float *y, int32_t *arg)
{
    if (is_2x2(g) && g->avx2 && g->ow >= 8) {
        maxpool_2x2_avx2(x, g->w, g->oh, g->ow, y, arg);
        return;
    }
    if (is_2x2(g)) {
        maxpool_2x2(x, g->w, g->oh, g->ow, y, arg);
        return;
    }
    for (int oy = 0; oy < g->oh; oy++)
        for (int ox = 0; ox < g->ow; ox++) {
            int y0 = oy * g->sh - g->ph, x0 = ox * g->sw - g->pw;
            int ya = y0 < 0 ? 0 : y0, yb = y0 + g->kh > g->h ? g->h : y0 + g->kh;
            int xa = x0 < 0 ? 0 : x0, xb = x0 + g->kw > g->w ? g->w : x0 + g->kw;
            /* branch-free: on real activations "is this larger?" is a
             * coin toss the branch predictor always loses */
            float best = -FLT_MAX;
            int where = ya * g->w + xa;
            for (int iy = ya; iy < yb; iy++)
                for (int ix = xa; ix < xb; ix++) {
                    float v = x[iy * g->w + ix];
                    int larger = v > best;
                    best = larger ? v : best;
                    where = larger ? iy * g->w + ix : where;
                }
            y[oy * g->ow + ox] = best;
            arg[oy * g->ow + ox] = where;
        }
}

void maxpool_plane_backward(const struct maxpool_geometry *g, const float *dy, const int32_t *arg, float *dx,
                            int accumulate)
{
    const long in_plane = (long)g->h * g->w, out_plane = (long)g->oh * g->ow;
    if (is_2x2(g)) {
        /* windows cover the plane but for an odd last row or column */
        if (!accumulate && (2 * g->oh != g->h || 2 * g->ow != g->w))
            memset(dx, 0, sizeof(float) * in_plane);
        if (g->avx2 && g->ow >= 8 && (!accumulate || g->ow % 8 == 0))
            maxpool_2x2_backward_avx2(dy, arg, g->w, g->oh, g->ow, dx, accumulate);
        else
            maxpool_2x2_backward(dy, arg, g->w, g->oh, g->ow, dx, accumulate);
        return;
    }
    if (!accumulate)
        memset(dx, 0, sizeof(float) * in_plane);
    for (long q = 0; q < out_plane; q++)
        dx[arg[q]] += dy[q];
}

static void pool_forward(struct layer *l, const struct layer_run *run)
{
    const struct pool_conf *c = l->conf;
    const struct shape in = l->in[0], out = l->out;
    const struct maxpool_geometry g = geometry_of(c, in, out, run->gemm->target);
    const long planes = (long)run->n * in.c, in_plane = (long)in.h * in.w, out_plane = (long)out.h * out.w;
    const float inv_area = 1.0f / (c->kh * c->kw);
#pragma omp parallel for num_threads(run->threads) schedule(static) if (planes * in_plane > LAYER_PARALLEL_MIN_FLOATS)
    for (long pl = 0; pl < planes; pl++) {
        const float *x = l->x[0] + pl * in_plane;
        float *y = l->y + pl * out_plane;
        int32_t *arg = c->is_max ? (int32_t *)l->state + pl * out_plane : NULL;
        if (c->is_max && run->frozen) {
            /* gradcheck: the arg-max of the last forward, not a new choice */
            for (long q = 0; q < out_plane; q++)
                y[q] = x[arg[q]];
            continue;
        }
        if (c->is_max) {
            maxpool_plane(&g, x, y, arg);
            continue;
        }
        for (int oy = 0; oy < out.h; oy++)
            for (int ox = 0; ox < out.w; ox++) {
                int y0 = oy * c->sh - c->ph, x0 = ox * c->sw - c->pw;
                int ya = y0 < 0 ? 0 : y0, yb = y0 + c->kh > in.h ? in.h : y0 + c->kh;
                int xa = x0 < 0 ? 0 : x0, xb = x0 + c->kw > in.w ? in.w : x0 + c->kw;
                float sum = 0.0f;
                for (int iy = ya; iy < yb; iy++)
                    for (int ix = xa; ix < xb; ix++)
                        sum += x[iy * in.w + ix];
                y[oy * out.w + ox] = sum * inv_area;
            }
    }
}

static void pool_backward(struct layer *l, const struct layer_run *run)
{
    const struct pool_conf *c = l->conf;
    if (!l->dx[0])
        return;
    const struct shape in = l->in[0], out = l->out;
    const struct maxpool_geometry g = geometry_of(c, in, out, run->gemm->target);
    const long planes = (long)run->n * in.c, in_plane = (long)in.h * in.w, out_plane = (long)out.h * out.w;
    const float inv_area = 1.0f / (c->kh * c->kw);
#pragma omp parallel for num_threads(run->threads) schedule(static) if (planes * in_plane > LAYER_PARALLEL_MIN_FLOATS)
    for (long pl = 0; pl < planes; pl++) {
        float *dx = l->dx[0] + pl * in_plane;
        const float *dy = l->dy + pl * out_plane;
        if (c->is_max) {
            maxpool_plane_backward(&g, dy, (const int32_t *)l->state + pl * out_plane, dx, !l->dx_overwrite[0]);
            continue;
        }
        if (l->dx_overwrite[0])
            memset(dx, 0, sizeof(float) * in_plane);
        for (int oy = 0; oy < out.h; oy++)
            for (int ox = 0; ox < out.w; ox++) {
                int y0 = oy * c->sh - c->ph, x0 = ox * c->sw - c->pw;
                int ya = y0 < 0 ? 0 : y0, yb = y0 + c->kh > in.h ? in.h : y0 + c->kh;
                int xa = x0 < 0 ? 0 : x0, xb = x0 + c->kw > in.w ? in.w : x0 + c->kw;
                float g = dy[oy * out.w + ox] * inv_area;
                for (int iy = ya; iy < yb; iy++)
                    for (int ix = xa; ix < xb; ix++)
                        dx[iy * in.w + ix] += g;
            }
    }
}

/* MaxPool or AveragePool; cnnctl's average divides by the whole window,
 * padding included, and rounds the output size down either way */
static int pool_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err, size_t errlen)
{
    const struct pool_conf *c = l->conf;
    struct onnx_node *n = onnx_node(g, c->is_max ? "MaxPool" : "AveragePool", l->name, 1, inputs);
    if (onnx_window(g, n, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw) < 0 ||
        (!c->is_max && onnx_attr_int(g, n, "count_include_pad", 1) < 0)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_maxpool = {
    .type = "maxpool", .parse = maxpool_parse, .shape = pool_shape, .forward = pool_forward,
    .backward = pool_backward, .pool_geometry = maxpool_geometry,
    .onnx = pool_onnx,
};

const struct layer_ops layer_avgpool = {
    .type = "avgpool", .parse = avgpool_parse, .shape = pool_shape, .forward = pool_forward,
    .backward = pool_backward, .onnx = pool_onnx,
};

/* globalavgpool: one number per feature map, its mean.
 *   x: (N, C, H, W) -> y: (N, C, 1, 1);  dx = dy[c] / (H*W) everywhere in map c. */
static int global_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    (void)l;
    (void)cfg;
    (void)s;
    return 0;
}

static int global_shape(struct layer *l, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    l->out = (struct shape){l->in[0].c, 1, 1};
    l->flops = (double)shape_size(l->in[0]);
    return 0;
}

static void global_forward(struct layer *l, const struct layer_run *run)
{
    const long maps = (long)run->n * l->in[0].c, HW = (long)l->in[0].h * l->in[0].w;
    const float *x = l->x[0];
    float *y = l->y;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (maps * HW > LAYER_PARALLEL_MIN_FLOATS)
    for (long m = 0; m < maps; m++) {
        float sum = 0.0f;
        for (long p = 0; p < HW; p++)
            sum += x[m * HW + p];
        y[m] = sum / HW;
    }
}

static void global_backward(struct layer *l, const struct layer_run *run)
{
    if (!l->dx[0])
        return;
    const long maps = (long)run->n * l->in[0].c, HW = (long)l->in[0].h * l->in[0].w;
    const float *dy = l->dy;
    float *dx = l->dx[0];
    const int add = !l->dx_overwrite[0];
#pragma omp parallel for num_threads(run->threads) schedule(static) if (maps * HW > LAYER_PARALLEL_MIN_FLOATS)
    for (long m = 0; m < maps; m++) {
        float g = dy[m] / HW;
        for (long p = 0; p < HW; p++)
            dx[m * HW + p] = add ? dx[m * HW + p] + g : g;
    }
}

static int global_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                       size_t errlen)
{
    if (!onnx_node(g, "GlobalAveragePool", l->name, 1, inputs)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_globalavgpool = {
    .type = "globalavgpool", .parse = global_parse, .shape = global_shape, .forward = global_forward,
    .backward = global_backward, .onnx = global_onnx,
};
