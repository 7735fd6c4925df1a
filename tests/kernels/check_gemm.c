/* check_gemm.c - the blocked GEMM against the triple loop, for every
 * kernel this CPU runs, every transpose combination, odd sizes. */
#define _DEFAULT_SOURCE  /* MAP_ANONYMOUS */
#include "test_util.h"
#include "cpu_target.h"
#include "gemm.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const kernel_names[] = {"generic", "avx2", "avx512"};
#define KERNELS 3

/* m, n, k: 1, 3, 17, 65, 257 and sizes past the cache blocks (KC = 384,
 * MC = 144, NC = 3072 for avx512) so every edge and block loop runs. */
static const long shapes[][3] = {
    {1, 1, 1},     {1, 3, 17},   {3, 1, 65},    {17, 17, 17},  {65, 3, 1},    {3, 65, 257},
    {257, 17, 3},  {17, 257, 65}, {65, 65, 65}, {257, 257, 17}, {13, 31, 400}, {150, 40, 777},
    {5, 3100, 9},  {30, 576, 25}, {30, 25, 576}, {25, 576, 30},
    /* long K, small C: the dot-product path of NT (K % 16 = 0 and not) */
    {6, 25, 784},  {16, 150, 400}, {7, 5, 1001}, {4, 3, 64}, {9, 10, 33},
    /* the unpacked tiles (B untransposed): every row count of an
     * edge tile (1-5 of 6, 1-7 of 8, 1-11 of 12) with 1 to 4 vectors and partial last
     * vectors; and C^T for TN with few columns (an affine's weight
     * gradient), where the columns of C^T are M */
    {7, 50, 9},    {13, 33, 20},  {23, 100, 16}, {11, 64, 3},  {100, 10, 100}, {37, 16, 50},
    {200, 7, 600}, {84, 10, 100}, {23, 9, 40},   {21, 5, 7},    {22, 3, 30},
    /* NT with few rows of A, many of B and K >= 96 (a conv's weight
     * gradient): C^T from a block of A^T, one and two blocks of K */
    {16, 150, 100}, {13, 70, 120}, {5, 50, 99},   {40, 400, 500},
    /* B's rows 512 floats apart (ldb = n + 2) under 50 rows of C: the
     * avx512 strips are read from a copy */
    {50, 510, 30},
    /* NN with up to 16 columns and 24 rows or more: B's rows in pairs
     * (avx512), two vectors or one, an odd K in the last of three blocks */
    {30, 12, 777}, {48, 8, 33}, {24, 9, 20}, {26, 1, 2},
    /* avx2's unpacked tiles (B untransposed, K >= 64, C of at most 16K
     * elements): edge tiles of 1-3 of 4 rows by 3 vectors, 1-5 of 6 by 2,
     * 1-11 of 12 by 1, partial last vectors, a second block of K */
    {11, 14, 70},  {9, 40, 80},   {8, 88, 100},  {25, 47, 300}, {23, 20, 64}, {23, 6, 90},
    {10, 12, 64},  {14, 9, 65},
};
#define SHAPES (sizeof shapes / sizeof shapes[0])

/* The bound for a float dot product of length K accumulated in any order:
 * |error| <= K * FLT_EPSILON * sum |a_ip * b_pj| (the standard gamma_K bound),
 * plus one rounding for alpha and beta. */
/* The GEMM kernel of the CPU target called name, NULL where this CPU
 * cannot run it. */
static const struct gemm_kernel *kernel_named(const char *name)
{
    const struct cpu_target *t = cpu_target_find(name);
    return t ? t->gemm : NULL;
}

