/* gradcheck.h - analytic gradients against central differences, for every
 * trained parameter of a network: what `cnnctl gradcheck` prints and what
 * the gradient tests assert.
 *
 * For a sample of each parameter tensor's entries w:
 *     numerical = (L(w + h) - L(w - h)) / 2h,   L the mean loss (summed in double)
 *     error     = |analytic - numerical| / max(|analytic|, |numerical|, FLOOR)
 * h is large enough that the float32 forward pass's rounding (about 1e-7
 * of the loss) stays well under the difference, small enough that curvature
 * does not dominate. FLOOR turns the error into an absolute one for tiny
 * gradients, whose difference quotient is mostly rounding. Measured on the
 * test networks: rounding alone reaches about 0.03 on gradients near 0.01
 * in nets of a few layers, while wrong gradients (a missing term, a wrong
 * factor, a transposed index) give errors of 0.3 and more; TOLERANCE sits
 * between. A ReLU or max-pool kink within h of a value can also exceed
 * it: gradcheck inputs should not sit on kinks (no exact zeros or ties). */
#ifndef CNNCTL_GRADCHECK_H
#define CNNCTL_GRADCHECK_H

#include <stdint.h>

#include "net.h"

#define GRADCHECK_STEP 1e-3
#define GRADCHECK_FLOOR 1e-2
#define GRADCHECK_TOLERANCE 5e-2

struct gradcheck_layer {
    double worst;        /* the largest error seen; 0 with nothing checked */
    long checked;        /* entries compared */
    char where[128];     /* the worst entry: "weight[12]: analytic 0.1, numerical 0.2" */
};

/* Runs forward and backward on the n images in net->input_data with their
 * labels (in training mode, at net->step), then compares up to per_tensor
 * evenly spaced entries of every trainable tensor. out: net->count entries.
 * Returns the worst error over the network, or -1 when out of memory. */
double gradcheck_run(struct net *net, int n, const uint8_t *labels, int per_tensor, struct gradcheck_layer *out);

#endif
