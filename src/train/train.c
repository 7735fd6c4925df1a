/* train.c - the epoch loop.
 *
 * Per epoch: the training indices in an order that depends only on the seed
 * and the epoch number; per mini-batch: copy it into the network's input,
 * forward, backward, update. A log row every log_every steps and one at each
 * epoch's end (with validation and test accuracy); checkpoints every
 * checkpoint_every epochs or steps, at the end, and on SIGINT/SIGTERM.
 *
 * NOTE: everything the loop carries from step to step is in
 * struct ckpt_train_state, and the checkpoint holds it, so a run resumed
 * from any checkpoint computes the same bits as the run left alone, at any
 * thread count. Nothing is allocated inside the loop. */
#include "train.h"

#include "cpu_target.h"
#include "dist.h"
#include "eval.h"
#include "fileio.h"
#include "optim.h"
#include "progress.h"
#include "rng.h"
#include "runlock.h"
#include "status.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The one writable global: a signal handler can do nothing else. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The order of epoch e: a function of (seed, e) alone, so a resumed run
 * needs no more than the epoch number to see the same batches. */
static void epoch_order(uint32_t *order, int n, uint64_t seed, uint64_t epoch)
{
    struct rng rng;
    rng_seed(&rng, seed, RNG_STREAM_SHUFFLE + (epoch << 8));
    for (int i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&rng, (uint64_t)i + 1);
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

#define LOG_HEADER "epoch,step,loss,train_acc,val_acc,lr,seconds,images_per_s,test_acc,skipped,kind\n"

/* Opens the log for appending. Resuming, keeps the header and the first
 * `rows` rows (those written before the checkpoint) and drops the rest;
 * *seconds gets the last kept row's seconds so the column goes on. */
static FILE *open_log(const char *path, int resume, uint64_t rows, double *seconds, char *err, size_t errlen)
{
    *seconds = 0;
    if (make_parent_dirs(path, err, errlen) < 0)
        return NULL;
    size_t len = 0;
    FILE *f = resume ? fopen(path, "rb") : NULL;
    char *text = NULL;
    if (f) {
        size_t cap = 1 << 16;
        text = malloc(cap);
        size_t got;
        while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
            len += got;
            if (len == cap)
                text = realloc(text, cap *= 2);
        }
        fclose(f);
        if (!text) {
            snprintf(err, errlen, "%s: out of memory", path);
            return NULL;
        }
        /* header + rows complete lines */
        size_t keep = 0;
        uint64_t lines = 0;
        const char *last_row = NULL;
        while (lines < rows + 1) {
            char *nl = memchr(text + keep, '\n', len - keep);
            if (!nl)
                break;
            if (lines > 0)
                last_row = text + keep;
            keep = (size_t)(nl - text) + 1;
            lines++;
        }
        if (lines < rows + 1 || strncmp(text, LOG_HEADER, strlen(LOG_HEADER)) != 0) {
            snprintf(err, errlen, "%s: has %llu complete rows, but the checkpoint was written after %llu; "
                     "restore the log or give a new one with --set train.log=FILE", path,
                     (unsigned long long)(lines ? lines - 1 : 0), (unsigned long long)rows);
            free(text);
            return NULL;
        }
        if (last_row) {
            /* seconds is the 7th column */
            const char *p = last_row;
            for (int comma = 0; comma < 6 && p; comma++)
                p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
            if (p)
                *seconds = atof(p);
        }
        len = keep;
    } else if (resume && rows > 0 && errno != ENOENT) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (text) {
        /* Cut back by replacing the file whole: a crash here leaves the old log. */
        struct atomic_file af;
        if (atomic_open(&af, path, err, errlen) < 0) {
            free(text);
            return NULL;
        }
        fwrite(text, 1, len, af.f);
        free(text);
        if (atomic_commit(&af, err, errlen) < 0)
            return NULL;
        f = fopen(path, "ab");
    } else {
        f = fopen(path, "wb");
        if (f)
            fputs(LOG_HEADER, f);
    }
    if (!f) {
        snprintf(err, errlen, "%s: cannot open the log: %s", path, strerror(errno));
        return NULL;
    }
    if (fflush(f) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    return f;
}

struct loop {
    struct train_job *job;
    struct schedule schedule;
    double lr;                   /* of the last step */
    float *augment_scratch;      /* one image per thread */
    struct ckpt_train_state state;
    struct ckpt_stats stats;
    FILE *log;
    double start, seconds_before, window_start;
    uint64_t start_step;         /* of this process, for the ETA */
    struct dist_sums sums;       /* MPI: gradient sums in flight during the backward pass */
    float share;                 /* MPI: this rank's images / the batch's */
    int wrote_checkpoint;
    struct progress progress;
    int total;                   /* MPI: images in this step's global batch */
    float *rows_x, *rows_dy;     /* MPI: a batch_gradients layer's x and dy for the whole batch */
    long *counts;                /* MPI: floats from each rank in a gather */
};

static int log_flush(struct loop *lp, char *err, size_t errlen)
{
    lp->state.log_rows++;
    if (fflush(lp->log) != 0 || ferror(lp->log)) {
        snprintf(err, errlen, "%s: write failed: %s", lp->job->st->log_path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_checkpoint(struct loop *lp, const char *path, char *err, size_t errlen)
{
    size_t len;
    char *text = config_to_text(lp->job->cfg, &len);
    int rc = ckpt_write(path, text, len, lp->job->net, &lp->stats, &lp->state, lp->job->optim, err, errlen);
    free(text);
    return rc;
}

/* The latest checkpoint, and with keep = K numbered hard links PATH.STEP to
 * the last K of them. */
static int save(struct loop *lp, char *err, size_t errlen)
{
    const struct settings *st = lp->job->st;
    if (dist_rank() != 0) {   /* MPI: rank 0 writes for all */
        lp->wrote_checkpoint = 1;
        return 0;
    }
    if (write_checkpoint(lp, st->checkpoint_path, err, errlen) < 0)
        return -1;
    lp->wrote_checkpoint = 1;
    if (st->keep <= 0)
        return 0;
    size_t n = strlen(st->checkpoint_path) + 64;  /* room for ".[0-9]" x 10 */
    char *numbered = malloc(n), *pattern = malloc(n);
    snprintf(numbered, n, "%s.%010llu", st->checkpoint_path, (unsigned long long)lp->state.step);
    snprintf(pattern, n, "%s.[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]", st->checkpoint_path);
    unlink(numbered);
    int rc = 0;
    if (link(st->checkpoint_path, numbered) != 0) {
        snprintf(err, errlen, "%s: cannot link %s: %s", numbered, st->checkpoint_path, strerror(errno));
        rc = -1;
    }
    glob_t g;
    if (rc == 0 && glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i + (size_t)st->keep < g.gl_pathc; i++)  /* sorted: oldest first */
            unlink(g.gl_pathv[i]);
        globfree(&g);
    }
    free(numbered);
    free(pattern);
    return rc;
}

/* Names the first layer (forward order) with non-finite outputs. */
static const char *first_bad_output(const struct net *net, int n)
{
    for (int i = 0; i < net->count; i++) {
        const struct layer *l = &net->layers[i];
        long count = n * net_output_floats(net, l);
        for (long e = 0; e < count; e++)
            if (!isfinite(l->y[e]))
                return l->name;
    }
    return NULL;
}

/* Names the layer, from the output side, whose gradient is not finite. */
static const char *first_bad_gradient(const struct net *net)
{
    for (int i = net->count - 1; i >= 0; i--) {
        const struct layer *l = &net->layers[i];
        for (int j = 0; j < l->param_count; j++) {
            if (!l->params[j].grad)
                continue;
            /* 0 * x is NaN exactly when x is not finite, and a NaN stays
             * in the sum whatever the order, so the sum may be vectorised
             * (a serial chain of adds held the other threads waiting) */
            const float *grad = l->params[j].grad;
            const long size = l->params[j].size;
            float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
            for (long e = 0; e < size; e++)
                sum += grad[e] * 0.0f;
            if (sum != 0.0f)
                return l->name;
        }
    }
    return NULL;
}

static void csv_accuracy(FILE *f, double accuracy, int present)
{
    if (present)
        fprintf(f, ",%.4f", accuracy);
    else
        fputc(',', f);
}

/* The share of the training images (pixels) the net labelled right; NaN
 * for a detector, which has no such count. */
static double train_accuracy(const struct net *net, double correct, double images)
{
    return net->boxes ? NAN : correct / (images * net->label_units);
}

static double elapsed(const struct loop *lp)
{
    return lp->seconds_before + now_seconds() - lp->start;
}

/* MPI: every rank gets the rows of all ranks, each rank's `per_image`
 * floats an image for its images of the step, in rank order. */
static void gather_rows(struct loop *lp, const float *local, long per_image, float *all)
{
    const int ranks = dist_size();
    for (int r = 0; r < ranks; r++)
        lp->counts[r] = ((long)lp->total * (r + 1) / ranks - (long)lp->total * r / ranks) * per_image;
    dist_gather_floats(local, all, lp->counts);
}

/* MPI: a layer whose parameter gradients are one sum over the batch in a
 * GEMM (affine) gets them from the whole batch's rows on every rank, as one
 * process computes them, instead of a sum of the ranks' halves: the same
 * bits as one process where the batch splits evenly. Each rank's dy is the
 * gradient of its own mean loss, so its rows are scaled by its share
 * first (0.5 of two equal halves, exactly); no sum over ranks follows. */
static void batch_gradients_of_whole_batch(struct loop *lp, struct layer *l)
{
    struct net *net = lp->job->net;
    const long in = shape_size(l->in[0]), out = shape_size(l->out);
    gather_rows(lp, l->x[0], in, lp->rows_x);
    gather_rows(lp, l->dy, out, lp->rows_dy);
    const int ranks = dist_size();
    for (int r = 0; r < ranks; r++) {
        const long lo = (long)lp->total * r / ranks, hi = (long)lp->total * (r + 1) / ranks;
        const float share = (float)(hi - lo) / (float)lp->total;
        for (long e = lo * out; e < hi * out; e++)
            lp->rows_dy[e] *= share;
    }
    net_batch_gradients(net, l, lp->rows_x, lp->rows_dy, lp->total);
}

/* MPI: each rank's gradient is the mean over its n of the batch's total
 * images; their weighted sum, over all ranks, is the gradient of the whole
 * batch's mean loss. Each layer's sums start as soon as the backward pass
 * is done with it, and run while the layers below are computed. Every rank
 * starts the same sums in the same order (a rank without images too). */
static void reduce_layer(void *ctx, struct layer *l)
{
    struct loop *lp = ctx;
    if (l->ops->batch_gradients && l->param_count) {
        batch_gradients_of_whole_batch(lp, l);
        dist_sums_progress(&lp->sums);
        return;
    }
    for (int j = 0; j < l->param_count; j++) {
        struct param *p = &l->params[j];
        if (!p->grad)
            continue;
        for (long e = 0; e < p->size; e++)
            p->grad[e] *= lp->share;
        dist_sums_start(&lp->sums, p->grad, p->size);
    }
    dist_sums_progress(&lp->sums);
}

static void backward_and_reduce(struct loop *lp, int n, int total, const uint8_t *labels,
                                const struct net_pass *pass)
{
    struct net *net = lp->job->net;
    if (dist_size() == 1) {
        net_backward(net, n, labels, pass);
        return;
    }
    lp->share = (float)n / (float)total;
    lp->total = total;
    if (n) {
        net_backward_each(net, n, labels, pass, reduce_layer, lp);
    } else {
        memset(net->grads, 0, sizeof(float) * net->param_floats);
        for (int i = net->count - 1; i >= 0; i--)
            reduce_layer(lp, &net->layers[i]);
    }
    dist_sums_wait(&lp->sums);
}

/* One step of SGD on batch `batch` of `order`. Returns 0, or -1 (diverged,
 * err set) */
static int step(struct loop *lp, const uint32_t *order, int batch, uint8_t *labels, char *err, size_t errlen)
{
    struct train_job *job = lp->job;
    struct net *net = job->net;
    struct ckpt_train_state *s = &lp->state;
    const int B = (int)job->st->batch;   /* the global batch; net->batch is this rank's share */
    int first = batch * B;
    int total = job->train.count - first < B ? job->train.count - first : B;
    /* this rank's slice of the batch: images [lo, hi) of it */
    const int ranks = dist_size(), rank = dist_rank();
    int lo = (int)((long)total * rank / ranks), hi = (int)((long)total * (rank + 1) / ranks), n = hi - lo;
    int correct = 0;
    lp->lr = schedule_lr(&lp->schedule, s->step);
    const struct net_pass pass = {job->st->seed, s->step, lo, total};
    dataset_batch(&job->train, order + first + lo, 0, n, net->input_data, labels);
    /* masks move with their images; where nothing comes in, the ignored
     * value if there is one, else class 0 (the background) */
    augment_batch(&job->st->augment, net->input_data, n, lo, net->input.c, net->input.h, net->input.w,
                  job->st->seed, s->step, lp->augment_scratch, net->threads, job->st->norm_mean,
                  net_per_pixel(net) ? labels : NULL, (uint8_t)(job->st->ignore >= 0 ? job->st->ignore : 0),
                  net->boxes ? labels : NULL);
    dataset_normalise(&job->train, net->input_data, n);
    double loss = n ? net_forward(net, n, labels, &correct, &pass) : 0.0;
    if (ranks > 1) {
        double sums[2] = {loss, correct};
        dist_sum_doubles(sums, 2);
        loss = sums[0];
        correct = (int)sums[1];
    }
    const char *bad = NULL, *what = "loss";
    if (!isfinite(loss))
        bad = n ? first_bad_output(net, n) : NULL;
    else {
        backward_and_reduce(lp, n, total, labels, &pass);
        if ((bad = first_bad_gradient(net)) != NULL)
            what = "gradient";
    }
    if (!isfinite(loss) || bad) {
        if (!job->st->skip_nan) {
            snprintf(err, errlen,
                     "the %s is not finite at step %llu (epoch %llu, batch %d): first in %s [%s]; training diverged. "
                     "Lower lr (now %g), or set on_nan = skip; %s%s",
                     what, (unsigned long long)s->step + 1, (unsigned long long)s->epoch, batch + 1,
                     !isfinite(loss) ? "the output of" : "the gradient of", bad ? bad : "?", lp->lr,
                     lp->wrote_checkpoint || access(job->st->checkpoint_path, F_OK) == 0
                         ? "the last good checkpoint is " : "no checkpoint was written",
                     lp->wrote_checkpoint || access(job->st->checkpoint_path, F_OK) == 0 ? job->st->checkpoint_path
                                                                                          : "");
            return -1;
        }
        s->skipped++;
    } else {
        optim_step(job->optim, net, (float)lp->lr, s->step - s->skipped);
        if (ranks > 1 && net->statistic_floats) {
            /* batchnorm's running statistics: the mean over the ranks */
            dist_sum_floats(net->statistics, net->statistic_floats);
            for (long i = 0; i < net->statistic_floats; i++)
                net->statistics[i] /= (float)ranks;
        }
        s->window_loss += loss;
        s->window_images += total;
        s->window_correct += correct;
        s->epoch_loss += loss;
        s->epoch_images += total;
        s->epoch_correct += correct;
    }
    s->step++;
    s->batch_in_epoch = batch + 1;
    return 0;
}

static int log_step_row(struct loop *lp, char *err, size_t errlen)
{
    struct ckpt_train_state *s = &lp->state;
    double t = now_seconds();
    double images = s->window_images ? (double)s->window_images : NAN;
    const double accuracy = train_accuracy(lp->job->net, s->window_correct, images);
    fprintf(lp->log, "%llu,%llu,%.6f", (unsigned long long)s->epoch, (unsigned long long)s->step,
            s->window_loss / images);
    csv_accuracy(lp->log, accuracy, !isnan(accuracy) || !lp->job->net->boxes);
    fprintf(lp->log, ",,%g,%.3f,%.1f,,%llu,step\n", lp->lr, elapsed(lp), s->window_images / (t - lp->window_start),
            (unsigned long long)s->skipped);
    lp->window_start = t;
    s->window_loss = 0;
    s->window_images = s->window_correct = 0;
    return log_flush(lp, err, errlen);
}

/* The live progress line; the ETA assumes the steps to come take as long
 * as this process's steps so far, evaluations included. */
static void show_progress(struct loop *lp, long epochs, int batch, int batches, uint64_t total_steps)
{
    const struct ckpt_train_state *s = &lp->state;
    double now = now_seconds(), images = s->epoch_images ? (double)s->epoch_images : NAN;
    double done = (double)(s->step - lp->start_step), spent = now - lp->start;
    double eta = done > 0 ? spent / done * (double)(total_steps - s->step) : -1.0;
    double rate = spent > 0 ? done * lp->job->st->batch / spent : 0.0;
    progress_step(&lp->progress, (unsigned long long)s->epoch, epochs, batch, batches, (unsigned long long)s->step,
                  s->epoch_loss / images, train_accuracy(lp->job->net, s->epoch_correct, images), rate, eta, now,
                  batch == batches);
}

/* MPI: each rank evaluates its slice of the set, and the counts are summed. */
static void evaluate_split(struct net *net, const struct dataset *d, struct eval_result *r)
{
    const int ranks = dist_size(), rank = dist_rank();
    /* a per-pixel net's IoU and a detector's mean average precision are
     * not sums of the ranks' parts: each rank evaluates the whole set */
    if (ranks == 1 || net->label_units > 1) {
        if (evaluate(net, d, r, NULL, NULL) < 0)
            memset(r, 0, sizeof *r);
        return;
    }
    int lo = (int)((long)d->count * rank / ranks), hi = (int)((long)d->count * (rank + 1) / ranks);
    struct dataset part = dataset_slice(d, lo, hi - lo);
    evaluate(net, &part, r, NULL, NULL);
    double sums[2] = {r->correct, r->loss * r->count};
    dist_sum_doubles(sums, 2);
    r->count = d->count;
    r->correct = (int)sums[0];
    r->loss = d->count ? sums[1] / d->count : 0.0;
    r->accuracy = d->count ? (double)r->correct / d->count : 0.0;
}

/* Evaluation, the epoch's log row and console line, the best checkpoint.
 * complete: the epoch ran to its end; else the run's steps ran out inside
 * it, and the state stays where they did (a resume with more steps goes on
 * from there, in the same epoch's order). */
static int end_epoch(struct loop *lp, double train_seconds, long epochs, int complete, char *err, size_t errlen)
{
    struct train_job *job = lp->job;
    struct ckpt_train_state *s = &lp->state;
    struct eval_result val = {0}, test = {0};
    if (job->validation.count)
        evaluate_split(job->net, &job->validation, &val);
    if (job->test.count)
        evaluate_split(job->net, &job->test, &test);
    double images = s->epoch_images ? (double)s->epoch_images : NAN;
    lp->stats = (struct ckpt_stats){s->epoch, s->step, s->epoch_loss / images,
                                    job->validation.count ? val.accuracy : NAN, job->test.count ? test.accuracy : NAN};
    if (lp->log) {
        fprintf(lp->log, "%llu,%llu,%.6f", (unsigned long long)s->epoch, (unsigned long long)s->step,
                lp->stats.loss);
        csv_accuracy(lp->log, train_accuracy(job->net, s->epoch_correct, images), !job->net->boxes);
        csv_accuracy(lp->log, val.accuracy, job->validation.count);
        fprintf(lp->log, ",%g,%.3f,%.1f", lp->lr, elapsed(lp), s->epoch_images / train_seconds);
        csv_accuracy(lp->log, test.accuracy, job->test.count);
        fprintf(lp->log, ",%llu,epoch\n", (unsigned long long)s->skipped);
        if (log_flush(lp, err, errlen) < 0)
            return -1;
    }
    char line[256];
    int len = snprintf(line, sizeof line, "epoch %llu/%ld  step %llu  loss %.4f", (unsigned long long)s->epoch,
                       epochs, (unsigned long long)s->step, lp->stats.loss);
    /* a detector: the mean average precision alone (no image is "right") */
    if (!job->net->boxes)
        len += snprintf(line + len, sizeof line - len, "  train %.2f%%",
                        100.0 * train_accuracy(job->net, s->epoch_correct, images));
    if (job->validation.count && val.detect)
        len += snprintf(line + len, sizeof line - len, "  val mAP %.4f", val.accuracy);
    else if (job->validation.count)
        len += snprintf(line + len, sizeof line - len, "  val %.2f%%", 100 * val.accuracy);
    if (job->validation.count && val.per_pixel)
        len += snprintf(line + len, sizeof line - len, " miou %.4f", val.mean_iou);
    if (job->test.count && test.detect)
        len += snprintf(line + len, sizeof line - len, "  test mAP %.4f", test.accuracy);
    else if (job->test.count)
        len += snprintf(line + len, sizeof line - len, "  test %.2f%%", 100 * test.accuracy);
    if (job->test.count && test.per_pixel)
        len += snprintf(line + len, sizeof line - len, " miou %.4f", test.mean_iou);
    if (s->skipped)
        len += snprintf(line + len, sizeof line - len, "  skipped %llu", (unsigned long long)s->skipped);
    progress_line(&lp->progress, "%s  %.1fs  %.0f img/s\n", line, train_seconds, s->epoch_images / train_seconds);
    /* the state a resume continues from: the next epoch, from its start */
    int better = job->validation.count && !(val.accuracy <= s->best_accuracy);
    if (better)
        s->best_accuracy = val.accuracy;
    if (complete) {
        s->epoch++;
        s->batch_in_epoch = 0;
        s->epoch_loss = 0;
        s->epoch_images = s->epoch_correct = 0;
    }
    if (better && job->st->best_path && dist_rank() == 0 &&
        write_checkpoint(lp, job->st->best_path, err, errlen) < 0)
        return -1;
    return 0;
}

int train_run(struct train_job *job, char *err, size_t errlen)
{
    const struct settings *st = job->st;
    struct net *net = job->net;
    const int n_train = job->train.count;
    const int batches = (int)((n_train + st->batch - 1) / st->batch);
    const uint64_t total_steps = st->iterations ? (uint64_t)st->iterations : (uint64_t)st->epochs * batches;
    const long epochs = (long)((total_steps + batches - 1) / batches);

    struct loop lp = {.job = job};
    lp.schedule = (struct schedule){st->schedule, st->lr, st->lr_min, st->gamma,
                                    (uint64_t)st->step_size * (st->step_size_in_epochs ? (uint64_t)batches : 1),
                                    (uint64_t)st->warmup, total_steps};
    lp.lr = schedule_lr(&lp.schedule, job->resume ? job->resume->step : 0);
    if (job->resume) {
        lp.state = *job->resume;
        lp.stats = *job->resume_stats;
    } else {
        lp.state = (struct ckpt_train_state){.epoch = 1, .best_accuracy = NAN};
        lp.stats = (struct ckpt_stats){0, 0, NAN, NAN, NAN};
        net_init_params(net, st->seed);
    }
    struct ckpt_train_state *s = &lp.state;
    if (st->log_path[0] && dist_rank() == 0 &&
        !(lp.log = open_log(st->log_path, job->resume != NULL, s->log_rows, &lp.seconds_before, err, errlen)))
        return job->resume ? 2 : 1;

    uint32_t *order = malloc(sizeof *order * n_train);
    uint8_t *labels = malloc((size_t)net->batch * net->label_units);
    lp.augment_scratch = malloc(sizeof(float) * shape_size(net->input) * net->threads);
    int tensors = 0;
    for (int i = 0; i < net->count; i++)
        for (int j = 0; j < net->layers[i].param_count; j++)
            tensors += net->layers[i].params[j].grad != NULL;
    /* MPI: room for the whole batch's rows of the widest batch_gradients layer */
    long widest_in = 0, widest_out = 0;
    for (int i = 0; i < net->count && dist_size() > 1; i++) {
        const struct layer *l = &net->layers[i];
        if (l->ops->batch_gradients) {
            widest_in = shape_size(l->in[0]) > widest_in ? shape_size(l->in[0]) : widest_in;
            widest_out = shape_size(l->out) > widest_out ? shape_size(l->out) : widest_out;
        }
    }
    if (widest_in) {
        lp.rows_x = malloc(sizeof(float) * st->batch * widest_in);
        lp.rows_dy = malloc(sizeof(float) * st->batch * widest_out);
        lp.counts = malloc(sizeof(long) * dist_size());
    }
    if (!order || !labels || !lp.augment_scratch || dist_sums_init(&lp.sums, tensors) < 0 ||
        (widest_in && (!lp.rows_x || !lp.rows_dy || !lp.counts))) {
        dist_sums_free(&lp.sums);
        free(order);
        free(labels);
        free(lp.augment_scratch);
        free(lp.rows_x);
        free(lp.rows_dy);
        free(lp.counts);
        if (lp.log)
            fclose(lp.log);
        snprintf(err, errlen, "out of memory");
        return 1;
    }
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    progress_init(&lp.progress, stderr, job->quiet, job->live);
    if (!job->quiet) {
        net_print_summary(net, stderr);
        fprintf(stderr, "log %s\ncheckpoint %s\n", st->log_path[0] ? st->log_path : "(none)", st->checkpoint_path);
        if (job->resume)
            fprintf(stderr, "resuming at epoch %llu, step %llu of %llu\n", (unsigned long long)s->epoch,
                    (unsigned long long)s->step, (unsigned long long)total_steps);
        fprintf(stderr, "training %d images (%d steps of %d an epoch), %ld epochs, %d threads, gemm %s\n", n_train,
                batches, (int)st->batch, epochs, net->threads, net->gemm.target->name);
    }
    lp.start = lp.window_start = now_seconds();
    lp.start_step = s->step;
    int status = 0, stopping = 0;
    while ((long)s->epoch <= epochs && s->step < total_steps) {
        /* images/s counts training alone: the time of evaluations and
         * checkpoints moves the window's and the epoch's start forward */
        double epoch_start = now_seconds(), t;
        epoch_order(order, n_train, st->seed, s->epoch);
        for (int b = (int)s->batch_in_epoch; b < batches && s->step < total_steps; b++) {
            if (step(&lp, order, b, labels, err, errlen) < 0) {
                status = 1;
                goto done;
            }
            if (lp.progress.live)
                show_progress(&lp, epochs, b + 1, batches, total_steps);
            if (lp.log && s->step % st->log_every == 0 && log_step_row(&lp, err, errlen) < 0) {
                status = 1;
                goto done;
            }
            int due = st->checkpoint_in_steps && st->checkpoint_every && s->step % st->checkpoint_every == 0;
            /* MPI: every rank stops at the same step, whichever saw the signal */
            stopping = dist_size() > 1 ? dist_max_int(stop_signal) : stop_signal;
            t = now_seconds();
            if ((due || stopping) && save(&lp, err, errlen) < 0) {
                status = 1;
                goto done;
            }
            t = now_seconds() - t;
            epoch_start += t;
            lp.window_start += t;
            if (stopping)
                goto interrupted;
        }
        t = now_seconds();
        if (end_epoch(&lp, t - epoch_start, epochs, s->batch_in_epoch >= (uint64_t)batches, err, errlen) < 0) {
            status = 1;
            goto done;
        }
        int last = (long)s->epoch > epochs || s->step >= total_steps;
        int due = !st->checkpoint_in_steps && st->checkpoint_every && (s->epoch - 1) % st->checkpoint_every == 0;
        stopping = dist_size() > 1 ? dist_max_int(stop_signal) : stop_signal;
        if ((last || due || stopping) && save(&lp, err, errlen) < 0) {
            status = 1;
            goto done;
        }
        lp.window_start += now_seconds() - t;
        if (stopping)
            goto interrupted;
    }
    if (!lp.wrote_checkpoint && save(&lp, err, errlen) < 0) {
        status = 1;
        goto done;
    }
    progress_clear(&lp.progress);
    /* stdout: the result, for scripts (MPI: from rank 0) */
    if (dist_rank() == 0) {
        printf("steps %llu  loss %.4f", (unsigned long long)s->step, lp.stats.loss);
        if (job->validation.count)
            printf("  val_acc %.4f", lp.stats.val_accuracy);
        if (job->test.count)
            printf("  test_acc %.4f", lp.stats.test_accuracy);
        if (s->skipped)
            printf("  skipped %llu", (unsigned long long)s->skipped);
        printf("  seconds %.1f  checkpoint %s\n", elapsed(&lp), st->checkpoint_path);
    }
    goto done;
interrupted:
    status = 128 + stopping;
    snprintf(err, errlen, "stopped by %s at step %llu; checkpoint written; continue with: cnnctl train --resume %s",
             stopping == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)s->step, st->checkpoint_path);
done:
    progress_clear(&lp.progress);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (lp.log && fclose(lp.log) != 0 && status == 0) {
        snprintf(err, errlen, "%s: write failed: %s", st->log_path, strerror(errno));
        status = 1;
    }
    free(order);
    free(labels);
    free(lp.augment_scratch);
    free(lp.rows_x);
    free(lp.rows_dy);
    free(lp.counts);
    dist_sums_free(&lp.sums);
    return status;
}

/* A path the checkpoint can carry to another folder: made absolute. */
/* key = the C numbers, each as the float it is ("auto" resolved): the
 * checkpoint normalises as this run did, without the training images. */
static void pin_channels(struct config *cfg, struct config_section *data, const char *key, const float *v, int C)
{
    size_t cap = 24 * (size_t)C + 1, len = 0;
    char *text = malloc(cap);
    if (!text)
        return;
    text[0] = 0;
    for (int c = 0; c < C; c++)
        len += (size_t)snprintf(text + len, cap - len, c ? ", %.9g" : "%.9g", v[c]);
    config_put(cfg, data, key, text);
    free(text);
}

/* classes = the class folders' names, so eval and predict of the
 * checkpoint label as this run did */
static void pin_classes(struct config *cfg, struct config_section *data, char *const *names, int count)
{
    size_t cap = 1, len = 0;
    for (int k = 0; k < count; k++)
        cap += strlen(names[k]) + 2;
    char *text = malloc(cap);
    if (!text)
        return;
    text[0] = 0;
    for (int k = 0; k < count; k++)
        len += (size_t)snprintf(text + len, cap - len, k ? ", %s" : "%s", names[k]);
    config_put(cfg, data, "classes", text);
    free(text);
}

static void pin_path(struct config *cfg, const char *section, const char *key, const char *value)
{
    char buf[PATH_MAX * 2];
    if (value[0] && value[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return;
        snprintf(buf, sizeof buf, "%s/%s", cwd, value);
        value = buf;
    }
    config_put(cfg, config_section(cfg, section), key, value);
}

/* A checkpoint (or best checkpoint) where this run would start afresh:
 * 1 with err saying what to do. */
static int finished_run_there(const struct settings *st, char *err, size_t errlen)
{
    const char *done[2] = {st->checkpoint_path, st->best_path};
    struct stat file;
    for (int i = 0; i < 2; i++)
        if (done[i] && stat(done[i], &file) == 0 && S_ISREG(file.st_mode)) {
            snprintf(err, errlen, "%s: exists (the model of an earlier run); continue that run with "
                     "'cnnctl train --resume %s', or start over and replace it with --force", done[i],
                     st->checkpoint_path);
            return 1;
        }
    return 0;
}

/* Locks the run's log, checkpoint and best checkpoint (rank 0 writes them;
 * the other ranks learn its verdict), and refuses to start afresh over a
 * checkpoint that is there: that is a finished or stopped run. */
static int claim_run_files(const struct settings *st, struct run_lock locks[3], const char *resume, int force,
                           char *err, size_t errlen)
{
    int failed = 0;
    if (dist_rank() == 0) {
        const char *paths[3] = {st->checkpoint_path, st->log_path, st->best_path};
        for (int i = 0; i < 3 && !failed; i++)
            if (paths[i] && paths[i][0] && run_lock_acquire(&locks[i], paths[i], err, errlen) < 0)
                failed = 1;
        if (!failed && !resume && !force && finished_run_there(st, err, errlen))
            failed = 1;
    }
    if (dist_size() > 1 && dist_max_int(failed) && !failed) {
        snprintf(err, errlen, "rank 0 could not claim the run's files");
        failed = 1;
    }
    return failed ? -1 : 0;
}

int train_command(struct train_request *req, char *err, size_t errlen)
{
    struct config *cfg = req->cfg;
    struct settings *st = req->st;
    struct net *net = req->net;
    struct dataset all = {0}, test = {0};
    struct optimizer opt = {0};
    struct run_lock locks[3] = {{-1, NULL}, {-1, NULL}, {-1, NULL}};
    int status = EXIT_INPUT;
    /* MPI: every rank takes batch / ranks images of each step */
    const int ranks = dist_size();
    if (st->batch % ranks != 0) {
        struct config_section *train = config_section(cfg, "train");
        config_error(cfg, train, config_find(train, "batch"),
                     "%ld does not divide by the %d processes; each takes an equal share of every batch",
                     st->batch, ranks);
        config_error_text(cfg, err, errlen);
        goto fail;
    }
    /* Fail fast on a finished run's checkpoint (checked again under the
     * lock, just before training, when the folder may be made). */
    if (!req->resume_path && !req->force && dist_rank() == 0 && finished_run_there(st, err, errlen))
        goto fail;
    if (net_allocate(net, cfg, (int)(st->batch / ranks), req->threads) < 0) {
        config_error_text(cfg, err, errlen);
        status = EXIT_RUNTIME;
        goto fail;
    }
    st->train.progress = st->test.progress = st->train.progress && !req->quiet && dist_rank() == 0;
    if (data_source_load(&st->train, &all, err, errlen) < 0)
        goto fail;
    if (all.class_count && !st->class_count) {
        /* class folders found in the training set: the test set's labels
         * follow them, and the network must have as many outputs */
        if (all.class_count != net->classes) {
            snprintf(err, errlen, "%s: %d class folders, but the network has %d classes (its loss layer's inputs)",
                     st->train_images, all.class_count, net->classes);
            goto fail;
        }
        st->test.class_names = all.class_names;
        st->test.class_count = all.class_count;
    }
    if (all.skipped && !req->quiet && dist_rank() == 0)
        fprintf(stderr, "cnnctl: note: %s: left out %d files that are not images (on_bad_image = skip)\n",
                st->train_images, all.skipped);
    if (st->test.file_count && data_source_load(&st->test, &test, err, errlen) < 0)
        goto fail;
    if (test.skipped && !req->quiet && dist_rank() == 0)
        fprintf(stderr, "cnnctl: note: %s: left out %d files that are not images (on_bad_image = skip)\n",
                st->test_images, test.skipped);
    if (!shape_equal(all.shape, req->input)) {
        struct config_section *data = config_section(cfg, "data");
        config_error(cfg, data, config_find(data, "shape"), "%dx%dx%d, but %s holds %d x %d x %d images",
                     req->input.c, req->input.h, req->input.w, st->train_images, all.shape.c, all.shape.h, all.shape.w);
        config_error_text(cfg, err, errlen);
        goto fail;
    }
    if (test.count && dataset_check_shape(&test, req->input, st->test_images, err, errlen) < 0)
        goto fail;
    if (st->validation >= all.count) {
        struct config_section *data = config_section(cfg, "data");
        config_error(cfg, data, config_find(data, "validation"),
                     "%ld leaves no training images (the file has %d)", st->validation, all.count);
        config_error_text(cfg, err, errlen);
        goto fail;
    }
    if (dataset_check_labels(&all, net->classes, net->label_units, net->boxes, (int)st->ignore, err, errlen) < 0 ||
        (test.count &&
         dataset_check_labels(&test, net->classes, net->label_units, net->boxes, (int)st->ignore, err, errlen) < 0))
        goto fail;
    net->ignore_label = (int)st->ignore;
    int n_train = all.count - (int)st->validation;
    /* normalisation: auto from the training images (not the validation
     * ones), the same for every set */
    if (settings_resolve_normalisation(st, req->input.c, &all, n_train, err, errlen) < 0)
        goto fail;
    all.mean = test.mean = st->norm_mean;
    all.inv_std = test.inv_std = st->norm_inv_std;
    if (optim_init(&opt, &st->optim, net->param_floats) < 0) {
        snprintf(err, errlen, "out of memory for the optimizer's state");
        status = EXIT_RUNTIME;
        goto fail;
    }
    if (req->resume) {
        if (ckpt_load_params(req->resume, net, req->resume_path, err, errlen) < 0 ||
            ckpt_load_optimizer(req->resume, &opt, req->resume_path, err, errlen) < 0)
            goto fail;
        if (req->resume->state.batch_in_epoch > (uint64_t)(n_train + st->batch - 1) / st->batch) {
            snprintf(err, errlen, "%s: stopped at batch %llu of an epoch, but this data has only %ld batches",
                     req->resume_path, (unsigned long long)req->resume->state.batch_in_epoch,
                     (n_train + st->batch - 1) / st->batch);
            goto fail;
        }
    }

    /* The checkpoint's config must work from any folder and without the
     * data: pin the paths, and state the input shape. */
    char absolute[PATH_MAX];
    struct config_section *data = config_section(cfg, "data");
    if (realpath(st->data_dir, absolute))
        config_put(cfg, data, "dir", absolute);
    char shape[64];
    snprintf(shape, sizeof shape, "%dx%dx%d", req->input.c, req->input.h, req->input.w);
    config_put(cfg, data, "shape", shape);
    if (st->norm_mean) {
        pin_channels(cfg, data, "mean", st->norm_mean, req->input.c);
        pin_channels(cfg, data, "std", st->norm_std, req->input.c);
    }
    if (all.class_count && !st->class_count)
        pin_classes(cfg, data, all.class_names, all.class_count);
    pin_path(cfg, "train", "log", st->log_path);
    pin_path(cfg, "train", "checkpoint", st->checkpoint_path);

    /* This run's files: no other run may write them while it trains, and a
     * finished run's checkpoint is not replaced unless asked to. */
    if (claim_run_files(st, locks, req->resume_path, req->force, err, errlen) < 0)
        goto fail;
    struct train_job job = {cfg, st, net, &opt, dataset_slice(&all, 0, n_train),
                            dataset_slice(&all, n_train, (int)st->validation), test, req->quiet || dist_rank() != 0, -1,
                            req->resume ? &req->resume->state : NULL, req->resume ? &req->resume->stats : NULL};
    status = train_run(&job, err, errlen);
fail:
    for (int i = 0; i < 3; i++)
        run_lock_release(&locks[i]);
    optim_free(&opt);
    dataset_free(&all);
    dataset_free(&test);
    return status;
}

