/* source.c - see source.h. */
#include "source.h"

#include "boxes.h"
#include "folder.h"
#include "idx.h"
#include "image.h"

#include <zlib.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *data_format_name(enum data_format f)
{
    return f == DATA_CIFAR ? "cifar" : f == DATA_FOLDER ? "folder" : f == DATA_LIST ? "list" : "idx";
}

/* An IDX file starts with two zero bytes; a gzip stream with 1f 8b. A
 * CIFAR record starts with a label below 100, so never 1f 8b, and only a
 * class-0 image with a black first pixel (CIFAR-100: coarse class 0, fine
 * class 0) starts with two zeros: one record in 60,000 at most, and IDX
 * is what cnnctl read before formats. A file that cannot be read is
 * taken as IDX, whose reader then says why. */
enum data_format data_source_format(const struct data_source *src)
{
    if (src->format != DATA_AUTO)
        return src->format;
    FILE *f = fopen(src->images[0], "rb");
    unsigned char head[2] = {0, 0};
    size_t got = f ? fread(head, 1, 2, f) : 0;
    if (f)
        fclose(f);
    if (got < 2 || (head[0] == 0 && head[1] == 0) || (head[0] == 0x1f && head[1] == 0x8b))
        return DATA_IDX;
    return DATA_CIFAR;
}

/* Masks as labels (task = segment): an IDX of count x rows x cols bytes,
 * a class per pixel of the images im. */
static int load_masks(const struct data_source *src, struct idx_images *im, struct dataset *out, char *err,
                      size_t errlen)
{
    struct idx_images mk;
    if (idx_read_images(src->labels, &mk, err, errlen) < 0) {
        idx_images_free(im);
        return -1;
    }
    const char *why = NULL;
    if (mk.is_float || mk.channels != 1)
        why = "need one byte a pixel (a rank-3 IDX of unsigned bytes)";
    else if (mk.count != im->count || mk.rows != im->rows || mk.cols != im->cols)
        why = "need one mask of the images' size an image";
    if (why) {
        snprintf(err, errlen, "%s: masks of %u x %u x %u%s for the %u images of %u x %u of %s: %s", src->labels,
                 mk.count, mk.rows, mk.cols, mk.is_float ? " floats" : mk.channels != 1 ? " channels" : "", im->count,
                 im->rows, im->cols, src->images[0], why);
        idx_images_free(&mk);
        idx_images_free(im);
        return -1;
    }
    const long units = (long)im->rows * im->cols;
    *out = (struct dataset){.count = (int)im->count,
                            .shape = {(int)im->channels, (int)im->rows, (int)im->cols},
                            .pixels = im->pixels,
                            .values = im->values,
                            .labels = mk.pixels,
                            .label_units = (int)units,
                            .label_file = src->labels,
                            .label_byte = 16,
                            .label_stride = units,
                            .owned = {im->pixels, im->values, mk.pixels}};
    return 0;
}

/* Boxes as labels (task = detect): a box file for the images im. */
static int load_boxes(const struct data_source *src, struct idx_images *im, struct dataset *out, char *err,
                      size_t errlen)
{
    uint8_t *records;
    if (boxes_read(src->labels, (int)im->count, &records, err, errlen) < 0) {
        idx_images_free(im);
        return -1;
    }
    *out = (struct dataset){.count = (int)im->count,
                            .shape = {(int)im->channels, (int)im->rows, (int)im->cols},
                            .pixels = im->pixels,
                            .values = im->values,
                            .labels = records,
                            .label_units = (int)BOX_LABEL_BYTES,
                            .boxes = 1,
                            .label_file = src->labels,
                            .owned = {im->pixels, im->values, records}};
    return 0;
}

