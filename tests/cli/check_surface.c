/* check_surface.c - the command line as users type it: every defect of
 * issue "whatever train accepts must work afterwards" as a test that
 * failed before its fix, and a property test over the shipped configs
 * with generated overrides: whatever `train` accepts must leave a
 * checkpoint that every other verb accepts, and a log that plots. */
#include "test_util.h"

#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *dir;

/* stand-in data for every config in dir/data */
static void setup(void)
{
    dir = make_temp_dir();
    char data[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    write_stand_in_data(data, 40);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

#define in_dir(name) test_path(dir, name)

/* A shipped config with the stand-in data: "--set data.dir=DIR/data". */
static const char *config(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s.ini", getenv("CNNCTL_CONFIGS"), name);
    return path;
}

/* cd DIR && cnnctl ARGS: relative and bare paths as a user types them. */
#define run_in_dir(out, err, fmt, ...) run_cnnctl(out, err, "--version >/dev/null && cd '%s' && \"$CNNCTL\" " fmt, \
                                                  dir, __VA_ARGS__)

static int lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* A log or checkpoint named without a folder crashed before the first step
 * (make_parent_dirs wrote into dirname's static "."). */
START_TEST(test_bare_file_names)
{
    char *err;
    int rc = run_in_dir(NULL, &err, "train -q '%s' --set data.dir=data --set train.iterations=2 "
                        "--set train.log=l.csv --set train.checkpoint=m.ckpt", config("lenet5"));
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
    ck_assert(file_exists(in_dir("l.csv")));
    ck_assert(file_exists(in_dir("m.ckpt")));
    rc = run_in_dir(NULL, &err, "eval m.ckpt%s", "");
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
}
END_TEST

/* --set train.epochs= --set train.iterations=50 wrote "epochs = " into the
 * checkpoint, which every verb then refused; and --set train.iterations on
 * a config with epochs was refused. */
START_TEST(test_unset_and_replaced_keys)
{
    char *err;
    int rc = run_in_dir(NULL, &err, "train -q '%s' --set data.dir=data --set train.epochs= --set train.iterations=3 "
                        "--set train.checkpoint=a/m.ckpt --set train.log=a/l.csv", config("lenet5"));
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
    ck_assert_int_eq(run_in_dir(NULL, &err, "eval a/m.ckpt%s", ""), 0);
    free(err);
    ck_assert_int_eq(run_in_dir(NULL, &err, "viz a/m.ckpt --layer conv1 -o f.png%s", ""), 0);
    free(err);
    rc = run_in_dir(NULL, &err, "train -q --resume a/m.ckpt%s", "");
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
    /* iterations on the command line replaces the file's epochs */
    char *out;
    rc = run_in_dir(&out, &err, "train -q '%s' --set data.dir=data --set train.iterations=2 "
                    "--set train.checkpoint=b/m.ckpt --set train.log=", config("lenet5"));
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "steps 2 "));
    free(out);
    free(err);
}
END_TEST

/* Switching the optimizer from the command line, or unsetting a key it
 * made meaningless, was "unknown key". */
START_TEST(test_switch_optimizer)
{
    char text[512];
    snprintf(text, sizeof text, "[data]\ndir = data\nshape = 1x28x28\n[train]\niterations = 2\noptimizer = momentum\n"
             "momentum = 0.8\n[fc]\ntype = affine\noutputs = 10\n[loss]\ntype = softmax\n");
    ck_assert_int_eq(write_file(in_dir("m.ini"), text), 0);
    char *err;
    int rc = run_in_dir(NULL, &err, "train m.ini --set train.optimizer=sgd --set train.checkpoint=x/m.ckpt%s", "");
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "cnnctl: note: m.ini:7: [train] momentum: ignored: used only with optimizer = "
                                      "momentum or nesterov"));
    free(err);
    ck_assert_int_eq(run_in_dir(NULL, &err, "eval x/m.ckpt%s", ""), 0);
    free(err);
    rc = run_in_dir(NULL, &err, "train -q m.ini --set train.optimizer=adam --set train.momentum= "
                    "--set train.checkpoint=y/m.ckpt%s", "");
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
    /* the file alone: an error at the key's line */
    rc = run_in_dir(NULL, &err, "train -q m.ini --set train.optimizer=sgd --set train.momentum=0.5 "
                    "--set train.checkpoint=z/m.ckpt%s", "");
    ck_assert_int_eq(rc, 0);   /* the override's own key is ignored with a note too */
    free(err);
}
END_TEST

