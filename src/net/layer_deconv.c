/* layer_deconv.c - the transposed convolution ("deconvolution"): the
 * adjoint of conv, which upsamples (FCN's learned upsampling).
 *
 *   x: (N, C, H, W), weight: (C, F, KH, KW) (PyTorch's ConvTranspose2d
 *   layout), bias: (F) -> y: (N, F, OH, OW) with
 *   OH = (H - 1) S - 2 P + KH + OP   (OP: output padding, < S)
 * Input pixel (iy, ix) of channel c adds w[c][f][ki][kj] x to output pixel
 * (iy S - P + ki, ix S - P + kj) of filter f: exactly what conv's input
 * gradient does with dy. So, with g the conv from F x OH x OW to C x H x W
 * (the same window, stride and padding; OP makes its floor rounding give
 * back H), per image:
 *   forward:   col = weight^T x      (F*KH*KW, H*W)
 *              y = col2im_g(col) + bias, then act(y) in place
 *   backward:  dy = dy * act'(y); dbias += rowsum(dy)
 *              col = im2col_g(dy)   (F*KH*KW, H*W)
 *              dweight += x col^T    (C, F*KH*KW)
 *              dx = weight col       (C, H*W)
 * The weight gradient is summed over LAYER_GRADIENT_CHUNKS fixed ranges of
 * images, each into its own partial, added in one fixed tree (as conv's):
 * the same bits at any thread count. */
#include "activation.h"
#include "im2col.h"
#include "layer.h"
#include "onnx_graph.h"

#include "parallel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct deconv_conf {
    int filters, kh, kw, sh, sw, ph, pw, oph, opw, bias;
    struct init_spec init;
    struct activation act;
    struct conv_geometry g;   /* the conv whose input gradient this is: F x OH x OW -> C x H x W */
};

static int deconv_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct deconv_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
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
        layer_parse_pair(cfg, s, "pad", &c->ph, &c->pw, 0, 0, 1024) < 0 ||
        layer_parse_pair(cfg, s, "output_pad", &c->oph, &c->opw, 0, 0, 1023) < 0)
        rc = -1;
    if (config_get_int(cfg, s, "bias", &bias, 1, 0, 1) < 0)
        rc = -1;
    if (activation_parse(cfg, s, &c->act) < 0)
        rc = -1;
    c->filters = (int)filters;
    c->bias = (int)bias;
    c->init = l->default_init;
    if (layer_parse_init(cfg, s, &c->init) < 0)
        rc = -1;
    return rc;
}

static int deconv_shape(struct layer *l, char *err, size_t errlen)
{
    struct deconv_conf *c = l->conf;
    const int C = l->in[0].c, H = l->in[0].h, W = l->in[0].w;
    if (c->oph >= c->sh || c->opw >= c->sw) {
        snprintf(err, errlen, "output_pad must be smaller than the stride (output_pad %d x %d, stride %d x %d)",
                 c->oph, c->opw, c->sh, c->sw);
        return -1;
    }
    const long oh = (long)(H - 1) * c->sh - 2L * c->ph + c->kh + c->oph;
    const long ow = (long)(W - 1) * c->sw - 2L * c->pw + c->kw + c->opw;
    if (oh < 1 || ow < 1 || oh > 1 << 20 || ow > 1 << 20) {
        snprintf(err, errlen, "output %ld x %ld: (H - 1) stride - 2 pad + size + output_pad must be 1 or more "
                 "(input %d x %d, size %d x %d, stride %d x %d, pad %d x %d)", oh, ow, H, W, c->kh, c->kw, c->sh,
                 c->sw, c->ph, c->pw);
        return -1;
    }
    c->g = (struct conv_geometry){c->filters, (int)oh, (int)ow, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw, H, W, 1, 1};
    l->out = (struct shape){c->filters, (int)oh, (int)ow};
    const long taps = (long)c->filters * c->kh * c->kw, HW = (long)H * W;
    int wdims[4] = {C, c->filters, c->kh, c->kw};
    /* each output sums about C KH KW / (SH SW) products */
    const long fan_in = (long)C * c->kh * c->kw / ((long)c->sh * c->sw);
    layer_add_param(l, "weight", 4, wdims, (int)(fan_in > 0 ? fan_in : 1), c->init);
    if (c->bias) {
        int bdims[1] = {c->filters};
        layer_add_param(l, "bias", 1, bdims, (int)(fan_in > 0 ? fan_in : 1), (struct init_spec){INIT_ZERO, 0});
    }
    /* a thread's partial room, then col */
    l->partial_floats = (long)C * taps + c->filters;
    l->scratch_floats = cache_line_floats(l->partial_floats) + cache_line_floats(taps * HW);
    l->flops = 2.0 * C * taps * HW + (c->bias ? (double)c->filters * oh * ow : 0);
    return 0;
}

static void deconv_forward(struct layer *l, const struct layer_run *run)
{
    struct deconv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int C = l->in[0].c;
    const long taps = (long)c->filters * c->kh * c->kw, HW = (long)g->oh * g->ow, P = (long)g->h * g->w;
    const long in_size = (long)C * HW, out_size = (long)c->filters * P;
    const float *weight = l->params[0].data, *bias = c->bias ? l->params[1].data : NULL;
#pragma omp parallel num_threads(image_threads(run))
    {
        int t = omp_get_thread_num(), lo, hi;
        split_range(run->n, t, omp_get_num_threads(), &lo, &hi);
        float *col = run->scratch + t * run->scratch_stride + cache_line_floats(l->partial_floats);
        struct gemm_buffers *gb = &run->gemm->buffers[t];
        for (int i = lo; i < hi; i++) {
            float *y = l->y + i * out_size;
            gemm_serial(gb, GEMM_T, GEMM_N, taps, HW, C, 1.0f, weight, taps, l->x[0] + i * in_size, HW, 0.0f, col,
                        HW);
            memset(y, 0, sizeof(float) * out_size);
            col2im(col, g, y);
            if (bias)
                for (int f = 0; f < c->filters; f++)
                    for (long p = 0; p < P; p++)
                        y[f * P + p] += bias[f];
            if (c->act.kind != ACT_NONE)
                activation_forward_serial(&c->act, y, y, out_size, run->frozen ? l->frozen_y + i * out_size : NULL);
        }
    }
}

