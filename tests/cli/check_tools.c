/* check_tools.c - the verbs around a trained net: filter, predict, viz,
 * plot; run as the binary, their pictures read back with image.c. */
#include "test_util.h"

#include "idx.h"
#include "image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

/* a file in this test's folder */
#define in_dir(name) test_path(dir, name)

/* synthetic 12x12 bars (light on dark), a small conv net trained on them */
static void setup(void)
{
    dir = make_temp_dir();
    write_synthetic_idx(dir, "train", 1200, 12, 12, 4, 1);
    write_synthetic_idx(dir, "t10k", 400, 12, 12, 4, 2);
    char text[4096];
    snprintf(text, sizeof text,
             "[data]\ndir = .\nclasses = row1, col1, row2, col2\n[train]\nepochs = 3\nbatch = 20\nlr = 0.1\n"
             "threads = 1\nlog = %s/run/log.csv\ncheckpoint = %s/run/model.ckpt\n"
             "[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n[p1]\ntype = maxpool\nsize = 2\n"
             "[fc]\ntype = affine\noutputs = 4\n[loss]\ntype = softmax\n",
             dir, dir);
    ck_assert_int_eq(write_file(in_dir("bars.ini"), text), 0);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

static void train_bars(void)
{
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "train -q '%s'", in_dir("bars.ini"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
}

/* A binary PGM of h x w bytes. */
static void write_pgm(const char *path, const uint8_t *px, int h, int w)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "P5\n# test\n%d %d\n255\n", w, h);
    fwrite(px, 1, (size_t)h * w, f);
    fclose(f);
}

/* compose's three files at prefix: canvases, masks, and the boxes'
 * lines (IMAGE CLASS X Y W H); returns the count of boxes. */
struct box {
    int image, cls;
    double x, y, w, h;
};

static int read_composed(const char *prefix, struct idx_images *im, struct idx_images *masks, struct box *boxes,
                         int max)
{
    char path[4200], msg[512];
    snprintf(path, sizeof path, "%.4096s-images-idx3-ubyte.gz", prefix);
    ck_assert_msg(idx_read_images(path, im, msg, sizeof msg) == 0, "%s", msg);
    snprintf(path, sizeof path, "%.4096s-masks-idx3-ubyte.gz", prefix);
    ck_assert_msg(idx_read_images(path, masks, msg, sizeof msg) == 0, "%s", msg);
    snprintf(path, sizeof path, "%.4096s-boxes.txt", prefix);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        ck_assert_int_lt(n, max);
        ck_assert_int_eq(sscanf(line, "%d %d %lf %lf %lf %lf", &boxes[n].image, &boxes[n].cls, &boxes[n].x,
                                &boxes[n].y, &boxes[n].w, &boxes[n].h), 6);
        n++;
    }
    fclose(f);
    return n;
}

/* compose draws the bars on canvases: 2 or 3 a canvas as asked, each mask
 * pixel inside a box of its class, each box around stroke pixels of the
 * canvas; the same arguments give the same bytes, another seed others; bad
 * arguments exit 2 and write nothing. */
