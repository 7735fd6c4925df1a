/* config.c - INI parsing through inih's ini_parse_stream with our own reader.
 *
 * NOTE: Debian's inih (r55) is built with multi-line values on, no line
 * numbers in the handler and no callback for a new section. So the reader
 * below does the bookkeeping inih cannot: it counts lines, sees every
 * [header] itself (two sections with one name are two sections, and an
 * error), strips indentation so inih never glues a line onto the previous
 * value, rejects lines longer than inih's buffer, and hands inih only lines
 * it has already judged well-formed. inih still does the parsing proper
 * (comments, "key = value", trimming); the handler runs right after the
 * reader returned the line, so the reader's line count is the key's line. */
#include "config.h"

#include <ini.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX_BYTES (4L << 20)  /* a config is text written by hand */
#define CONFIG_MAX_ERRORS 100

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "cnnctl: out of memory\n");
        exit(1);
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

/* Sort keys of errors: a file line; then the --set options; then errors
 * about the whole file, which ORDER_UNPLACED keeps after both. */
#define ORDER_OPTION ((long)INT_MAX + 1)
#define ORDER_UNPLACED ((long)INT_MAX + 2)
#define ORDER_LAST ((long)INT_MAX + 3)

static void add_error_line(struct config *cfg, char *line, long order)
{
    if (cfg->error_count == CONFIG_MAX_ERRORS) {
        free(line);
        line = xstrdup("too many errors; stopping here");
        order = ORDER_LAST;
    } else if (cfg->error_count > CONFIG_MAX_ERRORS) {
        free(line);
        return;
    }
    cfg->errors = xrealloc(cfg->errors, sizeof(char *) * (cfg->error_count + 1));
    cfg->error_order = xrealloc(cfg->error_order, sizeof(long) * (cfg->error_count + 1));
    cfg->errors[cfg->error_count] = line;
    cfg->error_order[cfg->error_count++] = order;
}

void config_error_text(struct config *cfg, char *err, size_t errlen)
{
    config_sort_errors(cfg);
    snprintf(err, errlen, "%s", cfg->error_count ? cfg->errors[0] : "");
}

void config_sort_errors(struct config *cfg)
{
    /* insertion sort: stable, and there are at most CONFIG_MAX_ERRORS + 1 */
    for (int i = 1; i < cfg->error_count; i++) {
        char *line = cfg->errors[i];
        long order = cfg->error_order[i];
        int j = i;
        for (; j > 0 && cfg->error_order[j - 1] > order; j--) {
            cfg->errors[j] = cfg->errors[j - 1];
            cfg->error_order[j] = cfg->error_order[j - 1];
        }
        cfg->errors[j] = line;
        cfg->error_order[j] = order;
    }
}

static void verror(struct config *cfg, const struct config_section *s, const struct config_entry *e,
                   int line, const char *fmt, va_list ap)
{
    char where[512], msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    long order = e && e->origin ? ORDER_OPTION
                 : e            ? e->line
                 : s && s->line > 0 ? s->line
                 : line > 0     ? line
                                : ORDER_UNPLACED;
    if (e && e->origin)
        snprintf(where, sizeof where, "%s: [%s] %s: ", e->origin, s ? s->name : "", e->key);
    else if (e)
        snprintf(where, sizeof where, "%s:%d: [%s] %s: ", cfg->label, e->line, s ? s->name : "", e->key);
    else if (s && s->line > 0)
        snprintf(where, sizeof where, "%s:%d: [%s] ", cfg->label, s->line, s->name);
    else if (s)
        snprintf(where, sizeof where, "%s: [%s] ", cfg->label, s->name);
    else if (line > 0)
        snprintf(where, sizeof where, "%s:%d: ", cfg->label, line);
    else
        snprintf(where, sizeof where, "%s: ", cfg->label);
    size_t n = strlen(where) + strlen(msg) + 1;
    char *out = xrealloc(NULL, n);
    snprintf(out, n, "%s%s", where, msg);
    add_error_line(cfg, out, order);
}

void config_error(struct config *cfg, const struct config_section *s, const struct config_entry *e,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(cfg, s, e, 0, fmt, ap);
    va_end(ap);
}

