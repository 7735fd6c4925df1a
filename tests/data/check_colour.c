/* check_colour.c - colour data end to end, in every format: a set whose
 * class is decided by colour alone (the channels' sum has the same
 * distribution in every class, so a net that ignores the channels cannot
 * learn it), written as IDX of rank 4, CIFAR records, a folder of PNGs and
 * JPEGs of mixed sizes, and a list file; trained to high accuracy with
 * auto normalisation, then evaluated and used for prediction from the
 * checkpoint alone, the training files gone. */
#include <check.h>

#include "test_util.h"
#include "cifar.h"
#include "idx.h"
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES 3

static char *dir;

static void setup(void)
{
    dir = make_temp_dir();
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

/* One h x w colour image of class k (channels first, [0, 1]): each pixel a
 * random level v with channel k raised by d and the other two lowered by
 * d / 2, so R + G + B = 3v whatever the class. */
static void colour_image(struct rng *r, int k, int h, int w, float *out)
{
    const long plane = (long)h * w;
    const float d = 0.1f + 0.1f * rng_uniform(r);
    for (long p = 0; p < plane; p++) {
        const float v = 0.25f + 0.5f * rng_uniform(r);
        for (int c = 0; c < 3; c++)
            out[c * plane + p] = c == k ? v + d : v - d / 2;
    }
}

static void to_bytes(const float *v, long n, uint8_t *out)
{
    for (long i = 0; i < n; i++)
        out[i] = (uint8_t)(v[i] * 255.0f + 0.5f);
}

static const char *net_text =
    "[c1]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\nactivation = relu\n"
    "[p1]\ntype = maxpool\nsize = 2\n"
    "[g]\ntype = globalavgpool\n"
    "[fc]\ntype = affine\noutputs = 3\n[loss]\ntype = softmax\n";

/* Trains the config (its [data] given) and returns the final test accuracy
 * from the log's last line. */
static void train_and_check(const char *data_section, const char *remove_after)
{
    char config[8192];
    snprintf(config, sizeof config,
             "[data]\ndir = %s\n%s\nmean = auto\nstd = auto\n"
             "[train]\nepochs = 8\nbatch = 20\nlr = 0.1\noptimizer = momentum\nthreads = 1\n"
             "log = %s/log.csv\ncheckpoint = %s/m.ckpt\n%s",
             dir, data_section, dir, dir, net_text);
    ck_assert_int_eq(write_file(test_path(dir, "c.ini"), config), 0);
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train -q --force '%s'", test_path(dir, "c.ini"));
    ck_assert_msg(rc == 0, "train: %s", err);
    float accuracy = 0;
    const char *at = strstr(out, "test_acc ");
    ck_assert_msg(at && sscanf(at, "test_acc %f", &accuracy) == 1, "no test accuracy in: %s", out);
    ck_assert_msg(accuracy >= 0.95f, "test accuracy %.3f: %s", accuracy, out);
    free(out);
    free(err);
    /* the checkpoint alone: the training files are gone */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", remove_after);
    ck_assert_int_eq(system(cmd), 0);
    rc = run_cnnctl(&out, &err, "eval '%s/m.ckpt' --json", dir);
    ck_assert_msg(rc == 0, "eval: %s", err);
    float again = 0;
    at = strstr(out, "\"accuracy\": ");
    ck_assert(at && sscanf(at, "\"accuracy\": %f", &again) == 1);
    ck_assert_float_eq_tol(again, accuracy, 1e-4f);
    free(out);
    free(err);
    /* a colour PNG of class 2 (blue), larger than the input, predicted */
    struct rng r;
    rng_seed(&r, 99, RNG_STREAM_TEST);
    float img[3 * 40 * 40];
    colour_image(&r, 2, 40, 40, img);
    char msg[512];
    ck_assert_int_eq(image_write_png(test_path(dir, "blue.png"), img, 3, 40, 40, msg, sizeof msg), 0);
    rc = run_cnnctl(&out, &err, "predict '%s/m.ckpt' '%s'", dir, test_path(dir, "blue.png"));
    ck_assert_msg(rc == 0, "predict: %s", err);
    /* "PATH:  TOP p  SECOND p ...": the top class is blue (class 2) */
    at = strstr(out, ":  ");
    ck_assert_msg(at && (strncmp(at + 3, "2 ", 2) == 0 || strncmp(at + 3, "blue ", 5) == 0), "predict: %s", out);
    free(out);
    free(err);
    /* the first layer's filters drawn in colour */
    rc = run_cnnctl(&out, &err, "viz '%s/m.ckpt' --layer c1 -o '%s'", dir, test_path(dir, "f.png"));
    ck_assert_msg(rc == 0 && strstr(out, "(in colour)"), "viz: %s%s", out, err);
    struct image drawn;
    ck_assert_int_eq(image_read(test_path(dir, "f.png"), 3, &drawn, msg, sizeof msg), 0);
    const long plane = (long)drawn.height * drawn.width;
    long hued = 0;
    for (long p = 0; p < plane; p++)
        hued += drawn.pixels[p] != drawn.pixels[plane + p] || drawn.pixels[p] != drawn.pixels[2 * plane + p];
    ck_assert_int_gt(hued, plane / 10);
    image_free(&drawn);
    free(out);
    free(err);
}

START_TEST(test_colour_idx_rank4)
{
    struct rng r;
    rng_seed(&r, 1, RNG_STREAM_TEST);
    const int H = 12, W = 12, n[2] = {300, 90};
    const char *names[2][2] = {{"train-im.gz", "train-lb.gz"}, {"test-im.gz", "test-lb.gz"}};
    for (int s = 0; s < 2; s++) {
        uint8_t *pixels = malloc((size_t)n[s] * 3 * H * W), *labels = malloc(n[s]);
        float v[3 * 12 * 12];
        for (int i = 0; i < n[s]; i++) {
            labels[i] = (uint8_t)(i % CLASSES);
            colour_image(&r, labels[i], H, W, v);
            to_bytes(v, 3 * H * W, pixels + (long)i * 3 * H * W);
        }
        struct idx_images im = {.count = (uint32_t)n[s], .rows = H, .cols = W, .channels = 3, .pixels = pixels};
        struct idx_labels lb = {(uint32_t)n[s], labels};
        ck_assert_int_eq(idx_write_images(test_path(dir, names[s][0]), &im, 1), 0);
        ck_assert_int_eq(idx_write_labels(test_path(dir, names[s][1]), &lb, 1), 0);
        free(pixels);
        free(labels);
    }
    train_and_check("format = idx\nshape = 3x12x12\ntrain_images = train-im.gz\ntrain_labels = train-lb.gz\n"
                    "test_images = test-im.gz\ntest_labels = test-lb.gz",
                    test_path(dir, "train-im.gz"));
}
END_TEST

START_TEST(test_colour_cifar)
{
    struct rng r;
    rng_seed(&r, 2, RNG_STREAM_TEST);
    const int n[3] = {150, 150, 90};
    const char *names[3] = {"data_batch_1.bin", "data_batch_2.bin", "test_batch.bin"};
    for (int s = 0; s < 3; s++) {
        struct cifar_set set = {(uint32_t)n[s], malloc((size_t)n[s] * CIFAR_PIXELS), malloc(n[s])};
        float v[CIFAR_PIXELS];
        for (int i = 0; i < n[s]; i++) {
            set.labels[i] = (uint8_t)(i % CLASSES);
            colour_image(&r, set.labels[i], 32, 32, v);
            to_bytes(v, CIFAR_PIXELS, set.pixels + (long)i * CIFAR_PIXELS);
        }
        ck_assert_int_eq(cifar_write(test_path(dir, names[s]), &set, CIFAR_10), 0);
        cifar_free(&set);
    }
    char remove[4200];
    snprintf(remove, sizeof remove, "%s' '%s", test_path(dir, names[0]), test_path(dir, names[1]));
    train_and_check("format = cifar\nshape = 3x32x32\ntrain_images = data_batch_1.bin, data_batch_2.bin", remove);
    /* eval on other CIFAR files: no label file goes with them */
    char *out, *err;
    ck_assert_int_eq(run_cnnctl(&out, &err, "eval '%s/m.ckpt' --images '%s'", dir, test_path(dir, names[2])), 0);
    ck_assert_ptr_nonnull(strstr(out, "count 90"));
    free(out);
    free(err);
    ck_assert_int_eq(run_cnnctl(&out, &err, "eval '%s/m.ckpt' --images '%s' --labels x", dir,
                                test_path(dir, names[2])), 2);
    ck_assert_ptr_nonnull(strstr(err, "--labels is for IDX images; cifar data holds its labels"));
    free(out);
    free(err);
}
END_TEST

/* train/CLASS/ and test/CLASS/ folders of PNGs and JPEGs of mixed sizes,
 * gray distractor files left out with on_bad_image = skip; and a list
 * file naming the same images. */
static void write_image_files(const char *root, int count, struct rng *r, FILE *list)
{
    static const char *classes[CLASSES] = {"red", "green", "blue"};
    float *v = malloc(sizeof(float) * 3 * 40 * 40);
    char path[4200], msg[512];
    for (int i = 0; i < count; i++) {
        const int k = i % CLASSES, h = 14 + (int)rng_below(r, 20), w = 14 + (int)rng_below(r, 20);
        colour_image(r, k, h, w, v);
        snprintf(path, sizeof path, "%s/%s/%03d.%s", root, classes[k], i, i % 2 ? "jpg" : "png");
        int rc = i % 2 ? image_write_jpeg(path, v, 3, h, w, 95, msg, sizeof msg)
                       : image_write_png(path, v, 3, h, w, msg, sizeof msg);
        ck_assert_msg(rc == 0, "%s", msg);
        if (list)
            fprintf(list, "%s %d\n", path + strlen(dir) + 1, k);
    }
    free(v);
}

START_TEST(test_colour_folder)
{
    struct rng r;
    rng_seed(&r, 3, RNG_STREAM_TEST);
    char train[4200], test[4200];
    snprintf(train, sizeof train, "%s/img/train", dir);
    snprintf(test, sizeof test, "%s/img/test", dir);
    write_image_files(train, 300, &r, NULL);
    write_image_files(test, 90, &r, NULL);
    char junk[4300];
    snprintf(junk, sizeof junk, "%s/green/notes.txt", train);
    ck_assert_int_eq(write_file(junk, "not an image\n"), 0);
    char section[512];
    snprintf(section, sizeof section, "format = folder\nshape = 3x12x12\ntrain_images = img/train\n"
             "test_images = img/test\non_bad_image = skip");
    train_and_check(section, train);
}
END_TEST

START_TEST(test_colour_list)
{
    struct rng r;
    rng_seed(&r, 4, RNG_STREAM_TEST);
    char root[4200];
    snprintf(root, sizeof root, "%s/files", dir);
    for (int s = 0; s < 2; s++) {
        FILE *list = fopen(test_path(dir, s ? "test.txt" : "train.txt"), "w");
        ck_assert_ptr_nonnull(list);
        fprintf(list, "# path label\n");
        write_image_files(root, s ? 90 : 300, &r, list);
        fclose(list);
    }
    train_and_check("format = list\nshape = 3x12x12\ntrain_images = train.txt\ntest_images = test.txt\n"
                    "classes = red, green, blue",
                    test_path(dir, "train.txt"));
}
END_TEST

Suite *colour_suite(void)
{
    Suite *s = suite_create("colour");
    TCase *tc = tcase_create("every format");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_colour_idx_rank4);
    tcase_add_test(tc, test_colour_cifar);
    tcase_add_test(tc, test_colour_folder);
    tcase_add_test(tc, test_colour_list);
    suite_add_tcase(s, tc);
    return s;
}
