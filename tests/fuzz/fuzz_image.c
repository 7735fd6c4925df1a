/* fuzz_image.c - libFuzzer harness: any bytes as an image file (PNG,
 * JPEG, PGM: the first bytes decide), decoded gray and colour, as the
 * folder and list formats and predict decode them, and resized. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/dev/shm/cnnctl-fuzz-image-%ld", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    char err[1024];
    for (int channels = 1; channels <= 3; channels += 2) {
        struct image img;
        if (image_read(path, channels, &img, err, sizeof err) == 0) {
            float out[3 * 8 * 8];
            image_resize(&img, out, 8, 8);
            image_free(&img);
        }
    }
    return 0;
}
