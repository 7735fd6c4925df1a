/* layer.h - one interface for every layer type.
 *
 * A layer type is a struct layer_ops in its own file, listed once in the
 * registry (layer.c): its name, shape(), forward() and backward(), and the
 * optional hooks and flags below (parse, loss, fusion, GEMM shapes); code
 * outside a layer's file asks the table, never the type's name. A layer
 * fused into another (fused) is run by that one, and net.c skips it. The
 * network (net.c) owns all
 * memory: it asks each layer for its output shape, parameter shapes and
 * scratch needs (shape()), allocates everything once, then points the
 * layer's x/dx/y/dy/params at it. Nothing is allocated during a step.
 *
 * Tensors are NCHW float32: x[i] is (n, in[i].c, in[i].h, in[i].w), y is
 * (n, out.c, out.h, out.w), for the n <= batch images of the current step.
 *
 * Gradients: backward() reads dy and
 *   - overwrites each parameter's grad (one step's gradient, summed over the batch),
 *   - writes dx[i] when it is not NULL: overwriting it when
 *     dx_overwrite[i] is set (this layer is the first in backward order to
 *     touch it), adding to it otherwise (a tensor feeding several layers). */
#ifndef CNNCTL_LAYER_H
#define CNNCTL_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "gemm.h"

#define LAYER_MAX_INPUTS 8
#define LAYER_MAX_PARAMS 4
#define LAYER_NAME_MAX 64

struct shape {
    int c, h, w;
};

static inline long shape_size(struct shape s)
{
    return (long)s.c * s.h * s.w;
}

static inline int shape_equal(struct shape a, struct shape b)
{
    return a.c == b.c && a.h == b.h && a.w == b.w;
}

/* n floats rounded up to whole 64-byte cache lines: buffers carved out of
 * one allocation at these offsets start on a line, as vector loads want */
static inline long cache_line_floats(long n)
{
    return (n + 15) / 16 * 16;
}

enum init_kind { INIT_HE, INIT_XAVIER, INIT_NORMAL, INIT_UNIFORM, INIT_ZERO, INIT_CONSTANT };

struct init_spec {
    enum init_kind kind;
    float arg;        /* std for normal, half-width for uniform, the value for constant */
};

struct param {
    char name[16];    /* "weight", "bias" */
    int rank;
    int dims[4];
    long size;
    float *data, *grad;   /* views into the network's arenas; grad NULL when not trainable */
    struct init_spec init;
    int fan_in;
    int trainable;        /* 0: a statistic the layer updates itself (batchnorm's running mean) */
};

/* What a step hands to forward/backward. */
struct layer_run {
    int n;                    /* images in this step (<= batch) */
    int threads;
    struct gemm_ctx *gemm;    /* threaded GEMM, and one buffer set per thread */
    float *scratch;           /* threads * scratch_stride floats */
    long scratch_stride;
    float *partials;          /* LAYER_GRADIENT_CHUNKS * partial_stride floats */
    long partial_stride;
    const uint8_t *labels;    /* n labels (n x H x W for a per-pixel loss), for the loss layer */
    int ignore_label;         /* a label the loss skips (segmentation's "unlabelled"); -1: none */
    int train;
    uint64_t seed, step;      /* for random layers (dropout): a mask is a function of these */
    int image_base;           /* index in the global batch of image 0 (MPI: this rank's slice) */
    int batch_total;          /* images in the global batch (MPI: all ranks'); 0: n */
    int frozen;               /* gradcheck: every kink as in the last forward (see gradcheck.h) */
};

struct layer_ops;
struct activation;
struct maxpool_geometry;
struct cpu_target;
struct det_box;
struct onnx_graph;

