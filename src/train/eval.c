/* eval.c - inference over a dataset. */
#include "eval.h"
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

int evaluate(struct net *net, const struct dataset *d, struct eval_result *r, FILE *predictions, long *confusion)
{
    const int per_pixel = net->label_units > 1;
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
