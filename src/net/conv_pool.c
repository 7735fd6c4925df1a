/* conv_pool.c - a max pool that alone reads a conv's output, run by the conv
 * on each image's output while it is in L2 (net.c fuses them): forward,
 * conv, bias, activation and pooling image by image; backward, each
 * image's gradient rebuilt from the pooled one. The same functions on the
 * same values as the unfused layers: the same bits. */
#include "conv.h"
#include "cpu_target.h"
#include "pool.h"

/* What a conv that pools adds to its thread's scratch, after what the
 * conv alone uses: one image's unpooled output (forward) or gradient
 * (backward), then the direct input gradient's packed weights and padded
 * dy (backward_images' dx_weights), kept from image to image. */
long conv_unpooled_floats(const struct layer *l)
{
    return cache_line_floats(shape_size(l->out)) + conv_dx_weights_floats(l);
}

float *conv_unpooled_image(const struct layer *l, float *scratch)
{
    return scratch + l->scratch_floats - conv_unpooled_floats(l);
}

/* Image i's pooled output and arg-max from its unpooled output z, in the
 * conv's own tensors (the pool's; net.c). Frozen (gradcheck): z is the
 * bare product; each pooled value is rebuilt from the arg-max the last
 * forward chose, then biased and activated as finish_output would. */
void conv_pool_image(struct layer *l, const struct layer_run *run, const float *z, int i)
{
    struct conv_conf *c = l->conf;
    struct maxpool_geometry pg;
    maxpool_geometry(l->pool, run->gemm->target, &pg);
    const long P = (long)c->g.oh * c->g.ow, OP = (long)pg.oh * pg.ow, pooled = c->filters * OP;
    float *y = l->y + i * pooled;
    int32_t *arg = (int32_t *)l->state + i * pooled;
    if (!run->frozen) {
        for (int f = 0; f < c->filters; f++)
            maxpool_plane(&pg, z + f * P, y + f * OP, arg + f * OP);
        return;
    }
    const float *bias = c->bias ? l->params[1].data : NULL;
    for (int f = 0; f < c->filters; f++)
        for (long q = 0; q < OP; q++)
            y[f * OP + q] = z[f * P + arg[f * OP + q]] + (bias ? bias[f] : 0.0f);
    activation_forward_serial(&c->act, y, y, pooled, l->frozen_y + i * pooled);
}

/* Image i's gradient before pooling, dz, from the pooled dy (the pool's,
 * which this conv writes as its own): dy routed to each window's arg-max,
 * times ReLU'(y) there, which is the pooled y's sign (max and ReLU
 * commute). Applied to the pooled dy first, in place: the routed values
 * are then the bits the unfused layers give, where ReLU's gradient comes
 * after routing. */
void conv_unpool_gradient(struct layer *l, const struct layer_run *run, int i, float *dz)
{
    struct conv_conf *c = l->conf;
    struct maxpool_geometry pg;
    maxpool_geometry(l->pool, run->gemm->target, &pg);
    const long P = (long)c->g.oh * c->g.ow, OP = (long)pg.oh * pg.ow, pooled = c->filters * OP;
    float *dy = l->dy + i * pooled;
    const float *y = l->y + i * pooled;
    const int32_t *arg = (const int32_t *)l->state + i * pooled;
    if (c->act.kind == ACT_RELU)
#pragma omp simd
        for (long q = 0; q < pooled; q++)
            dy[q] = y[q] > 0.0f ? dy[q] : 0.0f;
    for (int f = 0; f < c->filters; f++)
        maxpool_plane_backward(&pg, dy + f * OP, arg + f * OP, dz + f * P, 0);
}

/* A max pool that alone reads this conv's output, applied here image by
 * image (net.c): for one group, and activations whose gradient the pooled
 * output gives (none, ReLU). Each thread's scratch gains one image's
 * unpooled output, at its end (conv_unpooled_image). */
int conv_fuse_pool(struct layer *l, struct layer *pool)
{
    struct conv_conf *c = l->conf;
    struct maxpool_geometry pg;
    if (c->groups != 1 || (c->act.kind != ACT_NONE && c->act.kind != ACT_RELU) ||
        !pool->ops->pool_geometry || pool->ops->pool_geometry(pool, NULL, &pg) < 0)
        return -1;
    l->scratch_floats = cache_line_floats(l->scratch_floats) + conv_unpooled_floats(l);
    return 0;
}
