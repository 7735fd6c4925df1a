/* fuzz_image.c - libFuzzer harness: any bytes as an image file (PNG,
 * JPEG, PGM: the first bytes decide), decoded gray and colour, as the
 * folder and list formats and predict decode them, and resized. */
#include "fuzz_file.h"

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file("image", data, size);
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