static int load_idx(const struct data_source *src, struct dataset *out, char *err, size_t errlen)
{
    struct idx_images im;
    struct idx_labels lb;
    if (!src->labels) {
        snprintf(err, errlen, "%s: IDX images need their %s file (eval: --labels)", src->images[0],
                 src->masks ? "mask" : src->boxes ? "box" : "label");
        return -1;
    }
    if (idx_read_images(src->images[0], &im, err, errlen) < 0)
        return -1;
    if (im.count > DATASET_MAX_IMAGES) {
        snprintf(err, errlen, "%s: %u images is more than cnnctl handles (%u)", src->images[0], im.count,
                 DATASET_MAX_IMAGES);
        idx_images_free(&im);
        return -1;
    }
    if (src->masks)
        return load_masks(src, &im, out, err, errlen);
    if (src->boxes)
        return load_boxes(src, &im, out, err, errlen);
    if (idx_read_labels(src->labels, &lb, err, errlen) < 0) {
        idx_images_free(&im);
        return -1;
    }
    if (im.count != lb.count) {
        snprintf(err, errlen, "%s: %u labels for the %u images of %s", src->labels, lb.count, im.count,
                 src->images[0]);
        idx_images_free(&im);
        idx_labels_free(&lb);
        return -1;
    }
    if (im.count > DATASET_MAX_IMAGES) {
        snprintf(err, errlen, "%s: %u images is more than cnnctl handles (%u)", src->images[0], im.count,
                 DATASET_MAX_IMAGES);
        idx_images_free(&im);
        idx_labels_free(&lb);
        return -1;
    }
    *out = (struct dataset){.count = (int)im.count,
                            .shape = {(int)im.channels, (int)im.rows, (int)im.cols},
                            .pixels = im.pixels,
                            .values = im.values,
                            .labels = lb.labels,
                            .label_file = src->labels,
                            .label_byte = 8,
                            .label_stride = 1,
                            .owned = {im.pixels, im.values, lb.labels}};
    return 0;
}

static int load_cifar(const struct data_source *src, struct dataset *out, char *err, size_t errlen)
{
    struct cifar_set set;
    if (cifar_read((const char *const *)src->images, src->file_count, src->cifar_label, &set, err, errlen) < 0)
        return -1;
    /* a label's byte is known when there is one file */
    const int single = src->file_count == 1;
    *out = (struct dataset){.count = (int)set.count,
                            .shape = {3, CIFAR_SIDE, CIFAR_SIDE},
                            .pixels = set.pixels,
                            .labels = set.labels,
                            .label_file = src->images[0],
                            .label_byte = src->cifar_label == CIFAR_100_FINE ? 1 : 0,
                            .label_stride = single ? (src->cifar_label == CIFAR_10 ? 1 : 2) + CIFAR_PIXELS : 0,
                            .label_files = src->file_count,
                            .owned = {set.pixels, NULL, set.labels}};
    return 0;
}

/* A mask beside image i (height x width): the image's size, brought to
 * the network's by the nearest pixel (a class is not averaged). */
static int read_mask(const struct label_reader *r, int i, int height, int width, uint8_t *record, char *why,
                     size_t len)
{
    struct mask m;
    const char *path = r->files->label_paths[i];
    if (image_read_mask(path, &m, why, len) < 0)
        return -1;
    if (m.height != height || m.width != width) {
        snprintf(why, len, "%s: a mask of %d x %d for the image %s of %d x %d", path, m.height, m.width,
                 r->files->paths[i], height, width);
        mask_free(&m);
        return -1;
    }
    const int h = r->shape.h, w = r->shape.w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            record[(long)y * w + x] = m.values[(long)((y + 0.5) * height / h) * width + (long)((x + 0.5) * width / w)];
    mask_free(&m);
    return 0;
}

/* A box file beside image i (Darknet's "CLASS X Y W H" lines): fractions
 * of the image, whatever its size. */
static int read_boxes(const struct label_reader *r, int i, int height, int width, uint8_t *record, char *why,
                      size_t len)
{
    (void)height;
    (void)width;
    return boxes_read_image(r->files->label_paths[i], record, why, len);
}

