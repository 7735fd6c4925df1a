/* check_cli.c - the cnnctl binary end to end: train on a small generated
 * IDX set, evaluate the checkpoint, and the errors a user can cause. */
#include "test_util.h"

#include <errno.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *dir;
static char config_path[4096];

#define CONFIG_BODY                                                                                    \
    "[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[r1]\ntype = relu\n[p1]\ntype = maxpool\nsize = 2\n" \
    "[fc]\ntype = affine\noutputs = 4\n[loss]\ntype = softmax\n"

static void write_config(const char *extra_train)
{
    char text[4096];
    snprintf(text, sizeof text,
             "; synthetic 12x12 bars, 4 classes\n[data]\ndir = .\n[train]\nepochs = 4\nbatch = 20\nlr = 0.1\nseed = 3\n"
             "threads = 2\nlog = %s/out/log.csv\ncheckpoint = %s/out/model.ckpt\n%s" CONFIG_BODY,
             dir, dir, extra_train);
    ck_assert_int_eq(write_file(config_path, text), 0);
}

static void setup(void)
{
    dir = make_temp_dir();
    write_synthetic_idx(dir, "train", 1200, 12, 12, 4, 1);
    write_synthetic_idx(dir, "t10k", 400, 12, 12, 4, 2);
    snprintf(config_path, sizeof config_path, "%s/bars.ini", dir);
    write_config("");
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

/* a file in this test's folder */
#define in_dir(name) test_path(dir, name)

static double field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    ck_assert_msg(p != NULL, "'%s' not in: %s", key, text);
    return atof(p + strlen(key));
}

START_TEST(test_train_then_eval)
{
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train '%s'", config_path);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    double test_acc = field(out, "test_acc ");
    ck_assert_msg(test_acc >= 0.97, "synthetic bars should be learnt: %s", out);
    ck_assert_ptr_nonnull(strstr(err, "epoch 4/4"));
    free(out);
    free(err);

    /* the log: a header and rows */
    char *log = read_file(in_dir("out/log.csv"), NULL);
    ck_assert_ptr_nonnull(log);
    const char header[] = "epoch,step,loss,train_acc,val_acc,lr,seconds,images_per_s,test_acc,skipped,kind\n";
    ck_assert_int_eq(strncmp(log, header, strlen(header)), 0);
    ck_assert_ptr_nonnull(strstr(log, ",epoch\n"));
    free(log);

    /* eval rebuilds the net from the checkpoint alone and agrees */
    rc = run_cnnctl(&out, &err, "eval '%s'", in_dir("out/model.ckpt"));
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_double_eq_tol(field(out, "accuracy "), test_acc, 1e-9);
    ck_assert_int_eq((int)field(out, "count "), 400);
    free(out);
    free(err);

    rc = run_cnnctl(&out, &err, "eval --json --predictions '%s' '%s'", in_dir("pred.csv"), in_dir("out/model.ckpt"));
    ck_assert_int_eq(rc, 0);
    ck_assert_double_eq_tol(field(out, "{\"accuracy\": "), test_acc, 1e-9);
    ck_assert_ptr_nonnull(strstr(out, "\"count\": 400"));
    free(out);
    free(err);
    char *pred = read_file(in_dir("pred.csv"), NULL);
    ck_assert_ptr_nonnull(pred);
    ck_assert_int_eq(strncmp(pred, "index,label,predicted,p0,p1,p2,p3\n0,", 36), 0);
    int rows = 0;
    for (char *p = pred; *p; p++)
        rows += *p == '\n';
    ck_assert_int_eq(rows, 401);
    free(pred);

    /* on given files: the training set */
    rc = run_cnnctl(&out, NULL, "eval '%s' --images '%s' --labels '%s'", in_dir("out/model.ckpt"),
                    in_dir("train-images-idx3-ubyte.gz"), in_dir("train-labels-idx1-ubyte.gz"));
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq((int)field(out, "count "), 1200);
    free(out);
}
END_TEST

/* Runs `cnnctl train CONFIG` on a pseudo-terminal; returns what it printed
 * there (stdout and stderr) and its exit status in *status. */
