/* model.h - a trained network loaded from a checkpoint, ready for forward
 * passes: what predict and viz start from. */
#ifndef CNNCTL_MODEL_H
#define CNNCTL_MODEL_H

#include <stddef.h>

#include "ckpt.h"
#include "config.h"
#include "net.h"
#include "settings.h"

struct model {
    struct ckpt ck;
    struct config cfg;       /* the embedded config */
    struct settings st;      /* its [data] and [train] (class names) */
    struct net net;          /* built for `batch` images, the checkpoint's weights loaded */
    int light_on_dark;       /* the training images: 1 light on dark, 0 not, -1 not looked at yet */
};

/* Reads the checkpoint, rebuilds its network for batch images (0: the
 * config's batch) on threads threads and loads the weights. The input size
 * is the config's [data] shape (written by train), else the header of the
 * training images it names; fusion as for net_build. 0, or
 * -1 with one line in err (everything freed). */
int model_load(struct model *m, const char *path, int batch, int threads, enum net_fusion fusion, char *err,
               size_t errlen);
void model_free(struct model *m);

/* An image file (PNG, JPEG or PGM, any size, gray or colour) as the net's
 * input: as many channels as it takes (1 or 3), resized, normalised as the
 * training batches were; inverted if invert is 1, or (invert -1, gray
 * nets) when it is dark on light and the training images are light on
 * dark. Writes input.c x input.h x input.w floats to dst and whether it
 * inverted to *inverted. 0, or -1 with err. */
int model_input_image(struct model *m, const char *path, int invert, float *dst, int *inverted, char *err,
                      size_t errlen);

/* The layer called name, or NULL. */
struct layer *model_layer(struct model *m, const char *name);

#endif
