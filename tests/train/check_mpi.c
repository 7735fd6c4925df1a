/* check_mpi.c - data-parallel training with MPI. Runs when CNNCTL_MPI names
 * a binary built with `make MPI=1` (CI does; `make check-mpi` too) and
 * mpirun is there; otherwise each test says why it skips. Two ranks on one
 * machine, one thread each, against one process of the plain binary. */
#include "test_util.h"

#include "ckpt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char *dir;
static const char *mpi_bin;

#define MPIRUN "mpirun --allow-run-as-root --oversubscribe -np %d "

/* a file in this test's folder */
#define in_dir(name) test_path(dir, name)

static void setup(void)
{
    dir = make_temp_dir();
    write_synthetic_idx(dir, "train", 1000, 12, 12, 4, 1);
    write_synthetic_idx(dir, "t10k", 200, 12, 12, 4, 2);
    /* 50 steps of 20: no batchnorm (its batch statistics are per rank),
     * dropout and augmentation, which are drawn per image of the global
     * batch and so agree */
    char text[4096];
    snprintf(text, sizeof text,
             "[data]\ndir = %s\n[train]\nepochs = 1\nbatch = 20\noptimizer = momentum\nlr = 0.05\nthreads = 1\n"
             "log_every = 10\n[augment]\nflip = 1\n"
             "[c1]\ntype = conv\nfilters = 6\nsize = 3\npad = 1\nactivation = relu\n[p1]\ntype = maxpool\nsize = 2\n"
             "[d]\ntype = dropout\nrate = 0.2\n[fc]\ntype = affine\noutputs = 4\n[loss]\ntype = softmax\n",
             dir);
    ck_assert_int_eq(write_file(in_dir("bars.ini"), text), 0);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

static int mpi_ready(void)
{
    mpi_bin = getenv("CNNCTL_MPI");
    if (!mpi_bin || !*mpi_bin) {
        fprintf(stderr, "skipping the MPI tests: CNNCTL_MPI does not name an MPI build (make check-mpi)\n");
        return 0;
    }
    if (system("command -v mpirun >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skipping the MPI tests: no mpirun (Debian: openmpi-bin)\n");
        return 0;
    }
    return 1;
}

/* Largest difference between the parameters of two checkpoints. */
static double max_difference(const char *a, const char *b)
{
    struct ckpt x, y;
    char err[512];
    ck_assert_msg(ckpt_read(a, &x, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(ckpt_read(b, &y, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(x.tensor_count, y.tensor_count);
    double worst = 0.0;
    for (int t = 0; t < x.tensor_count; t++) {
        ck_assert_str_eq(x.tensors[t].name, y.tensors[t].name);
        ck_assert_int_eq(x.tensors[t].count, y.tensors[t].count);
        for (uint64_t i = 0; i < x.tensors[t].count; i++) {
            float u, v;
            memcpy(&u, x.tensors[t].values + 4 * i, 4);
            memcpy(&v, y.tensors[t].values + 4 * i, 4);
            if (fabs((double)u - v) > worst)
                worst = fabs((double)u - v);
        }
    }
    ckpt_free(&x);
    ckpt_free(&y);
    return worst;
}

static void train(int ranks, const char *name, const char *extra)
{
    char *out, *err;
    int rc;
    if (ranks == 0)
        rc = run_cnnctl(&out, &err, "train -q '%s' --set train.checkpoint='%s' --set train.log='%s' %s",
                        in_dir("bars.ini"), in_dir(name), in_dir("log.csv"), extra);
    else {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 MPIRUN "'%s' train -q '%s' --set train.checkpoint='%s' --set train.log='%s' %s >%s 2>&1", ranks,
                 mpi_bin, in_dir("bars.ini"), in_dir(name), in_dir("mpi-log.csv"), extra, in_dir("mpi.out"));
        rc = system(cmd);
        out = read_file(in_dir("mpi.out"), NULL);
        err = NULL;
        rc = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    }
    ck_assert_msg(rc == 0, "%d ranks: exit %d: %s %s", ranks, rc, out ? out : "", err ? err : "");
    free(out);
    free(err);
}

/* mpirun -np 2 (1 thread each) and one process: the same weights after 50
 * steps, bit for bit (no batchnorm: its statistics are per rank). The
 * conv's gradient chunks split where the ranks do, and the affine's
 * gradient is computed from the whole batch's rows on each rank. */
START_TEST(test_two_ranks_match_one_process)
{
    if (!mpi_ready())
        return;
    train(0, "one.ckpt", "");
    train(2, "two.ckpt", "");
    double d = max_difference(in_dir("one.ckpt"), in_dir("two.ckpt"));
    ck_assert_msg(d == 0, "2 ranks differ from 1 process by %g", d);
}
END_TEST

/* A checkpoint written at step 20 of a 2-rank run, resumed by one process,
 * and one written by one process, resumed on 2 ranks: both end with the
 * weights of the run left alone, bit for bit. */
START_TEST(test_resume_with_another_rank_count)
{
    if (!mpi_ready())
        return;
    const char *every = "--set 'train.checkpoint_every=10 steps' --set train.keep=5";
    train(0, "one.ckpt", every);
    train(2, "two.ckpt", every);
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train -q --resume '%s.0000000020' --set train.checkpoint='%s' --set train.log='%s'",
                        in_dir("two.ckpt"), in_dir("two-then-one.ckpt"), in_dir("log.csv"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    double d = max_difference(in_dir("one.ckpt"), in_dir("two-then-one.ckpt"));
    ck_assert_msg(d == 0, "2 ranks then 1 differ from 1 process by %g", d);

    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             MPIRUN "'%s' train -q --resume '%s.0000000020' --set train.checkpoint='%s' --set train.log='%s' >%s 2>&1", 2,
             mpi_bin, in_dir("one.ckpt"), in_dir("one-then-two.ckpt"), in_dir("log2.csv"), in_dir("mpi.out"));
    rc = system(cmd);
    out = read_file(in_dir("mpi.out"), NULL);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s", out);
    free(out);
    d = max_difference(in_dir("one.ckpt"), in_dir("one-then-two.ckpt"));
    ck_assert_msg(d == 0, "1 process then 2 ranks differ from 1 process by %g", d);
}
END_TEST

START_TEST(test_batch_must_divide)
{
    if (!mpi_ready())
        return;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, MPIRUN "'%s' train -q '%s' >%s 2>&1", 3, mpi_bin, in_dir("bars.ini"),
             in_dir("mpi.out"));
    int rc = system(cmd);
    ck_assert(!WIFEXITED(rc) || WEXITSTATUS(rc) != 0);
    char *out = read_file(in_dir("mpi.out"), NULL);
    ck_assert_msg(strstr(out, "[train] batch: 20 does not divide by the 3 processes") != NULL, "%s", out);
    free(out);
}
END_TEST

Suite *mpi_suite(void)
{
    Suite *s = suite_create("mpi");
    TCase *tc = tcase_create("mpi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_two_ranks_match_one_process);
    tcase_add_test(tc, test_resume_with_another_rank_count);
    tcase_add_test(tc, test_batch_must_divide);
    suite_add_tcase(s, tc);
    return s;
}
