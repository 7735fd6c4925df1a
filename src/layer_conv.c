/* layer_conv.c - 2-D convolution by im2col + GEMM, one image at a time.
 *
 *   x: (N, C, H, W), weight: (F, C/G, KH, KW), bias: (F) -> y: (N, F, OH, OW)
 * with G groups (G = C: depthwise): group g maps input channels
 * [g*C/G, (g+1)*C/G) to filters [g*F/G, (g+1)*F/G). Per image and group:
 *   forward:   col = im2col(x_g)            (C/G*KH*KW, P), P = OH*OW
 *              y_g = weight_g * col + bias  (F/G, P), already NCHW
 *              y = act(y), in place, when `activation` is set
 *   backward:  dy = dy * act'(y), in place (dy belongs to this layer; for
 *              ReLU in the same pass as dbias)
 *              dweight_g += dy_g * col^T     (F/G, C/G*KH*KW)
 *              dbias     += rowsum(dy)
 *              dx_g       = col2im(weight_g^T * dy_g)
 * Images are split into one contiguous range per thread; each thread
 * accumulates its own partial dweight/dbias in its scratch, and the partials
 * are summed in thread order afterwards, so results are identical run after
 * run at a given thread count. A 1x1 convolution at stride 1 without padding
 * skips im2col: the image (or the group's channels) already is its column
 * matrix.
 *
 * At stride 1, on CPUs with a direct kernel (conv_direct.h), the products
 * skip col: the forward pass and the input gradient (a stride-1
 * convolution of dy with the flipped weights) run as tiles that read the
 * image itself, with bias and ReLU applied as the tile is stored, and with
 * 64 taps or more (one group) the weight gradient reads a zero-padded copy
 * of the image and dy^T, accumulating dW^T. Fewer taps, other strides and
 * CPUs keep im2col + GEMM. */
#include "activation.h"
#include "conv_direct.h"
#include "im2col.h"
#include "layer.h"

#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conv_conf {
    int filters, groups, kh, kw, sh, sw, ph, pw, dh, dw, bias, floor;
    struct init_spec init;
    struct activation act;
    struct conv_geometry g;   /* one group's geometry (g.c = C/G), set by shape() */
    /* stride 1: the direct kernels' lane layouts for the forward pass and
     * for the input gradient (has_* = 0: im2col + GEMM), in storage[] */
    int has_plan, has_plan_dx;
    struct conv_plan plan, plan_dx;
    long storage[];
};

static int conv_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct conv_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
    long filters, bias, groups;
    int rc = 0;
    if (!config_find(s, "filters")) {
        config_error(cfg, s, NULL, "filters: missing (the number of output channels)");
        rc = -1;
    }
    if (config_get_int(cfg, s, "filters", &filters, 1, 1, 65536) < 0)
        rc = -1;
    if (!config_find(s, "size") && !(config_find(s, "size_h") && config_find(s, "size_w"))) {
        config_error(cfg, s, NULL, "size: missing (or give both size_h and size_w)");
        rc = -1;
    }
    if (layer_parse_pair(cfg, s, "size", &c->kh, &c->kw, 1, 1, 1024) < 0 ||
        layer_parse_pair(cfg, s, "stride", &c->sh, &c->sw, 1, 1, 1024) < 0 ||
        layer_parse_pair(cfg, s, "pad", &c->ph, &c->pw, 0, 0, 1024) < 0 ||
        layer_parse_pair(cfg, s, "dilation", &c->dh, &c->dw, 1, 1, 1024) < 0)
        rc = -1;
    if (config_get_int(cfg, s, "groups", &groups, 1, 1, 65536) < 0)
        rc = -1;
    if (config_get_int(cfg, s, "bias", &bias, 1, 0, 1) < 0)
        rc = -1;
    if (activation_parse(cfg, s, &c->act) < 0)
        rc = -1;
    if (layer_parse_rounding(cfg, s, &c->floor) < 0)
        rc = -1;
    c->filters = (int)filters;
    c->groups = (int)groups;
    c->bias = (int)bias;
    c->init = l->default_init;
    if (layer_parse_init(cfg, s, &c->init) < 0)
        rc = -1;
    return rc;
}

static int plan_direct(struct layer *l);

static long max_long(long a, long b)
{
    return a > b ? a : b;
}

/* The weight gradient without im2col (conv_direct.h), for one group and
 * at least 64 taps: with fewer the tiles' rows (taps) go half empty, and
 * im2col + dot products is faster (simple's conv, 25 taps, ran 0.58 ->
 * 0.64 ms a step the other way). Its partials are dW^T, taps x filters
 * rounded up to whole vectors. */
