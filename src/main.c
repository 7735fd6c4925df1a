/* main.c - cnnctl: train and evaluate convolutional networks from INI files.
 * Dispatches to the verbs in cli.c. */
#include "bench.h"
#include "cli.h"
#include "dist.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "Usage: cnnctl VERB [options] [arguments]\n"
    "Train convolutional networks described by INI files on IDX (MNIST-format) data.\n"
    "\n"
    "Verbs:\n"
    "  train CONFIG        train a network; writes a log CSV and checkpoints\n"
    "  eval CHECKPOINT     evaluate a checkpoint on its test set or given files\n"
    "  summary CONFIG      print the layers, output shapes, parameters and FLOPs\n"
    "  gradcheck CONFIG    compare every gradient with central differences\n"
    "  bench [CONFIG...]   measure the GEMM and training speed on this machine\n"
    "  predict CHECKPOINT IMAGE...  classify PNG or PGM images\n"
    "  filter --kernel NAME IMAGE -o OUT.png  apply a fixed convolution kernel\n"
    "  viz CHECKPOINT --layer NAME -o OUT.png  draw a layer's filters, maps\n"
    "  plot LOG.csv... -o OUT.png  loss and accuracy curves of runs\n"
    "\n"
    "  cnnctl VERB --help  options of one verb\n"
    "  cnnctl --version    print the version\n"
    "\n"
    "Exit status: 0 success, 1 failure while running, 2 bad usage or bad input.\n"
    "See cnnctl(1) and cnnctl.ini(5).\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return EXIT_INPUT;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(verb, "--version") == 0) {
        printf("cnnctl %s%s\n", CNNCTL_VERSION, dist_available() ? " (MPI)" : "");
        return EXIT_OK;
    }
    if (strcmp(verb, "train") == 0) {
        /* MPI builds: one rank of a job started by mpirun (or alone) */
        dist_init(&argc, &argv);
        int status = cmd_train(argc - 1, argv + 1);
        dist_finalize(status);
        return status;
    }
    if (strcmp(verb, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    if (strcmp(verb, "summary") == 0)
        return cmd_summary(argc - 1, argv + 1);
    if (strcmp(verb, "gradcheck") == 0)
        return cmd_gradcheck(argc - 1, argv + 1);
    if (strcmp(verb, "predict") == 0)
        return cmd_predict(argc - 1, argv + 1);
    if (strcmp(verb, "filter") == 0)
        return cmd_filter(argc - 1, argv + 1);
    if (strcmp(verb, "viz") == 0)
        return cmd_viz(argc - 1, argv + 1);
    if (strcmp(verb, "plot") == 0)
        return cmd_plot(argc - 1, argv + 1);
    if (strcmp(verb, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "cnnctl: unknown verb '%s'\nTry 'cnnctl --help'.\n", verb);
    return EXIT_INPUT;
}
