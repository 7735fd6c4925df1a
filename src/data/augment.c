/* augment.c - see augment.h. Each output pixel is read from where the
 * inverse transform puts it in the input: flip, then rotate about the
 * centre, then shift. Without rotation the offsets are whole pixels and the
 * copy is exact. */
#include "augment.h"
#include "rng.h"

#include <math.h>
#include <string.h>

int augment_read(struct augment *a, struct config *cfg)
{
    memset(a, 0, sizeof *a);
    struct config_section *s = config_section(cfg, "augment");
    int before = cfg->error_count;
    long shift, flip;
    config_get_int(cfg, s, "shift", &shift, 0, 0, 64);
    config_get_int(cfg, s, "flip", &flip, 0, 0, 1);
    config_get_float(cfg, s, "rotate", &a->rotate, 0.0, 0.0, 180.0);
    a->shift = (int)shift;
    a->flip = (int)flip;
    return cfg->error_count > before ? -1 : 0;
}

int augment_active(const struct augment *a)
{
    return a->shift > 0 || a->flip || a->rotate > 0;
}

/* The stream of (step, image), apart from init, shuffle and dropout (rng.h). */
static uint64_t augment_stream(uint64_t step, int image)
{
    return RNG_STREAM_AUGMENT + (((step << 16) + (uint64_t)image) << 20);
}

static float bilinear(const float *plane, int h, int w, float y, float x)
{
    int y0 = (int)floorf(y), x0 = (int)floorf(x);
    float fy = y - y0, fx = x - x0, sum = 0.0f;
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int yy = y0 + dy, xx = x0 + dx;
            if (yy < 0 || yy >= h || xx < 0 || xx >= w)
                continue;
            sum += (dy ? fy : 1.0f - fy) * (dx ? fx : 1.0f - fx) * plane[yy * w + xx];
        }
    return sum;
}

struct augment_draw augment_draw(const struct augment *a, uint64_t seed, uint64_t step, int image)
{
    struct rng r;
    rng_seed(&r, seed, augment_stream(step, image));
    /* draw all of them whatever is enabled, so one key does not change another's draws */
    struct augment_draw d;
    d.shift_y = (int)rng_below(&r, 2 * (uint64_t)a->shift + 1) - a->shift;
    d.shift_x = (int)rng_below(&r, 2 * (uint64_t)a->shift + 1) - a->shift;
    d.flip = (int)(rng_next(&r) >> 63) & a->flip;
    d.angle = (2.0 * rng_uniform(&r) - 1.0) * a->rotate * M_PI / 180.0;
    return d;
}

void augment_apply(const struct augment_draw *d, float *image, int c, int h, int w, float *scratch)
{
    memcpy(scratch, image, sizeof(float) * c * h * w);
    const float cy = (h - 1) / 2.0f, cx = (w - 1) / 2.0f;
    const float cs = (float)cos(d->angle), sn = (float)sin(d->angle);
    for (int ch = 0; ch < c; ch++) {
        const float *src = scratch + (long)ch * h * w;
        float *dst = image + (long)ch * h * w;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                /* undo the shift, then the rotation, then the flip */
                float py = (float)(y - d->shift_y) - cy, px = (float)(x - d->shift_x) - cx;
                float ry = cs * py - sn * px + cy, rx = sn * py + cs * px + cx;
                if (d->flip)
                    rx = (w - 1) - rx;
                if (d->angle != 0.0) {
                    dst[y * w + x] = bilinear(src, h, w, ry, rx);
                } else {
                    int iy = (int)lrintf(ry), ix = (int)lrintf(rx);
                    dst[y * w + x] = iy >= 0 && iy < h && ix >= 0 && ix < w ? src[iy * w + ix] : 0.0f;
                }
            }
    }
}

void augment_batch(const struct augment *a, float *images, int n, int first, int c, int h, int w, uint64_t seed,
                   uint64_t step, float *scratch)
{
    if (!augment_active(a))
        return;
    for (int i = 0; i < n; i++) {
        struct augment_draw d = augment_draw(a, seed, step, first + i);
        augment_apply(&d, images + (long)i * c * h * w, c, h, w, scratch);
    }
}
