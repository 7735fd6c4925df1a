/* check_resume.c - runs that are killed and resumed end exactly like runs
 * left alone; interrupted runs checkpoint and say so; failed writes keep
 * the last checkpoint; divergence stops with its step and layer. */
#include "test_util.h"
#include "ckpt.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static char config_path[4096], stateful_path[4096];

/* Plain SGD, and a run with state in every place a checkpoint must carry:
 * Adam's moments and step count, a schedule's position, dropout masks,
 * batchnorm's running statistics, augmentation draws (colour jitter and
 * cutout too), the normalisation computed from the training images. */
static const char *const variants[2][2] = {
    {"lr = 0.05\n",
     "[c1]\ntype = conv\nfilters = 8\nsize = 5\n[r1]\ntype = relu\n[p1]\ntype = maxpool\nsize = 2\n"},
    {"lr = 0.002\noptimizer = adam\nschedule = cosine\nwarmup = 20\n",
     "[c1]\ntype = conv\nfilters = 8\nsize = 5\n[bn]\ntype = batchnorm\n[r1]\ntype = relu\n"
     "[p1]\ntype = maxpool\nsize = 2\n[drop]\ntype = dropout\nrate = 0.3\n"
     "[augment]\nshift = 2\nflip = 1\nrotate = 10\nbrightness = 0.2\ncontrast = 0.2\ncutout = 6\n"},
};

static void write_variant(char *path, size_t len, const char *name, int v)
{
    snprintf(path, len, "%s/%s.ini", dir, name);
    char text[2048];
    snprintf(text, sizeof text,
             "[data]\ndir = .\ntest_images =\nvalidation = 200\nmean = auto\nstd = auto\n"
             "[train]\nepochs = 6\nbatch = 20\n%sseed = 11\nthreads = 2\nlog_every = 7\n"
             "checkpoint_every = 13 steps\nlog = %s/r/log.csv\ncheckpoint = %s/r/m.ckpt\n"
             "%s[fc]\ntype = affine\noutputs = 10\n[loss]\ntype = softmax\n",
             variants[v][0], dir, dir, variants[v][1]);
    ck_assert_int_eq(write_file(path, text), 0);
}

