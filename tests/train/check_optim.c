/* check_optim.c - each update rule against its formula, written out again
 * here in double for a few steps on a handful of values; the schedules at
 * the steps where they change. */
#include "test_util.h"
#include "optim.h"

#include <math.h>
#include <string.h>

#define COUNT 5

/* A network of nothing but an arena: optim_step reads params, grads, threads. */
static void fake_net(struct net *net, float *w, float *g)
{
    memset(net, 0, sizeof *net);
    net->params = w;
    net->grads = g;
    net->param_floats = COUNT;
    net->threads = 1;
}

static double reference_step(enum optim_kind kind, double *w, const double *grad, double *s0, double *s1, double lr,
                             int t, const struct optim_config *c, int i)
{
    double g = grad[i] + c->weight_decay * w[i];
    switch (kind) {
    case OPT_SGD: w[i] -= lr * g; break;
    case OPT_MOMENTUM: s0[i] = c->momentum * s0[i] + g; w[i] -= lr * s0[i]; break;
    case OPT_NESTEROV: s0[i] = c->momentum * s0[i] + g; w[i] -= lr * (g + c->momentum * s0[i]); break;
    case OPT_ADAGRAD: s0[i] += g * g; w[i] -= lr * g / (sqrt(s0[i]) + c->eps); break;
    case OPT_RMSPROP:
        s0[i] = c->decay * s0[i] + (1 - c->decay) * g * g;
        w[i] -= lr * g / (sqrt(s0[i]) + c->eps);
        break;
    case OPT_ADAM: {
        s0[i] = c->beta1 * s0[i] + (1 - c->beta1) * g;
        s1[i] = c->beta2 * s1[i] + (1 - c->beta2) * g * g;
        double mhat = s0[i] / (1 - pow(c->beta1, t + 1)), vhat = s1[i] / (1 - pow(c->beta2, t + 1));
        w[i] -= lr * mhat / (sqrt(vhat) + c->eps);
        break;
    }
    }
    return w[i];
}

START_TEST(test_update_rules)
{
    const enum optim_kind kind = (enum optim_kind)_i;
    struct optim_config c = {kind, 0.9, 0.9, 0.999, 1e-8, 0.9, 0.01};
    struct optimizer o;
    ck_assert_int_eq(optim_init(&o, &c, COUNT), 0);
    ck_assert_int_eq(o.arrays, kind == OPT_SGD ? 0 : kind == OPT_ADAM ? 2 : 1);
    float w[COUNT] = {0.5f, -1.0f, 2.0f, 0.0f, -0.25f}, g[COUNT];
    double wr[COUNT], s0[COUNT] = {0}, s1[COUNT] = {0}, gr[COUNT];
    for (int i = 0; i < COUNT; i++)
        wr[i] = w[i];
    struct net net;
    fake_net(&net, w, g);
    for (int t = 0; t < 4; t++) {
        for (int i = 0; i < COUNT; i++) {
            g[i] = (float)(0.3 * sin(1.7 * i + t) + (i == 3 ? 0.0 : 0.1));  /* one zero-ish gradient */
            gr[i] = g[i];
        }
        optim_step(&o, &net, 0.05f, (uint64_t)t);
        for (int i = 0; i < COUNT; i++) {
            double want = reference_step(kind, wr, gr, s0, s1, 0.05, t, &c, i);
            ck_assert_msg(fabs(w[i] - want) <= 1e-5 * (1 + fabs(want)), "%s step %d [%d]: %.8g, want %.8g",
                          optim_name(kind), t, i, w[i], want);
        }
    }
    optim_free(&o);
}
END_TEST

START_TEST(test_names)
{
    enum optim_kind k;
    ck_assert_int_eq(optim_from_name("nesterov", &k), 0);
    ck_assert_int_eq(k, OPT_NESTEROV);
    ck_assert_int_eq(optim_from_name("adamw", &k), -1);
    ck_assert_str_eq(optim_name(OPT_RMSPROP), "rmsprop");
}
END_TEST

START_TEST(test_schedules)
{
    struct schedule s = {SCHED_CONSTANT, 0.1, 0.0, 0.1, 0, 0, 1000};
    ck_assert_double_eq(schedule_lr(&s, 0), 0.1);
    ck_assert_double_eq(schedule_lr(&s, 999), 0.1);
    /* step: x0.5 every 10 steps */
    s = (struct schedule){SCHED_STEP, 0.1, 0.0, 0.5, 10, 0, 1000};
    ck_assert_double_eq_tol(schedule_lr(&s, 9), 0.1, 1e-15);
    ck_assert_double_eq_tol(schedule_lr(&s, 10), 0.05, 1e-15);
    ck_assert_double_eq_tol(schedule_lr(&s, 35), 0.0125, 1e-15);
    /* cosine from 0.1 to 0.001 over 100 steps: halfway is the mean */
    s = (struct schedule){SCHED_COSINE, 0.1, 0.001, 0.1, 0, 0, 100};
    ck_assert_double_eq_tol(schedule_lr(&s, 0), 0.1, 1e-15);
    ck_assert_double_eq_tol(schedule_lr(&s, 50), 0.0505, 1e-12);
    ck_assert_double_eq_tol(schedule_lr(&s, 100), 0.001, 1e-15);
    ck_assert_double_eq_tol(schedule_lr(&s, 500), 0.001, 1e-15);
    /* warm-up: linear to lr over 4 steps, then the cosine over the 96 left */
    s = (struct schedule){SCHED_COSINE, 0.1, 0.0, 0.1, 0, 4, 100};
    ck_assert_double_eq_tol(schedule_lr(&s, 0), 0.025, 1e-15);
    ck_assert_double_eq_tol(schedule_lr(&s, 3), 0.1, 1e-15);
    ck_assert_double_eq_tol(schedule_lr(&s, 4), 0.1, 1e-15);
    ck_assert_double_eq_tol(schedule_lr(&s, 52), 0.05, 1e-12);
    /* step after warm-up counts from the warm-up's end */
    s = (struct schedule){SCHED_STEP, 0.1, 0.0, 0.1, 10, 5, 100};
    ck_assert_double_eq_tol(schedule_lr(&s, 14), 0.1, 1e-15);
    ck_assert_double_eq_tol(schedule_lr(&s, 15), 0.01, 1e-15);
}
END_TEST

Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("rules");
    tcase_add_loop_test(tc, test_update_rules, OPT_SGD, OPT_ADAM + 1);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_schedules);
    suite_add_tcase(s, tc);
    return s;
}
