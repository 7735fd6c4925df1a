/* layer_merge.c - layers that join several inputs (`input = a, b, ...`):
 *
 *   add     y = x0 + x1 + ...        all inputs of one shape (ResNet shortcuts)
 *           dx_k = dy
 *           (a following activation layer that alone reads y is applied
 *           here, a block at a time while it is in cache: y = f(x0 + x1),
 *           dx_k = dy f'(y); net.c fuses it)
 *   concat  y = [x0; x1; ...]        along channels, same H and W (Inception)
 *           dx_k = dy's slice k
 *   scale   y[c] = x0[c] * x1[c]     x0: (C, H, W) feature maps, x1: C weights
 *                                    (SENet's excitation, usually (C, 1, 1))
 *           dx0[c] = dy[c] * x1[c],  dx1[c] = sum over H, W of dy[c] * x0[c] */
#include "activation.h"
#include "layer.h"
#include "onnx_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* add's settings: only a fused activation (NULL conf: none) */
struct add_conf {
    struct activation act;
};

/* Elements go through the loops of add a block at a time, so the sum and
 * the activation (or the activation's derivative and the copies) meet it
 * in L1: 4096 floats, 16 KiB. */
#define ADD_BLOCK 4096

static void shape_text(struct shape s, char *buf, size_t len)
{
    snprintf(buf, len, "%d x %d x %d", s.c, s.h, s.w);
}

static int add_shape(struct layer *l, char *err, size_t errlen)
{
    for (int k = 1; k < l->input_count; k++)
        if (l->in[k].c != l->in[0].c || l->in[k].h != l->in[0].h || l->in[k].w != l->in[0].w) {
            char a[48], b[48];
            shape_text(l->in[0], a, sizeof a);
            shape_text(l->in[k], b, sizeof b);
            snprintf(err, errlen, "add needs inputs of one shape, but input 1 is %s and input %d is %s "
                     "(a 1x1 conv with a stride on the shortcut matches them)", a, k + 1, b);
            return -1;
        }
    l->out = l->in[0];
    l->flops = (double)(l->input_count - 1) * shape_size(l->out);
    return 0;
}

static void add_forward(struct layer *l, const struct layer_run *run)
{
    const struct add_conf *c = l->conf;
    const long count = run->n * shape_size(l->out), blocks = (count + ADD_BLOCK - 1) / ADD_BLOCK;
    float *y = l->y;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (count > LAYER_PARALLEL_MIN_FLOATS)
    for (long blk = 0; blk < blocks; blk++) {
        const long lo = blk * ADD_BLOCK, n = count - lo < ADD_BLOCK ? count - lo : ADD_BLOCK;
        const float *x0 = l->x[0] + lo, *x1 = l->input_count > 1 ? l->x[1] + lo : NULL;
        float *yb = y + lo;
        if (x1) {
#pragma omp simd
            for (long e = 0; e < n; e++)
                yb[e] = x0[e] + x1[e];
        } else {
            memcpy(yb, x0, sizeof(float) * n);
        }
        for (int k = 2; k < l->input_count; k++) {
            const float *x = l->x[k] + lo;
#pragma omp simd
            for (long e = 0; e < n; e++)
                yb[e] += x[e];
        }
        if (c && c->act.kind != ACT_NONE)
            activation_forward_serial(&c->act, yb, yb, n, run->frozen ? l->frozen_y + lo : NULL);
    }
}

static void add_backward(struct layer *l, const struct layer_run *run)
{
    const struct add_conf *c = l->conf;
    const long count = run->n * shape_size(l->out), blocks = (count + ADD_BLOCK - 1) / ADD_BLOCK;
    float *dy = l->dy;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (count > LAYER_PARALLEL_MIN_FLOATS)
    for (long blk = 0; blk < blocks; blk++) {
        const long lo = blk * ADD_BLOCK, n = count - lo < ADD_BLOCK ? count - lo : ADD_BLOCK;
        float *dyb = dy + lo;
        if (c && c->act.kind != ACT_NONE)
            activation_backward_serial(&c->act, l->y + lo, dyb, dyb, n, 0);
        for (int k = 0; k < l->input_count; k++) {
            float *dx = l->dx[k] ? l->dx[k] + lo : NULL;
            if (!dx)
                continue;
            if (l->dx_overwrite[k]) {
                memcpy(dx, dyb, sizeof(float) * n);
                continue;
            }
#pragma omp simd
            for (long e = 0; e < n; e++)
                dx[e] += dyb[e];
        }
    }
}

/* A following activation layer, applied here in place (net.c). */
static int add_fuse_activation(struct layer *l, const struct activation *a)
{
    struct add_conf *c = l->conf;
    if (!c && !(c = l->conf = calloc(1, sizeof *c)))
        return -1;
    return activation_adopt(&c->act, a);
}

static int concat_shape(struct layer *l, char *err, size_t errlen)
{
    int channels = 0;
    for (int k = 0; k < l->input_count; k++) {
        if (l->in[k].h != l->in[0].h || l->in[k].w != l->in[0].w) {
            char a[48], b[48];
            shape_text(l->in[0], a, sizeof a);
            shape_text(l->in[k], b, sizeof b);
            snprintf(err, errlen, "concat joins channels of one height and width, but input 1 is %s and "
                     "input %d is %s", a, k + 1, b);
            return -1;
        }
        channels += l->in[k].c;
    }
    l->out = (struct shape){channels, l->in[0].h, l->in[0].w};
    l->flops = 0;
    return 0;
}

