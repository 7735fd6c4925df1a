/* check_conv.c - convolution and pooling against the seed notes' worked
 * examples (through the real conv and pool layers), im2col/col2im against
 * direct loops, and the output-size formula. */
#include "test_util.h"
#include "conv.h"
#include "conv_direct.h"
#include "cpu_target.h"
#include "gemm.h"
#include "im2col.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs one conv or pool layer (followed by a softmax so the net is valid)
 * on a single-channel image and returns its output in out. */
static void run_layer(const char *layer_text, const float *image, int h, int w, const float *weights,
                      int weight_count, float *out, int out_count)
{
    char text[2048];
    snprintf(text, sizeof text, "[layer]\n%s\n[loss]\ntype = softmax\n", layer_text);
    struct net net;
    struct config cfg;
    build_test_net(&net, &cfg, text, (struct shape){1, h, w}, 1, 1);
    struct layer *l = &net.layers[0];
    if (weights) {
        ck_assert_int_eq(l->params[0].size, weight_count);
        memcpy(l->params[0].data, weights, sizeof(float) * weight_count);
        if (l->param_count > 1)
            memset(l->params[1].data, 0, sizeof(float) * l->params[1].size);
    }
    ck_assert_int_eq(shape_size(l->out), out_count);
    memcpy(net.input_data, image, sizeof(float) * h * w);
    net_forward(&net, 1, NULL, NULL, NULL);
    memcpy(out, l->y, sizeof(float) * out_count);
    net_free(&net);
    config_free(&cfg);
}

static void assert_grid(const float *got, const float *want, int count)
{
    for (int i = 0; i < count; i++)
        ck_assert_msg(got[i] == want[i], "element %d: got %g, want %g", i, got[i], want[i]);
}

/* Seed 000: the 4x4 input and 3x3 filter of "Deep Learning from Scratch" 7.2. */
/* a training pass, the same for every step of these tests */
static const struct net_pass training = {0, 0, 0, 0};

static const float seed_input_4x4[16] = {1, 2, 3, 0, 0, 1, 2, 3, 3, 0, 1, 2, 2, 3, 0, 1};
static const float seed_filter_3x3[9] = {2, 0, 1, 0, 1, 2, 1, 0, 2};

START_TEST(test_seed_conv_valid)
{
    float out[4], want[4] = {15, 16, 6, 15};
    run_layer("type = conv\nfilters = 1\nsize = 3\nbias = 0", seed_input_4x4, 4, 4, seed_filter_3x3, 9, out, 4);
    assert_grid(out, want, 4);
}
END_TEST

START_TEST(test_seed_conv_pad1)
{
    float out[16], want[16] = {7, 12, 10, 2, 4, 15, 16, 10, 10, 6, 15, 6, 8, 10, 4, 3};
    run_layer("type = conv\nfilters = 1\nsize = 3\npad = 1\nbias = 0", seed_input_4x4, 4, 4, seed_filter_3x3, 9,
              out, 16);
    assert_grid(out, want, 16);
}
END_TEST

START_TEST(test_seed_conv_7x7_stride2)
{
    /* the seed's grid: 1 2 3 0 1 2 3 / 0 1 2 3 0 1 2 / 3 0 1 2 3 0 1 / ... */
    const float in[49] = {1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1,
                            2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1};
    float out[9], want[9] = {15, 17, 15, 17, 15, 17, 15, 17, 15};  /* seed shows 15, 17 of row 1 */
    run_layer("type = conv\nfilters = 1\nsize = 3\nstride = 2\nbias = 0", in, 7, 7, seed_filter_3x3, 9, out, 9);
    assert_grid(out, want, 9);
}
END_TEST

/* Seed 002: the 5x5 binary image and two 3x3 filters. */
static const float seed_input_5x5[25] = {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0};

START_TEST(test_seed_conv_5x5_x_filter)
{
    const float filter[9] = {1, 0, 1, 0, 1, 0, 1, 0, 1};
    float out[9], want[9] = {4, 3, 4, 2, 4, 3, 2, 3, 4};
    run_layer("type = conv\nfilters = 1\nsize = 3\nbias = 0", seed_input_5x5, 5, 5, filter, 9, out, 9);
    assert_grid(out, want, 9);
}
END_TEST

START_TEST(test_seed_conv_5x5_center_filter)
{
    const float filter[9] = {0, 0, 0, 0, 1, 0, 0, 0, 0};
    float out[9], want[9] = {1, 1, 1, 0, 1, 1, 0, 1, 1};
    run_layer("type = conv\nfilters = 1\nsize = 3\nbias = 0", seed_input_5x5, 5, 5, filter, 9, out, 9);
    assert_grid(out, want, 9);
}
END_TEST

START_TEST(test_seed_conv_bias_broadcast)
{
    /* bias is added to every output element (seed 000, "convolution + bias") */
    char text[] = "[layer]\ntype = conv\nfilters = 1\nsize = 3\n[loss]\ntype = softmax\n";
    struct net net;
    struct config cfg;
    build_test_net(&net, &cfg, text, (struct shape){1, 4, 4}, 1, 1);
    memcpy(net.layers[0].params[0].data, seed_filter_3x3, sizeof seed_filter_3x3);
    net.layers[0].params[1].data[0] = 3;
    memcpy(net.input_data, seed_input_4x4, sizeof seed_input_4x4);
    net_forward(&net, 1, NULL, NULL, NULL);
    float want[4] = {18, 19, 9, 18};
    assert_grid(net.layers[0].y, want, 4);
    net_free(&net);
    config_free(&cfg);
}
END_TEST

