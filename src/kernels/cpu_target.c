/* cpu_target.c - the three targets, fastest first. */
#include "cpu_target.h"

#include "conv_direct.h"
#include "gemm.h"
#include "winograd.h"

#include <stdlib.h>
#include <string.h>

const struct cpu_target cpu_target_avx512 = {"avx512", &gemm_kernel_avx512, &conv_direct_avx512, &winograd_avx512, 8};
const struct cpu_target cpu_target_avx2 = {"avx2", &gemm_kernel_avx2, &conv_direct_avx2, &winograd_avx2, 8};
const struct cpu_target cpu_target_generic = {"generic", &gemm_kernel_generic, NULL, NULL, 4};

static const struct cpu_target *const targets[] = {&cpu_target_avx512, &cpu_target_avx2, &cpu_target_generic};

static int runs(const struct cpu_target *t)
{
    return t->gemm->supported();
}

const struct cpu_target *cpu_target_find(const char *name)
{
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++)
        if (strcmp(targets[i]->name, name) == 0)
            return runs(targets[i]) ? targets[i] : NULL;
    return NULL;
}

const struct cpu_target *cpu_target_select(void)
{
    const char *want = getenv("CNNCTL_GEMM_KERNEL");
    if (want && *want) {
        const struct cpu_target *t = cpu_target_find(want);
        if (t)
            return t;
    }
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++)
        if (runs(targets[i]))
            return targets[i];
    return &cpu_target_generic;
}
