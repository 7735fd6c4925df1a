/* net.h - a network: layers in config order, each naming its inputs.
 *
 * Built in one pass over the config (net_build): every section that is not
 * [data], [train] or [net] is a layer, named by its section; a layer reads
 * the previous layer's output unless `input = name` says otherwise. After
 * shape inference everything is allocated once: parameters in one arena,
 * their gradients in a second arena of the same layout (so the optimizer is
 * one loop and a checkpoint one write), activations and their gradients for
 * `batch` images, and per-thread scratch for the largest im2col. */
#ifndef CNNCTL_NET_H
#define CNNCTL_NET_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "gemm.h"
#include "layer.h"

struct net {
    struct shape input;      /* one image */
    int batch;               /* most images per step */
    int threads;
    struct layer *layers;
    int count;
    int classes;             /* outputs of the loss layer (per pixel: its channels) */
    int label_units;         /* labels an image: 1, the pixels of a per-pixel loss's map, or the bytes of a
                                box record (boxes.h) */
    int boxes;               /* the loss takes boxes (a yolo layer; task = detect) */
    int ignore_label;        /* a label the loss skips; -1 (the default): none */
    float *params, *grads;   /* arenas of the trainable parameters, param_floats each */
    long param_floats;
    float *statistics;       /* arena of the untrained ones (batchnorm's running mean, variance) */
    long statistic_floats;
    float *input_data;       /* (batch, input): the caller fills it */
    float *activations;      /* arena of every y, dy and layer state */
    long activation_floats;
    int frozen;              /* gradcheck: forward with the kinks of the last one (layer_run.frozen) */
    float *scratch;          /* threads * scratch_stride */
    long scratch_stride;
    float *partials;         /* LAYER_GRADIENT_CHUNKS * partial_stride: per-chunk gradient sums */
    long partial_stride;
    struct gemm_ctx gemm;
};

/* What a forward pass (and the backward after it) is for: a training step
 * names its step, from which random layers (dropout) draw, and where its n
 * images lie in the global batch. NULL where a function takes one:
 * inference (no dropout, batchnorm's running statistics). */
struct net_pass {
    uint64_t seed, step;
    int image_base;          /* index in the global batch of input image 0 (MPI ranks: their slice) */
    int batch_total;         /* images in the global batch (MPI: all ranks'); 0: n */
};

/* Does the loss label every pixel (a softmax over a C x H x W map)? */
static inline int net_per_pixel(const struct net *net)
{
    return !net->boxes && net->label_units > 1;
}

/* Is this section name one of the settings sections, not a layer? */
int net_is_settings_section(const char *name);

/* NET_FUSE: an activation layer (relu, leaky, sigmoid, tanh) that alone
 * reads a conv or affine layer's output is applied by that layer, in place
 * (layer.fused; the same results, faster). NET_KEEP_OUTPUTS: every layer
 * keeps its own output, as `viz` shows a conv's maps before its activation. */
enum net_fusion { NET_FUSE, NET_KEEP_OUTPUTS };

/* Floats per image of the tensor l->y points to: l->out's, except for a
 * conv that pools (its pool's) and a fused activation (its producer's). */
long net_output_floats(const struct net *net, const struct layer *l);

/* Errors (file:line) are recorded in cfg; returns 0 or -1. On -1 the net is
 * freed already. */
int net_build(struct net *net, struct config *cfg, struct shape input, int batch, int threads,
              enum net_fusion fusion);
/* The first half of net_build: layers, inputs and shapes, checked, but no
 * memory for parameters or activations (params[].data stay NULL). */
int net_plan(struct net *net, struct config *cfg, struct shape input, enum net_fusion fusion);
/* The second half: allocate everything for `batch` images and `threads`. */
int net_allocate(struct net *net, struct config *cfg, int batch, int threads);
void net_free(struct net *net);
/* Run the net's GEMMs through the BLAS library linked in for comparison
 * (gemm_use_library), or through ours again; layers choose anew. */
void net_use_library(struct net *net, int on);

/* Weights from the seeded RNG (per layer's init); biases zero. */
void net_init_params(struct net *net, uint64_t seed);

/* Forward n images from input_data, training when pass is given (else
 * inference). With labels, returns the summed loss and counts the correct
 * predictions in *correct; otherwise returns 0. */
double net_forward(struct net *net, int n, const uint8_t *labels, int *correct, const struct net_pass *pass);
/* Gradients of the mean loss over the n images of the last forward, a
 * training one of the same pass. */
void net_backward(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass);
/* What a pass of n images hands each layer (layer.h), from the net's
 * buffers: for callers that run the layers one by one (bench --layers). */
struct layer_run net_layer_run(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass);
/* Layer l's parameter gradients again, from x and dy of n images, where
 * its type has batch_gradients (layer.h; MPI: the whole batch's rows). */
void net_batch_gradients(struct net *net, struct layer *l, const float *x, const float *dy, int n);
/* The same, calling done(ctx, layer) as soon as each layer's parameter
 * gradients are final (MPI starts their reduction while the layers below
 * still run). */
void net_backward_each(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass,
                       void (*done)(void *ctx, struct layer *l), void *ctx);

/* The loss layer's output: (n, classes) probabilities. */
const float *net_probabilities(const struct net *net);

/* The table of `cnnctl summary`. */
void net_print_summary(const struct net *net, FILE *out);

#endif
