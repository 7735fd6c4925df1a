/* bench.c - `cnnctl bench [--threads N] [--seconds S] [CONFIG...]`.
 *
 * 1. The FP32 FMA peak of this machine, measured with the selected
 *    kernel's instruction set, on 1 thread and on all.
 * 2. GEMM GFLOP/s, at 1 and at all threads: squares 256..2048, and every
 *    GEMM the given configs run at the batch (100, or --batch; conv GEMMs run once per image,
 *    the images split over the threads, as the conv layer does). In a build
 *    with BLAS=openblas or BLAS=blis, the library's column stands beside
 *    ours, measured in the same run.
 * 3. Per config: training images/s (steady state, at the batch), inference
 *    images/s at the batch and at 1, and the peak resident memory of a process
 *    doing only that config (each config runs in a child process).
 * Every figure is the median of 3 timed runs; each run lasts at least
 * `seconds / 3`. Input images are random pixels: speed does not depend on
 * what the pixels show. --layers instead times each layer of a step, and
 * the data path: a batch copied from memory, augmented and normalised as
 * the config says. */
#define _DEFAULT_SOURCE  /* wait4 */
#include "cpu_target.h"
#include "augment.h"
#include "bench.h"
#include "boxes.h"
#include "cli.h"
#include "config.h"
#include "dataset.h"
#include "gemm.h"
#include "net.h"
#include "optim.h"
#include "parallel.h"
#include "rng.h"
#include "settings.h"

#include <getopt.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double a, double b, double c)
{
    double v[3] = {a, b, c};
    qsort(v, 3, sizeof v[0], compare_doubles);
    return v[1];
}

/* ---- 1. peak ------------------------------------------------------------- */

static double peak_gflops(const struct gemm_kernel *k, int threads, double seconds)
{
    double runs[3];
    for (int r = 0; r < 3; r++) {
        long iterations = 1 << 16;
        double flops, t;
        for (;;) {
            double t0 = now();
            flops = 0;
#pragma omp parallel num_threads(threads) reduction(+ : flops)
            flops += k->fma_peak_loop(iterations);
            t = now() - t0;
            if (t >= seconds / 3)
                break;
            iterations *= 2;
        }
        runs[r] = flops / t / 1e9;
    }
    return median3(runs[0], runs[1], runs[2]);
}

/* ---- 2. GEMM ---------------------------------------------------------------- */

struct gemm_case {
    char name[64];
    struct gemm_shape s;
    int count;   /* calls per step: batch for per-image GEMMs, else 1 */
};

/* One shape's operands, filled once for all of its timed runs; each
 * starts on a cache line, as the trainer's tensors do (net.c). A per-image
 * GEMM gets a set per thread, each thread's A, B and C side by side in one
 * block and the blocks one after another, as the conv layer's per-thread
 * scratch lies (net.c): with each operand's copies side by side instead
 * (A0 A1 B0 B1 C0 C1), 30x576x25 on two threads ran 8% slower for us and
 * 1-2% for OpenBLAS, for reasons we did not find. */
struct gemm_operands {
    float *A, *B, *C;  /* copy 0; copy t at + t * stride */
    long stride;
    long lda, ldb;
    float *blocks[3];  /* what was allocated */
};

static int gemm_operands_init(struct gemm_operands *o, const struct gemm_shape *s, int threads)
{
    const long arows = s->ta == GEMM_N ? s->m : s->k, brows = s->tb == GEMM_N ? s->k : s->n;
    o->lda = s->ta == GEMM_N ? s->k : s->m;
    o->ldb = s->tb == GEMM_N ? s->n : s->k;
    const long a_size = cache_line_floats(arows * o->lda), b_size = cache_line_floats(brows * o->ldb),
               c_size = cache_line_floats(s->m * s->n);
    memset(o->blocks, 0, sizeof o->blocks);
    if (s->per_image) {
        o->stride = a_size + b_size + c_size;
        o->blocks[0] = aligned_alloc(64, sizeof(float) * o->stride * threads);
        o->A = o->blocks[0];
        o->B = o->A ? o->A + a_size : NULL;
        o->C = o->A ? o->B + b_size : NULL;
    } else {
        o->stride = 0;
        o->A = o->blocks[0] = aligned_alloc(64, sizeof(float) * a_size);
        o->B = o->blocks[1] = aligned_alloc(64, sizeof(float) * b_size);
        o->C = o->blocks[2] = aligned_alloc(64, sizeof(float) * c_size);
    }
    if (!o->A || !o->B || !o->C)
        return -1;
    struct rng r;
    rng_seed(&r, 1, RNG_STREAM_TEST);
    for (int t = 0; t < (s->per_image ? threads : 1); t++) {
        for (long i = 0; i < a_size; i++)
            o->A[t * o->stride + i] = rng_uniform(&r) - 0.5f;
        for (long i = 0; i < b_size; i++)
            o->B[t * o->stride + i] = rng_uniform(&r) - 0.5f;
        memset(o->C + t * o->stride, 0, sizeof(float) * c_size);  /* its pages faulted in before any timing */
    }
    return 0;
}