#define DIRECT_WGRAD_MIN_TAPS 64

static long wgrad_filters(int filters)
{
    return (filters + 15) / 16 * 16;
}

/* floats of the zero-padded image the direct weight gradient reads */
static long wgrad_xpad_floats(const struct conv_geometry *g)
{
    return (long)g->c * (g->h + 2 * g->ph) * (g->w + 2 * g->pw);
}

static int conv_shape(struct layer *l, char *err, size_t errlen)
{
    struct conv_conf *c = l->conf;
    struct conv_geometry *g = &c->g;
    const int C = l->in[0].c, G = c->groups;
    if (C % G || c->filters % G) {
        snprintf(err, errlen, "groups = %d must divide both the input channels (%d) and filters (%d)", G, C,
                 c->filters);
        return -1;
    }
    *g = (struct conv_geometry){C / G, l->in[0].h, l->in[0].w, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw, 0, 0,
                                c->dh, c->dw};
    /* the window a dilated kernel spans */
    const int eh = c->dh * (c->kh - 1) + 1, ew = c->dw * (c->kw - 1) + 1;
    g->oh = conv_output_size(g->h, eh, g->sh, g->ph, c->floor);
    g->ow = conv_output_size(g->w, ew, g->sw, g->pw, c->floor);
    if (g->oh < 0) {
        layer_size_error(err, errlen, "output height", g->h, eh, g->sh, g->ph);
        return -1;
    }
    if (g->ow < 0) {
        layer_size_error(err, errlen, "output width", g->w, ew, g->sw, g->pw);
        return -1;
    }
    l->out = (struct shape){c->filters, g->oh, g->ow};
    if (plan_direct(l) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c = l->conf;
    g = &c->g;
    long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow;
    int wdims[4] = {c->filters, g->c, g->kh, g->kw};
    layer_add_param(l, "weight", 4, wdims, (int)taps, c->init);
    if (c->bias) {
        int bdims[1] = {c->filters};
        layer_add_param(l, "bias", 1, bdims, (int)taps, (struct init_spec){INIT_ZERO, 0});
    }
    /* this thread's partial weight and bias gradients, then one group's col
     * (taps x P) for im2col and the same again for the input gradient, or
     * the direct kernels' packed weights (forward, flipped) and the padded
     * image (or dy) that some of them read */
    const long Fg = c->filters / G;
    long packed = 0;
    if (c->has_plan)
        packed = cache_line_floats(conv_direct_pack_floats(Fg, taps)) + conv_plan_padded_floats(&c->plan);
    if (c->has_plan_dx)
        packed = max_long(packed, cache_line_floats(conv_direct_pack_floats(g->c, Fg * g->kh * g->kw)) +
                                      conv_plan_padded_floats(&c->plan_dx));
    /* the partials as dW or as the direct weight gradient's dW^T; then
     * col and dcol, the packed weights, or the padded image and dy^T */
    const long wgrad = cache_line_floats(wgrad_xpad_floats(g)) + P * wgrad_filters(c->filters);
    l->scratch_floats = cache_line_floats(max_long((long)c->filters * taps, taps * wgrad_filters(c->filters)) +
                                          c->filters) +
                        max_long(max_long(2 * cache_line_floats(taps * P), packed), wgrad);
    l->flops = 2.0 * c->filters * taps * P + (c->bias ? (double)c->filters * P : 0);
    return 0;
}

/* The direct kernels' plans for the forward pass and the input gradient,
 * where the convolution allows them; they live at the end of l->conf. */
static int plan_direct(struct layer *l)
{
    struct conv_conf *c = l->conf;
    struct conv_geometry gdx;
    const size_t fwd = conv_plan_bytes(&c->g);
    const size_t dx = conv_transposed_geometry(&c->g, c->filters / c->groups, &gdx) == 0 ? conv_plan_bytes(&gdx) : 0;
    const size_t fwd_longs = (fwd + sizeof(long) - 1) / sizeof(long);
    c = realloc(c, sizeof *c + sizeof(long) * fwd_longs + dx);
    if (!c)
        return -1;
    l->conf = c;
    c->has_plan = fwd > 0;
    c->has_plan_dx = fwd > 0 && dx > 0;
    if (c->has_plan)
        conv_plan_init(&c->plan, &c->g, c->storage);
    if (c->has_plan_dx)
        conv_plan_init(&c->plan_dx, &gdx, c->storage + fwd_longs);
    return 0;
}

/* The direct kernel this run uses, or NULL for im2col + GEMM. */
static const struct conv_direct_kernel *direct_kernel(const struct conv_conf *c, const struct layer_run *run)
{
    return c->has_plan ? conv_direct_kernel(run->gemm->kernel) : NULL;
}

static int is_pointwise(const struct conv_geometry *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* One filter per input channel (groups = channels = filters): Xception's
 * depthwise convolution. Its GEMMs would have one row, so it runs direct:
 * for each tap, each output row gains w times a (strided) input row. */
static int is_depthwise(const struct conv_conf *c)
{
    return c->groups > 1 && c->g.c == 1 && c->filters == c->groups;
}

/* y (C, OH, OW) = depthwise(x (C, H, W)), no bias. */
static void depthwise_forward(const struct conv_geometry *g, int C, const float *weight, const float *x, float *y)
{
    const long HW = (long)g->h * g->w, P = (long)g->oh * g->ow;
    for (int ch = 0; ch < C; ch++) {
        float *out = y + ch * P;
        const float *in = x + ch * HW, *w = weight + (long)ch * g->kh * g->kw;
        memset(out, 0, sizeof(float) * P);
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                const float wk = w[ki * g->kw + kj];
                const int shift = kj * g->dw - g->pw;
                int lo, hi;
                conv_valid_range(kj * g->dw, g->sw, g->pw, g->w, g->ow, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * g->sh - g->ph + ki * g->dh;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const float *src = in + (long)iy * g->w;
                    float *dst = out + (long)oy * g->ow;
                    if (g->sw == 1) {
                        const float *s1 = src + shift;
#pragma omp simd
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox] += wk * s1[ox];
                    } else
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox] += wk * src[ox * g->sw + shift];
                }
            }
    }
}

