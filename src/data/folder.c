/* folder.c - see folder.h. */
#include "folder.h"

#include "image.h"
#include "parallel.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CLASSES 256      /* a label is a byte */
#define MAX_FILES (1 << 26)

void labelled_files_free(struct labelled_files *f)
{
    for (int i = 0; i < f->count; i++)
        free(f->paths[i]);
    for (int i = 0; i < f->class_count; i++)
        free(f->classes[i]);
    for (int i = 0; f->label_paths && i < f->count; i++)
        free(f->label_paths[i]);
    free(f->label_paths);
    free(f->paths);
    free(f->labels);
    free(f->classes);
    memset(f, 0, sizeof *f);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The names in dir (no hidden ones), sorted; of folders only, or of
 * everything else. */
static int names_in(const char *dir, int folders, char ***out, int *count, char *err, size_t errlen)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot open the folder: %s", dir, strerror(errno));
        return -1;
    }
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *path = join(dir, e->d_name);
        struct stat st;
        int is_dir = path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        free(path);
        if (is_dir != folders)
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 64;
            char **grown = cap <= MAX_FILES ? realloc(*out, sizeof *grown * cap) : NULL;
            if (!grown) {
                snprintf(err, errlen, "%s: too many files", dir);
                goto fail;
            }
            *out = grown;
        }
        if (!((*out)[*count] = strdup(e->d_name))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        (*count)++;
    }
    closedir(d);
    if (*count)
        qsort(*out, *count, sizeof **out, by_name);
    return 0;
fail:
    closedir(d);
    for (int i = 0; i < *count; i++)
        free((*out)[i]);
    free(*out);
    *out = NULL;
    *count = 0;
    return -1;
}

static int add_file(struct labelled_files *f, int *cap, char *path, int label, char *err, size_t errlen)
{
    if (!path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (f->count == *cap) {
        int next = *cap ? 2 * *cap : 256;
        char **paths = next <= MAX_FILES ? realloc(f->paths, sizeof *paths * next) : NULL;
        if (paths)
            f->paths = paths;
        uint8_t *labels = paths ? realloc(f->labels, next) : NULL;
        if (!labels) {
            snprintf(err, errlen, "%s: too many images (at most %d)", path, MAX_FILES);
            free(path);
            return -1;
        }
        f->labels = labels;
        *cap = next;
    }
    f->paths[f->count] = path;
    f->labels[f->count++] = (uint8_t)label;
    return 0;
}

static int copy_classes(struct labelled_files *f, char *const *classes, int count, char *err, size_t errlen)
{
    f->classes = calloc(count ? count : 1, sizeof *f->classes);
    if (!f->classes) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int k = 0; k < count; k++)
        if (!(f->classes[f->class_count++] = strdup(classes[k]))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    return 0;
}

int folder_files(const char *dir, char *const *classes, int class_count, struct labelled_files *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    char **folders;
    int folder_count, cap = 0, rc = -1;
    if (names_in(dir, 1, &folders, &folder_count, err, errlen) < 0)
        return -1;
    if (class_count == 0) {
        if (folder_count == 0) {
            snprintf(err, errlen, "%s: no class folders in it (expected %s/CLASS/IMAGE)", dir, dir);
            goto done;
        }
        if (folder_count > MAX_CLASSES) {
            snprintf(err, errlen, "%s: %d class folders; at most %d", dir, folder_count, MAX_CLASSES);
            goto done;
        }
        for (int i = 0; i < folder_count; i++)
            if (strchr(folders[i], ',')) {
                snprintf(err, errlen, "%s/%s: a class folder with a comma in its name (names are listed with "
                         "commas; rename it, or list the classes in [data] classes)", dir, folders[i]);
                goto done;
            }
        classes = folders;
        class_count = folder_count;
    } else {
        for (int i = 0; i < folder_count; i++) {
            int known = 0;
            for (int k = 0; k < class_count && !known; k++)
                known = strcmp(folders[i], classes[k]) == 0;
            if (!known) {
                snprintf(err, errlen, "%s/%s: a folder that is not one of [data] classes", dir, folders[i]);
                goto done;
            }
        }
    }
    if (copy_classes(out, classes, class_count, err, errlen) < 0)
        goto done;
    for (int k = 0; k < class_count; k++) {
        char *sub = join(dir, out->classes[k]);
        struct stat st;
        if (!sub || stat(sub, &st) != 0) {
            free(sub);
            continue;  /* a class with no folder here has no images here */
        }
        char **files;
        int file_count;
        int listed = names_in(sub, 0, &files, &file_count, err, errlen);
        for (int i = 0; i < file_count; i++) {
            if (listed == 0 && add_file(out, &cap, join(sub, files[i]), k, err, errlen) < 0)
                listed = -1;
            free(files[i]);
        }
        free(files);
        free(sub);
        if (listed < 0)
            goto done;
    }
    if (out->count == 0) {
        snprintf(err, errlen, "%s: no images in its class folders", dir);
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < folder_count; i++)
        free(folders[i]);
    free(folders);
    if (rc < 0)
        labelled_files_free(out);
    return rc;
}

/* One line of a list file: the path (everything before the last word,
 * joined to the list's folder unless absolute) and the last word. */
struct list_line {
    const char *list, *base;
    long number;
    char *path, *last;
};

/* Calls take() for each "PATH WORD" line of list (blank lines and #
 * comments skipped; what = "'PATH LABEL'" for messages); 0, or -1 with err. */
static int read_list(const char *list, const char *what, int (*take)(void *ctx, const struct list_line *l, char *err,
                                                                      size_t errlen),
                     void *ctx, char *err, size_t errlen)
{
    FILE *fp = fopen(list, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: cannot open: %s", list, strerror(errno));
        return -1;
    }
    /* paths are relative to the list's folder */
    char *copy = strdup(list);
    const char *slash = copy ? strrchr(copy, '/') : NULL;
    if (copy)
        copy[slash ? slash - copy : 0] = 0;
    struct list_line l = {.list = list, .base = copy && slash ? (copy[0] ? copy : "/") : "."};
    int rc = -1, lines = 0;
    char line[8192];
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    while (fgets(line, sizeof line, fp)) {
        l.number++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            snprintf(err, errlen, "%s:%ld: a line longer than %zu bytes", list, l.number, sizeof line - 2);
            goto done;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        /* the last word; the path everything before it */
        char *cut = p + strlen(p);
        while (cut > p && cut[-1] != ' ' && cut[-1] != '\t')
            cut--;
        char *end = cut;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end == p) {
            snprintf(err, errlen, "%s:%ld: expected %s, found '%s'", list, l.number, what, p);
            goto done;
        }
        *end = 0;
        l.path = p;
        l.last = cut;
        if (take(ctx, &l, err, errlen) < 0)
            goto done;
        lines++;
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: cannot read: %s", list, strerror(errno));
        goto done;
    }
    if (lines == 0) {
        snprintf(err, errlen, "%s: no %s lines", list, what);
        goto done;
    }
    rc = 0;
done:
    fclose(fp);
    free(copy);
    return rc;
}

