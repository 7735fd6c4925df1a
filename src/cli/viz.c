/* viz.c - `cnnctl viz`: what a trained conv layer learnt, as pictures. The
 * filters as a grid of small gray tiles (each stretched from its own minimum
 * to maximum, so edge and blob detectors show whatever their scale), and
 * with --input the layer's feature maps for one image. */
#include "cli.h"
#include "cli_util.h"
#include "image.h"
#include "model.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char viz_usage[] =
    "Usage: cnnctl viz CHECKPOINT --layer NAME -o FILTERS.png [--input IMAGE]\n"
    "                  [--maps MAPS.png] [--invert | --no-invert]\n"
    "Draw the filters of a conv layer as a grid of tiles (one row per filter\n"
    "and a column per input channel, or one tile per filter when the input has\n"
    "one channel, or is the network's colour input: then in colour), each\n"
    "stretched to its own range. With --input, also draw the layer's feature\n"
    "maps for that image (PNG, JPEG or PGM, brought to the network's input as\n"
    "predict does); any layer has feature maps.\n"
    "\n"
    "  -l, --layer NAME      the layer\n"
    "  -o, --output FILE     the filters (conv layers)\n"
    "  -i, --input IMAGE     an image to run through the network\n"
    "  -m, --maps FILE       the feature maps (default: FILTERS-maps.png)\n"
    "      --invert, --no-invert  as in predict\n"
    "  -h, --help            show this help\n";

#define GAP 1   /* pixels between tiles, mid-gray */

/* A canvas of rows x cols tiles of th x tw pixels, each pixel zoom x zoom;
 * gray, or colour (channels 3: planes of red, green, blue). */
struct canvas {
    int rows, cols, th, tw, zoom, channels;
    int height, width;
    float *pixels;
};

static int canvas_init(struct canvas *c, int tiles, int cols, int th, int tw, int min_side, int channels)
{
    c->channels = channels;
    c->cols = cols < tiles ? cols : tiles;
    c->rows = (tiles + c->cols - 1) / c->cols;
    c->th = th;
    c->tw = tw;
    int side = th > tw ? th : tw;
    c->zoom = side >= min_side ? 1 : (min_side + side - 1) / side;
    c->height = c->rows * (th * c->zoom + GAP) + GAP;
    c->width = c->cols * (tw * c->zoom + GAP) + GAP;
    if ((long)c->height * c->width > 64L * 1024 * 1024)
        return -1;
    c->pixels = malloc(sizeof(float) * c->height * c->width * channels);
    if (!c->pixels)
        return -1;
    for (long i = 0; i < (long)c->height * c->width * channels; i++)
        c->pixels[i] = 0.5f;
    return 0;
}

/* Tile t from values (the canvas's channels planes of th x tw), stretched
 * min..max over all of them, so a colour filter keeps its hues. */
