/* eval.c - inference over a dataset. */
#include "eval.h"

#include <stdlib.h>
#include <string.h>

void evaluate(struct net *net, const struct dataset *d, struct eval_result *r, FILE *predictions, long *confusion)
{
    uint8_t labels[65536];  /* batch is at most 65536 (settings.c) */
    double loss = 0.0;
    int correct = 0;
    for (int first = 0; first < d->count; first += net->batch) {
        int n = d->count - first < net->batch ? d->count - first : net->batch;
        int right = 0;
        dataset_batch(d, NULL, first, n, net->input_data, labels);
        dataset_normalise(d, net->input_data, n);
        loss += net_forward(net, n, labels, &right, NULL);
        correct += right;
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
    r->correct = correct;
    r->loss = d->count ? loss / d->count : 0.0;
    r->accuracy = d->count ? (double)correct / d->count : 0.0;
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
