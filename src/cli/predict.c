/* predict.c - `cnnctl predict CHECKPOINT IMAGE...`: a trained net on the
 * user's own pictures. Each image is read (PNG, JPEG or PGM, any size,
 * gray or colour) as the net's channels, brought to its input size and
 * normalisation, inverted (gray nets) when it is dark on light and the net
 * learnt light on dark (or as --invert / --no-invert say), and the top
 * classes are printed with their probabilities. */
#include "cli.h"
#include "cli_util.h"
#include "model.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char predict_usage[] =
    "Usage: cnnctl predict CHECKPOINT IMAGE... [--top K] [--invert | --no-invert]\n"
    "                      [--json] [--threads N]\n"
    "Classify PNG, JPEG or PGM images of any size, gray or colour, with a\n"
    "trained network: each is made gray or colour as the network takes it,\n"
    "resized to its input, normalised as in training, and (gray networks)\n"
    "inverted when it is dark on light while the training images are light\n"
    "on dark.\n"
    "Prints the top K classes with their probabilities, one line per image (a\n"
    "segmentation network: with the share of the image's pixels labelled so).\n"
    "\n"
    "  -k, --top K         classes shown per image (default 3)\n"
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

int cmd_predict(int argc, char **argv)
{
    struct option options[] = {{"top", required_argument, NULL, 'k'},
                               {"invert", no_argument, NULL, 'i'},
                               {"no-invert", no_argument, NULL, 'n'},
                               {"json", no_argument, NULL, 'j'},
                               {"threads", required_argument, NULL, 't'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    long top = 3;
    int invert = -1, json = 0, threads = 1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:injt:h", options, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (parse_long(optarg, &top) < 0 || top < 1 || top > 65536)
                return usage_error("predict", "--top: '%s' is not a whole number from 1 to 65536", optarg);
            break;
        case 'i': invert = 1; break;
        case 'n': invert = 0; break;
        case 'j': json = 1; break;
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
    if (!rank) {
        fprintf(stderr, "cnnctl: out of memory\n");
        model_free(&m);
        return EXIT_RUNTIME;
    }
    /* a per-pixel net (task = segment): the share of the image's pixels
     * labelled each class */
    const int per_pixel = net->label_units > 1;
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
        int inverted;
        if (model_input_image(&m, argv[a], invert, net->input_data, &inverted, err, sizeof err) < 0) {
            fprintf(stderr, "cnnctl: %s\n", err);
            goto done;
        }
        net_forward(net, 1, NULL, NULL, NULL);
        const float *prob = net_probabilities(net);
        for (int k = 0; k < net->classes; k++)
            rank[k] = (struct ranked){k, per_pixel ? 0.0f : prob[k]};
        for (long q = 0; per_pixel && q < net->label_units; q++) {
            int best = 0;
            for (int k = 1; k < net->classes; k++)
                if (prob[k * net->label_units + q] > prob[best * net->label_units + q])
                    best = k;
            rank[best].p += 1.0f / net->label_units;
        }
        qsort(rank, (size_t)net->classes, sizeof *rank, by_probability);
        if (json) {
            fprintf(out, "%s\n {\"image\": ", a > optind + 1 ? "," : "");
            json_string(out, argv[a]);
            fprintf(out, ", \"inverted\": %s, \"top\": [", inverted ? "true" : "false");
            for (int k = 0; k < top; k++) {
                fprintf(out, "%s{\"class\": %d, \"name\": ", k ? ", " : "", rank[k].cls);
                if (m.st.class_count)
                    json_string(out, m.st.class_names[rank[k].cls]);
                else
                    fprintf(out, "\"%d\"", rank[k].cls);
                fprintf(out, ", \"%s\": %.6f}", what, rank[k].p);
            }
            fprintf(out, "]}");
        } else {
            printf("%s:", argv[a]);
            for (int k = 0; k < top; k++) {
                if (m.st.class_count)
                    printf("  %s %.3f", m.st.class_names[rank[k].cls], rank[k].p);
                else
                    printf("  %d %.3f", rank[k].cls, rank[k].p);
            }
            printf("%s\n", inverted ? "  (inverted)" : "");
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
    model_free(&m);
    return status;
}
