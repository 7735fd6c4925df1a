/* optim.c - the update rules and the schedule. Parameters, gradients and the
 * optimizer's state arrays share one layout, so an update is a single loop
 * (padding between tensors holds zeros everywhere and stays zero). Each
 * element's update reads only that element: any thread split gives the
 * same bits. */
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"};

int optim_from_name(const char *name, enum optim_kind *out)
{
    for (int k = 0; k < (int)(sizeof names / sizeof names[0]); k++)
        if (strcmp(name, names[k]) == 0) {
            *out = (enum optim_kind)k;
            return 0;
        }
    return -1;
}

const char *optim_name(enum optim_kind kind)
{
    return names[kind];
}

int optim_array_count(enum optim_kind kind)
{
    switch (kind) {
    case OPT_SGD: return 0;
    case OPT_ADAM: return 2;
    default: return 1;
    }
}

int optim_init(struct optimizer *o, const struct optim_config *c, long n)
{
    memset(o, 0, sizeof *o);
    o->c = *c;
    o->n = n;
    o->arrays = optim_array_count(c->kind);
    for (int a = 0; a < o->arrays; a++) {
        o->state[a] = calloc(n > 0 ? n : 1, sizeof(float));
        if (!o->state[a]) {
            optim_free(o);
            return -1;
        }
    }
    return 0;
}

void optim_free(struct optimizer *o)
{
    for (int a = 0; a < OPTIM_MAX_ARRAYS; a++)
        free(o->state[a]);
    memset(o, 0, sizeof *o);
}

void optim_step(struct optimizer *o, struct net *net, float lr, uint64_t t)
{
    float *w = net->params;
    const float *grad = net->grads;
    const long n = o->n;
    const float wd = (float)o->c.weight_decay, mu = (float)o->c.momentum, eps = (float)o->c.eps;
    float *s0 = o->state[0], *s1 = o->state[1];
    const int threads = net->threads;
    switch (o->c.kind) {
    case OPT_SGD:
#pragma omp parallel for simd num_threads(threads) schedule(static) if (parallel: n > 65536)
        for (long i = 0; i < n; i++)
            w[i] -= lr * (grad[i] + wd * w[i]);
        break;
    case OPT_MOMENTUM:
#pragma omp parallel for simd num_threads(threads) schedule(static) if (parallel: n > 65536)
        for (long i = 0; i < n; i++) {
            s0[i] = mu * s0[i] + grad[i] + wd * w[i];
            w[i] -= lr * s0[i];
        }
        break;
    case OPT_NESTEROV:
#pragma omp parallel for simd num_threads(threads) schedule(static) if (parallel: n > 65536)
        for (long i = 0; i < n; i++) {
            float g = grad[i] + wd * w[i];
            s0[i] = mu * s0[i] + g;
            w[i] -= lr * (g + mu * s0[i]);
        }
        break;
    case OPT_ADAGRAD:
#pragma omp parallel for simd num_threads(threads) schedule(static) if (parallel: n > 65536)
        for (long i = 0; i < n; i++) {
            float g = grad[i] + wd * w[i];
            s0[i] += g * g;
            w[i] -= lr * g / (sqrtf(s0[i]) + eps);
        }
        break;
    case OPT_RMSPROP: {
        const float rho = (float)o->c.decay;
#pragma omp parallel for simd num_threads(threads) schedule(static) if (parallel: n > 65536)
        for (long i = 0; i < n; i++) {
            float g = grad[i] + wd * w[i];
            s0[i] = rho * s0[i] + (1.0f - rho) * g * g;
            w[i] -= lr * g / (sqrtf(s0[i]) + eps);
        }
        break;
    }
    case OPT_ADAM: {
        const float b1 = (float)o->c.beta1, b2 = (float)o->c.beta2;
        /* bias corrections in double: beta^t underflows gently, not to 1 - 1 */
        const float c1 = (float)(1.0 - pow(o->c.beta1, (double)t + 1));
        const float c2 = (float)(1.0 - pow(o->c.beta2, (double)t + 1));
        const float step = lr / c1, inv_sqrt_c2 = 1.0f / sqrtf(c2);
#pragma omp parallel for simd num_threads(threads) schedule(static) if (parallel: n > 65536)
        for (long i = 0; i < n; i++) {
            float g = grad[i] + wd * w[i];
            s0[i] = b1 * s0[i] + (1.0f - b1) * g;
            s1[i] = b2 * s1[i] + (1.0f - b2) * g * g;
            w[i] -= step * s0[i] / (sqrtf(s1[i]) * inv_sqrt_c2 + eps);
        }
        break;
    }
    }
}

double schedule_lr(const struct schedule *s, uint64_t step)
{
    if (step < s->warmup)
        return s->lr * (double)(step + 1) / (double)s->warmup;
    switch (s->kind) {
    case SCHED_CONSTANT:
        return s->lr;
    case SCHED_STEP:
        return s->lr * pow(s->gamma, (double)((step - s->warmup) / (s->step_size ? s->step_size : 1)));
    case SCHED_COSINE: {
        uint64_t span = s->total > s->warmup ? s->total - s->warmup : 1;
        double progress = (double)(step - s->warmup) / (double)span;
        if (progress > 1.0)
            progress = 1.0;
        return s->lr_min + 0.5 * (s->lr - s->lr_min) * (1.0 + cos(M_PI * progress));
    }
    }
    return s->lr;
}
