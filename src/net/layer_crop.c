/* layer_crop.c - a window of each feature map: FCN's crop, which lines an
 * upsampled score map up with a skip connection's before they are added.
 *
 *   x: (N, C, H, W) -> y: (N, C, OH, OW), y[oy][ox] = x[oy + DY][ox + DX]
 * OH x OW is the second input's map size (`input = big, like`; the second
 * input gives only its size and gets no gradient) or `size`; DY, DX is
 * `offset` (default 0, 0). dx is dy inside the window, 0 outside. */
#include "layer.h"
#include "onnx_graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crop_conf {
    int sized, oh, ow, dy, dx;
};

static int crop_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct crop_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
    int rc = 0;
    c->sized = config_find(s, "size") || config_find(s, "size_h") || config_find(s, "size_w");
    if (layer_parse_pair(cfg, s, "size", &c->oh, &c->ow, 1, 1, 1 << 20) < 0 ||
        layer_parse_pair(cfg, s, "offset", &c->dy, &c->dx, 0, 0, 1 << 20) < 0)
        rc = -1;
    return rc;
}

static int crop_shape(struct layer *l, char *err, size_t errlen)
{
    struct crop_conf *c = l->conf;
    const struct shape in = l->in[0];
    if (l->input_count == 2 && c->sized) {
        snprintf(err, errlen, "give the window's size by a second input or by size, not both");
        return -1;
    }
    if (l->input_count == 1 && !c->sized) {
        snprintf(err, errlen, "size: missing (or a second input whose map size the window takes: input = a, b)");
        return -1;
    }
    if (l->input_count == 2) {
        c->oh = l->in[1].h;
        c->ow = l->in[1].w;
    }
    if ((long)c->dy + c->oh > in.h || (long)c->dx + c->ow > in.w) {
        snprintf(err, errlen, "a %d x %d window at offset %d, %d does not fit in the %d x %d input", c->oh, c->ow,
                 c->dy, c->dx, in.h, in.w);
        return -1;
    }
    l->out = (struct shape){in.c, c->oh, c->ow};
    return 0;
}

static void crop_forward(struct layer *l, const struct layer_run *run)
{
    const struct crop_conf *c = l->conf;
    const struct shape in = l->in[0];
    const long maps = (long)run->n * in.c, in_plane = (long)in.h * in.w, out_plane = (long)c->oh * c->ow;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (maps * out_plane > LAYER_PARALLEL_MIN_FLOATS)
    for (long m = 0; m < maps; m++)
        for (int oy = 0; oy < c->oh; oy++)
            memcpy(l->y + m * out_plane + (long)oy * c->ow, l->x[0] + m * in_plane + (long)(oy + c->dy) * in.w + c->dx,
                   sizeof(float) * c->ow);
}

static void crop_backward(struct layer *l, const struct layer_run *run)
{
    const struct crop_conf *c = l->conf;
    const struct shape in = l->in[0];
    const long maps = (long)run->n * in.c, in_plane = (long)in.h * in.w, out_plane = (long)c->oh * c->ow;
    /* the input that gives the size has no effect on y */
    if (l->input_count == 2 && l->dx[1] && l->dx_overwrite[1])
        memset(l->dx[1], 0, sizeof(float) * run->n * shape_size(l->in[1]));
    if (!l->dx[0])
        return;
#pragma omp parallel for num_threads(run->threads) schedule(static) if (maps * in_plane > LAYER_PARALLEL_MIN_FLOATS)
    for (long m = 0; m < maps; m++) {
        float *dx = l->dx[0] + m * in_plane;
        const float *dy = l->dy + m * out_plane;
        if (l->dx_overwrite[0])
            memset(dx, 0, sizeof(float) * in_plane);
        for (int oy = 0; oy < c->oh; oy++) {
            float *d = dx + (long)(oy + c->dy) * in.w + c->dx;
            const float *g = dy + (long)oy * c->ow;
            for (int ox = 0; ox < c->ow; ox++)
                d[ox] += g[ox];
        }
    }
}

/* Slice of the last two axes (a second input gave only its size) */
static int crop_onnx(const struct layer *l, struct onnx_graph *g, const char *const *inputs, char *err, size_t errlen)
{
    const struct crop_conf *c = l->conf;
    const long dims[1] = {2}, starts[2] = {c->dy, c->dx}, ends[2] = {c->dy + c->oh, c->dx + c->ow}, axes[2] = {2, 3};
    const char *in[4] = {inputs[0], onnx_name(g, l->name, "starts"), onnx_name(g, l->name, "ends"),
                         onnx_name(g, l->name, "axes")};
    if (!in[1] || !in[2] || !in[3] || onnx_int64s(g, in[1], 1, dims, starts) < 0 ||
        onnx_int64s(g, in[2], 1, dims, ends) < 0 || onnx_int64s(g, in[3], 1, dims, axes) < 0 ||
        !onnx_node(g, "Slice", l->name, 4, in)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

const struct layer_ops layer_crop = {
    .type = "crop", .min_inputs = 1, .max_inputs = 2, .parse = crop_parse, .shape = crop_shape,
    .forward = crop_forward, .backward = crop_backward,
    .onnx = crop_onnx,
};
