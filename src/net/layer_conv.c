/* layer_conv.c - the convolution layer: its keys and shapes, and the
 * plain path, im2col + GEMM, one image at a time (the other algorithms are
 * in the files conv.h lists, each tested against this one).
 *
 *   x: (N, C, H, W), weight: (F, C/G, KH, KW), bias: (F) -> y: (N, F, OH, OW)
 * with G groups (G = C: depthwise, conv_depthwise.c): group g maps input
 * channels [g*C/G, (g+1)*C/G) to filters [g*F/G, (g+1)*F/G). Per image and
 * group:
 *   forward:   col = im2col(x_g)            (C/G*KH*KW, P), P = OH*OW
 *              y_g = weight_g * col + bias  (F/G, P), already NCHW
 *              y = act(y), in place, when `activation` is set
 *   backward:  dy = dy * act'(y), in place (dy belongs to this layer; for
 *              ReLU in the same pass as dbias)
 *              dweight_g += dy_g * col^T     (F/G, C/G*KH*KW)
 *              dbias     += rowsum(dy)
 *              dx_g       = col2im(weight_g^T * dy_g)
 * A 1x1 convolution at stride 1 without padding skips im2col: the image (or
 * the group's channels) already is its column matrix.
 *
 * The weight and bias gradients are summed over the batch in
 * LAYER_GRADIENT_CHUNKS fixed ranges of images, each into its own partial
 * (run->partials), whichever thread computes it; the partials are then
 * added in one fixed tree. So the bits do not depend on the thread count.
 *
 * Which algorithm runs each part of a step is chosen once, when the net is
 * allocated for a CPU target (conv_choose, conv.h's enum): at stride 1,
 * where the target has a direct kernel (conv_direct.h), the forward pass
 * and the input gradient run as tiles that read the image itself, with
 * bias and ReLU applied as a tile is stored (conv_tiles.c); the weight
 * gradient skips im2col with many taps or few filters (conv_wgrad.c); a
 * depthwise conv runs without GEMMs (conv_depthwise.c). A max pool fused
 * into the conv runs image by image (conv_pool.c). */
#include "activation.h"
#include "conv.h"
#include "conv_direct.h"
#include "cpu_target.h"
#include "im2col.h"
#include "layer.h"
#include "onnx_graph.h"
#include "pool.h"

#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (conv_plan_tiles(l) < 0) {
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
    /* this thread's partial weight and bias gradients; then one group's col
     * (taps x P) for im2col and the same again for the input gradient, or
     * the direct kernels' packed weights and the padded image that some of
     * them read, or Winograd's filters and work; then the input gradient's
     * weights (conv_dx_weights_floats) */
    long packed = 0, winograd_partial = 0;
    if (c->has_plan)
        packed = cache_line_floats(conv_direct_pack_floats(c->filters / G, taps)) + conv_plan_padded_floats(&c->plan);
    /* Winograd, for either vector width: the forward pass's filters then
     * its work; the input gradient's work (its filters are kept after) */
    for (int lanes = 8; lanes <= 16; lanes *= 2) {
        struct winograd_plan wp;
        struct conv_geometry gdx;
        if (G == 1 && winograd_plan_init(&wp, g, c->filters, lanes) == 0) {
            packed = max_long(packed, cache_line_floats(winograd_weight_floats(&wp)) + winograd_work_floats(&wp));
            packed = max_long(packed, winograd_wgrad_work_floats(&wp));
            winograd_partial = max_long(winograd_partial, winograd_gradient_floats(&wp));
        }
        if (G == 1 && conv_transposed_geometry(g, c->filters, &gdx) == 0 &&
            winograd_plan_init(&wp, &gdx, g->c, lanes) == 0)
            packed = max_long(packed, winograd_work_floats(&wp));
    }
    /* the partials as dW or as the direct weight gradient's dW^T; then
     * col and dcol, the packed weights, or the padded image and dy^T */
    const long wgrad = cache_line_floats(wgrad_xpad_floats(g)) +
                       max_long(P * wgrad_filters(c->filters), c->filters * shifted_wgrad_k(g));
    l->partial_floats =
        max_long(max_long((long)c->filters * taps, taps * wgrad_filters(c->filters)), winograd_partial) + c->filters;
    l->scratch_floats = cache_line_floats(l->partial_floats) +
                        cache_line_floats(max_long(max_long(2 * cache_line_floats(taps * P), packed), wgrad)) +
                        conv_dx_weights_floats(l);
    l->flops = 2.0 * c->filters * taps * P + (c->bias ? (double)c->filters * P : 0);
    return 0;
}