static void gemm_operands_free(struct gemm_operands *o)
{
    for (int i = 0; i < 3; i++)
        free(o->blocks[i]);
}

/* count calls of one shape: per-image ones spread over the threads with a
 * buffer set each (the conv layer's scheme), others through the threaded
 * entry point. Returns GFLOP/s of one run of at least `seconds`. */
static double time_gemm(struct gemm_ctx *ctx, const struct gemm_case *gc, const struct gemm_operands *o,
                        double seconds)
{
    const struct gemm_shape *s = &gc->s;
    const double flops_per_rep = 2.0 * s->m * s->n * s->k * gc->count;
    long reps = 1;
    double t;
    for (;;) {
        double t0 = now();
        for (long rep = 0; rep < reps; rep++) {
            if (s->per_image) {
#pragma omp parallel num_threads(ctx->threads)
                {
                    int t = omp_get_thread_num(), nt = omp_get_num_threads();
                    int lo = gc->count * t / nt, hi = gc->count * (t + 1) / nt;
                    const float *a = o->A + o->stride * t, *b = o->B + o->stride * t;
                    float *c = o->C + o->stride * t;
                    for (int i = lo; i < hi; i++)
                        gemm_serial(&ctx->buffers[t], s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, o->lda, b, o->ldb,
                                    0.0f, c, s->n);
                }
            } else {
                gemm(ctx, s->ta, s->tb, s->m, s->n, s->k, 1.0f, o->A, o->lda, o->B, o->ldb, 0.0f, o->C, s->n);
            }
        }
        t = now() - t0;
        if (t >= seconds)
            break;
        reps *= 2;
    }
    return flops_per_rep * reps / t / 1e9;
}

#define GEMM_ROUNDS 5

static double median_of_rounds(double *v)
{
    qsort(v, GEMM_ROUNDS, sizeof v[0], compare_doubles);
    return v[GEMM_ROUNDS / 2];
}

static int add_case(struct gemm_case *cases, int count, const char *name, struct gemm_shape s, int calls)
{
    for (int i = 0; i < count; i++)
        if (cases[i].s.m == s.m && cases[i].s.n == s.n && cases[i].s.k == s.k && cases[i].s.ta == s.ta &&
            cases[i].s.tb == s.tb && cases[i].s.per_image == s.per_image)
            return count;  /* the same GEMM in another config */
    snprintf(cases[count].name, sizeof cases[count].name, "%s", name);
    cases[count].s = s;
    cases[count].count = calls;
    return count + 1;
}

/* ---- 3. throughput ---------------------------------------------------------- */

#define BENCH_MAX_BATCH 4096

struct throughput {
    double train, infer100, infer1;  /* images/s (infer100: at the batch) */
    double gflops;                   /* training, counting forward x 3 */
};

/* Three boxes of random classes, sizes and places in an image's record. */
static void random_boxes(struct rng *r, int classes, uint8_t *record)
{
    struct box_label b[BOX_MAX_PER_IMAGE];
    for (int k = 0; k < BOX_MAX_PER_IMAGE; k++) {
        const float w = 0.1f + 0.3f * rng_uniform(r), h = 0.1f + 0.3f * rng_uniform(r);
        b[k] = k >= 3 ? (struct box_label){.cls = -1.0f}
                      : (struct box_label){(float)rng_below(r, (uint64_t)classes), w / 2 + (1 - w) * rng_uniform(r),
                                           h / 2 + (1 - h) * rng_uniform(r), w, h};
    }
    memcpy(record, b, sizeof b);
}