START_TEST(test_compose)
{
    char images[4096], labels[4096], prefix[4096], again[4096];
    snprintf(images, sizeof images, "%s", in_dir("train-images-idx3-ubyte.gz"));
    snprintf(labels, sizeof labels, "%s", in_dir("train-labels-idx1-ubyte.gz"));
    snprintf(prefix, sizeof prefix, "%s", in_dir("canvas dir/a"));
    snprintf(again, sizeof again, "%s", in_dir("canvas dir/b"));
    char *out, *err;
    const char *args = "--count 40 --size 32x40 --objects 2-3 --scale 1-2 --clutter 1";
    int rc = run_cnnctl(&out, &err, "compose -i '%s' -l '%s' -o '%s' %s --seed 5", images, labels, prefix, args);
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    struct idx_images im, masks;
    static struct box boxes[200];
    const int n = read_composed(prefix, &im, &masks, boxes, 200);
    ck_assert_int_eq(im.count, 40);
    ck_assert_int_eq(im.rows, 32);
    ck_assert_int_eq(im.cols, 40);
    int per_image[40] = {0};
    for (int b = 0; b < n; b++) {
        ck_assert(boxes[b].image >= 0 && boxes[b].image < 40 && boxes[b].cls >= 0 && boxes[b].cls < 4);
        per_image[boxes[b].image]++;
        /* stroke pixels inside the box */
        int strokes = 0;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 40; x++)
                strokes += fabs((x + 0.5) / 40 - boxes[b].x) < boxes[b].w / 2 &&
                           fabs((y + 0.5) / 32 - boxes[b].y) < boxes[b].h / 2 &&
                           im.pixels[(size_t)boxes[b].image * 32 * 40 + y * 40 + x] >= 128;
        ck_assert_int_gt(strokes, 0);
    }
    for (int i = 0; i < 40; i++)
        ck_assert_msg(per_image[i] >= 2 && per_image[i] <= 3, "canvas %d: %d digits", i, per_image[i]);
    for (int i = 0; i < 40; i++)
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 40; x++) {
                const int m = masks.pixels[(size_t)i * 32 * 40 + y * 40 + x];
                if (!m)
                    continue;
                int inside = 0;
                for (int b = 0; b < n && !inside; b++)
                    inside = boxes[b].image == i && boxes[b].cls == m - 1 &&
                             fabs((x + 0.5) / 40 - boxes[b].x) < boxes[b].w / 2 &&
                             fabs((y + 0.5) / 32 - boxes[b].y) < boxes[b].h / 2;
                ck_assert_msg(inside, "canvas %d pixel %d, %d: class %d outside its boxes", i, y, x, m - 1);
            }
    idx_images_free(&im);
    idx_images_free(&masks);
    /* the same bytes again; another seed, other canvases */
    rc = run_cnnctl(&out, &err, "compose -i '%s' -l '%s' -o '%s' %s --seed 5", images, labels, again, args);
    ck_assert_int_eq(rc, 0);
    free(out);
    free(err);
    static const char *const suffix[3] = {"-images-idx3-ubyte.gz", "-masks-idx3-ubyte.gz", "-boxes.txt"};
    for (int f = 0; f < 3; f++) {
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s%s", prefix, suffix[f]);
        snprintf(b, sizeof b, "%s%s", again, suffix[f]);
        size_t na, nb;
        char *x = read_file(a, &na), *y = read_file(b, &nb);
        ck_assert_msg(na == nb && memcmp(x, y, na) == 0, "%s differs", suffix[f]);
        free(x);
        free(y);
    }
    rc = run_cnnctl(&out, &err, "compose -i '%s' -l '%s' -o '%s' %s --seed 6", images, labels, again, args);
    ck_assert_int_eq(rc, 0);
    free(out);
    free(err);
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s-images-idx3-ubyte.gz", prefix);
    snprintf(b, sizeof b, "%s-images-idx3-ubyte.gz", again);
    size_t na, nb;
    char *x = read_file(a, &na), *y = read_file(b, &nb);
    ck_assert(na != nb || memcmp(x, y, na) != 0);
    free(x);
    free(y);
    /* errors: exit 2, one line, nothing written */
    static const struct {
        const char *args, *message;
    } bad[] = {
        {"--objects 3-2", "--objects: '3-2' is not MIN-MAX"},
        {"--size 9", "a 9 x 9 canvas is smaller than a digit at scale 0.8 (12 pixels)"},
        {"--scale 0", "--scale: '0' is not MIN-MAX"},
        {"--count 0", "--count: '0' is not a whole number"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        rc = run_cnnctl(&out, &err, "compose -i '%s' -l '%s' -o '%s' %s", images, labels, in_dir("bad/c"),
                        bad[k].args);
        ck_assert_int_eq(rc, 2);
        ck_assert_msg(strstr(err, bad[k].message), "%s: %s", bad[k].args, err);
        ck_assert(!file_exists(in_dir("bad")));
        free(out);
        free(err);
    }
    rc = run_cnnctl(&out, &err, "compose -i '%s' -l '%s' -o '%s'", images, in_dir("t10k-labels-idx1-ubyte.gz"),
                    in_dir("bad/c"));
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(err, "has 400 labels for the 1200 images of"), "%s", err);
    ck_assert(!file_exists(in_dir("bad")));
    free(out);
    free(err);
}
END_TEST