/* dweight += depthwise correlation of dy with x; dx (+)= its adjoint. */
static void depthwise_backward(const struct conv_geometry *g, int C, const float *weight, const float *x,
                               const float *dy, float *dweight, float *dx)
{
    const long HW = (long)g->h * g->w, P = (long)g->oh * g->ow;
    for (int ch = 0; ch < C; ch++) {
        const float *in = x + ch * HW, *d = dy + ch * P, *w = weight + (long)ch * g->kh * g->kw;
        float *dw = dweight + (long)ch * g->kh * g->kw, *din = dx ? dx + ch * HW : NULL;
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                const float wk = w[ki * g->kw + kj];
                const int shift = kj * g->dw - g->pw;
                int lo, hi;
                conv_valid_range(kj * g->dw, g->sw, g->pw, g->w, g->ow, &lo, &hi);
                float sum = 0.0f;
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * g->sh - g->ph + ki * g->dh;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const float *src = in + (long)iy * g->w, *drow = d + (long)oy * g->ow;
                    float *dsrc = din ? din + (long)iy * g->w : NULL;
                    if (g->sw == 1) {
                        const float *s1 = src + shift;
#pragma omp simd reduction(+ : sum)
                        for (int ox = lo; ox < hi; ox++)
                            sum += drow[ox] * s1[ox];
                        if (dsrc) {
                            float *d1 = dsrc + shift;
#pragma omp simd
                            for (int ox = lo; ox < hi; ox++)
                                d1[ox] += wk * drow[ox];
                        }
                        continue;
                    }
                    for (int ox = lo; ox < hi; ox++)
                        sum += drow[ox] * src[ox * g->sw + shift];
                    if (dsrc)
                        for (int ox = lo; ox < hi; ox++)
                            dsrc[ox * g->sw + shift] += wk * drow[ox];
                }
                dw[ki * g->kw + kj] += sum;
            }
    }
}

/* Bias and activation on image i's output, unless the tile did them. */
static void finish_output(struct layer *l, const struct layer_run *run, int i)
{
    struct conv_conf *c = l->conf;
    const long P = (long)c->g.oh * c->g.ow, out_size = (long)c->filters * P;
    const float *bias = c->bias ? l->params[1].data : NULL;
    float *y = l->y + i * out_size;
    if (run->frozen) {
        /* gradcheck: the activation keeps the unshifted run's pieces */
        if (bias)
            for (int f = 0; f < c->filters; f++)
                for (long p = 0; p < P; p++)
                    y[f * P + p] += bias[f];
        activation_forward(&c->act, y, y, out_size, 1, l->frozen_y + i * out_size);
    } else if (bias || c->act.kind != ACT_NONE) {
        for (int f = 0; f < c->filters; f++)
            activation_add_bias(&c->act, y + f * P, P, bias ? bias[f] : 0.0f);
    }
}

