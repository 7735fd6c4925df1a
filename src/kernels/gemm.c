/* gemm.c - blocking, packing and threading around the micro-kernels.
 *
 * The five loops of BLIS:
 *   jc: columns of C in blocks of NC
 *     pc: the K dimension in blocks of KC       -> pack B (KC x NC) into NR-wide panels
 *       ic: rows of C in blocks of MC          -> pack A (MC x KC) into MR-tall panels
 *         jr: NR columns, ir: MR rows         -> micro-kernel on one MR x NR tile
 * Packing pads partial panels with zeros, so the kernel always computes a
 * full tile; on edge tiles it stores only the valid rows and columns. alpha
 * is folded into the packing of A. choose_path() sends the problems where
 * the packing costs more than it saves to the kernel's unpacked or
 * dot-product paths instead. */
#include "gemm.h"

#include "cpu_target.h"

#include "parallel.h"

#include <stddef.h>

/* make BLAS=openblas|blis: the library's cblas_sgemm, for `cnnctl bench` to
 * compare against. The default build links no BLAS. */
#if defined(CNNCTL_BLAS_OPENBLAS)
#include <cblas.h>
#define LIBRARY_NAME "openblas"
static void library_threads(int n)
{
    openblas_set_num_threads(n);
}
#elif defined(CNNCTL_BLAS_BLIS)
#include <blis.h>
#define LIBRARY_NAME "blis"
static void library_threads(int n)
{
    bli_thread_set_num_threads(n);
}
#endif

const char *gemm_library_name(void)
{
#ifdef LIBRARY_NAME
    return LIBRARY_NAME;
#else
    return NULL;
#endif
}

