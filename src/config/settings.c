/* settings.c - reading [data] and [train]. */
#include "settings.h"

#include "idx.h"
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

/* shape = CxHxW (C, H, W whole numbers, channels first as in NCHW) */
static void read_shape(struct settings *st, struct config *cfg, struct config_section *data)
{
    struct config_entry *e = data ? config_find(data, "shape") : NULL;
    if (e && config_unset_by_option(e)) {
        config_drop(e);
        e = NULL;
    }
    if (!e)
        return;
    long v[3];
    const char *p = e->value;
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        v[i] = strtol(p, &end, 10);
        if (end == p || *p == '-' || *p == '+' || errno || v[i] < 1 || v[i] > 65536 || (i < 2 && *end != 'x') ||
            (i == 2 && *end)) {
            config_error(cfg, data, e, "'%s' is not a shape (expected CxHxW, such as 1x28x28; each from 1 to 65536)",
                         e->value);
            return;
        }
        p = end + 1;
    }
    st->shape_c = (int)v[0];
    st->shape_h = (int)v[1];
    st->shape_w = (int)v[2];
}

int settings_input_shape(const struct settings *st, int *c, int *h, int *w, char *err, size_t errlen)
{
    if (st->shape_c) {
        *c = st->shape_c;
        *h = st->shape_h;
        *w = st->shape_w;
        return 0;
    }
    struct idx_images header;
    if (idx_read_image_header(st->train_images, &header, err, errlen) < 0)
        return -1;
    *c = 1;
    *h = (int)header.rows;
    *w = (int)header.cols;
    return 0;
}

int settings_cpu_count(void)
{
    int n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

/* "N", "N epochs" or "N steps" (epochs when no unit is given). */
static int read_count(struct config *cfg, struct config_section *sec, struct config_entry *e, long *n_out,
                      int *in_steps)
{
    char *unit;
    errno = 0;
    long n = strtol(e->value, &unit, 10);
    while (*unit == ' ' || *unit == '\t')
        unit++;
    int steps = strcmp(unit, "steps") == 0 || strcmp(unit, "step") == 0;
    int epochs = !*unit || strcmp(unit, "epochs") == 0 || strcmp(unit, "epoch") == 0;
    if (unit == e->value || errno || n < 0 || n > 1000000000 || !(steps || epochs)) {
        config_error(cfg, sec, e, "'%s' is not a count of epochs or steps (expected N, N epochs or N steps, "
                     "N from 0 to 1000000000)", e->value);
        return -1;
    }
    *n_out = n;
    *in_steps = steps;
    return 0;
}

/* A count key, or NULL when absent or unset by --set KEY= (the default). */
static struct config_entry *find_count(struct config_section *s, const char *key)
{
    struct config_entry *e = config_find(s, key);
    if (e && config_unset_by_option(e)) {
        config_drop(e);
        return NULL;
    }
    return e;
}

/* Of two keys that exclude each other, one given in the file and one by
 * --set: the override is the user's latest word and the file's key is
 * dropped (it is not written into the checkpoint's config either). */
static void override_replaces(struct config_section *s, const char *a, const char *b)
{
    struct config_entry *ea = config_find(s, a), *eb = config_find(s, b);
    if (!ea || !eb || config_unset_by_option(ea) || config_unset_by_option(eb))
        return;
    if (ea->origin && !eb->origin)
        config_drop(eb);
    else if (eb->origin && !ea->origin)
        config_drop(ea);
}

/* optimizer and its keys; a key of another optimizer is an error, not ignored */
static int read_optimizer(struct settings *st, struct config *cfg, struct config_section *train)
{
    struct optim_config *o = &st->optim;
    int before = cfg->error_count;
    const char *name;
    config_get_string(cfg, train, "optimizer", &name, "sgd");
    if (optim_from_name(name, &o->kind) < 0)
        config_error(cfg, train, config_find(train, "optimizer"),
                     "unknown optimizer '%s' (expected sgd, momentum, nesterov, adagrad, rmsprop or adam)", name);
    config_get_float(cfg, train, "lr", &st->lr, 0.1, 1e-12, 1e3);
    struct config_entry *e;
    if ((e = config_find(train, "lr")) != NULL && st->lr <= 0)
        config_error(cfg, train, e, "must be positive");
    config_get_float(cfg, train, "weight_decay", &o->weight_decay, 0.0, 0.0, 1.0);
    int momentum = o->kind == OPT_MOMENTUM || o->kind == OPT_NESTEROV, adam = o->kind == OPT_ADAM;
    int adaptive = o->kind == OPT_ADAGRAD || o->kind == OPT_RMSPROP || adam;
    o->momentum = 0.9;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = o->kind == OPT_ADAGRAD ? 1e-10 : 1e-8;
    o->decay = 0.99;
    /* The other optimizers' keys are known, and unused with this one. */
    if (momentum)
        config_get_float(cfg, train, "momentum", &o->momentum, 0.9, 0.0, 0.9999);
    else
        config_declare(train, "momentum", "used only with optimizer = momentum or nesterov", "optimizer");
    if (adam) {
        config_get_float(cfg, train, "beta1", &o->beta1, 0.9, 0.0, 0.9999);
        config_get_float(cfg, train, "beta2", &o->beta2, 0.999, 0.0, 0.999999);
    } else {
        config_declare(train, "beta1", "used only with optimizer = adam", "optimizer");
        config_declare(train, "beta2", "used only with optimizer = adam", "optimizer");
    }
    if (adaptive)
        config_get_float(cfg, train, "eps", &o->eps, o->eps, 1e-12, 1.0);
    else
        config_declare(train, "eps", "used only with optimizer = adagrad, rmsprop or adam", "optimizer");
    if (o->kind == OPT_RMSPROP)
        config_get_float(cfg, train, "decay", &o->decay, 0.99, 0.0, 0.9999);
    else
        config_declare(train, "decay", "used only with optimizer = rmsprop", "optimizer");
    return cfg->error_count > before ? -1 : 0;
}

static int read_schedule(struct settings *st, struct config *cfg, struct config_section *train)
{
    int before = cfg->error_count;
    const char *name;
    config_get_string(cfg, train, "schedule", &name, "constant");
    if (strcmp(name, "constant") == 0)
        st->schedule = SCHED_CONSTANT;
    else if (strcmp(name, "step") == 0)
        st->schedule = SCHED_STEP;
    else if (strcmp(name, "cosine") == 0)
        st->schedule = SCHED_COSINE;
    else
        config_error(cfg, train, config_find(train, "schedule"),
                     "unknown schedule '%s' (expected constant, step or cosine)", name);
    st->gamma = 0.1;
    st->lr_min = 0.0;
    if (st->schedule == SCHED_STEP) {
        struct config_entry *e = find_count(train, "step_size");
        int in_steps = 0;
        if (!e)
            config_error(cfg, train, NULL, "step_size: missing (schedule = step lowers lr every N epochs or N steps)");
        else if (read_count(cfg, train, e, &st->step_size, &in_steps) == 0 && st->step_size == 0)
            config_error(cfg, train, e, "must be at least 1");
        st->step_size_in_epochs = !in_steps;
        config_get_float(cfg, train, "gamma", &st->gamma, 0.1, 0.0, 1.0);
    } else {
        config_declare(train, "step_size", "used only with schedule = step", "schedule");
        config_declare(train, "gamma", "used only with schedule = step", "schedule");
    }
    if (st->schedule == SCHED_COSINE)
        config_get_float(cfg, train, "lr_min", &st->lr_min, 0.0, 0.0, 1e3);
    else
        config_declare(train, "lr_min", "used only with schedule = cosine", "schedule");
    config_get_int(cfg, train, "warmup", &st->warmup, 0, 0, 1000000000);
    return cfg->error_count > before ? -1 : 0;
}

/* classes = a, b, c: comma-separated, blanks around each name trimmed. */
static void read_classes(struct settings *st, struct config *cfg, struct config_section *data)
{
    struct config_entry *e = data ? config_find(data, "classes") : NULL;
    if (!e)
        return;
    int n = 1;
    for (const char *p = e->value; *p; p++)
        n += *p == ',';
    st->class_names = calloc((size_t)n, sizeof *st->class_names);
    if (!st->class_names) {
        config_error(cfg, data, e, "out of memory");
        return;
    }
    const char *p = e->value;
    for (int k = 0; k < n; k++) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a == b) {
            config_error(cfg, data, e, "class %d has no name (expected names separated by commas)", k + 1);
            return;
        }
        st->class_names[k] = strndup(a, (size_t)(b - a));
        st->class_count = k + 1;
        p = *end ? end + 1 : end;
    }
}