/* Seed 001: 2x2 max pooling at stride 2. */
START_TEST(test_seed_maxpool_001)
{
    const float in[16] = {1, 2, 1, 0, 0, 1, 2, 3, 3, 0, 1, 2, 2, 4, 0, 1};
    float out[4], want[4] = {2, 3, 4, 2};
    run_layer("type = maxpool\nsize = 2\nstride = 2", in, 4, 4, NULL, 0, out, 4);
    assert_grid(out, want, 4);
}
END_TEST

/* Seed 002: "stride 2 max pooling". */
START_TEST(test_seed_maxpool_002)
{
    const float in[16] = {1, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 5, 2, 3};
    float out[4], want[4] = {6, 8, 5, 3};
    run_layer("type = maxpool\nsize = 2", in, 4, 4, NULL, 0, out, 4);
    assert_grid(out, want, 4);
    float avg[4], avg_want[4] = {13 / 4.0f, 21 / 4.0f, 11 / 4.0f, 6 / 4.0f};
    run_layer("type = avgpool\nsize = 2", in, 4, 4, NULL, 0, avg, 4);
    assert_grid(avg, avg_want, 4);
}
END_TEST

START_TEST(test_output_size_formula)
{
    ck_assert_int_eq(conv_output_size(4, 3, 1, 0, 0), 2);   /* seed: 4x4 * 3x3 -> 2x2 */
    ck_assert_int_eq(conv_output_size(4, 3, 1, 1, 0), 4);   /* (4 + 2*1 - 3)/1 + 1 = 4 */
    ck_assert_int_eq(conv_output_size(7, 3, 2, 0, 0), 3);   /* (7 + 2*0 - 3)/2 + 1 = 3 */
    ck_assert_int_eq(conv_output_size(28, 5, 1, 0, 0), 24); /* SimpleConvNet conv1 */
    ck_assert_int_eq(conv_output_size(28, 5, 1, 2, 0), 28); /* LeNet-5 conv1 */
    ck_assert_int_eq(conv_output_size(24, 2, 2, 0, 0), 12); /* 2x2 pooling */
    ck_assert_int_eq(conv_output_size(6, 3, 2, 0, 0), -1);  /* (6 - 3)/2 is not whole */
    ck_assert_int_eq(conv_output_size(2, 3, 1, 0, 0), -1);  /* window larger than input */
    /* rounding = floor: the strided layers of ResNet on even maps */
    ck_assert_int_eq(conv_output_size(28, 1, 2, 0, 1), 14); /* 1x1 stride-2 shortcut */
    ck_assert_int_eq(conv_output_size(28, 3, 2, 1, 1), 14); /* 3x3 stride 2 pad 1 */
    ck_assert_int_eq(conv_output_size(7, 2, 2, 0, 1), 3);   /* 2x2 pooling of 7 */
    ck_assert_int_eq(conv_output_size(2, 3, 1, 0, 1), -1);  /* still too small */
}
END_TEST

/* im2col against its definition, for odd geometries. */
static const struct conv_geometry geometries[] = {
    {1, 4, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1}, {3, 7, 5, 3, 2, 2, 1, 1, 0, 0, 0, 1, 1},
    {2, 9, 9, 5, 5, 2, 2, 2, 2, 0, 0, 1, 1}, {4, 6, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1},
    {2, 7, 7, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1}, {1, 3, 11, 3, 4, 1, 3, 2, 1, 0, 0, 1, 1},
    /* dilated: 3x3 taps 2 apart span 5x5; unequal dilations with stride */
    {2, 9, 9, 3, 3, 1, 1, 2, 2, 0, 0, 2, 2}, {1, 11, 11, 3, 2, 3, 1, 1, 3, 0, 0, 3, 4},
};

START_TEST(test_im2col_col2im_direct)
{
    struct conv_geometry g = geometries[_i];
    g.oh = conv_output_size(g.h, g.dh * (g.kh - 1) + 1, g.sh, g.ph, 0);
    g.ow = conv_output_size(g.w, g.dw * (g.kw - 1) + 1, g.sw, g.pw, 0);
    ck_assert_int_gt(g.oh, 0);
    ck_assert_int_gt(g.ow, 0);
    long P = (long)g.oh * g.ow, rows = (long)g.c * g.kh * g.kw, in = (long)g.c * g.h * g.w;
    float *x = malloc(sizeof(float) * in), *col = malloc(sizeof(float) * rows * P);
    float *dcol = malloc(sizeof(float) * rows * P), *dx = calloc(in, sizeof(float)), *want = calloc(in, sizeof(float));
    struct rng r;
    rng_seed(&r, 11 + _i, RNG_STREAM_TEST);
    fill_uniform(x, in, &r, -1, 1);
    fill_uniform(dcol, rows * P, &r, -1, 1);
    im2col(x, &g, col);
    col2im(dcol, &g, dx);
    for (int c = 0; c < g.c; c++)
        for (int ki = 0; ki < g.kh; ki++)
            for (int kj = 0; kj < g.kw; kj++)
                for (int oy = 0; oy < g.oh; oy++)
                    for (int ox = 0; ox < g.ow; ox++) {
                        long row = (c * g.kh + ki) * g.kw + kj, q = oy * g.ow + ox;
                        int iy = oy * g.sh - g.ph + ki * g.dh, ix = ox * g.sw - g.pw + kj * g.dw;
                        int inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
                        float v = inside ? x[(c * g.h + iy) * g.w + ix] : 0.0f;
                        ck_assert_msg(col[row * P + q] == v, "col[%ld][%ld] = %g, want %g", row, q, col[row * P + q], v);
                        if (inside)
                            want[(c * g.h + iy) * g.w + ix] += dcol[row * P + q];
                    }
    for (long i = 0; i < in; i++)
        ck_assert_float_eq_tol(dx[i], want[i], 1e-5f); /* same sums, possibly another order */
    free(x);
    free(col);
    free(dcol);
    free(dx);
    free(want);
}
END_TEST

