/* cifar.c - see cifar.h. */
#include "cifar.h"
#include "idx.h"

#include <zlib.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most records read at all: 2^24 (CIFAR has 60,000), so that a huge
 * file is refused before its memory is taken. */
#define CIFAR_MAX_RECORDS (1u << 24)

static const char *set_name(enum cifar_label label)
{
    return label == CIFAR_10 ? "CIFAR-10" : "CIFAR-100";
}

/* Appends the records of one file to out (grown as records arrive). */
static int read_file(const char *path, enum cifar_label label, struct cifar_set *out, uint32_t *cap, char *err,
                     size_t errlen)
{
    const int label_bytes = label == CIFAR_10 ? 1 : 2, record = label_bytes + CIFAR_PIXELS;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
        return -1;
    }
    unsigned char buf[2 + CIFAR_PIXELS];
    for (uint64_t at = 0;; at += (uint64_t)record) {
        int got = gzread(f, buf, (unsigned)record);
        if (got < 0) {
            snprintf(err, errlen, "%s: cannot read past byte %llu: %s", path, (unsigned long long)at,
                     gz_error_text(f, path));
            gzclose(f);
            return -1;
        }
        if (got == 0)
            break;
        if (got < record) {
            snprintf(err, errlen,
                     "%s: the record at byte %llu is cut short (%d of its %d bytes; %s records are a label%s and "
                     "3072 pixels%s)",
                     path, (unsigned long long)at, got, record, set_name(label), label_bytes == 2 ? " pair" : "",
                     label == CIFAR_10 ? "; a CIFAR-100 file needs [data] label = fine or coarse" : "");
            gzclose(f);
            return -1;
        }
        /* label bytes: CIFAR-10's class; CIFAR-100's coarse then fine */
        for (int k = 0; k < label_bytes; k++) {
            const int most = label == CIFAR_10 ? 9 : k == 0 ? 19 : 99;
            if (buf[k] > most) {
                snprintf(err, errlen, "%s: label %d at byte %llu is not a %s%s class (0-%d)", path, buf[k],
                         (unsigned long long)(at + k), set_name(label),
                         label == CIFAR_10 ? "" : k == 0 ? " coarse" : " fine", most);
                gzclose(f);
                return -1;
            }
        }
        const int value = label == CIFAR_100_FINE ? buf[1] : buf[0];
        if (out->count == CIFAR_MAX_RECORDS) {
            snprintf(err, errlen, "%s: more than %u records at byte %llu (CIFAR has 60,000)", path, CIFAR_MAX_RECORDS,
                     (unsigned long long)at);
            gzclose(f);
            return -1;
        }
        if (out->count == *cap) {
            uint32_t next = *cap ? *cap * 2 : 1024;
            uint8_t *pixels = realloc(out->pixels, (size_t)next * CIFAR_PIXELS);
            if (pixels)
                out->pixels = pixels;
            uint8_t *labels = pixels ? realloc(out->labels, next) : NULL;
            if (!labels) {
                snprintf(err, errlen, "%s: out of memory at record %u", path, out->count);
                gzclose(f);
                return -1;
            }
            out->labels = labels;
            *cap = next;
        }
        out->labels[out->count] = (uint8_t)value;
        memcpy(out->pixels + (size_t)out->count * CIFAR_PIXELS, buf + label_bytes, CIFAR_PIXELS);
        out->count++;
    }
    gzclose(f);
    return 0;
}

int cifar_read(const char *const *paths, int files, enum cifar_label label, struct cifar_set *out, char *err,
               size_t errlen)
{
    memset(out, 0, sizeof *out);
    uint32_t cap = 0;
    for (int i = 0; i < files; i++) {
        const uint32_t before = out->count;
        if (read_file(paths[i], label, out, &cap, err, errlen) < 0) {
            cifar_free(out);
            return -1;
        }
        if (out->count == before) {
            snprintf(err, errlen, "%s: empty (no %s records)", paths[i], set_name(label));
            cifar_free(out);
            return -1;
        }
    }
    return 0;
}

void cifar_free(struct cifar_set *s)
{
    free(s->pixels);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

int cifar_write(const char *path, const struct cifar_set *s, enum cifar_label label)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = 1;
    for (uint32_t i = 0; i < s->count && ok; i++) {
        if (label != CIFAR_10)
            ok = fputc(s->labels[i] / 5, f) != EOF;
        ok = ok && fputc(s->labels[i], f) != EOF &&
             fwrite(s->pixels + (size_t)i * CIFAR_PIXELS, 1, CIFAR_PIXELS, f) == CIFAR_PIXELS;
    }
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}
