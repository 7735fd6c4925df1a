/* check_source.c - the data sources (source.h) against hand-made bytes:
 * IDX of rank 4 (channels last in the file) and float32, CIFAR-10 and
 * CIFAR-100 records, recognising the format, and the per-channel
 * normalisation of a batch against its definition. */
#include <check.h>

#include "test_util.h"
#include "cifar.h"
#include "dataset.h"
#include "folder.h"
#include "idx.h"
#include "source.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* a file in this test's folder (test_path's rotating buffers) */
#define path_in(name) ((char *)test_path(dir, name))

static void write_bytes(const char *name, const unsigned char *bytes, size_t n)
{
    write_bytes_file(path_in(name), bytes, n);
}

/* The error of loading src, without the folder. */
static const char *load_error(const struct data_source *src)
{
    static char err[1024];
    struct dataset d;
    ck_assert_int_eq(data_source_load(src, &d, err, sizeof err), -1);
    size_t n = strlen(dir);
    char *at = strstr(err, dir);
    if (at && at[n] == '/')
        memmove(at, at + n + 1, strlen(at + n + 1) + 1);
    return err;
}

static const unsigned char two_labels[] = {0, 0, 8, 1, 0, 0, 0, 2, 4, 9};

/* A rank-4 file stores each pixel's channels together (r g b, r g b);
 * the dataset holds planes (r r, g g, b b), as the network takes them. */