/* 2x2 max pooling at stride 2 (its vectorised fast path) against the
 * definition, forward and backward, on maps whose width leaves a remainder
 * after the 4-wide vectors, odd maps (rounding = floor: the last row and
 * column are in no window) and values with ties (the first largest in
 * row-major order wins). Two pool layers read the same tensor, so one input
 * gradient overwrites and the other adds. */
START_TEST(test_maxpool_2x2_definition)
{
    /* rows of 4, 11, 1, 9, 16 and 8 windows: the SSE2 loops' four at a
     * time and their tail; AVX2's eight, its last eight again, and (p
     * writes c0's gradient, q adds to it) its accumulating rows */
    static const struct shape shapes[] = {{3, 9, 9}, {2, 8, 22}, {1, 2, 2}, {2, 7, 18}, {2, 6, 32}, {1, 4, 17}};
    const struct shape in = shapes[_i / 2];
    const int N = 3, OH = in.h / 2, OW = in.w / 2;
    /* even _i: the generic GEMM kernel, which keeps the SSE2 loops; odd:
     * this CPU's, which runs the AVX2 ones where it has AVX2 */
    if (_i % 2 == 0)
        setenv("CNNCTL_GEMM_KERNEL", "generic", 1);
    for (int threads = 1; threads <= 2; threads++) {
        char text[512];
        snprintf(text, sizeof text,
                 "[c0]\ntype = conv\nfilters = %d\nsize = 1\n"
                 "[p]\ntype = maxpool\nsize = 2\nrounding = floor\n"
                 "[q]\ntype = maxpool\nsize = 2\nrounding = floor\ninput = c0\n"
                 "[cat]\ntype = concat\ninput = p, q\n[fc]\ntype = affine\noutputs = 3\n[loss]\ntype = softmax\n",
                 in.c);
        struct net net;
        struct config cfg;
        build_test_net(&net, &cfg, text, in, N, threads);
        ck_assert(_i % 2 == 1 || net.gemm.target == &cpu_target_generic);
        struct rng r;
        rng_seed(&r, 11, RNG_STREAM_TEST);
        fill_uniform(net.params, net.param_floats, &r, -0.5f, 0.5f);
        /* c0 passes its input through, which takes three values: many ties */
        struct layer *c0 = &net.layers[0], *p = &net.layers[1], *q = &net.layers[2];
        memset(c0->params[0].data, 0, sizeof(float) * c0->params[0].size);
        memset(c0->params[1].data, 0, sizeof(float) * c0->params[1].size);
        for (int c = 0; c < in.c; c++)
            c0->params[0].data[c * in.c + c] = 1;
        const long plane = (long)in.h * in.w, count = N * shape_size(in);
        for (long e = 0; e < count; e++)
            net.input_data[e] = (float)(rng_next(&r) % 3) - 1;
        uint8_t labels[3] = {0, 1, 2};
        net_forward(&net, N, labels, NULL, &training);
        net_backward(&net, N, labels, &training);
        float want_dx[3 * 2 * 6 * 32] = {0};  /* N times the largest shape */
        ck_assert_int_le(count, (long)(sizeof want_dx / sizeof want_dx[0]));
        for (long pl = 0; pl < (long)N * in.c; pl++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    const float *x = c0->y + pl * plane;
                    int where = 2 * oy * in.w + 2 * ox;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++)
                            if (x[(2 * oy + dy) * in.w + 2 * ox + dx] > x[where])
                                where = (2 * oy + dy) * in.w + 2 * ox + dx;
                    long o = pl * OH * OW + oy * OW + ox;
                    ck_assert_msg(p->y[o] == x[where], "shape %d plane %ld (%d,%d): %g, want %g", _i / 2, pl, oy, ox,
                                  p->y[o], x[where]);
                    want_dx[pl * plane + where] += p->dy[o] + q->dy[o];
                }
        for (long e = 0; e < count; e++)
            ck_assert_msg(fabsf(c0->dy[e] - want_dx[e]) <= 1e-6f * (1 + fabsf(want_dx[e])),
                          "shape %d threads %d input gradient %ld: %g, want %g", _i / 2, threads, e, c0->dy[e],
                          want_dx[e]);
        net_free(&net);
        config_free(&cfg);
    }
    unsetenv("CNNCTL_GEMM_KERNEL");
}
END_TEST

/* Conv geometries for the layer tests: stride 2 (im2col + GEMM), and at
 * stride 1 (the direct kernels where the CPU has them) "same" maps, valid
 * maps narrower than a vector (a chunk of lanes spans two output rows),
 * dilation, filter counts that fill no tile, padding wider than the window
 * (the input gradient falls back to col2im) and 1x1. */
static const struct {
    int c, h, w, f, kh, kw, s, p, d;
} layer_geometries[] = {
    {3, 9, 7, 5, 3, 3, 2, 1, 1}, {3, 9, 7, 5, 3, 3, 1, 1, 1}, {2, 12, 12, 16, 5, 5, 1, 0, 1},
    {3, 11, 9, 7, 3, 2, 1, 0, 1}, {2, 21, 19, 13, 3, 3, 1, 1, 2}, {1, 28, 28, 6, 5, 5, 1, 0, 1},
    {4, 6, 5, 9, 3, 3, 1, 3, 1}, {5, 7, 7, 20, 1, 1, 1, 0, 1}, {2, 4, 30, 3, 3, 3, 1, 1, 1},
};

