/* fuzz_ckpt.c - libFuzzer harness: any bytes as a checkpoint, through what
 * `cnnctl eval` does with one: verify it, rebuild the network from the
 * embedded config, load the tensors. (The CRC check stops most mutations
 * early; the harness also tries each input with its CRC made right, so the
 * chunk parser behind it is fuzzed too.) */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ckpt.h"
#include "config.h"
#include "net.h"
#include "settings.h"

static void try_checkpoint(unsigned char *copy, size_t size)
{
    struct ckpt ck;
    char err[1024];
    if (ckpt_parse(copy, size, "fuzz.ckpt", &ck, err, sizeof err) < 0)
        return;  /* ckpt_parse freed copy */
    struct config cfg;
    if (config_load_text(&cfg, "embedded", ".", ck.config, ck.config_len) == 0) {
        struct settings st;
        struct net net;
        if (settings_read(&st, &cfg, "fuzz") == 0 && net_plan(&net, &cfg, (struct shape){1, 8, 8}, NET_FUSE) == 0) {
            long floats = 0;
            for (int i = 0; i < net.count; i++)
                for (int j = 0; j < net.layers[i].param_count; j++)
                    floats += net.layers[i].params[j].size;
            /* load the tensors only into a network of sane size */
            if (floats < (1L << 20) && net_allocate(&net, &cfg, 1, 1) == 0) {
                ckpt_load_params(&ck, &net, "fuzz.ckpt", err, sizeof err);
                net_free(&net);
            } else if (floats >= (1L << 20)) {
                net_free(&net);
            }
        }
        settings_free(&st);
    }
    config_free(&cfg);
    ckpt_free(&ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    try_checkpoint(copy, size);
    if (size >= 16) {
        copy = malloc(size);
        memcpy(copy, data, size);
        uLong crc = crc32(crc32(0, NULL, 0), copy, (uInt)(size - 4));
        for (int i = 0; i < 4; i++)
            copy[size - 4 + i] = (unsigned char)(crc >> (8 * i));
        try_checkpoint(copy, size);
    }
    return 0;
}
