/* gradcheck.c - see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double mean_loss(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass)
{
    return net_forward(net, n, labels, NULL, pass) / n;
}

/* (L(w + h) - L(w - h)) / 2h at *w, dividing by the step float32 took. */
static double quotient(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass, float *w, double h)
{
    const float saved = *w, up = saved + (float)h, down = saved - (float)h;
    *w = up;
    double plus = mean_loss(net, n, labels, pass);
    *w = down;
    double minus = mean_loss(net, n, labels, pass);
    *w = saved;
    return (plus - minus) / ((double)up - (double)down);
}

/* The numerical derivative nearest the analytic one among Richardson's
 * estimates from steps h = STEP, 2 STEP, 4 STEP, ... (each from the
 * quotients at h and h/2; the next step reuses this one's h). The
 * smallest step is exact to a few 1e-3 for most nets; in deep batchnorm
 * nets its quotient is mostly the float32 rounding of the loss (1e-7 of
 * it, over 2h), and a larger step resolves the derivative. Stops once an
 * estimate agrees to a tenth of the tolerance. A wrong gradient disagrees
 * at every step. *error gets the relative error of the estimate returned. */
static double numerical_derivative(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass,
                                   float *w, double analytic, double floor, double *error)
{
    double h = GRADCHECK_STEP, small = quotient(net, n, labels, pass, w, h / 2), best = 0.0;
    *error = INFINITY;
    for (int i = 0; i < GRADCHECK_STEPS; i++, h *= 2) {
        double large = quotient(net, n, labels, pass, w, h);
        double estimate = (4 * small - large) / 3;
        double e = fabs(analytic - estimate) / fmax(fmax(fabs(analytic), fabs(estimate)), floor);
        if (e < *error) {
            *error = e;
            best = estimate;
        }
        if (*error <= GRADCHECK_TOLERANCE / 10)
            break;
        small = large;
    }
    return best;
}

double gradcheck_run(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass, int per_tensor,
                     struct gradcheck_layer *out)
{
    const double loss = mean_loss(net, n, labels, pass);
    net_backward(net, n, labels, pass);
    /* the float32 rounding the quotients carry grows with the loss */
    const double floor = GRADCHECK_FLOOR * fmax(1.0, fabs(loss) / GRADCHECK_LOSS_SCALE);
    float *analytic = malloc(sizeof(float) * (net->param_floats ? net->param_floats : 1));
    if (!analytic)
        return -1;
    memcpy(analytic, net->grads, sizeof(float) * net->param_floats);
    /* Freeze the kinks where this forward put them: a copy of every output
     * and state (max pooling's arg-max) that frozen forwards read. */
    float *base = malloc(sizeof(float) * (net->activation_floats ? net->activation_floats : 1));
    if (!base) {
        free(analytic);
        return -1;
    }
    memcpy(base, net->activations, sizeof(float) * net->activation_floats);
    for (int li = 0; li < net->count; li++)
        net->layers[li].frozen_y = base + (net->layers[li].y - net->activations);
    net->frozen = 1;
    double worst = 0.0;
    for (int li = 0; li < net->count; li++) {
        struct layer *l = &net->layers[li];
        struct gradcheck_layer *r = &out[li];
        memset(r, 0, sizeof *r);
        for (int pi = 0; pi < l->param_count; pi++) {
            struct param *p = &l->params[pi];
            if (!p->trainable)
                continue;
            /* per_tensor entries (all of a smaller tensor), spread: the
             * k-th is k strides in plus k % stride, so they do not all
             * fall on the same position of a window (with stride 2 and a
             * window 2 wide, even entries alone would check one column of
             * taps) */
            const long stride = (p->size + per_tensor - 1) / per_tensor;
            for (long k = 0, e = 0; (e = k * stride + k % stride) < p->size; k++) {
                double a = analytic[p->data - net->params + e], err;
                double numerical = numerical_derivative(net, n, labels, pass, p->data + e, a, floor, &err);
                r->checked++;
                if (err >= r->worst) {
                    r->worst = err;
                    snprintf(r->where, sizeof r->where, "%s[%ld]: analytic %.6g, numerical %.6g", p->name, e, a,
                             numerical);
                }
            }
        }
        if (r->worst > worst)
            worst = r->worst;
    }
    net->frozen = 0;
    for (int li = 0; li < net->count; li++)
        net->layers[li].frozen_y = NULL;
    free(base);
    /* leave the gradients as backward computed them */
    memcpy(net->grads, analytic, sizeof(float) * net->param_floats);
    free(analytic);
    return worst;
}
