/* dist.c - see dist.h. */
#include "dist.h"

#include <string.h>

#include <stddef.h>

#ifdef CNNCTL_MPI
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>

static int initialised;

void dist_init(int *argc, char ***argv)
{
    MPI_Init(argc, argv);
    initialised = 1;
}

void dist_finalize(int status)
{
    if (!initialised)
        return;
    /* 0, 130 and 143 (stopped by a signal) end every rank together; any
     * other failure may be one rank's alone */
    if (status != 0 && status != 130 && status != 143 && dist_size() > 1)
        MPI_Abort(MPI_COMM_WORLD, status);
    MPI_Finalize();
    initialised = 0;
}

int dist_rank(void)
{
    int r = 0;
    if (initialised)
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int dist_size(void)
{
    int s = 1;
    if (initialised)
        MPI_Comm_size(MPI_COMM_WORLD, &s);
    return s;
}

int dist_available(void)
{
    return 1;
}

void dist_sum_floats(float *v, long n)
{
    if (dist_size() == 1)
        return;
    /* MPI counts are int: large arenas go in pieces */
    for (long done = 0; done < n; done += INT_MAX / 2) {
        long part = n - done < INT_MAX / 2 ? n - done : INT_MAX / 2;
        MPI_Allreduce(MPI_IN_PLACE, v + done, (int)part, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
}

void dist_gather_floats(const float *local, float *all, const long *counts)
{
    const int ranks = dist_size();
    int sizes[ranks], offsets[ranks], at = 0;
    for (int r = 0; r < ranks; r++) {
        sizes[r] = (int)counts[r];
        offsets[r] = at;
        at += sizes[r];
    }
    MPI_Allgatherv(local, sizes[dist_rank()], MPI_FLOAT, all, sizes, offsets, MPI_FLOAT, MPI_COMM_WORLD);
}

void dist_sum_doubles(double *v, int n)
{
    if (dist_size() > 1)
        MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

int dist_max_int(int v)
{
    if (dist_size() > 1)
        MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

int dist_sums_init(struct dist_sums *q, int capacity)
{
    q->count = 0;
    q->capacity = capacity;
    q->requests = calloc(capacity > 0 ? (size_t)capacity : 1, sizeof(MPI_Request));
    return q->requests ? 0 : -1;
}

void dist_sums_free(struct dist_sums *q)
{
    free(q->requests);
    q->requests = NULL;
    q->count = q->capacity = 0;
}

void dist_sums_start(struct dist_sums *q, float *v, long n)
{
    if (dist_size() == 1 || n <= 0)
        return;
    if (q->count == q->capacity || n > INT_MAX) {   /* cannot queue: sum now */
        dist_sum_floats(v, n);
        return;
    }
    MPI_Request *r = q->requests;
    MPI_Iallreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r[q->count++]);
}

void dist_sums_progress(struct dist_sums *q)
{
    int done;
    if (q->count)
        MPI_Testall(q->count, q->requests, &done, MPI_STATUSES_IGNORE);
}

void dist_sums_wait(struct dist_sums *q)
{
    if (q->count)
        MPI_Waitall(q->count, q->requests, MPI_STATUSES_IGNORE);
    q->count = 0;
}

#else  /* one process */

void dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
}

void dist_finalize(int status)
{
    (void)status;
}

int dist_rank(void)
{
    return 0;
}

int dist_size(void)
{
    return 1;
}

int dist_available(void)
{
    return 0;
}

void dist_sum_floats(float *v, long n)
{
    (void)v;
    (void)n;
}

void dist_gather_floats(const float *local, float *all, const long *counts)
{
    memcpy(all, local, sizeof(float) * counts[0]);
}

void dist_sum_doubles(double *v, int n)
{
    (void)v;
    (void)n;
}

int dist_max_int(int v)
{
    return v;
}

int dist_sums_init(struct dist_sums *q, int capacity)
{
    q->requests = NULL;
    q->count = 0;
    q->capacity = capacity;
    return 0;
}

void dist_sums_free(struct dist_sums *q)
{
    q->count = q->capacity = 0;
}

void dist_sums_start(struct dist_sums *q, float *v, long n)
{
    (void)q;
    (void)v;
    (void)n;
}

void dist_sums_progress(struct dist_sums *q)
{
    (void)q;
}

void dist_sums_wait(struct dist_sums *q)
{
    (void)q;
}

#endif
