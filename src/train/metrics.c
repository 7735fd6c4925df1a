/* metrics.c - see metrics.h. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int seg_metrics_init(struct seg_metrics *m, int classes)
{
    m->classes = classes;
    m->counts = calloc((size_t)classes * classes, sizeof *m->counts);
    return m->counts ? 0 : -1;
}

void seg_metrics_free(struct seg_metrics *m)
{
    free(m->counts);
    m->counts = NULL;
}

void seg_metrics_add(struct seg_metrics *m, const uint8_t *truth, const uint8_t *predicted, long n, int ignore)
{
    for (long i = 0; i < n; i++)
        if (truth[i] != ignore && truth[i] < m->classes && predicted[i] < m->classes)
            m->counts[(size_t)truth[i] * m->classes + predicted[i]]++;
}

double seg_pixel_accuracy(const struct seg_metrics *m)
{
    uint64_t right = 0, all = 0;
    for (int t = 0; t < m->classes; t++)
        for (int p = 0; p < m->classes; p++) {
            all += m->counts[(size_t)t * m->classes + p];
            right += t == p ? m->counts[(size_t)t * m->classes + p] : 0;
        }
    return all ? (double)right / all : NAN;
}

double seg_iou(const struct seg_metrics *m, int c)
{
    const int K = m->classes;
    uint64_t tp = m->counts[(size_t)c * K + c], fp = 0, fn = 0;
    for (int k = 0; k < K; k++)
        if (k != c) {
            fn += m->counts[(size_t)c * K + k];   /* truth c, predicted k */
            fp += m->counts[(size_t)k * K + c];   /* truth k, predicted c */
        }
    return tp + fp + fn ? (double)tp / (tp + fp + fn) : NAN;
}

double seg_mean_iou(const struct seg_metrics *m)
{
    double sum = 0.0;
    int defined = 0;
    for (int c = 0; c < m->classes; c++) {
        const double iou = seg_iou(m, c);
        if (!isnan(iou)) {
            sum += iou;
            defined++;
        }
    }
    return defined ? sum / defined : NAN;
}

double det_iou(const struct det_box *a, const struct det_box *b)
{
    const double ax0 = a->x - a->w / 2.0, ax1 = a->x + a->w / 2.0, ay0 = a->y - a->h / 2.0, ay1 = a->y + a->h / 2.0;
    const double bx0 = b->x - b->w / 2.0, bx1 = b->x + b->w / 2.0, by0 = b->y - b->h / 2.0, by1 = b->y + b->h / 2.0;
    const double iw = fmin(ax1, bx1) - fmax(ax0, bx0), ih = fmin(ay1, by1) - fmax(ay0, by0);
    if (iw <= 0 || ih <= 0)
        return 0.0;
    const double inter = iw * ih, uni = (double)a->w * a->h + (double)b->w * b->h - inter;
    return uni > 0 ? inter / uni : 0.0;
}

/* indices [0, n) in order of score, highest first; equal scores in index
 * order (a stable merge sort: the same order on every machine) */
static int *score_order(const struct det_box *boxes, int n)
{
    int *order = malloc(sizeof *order * (n > 0 ? n : 1)), *tmp = malloc(sizeof *tmp * (n > 0 ? n : 1));
    if (!order || !tmp) {
        free(order);
        free(tmp);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            const int mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                tmp[k++] = boxes[order[b]].score > boxes[order[a]].score ? order[b++] : order[a++];
            while (a < mid)
                tmp[k++] = order[a++];
            while (b < hi)
                tmp[k++] = order[b++];
        }
        memcpy(order, tmp, sizeof *order * n);
    }
    free(tmp);
    return order;
}

int det_nms(const struct det_box *boxes, int n, double threshold, int *keep)
{
    int *order = score_order(boxes, n);
    if (!order)
        return -1;
    int kept = 0;
    for (int k = 0; k < n; k++) {
        const struct det_box *b = &boxes[order[k]];
        int suppressed = 0;
        for (int j = 0; j < kept && !suppressed; j++)
            suppressed = boxes[keep[j]].cls == b->cls && det_iou(&boxes[keep[j]], b) > threshold;
        if (!suppressed)
            keep[kept++] = order[k];
    }
    free(order);
    return kept;
}