static void line_error(struct config *cfg, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void line_error(struct config *cfg, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(cfg, NULL, NULL, line, fmt, ap);
    va_end(ap);
}

/* ---- reading ---------------------------------------------------------- */

struct reader {
    struct config *cfg;
    const char *pos, *end;
    int line;
    int max_line;                  /* inih's buffer size, learnt from its first call */
    struct config_section *current; /* section of the last header, NULL before any */
};

static struct config_section *add_section(struct config *cfg, const char *name, int line)
{
    if (cfg->count == cfg->cap) {
        cfg->cap = cfg->cap ? cfg->cap * 2 : 16;
        cfg->sections = xrealloc(cfg->sections, sizeof *cfg->sections * cfg->cap);
    }
    struct config_section *s = &cfg->sections[cfg->count++];
    memset(s, 0, sizeof *s);
    s->name = xstrdup(name);
    s->line = line;
    return s;
}

static struct config_entry *add_entry(struct config_section *s, const char *key, const char *value)
{
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->entries = xrealloc(s->entries, sizeof *s->entries * s->cap);
    }
    struct config_entry *e = &s->entries[s->count++];
    memset(e, 0, sizeof *e);
    e->key = xstrdup(key);
    e->value = xstrdup(value);
    return e;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Judge one physical line; returns 1 if inih may see it. */
static int check_line(struct reader *r, const char *text, size_t len)
{
    struct config *cfg = r->cfg;
    if (len == 0 || text[0] == ';' || text[0] == '#')
        return 1;
    if (text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (!close) {
            line_error(cfg, r->line, "section header without ']'");
            return 0;
        }
        for (const char *p = close + 1; p < text + len; p++) {
            if (*p == ';' || *p == '#')
                break;
            if (!is_space(*p)) {
                line_error(cfg, r->line, "text after section header");
                return 0;
            }
        }
        char name[256];
        const char *a = text + 1, *b = close;
        while (a < b && is_space(*a))
            a++;
        while (b > a && is_space(b[-1]))
            b--;
        if (b == a || (size_t)(b - a) >= sizeof name) {
            line_error(cfg, r->line, "section name must be 1 to %zu characters", sizeof name - 1);
            return 0;
        }
        memcpy(name, a, b - a);
        name[b - a] = 0;
        for (const char *p = name; *p; p++) {
            if (!(*p == '_' || *p == '-' || *p == '.' || (*p >= '0' && *p <= '9') ||
                  (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) {
                line_error(cfg, r->line, "section name '%s': use letters, digits, '_', '-' and '.'", name);
                return 0;
            }
        }
        struct config_section *old = config_section(cfg, name);
        if (old)
            line_error(cfg, r->line, "[%s] defined again (first at line %d); layer names must be unique",
                       name, old->line);
        r->current = add_section(cfg, name, r->line);
        return 1;
    }
    if (!memchr(text, '=', len) && !memchr(text, ':', len)) {
        line_error(cfg, r->line, "expected 'key = value', a [section] header or a comment");
        return 0;
    }
    if (text[0] == '=' || text[0] == ':') {
        line_error(cfg, r->line, "missing key before '%c'", text[0]);
        return 0;
    }
    if (!r->current) {
        line_error(cfg, r->line, "key outside any [section]");
        return 0;
    }
    return 1;
}

static char *reader_next(char *str, int num, void *stream)
{
    struct reader *r = stream;
    if (r->pos >= r->end)
        return NULL;
    const char *nl = memchr(r->pos, '\n', r->end - r->pos);
    const char *line_end = nl ? nl : r->end;
    const char *text = r->pos;
    r->pos = nl ? nl + 1 : r->end;
    r->line++;
    r->max_line = num;
    /* Normalise indentation: inih would glue an indented line to the
     * previous value. */
    while (text < line_end && is_space(*text))
        text++;
    size_t len = line_end - text;
    while (len > 0 && is_space(text[len - 1]))
        len--;
    str[0] = 0;
    if (len + 2 > (size_t)num) {
        line_error(r->cfg, r->line, "line is longer than %d characters", num - 2);
        return str;
    }
    if (check_line(r, text, len)) {
        memcpy(str, text, len);
        str[len] = 0;
    }
    strcat(str, "\n");
    return str;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
    (void)section;  /* inih's idea of the section merges duplicates: use ours */
    struct reader *r = user;
    struct config_section *s = r->current;
    for (int i = 0; i < s->count; i++) {
        if (strcmp(s->entries[i].key, key) == 0) {
            line_error(r->cfg, r->line, "[%s] %s: given twice (first at line %d)", s->name, key,
                       s->entries[i].line);
            return 1;
        }
    }
    struct config_entry *e = add_entry(s, key, value);
    e->line = r->line;
    return 1;
}

int config_load_text(struct config *cfg, const char *label, const char *base_dir, const char *text,
                     size_t len)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->label = xstrdup(label);
    cfg->base_dir = xstrdup(base_dir ? base_dir : ".");
    const char *nul = memchr(text, 0, len);
    if (nul) {
        config_error(cfg, NULL, NULL, "binary data (a NUL byte at byte offset %zu); expected an INI text",
                     (size_t)(nul - text));
        return -1;
    }
    struct reader r = {cfg, text, text + len, 0, 0, NULL};
    /* Skip a UTF-8 byte order mark ourselves so line 1 is checked like the others. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        r.pos += 3;
    int rc = ini_parse_stream(reader_next, &r, handler, &r);
    if (rc > 0 && cfg->error_count == 0)
        line_error(cfg, rc, "cannot parse this line");
    else if (rc < 0 && cfg->error_count == 0)
        config_error(cfg, NULL, NULL, "cannot parse (inih error %d)", rc);
    return cfg->error_count ? -1 : 0;
}

int config_load_file(struct config *cfg, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        memset(cfg, 0, sizeof *cfg);
        cfg->label = xstrdup(path);
        config_error(cfg, NULL, NULL, "cannot open: %s", strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0 || (long)len > CONFIG_MAX_BYTES)
            break;
    }
    int read_error = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    char *copy = xstrdup(path);
    int rc;
    if (read_error || (long)len > CONFIG_MAX_BYTES) {
        memset(cfg, 0, sizeof *cfg);
        cfg->label = xstrdup(path);
        cfg->base_dir = xstrdup(".");
        if (read_error)
            config_error(cfg, NULL, NULL, "cannot read: %s%s", strerror(read_error),
                         read_error == EISDIR ? " (expected a config file)" : "");
        else
            config_error(cfg, NULL, NULL, "larger than %ld bytes; expected a small INI text", CONFIG_MAX_BYTES);
        rc = -1;
    } else {
        rc = config_load_text(cfg, path, dirname(copy), buf, len);
    }
    free(copy);
    free(buf);
    return rc;
}

void config_free(struct config *cfg)
{
    for (int i = 0; i < cfg->count; i++) {
        struct config_section *s = &cfg->sections[i];
        for (int j = 0; j < s->count; j++) {
            free(s->entries[j].key);
            free(s->entries[j].value);
            free(s->entries[j].origin);
        }
        free(s->entries);
        free(s->name);
        for (int j = 0; j < s->known_count; j++) {
            free(s->known[j]);
            free(s->known_why[j]);
            free(s->known_by[j]);
        }
        free(s->known);
        free(s->known_why);
        free(s->known_by);
    }
    free(cfg->sections);
    for (int i = 0; i < cfg->error_count; i++)
        free(cfg->errors[i]);
    free(cfg->errors);
    free(cfg->error_order);
    for (int i = 0; i < cfg->note_count; i++)
        free(cfg->notes[i]);
    free(cfg->notes);
    free(cfg->label);
    free(cfg->base_dir);
    memset(cfg, 0, sizeof *cfg);
}

/* ---- lookup and overrides -------------------------------------------- */

struct config_section *config_section(struct config *cfg, const char *name)
{
    for (int i = 0; i < cfg->count; i++)
        if (strcmp(cfg->sections[i].name, name) == 0)
            return &cfg->sections[i];
    return NULL;
}

static struct config_entry *find_entry(struct config_section *s, const char *key)
{
    if (!s)
        return NULL;
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->entries[i].key, key) == 0)
            return &s->entries[i];
    return NULL;
}

static int known_index(const struct config_section *s, const char *key)
{
    for (int i = 0; i < s->known_count; i++)
        if (strcmp(s->known[i], key) == 0)
            return i;
    return -1;
}

/* why NULL: the key is read (asked for by a getter) */
static void add_known(struct config_section *s, const char *key, const char *why, const char *by)
{
    int i = known_index(s, key);
    if (i >= 0) {
        if (!why && s->known_why[i]) {   /* read after all */
            free(s->known_why[i]);
            free(s->known_by[i]);
            s->known_why[i] = s->known_by[i] = NULL;
        }
        return;
    }
    if (s->known_count == s->known_cap) {
        s->known_cap = s->known_cap ? s->known_cap * 2 : 16;
        s->known = xrealloc(s->known, sizeof *s->known * s->known_cap);
        s->known_why = xrealloc(s->known_why, sizeof *s->known_why * s->known_cap);
        s->known_by = xrealloc(s->known_by, sizeof *s->known_by * s->known_cap);
    }
    s->known[s->known_count] = xstrdup(key);
    s->known_why[s->known_count] = why ? xstrdup(why) : NULL;
    s->known_by[s->known_count++] = why && by ? xstrdup(by) : NULL;
}

struct config_entry *config_find(struct config_section *s, const char *key)
{
    if (!s)
        return NULL;
    add_known(s, key, NULL, NULL);
    struct config_entry *e = find_entry(s, key);
    if (e)
        e->used = 1;
    return e && !e->dropped ? e : NULL;
}

void config_declare(struct config_section *s, const char *key, const char *why, const char *by)
{
    if (s)
        add_known(s, key, why, by);
}

void config_drop(struct config_entry *e)
{
    e->used = 1;
    e->dropped = 1;
}

void config_put(struct config *cfg, struct config_section *s, const char *key, const char *value)
{
    (void)cfg;
    struct config_entry *e = find_entry(s, key);
    if (!e)
        e = add_entry(s, key, value);
    else {
        free(e->value);
        e->value = xstrdup(value);
    }
    e->used = 1;
    e->dropped = 0;
}

int config_set(struct config *cfg, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    char origin[300];
    snprintf(origin, sizeof origin, "--set %s", assignment);
    if (!eq || !dot || dot > eq || dot == assignment || dot + 1 == eq) {
        char *line = xrealloc(NULL, strlen(origin) + 64);
        sprintf(line, "%s: expected section.key=value", origin);
        add_error_line(cfg, line, ORDER_OPTION);
        return -1;
    }
    char section[256], key[256];
    if ((size_t)(dot - assignment) >= sizeof section || (size_t)(eq - dot - 1) >= sizeof key) {
        char *line = xrealloc(NULL, strlen(origin) + 64);
        sprintf(line, "%s: name too long", origin);
        add_error_line(cfg, line, ORDER_OPTION);
        return -1;
    }
    memcpy(section, assignment, dot - assignment);
    section[dot - assignment] = 0;
    memcpy(key, dot + 1, eq - dot - 1);
    key[eq - dot - 1] = 0;
    struct config_section *s = config_section(cfg, section);
    if (!s) {
        size_t n = strlen(origin) + strlen(section) + strlen(cfg->label) + 64;
        char *line = xrealloc(NULL, n);
        snprintf(line, n, "%s: no section [%s] in %s", origin, section, cfg->label);
        add_error_line(cfg, line, ORDER_OPTION);
        return -1;
    }
    struct config_entry *e = find_entry(s, key);
    if (!e)
        e = add_entry(s, key, eq + 1);
    else {
        free(e->value);
        e->value = xstrdup(eq + 1);
        free(e->origin);
    }
    e->origin = xstrdup(origin);
    e->line = 0;
    e->dropped = 0;
    return 0;
}

/* ---- typed getters ---------------------------------------------------- */

int parse_long(const char *text, long *out)
{
    errno = 0;
    if (!*text || is_space(*text))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int parse_double(const char *text, double *out)
{
    if (!*text || is_space(*text))
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* --set section.key= (empty) takes a number key back to its default, as if
 * the file did not have it; in the file itself an empty number is an error.
 * (An empty string key keeps its meaning: test_images = turns the test
 * set off.) */
int config_unset_by_option(const struct config_entry *e)
{
    return e->origin && e->value[0] == '\0';
}

int config_get_int(struct config *cfg, struct config_section *s, const char *key, long *out, long def,
                   long min, long max)
{
    *out = def;
    struct config_entry *e = config_find(s, key);
    if (e && config_unset_by_option(e))
        config_drop(e);
    if (!e || e->dropped)
        return 0;
    long v;
    if (parse_long(e->value, &v) < 0) {
        if (errno == ERANGE)
            config_error(cfg, s, e, "%s is out of range (expected %ld to %ld)", e->value, min, max);
        else
            config_error(cfg, s, e, "'%s' is not a whole number", e->value);
        return -1;
    }
    if (v < min || v > max) {
        config_error(cfg, s, e, "%ld is out of range (expected %ld to %ld)", v, min, max);
        return -1;
    }
    *out = v;
    return 1;
}

int config_get_float(struct config *cfg, struct config_section *s, const char *key, double *out,
                     double def, double min, double max)
{
    *out = def;
    struct config_entry *e = config_find(s, key);
    if (e && config_unset_by_option(e))
        config_drop(e);
    if (!e || e->dropped)
        return 0;
    double v;
    if (parse_double(e->value, &v) < 0) {
        config_error(cfg, s, e, "'%s' is not a number", e->value);
        return -1;
    }
    if (v < min || v > max) {
        config_error(cfg, s, e, "%g is out of range (expected %g to %g)", v, min, max);
        return -1;
    }
    *out = v;
    return 1;
}

int config_get_string(struct config *cfg, struct config_section *s, const char *key, const char **out,
                      const char *def)
{
    (void)cfg;
    struct config_entry *e = config_find(s, key);
    *out = e ? e->value : def;
    return e ? 1 : 0;
}

/* Optimal string alignment distance (a swap of two neighbours counts 1:
 * "filtres" is one from "filters"), for keys up to 63 characters. */
static int edit_distance(const char *a, const char *b)
{
    enum { N = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= N || lb >= N)
        return INT_MAX;
    int d[N][N];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1];
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

/* The known key nearest to key: at most 2 edits, and fewer than key's
 * length (so "x" suggests nothing); NULL when none is that near. */
static const char *nearest_known(const struct config_section *s, const char *key)
{
    const char *best = NULL;
    int best_distance = 3;
    int limit = (int)strlen(key);
    for (int i = 0; i < s->known_count; i++) {
        int d = edit_distance(key, s->known[i]);
        if (d < best_distance && d < limit) {
            best = s->known[i];
            best_distance = d;
        }
    }
    return best;
}

static void add_note(struct config *cfg, const struct config_section *s, const struct config_entry *e,
                     const char *why, const char *by)
{
    char text[1024];
    if (e->origin)
        snprintf(text, sizeof text, "%s: [%s] %s: ignored: %s", e->origin, s->name, e->key, why);
    else
        snprintf(text, sizeof text, "%s:%d: [%s] %s: ignored: %s (an override changed %s)", cfg->label, e->line,
                 s->name, e->key, why, by);
    cfg->notes = xrealloc(cfg->notes, sizeof(char *) * (cfg->note_count + 1));
    cfg->notes[cfg->note_count++] = xstrdup(text);
}

void config_check_unused(struct config *cfg)
{
    for (int i = 0; i < cfg->count; i++) {
        struct config_section *s = &cfg->sections[i];
        if (s->unchecked)
            continue;
        for (int j = 0; j < s->count; j++) {
            struct config_entry *e = &s->entries[j];
            if (e->used)
                continue;
            int k = known_index(s, e->key);
            if (k >= 0) {
                /* a key of this section that these settings do not read */
                if (config_unset_by_option(e)) {
                    config_drop(e);   /* unsetting it is what was asked */
                } else if (s->known_by[k] && find_entry(s, s->known_by[k]) && find_entry(s, s->known_by[k])->origin) {
                    /* the override of the deciding key is the latest word */
                    add_note(cfg, s, e, s->known_why[k], s->known_by[k]);
                    config_drop(e);
                } else {
                    config_error(cfg, s, e, "%s", s->known_why[k] ? s->known_why[k] : "not read here");
                }
                continue;
            }
            const char *near = nearest_known(s, e->key);
            if (near)
                config_error(cfg, s, e, "unknown key (did you mean '%s'?)", near);
            else
                config_error(cfg, s, e, "unknown key");
        }
    }
}

char *config_to_text(const struct config *cfg, size_t *len)
{
    size_t cap = 1024, n = 0;
    char *out = xrealloc(NULL, cap);
    for (int i = 0; i < cfg->count; i++) {
        const struct config_section *s = &cfg->sections[i];
        size_t need = strlen(s->name) + 8;
        for (int j = 0; j < s->count; j++)
            need += strlen(s->entries[j].key) + strlen(s->entries[j].value) + 8;
        while (n + need + 1 > cap) {
            cap *= 2;
            out = xrealloc(out, cap);
        }
        n += sprintf(out + n, "%s[%s]\n", i ? "\n" : "", s->name);
        for (int j = 0; j < s->count; j++)
            if (!s->entries[j].dropped)
                n += sprintf(out + n, "%s = %s\n", s->entries[j].key, s->entries[j].value);
    }
    out[n] = 0;
    if (len)
        *len = n;
    return out;
}
