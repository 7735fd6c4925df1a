/* image.c - see image.h. PNG decoding is libpng's simplified API (it does
 * the color conversion, gamma and alpha for us), JPEG libjpeg(-turbo)'s;
 * PGM is small enough to parse here. */
#include "image.h"

#include "fileio.h"

#include <errno.h>
#include <setjmp.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#define MAX_SIDE 16384
/* The most pixels decoded: 2^26 (a 64-megapixel photograph). A header
 * that claims more is refused before its memory is taken: a few bytes of
 * PNG or JPEG can claim 16384 x 16384 (a decompression bomb). */
#define MAX_PIXELS (1L << 26)

void image_free(struct image *img)
{
    free(img->pixels);
    img->pixels = NULL;
    img->height = img->width = img->channels = 0;
}

static int size_refused(const char *path, const char *what, long width, long height, char *err, size_t errlen)
{
    if (width >= 1 && height >= 1 && width <= MAX_SIDE && height <= MAX_SIDE && width * height <= MAX_PIXELS)
        return 0;
    snprintf(err, errlen, "%s: a %s of %ld x %ld pixels; at most %d a side and %ld in all are read", path, what,
             width, height, MAX_SIDE, MAX_PIXELS);
    return 1;
}

/* interleaved bytes (channels per pixel) into img's planes of floats */
static int take_bytes(struct image *img, const uint8_t *bytes, int height, int width, int channels,
                      const char *path, char *err, size_t errlen)
{
    const long plane = (long)height * width;
    img->pixels = malloc(sizeof(float) * plane * channels);
    if (!img->pixels) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    img->height = height;
    img->width = width;
    img->channels = channels;
    for (long p = 0; p < plane; p++)
        for (int c = 0; c < channels; c++)
            img->pixels[c * plane + p] = bytes[p * channels + c] / 255.0f;
    return 0;
}

/* A PNG's header read, its size checked before anything is allocated. */
static int begin_png(const char *path, FILE *f, png_image *png, char *err, size_t errlen)
{
    memset(png, 0, sizeof *png);
    png->version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_stdio(png, f)) {
        snprintf(err, errlen, "%s: not a readable PNG: %s", path, png->message);
        return -1;
    }
    if (size_refused(path, "PNG", png->width, png->height, err, errlen)) {
        png_image_free(png);
        return -1;
    }
    return 0;
}

