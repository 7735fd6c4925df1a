/* check_gradient.c - analytic gradients against central differences.
 *
 * Each case puts the layer under test between a conv (whose weight
 * gradient then depends on the tested layer's input gradient) and an
 * affine + softmax head, so both the layer's parameter gradients and its
 * dx are checked against the definition. */
#include "test_util.h"
#include "boxes.h"
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every trained tensor of each case against central differences
 * (gradcheck.c, shared with `cnnctl gradcheck`). */
#define CHECKS_PER_TENSOR 24

static void gradcheck(const char *text, struct shape input, int n, int threads)
{
    struct net net;
    struct config cfg;
    build_test_net(&net, &cfg, text, input, n, threads);
    net_init_params(&net, 3);
    struct rng r;
    rng_seed(&r, 17, RNG_STREAM_TEST);
    /* biases too: zero biases would hide a wrong bias gradient in ReLU nets */
    fill_uniform(net.params, net.param_floats, &r, -0.5f, 0.5f);
    fill_uniform(net.input_data, n * shape_size(input), &r, -1, 1);
    uint8_t labels[64];
    for (int i = 0; i < n; i++)
        labels[i] = (uint8_t)rng_below(&r, net.classes);
    const struct net_pass pass = {5, 7, 0, 0};
    struct gradcheck_layer *result = calloc(net.count, sizeof *result);
    ck_assert_double_ge(gradcheck_run(&net, n, labels, &pass, CHECKS_PER_TENSOR, result), 0.0);
    for (int li = 0; li < net.count; li++)
        ck_assert_msg(result[li].worst <= GRADCHECK_TOLERANCE, "[%s] %s: error %.3g (threads %d)",
                      net.layers[li].name, result[li].where, result[li].worst, threads);
    free(result);
    net_free(&net);
    config_free(&cfg);
}

/* gradcheck at a training step's pass: every layer within the tolerance */
static void every_layer_agrees(struct net *net, int n, const uint8_t *labels)
{
    const struct net_pass pass = {5, 7, 0, 0};
    struct gradcheck_layer *result = calloc(net->count, sizeof *result);
    ck_assert_double_ge(gradcheck_run(net, n, labels, &pass, CHECKS_PER_TENSOR, result), 0.0);
    for (int li = 0; li < net->count; li++)
        ck_assert_msg(result[li].worst <= GRADCHECK_TOLERANCE, "[%s] %s: error %.3g", net->layers[li].name,
                      result[li].where, result[li].worst);
    free(result);
}

#define HEAD "[fc]\ntype = affine\noutputs = 5\n[loss]\ntype = softmax\n"

