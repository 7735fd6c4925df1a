/* activation.c - the elementwise activations and their derivatives.
 * NOTE: the loops are `omp simd` so they compile to vector selects: as
 * compare-and-branch, the half-positive half-negative activations of a
 * trained net mispredict every other element (measured for ReLU: 2.7 ms
 * instead of about 0.2 for SimpleConvNet's 1.7 million activations). */
#include "activation.h"
#include "onnx_graph.h"
#include "parallel.h"

#include <math.h>
#include <string.h>

static const char *const names[] = {"none", "relu", "leaky", "sigmoid", "tanh"};

int activation_from_name(const char *name, enum activation_kind *out)
{
    for (int k = 0; k < (int)(sizeof names / sizeof names[0]); k++)
        if (strcmp(name, names[k]) == 0) {
            *out = (enum activation_kind)k;
            return 0;
        }
    return -1;
}

const char *activation_name(enum activation_kind kind)
{
    return names[kind];
}

int activation_parse(struct config *cfg, struct config_section *s, struct activation *out)
{
    out->kind = ACT_NONE;
    out->slope = 0.01f;
    int rc = 0;
    struct config_entry *e = config_find(s, "activation");
    if (e && activation_from_name(e->value, &out->kind) < 0) {
        config_error(cfg, s, e, "'%s' is not an activation (expected none, relu, leaky, sigmoid or tanh)", e->value);
        rc = -1;
    }
    double slope = 0.01;
    if (out->kind == ACT_LEAKY && config_get_float(cfg, s, "slope", &slope, 0.01, 0.0, 1.0) < 0)
        rc = -1;
    out->slope = (float)slope;
    return rc;
}

void activation_forward_serial(const struct activation *a, const float *x, float *y, long count,
                               const float *pattern)
{
    const float slope = a->slope;
    if (pattern && (a->kind == ACT_RELU || a->kind == ACT_LEAKY)) {
        const float below = a->kind == ACT_RELU ? 0.0f : slope;
        for (long i = 0; i < count; i++)
            y[i] = pattern[i] > 0.0f ? x[i] : below * x[i];
        return;
    }
    switch (a->kind) {
    case ACT_NONE:
        if (x != y)
            memcpy(y, x, sizeof(float) * count);
        break;
    case ACT_RELU:
#pragma omp simd
        for (long i = 0; i < count; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case ACT_LEAKY:
#pragma omp simd
        for (long i = 0; i < count; i++)
            y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
        break;
    case ACT_SIGMOID:
        for (long i = 0; i < count; i++)
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    case ACT_TANH:
        for (long i = 0; i < count; i++)
            y[i] = tanhf(x[i]);
        break;
    }
}

/* [lo, hi) of count for thread t of nt, in whole cache lines */
static void thread_range(long count, int t, int nt, long *lo, long *hi)
{
    const long lines = (count + 15) / 16;
    *lo = lines * t / nt * 16;
    *hi = lines * (t + 1) / nt * 16;
    *lo = *lo < count ? *lo : count;
    *hi = *hi < count ? *hi : count;
}

void activation_forward(const struct activation *a, const float *x, float *y, long count, int threads,
                        const float *pattern)
{
#pragma omp parallel num_threads(threads) if (threads > 1 && count > 16384)
    {
        long lo, hi;
        thread_range(count, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        activation_forward_serial(a, x + lo, y + lo, hi - lo, pattern ? pattern + lo : NULL);
    }
}

void activation_add_bias(const struct activation *a, float *y, long count, float bias)
{
    if (a->kind == ACT_RELU) {
#pragma omp simd
        for (long i = 0; i < count; i++) {
            float v = y[i] + bias;
            y[i] = v > 0.0f ? v : 0.0f;
        }
        return;
    }
    if (a->kind == ACT_LEAKY) {
        const float slope = a->slope;
#pragma omp simd
        for (long i = 0; i < count; i++) {
            float v = y[i] + bias;
            y[i] = v > 0.0f ? v : slope * v;
        }
        return;
    }
    if (bias != 0.0f) {
#pragma omp simd
        for (long i = 0; i < count; i++)
            y[i] += bias;
    }
    activation_forward_serial(a, y, y, count, NULL);
}

/* The derivative from the output. For leaky, y > 0 exactly when x > 0
 * because the slope is positive; with slope 0 it is ReLU. */
static inline float derivative(enum activation_kind kind, float slope, float y)
{
    switch (kind) {
    case ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    case ACT_LEAKY: return y > 0.0f ? 1.0f : slope;
    case ACT_SIGMOID: return y * (1.0f - y);
    case ACT_TANH: return 1.0f - y * y;
    case ACT_NONE: break;
    }
    return 1.0f;
}

void activation_backward_serial(const struct activation *a, const float *y, const float *dy, float *dx, long count,
                                int accumulate)
{
    const enum activation_kind kind = a->kind;
    const float slope = a->slope;
    if (kind == ACT_RELU && !accumulate) {
        /* the hot case, written as a select on a loaded value so it vectorises */
#pragma omp simd
        for (long i = 0; i < count; i++) {
            float g = dy[i];
            dx[i] = y[i] > 0.0f ? g : 0.0f;
        }
        return;
    }
    if (accumulate) {
#pragma omp simd
        for (long i = 0; i < count; i++)
            dx[i] += dy[i] * derivative(kind, slope, y[i]);
    } else {
#pragma omp simd
        for (long i = 0; i < count; i++)
            dx[i] = dy[i] * derivative(kind, slope, y[i]);
    }
}

void activation_backward(const struct activation *a, const float *y, const float *dy, float *dx, long count,
                         int accumulate, int threads)
{
#pragma omp parallel num_threads(threads) if (threads > 1 && count > 16384)
    {
        long lo, hi;
        thread_range(count, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
        activation_backward_serial(a, y + lo, dy + lo, dx + lo, hi - lo, accumulate);
    }
}

int activation_adopt(struct activation *own, const struct activation *a)
{
    if (own->kind != ACT_NONE)
        return -1;
    *own = *a;
    return 0;
}

const char *activation_onnx_target(const struct activation *a, struct onnx_graph *g, const char *layer)
{
    return a->kind == ACT_NONE ? layer : onnx_name(g, layer, "pre");
}

int activation_onnx(const struct activation *a, struct onnx_graph *g, const char *layer)
{
    static const char *const ops[] = {"Identity", "Relu", "LeakyRelu", "Sigmoid", "Tanh"};
    if (a->kind == ACT_NONE)
        return 0;
    const char *in = onnx_name(g, layer, "pre");
    struct onnx_node *n = in ? onnx_node(g, ops[a->kind], layer, 1, &in) : NULL;
    if (!n)
        return -1;
    return a->kind == ACT_LEAKY ? onnx_attr_float(g, n, "alpha", a->slope) : 0;
}