/* summary needed the training images on disk for the input shape. */
START_TEST(test_summary_without_data)
{
    char *out, *err;
    for (int i = 0; i < 10; i++) {
        static const char *names[] = {"simple", "lenet5", "alexnet", "allconv", "googlenet",
                                      "resnet", "senet", "vgg", "vgg-small", "xception"};
        int rc = run_in_dir(&out, &err, "summary '%s' --set data.dir=/nonexistent", config(names[i]));
        ck_assert_msg(rc == 0, "%s: exit %d: %s", names[i], rc, err);
        ck_assert_ptr_nonnull(strstr(out, "(input)"));
        free(out);
        free(err);
    }
    /* and training checks the stated shape against the data */
    int rc = run_in_dir(NULL, &err, "train '%s' --set data.dir=data --set data.shape=1x32x32", config("lenet5"));
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "[data] shape: 1x32x32, but "));
    ck_assert_int_eq(lines(err), 1);
    free(err);
}
END_TEST

/* Running a config again silently replaced the finished run's model. */
START_TEST(test_finished_run_kept)
{
    char *err;
    const char *args = "--set data.dir=data --set train.iterations=2 --set train.checkpoint=r/m.ckpt "
                       "--set train.log=r/l.csv";
    ck_assert_int_eq(run_in_dir(NULL, NULL, "train -q '%s' %s", config("lenet5"), args), 0);
    size_t n1, n2;
    char *before = read_file(in_dir("r/m.ckpt"), &n1);
    ck_assert_int_eq(run_in_dir(NULL, &err, "train -q '%s' %s --set train.lr=0.3", config("lenet5"), args), 2);
    ck_assert_ptr_nonnull(strstr(err, "r/m.ckpt: exists (the model of an earlier run); continue that run with "
                                      "'cnnctl train --resume r/m.ckpt', or start over and replace it with --force"));
    ck_assert_int_eq(lines(err), 1);
    free(err);
    char *after = read_file(in_dir("r/m.ckpt"), &n2);
    ck_assert(n1 == n2 && memcmp(before, after, n1) == 0);
    free(after);
    ck_assert_int_eq(run_in_dir(NULL, NULL, "train -q --force '%s' %s --set train.lr=0.3", config("lenet5"), args), 0);
    after = read_file(in_dir("r/m.ckpt"), &n2);
    ck_assert(n1 != n2 || memcmp(before, after, n1) != 0);
    free(before);
    free(after);
}
END_TEST

/* Two runs on the same files both ran, interleaving the log. */
START_TEST(test_second_run_refused)
{
    const char *bin = getenv("CNNCTL");
    pid_t first = fork();
    ck_assert_int_ge(first, 0);
    if (first == 0) {
        ck_assert_int_eq(chdir(dir), 0);
        freopen("/dev/null", "w", stderr);
        freopen("/dev/null", "w", stdout);
        execl(bin, bin, "train", "-q", config("vgg-small"), "--set", "data.dir=data", "--set", "train.epochs=1000",
              "--set", "train.checkpoint=s/m.ckpt", "--set", "train.log=s/l.csv", (char *)NULL);
        _exit(127);
    }
    /* the first holds its lock from just before its first step */
    for (int i = 0; i < 400 && !file_exists(in_dir("s/l.csv")); i++)
        nanosleep(&(struct timespec){0, 25000000}, NULL);
    ck_assert(file_exists(in_dir("s/m.ckpt.lock")));
    char *err;
    int rc = run_in_dir(NULL, &err, "train -q '%s' --set data.dir=data --set train.iterations=2 "
                        "--set train.checkpoint=other.ckpt --set train.log=s/l.csv", config("lenet5"));
    char want[128];
    snprintf(want, sizeof want, "s/l.csv: in use by another cnnctl train (pid %ld)", (long)first);
    ck_assert_msg(rc == 2 && strstr(err, want), "exit %d: %s", rc, err);
    ck_assert_int_eq(lines(err), 1);
    free(err);
    ck_assert(!file_exists(in_dir("other.ckpt")));
    kill(first, SIGTERM);   /* it checkpoints and exits 143 */
    int status;
    waitpid(first, &status, 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 143);
    ck_assert(!file_exists(in_dir("s/m.ckpt.lock")));
    /* now free: resumed */
    rc = run_in_dir(NULL, &err, "train -q --resume s/m.ckpt --set train.epochs=1%s", "");
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
}
END_TEST

