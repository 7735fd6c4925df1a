/* compose.c - `cnnctl compose`: "MNIST detection", data for segmentation
 * and detection made from real digits. Each canvas gets 1 to 4 (by
 * default) digits of an IDX set, each scaled, placed at random and drawn
 * with max() over what is there, optionally over clutter (pieces of other
 * digits, which belong to the background); written are
 *
 *   PREFIX-images-idx3-ubyte.gz   the canvases, count x H x W bytes
 *   PREFIX-masks-idx3-ubyte.gz    per pixel: 0 background, 1 + the class
 *                                 of the digit whose stroke (a pixel of it
 *                                 >= --threshold) it is; a later digit
 *                                 over an earlier one wins
 *   PREFIX-boxes.txt              per digit: IMAGE CLASS X Y W H, the
 *                                 tight box of its stroke, centre and size
 *                                 as fractions of the canvas width and
 *                                 height (YOLO's label format, with the
 *                                 image's index in front)
 *
 * All drawn from --seed: the same arguments give the same files. */
#include "cli.h"
#include "cli_util.h"
#include "config.h"
#include "fileio.h"
#include "idx.h"
#include "rng.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char compose_usage[] =
    "Usage: cnnctl compose --images FILE --labels FILE -o PREFIX [--count N]\n"
    "                      [--size N|HxW] [--objects MIN-MAX] [--scale MIN-MAX]\n"
    "                      [--clutter N] [--threshold T] [--digits FIRST-LAST] [--seed N]\n"
    "Draw digits of an IDX set (MNIST, Fashion-MNIST) on larger canvases and write\n"
    "the canvases, a mask of each digit's pixels and each digit's box:\n"
    "PREFIX-images-idx3-ubyte.gz, PREFIX-masks-idx3-ubyte.gz (0 background,\n"
    "1 + class) and PREFIX-boxes.txt (IMAGE CLASS X Y W H, centre and size as\n"
    "fractions of the canvas). Data for segmentation and detection.\n"
    "\n"
    "  -i, --images FILE      the digits (IDX images, one channel)\n"
    "  -l, --labels FILE      their classes (IDX labels)\n"
    "  -o, --output PREFIX    where the three files go\n"
    "  -n, --count N          canvases (default 1000)\n"
    "  -s, --size N|HxW       canvas size (default 64)\n"
    "  -k, --objects MIN-MAX  digits a canvas (default 1-4)\n"
    "  -c, --scale MIN-MAX    a digit's size against its own (default 0.8-1.6)\n"
    "  -x, --clutter N        pieces of other digits a canvas, background (default 0)\n"
    "  -t, --threshold T      a digit's pixels from T on are its stroke (default 128)\n"
    "  -d, --digits FIRST-LAST  draw only digits FIRST to LAST (from 0; default all):\n"
    "                         test canvases from digits the training ones do not use\n"
    "  -S, --seed N           (default 1)\n"
    "  -h, --help             show this help\n";

struct compose_args {
    long count, h, w, min_objects, max_objects, clutter, threshold;
    long first, last;   /* the digits drawn from, [first, last] */
    double min_scale, max_scale;
    unsigned long long seed;
};

/* a digit drawn on a canvas: its square, class and stroke's box */
struct placed {
    int x, y, size, cls;
    int x0, y0, x1, y1;   /* stroke box on the canvas, [x0, x1) x [y0, y1) */
};

/* "A-B" or "A" into two numbers in [min, max]. */
static int parse_range(const char *text, double min, double max, double *lo, double *hi)
{
    char *end;
    errno = 0;
    *lo = strtod(text, &end);
    if (end == text || errno)
        return -1;
    if (*end == '-') {
        const char *rest = end + 1;
        *hi = strtod(rest, &end);
        if (end == rest || errno)
            return -1;
    } else {
        *hi = *lo;
    }
    return *end || !(*lo >= min) || !(*hi <= max) || *lo > *hi ? -1 : 0;
}