/* The conv layer against a direct 6-loop convolution, several images,
 * channels and filters, at 1 and 2 threads, bias and ReLU fused or not. */
START_TEST(test_conv_layer_direct)
{
    const int C = layer_geometries[_i].c, H = layer_geometries[_i].h, W = layer_geometries[_i].w;
    const int F = layer_geometries[_i].f, KH = layer_geometries[_i].kh, KW = layer_geometries[_i].kw;
    const int S = layer_geometries[_i].s, Pd = layer_geometries[_i].p, D = layer_geometries[_i].d, N = 4;
    const int OH = (H + 2 * Pd - D * (KH - 1) - 1) / S + 1, OW = (W + 2 * Pd - D * (KW - 1) - 1) / S + 1;
    for (int threads = 1; threads <= 2; threads++) {
        const int relu = threads == 2;
        char text[512];
        snprintf(text, sizeof text,
                 "[c]\ntype = conv\nfilters = %d\nsize_h = %d\nsize_w = %d\nstride = %d\npad = %d\n"
                 "dilation = %d\nrounding = floor\n%s[loss]\ntype = softmax\n",
                 F, KH, KW, S, Pd, D, relu ? "activation = relu\n" : "");
        struct net net;
        struct config cfg;
        build_test_net(&net, &cfg, text, (struct shape){C, H, W}, N, threads);
        struct rng r;
        rng_seed(&r, 5, RNG_STREAM_TEST);
        struct layer *l = &net.layers[0];
        ck_assert_int_eq(l->out.h, OH);
        ck_assert_int_eq(l->out.w, OW);
        fill_uniform(l->params[0].data, l->params[0].size, &r, -1, 1);
        fill_uniform(l->params[1].data, F, &r, -1, 1);
        fill_uniform(net.input_data, (long)N * C * H * W, &r, -1, 1);
        net_forward(&net, N, NULL, NULL, NULL);
        for (int n = 0; n < N; n++)
            for (int f = 0; f < F; f++)
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        double sum = l->params[1].data[f];
                        for (int c = 0; c < C; c++)
                            for (int ki = 0; ki < KH; ki++)
                                for (int kj = 0; kj < KW; kj++) {
                                    int iy = oy * S - Pd + ki * D, ix = ox * S - Pd + kj * D;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                        continue;
                                    sum += (double)l->params[0].data[((f * C + c) * KH + ki) * KW + kj] *
                                           net.input_data[((n * C + c) * H + iy) * W + ix];
                                }
                        if (relu && sum < 0)
                            sum = 0;
                        float got = l->y[((n * F + f) * OH + oy) * OW + ox];
                        ck_assert_msg(fabs(got - sum) <= 1e-5 * (1 + fabs(sum)), "geometry %d image %d f %d (%d,%d): %g, want %g",
                                      _i, n, f, oy, ox, got, sum);
                    }
        net_free(&net);
        config_free(&cfg);
    }
}
END_TEST

/* One training step's forward output and every gradient, on `kernel`'s
 * path ("generic": im2col + GEMM everywhere; NULL: the best this CPU has,
 * the direct kernels on AVX-512). The tested conv t reads c0 and so does a
 * 1x1 shortcut, so t's input gradient is added to another (accumulate),
 * and c0's weight gradient checks it. */
static float *train_step(const char *t_text, struct shape input, int n, const char *kernel, long *floats)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[c0]\ntype = conv\nfilters = %d\nsize = 1\n[t]\ntype = conv\n%s\n"
             "[s]\ntype = conv\nfilters = 4\nsize = 1\ninput = c0\n[gs]\ntype = globalavgpool\n"
             "[gt]\ntype = globalavgpool\ninput = t\n[cat]\ntype = concat\ninput = gs, gt\n"
             "[fc]\ntype = affine\noutputs = 3\n[loss]\ntype = softmax\n",
             input.c, t_text);
    if (kernel)
        setenv("CNNCTL_GEMM_KERNEL", kernel, 1);
    struct net net;
    struct config cfg;
    build_test_net(&net, &cfg, text, input, n, 2);
    unsetenv("CNNCTL_GEMM_KERNEL");
    struct rng r;
    rng_seed(&r, 9, RNG_STREAM_TEST);
    fill_uniform(net.params, net.param_floats, &r, -0.5f, 0.5f);
    fill_uniform(net.input_data, n * shape_size(input), &r, -1, 1);
    uint8_t labels[8] = {0, 1, 2, 0, 1, 2, 0, 1};
    net_forward(&net, n, labels, NULL, &training);
    net_backward(&net, n, labels, &training);
    const struct layer *t = &net.layers[1];
    const long ysize = n * shape_size(t->out);
    *floats = ysize + net.param_floats;
    float *out = malloc(sizeof(float) * *floats);
    memcpy(out, t->y, sizeof(float) * ysize);
    memcpy(out + ysize, net.grads, sizeof(float) * net.param_floats);
    net_free(&net);
    config_free(&cfg);
    return out;
}

/* The algorithms chosen for each part of a step (conv.h): the plain path
 * everywhere on the generic target; the tiles at stride 1 where the target
 * has them, Winograd for 3x3 with 8 channels or more on both sides of the
 * product, the direct weight gradient from 64 taps, the shifted one for
 * few filters; depthwise always on its own. */