/* --threads 1000 on 2 CPUs ran 35 times as long. */
START_TEST(test_threads_capped)
{
    char *err;
    int rc = run_in_dir(NULL, &err, "train '%s' --set data.dir=data --set train.iterations=2 --set train.threads=1000 "
                        "--set train.checkpoint=t/m.ckpt", config("lenet5"));
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char want[160];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(want, sizeof want, "cnnctl: note: 1000 threads asked for, but this process may use %ld CPUs; using %ld",
             cpus, cpus);
    ck_assert_msg(strstr(err, want) || cpus >= 1000, "%s", err);
    free(err);
}
END_TEST

/* plot on the log of a run shorter than log_every: "gnuplot failed". */
START_TEST(test_plot_short_run)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "check_surface: gnuplot not installed; test_plot_short_run not run\n");
        return;
    }
    ck_assert_int_eq(run_in_dir(NULL, NULL, "train -q '%s' --set data.dir=data --set train.iterations=1 "
                                "--set train.log=p/l.csv --set train.checkpoint=p/m.ckpt", config("lenet5")), 0);
    char *log = read_file(in_dir("p/l.csv"), NULL);
    ck_assert_int_eq(lines(log), 2);   /* the header and one epoch row */
    free(log);
    char *err;
    int rc = run_in_dir(NULL, &err, "plot p/l.csv -o p/c.png%s", "");
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
    ck_assert(file_exists(in_dir("p/c.png")));
    /* a log of its header alone (a run killed before its first row) */
    char header[256];
    snprintf(header, sizeof header, "epoch,step,loss,train_acc,val_acc,lr,seconds,images_per_s,test_acc,skipped,kind\n");
    ck_assert_int_eq(write_file(in_dir("p/h.csv"), header), 0);
    rc = run_in_dir(NULL, &err, "plot p/h.csv p/l.csv -o p/d.png%s", "");
    ck_assert_msg(rc == 0 && file_exists(in_dir("p/d.png")), "exit %d: %s", rc, err);
    free(err);
    /* gnuplot's own words when it fails (here: it cannot create its file
     * under /proc), not just that it failed */
    rc = run_in_dir(NULL, &err, "plot p/l.csv -o /proc/cnnctl-test.png%s", "");
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "cnnctl: gnuplot failed to draw /proc/cnnctl-test.png: ") &&
                      !strstr(err, "(it printed nothing)") && lines(err) == 1,
                  "%s", err);
    free(err);
}
END_TEST

/* One and two threads gave different weights after 50 steps (each thread
 * summed its own images' conv weight gradient); now the sums run in fixed
 * chunks of images, and 1, 2 and 3 threads write the same checkpoint. */