/* a whole number in [min, max] */
static int parse_whole(const char *text, long min, long max, long *out)
{
    long v;
    if (parse_long(text, &v) < 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* src (n x n) resized to dst (d x d), bilinear with pixel centres lined up */
static void resize(const uint8_t *src, int n, uint8_t *dst, int d)
{
    for (int oy = 0; oy < d; oy++) {
        double sy = (oy + 0.5) * n / d - 0.5;
        sy = sy < 0 ? 0 : sy;
        const int y0 = (int)sy, y1 = y0 + 1 < n ? y0 + 1 : y0;
        const double ly = sy - y0;
        for (int ox = 0; ox < d; ox++) {
            double sx = (ox + 0.5) * n / d - 0.5;
            sx = sx < 0 ? 0 : sx;
            const int x0 = (int)sx, x1 = x0 + 1 < n ? x0 + 1 : x0;
            const double lx = sx - x0;
            const double v = (1 - ly) * ((1 - lx) * src[y0 * n + x0] + lx * src[y0 * n + x1]) +
                             ly * ((1 - lx) * src[y1 * n + x0] + lx * src[y1 * n + x1]);
            dst[oy * d + ox] = (uint8_t)lrint(v);
        }
    }
}

static double box_iou(const struct placed *a, const struct placed *b)
{
    const int ix = (a->x1 < b->x1 ? a->x1 : b->x1) - (a->x0 > b->x0 ? a->x0 : b->x0);
    const int iy = (a->y1 < b->y1 ? a->y1 : b->y1) - (a->y0 > b->y0 ? a->y0 : b->y0);
    if (ix <= 0 || iy <= 0)
        return 0.0;
    const double inter = (double)ix * iy;
    const double area = (double)(a->x1 - a->x0) * (a->y1 - a->y0) + (double)(b->x1 - b->x0) * (b->y1 - b->y0);
    return inter / (area - inter);
}

/* Canvas i's pixels, mask and placed digits (returns how many). */
static int compose_one(const struct compose_args *a, const struct idx_images *digits, const struct idx_labels *labels,
                       struct rng *r, uint8_t *canvas, uint8_t *mask, uint8_t *scratch, struct placed *out)
{
    const int n = (int)digits->rows, plane = n * n;
    memset(canvas, 0, (size_t)a->h * a->w);
    memset(mask, 0, (size_t)a->h * a->w);
    /* clutter first: pieces (a quarter to a half of a digit a side) of
     * random digits, left as background in the mask */
    for (long k = 0; k < a->clutter; k++) {
        const uint8_t *d = digits->pixels + (size_t)(a->first + (long)rng_below(r, (uint64_t)(a->last - a->first + 1))) * plane;
        const int side = n / 4 + (int)rng_below(r, (uint64_t)(n / 4 + 1));
        const int sx = (int)rng_below(r, (uint64_t)(n - side + 1)), sy = (int)rng_below(r, (uint64_t)(n - side + 1));
        const int px = (int)rng_below(r, (uint64_t)(a->w - side + 1)), py = (int)rng_below(r, (uint64_t)(a->h - side + 1));
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                uint8_t *c = canvas + (long)(py + y) * a->w + px + x;
                const uint8_t v = d[(sy + y) * n + sx + x];
                *c = v > *c ? v : *c;
            }
    }
    const int objects = (int)(a->min_objects + (long)rng_below(r, (uint64_t)(a->max_objects - a->min_objects + 1)));
    int placed = 0;
    for (int k = 0; k < objects; k++) {
        const uint32_t index = (uint32_t)(a->first + (long)rng_below(r, (uint64_t)(a->last - a->first + 1)));
        const double scale = a->min_scale + (a->max_scale - a->min_scale) * rng_uniform(r);
        int size = (int)lrint(n * scale);
        const int limit = (int)(a->h < a->w ? a->h : a->w);
        size = size < 4 ? 4 : size > limit ? limit : size;
        resize(digits->pixels + (size_t)index * plane, n, scratch, size);
        /* the stroke's box inside the square */
        int bx0 = size, by0 = size, bx1 = 0, by1 = 0;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                if (scratch[y * size + x] >= a->threshold) {
                    bx0 = x < bx0 ? x : bx0;
                    by0 = y < by0 ? y : by0;
                    bx1 = x + 1 > bx1 ? x + 1 : bx1;
                    by1 = y + 1 > by1 ? y + 1 : by1;
                }
        if (bx1 <= bx0 || by1 <= by0)
            continue;   /* no stroke at this threshold: nothing to find */
        /* of 20 positions, the one overlapping the digits already there
         * least (at once if it does not overlap them) */
        struct placed best = {0};
        double best_overlap = 2.0;
        for (int attempt = 0; attempt < 20 && best_overlap > 0.0; attempt++) {
            struct placed p = {0};
            p.x = (int)rng_below(r, (uint64_t)(a->w - size + 1));
            p.y = (int)rng_below(r, (uint64_t)(a->h - size + 1));
            p.size = size;
            p.cls = labels->labels[index];
            p.x0 = p.x + bx0;
            p.y0 = p.y + by0;
            p.x1 = p.x + bx1;
            p.y1 = p.y + by1;
            double overlap = 0.0;
            for (int q = 0; q < placed; q++) {
                const double iou = box_iou(&p, &out[q]);
                overlap = iou > overlap ? iou : overlap;
            }
            if (overlap < best_overlap) {
                best = p;
                best_overlap = overlap;
            }
        }
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                const uint8_t v = scratch[y * size + x];
                const long at = (long)(best.y + y) * a->w + best.x + x;
                canvas[at] = v > canvas[at] ? v : canvas[at];
                if (v >= a->threshold)
                    mask[at] = (uint8_t)(1 + best.cls);
            }
        out[placed++] = best;
    }
    return placed;
}


