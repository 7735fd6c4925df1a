/* predict.c - `cnnctl predict CHECKPOINT IMAGE...`: a trained net on the
 * user's own pictures. Each image is read (PNG, JPEG or PGM, any size,
 * gray or colour) as the net's channels, brought to its input size and
 * normalisation, inverted (gray nets) when it is dark on light and the net
 * learnt light on dark (or as --invert / --no-invert say), and the top
 * classes are printed with their probabilities; a detector's boxes, or a
 * segmentation net's class shares, and with --draw a picture of them. */
#include "cli.h"
#include "cli_util.h"
#include "draw.h"
#include "eval.h"
#include "fileio.h"
#include "metrics.h"
#include "model.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char predict_usage[] =
    "Usage: cnnctl predict CHECKPOINT IMAGE... [--top K] [--invert | --no-invert]\n"
    "                      [--threshold T] [--nms IOU] [--draw DIR] [--alpha A]\n"
    "                      [--json] [--threads N]\n"
    "Classify PNG, JPEG or PGM images of any size, gray or colour, with a\n"
    "trained network: each is made gray or colour as the network takes it,\n"
    "resized to its input, normalised as in training, and (gray networks)\n"
    "inverted when it is dark on light while the training images are light\n"
    "on dark.\n"
    "Prints the top K classes with their probabilities, one line per image (a\n"
    "segmentation network: with the share of the image's pixels labelled so).\n"
    "A detector (task = detect) prints the boxes scoring above T after\n"
    "class-wise non-maximum suppression: class, score, centre and size as\n"
    "fractions of the image.\n"
    "\n"
    "  -k, --top K         classes shown per image (default 3)\n"
    "  -T, --threshold T   a detector's least box score shown (default 0.25)\n"
    "  -N, --nms IOU       a detector's suppression overlap (default 0.45)\n"
    "  -d, --draw DIR      write DIR/NAME.png for each image NAME.*: a detector's\n"
    "                      boxes with class names, or a segmentation net's classes\n"
    "                      in colour, over the image (enlarged to 256 pixels)\n"
    "  -a, --alpha A       the class colours' weight over the image (default\n"
    "                      0.5; 1: the colours alone)\n"
    "  -i, --invert        always invert (white <-> black)\n"
    "  -n, --no-invert     never invert\n"
    "  -j, --json          print a JSON array, one object per image\n"
    "  -t, --threads N     threads (default 1)\n"
    "  -h, --help          show this help\n";

struct ranked {
    int cls;
    float p;
};

static int by_probability(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? 1 : -1;
    return x->cls - y->cls;
}

static void class_name(const struct model *m, int k, char *buf, size_t len)
{
    if (m->st.class_count)
        snprintf(buf, len, "%s", m->st.class_names[k]);
    else
        snprintf(buf, len, "%d", k);
}

/* One image's top classes: a line, or a JSON object (after a comma unless
 * it is the first). */
static void print_ranks(FILE *out, const struct model *m, const char *image, int after, int inverted,
                        const struct ranked *rank, int top, const char *what, int json)
{
    char name[256];
    if (json) {
        fprintf(out, "%s\n {\"image\": ", after ? "," : "");
        json_string(out, image);
        fprintf(out, ", \"inverted\": %s, \"top\": [", inverted ? "true" : "false");
        for (int k = 0; k < top; k++) {
            class_name(m, rank[k].cls, name, sizeof name);
            fprintf(out, "%s{\"class\": %d, \"name\": ", k ? ", " : "", rank[k].cls);
            json_string(out, name);
            fprintf(out, ", \"%s\": %.6f}", what, rank[k].p);
        }
        fprintf(out, "]}");
        return;
    }
    fprintf(out, "%s:", image);
    for (int k = 0; k < top; k++) {
        class_name(m, rank[k].cls, name, sizeof name);
        fprintf(out, "  %s %.3f", name, rank[k].p);
    }
    fprintf(out, "%s\n", inverted ? "  (inverted)" : "");
}