static char *list_path(const struct list_line *l, const char *path)
{
    return path[0] == '/' ? strdup(path) : join(l->base, path);
}

struct class_list {
    struct labelled_files *out;
    char *const *classes;
    int class_count, cap;
};

/* "PATH LABEL": LABEL a class name or number */
static int take_labelled(void *ctx, const struct list_line *l, char *err, size_t errlen)
{
    struct class_list *c = ctx;
    int k = -1;
    for (int i = 0; i < c->class_count && k < 0; i++)
        if (strcmp(l->last, c->classes[i]) == 0)
            k = i;
    if (k < 0) {
        char *stop;
        long v = strtol(l->last, &stop, 10);
        if (*stop || stop == l->last || v < 0 || v >= (c->class_count ? c->class_count : MAX_CLASSES)) {
            snprintf(err, errlen, "%s:%ld: label '%s' is not a class (expected %s)", l->list, l->number, l->last,
                     c->class_count ? "a name in [data] classes or its number" : "a number from 0 to 255");
            return -1;
        }
        k = (int)v;
    }
    return add_file(c->out, &c->cap, list_path(l, l->path), k, err, errlen);
}

int list_files(const char *list, char *const *classes, int class_count, struct labelled_files *out, char *err,
               size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct class_list c = {out, classes, class_count, 0};
    if (copy_classes(out, classes, class_count, err, errlen) < 0 ||
        read_list(list, "'PATH LABEL'", take_labelled, &c, err, errlen) < 0) {
        labelled_files_free(out);
        return -1;
    }
    return 0;
}

