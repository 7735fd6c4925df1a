/* layer_batchnorm.c - batch normalisation per channel (Ioffe and Szegedy).
 *
 *   x: (N, C, H, W) (an affine output is (N, C, 1, 1)); per channel c, over
 *   its M = N*H*W values:
 *     train: mean, var = the batch's (biased) mean and variance
 *            xhat = (x - mean) / sqrt(var + eps),  y = gamma * xhat + beta
 *            running = momentum * running + (1 - momentum) * batch value
 *            (the variance unbiased, M / (M - 1), as PyTorch keeps it)
 *     eval:  the same with the running mean and variance
 *   backward (train): with g = dy * gamma,
 *     dx = inv_std / M * (M g - sum g - xhat * sum(g * xhat))
 *     dgamma = sum(dy * xhat),  dbeta = sum(dy)
 * gamma and beta are trained; running_mean and running_var are statistics:
 * kept in checkpoints, never touched by the optimizer. Backward computes
 * xhat again from x (still the producer's output) with the forward's mean
 * and inv_std: the same floats, and a tensor fewer written and kept.
 * Channels run in parallel, each summed in one fixed order: deterministic
 * at any thread count.
 *
 * A following activation layer that alone reads y is applied here, to each
 * feature map as it is written (net.c fuses it: ResNet's bn -> relu); its
 * derivative is applied to dy, in place, before the sums. */
#include "activation.h"
#include "layer.h"
#include "onnx_graph.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct batchnorm_conf {
    float momentum, eps;
    int channels;
    struct activation act;   /* a fused activation layer's, or ACT_NONE */
    float *mean, *inv_std;   /* per channel, from the last training forward (in storage) */
    float storage[];
};

static int batchnorm_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct batchnorm_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
    double momentum, eps;
    int rc = 0;
    if (config_get_float(cfg, s, "momentum", &momentum, 0.9, 0.0, 1.0) < 0)
        rc = -1;
    if (config_get_float(cfg, s, "eps", &eps, 1e-5, 1e-12, 1.0) < 0)
        rc = -1;
    c->momentum = (float)momentum;
    c->eps = (float)eps;
    return rc;
}

static int batchnorm_shape(struct layer *l, char *err, size_t errlen)
{
    const int C = l->in[0].c;
    struct batchnorm_conf *c = realloc(l->conf, sizeof *c + sizeof(float) * 2 * C);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->conf = c;
    c->channels = C;
    c->mean = c->storage;
    c->inv_std = c->storage + C;
    l->out = l->in[0];
    int dims[1] = {C};
    layer_add_param(l, "gamma", 1, dims, 1, (struct init_spec){INIT_CONSTANT, 1.0f});
    layer_add_param(l, "beta", 1, dims, 1, (struct init_spec){INIT_ZERO, 0.0f});
    layer_add_statistic(l, "running_mean", C, 0.0f);
    layer_add_statistic(l, "running_var", C, 1.0f);
    l->flops = 4.0 * shape_size(l->out);
    return 0;
}

static float row_sum(const float *x, long n)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (long p = 0; p < n; p++)
        s += x[p];
    return s;
}

static float row_sq_dev(const float *x, long n, float mean)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (long p = 0; p < n; p++)
        s += (x[p] - mean) * (x[p] - mean);
    return s;
}

/* sum of dy * xhat, xhat = (x - mean) * inv_std as the forward computed it */
static float row_dot_xhat(const float *dy, const float *x, long n, float mean, float inv_std)
{
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (long p = 0; p < n; p++)
        s += dy[p] * ((x[p] - mean) * inv_std);
    return s;
}

