/* main.c - cnnctl: train and evaluate convolutional networks from INI files.
 * Dispatches to the verbs (src/cli/) through one table. */
#include "bench.h"
#include "cli.h"
#include "dist.h"

#include <stdio.h>
#include <string.h>

/* The verbs: what `cnnctl --help` lists and main() dispatches to. Each
 * parses its own options and returns the exit status (cli.h). */
static const struct verb {
    const char *name;
    const char *synopsis;     /* as --help shows it */
    const char *what;
    int (*run)(int argc, char **argv);
    int distributed;          /* train: one rank of an MPI job */
} verbs[] = {
    {"train", "train CONFIG", "train a network; writes a log CSV and checkpoints", cmd_train, 1},
    {"eval", "eval CHECKPOINT", "evaluate a checkpoint on its test set or given files", cmd_eval, 0},
    {"summary", "summary CONFIG", "print the layers, output shapes, parameters and FLOPs", cmd_summary, 0},
    {"gradcheck", "gradcheck CONFIG", "compare every gradient with central differences", cmd_gradcheck, 0},
    {"bench", "bench [CONFIG...]", "measure the GEMM and training speed on this machine", cmd_bench, 0},
    {"predict", "predict CHECKPOINT IMAGE...", "classify images, or find boxes or classes per pixel", cmd_predict, 0},
    {"filter", "filter --kernel NAME IMAGE -o OUT.png", "apply a fixed convolution kernel", cmd_filter, 0},
    {"viz", "viz CHECKPOINT --layer NAME -o OUT.png", "draw a layer's filters, maps", cmd_viz, 0},
    {"plot", "plot LOG.csv... -o OUT.png", "loss and accuracy curves of runs", cmd_plot, 0},
    {"compose", "compose --images F --labels F -o P", "draw digits on canvases: masks and boxes to learn", cmd_compose, 0},
    {"export", "export CHECKPOINT -o FILE", "write a trained network as an ONNX model", cmd_export, 0},
};

static void usage(FILE *f)
{
    fputs("Usage: cnnctl VERB [options] [arguments]\n"
          "Train convolutional networks described by INI files on IDX (MNIST-format) data.\n"
          "\n"
          "Verbs:\n", f);
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        fprintf(f, "  %-18s  %s\n", verbs[i].synopsis, verbs[i].what);
    fputs("\n"
          "  cnnctl VERB --help  options of one verb\n"
          "  cnnctl --version    print the version\n"
          "\n"
          "Exit status: 0 success, 1 failure while running, 2 bad usage or bad input.\n"
          "See cnnctl(1) and cnnctl.ini(5).\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_INPUT;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("cnnctl %s%s\n", CNNCTL_VERSION, dist_available() ? " (MPI)" : "");
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++) {
        const struct verb *v = &verbs[i];
        if (strcmp(name, v->name) != 0)
            continue;
        if (!v->distributed)
            return v->run(argc - 1, argv + 1);
        /* MPI builds: one rank of a job started by mpirun (or alone) */
        dist_init(&argc, &argv);
        int status = v->run(argc - 1, argv + 1);
        dist_finalize(status);
        return status;
    }
    fprintf(stderr, "cnnctl: unknown verb '%s'\nTry 'cnnctl --help'.\n", name);
    return EXIT_INPUT;
}
