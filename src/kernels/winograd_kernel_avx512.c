/* winograd_kernel_avx512.c - the Winograd F(2x2, 3x3) convolution
 * (winograd.h) on 16 lanes. Built with -mavx512f; only called when the CPU
 * has it. */
#include "winograd.h"

#include <immintrin.h>

#define VEC __m512
#define VEC_FLOATS 16
#define VMASK __mmask16
#define vec_zero() _mm512_setzero_ps()
#define vec_set1(x) _mm512_set1_ps(x)
#define vec_loadu(p) _mm512_loadu_ps(p)
#define vec_storeu(p, v) _mm512_storeu_ps(p, v)
#define vec_add(a, b) _mm512_add_ps(a, b)
#define vec_sub(a, b) _mm512_sub_ps(a, b)
#define vec_max(a, b) _mm512_max_ps(a, b)
#define vec_fma(a, b, c) _mm512_fmadd_ps(a, b, c)
#define vec_mask_or_loadu(v, m, p) _mm512_mask_loadu_ps(v, m, p)
#define vec_maskz_loadu(m, p) _mm512_maskz_loadu_ps(m, p)
#define vec_mask_storeu(p, m, v) _mm512_mask_storeu_ps(p, m, v)

static inline __mmask16 vec_range_mask(int from, int to)
{
    if (from < 0)
        from = 0;
    if (to > 16)
        to = 16;
    if (to <= from)
        return 0;
    return (__mmask16)((((1u << to) - 1)) & ~((1u << from) - 1));
}

static inline __m512 vec_even(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
}

static inline __m512 vec_odd(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
}

static inline __m512 vec_interleave_lo(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
}

static inline __m512 vec_interleave_hi(__m512 a, __m512 b)
{
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31),
                                  b);
}

#define WINOGRAD_KERNEL winograd_avx512
#define WINOGRAD_NAME "avx512"
#include "winograd_kernel.h"
