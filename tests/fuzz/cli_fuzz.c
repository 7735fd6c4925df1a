/* cli_fuzz.c - command lines for every verb, built from the verbs' real
 * options and values (valid, empty, huge, negative, missing files, folders
 * where files go, unwritable and full destinations), run against the real
 * binary (built with AddressSanitizer and UBSan by `make fuzz-cli`).
 *
 * bench is run in its short forms (--throughput, --seconds 0.02).
 * Each run must exit 0, 1 or 2 (never a signal, never a sanitizer report),
 * end a failure with a "cnnctl" line on stderr, and leave no partial output:
 * an output file named on the command line exists after a failure only if
 * it was there before, and no temporary (*.tmp.*) or lock file is left.
 *
 *   cli_fuzz CNNCTL WORKDIR SECONDS [SEED]
 *
 * WORKDIR is made anew: a small IDX data set, a config, a checkpoint and a
 * log trained from it, an image, a folder; the runs start there.
 * Prints "cli-fuzz: N runs in S s, F failures"; each failure's command line
 * and output go to stderr. Exit status 1 when anything failed. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 24
#define RUN_SECONDS 60   /* a run still going then is killed and not judged */

static uint64_t state;

static uint64_t next(void)
{
    /* splitmix64: enough for choosing among a few values */
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#define PICK(array) (array[next() % (sizeof array / sizeof *array)])

static const char *const numbers[] = {"0", "1", "2", "3", "-1", "1024", "99999999999999999999", "abc", "", "1e3",
                                      " 2", "0x10", "2.5"};
static const char *const configs[] = {"ok.ini", "ok.ini", "with space.ini", "missing.ini", "adir", "/dev/null",
                                      "data/train-images-idx3-ubyte", "ok.ckpt", "x.pgm", ""};
static const char *const checkpoints[] = {"ok.ckpt", "ok.ckpt", "missing.ckpt", "adir", "/dev/null", "ok.ini",
                                          "log.csv", "x.pgm", ""};
static const char *const images[] = {"x.pgm", "x.pgm", "ok.ini", "missing.png", "adir", "/dev/null", "ok.ckpt", ""};
static const char *const outputs[] = {"out.png", "sub/dir/out.png", "/dev/full", "adir", "/proc/nonexistent/o.png",
                                      "out.csv", "", "out 2.png"};
static const char *const idx_files[] = {"data/train-images-idx3-ubyte", "data/train-labels-idx1-ubyte",
                                        "data/t10k-images-idx3-ubyte", "data/t10k-labels-idx1-ubyte", "missing",
                                        "adir", "ok.ini", "/dev/null"};
static const char *const logs[] = {"log.csv", "log.csv", "ok.ini", "missing.csv", "adir", "/dev/null", "head.csv"};
static const char *const sets[] = {
    "train.iterations=1", "train.iterations=", "train.epochs=", "train.epochs=1", "train.lr=abc", "train.lr=0.5",
    "c1.filters=0", "c1.filters=3", "c1.stride=5", "nosuch.x=1", "train.x", "=", "train.=1", "train.log=l.csv",
    "train.log=", "train.log=/dev/full", "train.log=adir", "train.checkpoint=c.ckpt", "train.checkpoint=adir",
    "train.checkpoint=/proc/nonexistent/m.ckpt", "train.checkpoint=", "data.shape=1x12x12", "data.shape=3x3",
    "data.shape=1x28x28", "train.optimizer=adam", "train.optimizer=momentum", "train.momentum=",
    "train.momentum=0.5", "data.test_images=", "data.validation=59", "data.validation=1000", "train.threads=1000",
    "train.batch=1000000", "train.batch=7", "train.schedule=step", "train.step_size=1",
    "train.checkpoint_every=1 steps", "train.keep=2", "train.best=b.ckpt", "data.dir=/nonexistent", "data.dir=",
    "data.classes=a,b", "train.on_nan=skip", "augment.flip=1", "train.seed=-1",
};
static const char *const layers[] = {"c1", "p1", "fc", "loss", "nope", ""};
static const char *const kernels[] = {"edge3", "box", "gauss", "blur", ""};

struct argv_builder {
    const char *arg[MAX_ARGS + 1];
    int n;
    const char *out[4];   /* output files named on this command line */
    int outs;
};

static void add(struct argv_builder *b, const char *a)
{
    if (b->n < MAX_ARGS)
        b->arg[b->n++] = a;
}

static void add_output(struct argv_builder *b, const char *option)
{
    const char *o = PICK(outputs);
    add(b, option);
    add(b, o);
    if (b->outs < 4)
        b->out[b->outs++] = o;
}

/* A command line: the verb, some of its options in any order, its operands. */
static void build(struct argv_builder *b, const char *bin)
{
    static const char *const verbs[] = {"train", "train", "eval", "summary", "gradcheck", "predict", "filter", "viz",
                                        "plot", "bench", "compose", "export", "nosuch", "--help", "--version"};
    memset(b, 0, sizeof *b);
    add(b, bin);
    const char *verb = PICK(verbs);
    add(b, verb);
    int options = (int)(next() % 5);
    for (int i = 0; i < options; i++) {
        int k = (int)(next() % 6);
        if (!strcmp(verb, "train")) {
            if (k <= 1) {
                add(b, "--set");
                add(b, PICK(sets));
            } else if (k == 2) {
                add(b, "--resume");
                add(b, PICK(checkpoints));
            } else if (k == 3) {
                add(b, "--threads");
                add(b, PICK(numbers));
            } else {
                add(b, k == 4 ? "--force" : "--quiet");
            }
        } else if (!strcmp(verb, "eval")) {
            if (k == 0) {
                add(b, "--images");
                add(b, PICK(idx_files));
                add(b, "--labels");
                add(b, PICK(idx_files));
            } else if (k == 1) {
                add(b, "--json");
            } else if (k == 2) {
                add(b, "--confusion");
            } else if (k == 3) {
                add_output(b, "--predictions");
            } else {
                add(b, "--threads");
                add(b, PICK(numbers));
            }
        } else if (!strcmp(verb, "summary") || !strcmp(verb, "gradcheck")) {
            if (k <= 2) {
                add(b, "--set");
                add(b, PICK(sets));
            } else if (verb[0] == 'g') {
                add(b, k == 3 ? "--images" : k == 4 ? "--entries" : "--threads");
                add(b, PICK(numbers));
            }
        } else if (!strcmp(verb, "predict")) {
            if (k == 0) {
                add(b, "--top");
                add(b, PICK(numbers));
            } else if (k == 1) {
                add(b, "--json");
            } else {
                add(b, k == 2 ? "--invert" : "--no-invert");
            }
        } else if (!strcmp(verb, "filter")) {
            if (k <= 2) {
                add(b, "--kernel");
                add(b, PICK(kernels));
            } else {
                add_output(b, "-o");
            }
        } else if (!strcmp(verb, "viz")) {
            if (k <= 1) {
                add(b, "--layer");
                add(b, PICK(layers));
            } else if (k == 2) {
                add_output(b, "-o");
            } else if (k == 3) {
                add(b, "--input");
                add(b, PICK(images));
            } else {
                add_output(b, "--maps");
            }
        } else if (!strcmp(verb, "bench")) {
            /* short figures only: bench measures for --seconds each */
            if (k <= 1) {
                add(b, "--threads");
                add(b, PICK(numbers));
            } else if (k == 2) {
                add(b, k == 2 && next() % 2 ? "--layers" : "--throughput");
            } else {
                add(b, "--seconds");
                add(b, next() % 2 ? "0.02" : PICK(numbers));
            }
        } else if (!strcmp(verb, "compose")) {
            /* the three files at -o PREFIX are not add_output's single
             * file: a failed run must leave no PREFIX-* (checked as
             * temporaries are) */
            static const char *const compose_options[] = {"--count", "--size", "--objects", "--scale",
                                                          "--clutter", "--threshold", "--seed"};
            static const char *const compose_values[] = {"3", "64", "32x40", "1-4", "2-1", "0.5-2", "0", "-1",
                                                         "9", "x", "", "4096x4096", "99999999"};
            if (k <= 1) {
                add(b, k ? "--images" : "--labels");
                add(b, PICK(idx_files));
            } else if (k == 2) {
                add(b, "-o");
                add(b, next() % 4 ? "out/c" : "adir");
            } else {
                add(b, PICK(compose_options));
                add(b, PICK(compose_values));
            }
        } else if (!strcmp(verb, "export")) {
            if (k <= 3) {
                add_output(b, "-o");
            } else {
                add(b, "--batch");
                add(b, PICK(numbers));
            }
        } else if (!strcmp(verb, "plot")) {
            if (k <= 2) {
                add_output(b, "-o");
            } else if (k == 3) {
                add(b, "--title");
                add(b, PICK(layers));
            } else {
                add(b, "--size");
                add(b, k == 4 ? "400x300" : PICK(numbers));
            }
        }
    }
    /* operands, sometimes none or one too many */
    int operands = next() % 8 == 0 ? 0 : 1 + (next() % 6 == 0);
    for (int i = 0; i < operands; i++) {
        if (!strcmp(verb, "train") || !strcmp(verb, "summary") || !strcmp(verb, "gradcheck"))
            add(b, PICK(configs));
        else if (!strcmp(verb, "eval") || !strcmp(verb, "viz") || !strcmp(verb, "export"))
            add(b, PICK(checkpoints));
        else if (!strcmp(verb, "predict")) {
            add(b, PICK(checkpoints));
            add(b, PICK(images));
        } else if (!strcmp(verb, "filter"))
            add(b, PICK(images));
        else if (!strcmp(verb, "plot"))
            add(b, PICK(logs));
        else if (!strcmp(verb, "bench"))
            add(b, PICK(configs));
    }
    /* bench with no --throughput or --layers times every GEMM shape for
     * long: only the short forms */
    if (!strcmp(verb, "bench")) {
        add(b, "--throughput");
        add(b, "--seconds");
        add(b, "0.02");
    }
    b->arg[b->n] = NULL;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    size_t cap = 1 << 16;
    char *text = malloc(cap + 1);
    size_t len = fread(text, 1, cap, f);
    text[len] = 0;
    fclose(f);
    return text;
}

static int exists(const char *path)
{
    struct stat st;
    return path[0] && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The last line of text, whether every line of it is non-empty, etc. */
static const char *last_line(const char *text)
{
    const char *end = text + strlen(text), *p = end;
    while (p > text && p[-1] == '\n')
        p--;
    while (p > text && p[-1] != '\n')
        p--;
    return p;
}

static long exits[3];   /* runs that exited 0, 1, 2 */

/* -1 failure (reported), 0 judged fine, 1 not judged (timeout) */
static int run_one(const struct argv_builder *b, const char *work)
{
    /* the outputs are this harness's own files: none is there before */
    char path[4200];
    for (int i = 0; i < b->outs; i++) {
        snprintf(path, sizeof path, "%s/%s", work, b->out[i]);
        if (b->out[i][0] && b->out[i][0] != '/' && exists(path))
            unlink(path);
    }
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        if (chdir(work) != 0 || !freopen("fuzz.out", "w", stdout) || !freopen("fuzz.err", "w", stderr))
            _exit(126);
        setenv("ASAN_OPTIONS", "exitcode=99:detect_leaks=1", 1);
        setenv("UBSAN_OPTIONS", "halt_on_error=1:exitcode=98:print_stacktrace=1", 1);
        execv(b->arg[0], (char *const *)b->arg);
        _exit(127);
    }
    int status = 0;
    time_t start = time(NULL);
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (time(NULL) - start > RUN_SECONDS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            char cmd[4400];
            snprintf(cmd, sizeof cmd, "find '%s' \\( -name '*.tmp.*' -o -name '*.lock' \\) -delete", work);
            if (system(cmd) != 0)
                fprintf(stderr, "cli-fuzz: cannot clean %s\n", work);
            return 1;
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    snprintf(path, sizeof path, "%s/fuzz.err", work);
    char *err = slurp(path);
    const char *why = NULL;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code >= 0 && code <= 2)
        exits[code]++;
    if (WIFSIGNALED(status))
        why = "killed by a signal";
    else if (code != 0 && code != 1 && code != 2)
        why = code == 99 ? "AddressSanitizer" : code == 98 ? "UndefinedBehaviorSanitizer" : "exit status not 0, 1 or 2";
    else if (code != 0 && strncmp(last_line(err), "cnnctl", 6) != 0 && strncmp(last_line(err), "Try 'cnnctl", 11) != 0)
        why = "a failure without a cnnctl line last on stderr";
    else if (code != 0)
        for (int i = 0; i < b->outs && !why; i++) {
            snprintf(path, sizeof path, "%s/%s", work, b->out[i]);
            if (b->out[i][0] && b->out[i][0] != '/' && exists(path))
                why = "an output file left by a failed run";
        }
    struct stat dev;
    if (!why && (stat("/dev/full", &dev) != 0 || !S_ISCHR(dev.st_mode)))
        why = "/dev/full is no longer a device (a file was renamed over it)";
    if (!why) {
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "find '%s' \\( -name '*.tmp.*' -o -name '*.lock' \\) | grep -q .", work);
        if (system(cmd) == 0)
            why = "a temporary or lock file left behind";
    }
    if (why) {
        fprintf(stderr, "cli-fuzz: FAILED (%s, status %d):", why, code);
        for (int i = 1; i < b->n; i++)
            fprintf(stderr, " '%s'", b->arg[i]);
        fprintf(stderr, "\n--- stderr:\n%s\n---\n", err);
        char cmd[4400];
        snprintf(cmd, sizeof cmd, "find '%s' \\( -name '*.tmp.*' -o -name '*.lock' \\) -delete", work);
        if (system(cmd) != 0)
            fprintf(stderr, "cli-fuzz: cannot clean %s\n", work);
    }
    free(err);
    return why ? -1 : 0;
}

