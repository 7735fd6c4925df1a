/* pool.h - max pooling of one plane, for the pooling layer and for a conv
 * that pools its own output while each image is in cache (net.c fuses a
 * max pool into the conv before it). */
#ifndef CNNCTL_POOL_H
#define CNNCTL_POOL_H

#include <stdint.h>

struct layer;

/* x: (h, w) -> y, arg: (oh, ow); windows kh x kw at stride sh x sw, the
 * input padded by ph, pw (padding never wins) */
struct maxpool_geometry {
    int h, w, oh, ow, kh, kw, sh, sw, ph, pw;
};

/* A maxpool layer's geometry after its shape() is known; -1 if l is not a
 * maxpool. */
int maxpool_geometry(const struct layer *l, struct maxpool_geometry *g);

/* y = the window maxima of x, arg = where each was (an index into the
 * plane: the first largest in row-major order; a NaN never wins). */
void maxpool_plane(const struct maxpool_geometry *g, const float *x, float *y, int32_t *arg);

/* dx (h, w) = dy routed to the arg-max of each window, zero elsewhere;
 * added to dx when accumulate. */
void maxpool_plane_backward(const struct maxpool_geometry *g, const float *dy, const int32_t *arg, float *dx,
                            int accumulate);

#endif
