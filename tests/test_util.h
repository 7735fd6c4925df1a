/* test_util.h - helpers shared by the Check suites. */
#ifndef CNNCTL_TEST_UTIL_H
#define CNNCTL_TEST_UTIL_H

#include <check.h>
#include <glob.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net.h"
#include "rng.h"

Suite *gemm_suite(void);
Suite *conv_suite(void);
Suite *gradient_suite(void);
Suite *metrics_suite(void);
Suite *optim_suite(void);
Suite *augment_suite(void);
Suite *config_suite(void);
Suite *idx_suite(void);
Suite *source_suite(void);
Suite *colour_suite(void);
Suite *segment_suite(void);
Suite *detect_suite(void);
Suite *export_suite(void);
Suite *ckpt_suite(void);
Suite *cli_suite(void);
Suite *tools_suite(void);
Suite *mpi_suite(void);
Suite *resume_suite(void);
Suite *corpus_suite(void);
Suite *surface_suite(void);

/* A fresh empty folder under $TMPDIR (or /tmp); the caller removes it with
 * remove_tree(). */
char *make_temp_dir(void);
void remove_tree(const char *path);
/* Whole file as a NUL-terminated string (NULL if it cannot be read). */
char *read_file(const char *path, size_t *len);
/* "dir/name" in one of 8 rotating buffers: valid until 8 more calls. */
const char *test_path(const char *dir, const char *name);
int write_file(const char *path, const char *text);
/* n bytes into path, or the test fails. */
void write_bytes_file(const char *path, const unsigned char *bytes, size_t n);
int file_exists(const char *path);

/* Builds a net from INI text for the given input; fails the test on errors. */
void build_test_net(struct net *net, struct config *cfg, const char *text, struct shape input, int batch,
                    int threads);
/* The same with activation fusion chosen (build_test_net: NET_FUSE). */
void build_test_net_as(struct net *net, struct config *cfg, const char *text, struct shape input, int batch,
                       int threads, enum net_fusion fusion);
void fill_uniform(float *v, long n, struct rng *r, float lo, float hi);

/* Runs "$CNNCTL ARGS" through the shell with stdout and stderr captured in
 * *out and *err (caller frees); returns the exit status. */
int run_cnnctl(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A shell command, as run_cnnctl runs cnnctl: its exit status. */
int run_shell(char **out, char **err, const char *command);

/* A log CSV without its seconds and images_per_s columns: the only bytes
 * allowed to differ between two runs of the same config. Caller frees. */
char *log_without_timing(const char *path);

/* A small synthetic classification problem written as IDX files in dir:
 * class k is a bright bar whose position encodes k, plus noise. */
/* 600 12 x 12 "digits" of 4 shapes that no position or scale confuses (a
 * horizontal bar, a vertical one, a cross, a square's outline), each moved
 * by up to a pixel and of a random brightness, as IDX images and labels
 * (for `cnnctl compose`); thick: bars and outline 4 pixels thick (else 2
 * and 1), so that their boxes are no slivers that a pixel's error takes
 * below an IoU of 0.5. */
void write_shapes(const char *images, const char *labels, int thick);
/* In dir: the shape digits (write_shapes, thick or not) and `cnnctl
 * compose` canvases of side x side with OBJECTS ("1-3") of them,
 * train-* from digits 0-399 and t10k-* from 400-599: images, masks and
 * boxes. */
void compose_shape_canvases(const char *dir, int thick, int train, int test, int side, const char *objects);
/* The number after "KEY": in a JSON text (an assertion fails without it). */
double json_number(const char *json, const char *key);
/* Stand-in data for every shipped config in folder data (made): 28x28
 * grey IDX of 10 classes (train 120, t10k test_count), CIFAR-10-shaped
 * files, and canvases of the grey ones under datasets/canvas.sh's names. */
void write_stand_in_data(const char *data, int test_count);
/* The shipped configs, CNNCTL_CONFIGS/\*.ini (glob's return). */
int glob_shipped_configs(glob_t *g);
/* Both checkpoints hold the same tensors, bit for bit. */
void assert_same_weights(const char *a, const char *b);
/* A run of CONFIG (its checkpoint at run/model.ckpt under dir) of 20 steps
 * resumed to 40, and 40 straight into dir/straight.ckpt, end with the same
 * weights. */
void assert_resume_matches_straight(const char *dir, const char *config);
void write_synthetic_idx(const char *dir, const char *prefix, int count, int rows, int cols, int classes,
                         uint64_t seed);
/* CIFAR-10-shaped stand-in data in dir: data_batch_1.bin ... _5.bin and
 * test_batch.bin of per_file records each, the class shown by colour. */
void write_synthetic_cifar(const char *dir, int per_file, uint64_t seed);

#endif
