/* augment.c - see augment.h. Each output pixel is read from where the
 * inverse transform puts it in the input: flip, then rotate about the
 * centre, then shift. Without rotation the offsets are whole pixels and the
 * image is moved a row at a time. The colour changes and cutout follow. */
#include "augment.h"

#include "boxes.h"
#include "parallel.h"
#include "rng.h"

#include <math.h>
#include <string.h>

int augment_read(struct augment *a, struct config *cfg)
{
    memset(a, 0, sizeof *a);
    struct config_section *s = config_section(cfg, "augment");
    int before = cfg->error_count;
    long shift, crop, flip, cutout;
    int has_shift = config_get_int(cfg, s, "shift", &shift, 0, 0, 64);
    int has_crop = config_get_int(cfg, s, "crop", &crop, 0, 0, 64);
    if (has_shift == 1 && has_crop == 1)
        config_error(cfg, s, config_find(s, "shift"), "give crop or shift (the same thing), not both");
    config_get_int(cfg, s, "flip", &flip, 0, 0, 1);
    config_get_float(cfg, s, "rotate", &a->rotate, 0.0, 0.0, 180.0);
    config_get_float(cfg, s, "brightness", &a->brightness, 0.0, 0.0, 1.0);
    config_get_float(cfg, s, "contrast", &a->contrast, 0.0, 0.0, 1.0);
    config_get_float(cfg, s, "saturation", &a->saturation, 0.0, 0.0, 1.0);
    config_get_int(cfg, s, "cutout", &cutout, 0, 0, 1024);
    a->shift = (int)(has_crop == 1 ? crop : shift);
    a->flip = (int)flip;
    a->cutout = (int)cutout;
    return cfg->error_count > before ? -1 : 0;
}

int augment_active(const struct augment *a)
{
    return a->shift > 0 || a->flip || a->rotate > 0 || a->brightness > 0 || a->contrast > 0 || a->saturation > 0 ||
           a->cutout > 0;
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

/* a factor from [1 - amount, 1 + amount], less 1 */
static float jitter(struct rng *r, double amount)
{
    return (float)((2.0 * rng_uniform(r) - 1.0) * amount);
}

struct augment_draw augment_draw(const struct augment *a, uint64_t seed, uint64_t step, int image)
{
    struct rng r;
    rng_seed(&r, seed, augment_stream(step, image));
    /* draw all of them whatever is enabled, so one key does not change
     * another's draws; the ones added later come after the first four */
    struct augment_draw d;
    d.shift_y = (int)rng_below(&r, 2 * (uint64_t)a->shift + 1) - a->shift;
    d.shift_x = (int)rng_below(&r, 2 * (uint64_t)a->shift + 1) - a->shift;
    d.flip = (int)(rng_next(&r) >> 63) & a->flip;
    d.angle = (2.0 * rng_uniform(&r) - 1.0) * a->rotate * M_PI / 180.0;
    d.brightness = jitter(&r, a->brightness);
    d.contrast = jitter(&r, a->contrast);
    d.saturation = jitter(&r, a->saturation);
    d.cutout_y = rng_uniform(&r);
    d.cutout_x = rng_uniform(&r);
    d.cutout = a->cutout;
    return d;
}

/* The geometric part: flip, rotate, shift (zeros coming in). */
static void move(const struct augment_draw *d, float *image, int c, int h, int w, float *scratch)
{
    if (d->shift_y == 0 && d->shift_x == 0 && !d->flip && d->angle == 0.0)
        return;
    memcpy(scratch, image, sizeof(float) * c * h * w);
    const float cy = (h - 1) / 2.0f, cx = (w - 1) / 2.0f;
    const float cs = (float)cos(d->angle), sn = (float)sin(d->angle);
    for (int ch = 0; ch < c; ch++) {
        const float *src = scratch + (long)ch * h * w;
        float *dst = image + (long)ch * h * w;
        if (d->angle == 0.0) {
            /* whole pixels: output (y, x) is input (y - sy, x - sx), x
             * mirrored first when flipped */
            for (int y = 0; y < h; y++) {
                float *row = dst + (long)y * w;
                const int iy = y - d->shift_y;
                if (iy < 0 || iy >= h) {
                    memset(row, 0, sizeof(float) * w);
                    continue;
                }
                const float *in = src + (long)iy * w;
                for (int x = 0; x < w; x++) {
                    const int ix = x - d->shift_x;
                    row[x] = ix < 0 || ix >= w ? 0.0f : in[d->flip ? w - 1 - ix : ix];
                }
            }
            continue;
        }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                /* undo the shift, then the rotation, then the flip */
                float py = (float)(y - d->shift_y) - cy, px = (float)(x - d->shift_x) - cx;
                float ry = cs * py - sn * px + cy, rx = sn * py + cs * px + cx;
                if (d->flip)
                    rx = (w - 1) - rx;
                dst[y * w + x] = bilinear(src, h, w, ry, rx);
            }
    }
}

/* The same move on a mask (a class per pixel): the nearest pixel where the
 * image is interpolated, fill where nothing comes in. */
