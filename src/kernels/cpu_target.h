/* cpu_target.h - everything one kind of CPU runs, in one descriptor (as
 * BLIS keeps a context per architecture): the GEMM micro-kernels with their
 * block sizes and the thresholds that choose a GEMM path (gemm.h), the
 * direct stride-1 convolution kernel (conv_direct.h), the Winograd one
 * (winograd.h), and how many 2x2
 * max-pooling windows a step takes (pool.h). One target per instruction
 * set, chosen once at run time from what the CPU reports; the rest of
 * cnnctl asks the target, never which instruction set it has. */
#ifndef CNNCTL_CPU_TARGET_H
#define CNNCTL_CPU_TARGET_H

struct gemm_kernel;
struct conv_direct_kernel;
struct winograd_kernel;

struct cpu_target {
    const char *name;                        /* "avx512", "avx2", "generic" */
    const struct gemm_kernel *gemm;          /* its supported() says whether this CPU runs the target */
    const struct conv_direct_kernel *conv;   /* NULL: every convolution as im2col + GEMM */
    const struct winograd_kernel *winograd;  /* 3x3 stride 1 (winograd.h); NULL: none */
    int pool_lanes;                          /* 2x2 max pooling: 8 windows a step (AVX2) or 4 (SSE2) */
};

extern const struct cpu_target cpu_target_avx512, cpu_target_avx2, cpu_target_generic;

/* The fastest target this CPU runs; the environment variable
 * CNNCTL_GEMM_KERNEL=avx512|avx2|generic may choose a slower one. */
const struct cpu_target *cpu_target_select(void);
/* A target by name if this CPU runs it, else NULL. */
const struct cpu_target *cpu_target_find(const char *name);

#endif
