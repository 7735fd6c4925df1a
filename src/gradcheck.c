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

double gradcheck_run(struct net *net, int n, const uint8_t *labels, int per_tensor, struct gradcheck_layer *out)
{
    mean_loss(net, n, labels);
    net_backward(net, n, labels);
    float *analytic = malloc(sizeof(float) * (net->param_floats ? net->param_floats : 1));
    if (!analytic)
        return -1;
    memcpy(analytic, net->grads, sizeof(float) * net->param_floats);
    double worst = 0.0;
    for (int li = 0; li < net->count; li++) {
        struct layer *l = &net->layers[li];
        struct gradcheck_layer *r = &out[li];
        memset(r, 0, sizeof *r);
        for (int pi = 0; pi < l->param_count; pi++) {
            struct param *p = &l->params[pi];
            if (!p->trainable)
                continue;
            long stride = p->size / per_tensor + 1;
            for (long e = 0; e < p->size; e += stride) {
                float saved = p->data[e];
                p->data[e] = saved + (float)GRADCHECK_STEP;
                double plus = mean_loss(net, n, labels);
                p->data[e] = saved - (float)GRADCHECK_STEP;
                double minus = mean_loss(net, n, labels);
                p->data[e] = saved;
                double numerical = (plus - minus) / (2 * GRADCHECK_STEP);
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
    /* leave the gradients as backward computed them */
    memcpy(net->grads, analytic, sizeof(float) * net->param_floats);
    free(analytic);
    return worst;
}
