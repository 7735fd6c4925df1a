/* pool.h - max pooling of one plane, for the pooling layer and for a conv
 * that pools its own output while each image is in cache (net.c fuses a
 * max pool into the conv before it). */
#ifndef CNNCTL_POOL_H
#define CNNCTL_POOL_H

#include <stdint.h>

struct layer;
struct cpu_target;

/* x: (h, w) -> y, arg: (oh, ow); windows kh x kw at stride sh x sw, the
 * input padded by ph, pw (padding never wins) */
struct maxpool_geometry {
    int h, w, oh, ow, kh, kw, sh, sw, ph, pw;
    int avx2;   /* 2x2 windows eight at a time (the CPU has AVX2), else four (SSE2) */
};

/* A maxpool layer's geometry after its shape() is known, its loops those
 * that go with GEMM kernel k (avx2 and avx512: AVX2; the generic kernel
 * keeps SSE2, so that the tests reach both); 0. layer_maxpool's
 * pool_geometry: only for a layer of that type. */
int maxpool_geometry(const struct layer *l, const struct cpu_target *t, struct maxpool_geometry *g);

/* y = the window maxima of x, arg = where each was (an index into the
 * plane: the first largest in row-major order; a NaN never wins). */
void maxpool_plane(const struct maxpool_geometry *g, const float *x, float *y, int32_t *arg);

/* dx (h, w) = dy routed to the arg-max of each window, zero elsewhere;
 * added to dx when accumulate. */
void maxpool_plane_backward(const struct maxpool_geometry *g, const float *dy, const int32_t *arg, float *dx,
                            int accumulate);

/* pool_kernel_avx2.c: 2x2 windows at stride 2, for rows of 8 windows or
 * more (ow >= 8); the row's last windows are computed as its last eight
 * again, so backward with accumulate needs ow a multiple of 8. */
void maxpool_2x2_avx2(const float *x, int w, int oh, int ow, float *y, int32_t *arg);
void maxpool_2x2_backward_avx2(const float *dy, const int32_t *arg, int w, int oh, int ow, float *dx, int accumulate);

#endif
