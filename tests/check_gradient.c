/* check_gradient.c - analytic gradients against central differences.
 *
 * Each case puts the layer under test between a conv (whose weight
 * gradient then depends on the tested layer's input gradient) and an
 * affine + softmax head, so both the layer's parameter gradients and its
 * dx are checked against the definition. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Central differences of a float32 network: h large enough that the
 * rounding of the forward pass (~1e-7 relative) stays well under the
 * difference, small enough that curvature does not dominate. The loss is
 * summed in double. Tolerance: ABS_TOL absolute plus REL_TOL of the
 * larger magnitude, which float32 forward passes meet with margin. */
#define STEP 1e-3
#define ABS_TOL 2e-4
#define REL_TOL 2e-2
#define CHECKS_PER_TENSOR 24

static double mean_loss(struct net *net, int n, const uint8_t *labels)
{
    return net_forward(net, n, labels, NULL, 1) / n;
}

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
    mean_loss(&net, n, labels);
    net_backward(&net, n, labels);
    float *analytic = malloc(sizeof(float) * net.param_floats);
    memcpy(analytic, net.grads, sizeof(float) * net.param_floats);
    for (int li = 0; li < net.count; li++) {
        struct layer *l = &net.layers[li];
        for (int pi = 0; pi < l->param_count; pi++) {
            struct param *p = &l->params[pi];
            long step = p->size / CHECKS_PER_TENSOR + 1;
            for (long e = 0; e < p->size; e += step) {
                float saved = p->data[e];
                p->data[e] = saved + (float)STEP;
                double plus = mean_loss(&net, n, labels);
                p->data[e] = saved - (float)STEP;
                double minus = mean_loss(&net, n, labels);
                p->data[e] = saved;
                double numeric = (plus - minus) / (2 * STEP);
                double a = analytic[p->data - net.params + e];
                double tol = ABS_TOL + REL_TOL * fmax(fabs(a), fabs(numeric));
                ck_assert_msg(fabs(a - numeric) <= tol, "%s.%s[%ld]: analytic %.6g, numerical %.6g (threads %d)",
                              l->name, p->name, e, a, numeric, threads);
            }
        }
    }
    free(analytic);
    net_free(&net);
    config_free(&cfg);
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

Suite *gradient_suite(void)
{
    Suite *s = suite_create("gradient");
    TCase *tc = tcase_create("numerical");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gradient_one_thread, 0, CASES);
    tcase_add_loop_test(tc, test_gradient_two_threads, 0, CASES);
    suite_add_tcase(s, tc);
    return s;
}
