/* conv_direct.h - stride-1 convolution without an im2col matrix.
 *
 * The GEMM path (layer_conv.c) copies every receptive field into col and
 * then copies col again into the GEMM's B panels. At stride 1 neither copy
 * is needed: a run of up to 16 neighbouring output pixels in one output row
 * reads, for any filter tap, 16 neighbouring input pixels, so one masked
 * vector load from the image IS a row of the GEMM's B panel. The direct
 * kernels (conv_kernel_avx512.c, conv_kernel_avx2.c) multiply a packed
 * weight panel (R filters x K taps, k-major, as the GEMM packs A) by such
 * loads, R filters x V runs of 16 pixels at a time, and write NCHW output
 * with bias and ReLU applied.
 *
 * A chunk is up to 16 consecutive output pixels of one plane; so that narrow
 * maps fill the lanes too, it may reach into the next output row: lanes
 * [0, split) are segment 0, [split, len) segment 1, each contiguous in the
 * input. Lane t of segment s reads input offset base[s] + t + tap offset,
 * where for tap (ki, kj) the offset is (ki*DH - PH)*W + kj*DW - PW; lanes
 * whose input pixel lies in the padding are masked off (read as 0), one
 * 16-bit mask per segment and spatial tap, computed once per network.
 *
 * The three products of a training step:
 *   forward      y  = W * col(x)                  conv_direct_forward
 *   input grad.  dx = W' * col'(dy): a stride-1 convolution of dy, padded by
 *                (EH-1-PH, EW-1-PW), with W'[c][f][ki][kj] =
 *                W[f][c][KH-1-ki][KW-1-kj]         conv_direct_forward again
 *   weight grad. dW += dy * col(x)^T, computed as dW^T = col(x) dy^T with
 *                dy^T's rows (the filters) as vectors and col(x)'s
 *                elements broadcast straight from a zero-padded copy of x:
 *                element (tap, p) of col is xpad[offset(tap) + oy*WP + ox],
 *                no masks (dot products reading col(x) through masks ran at
 *                half the speed of the GEMM's): the kernel's
 *                weight_gradient. layer_conv.c uses it for many taps (few
 *                taps fill too few tile rows, and im2col + dot products
 *                win).
 * CPUs with AVX-512, or with AVX2 and FMA, run them (the CPU target's
 * conv, cpu_target.h; the generic target has none, and layer_conv.c keeps
 * im2col + GEMM, the portable path). */
#ifndef CNNCTL_CONV_DIRECT_H
#define CNNCTL_CONV_DIRECT_H

#include "gemm.h"
#include "im2col.h"

#include <stddef.h>
#include <stdint.h>

#define CONV_LANES 16

struct conv_chunk {
    int q0;         /* first output pixel, oy*OW + ox */
    int len;        /* lanes used, 0..16 (0: an empty chunk that pads a tile) */
    int split;      /* lanes [0, split) are segment 0, [split, len) segment 1
                       (split == len: one segment, one load per tap) */
    int base[2];    /* input offset of lane 0 for segment 0 and segment 1 */
    /* The same in the zero-padded image (conv_plan_pad; kernels with
     * `padded` read that): lanes [0, psplit) are segment 0, [psplit, len)
     * segment 1; every lane below len reads inside the padded image, so no
     * lane needs a mask. */
    int psplit;
    int pbase[2];
};

/* One stride-1 convolution's lane layout (per group: channels are
 * g->c, the plane sizes are the same for every group). */
struct conv_plan {
    int chunks;              /* per image; chunk[chunks] is the empty chunk */
    int spatial;             /* KH*KW */
    long in_plane, out_plane;/* H*W, OH*OW */
    int channels;            /* input channels of one group */
    const struct conv_chunk *chunk;
    const uint16_t *mask;    /* [chunk][spatial][2] */
    const int *tap_offset;   /* [spatial] */
    /* the zero-padded image: channels of (h + 2ph) x wp, the input at
     * (ph, pw) */
    int h, w, ph, pw, wp;
    long padded_plane;       /* (h + 2ph) * wp */
    const int *ptap_offset;  /* [spatial]: ki*DH*wp + kj*DW */
};

/* Floats of one image's zero-padded copy, with the slack that the lanes
 * past a last chunk's len may read (never stored). */