/* out (rows x plan->out_plane per image) = the stride-1 convolution of
 * in (plan->channels planes per image) with packed weights, for images
 * [lo, hi): tiles of chunks, each through every row block. xpad: room for
 * an image's padded copy (conv_plan_padded_floats), for kernels that read
 * one. */
static void direct_conv(const struct conv_direct_kernel *dk, int choice, const struct conv_plan *plan,
                        const float *in, long in_stride, const float *packed, float *xpad, int rows, int lo, int hi,
                        const struct conv_out *out)
{
    const int R = dk->rows[choice], V = dk->vectors[choice];
    const long K = (long)plan->channels * plan->spatial, end = (long)hi * plan->chunks;
    if (dk->padded) {
        /* one image at a time, from its zero-padded copy (the border is
         * zeroed once, then stays) */
        for (int i = lo; i < hi; i++) {
            conv_plan_pad(plan, in + i * in_stride, xpad, i == lo);
            struct conv_out image_out = *out;
            image_out.y += i * out->image_stride;
            for (long c0 = 0; c0 < plan->chunks; c0 += V)
                for (int r0 = 0; r0 < rows; r0 += R)
                    dk->forward(choice, plan, xpad, 0, packed + (long)r0 * K, c0, plan->chunks, r0,
                                rows - r0 < R ? rows - r0 : R, &image_out);
        }
        return;
    }
    const long image_bytes = sizeof(float) * plan->channels * plan->in_plane;
    for (long c0 = (long)lo * plan->chunks; c0 < end; c0 += V) {
        /* The next image's input into L2 while this one is worked on, a
         * tile's share at a time: the tiles read every channel at once,
         * more streams than the hardware prefetcher follows. */
        const long image = c0 / plan->chunks, at = c0 % plan->chunks;
        if (image + 1 < hi) {
            const char *next = (const char *)(in + (image + 1) * in_stride);
            for (long b = at * image_bytes / plan->chunks; b < (at + V) * image_bytes / plan->chunks && b < image_bytes;
                 b += 64)
                __builtin_prefetch(next + b, 0, 2);
        }
        for (int r0 = 0; r0 < rows; r0 += R)
            dk->forward(choice, plan, in, in_stride, packed + (long)r0 * K, c0, end, r0,
                        rows - r0 < R ? rows - r0 : R, out);
    }
}

static void conv_forward(struct layer *l, const struct layer_run *run)
{
    struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int G = c->groups, Fg = c->filters / G;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow, HW = (long)g->h * g->w;
    const long in_size = shape_size(l->in[0]), out_size = (long)c->filters * P;
    const float *weight = l->params[0].data, *bias = c->bias ? l->params[1].data : NULL;
    const struct conv_direct_kernel *dk = is_depthwise(c) ? NULL : direct_kernel(c, run);
    /* the tile's store does bias and ReLU, except for gradcheck's frozen runs */
    const int fused = dk && !run->frozen && (c->act.kind == ACT_NONE || c->act.kind == ACT_RELU);
#pragma omp parallel num_threads(image_threads(run))
    {
        int t = omp_get_thread_num(), lo, hi;
        split_range(run->n, t, omp_get_num_threads(), &lo, &hi);
        float *col = run->scratch + t * run->scratch_stride;
        if (dk) {
            const int choice = conv_direct_choice(dk, Fg);
            for (int gi = 0; gi < G; gi++) {
                const long packed = conv_direct_pack(dk, choice, weight + gi * Fg * taps, Fg, g->c, g->kh * g->kw, 0,
                                                     col);
                struct conv_out out = {l->y + gi * Fg * P, out_size, fused && bias ? bias + gi * Fg : NULL,
                                       fused && c->act.kind == ACT_RELU, 0};
                direct_conv(dk, choice, &c->plan, l->x[0] + gi * g->c * HW, in_size, col,
                            col + cache_line_floats(packed), Fg, lo, hi, &out);
            }
        }
        for (int i = lo; i < hi; i++) {
            float *y = l->y + i * out_size;
            if (is_depthwise(c))
                depthwise_forward(g, G, weight, l->x[0] + i * in_size, y);
            for (int gi = 0; gi < G && !is_depthwise(c) && !dk; gi++) {
                const float *x = l->x[0] + i * in_size + gi * g->c * HW;
                const float *cols = x;
                if (!is_pointwise(g)) {
                    im2col(x, g, col);
                    cols = col;
                }
                gemm_serial(&run->gemm->buffers[t], GEMM_N, GEMM_N, Fg, P, taps, 1.0f, weight + gi * Fg * taps,
                            taps, cols, P, 0.0f, y + gi * Fg * P, P);
            }
            if (!fused)
                finish_output(l, run, i);
        }
    }
}

