/* optim.c - the update rules. Parameters and gradients are two arenas of
 * one layout, so an update is a single loop (padding between tensors holds
 * zeros in both and stays zero). */
#include "optim.h"

void optim_sgd_step(struct net *net, float lr)
{
    float *w = net->params;
    const float *g = net->grads;
    const long n = net->param_floats;
#pragma omp parallel for simd num_threads(net->threads) schedule(static) if (n > 65536)
    for (long i = 0; i < n; i++)
        w[i] -= lr * g[i];
}
