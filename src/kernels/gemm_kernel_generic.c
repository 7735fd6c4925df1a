/* gemm_kernel_generic.c - the portable micro-kernel: plain C that any
 * compiler builds and vectorises as it can. 4 x 16 tile. */
#include "gemm.h"

#define MR 4
#define NR 16

#include "gemm_pack.h"

static void kernel_4x16(long kc, const float *a, const float *b, float *c, long ldc, int accumulate, int mr, int nr)
{
    float acc[MR][NR] = {{0}};
    for (long p = 0; p < kc; p++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++)
                acc[i][j] += a[i] * b[j];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

static volatile float peak_sink;

/* Plain C: what the compiler makes of 16 independent multiply-adds. */
static double fma_peak_loop(long iterations)
{
    float r[16];
    for (int j = 0; j < 16; j++)
        r[j] = (float)j;  /* distinct, or the compiler merges the chains */
    for (long i = 0; i < iterations; i++)
        for (int j = 0; j < 16; j++)
            r[j] = r[j] * 0.999999f + 1e-7f;
    float sum = 0;
    for (int j = 0; j < 16; j++)
        sum += r[j];
    peak_sink = sum;
    return 2.0 * 16 * (double)iterations;
}

static int always(void)
{
    return 1;
}

const struct gemm_kernel gemm_kernel_generic = {
    .name = "generic", .mr = MR, .nr = NR, .mc = 128, .kc = 256, .nc = 2048,
    .fma_peak_loop = fma_peak_loop, .run = kernel_4x16, .pack_a = pack_a, .pack_b = pack_b, .supported = always,
};