/* Seeded weights, and net->batch images and labels of noise (a label a
 * pixel for a per-pixel loss, boxes for a detector): a step's work without
 * data. Returns the labels (caller frees), NULL out of memory. */
static uint8_t *random_batch(struct net *net)
{
    uint8_t *labels = malloc((size_t)net->batch * net->label_units);
    if (!labels)
        return NULL;
    net_init_params(net, 1);
    struct rng r;
    rng_seed(&r, 3, RNG_STREAM_TEST);
    for (long i = 0; !net->boxes && i < (long)net->batch * net->label_units; i++)
        labels[i] = (uint8_t)rng_below(&r, net->classes);
    for (int i = 0; net->boxes && i < net->batch; i++)
        random_boxes(&r, net->classes, labels + i * BOX_LABEL_BYTES);
    for (long i = 0; i < net->batch * shape_size(net->input); i++)
        net->input_data[i] = (float)rng_below(&r, 256) / 255.0f;
    return labels;
}

/* The net of a config, and (when opt is not NULL) the config's optimizer
 * with fresh state: training throughput includes its update. */
static int load_net(const char *path, struct net *net, int batch, int threads, struct config *cfg,
                    struct optimizer *opt, struct augment *aug)
{
    if (config_load_file(cfg, path) < 0) {
        config_sort_errors(cfg);
        for (int i = 0; i < cfg->error_count; i++)
            fprintf(stderr, "cnnctl: %s\n", cfg->errors[i]);
        return -1;
    }
    struct settings st;
    int rc = settings_read(&st, cfg, "bench");
    struct optim_config oc = st.optim;
    if (aug)
        *aug = st.augment;
    /* [data] shape, or MNIST's (bench needs no data) */
    struct shape input = st.shape_c ? (struct shape){st.shape_c, st.shape_h, st.shape_w} : (struct shape){1, 28, 28};
    settings_free(&st);
    if (rc < 0 || net_build(net, cfg, input, batch, threads, NET_FUSE) < 0) {
        config_sort_errors(cfg);
        for (int i = 0; i < cfg->error_count; i++)
            fprintf(stderr, "cnnctl: %s\n", cfg->errors[i]);
        return -1;
    }
    if (opt && optim_init(opt, &oc, net->param_floats) < 0) {
        fprintf(stderr, "cnnctl: out of memory for the optimizer of %s\n", path);
        net_free(net);
        return -1;
    }
    return 0;
}

static double images_per_second(struct net *net, struct optimizer *opt, int n, int train, const uint8_t *labels,
                                double seconds)
{
    double runs[3];
    for (int run = 0; run < 3; run++) {
        long steps = 0;
        double t0 = now(), t;
        do {
            const struct net_pass pass = {1, (uint64_t)steps, 0, 0};
            net_forward(net, n, labels, NULL, train ? &pass : NULL);
            if (train) {
                net_backward(net, n, labels, &pass);
                optim_step(opt, net, 1e-6f, (uint64_t)steps);
            }
            steps++;
        } while ((t = now() - t0) < seconds / 3);
        runs[run] = steps * n / t;
    }
    return median3(runs[0], runs[1], runs[2]);
}

static int measure_config(const char *path, int batch, int threads, double seconds, int use_library,
                          struct throughput *out)
{
    struct config cfg;
    struct net net;
    struct optimizer opt;
    if (load_net(path, &net, batch, threads, &cfg, &opt, NULL) < 0) {
        config_free(&cfg);
        return -1;
    }
    net_use_library(&net, use_library);
    uint8_t *labels = random_batch(&net);
    if (!labels) {
        fprintf(stderr, "cnnctl: out of memory\n");
        net_free(&net);
        optim_free(&opt);
        config_free(&cfg);
        return -1;
    }
    double flops = 0;
    for (int i = 0; i < net.count; i++)
        flops += net.layers[i].flops;
    images_per_second(&net, &opt, batch, 1, labels, 0.3);  /* warm up */
    out->train = images_per_second(&net, &opt, batch, 1, labels, seconds);
    out->gflops = out->train * flops * 3 / 1e9;
    out->infer100 = images_per_second(&net, &opt, batch, 0, labels, seconds);
    out->infer1 = images_per_second(&net, &opt, 1, 0, labels, seconds);
    free(labels);
    net_free(&net);
    optim_free(&opt);
    config_free(&cfg);
    return 0;
}