long conv_dx_weights_floats(const struct layer *l)
{
    const struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const long Fg = c->filters / c->groups;
    long n = 0;
    if (c->has_plan_dx)
        n = cache_line_floats(conv_direct_pack_floats(g->c, Fg * g->kh * g->kw)) + conv_plan_padded_floats(&c->plan_dx);
    for (int lanes = 8; lanes <= 16; lanes *= 2) {
        struct winograd_plan wp;
        struct conv_geometry gdx;
        if (c->groups == 1 && conv_transposed_geometry(g, c->filters, &gdx) == 0 &&
            winograd_plan_init(&wp, &gdx, g->c, lanes) == 0)
            n = max_long(n, winograd_weight_floats(&wp));
    }
    return cache_line_floats(n);
}

/* How each part of the step runs (conv.h), from the shape and the GEMM
 * context's CPU target; net.c asks once the net is allocated, and again
 * when bench hands the GEMMs to a BLAS library (whose GEMM does not take
 * the shifted weight gradient's overlapping rows). */
static void conv_choose(struct layer *l, const struct gemm_ctx *gemm)
{
    struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const long taps = (long)g->c * g->kh * g->kw;
    const enum conv_algorithm plain = is_pointwise(g) ? CONV_POINTWISE_GEMM : CONV_IM2COL_GEMM;
    if (is_depthwise(c)) {
        c->forward = c->input_gradient = c->weight_gradient = CONV_DEPTHWISE;
        c->tiles = NULL;
        return;
    }
    const struct conv_direct_kernel *dk = c->has_plan ? gemm->target->conv : NULL;
    c->tiles = dk;
    c->forward = dk ? CONV_TILES : plain;
    c->input_gradient = dk && c->has_plan_dx ? CONV_TILES : plain;
    if (dk && dk->weight_gradient && c->groups == 1 && !is_pointwise(g) && taps >= DIRECT_WGRAD_MIN_TAPS)
        c->weight_gradient = CONV_TILES;
    else if (shifted_wgrad(c, &gemm->buffers[0]))
        c->weight_gradient = CONV_SHIFTED;
    else
        c->weight_gradient = plain;
    /* 3x3 at stride 1 with enough channels: Winograd, where the target
     * has it (2.25 times fewer multiplications than the tiles) */
    const struct winograd_kernel *wk = gemm->target->winograd;
    struct conv_geometry gdx;
    c->winograd = wk;
    if (wk && c->groups == 1 && winograd_plan_init(&c->wino, g, c->filters, wk->lanes) == 0)
        c->forward = c->weight_gradient = CONV_WINOGRAD;
    if (wk && c->groups == 1 && conv_transposed_geometry(g, c->filters, &gdx) == 0 &&
        winograd_plan_init(&c->wino_dx, &gdx, g->c, wk->lanes) == 0)
        c->input_gradient = CONV_WINOGRAD;
}

/* Winograd transforms the filters on every call, which a batch of fewer
 * than WINOGRAD_MIN_BATCH images does not pay back: the tiles run those.
 * Decided on the step's whole batch, so the bits do not depend on the
 * thread count or on how MPI ranks split the batch. */
#define WINOGRAD_MIN_BATCH 8

