/* filter.c - `cnnctl filter`: the fixed kernels of the seed notes' table
 * (identity, three edge detectors, sharpen, box and Gaussian blur), or one
 * from a file, applied to an image with the same im2col + GEMM a conv layer
 * runs, so a learner can see what a filter does before a net learns its
 * own. Like a conv layer it computes a cross-correlation (no kernel flip). */
#include "cpu_target.h"
#include "cli.h"
#include "cli_util.h"
#include "gemm.h"
#include "im2col.h"
#include "image.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char filter_usage[] =
    "Usage: cnnctl filter (--kernel NAME | --kernel-file FILE) IMAGE -o OUT.png\n"
    "                     [--scale clamp|abs|stretch]\n"
    "Convolve a PNG, JPEG or PGM image (made gray) with a kernel, zero-padded so the\n"
    "output has the input's size, and write it as a gray PNG.\n"
    "\n"
    "  -k, --kernel NAME       identity, edge1, edge2, edge3, sharpen, box, gauss\n"
    "  -f, --kernel-file FILE  rows of numbers, one row a line, odd width and height\n"
    "  -o, --output OUT.png    the result\n"
    "  -s, --scale MODE        to pixels: clamp to [0, 1], abs (|v| clamped: both\n"
    "                          signs of an edge), stretch (min..max to 0..1);\n"
    "                          default abs for edge kernels, clamp otherwise\n"
    "  -h, --help              show this help\n";

#define MAX_KERNEL 31

struct kernel {
    int h, w;
    float v[MAX_KERNEL * MAX_KERNEL];
};

static const struct {
    const char *name;
    float v[9];
    float divisor;
    int edge;
} builtin[] = {
    {"identity", {0, 0, 0, 0, 1, 0, 0, 0, 0}, 1, 0},
    {"edge1", {1, 0, -1, 0, 0, 0, -1, 0, 1}, 1, 1},
    {"edge2", {0, 1, 0, 1, -4, 1, 0, 1, 0}, 1, 1},
    {"edge3", {-1, -1, -1, -1, 8, -1, -1, -1, -1}, 1, 1},
    {"sharpen", {0, -1, 0, -1, 5, -1, 0, -1, 0}, 1, 0},
    {"box", {1, 1, 1, 1, 1, 1, 1, 1, 1}, 9, 0},
    {"gauss", {1, 2, 1, 2, 4, 2, 1, 2, 1}, 16, 0},
};
#define BUILTINS (int)(sizeof builtin / sizeof builtin[0])

/* A kernel file: rows of whitespace-separated numbers; blank lines and
 * lines starting with # are skipped. */
static int read_kernel_file(const char *path, struct kernel *k, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    k->h = k->w = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        int cols = 0;
        char *tok = strtok(p, " \t\r\n");
        for (; tok; tok = strtok(NULL, " \t\r\n"), cols++) {
            double v;
            if (parse_double(tok, &v) < 0 || !isfinite(v)) {
                snprintf(err, errlen, "%s:%d: '%s' is not a number", path, lineno, tok);
                rc = -1;
                goto out;
            }
            if (cols >= MAX_KERNEL || k->h >= MAX_KERNEL) {
                snprintf(err, errlen, "%s:%d: kernels are at most %d x %d", path, lineno, MAX_KERNEL, MAX_KERNEL);
                rc = -1;
                goto out;
            }
            k->v[k->h * MAX_KERNEL + cols] = (float)v;
        }
        if (k->h > 0 && cols != k->w) {
            snprintf(err, errlen, "%s:%d: %d numbers; the rows above have %d", path, lineno, cols, k->w);
            rc = -1;
            goto out;
        }
        k->w = cols;
        k->h++;
    }
    if (k->h == 0) {
        snprintf(err, errlen, "%s: no numbers (expected rows of a kernel)", path);
        rc = -1;
    } else if (k->h % 2 == 0 || k->w % 2 == 0) {
        snprintf(err, errlen, "%s: the kernel is %d x %d; width and height must be odd (it is centred on a pixel)",
                 path, k->h, k->w);
        rc = -1;
    } else {
        /* pack the rows tightly */
        for (int i = 0; i < k->h; i++)
            memmove(k->v + i * k->w, k->v + i * MAX_KERNEL, sizeof(float) * k->w);
    }
