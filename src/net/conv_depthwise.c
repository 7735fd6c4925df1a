/* conv_depthwise.c - the depthwise convolution (groups = channels =
 * filters, Xception's): one filter per input channel, so its GEMMs would
 * have one row; for each tap, each output row gains w times a (strided)
 * input row. */
#include "conv.h"

#include <string.h>

/* y (C, OH, OW) = depthwise(x (C, H, W)), no bias. */
void conv_depthwise_forward(const struct conv_geometry *g, int C, const float *weight, const float *x, float *y)
{
    const long HW = (long)g->h * g->w, P = (long)g->oh * g->ow;
    for (int ch = 0; ch < C; ch++) {
        float *out = y + ch * P;
        const float *in = x + ch * HW, *w = weight + (long)ch * g->kh * g->kw;
        memset(out, 0, sizeof(float) * P);
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                const float wk = w[ki * g->kw + kj];
                const int shift = kj * g->dw - g->pw;
                int lo, hi;
                conv_valid_range(kj * g->dw, g->sw, g->pw, g->w, g->ow, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * g->sh - g->ph + ki * g->dh;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const float *src = in + (long)iy * g->w;
                    float *dst = out + (long)oy * g->ow;
                    if (g->sw == 1) {
                        const float *s1 = src + shift;
#pragma omp simd
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox] += wk * s1[ox];
                    } else
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox] += wk * src[ox * g->sw + shift];
                }
            }
    }
}

/* dweight += depthwise correlation of dy with x; dx (+)= its adjoint. */
void conv_depthwise_backward(const struct conv_geometry *g, int C, const float *weight, const float *x,
                             const float *dy, float *dweight, float *dx)
{
    const long HW = (long)g->h * g->w, P = (long)g->oh * g->ow;
    for (int ch = 0; ch < C; ch++) {
        const float *in = x + ch * HW, *d = dy + ch * P, *w = weight + (long)ch * g->kh * g->kw;
        float *dw = dweight + (long)ch * g->kh * g->kw, *din = dx ? dx + ch * HW : NULL;
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                const float wk = w[ki * g->kw + kj];
                const int shift = kj * g->dw - g->pw;
                int lo, hi;
                conv_valid_range(kj * g->dw, g->sw, g->pw, g->w, g->ow, &lo, &hi);
                float sum = 0.0f;
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * g->sh - g->ph + ki * g->dh;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const float *src = in + (long)iy * g->w, *drow = d + (long)oy * g->ow;
                    float *dsrc = din ? din + (long)iy * g->w : NULL;
                    if (g->sw == 1) {
                        const float *s1 = src + shift;
#pragma omp simd reduction(+ : sum)
                        for (int ox = lo; ox < hi; ox++)
                            sum += drow[ox] * s1[ox];
                        if (dsrc) {
                            float *d1 = dsrc + shift;
#pragma omp simd
                            for (int ox = lo; ox < hi; ox++)
                                d1[ox] += wk * drow[ox];
                        }
                        continue;
                    }
                    for (int ox = lo; ox < hi; ox++)
                        sum += drow[ox] * src[ox * g->sw + shift];
                    if (dsrc)
                        for (int ox = lo; ox < hi; ox++)
                            dsrc[ox * g->sw + shift] += wk * drow[ox];
                }
                dw[ki * g->kw + kj] += sum;
            }
    }
}
