/* conv_wgrad.c - a convolution's weight gradient without im2col (the
 * plain path, im2col + GEMM, is in layer_conv.c, and tests/net/check_conv.c
 * checks these against it). */
#include "conv.h"
#include "cpu_target.h"

#include <string.h>

/* The weight gradient without im2col (conv_direct.h), for one group and
 * at least DIRECT_WGRAD_MIN_TAPS taps: with fewer the tiles' rows (taps)
 * go half empty, and im2col + dot products is faster. Its partials are
 * dW^T, taps x filters rounded up to whole vectors. */
long wgrad_filters(int filters)
{
    return (filters + 15) / 16 * 16;
}

/* floats of the zero-padded image the direct weight gradient reads */
long wgrad_xpad_floats(const struct conv_geometry *g)
{
    return (long)g->c * (g->h + 2 * g->ph) * (g->w + 2 * g->pw);
}

/* The weight gradient with few taps and few filters at stride 1 (lenet5's
 * conv1) without im2col: with dy's rows spread to the padded image's width
 * (zeros between them, dy_spread), dW[f][(c, ki, kj)] is one dot product
 * of dy_spread's row f with the padded image from the tap's offset on, of
 * L = (OH-1)*WP + OW floats (the zeros cancel the products that wrap round
 * a row). For one (c, ki) the KW taps' windows start DW floats apart, so
 * they are the rows of one B (ldb = DW) and each (c, ki) is one GEMM of F x
 * KW x L, which the kernel's dot products run. It beats im2col + GEMM up
 * to about 12 filters (past them the longer K costs more than im2col
 * saves), and only with dot products (not on the generic target). */
long shifted_wgrad_k(const struct conv_geometry *g)
{
    return (long)(g->oh - 1) * (g->w + 2 * g->pw) + g->ow;
}

/* The inside of one image's zero-padded copy (wgrad_xpad_floats), the
 * border left as it is. */
static void copy_into_padded(const struct conv_geometry *g, const float *x, float *xpad)
{
    const long wp = g->w + 2 * g->pw, plane = (long)(g->h + 2 * g->ph) * wp, HW = (long)g->h * g->w;
    for (int ch = 0; ch < g->c; ch++)
        for (int r = 0; r < g->h; r++)
            memcpy(xpad + ch * plane + (r + g->ph) * wp + g->pw, x + ch * HW + (long)r * g->w, sizeof(float) * g->w);
}

/* The weight gradient runs as shifted_wgrad's dot products (groups = 1,
 * stride 1, few filters, a kernel with dot products; not with a BLAS
 * library's GEMM, which does not take B's rows overlapping). */
int shifted_wgrad(const struct conv_conf *c, const struct gemm_buffers *gb)
{
    const struct conv_geometry *g = &c->g;
    return c->groups == 1 && !is_pointwise(g) && g->sh == 1 && g->sw == 1 &&
           c->filters <= SHIFTED_WGRAD_MAX_FILTERS && gb->kernel->dot_nt && !gb->use_library;
}

/* dW^T += for each image, the padded image against dy^T (the direct
 * kernel's weight_gradient); work: the padded image, then dy^T. The
 * padded image's border stays zero; only its inside is copied per image. */
void conv_wgrad_direct(struct layer *l, const struct layer_run *run, const struct conv_direct_kernel *dk,
                       const struct conv_wgrad_geometry *wg, float *work, int lo, int hi, const float *dy,
                       long dy_stride, float *dweight, int zero_borders)
{
    const struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int F = c->filters;
    const long P = (long)g->oh * g->ow, in_size = shape_size(l->in[0]), Fpad = wgrad_filters(F);
    float *xpad = work, *dyt = work + cache_line_floats(wgrad_xpad_floats(g));
    if (zero_borders)
        memset(xpad, 0, sizeof(float) * wgrad_xpad_floats(g));
    for (int i = lo; i < hi; i++) {
        const float *x = l->x[0] + i * in_size;
        copy_into_padded(g, x, xpad);
        run->gemm->target->gemm->transpose(dy + i * dy_stride, P, F, P, dyt, Fpad);
        dk->weight_gradient(wg, xpad, dyt, Fpad, dweight);
    }
}

/* dW += for each image, dy_spread (shifted_wgrad_k) against the padded
 * image from each tap's offset, one GEMM of F x KW x L per (channel, row
 * of taps); work: the padded image, then dy_spread. Their zeros stay; only
 * the insides are copied per image. */
void conv_wgrad_shifted(struct layer *l, struct gemm_buffers *gb, const struct conv_wgrad_geometry *wg, float *work,
                        int lo, int hi, const float *dy, long dy_stride, float *dweight, int zero_borders)
{
    const struct conv_conf *c = l->conf;
    const struct conv_geometry *g = &c->g;
    const int F = c->filters;
    const long taps = (long)g->c * g->kh * g->kw, P = (long)g->oh * g->ow, in_size = shape_size(l->in[0]);
    const long wp = wg->wp, L = shifted_wgrad_k(g);
    float *xpad = work, *dy_spread = work + cache_line_floats(wgrad_xpad_floats(g));
    if (zero_borders)
        memset(xpad, 0, sizeof(float) * (cache_line_floats(wgrad_xpad_floats(g)) + F * L));
    for (int i = lo; i < hi; i++) {
        const float *x = l->x[0] + i * in_size, *dyi = dy + i * dy_stride;
        copy_into_padded(g, x, xpad);
        for (int f = 0; f < F; f++)
            for (int r = 0; r < g->oh; r++)
                memcpy(dy_spread + f * L + r * wp, dyi + f * P + (long)r * g->ow, sizeof(float) * g->ow);
        for (int ch = 0; ch < g->c; ch++)
            for (int ki = 0; ki < g->kh; ki++)
                gemm_serial(gb, GEMM_N, GEMM_T, F, g->kw, L, 1.0f, dy_spread, L,
                            xpad + ch * wg->plane + (long)ki * g->dh * wp, g->dw, 1.0f,
                            dweight + (ch * g->kh + ki) * g->kw, taps);
    }
}

/* Floats of Winograd's weight gradient's work in col: the transposed image
 * and dy, then the kernel's work (winograd.h). */
long winograd_wgrad_work_floats(const struct winograd_plan *p)
{
    return cache_line_floats(winograd_xt_floats(p)) + cache_line_floats(winograd_dyt_floats(p)) +
           winograd_gradient_work_floats(p);
}

/* dU (16 x F x cpad) += for each image, by Winograd (winograd.h): the image
 * and dy transposed to pixels of channel vectors, then the kernel's
 * transforms and products. */
void conv_wgrad_winograd(struct layer *l, const struct layer_run *run, const struct winograd_kernel *wk,
                         const struct winograd_plan *p, float *work, int lo, int hi, const float *dy, long dy_stride,
                         float *du)
{
    const long in_size = shape_size(l->in[0]), HW = (long)p->h * p->w, P = (long)p->oh * p->ow;
    float *xt = work, *dyt = xt + cache_line_floats(winograd_xt_floats(p));
    float *kernel_work = dyt + cache_line_floats(winograd_dyt_floats(p));
    void (*transpose)(const float *, long, long, long, float *, long) = run->gemm->target->gemm->transpose;
    for (int i = lo; i < hi; i++) {
        transpose(l->x[0] + i * in_size, HW, p->c, HW, xt, p->cpad);
        transpose(dy + i * dy_stride, P, p->f, P, dyt, p->fpad_dy);
        wk->weight_gradient(p, xt, dyt, kernel_work, du);
    }
}
