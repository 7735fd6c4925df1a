/* folder.h - labelled image files: a folder per class (train/CLASS/ holds
 * CLASS's images) or a list file of "PATH LABEL" lines (Darknet's way, paths relative to
 * the list). Every image is decoded once (PNG, JPEG or PGM; image.h),
 * resized to the network's input and kept as bytes. */
#ifndef CNNCTL_FOLDER_H
#define CNNCTL_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "layer.h"

struct labelled_files {
    int count;
    char **paths;
    uint8_t *labels;
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

/* Decodes every file into pixels (count x shape, bytes, channels first),
 * resized to shape. A file that cannot be decoded is an error naming it;
 * with skip_bad, it is left out, counted in *skipped (and its label with
 * it: labels are compacted). progress: show a count on standard error.
 * 0, or -1 with err. */
int decode_files(struct labelled_files *f, struct shape shape, int skip_bad, int progress, uint8_t **pixels,
                 int *skipped, char *err, size_t errlen);

#endif