static void concat_forward(struct layer *l, const struct layer_run *run)
{
    const long out_size = shape_size(l->out);
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int i = 0; i < run->n; i++) {
        float *y = l->y + i * out_size;
        for (int k = 0; k < l->input_count; k++) {
            long part = shape_size(l->in[k]);
            memcpy(y, l->x[k] + i * part, sizeof(float) * part);
            y += part;
        }
    }
}

static void concat_backward(struct layer *l, const struct layer_run *run)
{
    const long out_size = shape_size(l->out);
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int i = 0; i < run->n; i++) {
        const float *dy = l->dy + i * out_size;
        for (int k = 0; k < l->input_count; k++) {
            long part = shape_size(l->in[k]);
            float *dx = l->dx[k] ? l->dx[k] + i * part : NULL;
            if (dx && l->dx_overwrite[k])
                memcpy(dx, dy, sizeof(float) * part);
            else if (dx)
                for (long e = 0; e < part; e++)
                    dx[e] += dy[e];
            dy += part;
        }
    }
}

static int scale_shape(struct layer *l, char *err, size_t errlen)
{
    if (shape_size(l->in[1]) != l->in[0].c) {
        char a[48], b[48];
        shape_text(l->in[0], a, sizeof a);
        shape_text(l->in[1], b, sizeof b);
        snprintf(err, errlen, "scale needs one weight per channel of input 1 (%s), but input 2 is %s", a, b);
        return -1;
    }
    l->out = l->in[0];
    l->flops = (double)shape_size(l->out);
    return 0;
}

static void scale_forward(struct layer *l, const struct layer_run *run)
{
    const int C = l->out.c;
    const long HW = (long)l->out.h * l->out.w;
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int i = 0; i < run->n; i++)
        for (int ch = 0; ch < C; ch++) {
            const float w = l->x[1][(long)i * C + ch];
            const float *x = l->x[0] + ((long)i * C + ch) * HW;
            float *y = l->y + ((long)i * C + ch) * HW;
            for (long p = 0; p < HW; p++)
                y[p] = x[p] * w;
        }
}

static void scale_backward(struct layer *l, const struct layer_run *run)
{
    const int C = l->out.c;
    const long HW = (long)l->out.h * l->out.w;
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int i = 0; i < run->n; i++)
        for (int ch = 0; ch < C; ch++) {
            const long map = (long)i * C + ch;
            const float w = l->x[1][map];
            const float *x = l->x[0] + map * HW, *dy = l->dy + map * HW;
            if (l->dx[0]) {
                float *dx = l->dx[0] + map * HW;
                for (long p = 0; p < HW; p++)
                    dx[p] = l->dx_overwrite[0] ? dy[p] * w : dx[p] + dy[p] * w;
            }
            if (l->dx[1]) {
                float sum = 0.0f;
                for (long p = 0; p < HW; p++)
                    sum += dy[p] * x[p];
                l->dx[1][map] = l->dx_overwrite[1] ? sum : l->dx[1][map] + sum;
            }
        }
}

/* add: Sum of the inputs, then the activation */
static int add_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err, size_t errlen)
{
    const struct add_conf *c = l->conf;
    const struct activation none = {ACT_NONE, 0.0f}, *act = c ? &c->act : &none;
    if (!onnx_node(g, "Sum", activation_onnx_target(act, g, l->name), l->input_count, inputs) ||
        activation_onnx(act, g, l->name) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* concat: along the channels */
static int concat_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                       size_t errlen)
{
    struct onnx_node *n = onnx_node(g, "Concat", l->name, l->input_count, inputs);
    if (!n || onnx_attr_int(g, n, "axis", 1) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* scale: the maps times the weights made N x C x 1 x 1 */
static int scale_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                      size_t errlen)
{
    const long dims[1] = {4}, shape[4] = {0, l->in[0].c, 1, 1};
    const char *shape_name = onnx_name(g, l->name, "shape"), *weights = onnx_name(g, l->name, "weights");
    const char *reshape_in[2] = {inputs[1], shape_name}, *mul_in[2] = {inputs[0], weights};
    if (!shape_name || !weights || onnx_int64s(g, shape_name, 1, dims, shape) < 0 ||
        !onnx_node(g, "Reshape", weights, 2, reshape_in) || !onnx_node(g, "Mul", l->name, 2, mul_in)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_add = {
    .type = "add", .fuse_activation = add_fuse_activation, .min_inputs = 2, .max_inputs = LAYER_MAX_INPUTS, .shape = add_shape,
    .forward = add_forward, .backward = add_backward, .onnx = add_onnx,
};

const struct layer_ops layer_concat = {
    .type = "concat", .min_inputs = 2, .max_inputs = LAYER_MAX_INPUTS,
    .shape = concat_shape, .forward = concat_forward, .backward = concat_backward, .onnx = concat_onnx,
};

const struct layer_ops layer_scale = {
    .type = "scale", .min_inputs = 2, .max_inputs = 2, .shape = scale_shape,
    .forward = scale_forward, .backward = scale_backward, .onnx = scale_onnx,
};