/* Milliseconds per training step spent in each layer's forward and
 * backward, the median over a few hundred steps. */
/* The data path of a training step, in milliseconds: `batch` images of
 * the net's input shape copied from a set in memory (random bytes, four
 * batches of them, in a shuffled order), augmented as the config says and
 * normalised, as train.c's step does; the median of `runs`. */
static double data_path_ms(const struct net *net, const struct augment *aug, int batch, int runs)
{
    const struct shape s = net->input;
    const int count = 4 * batch;
    const long size = shape_size(s);
    uint8_t *pixels = malloc((size_t)count * size), *labels = calloc(count, 1), *batch_labels = malloc(batch);
    uint32_t *order = malloc(sizeof *order * count);
    float *x = malloc(sizeof(float) * batch * size), *scratch = malloc(sizeof(float) * size * net->threads);
    float *mean = malloc(sizeof(float) * s.c), *inv_std = malloc(sizeof(float) * s.c);
    double *ms = malloc(sizeof *ms * runs), median = -1;
    if (!pixels || !labels || !batch_labels || !order || !x || !scratch || !mean || !inv_std || !ms)
        goto done;
    struct rng r;
    rng_seed(&r, 5, RNG_STREAM_TEST);
    for (long i = 0; i < (long)count * size; i++)
        pixels[i] = (uint8_t)rng_below(&r, 256);
    for (int i = 0; i < count; i++)
        order[i] = (uint32_t)((i * 7919L) % count);
    for (int c = 0; c < s.c; c++) {
        mean[c] = 0.5f;
        inv_std[c] = 4.0f;
    }
    struct dataset d = {.count = count, .shape = s, .pixels = pixels, .labels = labels, .mean = mean,
                        .inv_std = inv_std};
    for (int k = 0; k < runs; k++) {
        double a = now();
        const int first = k % 4 * batch;
        dataset_batch(&d, order + first, 0, batch, x, batch_labels);
        augment_batch(aug, x, batch, 0, s.c, s.h, s.w, 1, (uint64_t)k, scratch, net->threads, mean, NULL, 0, NULL);
        dataset_normalise(&d, x, batch);
        ms[k] = (now() - a) * 1e3;
    }
    qsort(ms, runs, sizeof *ms, compare_doubles);
    median = ms[runs / 2];
done:
    free(pixels);
    free(labels);
    free(batch_labels);
    free(order);
    free(x);
    free(scratch);
    free(mean);
    free(inv_std);
    free(ms);
    return median;
}

/* Milliseconds per training step spent in each layer's forward and
 * backward, the median over a few hundred steps; then the data path's. */
