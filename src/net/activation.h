/* activation.h - elementwise activations, as layers of their own (relu,
 * leaky, sigmoid, tanh) and fused into conv and affine layers
 * (`activation = relu`), where they run on the layer's output in place.
 *
 * Each derivative is computed from the output y alone, so the input need
 * not be kept and the fused form can overwrite its pre-activation:
 *   relu     y = max(0, x)          dy/dx = [y > 0]
 *   leaky    y = x > 0 ? x : a*x    dy/dx = y > 0 ? 1 : a   (a > 0)
 *   sigmoid  y = 1 / (1 + e^-x)     dy/dx = y (1 - y)
 *   tanh     y = tanh x             dy/dx = 1 - y^2 */
#ifndef CNNCTL_ACTIVATION_H
#define CNNCTL_ACTIVATION_H

#include "config.h"

enum activation_kind { ACT_NONE, ACT_RELU, ACT_LEAKY, ACT_SIGMOID, ACT_TANH };

struct activation {
    enum activation_kind kind;
    float slope;   /* leaky only */
};

/* "relu" -> ACT_RELU; -1 for an unknown name. "none" is ACT_NONE. */
int activation_from_name(const char *name, enum activation_kind *out);
const char *activation_name(enum activation_kind kind);

/* The `activation` (and `slope`) keys of a conv or affine section. */
int activation_parse(struct config *cfg, struct config_section *s, struct activation *out);

/* y = f(x) for count values; x and y may be the same array. With pattern
 * (gradcheck's frozen forward), relu and leaky take their piece from
 * pattern > 0 instead of x > 0: the kinks stay where pattern had them. */
void activation_forward(const struct activation *a, const float *x, float *y, long count, int threads,
                        const float *pattern);
/* The same on the calling thread alone: for a layer that applies a fused
 * activation to a piece of its output while it is in cache. */
void activation_forward_serial(const struct activation *a, const float *x, float *y, long count,
                               const float *pattern);
/* y = f(y + bias) in place for count values, one thread: a conv layer's
 * bias and activation in one pass over a feature map while it is in cache. */
void activation_add_bias(const struct activation *a, float *y, long count, float bias);
/* A layer's own activation becomes a (a following activation layer fused
 * into it): 0, or -1 if it has one already. */
int activation_adopt(struct activation *own, const struct activation *a);

struct onnx_graph;
/* ONNX export: the name a layer's own op writes (the layer's name, or
 * NAME/pre when an activation follows it), and the activation's node from
 * that to the layer's name (none: nothing). 0 or -1 (out of memory). */
const char *activation_onnx_target(const struct activation *a, struct onnx_graph *g, const char *layer);
int activation_onnx(const struct activation *a, struct onnx_graph *g, const char *layer);

/* dx = dy * f'(y) (or dx += ... when accumulate); dx and dy may be the same array. */
void activation_backward(const struct activation *a, const float *y, const float *dy, float *dx, long count,
                         int accumulate, int threads);
void activation_backward_serial(const struct activation *a, const float *y, const float *dy, float *dx, long count,
                                int accumulate);

#endif
