/* check_ckpt.c - checkpoints round-trip exactly, and every damage is
 * refused with one line, never a crash. */
#define _GNU_SOURCE  /* memmem */
#include "test_util.h"
#include "ckpt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NET_TEXT "[data]\n[train]\n[c1]\ntype = conv\nfilters = 3\nsize = 3\n[fc]\ntype = affine\noutputs = 4\n" \
                 "[loss]\ntype = softmax\n"

static char *dir;
static char path[4096];

static void setup(void)
{
    dir = make_temp_dir();
    snprintf(path, sizeof path, "%s/sub/model.ckpt", dir);
}

static void teardown(void)
{
    remove_tree(dir);
    free(dir);
}

static void write_test_ckpt(struct net *net, struct config *cfg)
{
    build_test_net(net, cfg, NET_TEXT, (struct shape){1, 6, 6}, 2, 1);
    net_init_params(net, 9);
    struct ckpt_stats st = {3, 300, 0.25, NAN, 0.875};
    char err[512];
    size_t len;
    char *text = config_to_text(cfg, &len);
    ck_assert_msg(ckpt_write(path, text, len, net, &st, NULL, NULL, err, sizeof err) == 0, "%s", err);
    free(text);
}

START_TEST(test_round_trip)
{
    struct net net, net2;
    struct config cfg, cfg2;
    write_test_ckpt(&net, &cfg);
    struct ckpt ck;
    char err[512];
    ck_assert_msg(ckpt_read(path, &ck, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(ck.stats.epoch, 3);
    ck_assert_int_eq(ck.stats.step, 300);
    ck_assert(isnan(ck.stats.val_accuracy));
    ck_assert_double_eq(ck.stats.test_accuracy, 0.875);
    ck_assert_int_eq(ck.tensor_count, 4);
    ck_assert_str_eq(ck.tensors[0].name, "c1.weight");
    char *conf = strndup(ck.config, ck.config_len);
    build_test_net(&net2, &cfg2, conf, (struct shape){1, 6, 6}, 2, 1);
    ck_assert_int_eq(ckpt_load_params(&ck, &net2, path, err, sizeof err), 0);
    ck_assert_int_eq(memcmp(net.params, net2.params, sizeof(float) * net.param_floats), 0);
    /* no temporary file is left behind */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    ck_assert(!file_exists(tmp));
    free(conf);
    ckpt_free(&ck);
    net_free(&net);
    net_free(&net2);
    config_free(&cfg);
    config_free(&cfg2);
}
END_TEST

static size_t file_size;

static unsigned char *load(void)
{
    return (unsigned char *)read_file(path, &file_size);
}

static void store(const unsigned char *data, size_t n, int fix_crc)
{
    unsigned char *copy = malloc(n);
    memcpy(copy, data, n);
    if (fix_crc && n >= 4) {
        uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), copy, (uInt)(n - 4));
        for (int i = 0; i < 4; i++)
            copy[n - 4 + i] = (crc >> (8 * i)) & 0xff;
    }
    FILE *f = fopen(path, "wb");
    fwrite(copy, 1, n, f);
    fclose(f);
    free(copy);
}

static const char *read_error(void)
{
    static char err[1024];
    struct ckpt ck;
    ck_assert_int_eq(ckpt_read(path, &ck, err, sizeof err), -1);
    ck_assert_ptr_null(ck.data);
    return strstr(err, "model.ckpt: ") ? strstr(err, "model.ckpt: ") + 12 : err;
}

START_TEST(test_every_flipped_byte_refused)
{
    struct net net;
    struct config cfg;
    write_test_ckpt(&net, &cfg);
    unsigned char *orig = load();
    size_t n = file_size;
    for (size_t i = 0; i < n; i++) {
        orig[i] ^= 0x40;
        store(orig, n, 0);
        const char *e = read_error();
        ck_assert_msg(strstr(e, "CRC mismatch") || strstr(e, "bad magic") || strstr(e, "format version"),
                      "byte %zu: %s", i, e);
        orig[i] ^= 0x40;
    }
    free(orig);
    net_free(&net);
    config_free(&cfg);
}
END_TEST

