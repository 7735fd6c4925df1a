/* idx.h - IDX files (the MNIST format), gzipped or raw.
 *
 * Layout: a big-endian header (magic 0x0000TTNN: element type TT, 08 for
 * unsigned bytes or 0D for float32; rank NN; then NN big-endian u32
 * dimensions), then the elements (floats big-endian). cnnctl reads image
 * files of rank 3 (count x rows x cols) or 4 (count x rows x cols x
 * channels: channels last, as in image files), of bytes or float32, and
 * rank-1 label files of bytes (count). Every
 * defect is reported with the file, the byte offset (in the uncompressed
 * stream) and what was expected versus found. */
#ifndef CNNCTL_IDX_H
#define CNNCTL_IDX_H

#include <stddef.h>
#include <stdint.h>

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAX_DIM 65535u           /* rows and cols */
#define IDX_MAX_BYTES (1ull << 34)   /* 16 GiB of payload at most */

struct idx_images {
    uint32_t count, rows, cols, channels;
    int is_float;      /* float32 file: values, else pixels */
    uint8_t *pixels;   /* count x channels x rows x cols, row-major (channels first, as the network takes them) */
    float *values;     /* the same, of a float32 file */
};

struct idx_labels {
    uint32_t count;
    uint8_t *labels;
};

/* zlib's message for a failed read of f, without the "path: " prefix
 * gzerror() puts on it (strerror for a system error). */
struct gzFile_s;
const char *gz_error_text(struct gzFile_s *f, const char *path);

/* 0 on success; -1 with a one-line message in err (no "cnnctl:" prefix). */
int idx_read_images(const char *path, struct idx_images *out, char *err, size_t errlen);
int idx_read_labels(const char *path, struct idx_labels *out, char *err, size_t errlen);
/* Only the header: count, rows, cols, channels, is_float (no data). */
int idx_read_image_header(const char *path, struct idx_images *out, char *err, size_t errlen);
void idx_images_free(struct idx_images *im);
void idx_labels_free(struct idx_labels *lb);

/* Write a raw or gzipped (gz = 1) IDX file; for tests and tools. Images
 * with channels > 1 are written as rank 4 (channels last). 0 or -1. */
int idx_write_images(const char *path, const struct idx_images *im, int gz);
int idx_write_labels(const char *path, const struct idx_labels *lb, int gz);

#endif