static void setup(void)
{
    dir = make_temp_dir();
    write_synthetic_idx(dir, "train", 2000, 28, 28, 10, 5);
    write_variant(config_path, sizeof config_path, "run", 0);
    write_variant(stateful_path, sizeof stateful_path, "stateful", 1);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

/* a file in this test's folder */
#define in_dir(name) test_path(dir, name)

static void assert_same_files(const char *a, const char *b)
{
    size_t na, nb;
    char *x = read_file(a, &na), *y = read_file(b, &nb);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    ck_assert_msg(na == nb && memcmp(x, y, na) == 0, "%s and %s differ", a, b);
    free(x);
    free(y);
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* Starts cnnctl in the background; returns its pid. */
static pid_t spawn(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "exec '%s' %s >/dev/null 2>&1", getenv("CNNCTL"), args);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The uninterrupted run, its results moved to ref/. */
static void reference_run_of(const char *path)
{
    char *err;
    int rc = run_cnnctl(NULL, &err, "train -q '%s'", path);
    ck_assert_msg(rc == 0, "%s", err);
    free(err);
    ck_assert_int_eq(rename(in_dir("r"), in_dir("ref")), 0);
}

static void reference_run(void)
{
    reference_run_of(config_path);
}

START_TEST(test_sigkill_anywhere_then_resume)
{
    const char *path = _i ? stateful_path : config_path;
    reference_run_of(path);
    /* Kill at random moments until the run finishes on its own; each time,
     * go on from whatever checkpoint there is. */
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    fprintf(stderr, "kill/resume test: delay seed %u\n", seed);
    srand(seed);
    int kills = 0, finished = 0;
    for (int attempt = 0; attempt < 60 && !finished; attempt++) {
        char args[4200];
        if (file_exists(in_dir("r/m.ckpt")))
            snprintf(args, sizeof args, "train -q --resume '%s'", in_dir("r/m.ckpt"));
        else
            snprintf(args, sizeof args, "train -q '%s'", path);
        pid_t pid = spawn(args);
        sleep_us(10000 + rand() % 150000);
        int status;
        if (kill(pid, SIGKILL) == 0)
            kills++;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status)) {
            ck_assert_int_eq(WEXITSTATUS(status), 0);
            finished = 1;
        }
    }
    if (!finished) {  /* the machine was slow: let the last run finish, from
                       * the checkpoint if one was written before a kill */
        char *err;
        int rc = file_exists(in_dir("r/m.ckpt")) ? run_cnnctl(NULL, &err, "train -q --resume '%s'", in_dir("r/m.ckpt"))
                                                 : run_cnnctl(NULL, &err, "train -q '%s'", path);
        ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
        free(err);
    }
    fprintf(stderr, "kill/resume test (%s): %d kills\n", path, kills);
    assert_same_files(in_dir("ref/m.ckpt"), in_dir("r/m.ckpt"));
    char *a = log_without_timing(in_dir("ref/log.csv")), *b = log_without_timing(in_dir("r/log.csv"));
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_sigterm_and_sigint_checkpoint_and_exit)
{
    reference_run();
    int signals[2] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        char args[4200];
        snprintf(args, sizeof args, "train -q '%s'", config_path);
        remove_tree(in_dir("r"));
        pid_t pid = spawn(args);
        /* wait for the first checkpoint, so the run is under way */
        for (int tries = 0; tries < 2000 && !file_exists(in_dir("r/m.ckpt")); tries++)
            sleep_us(2000);
        kill(pid, signals[i]);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        int code = WEXITSTATUS(status);
        ck_assert_msg(code == 128 + signals[i] || code == 0, "exit %d", code);  /* 0: it had just finished */
        char *err;
        ck_assert_int_eq(run_cnnctl(NULL, &err, "train -q --resume '%s'", in_dir("r/m.ckpt")), 0);
        free(err);
        assert_same_files(in_dir("ref/m.ckpt"), in_dir("r/m.ckpt"));
    }
}
END_TEST

START_TEST(test_resume_errors)
{
    char *err;
    ck_assert_int_eq(run_cnnctl(NULL, NULL, "train -q '%s' --set train.epochs=1", config_path), 0);
    /* a different network */
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train '%s' --resume '%s' --set c1.filters=4", config_path,
                                in_dir("r/m.ckpt")), 2);
    ck_assert_ptr_nonnull(strstr(err, "tensor 'c1.weight' at byte"));
    free(err);
    /* another optimizer: the checkpoint has no state for it */
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train --resume '%s' --set train.optimizer=adam --set train.epochs=2",
                                in_dir("r/m.ckpt")), 2);
    ck_assert_ptr_nonnull(strstr(err, "holds optimizer state of 0 arrays of 0 floats, but optimizer adam of this "
                                      "network keeps 2 of"));
    free(err);
    /* a log that lost rows */
    ck_assert_int_eq(write_file(in_dir("r/log.csv"), "epoch\n"), 0);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train --resume '%s' --set train.epochs=2", in_dir("r/m.ckpt")), 2);
    ck_assert_ptr_nonnull(strstr(err, "log.csv: has 0 complete rows, but the checkpoint was written after"));
    free(err);
    /* not a checkpoint */
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train --resume '%s'", config_path), 2);
    ck_assert_ptr_nonnull(strstr(err, "not a cnnctl checkpoint"));
    free(err);
    /* more epochs on a finished run: goes on */
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train --resume '%s' --set train.epochs=2 --set train.log=%s",
                                in_dir("r/m.ckpt"), in_dir("log2.csv")), 0);
    ck_assert_ptr_nonnull(strstr(err, "resuming at epoch 2"));
    free(err);
}
END_TEST

