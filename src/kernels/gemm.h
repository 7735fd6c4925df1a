/* gemm.h - single-precision matrix multiply, the one entry point every layer
 * uses:  C = alpha * op(A) * op(B) + beta * C, all row-major,
 * op(A) is M x K, op(B) is K x N, C is M x N; op(X) = X or X^T.
 *
 * Blocked after Goto and BLIS (gemm.c): panels of A and B are packed into
 * contiguous buffers, and a register-blocked micro-kernel (gemm_kernel_*.c)
 * multiplies an MR x KC panel of A by a KC x NR panel of B (the AVX2 and
 * portable kernels); the AVX2 kernel multiplies small C without packing
 * (unpacked below). The AVX-512 kernel reads A in place and copies only a
 * transposed B (unpacked), which measured faster at every size; it
 * adds dot products for small C from a long K, for a conv's weight
 * gradient with few filters computes C^T from a copy of A^T, and for C of
 * at most 16 columns copies B with its rows in pairs (narrow). gemm.c
 * chooses the path per problem, with each kernel's thresholds (struct
 * gemm_paths). The kernel is the CPU target's (cpu_target.h), chosen at run
 * time from what the CPU supports. With beta == 0, C is never read (it may hold NaN). */
#ifndef CNNCTL_GEMM_H
#define CNNCTL_GEMM_H

enum gemm_trans { GEMM_N = 0, GEMM_T = 1 };

/* c (mr x nr of the MR x NR tile, row stride ldc) = [c +] a_panel * b_panel;
 * accumulate says whether c is added to (1) or overwritten without being
 * read (0). Only the first mr rows and nr columns of c are touched, so edge
 * tiles need no copy. a: kc x MR, k-major (a[p*MR + i]); b: kc x NR, k-major
 * (b[p*NR + j]). */
typedef void (*gemm_microkernel_fn)(long kc, const float *a, const float *b, float *c, long ldc,
                                    int accumulate, int mr, int nr);

/* Where a kernel's paths pay (gemm.c, choose_path), as measured for that
 * kernel; the figures are in README's speed section and the commits that
 * set them. A path the kernel lacks ignores its numbers. */
struct gemm_paths {
    long dot_nt_max_c;     /* dot_nt: C of at most this many elements (and K at least twice its longer side) */
    long narrow_max_n;     /* narrow, narrow_at: C of at most this many columns ... */
    long narrow_min_m;     /* ... and at least this many rows, which repay copying B */
    long unpacked_min_k;   /* a kernel with both paths (avx2): unpacked tiles from this K ... */
    long unpacked_max_c;   /* ... for C of at most this many elements; past it packing's reuse wins */
    long at_max_m;         /* C^T from A^T (NT, unpacked-only kernels): at most this many rows of A, */
    long at_min_k;         /* at least this K, and B's rows at least 4 times A's */
};

