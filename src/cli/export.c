/* export.c - `cnnctl export CHECKPOINT -o FILE`: a trained network as an
 * ONNX model for other programs (onnx_graph.h). The graph takes the images
 * as cnnctl's batches hold them (N x C x H x W floats, pixels in [0, 1]),
 * normalises them as training did (a depthwise 1x1 Conv: x inv_std - mean
 * inv_std, which OpenCV reads where a Sub by a constant it does not), runs
 * each layer's own nodes (layer_ops.onnx) in the config's order and ends
 * in "probabilities" (a softmax loss) or "scores" (l1, l2). */
#include "cli.h"
#include "cli_util.h"
#include "model.h"
#include "onnx_graph.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char export_usage[] =
    "Usage: cnnctl export CHECKPOINT -o FILE [--batch N]\n"
    "Write the trained network as an ONNX model (opset 13): input \"input\"\n"
    "(N x C x H x W, pixels in [0, 1], any batch N), the normalisation of\n"
    "training, every layer, and output \"probabilities\" (or \"scores\" for an\n"
    "l1 or l2 loss). A layer with no ONNX form is an error naming it; nothing\n"
    "is written then.\n"
    "\n"
    "  -o, --output FILE   the .onnx file to write\n"
    "  -b, --batch N       a fixed batch of N images instead of any (OpenCV 4.6\n"
    "                      runs squeeze-and-excitation's scale only so)\n"
    "  -h, --help          show this help\n";

/* mean and inv_std as a depthwise 1x1 Conv from "input" to "normalised" */
static int normalisation(struct onnx_graph *g, const struct settings *st, struct shape in)
{
    float *w = malloc(sizeof(float) * in.c), *b = malloc(sizeof(float) * in.c);
    int rc = -1;
    if (w && b) {
        for (int c = 0; c < in.c; c++) {
            w[c] = st->norm_inv_std[c];
            b[c] = -st->norm_mean[c] * st->norm_inv_std[c];
        }
        const long wd[4] = {in.c, 1, 1, 1}, bd[1] = {in.c}, kernel[2] = {1, 1};
        const char *inputs[3] = {"input", "normalise/weight", "normalise/bias"};
        struct onnx_node *n = NULL;
        if (onnx_floats(g, inputs[1], 4, wd, w) == 0 && onnx_floats(g, inputs[2], 1, bd, b) == 0)
            n = onnx_node(g, "Conv", "normalised", 3, inputs);
        if (n && onnx_attr_ints(g, n, "kernel_shape", 2, kernel) == 0 && onnx_attr_int(g, n, "group", in.c) == 0)
            rc = 0;
    }
    free(w);
    free(b);
    return rc;
}

/* The whole graph into g; -1 with err. */
static int build(struct onnx_graph *g, const struct model *m, long batch, char *err, size_t errlen)
{
    const struct net *net = &m->net;
    const char *source = m->st.norm_mean ? "normalised" : "input";
    if (onnx_input(g, "input", batch, net->input) < 0 || (m->st.norm_mean && normalisation(g, &m->st, net->input) < 0)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < net->count; i++) {
        const struct layer *l = &net->layers[i];
        if (!l->ops->onnx) {
            snprintf(err, errlen, "[%s] (type = %s) has no ONNX form here; nothing written", l->name, l->ops->type);
            return -1;
        }
        const char *inputs[LAYER_MAX_INPUTS];
        for (int k = 0; k < l->input_count; k++)
            inputs[k] = l->inputs[k] < 0 ? source : net->layers[l->inputs[k]].name;
        if (l->ops->onnx(l, g, inputs, err, errlen) < 0)
            return -1;
    }
    const struct layer *last = &net->layers[net->count - 1];
    const char *output = last->ops->probabilities ? "probabilities" : "scores";
    const long dims[4] = {batch, last->out.c, last->out.h, last->out.w};
    /* a map keeps its C x H x W (per pixel); else N x classes */
    const int rank = last->out.h * last->out.w > 1 ? 4 : 2;
    const char *name = last->name;
    if (!onnx_node(g, "Identity", output, 1, &name) || onnx_output(g, output, rank, dims) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int cmd_export(int argc, char **argv)
{
    struct option options[] = {{"output", required_argument, NULL, 'o'},
                               {"batch", required_argument, NULL, 'b'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    const char *output = NULL;
    long batch = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:b:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'b':
            if (parse_long(optarg, &batch) < 0 || batch < 1 || batch > 65536)
                return usage_error("export", "--batch: '%s' is not a whole number from 1 to 65536", optarg);
            break;
        case 'h': fputs(export_usage, stdout); return EXIT_OK;
        default: return usage_error("export", "%s", "bad option");
        }
    }
    if (optind != argc - 1)
        return usage_error("export", "%s", optind == argc ? "missing CHECKPOINT" : "more than one CHECKPOINT");
    if (!output || !output[0])
        return usage_error("export", "%s", "missing -o FILE");
    const char *path = argv[optind];
    char err[2048];
    struct model m;
    if (model_load(&m, path, 1, 1, NET_KEEP_OUTPUTS, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        return EXIT_INPUT;
    }
    int status = EXIT_INPUT;
    struct onnx_graph *g = onnx_graph_new("cnnctl");
    if (!g) {
        fprintf(stderr, "cnnctl: out of memory\n");
        model_free(&m);
        return EXIT_RUNTIME;
    }
    if (build(g, &m, batch, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s: %s\n", path, err);
    } else if (onnx_write(g, output, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        status = EXIT_RUNTIME;
    } else {
        status = EXIT_OK;
    }
    onnx_graph_free(g);
    model_free(&m);
    return status;
}
