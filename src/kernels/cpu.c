/* cpu.c - see cpu.h. */
#include "cpu.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define FTZ_DAZ 0x8040u  /* MXCSR bits: flush to zero (15), denormals are zero (6) */
static void set_mode(void)
{
    _mm_setcsr(_mm_getcsr() | FTZ_DAZ);
}
#else
static void set_mode(void)
{
}
#endif

void cpu_flush_denormals(int threads)
{
    set_mode();
#pragma omp parallel num_threads(threads)
    set_mode();
}
