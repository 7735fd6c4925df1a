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
    /* a detector (net->boxes): accuracy is the mean average precision at
     * an IoU of 0.5 (PASCAL VOC's, metrics.h) of the boxes detect_image
     * keeps at EVAL_SCORE_THRESHOLD and EVAL_NMS, ap[class] each class's
     * (NaN for a class with no box in the set); correct stays 0 */
    int detect;
    double ap[256];
};

/* How eval scores a detector: every box above this score (as PASCAL VOC's
 * and Darknet's evaluations keep the low ones: they add recall at little
 * cost in precision), after class-wise non-maximum suppression at this
 * IoU, at most this many an image (the highest scores). */
#define EVAL_SCORE_THRESHOLD 0.005
#define EVAL_NMS 0.45
#define EVAL_MAX_BOXES 100

struct det_box;

/* Buffers for detect_image, sized for net once. */
struct detect_buffers {
    struct det_box *candidates;
    int *keep;
    long capacity;
};
int detect_buffers_init(struct detect_buffers *b, const struct net *net);
void detect_buffers_free(struct detect_buffers *b);

/* Image n of a detector's last forward: its boxes scoring above threshold,
 * after class-wise non-maximum suppression at nms (metrics.h), the highest
 * scores first, at most max of them into out (image field n). Returns
 * their count, or -1 out of memory. */
int detect_image(const struct net *net, int n, double threshold, double nms, struct detect_buffers *b,
                 struct det_box *out, int max);

/* Forward the whole set in batches. With predictions, writes one CSV row
 * "index,label,predicted,p0,...,pK-1" per image (no header; not for a
 * per-pixel net), or for a detector "image,class,score,x,y,w,h" per box it
 * keeps. With confusion (classes x classes, zeroed by the caller),
 * counts each image (each labelled pixel) at [label][predicted]. -1 out of
 * memory, else 0. */
int evaluate(struct net *net, const struct dataset *d, struct eval_result *r, FILE *predictions, long *confusion);

/* The confusion matrix as a table with a header row and a row per true
 * class, labelled with names (or class numbers when names is NULL). */
void print_confusion(FILE *out, const long *confusion, int classes, char *const *names);

#endif
