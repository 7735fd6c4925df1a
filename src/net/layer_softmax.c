/* layer_softmax.c - softmax with cross-entropy loss, the last layer.
 *
 *   x: (N, K) logits (the input is flattened; K is the class count)
 *   y: (N, K) probabilities, p = exp(x - max) / sum exp(x - max)
 *   loss_i = log(sum exp(x - max)) + max - x[label]  (summed by loss())
 *   dx = (p - onehot(label)) / N      the gradient of the batch mean
 *
 * Per pixel (segmentation), when the input is C x H x W with H W > 1: the
 * same over the C channels of each pixel, with a label per pixel (N x H x
 * W of them); an image's loss is the mean over its H W pixels, a pixel
 * labelled run->ignore_label counting 0 (no loss, no gradient), so dx =
 * (p - onehot) / (N H W); correct counts pixels. */
#include "layer.h"
#include "onnx_graph.h"

#include "parallel.h"

#include <float.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

static int per_pixel(const struct layer *l)
{
    return (long)l->in[0].h * l->in[0].w > 1;
}

static int softmax_shape(struct layer *l, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    l->out = per_pixel(l) ? l->in[0] : (struct shape){(int)shape_size(l->in[0]), 1, 1};
    /* per pixel: a thread's max and sum of each pixel */
    l->scratch_floats = per_pixel(l) ? 2L * l->in[0].h * l->in[0].w : 0;
    l->flops = 3.0 * shape_size(l->out);
    return 0;
}

/* one image's C x P map: softmax over the channels of each pixel, the
 * loops running along the pixels (contiguous) so that they vectorise;
 * work: 2 P floats */
static void pixel_softmax(const float *x, float *p, int C, long P, float *work)
{
    float *max = work, *sum = work + P;
    memcpy(max, x, sizeof(float) * P);
    for (int k = 1; k < C; k++)
        for (long q = 0; q < P; q++)
            max[q] = x[k * P + q] > max[q] ? x[k * P + q] : max[q];
    memset(sum, 0, sizeof(float) * P);
    for (int k = 0; k < C; k++)
        for (long q = 0; q < P; q++) {
            p[k * P + q] = expf(x[k * P + q] - max[q]);
            sum[q] += p[k * P + q];
        }
    for (long q = 0; q < P; q++)
        sum[q] = 1.0f / sum[q];
    for (int k = 0; k < C; k++)
        for (long q = 0; q < P; q++)
            p[k * P + q] *= sum[q];
}

/* From the probabilities the forward pass left: -log p[label] (p at least
 * FLT_MIN: a loss of at most 87 a pixel), and the pixels whose most probable
 * class is their label. */
static double pixel_loss(const struct layer *l, const struct layer_run *run, int *correct)
{
    const int C = l->out.c;
    const long P = (long)l->out.h * l->out.w;
    double total = 0.0;
    int right = 0;
    for (int i = 0; i < run->n; i++) {
        const float *p = l->y + (long)i * C * P;
        const uint8_t *labels = run->labels + (long)i * P;
        double image = 0.0;
        for (long q = 0; q < P; q++) {
            const int label = labels[q];
            if (label == run->ignore_label)
                continue;
            int best = 0;
            for (int k = 1; k < C; k++)
                best = p[k * P + q] > p[best * P + q] ? k : best;
            image -= log(fmax(p[label * P + q], FLT_MIN));
            right += best == label;
        }
        total += image / P;
    }
    if (correct)
        *correct = right;
    return total;
}

static void softmax_forward(struct layer *l, const struct layer_run *run)
{
    if (per_pixel(l)) {
        const long size = shape_size(l->out), P = (long)l->out.h * l->out.w;
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
        for (int i = 0; i < run->n; i++)
            pixel_softmax(l->x[0] + i * size, l->y + i * size, l->out.c, P,
                          run->scratch + omp_get_thread_num() * run->scratch_stride);
        return;
    }
    const int K = l->out.c;
    for (int i = 0; i < run->n; i++) {
        const float *x = l->x[0] + (long)i * K;
        float *p = l->y + (long)i * K;
        float max = x[0];
        for (int k = 1; k < K; k++)
            if (x[k] > max)
                max = x[k];
        float sum = 0.0f;
        for (int k = 0; k < K; k++) {
            p[k] = expf(x[k] - max);
            sum += p[k];
        }
        for (int k = 0; k < K; k++)
            p[k] /= sum;
    }
}

static double softmax_loss(struct layer *l, const struct layer_run *run, int *correct)
{
    if (per_pixel(l))
        return pixel_loss(l, run, correct);
    const int K = l->out.c;
    double total = 0.0;
    int right = 0;
    for (int i = 0; i < run->n; i++) {
        const float *x = l->x[0] + (long)i * K;
        int label = run->labels[i], best = 0;
        float max = x[0];
        for (int k = 1; k < K; k++)
            if (x[k] > max) {
                max = x[k];
                best = k;
            }
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += exp((double)x[k] - max);
        total += log(sum) + max - x[label];
        right += best == label;
    }
    if (correct)
        *correct = right;
    return total;
}

static void softmax_backward(struct layer *l, const struct layer_run *run)
{
    if (!l->dx[0])
        return;
    if (per_pixel(l)) {
        const int C = l->out.c;
        const long P = (long)l->out.h * l->out.w;
        const float scale = 1.0f / ((float)run->n * P);
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
        for (int i = 0; i < run->n; i++) {
            const float *p = l->y + (long)i * C * P;
            float *dx = l->dx[0] + (long)i * C * P;
            const uint8_t *labels = run->labels + (long)i * P;
            for (int k = 0; k < C; k++)
                for (long q = 0; q < P; q++) {
                    const float g = labels[q] == run->ignore_label
                                        ? 0.0f
                                        : (p[k * P + q] - (k == labels[q] ? 1.0f : 0.0f)) * scale;
                    dx[k * P + q] = l->dx_overwrite[0] ? g : dx[k * P + q] + g;
                }
        }
        return;
    }
    const int K = l->out.c;
    const float scale = 1.0f / run->n;
    for (int i = 0; i < run->n; i++) {
        const float *p = l->y + (long)i * K;
        float *dx = l->dx[0] + (long)i * K;
        for (int k = 0; k < K; k++) {
            float g = (p[k] - (k == run->labels[i] ? 1.0f : 0.0f)) * scale;
            dx[k] = l->dx_overwrite[0] ? g : dx[k] + g;
        }
    }
}

/* Softmax over axis 1: of the flattened input, or per pixel of a C x H x W
 * map (opset 13's Softmax works on the one axis) */
static int softmax_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                        size_t errlen)
{
    const char *in = inputs[0];
    if (!per_pixel(l)) {
        in = onnx_name(g, l->name, "flat");
        struct onnx_node *f = in ? onnx_node(g, "Flatten", in, 1, inputs) : NULL;
        if (!f || onnx_attr_int(g, f, "axis", 1) < 0)
            in = NULL;
    }
    struct onnx_node *n = in ? onnx_node(g, "Softmax", l->name, 1, &in) : NULL;
    if (!n || onnx_attr_int(g, n, "axis", 1) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_softmax = {
    .type = "softmax", .is_loss = 1, .probabilities = 1, .shape = softmax_shape, .forward = softmax_forward,
    .backward = softmax_backward, .loss = softmax_loss,
    .onnx = softmax_onnx,
};
