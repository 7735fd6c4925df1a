/* layer_conv.c - 2-D convolution by im2col + GEMM, one image at a time.
 *
 *   x: (N, C, H, W), weight: (F, C, KH, KW), bias: (F) -> y: (N, F, OH, OW)
 *   forward, per image:   col = im2col(x_i)           (C*KH*KW, P), P = OH*OW
 *                         y_i = weight * col + bias    (F, P), already NCHW
 *   backward, per image:  dweight += dy_i * col^T      (F, C*KH*KW)
 *                         dbias   += rowsum(dy_i)
 *                         dx_i     = col2im(weight^T * dy_i)
 * Images are split into one contiguous range per thread; each thread
 * accumulates its own partial dweight/dbias in its scratch, and the partials
 * are summed in thread order afterwards, so results are identical run after
 * run at a given thread count. A 1x1 convolution at stride 1 without padding
 * skips im2col: the image already is its column matrix. */
#include "layer.h"
#include "im2col.h"

#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct conv_conf {
    int filters, kh, kw, sh, sw, ph, pw, bias;
    struct init_spec init;
    struct conv_geometry g;   /* set by shape() */
};

static int conv_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct conv_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    long filters, bias;
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
        layer_parse_pair(cfg, s, "pad", &c->ph, &c->pw, 0, 0, 1024) < 0)
        rc = -1;
    if (config_get_int(cfg, s, "bias", &bias, 1, 0, 1) < 0)
        rc = -1;
    c->filters = (int)filters;
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
    *g = (struct conv_geometry){l->in[0].c, l->in[0].h, l->in[0].w, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw, 0, 0};
    g->oh = conv_output_size(g->h, g->kh, g->sh, g->ph);
    g->ow = conv_output_size(g->w, g->kw, g->sw, g->pw);
    if (g->oh < 0) {
        layer_size_error(err, errlen, "output height", g->h, g->kh, g->sh, g->ph);
        return -1;
    }
    if (g->ow < 0) {
        layer_size_error(err, errlen, "output width", g->w, g->kw, g->sw, g->pw);
        return -1;
    }
    l->out = (struct shape){c->filters, g->oh, g->ow};
    long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow;
    int wdims[4] = {c->filters, g->c, g->kh, g->kw};
    layer_add_param(l, "weight", 4, wdims, (int)taps, c->init);
    if (c->bias) {
        int bdims[1] = {c->filters};
        layer_add_param(l, "bias", 1, bdims, (int)taps, (struct init_spec){INIT_ZERO, 0});
    }
    /* col (taps x P) for im2col, the same again for the input gradient,
     * and this thread's partial weight and bias gradients. */
    l->scratch_floats = 2 * taps * P + (long)c->filters * taps + c->filters;
    l->flops = 2.0 * c->filters * taps * P + (c->bias ? (double)c->filters * P : 0);
    return 0;
}

static int is_pointwise(const struct conv_geometry *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

static void conv_forward(struct layer *l, const struct layer_run *run)
{
    struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow;
    const long in_size = shape_size(l->in[0]), out_size = (long)c->filters * P;
    const float *weight = l->params[0].data, *bias = c->bias ? l->params[1].data : NULL;
#pragma omp parallel num_threads(run->threads)
    {
        int t = omp_get_thread_num(), lo, hi;
        split_range(run->n, t, omp_get_num_threads(), &lo, &hi);
        float *col = run->scratch + t * run->scratch_stride;
        for (int i = lo; i < hi; i++) {
            const float *x = l->x[0] + i * in_size;
            float *y = l->y + i * out_size;
            const float *cols = x;
            if (!is_pointwise(g)) {
                im2col(x, g, col);
                cols = col;
            }
            gemm_serial(&run->gemm->buffers[t], GEMM_N, GEMM_N, c->filters, P, taps, 1.0f, weight, taps, cols, P,
                        0.0f, y, P);
            if (bias)
                for (int f = 0; f < c->filters; f++)
                    for (long p = 0; p < P; p++)
                        y[f * P + p] += bias[f];
        }
    }
}

static void conv_backward(struct layer *l, const struct layer_run *run)
{
    struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int F = c->filters;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow;
    const long in_size = shape_size(l->in[0]), out_size = (long)F * P;
    const long partial_size = (long)F * taps + F;
    const float *weight = l->params[0].data;
    int team = 1;
#pragma omp parallel num_threads(run->threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads(), lo, hi;
        split_range(run->n, t, nt, &lo, &hi);
#pragma omp single
        team = nt;
        float *scratch = run->scratch + t * run->scratch_stride;
        float *dweight = scratch, *dbias = scratch + (long)F * taps;
        float *col = scratch + partial_size, *dcol = col + taps * P;
        memset(dweight, 0, sizeof(float) * partial_size);
        for (int i = lo; i < hi; i++) {
            const float *x = l->x[0] + i * in_size;
            const float *dy = l->dy + i * out_size;
            const float *cols = x;
            if (!is_pointwise(g)) {
                im2col(x, g, col);
                cols = col;
            }
            gemm_serial(&run->gemm->buffers[t], GEMM_N, GEMM_T, F, taps, P, 1.0f, dy, P, cols, P, 1.0f, dweight,
                        taps);
            for (int f = 0; f < F; f++) {
                float sum = 0.0f;
                for (long p = 0; p < P; p++)
                    sum += dy[f * P + p];
                dbias[f] += sum;
            }
            if (l->dx[0]) {
                float *dx = l->dx[0] + i * in_size;
                if (is_pointwise(g)) {
                    gemm_serial(&run->gemm->buffers[t], GEMM_T, GEMM_N, taps, P, F, 1.0f, weight, taps, dy, P,
                                l->dx_overwrite[0] ? 0.0f : 1.0f, dx, P);
                } else {
                    gemm_serial(&run->gemm->buffers[t], GEMM_T, GEMM_N, taps, P, F, 1.0f, weight, taps, dy, P, 0.0f,
                                dcol, P);
                    if (l->dx_overwrite[0])
                        memset(dx, 0, sizeof(float) * in_size);
                    col2im(dcol, g, dx);
                }
            }
        }
    }
    /* Sum the partials in thread order: each element has one fixed order. */
    float *dweight = l->params[0].grad, *dbias = c->bias ? l->params[1].grad : NULL;
#pragma omp parallel for num_threads(run->threads) schedule(static)
    for (long e = 0; e < partial_size; e++) {
        float sum = 0.0f;
        for (int t = 0; t < team; t++)
            sum += run->scratch[t * run->scratch_stride + e];
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
    long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow;
    out[0] = (struct gemm_shape){"forward", GEMM_N, GEMM_N, c->filters, P, taps, 1};
    out[1] = (struct gemm_shape){"weight gradient", GEMM_N, GEMM_T, c->filters, taps, P, 1};
    out[2] = (struct gemm_shape){"input gradient", GEMM_T, GEMM_N, taps, P, c->filters, 1};
    return l->inputs[0] < 0 ? 2 : 3;  /* the first layer needs no input gradient */
}

const struct layer_ops layer_conv = {
    .type = "conv", .parse = conv_parse, .shape = conv_shape, .forward = conv_forward, .backward = conv_backward,
    .gemms = conv_gemms,
};
