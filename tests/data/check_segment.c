/* check_segment.c - segmentation end to end: canvases of shapes drawn by
 * `cnnctl compose` (their masks the shapes' pixels, 1 + the class), a
 * small FCN trained on them with flips and shifts (the masks moved with the
 * images) to a high mean IoU on canvases of other bars, evaluated from the
 * checkpoint; a run resumed with more steps ends with the weights of one
 * run straight; masks that do not fit are one line each, exit 2. */
#include <check.h>

#include "test_util.h"
#include "ckpt.h"
#include "idx.h"
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

#define in_dir(name) test_path(dir, name)

static void setup(void)
{
    dir = make_temp_dir();
    /* canvases of 24 x 24 with 1 or 2 shapes */
    compose_shape_canvases(dir, 0, 600, 150, 24, "1-2");
    char text[4096];
    snprintf(text, sizeof text,
             "[data]\ntask = segment\ndir = .\ntrain_labels = train-masks-idx3-ubyte.gz\n"
             "test_labels = t10k-masks-idx3-ubyte.gz\n"
             "[train]\nepochs = 16\nbatch = 20\noptimizer = adam\nlr = 0.005\nseed = 3\nthreads = 2\n"
             "log = %s/run/log.csv\ncheckpoint = %s/run/model.ckpt\n"
             "[augment]\nflip = 1\nshift = 2\n"
             "[c1]\ntype = conv\nfilters = 12\nsize = 3\npad = 1\nactivation = relu\n"
             "[p1]\ntype = maxpool\nsize = 2\n"
             "[c2]\ntype = conv\nfilters = 16\nsize = 3\npad = 1\nactivation = relu\n"
             "[s2]\ntype = conv\nfilters = 5\nsize = 1\n"
             "[up]\ntype = deconv\nfilters = 5\nsize = 4\nstride = 2\npad = 1\n"
             "[s1]\ntype = conv\nfilters = 5\nsize = 1\ninput = c1\n"
             "[sum]\ntype = add\ninput = up, s1\n"
             "[loss]\ntype = softmax\n",
             dir, dir);
    ck_assert_int_eq(write_file(in_dir("fcn.ini"), text), 0);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

START_TEST(test_segment_train_eval)
{
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train -q '%s'", in_dir("fcn.ini"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    rc = run_cnnctl(&out, &err, "eval --json --confusion '%s'", in_dir("run/model.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    const double miou = json_number(out, "mean_iou"), accuracy = json_number(out, "accuracy");
    fprintf(stderr, "segmentation test: pixel accuracy %.4f, mean IoU %.4f on canvases of unseen shapes\n", accuracy,
            miou);
    ck_assert_msg(miou > 0.8 && accuracy > 0.95, "%s", out);
    ck_assert(strstr(out, "\"iou\": [") && strstr(out, "\"confusion\": ["));
    free(out);
    free(err);
    /* predict: a test canvas's class shares, and its classes drawn in
     * colour over it (alone with --alpha 1) */
    struct idx_images im;
    char msg[512];
    ck_assert_int_eq(idx_read_images(in_dir("t10k-images-idx3-ubyte.gz"), &im, msg, sizeof msg), 0);
    char pgm[64 + 24 * 24];
    const int head = snprintf(pgm, 64, "P5\n24 24\n255\n");
    memcpy(pgm + head, im.pixels, 24 * 24);
    write_bytes_file(in_dir("c0.pgm"), (const unsigned char *)pgm, (size_t)head + 24 * 24);
    idx_images_free(&im);
    rc = run_cnnctl(&out, &err, "predict '%s' '%s' --draw '%s' --alpha 1", in_dir("run/model.ckpt"), in_dir("c0.pgm"),
                    in_dir("drawn"));
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(strstr(out, "c0.pgm:  0 0.") != NULL, "%s", out);   /* background first */
    free(out);
    free(err);
    struct image drawn;
    ck_assert_int_eq(image_read(in_dir("drawn/c0.png"), 3, &drawn, msg, sizeof msg), 0);
    ck_assert_int_eq(drawn.width, 264);   /* 24 x 11: 256 pixels or more */
    /* --alpha 1: the colours alone, so few of them (the palette's) */
    int distinct = 0;
    float seen[8][3];
    const long plane = (long)drawn.height * drawn.width;
    for (long q = 0; q < plane && distinct <= 8; q++) {
        int k = 0;
        while (k < distinct && !(seen[k][0] == drawn.pixels[q] && seen[k][1] == drawn.pixels[plane + q] &&
                                 seen[k][2] == drawn.pixels[2 * plane + q]))
            k++;
        if (k == distinct && distinct < 8) {
            seen[k][0] = drawn.pixels[q];
            seen[k][1] = drawn.pixels[plane + q];
            seen[k][2] = drawn.pixels[2 * plane + q];
        }
        distinct += k == distinct;
    }
    ck_assert_msg(distinct >= 2 && distinct <= 5, "%d colours", distinct);
    image_free(&drawn);
    /* the masks can't be per-image predictions */
    rc = run_cnnctl(&out, &err, "eval '%s' --predictions '%s'", in_dir("run/model.ckpt"), in_dir("p.csv"));
    ck_assert_int_eq(rc, 2);
    ck_assert(strstr(err, "labels each pixel") != NULL);
    ck_assert(!file_exists(in_dir("p.csv")));
    free(out);
    free(err);
}
END_TEST

/* With flips and shifts on images and masks: 20 steps then 20 more, and
 * 40 straight, end with the same weights. */
START_TEST(test_segment_resume)
{
    assert_resume_matches_straight(dir, in_dir("fcn.ini"));
}
END_TEST

/* Masks that do not fit the images or the network, and a task the network
 * does not match: one line, exit 2. */
START_TEST(test_segment_errors)
{
    /* masks of another size: the bars' own 12 x 12 files as masks */
    static const struct {
        const char *sets, *message;
    } cases[] = {
        {"--set data.train_labels=shapes-images-idx3-ubyte.gz",
         "masks of 600 x 12 x 12 for the 600 images of 24 x 24"},
        {"--set data.train_labels=shapes-labels-idx1-ubyte.gz", "shapes-labels-idx1-ubyte.gz"},
        {"--set loss.type=l2", "masks (task = segment), but the network's loss takes one label an image"},
        {"--set data.task=classify --set data.train_labels=train-masks-idx3-ubyte.gz",
         "an image file where labels were expected"},
        {"--set s2.filters=3 --set up.filters=3 --set s1.filters=3",
         "is not below the network's 3 classes"},
        {"--set data.format=cifar", "segment needs format = idx"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *out, *err;
        int rc = run_cnnctl(&out, &err, "train -q '%s' %s --set train.checkpoint=%s", in_dir("fcn.ini"),
                            cases[k].sets, in_dir("bad.ckpt"));
        ck_assert_msg(rc == 2, "case %zu: exit %d: %s", k, rc, err);
        ck_assert_msg(strstr(err, cases[k].message) != NULL, "case %zu: %s", k, err);
        ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "case %zu: more than one line: %s", k, err);
        ck_assert(!file_exists(in_dir("bad.ckpt")));
        free(out);
        free(err);
    }
}
END_TEST

Suite *segment_suite(void)
{
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("end to end");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_segment_train_eval);
    tcase_add_test(tc, test_segment_resume);
    tcase_add_test(tc, test_segment_errors);
    suite_add_tcase(s, tc);
    return s;
}