struct gemm_kernel {
    const char *name;   /* "avx512", "avx2", "generic" */
    int mr, nr;         /* register tile */
    int mc, kc, nc;     /* cache blocks: A block mc x kc, B block kc x nc */
    /* The packed path (NULL in avx512, which has only unpacked): the micro-kernel,
     * and packing into its panel layout (gemm_pack.h), compiled with its
     * instruction set: A into kc x MR panels with alpha folded in, B into
     * kc x NR panels; partial panels padded with zeros. */
    gemm_microkernel_fn run;
    void (*pack_a)(enum gemm_trans ta, const float *A, long lda, long i0, long p0, long mc, long kc, float alpha,
                   float *dst);
    void (*pack_b)(enum gemm_trans tb, const float *B, long ldb, long p0, long j0, long kc, long nc, float *dst);
    int (*supported)(void);
    /* Independent FMA chains for `iterations` rounds, at the best rate this
     * instruction set allows; returns the floating-point operations done.
     * `cnnctl bench` measures the machine's peak with it. */
    double (*fma_peak_loop)(long iterations);
    /* Optional: C = alpha * A B^T + beta C with A (m x k) and B (n x k) both
     * row-major, so K is contiguous in both: one vectorised dot product per
     * element of C, no packing. gemm_serial() uses it for small M x N with
     * long K (a convolution's weight gradient). NULL: not available. */
    void (*dot_nt)(long m, long n, long k, float alpha, const float *A, long lda, const float *B, long ldb,
                   float beta, float *C, long ldc);
    /* Instead of the packed path: GEMMs without packing. With
     * out(r, j) = alpha * sum_p s[r*s_row + p*s_k] * v[p*ldv + j] for
     * r < rows, j < cols: C = out + beta C, or with transposed set,
     * C^T = out + beta C^T (C[j*ldc + r]). v is read a vector of columns at
     * a time, s an element at a time (broadcast), so either operand may be
     * op(A): the one whose rows run along C's vector direction is v.
     * A kernel that also has the packed path (avx2) is asked only for
     * small C, untransposed (transposed == 0), with v = B. */
    void (*unpacked)(long rows, long cols, long k, float alpha, const float *s, long s_row, long s_k,
                     const float *v, long ldv, float beta, float *C, long ldc, int transposed, float *scratch);
    long unpacked_scratch;  /* floats of scratch unpacked() may use */
    /* dst[p*width + j] = src[j*ld + p] for j < cols, p < kc, zero for
     * cols <= j < width: with unpacked, a block of B^T (or of A^T) laid out
     * as its vector operand when B comes transposed; the direct conv
     * weight gradient's dy^T (conv_direct.h). NULL in the generic kernel. */
    void (*transpose)(const float *src, long ld, long cols, long kc, float *dst, long width);
    /* Optional: C = alpha A B + beta C for C of at most 16 columns, A and B
     * untransposed (an affine layer's forward with few outputs), B copied
     * into `pack` (narrow_pack_floats) a block of K at a time. */
    void (*narrow)(long m, long n, long k, float alpha, const float *A, long lda, const float *B, long ldb,
                   float beta, float *C, long ldc, float *pack);
    /* Optional: the same with A transposed, C = alpha A^T B + beta C (an
     * affine layer's weight gradient with few outputs). */
    void (*narrow_at)(long m, long n, long k, float alpha, const float *A, long lda, const float *B, long ldb,
                      float beta, float *C, long ldc, float *pack);
    long narrow_pack_floats;
    struct gemm_paths paths;
};

extern const struct gemm_kernel gemm_kernel_avx512;
extern const struct gemm_kernel gemm_kernel_avx2;
extern const struct gemm_kernel gemm_kernel_generic;

/* Which kernel runs is the CPU target's choice (cpu_target.h). */
struct cpu_target;

/* Packing buffers for one thread, allocated once. */
struct gemm_buffers {
    const struct gemm_kernel *kernel;
    float *a_pack;   /* mc x kc */
    float *b_pack;   /* kc x nc */
    float *scratch;  /* the kernel's unpacked_scratch, or NULL */
    int use_library; /* builds with BLAS=...: call the library's cblas_sgemm instead */
};

/* The library linked in for comparison ("openblas", "blis"), or NULL. */
const char *gemm_library_name(void);
/* Route every GEMM of ctx (and its buffers) to the library, or back. */
struct gemm_ctx;
void gemm_use_library(struct gemm_ctx *ctx, int on);

int gemm_buffers_init(struct gemm_buffers *w, const struct gemm_kernel *kernel);
void gemm_buffers_free(struct gemm_buffers *w);

/* One thread: the caller may run several of these at once, each with its
 * own buffers. */
void gemm_serial(struct gemm_buffers *w, enum gemm_trans ta, enum gemm_trans tb, long m, long n, long k,
                 float alpha, const float *A, long lda, const float *B, long ldb, float beta, float *C,
                 long ldc);

/* A team of threads and their buffers. */
struct gemm_ctx {
    int threads;
    const struct cpu_target *target;   /* its gemm kernel runs here; layers ask it for theirs */
    struct gemm_buffers *buffers;      /* one per thread */
};

int gemm_ctx_init(struct gemm_ctx *ctx, int threads, const struct cpu_target *target);
void gemm_ctx_free(struct gemm_ctx *ctx);

/* Splits C into column (or row) ranges, one per thread. Every element of C
 * is computed by one thread in the same order whatever the thread count,
 * so the result is identical run after run and across thread counts. */
void gemm(struct gemm_ctx *ctx, enum gemm_trans ta, enum gemm_trans tb, long m, long n, long k, float alpha,
          const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc);

/* The definition, as a triple loop with double accumulation: the test oracle. */
void gemm_ref(enum gemm_trans ta, enum gemm_trans tb, long m, long n, long k, float alpha, const float *A,
              long lda, const float *B, long ldb, float beta, float *C, long ldc);

#endif
