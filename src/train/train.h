/* train.h - the training loop: epochs of shuffled mini-batches, the log
 * CSV, checkpoints, and resuming a run exactly where a checkpoint left it. */
#ifndef CNNCTL_TRAIN_H
#define CNNCTL_TRAIN_H

#include <stddef.h>

#include "ckpt.h"
#include "config.h"
#include "dataset.h"
#include "net.h"
#include "optim.h"
#include "settings.h"

struct train_job {
    struct config *cfg;          /* embedded in checkpoints as text */
    const struct settings *st;
    struct net *net;             /* built; fresh runs initialise it here */
    struct optimizer *optim;     /* initialised for net; holds the checkpoint's state when resuming */
    struct dataset train, validation, test;   /* count 0: absent */
    int quiet;
    int live;                    /* progress line: 1 yes, 0 no, -1 when stderr is a terminal */
    /* Resuming: the checkpoint's state and statistics (the net already
     * holds its weights); NULL for a fresh run. */
    const struct ckpt_train_state *resume;
    const struct ckpt_stats *resume_stats;
};

/* What `cnnctl train` hands the run: the checked config (with every
 * override; the run pins its paths and input shape into it, for the
 * checkpoint), its settings, the planned net, and the checkpoint to go on
 * from. */
struct train_request {
    struct config *cfg;
    struct settings *st;
    struct net *net;             /* planned: shapes only; allocated by train_command */
    struct shape input;
    const char *resume_path;     /* NULL: a fresh run */
    struct ckpt *resume;         /* read from resume_path, with training state */
    int threads, quiet;
    int force;                   /* start afresh where a checkpoint is */
};

/* A run from its checked config to its end, every precondition of training
 * in one place: the batch shared by the processes, the data against the
 * config (shape, labels, validation split), the optimizer, the checkpoint to
 * resume, the paths the checkpoint's config pins, and the run's files
 * locked (runlock.h); then train_run. Returns its exit status (status.h,
 * and as train_run); errors are one line in err. */
int train_command(struct train_request *req, char *err, size_t errlen);

/* Returns an exit status: 0 done, 1 a runtime failure (I/O, divergence),
 * 2 a log that cannot be continued, 130/143 stopped by SIGINT/SIGTERM after
 * writing a checkpoint. Errors are one line in err. */
int train_run(struct train_job *job, char *err, size_t errlen);

#endif
