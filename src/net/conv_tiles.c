/* conv_tiles.c - the direct kernels' stride-1 tiles (conv_direct.h) run
 * over a step's images: the conv's forward pass, and its input gradient
 * (the stride-1 convolution of dy with the flipped weights). They read the
 * image itself, or its zero-padded copy, instead of an im2col matrix, and
 * apply bias and ReLU as a tile is stored. */
#include "conv.h"

#include <stdlib.h>

/* The direct kernels' plans for the forward pass and the input gradient,
 * where the convolution allows them; they live at the end of l->conf. */
int conv_plan_tiles(struct layer *l)
{
    struct conv_conf *c = l->conf;
    struct conv_geometry gdx;
    const size_t fwd = conv_plan_bytes(&c->g);
    const size_t dx = conv_transposed_geometry(&c->g, c->filters / c->groups, &gdx) == 0 ? conv_plan_bytes(&gdx) : 0;
    const size_t fwd_longs = (fwd + sizeof(long) - 1) / sizeof(long);
    c = realloc(c, sizeof *c + sizeof(long) * fwd_longs + dx);
    if (!c)
        return -1;
    l->conf = c;
    c->has_plan = fwd > 0;
    c->has_plan_dx = fwd > 0 && dx > 0;
    if (c->has_plan)
        conv_plan_init(&c->plan, &c->g, c->storage);
    if (c->has_plan_dx)
        conv_plan_init(&c->plan_dx, &gdx, c->storage + fwd_longs);
    return 0;
}

/* out (rows x plan->out_plane per image) = the stride-1 convolution of
 * in (plan->channels planes per image) with packed weights, for images
 * [lo, hi): tiles of chunks, each through every row block. xpad: room for
 * an image's padded copy (conv_plan_padded_floats), for kernels that read
 * one; its border is zeroed first unless xpad_ready (a caller going one
 * image at a time through the same xpad). */
void conv_tiles(const struct conv_direct_kernel *dk, int choice, const struct conv_plan *plan, const float *in,
                long in_stride, const float *packed, float *xpad, int xpad_ready, int rows, int lo, int hi,
                const struct conv_out *out)
{
    const int R = dk->rows[choice], V = dk->vectors[choice];
    const long K = (long)plan->channels * plan->spatial, end = (long)hi * plan->chunks;
    if (dk->padded) {
        /* one image at a time, from its zero-padded copy (the border is
         * zeroed once, then stays); a block of rows through all the
         * chunks before the next, so the tiles write a few output planes
         * in order (chunks outer stored each chunk into every plane, and
         * an output bound for memory ran at half the speed) */
        for (int i = lo; i < hi; i++) {
            conv_plan_pad(plan, in + i * in_stride, xpad, i == lo && !xpad_ready);
            struct conv_out image_out = *out;
            image_out.y += i * out->image_stride;
            for (int r0 = 0; r0 < rows; r0 += R)
                for (long c0 = 0; c0 < plan->chunks; c0 += V)
                    dk->forward(choice, plan, xpad, 0, packed + (long)r0 * K, c0, plan->chunks, r0,
                                rows - r0 < R ? rows - r0 : R, &image_out);
        }
        return;
    }
    const long image_bytes = sizeof(float) * plan->channels * plan->in_plane;
    for (long c0 = (long)lo * plan->chunks; c0 < end; c0 += V) {
        /* The next image's input into L2 while this one is worked on, a
         * tile's share at a time: the tiles read every channel at once,
         * more streams than the hardware prefetcher follows. */
        const long image = c0 / plan->chunks, at = c0 % plan->chunks;
        if (image + 1 < hi) {
            const char *next = (const char *)(in + (image + 1) * in_stride);
            for (long b = at * image_bytes / plan->chunks; b < (at + V) * image_bytes / plan->chunks && b < image_bytes;
                 b += 64)
                __builtin_prefetch(next + b, 0, 2);
        }
        for (int r0 = 0; r0 < rows; r0 += R)
            dk->forward(choice, plan, in, in_stride, packed + (long)r0 * K, c0, end, r0,
                        rows - r0 < R ? rows - r0 : R, out);
    }
}

