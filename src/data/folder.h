/* folder.h - labelled image files: a folder per class (train/CLASS/ holds
 * CLASS's images) or a list file of "PATH LABEL" lines (Darknet's way, paths relative to
 * the list). Every image is decoded once (PNG, JPEG or PGM; image.h),
 * resized to the network's input and kept as bytes.
 *
 * Dense labels (task = segment or detect) lie in a file of their own beside
 * each image: a folder of images with a folder of label files of the same
 * names, or a list of "IMAGE LABELS" lines. */
#ifndef CNNCTL_FOLDER_H
#define CNNCTL_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "layer.h"

struct labelled_files {
    int count;
    char **paths;
    uint8_t *labels;
    char **label_paths;  /* dense labels: each image's label file; else NULL */
    char **classes;    /* the class names, label order */
    int class_count;
};

/* The files under dir/CLASS/ (hidden ones skipped), classes in the order
 * of `classes` (class_count of them) or, with none, the sub-folders'
 * names sorted; files sorted by name. 0, or -1 with err. */
int folder_files(const char *dir, char *const *classes, int class_count, struct labelled_files *out, char *err,
                 size_t errlen);
/* The lines of a list file: "PATH LABEL", LABEL a class number or one of
 * `classes`; blank lines and # comments skipped. 0, or -1 with err naming
 * the file and line. */
int list_files(const char *list, char *const *classes, int class_count, struct labelled_files *out, char *err,
               size_t errlen);
void labelled_files_free(struct labelled_files *f);

/* Dense labels: the files of folder `images` (sorted by name; hidden ones
 * and folders skipped), each with the file of folder `labels` named as it
 * is but for the extension, the first of exts (count of them) that exists.
 * 0, or -1 with err naming the image whose label file is missing. */
int dense_folder_files(const char *images, const char *labels, const char *const *exts, int ext_count,
                       struct labelled_files *out, char *err, size_t errlen);
/* Dense labels: a list file's "IMAGE LABELS" lines, the last word the label
 * file, both relative to the list's folder. */
int dense_list_files(const char *list, struct labelled_files *out, char *err, size_t errlen);

/* How decode_files reads a dense label beside each image it decodes:
 * read() puts image i's label (its image being height x width before
 * resizing) into record, or says why not (the image is then bad, as one
 * that cannot be decoded). records holds count x record_bytes and is
 * compacted with the images. */
struct label_reader {
    int (*read)(const struct label_reader *r, int i, int height, int width, uint8_t *record, char *why,
                size_t len);
    const struct labelled_files *files;
    struct shape shape;
    long record_bytes;
    uint8_t *records;
};

/* Decodes every file into pixels (count x shape, bytes, channels first),
 * resized to shape, and with labels (NULL: none) each one's dense label. A file that cannot be decoded is an error naming it;
 * with skip_bad, it is left out, counted in *skipped (and its label with
 * it: labels are compacted). progress: show a count on standard error.
 * 0, or -1 with err. */
int decode_files(struct labelled_files *f, struct shape shape, int skip_bad, int progress,
                 const struct label_reader *labels, uint8_t **pixels, int *skipped, char *err, size_t errlen);

#endif