/* dy *= ReLU'(y) when y is given; returns the sum of dy (one map's bias
 * gradient), vectorised: 16 partial sums, added in a fixed order. */
static float relu_grad_sum(float *dy, const float *y, long n)
{
    float sum = 0.0f;
    if (y) {
#pragma omp simd reduction(+ : sum)
        for (long p = 0; p < n; p++) {
            const float d = y[p] > 0.0f ? dy[p] : 0.0f;
            dy[p] = d;
            sum += d;
        }
    } else {
#pragma omp simd reduction(+ : sum)
        for (long p = 0; p < n; p++)
            sum += dy[p];
    }
    return sum;
}

static void conv_backward(struct layer *l, const struct layer_run *run)
{
    struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int F = c->filters, G = c->groups, Fg = F / G;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow, HW = (long)g->h * g->w;
    const long in_size = shape_size(l->in[0]), out_size = (long)F * P;
    const float *weight = l->params[0].data;
    const struct conv_direct_kernel *dk = is_depthwise(c) ? NULL : direct_kernel(c, run);
    const int dx_direct = dk && c->has_plan_dx && l->dx[0];
    const int dw_direct = dk && dk->weight_gradient && G == 1 && !is_pointwise(g) && taps >= DIRECT_WGRAD_MIN_TAPS;
    /* this thread's dW (F x taps), or dW^T (taps x Fpad), then dbias */
    const long Fpad = wgrad_filters(F), dw_size = dw_direct ? taps * Fpad : (long)F * taps;
    const long partial_size = dw_size + F;
    const struct conv_wgrad_geometry wg = {(int)taps, g->kh, g->kw, g->dh, g->dw, g->oh, g->ow,
                                           g->w + 2 * g->pw, (long)(g->h + 2 * g->ph) * (g->w + 2 * g->pw)};
    /* ReLU's gradient is applied per image below, in the pass that sums
     * the bias gradient; other activations here, over the whole batch */
    const int relu = c->act.kind == ACT_RELU;
    if (c->act.kind != ACT_NONE && !relu)
        activation_backward(&c->act, l->y, l->dy, l->dy, run->n * out_size, 0, run->threads);
    int team = 1;
#pragma omp parallel num_threads(image_threads(run))
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads(), lo, hi;
        split_range(run->n, t, nt, &lo, &hi);
#pragma omp single
        team = nt;
        float *scratch = run->scratch + t * run->scratch_stride;
        float *dweight = scratch, *dbias = scratch + dw_size;
        /* col and dcol start on cache lines, as dy does: the weight
         * gradient's dot products load both along P, and a row split
         * over two lines costs a third of their speed */
        float *col = scratch + cache_line_floats(partial_size), *dcol = col + cache_line_floats(taps * P);
        struct gemm_buffers *gb = &run->gemm->buffers[t];
        memset(dweight, 0, sizeof(float) * partial_size);
        for (int i = lo; i < hi; i++)
            for (int f = 0; f < F; f++)
                dbias[f] += relu_grad_sum(l->dy + i * out_size + f * P, relu ? l->y + i * out_size + f * P : NULL, P);
        for (int gi = 0; gi < G && dx_direct; gi++) {
            /* dx = the stride-1 convolution of dy with the flipped weights */
            const float *dyg = l->dy + gi * Fg * P;
            const int choice = conv_direct_choice(dk, g->c);
            const long packed = conv_direct_pack(dk, choice, weight + gi * Fg * taps, Fg, g->c, g->kh * g->kw, 1, col);
            struct conv_out out = {l->dx[0] + gi * g->c * HW, in_size, NULL, 0, !l->dx_overwrite[0]};
            direct_conv(dk, choice, &c->plan_dx, dyg, out_size, col, col + cache_line_floats(packed), g->c, lo, hi,
                        &out);
        }
        if (dw_direct) {
            /* the padded image's border stays zero; only its inside is
             * copied per image */
            float *xpad = col, *dyt = col + cache_line_floats(wgrad_xpad_floats(g));
            memset(xpad, 0, sizeof(float) * wgrad_xpad_floats(g));
            for (int i = lo; i < hi; i++) {
                const float *x = l->x[0] + i * in_size;
                for (int ch = 0; ch < g->c; ch++)
                    for (int y = 0; y < g->h; y++)
                        memcpy(xpad + ch * wg.plane + (y + g->ph) * wg.wp + g->pw, x + ch * HW + (long)y * g->w,
                               sizeof(float) * g->w);
                run->gemm->kernel->transpose(l->dy + i * out_size, P, F, P, dyt, Fpad);
                dk->weight_gradient(&wg, xpad, dyt, Fpad, dweight);
            }
        }
        for (int i = lo; i < hi; i++) {
            const float *dy = l->dy + i * out_size;
            if (is_depthwise(c)) {
                float *dx = l->dx[0] ? l->dx[0] + i * in_size : NULL;
                if (dx && l->dx_overwrite[0])
                    memset(dx, 0, sizeof(float) * in_size);
                depthwise_backward(g, G, weight, l->x[0] + i * in_size, dy, dweight, dx);
            }
            for (int gi = 0; gi < G && !is_depthwise(c); gi++) {
                const float *x = l->x[0] + i * in_size + gi * g->c * HW;
                const float *dyg = dy + gi * Fg * P, *wg = weight + gi * Fg * taps;
                if (!dw_direct) {
                    const float *cols = x;
                    if (!is_pointwise(g)) {
                        im2col(x, g, col);
                        cols = col;
                    }
                    gemm_serial(gb, GEMM_N, GEMM_T, Fg, taps, P, 1.0f, dyg, P, cols, P, 1.0f,
                                dweight + gi * Fg * taps, taps);
                }
                if (!l->dx[0] || dx_direct)
                    continue;
                float *dx = l->dx[0] + i * in_size + gi * g->c * HW;
                if (is_pointwise(g)) {
                    gemm_serial(gb, GEMM_T, GEMM_N, taps, P, Fg, 1.0f, wg, taps, dyg, P,
                                l->dx_overwrite[0] ? 0.0f : 1.0f, dx, P);
                } else {
                    gemm_serial(gb, GEMM_T, GEMM_N, taps, P, Fg, 1.0f, wg, taps, dyg, P, 0.0f, dcol, P);
                    if (l->dx_overwrite[0])
                        memset(dx, 0, sizeof(float) * g->c * HW);
                    col2im(dcol, g, dx);
                }
            }
        }
    }
    /* Sum the partials in thread order: each element has one fixed order. */
    float *dweight = l->params[0].grad, *dbias = c->bias ? l->params[1].grad : NULL;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (partial_size * team > LAYER_PARALLEL_MIN_FLOATS)
    for (long e = 0; e < (long)F * taps + F; e++) {
        /* element e of (dW, dbias) in the partials: dW^T's (tap, f) for
         * the direct weight gradient */
        const long at = e >= (long)F * taps ? dw_size + e - (long)F * taps
                        : dw_direct             ? e % taps * Fpad + e / taps
                                                : e;
        float sum = 0.0f;
        for (int t = 0; t < team; t++)
            sum += run->scratch[t * run->scratch_stride + at];
        if (e < (long)F * taps)
            dweight[e] = sum;
        else if (dbias)
            dbias[e - (long)F * taps] = sum;
    }
}

static int conv_gemms(const struct layer *l, int batch, struct gemm_shape *out)
{
    (void)batch;
    const struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow, Fg = c->filters / c->groups;
    out[0] = (struct gemm_shape){"forward", GEMM_N, GEMM_N, Fg, P, taps, c->groups};
    out[1] = (struct gemm_shape){"weight gradient", GEMM_N, GEMM_T, Fg, taps, P, c->groups};
    out[2] = (struct gemm_shape){"input gradient", GEMM_T, GEMM_N, taps, P, Fg, c->groups};
    return l->inputs[0] < 0 ? 2 : 3;  /* the first layer needs no input gradient */
}

/* A following activation layer, applied here in place (net.c). */
static int conv_fuse_activation(struct layer *l, const struct activation *a)
{
    return activation_adopt(&((struct conv_conf *)l->conf)->act, a);
}

const struct layer_ops layer_conv = {
    .type = "conv", .parse = conv_parse, .shape = conv_shape, .forward = conv_forward, .backward = conv_backward,
    .gemms = conv_gemms,
    .fuse_activation = conv_fuse_activation,
};
