/* cli.h - the verbs of the command line. Each parses its own options
 * (getopt_long), prints its results on stdout, progress and errors on
 * stderr, and returns the exit status:
 *   0 success, 1 a failure while running (I/O, divergence, out of memory),
 *   2 bad usage or bad input (config, data file, checkpoint). */
#ifndef CNNCTL_CLI_H
#define CNNCTL_CLI_H

#define CNNCTL_VERSION "0.1.0"

#include "status.h"

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_predict(int argc, char **argv);   /* predict.c */
int cmd_filter(int argc, char **argv);
int cmd_compose(int argc, char **argv);
int cmd_export(int argc, char **argv);     /* export.c */    /* filter.c */
int cmd_viz(int argc, char **argv);       /* viz.c */
int cmd_plot(int argc, char **argv);      /* plot.c */

#endif
