/* gradcheck.h - analytic gradients against central differences, for every
 * trained parameter of a network: what `cnnctl gradcheck` prints and what
 * the gradient tests assert.
 *
 * For a sample of each parameter tensor's entries w, with L the mean loss
 * (summed in double) and D(h) = (L(w + h) - L(w - h)) / 2h:
 *     numerical(h) = (4 D(h/2) - D(h)) / 3     (Richardson: the h^2 term cancels)
 *     error(h)     = |analytic - numerical(h)| / max(|analytic|, |numerical(h)|, FLOOR)
 * and the error is the smallest over h = STEP, 2 STEP, ... (STEPS of them):
 * float32 rounds the loss to about 1e-7 of it, which D(h) divides by 2h;
 * in deep batchnorm nets (configs/vgg.ini, xception.ini) that noise was 1%
 * of some gradients at h = 1e-2, while a larger h resolves them to 1e-3.
 *
 * The forwards at w +- h are "frozen": every max pool keeps the arg-max,
 * every ReLU (leaky too) and the l1 loss the sign pattern of the forward
 * the analytic gradient came from. Without that, a weight moved by h flips the choice
 * of some window or unit among the thousands a real image has, and the
 * difference quotient measures the jump, not the gradient (seen on
 * LeNet-5 with Fashion-MNIST: errors of 0.1-0.7 at every h from 1e-2 to
 * 1e-4). Frozen, the loss is smooth in w and its derivative at w is exactly
 * what backward must compute, so h can be large enough that float32's
 * rounding of the loss (about 1e-7 of it) stays far below the difference:
 * h = 1e-2 gave errors of 1e-6 to 3e-3 on the same net; Richardson's step
 * removes the curvature of batchnorm over 3 images (4e-2 without it). FLOOR makes the
 * error absolute for tiny gradients, whose quotient is mostly rounding. A
 * wrong gradient (a missing term, a wrong factor, a transposed index) gives
 * errors of 0.3 and more.
 *
 * That rounding is a fraction of the loss, so the floor grows with it:
 * FLOOR max(1, L / LOSS_SCALE). The classifiers' losses are a few units
 * (2.3 for ten classes at chance) and keep the plain floor. A YOLO loss
 * sums over every cell of the grid (146 an image for configs/yolo.ini at
 * its start): there the quotient of a bias gradient of -0.0075 came out
 * -0.0069 at every step, while PyTorch's autograd in float64, on the same
 * weights and images, gave -0.007535 and ours -0.007531. */
#ifndef CNNCTL_GRADCHECK_H
#define CNNCTL_GRADCHECK_H

#include <stdint.h>

#include "net.h"

#define GRADCHECK_STEP 1e-2
#define GRADCHECK_STEPS 5          /* steps tried: 1e-2, 2e-2, ... 1.6e-1 */
#define GRADCHECK_FLOOR 1e-2
#define GRADCHECK_TOLERANCE 1e-2
#define GRADCHECK_LOSS_SCALE 10.0  /* a mean loss above this raises the floor in proportion */

struct gradcheck_layer {
    double worst;        /* the largest error seen; 0 with nothing checked */
    long checked;        /* entries compared */
    char where[128];     /* the worst entry: "weight[12]: analytic 0.1, numerical 0.2" */
};

/* Runs forward and backward on the n images in net->input_data with their
 * labels (training, as the given pass), then compares up to per_tensor
 * evenly spaced entries of every trainable tensor. out: net->count entries.
 * Returns the worst error over the network, or -1 when out of memory. */
double gradcheck_run(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass, int per_tensor,
                     struct gradcheck_layer *out);

#endif
