/* layer_dropout.c - inverted dropout: in training each value is kept with
 * probability 1 - rate and scaled by 1 / (1 - rate), so evaluation (which
 * passes x through unchanged) needs no rescaling.
 *
 *   train: y = x * m,  m = [u >= rate] / (1 - rate), u uniform in [0, 1)
 *          dx = dy * m
 *   eval:  y = x
 * The mask of image i at step s is drawn from its own RNG stream, a
 * function of (seed, layer, s, i) only, so it does not depend on the thread
 * count and a resumed run draws the same masks. */
#include "layer.h"
#include "onnx_graph.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dropout_conf {
    float rate;
};

static int dropout_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct dropout_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
    double rate;
    if (config_get_float(cfg, s, "rate", &rate, 0.5, 0.0, 0.95) < 0)
        return -1;
    c->rate = (float)rate;
    return 0;
}

static int dropout_shape(struct layer *l, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    l->out = l->in[0];
    l->state_floats = shape_size(l->out);   /* the mask */
    l->flops = (double)shape_size(l->out);
    return 0;
}

/* The stream of (layer, step, image): the low byte 3 keeps it apart from
 * the init (1) and shuffle (2) streams. */
static uint64_t mask_stream(const struct layer *l, uint64_t step, int image)
{
    return RNG_STREAM_DROPOUT + ((uint64_t)l->index << 8) + (((step << 16) + (uint64_t)image) << 20);
}

static void dropout_forward(struct layer *l, const struct layer_run *run)
{
    const struct dropout_conf *c = l->conf;
    const long size = shape_size(l->out);
    if (!run->train || c->rate == 0.0f) {
        memcpy(l->y, l->x[0], sizeof(float) * run->n * size);
        return;
    }
    const float keep_scale = 1.0f / (1.0f - c->rate), rate = c->rate;
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int i = 0; i < run->n; i++) {
        struct rng r;
        rng_seed(&r, run->seed, mask_stream(l, run->step, run->image_base + i));
        const float *x = l->x[0] + i * size;
        float *y = l->y + i * size, *m = l->state + i * size;
        for (long e = 0; e < size; e++) {
            m[e] = rng_uniform(&r) >= rate ? keep_scale : 0.0f;
            y[e] = x[e] * m[e];
        }
    }
}

static void dropout_backward(struct layer *l, const struct layer_run *run)
{
    if (!l->dx[0])
        return;
    const struct dropout_conf *c = l->conf;
    const long count = run->n * shape_size(l->out);
    const float *dy = l->dy, *m = l->state;
    float *dx = l->dx[0];
    const int add = !l->dx_overwrite[0], masked = run->train && c->rate != 0.0f;
#pragma omp parallel for simd num_threads(run->threads) schedule(static) if (parallel: count > LAYER_PARALLEL_MIN_FLOATS)
    for (long e = 0; e < count; e++) {
        float g = masked ? dy[e] * m[e] : dy[e];
        dx[e] = add ? dx[e] + g : g;
    }
}

/* inference: dropout passes its input on */
static int dropout_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                        size_t errlen)
{
    if (!onnx_node(g, "Identity", l->name, 1, inputs)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_dropout = {
    .type = "dropout", .parse = dropout_parse, .shape = dropout_shape, .forward = dropout_forward,
    .backward = dropout_backward,
    .onnx = dropout_onnx,
};
