/* settings.c - reading [data] and [train]. */
#include "settings.h"

#include "parallel.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
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

/* The files of one source: for cifar a list "a.bin, b.bin" (each joined
 * to dir), for idx one image file and its label file. */
static void read_source(struct data_source *src, struct config *cfg, struct config_section *data, const char *dir,
                        const char *images_key, const char *images, const char *labels)
{
    if (src->format != DATA_CIFAR) {   /* one file (or folder) */
        src->file_count = 1;
        src->images[0] = join_path(dir, images);
        src->labels = labels[0] ? join_path(dir, labels) : NULL;
        return;
    }
    struct config_entry *e = config_find(data, images_key);
    const char *p = images;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            config_error(cfg, data, e, "an empty file name in the list");
            return;
        }
        if (src->file_count == DATA_MAX_FILES) {
            config_error(cfg, data, e, "more than %d files", DATA_MAX_FILES);
            return;
        }
        char *name = strndup(p, len);
        src->images[src->file_count++] = name ? join_path(dir, name) : NULL;
        free(name);
        p += n;
        if (*p == ',')
            p++;
    }
}

/* format, label, dir and the files of the training and test sources. */
static void read_data_files(struct settings *st, struct config *cfg, struct config_section *data)
{
    const char *format, *label, *task;
    config_get_string(cfg, data, "task", &task, "classify");
    if (strcmp(task, "segment") == 0)
        st->segment = 1;
    else if (strcmp(task, "detect") == 0)
        st->detect = 1;
    else if (strcmp(task, "classify") != 0)
        config_error(cfg, data, config_find(data, "task"),
                     "'%s' is not a task (expected classify, segment or detect)", task);
    st->ignore = -1;
    if (st->segment)
        config_get_int(cfg, data, "ignore", &st->ignore, -1, 0, 255);
    else
        config_declare(data, "ignore", "used only with task = segment", "task");
    config_get_string(cfg, data, "format", &format, "");
    enum data_format f = DATA_AUTO;
    if (strcmp(format, "idx") == 0)
        f = DATA_IDX;
    else if (strcmp(format, "cifar") == 0)
        f = DATA_CIFAR;
    else if (strcmp(format, "folder") == 0)
        f = DATA_FOLDER;
    else if (strcmp(format, "list") == 0)
        f = DATA_LIST;
    else if (format[0])
        config_error(cfg, data, config_find(data, "format"),
                     "'%s' is not a data format (expected idx, cifar, folder or list)", format);
    const int files = f == DATA_FOLDER || f == DATA_LIST;
    enum cifar_label cl = CIFAR_10;
    if (f == DATA_CIFAR || f == DATA_AUTO) {
        config_get_string(cfg, data, "label", &label, "");
        if (strcmp(label, "fine") == 0)
            cl = CIFAR_100_FINE;
        else if (strcmp(label, "coarse") == 0)
            cl = CIFAR_100_COARSE;
        else if (label[0])
            config_error(cfg, data, config_find(data, "label"),
                         "'%s' is not a CIFAR-100 label (expected fine or coarse; CIFAR-10 files need none)", label);
        /* a CIFAR-100 label names the format */
        if (cl != CIFAR_10)
            f = DATA_CIFAR;
    } else {
        config_declare(data, "label", "used only with format = cifar (CIFAR-100 files)", "format");
    }
    const int cifar100 = cl != CIFAR_10;
    const int dense = st->segment || st->detect;
    const char *ti, *tl, *vi, *vl;
    config_get_string(cfg, data, "train_images", &ti,
                      f == DATA_FOLDER && dense ? "train/images"
                      : f == DATA_FOLDER        ? "train"
                      : f == DATA_LIST ? "train.txt"
                      : f != DATA_CIFAR ? "train-images-idx3-ubyte.gz"
                      : cifar100        ? "train.bin"
                                        : "data_batch_1.bin, data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, "
                                          "data_batch_5.bin");
    config_get_string(cfg, data, "test_images", &vi,
                      f == DATA_FOLDER && dense ? "test/images"
                      : f == DATA_FOLDER        ? "test"
                      : f == DATA_LIST ? "test.txt"
                      : f != DATA_CIFAR ? "t10k-images-idx3-ubyte.gz"
                      : cifar100        ? "test.bin"
                                        : "test_batch.bin");
    const char *bad;
    if (files) {
        config_get_string(cfg, data, "on_bad_image", &bad, "error");
        if (strcmp(bad, "skip") == 0)
            st->train.skip_bad = 1;
        else if (strcmp(bad, "error") != 0)
            config_error(cfg, data, config_find(data, "on_bad_image"), "'%s' is not error or skip", bad);
    } else {
        config_declare(data, "on_bad_image", "used only with format = folder or list", "format");
    }
    if (dense && f == DATA_CIFAR)
        config_error(cfg, data, config_find(data, "task"),
                     "%s needs format = idx, folder or list (images with %s); cifar holds one label an image",
                     st->segment ? "segment" : "detect", st->segment ? "masks" : "boxes");
    /* label files: IDX's own, or a folder of masks or box files beside a
     * folder of images (a list names each image's label file) */
    if (f == DATA_FOLDER && dense) {
        config_get_string(cfg, data, "train_labels", &tl, st->segment ? "train/masks" : "train/labels");
        config_get_string(cfg, data, "test_labels", &vl, st->segment ? "test/masks" : "test/labels");
    } else if (f != DATA_CIFAR && !files) {
        config_get_string(cfg, data, "train_labels", &tl,
                          st->segment  ? "train-masks-idx3-ubyte.gz"
                          : st->detect ? "train-boxes.txt"
                                       : "train-labels-idx1-ubyte.gz");
        config_get_string(cfg, data, "test_labels", &vl,
                          st->segment  ? "t10k-masks-idx3-ubyte.gz"
                          : st->detect ? "t10k-boxes.txt"
                                       : "t10k-labels-idx1-ubyte.gz");
    } else {
        tl = vl = "";
        config_declare(data, "train_labels",
                       "used only with format = idx, or folder with task = segment or detect (the other formats hold "
                       "their labels)",
                       "format");
        config_declare(data, "test_labels",
                       "used only with format = idx, or folder with task = segment or detect (the other formats hold "
                       "their labels)",
                       "format");
    }
    const char *dir;
    config_get_string(cfg, data, "dir", &dir, ".");
    /* dir in the file starts at the file's folder; typed on the command
     * line (--set data.dir=...), at the current folder, as any path there */
    struct config_entry *dir_entry = data ? config_find(data, "dir") : NULL;
    st->data_dir = join_path(dir_entry && dir_entry->origin ? "." : cfg->base_dir, dir);
    if (!ti[0])
        config_error(cfg, data, config_find(data, "train_images"), "empty; the training images are required");
    const int label_files = (f != DATA_CIFAR && !files) || (f == DATA_FOLDER && dense);
    if (label_files && !tl[0])
        config_error(cfg, data, config_find(data, "train_labels"), "empty; the training labels are required");
    if (label_files && vi[0] && !vl[0])
        config_error(cfg, data, config_find(data, "test_labels"), "empty, but test_images is set");
    const int skip_bad = st->train.skip_bad;
    st->train = st->test =
        (struct data_source){
        .format = f, .cifar_label = cl, .skip_bad = skip_bad, .masks = st->segment, .boxes = st->detect};
    if (ti[0])
        read_source(&st->train, cfg, data, st->data_dir, "train_images", ti, tl);
    if (vi[0])
        read_source(&st->test, cfg, data, st->data_dir, "test_images", vi, vl);
    st->train_images = st->train.file_count ? st->train.images[0] : NULL;
    st->train_labels = st->train.labels ? st->train.labels : st->train_images;
    st->test_images = st->test.file_count ? st->test.images[0] : NULL;
    st->test_labels = st->test.labels ? st->test.labels : st->test_images;
}