START_TEST(test_filter_kernels)
{
    /* a 6x5 ramp with a bright dot */
    uint8_t px[30];
    for (int i = 0; i < 30; i++)
        px[i] = (uint8_t)(i * 5);
    px[2 * 5 + 2] = 250;
    write_pgm(in_dir("in.pgm"), px, 6, 5);
    char *out, *err;
    struct image img;
    char msg[256];

    /* identity gives the image back */
    ck_assert_int_eq(run_cnnctl(&out, &err, "filter --kernel identity '%s' -o '%s'", in_dir("in.pgm"),
                                in_dir("id.png")), 0);
    free(out);
    free(err);
    ck_assert_int_eq(image_read(in_dir("id.png"), 1, &img, msg, sizeof msg), 0);
    ck_assert_int_eq(img.height, 6);
    ck_assert_int_eq(img.width, 5);
    for (int i = 0; i < 30; i++)
        ck_assert_float_eq_tol(img.pixels[i], px[i] / 255.0f, 0.5f / 255);
    image_free(&img);

    /* box blur against the definition, zero padding at the border */
    ck_assert_int_eq(run_cnnctl(NULL, NULL, "filter -k box '%s' -o '%s'", in_dir("in.pgm"), in_dir("box.png")), 0);
    ck_assert_int_eq(image_read(in_dir("box.png"), 1, &img, msg, sizeof msg), 0);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 5; x++) {
            float sum = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++)
                    if (y + dy >= 0 && y + dy < 6 && x + dx >= 0 && x + dx < 5)
                        sum += px[(y + dy) * 5 + x + dx] / 255.0f;
            ck_assert_float_eq_tol(img.pixels[y * 5 + x], sum / 9, 0.5f / 255 + 1e-6f);
        }
    image_free(&img);

    /* edge2 (Laplacian) from a kernel file; abs scale: |4 * dot - neighbours| at the dot */
    ck_assert_int_eq(write_file(in_dir("lap.txt"), "# Laplacian\n0 1 0\n1 -4 1\n0 1 0\n"), 0);
    ck_assert_int_eq(run_cnnctl(NULL, NULL, "filter --kernel-file '%s' --scale abs '%s' -o '%s'", in_dir("lap.txt"),
                                in_dir("in.pgm"), in_dir("lap.png")), 0);
    ck_assert_int_eq(image_read(in_dir("lap.png"), 1, &img, msg, sizeof msg), 0);
    float want = fabsf(px[7] + px[11] + px[13] + px[17] - 4.0f * px[12]) / 255.0f;
    ck_assert_float_eq_tol(img.pixels[12], want > 1 ? 1 : want, 0.5f / 255 + 1e-6f);
    image_free(&img);

    /* errors: one line each, nothing written */
    ck_assert_int_eq(write_file(in_dir("even.txt"), "1 1\n1 1\n"), 0);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "filter --kernel-file '%s' '%s' -o '%s'", in_dir("even.txt"),
                                in_dir("in.pgm"), in_dir("bad.png")), 2);
    ck_assert_ptr_nonnull(strstr(err, "even.txt: the kernel is 2 x 2; width and height must be odd"));
    free(err);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "filter --kernel blur '%s' -o '%s'", in_dir("in.pgm"), in_dir("bad.png")),
                     2);
    ck_assert_ptr_nonnull(strstr(err, "'blur' is not identity, edge1, edge2, edge3, sharpen, box or gauss"));
    free(err);
    ck_assert_int_eq(write_file(in_dir("junk.pgm"), "P5\n4 4\n255\nab"), 0);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "filter -k box '%s' -o '%s'", in_dir("junk.pgm"), in_dir("bad.png")), 2);
    ck_assert_ptr_nonnull(strstr(err, "junk.pgm: truncated: 2 of 16 pixels"));
    free(err);
    ck_assert(!file_exists(in_dir("bad.png")));
}
END_TEST