static void check_against_ref(const struct gemm_kernel *kern, enum gemm_trans ta, enum gemm_trans tb, long m,
                              long n, long k, float alpha, float beta)
{
    struct rng r;
    rng_seed(&r, (uint64_t)(m * 1000003 + n * 1009 + k), RNG_STREAM_TEST);
    long lda = ta == GEMM_N ? k + 3 : m + 3, ldb = tb == GEMM_N ? n + 2 : k + 2, ldc = n + 5;
    long arows = ta == GEMM_N ? m : k, brows = tb == GEMM_N ? k : n;
    float *A = malloc(sizeof(float) * arows * lda), *B = malloc(sizeof(float) * brows * ldb);
    float *C = malloc(sizeof(float) * m * ldc), *R = malloc(sizeof(float) * m * ldc);
    float *absA = malloc(sizeof(float) * arows * lda), *absB = malloc(sizeof(float) * brows * ldb);
    float *bound = malloc(sizeof(float) * m * ldc);
    fill_uniform(A, arows * lda, &r, -1, 1);
    fill_uniform(B, brows * ldb, &r, -1, 1);
    fill_uniform(C, m * ldc, &r, -1, 1);
    if (beta == 0.0f)
        for (long i = 0; i < m * ldc; i++)
            C[i] = NAN;  /* with beta == 0, C must never be read */
    memcpy(R, C, sizeof(float) * m * ldc);
    for (long i = 0; i < arows * lda; i++)
        absA[i] = fabsf(A[i]);
    for (long i = 0; i < brows * ldb; i++)
        absB[i] = fabsf(B[i]);
    gemm_ref(ta, tb, m, n, k, fabsf(alpha), absA, lda, absB, ldb, 0.0f, bound, ldc);

    struct gemm_buffers w;
    ck_assert_int_eq(gemm_buffers_init(&w, kern), 0);
    gemm_serial(&w, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    gemm_ref(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, R, ldc);
    for (long i = 0; i < m; i++)
        for (long j = 0; j < n; j++) {
            float tol = (k + 2) * FLT_EPSILON * (bound[i * ldc + j] + fabsf(R[i * ldc + j])) + 1e-30f;
            float got = C[i * ldc + j], want = R[i * ldc + j];
            if (!(fabsf(got - want) <= tol))
                ck_abort_msg("%s ta=%d tb=%d %ldx%ldx%ld alpha=%g beta=%g: C[%ld][%ld] = %.9g, want %.9g (tol %g)",
                             kern->name, ta, tb, m, n, k, alpha, beta, i, j, got, want, tol);
        }
    /* the padding columns of C beyond n are untouched (bits: NaN too) */
    for (long i = 0; i < m; i++)
        if (memcmp(C + i * ldc + n, R + i * ldc + n, sizeof(float) * (ldc - n)) != 0)
            ck_abort_msg("%s ta=%d tb=%d %ldx%ldx%ld: row %ld's padding beyond column %ld was written", kern->name,
                         ta, tb, m, n, k, i, n);
    gemm_buffers_free(&w);
    free(A);
    free(B);
    free(C);
    free(R);
    free(absA);
    free(absB);
    free(bound);
}

START_TEST(test_gemm_shapes)
{
    long s = _i;
    for (int kk = 0; kk < KERNELS; kk++) {
        const struct gemm_kernel *kern = kernel_named(kernel_names[kk]);
        if (!kern)
            continue;  /* this CPU lacks it */
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_against_ref(kern, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 1.0f, 0.0f);
                check_against_ref(kern, ta, tb, shapes[s][0], shapes[s][1], shapes[s][2], 0.5f, 1.0f);
            }
        check_against_ref(kern, GEMM_N, GEMM_T, shapes[s][0], shapes[s][1], shapes[s][2], -2.0f, 0.25f);
    }
}
END_TEST

START_TEST(test_gemm_generic_always_available)
{
    ck_assert_ptr_nonnull(cpu_target_find("generic"));
    ck_assert_ptr_null(cpu_target_find("nonesuch"));
    ck_assert_ptr_nonnull(cpu_target_select());
}
END_TEST

START_TEST(test_gemm_k_zero_scales_c)
{
    float C[4] = {1, 2, 3, 4}, A[1] = {0}, B[1] = {0};
    struct gemm_buffers w;
    ck_assert_int_eq(gemm_buffers_init(&w, &gemm_kernel_generic), 0);
    gemm_serial(&w, GEMM_N, GEMM_N, 2, 2, 0, 1.0f, A, 1, B, 2, 0.5f, C, 2);
    ck_assert_float_eq(C[0], 0.5f);
    ck_assert_float_eq(C[3], 2.0f);
    gemm_buffers_free(&w);
}
END_TEST

/* The threaded GEMM gives every element of C to one thread, with the same
 * K order: the bits must not depend on the thread count, for any kernel. */
