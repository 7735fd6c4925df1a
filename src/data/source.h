/* source.h - where labelled images come from: one interface for every
 * format of [data] (cnnctl.ini(5)). A source is its format and its files;
 * it loads into a dataset in memory (dataset.h), or tells only the shape
 * of its images (summary needs no pixels). Callers never see the format.
 *
 *   idx     an image file and a label file (idx.h): grey or, at rank 4,
 *           colour; bytes or float32
 *   cifar   CIFAR-10 or CIFAR-100 record files, labels inside (cifar.h)
 *   folder  a folder per class of PNG, JPEG or PGM files (folder.h)
 *   list    a text file of "PATH LABEL" lines (folder.h)
 * Image files are decoded once and resized to the source's shape. */
#ifndef CNNCTL_SOURCE_H
#define CNNCTL_SOURCE_H

#include <stddef.h>

#include "cifar.h"
#include "dataset.h"

/* DATA_AUTO: recognised from the first file's first bytes (an IDX magic,
 * or a gzip stream, which cnnctl reads only as IDX: idx; else cifar). */
enum data_format { DATA_AUTO, DATA_IDX, DATA_CIFAR, DATA_FOLDER, DATA_LIST };

#define DATA_MAX_FILES 16

struct data_source {
    enum data_format format;
    enum cifar_label cifar_label;        /* cifar: which layout and which label */
    int file_count;
    char *images[DATA_MAX_FILES];        /* idx: one file; cifar: the record files, read in order */
    char *labels;                        /* idx: the label file */
    int masks;                           /* idx: the label file holds masks, count x rows x cols bytes of
                                            a class per pixel ([data] task = segment) */
    int boxes;                           /* idx: the label file is a box file (boxes.h; task = detect) */
    /* folder and list: the shape images are resized to, the class names
     * (class_count 0: the folder's sub-folders, sorted), whether a file
     * that is no image is left out, and a progress count on a terminal */
    struct shape shape;
    char **class_names;
    int class_count, skip_bad, progress;
};

/* Loads every image and label; out owns them (dataset_free). 0, or -1 with
 * one line in err naming the file (and the byte) at fault. */
int data_source_load(const struct data_source *src, struct dataset *out, char *err, size_t errlen);
/* Only the shape of one image, from a header where the format has one. */
int data_source_shape(const struct data_source *src, struct shape *out, char *err, size_t errlen);
/* The source's format, DATA_AUTO resolved by the first file's first bytes. */
enum data_format data_source_format(const struct data_source *src);
/* The format's name, for messages: "idx", "cifar", "folder", "list". */
const char *data_format_name(enum data_format f);

#endif