/* A write that fails (here: a file-size limit, as on a full disk) is one
 * error, exit 1, and the previous checkpoint is untouched. */
/* A run whose iterations end inside an epoch, resumed with more: it goes
 * on from that step in the same epoch's order, and ends with the weights
 * and optimizer state of a run given the larger count from the start (its
 * log has one row more, the first run's last evaluation). With a constant
 * learning rate: a schedule spans the run's steps, so more of them change
 * it. */
START_TEST(test_more_iterations_resume_inside_an_epoch)
{
    char *err = NULL;
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train -q '%s' --set train.epochs= --set train.iterations=30 "
                                "--set train.checkpoint_every=0 --set train.optimizer=momentum", config_path), 0);
    free(err);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train -q --resume '%s' --set train.iterations=50", in_dir("r/m.ckpt")),
                     0);
    free(err);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train -q '%s' --set train.epochs= --set train.iterations=50 "
                                "--set train.checkpoint_every=0 --set train.optimizer=momentum "
                                "--set train.checkpoint=%s --set train.log=%s",
                                config_path, in_dir("straight.ckpt"), in_dir("straight.csv")), 0);
    free(err);
    struct ckpt a, b;
    char msg[512];
    ck_assert_int_eq(ckpt_read(in_dir("r/m.ckpt"), &a, msg, sizeof msg), 0);
    ck_assert_int_eq(ckpt_read(in_dir("straight.ckpt"), &b, msg, sizeof msg), 0);
    ck_assert_int_eq(a.state.step, 50);
    ck_assert_int_eq(a.state.epoch, 1);
    ck_assert_int_eq(a.state.batch_in_epoch, 50);
    ck_assert_int_eq(b.state.step, 50);
    ck_assert_int_eq(a.tensor_count, b.tensor_count);
    for (int t = 0; t < a.tensor_count; t++) {
        ck_assert_int_eq(a.tensors[t].count, b.tensors[t].count);
        ck_assert_msg(memcmp(a.tensors[t].values, b.tensors[t].values, 4 * a.tensors[t].count) == 0, "%s differs",
                      a.tensors[t].name);
    }
    ck_assert_int_eq(a.optim_floats, b.optim_floats);
    ck_assert(memcmp(a.optim_values, b.optim_values, 4 * a.optim_floats) == 0);
    ck_assert_int_eq(a.state.log_rows, b.state.log_rows + 1);
    ckpt_free(&a);
    ckpt_free(&b);
}
END_TEST

START_TEST(test_failed_write_keeps_checkpoint)
{
    ck_assert_int_eq(run_cnnctl(NULL, NULL, "train -q '%s' --set train.epochs=1", config_path), 0);
    size_t before_len;
    char *before = read_file(in_dir("r/m.ckpt"), &before_len);
    ck_assert_int_gt(before_len, 30000);  /* over the limit below */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "trap '' XFSZ; ulimit -f 20; exec '%s' train -q --resume '%s' --set train.epochs=3 "
             "--set train.log=%s 2>%s",
             getenv("CNNCTL"), in_dir("r/m.ckpt"), in_dir("l.csv"), in_dir("err.txt"));
    int status = system(cmd);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 1);
    char *err = read_file(in_dir("err.txt"), NULL);
    ck_assert_ptr_nonnull(strstr(err, "m.ckpt: write failed: File too large"));
    ck_assert_ptr_null(strchr(err, '\n') + 1 == NULL ? NULL : strchr(strchr(err, '\n') + 1, '\n'));
    size_t after_len;
    char *after = read_file(in_dir("r/m.ckpt"), &after_len);
    ck_assert_int_eq(before_len, after_len);
    ck_assert_int_eq(memcmp(before, after, before_len), 0);
    free(err);
    free(before);
    free(after);
}
END_TEST