int settings_check_classes(const struct settings *st, struct config *cfg, int classes)
{
    if (!st->class_count || st->class_count == classes)
        return 0;
    struct config_section *data = config_section(cfg, "data");
    config_error(cfg, data, config_find(data, "classes"),
                 "%d names for a network with %d classes", st->class_count, classes);
    return -1;
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
    /* dir in the file starts at the file's folder; typed on the command
     * line (--set data.dir=...), at the current folder, as any path there */
    struct config_entry *dir_entry = data ? config_find(data, "dir") : NULL;
    st->data_dir = join_path(dir_entry && dir_entry->origin ? "." : cfg->base_dir, dir);
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
    read_classes(st, cfg, data);
    read_shape(st, cfg, data);

    override_replaces(train, "epochs", "iterations");
    int has_epochs = config_get_int(cfg, train, "epochs", &st->epochs, 10, 1, 1000000);
    int has_iterations = config_get_int(cfg, train, "iterations", &st->iterations, 0, 1, LONG_MAX / 2);
    if (has_epochs == 1 && has_iterations == 1)
        config_error(cfg, train, config_find(train, "iterations"), "give epochs or iterations, not both");
    if (has_iterations == 1)
        st->epochs = 0;
    config_get_int(cfg, train, "batch", &st->batch, 100, 1, 65536);
    struct config_entry *e;
    read_optimizer(st, cfg, train);   /* errors are recorded in cfg */
    read_schedule(st, cfg, train);
    augment_read(&st->augment, cfg);
    long seed;
    config_get_int(cfg, train, "seed", &seed, 1, 0, LONG_MAX);
    st->seed = (uint64_t)seed;
    config_get_int(cfg, train, "threads", &st->threads, 0, 0, 1024);
    config_get_int(cfg, train, "log_every", &st->log_every, 100, 1, LONG_MAX / 2);
    st->checkpoint_every = 1;
    if ((e = find_count(train, "checkpoint_every")) != NULL)
        read_count(cfg, train, e, &st->checkpoint_every, &st->checkpoint_in_steps);
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
    if (st->log_path[0] && strcmp(st->log_path, st->checkpoint_path) == 0)
        config_error(cfg, train, config_find(train, "log"), "is the checkpoint's path too; the checkpoint would "
                     "replace the log");
    if (st->best_path && strcmp(st->best_path, st->log_path) == 0)
        config_error(cfg, train, config_find(train, "best"), "is the log's path too");
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
    for (int k = 0; k < st->class_count; k++)
        free(st->class_names[k]);
    free(st->class_names);
    memset(st, 0, sizeof *st);
}
