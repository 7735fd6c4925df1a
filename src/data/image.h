/* image.h - gray images in and out: PNG through libpng, PGM (P2 and P5)
 * by hand, and the resampling predict needs.
 *
 * An image here is height x width floats in [0, 1], row-major, 0 black.
 * Color images are turned gray by luma (0.299 R + 0.587 G + 0.114 B), and
 * transparent pixels are composited over white. */
#ifndef CNNCTL_IMAGE_H
#define CNNCTL_IMAGE_H

#include <stddef.h>

struct image {
    int height, width;
    float *pixels;
};

/* PNG or PGM, told apart by the first bytes. 0, or -1 with one line in err
 * (what is wrong with which file). Images larger than 16384 x 16384 are
 * refused before anything is allocated. */
int image_read(const char *path, struct image *img, char *err, size_t errlen);
void image_free(struct image *img);

/* Write an 8-bit gray PNG through a temporary file renamed into place;
 * values are clamped to [0, 1]. 0, or -1 with err. */
int image_write_png(const char *path, const float *pixels, int height, int width, char *err, size_t errlen);

/* Resample src to height x width: the average of the source area each
 * output pixel covers (shrinking), bilinear (growing). dst is allocated
 * by the caller. */
void image_resize(const struct image *src, float *dst, int height, int width);

/* The mean of the pixels on the border: above 0.5, the image is dark on
 * light (predict inverts it for nets trained on light-on-dark data). */
double image_border_mean(const float *pixels, int height, int width);

#endif