static char *train_on_terminal(const char *config, int *status)
{
    const char *bin = getenv("CNNCTL");
    ck_assert_ptr_nonnull(bin);
    struct winsize ws = {.ws_row = 24, .ws_col = 120};
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl(bin, bin, "train", "--force", config, (char *)NULL);
        _exit(127);
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    for (;;) {
        if (len + 4096 + 1 > cap)
            text = realloc(text, cap *= 2);
        ssize_t got = read(master, text + len, 4096);
        if (got > 0)
            len += (size_t)got;
        else if (got < 0 && errno == EINTR)
            continue;
        else
            break;   /* EIO: the child closed the terminal */
    }
    text[len] = '\0';
    close(master);
    ck_assert_int_eq(waitpid(pid, status, 0), pid);
    return text;
}

/* Progress: on a terminal a redrawn line with a bar and an ETA; in a file
 * plain lines only; with --quiet nothing but the result. All begin with
 * the summary table and where the log and checkpoint go. */
START_TEST(test_progress_output)
{
    char *out, *err;
    ck_assert_int_eq(run_cnnctl(&out, &err, "train '%s'", config_path), 0);
    ck_assert_ptr_nonnull(strstr(err, "layer            type"));
    ck_assert_ptr_nonnull(strstr(err, "\nlog "));
    ck_assert_ptr_nonnull(strstr(err, "\ncheckpoint "));
    ck_assert_ptr_nonnull(strstr(err, "\nepoch 4/4  step 240  loss "));
    ck_assert_msg(strpbrk(err, "\r\033") == NULL, "control characters in plain output: %s", err);
    ck_assert_ptr_null(strstr(err, "ETA"));
    free(out);
    free(err);

    ck_assert_int_eq(run_cnnctl(&out, &err, "train --quiet --force '%s'", config_path), 0);
    ck_assert_str_eq(err, "");
    ck_assert_ptr_nonnull(strstr(out, "test_acc "));
    free(out);
    free(err);

    int status;
    char *tty = train_on_terminal(config_path, &status);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", tty);
    ck_assert_msg(strstr(tty, "\r\033[Kepoch 1/4 [") != NULL, "no progress line: %s", tty);
    ck_assert_ptr_nonnull(strstr(tty, "]  60/60  step 60  loss "));
    ck_assert_ptr_nonnull(strstr(tty, " img/s  ETA "));
    /* each epoch's summary replaces the progress line */
    ck_assert_ptr_nonnull(strstr(tty, "\r\033[Kepoch 4/4  step 240  loss "));
    ck_assert_ptr_nonnull(strstr(tty, "test_acc "));
    free(tty);
}
END_TEST

/* The man pages render without a warning, and every verb has its help and
 * its entry in cnnctl(1). */
START_TEST(test_man_pages)
{
    const char *pages[] = {"man/cnnctl.1", "man/cnnctl.ini.5"};
    for (int i = 0; i < 2; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "groff -man -Tutf8 -ww -z %s >%s/groff.out 2>&1", pages[i], dir);
        int rc = system(cmd);
        char *warnings = read_file(in_dir("groff.out"), NULL);
        ck_assert_msg(rc == 0 && warnings && warnings[0] == 0, "%s: groff: exit %d: %s (Debian: groff-base)",
                      pages[i], rc, warnings ? warnings : "");
        free(warnings);
    }
    char *man = read_file("man/cnnctl.1", NULL);
    ck_assert_ptr_nonnull(man);
    const char *verbs[] = {"train", "eval", "summary", "gradcheck", "bench", "predict", "viz", "filter", "plot",
                           "compose", "export"};
    for (int i = 0; i < 11; i++) {
        char entry[64];
        snprintf(entry, sizeof entry, "\n.TP\n.B %s ", verbs[i]);
        ck_assert_msg(strstr(man, entry) != NULL, "cnnctl(1) has no VERBS entry for %s", verbs[i]);
        snprintf(entry, sizeof entry, "\n.B cnnctl %s\n", verbs[i]);
        ck_assert_msg(strstr(man, entry) != NULL, "cnnctl(1) has no SYNOPSIS line for %s", verbs[i]);
        char *out;
        ck_assert_int_eq(run_cnnctl(&out, NULL, "%s --help", verbs[i]), 0);
        ck_assert_msg(strncmp(out, "Usage: cnnctl ", 14) == 0, "%s --help: %s", verbs[i], out);
        free(out);
        char *usage;
        ck_assert_int_eq(run_cnnctl(&usage, NULL, "--help"), 0);
        snprintf(entry, sizeof entry, "\n  %s ", verbs[i]);
        ck_assert_msg(strstr(usage, entry) != NULL, "cnnctl --help does not list %s", verbs[i]);
        free(usage);
    }
    free(man);
}
END_TEST

