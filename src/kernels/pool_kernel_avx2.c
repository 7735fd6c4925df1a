/* pool_kernel_avx2.c - 2x2 max pooling at stride 2, eight windows at a time
 * (compiled with -mavx2; layer_pool.c calls it only where the CPU has AVX2).
 * The same choices as the SSE2 loops of layer_pool.c: the first largest of
 * each window in row-major order, a NaN never wins (a comparison with it is
 * false), so the bits do not depend on which runs. */
#include "pool.h"

#include <immintrin.h>

/* Windows ox .. ox+7 of output row oy from input rows r0, r1. The even and
 * odd columns come out of _mm256_shuffle_ps in the window order 0 1 4 5 2 3
 * 6 7; the indices are built in that order too, and the two results put
 * right with one 64-bit permute each. */
static inline void eight(const float *r0, const float *r1, int w, int oy, int ox, float *yr, int32_t *ar)
{
    const __m256i step = _mm256_setr_epi32(0, 2, 8, 10, 4, 6, 12, 14);
    const __m256i one = _mm256_set1_epi32(1), down = _mm256_set1_epi32(w);
    __m256 t0 = _mm256_loadu_ps(r0 + 2 * ox), t1 = _mm256_loadu_ps(r0 + 2 * ox + 8);
    __m256 b0 = _mm256_loadu_ps(r1 + 2 * ox), b1 = _mm256_loadu_ps(r1 + 2 * ox + 8);
    __m256 a = _mm256_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));  /* top-left */
    __m256 b = _mm256_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1));  /* top-right */
    __m256 c = _mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0));  /* bottom-left */
    __m256 d = _mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));  /* bottom-right */
    __m256i i0 = _mm256_add_epi32(_mm256_set1_epi32(2 * oy * w + 2 * ox), step);
    __m256 best = a, where = _mm256_castsi256_ps(i0), gt;
    gt = _mm256_cmp_ps(b, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, b, gt);
    where = _mm256_blendv_ps(where, _mm256_castsi256_ps(_mm256_add_epi32(i0, one)), gt);
    gt = _mm256_cmp_ps(c, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, c, gt);
    where = _mm256_blendv_ps(where, _mm256_castsi256_ps(_mm256_add_epi32(i0, down)), gt);
    gt = _mm256_cmp_ps(d, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, d, gt);
    where = _mm256_blendv_ps(where, _mm256_castsi256_ps(_mm256_add_epi32(i0, _mm256_add_epi32(down, one))), gt);
#define WINDOW_ORDER _MM_SHUFFLE(3, 1, 2, 0)  /* an immediate: a macro, not a const int (clang) */
    _mm256_storeu_ps(yr + ox, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(best), WINDOW_ORDER)));
    _mm256_storeu_ps((float *)(ar + ox),
                     _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(where), WINDOW_ORDER)));
#undef WINDOW_ORDER
}

void maxpool_2x2_avx2(const float *x, int w, int oh, int ow, float *y, int32_t *arg)
{
    for (int oy = 0; oy < oh; oy++) {
        const float *r0 = x + 2 * oy * w, *r1 = r0 + w;
        int ox = 0;
        for (; ox + 8 <= ow; ox += 8)
            eight(r0, r1, w, oy, ox, y + oy * ow, arg + oy * ow);
        if (ox < ow)  /* the row's last eight again: the same values twice */
            eight(r0, r1, w, oy, ow - 8, y + oy * ow, arg + oy * ow);
    }
}

/* The gradient of windows ox .. ox+7 of row oy into dx rows r0, r1. */
static inline void eight_backward(const float *g, const int32_t *ar, int w, int oy, int ox, float *r0, float *r1,
                                  int accumulate)
{
    const __m256i step = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i one = _mm256_set1_epi32(1), down = _mm256_set1_epi32(w);
    const __m256 d = _mm256_loadu_ps(g + ox);
    const __m256i i0 = _mm256_add_epi32(_mm256_set1_epi32(2 * oy * w + 2 * ox), step);
    const __m256i where = _mm256_loadu_si256((const __m256i *)(ar + ox));
    __m256 tl = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(where, i0)), d);
    __m256 tr = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(where, _mm256_add_epi32(i0, one))), d);
    __m256 bl = _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(where, _mm256_add_epi32(i0, down))), d);
    __m256 br = _mm256_and_ps(
        _mm256_castsi256_ps(_mm256_cmpeq_epi32(where, _mm256_add_epi32(i0, _mm256_add_epi32(down, one)))), d);
    /* per 128-bit lane: windows 0 1 | 4 5 (lo) and 2 3 | 6 7 (hi) */
    __m256 tlo = _mm256_unpacklo_ps(tl, tr), thi = _mm256_unpackhi_ps(tl, tr);
    __m256 blo = _mm256_unpacklo_ps(bl, br), bhi = _mm256_unpackhi_ps(bl, br);
    __m256 t0 = _mm256_permute2f128_ps(tlo, thi, 0x20), t1 = _mm256_permute2f128_ps(tlo, thi, 0x31);
    __m256 b0 = _mm256_permute2f128_ps(blo, bhi, 0x20), b1 = _mm256_permute2f128_ps(blo, bhi, 0x31);
    if (accumulate) {
        t0 = _mm256_add_ps(t0, _mm256_loadu_ps(r0 + 2 * ox));
        t1 = _mm256_add_ps(t1, _mm256_loadu_ps(r0 + 2 * ox + 8));
        b0 = _mm256_add_ps(b0, _mm256_loadu_ps(r1 + 2 * ox));
        b1 = _mm256_add_ps(b1, _mm256_loadu_ps(r1 + 2 * ox + 8));
    }
    _mm256_storeu_ps(r0 + 2 * ox, t0);
    _mm256_storeu_ps(r0 + 2 * ox + 8, t1);
    _mm256_storeu_ps(r1 + 2 * ox, b0);
    _mm256_storeu_ps(r1 + 2 * ox + 8, b1);
}

void maxpool_2x2_backward_avx2(const float *dy, const int32_t *arg, int w, int oh, int ow, float *dx, int accumulate)
{
    for (int oy = 0; oy < oh; oy++) {
        float *r0 = dx + 2 * oy * w, *r1 = r0 + w;
        int ox = 0;
        for (; ox + 8 <= ow; ox += 8)
            eight_backward(dy + oy * ow, arg + oy * ow, w, oy, ox, r0, r1, accumulate);
        /* the last windows as the row's last eight again: stored twice,
         * never added twice (the caller sees to it) */
        if (ox < ow)
            eight_backward(dy + oy * ow, arg + oy * ow, w, oy, ow - 8, r0, r1, 0);
    }
}