#ifdef LIBRARY_NAME
static void library_gemm(enum gemm_trans ta, enum gemm_trans tb, long m, long n, long k, float alpha,
                         const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc)
{
    cblas_sgemm(CblasRowMajor, ta == GEMM_T ? CblasTrans : CblasNoTrans, tb == GEMM_T ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}
#endif

#include <stdlib.h>
#include <string.h>

static long min_long(long a, long b)
{
    return a < b ? a : b;
}

static float *alloc_aligned(size_t floats)
{
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

int gemm_buffers_init(struct gemm_buffers *w, const struct gemm_kernel *kernel)
{
    w->kernel = kernel;
    /* A is packed only on the packed path; B there, or transposed */
    w->a_pack = kernel->run ? alloc_aligned((size_t)kernel->mc * kernel->kc) : NULL;
    const size_t b_floats = (size_t)kernel->kc * (kernel->nc + 16);
    w->b_pack = alloc_aligned(b_floats > (size_t)kernel->narrow_pack_floats ? b_floats
                                                                             : (size_t)kernel->narrow_pack_floats);
    w->scratch = kernel->unpacked_scratch ? alloc_aligned((size_t)kernel->unpacked_scratch) : NULL;
    if ((kernel->run && !w->a_pack) || !w->b_pack || (kernel->unpacked_scratch && !w->scratch)) {
        gemm_buffers_free(w);
        return -1;
    }
    return 0;
}

void gemm_buffers_free(struct gemm_buffers *w)
{
    free(w->a_pack);
    free(w->b_pack);
    free(w->scratch);
    w->a_pack = w->b_pack = w->scratch = NULL;
}

static void scale_c(long m, long n, float beta, float *C, long ldc)
{
    for (long i = 0; i < m; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, sizeof(float) * n);
        else
            for (long j = 0; j < n; j++)
                c[j] *= beta;
    }
}

/* How gemm_serial computes a problem. gemm() chooses once for the whole of
 * C and runs every thread's part the same way, so the bits of an element do
 * not depend on how C was split. */
enum gemm_path { PATH_PACKED, PATH_DOT_NT, PATH_NARROW, PATH_NARROW_AT, PATH_UNPACKED, PATH_UNPACKED_T, PATH_UNPACKED_BT, PATH_UNPACKED_AT };

static enum gemm_path choose_path(const struct gemm_kernel *kr, enum gemm_trans ta, enum gemm_trans tb, long m,
                                  long n, long k)
{
    const struct gemm_paths *at = &kr->paths;
    /* Small C from a long K with K contiguous in both operands: packing
     * would transpose both and waste most of a tile; dot products do not. */
    if (kr->dot_nt && ta == GEMM_N && tb == GEMM_T && k >= 2 * (m > n ? m : n) && m * n <= at->dot_nt_max_c)
        return PATH_DOT_NT;
    /* A few columns of C from untransposed operands (an affine forward
     * with few outputs), rows enough to repay copying B: pairs of k share
     * a broadcast */
    if (kr->narrow && ta == GEMM_N && tb == GEMM_N && n <= at->narrow_max_n && m >= at->narrow_min_m)
        return PATH_NARROW;
    if (kr->narrow_at && ta == GEMM_T && tb == GEMM_N && n <= at->narrow_max_n && m >= at->narrow_min_m)
        return PATH_NARROW_AT;
    /* A kernel with both paths (avx2): the unpacked tiles for small C
     * from an untransposed B and a K that repays no packing; for larger C
     * the packed kernel's reuse wins */
    if (kr->run && kr->unpacked)
        return tb == GEMM_N && k >= at->unpacked_min_k && m * n <= at->unpacked_max_c ? PATH_UNPACKED : PATH_PACKED;
    if (kr->unpacked) {
        /* With few columns of C and op(A) read along M (an affine's weight
         * gradient), C^T fills the vectors: 100 of 112 lanes, not 10 of 16. */
        if (ta == GEMM_T && n <= 16 && m > 2 * n)
            return PATH_UNPACKED_T;
        /* B untransposed: its rows are already what a tile's vectors load,
         * so nothing needs packing (gemm_kernel_avx512.c). */
        if (tb == GEMM_N)
            return PATH_UNPACKED;
        /* A conv weight gradient with few filters, many taps and a long
         * K: C^T = B A^T, the few rows of A transposed as the vectors and
         * B's many rows broadcast (with a short K the transposed stores
         * cost more, and affine shapes lose) */
        if (ta == GEMM_N && m <= at->at_max_m && n >= 4 * m && k >= at->at_min_k)
            return PATH_UNPACKED_AT;
        /* Otherwise a block of B^T copied once into row-major form and
         * used by every row of C (an affine layer's input gradient) */
        return PATH_UNPACKED_BT;
    }
    return PATH_PACKED;
}

static void run_packed(struct gemm_buffers *w, enum gemm_trans ta, enum gemm_trans tb, long m, long n, long k,
                       float alpha, const float *A, long lda, const float *B, long ldb, float beta, float *C,
                       long ldc)
{
    const struct gemm_kernel *kr = w->kernel;
    if (beta != 0.0f && beta != 1.0f) {
        scale_c(m, n, beta, C, ldc);
        beta = 1.0f;
    }
    const int MR = kr->mr, NR = kr->nr;

    for (long jc = 0; jc < n; jc += kr->nc) {
        long nc = min_long(kr->nc, n - jc);
        for (long pc = 0; pc < k; pc += kr->kc) {
            long kc = min_long(kr->kc, k - pc);
            int accumulate = pc > 0 || beta != 0.0f;
            kr->pack_b(tb, B, ldb, pc, jc, kc, nc, w->b_pack);
            for (long ic = 0; ic < m; ic += kr->mc) {
                long mc = min_long(kr->mc, m - ic);
                kr->pack_a(ta, A, lda, ic, pc, mc, kc, alpha, w->a_pack);
                for (long jr = 0; jr < nc; jr += NR) {
                    long nr = min_long(NR, nc - jr);
                    const float *bp = w->b_pack + jr * kc;
                    for (long ir = 0; ir < mc; ir += MR) {
                        long mr = min_long(MR, mc - ir);
                        const float *ap = w->a_pack + ir * kc;
                        float *c = C + (ic + ir) * ldc + jc + jr;
                        kr->run(kc, ap, bp, c, ldc, accumulate, (int)mr, (int)nr);
                    }
                }
            }
        }
    }
}

/* out = alpha s v^T into C (or, transposed, C^T) + beta, for unpacked()
 * with a K-contiguous v (cols x k, rows ldv apart): v is copied a block at
 * a time into row-major blocks of v^T, unpacked()'s vector operand, which
 * every row of s then reads. */
static void unpacked_from_transposed(struct gemm_buffers *w, long rows, long cols, long k, float alpha, const float *s,
                                     long s_row, long s_k, const float *v, long ldv, float beta, float *C, long ldc,
                                     int transposed)
{
    const struct gemm_kernel *kr = w->kernel;
    for (long jc = 0; jc < cols; jc += kr->nc) {
        const long nc = min_long(kr->nc, cols - jc);
        for (long pc = 0; pc < k; pc += kr->kc) {
            const long kc = min_long(kr->kc, k - pc);
            /* rows of whole vectors, so the masked load of a row's last
             * vector stays inside the block (unpacked() would otherwise
             * copy a strip whose last row ends at a page) */
            long width = (nc + 15) / 16 * 16;
            /* and never a multiple of 1 KiB apart: then the strip's rows
             * all fall in the same L1 sets and evict each other */
            if (width % 256 == 0)
                width += 16;
            kr->transpose(v + jc * ldv + pc, ldv, nc, kc, w->b_pack, width);
            kr->unpacked(rows, nc, kc, alpha, s + pc * s_k, s_row, s_k, w->b_pack, width, pc == 0 ? beta : 1.0f,
                         transposed ? C + jc * ldc : C + jc, ldc, transposed, w->scratch);
        }
    }
}

static void run_path(enum gemm_path path, struct gemm_buffers *w, enum gemm_trans ta, enum gemm_trans tb, long m,
                     long n, long k, float alpha, const float *A, long lda, const float *B, long ldb, float beta,
                     float *C, long ldc)
{
    if (m <= 0 || n <= 0)
        return;
#ifdef LIBRARY_NAME
    if (w->use_library) {
        library_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#endif
    if (k <= 0 || alpha == 0.0f) {
        if (beta != 1.0f)
            scale_c(m, n, beta, C, ldc);
        return;
    }
    const struct gemm_kernel *kr = w->kernel;
    switch (path) {
    case PATH_DOT_NT:
        kr->dot_nt(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        break;
    case PATH_NARROW:
        kr->narrow(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, w->b_pack);
        break;
    case PATH_NARROW_AT:
        kr->narrow_at(m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, w->b_pack);
        break;
    case PATH_UNPACKED:  /* rows of C from op(A), vectors along B's rows */
        kr->unpacked(m, n, k, alpha, A, ta == GEMM_N ? lda : 1, ta == GEMM_N ? 1 : lda, B, ldb, beta, C, ldc, 0,
                     w->scratch);
        break;
    case PATH_UNPACKED_T:  /* C^T: vectors along A's rows (ta = T), op(B) broadcast */
        kr->unpacked(n, m, k, alpha, B, tb == GEMM_N ? 1 : ldb, tb == GEMM_N ? ldb : 1, A, lda, beta, C, ldc, 1,
                     w->scratch);
        break;
    case PATH_UNPACKED_BT:  /* B transposed into row-major blocks of B^T, then as above */
        unpacked_from_transposed(w, m, n, k, alpha, A, ta == GEMM_N ? lda : 1, ta == GEMM_N ? 1 : lda, B, ldb, beta,
                                 C, ldc, 0);
        break;
    case PATH_UNPACKED_AT:  /* C^T = B A^T: blocks of A^T as the vectors, B's rows broadcast */
        unpacked_from_transposed(w, n, m, k, alpha, B, ldb, 1, A, lda, beta, C, ldc, 1);
        break;
    case PATH_PACKED:
        run_packed(w, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        break;
    }
}

void gemm_serial(struct gemm_buffers *w, enum gemm_trans ta, enum gemm_trans tb, long m, long n, long k,
                 float alpha, const float *A, long lda, const float *B, long ldb, float beta, float *C,
                 long ldc)
{
    run_path(choose_path(w->kernel, ta, tb, m, n, k), w, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

int gemm_ctx_init(struct gemm_ctx *ctx, int threads, const struct cpu_target *target)
{
    ctx->threads = threads < 1 ? 1 : threads;
    ctx->target = target;
    ctx->buffers = calloc(ctx->threads, sizeof *ctx->buffers);
    if (!ctx->buffers)
        return -1;
    for (int t = 0; t < ctx->threads; t++) {
        if (gemm_buffers_init(&ctx->buffers[t], target->gemm) < 0) {
            gemm_ctx_free(ctx);
            return -1;
        }
    }
    return 0;
}

void gemm_use_library(struct gemm_ctx *ctx, int on)
{
#ifdef LIBRARY_NAME
    library_threads(1);
#endif
    for (int t = 0; t < ctx->threads; t++)
        ctx->buffers[t].use_library = on && gemm_library_name() != NULL;
}

void gemm_ctx_free(struct gemm_ctx *ctx)
{
    if (ctx->buffers)
        for (int t = 0; t < ctx->threads; t++)
            gemm_buffers_free(&ctx->buffers[t]);
    free(ctx->buffers);
    ctx->buffers = NULL;
}

/* Below this many flops a second thread costs more than it saves: starting
 * an OpenMP team (libgomp wakes it through a futex) costs as much as half
 * of a GEMM this size (README, speed). */
#define GEMM_PARALLEL_MIN_FLOPS 1.8e6

void gemm(struct gemm_ctx *ctx, enum gemm_trans ta, enum gemm_trans tb, long m, long n, long k, float alpha,
          const float *A, long lda, const float *B, long ldb, float beta, float *C, long ldc)
{
    int threads = ctx->threads;
#ifdef LIBRARY_NAME
    if (ctx->buffers[0].use_library) {
        /* the library threads this call itself, then goes back to one
         * thread for the per-image calls made inside our own threads */
        library_threads(threads);
        library_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        library_threads(1);
        return;
    }
#endif
    const enum gemm_path path = choose_path(ctx->target->gemm, ta, tb, m, n, k);
    if (threads == 1 || 2.0 * m * n * k < GEMM_PARALLEL_MIN_FLOPS) {
        run_path(path, &ctx->buffers[0], ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    /* Split C where the busiest thread gets the least: columns or rows, in
     * the units a path's tiles use (whole tiles on the packed path, whole
     * vectors along the direction a path vectorises, single rows along the
     * other), counted in both. simple's fc1 forward, 100 x 100: 48 : 52
     * columns gave one thread 4 vectors of 100 rows, 50 : 50 rows gives
     * each 7 vectors of 50; and 100 columns in tiles of 64 went 64 : 36. */
    long unit_m = 1, unit_n = 1;
    if (path == PATH_PACKED) {
        unit_m = ctx->target->gemm->mr;
        unit_n = ctx->target->gemm->nr;
    } else if (path == PATH_UNPACKED || path == PATH_UNPACKED_BT || path == PATH_NARROW ||
               path == PATH_NARROW_AT) {
        unit_n = 16;
    } else if (path == PATH_UNPACKED_T || path == PATH_UNPACKED_AT) {
        unit_m = 16;  /* C^T: vectors along M */
    }
    const long units_m = (m + unit_m - 1) / unit_m, units_n = (n + unit_n - 1) / unit_n;
    const long by_n = (units_n + threads - 1) / threads * units_m, by_m = (units_m + threads - 1) / threads * units_n;
    const int split_n = by_n < by_m || (by_n == by_m && n >= m);
    const long extent = split_n ? n : m, unit = split_n ? unit_n : unit_m;
    long units = split_n ? units_n : units_m;
    if (units < threads)
        threads = (int)units;
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        long u0 = units * t / nt, u1 = units * (t + 1) / nt;
        long lo = u0 * unit, hi = min_long(u1 * unit, extent);
        if (hi > lo) {
            if (split_n)
                run_path(path, &ctx->buffers[t], ta, tb, m, hi - lo, k, alpha, A, lda,
                            tb == GEMM_N ? B + lo : B + lo * ldb, ldb, beta, C + lo, ldc);
            else
                run_path(path, &ctx->buffers[t], ta, tb, hi - lo, n, k, alpha, ta == GEMM_N ? A + lo * lda : A + lo,
                            lda, B, ldb, beta, C + lo * ldc, ldc);
        }
    }
}

void gemm_ref(enum gemm_trans ta, enum gemm_trans tb, long m, long n, long k, float alpha, const float *A,
              long lda, const float *B, long ldb, float beta, float *C, long ldc)
{
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            double sum = 0.0;
            for (long p = 0; p < k; p++) {
                float a = ta == GEMM_N ? A[i * lda + p] : A[p * lda + i];
                float b = tb == GEMM_N ? B[p * ldb + j] : B[j * ldb + p];
                sum += (double)a * b;
            }
            float old = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
            C[i * ldc + j] = (float)(alpha * sum) + old;
        }
}
