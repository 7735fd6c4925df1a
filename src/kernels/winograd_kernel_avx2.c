/* winograd_kernel_avx2.c - the Winograd F(2x2, 3x3) convolution
 * (winograd.h) on 8 lanes. Built with -mavx2 -mfma; only called when the
 * CPU has them. */
#include "winograd.h"

#include <immintrin.h>

#define VEC __m256
#define VEC_FLOATS 8
#define VMASK __m256i
#define vec_zero() _mm256_setzero_ps()
#define vec_set1(x) _mm256_set1_ps(x)
#define vec_loadu(p) _mm256_loadu_ps(p)
#define vec_storeu(p, v) _mm256_storeu_ps(p, v)
#define vec_add(a, b) _mm256_add_ps(a, b)
#define vec_sub(a, b) _mm256_sub_ps(a, b)
#define vec_max(a, b) _mm256_max_ps(a, b)
#define vec_fma(a, b, c) _mm256_fmadd_ps(a, b, c)
/* vmaskmovps reads no masked-off lane (no fault past an array's end) */
#define vec_mask_or_loadu(v, m, p) _mm256_or_ps(v, _mm256_maskload_ps(p, m))
#define vec_maskz_loadu(m, p) _mm256_maskload_ps(p, m)
#define vec_mask_storeu(p, m, v) _mm256_maskstore_ps(p, m, v)

static inline __m256i vec_range_mask(int from, int to)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    /* from <= lane < to */
    return _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(from - 1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32(to), lane));
}

/* a0 a2 a4 a6 b0 b2 b4 b6: shuffle within 128-bit lanes gives a0 a2 b0 b2
 * | a4 a6 b4 b6, and the 64-bit pairs put in order */
static inline __m256 vec_even(__m256 a, __m256 b)
{
    const __m256 s = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

static inline __m256 vec_odd(__m256 a, __m256 b)
{
    const __m256 s = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* a0 b0 a1 b1 a2 b2 a3 b3: unpacklo gives a0 b0 a1 b1 | a4 b4 a5 b5 */
static inline __m256 vec_interleave_lo(__m256 a, __m256 b)
{
    return _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x20);
}

static inline __m256 vec_interleave_hi(__m256 a, __m256 b)
{
    return _mm256_permute2f128_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b), 0x31);
}

#define WINOGRAD_KERNEL winograd_avx2
#define WINOGRAD_NAME "avx2"
#include "winograd_kernel.h"
