/* test_util.c - helpers shared by the Check suites. */
#include "test_util.h"
#include "cifar.h"
#include "ckpt.h"
#include "idx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char *make_temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/cnnctl-test-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    return strdup(dir);
}

void remove_tree(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    ck_assert_int_eq(system(cmd), 0);
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

void write_bytes_file(const char *path, const unsigned char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "%s: cannot write", path);
    ck_assert_int_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

void build_test_net(struct net *net, struct config *cfg, const char *text, struct shape input, int batch,
                    int threads)
{
    build_test_net_as(net, cfg, text, input, batch, threads, NET_FUSE);
}

void build_test_net_as(struct net *net, struct config *cfg, const char *text, struct shape input, int batch,
                       int threads, enum net_fusion fusion)
{
    int rc = config_load_text(cfg, "test.ini", ".", text, strlen(text));
    if (rc == 0)
        rc = net_build(net, cfg, input, batch, threads, fusion);
    for (int i = 0; i < cfg->error_count; i++)
        fprintf(stderr, "config error: %s\n", cfg->errors[i]);
    ck_assert_int_eq(rc, 0);
}

void fill_uniform(float *v, long n, struct rng *r, float lo, float hi)
{
    for (long i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * rng_uniform(r);
}

int run_cnnctl(char **out, char **err, const char *fmt, ...)
{
    const char *bin = getenv("CNNCTL");
    ck_assert_msg(bin != NULL, "CNNCTL must name the cnnctl binary (make check sets it)");
    char args[8192], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s", bin, args);
    return run_shell(out, err, cmd);
}

int run_shell(char **out, char **err, const char *command)
{
    char cmd[20480], out_path[256], err_path[256];
    snprintf(out_path, sizeof out_path, "/tmp/cnnctl-run-%ld.out", (long)getpid());
    snprintf(err_path, sizeof err_path, "/tmp/cnnctl-run-%ld.err", (long)getpid());
    snprintf(cmd, sizeof cmd, "%s >%s 2>%s", command, out_path, err_path);
    int status = system(cmd);
    char *o = read_file(out_path, NULL), *e = read_file(err_path, NULL);
    unlink(out_path);
    unlink(err_path);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    ck_assert_msg(WIFEXITED(status), "cnnctl did not exit normally: %s", cmd);
    return WEXITSTATUS(status);
}

void write_synthetic_cifar(const char *dir, int per_file, uint64_t seed)
{
    static const char *const names[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    struct rng r;
    rng_seed(&r, seed, RNG_STREAM_TEST);
    struct cifar_set set = {(uint32_t)per_file, malloc((size_t)per_file * CIFAR_PIXELS), malloc(per_file)};
    for (int f = 0; f < 6; f++) {
        for (int i = 0; i < per_file; i++) {
            const int k = (int)rng_below(&r, 10);
            set.labels[i] = (uint8_t)k;
            /* class k: a colour of its own over noise */
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 1024; p++)
                    set.pixels[(long)i * CIFAR_PIXELS + c * 1024 + p] =
                        (uint8_t)(((k >> c) & 1) * 150 + (k % 3 == c) * 60 + (int)rng_below(&r, 40));
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        ck_assert_int_eq(cifar_write(path, &set, CIFAR_10), 0);
    }
    cifar_free(&set);
}

void write_shapes(const char *images, const char *labels, int thick)
{
    struct rng r;
    rng_seed(&r, 3, RNG_STREAM_TEST);
    struct idx_images im = {.count = 600, .rows = 12, .cols = 12, .channels = 1, .pixels = calloc(600, 144)};
    struct idx_labels lb = {600, malloc(600)};
    const int lo = thick ? 4 : 5, hi = thick ? 7 : 6, edge = thick ? 3 : 2;
    for (int i = 0; i < 600; i++) {
        const int k = (int)rng_below(&r, 4), dy = (int)rng_below(&r, 3) - 1, dx = (int)rng_below(&r, 3) - 1;
        const uint8_t v = (uint8_t)(180 + rng_below(&r, 76));
        lb.labels[i] = (uint8_t)k;
        uint8_t *px = im.pixels + (size_t)i * 144;
        for (int y = 2; y < 10; y++)
            for (int x = 2; x < 10; x++) {
                const int on = k == 0   ? y >= lo && y <= hi
                               : k == 1 ? x >= lo && x <= hi
                               : k == 2 ? (y >= 5 && y <= 6) || (x >= 5 && x <= 6)
                                        : y <= edge || y >= 11 - edge || x <= edge || x >= 11 - edge;
                if (on)
                    px[(y + dy) * 12 + x + dx] = v;
            }
    }
    ck_assert_int_eq(idx_write_images(images, &im, 1), 0);
    ck_assert_int_eq(idx_write_labels(labels, &lb, 1), 0);
    free(im.pixels);
    free(lb.labels);
}

void compose_shape_canvases(const char *dir, int thick, int train, int test, int side, const char *objects)
{
    char images[4200], labels[4200], prefix[4200];
    snprintf(images, sizeof images, "%s/shapes-images-idx3-ubyte.gz", dir);
    snprintf(labels, sizeof labels, "%s/shapes-labels-idx1-ubyte.gz", dir);
    write_shapes(images, labels, thick);
    for (int k = 0; k < 2; k++) {
        char *out, *err;
        snprintf(prefix, sizeof prefix, "%s/%s", dir, k ? "t10k" : "train");
        int rc = run_cnnctl(&out, &err, "compose -i '%s' -l '%s' -o '%s' --count %d --size %d --objects %s "
                            "--scale 0.8-1.2 --clutter 0 --digits %s --seed %d",
                            images, labels, prefix, k ? test : train, side, objects, k ? "400-599" : "0-399", 1 + k);
        ck_assert_msg(rc == 0, "%s", err);
        free(out);
        free(err);
    }
}

double json_number(const char *json, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = strstr(json, pattern);
    ck_assert_msg(p != NULL, "%s not in %s", key, json);
    return strtod(p + strlen(pattern), NULL);
}

void write_stand_in_data(const char *data, int test_count)
{
    ck_assert_int_eq(mkdir(data, 0777), 0);
    write_synthetic_idx(data, "train", 120, 28, 28, 10, 1);
    write_synthetic_idx(data, "t10k", test_count, 28, 28, 10, 2);
    write_synthetic_cifar(data, 24, 3);
    for (int k = 0; k < 2; k++) {
        char *out, *err;
        int rc = run_cnnctl(&out, &err, "compose -i '%s/train-images-idx3-ubyte.gz' -l '%s/train-labels-idx1-ubyte.gz' "
                            "-o '%s/canvas-%s' --count %d --size 64 --seed %d", data, data, data,
                            k ? "t10k" : "train", k ? 20 : 60, k + 1);
        ck_assert_msg(rc == 0, "%s", err);
        free(out);
        free(err);
    }
}

int glob_shipped_configs(glob_t *g)
{
    const char *configs = getenv("CNNCTL_CONFIGS");
    char pattern[4200];
    snprintf(pattern, sizeof pattern, "%s/*.ini", configs ? configs : "configs");
    return glob(pattern, 0, NULL, g);
}

void assert_same_weights(const char *a_path, const char *b_path)
{
    struct ckpt a, b;
    char msg[512];
    ck_assert_int_eq(ckpt_read(a_path, &a, msg, sizeof msg), 0);
    ck_assert_int_eq(ckpt_read(b_path, &b, msg, sizeof msg), 0);
    ck_assert_int_eq(a.tensor_count, b.tensor_count);
    for (int t = 0; t < a.tensor_count; t++)
        ck_assert_msg(memcmp(a.tensors[t].values, b.tensors[t].values, 4 * a.tensors[t].count) == 0,
                      "%s differs between %s and %s", a.tensors[t].name, a_path, b_path);
    ckpt_free(&a);
    ckpt_free(&b);
}

void assert_resume_matches_straight(const char *dir, const char *config)
{
    char *out, *err, model[4200], straight[4200];
    snprintf(model, sizeof model, "%s/run/model.ckpt", dir);
    snprintf(straight, sizeof straight, "%s/straight.ckpt", dir);
    int rc = run_cnnctl(&out, &err, "train -q '%s' --set train.epochs= --set train.iterations=20 "
                        "--set train.schedule=constant", config);
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    rc = run_cnnctl(&out, &err, "train -q --resume '%s' --set train.iterations=40", model);
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    rc = run_cnnctl(&out, &err, "train -q '%s' --set train.epochs= --set train.iterations=40 "
                    "--set train.schedule=constant --set train.checkpoint='%s' --set train.log=", config, straight);
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    assert_same_weights(model, straight);
}

void write_synthetic_idx(const char *dir, const char *prefix, int count, int rows, int cols, int classes,
                         uint64_t seed)
{
    struct rng r;
    rng_seed(&r, seed, RNG_STREAM_TEST);
    struct idx_images im = {
        .count = (uint32_t)count, .rows = (uint32_t)rows, .cols = (uint32_t)cols, .pixels = malloc((size_t)count * rows * cols)};
    struct idx_labels lb = {(uint32_t)count, malloc(count)};
    for (int i = 0; i < count; i++) {
        int k = (int)rng_below(&r, classes);
        lb.labels[i] = (uint8_t)k;
        uint8_t *px = im.pixels + (size_t)i * rows * cols;
        /* class k: a bar on row band k (horizontal for even k, vertical for odd) */
        int band = 1 + (k / 2) * (rows - 2) / ((classes + 1) / 2);
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++) {
                int on = (k % 2 == 0) ? (y == band || y == band + 1) : (x == band || x == band + 1);
                int noise = (int)rng_below(&r, 60);
                px[y * cols + x] = (uint8_t)(on ? 195 + noise : noise);
            }
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    ck_assert_int_eq(idx_write_images(path, &im, 1), 0);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    ck_assert_int_eq(idx_write_labels(path, &lb, 1), 0);
    idx_images_free(&im);
    idx_labels_free(&lb);
}

/* The log without its two timing columns (seconds, images_per_s): the only
 * bytes allowed to differ between two runs of the same config. */
char *log_without_timing(const char *path)
{
    char *text = read_file(path, NULL);
    ck_assert_ptr_nonnull(text);
    char *out = malloc(strlen(text) + 1), *o = out;
    int column = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            column = 0;
            *o++ = '\n';
            continue;
        }
        if (*p == ',')
            column++;
        if (column != 6 && column != 7)
            *o++ = *p;
    }
    *o = 0;
    free(text);
    return out;
}


const char *test_path(const char *dir, const char *name)
{
    static char paths[8][4096];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}
