/* cifar.h - the CIFAR-10 and CIFAR-100 binary files.
 *
 * A file is a run of records with no header: CIFAR-10's are 1 label byte
 * (0-9) then 3072 pixel bytes; CIFAR-100's are a coarse label (0-19), a
 * fine label (0-99), then the pixels. The pixels are 1024 red, 1024 green,
 * 1024 blue, each plane 32 x 32 row-major: channels first, as the network
 * takes them. Read through zlib, so gzipped copies work too; every defect
 * is one line naming the file and the byte offset. */
#ifndef CNNCTL_CIFAR_H
#define CNNCTL_CIFAR_H

#include <stddef.h>
#include <stdint.h>

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)

enum cifar_label { CIFAR_10, CIFAR_100_COARSE, CIFAR_100_FINE };

struct cifar_set {
    uint32_t count;
    uint8_t *pixels;   /* count x 3 x 32 x 32 */
    uint8_t *labels;   /* count */
};

/* Reads the records of paths[0..files) in order into one set. 0, or -1
 * with a message in err. */
int cifar_read(const char *const *paths, int files, enum cifar_label label, struct cifar_set *out, char *err,
               size_t errlen);
void cifar_free(struct cifar_set *s);

/* Writes one file of records (the tests' own data); fine labels are
 * written as given and coarse ones as label / 5. 0 or -1. */
int cifar_write(const char *path, const struct cifar_set *s, enum cifar_label label);

#endif
