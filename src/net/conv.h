/* conv.h - what the files of the convolution layer share (net/layer_conv.c
 * and the algorithms beside it): its settings, what kind of convolution a
 * shape is, and each algorithm's entry points.
 *
 *   layer_conv.c       the layer: keys, shapes, the choice of algorithms,
 *                      and the plain path (im2col + GEMM, or the image
 *                      itself for a 1x1 convolution)
 *   conv_tiles.c       the direct kernels' stride-1 tiles: the forward pass
 *                      and the input gradient
 *   kernels/winograd.h 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3):
 *                      the forward pass and the input gradient
 *   conv_depthwise.c   one filter per channel (Xception), without GEMMs
 *   conv_wgrad.c       the weight gradient without im2col: direct (many
 *                      taps) or as shifted dot products (few taps and filters)
 *   conv_pool.c        a max pool run by the conv image by image (fusion)
 *
 * Every fast path is tested against the plain one (tests/net/check_conv.c). */
#ifndef CNNCTL_CONV_H
#define CNNCTL_CONV_H

#include "activation.h"
#include "conv_direct.h"
#include "gemm.h"
#include "winograd.h"
#include "im2col.h"
#include "layer.h"

/* How a part of the step (forward, input gradient, weight gradient) runs.
 * Chosen once the net is allocated, from the shape and the CPU target's
 * kernels (conv_choose in layer_conv.c). */
enum conv_algorithm {
    CONV_IM2COL_GEMM,     /* the plain path: im2col (col2im) and a GEMM per image and group */
    CONV_POINTWISE_GEMM,  /* 1x1, stride 1, no padding: the image is its own column matrix */
    CONV_TILES,           /* the direct kernel's stride-1 tiles (conv_tiles.c; weight gradient: conv_wgrad.c) */
    CONV_WINOGRAD,        /* 3x3 stride 1: Winograd's F(2x2, 3x3) (winograd.h; weight gradient: conv_wgrad.c) */
    CONV_SHIFTED,         /* weight gradient only: shifted dot products (conv_wgrad.c) */
    CONV_DEPTHWISE,       /* one filter per channel, without GEMMs (conv_depthwise.c) */
};

struct conv_conf {
    int filters, groups, kh, kw, sh, sw, ph, pw, dh, dw, bias, floor;
    struct init_spec init;
    struct activation act;
    struct conv_geometry g;   /* one group's geometry (g.c = C/G), set by shape() */
    /* stride 1: the direct kernels' lane layouts for the forward pass and
     * for the input gradient (has_* = 0: im2col + GEMM), in storage[] */
    int has_plan, has_plan_dx;
    struct conv_plan plan, plan_dx;
    enum conv_algorithm forward, input_gradient, weight_gradient;
    const struct conv_direct_kernel *tiles;   /* the target's, where an algorithm is CONV_TILES */
    const struct winograd_kernel *winograd;   /* the target's, where an algorithm is CONV_WINOGRAD */
    struct winograd_plan wino, wino_dx;       /* their plans: forward, input gradient */
    long storage[];
};

static inline long max_long(long a, long b)
{
    return a > b ? a : b;
}

static inline int is_pointwise(const struct conv_geometry *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* One filter per input channel (groups = channels = filters): Xception's
 * depthwise convolution. Its GEMMs would have one row, so it runs direct:
 * for each tap, each output row gains w times a (strided) input row. */
static inline int is_depthwise(const struct conv_conf *c)
{
    return c->groups > 1 && c->g.c == 1 && c->filters == c->groups;
}

/* conv_tiles.c: the tiles' plans, at the end of l->conf (which moves);
 * and the stride-1 convolution of images [lo, hi) of `in` with packed
 * weights (conv_direct_pack) into out, through an image's padded copy in
 * xpad where the kernel reads one (its border zeroed unless xpad_ready). */
int conv_plan_tiles(struct layer *l);
void conv_tiles(const struct conv_direct_kernel *dk, int choice, const struct conv_plan *plan, const float *in,
                long in_stride, const float *packed, float *xpad, int xpad_ready, int rows, int lo, int hi,
                const struct conv_out *out);

/* layer_conv.c: floats of the room where a thread keeps the input
 * gradient's weights, packed or transformed, for the whole backward pass
 * (after the scratch for its products; conv_pool.c puts it after the
 * unpooled image). */
long conv_dx_weights_floats(const struct layer *l);
/* conv_depthwise.c */
void conv_depthwise_forward(const struct conv_geometry *g, int C, const float *weight, const float *x, float *y);
void conv_depthwise_backward(const struct conv_geometry *g, int C, const float *weight, const float *x,
                             const float *dy, float *dweight, float *dx);

/* conv_wgrad.c: the direct weight gradient from DIRECT_WGRAD_MIN_TAPS taps
 * (partials as dW^T, taps x wgrad_filters(F)); the shifted one up to
 * SHIFTED_WGRAD_MAX_FILTERS filters (shifted_wgrad says when). Both add
 * images [lo, hi) to dweight from the padded copies they keep in work
 * (col), whose zero borders they set when zero_borders. */
#define DIRECT_WGRAD_MIN_TAPS 64
#define SHIFTED_WGRAD_MAX_FILTERS 12
long wgrad_filters(int filters);
long wgrad_xpad_floats(const struct conv_geometry *g);
long shifted_wgrad_k(const struct conv_geometry *g);
int shifted_wgrad(const struct conv_conf *c, const struct gemm_buffers *gb);
void conv_wgrad_direct(struct layer *l, const struct layer_run *run, const struct conv_direct_kernel *dk,
                       const struct conv_wgrad_geometry *wg, float *work, int lo, int hi, const float *dy,
                       long dy_stride, float *dweight, int zero_borders);
void conv_wgrad_shifted(struct layer *l, struct gemm_buffers *gb, const struct conv_wgrad_geometry *wg, float *work,
                        int lo, int hi, const float *dy, long dy_stride, float *dweight, int zero_borders);

/* conv_wgrad.c: Winograd's weight gradient (3x3, stride 1; winograd.h),
 * its partials dU (winograd_gradient_floats), turned into dW once they are
 * summed (conv_backward); its work in col: winograd_wgrad_work_floats. */
long winograd_wgrad_work_floats(const struct winograd_plan *p);
void conv_wgrad_winograd(struct layer *l, const struct layer_run *run, const struct winograd_kernel *wk,
                         const struct winograd_plan *p, float *work, int lo, int hi, const float *dy, long dy_stride,
                         float *du);
/* conv_pool.c: a max pool fused into the conv (net.c). */
int conv_fuse_pool(struct layer *l, struct layer *pool);
long conv_unpooled_floats(const struct layer *l);
float *conv_unpooled_image(const struct layer *l, float *scratch);
void conv_pool_image(struct layer *l, const struct layer_run *run, const float *z, int i);
void conv_unpool_gradient(struct layer *l, const struct layer_run *run, int i, float *dz);

#endif
