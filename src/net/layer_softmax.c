/* layer_softmax.c - softmax with cross-entropy loss, the last layer.
 *
 *   x: (N, K) logits (the input is flattened; K is the class count)
 *   y: (N, K) probabilities, p = exp(x - max) / sum exp(x - max)
 *   loss_i = log(sum exp(x - max)) + max - x[label]  (summed by loss())
 *   dx = (p - onehot(label)) / N      the gradient of the batch mean */
#include "layer.h"

#include <math.h>

static int softmax_shape(struct layer *l, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    l->out = (struct shape){(int)shape_size(l->in[0]), 1, 1};
    l->flops = 3.0 * l->out.c;
    return 0;
}

static void softmax_forward(struct layer *l, const struct layer_run *run)
{
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

const struct layer_ops layer_softmax = {
    .type = "softmax", .is_loss = 1, .probabilities = 1, .shape = softmax_shape, .forward = softmax_forward,
    .backward = softmax_backward, .loss = softmax_loss,
};