/* ---- the work folder ---------------------------------------------- */

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cli-fuzz: cannot write %s\n", path);
        exit(2);
    }
}

/* Raw IDX: count images of 12x12, class k a bright row at 3k+1. */
static void write_idx(const char *images, const char *labels, int count)
{
    size_t n = 16 + (size_t)count * 144;
    uint8_t *im = calloc(n, 1), *lb = calloc(8 + (size_t)count, 1);
    const uint8_t im_head[16] = {0, 0, 8, 3, 0, 0, (uint8_t)(count >> 8), (uint8_t)count, 0, 0, 0, 12, 0, 0, 0, 12};
    const uint8_t lb_head[8] = {0, 0, 8, 1, 0, 0, (uint8_t)(count >> 8), (uint8_t)count};
    memcpy(im, im_head, 16);
    memcpy(lb, lb_head, 8);
    for (int i = 0; i < count; i++) {
        int k = (int)(next() % 4);
        lb[8 + i] = (uint8_t)k;
        for (int x = 0; x < 12; x++)
            im[16 + (size_t)i * 144 + (3 * k + 1) * 12 + x] = 255;
    }
    write_bytes(images, im, n);
    write_bytes(labels, lb, 8 + (size_t)count);
    free(im);
    free(lb);
}

static void prepare(const char *bin, const char *work)
{
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/data' '%s/adir'", work, work, work);
    if (system(cmd) != 0)
        exit(2);
    if (chdir(work) != 0)
        exit(2);
    write_idx("data/train-images-idx3-ubyte", "data/train-labels-idx1-ubyte", 60);
    write_idx("data/t10k-images-idx3-ubyte", "data/t10k-labels-idx1-ubyte", 20);
    const char config[] =
        "[data]\ndir = data\nshape = 1x12x12\ntrain_images = train-images-idx3-ubyte\n"
        "train_labels = train-labels-idx1-ubyte\ntest_images = t10k-images-idx3-ubyte\n"
        "test_labels = t10k-labels-idx1-ubyte\n[train]\niterations = 2\nbatch = 20\nthreads = 1\nlog = log.csv\n"
        "checkpoint = ok.ckpt\n[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[r1]\ntype = relu\n"
        "[p1]\ntype = maxpool\nsize = 2\n[fc]\ntype = affine\noutputs = 4\n[loss]\ntype = softmax\n";
    write_bytes("ok.ini", config, strlen(config));
    write_bytes("with space.ini", config, strlen(config));
    uint8_t pgm[13 + 144];
    memcpy(pgm, "P5\n12 12\n255\n", 13);
    for (int i = 0; i < 144; i++)
        pgm[13 + i] = (uint8_t)(i * 7);
    write_bytes("x.pgm", pgm, sizeof pgm);
    const char head[] = "epoch,step,loss,train_acc,val_acc,lr,seconds,images_per_s,test_acc,skipped,kind\n";
    write_bytes("head.csv", head, strlen(head));
    snprintf(cmd, sizeof cmd, "'%s' train -q ok.ini >/dev/null", bin);
    if (system(cmd) != 0) {
        fprintf(stderr, "cli-fuzz: %s cannot train ok.ini\n", bin);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: cli_fuzz CNNCTL WORKDIR SECONDS [SEED]\n");
        return 2;
    }
    const char *bin = argv[1], *work = argv[2];
    double seconds = atof(argv[3]);
    state = argc > 4 ? strtoull(argv[4], NULL, 10) : (uint64_t)time(NULL);
    fprintf(stderr, "cli-fuzz: seed %llu\n", (unsigned long long)state);
    char absolute[4096];
    if (bin[0] != '/' && getcwd(absolute, sizeof absolute - strlen(bin) - 2)) {
        strcat(absolute, "/");
        strcat(absolute, bin);
        bin = absolute;
    }
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        return 2;
    prepare(bin, work);
    if (chdir(cwd) != 0)
        return 2;
    long runs = 0, failures = 0, timeouts = 0;
    time_t start = time(NULL);
    while (difftime(time(NULL), start) < seconds) {
        struct argv_builder b;
        build(&b, bin);
        int r = run_one(&b, work);
        runs++;
        failures += r < 0;
        timeouts += r > 0;
    }
    printf("cli-fuzz: %ld runs in %.0f s (exit 0: %ld, 1: %ld, 2: %ld), %ld failures (%ld killed after %d s, "
           "not judged)\n", runs, difftime(time(NULL), start), exits[0], exits[1], exits[2], failures, timeouts,
           RUN_SECONDS);
    return failures ? 1 : 0;
}
