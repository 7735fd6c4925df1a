/* image.h - images in and out: PNG through libpng, JPEG through
 * libjpeg-turbo, PGM (P2 and P5) by hand, and resampling.
 *
 * An image here is channels x height x width floats in [0, 1], planes
 * row-major (channels first, as the network takes them), 0 black; channels
 * is 1 (gray) or 3 (red, green, blue). A file is read as the caller asks:
 * colour turned gray by luma (0.299 R + 0.587 G + 0.114 B), gray copied to
 * three channels; transparent pixels are composited over white. */
#ifndef CNNCTL_IMAGE_H
#define CNNCTL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct image {
    int height, width, channels;
    float *pixels;
};

/* PNG, JPEG or PGM, told apart by the first bytes, as `channels` (1 or 3)
 * channels. 0, or -1 with one line in err (what is wrong with which file).
 * Images larger than 16384 a side or 2^26 pixels are refused from their
 * header, before anything is allocated. */
int image_read(const char *path, int channels, struct image *img, char *err, size_t errlen);
void image_free(struct image *img);

/* A segmentation mask: a class a pixel, as bytes. */
struct mask {
    int height, width;
    uint8_t *values;
};

/* An 8-bit gray PNG or a PGM of at most 255 whose pixel values are the
 * classes, as they are (no scaling, no gamma). A colour, palette, 16-bit
 * or transparent PNG is refused: its values are not classes. 0, or -1 with
 * err. */
int image_read_mask(const char *path, struct mask *m, char *err, size_t errlen);
void mask_free(struct mask *m);

/* Write an 8-bit gray (channels 1) or RGB (3) PNG, or a JPEG, through a
 * temporary file renamed into place; values are clamped to [0, 1]. 0, or
 * -1 with err. */
int image_write_png(const char *path, const float *pixels, int channels, int height, int width, char *err,
                    size_t errlen);
int image_write_jpeg(const char *path, const float *pixels, int channels, int height, int width, int quality,
                     char *err, size_t errlen);

/* Resample src to height x width, each channel: the average of the source
 * area each output pixel covers (shrinking), bilinear (growing). dst
 * (src->channels planes) is allocated by the caller. */
void image_resize(const struct image *src, float *dst, int height, int width);

/* The mean of the pixels on the border: above 0.5, the image is dark on
 * light (predict inverts it for nets trained on light-on-dark data). */
double image_border_mean(const float *pixels, int height, int width);

#endif
