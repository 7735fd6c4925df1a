/* check_idx.c - IDX reading: round trips, and every defect as one line
 * with the byte offset and expected versus found. */
#include "test_util.h"
#include "dataset.h"
#include "idx.h"
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const char *image_error(const char *name)
{
    static char err[1024];
    struct idx_images im;
    ck_assert_int_eq(idx_read_images(path_in(name), &im, err, sizeof err), -1);
    ck_assert_ptr_null(im.pixels);
    /* drop the folder so messages compare across runs */
    size_t n = strlen(dir);
    return strncmp(err, dir, n) == 0 && err[n] == '/' ? err + n + 1 : err;
}

START_TEST(test_round_trip_gz_and_raw)
{
    uint8_t pixels[2 * 3 * 4], labels[2] = {7, 1};
    for (int i = 0; i < 24; i++)
        pixels[i] = (uint8_t)(i * 10);
    struct idx_images im = {.count = 2, .rows = 3, .cols = 4, .pixels = pixels};
    struct idx_labels lb = {2, labels};
    for (int gz = 0; gz < 2; gz++) {
        ck_assert_int_eq(idx_write_images(path_in("im"), &im, gz), 0);
        ck_assert_int_eq(idx_write_labels(path_in("lb"), &lb, gz), 0);
        struct dataset d;
        char err[512];
        struct data_source src = {.format = DATA_AUTO, .cifar_label = CIFAR_10, .file_count = 1, .images = {path_in("im")}, .labels = path_in("lb")};
        ck_assert_int_eq(data_source_load(&src, &d, err, sizeof err), 0);
        ck_assert_int_eq(d.count, 2);
        ck_assert_int_eq(d.shape.c, 1);
        ck_assert_int_eq(d.shape.h, 3);
        ck_assert_int_eq(d.shape.w, 4);
        ck_assert_int_eq(memcmp(d.pixels, pixels, 24), 0);
        ck_assert_int_eq(memcmp(d.labels, labels, 2), 0);
        float x[24];
        uint8_t y[1];
        uint32_t second = 1;
        dataset_batch(&d, &second, 0, 1, x, y);
        ck_assert_int_eq(y[0], 1);
        ck_assert_float_eq_tol(x[0], 120 / 255.0f, 1e-7f);  /* pixels scale to [0, 1] */
        ck_assert_int_eq(dataset_check_labels(&d, 8, 1, 0, -1, err, sizeof err), 0);
        ck_assert_int_eq(dataset_check_labels(&d, 7, 1, 0, -1, err, sizeof err), -1);
        ck_assert_str_eq(strrchr(err, '/') + 1,
                         "lb: label 7 of image 0 (byte 8) is not below the network's 7 classes");
        dataset_free(&d);
    }
}
END_TEST

START_TEST(test_bad_magic)
{
    const unsigned char gzip_magic[] = {0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0};
    /* a gzip header that is not a valid stream reads as raw bytes */
    write_bytes("a", (const unsigned char *)"\x00\x00\x08\x01\x00\x00\x00\x01\x05", 9);
    ck_assert_str_eq(image_error("a"),
                     "a: bad magic 0x00000801 at byte 0 (expected 0x00000803 or 0x00000804: bytes of rank 3 or 4; "
                     "0x00000d03 or 0x00000d04: float32) (a label file where images were expected)");
    write_bytes("b", (const unsigned char *)"P5\n28 28\n255\n", 13);
    ck_assert_str_eq(image_error("b"), "b: bad magic 0x50350a32 at byte 0 (expected 0x00000803 or 0x00000804: "
                                       "bytes of rank 3 or 4; 0x00000d03 or 0x00000d04: float32)");
    (void)gzip_magic;
}
END_TEST

START_TEST(test_truncated_and_trailing)
{
    const unsigned char head[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7};
    write_bytes("short", head, sizeof head);      /* 7 of 8 pixel bytes */
    ck_assert_str_eq(image_error("short"),
                     "short: truncated: the header promises 8 data bytes, the file ends after 7 (at byte 23)");
    write_bytes("hdr", head, 10);
    ck_assert_str_eq(image_error("hdr"), "hdr: file ends at byte 10, inside the 16-byte header");
    write_bytes("two", head, 2);
    ck_assert_str_eq(image_error("two"), "two: file ends at byte 2, inside the 4-byte magic number");
    unsigned char longer[25];
    memcpy(longer, head, sizeof head);
    longer[23] = 8;
    longer[24] = 9;
    write_bytes("long", longer, 25);
    ck_assert_str_eq(image_error("long"), "long: unexpected data after byte 24 (the header promises 8 data bytes)");
    write_bytes("empty", head, 0);
    ck_assert_str_eq(image_error("empty"), "empty: file ends at byte 0, inside the 4-byte magic number");
}
END_TEST

START_TEST(test_absurd_dimensions)
{
    unsigned char h[16] = {0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28};
    write_bytes("zero", h, 16);
    ck_assert_str_eq(image_error("zero"), "zero: dimension 0 at byte 4 is 0 (expected 1 to 4294967295)");
    unsigned char wide[16] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 28};
    write_bytes("wide", wide, 16);
    ck_assert_str_eq(image_error("wide"), "wide: dimension 1 at byte 8 is 65536 (expected 1 to 65535)");
    /* a bomb: 4 billion images of 65535 x 65535 claimed by a 16-byte file */
    unsigned char bomb[16] = {0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff};
    write_bytes("bomb", bomb, 16);
    ck_assert_str_eq(image_error("bomb"), "bomb: header claims 18446181123756261375 bytes of data (more than the "
                                          "17179869184 allowed)");
    /* within the cap, but the data is not there: memory follows the data */
    unsigned char big[16] = {0, 0, 8, 3, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0};  /* 65536 x 256 x 256 */
    write_bytes("big", big, 16);
    ck_assert_str_eq(image_error("big"), "big: truncated: the header promises 4294967296 data bytes, the file ends "
                                         "after 0 (at byte 16)");
}
END_TEST

START_TEST(test_missing_file_and_count_mismatch)
{
    ck_assert_str_eq(image_error("nosuch"), "nosuch: cannot open: No such file or directory");
    uint8_t pixels[4] = {0};
    uint8_t labels[3] = {0};
    struct idx_images im = {.count = 1, .rows = 2, .cols = 2, .pixels = pixels};
    struct idx_labels lb = {3, labels};
    ck_assert_int_eq(idx_write_images(path_in("im"), &im, 1), 0);
    ck_assert_int_eq(idx_write_labels(path_in("lb"), &lb, 1), 0);
    struct dataset d;
    char err[1024];
    struct data_source src = {.format = DATA_IDX, .cifar_label = CIFAR_10, .file_count = 1, .images = {path_in("im")}, .labels = path_in("lb")};
    ck_assert_int_eq(data_source_load(&src, &d, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "lb: 3 labels for the 1 images of "));
}
END_TEST

Suite *idx_suite(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip_gz_and_raw);
    tcase_add_test(tc, test_bad_magic);
    tcase_add_test(tc, test_truncated_and_trailing);
    tcase_add_test(tc, test_absurd_dimensions);
    tcase_add_test(tc, test_missing_file_and_count_mismatch);
    suite_add_tcase(s, tc);
    return s;
}