long conv_plan_padded_floats(const struct conv_plan *plan);
/* xpad (conv_plan_padded_floats floats) = x (channels x h x w) with the
 * plan's zero border; border_too = 0 leaves the border and the slack as a
 * previous call wrote them (zero), copying only the inside. */
void conv_plan_pad(const struct conv_plan *plan, const float *x, float *xpad, int border_too);

/* The bytes conv_plan_init() needs in `storage` (0: not a stride-1
 * convolution, so no plan). */
size_t conv_plan_bytes(const struct conv_geometry *g);
/* Lays out the plan of g in storage (conv_plan_bytes(g) bytes, aligned for
 * int). */
void conv_plan_init(struct conv_plan *plan, const struct conv_geometry *g, void *storage);

/* The geometry of the input gradient as a convolution: dy (F/G channels,
 * OH x OW) -> dx (C/G, H x W). Returns -1 when it is not a stride-1
 * convolution with a non-negative padding. */
int conv_transposed_geometry(const struct conv_geometry *g, int filters_per_group, struct conv_geometry *out);

/* Where a tile's output goes and how it is finished. */
struct conv_out {
    float *y;           /* image 0's output, (rows, out_plane) per image */
    long image_stride;  /* floats from one image's output to the next */
    const float *bias;  /* per row, or NULL */
    int relu;           /* max(0, .) after the bias */
    int accumulate;     /* add to y instead of overwriting it */
};

/* The weight gradient's view of one image: x zero-padded to (channels,
 * HP, WP), the taps in weight order (channel, ki, kj). */
struct conv_wgrad_geometry {
    int taps, kh, kw, dh, dw;
    int oh, ow;
    long wp, plane;  /* WP, HP*WP */
};

struct conv_direct_kernel {
    const char *name;
    /* forward reads one image's zero-padded copy (conv_plan_pad, with
     * x_image_stride 0 and chunks of that image only) through pbase and
     * ptap_offset, instead of the image through masks: AVX2's masked loads
     * (vmaskmovps) took most of a tile's time. */
    int padded;
    /* Row-block heights the forward tile comes in, best first for ties; the
     * tile is rows x (CONV_LANES * vectors[i]) pixels. */
    int row_choices;
    int rows[4], vectors[4];
    /* One tile: rows [r0, r0 + rows) of y (rows <= rows[choice]) for the
     * chunks [c0, min(c0 + vectors[choice], c1)) of the flattened (image,
     * chunk) list, y = a_panel * col(x). a_panel: K x rows[choice],
     * k-major, K = plan->channels * plan->spatial. */
    void (*forward)(int choice, const struct conv_plan *plan, const float *x, long x_image_stride,
                    const float *a_panel, long c0, long c1, int r0, int rows, const struct conv_out *out);
    /* dwt[t*ld + f] += sum over output pixels (oy, ox) of
     * xpad[offset(t) + oy*g->wp + ox] * dyt[(oy*g->ow + ox)*ld + f] for
     * taps t < g->taps and f < ld, a multiple of 16 (dyt's columns past
     * the filters hold zeros). offset(t) for t = (c, ki, kj):
     * c*g->plane + ki*g->dh*g->wp + kj*g->dw. */
    void (*weight_gradient)(const struct conv_wgrad_geometry *g, const float *xpad, const float *dyt, long ld,
                            float *dwt);
};

/* Which kernel runs: the CPU target's conv (cpu_target.h). */

extern const struct conv_direct_kernel conv_direct_avx512;
extern const struct conv_direct_kernel conv_direct_avx2;

/* The row-block choice that wastes the fewest rows for `rows` output
 * channels. */
int conv_direct_choice(const struct conv_direct_kernel *k, int rows);

/* Packs one group's weights w (filters x channels x spatial, row-major)
 * into panels of R = k->rows[choice] rows, each K x R k-major, rows past
 * the last zero. Plain: row f, column (c, s) = w[f][c][s], K =
 * channels*spatial. flip (W' of the input gradient): row c, column (f, s) =
 * w[f][c][spatial-1-s], K = filters*spatial. Returns the floats written. */
long conv_direct_pack(const struct conv_direct_kernel *k, int choice, const float *w, int filters, int channels,
                      int spatial, int flip, float *dst);
/* An upper bound of what conv_direct_pack() writes for `rows` rows of K
 * (rows rounded up to a block of at most 12, the tallest tile). */
long conv_direct_pack_floats(int rows, long K);

#endif