out:
    fclose(f);
    return rc;
}

int cmd_filter(int argc, char **argv)
{
    struct option options[] = {{"kernel", required_argument, NULL, 'k'},
                               {"kernel-file", required_argument, NULL, 'f'},
                               {"output", required_argument, NULL, 'o'},
                               {"scale", required_argument, NULL, 's'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    const char *name = NULL, *file = NULL, *output = NULL, *scale = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:f:o:s:h", options, NULL)) != -1) {
        switch (c) {
        case 'k': name = optarg; break;
        case 'f': file = optarg; break;
        case 'o': output = optarg; break;
        case 's': scale = optarg; break;
        case 'h': fputs(filter_usage, stdout); return EXIT_OK;
        default: return usage_error("filter", "%s", "bad option");
        }
    }
    if (!name == !file)
        return usage_error("filter", "%s", "give --kernel NAME or --kernel-file FILE (one of them)");
    if (!output)
        return usage_error("filter", "%s", "missing -o OUT.png");
    if (optind != argc - 1)
        return usage_error("filter", "%s", optind == argc ? "missing IMAGE" : "more than one IMAGE");
    if (scale && strcmp(scale, "clamp") && strcmp(scale, "abs") && strcmp(scale, "stretch"))
        return usage_error("filter", "--scale: '%s' is not clamp, abs or stretch", scale);

    char err[2048];
    struct kernel k;
    int edge = 0;
    if (name) {
        int b = 0;
        while (b < BUILTINS && strcmp(builtin[b].name, name) != 0)
            b++;
        if (b == BUILTINS)
            return usage_error("filter",
                               "--kernel: '%s' is not identity, edge1, edge2, edge3, sharpen, box or gauss", name);
        k.h = k.w = 3;
        for (int i = 0; i < 9; i++)
            k.v[i] = builtin[b].v[i] / builtin[b].divisor;
        edge = builtin[b].edge;
    } else if (read_kernel_file(file, &k, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        return EXIT_INPUT;
    }
    if (!scale)
        scale = edge ? "abs" : "clamp";

    struct image img;
    if (image_read(argv[optind], 1, &img, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        return EXIT_INPUT;
    }
    /* a conv layer of one 1-channel filter, pad (k-1)/2: same size out */
    struct conv_geometry g = {1, img.height, img.width, k.h, k.w, 1, 1, k.h / 2, k.w / 2, 0, 0, 1, 1};
    g.oh = conv_output_size(g.h, g.kh, 1, g.ph, 0);
    g.ow = conv_output_size(g.w, g.kw, 1, g.pw, 0);
    const long P = (long)g.oh * g.ow, taps = (long)k.h * k.w;
    float *col = malloc(sizeof(float) * taps * P), *out = malloc(sizeof(float) * P);
    struct gemm_ctx gemm_ctx = {0};
    int status = EXIT_RUNTIME;
    if (!col || !out || gemm_ctx_init(&gemm_ctx, 1, cpu_target_select()) < 0) {
        fprintf(stderr, "cnnctl: out of memory\n");
        goto done;
    }
    im2col(img.pixels, &g, col);
    gemm_serial(&gemm_ctx.buffers[0], GEMM_N, GEMM_N, 1, P, taps, 1.0f, k.v, taps, col, P, 0.0f, out, P);
    if (strcmp(scale, "abs") == 0) {
        for (long i = 0; i < P; i++)
            out[i] = fabsf(out[i]);
    } else if (strcmp(scale, "stretch") == 0) {
        float lo = out[0], hi = out[0];
        for (long i = 1; i < P; i++) {
            lo = out[i] < lo ? out[i] : lo;
            hi = out[i] > hi ? out[i] : hi;
        }
        for (long i = 0; i < P; i++)
            out[i] = hi > lo ? (out[i] - lo) / (hi - lo) : 0.0f;
    }
    if (image_write_png(output, out, 1, g.oh, g.ow, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        goto done;
    }
    status = EXIT_OK;
done:
    gemm_ctx_free(&gemm_ctx);
    free(col);
    free(out);
    image_free(&img);
    return status;
}