START_TEST(test_gemm_threads_bitwise_identical)
{
    const long m = 300, n = 257, k = 700;
    struct rng r;
    rng_seed(&r, 7, RNG_STREAM_TEST);
    float *A = malloc(sizeof(float) * m * k), *B = malloc(sizeof(float) * k * n);
    float *C1 = malloc(sizeof(float) * m * n), *C2 = malloc(sizeof(float) * m * n);
    fill_uniform(A, m * k, &r, -1, 1);
    fill_uniform(B, k * n, &r, -1, 1);
    for (int kk = 0; kk < KERNELS; kk++) {
        const struct cpu_target *target = cpu_target_find(kernel_names[kk]);
        if (!target)
            continue;
        struct gemm_ctx one, three;
        ck_assert_int_eq(gemm_ctx_init(&one, 1, target), 0);
        ck_assert_int_eq(gemm_ctx_init(&three, 3, target), 0);
        /* every path of gemm.c's choose_path: for avx512 B untransposed
         * (unpacked, one and two blocks of K; 10 columns with A transposed:
         * C^T), B transposed (B^T copied; dot products for 10 columns at
         * K = 700; C^T from A^T for 40 rows of A; 10 columns with B
         * untransposed: B's rows in pairs); the others' packed path */
        const long ks[2] = {500, k}, narrow[2] = {20, 10};
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int ki = 0; ki < 2; ki++) {
                    const long kd = ks[ki], lda = ta ? m : kd, ldb = tb ? kd : n;
                    gemm(&one, ta, tb, m, n, kd, 1.0f, A, lda, B, ldb, 0.0f, C1, n);
                    gemm(&three, ta, tb, m, n, kd, 1.0f, A, lda, B, ldb, 0.0f, C2, n);
                    ck_assert_int_eq(memcmp(C1, C2, sizeof(float) * m * n), 0);
                    /* tall: splits rows */
                    gemm(&one, ta, tb, m, narrow[ki], kd, 1.0f, A, lda, B, ldb, 0.0f, C1, n);
                    gemm(&three, ta, tb, m, narrow[ki], kd, 1.0f, A, lda, B, ldb, 0.0f, C2, n);
                    ck_assert_int_eq(memcmp(C1, C2, sizeof(float) * m * n), 0);
                    /* wide: few rows of A, split along N (at 8 rows
                     * also avx2's unpacked tiles, whose strips of 24
                     * columns then start where each thread's part does) */
                    for (long rows = 8; rows <= 40; rows += 32) {
                        gemm(&one, ta, tb, rows, n, kd, 1.0f, A, lda, B, ldb, 0.0f, C1, n);
                        gemm(&three, ta, tb, rows, n, kd, 1.0f, A, lda, B, ldb, 0.0f, C2, n);
                        ck_assert_int_eq(memcmp(C1, C2, sizeof(float) * rows * n), 0);
                    }
                }
        gemm_ctx_free(&one);
        gemm_ctx_free(&three);
    }
    free(A);
    free(B);
    free(C1);
    free(C2);
}
END_TEST

/* Operands that end right before an inaccessible page: B's last row and
 * C's last row with a partial last vector, whose masked tails the AVX-512
 * kernel routes through padded copies (tail_crosses_page). The results must
 * match the definition (and nothing may fault). */
