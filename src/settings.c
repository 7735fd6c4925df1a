/* settings.c - reading [data] and [train]. */
#include "settings.h"

#include "parallel.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *out = malloc(n);
    if (!out)
        return NULL;
    if (file[0] == '/' || !dir[0] || strcmp(dir, ".") == 0)
        snprintf(out, n, "%s", file);
    else
        snprintf(out, n, "%s/%s", dir, file);
    return out;
}

int settings_cpu_count(void)
{
    int n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

int settings_read(struct settings *st, struct config *cfg, const char *run_name)
{
    memset(st, 0, sizeof *st);
    int errors_before = cfg->error_count;
    struct config_section *data = config_section(cfg, "data");
    struct config_section *train = config_section(cfg, "train");
    if (!data)
        config_error(cfg, NULL, NULL, "no [data] section (it names the IDX files to train on)");
    if (!train)
        config_error(cfg, NULL, NULL, "no [train] section (epochs, batch, lr, ...)");

    const char *dir, *ti, *tl, *vi, *vl;
    config_get_string(cfg, data, "dir", &dir, ".");
    config_get_string(cfg, data, "train_images", &ti, "train-images-idx3-ubyte.gz");
    config_get_string(cfg, data, "train_labels", &tl, "train-labels-idx1-ubyte.gz");
    config_get_string(cfg, data, "test_images", &vi, "t10k-images-idx3-ubyte.gz");
    config_get_string(cfg, data, "test_labels", &vl, "t10k-labels-idx1-ubyte.gz");
    st->data_dir = join_path(cfg->base_dir, dir);
    st->train_images = join_path(st->data_dir, ti);
    st->train_labels = join_path(st->data_dir, tl);
    if (vi[0]) {
        st->test_images = join_path(st->data_dir, vi);
        st->test_labels = join_path(st->data_dir, vl);
        if (!vl[0])
            config_error(cfg, data, config_find(data, "test_labels"), "empty, but test_images is set");
    }
    if (!ti[0])
        config_error(cfg, data, config_find(data, "train_images"), "empty; the training images are required");
    if (!tl[0])
        config_error(cfg, data, config_find(data, "train_labels"), "empty; the training labels are required");
    config_get_int(cfg, data, "validation", &st->validation, 0, 0, INT_MAX);

    int has_epochs = config_get_int(cfg, train, "epochs", &st->epochs, 10, 1, 1000000);
    int has_iterations = config_get_int(cfg, train, "iterations", &st->iterations, 0, 1, LONG_MAX / 2);
    if (has_epochs == 1 && has_iterations == 1)
        config_error(cfg, train, config_find(train, "iterations"), "give epochs or iterations, not both");
    if (has_iterations == 1)
        st->epochs = 0;
    config_get_int(cfg, train, "batch", &st->batch, 100, 1, 65536);
    const char *opt;
    struct config_entry *e;
    config_get_string(cfg, train, "optimizer", &opt, "sgd");
    if (strcmp(opt, "sgd") != 0)
        config_error(cfg, train, config_find(train, "optimizer"), "unknown optimizer '%s' (expected: sgd)", opt);
    snprintf(st->optimizer, sizeof st->optimizer, "%s", opt);
    config_get_float(cfg, train, "lr", &st->lr, 0.1, 1e-12, 1e3);
    if ((e = config_find(train, "lr")) != NULL && st->lr <= 0)
        config_error(cfg, train, e, "must be positive");
    long seed;
    config_get_int(cfg, train, "seed", &seed, 1, 0, LONG_MAX);
    st->seed = (uint64_t)seed;
    config_get_int(cfg, train, "threads", &st->threads, 0, 0, 1024);
    config_get_int(cfg, train, "log_every", &st->log_every, 100, 1, LONG_MAX / 2);
    st->checkpoint_every = 1;
    if ((e = config_find(train, "checkpoint_every")) != NULL) {
        /* "N", "N epochs" or "N steps" */
        char *unit;
        errno = 0;
        long n = strtol(e->value, &unit, 10);
        while (*unit == ' ' || *unit == '\t')
            unit++;
        int steps = strcmp(unit, "steps") == 0 || strcmp(unit, "step") == 0;
        int epochs = !*unit || strcmp(unit, "epochs") == 0 || strcmp(unit, "epoch") == 0;
        if (unit == e->value || errno || n < 0 || n > 1000000000 || !(steps || epochs))
            config_error(cfg, train, e, "'%s' is not a count of epochs or steps (expected N, N epochs or N steps, "
                         "N from 0 to 1000000000)", e->value);
        else {
            st->checkpoint_every = n;
            st->checkpoint_in_steps = steps;
        }
    }
    config_get_int(cfg, train, "keep", &st->keep, 0, 0, 1000000);
    const char *best;
    config_get_string(cfg, train, "best", &best, "");
    if (best[0])
        st->best_path = strdup(best);
    const char *on_nan;
    config_get_string(cfg, train, "on_nan", &on_nan, "stop");
    if (strcmp(on_nan, "skip") == 0)
        st->skip_nan = 1;
    else if (strcmp(on_nan, "stop") != 0)
        config_error(cfg, train, config_find(train, "on_nan"), "'%s' is not stop or skip", on_nan);

    char def[PATH_MAX];
    const char *log, *ckpt;
    snprintf(def, sizeof def, "runs/%s/log.csv", run_name);
    config_get_string(cfg, train, "log", &log, def);
    st->log_path = strdup(log);
    snprintf(def, sizeof def, "runs/%s/model.ckpt", run_name);
    config_get_string(cfg, train, "checkpoint", &ckpt, def);
    st->checkpoint_path = strdup(ckpt);
    if (!st->checkpoint_path[0])
        config_error(cfg, train, config_find(train, "checkpoint"), "empty; a run needs a checkpoint path");
    if (st->best_path && st->validation == 0)
        config_error(cfg, train, config_find(train, "best"),
                     "needs a validation set ([data] validation = N) to know which checkpoint is best");
    if (st->best_path && strcmp(st->best_path, st->checkpoint_path) == 0)
        config_error(cfg, train, config_find(train, "best"), "must differ from checkpoint");
    return cfg->error_count > errors_before ? -1 : 0;
}

void settings_free(struct settings *st)
{
    free(st->data_dir);
    free(st->train_images);
    free(st->train_labels);
    free(st->test_images);
    free(st->test_labels);
    free(st->log_path);
    free(st->checkpoint_path);
    free(st->best_path);
    memset(st, 0, sizeof *st);
}
