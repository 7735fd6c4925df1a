/* ckpt.h - checkpoint files: the config a net was trained from, and its
 * parameters, in a documented little-endian layout (man cnnctl.ini(5),
 * CHECKPOINT FORMAT):
 *
 *   0   8  magic "CNNCKPT\n"
 *   8   4  format version (u32) = 1
 *   12  .  chunks: 4-byte tag, u64 payload length, payload
 *            CONF  the config text, after --set overrides
 *            STAT  u64 epoch, u64 step, f64 loss, f64 validation accuracy,
 *                  f64 test accuracy (NaN: not measured)
 *            TRST  the training state a resumed run continues from
 *            TENS  u16 name length, name ("conv1.weight"), u8 rank (1..4),
 *                  rank x u32 dims, then the float32 values
 *            OPTM  the optimizer's state (momentum, Adam's moments): u32 array
 *                  count A (1..2), u64 floats per array N (the parameter
 *                  arena's, tensors in TENS order, each padded to 16 floats),
 *                  then A x N float32; only with TRST, only when A > 0
 *            END\0 empty, the last chunk
 *   -4  4  CRC-32 (zlib's) of every byte before it
 * Readers verify everything before trusting anything: size, magic, version,
 * CRC, each chunk's bounds and each tensor's arithmetic. */
#ifndef CNNCTL_CKPT_H
#define CNNCTL_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "optim.h"

#define CKPT_VERSION 1
#define CKPT_MAX_TENSORS 4096

struct ckpt_stats {
    uint64_t epoch, step;
    double loss, val_accuracy, test_accuracy;
};

/* Everything besides the weights that a run needs to continue exactly.
 * No wall-clock time is in it, so the same run writes the same bytes. */
struct ckpt_train_state {
    uint64_t epoch;            /* the epoch in progress, from 1 */
    uint64_t batch_in_epoch;   /* batches of it done */
    uint64_t step;             /* steps done in all (skipped ones included) */
    uint64_t skipped;          /* steps skipped for non-finite values (on_nan = skip) */
    uint64_t log_rows;         /* rows in the log, header excluded */
    double window_loss;        /* sums since the last step row of the log */
    uint64_t window_images, window_correct;
    double epoch_loss;         /* sums over this epoch so far */
    uint64_t epoch_images, epoch_correct;
    double best_accuracy;      /* best validation accuracy so far; NaN: none */
};
#define CKPT_TRST_BYTES (13 * 8)

struct ckpt_tensor {
    char name[256];
    int rank;
    uint32_t dims[4];
    uint64_t count;
    const unsigned char *values;  /* count little-endian float32, inside data */
    size_t offset;                /* of the chunk, for messages */
};

struct ckpt {
    unsigned char *data;
    size_t size;
    const char *config;           /* not NUL-terminated: config_len bytes */
    size_t config_len;
    struct ckpt_stats stats;
    int has_state;
    struct ckpt_train_state state;
    struct ckpt_tensor *tensors;
    int tensor_count;
    int optim_arrays;                    /* 0: no OPTM chunk */
    uint64_t optim_floats;
    const unsigned char *optim_values;   /* inside data */
    size_t optim_offset;
};

/* state may be NULL (nothing to resume); opt too (no optimizer state). */
int ckpt_write(const char *path, const char *config_text, size_t config_len, const struct net *net,
               const struct ckpt_stats *stats, const struct ckpt_train_state *state, const struct optimizer *opt,
               char *err, size_t errlen);
/* Reads and verifies; 0, or -1 with a one-line message naming the path and
 * the byte offset. */
int ckpt_read(const char *path, struct ckpt *out, char *err, size_t errlen);
/* The same, from memory: takes ownership of data (malloc'd). */
int ckpt_parse(unsigned char *data, size_t size, const char *path, struct ckpt *out, char *err, size_t errlen);
/* Copies the tensors into a net built from the same config: every
 * parameter must be there once, with the net's shape. */
int ckpt_load_params(const struct ckpt *c, struct net *net, const char *path, char *err, size_t errlen);
/* Copies the optimizer state into opt (initialised for the same network):
 * the array count and size must match. */
int ckpt_load_optimizer(const struct ckpt *c, struct optimizer *opt, const char *path, char *err, size_t errlen);
void ckpt_free(struct ckpt *c);

#endif