START_TEST(test_predict_own_images)
{
    train_bars();
    struct idx_images im;
    struct idx_labels lb;
    char msg[512];
    ck_assert_int_eq(idx_read_images(in_dir("t10k-images-idx3-ubyte.gz"), &im, msg, sizeof msg), 0);
    ck_assert_int_eq(idx_read_labels(in_dir("t10k-labels-idx1-ubyte.gz"), &lb, msg, sizeof msg), 0);
    const char *names[] = {"row1", "col1", "row2", "col2"};
    for (int i = 0; i < 4; i++) {
        const uint8_t *px = im.pixels + i * 144;
        /* as it is; three times larger; dark on light */
        uint8_t big[36 * 36], inverse[144];
        for (int y = 0; y < 36; y++)
            for (int x = 0; x < 36; x++)
                big[y * 36 + x] = px[(y / 3) * 12 + x / 3];
        for (int j = 0; j < 144; j++)
            inverse[j] = (uint8_t)(255 - px[j]);
        write_pgm(in_dir("a.pgm"), px, 12, 12);
        write_pgm(in_dir("big.pgm"), big, 36, 36);
        write_pgm(in_dir("inv.pgm"), inverse, 12, 12);
        char *out, *err;
        int rc = run_cnnctl(&out, &err, "predict '%s' '%s' '%s' '%s' --top 2", in_dir("run/model.ckpt"),
                            in_dir("a.pgm"), in_dir("big.pgm"), in_dir("inv.pgm"));
        ck_assert_msg(rc == 0, "%s", err);
        char want[128];
        snprintf(want, sizeof want, "a.pgm:  %s ", names[lb.labels[i]]);
        ck_assert_msg(strstr(out, want) != NULL, "want '%s' in %s", want, out);
        snprintf(want, sizeof want, "big.pgm:  %s ", names[lb.labels[i]]);
        ck_assert_msg(strstr(out, want) != NULL, "want '%s' in %s", want, out);
        snprintf(want, sizeof want, "inv.pgm:  %s ", names[lb.labels[i]]);
        ck_assert_msg(strstr(out, want) != NULL, "want '%s' in %s", want, out);
        ck_assert_ptr_nonnull(strstr(strstr(out, "inv.pgm"), "(inverted)"));
        const char *line_a = strstr(out, "a.pgm:"), *end_a = strchr(line_a, '\n');
        const char *mark = strstr(line_a, "(inverted)");
        ck_assert_msg(mark == NULL || mark > end_a, "a light-on-dark image was inverted: %s", out);
        free(out);
        free(err);
    }
    /* the probabilities of --json add up over all classes */
    char *out;
    ck_assert_int_eq(run_cnnctl(&out, NULL, "predict --json --top 4 --no-invert '%s' '%s'", in_dir("run/model.ckpt"),
                                in_dir("a.pgm")), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"inverted\": false, \"top\": [{\"class\": "));
    double sum = 0;
    for (const char *p = out; (p = strstr(p, "\"probability\": ")) != NULL; p++)
        sum += atof(p + 15);
    ck_assert_double_eq_tol(sum, 1.0, 1e-4);
    free(out);
    char *err;
    ck_assert_int_eq(run_cnnctl(NULL, &err, "predict '%s' '%s'", in_dir("run/model.ckpt"), in_dir("bars.ini")), 2);
    ck_assert_ptr_nonnull(strstr(err, "bars.ini: not a PNG, JPEG or PGM image"));
    free(err);
    /* a bad image after a good one: no half-written JSON array on stdout */
    ck_assert_int_eq(run_cnnctl(&out, &err, "predict --json '%s' '%s' '%s'", in_dir("run/model.ckpt"), in_dir("a.pgm"),
                                in_dir("bars.ini")), 2);
    ck_assert_msg(out[0] == '\0', "stdout: %s", out);
    ck_assert_ptr_nonnull(strstr(err, "bars.ini: not a PNG, JPEG or PGM image"));
    free(out);
    free(err);
    idx_images_free(&im);
    idx_labels_free(&lb);
}
END_TEST