/* mean or std (e, or NULL when absent): auto, or numbers separated by
 * commas (std's above 0) */
static void read_normalisation(struct config *cfg, struct config_section *data, struct config_entry *e, int std,
                               float **out, int *count, int *is_auto)
{
    if (e && config_unset_by_option(e)) {
        config_drop(e);
        e = NULL;
    }
    if (!e)
        return;
    if (strcmp(e->value, "auto") == 0) {
        *is_auto = 1;
        return;
    }
    const char *p = e->value;
    int n = 1;
    for (const char *q = p; *q; q++)
        n += *q == ',';
    *out = malloc(sizeof(float) * n);
    if (!*out) {
        config_error(cfg, data, e, "out of memory");
        return;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strcspn(p, ",");
        char *text = strndup(p, len);
        /* blanks around each number are dropped */
        if (text) {
            char *a = text, *z = text + strlen(text);
            while (*a == ' ' || *a == '\t')
                a++;
            while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
                z--;
            *z = 0;
            memmove(text, a, (size_t)(z - a) + 1);
        }
        double v;
        if (!text || parse_double(text, &v) != 0 || !isfinite(v) || (std && v <= 0) || fabs(v) > 1e6) {
            config_error(cfg, data, e, "'%s' is not %s (expected auto, or one number per channel or one for all, "
                         "separated by commas%s)", e->value, std ? "a list of standard deviations" : "a list of means",
                         std ? "; each above 0" : "");
            free(text);
            free(*out);
            *out = NULL;
            return;
        }
        free(text);
        (*out)[i] = (float)v;
        p += len + (p[len] == ',');
    }
    *count = n;
}