START_TEST(test_gemm_operands_end_at_a_page)
{
    const long page = sysconf(_SC_PAGESIZE);
    for (int kk = 0; kk < KERNELS; kk++) {
        const struct gemm_kernel *kern = kernel_named(kernel_names[kk]);
        if (!kern)
            continue;
        /* 13 x 10 x 7: unpacked (B, then B^T); 4 x 3 x 40 with B
         * transposed: dot products with a K % 16 tail; 23 x 10 x 7 with A
         * transposed: C^T, whose tiles store columns as C's rows; 5 x 50 x
         * 99 with B transposed: C^T from A^T; 25 x 10 x 7 and 30 x 5 x 9:
         * B's rows copied in pairs; 13 x 10 x 70: avx2's unpacked tiles, whose
         * masked last vector reaches past B's last row and C's */
        static const long sizes[8][5] = {{13, 10, 7, 0, 0}, {13, 10, 7, 0, 1}, {4, 3, 40, 0, 1}, {23, 10, 7, 1, 0},
                                         {5, 50, 99, 0, 1}, {25, 10, 7, 0, 0}, {30, 5, 9, 0, 0}, {13, 10, 70, 0, 0}};
        for (int t = 0; t < 8; t++) {
            const long m = sizes[t][0], n = sizes[t][1], k = sizes[t][2], ta = sizes[t][3], tb = sizes[t][4];
            /* B in pages 0-7 ending at a guard (page 8), C in 9-10 ending
             * at another (page 11) */
            char *map = mmap(NULL, 12 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            ck_assert_ptr_ne(map, MAP_FAILED);
            ck_assert_int_eq(mprotect(map + 8 * page, page, PROT_NONE), 0);
            ck_assert_int_eq(mprotect(map + 11 * page, page, PROT_NONE), 0);
            float *B = (float *)(map + 8 * page) - k * n;
            float *C = (float *)(map + 11 * page) - m * n;
            float A[23 * 70], R[23 * 50];
            struct rng r;
            rng_seed(&r, 11, RNG_STREAM_TEST);
            fill_uniform(A, m * k, &r, -1, 1);
            fill_uniform(B, k * n, &r, -1, 1);
            fill_uniform(C, m * n, &r, -1, 1);
            memcpy(R, C, sizeof(float) * m * n);
            const long lda = ta ? m : k, ldb = tb ? k : n;
            struct gemm_buffers w;
            ck_assert_int_eq(gemm_buffers_init(&w, kern), 0);
            gemm_serial(&w, ta, tb, m, n, k, 1.0f, A, lda, B, ldb, 0.5f, C, n);
            gemm_ref(ta, tb, m, n, k, 1.0f, A, lda, B, ldb, 0.5f, R, n);
            for (long i = 0; i < m * n; i++)
                ck_assert_msg(fabsf(C[i] - R[i]) <= 1e-5f, "%s %ldx%ldx%ld ta=%ld tb=%ld: C[%ld] = %g, want %g",
                              kern->name, m, n, k, ta, tb, i, C[i], R[i]);
            gemm_buffers_free(&w);
            munmap(map, 12 * page);
        }
    }
}
END_TEST

/* An infinity in A gives an infinity in C, as the definition does, on
 * every path of every kernel: no lane may multiply it by a padding zero
 * (Inf * 0 = NaN). Shapes: 10 columns with an odd K (the avx512 pairs of
 * k, the last k alone), dot products with a K % 16 tail, unpacked tiles
 * (avx512's; at K = 66 avx2's, whose last vector is masked). */
START_TEST(test_gemm_infinity_stays_infinite)
{
    static const long sizes[4][5] = {{24, 10, 5, 0, 0}, {4, 3, 40, 0, 1}, {13, 40, 9, 0, 0}, {13, 20, 66, 0, 0}};
    for (int kk = 0; kk < KERNELS; kk++) {
        const struct gemm_kernel *kern = kernel_named(kernel_names[kk]);
        if (!kern)
            continue;
        for (int t = 0; t < 4; t++) {
            const long m = sizes[t][0], n = sizes[t][1], k = sizes[t][2], tb = sizes[t][4];
            float A[24 * 66], B[40 * 66], C[24 * 40];
            for (long i = 0; i < m * k; i++)
                A[i] = 0.25f + (float)(i % 5) * 0.125f;
            for (long i = 0; i < k * n; i++)
                B[i] = 0.5f + (float)(i % 3) * 0.25f;  /* all positive */
            for (long p = 0; p < k; p++)
                A[1 * k + p] = p == k - 1 ? INFINITY : A[1 * k + p];  /* row 1's last k */
            A[3 * k] = INFINITY;                                       /* row 3's first k */
            struct gemm_buffers w;
            ck_assert_int_eq(gemm_buffers_init(&w, kern), 0);
            gemm_serial(&w, GEMM_N, tb, m, n, k, 1.0f, A, k, B, tb ? k : n, 0.0f, C, n);
            for (long i = 0; i < m; i++)
                for (long j = 0; j < n; j++) {
                    const float c = C[i * n + j];
                    if (i == 1 || i == 3)
                        ck_assert_msg(isinf(c) && c > 0, "%s %ldx%ldx%ld: C[%ld][%ld] = %g, want +inf", kern->name, m,
                                      n, k, i, j, c);
                    else
                        ck_assert_msg(isfinite(c), "%s %ldx%ldx%ld: C[%ld][%ld] = %g", kern->name, m, n, k, i, j, c);
                }
            gemm_buffers_free(&w);
        }
    }
}
END_TEST

Suite *gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("against triple loop");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_gemm_shapes, 0, SHAPES);
    tcase_add_test(tc, test_gemm_generic_always_available);
    tcase_add_test(tc, test_gemm_k_zero_scales_c);
    tcase_add_test(tc, test_gemm_threads_bitwise_identical);
    tcase_add_test(tc, test_gemm_operands_end_at_a_page);
    tcase_add_test(tc, test_gemm_infinity_stays_infinite);
    suite_add_tcase(s, tc);
    return s;
}
