/* dataset.h - images and labels in memory, and turning them into batches.
 * Byte images stay uint8 (a quarter of the memory) and are scaled to
 * [0, 1] as a batch is copied into the network's input; float32 images
 * are taken as they are. Either may then be normalised per channel,
 * x = (x - mean[c]) / std[c] (dataset_normalise). */
#ifndef CNNCTL_DATASET_H
#define CNNCTL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "layer.h"

#define DATASET_MAX_IMAGES (1u << 30)

struct dataset {
    int count;
    struct shape shape;        /* one image: C x H x W */
    const uint8_t *pixels;     /* count x C x H x W bytes; NULL for float images */
    const float *values;       /* count x C x H x W floats (float32 IDX); else NULL */
    const uint8_t *labels;     /* count x label_units */
    int label_units;           /* labels an image: 1, or H x W (masks: a class per pixel), or the bytes of
                                  a box record (boxes.h); 0 reads as 1 */
    int boxes;                 /* the labels are box records (task = detect) */
    /* where image i's label lies, for messages: byte label_byte + i *
     * label_stride of label_file (label_stride 0: no byte to name; then
     * label_files > 1: it and the files after it) */
    const char *label_file;
    long label_byte, label_stride;
    int label_files;
    /* image files: the class names in label order, and the files left out
     * (on_bad_image = skip) */
    char **class_names;
    int class_count, skipped;
    /* per channel, or NULL: x as read (set by the caller, who owns them) */
    const float *mean, *inv_std;
    void *owned[3];            /* freed by dataset_free (a slice owns nothing) */
};

/* Frees what a loaded dataset owns (source.h loads them). */
void dataset_free(struct dataset *d);

/* Labels an image (label_units, 0 read as 1). */
static inline long dataset_label_units(const struct dataset *d)
{
    return d->label_units > 0 ? d->label_units : 1;
}

/* Labels that the network's loss takes (units an image: 1, the pixels of a
 * per-pixel loss's map, or, for a loss over boxes, a box record's bytes),
 * each below classes or `ignore` (-1: none)?
 * Else an error naming the first bad one (and its pixel, for masks). */
int dataset_check_labels(const struct dataset *d, int classes, long units, int boxes, int ignore, char *err,
                         size_t errlen);

/* Images of the shape the network takes (C x H x W)? 0, or -1 with err
 * naming path. */
int dataset_check_shape(const struct dataset *d, struct shape input, const char *path, char *err, size_t errlen);

/* Images [first, first + count) as a view. */
struct dataset dataset_slice(const struct dataset *d, int first, int count);

/* Per channel mean and standard deviation of images [0, count) of d, as
 * the batch would hold them before normalisation (bytes scaled to [0, 1]),
 * in double precision. A channel that does not vary gets std 1. */
void dataset_channel_stats(const struct dataset *d, int count, float *mean, float *std);

/* Copy images indices[0..n) (or first..first+n when indices is NULL) into
 * x (n, C, H, W), bytes scaled to [0, 1], and their labels (n x
 * label_units). */
void dataset_batch(const struct dataset *d, const uint32_t *indices, int first, int n, float *x, uint8_t *labels);
/* x = (x - mean[c]) / std[c] for n images of d's shape, where d has a
 * mean: after dataset_batch, and after augmentation, which works on the
 * images as read. */
void dataset_normalise(const struct dataset *d, float *x, int n);

#endif