static void deconv_backward(struct layer *l, const struct layer_run *run)
{
    struct deconv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int C = l->in[0].c, F = c->filters;
    const long taps = (long)F * c->kh * c->kw, HW = (long)g->oh * g->ow, P = (long)g->h * g->w;
    const long in_size = (long)C * HW, out_size = (long)F * P, dw_size = (long)C * taps;
    const float *weight = l->params[0].data;
    if (c->act.kind != ACT_NONE)
        activation_backward(&c->act, l->y, l->dy, l->dy, run->n * out_size, 0, run->threads);
    /* chunk k: its images of the global batch (layer_chunk_images), as
     * conv's (layer_conv.c) */
    const int chunks = LAYER_GRADIENT_CHUNKS;
    const int workers = image_threads(run) < chunks ? image_threads(run) : chunks;
#pragma omp parallel num_threads(workers)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads(), k_lo, k_hi;
        split_range(chunks, t, nt, &k_lo, &k_hi);
        float *col = run->scratch + t * run->scratch_stride + cache_line_floats(l->partial_floats);
        struct gemm_buffers *gb = &run->gemm->buffers[t];
        for (int k = k_lo; k < k_hi; k++) {
            int lo, hi;
            layer_chunk_images(run, k, &lo, &hi);
            float *dweight = run->partials + k * run->partial_stride, *dbias = dweight + dw_size;
            memset(dweight, 0, sizeof(float) * (dw_size + F));
            for (int i = lo; i < hi; i++) {
                const float *dy = l->dy + i * out_size, *x = l->x[0] + i * in_size;
                for (int f = 0; f < F; f++) {
                    float sum = 0.0f;
                    for (long p = 0; p < P; p++)
                        sum += dy[f * P + p];
                    dbias[f] += sum;
                }
                im2col(dy, g, col);
                gemm_serial(gb, GEMM_N, GEMM_T, C, taps, HW, 1.0f, x, HW, col, HW, 1.0f, dweight, taps);
                if (l->dx[0])
                    gemm_serial(gb, GEMM_N, GEMM_N, C, HW, taps, 1.0f, weight, taps, col, HW,
                                l->dx_overwrite[0] ? 0.0f : 1.0f, l->dx[0] + i * in_size, HW);
            }
        }
    }
    /* the partials added in one fixed tree */
    float *dw = l->params[0].grad, *db = c->bias ? l->params[1].grad : NULL;
    const float *partials = run->partials;
    const long stride = run->partial_stride;
#pragma omp parallel for num_threads(run->threads) schedule(static) if ((dw_size + F) * chunks > LAYER_PARALLEL_MIN_FLOATS)
    for (long e = 0; e < dw_size + F; e++) {
        const float sum = layer_partials_sum(partials, stride, e);
        if (e < dw_size)
            dw[e] = sum;
        else if (db)
            db[e - dw_size] = sum;
    }
}

static int deconv_gemms(const struct layer *l, int batch, struct gemm_shape *out)
{
    (void)batch;
    const struct deconv_conf *c = l->conf;
    const long taps = (long)c->filters * c->kh * c->kw, HW = (long)c->g.oh * c->g.ow, C = l->in[0].c;
    out[0] = (struct gemm_shape){"forward", GEMM_T, GEMM_N, taps, HW, C, 1};
    out[1] = (struct gemm_shape){"weight gradient", GEMM_N, GEMM_T, C, taps, HW, 1};
    out[2] = (struct gemm_shape){"input gradient", GEMM_N, GEMM_N, C, HW, taps, 1};
    return l->inputs[0] < 0 ? 2 : 3;
}

/* A following activation layer, applied here in place (net.c). */
static int deconv_fuse_activation(struct layer *l, const struct activation *a)
{
    return activation_adopt(&((struct deconv_conf *)l->conf)->act, a);
}

/* ConvTranspose (its weight layout is ours: C x F x KH x KW), then the
 * activation */
static int deconv_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                       size_t errlen)
{
    const struct deconv_conf *c = l->conf;
    const char *in[3] = {inputs[0], NULL, NULL};
    struct onnx_node *n = NULL;
    if (onnx_param(g, l->name, &l->params[0], &in[1]) == 0 &&
        (!c->bias || onnx_param(g, l->name, &l->params[1], &in[2]) == 0))
        n = onnx_node(g, "ConvTranspose", activation_onnx_target(&c->act, g, l->name), c->bias ? 3 : 2, in);
    const long output_padding[2] = {c->oph, c->opw};
    if (onnx_window(g, n, c->kh, c->kw, c->sh, c->sw, c->ph, c->pw) < 0 ||
        onnx_attr_ints(g, n, "output_padding", 2, output_padding) < 0 ||
        activation_onnx(&c->act, g, l->name) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_deconv = {
    .type = "deconv", .parse = deconv_parse, .shape = deconv_shape, .forward = deconv_forward,
    .backward = deconv_backward, .gemms = deconv_gemms, .fuse_activation = deconv_fuse_activation,
    .onnx = deconv_onnx,
};