START_TEST(test_divergence)
{
    /* linear layers in a row: at a huge learning rate their product grows
     * step after step until it overflows */
    char path[4200], text[2048];
    snprintf(path, sizeof path, "%s/deep.ini", dir);
    snprintf(text, sizeof text,
             "[data]\ndir = .\ntest_images =\n[train]\nepochs = 1\nbatch = 20\nlr = 1000\nlog = %s/d/log.csv\n"
             "checkpoint = %s/d/m.ckpt\n[fc1]\ntype = affine\noutputs = 64\n[fc2]\ntype = affine\noutputs = 64\n"
             "[fc3]\ntype = affine\noutputs = 10\n[loss]\ntype = softmax\n", dir, dir);
    ck_assert_int_eq(write_file(path, text), 0);
    char *err, *out;
    ck_assert_int_eq(run_cnnctl(&out, &err, "train -q '%s'", path), 1);
    ck_assert_msg(strstr(err, "cnnctl: the loss is not finite at step ") || strstr(err, "cnnctl: the gradient is not "
                  "finite at step "), "%s", err);
    ck_assert_ptr_nonnull(strstr(err, "training diverged. Lower lr (now 1000), or set on_nan = skip; no checkpoint "
                                      "was written\n"));
    ck_assert_str_eq(out, "");
    ck_assert(!file_exists(in_dir("d/m.ckpt")));
    free(err);
    free(out);
    ck_assert_int_eq(run_cnnctl(&out, &err, "train -q '%s' --set train.on_nan=skip", path), 0);
    ck_assert_ptr_nonnull(strstr(out, "skipped "));
    char *log = read_file(in_dir("d/log.csv"), NULL);
    ck_assert_ptr_nonnull(strstr(log, ",epoch\n"));
    free(log);
    free(err);
    free(out);
}
END_TEST

START_TEST(test_keep_and_best)
{
    char *err;
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train -q '%s' --set train.checkpoint_every=1 --set train.keep=2 "
                                "--set train.epochs=4 --set train.best=%s", config_path, in_dir("best.ckpt")), 0);
    free(err);
    /* 90 steps an epoch: the last two epochs' checkpoints remain */
    ck_assert(!file_exists(in_dir("r/m.ckpt.0000000180")));
    ck_assert(file_exists(in_dir("r/m.ckpt.0000000270")));
    assert_same_files(in_dir("r/m.ckpt.0000000360"), in_dir("r/m.ckpt"));
    /* best: the epoch with the highest validation accuracy in the log */
    struct ckpt ck;
    char msg[512];
    ck_assert_int_eq(ckpt_read(in_dir("best.ckpt"), &ck, msg, sizeof msg), 0);
    char *log = read_file(in_dir("r/log.csv"), NULL);
    double best = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strstr(line, ",epoch"))
            continue;
        char *p = line;
        for (int c = 0; c < 4; c++)
            p = strchr(p, ',') + 1;
        if (atof(p) > best)
            best = atof(p);
    }
    ck_assert_double_eq_tol(ck.stats.val_accuracy, best, 5e-5);  /* the log rounds to 4 places */
    free(log);
    ckpt_free(&ck);
}
END_TEST

Suite *resume_suite(void)
{
    Suite *s = suite_create("resume");
    TCase *tc = tcase_create("runs");
    tcase_set_timeout(tc, 180);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_sigkill_anywhere_then_resume, 0, 2);
    tcase_add_test(tc, test_sigterm_and_sigint_checkpoint_and_exit);
    tcase_add_test(tc, test_resume_errors);
    tcase_add_test(tc, test_failed_write_keeps_checkpoint);
    tcase_add_test(tc, test_more_iterations_resume_inside_an_epoch);
    tcase_add_test(tc, test_divergence);
    tcase_add_test(tc, test_keep_and_best);
    suite_add_tcase(s, tc);
    return s;
}