START_TEST(test_conv_choice)
{
    enum { IM2COL = CONV_IM2COL_GEMM, ONE = CONV_POINTWISE_GEMM, TILES = CONV_TILES, SHIFTED = CONV_SHIFTED,
           DEPTH = CONV_DEPTHWISE, WINO = CONV_WINOGRAD };
    static const struct {
        const char *text;
        int channels, generic[3], fast[3];  /* forward, input gradient, weight gradient */
    } cases[] = {
        {"filters = 32\nsize = 3\npad = 1", 5, {IM2COL, IM2COL, IM2COL}, {TILES, TILES, IM2COL}},
        {"filters = 32\nsize = 3\npad = 1", 8, {IM2COL, IM2COL, IM2COL}, {WINO, WINO, WINO}},
        {"filters = 7\nsize = 3", 8, {IM2COL, IM2COL, IM2COL}, {TILES, TILES, TILES}},
        {"filters = 16\nsize = 3\ndilation = 2\npad = 2", 8, {IM2COL, IM2COL, IM2COL}, {TILES, TILES, TILES}},
        {"filters = 16\nsize = 3\npad = 1\ngroups = 2", 16, {IM2COL, IM2COL, IM2COL}, {TILES, TILES, IM2COL}},
        {"filters = 8\nsize = 3\npad = 1", 5, {IM2COL, IM2COL, IM2COL}, {TILES, TILES, SHIFTED}},
        {"filters = 32\nsize = 4\nstride = 2", 8, {IM2COL, IM2COL, IM2COL}, {IM2COL, IM2COL, IM2COL}},
        {"filters = 20\nsize = 1", 5, {ONE, ONE, ONE}, {TILES, TILES, ONE}},
        {"filters = 6\nsize = 3\ngroups = 6\npad = 1", 6, {DEPTH, DEPTH, DEPTH}, {DEPTH, DEPTH, DEPTH}},
    };
    static const char *const targets[] = {"generic", "avx2", "avx512"};
    for (int k = 0; k < 3; k++) {
        if (!cpu_target_find(targets[k]))
            continue;
        setenv("CNNCTL_GEMM_KERNEL", targets[k], 1);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char text[512];
            snprintf(text, sizeof text, "[t]\ntype = conv\n%s\n[fc]\ntype = affine\noutputs = 3\n[loss]\ntype = softmax\n",
                     cases[i].text);
            struct net net;
            struct config cfg;
            build_test_net(&net, &cfg, text, (struct shape){cases[i].channels, 12, 12}, 2, 1);
            const struct conv_conf *c = net.layers[0].conf;
            const int *want = k == 0 ? cases[i].generic : cases[i].fast;
            const int got[3] = {c->forward, c->input_gradient, c->weight_gradient};
            for (int part = 0; part < 3; part++)
                ck_assert_msg(got[part] == want[part], "%s, case %zu, part %d: algorithm %d, want %d", targets[k], i,
                              part, got[part], want[part]);
            net_free(&net);
            config_free(&cfg);
        }
        unsetenv("CNNCTL_GEMM_KERNEL");
    }
}
END_TEST

/* The direct kernels agree with im2col + GEMM on every product of a step. */
START_TEST(test_conv_direct_matches_gemm)
{
    static const struct {
        const char *text;
        struct shape input;
    } cases[] = {
        {"filters = 32\nsize = 3\npad = 1\nactivation = relu", {5, 28, 28}},
        {"filters = 16\nsize = 5\nactivation = relu", {6, 12, 12}},
        {"filters = 7\nsize_h = 3\nsize_w = 2\ndilation = 2\npad = 2", {3, 9, 11}},
        {"filters = 6\nsize = 3\ngroups = 3\npad = 1", {6, 7, 15}},
        {"filters = 13\nsize = 3\npad = 3", {4, 5, 6}},
        {"filters = 20\nsize = 1\nactivation = leaky\nslope = 0.1", {5, 7, 7}},
        /* 64 taps or more: the weight gradient without im2col, in tiles
         * of 8 taps x 2 vectors of filters, 8 x 3, 6 x 4 then 6 x 1 with
         * a partial last row block, dilation, padding past the window */
        {"filters = 32\nsize = 3\npad = 1\nactivation = relu", {8, 28, 28}},
        {"filters = 40\nsize = 3", {8, 10, 9}},
        {"filters = 70\nsize_h = 3\nsize_w = 5\ndilation = 2\npad = 2", {5, 13, 17}},
        {"filters = 20\nsize = 3\npad = 3", {8, 5, 6}},
        /* Winograd (3x3, stride 1, 8 channels or more): a tile row a
         * vector (32 wide), two or four (16, 8), a row in two vectors with
         * the last part empty (pad 2 and 0: odd output sizes, the input
         * gradient padded by 0 and 2), a 7x7 map, filters not a multiple of
         * the product's rows */
        {"filters = 16\nsize = 3\npad = 1\nactivation = relu", {16, 32, 32}},
        {"filters = 12\nsize = 3\npad = 1", {9, 16, 16}},
        {"filters = 20\nsize = 3\npad = 1\nactivation = relu", {24, 8, 8}},
        {"filters = 10\nsize = 3\npad = 2", {8, 15, 21}},
        {"filters = 9\nsize = 3", {11, 13, 40}},
        {"filters = 8\nsize = 3\npad = 1", {8, 7, 7}},
    };
    /* each direct kernel this CPU runs (AVX2 reads padded copies, AVX-512
     * masks) */
    static const char *const kernels[] = {"avx512", "avx2"};
    long nb;
    /* 8 images: Winograd runs from a batch of 8 (smaller ones: the tiles) */
    float *b = train_step(cases[_i].text, cases[_i].input, 8, "generic", &nb);
    int tried = 0;
    for (int k = 0; k < 2; k++) {
        if (!cpu_target_find(kernels[k]))
            continue;
        ck_assert_ptr_nonnull(cpu_target_find(kernels[k])->conv);
        tried++;
        long na;
        float *a = train_step(cases[_i].text, cases[_i].input, 8, kernels[k], &na);
        ck_assert_int_eq(na, nb);
        for (long e = 0; e < na; e++)
            ck_assert_msg(fabsf(a[e] - b[e]) <= 1e-4f * (1 + fabsf(b[e])), "%s case %d element %ld: %g vs %g",
                          kernels[k], _i, e, a[e], b[e]);
        free(a);
    }
    if (!tried)
        fprintf(stderr, "conv direct test: this CPU has no direct kernel (neither AVX-512 nor AVX2)\n");
    free(b);
}
END_TEST

