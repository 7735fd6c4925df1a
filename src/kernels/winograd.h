/* winograd.h - the 3x3 stride-1 convolution by Winograd's minimal filtering
 * F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2015).
 *
 * Each 2x2 tile of output is A^T [ (G g G^T) . (B^T d B) ] A, summed over
 * the input channels, where d is the 4x4 input window under the tile, g a
 * 3x3 filter and . the element-wise product: 16 multiplications per tile
 * and channel pair instead of the direct convolution's 36. Per image:
 *
 *   U[e][f][c] = (G g_fc G^T)[e]           the filters, once per call
 *   V[e][c][t] = (B^T d_ct B)[e]            the input transform
 *   M[e][f][t] = sum_c U[e][f][c] V[e][c][t]   16 products, one per e
 *   y tile t of filter f = A^T M[.][f][t] A   the output transform
 *
 * with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 * G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1], A^T = [1 1 1 0; 0 1 -1 -1].
 * The products are the GEMM's tiles with the tiles t as vector lanes: a
 * vector holds VEC_FLOATS neighbouring tiles of one tile row, or of 2 or 4
 * tile rows where a row has half or a quarter as many (16x16 and 8x8 maps
 * fill the lanes too). An image goes through in blocks of tile rows whose
 * V and M stay in L2. The input gradient is the same computation on dy
 * with the flipped weights (conv_direct.h), so one kernel serves both.
 *
 * The weight gradient: y is linear in U, so with dM = A dy A^T per tile
 * (A: 4 x 2), dU[e][f][c] = sum over tiles of dM[e][f][t] V[e][c][t] and
 * dW = G^T dU G. Its product sums over the tiles, so there the lanes are
 * channels: the image and dy are first transposed to pixels of channel
 * vectors, and V^T and dM^T are made a block of tiles at a time.
 *
 * Only the arithmetic is per instruction set (winograd_kernel.h, built into
 * winograd_kernel_avx512.c and winograd_kernel_avx2.c); the plan and the
 * filters' transform are here. */
#ifndef CNNCTL_WINOGRAD_H
#define CNNCTL_WINOGRAD_H

#include "conv_direct.h"

/* One 3x3 stride-1 convolution for a kernel of `lanes` floats a vector. */
struct winograd_plan {
    int c, f;             /* input channels, filters */
    int h, w, ph, pw;     /* input plane and zero padding */
    int oh, ow;           /* output plane: h + 2ph - 2, w + 2pw - 2 */
    int th, tw;           /* tile rows and tiles per row: ceil(oh / 2), ceil(ow / 2) */
    int lanes;            /* floats a vector */
    int pieces;           /* tile rows in a vector: 1, 2 or 4 */
    int segments;         /* vectors per tile row (pieces = 1) */
    int block_rows;       /* tile rows per block, a multiple of pieces */
    int rows;             /* filters per product tile (R) */
    int fpad;             /* f rounded up to rows */
    long ld;              /* floats per row of V and of M: a block's tiles, rounded up, and a vector of slack */
    long u_stride, v_stride, m_stride;  /* floats per e of U, V and M (an odd number of cache lines, so
                                          the 16 written or read together fall in different L1 sets) */
    /* the weight gradient */
    int cpad;             /* channels rounded up to lanes: a pixel of the transposed image, a row of V^T */
    int wg_rows;          /* filters per product tile */
    int wg_vectors;       /* vectors of channels per product tile, at most */
    int fpad_dy;          /* filters rounded up to wg_rows and to lanes: a pixel of transposed dy, a row of dM^T */
    int block_tiles;      /* tiles per block of V^T and dM^T */
    long vt_stride, mt_stride;  /* floats per e of V^T and dM^T (odd cache lines) */
};

/* The smallest maps and channel counts the plan takes: fewer tiles than a
 * quarter vector a row, or fewer than 8 channels (a product with K < 8),
 * and the direct kernels are as fast. */
#define WINOGRAD_MIN_CHANNELS 8

/* Fills plan for the 3x3 stride-1 convolution g (dilation 1) with f
 * filters for vectors of `lanes` floats; returns -1 when the shape is not
 * one the kernels take (then the direct kernels run). */
int winograd_plan_init(struct winograd_plan *plan, const struct conv_geometry *g, int filters, int lanes);

/* Floats of the filters' transform (U) and of a call's work (V and M). */
long winograd_weight_floats(const struct winograd_plan *plan);
long winograd_work_floats(const struct winograd_plan *plan);
/* The weight gradient's: its sums dU (16 x f x cpad), the transposed
 * image (h x w pixels of cpad floats), the transposed dy (oh x ow pixels of
 * fpad_dy floats) and the kernel's work (V^T and dM^T). */
long winograd_gradient_floats(const struct winograd_plan *plan);
long winograd_xt_floats(const struct winograd_plan *plan);
long winograd_dyt_floats(const struct winograd_plan *plan);
long winograd_gradient_work_floats(const struct winograd_plan *plan);
/* dw (f x c x 3 x 3, as conv keeps its weights) = G^T du G, du: the summed
 * dU (winograd_gradient_floats). */
void winograd_finish_gradient(const struct winograd_plan *plan, const float *du, float *dw);

/* U (winograd_weight_floats) from w (plan->f x plan->c x 3 x 3, as conv
 * keeps its weights; flip: w is (plan->c x plan->f x 3 x 3) and each
 * filter is used turned by 180 degrees, the input gradient's weights).
 * Layout: U[e][f / rows][c][f % rows], e at e * u_stride, filters past f
 * zero. */
void winograd_transform_weights(const struct winograd_plan *plan, const float *w, int flip, float *u);

struct winograd_kernel {
    const char *name;
    int lanes;
    /* y (plan->f planes of oh x ow) = the convolution of x (plan->c planes
     * of h x w) with the transformed filters u, bias and ReLU applied and
     * y added to as out says (out->y and image_stride unused); work:
     * winograd_work_floats(plan) floats. */
    void (*image)(const struct winograd_plan *plan, const float *x, const float *u, float *work, float *y,
                  const struct conv_out *out);
    /* du += one image's dU, from its transposed image xt and transposed dy
     * dyt (winograd_xt_floats, winograd_dyt_floats: pixels of channel
     * vectors, zero past c and past f); work: winograd_gradient_work_floats. */
    void (*weight_gradient)(const struct winograd_plan *plan, const float *xt, const float *dyt, float *work,
                            float *du);
};

extern const struct winograd_kernel winograd_avx512, winograd_avx2;

#endif