static enum conv_algorithm for_batch(enum conv_algorithm a, const struct layer_run *run)
{
    const int total = run->batch_total > 0 ? run->batch_total : run->n;
    return a == CONV_WINOGRAD && total < WINOGRAD_MIN_BATCH ? CONV_TILES : a;
}

/* The plain path for image x (one group's channels) into y: im2col, then
 * y = weight * col; a 1x1 convolution multiplies the image itself. */
static void plain_forward(const struct conv_conf *c, struct gemm_buffers *gb, const float *weight, const float *x,
                          float *col, float *y)
{
    const struct conv_geometry *g = &c->g;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow;
    const float *cols = x;
    if (c->forward == CONV_IM2COL_GEMM) {
        im2col(x, g, col);
        cols = col;
    }
    gemm_serial(gb, GEMM_N, GEMM_N, c->filters / c->groups, P, taps, 1.0f, weight, taps, cols, P, 0.0f, y, P);
}

/* Bias and activation on one image's output y, unless the tile did them;
 * frozen_y (gradcheck's frozen runs): that image's output in the forward
 * whose kinks the activation keeps, else NULL. */
static void finish_output(struct layer *l, float *y, const float *frozen_y)
{
    struct conv_conf *c = l->conf;
    const long P = (long)c->g.oh * c->g.ow, out_size = (long)c->filters * P;
    const float *bias = c->bias ? l->params[1].data : NULL;
    if (frozen_y) {
        if (bias)
            for (int f = 0; f < c->filters; f++)
                for (long p = 0; p < P; p++)
                    y[f * P + p] += bias[f];
        activation_forward_serial(&c->act, y, y, out_size, frozen_y);
    } else if (bias || c->act.kind != ACT_NONE) {
        for (int f = 0; f < c->filters; f++)
            activation_add_bias(&c->act, y + f * P, P, bias ? bias[f] : 0.0f);
    }
}

/* The conv's output for images [lo, hi), computed by one thread (scratch:
 * its scratch), image i at y + i * y_stride (0: every image at y, for a
 * conv that pools each image as it goes). tile_fused: the direct kernel's
 * tiles apply bias and ReLU; otherwise, when finish, finish_output does,
 * with frozen_y: the batch's (gradcheck), image i's at i * the output size.
 * packed: the length of the direct kernel's packed weights at the start of
 * scratch, 0 until they are packed (with one group they stay for the next
 * call, and so does the padded image's zero border). */
static void forward_images(struct layer *l, const struct layer_run *run, float *scratch, int lo, int hi, float *y,
                           long y_stride, int tile_fused, int finish, const float *frozen_y, long *packed)
{
    struct conv_conf *c = l->conf;
    const enum conv_algorithm algorithm = for_batch(c->forward, run);
    const struct conv_geometry *g = &c->g;
    const int G = c->groups, Fg = c->filters / G;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow, HW = (long)g->h * g->w;
    const long in_size = shape_size(l->in[0]), out_size = (long)c->filters * P;
    const float *weight = l->params[0].data, *bias = c->bias ? l->params[1].data : NULL;
    float *col = scratch;
    struct gemm_buffers *gb = &run->gemm->buffers[omp_get_thread_num()];
    if (algorithm == CONV_WINOGRAD) {
        if (*packed == 0) {
            winograd_transform_weights(&c->wino, weight, 0, col);
            *packed = winograd_weight_floats(&c->wino);
        }
        const struct conv_out out = {NULL, 0, tile_fused ? bias : NULL, tile_fused && c->act.kind == ACT_RELU, 0};
        for (int i = lo; i < hi; i++)
            c->winograd->image(&c->wino, l->x[0] + i * in_size, col, col + cache_line_floats(*packed), y + i * y_stride,
                               &out);
    }
    if (algorithm == CONV_TILES) {
        const int choice = conv_direct_choice(c->tiles, Fg);
        for (int gi = 0; gi < G; gi++) {
            const int ready = G == 1 && *packed > 0;
            if (!ready)
                *packed = conv_direct_pack(c->tiles, choice, weight + gi * Fg * taps, Fg, g->c, g->kh * g->kw, 0, col);
            struct conv_out out = {y + gi * Fg * P, y_stride, tile_fused && bias ? bias + gi * Fg : NULL,
                                   tile_fused && c->act.kind == ACT_RELU, 0};
            conv_tiles(c->tiles, choice, &c->plan, l->x[0] + gi * g->c * HW, in_size, col,
                       col + cache_line_floats(*packed), ready, Fg, lo, hi, &out);
        }
    }
    for (int i = lo; i < hi; i++) {
        float *yi = y + i * y_stride;
        if (c->forward == CONV_DEPTHWISE)
            conv_depthwise_forward(g, G, weight, l->x[0] + i * in_size, yi);
        if (c->forward == CONV_IM2COL_GEMM || c->forward == CONV_POINTWISE_GEMM)
            for (int gi = 0; gi < G; gi++)
                plain_forward(c, gb, weight + gi * Fg * taps, l->x[0] + i * in_size + gi * g->c * HW, col,
                              yi + gi * Fg * P);
        if (!tile_fused && finish)
            finish_output(l, yi, frozen_y ? frozen_y + i * out_size : NULL);
    }
}

