/* eval.c - inference over a dataset. */
#include "eval.h"

#include "boxes.h"
#include "metrics.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>

/* A per-pixel net's batch: each labelled pixel's predicted class (the
 * most probable channel) into the metrics and the confusion matrix. */
static void add_pixels(const struct net *net, const uint8_t *labels, int n, struct seg_metrics *m, long *confusion,
                       uint8_t *predicted)
{
    const int C = net->classes;
    const long P = net->label_units;
    const float *p = net_probabilities(net);
    for (int i = 0; i < n; i++) {
        const float *map = p + (long)i * C * P;
        for (long q = 0; q < P; q++) {
            int best = 0;
            for (int k = 1; k < C; k++)
                if (map[k * P + q] > map[best * P + q])
                    best = k;
            predicted[q] = (uint8_t)best;
            const int label = labels[(long)i * P + q];
            if (confusion && label != net->ignore_label)
                confusion[label * C + best]++;
        }
        seg_metrics_add(m, labels + (long)i * P, predicted, P, net->ignore_label);
    }
}

int detect_buffers_init(struct detect_buffers *b, const struct net *net)
{
    const struct layer *loss = &net->layers[net->count - 1];
    b->capacity = shape_size(loss->out);
    b->candidates = malloc(sizeof *b->candidates * b->capacity);
    b->keep = malloc(sizeof *b->keep * b->capacity);
    if (!b->candidates || !b->keep) {
        detect_buffers_free(b);
        return -1;
    }
    return 0;
}

void detect_buffers_free(struct detect_buffers *b)
{
    free(b->candidates);
    free(b->keep);
    b->candidates = NULL;
    b->keep = NULL;
}

int detect_image(const struct net *net, int n, double threshold, double nms, struct detect_buffers *b,
                 struct det_box *out, int max)
{
    const struct layer *loss = &net->layers[net->count - 1];
    const int found = loss->ops->detections(loss, n, (float)threshold, b->candidates, (int)b->capacity);
    const int kept = det_nms(b->candidates, found, nms, b->keep);
    if (kept < 0)
        return -1;
    /* det_nms keeps them in order of score */
    const int count = kept < max ? kept : max;
    for (int k = 0; k < count; k++)
        out[k] = b->candidates[b->keep[k]];
    return count;
}

/* A detector's evaluation: every image's kept boxes and labelled boxes,
 * then the mean average precision. */
struct detect_eval {
    struct detect_buffers buffers;
    struct det_box *found, *truth;
    long found_count, truth_count;
};

static int detect_eval_add(struct detect_eval *e, const struct net *net, const uint8_t *labels, int first, int n)
{
    for (int i = 0; i < n; i++) {
        const int count = detect_image(net, i, EVAL_SCORE_THRESHOLD, EVAL_NMS, &e->buffers,
                                       e->found + e->found_count, EVAL_MAX_BOXES);
        if (count < 0)
            return -1;
        for (int k = 0; k < count; k++)
            e->found[e->found_count + k].image = first + i;
        e->found_count += count;
        const struct box_label *b = box_labels(labels, i);
        for (int k = 0; k < BOX_MAX_PER_IMAGE && b[k].cls >= 0; k++)
            e->truth[e->truth_count++] =
                (struct det_box){.x = b[k].x, .y = b[k].y, .w = b[k].w, .h = b[k].h, .cls = (int)b[k].cls,
                                 .image = first + i};
    }
    return 0;
}

static int evaluate_detector(struct net *net, const struct dataset *d, struct eval_result *r, FILE *predictions)
{
    struct detect_eval e = {0};
    uint8_t *labels = malloc((size_t)net->batch * net->label_units);
    const size_t images = d->count > 0 ? (size_t)d->count : 1;
    e.found = malloc(sizeof *e.found * images * EVAL_MAX_BOXES);
    e.truth = malloc(sizeof *e.truth * images * BOX_MAX_PER_IMAGE);
    int rc = -1;
    if (!labels || !e.found || !e.truth || detect_buffers_init(&e.buffers, net) < 0)
        goto done;
    double loss = 0.0;
    for (int first = 0; first < d->count; first += net->batch) {
        const int n = d->count - first < net->batch ? d->count - first : net->batch;
        dataset_batch(d, NULL, first, n, net->input_data, labels);
        dataset_normalise(d, net->input_data, n);
        loss += net_forward(net, n, labels, NULL, NULL);
        const long before = e.found_count;
        if (detect_eval_add(&e, net, labels, first, n) < 0)
            goto done;
        for (long k = before; predictions && k < e.found_count; k++) {
            const struct det_box *b = &e.found[k];
            fprintf(predictions, "%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f\n", b->image, b->cls, b->score, b->x, b->y, b->w,
                    b->h);
        }
    }
    *r = (struct eval_result){.count = d->count, .loss = d->count ? loss / d->count : 0.0, .detect = 1,
                              .mean_iou = NAN};
    const int classes = net->classes < 256 ? net->classes : 256;
    const double map = det_mean_average_precision(e.found, (int)e.found_count, e.truth, (int)e.truth_count,
                                                  classes, 0.5, r->ap);
    if (map == -1.0)
        goto done;
    /* a set without a box has no mean average precision: 0 rather than
     * NaN, which the best-checkpoint comparison could not order */
    r->accuracy = isnan(map) ? 0.0 : map;
    rc = 0;
done:
    detect_buffers_free(&e.buffers);
    free(e.found);
    free(e.truth);
    free(labels);
    return rc;
}

