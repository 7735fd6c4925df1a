/* fuzz_idx.c - libFuzzer harness: any bytes as an IDX file (raw or
 * gzipped: zlib decides), read as images and as labels. The loader reads
 * through a path, so the input goes to a file in /dev/shm first. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/dev/shm/cnnctl-fuzz-idx-%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    char err[1024];
    struct idx_images im;
    struct idx_labels lb;
    if (idx_read_images(path, &im, err, sizeof err) == 0)
        idx_images_free(&im);
    if (idx_read_labels(path, &lb, err, sizeof err) == 0)
        idx_labels_free(&lb);
    return 0;
}
