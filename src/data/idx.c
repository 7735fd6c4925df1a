/* idx.c - reading and writing IDX files through zlib's gz* (which reads
 * gzipped and raw files alike).
 *
 * NOTE: the header is not trusted for allocation. A 100-byte gzip file may
 * claim 60000 x 65535 x 65535 pixels; the payload buffer therefore grows as
 * bytes actually arrive (doubling, capped at what the header claims), so
 * memory follows the data, not the claim. */
#include "idx.h"

#include <zlib.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Read exactly n bytes; returns the count read (< n at end of data), or -1. */
static long read_fully(gzFile f, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        unsigned chunk = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
        int r = gzread(f, (char *)buf + got, chunk);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += r;
    }
    return (long)got;
}

/* zlib's message without the "path: " prefix gzerror() puts on it. */
static const char *gz_error_text(gzFile f, const char *path)
{
    int code;
    const char *msg = gzerror(f, &code);
    if (code == Z_ERRNO)
        return strerror(errno);
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    return msg;
}

/* Reads header and payload. dims[] gets rank dimensions. */
static int read_idx(const char *path, uint32_t want_magic, uint32_t *dims, int rank, int header_only,
                    uint8_t **data, size_t *size, char *err, size_t errlen)
{
    *data = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
        return -1;
    }
    unsigned char header[4 + 4 * 3];
    size_t header_len = 4 + 4 * (size_t)rank;
    long got = read_fully(f, header, header_len);
    if (got < 0) {
        snprintf(err, errlen, "%s: cannot read the header: %s", path, gz_error_text(f, path));
        gzclose(f);
        return -1;
    }
    if (got < 4) {
        snprintf(err, errlen, "%s: file ends at byte %ld, inside the 4-byte magic number", path, got);
        gzclose(f);
        return -1;
    }
    uint32_t magic = be32(header);
    if (magic != want_magic) {
        const char *hint = "";
        if (magic == IDX_MAGIC_IMAGES || magic == IDX_MAGIC_LABELS)
            hint = magic == IDX_MAGIC_IMAGES ? " (an image file where labels were expected)"
                                             : " (a label file where images were expected)";
        snprintf(err, errlen, "%s: bad magic 0x%08x at byte 0 (expected 0x%08x)%s", path, magic, want_magic,
                 hint);
        gzclose(f);
        return -1;
    }
    if ((size_t)got < header_len) {
        snprintf(err, errlen, "%s: file ends at byte %ld, inside the %zu-byte header", path, got, header_len);
        gzclose(f);
        return -1;
    }
    uint64_t total = 1;
    for (int i = 0; i < rank; i++) {
        dims[i] = be32(header + 4 + 4 * i);
        if (dims[i] == 0 || (i > 0 && dims[i] > IDX_MAX_DIM)) {
            snprintf(err, errlen, "%s: dimension %d at byte %d is %u (expected 1 to %u)", path, i, 4 + 4 * i,
                     dims[i], i > 0 ? IDX_MAX_DIM : UINT32_MAX);
            gzclose(f);
            return -1;
        }
        total *= dims[i]; /* at most 2^32 * 2^16 * 2^16: no overflow in 64 bits */
    }
    if (total > IDX_MAX_BYTES) {
        snprintf(err, errlen, "%s: header claims %llu bytes of data (more than the %llu allowed)", path,
                 (unsigned long long)total, (unsigned long long)IDX_MAX_BYTES);
        gzclose(f);
        return -1;
    }
    if (header_only) {
        gzclose(f);
        *size = 0;
        return 0;
    }
    size_t cap = total < (1u << 20) ? (size_t)total : (1u << 20), have = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        long r = read_fully(f, buf + have, cap - have);
        if (r < 0) {
            snprintf(err, errlen, "%s: cannot read past byte %zu: %s", path, header_len + have, gz_error_text(f, path));
            free(buf);
            gzclose(f);
            return -1;
        }
        have += r;
        if (have < cap || have == total)
            break;
        size_t next = cap * 2 > total ? (size_t)total : cap * 2;
        uint8_t *grown = realloc(buf, next);
        if (!grown) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown;
        cap = next;
    }
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory for %llu bytes", path, (unsigned long long)total);
        gzclose(f);
        return -1;
    }
    if (have < total) {
        snprintf(err, errlen, "%s: truncated: the header promises %llu data bytes, the file ends after %zu (at byte %zu)",
                 path, (unsigned long long)total, have, header_len + have);
        free(buf);
        gzclose(f);
        return -1;
    }
    unsigned char extra;
    long more = read_fully(f, &extra, 1);
    if (more != 0) {
        if (more < 0)
            snprintf(err, errlen, "%s: cannot read past byte %zu: %s", path, header_len + have, gz_error_text(f, path));
        else
            snprintf(err, errlen, "%s: unexpected data after byte %zu (the header promises %llu data bytes)", path,
                     header_len + have, (unsigned long long)total);
        free(buf);
        gzclose(f);
        return -1;
    }
    gzclose(f);
    *data = buf;
    *size = have;
    return 0;
}

