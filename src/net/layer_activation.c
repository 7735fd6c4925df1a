/* layer_activation.c - relu, leaky, sigmoid and tanh as layers of their
 * own: y = f(x) elementwise, any shape; the functions are in activation.c. */
#include "activation.h"
#include "layer.h"
#include "onnx_graph.h"

#include <stdio.h>
#include <stdlib.h>

static int activation_layer_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct activation *a = calloc(1, sizeof *a);
    l->conf = a;
    if (!a)
        return -1;
    activation_from_name(l->ops->type, &a->kind);
    a->slope = 0.01f;
    if (a->kind == ACT_LEAKY) {
        double slope;
        if (config_get_float(cfg, s, "slope", &slope, 0.01, 0.0, 1.0) < 0)
            return -1;
        a->slope = (float)slope;
    }
    return 0;
}

static int activation_layer_shape(struct layer *l, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    l->out = l->in[0];
    const struct activation *a = l->conf;
    l->flops = (a->kind == ACT_SIGMOID || a->kind == ACT_TANH ? 4.0 : 1.0) * shape_size(l->out);
    return 0;
}

static void activation_layer_forward(struct layer *l, const struct layer_run *run)
{
    activation_forward(l->conf, l->x[0], l->y, run->n * shape_size(l->out), run->threads,
                       run->frozen ? l->frozen_y : NULL);
}

static void activation_layer_backward(struct layer *l, const struct layer_run *run)
{
    if (l->dx[0])
        activation_backward(l->conf, l->y, l->dy, l->dx[0], run->n * shape_size(l->out), !l->dx_overwrite[0],
                            run->threads);
}

static const struct activation *activation_layer_activation(const struct layer *l)
{
    return l->conf;
}

/* the activation's node, reading the input and writing the layer's name */
static int activation_layer_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                                 size_t errlen)
{
    static const char *const ops[] = {"Identity", "Relu", "LeakyRelu", "Sigmoid", "Tanh"};
    const struct activation *a = l->conf;
    struct onnx_node *n = onnx_node(g, ops[a->kind], l->name, 1, inputs);
    if (!n || (a->kind == ACT_LEAKY && onnx_attr_float(g, n, "alpha", a->slope) < 0)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

#define ACTIVATION_LAYER(NAME)                                                                       \
    const struct layer_ops layer_##NAME = {                                                          \
        .type = #NAME, .parse = activation_layer_parse, .shape = activation_layer_shape,            \
        .forward = activation_layer_forward, .backward = activation_layer_backward,                 \
        .activation = activation_layer_activation, .onnx = activation_layer_onnx,                   \
    }

ACTIVATION_LAYER(relu);
ACTIVATION_LAYER(leaky);
ACTIVATION_LAYER(sigmoid);
ACTIVATION_LAYER(tanh);
