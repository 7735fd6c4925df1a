/* optim.h - parameter updates over the whole parameter arena, and the
 * learning-rate schedule.
 *
 * With g = grad + weight_decay * w (L2 decay, on every trained tensor) and
 * t the number of updates done before this one:
 *   sgd       w -= lr g
 *   momentum  v = momentum v + g;                   w -= lr v
 *   nesterov  v = momentum v + g;                   w -= lr (g + momentum v)
 *   adagrad   s += g^2;                             w -= lr g / (sqrt(s) + eps)
 *   rmsprop   s = decay s + (1 - decay) g^2;        w -= lr g / (sqrt(s) + eps)
 *   adam      m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *             w -= lr (m / (1 - beta1^(t+1))) / (sqrt(v / (1 - beta2^(t+1))) + eps)
 * (the forms of PyTorch's SGD, Adagrad, RMSprop and Adam). The state arrays
 * (v, s, m) have the arena's layout and go into checkpoints, so a resumed run
 * continues with the same moments. */
#ifndef CNNCTL_OPTIM_H
#define CNNCTL_OPTIM_H

#include <stdint.h>

#include "net.h"

enum optim_kind { OPT_SGD, OPT_MOMENTUM, OPT_NESTEROV, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADAM };

struct optim_config {
    enum optim_kind kind;
    double momentum, beta1, beta2, eps, decay, weight_decay;
};

#define OPTIM_MAX_ARRAYS 2

struct optimizer {
    struct optim_config c;
    long n;                              /* floats per array: the parameter arena's */
    int arrays;                          /* state arrays this kind keeps */
    float *state[OPTIM_MAX_ARRAYS];      /* owned; zero at the start of a run */
};

/* "adam" -> OPT_ADAM; -1 when unknown. */
int optim_from_name(const char *name, enum optim_kind *out);
const char *optim_name(enum optim_kind kind);
int optim_array_count(enum optim_kind kind);

/* 0, or -1 when out of memory. */
int optim_init(struct optimizer *o, const struct optim_config *c, long n);
void optim_free(struct optimizer *o);
/* One update of net's parameters from its gradients; t = updates done before. */
void optim_step(struct optimizer *o, struct net *net, float lr, uint64_t t);

enum schedule_kind { SCHED_CONSTANT, SCHED_STEP, SCHED_COSINE };

struct schedule {
    enum schedule_kind kind;
    double lr, lr_min, gamma;
    uint64_t step_size;   /* step: lr *= gamma every step_size steps */
    uint64_t warmup;      /* steps of linear warm-up from lr/warmup to lr */
    uint64_t total;       /* steps in the run (cosine ends at lr_min there) */
};

/* The learning rate of the step after `step` steps. A function of the step
 * alone, so a resumed run continues the schedule exactly. */
double schedule_lr(const struct schedule *s, uint64_t step);

#endif
