/* augment.h - random changes to training images ([augment] in the config),
 * drawn afresh for every image of every step; validation and test images
 * are never touched.
 *
 *   shift = S    move the image by up to S pixels in each direction (a
 *                random crop of the image padded with S zeros on each side)
 *   flip = 1     mirror left-right with probability 1/2 (clothes, not digits)
 *   rotate = D   turn by up to D degrees either way about the centre,
 *                bilinear, zeros outside
 * Image i of step s draws from its own RNG stream, a function of
 * (seed, s, i) alone: the same run augments the same way at any thread
 * count, and a resumed run goes on with the same draws. */
#ifndef CNNCTL_AUGMENT_H
#define CNNCTL_AUGMENT_H

#include <stdint.h>

#include "config.h"

struct augment {
    int shift;
    int flip;
    double rotate;   /* degrees */
};

/* The [augment] section (absent: nothing). Errors are recorded in cfg. */
int augment_read(struct augment *a, struct config *cfg);
int augment_active(const struct augment *a);

/* One image's random choices. */
struct augment_draw {
    int shift_y, shift_x, flip;
    double angle;    /* radians, counter-clockwise */
};

struct augment_draw augment_draw(const struct augment *a, uint64_t seed, uint64_t step, int image);
/* One image of c x h x w in place: out(y, x) = in(T^-1(y, x)), T = shift o rotate o flip. */
void augment_apply(const struct augment_draw *d, float *image, int c, int h, int w, float *scratch);

/* Augments n images of c x h x w in place, which are images first, first+1,
 * ... of the step's batch; scratch holds c*h*w floats. */
void augment_batch(const struct augment *a, float *images, int n, int first, int c, int h, int w, uint64_t seed,
                   uint64_t step, float *scratch);

#endif