static int read_png(const char *path, FILE *f, int channels, struct image *img, char *err, size_t errlen)
{
    png_image png;
    if (begin_png(path, f, &png, err, errlen) < 0)
        return -1;
    /* 8-bit gray (by luma) or RGB over a white background; libpng applies the gamma */
    png.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    const size_t count = (size_t)png.width * png.height * channels;
    uint8_t *bytes = malloc(count);
    png_color white = {255, 255, 255};
    if (!bytes) {
        png_image_free(&png);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (!png_image_finish_read(&png, &white, bytes, 0, NULL)) {
        snprintf(err, errlen, "%s: damaged PNG: %s", path, png.message);
        free(bytes);
        return -1;
    }
    int rc = take_bytes(img, bytes, (int)png.height, (int)png.width, channels, path, err, errlen);
    free(bytes);
    return rc;
}

/* libjpeg reports errors through a callback that must not return: it
 * jumps back to read_jpeg with the message. */
struct jpeg_failure {
    struct jpeg_error_mgr mgr;
    jmp_buf back;
    char message[JMSG_LENGTH_MAX];
    int warned;
};

static void jpeg_fail(j_common_ptr cinfo)
{
    struct jpeg_failure *fail = (struct jpeg_failure *)cinfo->err;
    cinfo->err->format_message(cinfo, fail->message);
    longjmp(fail->back, 1);
}

/* A warning is a damaged stream that libjpeg would finish with gray
 * (a truncated file, a corrupt segment): for training data that is an
 * error too. The first is kept; trace messages (level > 0) are not. */
static void jpeg_warning(j_common_ptr cinfo, int level)
{
    struct jpeg_failure *fail = (struct jpeg_failure *)cinfo->err;
    if (level < 0 && !fail->warned++)
        cinfo->err->format_message(cinfo, fail->message);
}

static int read_jpeg(const char *path, FILE *f, int channels, struct image *img, char *err, size_t errlen)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_failure fail;
    uint8_t *volatile bytes = NULL;
    cinfo.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = jpeg_fail;
    fail.mgr.emit_message = jpeg_warning;
    fail.warned = 0;
    if (setjmp(fail.back)) {
        snprintf(err, errlen, "%s: damaged JPEG: %s", path, fail.message);
        jpeg_destroy_decompress(&cinfo);
        free(bytes);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    if (fail.warned)
        longjmp(fail.back, 1);
    if (size_refused(path, "JPEG", cinfo.image_width, cinfo.image_height, err, errlen)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    /* libjpeg converts: colour to gray by luma, gray to RGB by copying */
    cinfo.out_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_start_decompress(&cinfo);
    const size_t row = (size_t)cinfo.output_width * channels;
    bytes = malloc(row * cinfo.output_height);
    if (!bytes) {
        snprintf(err, errlen, "%s: out of memory", path);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height && !fail.warned) {
        JSAMPROW line = bytes + row * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &line, 1);
    }
    if (!fail.warned)
        jpeg_finish_decompress(&cinfo);
    if (fail.warned)
        longjmp(fail.back, 1);
    int rc = take_bytes(img, bytes, (int)cinfo.output_height, (int)cinfo.output_width, channels, path, err, errlen);
    jpeg_destroy_decompress(&cinfo);
    free(bytes);
    return rc;
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

/* raw: the pixel values as they are (a mask's classes), which must then
 * be bytes; else scaled to [0, 1] by the maximum */
static int read_pgm(const char *path, FILE *f, int binary, int channels, int raw, struct image *img, char *err,
                    size_t errlen)
{
    long w, h, maxval;
    if (pgm_number(f, &w) < 0 || pgm_number(f, &h) < 0 || pgm_number(f, &maxval) < 0) {
        snprintf(err, errlen, "%s: damaged PGM header (expected width, height and maximum value)", path);
        return -1;
    }
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE || w * h > MAX_PIXELS || maxval < 1 || maxval > 65535) {
        snprintf(err, errlen, "%s: PGM of %ld x %ld with maximum %ld; expected 1 to %d pixels a side (%ld in all), "
                 "maximum 1 to 65535", path, w, h, maxval, MAX_SIDE, MAX_PIXELS);
        return -1;
    }
    if (raw && maxval > 255) {
        snprintf(err, errlen, "%s: a mask's PGM must hold bytes (maximum 255 or less), not maximum %ld", path,
                 maxval);
        return -1;
    }
    size_t count = (size_t)w * h;
    img->pixels = malloc(count * sizeof(float) * channels);
    if (!img->pixels) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    img->width = (int)w;
    img->height = (int)h;
    img->channels = channels;
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
        img->pixels[i] = raw ? (float)v : (float)((double)v / maxval);
    }
    for (int c = 1; c < channels; c++)  /* gray to RGB by copying */
        memcpy(img->pixels + c * count, img->pixels, sizeof(float) * count);
    return 0;
}

/* path opened, its first 8 bytes in magic (*got of them), the file
 * rewound; NULL with err when it cannot be opened. */
static FILE *open_image(const char *path, unsigned char magic[8], size_t *got, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    memset(magic, 0, 8);
    *got = fread(magic, 1, 8, f);
    rewind(f);
    return f;
}