static const struct {
    const char *text;
    struct shape input;
} cases[] = {
    /* conv with stride, padding and unequal sizes */
    {"[c1]\ntype = conv\nfilters = 3\nsize_h = 3\nsize_w = 2\nstride = 2\npad = 1\n" HEAD, {2, 9, 8}},
    /* 1x1 conv (the no-im2col path), its dx checked through c1 */
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[c2]\ntype = conv\nfilters = 4\nsize = 1\n" HEAD, {2, 8, 8}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\n[r]\ntype = relu\n" HEAD, {2, 8, 8}},
    {"[c1]\ntype = conv\nfilters = 2\nsize = 3\npad = 1\n[p]\ntype = maxpool\nsize = 3\nstride = 2\npad = 1\n" HEAD, {2, 9, 9}},
    {"[c1]\ntype = conv\nfilters = 2\nsize = 3\npad = 1\n[p]\ntype = avgpool\nsize = 2\n" HEAD, {2, 8, 8}},
    {"[c1]\ntype = conv\nfilters = 2\nsize = 3\nbias = 0\n[fc0]\ntype = affine\noutputs = 7\n" HEAD, {2, 8, 8}},
    /* grouped, depthwise and dilated convolutions */
    {"[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[g]\ntype = conv\nfilters = 6\nsize = 3\ngroups = 2\n"
     "dilation = 2\npad = 2\n" HEAD, {2, 7, 7}},
    {"[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[dw]\ntype = conv\nfilters = 4\nsize = 3\ngroups = 4\n"
     "stride = 2\n[pw]\ntype = conv\nfilters = 5\nsize = 1\n" HEAD, {2, 7, 7}},
    {"[c1]\ntype = conv\nfilters = 4\nsize = 3\n[pw]\ntype = conv\nfilters = 4\nsize = 1\ngroups = 2\n" HEAD, {3, 6, 6}},
    /* depthwise (the direct path) with padding, dilation and unequal sizes */
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[dw]\ntype = conv\nfilters = 3\nsize_h = 3\nsize_w = 2\n"
     "groups = 3\npad = 2\ndilation = 2\n" HEAD, {2, 7, 7}},
    {"[c1]\ntype = conv\nfilters = 3\nsize_h = 3\nsize_w = 2\ndilation_h = 2\ndilation_w = 3\n" HEAD, {2, 9, 9}},
    /* rounding = floor: a 3x3 stride-2 conv and a 1x1 stride-2 shortcut on an
     * even map, 2x2 max pooling (the fast path) and avg pooling of odd maps;
     * the pixels no window reaches get no gradient */
    {"[c0]\ntype = conv\nfilters = 2\nsize = 3\npad = 1\n"
     "[c1]\ntype = conv\nfilters = 3\nsize = 3\nstride = 2\npad = 1\nrounding = floor\n"
     "[s]\ntype = conv\nfilters = 3\nsize = 1\nstride = 2\nrounding = floor\ninput = c0\n"
     "[sum]\ntype = add\ninput = c1, s\n" HEAD, {2, 8, 8}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\nstride = 2\npad = 1\nrounding = floor\n"
     "[m]\ntype = maxpool\nsize = 2\nrounding = floor\n[c2]\ntype = conv\nfilters = 2\nsize = 1\n"
     "[a]\ntype = avgpool\nsize = 2\nrounding = floor\n" HEAD, {2, 14, 14}},
    /* a max pool fused into the conv before it, overlapping windows with
     * padding: frozen forwards rebuild the pooled values from the arg-max */
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[r1]\ntype = relu\n[p1]\ntype = maxpool\nsize = 3\n"
     "stride = 2\npad = 1\n" HEAD, {2, 7, 7}},
    /* activations, standalone and fused */
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\n[a]\ntype = leaky\nslope = 0.1\n" HEAD, {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\n[a]\ntype = sigmoid\n" HEAD, {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\n[a]\ntype = tanh\n" HEAD, {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\nactivation = tanh\n[c2]\ntype = conv\nfilters = 3\nsize = 3\n"
     "activation = leaky\nslope = 0.2\n[fc0]\ntype = affine\noutputs = 6\nactivation = sigmoid\n" HEAD, {2, 7, 7}},
    /* pooling to one value per map, dropout, batchnorm after conv and affine, LRN */
    {"[c1]\ntype = conv\nfilters = 4\nsize = 3\n[gap]\ntype = globalavgpool\n" HEAD, {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 4\nsize = 3\n[d]\ntype = dropout\nrate = 0.3\n" HEAD, {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\n[bn]\ntype = batchnorm\n"
     "[fc0]\ntype = affine\noutputs = 6\n[bn2]\ntype = batchnorm\n" HEAD, {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 7\nsize = 3\n[n]\ntype = lrn\nsize = 3\nalpha = 0.5\nk = 1\n" HEAD, {2, 6, 6}},
    /* ReLU fused into batchnorm and into add (ResNet's block), and a
     * leaky one into an add of three inputs */
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\nbias = 0\n[bn1]\ntype = batchnorm\n[r1]\ntype = relu\n"
     "[c2]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\nbias = 0\n[bn2]\ntype = batchnorm\n"
     "[sum]\ntype = add\ninput = bn2, r1\n[out]\ntype = relu\n" HEAD, {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[c2]\ntype = conv\nfilters = 3\nsize = 1\n"
     "[sum]\ntype = add\ninput = c1, c2, c1\n[out]\ntype = leaky\nslope = 0.2\n" HEAD, {2, 6, 6}},
    /* graphs: residual add (one tensor read twice), concat, squeeze-and-excitation scale */
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[c2]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n"
     "[sum]\ntype = add\ninput = c1, c2\n[twice]\ntype = add\ninput = sum, sum\n" HEAD, {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[a]\ntype = conv\nfilters = 2\nsize = 1\n"
     "[b]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\ninput = c1\n[cat]\ntype = concat\ninput = a, b, c1\n" HEAD,
     {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 4\nsize = 3\n[sq]\ntype = globalavgpool\n[e1]\ntype = affine\noutputs = 2\n"
     "activation = relu\n[e2]\ntype = affine\noutputs = 4\nactivation = sigmoid\n[se]\ntype = scale\ninput = c1, e2\n"
     HEAD, {2, 6, 6}},
    /* FCN's upsampling: a transposed convolution (stride 2, padding, an
     * output padding, unequal sizes, a fused ReLU), nearest and bilinear
     * upsampling by 2 and 3, a crop to a second input's size and to a
     * given size at an offset, added to a skip connection */
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[up]\ntype = deconv\nfilters = 2\nsize_h = 3\nsize_w = 4\n"
     "stride = 2\npad = 1\noutput_pad = 1\n[r]\ntype = relu\n" HEAD, {2, 5, 6}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\n[up]\ntype = deconv\nfilters = 4\nsize = 2\nbias = 0\n"
     "activation = tanh\n" HEAD, {2, 6, 5}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[up]\ntype = upsample\nscale = 2\n" HEAD, {2, 5, 4}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[up]\ntype = upsample\nscale_h = 3\nscale_w = 2\n"
     "mode = bilinear\n" HEAD, {2, 4, 5}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[p]\ntype = maxpool\nsize = 2\nrounding = floor\n"
     "[s]\ntype = conv\nfilters = 2\nsize = 1\n[up]\ntype = deconv\nfilters = 2\nsize = 4\nstride = 2\n"
     "[cut]\ntype = crop\ninput = up, c1\noffset = 1\n[skip]\ntype = conv\nfilters = 2\nsize = 1\ninput = c1\n"
     "[sum]\ntype = add\ninput = cut, skip\n" HEAD, {2, 7, 7}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[cut]\ntype = crop\nsize_h = 3\nsize_w = 4\n"
     "offset_h = 2\noffset_w = 1\n" HEAD, {2, 6, 7}},
    /* the regression losses */
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\n[fc]\ntype = affine\noutputs = 5\n[loss]\ntype = l2\n", {2, 6, 6}},
    {"[c1]\ntype = conv\nfilters = 3\nsize = 3\n[fc]\ntype = affine\noutputs = 5\n[loss]\ntype = l1\n", {2, 6, 6}},
    /* a whole small network: every layer type */
    {"[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[r1]\ntype = relu\n[p1]\ntype = maxpool\nsize = 2\n"
     "[c2]\ntype = conv\nfilters = 3\nsize = 2\nstride = 2\n[r2]\ntype = relu\n[p2]\ntype = avgpool\nsize = 2\n"
     "[fc1]\ntype = affine\noutputs = 6\n[r3]\ntype = relu\n" HEAD, {2, 8, 8}},
};
#define CASES (sizeof cases / sizeof cases[0])

START_TEST(test_gradient_one_thread)
{
    gradcheck(cases[_i].text, cases[_i].input, 3, 1);
}
END_TEST

START_TEST(test_gradient_two_threads)
{
    /* per-thread partial weight gradients summed afterwards */
    gradcheck(cases[_i].text, cases[_i].input, 5, 2);
}
END_TEST

/* Every case again on a colour input: 3 channels into the first layer. */
START_TEST(test_gradient_three_channels)
{
    struct shape input = cases[_i].input;
    input.c = 3;
    gradcheck(cases[_i].text, input, 3, 2);
}
END_TEST

/* Winograd's path (3x3 stride 1, 8 channels or more, a batch of 8) on the
 * CPU's target: its forward pass, input gradient (c2 into c1) and weight
 * gradient, padded and not, with a fused ReLU. */
START_TEST(test_gradient_winograd)
{
    const char *text = "[c1]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\n"
                       "[c2]\ntype = conv\nfilters = 9\nsize = 3\n[r]\ntype = relu\n" HEAD;
    gradcheck(text, (struct shape){8, 9, 10}, 8, 2);
}
END_TEST

/* The per-pixel softmax (a C x H x W input): an FCN's head, a label per
 * pixel, some of them the ignored label (no loss, no gradient). */
START_TEST(test_gradient_per_pixel_softmax)
{
    const char *text = "[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[p]\ntype = maxpool\nsize = 2\n"
                       "[up]\ntype = deconv\nfilters = 3\nsize = 2\nstride = 2\n[loss]\ntype = softmax\n";
    const struct shape input = {2, 6, 8};
    const int n = 3;
    struct net net;
    struct config cfg;
    build_test_net(&net, &cfg, text, input, n, 2);
    ck_assert_int_eq(net.classes, 3);
    ck_assert_int_eq(net.label_units, 6 * 8);
    net.ignore_label = 255;
    struct rng r;
    rng_seed(&r, 19, RNG_STREAM_TEST);
    fill_uniform(net.params, net.param_floats, &r, -0.5f, 0.5f);
    fill_uniform(net.input_data, n * shape_size(input), &r, -1, 1);
    uint8_t labels[3 * 48];
    for (int i = 0; i < n * 48; i++)
        labels[i] = i % 7 == 0 ? 255 : (uint8_t)rng_below(&r, 3);
    every_layer_agrees(&net, n, labels);
    /* the loss: the mean over each image's pixels, the ignored ones 0 */
    int correct;
    const double loss = net_forward(&net, n, labels, &correct, NULL);
    const float *p = net_probabilities(&net);
    double want = 0.0;
    int right = 0;
    for (int i = 0; i < n; i++)
        for (int q = 0; q < 48; q++) {
            const int label = labels[i * 48 + q];
            if (label == 255)
                continue;
            want -= log(p[(i * 3 + label) * 48 + q]) / 48;
            int best = 0;
            for (int k = 1; k < 3; k++)
                best = p[(i * 3 + k) * 48 + q] > p[(i * 3 + best) * 48 + q] ? k : best;
            right += best == label;
        }
    ck_assert_double_eq_tol(loss, want, 1e-4 * want);
    ck_assert_int_eq(correct, right);
    net_free(&net);
    config_free(&cfg);
}
END_TEST

/* n images' box records: image i gets boxes[i][0..count[i]) (class x y w h). */
static void box_records(uint8_t *records, int n, const float (*boxes)[4][5], const int *count)
{
    for (int i = 0; i < n; i++) {
        struct box_label b[BOX_MAX_PER_IMAGE];
        for (int k = 0; k < BOX_MAX_PER_IMAGE; k++)
            b[k] = k < count[i] ? (struct box_label){boxes[i][k][0], boxes[i][k][1], boxes[i][k][2], boxes[i][k][3],
                                                     boxes[i][k][4]}
                                : (struct box_label){.cls = -1.0f};
        memcpy(records + i * BOX_LABEL_BYTES, b, sizeof b);
    }
}

/* The yolo loss through a conv, a max pool and a 1x1 head on a 3 x 3 grid,
 * 2 anchors, 3 classes: boxes in every corner, two given the same
 * predictor (the later replaces the earlier), an image without boxes; with
 * ignore_thresh 0.6 and 0.05 (most predictors ignored: held as they were
 * in the frozen forwards). */
START_TEST(test_gradient_yolo)
{
    char text[512];
    snprintf(text, sizeof text,
             "[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[p]\ntype = maxpool\nsize = 2\n"
             "[head]\ntype = conv\nfilters = 16\nsize = 1\n"
             "[loss]\ntype = yolo\nanchors = 1,1.5, 2,1\nignore_thresh = %s\n",
             _i ? "0.05" : "0.6");
    const struct shape input = {2, 6, 6};
    const int n = 3;
    struct net net;
    struct config cfg;
    build_test_net(&net, &cfg, text, input, n, 2);
    ck_assert_int_eq(net.classes, 3);
    ck_assert(net.boxes && net.label_units == BOX_LABEL_BYTES);
    struct rng r;
    rng_seed(&r, 23, RNG_STREAM_TEST);
    fill_uniform(net.params, net.param_floats, &r, -0.5f, 0.5f);
    fill_uniform(net.input_data, n * shape_size(input), &r, -1, 1);
    static const float boxes[3][4][5] = {
        {{0, 0.1f, 0.1f, 0.2f, 0.2f}, {2, 0.9f, 0.85f, 0.2f, 0.3f}, {1, 0.5f, 0.5f, 0.9f, 0.6f}},
        {{1, 0.4f, 0.4f, 0.3f, 0.5f}, {2, 0.45f, 0.42f, 0.3f, 0.45f}, {0, 0.15f, 0.8f, 0.3f, 0.3f}},
        {{0}},
    };
    static const int count[3] = {3, 3, 0};
    uint8_t labels[3 * BOX_LABEL_BYTES];
    box_records(labels, n, boxes, count);
    every_layer_agrees(&net, n, labels);
    net_free(&net);
    config_free(&cfg);
}
END_TEST

/* The yolo layer's loss and input gradient against
 * tests/net/yolo_reference.py, which computes them from the definition in
 * float64 with Python's math alone (the gradient by central differences):
 * a 2 x 2 grid, anchors (1, 1.5) and (2, 1), 2 classes, x[e] = 1.5 sin(0.7
 * e + 0.3), two boxes, ignore_thresh 0.2 (two predictors ignored). An
 * upsampling by 1 in front passes x on and takes the gradient. */
START_TEST(test_yolo_reference)
{
    static const double want_loss = 32.7272526616;
    static const double want[56] = {
        0.0215260769, 0, 0, 0.651975704, -0.460582683, 0, 0, 0.0165169318, -3.37671446, 0, 0, 14.8403737,
        13.9991895, 0, 0, -5.55113613, -0.78804451, 0.184402833, 0, -0.216065697, 0.950558306, 0, 0,
        -0.813381284, -0.950558306, 0, 0, 0.813381284, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0.192776273, 0.318463414, 0.395072995, 0.406225372, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    struct net net;
    struct config cfg;
    build_test_net(&net, &cfg,
                   "[id]\ntype = upsample\nscale = 1\n[loss]\ntype = yolo\nanchors = 1,1.5, 2,1\n"
                   "ignore_thresh = 0.2\n",
                   (struct shape){14, 2, 2}, 1, 1);
    for (int e = 0; e < 56; e++)
        net.input_data[e] = (float)(1.5 * sin(0.7 * e + 0.3));
    static const float boxes[1][4][5] = {{{1, 0.3f, 0.35f, 0.4f, 0.5f}, {0, 0.7f, 0.6f, 0.5f, 0.3f}}};
    static const int count[1] = {2};
    uint8_t labels[BOX_LABEL_BYTES];
    box_records(labels, 1, boxes, count);
    const double loss = net_forward(&net, 1, labels, NULL, NULL);
    ck_assert_msg(fabs(loss - want_loss) < 1e-5 * want_loss, "loss %.9g, want %.9g", loss, want_loss);
    net_backward(&net, 1, labels, NULL);
    const float *dx = net.layers[1].dx[0];
    for (int e = 0; e < 56; e++)
        ck_assert_msg(fabs(dx[e] - want[e]) < 1e-4 * fmax(1.0, fabs(want[e])), "dx[%d] %.9g, want %.9g", e, dx[e],
                      want[e]);
    net_free(&net);
    config_free(&cfg);
}
END_TEST

Suite *gradient_suite(void)
{
    Suite *s = suite_create("gradient");
    TCase *tc = tcase_create("numerical");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gradient_one_thread, 0, CASES);
    tcase_add_loop_test(tc, test_gradient_two_threads, 0, CASES);
    tcase_add_loop_test(tc, test_gradient_three_channels, 0, CASES);
    tcase_add_test(tc, test_gradient_winograd);
    tcase_add_test(tc, test_gradient_per_pixel_softmax);
    tcase_add_loop_test(tc, test_gradient_yolo, 0, 2);
    tcase_add_test(tc, test_yolo_reference);
    suite_add_tcase(s, tc);
    return s;
}