/* An image and its label file (both taken over, freed on failure). */
static int add_dense(struct labelled_files *f, int *cap, char *image, char *label, char *err, size_t errlen)
{
    if (!label) {
        free(image);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (add_file(f, cap, image, 0, err, errlen) < 0) {
        free(label);
        return -1;
    }
    char **paths = realloc(f->label_paths, sizeof *paths * *cap);
    if (!paths) {
        snprintf(err, errlen, "out of memory");
        free(label);
        free(f->paths[--f->count]);
        return -1;
    }
    f->label_paths = paths;
    f->label_paths[f->count - 1] = label;
    return 0;
}

int dense_folder_files(const char *images, const char *labels, const char *const *exts, int ext_count,
                       struct labelled_files *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char **names;
    int count, cap = 0;
    if (names_in(images, 0, &names, &count, err, errlen) < 0)
        return -1;
    int rc = -1;
    if (count == 0) {
        snprintf(err, errlen, "%s: no image files in the folder", images);
        goto done;
    }
    for (int i = 0; i < count; i++) {
        const char *dot = strrchr(names[i], '.');
        const int stem = dot && dot != names[i] ? (int)(dot - names[i]) : (int)strlen(names[i]);
        char *label = NULL;
        for (int x = 0; x < ext_count && !label; x++) {
            size_t n = strlen(labels) + (size_t)stem + strlen(exts[x]) + 2;
            if (!(label = malloc(n))) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            snprintf(label, n, "%s/%.*s%s", labels, stem, names[i], exts[x]);
            struct stat st;
            if (stat(label, &st) != 0 || !S_ISREG(st.st_mode)) {
                free(label);
                label = NULL;
            }
        }
        if (!label) {
            snprintf(err, errlen, "%s/%s: no label file for it in %s (expected %.*s%s%s)", images, names[i], labels,
                     stem, names[i], exts[0], ext_count > 1 ? " or another extension of cnnctl.ini(5)" : "");
            goto done;
        }
        if (add_dense(out, &cap, join(images, names[i]), label, err, errlen) < 0)
            goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < count; i++)
        free(names[i]);
    free(names);
    if (rc < 0)
        labelled_files_free(out);
    return rc;
}

struct dense_list {
    struct labelled_files *out;
    int cap;
};

/* "IMAGE LABELS": the image and its label file */
static int take_dense(void *ctx, const struct list_line *l, char *err, size_t errlen)
{
    struct dense_list *d = ctx;
    return add_dense(d->out, &d->cap, list_path(l, l->path), list_path(l, l->last), err, errlen);
}

int dense_list_files(const char *list, struct labelled_files *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct dense_list d = {out, 0};
    if (read_list(list, "'IMAGE LABELS' (an image and its label file)", take_dense, &d, err, errlen) < 0) {
        labelled_files_free(out);
        return -1;
    }
    return 0;
}

int decode_files(struct labelled_files *f, struct shape shape, int skip_bad, int progress,
                 const struct label_reader *labels, uint8_t **pixels, int *skipped, char *err, size_t errlen)
{
    const long size = shape_size(shape);
    *skipped = 0;
    *pixels = malloc((size_t)(f->count ? f->count : 1) * size);
    char *bad = calloc(f->count ? f->count : 1, 1);
    float *work = NULL;
    int first_bad = -1, done = 0, threads = omp_get_max_threads();
    char first_err[1024] = "";
    if (!*pixels || !bad || !(work = malloc(sizeof(float) * size * threads))) {
        snprintf(err, errlen, "out of memory for %d images of %d x %d x %d", f->count, shape.c, shape.h, shape.w);
        goto fail;
    }
    progress = progress && isatty(STDERR_FILENO);
#pragma omp parallel for schedule(dynamic, 16)
    for (int i = 0; i < f->count; i++) {
        char why[1024];
        struct image img;
        float *resized = work + (long)omp_get_thread_num() * size;
        if (image_read(f->paths[i], shape.c, &img, why, sizeof why) < 0) {
            bad[i] = 1;
#pragma omp critical(first_bad)
            if (first_bad < 0 || i < first_bad) {
                first_bad = i;
                snprintf(first_err, sizeof first_err, "%s", why);
            }
            continue;
        }
        if (labels && labels->read(labels, i, img.height, img.width, labels->records + (long)i * labels->record_bytes,
                                   why, sizeof why) < 0) {
            image_free(&img);
            bad[i] = 1;
#pragma omp critical(first_bad)
            if (first_bad < 0 || i < first_bad) {
                first_bad = i;
                snprintf(first_err, sizeof first_err, "%s", why);
            }
            continue;
        }
        image_resize(&img, resized, shape.h, shape.w);
        image_free(&img);
        uint8_t *dst = *pixels + (long)i * size;
        for (long j = 0; j < size; j++) {
            const float v = resized[j];
            dst[j] = (uint8_t)((v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v) * 255.0f + 0.5f);
        }
        if (progress) {
            int now;
#pragma omp atomic capture
            now = ++done;
            if (now % 256 == 0 || now == f->count)
#pragma omp critical(progress)
                fprintf(stderr, "\rdecoding images: %d of %d", now, f->count);
        }
    }
    if (progress)
        fprintf(stderr, "\r%*s\r", 40, "");
    if (first_bad >= 0 && !skip_bad) {
        snprintf(err, errlen, "%s (or set [data] on_bad_image = skip)", first_err);
        goto fail;
    }
    /* compact: the good images in order */
    int kept = 0;
    for (int i = 0; i < f->count; i++) {
        if (bad[i]) {
            free(f->paths[i]);
            if (f->label_paths)
                free(f->label_paths[i]);
            continue;
        }
        if (kept != i) {
            memmove(*pixels + (long)kept * size, *pixels + (long)i * size, size);
            f->paths[kept] = f->paths[i];
            f->labels[kept] = f->labels[i];
            if (f->label_paths)
                f->label_paths[kept] = f->label_paths[i];
            if (labels)
                memmove(labels->records + (long)kept * labels->record_bytes,
                        labels->records + (long)i * labels->record_bytes, labels->record_bytes);
        }
        kept++;
    }
    *skipped = f->count - kept;
    f->count = kept;
    if (kept == 0) {
        snprintf(err, errlen, "none of the images could be read; the first: %s", first_err);
        goto fail;
    }
    free(bad);
    free(work);
    return 0;
fail:
    free(*pixels);
    *pixels = NULL;
    free(bad);
    free(work);
    return -1;
}