/* One training step of text's network at `threads`, built with `fusion`:
 * its loss, and copies of the probabilities (n x 3) and every gradient
 * (caller frees). check(net): the fusion the test expects. */
struct step_result {
    double loss;
    float *probs, *grads;
    long param_floats;
};

static struct step_result one_step(const char *text, struct shape input, int n, int threads, enum net_fusion fusion,
                                   const uint8_t *labels, uint64_t seed, void (*check)(const struct net *net))
{
    struct net net;
    struct config cfg;
    build_test_net_as(&net, &cfg, text, input, n, threads, fusion);
    if (check)
        check(&net);
    struct rng r;
    rng_seed(&r, seed, RNG_STREAM_TEST);
    fill_uniform(net.params, net.param_floats, &r, -0.5f, 0.5f);
    fill_uniform(net.input_data, n * shape_size(input), &r, -1, 1);
    struct step_result out = {net_forward(&net, n, labels, NULL, &training), NULL, NULL, net.param_floats};
    net_backward(&net, n, labels, &training);
    out.grads = malloc(sizeof(float) * out.param_floats);
    out.probs = malloc(sizeof(float) * n * 3);
    memcpy(out.grads, net.grads, sizeof(float) * out.param_floats);
    memcpy(out.probs, net_probabilities(&net), sizeof(float) * n * 3);
    net_free(&net);
    config_free(&cfg);
    return out;
}

static void check_nothing_fused(const struct net *net)
{
    for (int i = 0; i < net->count; i++)
        ck_assert_msg(!net->layers[i].fused && !net->layers[i].pool, "%s fused", net->layers[i].name);
}

/* The step of n <= 8 images fused (with check) and unfused: the same bits. */
static void assert_fusion_same_bits(const char *text, struct shape input, int n, int threads, uint64_t seed,
                                    void (*check)(const struct net *net))
{
    const uint8_t labels[8] = {0, 1, 2, 2, 1, 0, 1, 2};
    struct step_result a = one_step(text, input, n, threads, NET_FUSE, labels, seed, check);
    struct step_result b = one_step(text, input, n, threads, NET_KEEP_OUTPUTS, labels, seed, check_nothing_fused);
    ck_assert(a.loss == b.loss);
    ck_assert_int_eq(memcmp(a.probs, b.probs, sizeof(float) * n * 3), 0);
    ck_assert_int_eq(a.param_floats, b.param_floats);
    for (long e = 0; e < a.param_floats; e++)
        ck_assert_msg(a.grads[e] == b.grads[e], "%d threads, gradient %ld: fused %g, on its own %g", threads, e,
                      a.grads[e], b.grads[e]);
    free(a.grads);
    free(a.probs);
    free(b.grads);
    free(b.probs);
}

/* Fused layers (name, the layer that runs it), and no others. */
static void assert_fused(const struct net *net, const char *const (*fused)[2], int count)
{
    for (int i = 0; i < net->count; i++) {
        const char *by = NULL;
        for (int f = 0; f < count; f++)
            if (strcmp(net->layers[i].name, fused[f][0]) == 0)
                by = fused[f][1];
        ck_assert_msg(net->layers[i].fused == (by != NULL), "%s: fused %d", net->layers[i].name,
                      net->layers[i].fused);
        if (by)
            ck_assert_str_eq(net->layers[net->layers[i].fused_by].name, by);
    }
}

static void check_activations_fused(const struct net *net)
{
    static const char *const fused[][2] = {{"r1", "c1"}, {"s2", "c2"}, {"l3", "c3"}, {"t1", "fc1"}, {"rf", "fc2"}};
    assert_fused(net, fused, sizeof fused / sizeof fused[0]);
}

/* Activation layers fused into the conv or affine before them give the
 * same bits as run on their own: loss, probabilities and every gradient of
 * a training step, on the direct conv path (stride 1) and im2col + GEMM
 * (stride 2), for each activation. Not fused: a relu whose producer has a
 * second reader, and one after a conv that has an activation already. */
START_TEST(test_fused_activations_same_bits)
{
    const char *text =
        "[c1]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\n[r1]\ntype = relu\n"
        "[c2]\ntype = conv\nfilters = 6\nsize = 3\nstride = 2\n[s2]\ntype = sigmoid\n"
        "[c3]\ntype = conv\nfilters = 5\nsize = 3\npad = 1\n[l3]\ntype = leaky\nslope = 0.2\n"
        "[c4]\ntype = conv\nfilters = 4\nsize = 1\nactivation = relu\n[r4]\ntype = relu\n"
        "[c5]\ntype = conv\nfilters = 4\nsize = 1\n[r5]\ntype = relu\n[g5]\ntype = globalavgpool\ninput = c5\n"
        "[cat]\ntype = concat\ninput = r5, r4\n[gp]\ntype = globalavgpool\n[cg]\ntype = concat\ninput = gp, g5\n"
        "[fc1]\ntype = affine\noutputs = 20\n[t1]\ntype = tanh\n"
        "[fc2]\ntype = affine\noutputs = 12\n[rf]\ntype = relu\n"
        "[fc3]\ntype = affine\noutputs = 3\n[loss]\ntype = softmax\n";
    assert_fusion_same_bits(text, (struct shape){2, 13, 13}, 6, 2, 21, check_activations_fused);
}
END_TEST

