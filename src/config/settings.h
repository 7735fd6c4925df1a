/* settings.h - the [data] and [train] sections, read and checked. */
#ifndef CNNCTL_SETTINGS_H
#define CNNCTL_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "augment.h"
#include "config.h"
#include "optim.h"
#include "source.h"

struct settings {
    /* [data]: paths resolved (dir against the config's folder, files against dir);
     * test_images is NULL when the config asks for no test set */
    char *data_dir;
    char *train_images, *train_labels, *test_images, *test_labels;   /* the first files, for messages */
    struct data_source train, test;   /* test.file_count 0: no test set */
    /* [data] mean and std: 0 numbers (none), 1 (every channel), or one per
     * channel (checked against the input when the shape is known);
     * *_auto: from the training images (train.c pins the numbers) */
    int mean_count, std_count, mean_auto, std_auto;
    float *mean, *std;
    /* resolved for the input's channels (settings_resolve_normalisation),
     * NULL when [data] has neither key: x as read */
    float *norm_mean, *norm_std, *norm_inv_std;
    /* [data] classes = T-shirt, Trouser, ...: names for eval --confusion and
     * predict; class_count 0 when not given */
    char **class_names;
    int class_count;
    long validation;
    /* [data] task = segment: the label files are masks, a class per pixel
     * (train.masks, test.masks), and the loss is per pixel; ignore: a mask
     * value that is no class (-1: none) */
    int segment;
    long ignore;
    /* [data] task = detect: the label files are box files (boxes.h), the
     * loss a yolo layer */
    int detect;
    /* [data] shape = CxHxW: the network's input, stated so that summary
     * needs no data (and checked against the data when training); 0 x 0 x 0
     * when not given */
    int shape_c, shape_h, shape_w;
    /* [train] */
    long epochs, iterations;   /* exactly one is non-zero */
    long batch;
    struct optim_config optim;
    double lr;
    enum schedule_kind schedule;
    double lr_min, gamma;       /* cosine's floor; step's factor */
    long step_size;             /* step: every step_size steps, or epochs when step_size_in_epochs */
    int step_size_in_epochs;
    long warmup;                /* steps */
    uint64_t seed;
    long threads;              /* 0: every CPU this process may use */
    long log_every;
    char *log_path, *checkpoint_path;
    long checkpoint_every;     /* 0: only at the end (and on SIGINT/SIGTERM) */
    int checkpoint_in_steps;   /* checkpoint_every counts steps, not epochs */
    long keep;                 /* numbered checkpoints kept besides the latest */
    char *best_path;           /* NULL, or where the best-validation checkpoint goes */
    int skip_nan;              /* on_nan = skip: drop a non-finite batch, go on */
    struct augment augment;    /* [augment] */
};

/* run_name names the default run folder runs/NAME/ (the config file's base
 * name). Errors are recorded in cfg; returns 0 or -1. */
int settings_read(struct settings *st, struct config *cfg, const char *run_name);
/* Once the network is built: as many class names as its classes, or an
 * error at the classes key; 0 or -1. */
int settings_check_classes(const struct settings *st, struct config *cfg, int classes);
void settings_free(struct settings *st);

/* [data] mean and std for C channels into norm_*: the numbers given
 * (else 0 and 1), auto ones computed from images [0, count) of train
 * (NULL: none at hand, an error if one is auto). -1 with err when a list
 * does not have 1 or C numbers. */
int settings_resolve_normalisation(struct settings *st, int C, const struct dataset *train, int count, char *err,
                                   size_t errlen);

/* The network's input C x H x W: [data] shape, else the header of the
 * training images. 0, or -1 with one line in err. */
int settings_input_shape(const struct settings *st, int *c, int *h, int *w, char *err, size_t errlen);

/* The CPUs this process may run on. */
int settings_cpu_count(void);

#endif
