/* image.c - see image.h. PNG decoding is libpng's simplified API (it does
 * the color conversion, gamma and alpha for us); PGM is small enough to
 * parse here. */
#include "image.h"

#include "fileio.h"

#include <errno.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 16384

void image_free(struct image *img)
{
    free(img->pixels);
    img->pixels = NULL;
    img->height = img->width = 0;
}

static int read_png(const char *path, FILE *f, struct image *img, char *err, size_t errlen)
{
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(&png, f)) {
        snprintf(err, errlen, "%s: not a readable PNG: %s", path, png.message);
        return -1;
    }
    if (png.width == 0 || png.height == 0 || png.width > MAX_SIDE || png.height > MAX_SIDE) {
        snprintf(err, errlen, "%s: %u x %u pixels; at most %d x %d are read", path, png.width, png.height, MAX_SIDE,
                 MAX_SIDE);
        png_image_free(&png);
        return -1;
    }
    /* 8-bit gray over a white background; libpng applies the gamma */
    png.format = PNG_FORMAT_GRAY;
    size_t count = (size_t)png.width * png.height;
    uint8_t *bytes = malloc(count);
    img->pixels = malloc(count * sizeof(float));
    png_color white = {255, 255, 255};
    if (!bytes || !img->pixels) {
        free(bytes);
        image_free(img);
        png_image_free(&png);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (!png_image_finish_read(&png, &white, bytes, 0, NULL)) {
        snprintf(err, errlen, "%s: damaged PNG: %s", path, png.message);
        free(bytes);
        image_free(img);
        return -1;
    }
    img->height = (int)png.height;
    img->width = (int)png.width;
    for (size_t i = 0; i < count; i++)
        img->pixels[i] = bytes[i] / 255.0f;
    free(bytes);
    return 0;
}

/* The next header number of a PGM, skipping blanks and # comments. */
static int pgm_number(FILE *f, long *out)
{
    int c;
    for (;;) {
        c = getc(f);
        if (c == '#')
            while (c != '\n' && c != EOF)
                c = getc(f);
        if (c == EOF)
            return -1;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
    }
    long v = 0;
    int digits = 0;
    while (c >= '0' && c <= '9') {
        if (v > 100000000)
            return -1;
        v = v * 10 + (c - '0');
        digits++;
        c = getc(f);
    }
    if (!digits)
        return -1;
    if (c != EOF && c != ' ' && c != '\t' && c != '\n' && c != '\r')
        return -1;
    *out = v;
    return 0;
}

static int read_pgm(const char *path, FILE *f, int binary, struct image *img, char *err, size_t errlen)
{
    long w, h, maxval;
    if (pgm_number(f, &w) < 0 || pgm_number(f, &h) < 0 || pgm_number(f, &maxval) < 0) {
        snprintf(err, errlen, "%s: damaged PGM header (expected width, height and maximum value)", path);
        return -1;
    }
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE || maxval < 1 || maxval > 65535) {
        snprintf(err, errlen, "%s: PGM of %ld x %ld with maximum %ld; expected 1 to %d pixels a side, maximum 1 to 65535",
                 path, w, h, maxval, MAX_SIDE);
        return -1;
    }
    size_t count = (size_t)w * h;
    img->pixels = malloc(count * sizeof(float));
    if (!img->pixels) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    img->width = (int)w;
    img->height = (int)h;
    for (size_t i = 0; i < count; i++) {
        long v;
        if (binary) {
            int hi = getc(f), lo = maxval > 255 ? getc(f) : 0;
            if (hi == EOF || lo == EOF) {
                snprintf(err, errlen, "%s: truncated: %zu of %zu pixels", path, i, count);
                image_free(img);
                return -1;
            }
            v = maxval > 255 ? hi * 256 + lo : hi;
        } else if (pgm_number(f, &v) < 0) {
            snprintf(err, errlen, "%s: pixel %zu of %zu is missing or not a number", path, i + 1, count);
            image_free(img);
            return -1;
        }
        if (v > maxval) {
            snprintf(err, errlen, "%s: pixel %zu is %ld, above the maximum %ld", path, i + 1, v, maxval);
            image_free(img);
            return -1;
        }
        img->pixels[i] = (float)((double)v / maxval);
    }
    return 0;
}