static int list_image_files(const struct data_source *src, struct labelled_files *f, char *err, size_t errlen)
{
    static const char *const mask_exts[] = {".png", ".pgm"}, *const box_exts[] = {".txt"};
    const int dense = src->masks || src->boxes;
    if (dense && src->format == DATA_FOLDER && !src->labels) {
        snprintf(err, errlen, "%s: the images need their %s (a folder of label files)", src->images[0],
                 src->masks ? "masks" : "box files");
        return -1;
    }
    if (src->format == DATA_FOLDER)
        return dense ? dense_folder_files(src->images[0], src->labels, src->masks ? mask_exts : box_exts,
                                          src->masks ? 2 : 1, f, err, errlen)
                     : folder_files(src->images[0], src->class_names, src->class_count, f, err, errlen);
    return dense ? dense_list_files(src->images[0], f, err, errlen)
                 : list_files(src->images[0], src->class_names, src->class_count, f, err, errlen);
}

static int load_files(const struct data_source *src, struct dataset *out, char *err, size_t errlen)
{
    struct labelled_files f;
    if (list_image_files(src, &f, err, errlen) < 0)
        return -1;
    uint8_t *pixels;
    int skipped;
    const long units = src->masks ? (long)src->shape.h * src->shape.w : BOX_LABEL_BYTES;
    struct label_reader reader = {.read = src->masks ? read_mask : read_boxes,
                                  .files = &f,
                                  .shape = src->shape,
                                  .record_bytes = units,
                                  .records = f.label_paths ? malloc((size_t)f.count * units) : NULL};
    if (f.label_paths && !reader.records) {
        snprintf(err, errlen, "out of memory for the labels of %d images", f.count);
        labelled_files_free(&f);
        return -1;
    }
    if (decode_files(&f, src->shape, src->skip_bad, src->progress, f.label_paths ? &reader : NULL, &pixels,
                     &skipped, err, errlen) < 0) {
        free(reader.records);
        labelled_files_free(&f);
        return -1;
    }
    if (reader.records) {
        /* the dense labels replace the class bytes */
        free(f.labels);
        f.labels = reader.records;
    }
    *out = (struct dataset){.count = f.count,
                            .shape = src->shape,
                            .pixels = pixels,
                            .labels = f.labels,
                            .label_units = reader.records ? (int)units : 0,
                            .boxes = src->boxes,
                            .label_file = reader.records ? src->labels : src->images[0],
                            .class_names = f.classes,
                            .class_count = f.class_count,
                            .skipped = skipped,
                            .owned = {pixels, NULL, f.labels}};
    /* the labels and class names now belong to the dataset */
    f.labels = NULL;
    f.classes = NULL;
    f.class_count = 0;
    labelled_files_free(&f);
    return 0;
}

int data_source_load(const struct data_source *src, struct dataset *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if ((src->masks || src->boxes) && data_source_format(src) == DATA_CIFAR) {
        snprintf(err, errlen, "%s: CIFAR files hold one label an image; %s need IDX images or image files",
                 src->images[0], src->masks ? "masks (task = segment)" : "box files (task = detect)");
        return -1;
    }
    switch (data_source_format(src)) {
    case DATA_CIFAR: return load_cifar(src, out, err, errlen);
    case DATA_FOLDER:
    case DATA_LIST: return load_files(src, out, err, errlen);
    default: return load_idx(src, out, err, errlen);
    }
}

int data_source_shape(const struct data_source *src, struct shape *out, char *err, size_t errlen)
{
    const enum data_format f = data_source_format(src);
    if (f == DATA_CIFAR) {
        *out = (struct shape){3, CIFAR_SIDE, CIFAR_SIDE};
        return 0;
    }
    if (f == DATA_FOLDER || f == DATA_LIST) {
        /* images are resized to it: no file says it */
        if (src->shape.c < 1) {
            snprintf(err, errlen, "[data] shape: required with format = %s", data_format_name(f));
            return -1;
        }
        *out = src->shape;
        return 0;
    }
    struct idx_images header;
    if (idx_read_image_header(src->images[0], &header, err, errlen) < 0)
        return -1;
    *out = (struct shape){(int)header.channels, (int)header.rows, (int)header.cols};
    return 0;
}
