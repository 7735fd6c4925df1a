/* eval.h - running a network over a dataset without training it. */
#ifndef CNNCTL_EVAL_H
#define CNNCTL_EVAL_H

#include <stdio.h>

#include "dataset.h"
#include "net.h"

struct eval_result {
    int count, correct;
    double loss;        /* mean cross-entropy */
    double accuracy;    /* correct / count */
    /* a per-pixel net (segmentation): correct counts pixels and accuracy
     * is the pixels right among the labelled ones (those not the net's
     * ignore_label); mean_iou and iou[class] as metrics.h computes them
     * (NaN for a class neither in the masks nor predicted) */
    int per_pixel;
    double mean_iou;
    double iou[256];
};

/* Forward the whole set in batches. With predictions, writes one CSV row
 * "index,label,predicted,p0,...,pK-1" per image (no header; not for a
 * per-pixel net). With confusion (classes x classes, zeroed by the caller),
 * counts each image (each labelled pixel) at [label][predicted]. -1 out of
 * memory, else 0. */
int evaluate(struct net *net, const struct dataset *d, struct eval_result *r, FILE *predictions, long *confusion);

/* The confusion matrix as a table with a header row and a row per true
 * class, labelled with names (or class numbers when names is NULL). */
void print_confusion(FILE *out, const long *confusion, int classes, char *const *names);

#endif