static void conv_forward(struct layer *l, const struct layer_run *run)
{
    struct conv_conf *c = l->conf;
    const long out_size = (long)c->filters * c->g.oh * c->g.ow;
    /* the tile's store does bias and ReLU, except for gradcheck's frozen runs */
    const enum conv_algorithm algorithm = for_batch(c->forward, run);
    const int tile_fused = (algorithm == CONV_TILES || algorithm == CONV_WINOGRAD) && !run->frozen &&
                           (c->act.kind == ACT_NONE || c->act.kind == ACT_RELU);
#pragma omp parallel num_threads(image_threads(run))
    {
        int t = omp_get_thread_num(), lo, hi;
        split_range(run->n, t, omp_get_num_threads(), &lo, &hi);
        float *scratch = run->scratch + t * run->scratch_stride;
        long packed = 0;
        if (!l->pool) {
            forward_images(l, run, scratch, lo, hi, l->y, out_size, tile_fused, 1, run->frozen ? l->frozen_y : NULL,
                           &packed);
        } else {
            /* one image at a time through L2: conv, bias, activation, pool */
            float *z = conv_unpooled_image(l, scratch);
            for (int i = lo; i < hi; i++) {
                forward_images(l, run, scratch, i, i + 1, z, 0, tile_fused, !run->frozen, NULL, &packed);
                conv_pool_image(l, run, z, i);
            }
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

/* The plain path's backward for one image's group: dweight += dy col^T
 * where the plain path computes the weight gradient, and, where dx is
 * given, dx = col2im(weight^T dy) (added to it unless overwrite). */
static void plain_backward(const struct conv_conf *c, struct gemm_buffers *gb, const float *weight, const float *x,
                           const float *dy, float *dweight, float *dx, int overwrite, float *col, float *dcol)
{
    const struct conv_geometry *g = &c->g;
    const int Fg = c->filters / c->groups;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow;
    if (c->weight_gradient == CONV_IM2COL_GEMM || c->weight_gradient == CONV_POINTWISE_GEMM) {
        const float *cols = x;
        if (c->weight_gradient == CONV_IM2COL_GEMM) {
            im2col(x, g, col);
            cols = col;
        }
        gemm_serial(gb, GEMM_N, GEMM_T, Fg, taps, P, 1.0f, dy, P, cols, P, 1.0f, dweight, taps);
    }
    if (!dx)
        return;
    if (c->input_gradient == CONV_POINTWISE_GEMM) {
        gemm_serial(gb, GEMM_T, GEMM_N, taps, P, Fg, 1.0f, weight, taps, dy, P, overwrite ? 0.0f : 1.0f, dx, P);
    } else {
        gemm_serial(gb, GEMM_T, GEMM_N, taps, P, Fg, 1.0f, weight, taps, dy, P, 0.0f, dcol, P);
        if (overwrite)
            memset(dx, 0, sizeof(float) * g->c * g->h * g->w);
        col2im(dcol, g, dx);
    }
}

/* Floats of one chunk's partial weight gradient: dW (F x taps), or the
 * direct weight gradient's dW^T (taps x its padded filter count). The
 * bias gradient (F) follows it. */
static long partial_weight_floats(const struct conv_conf *c)
{
    const long taps = (long)c->g.c * c->g.kh * c->g.kw;
    if (c->weight_gradient == CONV_WINOGRAD)
        return winograd_gradient_floats(&c->wino);
    return c->weight_gradient == CONV_TILES ? taps * wgrad_filters(c->filters) : (long)c->filters * taps;
}

/* The backward pass for images [lo, hi) on one thread: dy of image i at
 * dy + i * dy_stride (0: every image's at dy, for a conv that pools),
 * multiplied by ReLU'(y) first where y is given (the batch's outputs).
 * Adds to the partial dW (or dW^T) and dbias at partial; writes dx. The
 * thread's scratch keeps room for a partial at its start (unused here).
 * dx_weights (conv_dx_weights_floats, outside col): where the input
 * gradient's weights are packed for the tiles (then dy's padded copy) or
 * transformed for Winograd, once (dx_packed: their length, 0 until then);
 * they and that copy's zero border stay for the next call, as the weight
 * gradient's padded image's border does after the first call (first)
 * unless the input gradient worked in col. */
static void backward_images(struct layer *l, const struct layer_run *run, float *partial, float *scratch, int lo,
                            int hi, float *dy, long dy_stride, const float *y, float *dx_weights, long *dx_packed,
                            int first)
{
    struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int F = c->filters, G = c->groups, Fg = F / G;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow, HW = (long)g->h * g->w;
    const long in_size = shape_size(l->in[0]), out_size = (long)F * P;
    const float *weight = l->params[0].data;
    const enum conv_algorithm dx_algorithm = for_batch(c->input_gradient, run);
    const int dx_tiles = dx_algorithm == CONV_TILES && l->dx[0];
    const int dx_winograd = dx_algorithm == CONV_WINOGRAD && l->dx[0];
    const int dx_plain = l->dx[0] && !dx_tiles && !dx_winograd;
    struct gemm_buffers *gb = &run->gemm->buffers[omp_get_thread_num()];
    const long dw_size = partial_weight_floats(c);
    const struct conv_wgrad_geometry wg = {(int)taps, g->kh, g->kw, g->dh, g->dw, g->oh, g->ow,
                                           g->w + 2 * g->pw, (long)(g->h + 2 * g->ph) * (g->w + 2 * g->pw)};
    float *dweight = partial, *dbias = partial + dw_size;
    /* col and dcol start on cache lines, as dy does: the weight
     * gradient's dot products load both along P, and a row split
     * over two lines costs a third of their speed */
    float *col = scratch + cache_line_floats(dw_size + F), *dcol = col + cache_line_floats(taps * P);
    /* ReLU's gradient and the bias gradient in one pass (neither: none) */
    for (int i = lo; i < hi && (c->bias || y); i++)
        for (int f = 0; f < F; f++)
            dbias[f] += relu_grad_sum(dy + i * dy_stride + f * P, y ? y + i * out_size + f * P : NULL, P);
    if (dx_winograd) {
        /* dx = the convolution of dy with the flipped weights, by Winograd:
         * the weights transformed once, its work in col */
        if (*dx_packed == 0) {
            winograd_transform_weights(&c->wino_dx, weight, 1, dx_weights);
            *dx_packed = winograd_weight_floats(&c->wino_dx);
        }
        const struct conv_out out = {NULL, 0, NULL, 0, !l->dx_overwrite[0]};
        for (int i = lo; i < hi; i++)
            c->winograd->image(&c->wino_dx, dy + i * dy_stride, dx_weights, col, l->dx[0] + i * in_size, &out);
    }
    for (int gi = 0; gi < G && dx_tiles; gi++) {
        /* dx = the stride-1 convolution of dy with the flipped weights */
        const float *dyg = dy + gi * Fg * P;
        const int choice = conv_direct_choice(c->tiles, g->c);
        const int ready = G == 1 && *dx_packed > 0;
        if (!ready)
            *dx_packed =
                conv_direct_pack(c->tiles, choice, weight + gi * Fg * taps, Fg, g->c, g->kh * g->kw, 1, dx_weights);
        struct conv_out out = {l->dx[0] + gi * g->c * HW, in_size, NULL, 0, !l->dx_overwrite[0]};
        conv_tiles(c->tiles, choice, &c->plan_dx, dyg, dy_stride, dx_weights,
                   dx_weights + cache_line_floats(*dx_packed), ready, g->c, lo, hi, &out);
    }
    if (c->weight_gradient == CONV_TILES)
        conv_wgrad_direct(l, run, c->tiles, &wg, col, lo, hi, dy, dy_stride, dweight, first || dx_plain || dx_winograd);
    if (c->weight_gradient == CONV_SHIFTED)
        conv_wgrad_shifted(l, gb, &wg, col, lo, hi, dy, dy_stride, dweight, first || dx_plain || dx_winograd);
    if (c->weight_gradient == CONV_WINOGRAD)
        conv_wgrad_winograd(l, run, c->winograd, &c->wino, col, lo, hi, dy, dy_stride, dweight);
    for (int i = lo; i < hi; i++) {
        const float *dyi = dy + i * dy_stride;
        if (c->weight_gradient == CONV_DEPTHWISE) {
            float *dx = l->dx[0] ? l->dx[0] + i * in_size : NULL;
            if (dx && l->dx_overwrite[0])
                memset(dx, 0, sizeof(float) * in_size);
            conv_depthwise_backward(g, G, weight, l->x[0] + i * in_size, dyi, dweight, dx);
            continue;
        }
        for (int gi = 0; gi < G; gi++)
            plain_backward(c, gb, weight + gi * Fg * taps, l->x[0] + i * in_size + gi * g->c * HW, dyi + gi * Fg * P,
                           dweight + gi * Fg * taps, dx_plain ? l->dx[0] + i * in_size + gi * g->c * HW : NULL,
                           l->dx_overwrite[0], col, dcol);
    }
}

static void conv_backward(struct layer *l, const struct layer_run *run)
{
    struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int F = c->filters;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow, out_size = (long)F * P;
    const int dw_tiles = c->weight_gradient == CONV_TILES;
    /* each chunk's partial dW (F x taps), or dW^T (taps x Fpad), then dbias */
    const long Fpad = wgrad_filters(F), dw_size = partial_weight_floats(c);
    const long partial_size = dw_size + F;
    /* ReLU's gradient is applied per image, in the pass that sums the bias
     * gradient (or, pooled, before routing); other activations here, over
     * the whole batch */
    const int relu = c->act.kind == ACT_RELU;
    if (c->act.kind != ACT_NONE && !relu)
        activation_backward(&c->act, l->y, l->dy, l->dy, run->n * out_size, 0, run->threads);
    /* Chunk k's images of the step's whole batch (layer_chunk_images): the
     * same ranges, and in each the same order of images, at any thread
     * count; an MPI rank sums the parts of them it holds, and the ranks'
     * sums added are the tree's two halves when the batch splits in two
     * (train.c) */
    const int chunks = LAYER_GRADIENT_CHUNKS;
    const int workers = image_threads(run) < chunks ? image_threads(run) : chunks;
#pragma omp parallel num_threads(workers)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads(), k_lo, k_hi;
        split_range(chunks, t, nt, &k_lo, &k_hi);
        float *scratch = run->scratch + t * run->scratch_stride;
        long dx_packed = 0;
        int first = 1;
        for (int k = k_lo; k < k_hi; k++) {
            int lo, hi;
            layer_chunk_images(run, k, &lo, &hi);
            float *partial = run->partials + k * run->partial_stride;
            memset(partial, 0, sizeof(float) * partial_size);
            if (!l->pool) {
                backward_images(l, run, partial, scratch, lo, hi, l->dy, out_size, relu ? l->y : NULL,
                                scratch + l->scratch_floats - conv_dx_weights_floats(l), &dx_packed, 1);
            } else {
                /* one image at a time through L2: its gradient before
                 * pooling, then everything that reads it */
                float *dz = conv_unpooled_image(l, scratch);
                float *dx_weights = dz + cache_line_floats(shape_size(l->out));
                for (int i = lo; i < hi; i++, first = 0) {
                    conv_unpool_gradient(l, run, i, dz);
                    backward_images(l, run, partial, scratch, i, i + 1, dz, 0, NULL, dx_weights, &dx_packed, first);
                }
            }
        }
    }
    /* The partials added in one fixed tree (pairs, then pairs of pairs):
     * each element has one order of additions. Winograd's partials are dU,
     * summed into chunk 0's (each element read before it is written) and
     * turned into dW after. */
    float *dweight = l->params[0].grad, *dbias = c->bias ? l->params[1].grad : NULL;
    float *partials = run->partials;
    const long stride = run->partial_stride;
    const int winograd = c->weight_gradient == CONV_WINOGRAD;
    const long dw_sums = winograd ? dw_size : (long)F * taps;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (partial_size * chunks > LAYER_PARALLEL_MIN_FLOATS)
    for (long e = 0; e < dw_sums + F; e++) {
        /* element e of (dW, dbias) in the partials: dW^T's (tap, f) for
         * the direct weight gradient */
        const long at = e >= dw_sums ? dw_size + e - dw_sums
                        : dw_tiles   ? e % taps * Fpad + e / taps
                                     : e;
        const float sum = layer_partials_sum(partials, stride, at);
        if (e >= dw_sums) {
            if (dbias)
                dbias[e - dw_sums] = sum;
        } else if (winograd) {
            partials[at] = sum;
        } else {
            dweight[e] = sum;
        }
    }
    if (winograd)
        winograd_finish_gradient(&c->wino, partials, dweight);
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

/* Conv (kernel_shape written out: OpenCV needs it), then the activation */
static int conv_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err, size_t errlen)
{
    const struct conv_conf *c = l->conf;
    const char *in[3] = {inputs[0], NULL, NULL};
    struct onnx_node *n = NULL;
    if (onnx_param(g, l->name, &l->params[0], &in[1]) == 0 &&
        (!c->bias || onnx_param(g, l->name, &l->params[1], &in[2]) == 0))
        n = onnx_node(g, "Conv", activation_onnx_target(&c->act, g, l->name), c->bias ? 3 : 2, in);
    const long dilations[2] = {c->dh, c->dw};
    if (onnx_window(g, n, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw) < 0 ||
        onnx_attr_ints(g, n, "dilations", 2, dilations) < 0 ||
        onnx_attr_int(g, n, "group", c->groups) < 0 || activation_onnx(&c->act, g, l->name) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_conv = {
    .type = "conv", .parse = conv_parse, .shape = conv_shape, .forward = conv_forward, .backward = conv_backward,
    .gemms = conv_gemms,
    .fuse_activation = conv_fuse_activation,
    .fuse_pool = conv_fuse_pool,
    .choose = conv_choose,
    .onnx = conv_onnx,
};
