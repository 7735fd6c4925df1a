/* gemm_kernel_generic.c - the portable micro-kernel: plain C that any
 * compiler builds and vectorises as it can. 4 x 16 tile. */
#include "gemm.h"

#define MR 4
#define NR 16

static void kernel_4x16(long kc, const float *a, const float *b, float *c, long ldc, int accumulate)
{
    float acc[MR][NR] = {{0}};
    for (long p = 0; p < kc; p++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++)
                acc[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

static int always(void)
{
    return 1;
}

const struct gemm_kernel gemm_kernel_generic = {
    .name = "generic", .mr = MR, .nr = NR, .mc = 128, .kc = 256, .nc = 2048,
    .run = kernel_4x16, .supported = always,
};