START_TEST(test_same_bits_at_any_thread_count)
{
    static const char *names[] = {"lenet5", "vgg-small"};
    setenv("CNNCTL_OVERSUBSCRIBE", "1", 1);   /* 3 threads on a 2-CPU machine too */
    for (int c = 0; c < 2; c++) {
        char *first = NULL;
        size_t first_len = 0;
        for (int threads = 1; threads <= 3; threads++) {
            char *err;
            int rc = run_in_dir(NULL, &err, "train -q --force '%s' --set data.dir=data --set train.iterations=%d "
                                "--set train.batch=40 --set train.checkpoint=same.ckpt --set train.log= "
                                "--set data.test_images= --threads %d",
                                config(names[c]), c == 0 ? 12 : 4, threads);
            ck_assert_msg(rc == 0, "%s, %d threads: exit %d: %s", names[c], threads, rc, err);
            free(err);
            size_t len;
            char *ckpt = read_file(in_dir("same.ckpt"), &len);
            ck_assert_ptr_nonnull(ckpt);
            if (!first) {
                first = ckpt;
                first_len = len;
                continue;
            }
            ck_assert_msg(len == first_len && memcmp(ckpt, first, len) == 0, "%s: %d threads differ from 1",
                          names[c], threads);
            free(ckpt);
        }
        free(first);
    }
}
END_TEST

/* gradcheck printed FAILED on vgg and xception with Fashion-MNIST (worst
 * 2.2e-2 and 1.5e-2): at its one step of 0.01 the float32 rounding of the
 * loss was a per cent of some gradients. On the real data, as a user runs
 * it, when the data is here. */
START_TEST(test_gradcheck_deep_batchnorm_configs)
{
    const char *shared = getenv("SHARED_DATASETS");
    char images[4096];
    snprintf(images, sizeof images, "%s/fashion-mnist/train-images-idx3-ubyte.gz", shared ? shared : "");
    if (!shared || !file_exists(images)) {
        fprintf(stderr, "check_surface: no %s; the gradcheck of vgg and xception on real data not run\n", images);
        return;
    }
    static const char *names[] = {"vgg", "xception"};
    for (int c = 0; c < 2; c++) {
        char *out, *err;
        int rc = run_cnnctl(&out, &err, "gradcheck '%s' --set 'data.dir=%s/fashion-mnist'", config(names[c]), shared);
        ck_assert_msg(rc == 0 && strstr(out, "every layer agrees with central differences"), "%s: exit %d: %s%s",
                      names[c], rc, out, err);
        free(out);
        free(err);
    }
}
END_TEST

/* The log's step row after an epoch boundary counted the validation and
 * test passes as training time (3,500 images/s where the rest showed
 * 20,000). Here the test pass is some 300 times a step's work, so that row
 * fell hundreds of times below the run's first step row (which follows no
 * test pass); counting training alone keeps the two alike: the first step
 * of each epoch against the first of the run, both after a pause, on one
 * thread, so that a loaded machine slows both. */
START_TEST(test_images_per_second_counts_training_only)
{
    char data[4200];
    snprintf(data, sizeof data, "%s/big-test", dir);
    ck_assert_int_eq(mkdir(data, 0777), 0);
    write_synthetic_idx(data, "train", 60, 28, 28, 10, 3);
    write_synthetic_idx(data, "t10k", 24000, 28, 28, 10, 4);
    int rc = run_in_dir(NULL, NULL, "train -q '%s' --set 'data.dir=%s' --set train.batch=20 --set train.epochs=4 "
                        "--set train.log_every=1 --set train.log=ips.csv --set train.checkpoint=ips.ckpt --threads 1",
                        config("lenet5"), data);
    ck_assert_int_eq(rc, 0);
    char *log = read_file(in_dir("ips.csv"), NULL);
    ck_assert_ptr_nonnull(log);
    /* images_per_s (8th column) of the first step row of each epoch */
    double first[8];
    int firsts = 0;
    long last_epoch = 0;
    for (char *line = strchr(log, '\n') + 1; *line && firsts < 8; line = strchr(line, '\n') + 1) {
        long epoch = strtol(line, NULL, 10);
        const char *p = line;
        for (int comma = 0; comma < 7; comma++)
            p = strchr(p, ',') + 1;
        if (epoch != last_epoch && strstr(line, ",step\n") == strchr(line, '\n') - 5)
            first[firsts++] = atof(p);
        last_epoch = epoch;
    }
    free(log);
    ck_assert_int_eq(firsts, 4);
    for (int i = 1; i < firsts; i++)
        ck_assert_msg(first[i] > first[0] / 10, "epoch %d's first step row: %.0f images/s, the run's first %.0f", i + 1,
                      first[i], first[0]);
}
END_TEST