/* A detector's boxes for one image, best first. */
static void print_boxes(FILE *out, const struct model *m, const char *image, int after, int inverted,
                        const struct det_box *boxes, int count, int json)
{
    char name[256];
    if (json) {
        fprintf(out, "%s\n {\"image\": ", after ? "," : "");
        json_string(out, image);
        fprintf(out, ", \"inverted\": %s, \"boxes\": [", inverted ? "true" : "false");
    } else {
        fprintf(out, "%s: %d box%s%s\n", image, count, count == 1 ? "" : "es", inverted ? "  (inverted)" : "");
    }
    for (int k = 0; k < count; k++) {
        const struct det_box *b = &boxes[k];
        class_name(m, b->cls, name, sizeof name);
        if (json) {
            fprintf(out, "%s{\"class\": %d, \"name\": ", k ? ", " : "", b->cls);
            json_string(out, name);
            fprintf(out, ", \"score\": %.6f, \"x\": %.6f, \"y\": %.6f, \"w\": %.6f, \"h\": %.6f}", b->score, b->x,
                    b->y, b->w, b->h);
        } else {
            fprintf(out, "  %-12s %.3f  x %.3f y %.3f w %.3f h %.3f\n", name, b->score, b->x, b->y, b->w, b->h);
        }
    }
    if (json)
        fprintf(out, "]}");
}

/* The file name --draw gives an image: its name without folder or
 * extension, and .png. */
static void drawn_name(const char *image, char *buf, size_t len)
{
    const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
    const char *dot = strrchr(base, '.');
    const int stem = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, len, "%.*s.png", stem, base);
}

/* Two images whose drawings would have one name: an error line, -1. */
static int duplicate_names(int count, char **images)
{
    char a[4096], b[4096];
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++) {
            drawn_name(images[i], a, sizeof a);
            drawn_name(images[j], b, sizeof b);
            if (strcmp(a, b) == 0) {
                fprintf(stderr, "cnnctl: predict --draw: %s and %s would both be drawn as %s\n", images[i], images[j],
                        a);
                return -1;
            }
        }
    return 0;
}

/* DIR/NAME.png: the image in colour, enlarged to 256 pixels, with boxes
 * and their class names, or the classes of a map in colour over it. */