START_TEST(test_idx_rank4_channels_last)
{
    const unsigned char file[] = {0, 0, 8, 4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
                                  /* image 0: (0,0) = 1 2 3, (0,1) = 4 5 6 */ 1, 2, 3, 4, 5, 6,
                                  /* image 1 */ 10, 20, 30, 40, 50, 60};
    write_bytes("im", file, sizeof file);
    write_bytes("lb", two_labels, sizeof two_labels);
    struct data_source src = {.format = DATA_AUTO, .cifar_label = CIFAR_10, .file_count = 1, .images = {path_in("im")}, .labels = path_in("lb")};
    struct dataset d;
    char err[512];
    ck_assert_int_eq(data_source_load(&src, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.count, 2);
    ck_assert(shape_equal(d.shape, (struct shape){3, 1, 2}));
    const uint8_t want[12] = {1, 4, 2, 5, 3, 6, 10, 40, 20, 50, 30, 60};
    ck_assert_int_eq(memcmp(d.pixels, want, 12), 0);
    struct shape header;
    ck_assert_int_eq(data_source_shape(&src, &header, err, sizeof err), 0);
    ck_assert(shape_equal(header, d.shape));
    /* the writer lays them out the same way */
    struct idx_images im = {.count = 2, .rows = 1, .cols = 2, .channels = 3, .pixels = (uint8_t *)want};
    ck_assert_int_eq(idx_write_images(path_in("again"), &im, 1), 0);
    struct dataset e;
    src.images[0] = path_in("again");
    ck_assert_int_eq(data_source_load(&src, &e, err, sizeof err), 0);
    ck_assert_int_eq(memcmp(e.pixels, want, 12), 0);
    dataset_free(&d);
    dataset_free(&e);
}
END_TEST

/* float32 IDX: big-endian values taken as they are; a NaN is an error at
 * its byte. */
START_TEST(test_idx_float32)
{
    unsigned char file[] = {0, 0, 0x0d, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1,
                            0x3f, 0xc0, 0, 0, /* 1.5 */ 0xc0, 0x20, 0, 0 /* -2.5 */};
    write_bytes("im", file, sizeof file);
    write_bytes("lb", two_labels, sizeof two_labels);
    struct data_source src = {.format = DATA_IDX, .cifar_label = CIFAR_10, .file_count = 1, .images = {path_in("im")}, .labels = path_in("lb")};
    struct dataset d;
    char err[512];
    ck_assert_int_eq(data_source_load(&src, &d, err, sizeof err), 0);
    ck_assert_ptr_null(d.pixels);
    ck_assert_float_eq(d.values[0], 1.5f);
    ck_assert_float_eq(d.values[1], -2.5f);
    float x[2];
    uint8_t y[2];
    dataset_batch(&d, NULL, 0, 2, x, y);
    ck_assert_float_eq(x[1], -2.5f);  /* not scaled by 1/255 */
    ck_assert_int_eq(y[1], 9);
    dataset_free(&d);
    file[20] = 0x7f, file[21] = 0xc0;  /* a NaN */
    write_bytes("im", file, sizeof file);
    ck_assert_str_eq(load_error(&src), "im: the float32 at byte 20 is not a finite number");
}
END_TEST

static void cifar_record(unsigned char *r, int label_bytes, int a, int b, int value)
{
    r[0] = (unsigned char)a;
    if (label_bytes == 2)
        r[1] = (unsigned char)b;
    memset(r + label_bytes, value, CIFAR_PIXELS);
}

START_TEST(test_cifar)
{
    static unsigned char file[3 * 3074];
    /* CIFAR-10: two files read as one set, in order */
    cifar_record(file, 1, 3, 0, 7);
    cifar_record(file + 3073, 1, 9, 0, 200);
    write_bytes("a.bin", file, 2 * 3073);
    write_bytes("b.bin", file, 3073);
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", path_in("a.bin"));
    snprintf(b, sizeof b, "%s", path_in("b.bin"));
    struct data_source src = {.format = DATA_AUTO, .cifar_label = CIFAR_10, .file_count = 2, .images = {a, b}, .labels = NULL};
    struct dataset d;
    char err[512];
    ck_assert_int_eq(data_source_load(&src, &d, err, sizeof err), 0);
    ck_assert_int_eq(d.count, 3);
    ck_assert(shape_equal(d.shape, (struct shape){3, 32, 32}));
    ck_assert_int_eq(d.labels[0], 3);
    ck_assert_int_eq(d.labels[1], 9);
    ck_assert_int_eq(d.labels[2], 3);
    ck_assert_int_eq(d.pixels[CIFAR_PIXELS + 5], 200);
    ck_assert_int_eq(dataset_check_labels(&d, 5, 1, 0, -1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "label 9 of image 1 is not below the network's 5 classes"));
    dataset_free(&d);
    /* errors: a cut record, a label out of range */
    src.file_count = 1;
    write_bytes("a.bin", file, 3073 + 100);
    ck_assert_str_eq(load_error(&src),
                     "a.bin: the record at byte 3073 is cut short (100 of its 3073 bytes; CIFAR-10 records are a "
                     "label and 3072 pixels; a CIFAR-100 file needs [data] label = fine or coarse)");
    cifar_record(file + 3073, 1, 10, 0, 0);
    write_bytes("a.bin", file, 2 * 3073);
    ck_assert_str_eq(load_error(&src), "a.bin: label 10 at byte 3073 is not a CIFAR-10 class (0-9)");
    src.format = DATA_CIFAR;  /* an empty file is no format's; told cifar: */
    write_bytes("a.bin", file, 0);
    ck_assert_str_eq(load_error(&src), "a.bin: empty (no CIFAR-10 records)");
    /* CIFAR-100: coarse then fine label */
    cifar_record(file, 2, 19, 99, 1);
    cifar_record(file + 3074, 2, 4, 23, 2);
    write_bytes("a.bin", file, 2 * 3074);
    for (int fine = 0; fine < 2; fine++) {
        src.cifar_label = fine ? CIFAR_100_FINE : CIFAR_100_COARSE;
        ck_assert_int_eq(data_source_load(&src, &d, err, sizeof err), 0);
        ck_assert_int_eq(d.count, 2);
        ck_assert_int_eq(d.labels[0], fine ? 99 : 19);
        ck_assert_int_eq(d.labels[1], fine ? 23 : 4);
        ck_assert_int_eq(d.pixels[CIFAR_PIXELS], 2);
        dataset_free(&d);
    }
    file[3074] = 20;
    write_bytes("a.bin", file, 2 * 3074);
    ck_assert_str_eq(load_error(&src), "a.bin: label 20 at byte 3074 is not a CIFAR-100 coarse class (0-19)");
    file[3074] = 4, file[3075] = 100;
    write_bytes("a.bin", file, 2 * 3074);
    ck_assert_str_eq(load_error(&src), "a.bin: label 100 at byte 3075 is not a CIFAR-100 fine class (0-99)");
}
END_TEST

static void write_pgm(const char *name, int value)
{
    unsigned char file[11 + 16] = "P5\n4 4\n255\n";   /* an 11-byte header */
    memset(file + 11, value, 16);
    write_bytes(name, file, sizeof file);
}

/* Class folders: found sorted (hidden files skipped), or as [data]
 * classes names them; what is wrong with them, one line each; a file that
 * is no image stops the load, or with skip is left out and counted. */
START_TEST(test_folders_and_lists)
{
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/train", dir);
    const char *made[] = {"train", "train/zebra", "train/ant", "train/.git"};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(mkdir(path_in(made[i]), 0777), 0);
    write_pgm("train/zebra/b.pgm", 200);
    write_pgm("train/zebra/a.pgm", 100);
    write_pgm("train/ant/x.pgm", 50);
    write_pgm("train/ant/.hidden.pgm", 1);
    struct labelled_files f;
    ck_assert_int_eq(folder_files(path, NULL, 0, &f, err, sizeof err), 0);
    ck_assert_int_eq(f.class_count, 2);
    ck_assert_str_eq(f.classes[0], "ant");
    ck_assert_str_eq(f.classes[1], "zebra");
    ck_assert_int_eq(f.count, 3);
    ck_assert_int_eq(f.labels[0], 0);
    ck_assert_str_eq(strrchr(f.paths[1], '/') + 1, "a.pgm");   /* files sorted too */
    ck_assert_int_eq(f.labels[2], 1);
    uint8_t *pixels;
    int skipped;
    ck_assert_int_eq(decode_files(&f, (struct shape){1, 2, 2}, 0, 0, NULL, &pixels, &skipped, err, sizeof err), 0);
    ck_assert_int_eq(pixels[0], 50);
    ck_assert_int_eq(pixels[4], 100);
    ck_assert_int_eq(pixels[8], 200);
    free(pixels);
    labelled_files_free(&f);
    /* named classes: their order; a folder not among them is an error */
    char *order[2] = {"zebra", "ant"};
    ck_assert_int_eq(folder_files(path, order, 2, &f, err, sizeof err), 0);
    ck_assert_int_eq(f.labels[0], 0);   /* zebra first now */
    labelled_files_free(&f);
    char *one[1] = {"zebra"};
    ck_assert_int_eq(folder_files(path, one, 1, &f, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "train/ant: a folder that is not one of [data] classes"));
    /* a file that is no image: an error naming it, or left out */
    write_bytes("train/ant/notes.txt", (const unsigned char *)"hello\n", 6);
    ck_assert_int_eq(folder_files(path, NULL, 0, &f, err, sizeof err), 0);
    ck_assert_int_eq(decode_files(&f, (struct shape){1, 2, 2}, 0, 0, NULL, &pixels, &skipped, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "notes.txt: not a PNG, JPEG or PGM image"));
    ck_assert_int_eq(decode_files(&f, (struct shape){3, 2, 2}, 1, 0, NULL, &pixels, &skipped, err, sizeof err), 0);
    ck_assert_int_eq(skipped, 1);
    ck_assert_int_eq(f.count, 3);
    ck_assert_int_eq(f.labels[2], 1);
    ck_assert_int_eq(pixels[2 * 12 + 11], 200);   /* gray copied to three channels */
    free(pixels);
    labelled_files_free(&f);
    /* names that cannot be listed, and no class folders at all */
    ck_assert_int_eq(mkdir(path_in("train/a,b"), 0777), 0);
    ck_assert_int_eq(folder_files(path, NULL, 0, &f, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "train/a,b: a class folder with a comma in its name"));
    ck_assert_int_eq(mkdir(path_in("flat"), 0777), 0);
    write_pgm("flat/x.pgm", 1);
    snprintf(path, sizeof path, "%s/flat", dir);
    ck_assert_int_eq(folder_files(path, NULL, 0, &f, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "flat: no class folders in it"));
    /* a list: paths relative to it, with blanks; labels by number or name */
    ck_assert_int_eq(mkdir(path_in("with space"), 0777), 0);
    write_pgm("with space/an image.pgm", 9);
    write_bytes("l.txt", (const unsigned char *)"# comment\n\nwith space/an image.pgm  zebra\nflat/x.pgm 0\n", 55);
    snprintf(path, sizeof path, "%s/l.txt", dir);
    ck_assert_int_eq(list_files(path, order, 2, &f, err, sizeof err), 0);
    ck_assert_int_eq(f.count, 2);
    ck_assert_int_eq(f.labels[0], 0);
    ck_assert_ptr_nonnull(strstr(f.paths[0], "with space/an image.pgm"));
    labelled_files_free(&f);
    write_bytes("l.txt", (const unsigned char *)"flat/x.pgm 0\nflat/x.pgm 2\n", 26);
    ck_assert_int_eq(list_files(path, order, 2, &f, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "l.txt:2: label '2' is not a class (expected a name in [data] classes or its "
                                      "number)"));
}
END_TEST

/* x = (byte / 255 - mean[c]) / std[c], and the channel statistics, against
 * the definition in double precision. */
START_TEST(test_normalisation)
{
    enum { N = 3, C = 3, HW = 4 };
    uint8_t pixels[N * C * HW], labels[N] = {0, 1, 2};
    for (int i = 0; i < N * C * HW; i++)
        pixels[i] = (uint8_t)(i * 37 % 256);
    struct dataset d = {.count = N, .shape = {C, 2, 2}, .pixels = pixels, .labels = labels};
    float mean[C], std[C];
    dataset_channel_stats(&d, N, mean, std);
    for (int c = 0; c < C; c++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < N; i++)
            for (int p = 0; p < HW; p++) {
                double v = pixels[(i * C + c) * HW + p] / 255.0;
                sum += v;
                sq += v * v;
            }
        double m = sum / (N * HW), s = sqrt(sq / (N * HW) - m * m);
        ck_assert_double_eq_tol(mean[c], m, 1e-6);
        ck_assert_double_eq_tol(std[c], s, 1e-6);
    }
    const float given_mean[C] = {0.5f, 0.25f, 0.0f}, inv_std[C] = {4.0f, 2.0f, 1.0f};
    d.mean = given_mean;
    d.inv_std = inv_std;
    float x[N * C * HW];
    uint8_t y[N];
    dataset_batch(&d, NULL, 0, N, x, y);
    dataset_normalise(&d, x, N);
    for (int i = 0; i < N * C * HW; i++) {
        int c = i / HW % C;
        ck_assert_float_eq_tol(x[i], (pixels[i] / 255.0f - given_mean[c]) * inv_std[c], 1e-6f);
    }
}
END_TEST

Suite *source_suite(void)
{
    Suite *s = suite_create("source");
    TCase *tc = tcase_create("formats");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_idx_rank4_channels_last);
    tcase_add_test(tc, test_idx_float32);
    tcase_add_test(tc, test_cifar);
    tcase_add_test(tc, test_folders_and_lists);
    tcase_add_test(tc, test_normalisation);
    suite_add_tcase(s, tc);
    return s;
}