int image_read(const char *path, int channels, struct image *img, char *err, size_t errlen)
{
    memset(img, 0, sizeof *img);
    unsigned char magic[8];
    size_t got;
    FILE *f = open_image(path, magic, &got, err, errlen);
    if (!f)
        return -1;
    int rc;
    if (got == 8 && png_sig_cmp(magic, 0, 8) == 0) {
        rc = read_png(path, f, channels, img, err, errlen);
    } else if (got >= 3 && magic[0] == 0xff && magic[1] == 0xd8 && magic[2] == 0xff) {
        rc = read_jpeg(path, f, channels, img, err, errlen);
    } else if (got >= 2 && magic[0] == 'P' && (magic[1] == '2' || magic[1] == '5')) {
        fseek(f, 2, SEEK_SET);
        rc = read_pgm(path, f, magic[1] == '5', channels, 0, img, err, errlen);
    } else {
        snprintf(err, errlen, "%s: not a PNG, JPEG or PGM image (expected the PNG signature, FF D8 FF or P2/P5 at "
                 "byte 0)", path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

/* An 8-bit gray PNG's bytes as they are. */
static int read_png_mask(const char *path, FILE *f, struct mask *m, char *err, size_t errlen)
{
    png_image png;
    if (begin_png(path, f, &png, err, errlen) < 0)
        return -1;
    if (png.format != PNG_FORMAT_GRAY) {
        snprintf(err, errlen, "%s: a mask must be an 8-bit gray PNG, a class a pixel value (this one is %s)", path,
                 png.format & PNG_FORMAT_FLAG_COLORMAP ? "palette-coloured"
                 : png.format & PNG_FORMAT_FLAG_COLOR  ? "in colour"
                 : png.format & PNG_FORMAT_FLAG_ALPHA  ? "gray with transparency"
                                                       : "16-bit");
        png_image_free(&png);
        return -1;
    }
    m->values = malloc((size_t)png.width * png.height);
    if (!m->values) {
        png_image_free(&png);
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (!png_image_finish_read(&png, NULL, m->values, 0, NULL)) {
        snprintf(err, errlen, "%s: damaged PNG: %s", path, png.message);
        free(m->values);
        m->values = NULL;
        return -1;
    }
    m->height = (int)png.height;
    m->width = (int)png.width;
    return 0;
}

int image_read_mask(const char *path, struct mask *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    unsigned char magic[8];
    size_t got;
    FILE *f = open_image(path, magic, &got, err, errlen);
    if (!f)
        return -1;
    int rc = -1;
    if (got == 8 && png_sig_cmp(magic, 0, 8) == 0) {
        rc = read_png_mask(path, f, m, err, errlen);
    } else if (got >= 2 && magic[0] == 'P' && (magic[1] == '2' || magic[1] == '5')) {
        struct image img;
        fseek(f, 2, SEEK_SET);
        if (read_pgm(path, f, magic[1] == '5', 1, 1, &img, err, errlen) == 0) {
            const long count = (long)img.height * img.width;
            if ((m->values = malloc((size_t)count)) != NULL) {
                for (long i = 0; i < count; i++)
                    m->values[i] = (uint8_t)img.pixels[i];
                m->height = img.height;
                m->width = img.width;
                rc = 0;
            } else {
                snprintf(err, errlen, "%s: out of memory", path);
            }
            image_free(&img);
        }
    } else {
        snprintf(err, errlen, "%s: a mask must be a gray PNG or PGM (expected the PNG signature or P2/P5 at byte 0)",
                 path);
    }
    fclose(f);
    return rc;
}

void mask_free(struct mask *m)
{
    free(m->values);
    m->values = NULL;
}

/* planes of floats into interleaved bytes, clamped to [0, 1] and rounded */
static uint8_t *interleave(const float *pixels, int channels, int height, int width)
{
    const long plane = (long)width * height;
    uint8_t *bytes = malloc((size_t)plane * channels);
    if (!bytes)
        return NULL;
    for (long p = 0; p < plane; p++)
        for (int c = 0; c < channels; c++) {
            const float v = pixels[c * plane + p];
            bytes[p * channels + c] = (uint8_t)((v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v) * 255.0f + 0.5f);
        }
    return bytes;
}

/* What both writers start with: the pixels as interleaved bytes (*bytes,
 * the caller frees) and the temporary file that replaces path. */
static int start_output(const char *path, const float *pixels, int channels, int height, int width,
                        uint8_t **bytes, struct atomic_file *af, char *err, size_t errlen)
{
    *bytes = interleave(pixels, channels, height, width);
    if (!*bytes) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    if (make_parent_dirs(path, err, errlen) < 0 || atomic_open(af, path, err, errlen) < 0) {
        free(*bytes);
        return -1;
    }
    return 0;
}

int image_write_png(const char *path, const float *pixels, int channels, int height, int width, char *err,
                    size_t errlen)
{
    uint8_t *bytes;
    struct atomic_file af;
    if (start_output(path, pixels, channels, height, width, &bytes, &af, err, errlen) < 0)
        return -1;
    png_image png;
    memset(&png, 0, sizeof png);
    png.version = PNG_IMAGE_VERSION;
    png.width = (png_uint_32)width;
    png.height = (png_uint_32)height;
    png.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int ok = png_image_write_to_stdio(&png, af.f, 0, bytes, 0, NULL);
    free(bytes);
    if (!ok) {
        snprintf(err, errlen, "%s: writing the PNG failed: %s", path, png.message);
        atomic_abort(&af);
        return -1;
    }
    return atomic_commit(&af, err, errlen);
}

int image_write_jpeg(const char *path, const float *pixels, int channels, int height, int width, int quality,
                     char *err, size_t errlen)
{
    uint8_t *bytes;
    struct atomic_file af;
    if (start_output(path, pixels, channels, height, width, &bytes, &af, err, errlen) < 0)
        return -1;
    struct jpeg_compress_struct cinfo;
    struct jpeg_failure fail;
    cinfo.err = jpeg_std_error(&fail.mgr);
    fail.mgr.error_exit = jpeg_fail;
    fail.mgr.emit_message = jpeg_warning;
    fail.warned = 0;
    if (setjmp(fail.back)) {
        snprintf(err, errlen, "%s: writing the JPEG failed: %s", path, fail.message);
        jpeg_destroy_compress(&cinfo);
        free(bytes);
        atomic_abort(&af);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, af.f);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW line = bytes + (size_t)cinfo.next_scanline * width * channels;
        jpeg_write_scanlines(&cinfo, &line, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(bytes);
    return atomic_commit(&af, err, errlen);
}

/* One output pixel's span [a, b) in source coordinates, averaged. */
static float area_average(const struct image *src, const float *plane, double y0, double y1, double x0, double x1)
{
    double sum = 0.0, area = 0.0;
    for (int y = (int)y0; y < src->height && y < y1; y++) {
        double hy = (y + 1 < y1 ? y + 1 : y1) - (y > y0 ? y : y0);
        for (int x = (int)x0; x < src->width && x < x1; x++) {
            double wx = (x + 1 < x1 ? x + 1 : x1) - (x > x0 ? x : x0);
            sum += hy * wx * plane[(long)y * src->width + x];
            area += hy * wx;
        }
    }
    return area > 0 ? (float)(sum / area) : 0.0f;
}

static float bilinear(const struct image *src, const float *p, double y, double x)
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
    long w = src->width;
    return (float)((1 - fy) * ((1 - fx) * p[y0 * w + x0] + fx * p[y0 * w + x1]) +
                   fy * ((1 - fx) * p[y1 * w + x0] + fx * p[y1 * w + x1]));
}

void image_resize(const struct image *src, float *dst, int height, int width)
{
    double sy = (double)src->height / height, sx = (double)src->width / width;
    const long in_plane = (long)src->height * src->width, out_plane = (long)height * width;
    for (int c = 0; c < src->channels; c++) {
        const float *plane = src->pixels + c * in_plane;
        for (int oy = 0; oy < height; oy++)
            for (int ox = 0; ox < width; ox++) {
                float v;
                if (sy >= 1.0 && sx >= 1.0)
                    v = area_average(src, plane, oy * sy, (oy + 1) * sy, ox * sx, (ox + 1) * sx);
                else  /* pixel centres: (o + 0.5) * s - 0.5 */
                    v = bilinear(src, plane, (oy + 0.5) * sy - 0.5, (ox + 0.5) * sx - 0.5);
                dst[c * out_plane + (long)oy * width + ox] = v;
            }
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