int cmd_compose(int argc, char **argv)
{
    struct option options[] = {{"images", required_argument, NULL, 'i'},  {"labels", required_argument, NULL, 'l'},
                               {"output", required_argument, NULL, 'o'},  {"count", required_argument, NULL, 'n'},
                               {"size", required_argument, NULL, 's'},    {"objects", required_argument, NULL, 'k'},
                               {"scale", required_argument, NULL, 'c'},   {"clutter", required_argument, NULL, 'x'},
                               {"threshold", required_argument, NULL, 't'}, {"seed", required_argument, NULL, 'S'},
                               {"digits", required_argument, NULL, 'd'},
                               {"help", no_argument, NULL, 'h'},          {0}};
    struct compose_args a = {1000, 64, 64, 1, 4, 0, 128, 0, -1, 0.8, 1.6, 1};
    const char *images = NULL, *labels_path = NULL, *prefix = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:l:o:n:s:k:c:x:t:S:d:h", options, NULL)) != -1) {
        double lo, hi;
        switch (c) {
        case 'i': images = optarg; break;
        case 'l': labels_path = optarg; break;
        case 'o': prefix = optarg; break;
        case 'n':
            if (parse_whole(optarg, 1, 10000000, &a.count) < 0)
                return usage_error("compose", "--count: '%s' is not a whole number from 1 to 10000000", optarg);
            break;
        case 's': {
            char *x = strchr(optarg, 'x');
            int bad;
            if (x) {
                *x = 0;
                bad = parse_whole(optarg, 8, 4096, &a.h) < 0 || parse_whole(x + 1, 8, 4096, &a.w) < 0;
                *x = 'x';
            } else {
                bad = parse_whole(optarg, 8, 4096, &a.h) < 0;
                a.w = a.h;
            }
            if (bad)
                return usage_error("compose", "--size: '%s' is not N or HxW, each from 8 to 4096", optarg);
            break;
        }
        case 'k':
            if (parse_range(optarg, 1, 64, &lo, &hi) < 0 || lo != floor(lo) || hi != floor(hi))
                return usage_error("compose", "--objects: '%s' is not MIN-MAX, whole numbers from 1 to 64", optarg);
            a.min_objects = (long)lo;
            a.max_objects = (long)hi;
            break;
        case 'c':
            if (parse_range(optarg, 0.1, 16, &lo, &hi) < 0)
                return usage_error("compose", "--scale: '%s' is not MIN-MAX, numbers from 0.1 to 16", optarg);
            a.min_scale = lo;
            a.max_scale = hi;
            break;
        case 'x':
            if (parse_whole(optarg, 0, 64, &a.clutter) < 0)
                return usage_error("compose", "--clutter: '%s' is not a whole number from 0 to 64", optarg);
            break;
        case 't':
            if (parse_whole(optarg, 1, 255, &a.threshold) < 0)
                return usage_error("compose", "--threshold: '%s' is not a whole number from 1 to 255", optarg);
            break;
        case 'S': {
            char *end;
            errno = 0;
            a.seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end || errno || optarg[0] == '-')
                return usage_error("compose", "--seed: '%s' is not a whole number from 0", optarg);
            break;
        }
        case 'd':
            if (parse_range(optarg, 0, 4294967295.0, &lo, &hi) < 0 || lo != floor(lo) || hi != floor(hi))
                return usage_error("compose", "--digits: '%s' is not FIRST-LAST, whole numbers from 0", optarg);
            a.first = (long)lo;
            a.last = (long)hi;
            break;
        case 'h': fputs(compose_usage, stdout); return EXIT_OK;
        default: return usage_error("compose", "%s", "bad option");
        }
    }
    if (!images || !labels_path)
        return usage_error("compose", "%s", "give the digits: --images FILE --labels FILE");
    if (!prefix)
        return usage_error("compose", "%s", "missing -o PREFIX");
    if (optind != argc)
        return usage_error("compose", "unexpected argument '%s'", argv[optind]);
    if (strlen(prefix) > 4000)
        return usage_error("compose", "%s", "-o PREFIX: longer than 4000 bytes");

    char err[2048];
    struct idx_images digits = {0};
    struct idx_labels labels = {0};
    if (idx_read_images(images, &digits, err, sizeof err) < 0 ||
        idx_read_labels(labels_path, &labels, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        idx_images_free(&digits);
        return EXIT_INPUT;
    }
    int status = EXIT_INPUT;
    if (digits.is_float || digits.channels != 1 || digits.rows != digits.cols) {
        fprintf(stderr, "cnnctl: %s: need square one-channel byte images (MNIST's), not %u x %u x %u%s\n", images,
                digits.channels, digits.rows, digits.cols, digits.is_float ? " floats" : "");
        goto out;
    }
    if (a.last < 0)
        a.last = (long)digits.count - 1;
    if (a.last >= (long)digits.count) {
        fprintf(stderr, "cnnctl: %s has %u images; --digits %ld-%ld asks for more\n", images, digits.count, a.first,
                a.last);
        goto out;
    }
    if (labels.count != digits.count) {
        fprintf(stderr, "cnnctl: %s has %u labels for the %u images of %s\n", labels_path, labels.count,
                digits.count, images);
        goto out;
    }
    for (uint32_t i = 0; i < labels.count; i++)
        if (labels.labels[i] > 253) {
            fprintf(stderr, "cnnctl: %s: label %u of image %u is more than 253 (the masks keep 1 + the class)\n",
                    labels_path, labels.labels[i], i);
            goto out;
        }
    if (a.min_scale * digits.rows > (a.h < a.w ? a.h : a.w)) {
        fprintf(stderr, "cnnctl: compose: a %ld x %ld canvas is smaller than a digit at scale %g (%u pixels)\n", a.h,
                a.w, a.min_scale, digits.rows);
        goto out;
    }

    status = EXIT_RUNTIME;
    const size_t canvas = (size_t)a.h * a.w;
    uint8_t *pixels = malloc(canvas * a.count), *masks = malloc(canvas * a.count);
    uint8_t *scratch = malloc((size_t)(a.h > a.w ? a.h : a.w) * (a.h > a.w ? a.h : a.w));
    struct placed *boxes = malloc(sizeof *boxes * a.max_objects);
    /* each written as PATH.tmp.PID, renamed over PATH once all are */
    static const char *const suffix[3] = {"-images-idx3-ubyte.gz", "-masks-idx3-ubyte.gz", "-boxes.txt"};
    char path[3][4200], tmp[3][4200];
    for (int f = 0; f < 3; f++) {
        snprintf(path[f], sizeof path[f], "%.4000s%s", prefix, suffix[f]);
        snprintf(tmp[f], sizeof tmp[f], "%.4000s%s.tmp.%ld", prefix, suffix[f], (long)getpid());
    }
    FILE *box_file = NULL;
    int written = 0;
    if (!pixels || !masks || !scratch || !boxes) {
        fprintf(stderr, "cnnctl: out of memory for %ld canvases of %ld x %ld\n", a.count, a.h, a.w);
        goto done;
    }
    if (make_parent_dirs(path[0], err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        status = EXIT_INPUT;
        goto done;
    }
    if (!(box_file = fopen(tmp[2], "w"))) {
        fprintf(stderr, "cnnctl: %s: cannot create: %s\n", path[2], strerror(errno));
        goto done;
    }
    written = 1;
    fprintf(box_file, "# cnnctl compose: IMAGE CLASS X Y W H per digit; X Y the box's centre, W H its size,\n"
                      "# as fractions of the %ld x %ld canvas; IMAGE counts from 0 in the -images file\n",
            a.h, a.w);
    struct rng r;
    rng_seed(&r, a.seed, RNG_STREAM_AUGMENT);
    for (long i = 0; i < a.count; i++) {
        const int placed =
            compose_one(&a, &digits, &labels, &r, pixels + canvas * i, masks + canvas * i, scratch, boxes);
        for (int k = 0; k < placed; k++) {
            const struct placed *p = &boxes[k];
            fprintf(box_file, "%ld %d %.6f %.6f %.6f %.6f\n", i, p->cls, (p->x0 + p->x1) / 2.0 / a.w,
                    (p->y0 + p->y1) / 2.0 / a.h, (double)(p->x1 - p->x0) / a.w, (double)(p->y1 - p->y0) / a.h);
        }
    }
    const struct idx_images out_images = {(uint32_t)a.count, (uint32_t)a.h, (uint32_t)a.w, 1, 0, pixels, NULL};
    const struct idx_images out_masks = {(uint32_t)a.count, (uint32_t)a.h, (uint32_t)a.w, 1, 0, masks, NULL};
    if (fflush(box_file) != 0 || ferror(box_file) || fclose(box_file) != 0) {
        box_file = NULL;
        fprintf(stderr, "cnnctl: %s: write failed: %s\n", path[2], strerror(errno));
        goto done;
    }
    box_file = NULL;
    if (idx_write_images(tmp[0], &out_images, 1) < 0 || idx_write_images(tmp[1], &out_masks, 1) < 0) {
        fprintf(stderr, "cnnctl: %s: write failed\n", prefix);
        goto done;
    }
    for (int f = 0; f < 3; f++)
        if (rename(tmp[f], path[f]) != 0) {
            fprintf(stderr, "cnnctl: %s: cannot write: %s\n", path[f], strerror(errno));
            goto done;
        }
    written = 0;
    printf("%ld canvases of %ld x %ld: %s, %s, %s\n", a.count, a.h, a.w, path[0], path[1], path[2]);
    status = EXIT_OK;
done:
    if (box_file)
        fclose(box_file);
    for (int f = 0; f < 3 && written; f++)
        remove(tmp[f]);
    free(pixels);
    free(masks);
    free(scratch);
    free(boxes);
out:
    idx_images_free(&digits);
    idx_labels_free(&labels);
    return status;
}
