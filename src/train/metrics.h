/* metrics.h - how good dense predictions are: segmentation's pixel
 * accuracy and intersection over union, detection's box overlap,
 * non-maximum suppression and mean average precision (PASCAL VOC's). */
#ifndef CNNCTL_METRICS_H
#define CNNCTL_METRICS_H

#include <stdint.h>

/* Segmentation: a confusion matrix over pixels, counts[truth * classes +
 * predicted]. */
struct seg_metrics {
    int classes;
    uint64_t *counts;
};

/* 0, or -1 out of memory. */
int seg_metrics_init(struct seg_metrics *m, int classes);
void seg_metrics_free(struct seg_metrics *m);
/* n pixels: their true and predicted classes; a pixel whose truth is
 * `ignore` (-1: none) is not counted, nor is one whose truth or prediction
 * is not below classes. */
void seg_metrics_add(struct seg_metrics *m, const uint8_t *truth, const uint8_t *predicted, long n, int ignore);
/* Pixels predicted right among those counted; NaN when none were. */
double seg_pixel_accuracy(const struct seg_metrics *m);
/* Class c's intersection over union, TP / (TP + FP + FN); NaN when c is
 * neither in the truth nor predicted. */
double seg_iou(const struct seg_metrics *m, int c);
/* The mean of the classes' IoU where it is defined; NaN when it is for
 * none. */
double seg_mean_iou(const struct seg_metrics *m);

/* Detection: a box by its centre and size (any unit, the same for all),
 * its class, the image it is in, and its score (a ground-truth box's is
 * unused). */
struct det_box {
    float x, y, w, h;
    float score;
    int cls, image;
};

/* Area of the intersection over the area of the union; 0 for boxes that
 * do not overlap (or have no area). */
double det_iou(const struct det_box *a, const struct det_box *b);

/* Non-maximum suppression, class by class, over boxes[0..n): in order of
 * score (equal scores: the earlier box first), a box is kept unless it
 * overlaps an already kept box of its class by an IoU above threshold.
 * keep gets the kept boxes' indices in that order; returns their count, or
 * -1 out of memory. */
int det_nms(const struct det_box *boxes, int n, double threshold, int *keep);

/* Average precision of class c at an IoU above iou_threshold (PASCAL VOC
 * 2010 on, as its devkit computes it): its detections over all images in
 * order of score (equal scores: the earlier first); each is a true
 * positive if the ground-truth box of its class and image it overlaps most
 * overlaps it by more than the threshold and is not matched yet, else a
 * false positive (a second detection of a box too). AP is the area under the precision-recall curve with
 * precision made non-increasing (each point the best precision at that
 * recall or more), all points interpolated. NaN when class c has no
 * ground-truth box; 0 when it has some and no detection finds one; -1 out
 * of memory. */
double det_average_precision(const struct det_box *detections, int nd, const struct det_box *truth, int nt, int c,
                             double iou_threshold);

/* The mean of the classes' AP over classes [0, classes) that have ground
 * truth (each class's in per_class, NaN for one with none; per_class may
 * be NULL); NaN when no class has any; -1 out of memory. */
double det_mean_average_precision(const struct det_box *detections, int nd, const struct det_box *truth, int nt,
                                  int classes, double iou_threshold, double *per_class);

#endif
