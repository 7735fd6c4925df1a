/* dist.h - data-parallel training over processes with MPI (make MPI=1).
 *
 * Every rank holds the whole network and takes its own slice of every
 * global batch; after the backward pass the ranks sum their gradients
 * (each scaled by its share of the batch) with MPI_Allreduce, so all of
 * them apply the same update. Rank 0 alone writes logs, checkpoints and the
 * console. In the default build (no MPI) there is one rank and every call
 * here is a no-op, so the single-process trainer is unchanged bit for bit. */
#ifndef CNNCTL_DIST_H
#define CNNCTL_DIST_H

/* Call first and last in main (train only). finalize with a failure status
 * (not 0, 130 or 143) and more than one rank aborts the job: the other
 * ranks may be waiting in a collective and would otherwise hang. */
void dist_init(int *argc, char ***argv);
void dist_finalize(int status);

int dist_rank(void);
int dist_size(void);
/* Is this an MPI build? */
int dist_available(void);

/* In place, over all ranks: sums of n values. */
void dist_sum_floats(float *v, long n);
void dist_sum_doubles(double *v, int n);
/* all = every rank's `local` one after another, rank r's counts[r] floats
 * (counts given for every rank, each below 2^31). One rank: a copy. */
void dist_gather_floats(const float *local, float *all, const long *counts);
/* The largest of the ranks' values (for a stop request seen by any rank). */
int dist_max_int(int v);

/* Sums started now and finished later, so communication overlaps with
 * work: the trainer starts one per parameter tensor as the backward pass
 * finishes its layer. The requests live in the struct (one per slot). */
struct dist_sums {
    void *requests;   /* MPI_Request[capacity] */
    int count, capacity;
};
int dist_sums_init(struct dist_sums *q, int capacity);   /* 0 or -1 (out of memory) */
void dist_sums_free(struct dist_sums *q);
/* Start summing n floats of v in place; v must not be touched until
 * dist_sums_wait(). Without MPI, or with one rank, it does nothing. */
void dist_sums_start(struct dist_sums *q, float *v, long n);
/* Let started sums progress (MPI makes progress inside its calls). */
void dist_sums_progress(struct dist_sums *q);
/* Wait for every started sum. */
void dist_sums_wait(struct dist_sums *q);

#endif
