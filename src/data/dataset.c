/* dataset.c - loading and batching. */
#include "dataset.h"

#include <stdio.h>
#include <string.h>

int dataset_load(const char *images_path, const char *labels_path, struct idx_images *im,
                 struct idx_labels *lb, struct dataset *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (idx_read_images(images_path, im, err, errlen) < 0)
        return -1;
    if (idx_read_labels(labels_path, lb, err, errlen) < 0) {
        idx_images_free(im);
        return -1;
    }
    if (im->count != lb->count) {
        snprintf(err, errlen, "%s: %u labels for the %u images of %s", labels_path, lb->count, im->count,
                 images_path);
        idx_images_free(im);
        idx_labels_free(lb);
        return -1;
    }
    if (im->count > (1u << 30)) {
        snprintf(err, errlen, "%s: %u images is more than cnnctl handles (%u)", images_path, im->count, 1u << 30);
        idx_images_free(im);
        idx_labels_free(lb);
        return -1;
    }
    out->count = (int)im->count;
    out->shape = (struct shape){1, (int)im->rows, (int)im->cols};
    out->pixels = im->pixels;
    out->labels = lb->labels;
    return 0;
}

int dataset_check_labels(const struct dataset *d, const char *labels_path, int classes, char *err, size_t errlen)
{
    for (int i = 0; i < d->count; i++)
        if (d->labels[i] >= classes) {
            snprintf(err, errlen, "%s: label %d of image %d (byte %d) is not below the network's %d classes",
                     labels_path, d->labels[i], i, 8 + i, classes);
            return -1;
        }
    return 0;
}

struct dataset dataset_slice(const struct dataset *d, int first, int count)
{
    struct dataset s = *d;
    s.count = count;
    s.pixels = d->pixels + (size_t)first * shape_size(d->shape);
    s.labels = d->labels + first;
    return s;
}

void dataset_batch(const struct dataset *d, const uint32_t *indices, int first, int n, float *x, uint8_t *labels)
{
    const long size = shape_size(d->shape);
    const float scale = 1.0f / 255.0f;
    for (int i = 0; i < n; i++) {
        long src = indices ? (long)indices[i] : (long)first + i;
        const uint8_t *p = d->pixels + src * size;
        float *dst = x + i * size;
#pragma omp simd  /* GCC's -O2 leaves it scalar: 784 conversions an image */
        for (long j = 0; j < size; j++)
            dst[j] = p[j] * scale;
        labels[i] = d->labels[src];
    }
}

int dataset_check_shape(const struct dataset *d, struct shape input, const char *path, char *err, size_t errlen)
{
    if (shape_equal(d->shape, input))
        return 0;
    snprintf(err, errlen, "%s: holds %d x %d x %d images, but the network takes %d x %d x %d ([data] shape)", path,
             d->shape.c, d->shape.h, d->shape.w, input.c, input.h, input.w);
    return -1;
}
