/* fuzz_cifar.c - libFuzzer harness: any bytes as a CIFAR file (raw or
 * gzipped: zlib decides), read as CIFAR-10 and as CIFAR-100 (fine). The
 * reader reads through a path, so the input goes to /dev/shm first. */
#include "fuzz_file.h"

#include "cifar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file("cifar", data, size);
    char err[1024];
    const char *paths[1] = {path};
    const enum cifar_label layouts[2] = {CIFAR_10, CIFAR_100_FINE};
    for (int k = 0; k < 2; k++) {
        struct cifar_set set;
        if (cifar_read(paths, 1, layouts[k], &set, err, sizeof err) == 0)
            cifar_free(&set);
    }
    return 0;
}
