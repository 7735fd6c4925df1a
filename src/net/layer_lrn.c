/* layer_lrn.c - local response normalisation across channels (AlexNet):
 *
 *   s_c = k + alpha/n * sum_{c' in W(c)} x_c'^2,   W(c) = [c - n/2, c + n/2]
 *   y_c = x_c * s_c^-beta
 *   dx_c = dy_c * s_c^-beta
 *          - (2 alpha beta / n) x_c * sum_{c' in W(c)} dy_c' y_c' / s_c'
 * (the window is symmetric, so c is in W(c') exactly when c' is in W(c)).
 * Defaults are AlexNet's: n = 5, alpha = 1e-4, beta = 0.75, k = 2. s is kept
 * in the layer's state for backward. */
#include "layer.h"
#include "onnx_graph.h"

#include <stdio.h>

#include <math.h>
#include <stdlib.h>

struct lrn_conf {
    int size;
    float alpha, beta, k;
};

static int lrn_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct lrn_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
    long size;
    double alpha, beta, k;
    int rc = 0;
    if (config_get_int(cfg, s, "size", &size, 5, 1, 1023) < 0)
        rc = -1;
    else if (size % 2 == 0) {
        config_error(cfg, s, config_find(s, "size"), "must be odd (a window centred on each channel)");
        rc = -1;
    }
    if (config_get_float(cfg, s, "alpha", &alpha, 1e-4, 0.0, 1e3) < 0 ||
        config_get_float(cfg, s, "beta", &beta, 0.75, 0.0, 10.0) < 0 ||
        config_get_float(cfg, s, "k", &k, 2.0, 1e-6, 1e6) < 0)
        rc = -1;
    c->size = (int)size;
    c->alpha = (float)alpha;
    c->beta = (float)beta;
    c->k = (float)k;
    return rc;
}

static int lrn_shape(struct layer *l, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const struct lrn_conf *c = l->conf;
    l->out = l->in[0];
    l->state_floats = shape_size(l->out);   /* s */
    l->flops = (2.0 * c->size + 10) * shape_size(l->out);
    return 0;
}

static void lrn_forward(struct layer *l, const struct layer_run *run)
{
    const struct lrn_conf *c = l->conf;
    const int C = l->out.c, half = c->size / 2;
    const long HW = (long)l->out.h * l->out.w, size = C * HW;
    const float a = c->alpha / c->size;
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int i = 0; i < run->n; i++) {
        const float *x = l->x[0] + i * size;
        float *y = l->y + i * size, *s = l->state + i * size;
        for (int ch = 0; ch < C; ch++) {
            int lo = ch - half < 0 ? 0 : ch - half, hi = ch + half >= C ? C - 1 : ch + half;
            for (long p = 0; p < HW; p++) {
                float sum = 0.0f;
                for (int q = lo; q <= hi; q++)
                    sum += x[q * HW + p] * x[q * HW + p];
                float sc = c->k + a * sum;
                s[ch * HW + p] = sc;
                y[ch * HW + p] = x[ch * HW + p] * powf(sc, -c->beta);
            }
        }
    }
}

static void lrn_backward(struct layer *l, const struct layer_run *run)
{
    if (!l->dx[0])
        return;
    const struct lrn_conf *c = l->conf;
    const int C = l->out.c, half = c->size / 2;
    const long HW = (long)l->out.h * l->out.w, size = C * HW;
    const float coef = 2.0f * c->alpha * c->beta / c->size;
    const int add = !l->dx_overwrite[0];
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int i = 0; i < run->n; i++) {
        const float *x = l->x[0] + i * size, *y = l->y + i * size, *s = l->state + i * size;
        const float *dy = l->dy + i * size;
        float *dx = l->dx[0] + i * size;
        for (int ch = 0; ch < C; ch++) {
            int lo = ch - half < 0 ? 0 : ch - half, hi = ch + half >= C ? C - 1 : ch + half;
            for (long p = 0; p < HW; p++) {
                float sum = 0.0f;
                for (int q = lo; q <= hi; q++)
                    sum += dy[q * HW + p] * y[q * HW + p] / s[q * HW + p];
                long e = ch * HW + p;
                float v = dy[e] * powf(s[e], -c->beta) - coef * x[e] * sum;
                dx[e] = add ? dx[e] + v : v;
            }
        }
    }
}

/* LRN: ONNX's formula is ours (bias k, alpha over the size; the window
 * centred, as our odd sizes are) */
static int lrn_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err, size_t errlen)
{
    const struct lrn_conf *c = l->conf;    struct onnx_node *n = onnx_node(g, "LRN", l->name, 1, inputs);
    if (!n || onnx_attr_int(g, n, "size", c->size) < 0 || onnx_attr_float(g, n, "alpha", c->alpha) < 0 ||
        onnx_attr_float(g, n, "beta", c->beta) < 0 || onnx_attr_float(g, n, "bias", c->k) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_lrn = {
    .type = "lrn", .parse = lrn_parse, .shape = lrn_shape, .forward = lrn_forward, .backward = lrn_backward,
    .onnx = lrn_onnx,
};