static void batchnorm_forward(struct layer *l, const struct layer_run *run)
{
    struct batchnorm_conf *c = l->conf;
    const int C = c->channels, N = run->n;
    const long HW = (long)l->out.h * l->out.w, size = C * HW, M = N * HW;
    const float *gamma = l->params[0].data, *beta = l->params[1].data;
    float *rmean = l->params[2].data, *rvar = l->params[3].data;
    const float *x = l->x[0];
    float *y = l->y;
    const int train = run->train;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (M * C > LAYER_PARALLEL_MIN_FLOATS)
    for (int ch = 0; ch < C; ch++) {
        float mean, inv_std;
        if (train) {
            /* float sums over one feature map (vectorised, fixed order),
             * added in double: M can be 10^5 values */
            double sum = 0.0, sq = 0.0;
            for (int i = 0; i < N; i++)
                sum += row_sum(x + i * size + ch * HW, HW);
            mean = (float)(sum / M);
            for (int i = 0; i < N; i++)
                sq += row_sq_dev(x + i * size + ch * HW, HW, mean);
            float var = (float)(sq / M);
            inv_std = 1.0f / sqrtf(var + c->eps);
            c->mean[ch] = mean;
            c->inv_std[ch] = inv_std;
            float unbiased = M > 1 ? (float)(sq / (M - 1)) : var;
            rmean[ch] = c->momentum * rmean[ch] + (1.0f - c->momentum) * mean;
            rvar[ch] = c->momentum * rvar[ch] + (1.0f - c->momentum) * unbiased;
        } else {
            mean = rmean[ch];
            inv_std = 1.0f / sqrtf(rvar[ch] + c->eps);
        }
        const float g = gamma[ch], b = beta[ch];
        for (int i = 0; i < N; i++) {
            const float *xs = x + i * size + ch * HW;
            float *ys = y + i * size + ch * HW;
#pragma omp simd
            for (long p = 0; p < HW; p++) {
                float h = (xs[p] - mean) * inv_std;
                ys[p] = g * h + b;
            }
            /* the fused activation, on the map while it is in cache (gradcheck's
             * frozen forward: with the kinks of the last one) */
            if (c->act.kind != ACT_NONE)
                activation_forward_serial(&c->act, ys, ys, HW, run->frozen ? l->frozen_y + i * size + ch * HW : NULL);
        }
    }
}

static void batchnorm_backward(struct layer *l, const struct layer_run *run)
{
    struct batchnorm_conf *c = l->conf;
    const int C = c->channels, N = run->n;
    const long HW = (long)l->out.h * l->out.w, size = C * HW, M = N * HW;
    const float *gamma = l->params[0].data;
    float *dgamma = l->params[0].grad, *dbeta = l->params[1].grad;
    float *dy = l->dy;
    const float *x = l->x[0];
    float *dx = l->dx[0];
    const int add = !l->dx_overwrite[0];
#pragma omp parallel for num_threads(run->threads) schedule(static) if (M * C > LAYER_PARALLEL_MIN_FLOATS)
    for (int ch = 0; ch < C; ch++) {
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        const float mean = c->mean[ch], inv_std = c->inv_std[ch];
        for (int i = 0; i < N; i++) {
            long e = i * size + ch * HW;
            if (c->act.kind != ACT_NONE)
                activation_backward_serial(&c->act, l->y + e, dy + e, dy + e, HW, 0);
            sum_dy += row_sum(dy + e, HW);
            sum_dy_xhat += row_dot_xhat(dy + e, x + e, HW, mean, inv_std);
        }
        dgamma[ch] = (float)sum_dy_xhat;
        dbeta[ch] = (float)sum_dy;
        if (!dx)
            continue;
        /* with g = dy * gamma: sum g = gamma sum dy, sum g xhat = gamma sum dy xhat */
        const float k = gamma[ch] * c->inv_std[ch] / M, s_dy = (float)sum_dy, s_dy_xhat = (float)sum_dy_xhat;
        const float fM = (float)M;
        for (int i = 0; i < N; i++) {
            const long e = i * size + ch * HW;
            const float *dys = dy + e, *xs = x + e;
            float *dxs = dx + e;
            if (add) {
#pragma omp simd
                for (long p = 0; p < HW; p++)
                    dxs[p] += k * (fM * dys[p] - s_dy - (xs[p] - mean) * inv_std * s_dy_xhat);
            } else {
#pragma omp simd
                for (long p = 0; p < HW; p++)
                    dxs[p] = k * (fM * dys[p] - s_dy - (xs[p] - mean) * inv_std * s_dy_xhat);
            }
        }
    }
}

/* A following activation layer, applied here in place (net.c). */
static int batchnorm_fuse_activation(struct layer *l, const struct activation *a)
{
    return activation_adopt(&((struct batchnorm_conf *)l->conf)->act, a);
}

/* BatchNormalization with the running statistics, then the activation */
static int batchnorm_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                          size_t errlen)
{
    const struct batchnorm_conf *c = l->conf;
    /* gamma, beta, running_mean, running_var: BatchNormalization's order */
    const char *in[5] = {inputs[0]};
    for (int k = 0; k < 4; k++)
        if (onnx_param(g, l->name, &l->params[k], &in[1 + k]) < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    struct onnx_node *n = onnx_node(g, "BatchNormalization", activation_onnx_target(&c->act, g, l->name), 5, in);
    if (!n || onnx_attr_float(g, n, "epsilon", c->eps) < 0 || activation_onnx(&c->act, g, l->name) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_batchnorm = {
    .type = "batchnorm", .parse = batchnorm_parse, .shape = batchnorm_shape, .forward = batchnorm_forward,
    .backward = batchnorm_backward, .fuse_activation = batchnorm_fuse_activation,
    .onnx = batchnorm_onnx,
};
