/* train.h - the training loop: epochs of shuffled mini-batches, the log
 * CSV, checkpoints. */
#ifndef CNNCTL_TRAIN_H
#define CNNCTL_TRAIN_H

#include <stddef.h>

#include "config.h"
#include "dataset.h"
#include "net.h"
#include "settings.h"

struct train_job {
    struct config *cfg;          /* embedded in checkpoints as text */
    const struct settings *st;
    struct net *net;             /* built and ready; parameters get initialised here */
    struct dataset train, validation, test;   /* count 0: absent */
    int quiet;
};

/* Returns an exit status: 0 done, 1 a runtime failure (I/O, divergence),
 * with a one-line message in err. */
int train_run(struct train_job *job, char *err, size_t errlen);

#endif