static int profile_layers(const char *path, int batch, int threads, double seconds)
{
    struct config cfg;
    struct net net;
    struct optimizer opt;
    struct augment aug;
    if (load_net(path, &net, batch, threads, &cfg, &opt, &aug) < 0) {
        config_free(&cfg);
        return -1;
    }
    uint8_t *labels = random_batch(&net);
    const struct net_pass pass = {1, 0, 0, 0};
    struct layer_run run = net_layer_run(&net, batch, labels, &pass);
    int steps = 0, cap = 4096;
    double *fw = calloc((size_t)cap * net.count, sizeof *fw), *bw = calloc((size_t)cap * net.count, sizeof *bw);
    double *upd = calloc(cap, sizeof *upd), t0 = now();
    if (!labels || !fw || !bw || !upd) {
        fprintf(stderr, "cnnctl: out of memory\n");
        free(labels);
        free(fw);
        free(bw);
        free(upd);
        net_free(&net);
        optim_free(&opt);
        config_free(&cfg);
        return -1;
    }
    while (steps < cap && (now() - t0 < seconds || steps < 20)) {
        for (int i = 0; i < net.count; i++) {
            double a = now();
            if (!net.layers[i].fused)
                net.layers[i].ops->forward(&net.layers[i], &run);
            fw[(size_t)i * cap + steps] = now() - a;
        }
        for (int i = net.count - 1; i >= 0; i--) {
            double a = now();
            if (!net.layers[i].fused)
                net.layers[i].ops->backward(&net.layers[i], &run);
            bw[(size_t)i * cap + steps] = now() - a;
        }
        double a = now();
        optim_step(&opt, &net, 1e-6f, (uint64_t)steps);
        upd[steps++] = now() - a;
    }
    printf("%s: ms per step of %d images, median of %d steps, %d threads\n", path, batch, steps, threads);
    printf("%-16s %-8s %10s %10s\n", "layer", "type", "forward", "backward");
    /* a fused layer's time is in the layer it names */
    double total = 0;
    for (int i = 0; i < net.count; i++) {
        qsort(fw + (size_t)i * cap, steps, sizeof *fw, compare_doubles);
        qsort(bw + (size_t)i * cap, steps, sizeof *bw, compare_doubles);
        double f = fw[(size_t)i * cap + steps / 2] * 1e3, b = bw[(size_t)i * cap + steps / 2] * 1e3;
        total += f + b;
        if (net.layers[i].fused)
            printf("%-16s %-8s %21s\n", net.layers[i].name, net.layers[i].ops->type,
                   net.layers[net.layers[i].fused_by].name);
        else
            printf("%-16s %-8s %10.3f %10.3f\n", net.layers[i].name, net.layers[i].ops->type, f, b);
    }
    qsort(upd, steps, sizeof *upd, compare_doubles);
    total += upd[steps / 2] * 1e3;
    printf("%-16s %-8s %10.3f\n%-16s %-8s %10.3f\n", "(update)", "sgd", upd[steps / 2] * 1e3, "total", "", total);
    const double data = data_path_ms(&net, &aug, batch, steps < 20 ? 20 : steps);
    if (data >= 0)
        printf("%-16s %-8s %10.3f  (%.1f%% of the step; augment: %s)\n", "(data)", "batch", data,
               100.0 * data / total, augment_active(&aug) ? "as the config says" : "none");
    free(labels);
    free(fw);
    free(bw);
    free(upd);
    net_free(&net);
    optim_free(&opt);
    config_free(&cfg);
    return 0;
}

/* In a fresh process (this binary run again with --measure), so that its
 * peak resident memory is its own. A forked copy would not do: OpenMP's
 * threads do not survive fork(). */
static int measure_in_child(const char *path, int batch, int threads, double seconds, int use_library,
                            struct throughput *out, double *peak_mib)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDOUT_FILENO);
        char t[16], s[32], b[16];
        snprintf(t, sizeof t, "%d", threads);
        snprintf(s, sizeof s, "%g", seconds);
        snprintf(b, sizeof b, "%d", batch);
        execl("/proc/self/exe", "cnnctl", "bench", "--measure", path, "--threads", t, "--seconds", s, "--batch", b,
              use_library ? "--library" : NULL, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[256] = "";
    ssize_t got = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    line[got] = 0;
    if (sscanf(line, "%lf %lf %lf %lf", &out->train, &out->gflops, &out->infer100, &out->infer1) != 4)
        return -1;
    *peak_mib = ru.ru_maxrss / 1024.0;
    return 0;
}

static const char usage[] =
    "Usage: cnnctl bench [--threads N] [--seconds S] [--batch N] [--layers | --throughput]\n"
    "                    [CONFIG...]\n"
    "Measure this machine's FP32 peak, the GEMM on square sizes and on every\n"
    "GEMM shape the configs run at the batch, and each config's training and\n"
    "inference throughput. Default configs: configs/*.ini.\n"
    "\n"
    "  -t, --threads N    the 'all threads' column (default: every CPU)\n"
    "  -S, --seconds S    time per figure, split over 3 runs (default 1.5)\n"
    "  -b, --batch N      images per step (default 100)\n"
    "  -y, --layers       instead: milliseconds per step in each layer, and in\n"
    "                     the data path (batch, augmentation, normalisation)\n"
    "  -p, --throughput   only the configs' throughput (no peak, no GEMMs)\n"
    "  -h, --help         show this help\n";