static void check_pools_fused(const struct net *net)
{
    static const char *const fused[][2] = {{"r1", "c1"}, {"p1", "c1"}, {"r2", "c2"},
                                           {"p2", "c2"}, {"p3", "c3"}, {"s4", "c4"}};
    assert_fused(net, fused, sizeof fused / sizeof fused[0]);
    /* c1, r1 and p1 share p1's output, 8 x 6 x 6 a image; c4 and s4 c4's */
    ck_assert_str_eq(net->layers[2].name, "p1");
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(net_output_floats(net, &net->layers[i]), 8 * 6 * 6);
    for (int i = 0; i < net->count; i++)
        if (strcmp(net->layers[i].name, "s4") == 0)
            ck_assert_int_eq(net_output_floats(net, &net->layers[i]), shape_size(net->layers[i - 1].out));
}

/* Max pools fused into the conv before them (each image pooled while in
 * cache) give the same bits as run on their own: loss, probabilities and
 * every gradient of a training step, at 1 and 2 threads. Fused: 2x2 after a
 * direct conv's ReLU on an odd map (a row and a column no window covers),
 * 3x3 windows at stride 2 with padding after an im2col conv (stride 2,
 * windows overlap, its dx through the GEMM path), and after a 1x1 conv
 * with no activation. Not fused: after a sigmoid (its gradient is not the
 * pooled output's), after a grouped conv, and a conv read by two layers. */
START_TEST(test_fused_pools_same_bits)
{
    const char *text =
        "[c1]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\n[r1]\ntype = relu\n[p1]\ntype = maxpool\nsize = 2\n"
        "rounding = floor\n"
        "[c2]\ntype = conv\nfilters = 7\nsize = 3\nstride = 2\npad = 1\nrounding = floor\n[r2]\ntype = relu\n"
        "[p2]\ntype = maxpool\nsize = 3\nstride = 2\npad = 1\nrounding = floor\n"
        "[c3]\ntype = conv\nfilters = 6\nsize = 1\n[p3]\ntype = maxpool\nsize = 2\nstride = 1\n"
        "[c4]\ntype = conv\nfilters = 6\nsize = 3\npad = 1\n[s4]\ntype = sigmoid\n[p4]\ntype = maxpool\nsize = 1\n"
        "[c5]\ntype = conv\nfilters = 6\nsize = 3\npad = 1\ngroups = 2\nactivation = relu\n"
        "[p5]\ntype = maxpool\nsize = 1\n"
        "[c6]\ntype = conv\nfilters = 4\nsize = 1\nactivation = relu\n[p6]\ntype = maxpool\nsize = 1\n"
        "[g6]\ntype = globalavgpool\ninput = c6\n[gp]\ntype = globalavgpool\ninput = p6\n"
        "[cat]\ntype = concat\ninput = gp, g6\n"
        "[fc]\ntype = affine\noutputs = 3\n[loss]\ntype = softmax\n";
    for (int threads = 1; threads <= 2; threads++)
        assert_fusion_same_bits(text, (struct shape){2, 13, 13}, 6, threads, 22, check_pools_fused);
}
END_TEST

static void check_winograd_pool_fused(const struct net *net)
{
    static const char *const fused[][2] = {{"r1", "c1"}, {"p1", "c1"}};
    assert_fused(net, fused, sizeof fused / sizeof fused[0]);
    const struct conv_conf *c = net->layers[1].conf;
    if (net->gemm.target->winograd)
        ck_assert(c->forward == CONV_WINOGRAD && c->input_gradient == CONV_WINOGRAD);
}

/* The same through Winograd's path (a batch of 8): c1 runs image by image,
 * its input gradient (into c0) too. */
START_TEST(test_fused_pools_winograd_same_bits)
{
    const char *text = "[c0]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\n"
                       "[c1]\ntype = conv\nfilters = 12\nsize = 3\npad = 1\n[r1]\ntype = relu\n"
                       "[p1]\ntype = maxpool\nsize = 2\nrounding = floor\n"
                       "[fc]\ntype = affine\noutputs = 3\n[loss]\ntype = softmax\n";
    for (int threads = 1; threads <= 2; threads++)
        assert_fusion_same_bits(text, (struct shape){8, 15, 15}, 8, threads, 23, check_winograd_pool_fused);
}
END_TEST

/* The transposed convolution is conv's adjoint: on the seed notes' 4x4
 * image and 3x3 filter (y = conv(x) is 2x2), deconv with the same filter
 * puts each 2x2 value's copy of the filter where that output's window
 * was, and <conv(x), b> = <x, deconv(b)> for any b. */
