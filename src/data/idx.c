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
#include <math.h>
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

const char *gz_error_text(gzFile f, const char *path)
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

/* The element type of an IDX file (the magic's third byte) and its size. */
#define IDX_TYPE_UBYTE 0x08
#define IDX_TYPE_FLOAT 0x0D

/* Reads header and payload. Label files: rank 1 of bytes. Image files
 * (images set): rank 3 (count x rows x cols) or 4 (... x channels), of
 * bytes or big-endian float32s. dims[] gets the dimensions, *rank_out and
 * *type_out what the magic said; *size the payload's bytes. */
static int read_idx(const char *path, int images, uint32_t *dims, int *rank_out, int *type_out, int header_only,
                    uint8_t **data, size_t *size, char *err, size_t errlen)
{
    *data = NULL;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
        return -1;
    }
    unsigned char header[4 + 4 * 4];
    long got = read_fully(f, header, 4);
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
    const uint32_t magic = be32(header);
    const int type = header[2], rank = header[3];
    const int image_magic = header[0] == 0 && header[1] == 0 && (type == IDX_TYPE_UBYTE || type == IDX_TYPE_FLOAT) &&
                            (rank == 3 || rank == 4);
    if (images ? !image_magic : magic != IDX_MAGIC_LABELS) {
        const char *hint = "";
        if (images && magic == IDX_MAGIC_LABELS)
            hint = " (a label file where images were expected)";
        else if (!images && image_magic)
            hint = " (an image file where labels were expected)";
        if (images)
            snprintf(err, errlen,
                     "%s: bad magic 0x%08x at byte 0 (expected 0x00000803 or 0x00000804: bytes of rank 3 or 4; "
                     "0x00000d03 or 0x00000d04: float32)%s",
                     path, magic, hint);
        else
            snprintf(err, errlen, "%s: bad magic 0x%08x at byte 0 (expected 0x%08x)%s", path, magic,
                     IDX_MAGIC_LABELS, hint);
        gzclose(f);
        return -1;
    }
    const size_t header_len = 4 + 4 * (size_t)rank, element = type == IDX_TYPE_FLOAT ? 4 : 1;
    got = read_fully(f, header + 4, header_len - 4);
    if (got >= 0)
        got += 4;
    if (got < 0) {
        snprintf(err, errlen, "%s: cannot read the header: %s", path, gz_error_text(f, path));
        gzclose(f);
        return -1;
    }
    *rank_out = rank;
    *type_out = type;
    if ((size_t)got < header_len) {
        snprintf(err, errlen, "%s: file ends at byte %ld, inside the %zu-byte header", path, got, header_len);
        gzclose(f);
        return -1;
    }
    unsigned __int128 claim = element;   /* at most 2^32 * 2^48 * 4: no overflow */
    for (int i = 0; i < rank; i++) {
        dims[i] = be32(header + 4 + 4 * i);
        if (dims[i] == 0 || (i > 0 && dims[i] > IDX_MAX_DIM)) {
            snprintf(err, errlen, "%s: dimension %d at byte %d is %u (expected 1 to %u)", path, i, 4 + 4 * i,
                     dims[i], i > 0 ? IDX_MAX_DIM : UINT32_MAX);
            gzclose(f);
            return -1;
        }
        claim *= dims[i];
    }
    if (claim > IDX_MAX_BYTES) {
        if (claim > UINT64_MAX)
            snprintf(err, errlen, "%s: header claims over %llu bytes of data (more than the %llu allowed)", path,
                     (unsigned long long)UINT64_MAX, (unsigned long long)IDX_MAX_BYTES);
        else
            snprintf(err, errlen, "%s: header claims %llu bytes of data (more than the %llu allowed)", path,
                     (unsigned long long)claim, (unsigned long long)IDX_MAX_BYTES);
        gzclose(f);
        return -1;
    }
    const uint64_t total = (uint64_t)claim;
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

/* Images read as count x rows x cols x channels (rank 4: channels last,
 * as in image files) turned into count x channels x rows x cols; float32s
 * from big-endian into this machine's order, each checked to be finite. */
