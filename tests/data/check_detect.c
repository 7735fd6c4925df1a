/* check_detect.c - detection end to end: canvases of shapes drawn by
 * `cnnctl compose` with their boxes, a small YOLO trained on them with
 * flips and shifts (the boxes moved with the images) to a high mean
 * average precision on canvases of other shapes, evaluated from the
 * checkpoint; predict's boxes and drawings; a run resumed with more steps
 * ends with the weights of one run straight; box files and configs that do
 * not fit are one line each, exit 2 (the malformed box files themselves
 * are in tests/corpus/boxes). */
#include <check.h>

#include "test_util.h"
#include "ckpt.h"
#include "idx.h"
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dir;

#define in_dir(name) test_path(dir, name)

static void setup(void)
{
    dir = make_temp_dir();
    /* canvases of 32 x 32 with 1 to 3 shapes */
    compose_shape_canvases(dir, 1, 2000, 200, 32, "1-3");
    char text[4096];
    snprintf(text, sizeof text,
             "[data]\ntask = detect\ndir = .\nclasses = hbar, vbar, cross, square\n"
             "train_labels = train-boxes.txt\ntest_labels = t10k-boxes.txt\n"
             "[train]\nepochs = 50\nbatch = 20\noptimizer = adam\nlr = 0.005\nschedule = cosine\nseed = 3\n"
             "threads = 2\nlog = %s/run/log.csv\ncheckpoint = %s/run/model.ckpt\n"
             "[augment]\nflip = 1\nshift = 3\n"
             "[c1]\ntype = conv\nfilters = 12\nsize = 3\npad = 1\nactivation = relu\n"
             "[p1]\ntype = maxpool\nsize = 2\n"
             "[c2]\ntype = conv\nfilters = 24\nsize = 3\npad = 1\nactivation = relu\n"
             "[p2]\ntype = maxpool\nsize = 2\n"
             "[c3]\ntype = conv\nfilters = 32\nsize = 3\npad = 1\nactivation = relu\n"
             "[p3]\ntype = maxpool\nsize = 2\n"
             "[c4]\ntype = conv\nfilters = 32\nsize = 3\npad = 1\nactivation = relu\n"
             "[head]\ntype = conv\nfilters = 27\nsize = 1\n"
             "[loss]\ntype = yolo\nanchors = 1,0.5, 0.5,1, 1,1\n",
             dir, dir);
    ck_assert_int_eq(write_file(in_dir("yolo.ini"), text), 0);
    /* the same data for a classifier */
    snprintf(text, sizeof text,
             "[data]\ntask = detect\ndir = .\ntrain_labels = train-boxes.txt\ntest_labels = t10k-boxes.txt\n"
             "[train]\nepochs = 1\nbatch = 20\n"
             "[fc]\ntype = affine\noutputs = 4\n[loss]\ntype = softmax\n");
    ck_assert_int_eq(write_file(in_dir("classifier.ini"), text), 0);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

/* Test canvas i as a PGM file. */
static void write_canvas(int i, const char *name)
{
    struct idx_images im;
    char err[512];
    ck_assert_int_eq(idx_read_images(in_dir("t10k-images-idx3-ubyte.gz"), &im, err, sizeof err), 0);
    char *text = malloc(64 + 32 * 32);
    int len = snprintf(text, 64, "P5\n32 32\n255\n");
    memcpy(text + len, im.pixels + (size_t)i * 32 * 32, 32 * 32);
    write_bytes_file(in_dir(name), (const unsigned char *)text, (size_t)len + 32 * 32);
    free(text);
    idx_images_free(&im);
}

START_TEST(test_detect_train_eval_predict)
{
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train -q '%s'", in_dir("yolo.ini"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    rc = run_cnnctl(&out, &err, "eval --json '%s'", in_dir("run/model.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    const double map = json_number(out, "map");
    fprintf(stderr, "detection test: mAP@0.5 %.4f on canvases of unseen shapes\n", map);
    ck_assert_msg(map > 0.85, "%s", out);
    ck_assert_msg(json_number(out, "accuracy") == map, "%s", out);
    ck_assert(strstr(out, "\"ap\": [") != NULL);
    free(out);
    free(err);
    /* the log's epoch rows: no training accuracy, the test mAP */
    char *log = read_file(in_dir("run/log.csv"), NULL);
    ck_assert_ptr_nonnull(log);
    ck_assert_msg(strstr(log, ",,,") != NULL && strstr(log, "nan") == NULL, "%s", log);
    free(log);
    /* --predictions: a row a kept box */
    rc = run_cnnctl(&out, &err, "eval '%s' --predictions '%s'", in_dir("run/model.ckpt"), in_dir("p.csv"));
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert(strstr(out, "mAP@0.5 ") == out && strstr(out, "AP square") != NULL);
    free(out);
    free(err);
    char *rows = read_file(in_dir("p.csv"), NULL);
    ck_assert(strncmp(rows, "image,class,score,x,y,w,h\n0,", 28) == 0);
    free(rows);
    /* no confusion matrix of boxes */
    rc = run_cnnctl(&out, &err, "eval '%s' --confusion", in_dir("run/model.ckpt"));
    ck_assert_int_eq(rc, 2);
    ck_assert(strstr(err, "average precision") != NULL);
    free(out);
    free(err);
    /* predict: the boxes of test canvas 0, as its box file has them */
    write_canvas(0, "c0.pgm");
    rc = run_cnnctl(&out, &err, "predict '%s' '%s' --json --draw '%s'", in_dir("run/model.ckpt"), in_dir("c0.pgm"),
                    in_dir("drawn"));
    ck_assert_msg(rc == 0, "%s", err);
    char *truth = read_file(in_dir("t10k-boxes.txt"), NULL);
    const char *line = strstr(truth, "\n0 ");
    ck_assert_ptr_nonnull(line);
    int cls;
    float x, y, w, h;
    ck_assert_int_eq(sscanf(line + 1, "0 %d %f %f %f %f", &cls, &x, &y, &w, &h), 5);
    static const char *const names[] = {"hbar", "vbar", "cross", "square"};
    char want[64];
    snprintf(want, sizeof want, "\"name\": \"%s\"", names[cls]);
    ck_assert_msg(strstr(out, want) != NULL, "%s not in %s", want, out);
    free(truth);
    free(out);
    free(err);
    struct image img;
    char msg[512];
    ck_assert_int_eq(image_read(in_dir("drawn/c0.png"), 3, &img, msg, sizeof msg), 0);
    ck_assert_int_eq(img.width, 256);
    image_free(&img);
    /* options a detector does not take */
    rc = run_cnnctl(&out, &err, "predict '%s' '%s' --alpha 0.3", in_dir("run/model.ckpt"), in_dir("c0.pgm"));
    ck_assert_int_eq(rc, 2);
    free(out);
    free(err);
}
END_TEST

/* With flips and shifts on images and boxes: 20 steps then 20 more, and
 * 40 straight, end with the same weights. */
START_TEST(test_detect_resume)
{
    assert_resume_matches_straight(dir, in_dir("yolo.ini"));
}
END_TEST

/* Configs and files that do not fit a detector: one line, exit 2. */
START_TEST(test_detect_errors)
{
    static const struct {
        const char *sets, *message;
    } cases[] = {
        {"--set data.train_labels=train-masks-idx3-ubyte.gz", "binary data (a gzip stream); expected a text box file"},
        {"classifier.ini", "boxes (task = detect), but the network does not end in a yolo layer"},
        {"--set data.task=segment --set data.train_labels=train-masks-idx3-ubyte.gz "
         "--set data.test_labels=t10k-masks-idx3-ubyte.gz",
         "masks, but the network ends in a yolo layer"},
        {"--set head.filters=26", "input has 26 channels; 3 anchors need 3 (5 + K)"},
        {"--set loss.anchors=1,0.3,2", "expected pairs of a width and a height"},
        {"--set loss.anchors=1,-1", "'-1' is not a positive number"},
        {"--set loss.anchors=", "a yolo layer needs anchors"},
        {"--set augment.rotate=10", "task = detect takes crop (shift) and flip, not rotate"},
        {"--set data.format=cifar", "detect needs format = idx"},
        {"--set head.filters=24 --set data.classes=a,b,c", "box of class 3; the network has 3 classes"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *out, *err;
        const int other = strstr(cases[k].sets, ".ini") != NULL;
        int rc = run_cnnctl(&out, &err, "train -q '%s' %s --set train.checkpoint=%s",
                            in_dir(other ? cases[k].sets : "yolo.ini"), other ? "" : cases[k].sets, in_dir("bad.ckpt"));
        ck_assert_msg(rc == 2, "case %zu: exit %d: %s", k, rc, err);
        ck_assert_msg(strstr(err, cases[k].message) != NULL, "case %zu: %s", k, err);
        ck_assert_msg(strchr(err, '\n') == err + strlen(err) - 1, "case %zu: more than one line: %s", k, err);
        ck_assert(!file_exists(in_dir("bad.ckpt")));
        free(out);
        free(err);
    }
}
END_TEST

/* The first n canvases of PREFIX as image files: folder/images/cNNNN.png
 * (every third a PGM), folder/masks/cNNNN.png (gray, a class a value) and
 * folder/labels/cNNNN.txt (the canvas's boxes, Darknet's lines), and a list
 * file folder.txt of "IMAGE BOXES" lines. */
static void canvases_as_files(const char *prefix, const char *folder, int n)
{
    char path[4096], msg[512], name[64];
    struct idx_images im, mk;
    snprintf(path, sizeof path, "%s-images-idx3-ubyte.gz", prefix);
    ck_assert_int_eq(idx_read_images(in_dir(path), &im, msg, sizeof msg), 0);
    snprintf(path, sizeof path, "%s-masks-idx3-ubyte.gz", prefix);
    ck_assert_int_eq(idx_read_images(in_dir(path), &mk, msg, sizeof msg), 0);
    snprintf(path, sizeof path, "%s-boxes.txt", prefix);
    char *boxes = read_file(in_dir(path), NULL);
    const int side = (int)im.rows;
    float *values = malloc(sizeof(float) * side * side);
    char *list = malloc((size_t)n * 128 + 1);
    list[0] = 0;
    static const char *const parts[] = {"", "/images", "/masks", "/labels"};
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s%s", folder, parts[k]);
        ck_assert_int_eq(mkdir(in_dir(path), 0777), 0);
    }
    for (int i = 0; i < n; i++) {
        const uint8_t *px = im.pixels + (size_t)i * side * side, *m = mk.pixels + (size_t)i * side * side;
        snprintf(name, sizeof name, "%s/images/c%04d.%s", folder, i, i % 3 ? "png" : "pgm");
        if (i % 3) {
            for (int q = 0; q < side * side; q++)
                values[q] = px[q] / 255.0f;
            ck_assert_int_eq(image_write_png(in_dir(name), values, 1, side, side, msg, sizeof msg), 0);
        } else {
            char *pgm = malloc(64 + (size_t)side * side);
            const int head = snprintf(pgm, 64, "P5\n%d %d\n255\n", side, side);
            memcpy(pgm + head, px, (size_t)side * side);
            write_bytes_file(in_dir(name), (const unsigned char *)pgm, (size_t)head + side * side);
            free(pgm);
        }
        sprintf(list + strlen(list), "%s %s/labels/c%04d.txt\n", name + strlen(folder) + 1, "..", i);
        for (int q = 0; q < side * side; q++)
            values[q] = m[q] / 255.0f;
        snprintf(name, sizeof name, "%s/masks/c%04d.png", folder, i);
        ck_assert_int_eq(image_write_png(in_dir(name), values, 1, side, side, msg, sizeof msg), 0);
        /* this canvas's lines of the set's box file, without the index */
        char own[4096] = "", head[32];
        const int hn = snprintf(head, sizeof head, "\n%d ", i);
        for (const char *p = strstr(boxes, head); p; p = strstr(p + 1, head)) {
            const char *end = strchr(p + 1, '\n');
            snprintf(own + strlen(own), sizeof own - strlen(own), "%.*s\n", (int)(end - p - hn), p + hn);
        }
        snprintf(name, sizeof name, "%s/labels/c%04d.txt", folder, i);
        ck_assert_int_eq(write_file(in_dir(name), own), 0);
    }
    snprintf(name, sizeof name, "%s/list.txt", folder);
    /* the list names the images from the folder and the box files from
     * ../FOLDER/labels: paths are relative to the list */
    char *fixed = malloc(strlen(list) * 2 + 1), *o = fixed;
    for (const char *p = list; *p;) {
        if (strncmp(p, "../labels", 9) == 0) {
            o += sprintf(o, "../%s/labels", folder);
            p += 9;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    ck_assert_int_eq(write_file(in_dir(name), fixed), 0);
    free(fixed);
    free(list);
    free(values);
    free(boxes);
    idx_images_free(&im);
    idx_images_free(&mk);
}

/* Dense labels beside image files: the same canvases as IDX files, as a
 * folder of images (PNG and PGM) with a folder of masks or of box files,
 * and as a list of "IMAGE BOXES" lines, train the same weights, step for
 * step (shuffled, shifted and flipped alike). A missing label file, a
 * mask of another size and a colour mask are one line each. */
START_TEST(test_dense_labels_beside_files)
{
    canvases_as_files("train", "tr", 200);
    canvases_as_files("t10k", "te", 40);
    char *out, *err;
    const char *steps = "--set train.epochs= --set train.iterations=15 --set train.log=";
    /* detection: the first 200 canvases as IDX and a box file, as a
     * folder, as a list */
    int rc;
    struct idx_images im;
    char msg[512];
    ck_assert_int_eq(idx_read_images(in_dir("train-images-idx3-ubyte.gz"), &im, msg, sizeof msg), 0);
    im.count = 200;
    ck_assert_int_eq(idx_write_images(in_dir("first-images-idx3-ubyte.gz"), &im, 1), 0);
    idx_images_free(&im);
    char *all = read_file(in_dir("train-boxes.txt"), NULL);
    char *cut = strstr(all, "\n200 ");
    if (cut)
        cut[1] = 0;
    ck_assert_int_eq(write_file(in_dir("first-boxes.txt"), all), 0);
    free(all);
    rc = run_cnnctl(&out, &err, "train -q '%s' %s --set data.train_images=first-images-idx3-ubyte.gz "
                    "--set data.train_labels=first-boxes.txt --set data.test_images= --set train.checkpoint=%s",
                    in_dir("yolo.ini"), steps, in_dir("idx.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    rc = run_cnnctl(&out, &err, "train -q --force '%s' %s --set data.format=folder --set data.shape=1x32x32 "
                    "--set data.train_images=tr/images --set data.train_labels=tr/labels "
                    "--set data.test_images=te/images --set data.test_labels=te/labels --set train.checkpoint=%s",
                    in_dir("yolo.ini"), steps, in_dir("folder.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    assert_same_weights(in_dir("idx.ckpt"), in_dir("folder.ckpt"));
    rc = run_cnnctl(&out, &err, "train -q --force '%s' %s --set data.format=list --set data.shape=1x32x32 "
                    "--set data.train_images=tr/list.txt --set data.test_images= --set train.checkpoint=%s",
                    in_dir("yolo.ini"), steps, in_dir("list.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    assert_same_weights(in_dir("idx.ckpt"), in_dir("list.ckpt"));
    /* eval of the folder-trained detector on the folder's test images */
    rc = run_cnnctl(&out, &err, "eval '%s'", in_dir("folder.ckpt"));
    ck_assert_msg(rc == 0 && strstr(out, "mAP@0.5 ") == out && strstr(out, "count 40"), "%s%s", out, err);
    free(out);
    free(err);
    /* segmentation: IDX masks and a folder of masks */
    struct idx_images mk;
    ck_assert_int_eq(idx_read_images(in_dir("train-masks-idx3-ubyte.gz"), &mk, msg, sizeof msg), 0);
    mk.count = 200;
    ck_assert_int_eq(idx_write_images(in_dir("first-masks-idx3-ubyte.gz"), &mk, 1), 0);
    idx_images_free(&mk);
    ck_assert_int_eq(write_file(in_dir("seg.ini"),
                                "[data]\ntask = segment\ndir = .\ntrain_images = first-images-idx3-ubyte.gz\n"
                                "train_labels = first-masks-idx3-ubyte.gz\ntest_images =\n"
                                "[train]\nbatch = 20\noptimizer = adam\nlr = 0.005\nseed = 3\n"
                                "[augment]\nflip = 1\nshift = 3\n"
                                "[c1]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n"
                                "[s]\ntype = conv\nfilters = 5\nsize = 1\n[loss]\ntype = softmax\n"),
                     0);
    rc = run_cnnctl(&out, &err, "train -q '%s' %s --set train.checkpoint=%s", in_dir("seg.ini"), steps,
                    in_dir("seg-idx.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    rc = run_cnnctl(&out, &err, "train -q '%s' %s --set data.format=folder --set data.shape=1x32x32 "
                    "--set data.train_images=tr/images --set data.train_labels=tr/masks --set train.checkpoint=%s",
                    in_dir("seg.ini"), steps, in_dir("seg-folder.ckpt"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    assert_same_weights(in_dir("seg-idx.ckpt"), in_dir("seg-folder.ckpt"));
    /* hostile: a missing box file, a mask of another size, a colour mask */
    remove(in_dir("tr/labels/c0007.txt"));
    rc = run_cnnctl(&out, &err, "train -q --force '%s' %s --set data.format=folder --set data.shape=1x32x32 "
                    "--set data.train_images=tr/images --set data.train_labels=tr/labels --set data.test_images= "
                    "--set train.checkpoint=%s", in_dir("yolo.ini"), steps, in_dir("bad.ckpt"));
    ck_assert_msg(rc == 2 && strstr(err, "c0007.png: no label file for it in") && strchr(err, '\n') == err + strlen(err) - 1,
                  "%s", err);
    free(out);
    free(err);
    float small[16 * 16] = {0}, colour[3 * 32 * 32] = {0};
    ck_assert_int_eq(image_write_png(in_dir("tr/masks/c0004.png"), small, 1, 16, 16, msg, sizeof msg), 0);
    ck_assert_int_eq(image_write_png(in_dir("tr/masks/c0005.png"), colour, 3, 32, 32, msg, sizeof msg), 0);
    static const char *const want[] = {"c0004.png: a mask of 16 x 16 for the image", "c0005.png: a mask must be an "
                                                                                     "8-bit gray PNG"};
    for (int k = 0; k < 2; k++) {
        rc = run_cnnctl(&out, &err, "train -q '%s' %s --set data.format=folder --set data.shape=1x32x32 "
                        "--set data.train_images=tr/images --set data.train_labels=tr/masks --set train.checkpoint=%s",
                        in_dir("seg.ini"), steps, in_dir("bad.ckpt"));
        ck_assert_msg(rc == 2 && strstr(err, want[k]) && strchr(err, '\n') == err + strlen(err) - 1, "%s", err);
        free(out);
        free(err);
        /* mend the first: all background */
        ck_assert_int_eq(image_write_png(in_dir("tr/masks/c0004.png"), colour, 1, 32, 32, msg, sizeof msg), 0);
    }
}
END_TEST

Suite *detect_suite(void)
{
    Suite *s = suite_create("detect");
    TCase *tc = tcase_create("end to end");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_detect_train_eval_predict);
    tcase_add_test(tc, test_detect_resume);
    tcase_add_test(tc, test_detect_errors);
    tcase_add_test(tc, test_dense_labels_beside_files);
    suite_add_tcase(s, tc);
    return s;
}
