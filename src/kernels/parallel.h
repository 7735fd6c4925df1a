/* parallel.h - OpenMP, or a single thread where the compiler has none.
 * The code is written so that one thread computes exactly what a team
 * of one computes under OpenMP; the fuzzing build (clang without libomp)
 * uses these. */
#ifndef CNNCTL_PARALLEL_H
#define CNNCTL_PARALLEL_H

#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_get_thread_num(void)
{
    return 0;
}
static inline int omp_get_num_threads(void)
{
    return 1;
}
static inline int omp_get_num_procs(void)
{
    return 1;
}
static inline int omp_get_max_threads(void)
{
    return 1;
}
#endif

#endif
