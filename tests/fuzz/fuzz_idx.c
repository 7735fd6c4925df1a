/* fuzz_idx.c - libFuzzer harness: any bytes as an IDX file (raw or
 * gzipped: zlib decides), read as images and as labels. The loader reads
 * through a path, so the input goes to a file in /dev/shm first. */
#include "fuzz_file.h"

#include "idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file("idx", data, size);
    char err[1024];
    struct idx_images im;
    struct idx_labels lb;
    if (idx_read_images(path, &im, err, sizeof err) == 0)
        idx_images_free(&im);
    if (idx_read_labels(path, &lb, err, sizeof err) == 0)
        idx_labels_free(&lb);
    return 0;
}
