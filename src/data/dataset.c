/* dataset.c - batches, and the checks every verb makes of a loaded set. */
#include "dataset.h"

#include "boxes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dataset_free(struct dataset *d)
{
    for (int i = 0; i < 3; i++)
        free(d->owned[i]);
    if (d->owned[0] || d->owned[1])   /* a loaded set, not a slice */
        for (int k = 0; k < d->class_count; k++)
            free(d->class_names[k]);
    if (d->owned[0] || d->owned[1])
        free(d->class_names);
    memset(d, 0, sizeof *d);
}

int dataset_check_labels(const struct dataset *d, int classes, long net_units, int boxes, int ignore, char *err,
                         size_t errlen)
{
    const long units = dataset_label_units(d);
    if (d->boxes != boxes) {
        if (d->boxes)
            snprintf(err, errlen, "%s: boxes (task = detect), but the network does not end in a yolo layer",
                     d->label_file);
        else
            snprintf(err, errlen, "%s: %s, but the network ends in a yolo layer: set [data] task = detect, with box "
                     "files as the labels", d->label_file, units == 1 ? "one label an image" : "masks");
        return -1;
    }
    if (d->boxes)
        return boxes_check_classes(d->labels, d->count, classes, d->label_file, err, errlen);
    if (units != net_units) {
        if (units == 1)
            snprintf(err, errlen, "%s: one label an image, but the network's loss is per pixel (a softmax over a "
                     "C x H x W map): set [data] task = segment, with masks as the label files", d->label_file);
        else if (net_units == 1)
            snprintf(err, errlen, "%s: masks (task = segment), but the network's loss takes one label an image: end "
                     "it with a softmax over a C x H x W map (such as a 1x1 conv, a filter a class)", d->label_file);
        else
            snprintf(err, errlen, "%s: masks of %d x %d pixels, but the network's loss map has %ld", d->label_file,
                     d->shape.h, d->shape.w, net_units);
        return -1;
    }
    if (units > 1) {
        const long width = d->shape.w;
        for (long e = 0; e < (long)d->count * units; e++)
            if (d->labels[e] >= classes && d->labels[e] != ignore) {
                snprintf(err, errlen, "%s: value %d of mask %ld (row %ld, column %ld; byte %ld) is not below the "
                         "network's %d classes%s", d->label_file, d->labels[e], e / units, e % units / width,
                         e % units % width, d->label_byte + e, classes,
                         ignore >= 0 ? " nor the ignored value" : " ([data] ignore names a value that is none)");
                return -1;
            }
        return 0;
    }
    for (int i = 0; i < d->count; i++)
        if (d->labels[i] >= classes) {
            if (d->label_stride)
                snprintf(err, errlen, "%s: label %d of image %d (byte %ld) is not below the network's %d classes",
                         d->label_file, d->labels[i], i, d->label_byte + i * d->label_stride, classes);
            else if (d->label_files > 1)
                snprintf(err, errlen, "%s and the files after it: label %d of image %d is not below the network's "
                         "%d classes", d->label_file, d->labels[i], i, classes);
            else
                snprintf(err, errlen, "%s: label %d of image %d is not below the network's %d classes", d->label_file,
                         d->labels[i], i, classes);
            return -1;
        }
    return 0;
}

int dataset_check_shape(const struct dataset *d, struct shape input, const char *path, char *err, size_t errlen)
{
    if (shape_equal(d->shape, input))
        return 0;
    snprintf(err, errlen, "%s: holds %d x %d x %d images, but the network takes %d x %d x %d ([data] shape)", path,
             d->shape.c, d->shape.h, d->shape.w, input.c, input.h, input.w);
    return -1;
}

struct dataset dataset_slice(const struct dataset *d, int first, int count)
{
    struct dataset s = *d;
    const size_t size = (size_t)shape_size(d->shape);
    s.count = count;
    s.pixels = d->pixels ? d->pixels + (size_t)first * size : NULL;
    s.values = d->values ? d->values + (size_t)first * size : NULL;
    s.labels = d->labels + (size_t)first * dataset_label_units(d);
    s.label_byte = d->label_byte + first * d->label_stride;
    memset(s.owned, 0, sizeof s.owned);
    return s;
}

void dataset_channel_stats(const struct dataset *d, int count, float *mean, float *std)
{
    const long plane = (long)d->shape.h * d->shape.w, size = shape_size(d->shape);
    for (int c = 0; c < d->shape.c; c++) {
        double sum = 0.0, squares = 0.0;
        for (int i = 0; i < count; i++) {
            const long at = (long)i * size + c * plane;
            for (long p = 0; p < plane; p++) {
                const double v = d->pixels ? d->pixels[at + p] / 255.0 : d->values[at + p];
                sum += v;
                squares += v * v;
            }
        }
        const double n = (double)count * plane, m = n > 0 ? sum / n : 0.0;
        const double var = n > 0 ? squares / n - m * m : 0.0;
        mean[c] = (float)m;
        std[c] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
    }
}

void dataset_batch(const struct dataset *d, const uint32_t *indices, int first, int n, float *x, uint8_t *labels)
{
    const long size = shape_size(d->shape);
    const float scale = 1.0f / 255.0f;
    for (int i = 0; i < n; i++) {
        const long src = indices ? (long)indices[i] : (long)first + i;
        float *dst = x + i * size;
        if (d->pixels) {
            const uint8_t *p = d->pixels + src * size;
#pragma omp simd  /* GCC's -O2 leaves it scalar: 784 conversions an image */
            for (long j = 0; j < size; j++)
                dst[j] = p[j] * scale;
        } else {
            memcpy(dst, d->values + src * size, sizeof(float) * size);
        }
        const long units = dataset_label_units(d);
        if (units == 1)
            labels[i] = d->labels[src];
        else
            memcpy(labels + i * units, d->labels + src * units, (size_t)units);
    }
}

void dataset_normalise(const struct dataset *d, float *x, int n)
{
    if (!d->mean)
        return;
    const long plane = (long)d->shape.h * d->shape.w;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d->shape.c; c++) {
            const float m = d->mean[c], s = d->inv_std[c];
            float *q = x + (i * (long)d->shape.c + c) * plane;
#pragma omp simd
            for (long j = 0; j < plane; j++)
                q[j] = (q[j] - m) * s;
        }
}
