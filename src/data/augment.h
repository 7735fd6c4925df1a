/* augment.h - random changes to training images ([augment] in the config),
 * drawn afresh for every image of every step; validation and test images
 * are never touched.
 *
 *   crop = S     move the image by up to S pixels in each direction (a
 *                random crop of the image padded with S zeros on each side;
 *                shift = S is the same)
 *   flip = 1     mirror left-right with probability 1/2 (clothes, not digits)
 *   rotate = D   turn by up to D degrees either way about the centre,
 *                bilinear, zeros outside
 *   brightness, contrast, saturation = A
 *                scale by, or blend with gray by, a factor from [1-A, 1+A]
 *   cutout = N   fill an N x N square at a random centre with the mean
 *                colour (which normalises to 0)
 * They work on the images as read (bytes scaled to [0, 1]), before the
 * normalisation.
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
    double brightness, contrast, saturation;
    int cutout;
};

/* The [augment] section (absent: nothing). Errors are recorded in cfg. */
int augment_read(struct augment *a, struct config *cfg);
int augment_active(const struct augment *a);

/* One image's random choices. */
struct augment_draw {
    int shift_y, shift_x, flip;
    double angle;    /* radians, counter-clockwise */
    float brightness, contrast, saturation;   /* the factors less 1 (0: no change) */
    float cutout_y, cutout_x;                 /* the square's centre, as a fraction of h and w */
    int cutout;                               /* its side; 0: none */
};

struct augment_draw augment_draw(const struct augment *a, uint64_t seed, uint64_t step, int image);
/* One image of c x h x w in place: out(y, x) = in(T^-1(y, x)), T = shift o
 * rotate o flip; then the colour changes and the cutout, filled with
 * fill[channel] (NULL: 0). scratch holds c*h*w floats. */
void augment_apply(const struct augment_draw *d, float *image, int c, int h, int w, float *scratch,
                   const float *fill);

/* Augments n images of c x h x w in place, which are images first, first+1,
 * ... of the step's batch, on up to `threads` threads; scratch holds
 * threads * c*h*w floats. masks (NULL: none): their h x w masks (a class
 * per pixel), moved with them (the nearest pixel; mask_fill where nothing
 * comes in); the colour changes and the cutout leave masks as they are.
 * boxes (NULL: none): their box records (boxes.h), mirrored and shifted
 * with them and cut to the image (a box less than a pixel wide or high
 * left is dropped); boxes cannot follow a rotation. */
void augment_batch(const struct augment *a, float *images, int n, int first, int c, int h, int w, uint64_t seed,
                   uint64_t step, float *scratch, int threads, const float *fill, uint8_t *masks, uint8_t mask_fill,
                   uint8_t *boxes);

#endif