int evaluate(struct net *net, const struct dataset *d, struct eval_result *r, FILE *predictions, long *confusion)
{
    if (net->boxes)
        return evaluate_detector(net, d, r, predictions);
    const int per_pixel = net_per_pixel(net);
    uint8_t *labels = malloc((size_t)net->batch * net->label_units), *predicted = malloc((size_t)net->label_units);
    struct seg_metrics m = {0};
    if (!labels || !predicted || (per_pixel && seg_metrics_init(&m, net->classes) < 0)) {
        free(labels);
        free(predicted);
        return -1;
    }
    double loss = 0.0;
    long correct = 0;
    for (int first = 0; first < d->count; first += net->batch) {
        int n = d->count - first < net->batch ? d->count - first : net->batch;
        int right = 0;
        dataset_batch(d, NULL, first, n, net->input_data, labels);
        dataset_normalise(d, net->input_data, n);
        loss += net_forward(net, n, labels, &right, NULL);
        correct += right;
        if (per_pixel) {
            add_pixels(net, labels, n, &m, confusion, predicted);
            continue;
        }
        if (predictions || confusion) {
            const float *p = net_probabilities(net);
            for (int i = 0; i < n; i++) {
                const float *row = p + (long)i * net->classes;
                int best = 0;
                for (int k = 1; k < net->classes; k++)
                    if (row[k] > row[best])
                        best = k;
                if (confusion)
                    confusion[labels[i] * net->classes + best]++;
                if (!predictions)
                    continue;
                fprintf(predictions, "%d,%d,%d", first + i, labels[i], best);
                for (int k = 0; k < net->classes; k++)
                    fprintf(predictions, ",%.6g", row[k]);
                fputc('\n', predictions);
            }
        }
    }
    r->count = d->count;
    r->correct = (int)correct;
    r->loss = d->count ? loss / d->count : 0.0;
    r->accuracy = d->count ? (double)correct / d->count : 0.0;
    r->per_pixel = per_pixel;
    r->mean_iou = NAN;
    if (per_pixel) {
        r->accuracy = d->count ? seg_pixel_accuracy(&m) : 0.0;
        r->mean_iou = seg_mean_iou(&m);
        for (int k = 0; k < net->classes && k < 256; k++)
            r->iou[k] = seg_iou(&m, k);
        seg_metrics_free(&m);
    }
    free(labels);
    free(predicted);
    return 0;
}

void print_confusion(FILE *out, const long *confusion, int classes, char *const *names)
{
    /* columns as wide as the widest name or count, at most 12 */
    int label_width = 9, width = 5;   /* 9: "true\\pred" */
    char number[16];
    for (int k = 0; k < classes; k++) {
        int len = names ? (int)strlen(names[k]) : snprintf(number, sizeof number, "%d", k);
        if (len > label_width)
            label_width = len;
        for (int j = 0; j < classes; j++) {
            int digits = snprintf(number, sizeof number, "%ld", confusion[k * classes + j]);
            if (digits > width)
                width = digits;
        }
    }
    if (label_width > 16)
        label_width = 16;
    int name_width = width;
    for (int k = 0; names && k < classes; k++)
        if ((int)strlen(names[k]) > name_width)
            name_width = (int)strlen(names[k]);
    width = name_width > 12 ? 12 : name_width;
    fprintf(out, "%-*s", label_width, "true\\pred");
    for (int j = 0; j < classes; j++) {
        if (names)
            fprintf(out, " %*.*s", width, width, names[j]);
        else
            fprintf(out, " %*d", width, j);
    }
    fputc('\n', out);
    for (int k = 0; k < classes; k++) {
        if (names)
            fprintf(out, "%-*.*s", label_width, label_width, names[k]);
        else
            fprintf(out, "%-*d", label_width, k);
        for (int j = 0; j < classes; j++)
            fprintf(out, " %*ld", width, confusion[k * classes + j]);
        fputc('\n', out);
    }
}