int cmd_bench(int argc, char **argv)
{
    struct option options[] = {{"threads", required_argument, NULL, 't'},
                               {"seconds", required_argument, NULL, 'S'},
                               {"measure", required_argument, NULL, 'M'},  /* internal: one config, in a child */
                               {"library", no_argument, NULL, 'L'},        /* internal */
                               {"layers", no_argument, NULL, 'y'},
                               {"batch", required_argument, NULL, 'b'},
                               {"throughput", no_argument, NULL, 'p'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    const char *measure = NULL;
    int use_library = 0, layers = 0, throughput_only = 0;
    int threads = settings_cpu_count(), batch = 100, c;
    double seconds = 1.5;
    char infer_batch[24];   /* the throughput table's column */
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:S:b:yph", options, NULL)) != -1) {
        long v;
        double d;
        switch (c) {
        case 't':
            if (parse_long(optarg, &v) < 0 || v < 1 || v > 1024) {
                fprintf(stderr, "cnnctl bench: --threads: '%s' is not a whole number from 1 to 1024\n"
                        "Try 'cnnctl bench --help'.\n", optarg);
                return EXIT_INPUT;
            }
            threads = (int)v;
            break;
        case 'S':
            if (parse_double(optarg, &d) < 0 || d < 0.01 || d > 600) {
                fprintf(stderr, "cnnctl bench: --seconds: '%s' is not a number from 0.01 to 600\n"
                        "Try 'cnnctl bench --help'.\n", optarg);
                return EXIT_INPUT;
            }
            seconds = d;
            break;
        case 'b':
            if (parse_long(optarg, &v) < 0 || v < 1 || v > BENCH_MAX_BATCH) {
                fprintf(stderr, "cnnctl bench: --batch: '%s' is not a whole number from 1 to %d\n"
                        "Try 'cnnctl bench --help'.\n", optarg, BENCH_MAX_BATCH);
                return EXIT_INPUT;
            }
            batch = (int)v;
            break;
        case 'M': measure = optarg; break;
        case 'L': use_library = 1; break;
        case 'y': layers = 1; break;
        case 'p': throughput_only = 1; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fprintf(stderr, "Try 'cnnctl bench --help'.\n"); return EXIT_INPUT;
        }
    }
    if (measure) {
        struct throughput t;
        if (measure_config(measure, batch, threads, seconds, use_library, &t) < 0)
            return EXIT_INPUT;
        printf("%.1f %.2f %.1f %.1f\n", t.train, t.gflops, t.infer100, t.infer1);
        return EXIT_OK;
    }
    glob_t g = {0};
    int config_count = argc - optind;
    char **configs = argv + optind;
    if (config_count == 0) {
        if (glob("configs/*.ini", 0, NULL, &g) != 0) {
            fprintf(stderr, "cnnctl bench: no configs/*.ini here; name the configs to measure\n");
            return EXIT_INPUT;
        }
        config_count = (int)g.gl_pathc;
        configs = g.gl_pathv;
    }
    if (layers) {
        for (int ci = 0; ci < config_count; ci++)
            if (profile_layers(configs[ci], batch, threads, seconds) < 0)
                return EXIT_INPUT;
        if (g.gl_pathc)
            globfree(&g);
        return EXIT_OK;
    }
    const char *library = gemm_library_name();
    const struct cpu_target *target = cpu_target_select();
    const struct gemm_kernel *kernel = target->gemm;
    struct gemm_ctx one, all;
    if (gemm_ctx_init(&one, 1, target) < 0 || gemm_ctx_init(&all, threads, target) < 0) {
        fprintf(stderr, "cnnctl: out of memory\n");
        return EXIT_RUNTIME;
    }

    if (throughput_only)
        goto throughput;
    double peak1 = peak_gflops(kernel, 1, seconds), peak_all = peak_gflops(kernel, threads, seconds);
    printf("kernel %s (%dx%d), %d threads\n", kernel->name, kernel->mr, kernel->nr, threads);
    printf("FP32 FMA peak, measured: %.0f GFLOP/s on 1 thread, %.0f on %d\n\n", peak1, peak_all, threads);

    struct gemm_case cases[128];
    int count = 0;
    int squares[] = {256, 512, 1024, 2048};
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "square %d", squares[i]);
        count = add_case(cases, count, name, (struct gemm_shape){"", GEMM_N, GEMM_N, squares[i], squares[i],
                                                                 squares[i], 0}, 1);
    }
    for (int ci = 0; ci < config_count; ci++) {
        struct config cfg;
        struct net net;
        if (load_net(configs[ci], &net, batch, 1, &cfg, NULL, NULL) == 0) {
            const char *base = strrchr(configs[ci], '/') ? strrchr(configs[ci], '/') + 1 : configs[ci];
            for (int li = 0; li < net.count; li++) {
                const struct layer *l = &net.layers[li];
                struct gemm_shape shapes[LAYER_MAX_GEMMS];
                int n = l->ops->gemms ? l->ops->gemms(l, batch, shapes) : 0;
                for (int k = 0; k < n && count < 128; k++) {
                    char name[160];
                    snprintf(name, sizeof name, "%.*s %s %s", (int)(strcspn(base, ".")), base, l->name, shapes[k].what);
                    count = add_case(cases, count, name, shapes[k],
                                     shapes[k].per_image ? (long)batch * shapes[k].per_image : 1);
                }
            }
            net_free(&net);
        }
        config_free(&cfg);
    }
    printf("GEMM GFLOP/s (C = op(A) op(B), M x N x K; xN: once per image of a batch of %d)\n", batch);
    printf("%-32s %-3s %17s %8s %8s", "", "op", "M x N x K", "1 thr", "all");
    if (library)
        printf(" %8s %8s %6s", library, "all", "ratio");
    printf("\n");
    for (int i = 0; i < count; i++) {
        struct gemm_case *gc = &cases[i];
        char dims[64];
        char times[24] = "";
        if (gc->s.per_image)
            snprintf(times, sizeof times, " x%d", batch * gc->s.per_image);
        snprintf(dims, sizeof dims, "%ldx%ldx%ld%s", gc->s.m, gc->s.n, gc->s.k, times);
        /* rounds alternate ours and the library's, so a minute in which
         * the machine runs slow costs both; medians of the rounds */
        struct gemm_operands ops;
        if (gemm_operands_init(&ops, &gc->s, threads) < 0) {
            gemm_operands_free(&ops);
            fprintf(stderr, "cnnctl: out of memory\n");
            return EXIT_RUNTIME;
        }
        double run[4][GEMM_ROUNDS];
        for (int r = 0; r < GEMM_ROUNDS; r++)
            for (int lib = 0; lib <= (library != NULL); lib++) {
                gemm_use_library(&one, lib);
                gemm_use_library(&all, lib);
                run[2 * lib][r] = time_gemm(&one, gc, &ops, seconds / GEMM_ROUNDS);
                run[2 * lib + 1][r] = time_gemm(&all, gc, &ops, seconds / GEMM_ROUNDS);
            }
        gemm_operands_free(&ops);
        const double ours1 = median_of_rounds(run[0]), ours = median_of_rounds(run[1]);
        printf("%-32s %c%c  %17s %8.1f %8.1f", gc->name, gc->s.ta ? 'T' : 'N', gc->s.tb ? 'T' : 'N', dims, ours1,
               ours);
        if (library) {
            /* each at its best: one thread or all (small GEMMs run on one) */
            const double lib1 = median_of_rounds(run[2]), lib = median_of_rounds(run[3]);
            printf(" %8.1f %8.1f %6.2f", lib1, lib, (ours > ours1 ? ours : ours1) / (lib > lib1 ? lib : lib1));
        }
        printf("\n");
        fflush(stdout);
    }

    printf("\n");