static void canvas_tile(struct canvas *c, int t, const float *v)
{
    const long n = (long)c->th * c->tw, plane = (long)c->height * c->width;
    float lo = v[0], hi = v[0];
    for (long i = 1; i < n * c->channels; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    int y0 = GAP + t / c->cols * (c->th * c->zoom + GAP), x0 = GAP + t % c->cols * (c->tw * c->zoom + GAP);
    for (int ch = 0; ch < c->channels; ch++)
        for (int y = 0; y < c->th * c->zoom; y++)
            for (int x = 0; x < c->tw * c->zoom; x++) {
                float a = v[ch * n + (y / c->zoom) * c->tw + x / c->zoom];
                c->pixels[ch * plane + (long)(y0 + y) * c->width + x0 + x] = hi > lo ? (a - lo) / (hi - lo) : 0.5f;
            }
}

static int near_square_columns(int tiles)
{
    int cols = 1;
    while (cols * cols < tiles)
        cols++;
    return cols;
}

int cmd_viz(int argc, char **argv)
{
    enum { OPT_INVERT = 256, OPT_NO_INVERT };
    struct option options[] = {{"layer", required_argument, NULL, 'l'},
                               {"output", required_argument, NULL, 'o'},
                               {"input", required_argument, NULL, 'i'},
                               {"maps", required_argument, NULL, 'm'},
                               {"invert", no_argument, NULL, OPT_INVERT},
                               {"no-invert", no_argument, NULL, OPT_NO_INVERT},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    const char *layer_name = NULL, *output = NULL, *input = NULL, *maps = NULL;
    int invert = -1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:o:i:m:h", options, NULL)) != -1) {
        switch (c) {
        case 'l': layer_name = optarg; break;
        case 'o': output = optarg; break;
        case 'i': input = optarg; break;
        case 'm': maps = optarg; break;
        case OPT_INVERT: invert = 1; break;
        case OPT_NO_INVERT: invert = 0; break;
        case 'h': fputs(viz_usage, stdout); return EXIT_OK;
        default: return usage_error("viz", "%s", "bad option");
        }
    }
    if (optind != argc - 1)
        return usage_error("viz", "%s", optind == argc ? "missing CHECKPOINT" : "more than one CHECKPOINT");
    if (!layer_name)
        return usage_error("viz", "%s", "missing --layer NAME");
    if (!output && !(input && maps))
        return usage_error("viz", "%s", "missing -o FILE");
    char maps_path[4096];
    if (input && !maps) {
        size_t len = strlen(output);
        if (len > 4 && strcmp(output + len - 4, ".png") == 0)
            len -= 4;
        snprintf(maps_path, sizeof maps_path, "%.*s-maps.png", (int)len, output);
        maps = maps_path;
    }
    const char *path = argv[optind];
    char err[2048];
    struct model m;
    if (model_load(&m, path, 1, 1, NET_KEEP_OUTPUTS, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        return EXIT_INPUT;
    }
    int status = EXIT_INPUT;
    struct canvas cv = {0};
    int inverted = 0, wrote_filters = 0;
    struct layer *l = model_layer(&m, layer_name);
    if (!l) {
        fprintf(stderr, "cnnctl: %s: no layer '%s' in the network\n", path, layer_name);
        goto done;
    }
    /* a layer with filters: a weight of F x C x KH x KW */
    int is_conv = l->param_count > 0 && l->params[0].rank == 4;
    if (output && !is_conv && !input) {
        fprintf(stderr, "cnnctl: %s: [%s] is a %s layer, which has no filters; give --input IMAGE to see its "
                        "feature maps\n", path, layer_name, l->ops->type);
        goto done;
    }
    /* everything read before anything is written */
    if (input && model_input_image(&m, input, invert, m.net.input_data, &inverted, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        goto done;
    }
    if (output && is_conv) {
        /* weight: (F, C/G, KH, KW) */
        const struct param *w = &l->params[0];
        int F = w->dims[0], C = w->dims[1], KH = w->dims[2], KW = w->dims[3];
        /* a filter over the network's colour input is one colour tile */
        const int colour = C == 3 && l->inputs[0] < 0;
        int channels = C > 32 ? 32 : C;
        int tiles = C == 1 || colour ? F : F * channels;
        int cols = C == 1 || colour ? near_square_columns(F) : channels;
        if (canvas_init(&cv, tiles, cols, KH, KW, 40, colour ? 3 : 1) < 0) {
            fprintf(stderr, "cnnctl: out of memory\n");
            status = EXIT_RUNTIME;
            goto done;
        }
        for (int f = 0; f < F; f++)
            for (int ch = 0; ch < (colour ? 1 : channels); ch++)
                canvas_tile(&cv, colour ? f : f * channels + ch, w->data + ((long)f * C + ch) * KH * KW);
        if (image_write_png(output, cv.pixels, cv.channels, cv.height, cv.width, err, sizeof err) < 0) {
            fprintf(stderr, "cnnctl: %s\n", err);
            status = EXIT_RUNTIME;
            goto done;
        }
        wrote_filters = 1;
        printf("%s: %d filters of %d x %d x %d%s\n", output, F, C, KH, KW,
               C > channels ? " (the first 32 input channels)" : colour ? " (in colour)" : "");
        free(cv.pixels);
        cv.pixels = NULL;
    }
    if (input) {
        net_forward(&m.net, 1, NULL, NULL, NULL);
        int maps_count = l->out.c, H = l->out.h, W = l->out.w;
        if (canvas_init(&cv, maps_count, near_square_columns(maps_count), H, W, 56, 1) < 0) {
            fprintf(stderr, "cnnctl: out of memory\n");
            status = EXIT_RUNTIME;
            goto done;
        }
        for (int ch = 0; ch < maps_count; ch++)
            canvas_tile(&cv, ch, l->y + (long)ch * H * W);
        if (image_write_png(maps, cv.pixels, 1, cv.height, cv.width, err, sizeof err) < 0) {
            fprintf(stderr, "cnnctl: %s\n", err);
            status = EXIT_RUNTIME;
            goto done;
        }
        printf("%s: %d feature maps of %d x %d for %s%s\n", maps, maps_count, H, W, input,
               inverted ? " (inverted)" : "");
    }
    status = EXIT_OK;
done:
    if (status != EXIT_OK && wrote_filters)   /* a failed run leaves no output */
        unlink(output);
    free(cv.pixels);
    model_free(&m);
    return status;
}