int idx_read_images(const char *path, struct idx_images *out, char *err, size_t errlen)
{
    uint32_t dims[3];
    size_t size;
    memset(out, 0, sizeof *out);
    if (read_idx(path, IDX_MAGIC_IMAGES, dims, 3, 0, &out->pixels, &size, err, errlen) < 0)
        return -1;
    out->count = dims[0];
    out->rows = dims[1];
    out->cols = dims[2];
    return 0;
}

int idx_read_labels(const char *path, struct idx_labels *out, char *err, size_t errlen)
{
    uint32_t dims[1];
    size_t size;
    memset(out, 0, sizeof *out);
    if (read_idx(path, IDX_MAGIC_LABELS, dims, 1, 0, &out->labels, &size, err, errlen) < 0)
        return -1;
    out->count = dims[0];
    return 0;
}

int idx_read_image_header(const char *path, struct idx_images *out, char *err, size_t errlen)
{
    uint32_t dims[3];
    size_t size;
    memset(out, 0, sizeof *out);
    if (read_idx(path, IDX_MAGIC_IMAGES, dims, 3, 1, &out->pixels, &size, err, errlen) < 0)
        return -1;
    out->count = dims[0];
    out->rows = dims[1];
    out->cols = dims[2];
    return 0;
}

void idx_images_free(struct idx_images *im)
{
    free(im->pixels);
    memset(im, 0, sizeof *im);
}

void idx_labels_free(struct idx_labels *lb)
{
    free(lb->labels);
    memset(lb, 0, sizeof *lb);
}

static int write_idx(const char *path, const uint32_t *dims, int rank, const uint8_t *data, size_t size, int gz)
{
    unsigned char header[16];
    uint32_t magic = 0x00000800u | (uint32_t)rank;
    uint32_t words[4] = {magic, dims[0], rank > 1 ? dims[1] : 0, rank > 2 ? dims[2] : 0};
    for (int i = 0; i <= rank; i++) {
        header[4 * i] = words[i] >> 24;
        header[4 * i + 1] = words[i] >> 16;
        header[4 * i + 2] = words[i] >> 8;
        header[4 * i + 3] = words[i];
    }
    gzFile f = gzopen(path, gz ? "wb6" : "wbT");
    if (!f)
        return -1;
    int ok = gzwrite(f, header, 4 + 4 * rank) == 4 + 4 * rank;
    if (ok && size)
        ok = gzwrite(f, data, (unsigned)size) == (int)size;
    if (gzclose(f) != Z_OK)
        ok = 0;
    return ok ? 0 : -1;
}

int idx_write_images(const char *path, const struct idx_images *im, int gz)
{
    uint32_t dims[3] = {im->count, im->rows, im->cols};
    return write_idx(path, dims, 3, im->pixels, (size_t)im->count * im->rows * im->cols, gz);
}

int idx_write_labels(const char *path, const struct idx_labels *lb, int gz)
{
    uint32_t dims[1] = {lb->count};
    return write_idx(path, dims, 1, lb->labels, lb->count, gz);
}
