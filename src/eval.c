/* eval.c - inference over a dataset. */
#include "eval.h"

#include <stdlib.h>

void evaluate(struct net *net, const struct dataset *d, struct eval_result *r, FILE *predictions)
{
    uint8_t labels[65536];  /* batch is at most 65536 (settings.c) */
    double loss = 0.0;
    int correct = 0;
    for (int first = 0; first < d->count; first += net->batch) {
        int n = d->count - first < net->batch ? d->count - first : net->batch;
        int right = 0;
        dataset_batch(d, NULL, first, n, net->input_data, labels);
        loss += net_forward(net, n, labels, &right, 0);
        correct += right;
        if (predictions) {
            const float *p = net_probabilities(net);
            for (int i = 0; i < n; i++) {
                const float *row = p + (long)i * net->classes;
                int best = 0;
                for (int k = 1; k < net->classes; k++)
                    if (row[k] > row[best])
                        best = k;
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
