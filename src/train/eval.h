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
};

/* Forward the whole set in batches. With predictions, writes one CSV row
 * "index,label,predicted,p0,...,pK-1" per image (no header). With
 * confusion (classes x classes, zeroed by the caller), counts each image at
 * [label][predicted]. */
void evaluate(struct net *net, const struct dataset *d, struct eval_result *r, FILE *predictions, long *confusion);

/* The confusion matrix as a table with a header row and a row per true
 * class, labelled with names (or class numbers when names is NULL). */
void print_confusion(FILE *out, const long *confusion, int classes, char *const *names);

#endif