int image_read(const char *path, struct image *img, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char magic[8] = {0};
    size_t got = fread(magic, 1, sizeof magic, f);
    rewind(f);
    int rc;
    if (got == 8 && png_sig_cmp(magic, 0, 8) == 0) {
        rc = read_png(path, f, img, err, errlen);
    } else if (got >= 2 && magic[0] == 'P' && (magic[1] == '2' || magic[1] == '5')) {
        fseek(f, 2, SEEK_SET);
        rc = read_pgm(path, f, magic[1] == '5', img, err, errlen);
    } else {
        snprintf(err, errlen, "%s: not a PNG or PGM image (expected the PNG signature or P2/P5 at byte 0)", path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

int image_write_png(const char *path, const float *pixels, int height, int width, char *err, size_t errlen)
{
    size_t count = (size_t)width * height;
    uint8_t *bytes = malloc(count);
    if (!bytes) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        float v = pixels[i] < 0.0f ? 0.0f : pixels[i] > 1.0f ? 1.0f : pixels[i];
        bytes[i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    struct atomic_file af;
    if (make_parent_dirs(path, err, errlen) < 0 || atomic_open(&af, path, err, errlen) < 0) {
        free(bytes);
        return -1;
    }
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)width;
    png.height = (png_uint_32)height;
    png.format = PNG_FORMAT_GRAY;
    int ok = png_image_write_to_stdio(&png, af.f, 0, bytes, 0, NULL);
    free(bytes);
    if (!ok) {
        snprintf(err, errlen, "%s: writing the PNG failed: %s", path, png.message);
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err, errlen);
}

/* One output pixel's span [a, b) in source coordinates, averaged. */
static float area_average(const struct image *src, double y0, double y1, double x0, double x1)
{
    double sum = 0.0, area = 0.0;
    for (int y = (int)y0; y < src->height && y < y1; y++) {
        double hy = (y + 1 < y1 ? y + 1 : y1) - (y > y0 ? y : y0);
        for (int x = (int)x0; x < src->width && x < x1; x++) {
            double wx = (x + 1 < x1 ? x + 1 : x1) - (x > x0 ? x : x0);
            sum += hy * wx * src->pixels[(long)y * src->width + x];
            area += hy * wx;
        }
    }
    return area > 0 ? (float)(sum / area) : 0.0f;
}

static float bilinear(const struct image *src, double y, double x)
{
    if (y < 0)
        y = 0;
    if (x < 0)
        x = 0;
    int y0 = (int)y, x0 = (int)x;
    int y1 = y0 + 1 < src->height ? y0 + 1 : y0, x1 = x0 + 1 < src->width ? x0 + 1 : x0;
    if (y0 >= src->height)
        y0 = y1 = src->height - 1;
    if (x0 >= src->width)
        x0 = x1 = src->width - 1;
    double fy = y - y0, fx = x - x0;
    const float *p = src->pixels;
    long w = src->width;
    return (float)((1 - fy) * ((1 - fx) * p[y0 * w + x0] + fx * p[y0 * w + x1]) +
                   fy * ((1 - fx) * p[y1 * w + x0] + fx * p[y1 * w + x1]));
}

void image_resize(const struct image *src, float *dst, int height, int width)
{
    double sy = (double)src->height / height, sx = (double)src->width / width;
    for (int oy = 0; oy < height; oy++)
        for (int ox = 0; ox < width; ox++) {
            float v;
            if (sy >= 1.0 && sx >= 1.0)
                v = area_average(src, oy * sy, (oy + 1) * sy, ox * sx, (ox + 1) * sx);
            else  /* pixel centres: (o + 0.5) * s - 0.5 */
                v = bilinear(src, (oy + 0.5) * sy - 0.5, (ox + 0.5) * sx - 0.5);
            dst[(long)oy * width + ox] = v;
        }
}

double image_border_mean(const float *pixels, int height, int width)
{
    double sum = 0.0;
    long n = 0;
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            if (y == 0 || x == 0 || y == height - 1 || x == width - 1) {
                sum += pixels[(long)y * width + x];
                n++;
            }
    return n ? sum / n : 0.0;
}
