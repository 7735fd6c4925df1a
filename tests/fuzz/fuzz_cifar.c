/* fuzz_cifar.c - libFuzzer harness: any bytes as a CIFAR file (raw or
 * gzipped: zlib decides), read as CIFAR-10 and as CIFAR-100 (fine). The
 * reader reads through a path, so the input goes to /dev/shm first. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cifar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/dev/shm/cnnctl-fuzz-cifar-%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    char err[1024];
    const char *paths[1] = {path};
    for (int label = CIFAR_10; label <= CIFAR_100_FINE; label += CIFAR_100_FINE - CIFAR_10) {
        struct cifar_set set;
        if (cifar_read(paths, 1, (enum cifar_label)label, &set, err, sizeof err) == 0)
            cifar_free(&set);
    }
    return 0;
}