/* Same config, seed and threads: byte-identical checkpoints. */
START_TEST(test_deterministic)
{
    ck_assert_int_eq(run_cnnctl(NULL, NULL, "train -q '%s'", config_path), 0);
    size_t n1, n2;
    char *a = read_file(in_dir("out/model.ckpt"), &n1), *log_a = log_without_timing(in_dir("out/log.csv"));
    ck_assert_int_eq(run_cnnctl(NULL, NULL, "train -q --force '%s'", config_path), 0);
    char *b = read_file(in_dir("out/model.ckpt"), &n2), *log_b = log_without_timing(in_dir("out/log.csv"));
    ck_assert_int_eq(n1, n2);
    ck_assert_int_eq(memcmp(a, b, n1), 0);
    ck_assert_str_eq(log_a, log_b);
    ck_assert_ptr_nonnull(strstr(log_a, ",epoch\n"));
    free(a);
    free(b);
    free(log_a);
    free(log_b);
}
END_TEST

START_TEST(test_corrupted_checkpoint_refused)
{
    ck_assert_int_eq(run_cnnctl(NULL, NULL, "train -q '%s' --set train.epochs=1", config_path), 0);
    size_t n;
    char *data = read_file(in_dir("out/model.ckpt"), &n);
    data[n / 2] ^= 1;
    FILE *f = fopen(in_dir("bad.ckpt"), "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    free(data);
    char *err;
    int rc = run_cnnctl(NULL, &err, "eval '%s' --predictions '%s'", in_dir("bad.ckpt"), in_dir("p.csv"));
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "bad.ckpt: CRC mismatch (stored 0x"));
    ck_assert_ptr_null(strchr(strchr(err, '\n') + 1, '\n'));  /* one line */
    ck_assert(!file_exists(in_dir("p.csv")));
    free(err);
}
END_TEST

START_TEST(test_config_error_writes_nothing)
{
    write_config("lrr = 0.1\n");
    char *err;
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train '%s'", config_path), 2);
    char want[4200];
    snprintf(want, sizeof want, "cnnctl: %s:12: [train] lrr: unknown key (did you mean 'lr'?)\n", config_path);
    ck_assert_str_eq(err, want);
    ck_assert(!file_exists(in_dir("out")));
    free(err);
    write_config("");
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train '%s' --set c1.stride=2", config_path), 2);
    ck_assert_ptr_nonnull(strstr(err, "[c1] output height: (12 + 2*1 - 3)/2 + 1 is not a whole number"));
    ck_assert(!file_exists(in_dir("out")));
    free(err);
}
END_TEST

/* eval --confusion: rows are true classes, columns predictions, labelled
 * with [data] classes; the diagonal is what eval counts as correct. */