/* Class c's ground-truth boxes in order of image (then index), so that a
 * detection finds its image's boxes by a binary search: sets of thousands
 * of images would otherwise compare every detection with every box. */
struct truth_ref {
    int image, t;   /* the box's image, and its index in truth */
};

struct truth_index {
    struct truth_ref *refs;
    int count;
};

static int by_image(const void *a, const void *b)
{
    const struct truth_ref *x = a, *y = b;
    return x->image != y->image ? (x->image < y->image ? -1 : 1) : (x->t < y->t ? -1 : x->t > y->t);
}

static int truth_index_build(struct truth_index *x, const struct det_box *truth, int nt, int c)
{
    x->count = 0;
    x->refs = malloc(sizeof *x->refs * (nt > 0 ? nt : 1));
    if (!x->refs)
        return -1;
    for (int t = 0; t < nt; t++)
        if (truth[t].cls == c)
            x->refs[x->count++] = (struct truth_ref){truth[t].image, t};
    qsort(x->refs, (size_t)x->count, sizeof *x->refs, by_image);
    return 0;
}

/* The first position in x->refs of image's boxes. */
static int truth_index_first(const struct truth_index *x, int image)
{
    int lo = 0, hi = x->count;
    while (lo < hi) {
        const int mid = lo + (hi - lo) / 2;
        if (x->refs[mid].image < image)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

double det_average_precision(const struct det_box *detections, int nd, const struct det_box *truth, int nt, int c,
                             double iou_threshold)
{
    int positives = 0;
    for (int t = 0; t < nt; t++)
        positives += truth[t].cls == c;
    if (!positives)
        return NAN;
    struct truth_index index;
    if (truth_index_build(&index, truth, nt, c) < 0)
        return -1.0;
    int *order = score_order(detections, nd);
    char *matched = calloc((size_t)(nt > 0 ? nt : 1), 1);
    double *precision = malloc(sizeof(double) * (nd + 1)), *recall = malloc(sizeof(double) * (nd + 1));
    if (!order || !matched || !precision || !recall) {
        free(index.refs);
        free(order);
        free(matched);
        free(precision);
        free(recall);
        return -1.0;
    }
    /* the precision-recall points, detection by detection */
    int tp = 0, fp = 0, points = 0;
    for (int k = 0; k < nd; k++) {
        const struct det_box *d = &detections[order[k]];
        if (d->cls != c)
            continue;
        int best = -1;
        double best_iou = 0.0;
        for (int at = truth_index_first(&index, d->image); at < index.count && index.refs[at].image == d->image;
             at++) {
            const int t = index.refs[at].t;
            const double iou = det_iou(d, &truth[t]);
            if (iou > best_iou) {
                best_iou = iou;
                best = t;
            }
        }
        if (best >= 0 && best_iou > iou_threshold && !matched[best]) {
            matched[best] = 1;
            tp++;
        } else {
            fp++;
        }
        precision[points] = (double)tp / (tp + fp);
        recall[points] = (double)tp / positives;
        points++;
    }
    /* precision made non-increasing from the right, then the area under
     * the steps where recall grows */
    for (int k = points - 2; k >= 0; k--)
        if (precision[k + 1] > precision[k])
            precision[k] = precision[k + 1];
    double ap = 0.0, last_recall = 0.0;
    for (int k = 0; k < points; k++) {
        ap += (recall[k] - last_recall) * precision[k];
        last_recall = recall[k];
    }
    free(index.refs);
    free(order);
    free(matched);
    free(precision);
    free(recall);
    return ap;
}

double det_mean_average_precision(const struct det_box *detections, int nd, const struct det_box *truth, int nt,
                                  int classes, double iou_threshold, double *per_class)
{
    double sum = 0.0;
    int defined = 0;
    for (int c = 0; c < classes; c++) {
        const double ap = det_average_precision(detections, nd, truth, nt, c, iou_threshold);
        if (ap < 0)
            return -1.0;
        if (per_class)
            per_class[c] = ap;
        if (!isnan(ap)) {
            sum += ap;
            defined++;
        }
    }
    return defined ? sum / defined : NAN;
}