static void move_mask(const struct augment_draw *d, uint8_t *mask, int h, int w, uint8_t *scratch, uint8_t fill)
{
    if (d->shift_y == 0 && d->shift_x == 0 && !d->flip && d->angle == 0.0)
        return;
    memcpy(scratch, mask, (size_t)h * w);
    const float cy = (h - 1) / 2.0f, cx = (w - 1) / 2.0f;
    const float cs = (float)cos(d->angle), sn = (float)sin(d->angle);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int iy, ix;
            if (d->angle == 0.0) {
                iy = y - d->shift_y;
                ix = x - d->shift_x;
                if (ix >= 0 && ix < w && d->flip)
                    ix = w - 1 - ix;
            } else {
                const float py = (float)(y - d->shift_y) - cy, px = (float)(x - d->shift_x) - cx;
                float rx = sn * py + cs * px + cx;
                if (d->flip)
                    rx = (w - 1) - rx;
                iy = (int)floorf(cs * py - sn * px + cy + 0.5f);
                ix = (int)floorf(rx + 0.5f);
            }
            mask[y * w + x] = iy < 0 || iy >= h || ix < 0 || ix >= w ? fill : scratch[iy * w + ix];
        }
}

static float clamp01(float v)
{
    return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
}

/* Brightness, contrast and saturation as torchvision's ColorJitter, in
 * that order, each clamped to [0, 1]: contrast blends with the image's
 * mean gray, saturation (3 channels) with each pixel's gray (luma). */
static void recolour(const struct augment_draw *d, float *image, int c, int h, int w)
{
    const long plane = (long)h * w, size = c * plane;
    if (d->brightness != 0.0f)
        for (long i = 0; i < size; i++)
            image[i] = clamp01(image[i] * (1.0f + d->brightness));
    if (d->contrast != 0.0f) {
        double sum = 0.0;
        for (long p = 0; p < plane; p++)
            sum += c == 3 ? 0.299f * image[p] + 0.587f * image[plane + p] + 0.114f * image[2 * plane + p] : image[p];
        const float mean = (float)(sum / plane);
        for (long i = 0; i < size; i++)
            image[i] = clamp01(mean + (1.0f + d->contrast) * (image[i] - mean));
    }
    if (d->saturation != 0.0f && c == 3)
        for (long p = 0; p < plane; p++) {
            const float gray = 0.299f * image[p] + 0.587f * image[plane + p] + 0.114f * image[2 * plane + p];
            for (int ch = 0; ch < 3; ch++)
                image[ch * plane + p] = clamp01(gray + (1.0f + d->saturation) * (image[ch * plane + p] - gray));
        }
}

/* A cutout x cutout square centred anywhere in the image (cut at its
 * edges) filled with fill[ch] (or 0). */
static void cut_out(const struct augment_draw *d, float *image, int c, int h, int w, const float *fill)
{
    const int cy = (int)(d->cutout_y * h), cx = (int)(d->cutout_x * w);
    const int y0 = cy - d->cutout / 2 < 0 ? 0 : cy - d->cutout / 2, x0 = cx - d->cutout / 2 < 0 ? 0 : cx - d->cutout / 2;
    const int y1 = cy - d->cutout / 2 + d->cutout > h ? h : cy - d->cutout / 2 + d->cutout;
    const int x1 = cx - d->cutout / 2 + d->cutout > w ? w : cx - d->cutout / 2 + d->cutout;
    for (int ch = 0; ch < c; ch++)
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
                image[((long)ch * h + y) * w + x] = fill ? fill[ch] : 0.0f;
}

void augment_apply(const struct augment_draw *d, float *image, int c, int h, int w, float *scratch, const float *fill)
{
    move(d, image, c, h, w, scratch);
    recolour(d, image, c, h, w);
    if (d->cutout > 0)
        cut_out(d, image, c, h, w, fill);
}

/* The same move on an image's boxes (no rotation: settings refuse it with
 * boxes): mirrored, shifted, cut to the image; a box left less than a
 * pixel wide or high is dropped, as Darknet does, and the rest close up. */
static void move_boxes(const struct augment_draw *d, uint8_t *record, int h, int w)
{
    if (d->shift_y == 0 && d->shift_x == 0 && !d->flip)
        return;
    struct box_label b[BOX_MAX_PER_IMAGE];
    memcpy(b, record, sizeof b);
    int kept = 0;
    for (int k = 0; k < BOX_MAX_PER_IMAGE && b[k].cls >= 0; k++) {
        const float x = (d->flip ? 1.0f - b[k].x : b[k].x) + (float)d->shift_x / w, y = b[k].y + (float)d->shift_y / h;
        const float x0 = fmaxf(x - b[k].w / 2, 0.0f), x1 = fminf(x + b[k].w / 2, 1.0f);
        const float y0 = fmaxf(y - b[k].h / 2, 0.0f), y1 = fminf(y + b[k].h / 2, 1.0f);
        if ((x1 - x0) * w < 1.0f || (y1 - y0) * h < 1.0f)
            continue;
        b[kept++] = (struct box_label){b[k].cls, (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0};
    }
    for (int k = kept; k < BOX_MAX_PER_IMAGE; k++)
        b[k] = (struct box_label){.cls = -1.0f};
    memcpy(record, b, sizeof b);
}

void augment_batch(const struct augment *a, float *images, int n, int first, int c, int h, int w, uint64_t seed,
                   uint64_t step, float *scratch, int threads, const float *fill, uint8_t *masks, uint8_t mask_fill,
                   uint8_t *boxes)
{
    if (!augment_active(a))
        return;
    const long size = (long)c * h * w;
#pragma omp parallel for num_threads(threads) schedule(static) if (n * size > 65536)
    for (int i = 0; i < n; i++) {
        struct augment_draw d = augment_draw(a, seed, step, first + i);
        float *own = scratch + omp_get_thread_num() * size;
        augment_apply(&d, images + i * size, c, h, w, own, fill);
        if (masks)
            move_mask(&d, masks + (long)i * h * w, h, w, (uint8_t *)own, mask_fill);
        if (boxes)
            move_boxes(&d, boxes + i * BOX_LABEL_BYTES, h, w);
    }
}
