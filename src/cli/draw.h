/* draw.h - pictures of what a net found: boxes with class names
 * (detection) and colour masks (segmentation), drawn over the image.
 *
 * A canvas is an RGB picture as image.h keeps one: 3 planes of height x
 * width floats in [0, 1]. Text is a 5 x 7 pixel font of printable ASCII
 * (any other byte shows as '?'), scaled by whole factors. */
#ifndef CNNCTL_DRAW_H
#define CNNCTL_DRAW_H

#include "image.h"

struct canvas {
    int height, width;
    float *rgb;   /* 3 x height x width */
};

/* img (gray or colour) as a colour canvas, enlarged by the whole factor
 * that brings its longer side to at least min_side (nearest pixel: the
 * pixels stay visible). 0, or -1 out of memory. */
int canvas_from_image(struct canvas *c, const struct image *img, int min_side);
void canvas_free(struct canvas *c);

/* Colour k of a palette of well-separated colours (k >= 0). */
void draw_palette(int k, float rgb[3]);

/* A rectangle's outline, [x0, x1] x [y0, y1] in pixels (clipped to the
 * canvas), `thickness` pixels wide inside it. */
void draw_rect(struct canvas *c, int x0, int y0, int x1, int y1, const float rgb[3], int thickness);

/* text on a filled box of colour bg, its top left at (x, y) (moved inside
 * the canvas where it would leave it), in black or white, whichever reads
 * better on bg; each font pixel scale x scale. */
void draw_label(struct canvas *c, int x, int y, const char *text, const float bg[3], int scale);

/* Each pixel of the canvas blended with its class's colour: classes is
 * mask_h x mask_w class numbers (scaled to the canvas by the nearest
 * pixel); class `background` (-1: none) is left unblended. alpha 1: the
 * colours alone. */
void draw_mask(struct canvas *c, const unsigned char *classes, int mask_h, int mask_w, int background, float alpha);

#endif
