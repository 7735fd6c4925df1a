/* check_export.c - `cnnctl export` on every shipped config, each trained a
 * step on stand-in data (CIFAR-shaped for the cifar configs, canvases for
 * fcn and yolo; Fashion-MNIST itself when ../shared/datasets has it):
 * Debian's onnx.checker accepts every model, and OpenCV's DNN module gives
 * the same class as `cnnctl eval --predictions` for each of 1,000 test
 * images, probabilities within 1e-4, on every grey classifier
 * (tests/export/onnx_agree.py). yolo has no ONNX form: one line, exit 2,
 * no file. Where python3-onnx or python3-opencv is missing, the test says
 * which checks it could not run. */
#include "test_util.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

#define in_dir(name) test_path(dir, name)

static void setup(void)
{
    dir = make_temp_dir();
    char data[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    write_stand_in_data(data, 1000);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}


/* onnx_agree.py on a model: 0 agreed, 3 a package missing (said on
 * stderr), else a failure */
static int agree(const char *config, const char *ckpt, const char *model, const char *images, const char *labels,
                 int opencv)
{
    char *out, *err;
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/export/onnx_agree.py' '%s' '%s' '%s' '%s' '%s' 1000 %s",
             getenv("TESTS_DIR"), getenv("CNNCTL"), ckpt, model, images, labels, opencv ? "opencv" : "");
    int rc = run_shell(&out, &err, cmd);
    fprintf(stderr, "export test: %s%s: %s", config, strstr(model, "b.onnx") ? " (fixed batch)" : "",
            strstr(out, ": ") ? strstr(out, ": ") + 2 : out);
    ck_assert_msg(rc == 0 || rc == 3, "%s: exit %d: %s%s", model, rc, out, err);
    free(out);
    free(err);
    return rc;
}

START_TEST(test_export_every_config)
{
    glob_t g;
    ck_assert_int_eq(glob_shipped_configs(&g), 0);
    ck_assert_uint_gt(g.gl_pathc, (size_t)_i);
    const char *config = g.gl_pathv[_i], *base = strrchr(config, '/') + 1;
    char data[4200], images[4300], labels[4300];
    snprintf(data, sizeof data, "%s/data", dir);
    /* Fashion-MNIST itself where it is at hand: real images for OpenCV */
    const char *shared = getenv("SHARED_DATASETS");
    char fashion[4200];
    snprintf(fashion, sizeof fashion, "%s/fashion-mnist", shared ? shared : "");
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", fashion);
    const int real = shared && file_exists(images);
    if (!real)
        snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", data);
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", real ? fashion : data);
    const int canvases = strcmp(base, "fcn.ini") == 0 || strcmp(base, "yolo.ini") == 0;
    const int colour = strncmp(base, "cifar-", 6) == 0;
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train -q '%s' --set 'data.dir=%s' --set train.epochs= --set train.iterations=1 "
                        "--set data.test_images= --set 'train.checkpoint=%s' --set train.log=",
                        config, real && !canvases && !colour ? fashion : data, in_dir("m.ckpt"));
    ck_assert_msg(rc == 0, "%s: train exit %d: %s", base, rc, err);
    free(out);
    free(err);
    rc = run_cnnctl(&out, &err, "export '%s' -o '%s'", in_dir("m.ckpt"), in_dir("m.onnx"));
    if (strcmp(base, "yolo.ini") == 0) {
        /* the detection loss has no ONNX form yet: said, nothing written */
        ck_assert_msg(rc == 2 && strstr(err, "[loss] (type = yolo) has no ONNX form") &&
                          strchr(err, '\n') == err + strlen(err) - 1,
                      "exit %d: %s", rc, err);
        ck_assert(!file_exists(in_dir("m.onnx")));
        free(out);
        free(err);
        globfree(&g);
        return;
    }
    ck_assert_msg(rc == 0 && file_exists(in_dir("m.onnx")), "%s: export exit %d: %s", base, rc, err);
    free(out);
    free(err);
    /* OpenCV on the grey classifiers; the checker on all */
    const int opencv = !canvases && !colour;
    if (agree(base, in_dir("m.ckpt"), in_dir("m.onnx"), images, labels, 0) == 0 && opencv) {
        /* OpenCV 4.6 runs squeeze-and-excitation's Mul only at a fixed batch */
        const int se = strcmp(base, "senet.ini") == 0;
        if (se) {
            rc = run_cnnctl(&out, &err, "export '%s' -o '%s' --batch 1000", in_dir("m.ckpt"), in_dir("b.onnx"));
            ck_assert_msg(rc == 0, "%s", err);
            free(out);
            free(err);
        }
        agree(base, in_dir("m.ckpt"), in_dir(se ? "b.onnx" : "m.onnx"), images, labels, 1);
    }
    globfree(&g);
}
END_TEST

/* What export refuses: one line, exit 2 (1 when the file cannot be
 * written), no file. */
START_TEST(test_export_refusals)
{
    char data[4200];
    snprintf(data, sizeof data, "%s/data", dir);
    ck_assert_int_eq(write_file(in_dir("lrn.ini"),
                                "[data]\nshape = 1x28x28\ntest_images =\n[train]\niterations = 1\nbatch = 4\n"
                                "[c]\ntype = conv\nfilters = 4\nsize = 3\n[n]\ntype = lrn\nsize = 3\n"
                                "[fc]\ntype = affine\noutputs = 10\n[loss]\ntype = softmax\n"),
                     0);
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train -q '%s' --set 'data.dir=%s' --set 'train.checkpoint=%s' --set train.log=",
                        in_dir("lrn.ini"), data, in_dir("lrn.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    static const struct {
        const char *args, *message;
        int status;
    } cases[] = {
        {"export '@/lrn.ckpt'", "missing -o FILE", 2},
        {"export '@/lrn.ckpt' -o '@/no/such/dir/x.onnx' -o '@/x.onnx/'", "x.onnx/", 1},
        {"export '@/lrn.ckpt' -o '@/x.onnx' --batch 0", "--batch: '0' is not a whole number", 2},
        {"export '@/none.ckpt' -o '@/x.onnx'", "none.ckpt", 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char args[8192] = "";
        for (const char *p = cases[k].args; *p; p++)
            if (*p == '@')
                strcat(args, dir);
            else
                strncat(args, p, 1);
        rc = run_cnnctl(&out, &err, "%s", args);
        ck_assert_msg(rc == cases[k].status && strstr(err, cases[k].message), "case %zu: exit %d: %s", k, rc, err);
        ck_assert(!file_exists(in_dir("x.onnx")));
        free(out);
        free(err);
    }
}
END_TEST

Suite *export_suite(void)
{
    Suite *s = suite_create("export");
    TCase *tc = tcase_create("ONNX");
    tcase_set_timeout(tc, 600);
    tcase_add_checked_fixture(tc, setup, teardown);
    glob_t g;
    int configs = glob_shipped_configs(&g) == 0 ? (int)g.gl_pathc : 1;
    globfree(&g);
    tcase_add_loop_test(tc, test_export_every_config, 0, configs);
    tcase_add_test(tc, test_export_refusals);
    suite_add_tcase(s, tc);
    return s;
}
