/* layer_upsample.c - each feature map enlarged by whole factors, without
 * parameters (FCN's fixed upsampling; a deconv learns its own).
 *
 *   x: (N, C, H, W) -> y: (N, C, H SH, W SW)
 *   nearest:   y[oy][ox] = x[oy / SH][ox / SW]
 *   bilinear:  output pixel o reads the input at s = (o + 1/2) / S - 1/2
 *              (pixel centres line up; s < 0 reads pixel 0), between
 *              pixels i0 = floor(s) and i1 = min(i0 + 1, last), weights
 *              1 - (s - i0) and s - i0, per axis: PyTorch's and OpenCV's
 *              bilinear resize (align_corners false)
 *   backward:  each dy goes back to the input pixels it was read from,
 *              with the same weights (a map's sums in one fixed order)
 * Maps are independent: each thread takes whole maps. */
#include "layer.h"
#include "onnx_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where output pixel o of one axis reads: pixels i0 and i1 with weights
 * 1 - lambda and lambda. */
struct upsample_tap {
    int i0, i1;
    float lambda;
};

struct upsample_conf {
    int sh, sw, bilinear;
    struct upsample_tap *rows, *cols;   /* per output row and column (bilinear), in storage */
    struct upsample_tap storage[];
};

static int upsample_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct upsample_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
    int rc = 0;
    if (layer_parse_pair(cfg, s, "scale", &c->sh, &c->sw, 2, 1, 64) < 0)
        rc = -1;
    const char *mode;
    if (config_get_string(cfg, s, "mode", &mode, "nearest") < 0) {
        rc = -1;
    } else if (strcmp(mode, "bilinear") == 0) {
        c->bilinear = 1;
    } else if (strcmp(mode, "nearest") != 0) {
        config_error(cfg, s, config_find(s, "mode"), "'%s' is not an upsampling mode (expected nearest or bilinear)",
                     mode);
        rc = -1;
    }
    return rc;
}

static void axis_taps(int in, int scale, int out, struct upsample_tap *taps)
{
    for (int o = 0; o < out; o++) {
        double s = (o + 0.5) / scale - 0.5;
        if (s < 0)
            s = 0;
        const int i0 = (int)s;
        taps[o] = (struct upsample_tap){i0, i0 + 1 < in ? i0 + 1 : i0, (float)(s - i0)};
    }
}

static int upsample_shape(struct layer *l, char *err, size_t errlen)
{
    struct upsample_conf *c = l->conf;
    const struct shape in = l->in[0];
    const long oh = (long)in.h * c->sh, ow = (long)in.w * c->sw;
    if (oh > 1 << 20 || ow > 1 << 20) {
        snprintf(err, errlen, "output %ld x %ld is too large", oh, ow);
        return -1;
    }
    c = realloc(c, sizeof *c + sizeof(struct upsample_tap) * (oh + ow));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->conf = c;
    c->rows = c->storage;
    c->cols = c->storage + oh;
    axis_taps(in.h, c->sh, (int)oh, c->rows);
    axis_taps(in.w, c->sw, (int)ow, c->cols);
    l->out = (struct shape){in.c, (int)oh, (int)ow};
    l->flops = (c->bilinear ? 6.0 : 0.0) * shape_size(l->out);
    return 0;
}

static void upsample_forward(struct layer *l, const struct layer_run *run)
{
    const struct upsample_conf *c = l->conf;
    const struct shape in = l->in[0], out = l->out;
    const long maps = (long)run->n * in.c, in_plane = (long)in.h * in.w, out_plane = (long)out.h * out.w;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (maps * out_plane > LAYER_PARALLEL_MIN_FLOATS)
    for (long m = 0; m < maps; m++) {
        const float *x = l->x[0] + m * in_plane;
        float *y = l->y + m * out_plane;
        for (int oy = 0; oy < out.h; oy++) {
            float *yr = y + (long)oy * out.w;
            if (!c->bilinear) {
                const float *xr = x + (long)(oy / c->sh) * in.w;
                for (int ox = 0; ox < out.w; ox++)
                    yr[ox] = xr[ox / c->sw];
                continue;
            }
            const struct upsample_tap r = c->rows[oy];
            const float *x0 = x + (long)r.i0 * in.w, *x1 = x + (long)r.i1 * in.w;
            for (int ox = 0; ox < out.w; ox++) {
                const struct upsample_tap t = c->cols[ox];
                const float top = (1.0f - t.lambda) * x0[t.i0] + t.lambda * x0[t.i1];
                const float bottom = (1.0f - t.lambda) * x1[t.i0] + t.lambda * x1[t.i1];
                yr[ox] = (1.0f - r.lambda) * top + r.lambda * bottom;
            }
        }
    }
}

static void upsample_backward(struct layer *l, const struct layer_run *run)
{
    if (!l->dx[0])
        return;
    const struct upsample_conf *c = l->conf;
    const struct shape in = l->in[0], out = l->out;
    const long maps = (long)run->n * in.c, in_plane = (long)in.h * in.w, out_plane = (long)out.h * out.w;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (maps * out_plane > LAYER_PARALLEL_MIN_FLOATS)
    for (long m = 0; m < maps; m++) {
        const float *dy = l->dy + m * out_plane;
        float *dx = l->dx[0] + m * in_plane;
        if (l->dx_overwrite[0])
            memset(dx, 0, sizeof(float) * in_plane);
        for (int oy = 0; oy < out.h; oy++) {
            const float *dyr = dy + (long)oy * out.w;
            if (!c->bilinear) {
                float *dxr = dx + (long)(oy / c->sh) * in.w;
                for (int ox = 0; ox < out.w; ox++)
                    dxr[ox / c->sw] += dyr[ox];
                continue;
            }
            const struct upsample_tap r = c->rows[oy];
            float *d0 = dx + (long)r.i0 * in.w, *d1 = dx + (long)r.i1 * in.w;
            for (int ox = 0; ox < out.w; ox++) {
                const struct upsample_tap t = c->cols[ox];
                const float top = (1.0f - r.lambda) * dyr[ox], bottom = r.lambda * dyr[ox];
                d0[t.i0] += (1.0f - t.lambda) * top;
                d0[t.i1] += t.lambda * top;
                d1[t.i0] += (1.0f - t.lambda) * bottom;
                d1[t.i1] += t.lambda * bottom;
            }
        }
    }
}

/* Resize by the scales: nearest reads floor(o / S) (asymmetric, floor);
 * bilinear reads (o + 1/2) / S - 1/2 (half_pixel), as here */
static int upsample_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err,
                         size_t errlen)
{
    const struct upsample_conf *c = l->conf;
    const float scales[4] = {1.0f, 1.0f, (float)c->sh, (float)c->sw};
    const long dims[1] = {4};
    const char *name = onnx_name(g, l->name, "scales");
    const char *in[3] = {inputs[0], "", name};
    struct onnx_node *n = name && onnx_floats(g, name, 1, dims, scales) == 0 ? onnx_node(g, "Resize", l->name, 3, in)
                                                                                : NULL;
    if (!n || onnx_attr_string(g, n, "mode", c->bilinear ? "linear" : "nearest") < 0 ||
        onnx_attr_string(g, n, "coordinate_transformation_mode", c->bilinear ? "half_pixel" : "asymmetric") < 0 ||
        (!c->bilinear && onnx_attr_string(g, n, "nearest_mode", "floor") < 0)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_upsample = {
    .type = "upsample", .parse = upsample_parse, .shape = upsample_shape, .forward = upsample_forward,
    .backward = upsample_backward,
    .onnx = upsample_onnx,
};
