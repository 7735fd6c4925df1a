/* boxes.c - see boxes.h. */
#include "boxes.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a line longer than this is no box line */
#define BOX_LINE_MAX 512

static void empty_records(uint8_t *records, int count)
{
    struct box_label *b = (struct box_label *)(void *)records;
    for (long i = 0; i < (long)count * BOX_MAX_PER_IMAGE; i++)
        b[i] = (struct box_label){.cls = -1.0f};
}

static const char no_such_image[] = "no such image";

/* The whitespace-separated fields before a comment. */
static int count_fields(const char *line)
{
    int n = 0;
    for (const char *p = line; *p && *p != '#';) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#')
            break;
        n++;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#')
            p++;
    }
    return n;
}

/* One line's fields into box and image; NULL, or why it is not a box.
 * count < 0: an image's own file, whose lines have no IMAGE field. */
static const char *parse_box(const char *line, int count, long *image, struct box_label *box)
{
    const int fields = count_fields(line), want = count < 0 ? 5 : 6;
    if (fields < want)
        return count < 0 ? "too few fields; expected five: CLASS X Y W H"
                         : "too few fields; expected six: IMAGE CLASS X Y W H";
    if (fields > want)
        return count < 0 ? "more than five fields; expected CLASS X Y W H"
                         : "more than six fields; expected IMAGE CLASS X Y W H";
    char *end;
    const char *p = line;
    *image = 0;
    if (count >= 0) {
        errno = 0;
        *image = strtol(line, &end, 10);
        if (end == line || errno || (*end != ' ' && *end != '\t'))
            return "IMAGE is not a whole number";
        if (*image < 0 || *image >= count)
            return no_such_image;
        p = end;
    }
    long cls = strtol(p, &end, 10);
    if (end == p || (*end != ' ' && *end != '\t'))
        return "CLASS is not a whole number";
    if (cls < 0 || cls > 255)
        return "the class is not in 0-255";
    double v[4];
    p = end;
    for (int k = 0; k < 4; k++) {
        v[k] = strtod(p, &end);
        if (end == p || (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n' && *end != '#'))
            return "X, Y, W or H is not a number";
        if (!isfinite(v[k]))
            return "a coordinate is not a finite number";
        p = end;
    }
    const double eps = 1e-4, x = v[0], y = v[1], w = v[2], h = v[3];
    if (w <= 0 || h <= 0)
        return "the box has no width or height";
    if (x - w / 2 < -eps || x + w / 2 > 1 + eps || y - h / 2 < -eps || y + h / 2 > 1 + eps)
        return "the box is not inside the image (X Y W H are fractions of its size)";
    *box = (struct box_label){(float)cls, (float)x, (float)y, (float)w, (float)h};
    return NULL;
}

/* The boxes of path's lines into rec, records of `count` images (count
 * < 0: the file of one image, lines without IMAGE, into one record). */
static int read_lines(const char *path, int count, uint8_t *rec, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* a binary file (an IDX given for the box file, say) is named so,
     * not taken apart line by line */
    unsigned char head[512];
    const size_t got = fread(head, 1, sizeof head, f);
    rewind(f);
    if (memchr(head, 0, got) || (got >= 2 && head[0] == 0x1f && head[1] == 0x8b)) {
        snprintf(err, errlen, "%s: binary data (%s); expected a text box file, a line a box", path,
                 got >= 2 && head[0] == 0x1f && head[1] == 0x8b ? "a gzip stream" : "a zero byte");
        fclose(f);
        return -1;
    }
    const int records = count < 0 ? 1 : count;
    int *used = calloc((size_t)(records > 0 ? records : 1), sizeof *used);
    if (!used) {
        snprintf(err, errlen, "%s: out of memory for the boxes of %d images", path, records);
        goto fail;
    }
    empty_records(rec, records);
    char line[BOX_LINE_MAX];
    for (long number = 1; fgets(line, sizeof line, f); number++) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            snprintf(err, errlen, "%s:%ld: a line longer than %d characters", path, number, BOX_LINE_MAX - 2);
            goto fail;
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#')
            continue;
        long image;
        struct box_label box;
        const char *why = parse_box(p, count, &image, &box);
        if (why == no_such_image) {
            snprintf(err, errlen, "%s:%ld: image %ld, but the images hold %d (IMAGE counts from 0)", path, number,
                     image, count);
            goto fail;
        }
        if (why) {
            /* the line as typed, its unprintable bytes as '?' */
            line[strcspn(line, "\r\n")] = 0;
            for (char *c = line; *c; c++)
                if ((unsigned char)*c < 32 || (unsigned char)*c > 126)
                    *c = '?';
            snprintf(err, errlen, "%s:%ld: '%.60s': %s", path, number, line, why);
            goto fail;
        }
        if (used[image] == BOX_MAX_PER_IMAGE) {
            if (count < 0)
                snprintf(err, errlen, "%s:%ld: more than %d boxes", path, number, BOX_MAX_PER_IMAGE);
            else
                snprintf(err, errlen, "%s:%ld: image %ld has more than %d boxes", path, number, image,
                         BOX_MAX_PER_IMAGE);
            goto fail;
        }
        ((struct box_label *)(void *)rec)[image * BOX_MAX_PER_IMAGE + used[image]++] = box;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read failed", path);
        goto fail;
    }
    fclose(f);
    free(used);
    return 0;
fail:
    fclose(f);
    free(used);
    return -1;
}

int boxes_read(const char *path, int count, uint8_t **records, char *err, size_t errlen)
{
    *records = malloc((size_t)(count > 0 ? count : 1) * BOX_LABEL_BYTES);
    if (!*records) {
        snprintf(err, errlen, "%s: out of memory for the boxes of %d images", path, count);
        return -1;
    }
    if (read_lines(path, count, *records, err, errlen) < 0) {
        free(*records);
        *records = NULL;
        return -1;
    }
    return 0;
}

int boxes_read_image(const char *path, uint8_t *record, char *err, size_t errlen)
{
    return read_lines(path, -1, record, err, errlen);
}

int boxes_check_classes(const uint8_t *records, int count, int classes, const char *path, char *err, size_t errlen)
{
    for (int i = 0; i < count; i++) {
        const struct box_label *b = box_labels(records, i);
        for (int k = 0; k < BOX_MAX_PER_IMAGE && b[k].cls >= 0; k++)
            if ((int)b[k].cls >= classes) {
                snprintf(err, errlen, "%s: image %d has a box of class %d; the network has %d classes (0-%d)", path,
                         i, (int)b[k].cls, classes, classes - 1);
                return -1;
            }
    }
    return 0;
}