START_TEST(test_viz_filters_and_maps)
{
    train_bars();
    char *out, *err;
    int rc = run_cnnctl(&out, &err, "viz '%s' --layer c1 -o '%s'", in_dir("run/model.ckpt"), in_dir("f.png"));
    ck_assert_msg(rc == 0, "%s", err);
    free(out);
    free(err);
    struct image img;
    char msg[256];
    /* 4 filters of 1x3x3: 2 x 2 tiles of 42 px (zoom 14: at least 40) with 1 px gaps */
    ck_assert_int_eq(image_read(in_dir("f.png"), 1, &img, msg, sizeof msg), 0);
    ck_assert_int_eq(img.width, 2 * 43 + 1);
    ck_assert_int_eq(img.height, 2 * 43 + 1);
    ck_assert_float_eq_tol(img.pixels[0], 0.5f, 0.01f);   /* the gap */
    image_free(&img);

    uint8_t px[144];
    for (int i = 0; i < 144; i++)
        px[i] = (uint8_t)(i / 12 == 5 ? 230 : 10);   /* a bar on row 5 */
    FILE *f = fopen(in_dir("row.pgm"), "wb");
    fprintf(f, "P5 12 12 255\n");
    fwrite(px, 1, 144, f);
    fclose(f);
    rc = run_cnnctl(&out, &err, "viz '%s' --layer p1 --input '%s' --maps '%s'", in_dir("run/model.ckpt"),
                    in_dir("row.pgm"), in_dir("maps.png"));
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_ptr_nonnull(strstr(out, "4 feature maps of 6 x 6"));
    free(out);
    free(err);
    /* 4 maps of 6x6: zoom 10 (at least 56 px), 2 x 2 */
    ck_assert_int_eq(image_read(in_dir("maps.png"), 1, &img, msg, sizeof msg), 0);
    ck_assert_int_eq(img.width, 2 * 61 + 1);
    image_free(&img);

    ck_assert_int_eq(run_cnnctl(NULL, &err, "viz '%s' --layer p1 -o '%s'", in_dir("run/model.ckpt"), in_dir("x.png")),
                     2);
    ck_assert_ptr_nonnull(strstr(err, "[p1] is a maxpool layer, which has no filters"));
    free(err);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "viz '%s' --layer nope -o '%s'", in_dir("run/model.ckpt"), in_dir("x.png")),
                     2);
    ck_assert_ptr_nonnull(strstr(err, "no layer 'nope'"));
    free(err);
}
END_TEST

START_TEST(test_plot_logs)
{
    train_bars();
    char *out, *err;
    int have_gnuplot = system("command -v gnuplot >/dev/null 2>&1") == 0;
    int rc = run_cnnctl(&out, &err, "plot '%s' '%s' -o '%s' --title 'bars'", in_dir("run/log.csv"),
                        in_dir("run/log.csv"), in_dir("plots/curve.png"));
    if (have_gnuplot) {
        ck_assert_msg(rc == 0, "%s", err);
        size_t len;
        char *png = read_file(in_dir("plots/curve.png"), &len);
        ck_assert_ptr_nonnull(png);
        ck_assert_int_gt(len, 1000);
        ck_assert_int_eq(memcmp(png, "\x89PNG\r\n\x1a\n", 8), 0);
        free(png);
    } else {
        ck_assert_int_eq(rc, 1);
        ck_assert_str_eq(err, "cnnctl: gnuplot is not installed (Debian: apt-get install gnuplot-nox)\n");
        ck_assert(!file_exists(in_dir("plots/curve.png")));
    }
    free(out);
    free(err);
    ck_assert_int_eq(write_file(in_dir("bad.csv"), "a,b\n"), 0);
    ck_assert_int_eq(run_cnnctl(NULL, &err, "plot '%s' -o '%s'", in_dir("bad.csv"), in_dir("x.png")), 2);
    ck_assert_ptr_nonnull(strstr(err, "bad.csv:1: not a cnnctl log"));
    free(err);
}
END_TEST

/* The output of a shell command (caller frees). */
static char *shell_output(const char *cmd)
{
    char full[8192];
    snprintf(full, sizeof full, "{ %s; } >%s/shell.out 2>&1", cmd, dir);
    int rc = system(full);
    (void)rc;
    return read_file(in_dir("shell.out"), NULL);
}

