/* layer_loss.c - regression losses against one-hot targets, the last layer:
 *
 *   x: (N, K) outputs (flattened), t = onehot(label)
 *   y = x (the outputs, for eval's argmax)
 *   l2: loss_i = 1/2 sum_k (x_k - t_k)^2     dx = (x - t) / N
 *   l1: loss_i = sum_k |x_k - t_k|           dx = sign(x - t) / N
 * A prediction is right when argmax x is the label. (softmax, the usual
 * loss for classification, is in layer_softmax.c.) */
#include "layer.h"
#include "onnx_graph.h"

#include <stdio.h>
#include <math.h>
#include <string.h>

static int loss_shape(struct layer *l, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    l->out = (struct shape){(int)shape_size(l->in[0]), 1, 1};
    l->flops = 3.0 * l->out.c;
    return 0;
}

static void loss_forward(struct layer *l, const struct layer_run *run)
{
    memcpy(l->y, l->x[0], sizeof(float) * run->n * l->out.c);
}

static double regression_loss(struct layer *l, const struct layer_run *run, int *correct, int squared)
{
    const int K = l->out.c;
    double total = 0.0;
    int right = 0;
    for (int i = 0; i < run->n; i++) {
        const float *x = l->x[0] + (long)i * K;
        /* gradcheck's frozen forward: |d| keeps the sign it had (y is x) */
        const float *base = run->frozen ? l->frozen_y + (long)i * K : x;
        int best = 0;
        for (int k = 0; k < K; k++) {
            double t = k == run->labels[i] ? 1.0 : 0.0, d = (double)x[k] - t;
            total += squared ? 0.5 * d * d : (base[k] - t < 0 ? -d : d);
            if (x[k] > x[best])
                best = k;
        }
        right += best == run->labels[i];
    }
    if (correct)
        *correct = right;
    return total;
}

static double l2_loss(struct layer *l, const struct layer_run *run, int *correct)
{
    return regression_loss(l, run, correct, 1);
}

static double l1_loss(struct layer *l, const struct layer_run *run, int *correct)
{
    return regression_loss(l, run, correct, 0);
}

static void regression_backward(struct layer *l, const struct layer_run *run, int squared)
{
    if (!l->dx[0])
        return;
    const int K = l->out.c;
    const float scale = 1.0f / run->n;
    for (int i = 0; i < run->n; i++) {
        const float *x = l->x[0] + (long)i * K;
        float *dx = l->dx[0] + (long)i * K;
        for (int k = 0; k < K; k++) {
            float d = x[k] - (k == run->labels[i] ? 1.0f : 0.0f);
            float g = (squared ? d : (float)((d > 0) - (d < 0))) * scale;
            dx[k] = l->dx_overwrite[0] ? g : dx[k] + g;
        }
    }
}

static void l2_backward(struct layer *l, const struct layer_run *run)
{
    regression_backward(l, run, 1);
}

static void l1_backward(struct layer *l, const struct layer_run *run)
{
    regression_backward(l, run, 0);
}

/* the scores as they are, flattened */
static int loss_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err, size_t errlen)
{
    struct onnx_node *f = onnx_node(g, "Flatten", l->name, 1, inputs);
    if (!f || onnx_attr_int(g, f, "axis", 1) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_l2 = {
    .type = "l2", .is_loss = 1, .shape = loss_shape, .forward = loss_forward,
    .backward = l2_backward, .loss = l2_loss, .onnx = loss_onnx,
};

const struct layer_ops layer_l1 = {
    .type = "l1", .is_loss = 1, .shape = loss_shape, .forward = loss_forward,
    .backward = l1_backward, .loss = l1_loss, .onnx = loss_onnx,
};
