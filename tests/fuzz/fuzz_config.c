/* fuzz_config.c - libFuzzer harness: any bytes as a config file, through
 * everything `cnnctl train` checks before touching data (parsing, settings,
 * layers, shapes, unknown keys). Shapes only: nothing is allocated for the
 * network, so a fuzzed 100-GB network costs nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "net.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config cfg;
    if (config_load_text(&cfg, "fuzz.ini", ".", (const char *)data, size) == 0) {
        struct settings st;
        if (settings_read(&st, &cfg, "fuzz") == 0) {
            struct net net;
            if (net_plan(&net, &cfg, (struct shape){1, 28, 28}, NET_FUSE) == 0) {
                config_check_unused(&cfg);
                net_free(&net);
            }
        }
        settings_free(&st);
        char *text = config_to_text(&cfg, NULL);  /* must not crash either */
        free(text);
    }
    config_free(&cfg);
    return 0;
}
