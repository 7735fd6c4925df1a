/* layer_affine.c - fully connected: y = x * weight + bias.
 *
 *   x: (N, D) with D = C*H*W (the input is flattened), weight: (D, O),
 *   bias: (O) -> y: (N, O, 1, 1)
 *   y = act(y), in place, when `activation` is set; backward first makes
 *   dy = dy * act'(y) in place (dy belongs to this layer), then
 *   dweight = x^T * dy,  dbias = colsum(dy),  dx = dy * weight^T
 * The weight layout (D, O) is the book's (x W + b). All three products run
 * on the threaded GEMM, which splits C by columns or rows: deterministic. */
#include "activation.h"
#include "layer.h"
#include "onnx_graph.h"

#include <stdio.h>
#include <stdlib.h>

struct affine_conf {
    int outputs, bias;
    struct init_spec init;
    struct activation act;
};

static int affine_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct affine_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
    long outputs, bias;
    int rc = 0;
    if (!config_find(s, "outputs")) {
        config_error(cfg, s, NULL, "outputs: missing (the number of output units)");
        rc = -1;
    }
    if (config_get_int(cfg, s, "outputs", &outputs, 1, 1, 1 << 24) < 0)
        rc = -1;
    if (config_get_int(cfg, s, "bias", &bias, 1, 0, 1) < 0)
        rc = -1;
    if (activation_parse(cfg, s, &c->act) < 0)
        rc = -1;
    c->outputs = (int)outputs;
    c->bias = (int)bias;
    c->init = l->default_init;
    if (layer_parse_init(cfg, s, &c->init) < 0)
        rc = -1;
    return rc;
}

static int affine_shape(struct layer *l, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct affine_conf *c = l->conf;
    long D = shape_size(l->in[0]);
    l->out = (struct shape){c->outputs, 1, 1};
    int wdims[2] = {(int)D, c->outputs}, bdims[1] = {c->outputs};
    layer_add_param(l, "weight", 2, wdims, (int)D, c->init);
    if (c->bias)
        layer_add_param(l, "bias", 1, bdims, (int)D, (struct init_spec){INIT_ZERO, 0});
    l->flops = 2.0 * D * c->outputs + c->outputs;
    return 0;
}

static void affine_forward(struct layer *l, const struct layer_run *run)
{
    const struct affine_conf *c = l->conf;
    const long D = shape_size(l->in[0]), O = l->out.c;
    gemm(run->gemm, GEMM_N, GEMM_N, run->n, O, D, 1.0f, l->x[0], D, l->params[0].data, O, 0.0f, l->y, O);
    if (c->bias) {
        const float *bias = l->params[1].data;
        for (int i = 0; i < run->n; i++)
            for (long j = 0; j < O; j++)
                l->y[i * O + j] += bias[j];
    }
    if (c->act.kind != ACT_NONE)
        activation_forward(&c->act, l->y, l->y, run->n * O, run->threads, run->frozen ? l->frozen_y : NULL);
}

/* dW = x^T dy and dbias = the column sums of dy, over n images: x (n, D),
 * dy (n, O) after the activation's gradient. */
static void affine_parameter_gradients(struct layer *l, const struct layer_run *run, const float *x, const float *dy,
                                       int n)
{
    const struct affine_conf *c = l->conf;
    const long D = shape_size(l->in[0]), O = l->out.c;
    gemm(run->gemm, GEMM_T, GEMM_N, D, O, n, 1.0f, x, D, dy, O, 0.0f, l->params[0].grad, O);
    if (c->bias) {
        float *dbias = l->params[1].grad;
        for (long j = 0; j < O; j++)
            dbias[j] = 0.0f;
        for (int i = 0; i < n; i++)
            for (long j = 0; j < O; j++)
                dbias[j] += dy[i * O + j];
    }
}

static void affine_backward(struct layer *l, const struct layer_run *run)
{
    const struct affine_conf *c = l->conf;
    const long D = shape_size(l->in[0]), O = l->out.c;
    if (c->act.kind != ACT_NONE)
        activation_backward(&c->act, l->y, l->dy, l->dy, run->n * O, 0, run->threads);
    affine_parameter_gradients(l, run, l->x[0], l->dy, run->n);
    if (l->dx[0])
        gemm(run->gemm, GEMM_N, GEMM_T, run->n, D, O, 1.0f, l->dy, O, l->params[0].data, O,
             l->dx_overwrite[0] ? 0.0f : 1.0f, l->dx[0], D);
}

static int affine_gemms(const struct layer *l, int batch, struct gemm_shape *out)
{
    long D = shape_size(l->in[0]), O = l->out.c;
    out[0] = (struct gemm_shape){"forward", GEMM_N, GEMM_N, batch, O, D, 0};
    out[1] = (struct gemm_shape){"weight gradient", GEMM_T, GEMM_N, D, O, batch, 0};
    out[2] = (struct gemm_shape){"input gradient", GEMM_N, GEMM_T, batch, D, O, 0};
    return l->inputs[0] < 0 ? 2 : 3;
}

/* A following activation layer, applied here in place (net.c). */
static int affine_fuse_activation(struct layer *l, const struct activation *a)
{
    return activation_adopt(&((struct affine_conf *)l->conf)->act, a);
}

/* Flatten, Gemm, then the activation. The weight goes out as O x D with
 * transB (PyTorch's Linear's layout, the one OpenCV reads); ours is D x O. */
static int affine_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                       size_t errlen)
{
    const struct affine_conf *c = l->conf;
    const struct param *w = &l->params[0];
    const long D = w->dims[0], O = w->dims[1], wd[2] = {O, D}, bd[1] = {c->outputs};
    float *wt = malloc(sizeof(float) * D * O);
    if (!wt) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (long d = 0; d < D; d++)
        for (long o = 0; o < O; o++)
            wt[o * D + d] = w->data[d * O + o];
    const char *flat = onnx_name(g, l->name, "flat"), *weight = onnx_name(g, l->name, "weight");
    const char *bias = c->bias ? onnx_name(g, l->name, "bias") : NULL;
    struct onnx_node *f = flat ? onnx_node(g, "Flatten", flat, 1, inputs) : NULL;
    const char *in[3] = {flat, weight, bias};
    struct onnx_node *n = NULL;
    if (f && onnx_attr_int(g, f, "axis", 1) == 0 && weight && onnx_floats(g, weight, 2, wd, wt) == 0 &&
        (!c->bias || (bias && onnx_floats(g, bias, 1, bd, l->params[1].data) == 0)))
        n = onnx_node(g, "Gemm", activation_onnx_target(&c->act, g, l->name), c->bias ? 3 : 2, in);
    free(wt);
    if (!n || onnx_attr_int(g, n, "transB", 1) < 0 || activation_onnx(&c->act, g, l->name) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_affine = {
    .type = "affine", .parse = affine_parse, .shape = affine_shape, .forward = affine_forward,
    .backward = affine_backward, .gemms = affine_gemms, .batch_gradients = affine_parameter_gradients,
    .fuse_activation = affine_fuse_activation,
    .onnx = affine_onnx,
};