static int read_images(const char *path, int header_only, struct idx_images *out, char *err, size_t errlen)
{
    uint32_t dims[4] = {0, 0, 0, 1};
    size_t size;
    int rank, type;
    uint8_t *data;
    memset(out, 0, sizeof *out);
    if (read_idx(path, 1, dims, &rank, &type, header_only, &data, &size, err, errlen) < 0)
        return -1;
    out->count = dims[0];
    out->rows = dims[1];
    out->cols = dims[2];
    out->channels = rank == 4 ? dims[3] : 1;
    out->is_float = type == IDX_TYPE_FLOAT;
    if (header_only)
        return 0;
    const size_t C = out->channels, plane = (size_t)out->rows * out->cols, image = C * plane;
    const size_t header_len = 4 + 4 * (size_t)rank;
    if (out->is_float) {
        float *values = malloc(size ? size : 1);
        if (!values) {
            snprintf(err, errlen, "%s: out of memory for %zu bytes", path, size);
            free(data);
            return -1;
        }
        for (size_t i = 0; i < size / 4; i++) {
            const uint32_t bits = be32(data + 4 * i);
            float v;
            memcpy(&v, &bits, sizeof v);
            if (!isfinite(v)) {
                snprintf(err, errlen, "%s: the float32 at byte %zu is not a finite number", path, header_len + 4 * i);
                free(values);
                free(data);
                return -1;
            }
            /* element i is (n, y, x, c) in the file: channel c's plane */
            const size_t n = i / image, c = i % C, at = i % image / C;
            values[n * image + c * plane + at] = v;
        }
        free(data);
        out->values = values;
        return 0;
    }
    if (C > 1) {
        uint8_t *chw = malloc(size ? size : 1);
        if (!chw) {
            snprintf(err, errlen, "%s: out of memory for %zu bytes", path, size);
            free(data);
            return -1;
        }
        for (size_t n = 0; n < out->count; n++)
            for (size_t at = 0; at < plane; at++)
                for (size_t c = 0; c < C; c++)
                    chw[n * image + c * plane + at] = data[n * image + at * C + c];
        free(data);
        data = chw;
    }
    out->pixels = data;
    return 0;
}

int idx_read_images(const char *path, struct idx_images *out, char *err, size_t errlen)
{
    return read_images(path, 0, out, err, errlen);
}

int idx_read_image_header(const char *path, struct idx_images *out, char *err, size_t errlen)
{
    return read_images(path, 1, out, err, errlen);
}

int idx_read_labels(const char *path, struct idx_labels *out, char *err, size_t errlen)
{
    uint32_t dims[1];
    size_t size;
    int rank, type;
    memset(out, 0, sizeof *out);
    if (read_idx(path, 0, dims, &rank, &type, 0, &out->labels, &size, err, errlen) < 0)
        return -1;
    out->count = dims[0];
    return 0;
}

void idx_images_free(struct idx_images *im)
{
    free(im->pixels);
    free(im->values);
    memset(im, 0, sizeof *im);
}

void idx_labels_free(struct idx_labels *lb)
{
    free(lb->labels);
    memset(lb, 0, sizeof *lb);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int write_idx(const char *path, int type, const uint32_t *dims, int rank, const uint8_t *data, size_t size,
                     int gz)
{
    unsigned char header[20];
    put_be32(header, ((uint32_t)type << 8) | (uint32_t)rank);
    for (int i = 0; i < rank; i++)
        put_be32(header + 4 + 4 * i, dims[i]);
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
    const size_t C = im->channels ? im->channels : 1, plane = (size_t)im->rows * im->cols, image = C * plane;
    const size_t count = (size_t)im->count * image, element = im->is_float ? 4 : 1;
    uint32_t dims[4] = {im->count, im->rows, im->cols, (uint32_t)C};
    uint8_t *file = malloc(count * element + 1);
    if (!file)
        return -1;
    /* channels last in the file, big-endian floats */
    for (size_t i = 0; i < count; i++) {
        const size_t n = i / image, c = i % C, at = i % image / C, from = n * image + c * plane + at;
        if (im->is_float) {
            uint32_t bits;
            memcpy(&bits, &im->values[from], sizeof bits);
            put_be32(file + 4 * i, bits);
        } else {
            file[i] = im->pixels[from];
        }
    }
    int rc = write_idx(path, im->is_float ? IDX_TYPE_FLOAT : IDX_TYPE_UBYTE, dims, C > 1 ? 4 : 3, file,
                       count * element, gz);
    free(file);
    return rc;
}

int idx_write_labels(const char *path, const struct idx_labels *lb, int gz)
{
    uint32_t dims[1] = {lb->count};
    return write_idx(path, IDX_TYPE_UBYTE, dims, 1, lb->labels, lb->count, gz);
}
