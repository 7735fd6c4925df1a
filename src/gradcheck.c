/* gradcheck.c - see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double mean_loss(struct net *net, int n, const uint8_t *labels)
{
    return net_forward(net, n, labels, NULL, 1) / n;
}

/* (L(w + h) - L(w - h)) / 2h at *w, dividing by the step float32 took. */
static double quotient(struct net *net, int n, const uint8_t *labels, float *w, double h)
{
    const float saved = *w, up = saved + (float)h, down = saved - (float)h;
    *w = up;
    double plus = mean_loss(net, n, labels);
    *w = down;
    double minus = mean_loss(net, n, labels);
    *w = saved;
    return (plus - minus) / ((double)up - (double)down);
}

double gradcheck_run(struct net *net, int n, const uint8_t *labels, int per_tensor, struct gradcheck_layer *out)
{
    mean_loss(net, n, labels);
    net_backward(net, n, labels);
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
                double numerical = (4 * quotient(net, n, labels, p->data + e, GRADCHECK_STEP / 2) -
                                    quotient(net, n, labels, p->data + e, GRADCHECK_STEP)) / 3;
                double a = analytic[p->data - net->params + e];
                double err = fabs(a - numerical) / fmax(fmax(fabs(a), fabs(numerical)), GRADCHECK_FLOOR);
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
