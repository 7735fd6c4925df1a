/* fuzz_file.h - for the harnesses whose reader takes a path: the fuzzer's
 * input written to a file of this process's own in /dev/shm (memory, not
 * disk), the same file every time. */
#ifndef CNNCTL_FUZZ_FILE_H
#define CNNCTL_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *fuzz_input_file(const char *what, const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/dev/shm/cnnctl-fuzz-%s-%ld", what, (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    return path;
}

#endif