struct layer {
    const struct layer_ops *ops;
    char name[LAYER_NAME_MAX];
    int index;                          /* in the network */
    int input_count;
    int inputs[LAYER_MAX_INPUTS];       /* producer layer index, -1 = network input */
    struct shape in[LAYER_MAX_INPUTS];
    struct shape out;
    const float *x[LAYER_MAX_INPUTS];
    float *dx[LAYER_MAX_INPUTS];
    int dx_overwrite[LAYER_MAX_INPUTS];
    float *y, *dy;
    const float *frozen_y;    /* gradcheck: y of the forward whose kinks a frozen forward keeps */
    struct param params[LAYER_MAX_PARAMS];
    int param_count;
    long scratch_floats;   /* per thread, set by shape() */
    long partial_floats;   /* per chunk of images: partial parameter gradients (conv), set by shape() */
    long state_floats;     /* per image, kept from forward to backward (e.g. argmax) */
    float *state;
    void *conf;            /* type-specific settings, set by parse(), freed by net */
    struct init_spec default_init;  /* from [net] init, for parse() to start from */
    /* Run by an earlier layer, layers[fused_by] (net.c, NET_FUSE); this
     * layer's forward and backward then do nothing. An activation its
     * producer (inputs[0]) applies to its own output: y and dy are the
     * producer's. Or a max pool that a conv applies to each image's output
     * while it is in cache (pool.h): the pool keeps its y, dy and state,
     * which the conv writes and reads as its own. */
    int fused, fused_by;
    struct layer *pool;    /* on that conv: the pool it applies */
    double flops;          /* forward floating-point operations per image */
};

/* One matrix multiply a layer runs per step, for `cnnctl bench`. */
struct gemm_shape {
    const char *what;       /* "forward", "weight gradient", "input gradient" */
    enum gemm_trans ta, tb;
    long m, n, k;
    int per_image;          /* runs this many times per image (groups), split over threads; 0: once per step */
};
#define LAYER_MAX_GEMMS 3

struct layer_ops {
    const char *type;
    int is_loss;           /* a loss layer ends the network */
    int min_inputs, max_inputs;   /* 0, 0: exactly one */
    /* Read this type's keys into l->conf; record errors in cfg. 0 or -1.
     * NULL: the type has no keys of its own. */
    int (*parse)(struct layer *l, struct config *cfg, struct config_section *s);
    /* From l->in[]: set l->out, params (name, dims, init), scratch and
     * state sizes, flops. -1 with a message (no location) in err. */
    int (*shape)(struct layer *l, char *err, size_t errlen);
    void (*forward)(struct layer *l, const struct layer_run *run);
    void (*backward)(struct layer *l, const struct layer_run *run);
    /* Loss layers: the summed loss over the n images; counts correct argmax. */
    double (*loss)(struct layer *l, const struct layer_run *run, int *correct);
    /* Optional: take over activation a, applied to this layer's output
     * in place (the activation layer that alone reads it is then skipped);
     * 0 if it can, -1 if not (it has an activation already). */
    int (*fuse_activation)(struct layer *l, const struct activation *a);
    /* Optional: take over max pool `pool`, the only reader of this layer's
     * output (through at most a fused activation): this layer's y, dy and
     * state become the pool's. 0 if it can, -1 if not. */
    int (*fuse_pool)(struct layer *l, struct layer *pool);
    /* Optional: the GEMMs a training step runs at `batch`; returns the count. */
    int (*gemms)(const struct layer *l, int batch, struct gemm_shape *out);
    /* Optional, activation layers: the function this layer applies alone,
     * which net.c may hand to its producer's fuse_activation. */
    const struct activation *(*activation)(const struct layer *l);
    /* Optional, max pooling: its windows, which net.c may hand to its
     * producer's fuse_pool (pool.h). */
    int (*pool_geometry)(const struct layer *l, const struct cpu_target *t, struct maxpool_geometry *g);
    /* Optional: choose how to run, now that the shape and the GEMM context
     * (its CPU target's kernels; a BLAS library or not) are known. Called
     * when the net is allocated and whenever the GEMM context changes. */
    void (*choose)(struct layer *l, const struct gemm_ctx *gemm);
    int probabilities;     /* a loss layer whose output is class probabilities (softmax) */
    int boxes;             /* a loss layer over boxes (yolo): its labels are box records (boxes.h) */
    /* Optional: this layer as ONNX nodes (`cnnctl export`, onnx_graph.h)
     * reading the tensors inputs[0..input_count) and writing one named
     * l->name, unfused (the net built with NET_KEEP_OUTPUTS). 0, or -1
     * with err. A type without it cannot be exported. */
    int (*onnx)(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err, size_t errlen);
    /* Optional, loss layers: the classes, where they are not out.c */
    int (*class_count)(const struct layer *l);
    /* Optional, box losses: image n's boxes (centre and size as fractions
     * of the image) scoring above threshold in the last forward, at most
     * max (shape_size(out) is enough); returns their count. */
    int (*detections)(const struct layer *l, int n, float threshold, struct det_box *out, int max);
    /* Optional: a layer whose parameter gradients are one sum over the
     * batch inside a GEMM (affine): they again, from x (n x in) and dy
     * (n x out, as backward leaves it) of n images. MPI ranks run it on
     * the whole batch's rows (train.c), which gives the bits one process
     * gets; a sum of the ranks' halves would not. */
    void (*batch_gradients)(struct layer *l, const struct layer_run *run, const float *x, const float *dy, int n);
};

