/* boxes.h - detection labels ([data] task = detect): the boxes of an image.
 *
 * One text file for the whole set, a line a box (what `cnnctl compose`
 * writes, YOLO's format with the image's index in front):
 *
 *   IMAGE CLASS X Y W H
 *
 * IMAGE the image's index in the image file (from 0), CLASS from 0, X Y the
 * box's centre and W H its size, all as fractions of the image's width and
 * height; '#' starts a comment. In memory an image's label is a fixed record
 * of BOX_MAX_PER_IMAGE boxes (unused ones have class -1), so that batches,
 * shuffling and MPI slices copy it as they copy one class byte. */
#ifndef CNNCTL_BOXES_H
#define CNNCTL_BOXES_H

#include <stddef.h>
#include <stdint.h>

#define BOX_MAX_PER_IMAGE 32

struct box_label {
    float cls;          /* the class; < 0: an empty slot */
    float x, y, w, h;   /* centre and size, fractions of the image */
};

/* The bytes of one image's label record. */
#define BOX_LABEL_BYTES ((long)BOX_MAX_PER_IMAGE * (long)sizeof(struct box_label))

/* An image's boxes from its record (records are bytes, aligned as floats). */
static inline const struct box_label *box_labels(const uint8_t *labels, long image)
{
    return (const struct box_label *)(const void *)(labels + image * BOX_LABEL_BYTES);
}

/* Reads path's boxes for `count` images into *records (count records,
 * owned by the caller). Every line must be a whole box of an image below
 * count: six fields, finite, the box inside the image (to within 1e-4)
 * and of some size, at most BOX_MAX_PER_IMAGE an image. 0, or -1 with one
 * line in err naming path:line. */
int boxes_read(const char *path, int count, uint8_t **records, char *err, size_t errlen);

/* One image's own box file (Darknet's labels, beside a folder of images):
 * lines "CLASS X Y W H", checked as above, into its record. 0, or -1 with
 * err naming path:line. */
int boxes_read_image(const char *path, uint8_t *record, char *err, size_t errlen);

/* Is every box's class below classes? 0, or -1 with err naming the image. */
int boxes_check_classes(const uint8_t *records, int count, int classes, const char *path, char *err, size_t errlen);

#endif
