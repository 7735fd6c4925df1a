/* ckpt.c - writing and verifying checkpoints. See ckpt.h for the layout. */
#include "ckpt.h"
#include "fileio.h"

#include <zlib.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const unsigned char MAGIC[8] = {'C', 'N', 'N', 'C', 'K', 'P', 'T', '\n'};
#define CKPT_MAX_BYTES (1ull << 36)

/* ---- writing: every byte goes through put(), which keeps the CRC ---- */

struct writer {
    FILE *f;
    uLong crc;
};

static void put(struct writer *w, const void *p, size_t n)
{
    fwrite(p, 1, n, w->f);
    w->crc = crc32(w->crc, p, (uInt)n);
}

static void put_u16(struct writer *w, uint16_t v)
{
    unsigned char b[2] = {v & 0xff, v >> 8};
    put(w, b, 2);
}

static void put_u32(struct writer *w, uint32_t v)
{
    unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};
    put(w, b, 4);
}

static void put_u64(struct writer *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static void put_f64(struct writer *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    put_u64(w, bits);
}

static void put_floats(struct writer *w, const float *v, long n)
{
    unsigned char buf[4096];
    for (long i = 0; i < n;) {
        int k = 0;
        for (; k < 1024 && i < n; k++, i++) {
            uint32_t bits;
            memcpy(&bits, &v[i], 4);
            buf[4 * k] = bits & 0xff;
            buf[4 * k + 1] = (bits >> 8) & 0xff;
            buf[4 * k + 2] = (bits >> 16) & 0xff;
            buf[4 * k + 3] = bits >> 24;
        }
        put(w, buf, 4 * (size_t)k);
    }
}

static void put_chunk_header(struct writer *w, const char tag[4], uint64_t len)
{
    put(w, tag, 4);
    put_u64(w, len);
}

int ckpt_write(const char *path, const char *config_text, size_t config_len, const struct net *net,
               const struct ckpt_stats *stats, const struct ckpt_train_state *state, const struct optimizer *opt,
               char *err, size_t errlen)
{
    struct atomic_file af;
    if (make_parent_dirs(path, err, errlen) < 0 || atomic_open(&af, path, err, errlen) < 0)
        return -1;
    struct writer w = {af.f, crc32(0, NULL, 0)};
    put(&w, MAGIC, 8);
    put_u32(&w, CKPT_VERSION);
    put_chunk_header(&w, "CONF", config_len);
    put(&w, config_text, config_len);
    put_chunk_header(&w, "STAT", 40);
    put_u64(&w, stats->epoch);
    put_u64(&w, stats->step);
    put_f64(&w, stats->loss);
    put_f64(&w, stats->val_accuracy);
    put_f64(&w, stats->test_accuracy);
    if (state) {
        put_chunk_header(&w, "TRST", CKPT_TRST_BYTES);
        put_u64(&w, state->epoch);
        put_u64(&w, state->batch_in_epoch);
        put_u64(&w, state->step);
        put_u64(&w, state->skipped);
        put_u64(&w, state->log_rows);
        put_f64(&w, state->window_loss);
        put_u64(&w, state->window_images);
        put_u64(&w, state->window_correct);
        put_f64(&w, state->epoch_loss);
        put_u64(&w, state->epoch_images);
        put_u64(&w, state->epoch_correct);
        put_f64(&w, state->best_accuracy);
        put_u64(&w, 0);  /* reserved */
    }
    for (int i = 0; i < net->count; i++) {
        const struct layer *l = &net->layers[i];
        for (int j = 0; j < l->param_count; j++) {
            const struct param *p = &l->params[j];
            char name[256];
            int len = snprintf(name, sizeof name, "%s.%s", l->name, p->name);
            put_chunk_header(&w, "TENS", 2 + len + 1 + 4 * p->rank + 4 * (uint64_t)p->size);
            put_u16(&w, (uint16_t)len);
            put(&w, name, len);
            unsigned char rank = (unsigned char)p->rank;
            put(&w, &rank, 1);
            for (int d = 0; d < p->rank; d++)
                put_u32(&w, (uint32_t)p->dims[d]);
            put_floats(&w, p->data, p->size);
        }
    }
    if (state && opt && opt->arrays > 0) {
        put_chunk_header(&w, "OPTM", 12 + 4 * (uint64_t)opt->arrays * opt->n);
        put_u32(&w, (uint32_t)opt->arrays);
        put_u64(&w, (uint64_t)opt->n);
        for (int a = 0; a < opt->arrays; a++)
            put_floats(&w, opt->state[a], opt->n);
    }
    put_chunk_header(&w, "END", 0);  /* the string's NUL is the tag's 4th byte */
    uint32_t crc = (uint32_t)w.crc;
    unsigned char b[4] = {crc & 0xff, (crc >> 8) & 0xff, (crc >> 16) & 0xff, crc >> 24};
    fwrite(b, 1, 4, af.f);
    return atomic_commit(&af, err, errlen);
}

/* ---- reading ------------------------------------------------------------ */

static uint32_t get_u32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static double get_f64(const unsigned char *p)
{
    uint64_t bits = get_u64(p);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", path, msg);
    return -1;
}

static int parse_tensor(struct ckpt_tensor *t, const unsigned char *p, uint64_t len, size_t at, const char *path,
                        char *err, size_t errlen)
{
    if (len < 3)
        return fail(err, errlen, path, "tensor chunk at byte %zu is %llu bytes, too short", at,
                    (unsigned long long)len);
    unsigned name_len = p[0] | p[1] << 8;
    if (name_len == 0 || name_len >= sizeof t->name || 2 + (uint64_t)name_len + 1 > len)
        return fail(err, errlen, path, "tensor chunk at byte %zu: bad name length %u", at, name_len);
    memcpy(t->name, p + 2, name_len);
    t->name[name_len] = 0;
    if (memchr(t->name, 0, name_len))
        return fail(err, errlen, path, "tensor chunk at byte %zu: NUL byte in the name", at);
    t->rank = p[2 + name_len];
    uint64_t head = 2 + (uint64_t)name_len + 1 + 4 * (uint64_t)t->rank;
    if (t->rank < 1 || t->rank > 4 || head > len)
        return fail(err, errlen, path, "tensor '%s' at byte %zu: rank %d (expected 1 to 4)", t->name, at, t->rank);
    t->count = 1;
    for (int d = 0; d < t->rank; d++) {
        t->dims[d] = get_u32(p + 3 + name_len + 4 * d);
        if (t->dims[d] == 0 || t->dims[d] > (1u << 30))
            return fail(err, errlen, path, "tensor '%s' at byte %zu: dimension %u out of range", t->name, at,
                        t->dims[d]);
        t->count *= t->dims[d];
        if (t->count > (1ull << 34))
            return fail(err, errlen, path, "tensor '%s' at byte %zu: %llu values or more (at most %llu)", t->name, at,
                        (unsigned long long)t->count, 1ull << 34);
    }
    if (head + 4 * t->count != len)
        return fail(err, errlen, path, "tensor '%s' at byte %zu: %llu values need %llu bytes, the chunk has %llu",
                    t->name, at, (unsigned long long)t->count, (unsigned long long)(head + 4 * t->count),
                    (unsigned long long)len);
    t->values = p + head;
    t->offset = at;
    return 0;
}

int ckpt_read(const char *path, struct ckpt *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, path, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return fail(err, errlen, path, "not a regular file");
    }
    if ((unsigned long long)sb.st_size > CKPT_MAX_BYTES) {
        fclose(f);
        return fail(err, errlen, path, "%lld bytes is larger than any checkpoint cnnctl writes",
                    (long long)sb.st_size);
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *data = malloc(size ? size : 1);
    if (!data) {
        fclose(f);
        return fail(err, errlen, path, "out of memory for %zu bytes", size);
    }
    size_t got = fread(data, 1, size, f);
    fclose(f);
    return ckpt_parse(data, got, path, out, err, errlen);
}

int ckpt_parse(unsigned char *data, size_t got, const char *path, struct ckpt *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const size_t min_size = 8 + 4 + 12 + 4;
    out->data = data;
    out->size = got;
    if (got < 8 || memcmp(data, MAGIC, 8) != 0) {
        ckpt_free(out);
        return fail(err, errlen, path, "not a cnnctl checkpoint (bad magic at byte 0; expected \"CNNCKPT\\n\")");
    }
    if (got < min_size) {
        ckpt_free(out);
        return fail(err, errlen, path, "truncated: %zu bytes (a checkpoint has at least %zu)", got, min_size);
    }
    uint32_t version = get_u32(data + 8);
    if (version != CKPT_VERSION) {
        ckpt_free(out);
        return fail(err, errlen, path, "format version %u at byte 8 (this cnnctl reads version %d)", version,
                    CKPT_VERSION);
    }
    uint32_t stored = get_u32(data + got - 4);
    /* crc32() takes uInt lengths: feed it in pieces */
    uLong crc = crc32(0, NULL, 0);
    for (size_t off = 0; off < got - 4;) {
        size_t n = got - 4 - off > (1u << 30) ? (1u << 30) : got - 4 - off;
        crc = crc32(crc, data + off, (uInt)n);
        off += n;
    }
    uint32_t actual = (uint32_t)crc;
    if (stored != actual) {
        ckpt_free(out);
        return fail(err, errlen, path, "CRC mismatch (stored 0x%08x at byte %zu, computed 0x%08x): the file is "
                    "damaged or truncated", stored, got - 4, actual);
    }
    int have_conf = 0, have_end = 0;
    size_t pos = 12, end = got - 4;
    while (pos < end) {
        if (end - pos < 12) {
            ckpt_free(out);
            return fail(err, errlen, path, "truncated chunk header at byte %zu", pos);
        }
        char tag[5] = {0};
        memcpy(tag, data + pos, 4);
        uint64_t len = get_u64(data + pos + 4);
        size_t at = pos;
        const unsigned char *payload = data + pos + 12;
        if (len > end - pos - 12) {
            ckpt_free(out);
            return fail(err, errlen, path, "chunk '%.4s' at byte %zu claims %llu bytes, only %zu remain", tag, at,
                        (unsigned long long)len, end - pos - 12);
        }
        pos += 12 + len;
        if (have_end) {
            ckpt_free(out);
            return fail(err, errlen, path, "data after the END chunk at byte %zu", at);
        }
        if (memcmp(tag, "CONF", 4) == 0) {
            if (have_conf++) {
                ckpt_free(out);
                return fail(err, errlen, path, "second CONF chunk at byte %zu", at);
            }
            out->config = (const char *)payload;
            out->config_len = len;
        } else if (memcmp(tag, "STAT", 4) == 0) {
            if (len != 40) {
                ckpt_free(out);
                return fail(err, errlen, path, "STAT chunk at byte %zu is %llu bytes (expected 40)", at,
                            (unsigned long long)len);
            }
            out->stats = (struct ckpt_stats){get_u64(payload), get_u64(payload + 8), get_f64(payload + 16),
                                             get_f64(payload + 24), get_f64(payload + 32)};
        } else if (memcmp(tag, "TRST", 4) == 0) {
            if (len != CKPT_TRST_BYTES || out->has_state) {
                ckpt_free(out);
                return fail(err, errlen, path, "TRST chunk at byte %zu: %llu bytes (expected %d, once)", at,
                            (unsigned long long)len, CKPT_TRST_BYTES);
            }
            const unsigned char *q = payload;
            struct ckpt_train_state *t = &out->state;
            t->epoch = get_u64(q);
            t->batch_in_epoch = get_u64(q + 8);
            t->step = get_u64(q + 16);
            t->skipped = get_u64(q + 24);
            t->log_rows = get_u64(q + 32);
            t->window_loss = get_f64(q + 40);
            t->window_images = get_u64(q + 48);
            t->window_correct = get_u64(q + 56);
            t->epoch_loss = get_f64(q + 64);
            t->epoch_images = get_u64(q + 72);
            t->epoch_correct = get_u64(q + 80);
            t->best_accuracy = get_f64(q + 88);
            out->has_state = 1;
        } else if (memcmp(tag, "OPTM", 4) == 0) {
            uint32_t arrays = len >= 12 ? get_u32(payload) : 0;
            uint64_t floats = len >= 12 ? get_u64(payload + 4) : 0;
            /* arrays <= OPTIM_MAX_ARRAYS and floats < 2^60 keep the product from overflowing */
            if (len < 12 || out->optim_values || arrays == 0 || arrays > OPTIM_MAX_ARRAYS || floats >= (1ULL << 60) ||
                len - 12 != 4 * (uint64_t)arrays * floats) {
                ckpt_free(out);
                return fail(err, errlen, path, "OPTM chunk at byte %zu: %llu bytes do not hold the %u arrays of "
                            "%llu floats it declares (at most %d arrays, once)", at, (unsigned long long)len,
                            arrays, (unsigned long long)floats, OPTIM_MAX_ARRAYS);
            }
            out->optim_arrays = (int)arrays;
            out->optim_floats = floats;
            out->optim_values = payload + 12;
            out->optim_offset = at;
        } else if (memcmp(tag, "TENS", 4) == 0) {
            if (out->tensor_count == CKPT_MAX_TENSORS) {
                ckpt_free(out);
                return fail(err, errlen, path, "more than %d tensors", CKPT_MAX_TENSORS);
            }
            struct ckpt_tensor *grown = realloc(out->tensors, sizeof *grown * (out->tensor_count + 1));
            if (!grown) {
                ckpt_free(out);
                return fail(err, errlen, path, "out of memory");
            }
            out->tensors = grown;
            if (parse_tensor(&out->tensors[out->tensor_count], payload, len, at, path, err, errlen) < 0) {
                ckpt_free(out);
                return -1;
            }
            out->tensor_count++;
        } else if (memcmp(tag, "END\0", 4) == 0) {
            have_end = 1;
        } else {
            ckpt_free(out);
            return fail(err, errlen, path, "unknown chunk tag '%.4s' at byte %zu", tag, at);
        }
    }
    if (!have_end || !have_conf) {
        ckpt_free(out);
        return fail(err, errlen, path, "incomplete: no %s chunk", have_conf ? "END" : "CONF");
    }
    return 0;
}

int ckpt_load_params(const struct ckpt *c, struct net *net, const char *path, char *err, size_t errlen)
{
    int expected = 0;
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        for (int j = 0; j < l->param_count; j++, expected++) {
            struct param *p = &l->params[j];
            char name[256];
            snprintf(name, sizeof name, "%s.%s", l->name, p->name);
            const struct ckpt_tensor *t = NULL;
            for (int k = 0; k < c->tensor_count && !t; k++)
                if (strcmp(c->tensors[k].name, name) == 0)
                    t = &c->tensors[k];
            if (!t)
                return fail(err, errlen, path, "no tensor '%s', which the embedded config defines", name);
            int same = t->rank == p->rank;
            for (int d = 0; same && d < p->rank; d++)
                same = t->dims[d] == (uint32_t)p->dims[d];
            if (!same) {
                char have[64] = "", want[64] = "";
                for (int d = 0; d < t->rank; d++)
                    snprintf(have + strlen(have), sizeof have - strlen(have), "%s%u", d ? "x" : "", t->dims[d]);
                for (int d = 0; d < p->rank; d++)
                    snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? "x" : "", p->dims[d]);
                return fail(err, errlen, path, "tensor '%s' at byte %zu is %s, but the network built from the "
                            "config is %s", name, t->offset, have, want);
            }
            for (long e = 0; e < p->size; e++) {
                uint32_t bits = get_u32(t->values + 4 * e);
                memcpy(&p->data[e], &bits, 4);
            }
        }
    }
    if (c->tensor_count != expected)
        return fail(err, errlen, path, "%d tensors, but the embedded config defines %d", c->tensor_count,
                    expected);
    return 0;
}

int ckpt_load_optimizer(const struct ckpt *c, struct optimizer *opt, const char *path, char *err, size_t errlen)
{
    if (c->optim_arrays != opt->arrays || (opt->arrays && c->optim_floats != (uint64_t)opt->n))
        return fail(err, errlen, path, "holds optimizer state of %d arrays of %llu floats, but optimizer %s of this "
                    "network keeps %d of %ld", c->optim_arrays, (unsigned long long)c->optim_floats,
                    optim_name(opt->c.kind), opt->arrays, opt->arrays ? opt->n : 0L);
    for (int a = 0; a < opt->arrays; a++)
        for (long e = 0; e < opt->n; e++) {
            uint32_t bits = get_u32(c->optim_values + 4 * ((uint64_t)a * opt->n + e));
            memcpy(&opt->state[a][e], &bits, 4);
        }
    return 0;
}

void ckpt_free(struct ckpt *c)
{
    free(c->data);
    free(c->tensors);
    memset(c, 0, sizeof *c);
}