int settings_resolve_normalisation(struct settings *st, int C, const struct dataset *train, int count, char *err,
                                   size_t errlen)
{
    const int counts[2] = {st->mean_count, st->std_count};
    for (int k = 0; k < 2; k++)
        if (counts[k] > 1 && counts[k] != C) {
            snprintf(err, errlen, "[data] %s: %d numbers for %d channels (give one, or one per channel)",
                     k ? "std" : "mean", counts[k], C);
            return -1;
        }
    free(st->norm_mean);
    st->norm_mean = st->norm_inv_std = NULL;
    if (!st->mean_count && !st->std_count && !st->mean_auto && !st->std_auto)
        return 0;   /* x as read */
    float *mean = malloc(sizeof(float) * 4 * C);
    if (!mean) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    float *std = mean + C, *auto_mean = mean + 2 * C, *auto_std = mean + 3 * C;
    if (st->mean_auto || st->std_auto) {
        if (!train) {
            snprintf(err, errlen, "[data] mean or std is auto, but no training images are at hand to compute them");
            free(mean);
            return -1;
        }
        dataset_channel_stats(train, count, auto_mean, auto_std);
    }
    for (int c = 0; c < C; c++) {
        mean[c] = st->mean_auto ? auto_mean[c] : st->mean_count ? st->mean[st->mean_count > 1 ? c : 0] : 0.0f;
        std[c] = st->std_auto ? auto_std[c] : st->std_count ? st->std[st->std_count > 1 ? c : 0] : 1.0f;
    }
    st->norm_mean = mean;
    st->norm_std = std;
    st->norm_inv_std = auto_mean;   /* the auto values are done with */
    for (int c = 0; c < C; c++)
        st->norm_inv_std[c] = 1.0f / std[c];
    return 0;
}

int settings_input_shape(const struct settings *st, int *c, int *h, int *w, char *err, size_t errlen)
{
    if (st->shape_c) {
        *c = st->shape_c;
        *h = st->shape_h;
        *w = st->shape_w;
        return 0;
    }
    struct shape shape;
    if (data_source_shape(&st->train, &shape, err, errlen) < 0)
        return -1;
    *c = shape.c;
    *h = shape.h;
    *w = shape.w;
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

    read_data_files(st, cfg, data);
    config_get_int(cfg, data, "validation", &st->validation, 0, 0, INT_MAX);
    read_classes(st, cfg, data);
    read_shape(st, cfg, data);
    /* image files are resized to the shape, and named by the classes */
    if (st->train.format == DATA_FOLDER || st->train.format == DATA_LIST) {
        if (!st->shape_c && data)
            config_error(cfg, data, NULL, "shape: required with format = %s (every image is resized to it; such "
                         "as shape = 3x32x32)", data_format_name(st->train.format));
        if (st->shape_c && st->shape_c != 1 && st->shape_c != 3)
            config_error(cfg, data, config_find(data, "shape"),
                         "%d channels; image files are read as gray (1) or colour (3)", st->shape_c);
        for (int k = 0; k < 2; k++) {
            struct data_source *src = k ? &st->test : &st->train;
            src->shape = (struct shape){st->shape_c, st->shape_h, st->shape_w};
            src->class_names = st->class_names;
            src->class_count = st->class_count;
            src->progress = 1;
        }
    }
    read_normalisation(cfg, data, data ? config_find(data, "mean") : NULL, 0, &st->mean, &st->mean_count,
                       &st->mean_auto);
    read_normalisation(cfg, data, data ? config_find(data, "std") : NULL, 1, &st->std, &st->std_count,
                       &st->std_auto);
    /* one number per channel: checked here when the shape is stated */
    const int counts[2] = {st->mean_count, st->std_count};
    for (int k = 0; k < 2 && st->shape_c; k++)
        if (counts[k] > 1 && counts[k] != st->shape_c)
            config_error(cfg, data, config_find(data, k ? "std" : "mean"),
                         "%d numbers for %d channels (give one for all, or one per channel)", counts[k], st->shape_c);

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
    if (st->detect && st->augment.rotate > 0) {
        struct config_section *aug = config_section(cfg, "augment");
        config_error(cfg, aug, config_find(aug, "rotate"),
                     "a turned box is no box: task = detect takes crop (shift) and flip, not rotate");
    }
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
    for (int i = 0; i < DATA_MAX_FILES; i++) {
        free(st->train.images[i]);
        free(st->test.images[i]);
    }
    free(st->train.labels);
    free(st->test.labels);
    free(st->mean);
    free(st->std);
    free(st->norm_mean);
    free(st->log_path);
    free(st->checkpoint_path);
    free(st->best_path);
    for (int k = 0; k < st->class_count; k++)
        free(st->class_names[k]);
    free(st->class_names);
    memset(st, 0, sizeof *st);
}