throughput:
    snprintf(infer_batch, sizeof infer_batch, "infer %d", batch);
    printf("Throughput, images/s (batch %d; inference also at batch 1), %d threads\n", batch, threads);
    printf("%-20s %10s %8s %10s %10s %8s", "config", "train", "GFLOP/s", infer_batch, "infer 1", "RSS MiB");
    if (library)
        printf(" %10s %6s", library, "ratio");
    printf("\n");
    int failed = 0;
    for (int ci = 0; ci < config_count; ci++) {
        struct throughput t, tl;
        double rss, rss_lib;
        if (measure_in_child(configs[ci], batch, threads, seconds, 0, &t, &rss) < 0) {
            printf("%-20s (failed)\n", configs[ci]);
            failed++;
            continue;
        }
        printf("%-20s %10.0f %8.1f %10.0f %10.0f %8.1f", configs[ci], t.train, t.gflops, t.infer100, t.infer1, rss);
        if (library && measure_in_child(configs[ci], batch, threads, seconds, 1, &tl, &rss_lib) == 0)
            printf(" %10.0f %6.2f", tl.train, t.train / tl.train);
        printf("\n");
        fflush(stdout);
    }
    gemm_ctx_free(&one);
    gemm_ctx_free(&all);
    if (g.gl_pathc)
        globfree(&g);
    /* a config that could not be measured (its errors are above) */
    return failed ? EXIT_INPUT : EXIT_OK;
}