/* ---- the property test ------------------------------------------------ */

/* Override atoms a user combines; a combination takes one of each group. */
static const char *const path_choices[][2] = {
    {"l.csv", "m.ckpt"},                                   /* bare names */
    {"runs/x/log.csv", "runs/x/model.ckpt"},               /* relative folders */
    {"with space/lög ü.csv", "with space/mödel 1.ckpt"},   /* spaces, non-ASCII */
    {"", "abs/m.ckpt"},                                    /* no log */
};
static const char *const length_choices[] = {
    "--set train.iterations=2",
    "--set train.epochs= --set train.iterations=3",
    "--set train.epochs=1 --set train.batch=40",
    "--set 'train.checkpoint_every=1 steps' --set train.iterations=2",
};
static const char *const optimizer_choices[] = {
    "--set train.optimizer=sgd --set train.momentum=",
    "--set train.optimizer=momentum --set train.momentum=0.5",
    "--set train.optimizer=nesterov",
    "--set train.optimizer=adam --set train.beta1=0.8",
    "--set train.optimizer=rmsprop --set train.decay=0.9",
    "--set train.optimizer=adagrad --set train.lr=0.01",
};
static const char *const schedule_choices[] = {
    "",
    "--set train.schedule=cosine --set train.lr_min=0.001",
    "--set train.schedule=step --set train.step_size=1 --set train.warmup=1",
    "--set data.test_images= --set data.validation=20",
};


/* Shipped config number _i with PROPERTY_COMBOS (default 2) seeded
 * combinations; one test per config, so that each has its own time limit
 * and a failure names the config in Check's summary. */