START_TEST(test_confusion)
{
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train -q '%s' --set train.epochs=1 --set 'data.classes=rising, Falling , flat,x'",
                        config_path);
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    rc = run_cnnctl(&out, &err, "eval --confusion '%s'", in_dir("out/model.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    long correct = (long)field(out, "correct ");
    const char *table = strstr(out, "true\\pred");
    ck_assert_msg(table != NULL, "%s", out);
    char names[4][16];
    ck_assert_int_eq(sscanf(table, "true\\pred %15s %15s %15s %15s", names[0], names[1], names[2], names[3]), 4);
    ck_assert_str_eq(names[0], "rising");
    ck_assert_str_eq(names[1], "Falling");
    ck_assert_str_eq(names[3], "x");
    const char *row = strchr(table, '\n') + 1;
    long total = 0, diagonal = 0;
    for (int k = 0; k < 4; k++) {
        char name[16];
        long v[4];
        ck_assert_int_eq(sscanf(row, "%15s %ld %ld %ld %ld", name, &v[0], &v[1], &v[2], &v[3]), 5);
        ck_assert_str_eq(name, names[k]);
        for (int j = 0; j < 4; j++)
            total += v[j];
        diagonal += v[k];
        row = strchr(row, '\n') + 1;
    }
    ck_assert_int_eq(total, 400);
    ck_assert_int_eq(diagonal, correct);
    free(out);
    free(err);

    rc = run_cnnctl(&out, &err, "eval --confusion --json '%s'", in_dir("out/model.ckpt"));
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_nonnull(strstr(out, "\"classes\": [\"rising\", \"Falling\", \"flat\", \"x\"], \"confusion\": [["));
    free(out);
    free(err);

    /* as many names as classes, or a config error where they were given */
    rc = run_cnnctl(&out, &err, "train '%s' --set 'data.classes=a, b, c'", config_path);
    ck_assert_int_eq(rc, 2);
    ck_assert_str_eq(err, "cnnctl: --set data.classes=a, b, c: [data] classes: 3 names for a network with 4 classes\n");
    free(out);
    free(err);
    rc = run_cnnctl(NULL, &err, "summary '%s' --set 'data.classes=a,,b,c'", config_path);
    ck_assert_int_eq(rc, 2);
    ck_assert_ptr_nonnull(strstr(err, "class 2 has no name"));
    free(err);
}
END_TEST

START_TEST(test_data_errors)
{
    char *err;
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train '%s' --set data.train_labels=nosuch.gz", config_path), 2);
    ck_assert_ptr_nonnull(strstr(err, "/nosuch.gz: cannot open: No such file or directory\n"));
    free(err);
    /* labels for images */
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train '%s' --set data.train_labels=train-images-idx3-ubyte.gz",
                                config_path), 2);
    ck_assert_ptr_nonnull(strstr(err, "bad magic 0x00000803 at byte 0 (expected 0x00000801)"));
    free(err);
    /* a label beyond the net's classes */
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train '%s' --set fc.outputs=3", config_path), 2);
    ck_assert_ptr_nonnull(strstr(err, "is not below the network's 3 classes"));
    ck_assert(!file_exists(in_dir("out")));
    free(err);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train '%s' --set data.validation=1200", config_path), 2);
    ck_assert_ptr_nonnull(strstr(err, "[data] validation: 1200 leaves no training images (the file has 1200)"));
    free(err);
}
END_TEST

START_TEST(test_usage)
{
    char *out, *err;
    ck_assert_int_eq(run_cnnctl(&out, &err, "%s", ""), 2);
    free(out);
    free(err);
    ck_assert_int_eq(run_cnnctl(&out, NULL, "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out, "Usage: cnnctl VERB"));
    free(out);
    ck_assert_int_eq(run_cnnctl(&out, NULL, "--version"), 0);
    ck_assert_int_eq(strncmp(out, "cnnctl ", 7), 0);
    free(out);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "frobnicate"), 2);
    ck_assert_str_eq(err, "cnnctl: unknown verb 'frobnicate'\nTry 'cnnctl --help'.\n");
    free(err);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train"), 2);
    ck_assert_str_eq(err, "cnnctl train: missing CONFIG\nTry 'cnnctl train --help'.\n");
    free(err);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "train --threads zero x.ini"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--threads: 'zero' is not a whole number from 1 to 1024"));
    free(err);
    const char *verbs[] = {"train", "eval", "summary"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(run_cnnctl(&out, NULL, "%s --help", verbs[i]), 0);
        char want[64];
        snprintf(want, sizeof want, "Usage: cnnctl %s", verbs[i]);
        ck_assert_ptr_nonnull(strstr(out, want));
        free(out);
    }
    ck_assert_int_eq(run_cnnctl(NULL, &err, "eval --labels y.gz m.ckpt"), 2);
    ck_assert_ptr_nonnull(strstr(err, "--labels goes with --images"));
    free(err);
}
END_TEST

START_TEST(test_summary)
{
    char *out;
    ck_assert_int_eq(run_cnnctl(&out, NULL, "summary '%s'", config_path), 0);
    ck_assert_ptr_nonnull(strstr(out, "c1               conv          4x12x12                40"));
    ck_assert_ptr_nonnull(strstr(out, "fc               affine        4x1x1                 580"));
    long total = 0;
    ck_assert_int_eq(sscanf(strstr(out, "\ntotal ") + 7, "%ld", &total), 1);
    ck_assert_int_eq(total, 620);
    /* r1 alone reads c1: c1 applies it, and p1, alone reading r1, too */
    ck_assert_ptr_nonnull(strstr(
        out, "\nfused (run by an earlier layer while its output is in cache; the same results): r1 into c1, p1 into c1\n"));
    free(out);
}
END_TEST

