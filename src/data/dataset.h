/* dataset.h - images and labels in memory, and turning them into batches.
 * Pixels stay uint8 (a quarter of the memory); a batch is scaled to [0, 1]
 * floats as it is copied into the network's input. */
#ifndef CNNCTL_DATASET_H
#define CNNCTL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "idx.h"
#include "layer.h"

struct dataset {
    int count;
    struct shape shape;        /* one image: 1 x rows x cols */
    const uint8_t *pixels;     /* count * rows * cols */
    const uint8_t *labels;     /* count */
};

/* Loads an image file and its label file, checking that they agree. The
 * dataset views the idx structs, which the caller frees. */
int dataset_load(const char *images_path, const char *labels_path, struct idx_images *im,
                 struct idx_labels *lb, struct dataset *out, char *err, size_t errlen);

/* Every label below classes? Else an error naming the first bad one. */
int dataset_check_labels(const struct dataset *d, const char *labels_path, int classes, char *err, size_t errlen);

/* Images of the shape the network takes (C x H x W)? 0, or -1 with err
 * naming path. */
int dataset_check_shape(const struct dataset *d, struct shape input, const char *path, char *err, size_t errlen);

/* Images [first, first + count) as a view. */
struct dataset dataset_slice(const struct dataset *d, int first, int count);

/* Copy images indices[0..n) (or first..first+n when indices is NULL) into
 * x (n, 1, rows, cols) scaled to [0, 1], and their labels. */
void dataset_batch(const struct dataset *d, const uint32_t *indices, int first, int n, float *x, uint8_t *labels);

#endif