START_TEST(test_bash_completion)
{
    char *out = shell_output("bash -c 'source scripts/cnnctl-completion.bash; COMP_WORDS=(cnnctl pr); COMP_CWORD=1; "
                             "_cnnctl; echo \"${COMPREPLY[*]}\"'");
    ck_assert_str_eq(out, "predict\n");
    free(out);
    out = shell_output("bash -c 'source scripts/cnnctl-completion.bash; COMP_WORDS=(cnnctl eval --co); COMP_CWORD=2; "
                       "_cnnctl; echo \"${COMPREPLY[*]}\"'");
    ck_assert_str_eq(out, "--confusion\n");
    free(out);
    /* --set offers SECTION.KEY= for the sections of the config on the line */
    out = shell_output("bash -c 'source scripts/cnnctl-completion.bash; "
                       "COMP_WORDS=(cnnctl train configs/lenet5.ini --set conv1.fi); COMP_CWORD=4; "
                       "_cnnctl; echo \"${COMPREPLY[*]}\"'");
    ck_assert_str_eq(out, "conv1.filters=\n");
    free(out);
    out = shell_output("bash -c 'source scripts/cnnctl-completion.bash; "
                       "COMP_WORDS=(cnnctl train configs/lenet5.ini --set train.warm); COMP_CWORD=4; "
                       "_cnnctl; echo \"${COMPREPLY[*]}\"'");
    ck_assert_str_eq(out, "train.warmup=\n");
    free(out);
}
END_TEST

/* sweep.sh: a 2 x 2 grid, 2 runs at a time, a table sorted by accuracy;
 * run again, nothing is trained twice. */
START_TEST(test_sweep)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "CNNCTL=\"$CNNCTL\" sh scripts/sweep.sh '%s' train.lr=0.05,0.1 train.batch=20,40 -j 2 -o '%s/sweep'",
             in_dir("bars.ini"), dir);
    char *out = shell_output(cmd);
    ck_assert_ptr_nonnull(strstr(out, "sweep: 4 runs in "));
    ck_assert_ptr_nonnull(strstr(out, "4 to do, 2 at a time"));
    ck_assert_ptr_nonnull(strstr(out, "sweep: 4 of 4 runs finished"));
    ck_assert_ptr_nonnull(strstr(out, "run  "));
    free(out);
    char *csv = read_file(in_dir("sweep/results.csv"), NULL);
    ck_assert_ptr_nonnull(csv);
    ck_assert_int_eq(strncmp(csv, "run,train.lr,train.batch,val_acc,test_acc,seconds\n", 50), 0);
    /* the run's name joins its settings with ';', so the CSV's columns hold */
    ck_assert_msg(strstr(csv, "\ntrain.lr=0.1;train.batch=40,0.1,40,,") != NULL, "%s", csv);
    int rows = 0;
    for (char *p = csv; *p; p++)
        rows += *p == '\n';
    ck_assert_int_eq(rows, 5);
    free(csv);
    ck_assert(file_exists(in_dir("sweep/train.lr=0.05,train.batch=20/log.csv")));
    /* again: all four are done already */
    out = shell_output(cmd);
    ck_assert_ptr_nonnull(strstr(out, "sweep: 4 runs in "));
    ck_assert_ptr_nonnull(strstr(out, ", 0 to do"));
    free(out);
    /* KEY= is one empty value: here, no test set */
    snprintf(cmd, sizeof cmd,
             "CNNCTL=\"$CNNCTL\" sh scripts/sweep.sh '%s' train.lr=0.05,0.1 data.test_images= -o '%s/notest'; echo rc=$?",
             in_dir("bars.ini"), dir);
    out = shell_output(cmd);
    ck_assert_msg(strstr(out, "sweep: 2 of 2 runs finished") && strstr(out, "rc=0"), "%s", out);
    free(out);
    /* a bad key fails that run, and the sweep says so */
    snprintf(cmd, sizeof cmd, "CNNCTL=\"$CNNCTL\" sh scripts/sweep.sh '%s' train.lrr=1 -o '%s/bad'; echo rc=$?",
             in_dir("bars.ini"), dir);
    out = shell_output(cmd);
    ck_assert_msg(strstr(out, "FAILED train.lrr=1: cnnctl: ") != NULL, "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "[train] lrr: unknown key"));
    ck_assert_ptr_nonnull(strstr(out, "rc=1"));
    free(out);
}
END_TEST

Suite *tools_suite(void)
{
    Suite *s = suite_create("tools");
    TCase *tc = tcase_create("tools");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_filter_kernels);
    tcase_add_test(tc, test_predict_own_images);
    tcase_add_test(tc, test_viz_filters_and_maps);
    tcase_add_test(tc, test_plot_logs);
    tcase_add_test(tc, test_bash_completion);
    tcase_add_test(tc, test_sweep);
    tcase_add_test(tc, test_compose);
    suite_add_tcase(s, tc);
    return s;
}