/* Real digits, when the shared datasets are next to the project. */
/* `cnnctl gradcheck` on a network with every layer type, and each loss. */
START_TEST(test_gradcheck_every_layer)
{
    char text[4096];
    snprintf(text, sizeof text,
             "[data]\ndir = .\n[train]\nseed = 5\n"
             "[c1]\ntype = conv\nfilters = 6\nsize = 3\npad = 1\n[bn1]\ntype = batchnorm\n[r1]\ntype = relu\n"
             "[n1]\ntype = lrn\nsize = 3\n"
             "[dw]\ntype = conv\nfilters = 6\nsize = 3\npad = 2\ndilation = 2\ngroups = 6\nactivation = leaky\n"
             "[pw]\ntype = conv\nfilters = 6\nsize = 1\n[sum]\ntype = add\ninput = pw, n1\n"
             "[p1]\ntype = maxpool\nsize = 2\n"
             "[a]\ntype = conv\nfilters = 4\nsize = 1\nactivation = tanh\n"
             "[b]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\ninput = p1\n[bs]\ntype = sigmoid\n"
             "[cat]\ntype = concat\ninput = a, bs\n[sq]\ntype = globalavgpool\n"
             "[e1]\ntype = affine\noutputs = 4\nactivation = relu\n"
             "[e2]\ntype = affine\noutputs = 8\nactivation = sigmoid\n[se]\ntype = scale\ninput = cat, e2\n"
             "[p2]\ntype = avgpool\nsize = 2\n[lk]\ntype = leaky\n[th]\ntype = tanh\n"
             "[d]\ntype = dropout\nrate = 0.2\n[fc]\ntype = affine\noutputs = 4\n[loss]\ntype = softmax\n");
    ck_assert_int_eq(write_file(in_dir("every.ini"), text), 0);
    const char *losses[] = {"softmax", "l2", "l1"};
    for (int i = 0; i < 3; i++) {
        char *out, *err;
        int rc = run_cnnctl(&out, &err, "gradcheck '%s' --set loss.type=%s --images 3 --threads 2",
                            in_dir("every.ini"), losses[i]);
        ck_assert_msg(rc == 0, "%s: exit %d\n%s%s", losses[i], rc, out, err);
        ck_assert_ptr_nonnull(strstr(out, "every layer agrees with central differences"));
        const char *trained[] = {"c1 ", "bn1 ", "dw ", "pw ", "a ", "b ", "e1 ", "e2 ", "fc "};
        for (int k = 0; k < 9; k++)
            ck_assert_msg(strstr(out, trained[k]) != NULL, "no row for %s in\n%s", trained[k], out);
        free(out);
        free(err);
    }
    char *err;
    ck_assert_int_eq(run_cnnctl(NULL, &err, "gradcheck '%s' --images 0", in_dir("every.ini")), 2);
    ck_assert_ptr_nonnull(strstr(err, "--images: '0' is not a whole number from 1 to 256"));
    free(err);
}
END_TEST

START_TEST(test_real_mnist_lenet5)
{
    const char *shared = getenv("SHARED_DATASETS");
    char images[4096];
    snprintf(images, sizeof images, "%s/mnist-10k/train-images-idx3-ubyte.gz", shared ? shared : "");
    if (!shared || !file_exists(images)) {
        fprintf(stderr, "skipping the real-data test: no %s\n", images);
        return;
    }
    const char *configs = getenv("CNNCTL_CONFIGS");
    char *out, *err;
    int rc = run_cnnctl(&out, &err,
                        "train -q %s/lenet5.ini --set data.dir=%s/mnist-10k --set data.validation=1000 "
                        "--set data.test_images= --set train.epochs=5 --set train.log=%s/log.csv "
                        "--set train.checkpoint=%s/m.ckpt",
                        configs ? configs : "configs", shared, dir, dir);
    ck_assert_msg(rc == 0, "%s", err);
    double val = field(out, "val_acc ");
    ck_assert_msg(val >= 0.95, "LeNet-5 on 9,000 real digits, 5 epochs: %s", out);
    free(out);
    free(err);
}
END_TEST

Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("end to end");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_train_then_eval);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_corrupted_checkpoint_refused);
    tcase_add_test(tc, test_config_error_writes_nothing);
    tcase_add_test(tc, test_data_errors);
    tcase_add_test(tc, test_confusion);
    tcase_add_test(tc, test_man_pages);
    tcase_add_test(tc, test_usage);
    tcase_add_test(tc, test_summary);
    tcase_add_test(tc, test_progress_output);
    tcase_add_test(tc, test_gradcheck_every_layer);
    tcase_add_test(tc, test_real_mnist_lenet5);
    suite_add_tcase(s, tc);
    return s;
}
