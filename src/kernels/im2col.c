/* im2col.c - see im2col.h for the layout.
 * NOTE: for each (c, ki, kj) row, the valid output columns form one
 * contiguous range per output row [ow_lo, ow_hi), so the inner loop runs
 * without per-pixel bounds checks; at stride 1 it is a plain copy. */
#include "im2col.h"

#include <string.h>

int conv_output_size(int in, int k, int stride, int pad, int floor)
{
    long span = (long)in + 2L * pad - k;
    if (span < 0 || stride <= 0 || (span % stride && !floor))
        return -1;
    return (int)(span / stride + 1);
}

/* Output columns ow with 0 <= ow*s - p + kj < w: [lo, hi). */
void conv_valid_range(int kj, int s, int p, int w, int ow, int *lo, int *hi)
{
    int first = p - kj;   /* need ow*s >= p - kj */
    int l = first <= 0 ? 0 : (first + s - 1) / s;
    int last = w - 1 + p - kj; /* need ow*s <= w - 1 + p - kj */
    int h = last < 0 ? 0 : last / s + 1;
    if (h > ow)
        h = ow;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

void im2col(const float *x, const struct conv_geometry *g, float *col)
{
    const int P = g->oh * g->ow;
    for (int c = 0; c < g->c; c++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                float *row = col + (long)((c * g->kh + ki) * g->kw + kj) * P;
                int lo, hi;
                conv_valid_range(kj * g->dw, g->sw, g->pw, g->w, g->ow, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    float *dst = row + oy * g->ow;
                    int iy = oy * g->sh - g->ph + ki * g->dh;
                    if (iy < 0 || iy >= g->h) {
                        memset(dst, 0, sizeof(float) * g->ow);
                        continue;
                    }
                    /* input column of output column ox: ox*SW - PW + KJ, in range for lo <= ox < hi */
                    const float *src = x + ((long)c * g->h + iy) * g->w;
                    const int shift = kj * g->dw - g->pw;
                    for (int ox = 0; ox < lo; ox++)
                        dst[ox] = 0.0f;
                    if (g->sw == 1 && hi > lo)
                        memcpy(dst + lo, src + lo + shift, sizeof(float) * (hi - lo));
                    else
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox] = src[ox * g->sw + shift];
                    for (int ox = hi; ox < g->ow; ox++)
                        dst[ox] = 0.0f;
                }
            }
}

void col2im(const float *col, const struct conv_geometry *g, float *dx)
{
    const int P = g->oh * g->ow;
    for (int c = 0; c < g->c; c++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++) {
                const float *row = col + (long)((c * g->kh + ki) * g->kw + kj) * P;
                int lo, hi;
                conv_valid_range(kj * g->dw, g->sw, g->pw, g->w, g->ow, &lo, &hi);
                for (int oy = 0; oy < g->oh; oy++) {
                    int iy = oy * g->sh - g->ph + ki * g->dh;
                    if (iy < 0 || iy >= g->h)
                        continue;
                    const float *src = row + oy * g->ow;
                    float *dst = dx + ((long)c * g->h + iy) * g->w;
                    const int shift = kj * g->dw - g->pw;
                    if (g->sw == 1) {
                        float *d = dst + shift;  /* a plain vector add */
                        for (int ox = lo; ox < hi; ox++)
                            d[ox] += src[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox * g->sw + shift] += src[ox];
                    }
                }
            }
}