static int draw_picture(const struct model *m, const char *image, const char *dir, const struct det_box *boxes,
                        int count, const unsigned char *map, float alpha, char *err, size_t errlen)
{
    struct image img;
    struct canvas c;
    if (image_read(image, 3, &img, err, errlen) < 0)
        return -1;
    if (canvas_from_image(&c, &img, 256) < 0) {
        image_free(&img);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    image_free(&img);
    const int scale = c.width >= 512 && c.height >= 512 ? 2 : 1;
    if (map) {
        /* a class named "background" stays as the image shows it */
        int background = -1;
        for (int k = 0; k < m->st.class_count && background < 0; k++)
            if (strcasecmp(m->st.class_names[k], "background") == 0)
                background = k;
        draw_mask(&c, map, m->net.input.h, m->net.input.w, background, alpha);
    }
    /* the weakest first, so that the best boxes and names lie on top */
    for (int k = count - 1; k >= 0; k--) {
        const struct det_box *b = &boxes[k];
        float colour[3];
        char text[300], name[256];
        draw_palette(b->cls, colour);
        const int x0 = (int)((b->x - b->w / 2) * c.width), x1 = (int)((b->x + b->w / 2) * c.width);
        const int y0 = (int)((b->y - b->h / 2) * c.height), y1 = (int)((b->y + b->h / 2) * c.height);
        draw_rect(&c, x0, y0, x1, y1, colour, 2 * scale);
        class_name(m, b->cls, name, sizeof name);
        snprintf(text, sizeof text, "%s %.2f", name, b->score);
        draw_label(&c, x0, y0 - 9 * scale, text, colour, scale);
    }
    char name[4096], path[8192];
    drawn_name(image, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const int rc = image_write_png(path, c.rgb, 3, c.height, c.width, err, errlen);
    canvas_free(&c);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    struct option options[] = {{"top", required_argument, NULL, 'k'},
                               {"invert", no_argument, NULL, 'i'},
                               {"no-invert", no_argument, NULL, 'n'},
                               {"json", no_argument, NULL, 'j'},
                               {"threshold", required_argument, NULL, 'T'},
                               {"nms", required_argument, NULL, 'N'},
                               {"draw", required_argument, NULL, 'd'},
                               {"alpha", required_argument, NULL, 'a'},
                               {"threads", required_argument, NULL, 't'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    long top = 3;
    int invert = -1, json = 0, threads = 1, c;
    double threshold = 0.25, nms = 0.45, alpha = 0.5;
    int detector_options = 0, alpha_given = 0, top_given = 0;
    const char *draw = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:injT:N:d:a:t:h", options, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (parse_long(optarg, &top) < 0 || top < 1 || top > 65536)
                return usage_error("predict", "--top: '%s' is not a whole number from 1 to 65536", optarg);
            top_given = 1;
            break;
        case 'i': invert = 1; break;
        case 'n': invert = 0; break;
        case 'j': json = 1; break;
        case 'T':
            if (parse_double(optarg, &threshold) < 0 || !(threshold >= 0 && threshold <= 1))
                return usage_error("predict", "--threshold: '%s' is not a number from 0 to 1", optarg);
            detector_options = 1;
            break;
        case 'N':
            if (parse_double(optarg, &nms) < 0 || !(nms >= 0 && nms <= 1))
                return usage_error("predict", "--nms: '%s' is not an overlap from 0 to 1", optarg);
            detector_options = 1;
            break;
        case 'a':
            if (parse_double(optarg, &alpha) < 0 || !(alpha >= 0 && alpha <= 1))
                return usage_error("predict", "--alpha: '%s' is not a number from 0 to 1", optarg);
            alpha_given = 1;
            break;
        case 'd':
            if (!optarg[0])
                return usage_error("predict", "%s", "--draw: an empty folder name");
            draw = optarg;
            break;
        case 't':
            if (parse_threads("predict", optarg, &threads))
                return EXIT_INPUT;
            break;
        case 'h': fputs(predict_usage, stdout); return EXIT_OK;
        default: return usage_error("predict", "%s", "bad option");
        }
    }
    if (argc - optind < 2)
        return usage_error("predict", "%s", optind == argc ? "missing CHECKPOINT" : "missing IMAGE");
    const char *path = argv[optind];
    char err[2048];
    struct model m;
    if (model_load(&m, path, 1, threads, NET_FUSE, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        return EXIT_INPUT;
    }
    struct net *net = &m.net;
    int status = EXIT_INPUT;
    char *json_text = NULL;
    size_t json_size = 0;
    FILE *out = NULL;
    struct ranked *rank = calloc((size_t)net->classes, sizeof *rank);
    unsigned char *map = malloc((size_t)net->label_units);
    struct det_box *boxes = NULL;
    struct detect_buffers buffers = {0};
    if (!rank || !map ||
        (net->boxes && (detect_buffers_init(&buffers, net) < 0 ||
                        !(boxes = malloc(sizeof *boxes * (size_t)buffers.capacity))))) {
        fprintf(stderr, "cnnctl: out of memory\n");
        status = EXIT_RUNTIME;
        goto done;
    }
    /* a per-pixel net (task = segment): the share of the image's pixels
     * labelled each class */
    const int per_pixel = net_per_pixel(net);
    const char *refused = detector_options && !net->boxes ? "--threshold and --nms are for a detector (task = detect)"
                          : alpha_given && !per_pixel ? "--alpha is for a segmentation net (task = segment)"
                          : draw && !net->boxes && !per_pixel
                              ? "--draw draws a detector's boxes or a segmentation net's classes"
                          : top_given && net->boxes ? "--top ranks classes; a detector prints its boxes (see --threshold)"
                                                    : NULL;
    if (refused) {
        fprintf(stderr, "cnnctl: predict: %s; %s is %s\n", refused, path,
                net->boxes ? "a detector" : per_pixel ? "a segmentation net" : "a classifier");
        goto done;
    }
    if (draw && duplicate_names(argc - optind - 1, argv + optind + 1) < 0)
        goto done;
    /* the folder first: a folder that cannot be made fails before any
     * output */
    if (draw) {
        char probe[8192];
        snprintf(probe, sizeof probe, "%s/.", draw);
        if (make_parent_dirs(probe, err, sizeof err) < 0) {
            fprintf(stderr, "cnnctl: %s\n", err);
            status = EXIT_RUNTIME;
            goto done;
        }
    }
    const char *what = per_pixel ? "pixels" : net->layers[net->count - 1].ops->probabilities ? "probability" : "score";
    if (top > net->classes)
        top = net->classes;
    /* JSON goes to memory first and out only when every image succeeded:
     * a failure must not leave half an array on stdout */
    out = json ? open_memstream(&json_text, &json_size) : stdout;
    if (!out) {
        fprintf(stderr, "cnnctl: out of memory\n");
        status = EXIT_RUNTIME;
        goto done;
    }
    if (json)
        fprintf(out, "[");
    for (int a = optind + 1; a < argc; a++) {
        int inverted, found = 0;
        if (model_input_image(&m, argv[a], invert, net->input_data, &inverted, err, sizeof err) < 0) {
            fprintf(stderr, "cnnctl: %s\n", err);
            goto done;
        }
        net_forward(net, 1, NULL, NULL, NULL);
        if (net->boxes) {
            if ((found = detect_image(net, 0, threshold, nms, &buffers, boxes, (int)buffers.capacity)) < 0) {
                fprintf(stderr, "cnnctl: out of memory\n");
                status = EXIT_RUNTIME;
                goto done;
            }
            print_boxes(out, &m, argv[a], a > optind + 1, inverted, boxes, found, json);
        } else {
            const float *prob = net_probabilities(net);
            for (int k = 0; k < net->classes; k++)
                rank[k] = (struct ranked){k, per_pixel ? 0.0f : prob[k]};
            for (long q = 0; per_pixel && q < net->label_units; q++) {
                int best = 0;
                for (int k = 1; k < net->classes; k++)
                    if (prob[k * net->label_units + q] > prob[best * net->label_units + q])
                        best = k;
                rank[best].p += 1.0f / net->label_units;
                map[q] = (unsigned char)best;
            }
            qsort(rank, (size_t)net->classes, sizeof *rank, by_probability);
            print_ranks(out, &m, argv[a], a > optind + 1, inverted, rank, (int)top, what, json);
        }
        if (draw && (net->boxes || per_pixel) &&
            draw_picture(&m, argv[a], draw, net->boxes ? boxes : NULL, found, per_pixel ? map : NULL, (float)alpha,
                         err, sizeof err) < 0) {
            fprintf(stderr, "cnnctl: %s\n", err);
            status = EXIT_RUNTIME;
            goto done;
        }
    }
    if (json) {
        fprintf(out, "\n]\n");
        if (fflush(out) != 0) {
            fprintf(stderr, "cnnctl: out of memory\n");
            status = EXIT_RUNTIME;
            goto done;
        }
        fwrite(json_text, 1, json_size, stdout);
    }
    status = EXIT_OK;
done:
    if (json && out)
        fclose(out);
    free(json_text);
    fflush(stdout);
    free(rank);
    free(map);
    free(boxes);
    detect_buffers_free(&buffers);
    model_free(&m);
    return status;
}
