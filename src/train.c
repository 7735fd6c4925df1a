/* train.c - the epoch loop.
 *
 * Per epoch: shuffle the training indices with the seeded RNG, then for
 * each mini-batch: copy it into the network's input, forward, backward,
 * update. A log row every log_every steps and one at each epoch's end (with
 * validation and test accuracy); a checkpoint every checkpoint_every epochs
 * and at the end. Nothing is allocated inside the loop. */
#include "train.h"
#include "ckpt.h"
#include "eval.h"
#include "fileio.h"
#include "optim.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void shuffle(uint32_t *v, int n, struct rng *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(rng, (uint64_t)i + 1);
        uint32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static void csv_accuracy(FILE *f, const struct eval_result *r, int present)
{
    if (present)
        fprintf(f, ",%.4f", r->accuracy);
    else
        fputc(',', f);
}

static int save(struct train_job *job, const struct ckpt_stats *stats, char *err, size_t errlen)
{
    size_t len;
    char *text = config_to_text(job->cfg, &len);
    int rc = ckpt_write(job->st->checkpoint_path, text, len, job->net, stats, err, errlen);
    free(text);
    return rc;
}

int train_run(struct train_job *job, char *err, size_t errlen)
{
    const struct settings *st = job->st;
    struct net *net = job->net;
    const int n_train = job->train.count;
    const int steps_per_epoch = (n_train + net->batch - 1) / net->batch;
    const long total_steps = st->iterations ? st->iterations : st->epochs * (long)steps_per_epoch;
    const long epochs = (total_steps + steps_per_epoch - 1) / steps_per_epoch;

    uint32_t *order = malloc(sizeof *order * n_train);
    uint8_t *labels = malloc(net->batch);
    if (!order || !labels) {
        free(order);
        free(labels);
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    for (int i = 0; i < n_train; i++)
        order[i] = (uint32_t)i;
    struct rng shuffle_rng;
    rng_seed(&shuffle_rng, st->seed, RNG_STREAM_SHUFFLE);
    net_init_params(net, st->seed);

    FILE *log = NULL;
    if (st->log_path[0]) {
        if (make_parent_dirs(st->log_path, err, errlen) < 0 || !(log = fopen(st->log_path, "w"))) {
            if (!log && !err[0])
                snprintf(err, errlen, "%s: cannot create the log", st->log_path);
            free(order);
            free(labels);
            return 1;
        }
        fprintf(log, "epoch,step,loss,train_acc,val_acc,lr,seconds,images_per_s,test_acc,kind\n");
        fflush(log);
    }

    int status = 0;
    long step = 0;
    const float lr = (float)st->lr;
    const double start = now_seconds();
    double window_start = start, window_loss = 0;
    long window_images = 0, window_correct = 0;
    struct ckpt_stats stats = {0, 0, NAN, NAN, NAN};
    if (!job->quiet)
        fprintf(stderr, "training %d images (%d steps of %d an epoch), %ld epochs, %d threads, gemm %s\n", n_train,
                steps_per_epoch, net->batch, epochs, net->threads, net->gemm.kernel->name);

    for (long epoch = 1; epoch <= epochs && step < total_steps; epoch++) {
        shuffle(order, n_train, &shuffle_rng);
        double epoch_start = now_seconds(), epoch_loss = 0;
        long epoch_images = 0, epoch_correct = 0;
        for (int first = 0; first < n_train && step < total_steps; first += net->batch) {
            int n = n_train - first < net->batch ? n_train - first : net->batch;
            int correct = 0;
            dataset_batch(&job->train, order + first, 0, n, net->input_data, labels);
            double loss = net_forward(net, n, labels, &correct, 1);
            if (!isfinite(loss)) {
                snprintf(err, errlen, "the loss is %s at step %ld (epoch %ld): training diverged; lower lr "
                         "(now %g) or check the initialisation", isnan(loss) ? "NaN" : "infinite", step + 1,
                         epoch, st->lr);
                status = 1;
                goto done;
            }
            net_backward(net, n, labels);
            optim_sgd_step(net, lr);
            step++;
            window_loss += loss;
            window_images += n;
            window_correct += correct;
            epoch_loss += loss;
            epoch_images += n;
            epoch_correct += correct;
            if (log && step % st->log_every == 0) {
                double t = now_seconds();
                fprintf(log, "%ld,%ld,%.6f,%.4f,,%g,%.3f,%.1f,,step\n", epoch, step, window_loss / window_images,
                        (double)window_correct / window_images, st->lr, t - start,
                        window_images / (t - window_start));
                fflush(log);
                window_start = t;
                window_loss = 0;
                window_images = window_correct = 0;
            }
        }
        double train_seconds = now_seconds() - epoch_start;
        struct eval_result val = {0}, test = {0};
        if (job->validation.count)
            evaluate(net, &job->validation, &val, NULL);
        if (job->test.count)
            evaluate(net, &job->test, &test, NULL);
        stats = (struct ckpt_stats){(uint64_t)epoch, (uint64_t)step, epoch_loss / epoch_images,
                                    job->validation.count ? val.accuracy : NAN,
                                    job->test.count ? test.accuracy : NAN};
        double t = now_seconds();
        if (log) {
            fprintf(log, "%ld,%ld,%.6f,%.4f", epoch, step, stats.loss, (double)epoch_correct / epoch_images);
            csv_accuracy(log, &val, job->validation.count);
            fprintf(log, ",%g,%.3f,%.1f", st->lr, t - start, epoch_images / train_seconds);
            csv_accuracy(log, &test, job->test.count);
            fprintf(log, ",epoch\n");
            fflush(log);
        }
        if (!job->quiet) {
            fprintf(stderr, "epoch %ld/%ld  step %ld  loss %.4f  train %.2f%%", epoch, epochs, step, stats.loss,
                    100.0 * epoch_correct / epoch_images);
            if (job->validation.count)
                fprintf(stderr, "  val %.2f%%", 100 * val.accuracy);
            if (job->test.count)
                fprintf(stderr, "  test %.2f%%", 100 * test.accuracy);
            fprintf(stderr, "  %.1fs  %.0f img/s\n", train_seconds, epoch_images / train_seconds);
        }
        int last = epoch == epochs || step >= total_steps;
        if (last || (st->checkpoint_every && epoch % st->checkpoint_every == 0)) {
            if (save(job, &stats, err, errlen) < 0) {
                status = 1;
                goto done;
            }
        }
    }
    /* stdout: the result, for scripts */
    printf("steps %ld  loss %.4f", step, stats.loss);
    if (job->validation.count)
        printf("  val_acc %.4f", stats.val_accuracy);
    if (job->test.count)
        printf("  test_acc %.4f", stats.test_accuracy);
    printf("  seconds %.1f  checkpoint %s\n", now_seconds() - start, st->checkpoint_path);
done:
    if (log && fclose(log) != 0 && status == 0) {
        snprintf(err, errlen, "%s: write failed", st->log_path);
        status = 1;
    }
    free(order);
    free(labels);
    return status;
}