START_TEST(test_deconv_seed_adjoint)
{
    /* b = [1 0; 0 0]: the filter at the top left; b = [0 0; 0 1]: at the
     * bottom right */
    float out[16];
    const float b1[4] = {1, 0, 0, 0}, b4[4] = {0, 0, 0, 1};
    const float want1[16] = {2, 0, 1, 0, 0, 1, 2, 0, 1, 0, 2, 0, 0, 0, 0, 0};
    const float want4[16] = {0, 0, 0, 0, 0, 2, 0, 1, 0, 0, 1, 2, 0, 1, 0, 2};
    run_layer("type = deconv\nfilters = 1\nsize = 3", b1, 2, 2, seed_filter_3x3, 9, out, 16);
    assert_grid(out, want1, 16);
    run_layer("type = deconv\nfilters = 1\nsize = 3", b4, 2, 2, seed_filter_3x3, 9, out, 16);
    assert_grid(out, want4, 16);
    /* <conv(x), b> = <x, deconv(b)>: conv(x) is 15 16 6 15 */
    const float b[4] = {1, -2, 3, 0.5f};
    run_layer("type = deconv\nfilters = 1\nsize = 3", b, 2, 2, seed_filter_3x3, 9, out, 16);
    double left = 15 * 1 + 16 * -2 + 6 * 3 + 15 * 0.5, right = 0;
    for (int i = 0; i < 16; i++)
        right += seed_input_4x4[i] * out[i];
    ck_assert_double_eq_tol(left, right, 1e-9);
    /* with padding 1 (the seed's padded conv: 4x4 -> 4x4) */
    float out_pad[16], conv_pad[16];
    const float d[16] = {1, 0, 2, -1, 0.5f, 3, 0, 1, -2, 1, 1, 0, 0, 2, -1, 4};
    run_layer("type = conv\nfilters = 1\nsize = 3\npad = 1\nbias = 0", seed_input_4x4, 4, 4, seed_filter_3x3, 9,
              conv_pad, 16);
    run_layer("type = deconv\nfilters = 1\nsize = 3\npad = 1", d, 4, 4, seed_filter_3x3, 9, out_pad, 16);
    left = right = 0;
    for (int i = 0; i < 16; i++) {
        left += (double)conv_pad[i] * d[i];
        right += (double)seed_input_4x4[i] * out_pad[i];
    }
    ck_assert_double_eq_tol(left, right, 1e-9);
}
END_TEST

/* Transposed convolution, upsampling and crop against PyTorch 1.13's
 * conv_transpose2d and interpolate (align_corners=False), an independent
 * implementation: the values it printed. */
START_TEST(test_upsampling_worked)
{
    const float x[4] = {1, 2, 3, 4};
    float out[36];
    const float ones[4] = {1, 1, 1, 1}, want_ones[9] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    run_layer("type = deconv\nfilters = 1\nsize = 2", x, 2, 2, ones, 4, out, 9);
    assert_grid(out, want_ones, 9);
    const float w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float want_s2[16] = {5, 14, 10, 12, 14, 36, 24, 30, 15, 34, 20, 24, 24, 55, 32, 36};
    run_layer("type = deconv\nfilters = 1\nsize = 3\nstride = 2\npad = 1\noutput_pad = 1", x, 2, 2, w, 9, out, 16);
    assert_grid(out, want_s2, 16);
    const float want_nearest[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    run_layer("type = upsample", x, 2, 2, NULL, 0, out, 16);
    assert_grid(out, want_nearest, 16);
    const float want_bilinear[16] = {1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                                     2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4};
    run_layer("type = upsample\nmode = bilinear", x, 2, 2, NULL, 0, out, 16);
    assert_grid(out, want_bilinear, 16);
    /* 3 x 2 on a 2 x 3 map: thirds, and pixel centres past the edges */
    const float x23[6] = {1, 2, 4, 0, -1, 3};
    const double want_32[36] = {1, 1.25, 1.75, 2.5, 3.5, 4, 1, 1.25, 1.75, 2.5, 3.5, 4,
                                0.666667, 0.75, 0.916667, 1.666667, 3, 3.666667,
                                0.333333, 0.25, 0.083333, 0.833333, 2.5, 3.333333,
                                0, -0.25, -0.75, 0, 2, 3, 0, -0.25, -0.75, 0, 2, 3};
    run_layer("type = upsample\nmode = bilinear\nscale_h = 3\nscale_w = 2", x23, 2, 3, NULL, 0, out, 36);
    for (int i = 0; i < 36; i++)
        ck_assert_msg(fabs(out[i] - want_32[i]) < 1e-5, "element %d: got %g, want %g", i, out[i], want_32[i]);
    const float x44[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, want_crop[6] = {7, 8, 11, 12, 15, 16};
    run_layer("type = crop\nsize_h = 3\nsize_w = 2\noffset_h = 1\noffset_w = 2", x44, 4, 4, NULL, 0, out, 6);
    assert_grid(out, want_crop, 6);
}
END_TEST

Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *seed = tcase_create("seed worked examples");
    tcase_add_test(seed, test_seed_conv_valid);
    tcase_add_test(seed, test_seed_conv_pad1);
    tcase_add_test(seed, test_seed_conv_7x7_stride2);
    tcase_add_test(seed, test_seed_conv_5x5_x_filter);
    tcase_add_test(seed, test_seed_conv_5x5_center_filter);
    tcase_add_test(seed, test_seed_conv_bias_broadcast);
    tcase_add_test(seed, test_seed_maxpool_001);
    tcase_add_test(seed, test_seed_maxpool_002);
    tcase_add_test(seed, test_output_size_formula);
    tcase_add_test(seed, test_deconv_seed_adjoint);
    tcase_add_test(seed, test_upsampling_worked);
    suite_add_tcase(s, seed);
    TCase *direct = tcase_create("against direct loops");
    tcase_add_loop_test(direct, test_im2col_col2im_direct, 0, sizeof geometries / sizeof geometries[0]);
    tcase_add_loop_test(direct, test_conv_layer_direct, 0, sizeof layer_geometries / sizeof layer_geometries[0]);
    tcase_add_test(direct, test_conv_choice);
    tcase_add_loop_test(direct, test_conv_direct_matches_gemm, 0, 16);
    tcase_add_loop_test(direct, test_maxpool_2x2_definition, 0, 12);
    tcase_add_test(direct, test_fused_activations_same_bits);
    tcase_add_test(direct, test_fused_pools_same_bits);
    tcase_add_test(direct, test_fused_pools_winograd_same_bits);
    suite_add_tcase(s, direct);
    return s;
}