START_TEST(test_property_every_config)
{
    glob_t g;
    ck_assert_int_eq(glob_shipped_configs(&g), 0);
    ck_assert_uint_gt(g.gl_pathc, (size_t)_i);
    const char *combos_env = getenv("PROPERTY_COMBOS");
    int combos = combos_env ? atoi(combos_env) : 2;
    struct rng r;
    rng_seed(&r, 2026 + (uint64_t)_i, RNG_STREAM_TEST);
    uint8_t pixels[28 * 28];
    for (int i = 0; i < 28 * 28; i++)
        pixels[i] = (uint8_t)((i % 28) * 9);
    FILE *f = fopen(in_dir("x.pgm"), "wb");
    fprintf(f, "P5\n28 28\n255\n");
    fwrite(pixels, 1, sizeof pixels, f);
    fclose(f);
    {
        size_t c = (size_t)_i;
        for (int k = 0; k < combos; k++) {
            const char *const *paths = path_choices[rng_below(&r, 4)];
            char args[2048];
            snprintf(args, sizeof args, "--set data.dir=data %s %s %s --set train.threads=2",
                     length_choices[rng_below(&r, 4)], optimizer_choices[rng_below(&r, 6)],
                     schedule_choices[rng_below(&r, 4)]);
            char *out, *err;
            int rc = run_in_dir(&out, &err, "train -q --force '%s' %s --set 'train.log=%s' --set 'train.checkpoint=%s'",
                                g.gl_pathv[c], args, paths[0], paths[1]);
            /* every combination here is valid: train must accept it */
            ck_assert_msg(rc == 0, "%s %s: train exit %d: %s", g.gl_pathv[c], args, rc, err);
            free(out);
            free(err);
            const char *ckpt = paths[1];
            rc = run_in_dir(&out, &err, "eval '%s'", ckpt);
            ck_assert_msg(rc == 0 || (rc == 2 && strstr(err, "no test set")), "%s %s: eval exit %d: %s",
                          g.gl_pathv[c], args, rc, err);
            free(out);
            free(err);
            rc = run_in_dir(&out, &err, "train -q --resume '%s'", ckpt);
            ck_assert_msg(rc == 0, "%s %s: resume exit %d: %s", g.gl_pathv[c], args, rc, err);
            free(out);
            free(err);
            rc = run_in_dir(&out, &err, "predict '%s' x.pgm", ckpt);
            ck_assert_msg(rc == 0, "%s %s: predict exit %d: %s", g.gl_pathv[c], args, rc, err);
            free(out);
            free(err);
            /* viz: the maps of the first layer (any layer has them) */
            rc = run_in_dir(&out, &err, "summary '%s' %s", g.gl_pathv[c], args);
            ck_assert_msg(rc == 0, "%s %s: summary exit %d: %s", g.gl_pathv[c], args, rc, err);
            char first[64] = "";
            const char *row = strstr(out, "(input)");
            ck_assert_ptr_nonnull(row);
            row = strchr(row, '\n');
            ck_assert_int_eq(sscanf(row + 1, "%63s", first), 1);
            free(out);
            free(err);
            rc = run_in_dir(&out, &err, "viz '%s' --layer %s --input x.pgm --maps v.png", ckpt, first);
            ck_assert_msg(rc == 0, "%s %s: viz exit %d: %s", g.gl_pathv[c], args, rc, err);
            free(out);
            free(err);
            rc = run_in_dir(&out, &err, "gradcheck '%s' %s --images 2 --entries 2", g.gl_pathv[c], args);
            ck_assert_msg(rc == 0, "%s %s: gradcheck exit %d: %s%s", g.gl_pathv[c], args, rc, out, err);
            free(out);
            free(err);
            if (paths[0][0] && system("command -v gnuplot >/dev/null 2>&1") == 0) {
                rc = run_in_dir(&out, &err, "plot '%s' -o c.png", paths[0]);
                ck_assert_msg(rc == 0, "%s %s: plot exit %d: %s", g.gl_pathv[c], args, rc, err);
                free(out);
                free(err);
            }
            /* nothing left behind: no temporary files, no lock files */
            char leftover[8400];
            snprintf(leftover, sizeof leftover,
                     "find '%s' -name '*.tmp.*' -o -name '*.lock' | grep -q . && exit 1 || exit 0", dir);
            ck_assert_msg(system(leftover) == 0, "%s %s: temporary or lock files left", g.gl_pathv[c], args);
        }
    }
    globfree(&g);
}
END_TEST

Suite *surface_suite(void)
{
    Suite *s = suite_create("command line");
    TCase *tc = tcase_create("as typed");
    tcase_set_timeout(tc, 600);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_bare_file_names);
    tcase_add_test(tc, test_unset_and_replaced_keys);
    tcase_add_test(tc, test_switch_optimizer);
    tcase_add_test(tc, test_summary_without_data);
    tcase_add_test(tc, test_finished_run_kept);
    tcase_add_test(tc, test_second_run_refused);
    tcase_add_test(tc, test_threads_capped);
    tcase_add_test(tc, test_plot_short_run);
    tcase_add_test(tc, test_same_bits_at_any_thread_count);
    tcase_add_test(tc, test_gradcheck_deep_batchnorm_configs);
    tcase_add_test(tc, test_images_per_second_counts_training_only);
    suite_add_tcase(s, tc);
    /* the property test: one loop iteration per shipped config */
    TCase *every = tcase_create("every shipped config");
    tcase_set_timeout(every, 600);
    tcase_add_checked_fixture(every, setup, teardown);
    glob_t g;
    /* no configs found: one iteration, which fails and says so */
    int configs = glob_shipped_configs(&g) == 0 ? (int)g.gl_pathc : 1;
    globfree(&g);
    tcase_add_loop_test(every, test_property_every_config, 0, configs);
    suite_add_tcase(s, every);
    return s;
}