START_TEST(test_every_truncation_refused)
{
    struct net net;
    struct config cfg;
    write_test_ckpt(&net, &cfg);
    unsigned char *orig = load();
    size_t n = file_size;
    for (size_t len = 0; len < n; len++) {
        store(orig, len, 0);
        read_error();
        if (len >= 16) {  /* even with a CRC that matches the cut file */
            store(orig, len, 1);
            read_error();
        }
    }
    free(orig);
    net_free(&net);
    config_free(&cfg);
}
END_TEST

START_TEST(test_structural_errors_with_valid_crc)
{
    struct net net;
    struct config cfg;
    write_test_ckpt(&net, &cfg);
    unsigned char *orig = load();
    size_t n = file_size;
    orig[8] = 2;
    store(orig, n, 1);
    ck_assert_str_eq(read_error(), "format version 2 at byte 8 (this cnnctl reads version 1)");
    orig[8] = 1;
    memcpy(orig + 12, "CONX", 4);
    store(orig, n, 1);
    ck_assert_str_eq(read_error(), "unknown chunk tag 'CONX' at byte 12");
    memcpy(orig + 12, "CONF", 4);
    orig[16 + 7] = 0x7f;  /* CONF length: enormous */
    store(orig, n, 1);
    ck_assert_ptr_nonnull(strstr(read_error(), "chunk 'CONF' at byte 12 claims"));
    orig[16 + 7] = 0;
    /* the first tensor's first dimension: absurd */
    unsigned char *tens = memmem(orig, n, "TENS", 4);
    ck_assert_ptr_nonnull(tens);
    size_t dim0 = (size_t)(tens - orig) + 12 + 2 + strlen("c1.weight") + 1;
    orig[dim0 + 3] = 0x7f;
    store(orig, n, 1);
    ck_assert_ptr_nonnull(strstr(read_error(), "tensor 'c1.weight'"));
    orig[dim0 + 3] = 0;
    orig[dim0] = 4;  /* 4 filters instead of 3: disagrees with the chunk size */
    store(orig, n, 1);
    ck_assert_ptr_nonnull(strstr(read_error(), "values need"));
    free(orig);
    net_free(&net);
    config_free(&cfg);
}
END_TEST

START_TEST(test_shape_disagrees_with_config)
{
    struct net net, other;
    struct config cfg, cfg2;
    write_test_ckpt(&net, &cfg);
    struct ckpt ck;
    char err[512];
    ck_assert_int_eq(ckpt_read(path, &ck, err, sizeof err), 0);
    build_test_net(&other, &cfg2, "[c1]\ntype = conv\nfilters = 5\nsize = 3\n[fc]\ntype = affine\noutputs = 4\n"
                                  "[loss]\ntype = softmax\n", (struct shape){1, 6, 6}, 2, 1);
    ck_assert_int_eq(ckpt_load_params(&ck, &other, "m", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "tensor 'c1.weight' at byte"));
    ckpt_free(&ck);
    net_free(&net);
    net_free(&other);
    config_free(&cfg);
    config_free(&cfg2);
}
END_TEST

START_TEST(test_write_failure_keeps_old_file)
{
    struct net net;
    struct config cfg;
    write_test_ckpt(&net, &cfg);
    char err[512];
    struct ckpt_stats st = {0};
    /* /dev/full: the folder is not ours, so write into a read-only folder instead */
    ck_assert_int_eq(ckpt_write("/proc/cnnctl-test/model.ckpt", "x", 1, &net, &st, NULL, NULL, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot create"));
    net_free(&net);
    config_free(&cfg);
}
END_TEST

Suite *ckpt_suite(void)
{
    Suite *s = suite_create("ckpt");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_every_flipped_byte_refused);
    tcase_add_test(tc, test_every_truncation_refused);
    tcase_add_test(tc, test_structural_errors_with_valid_crc);
    tcase_add_test(tc, test_shape_disagrees_with_config);
    tcase_add_test(tc, test_write_failure_keeps_old_file);
    suite_add_tcase(s, tc);
    return s;
}