const struct layer_ops *layer_ops_find(const char *type);
/* "conv, maxpool, ..." for error messages. */
void layer_type_list(char *buf, size_t len);

/* Shared parsing helpers for layer parse() functions. */
int layer_parse_init(struct config *cfg, struct config_section *s, struct init_spec *out);
/* size/size_h/size_w (or a prefix like "stride"): h and w, defaulting to def. */
int layer_parse_pair(struct config *cfg, struct config_section *s, const char *key, int *h, int *w, int def,
                     int min, int max);
/* Adds a trainable parameter; returns it. */
struct param *layer_add_param(struct layer *l, const char *name, int rank, const int *dims, int fan_in,
                              struct init_spec init);
/* Adds a statistic kept in checkpoints but not trained (no gradient), of
 * `count` floats all starting at `value`. */
struct param *layer_add_statistic(struct layer *l, const char *name, int count, float value);
/* The explanation for an output size that does not work out. */
/* The `rounding` key of conv and pool layers: exact (0, the default: the
 * output size must come out whole) or floor (1). */
int layer_parse_rounding(struct config *cfg, struct config_section *s, int *floor);
void layer_size_error(char *err, size_t errlen, const char *what, int in, int k, int stride, int pad);

/* Threads for a loop over a step's images: no more than there are images.
 * Starting a team costs microseconds, which at batch 1 is all a second
 * thread would add. */
static inline int image_threads(const struct layer_run *run)
{
    return run->n < run->threads ? (run->n > 1 ? run->n : 1) : run->threads;
}

/* A gradient summed over the batch is summed in this many fixed ranges of
 * images (split_range(n, k, CHUNKS)), each into its own partial, and the
 * partials are added in a fixed tree: the same bits at any thread count.
 * A power of two (the tree pairs them); it also caps the threads such a
 * sum can use. */
#define LAYER_GRADIENT_CHUNKS 8

/* Loops over the elements of a step: a second thread below this many
 * floats costs more than it saves. */
#define LAYER_PARALLEL_MIN_FLOATS 65536

/* The range of images [lo, hi) of thread t of nt. */
static inline void split_range(int n, int t, int nt, int *lo, int *hi)
{
    *lo = (int)((long)n * t / nt);
    *hi = (int)((long)n * (t + 1) / nt);
}

/* The images [lo, hi) of this step's n that chunk k of the global batch
 * holds: chunk k is images split_range(total, k, CHUNKS) of the whole batch
 * (an MPI rank holds images [image_base, image_base + n) of it), the same
 * ranges at any thread count. */
static inline void layer_chunk_images(const struct layer_run *run, int k, int *lo, int *hi)
{
    const int total = run->batch_total > 0 ? run->batch_total : run->n, base = run->image_base;
    split_range(total, k, LAYER_GRADIENT_CHUNKS, lo, hi);
    *lo = *lo - base < 0 ? 0 : *lo - base > run->n ? run->n : *lo - base;
    *hi = *hi - base < 0 ? 0 : *hi - base > run->n ? run->n : *hi - base;
}

/* Element `at` of the chunks' partials (stride floats apart) added in one
 * fixed tree (pairs, then pairs of pairs): one order of additions. */
static inline float layer_partials_sum(const float *partials, long stride, long at)
{
    float sum[LAYER_GRADIENT_CHUNKS];
    for (int k = 0; k < LAYER_GRADIENT_CHUNKS; k++)
        sum[k] = partials[k * stride + at];
    for (int width = 1; width < LAYER_GRADIENT_CHUNKS; width *= 2)
        for (int k = 0; k + width < LAYER_GRADIENT_CHUNKS; k += 2 * width)
            sum[k] += sum[k + width];
    return sum[0];
}

extern const struct layer_ops layer_conv, layer_maxpool, layer_avgpool, layer_globalavgpool, layer_affine,
    layer_relu, layer_leaky, layer_sigmoid, layer_tanh, layer_dropout, layer_batchnorm, layer_lrn, layer_add,
    layer_concat, layer_scale, layer_deconv, layer_upsample, layer_crop, layer_softmax, layer_l2, layer_l1,
    layer_yolo;

#endif
