/* winograd_kernel.h - the Winograd F(2x2, 3x3) convolution of one image
 * (winograd.h), written once for any vector width. Included once by
 * winograd_kernel_avx512.c and winograd_kernel_avx2.c, which define first:
 *
 *   VEC, VEC_FLOATS, VMASK      the vector, its floats, a lane mask
 *   vec_zero() vec_set1(x) vec_loadu(p) vec_storeu(p, v)
 *   vec_add vec_sub vec_max vec_fma(a, b, c) (a * b + c)
 *   vec_range_mask(from, to)    lanes [from, to), empty when to <= from
 *   vec_mask_or_loadu(v, m, p)  v with lanes m loaded from p (v is 0
 *                               there); lanes outside m are not read
 *   vec_maskz_loadu(m, p)       lanes m from p, 0 elsewhere
 *   vec_mask_storeu(p, m, v)    lanes m of v to p
 *   vec_even(a, b) vec_odd(a, b)   lanes 0, 2, 4 ... (1, 3, 5 ...) of a
 *                               then of b
 *   vec_interleave_lo(a, b)     a0 b0 a1 b1 ... (the first half of each)
 *   vec_interleave_hi(a, b)     the same for the second halves
 *   WINOGRAD_KERNEL, WINOGRAD_NAME   the struct winograd_kernel defined, its name
 *
 * A group is the tile rows one vector holds (plan->pieces of them), or
 * one segment of a tile row. Its input window, for each of the 4 input
 * rows under a tile row, is 2 * VEC_FLOATS floats (two vectors: even and
 * odd columns are then a tile's columns 0 and 1, and the window 2 floats
 * on its columns 2 and 3); where a vector holds several tile rows, each
 * contributes its part of the window from its own input row. The same
 * parts, without the padding, place the output. */
#ifndef CNNCTL_WINOGRAD_KERNEL_H
#define CNNCTL_WINOGRAD_KERNEL_H

#define WG_INLINE static inline __attribute__((always_inline))

/* Lanes of half `half` of a window (0: the first vector) that come from
 * tile row `piece` of the group: lane l reads column col + l. */
struct window_part {
    int half, piece, col;
    VMASK mask;
};

/* The parts of a group's window: segment j, columns shifted by `shift`
 * and by -pad, inside [0, width). At most 4. */
static int window_parts(const struct winograd_plan *p, int j, int shift, int pad, int width,
                        struct window_part *out)
{
    const int V = VEC_FLOATS;
    int n = 0;
    if (p->pieces == 1) {
        for (int half = 0; half < 2; half++) {
            const int col = 2 * j * V + half * V + shift - pad;
            out[n++] = (struct window_part){half, 0, col, vec_range_mask(-col < 0 ? 0 : -col, width - col)};
        }
        return n;
    }
    /* 2L = 2 * tw floats a tile row; pieces / 2 of them in each vector */
    const int span = 2 * p->tw, per_half = p->pieces / 2;
    for (int half = 0; half < 2; half++)
        for (int m = 0; m < per_half; m++) {
            const int from = m * span, col = shift - pad - from;
            const int lo = from > -col ? from : -col, hi = from + span < width - col ? from + span : width - col;
            out[n++] = (struct window_part){half, half * per_half + m, col, vec_range_mask(lo, hi)};
        }
    return n;
}

/* One group's V, for every channel: its window parts per half (even: the
 * window, shifted: 2 floats on), PER_HALF of them (1, or 2 where a vector
 * holds 4 tile rows), and where each part's input row k starts (-1: a row
 * of the padding, all zero). */
WG_INLINE void input_group(const int PER_HALF, const struct winograd_plan *p, const float *x,
                           const struct window_part *even, const struct window_part *shifted, const long (*row_at)[4],
                           float *v)
{
    const long plane = (long)p->h * p->w, es = p->v_stride;
    for (int c = 0; c < p->c; c++, x += plane, v += p->ld) {
        VEC h[4][4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            VEC a = vec_zero(), b = vec_zero(), a2 = vec_zero(), b2 = vec_zero();
#pragma GCC unroll 2
            for (int m = 0; m < PER_HALF; m++) {
                const int q0 = m, q1 = PER_HALF + m;
                if (row_at[q0][k] >= 0) {
                    a = vec_mask_or_loadu(a, even[q0].mask, x + row_at[q0][k] + even[q0].col);
                    a2 = vec_mask_or_loadu(a2, shifted[q0].mask, x + row_at[q0][k] + shifted[q0].col);
                }
                if (row_at[q1][k] >= 0) {
                    b = vec_mask_or_loadu(b, even[q1].mask, x + row_at[q1][k] + even[q1].col);
                    b2 = vec_mask_or_loadu(b2, shifted[q1].mask, x + row_at[q1][k] + shifted[q1].col);
                }
            }
            /* B^T along the row: columns 0..3 of each tile */
            const VEC d0 = vec_even(a, b), d1 = vec_odd(a, b), d2 = vec_even(a2, b2), d3 = vec_odd(a2, b2);
            h[k][0] = vec_sub(d0, d2);
            h[k][1] = vec_add(d1, d2);
            h[k][2] = vec_sub(d2, d1);
            h[k][3] = vec_sub(d1, d3);
        }
        /* B^T down the columns */
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            vec_storeu(v + (0 + q) * es, vec_sub(h[0][q], h[2][q]));
            vec_storeu(v + (4 + q) * es, vec_add(h[1][q], h[2][q]));
            vec_storeu(v + (8 + q) * es, vec_sub(h[2][q], h[1][q]));
            vec_storeu(v + (12 + q) * es, vec_sub(h[1][q], h[3][q]));
        }
    }
}

/* V for the block's tile rows [ty0, ty1) of image x, group by group in the
 * order of the tiles: a segment's lanes past the row's end are stored over
 * by the next segment or row. */
static void input_transform(const struct winograd_plan *p, const float *x, int ty0, int ty1, float *v)
{
    for (int ty = ty0; ty < ty1; ty += p->pieces)
        for (int j = 0; j < p->segments; j++) {
            struct window_part even[4], shifted[4];
            const int parts = window_parts(p, j, 0, p->pw, p->w, even);
            window_parts(p, j, 2, p->pw, p->w, shifted);
            long row_at[4][4];
            for (int q = 0; q < parts; q++)
                for (int k = 0; k < 4; k++) {
                    const int row = 2 * (ty + even[q].piece) + k - p->ph;
                    row_at[q][k] = row >= 0 && row < p->h ? (long)row * p->w : -1;
                }
            float *vt = v + (long)(ty - ty0) * p->tw + j * VEC_FLOATS;
            if (parts == 2)
                input_group(1, p, x, even, shifted, (const long(*)[4])row_at, vt);
            else
                input_group(2, p, x, even, shifted, (const long(*)[4])row_at, vt);
        }
}

/* The products' register tile, the GEMM's unpacked one: c (`rows` <= R
 * rows of ldc, VV vectors each) = (ACCUMULATE: +=) the sum over k < K of
 * a[k * lda + r] (broadcast) times the VV vectors at b + k * ldb. The
 * forward products: a the packed filters (lda = R); the weight gradient's:
 * a the rows of dM^T, c the partial dU. */
WG_INLINE void register_tile(const int R, const int VV, const int ACCUMULATE, int K, const float *a, long lda,
                             const float *b, long ldb, float *c, long ldc, int rows)
{
    VEC acc[16][4];
#pragma GCC unroll 16
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int q = 0; q < VV; q++)
            acc[r][q] = vec_zero();
    for (int k = 0; k < K; k++, a += lda, b += ldb) {
        VEC v[4];
#pragma GCC unroll 4
        for (int q = 0; q < VV; q++)
            v[q] = vec_loadu(b + q * VEC_FLOATS);
#pragma GCC unroll 16
        for (int r = 0; r < R; r++) {
            const VEC w = vec_set1(a[r]);
#pragma GCC unroll 4
            for (int q = 0; q < VV; q++)
                acc[r][q] = vec_fma(w, v[q], acc[r][q]);
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; r++) {
        if (r >= rows)
            break;
#pragma GCC unroll 4
        for (int q = 0; q < VV; q++) {
            float *d = c + r * ldc + q * VEC_FLOATS;
            vec_storeu(d, ACCUMULATE ? vec_add(vec_loadu(d), acc[r][q]) : acc[r][q]);
        }
    }
}

/* m (R rows of ld) = u (K x R, k-major) times v (K rows of ld), VV vectors
 * of tiles */
#define product_tile(R, VV, K, u, v, ld, m) register_tile(R, VV, 0, K, u, R, v, ld, m, ld, R)

/* as winograd_plan_init chose plan->rows */
#define WG_BASE_ROWS (VEC_FLOATS >= 16 ? 8 : 4)

/* M = U V for each of the 16 elements, over the block's `vectors` vectors
 * of tiles: rows of filters by up to 3 vectors (or, with one vector, twice
 * the rows). */
static void products(const struct winograd_plan *p, const float *u, const float *v, int vectors, float *m)
{
    const int R = p->rows, blocks = p->fpad / R, V = VEC_FLOATS;
    for (int e = 0; e < 16; e++)
        for (int fb = 0; fb < blocks; fb++) {
            const float *ue = u + e * p->u_stride + (long)fb * p->c * R, *ve = v + e * p->v_stride;
            float *me = m + e * p->m_stride + (long)fb * R * p->ld;
            if (R == 2 * WG_BASE_ROWS) {
                for (int t = 0; t < vectors; t++)
                    product_tile(2 * WG_BASE_ROWS, 1, p->c, ue, ve + t * V, p->ld, me + t * V);
                continue;
            }
            int t = 0;
            for (; t + 3 <= vectors; t += 3)
                product_tile(WG_BASE_ROWS, 3, p->c, ue, ve + t * V, p->ld, me + t * V);
            if (vectors - t == 2)
                product_tile(WG_BASE_ROWS, 2, p->c, ue, ve + t * V, p->ld, me + t * V);
            else if (vectors - t == 1)
                product_tile(WG_BASE_ROWS, 1, p->c, ue, ve + t * V, p->ld, me + t * V);
        }
}

/* One part of an output row: bias, y added, ReLU, as out says. */
WG_INLINE void store_part(float *at, VMASK mask, VEC val, VEC bias, const struct conv_out *out)
{
    val = vec_add(val, bias);
    if (out->accumulate)
        val = vec_add(val, vec_maskz_loadu(mask, at));
    if (out->relu)
        val = vec_max(val, vec_zero());
    vec_mask_storeu(at, mask, val);
}

/* One group's output, for every filter: PER_HALF parts per half, part q's
 * output row k at row_at[q][k] (-1: past the last row). */
WG_INLINE void output_group(const int PER_HALF, const struct winograd_plan *p, const float *m,
                            const struct window_part *parts, const long (*row_at)[2], float *y,
                            const struct conv_out *out)
{
    const long plane = (long)p->oh * p->ow, es = p->m_stride;
    for (int f = 0; f < p->f; f++, m += p->ld, y += plane) {
        const VEC bias = out->bias ? vec_set1(out->bias[f]) : vec_zero();
        VEC s[4], d[4];
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++) {
            const VEC m0 = vec_loadu(m + q * es), m1 = vec_loadu(m + (4 + q) * es);
            const VEC m2 = vec_loadu(m + (8 + q) * es), m3 = vec_loadu(m + (12 + q) * es);
            s[q] = vec_add(vec_add(m0, m1), m2);
            d[q] = vec_sub(vec_sub(m1, m2), m3);
        }
        /* A^T M A: output rows 0 and 1 of each tile, columns 0 and 1 */
        const VEC r[2][2] = {{vec_add(vec_add(s[0], s[1]), s[2]), vec_sub(vec_sub(s[1], s[2]), s[3])},
                             {vec_add(vec_add(d[0], d[1]), d[2]), vec_sub(vec_sub(d[1], d[2]), d[3])}};
#pragma GCC unroll 2
        for (int k = 0; k < 2; k++) {
            const VEC lo = vec_interleave_lo(r[k][0], r[k][1]), hi = vec_interleave_hi(r[k][0], r[k][1]);
#pragma GCC unroll 2
            for (int i = 0; i < PER_HALF; i++) {
                const int q0 = i, q1 = PER_HALF + i;
                if (row_at[q0][k] >= 0)
                    store_part(y + row_at[q0][k] + parts[q0].col, parts[q0].mask, lo, bias, out);
                if (row_at[q1][k] >= 0)
                    store_part(y + row_at[q1][k] + parts[q1].col, parts[q1].mask, hi, bias, out);
            }
        }
    }
}

/* y's rows for the block's tile rows [ty0, ty1) from M. */
static void output_transform(const struct winograd_plan *p, const float *m, int ty0, int ty1, float *y,
                             const struct conv_out *out)
{
    for (int ty = ty0; ty < ty1; ty += p->pieces)
        for (int j = 0; j < p->segments; j++) {
            struct window_part parts[4];
            const int n = window_parts(p, j, 0, 0, p->ow, parts);
            long row_at[4][2];
            for (int q = 0; q < n; q++)
                for (int k = 0; k < 2; k++) {
                    const int oy = 2 * (ty + parts[q].piece) + k;
                    row_at[q][k] = oy < p->oh ? (long)oy * p->ow : -1;
                }
            const float *mt = m + (long)(ty - ty0) * p->tw + j * VEC_FLOATS;
            if (n == 2)
                output_group(1, p, mt, parts, (const long(*)[2])row_at, y, out);
            else
                output_group(2, p, mt, parts, (const long(*)[2])row_at, y, out);
        }
}

static void winograd_image(const struct winograd_plan *p, const float *x, const float *u, float *work, float *y,
                           const struct conv_out *out)
{
    float *v = work, *m = work + 16 * p->v_stride;
    for (int ty0 = 0; ty0 < p->th; ty0 += p->block_rows) {
        const int ty1 = ty0 + p->block_rows < p->th ? ty0 + p->block_rows : p->th;
        const int vectors = (int)(((long)(ty1 - ty0) * p->tw + VEC_FLOATS - 1) / VEC_FLOATS);
        input_transform(p, x, ty0, ty1, v);
        products(p, u, v, vectors, m);
        output_transform(p, m, ty0, ty1, y, out);
    }
}

/* The weight gradient (winograd.h): V^T (tiles x cpad) and dM^T (tiles x
 * fpad_dy) for the image's tiles [t0, t0 + n), lanes over channels. */
static void gradient_transforms(const struct winograd_plan *p, const float *xt, const float *dyt, long t0, int n,
                                float *vt, float *mt)
{
    const long xrow = (long)p->w * p->cpad, yrow = (long)p->ow * p->fpad_dy;
    const long ve = p->vt_stride, me = p->mt_stride;
    for (int k = 0; k < n; k++) {
        const int ty = (int)((t0 + k) / p->tw), tx = (int)((t0 + k) % p->tw);
        /* V^T = B^T d B: the 4x4 window at (2ty - ph, 2tx - pw) of the
         * image; pixels in the padding are read as 0 (a tile inside the
         * image reads all 16) */
        const int iy = 2 * ty - p->ph, ix = 2 * tx - p->pw;
        const int inside = iy >= 0 && iy + 4 <= p->h && ix >= 0 && ix + 4 <= p->w;
        long at[4][4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                at[i][j] = inside || (iy + i >= 0 && iy + i < p->h && ix + j >= 0 && ix + j < p->w)
                               ? (long)(iy + i) * xrow + (long)(ix + j) * p->cpad
                               : -1;
        float *vk = vt + (long)k * p->cpad;
        for (int cv = 0; cv < p->cpad; cv += VEC_FLOATS) {
            VEC u[4][4];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) {
                VEC d[4];
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++)
                    d[i] = inside || at[i][j] >= 0 ? vec_loadu(xt + at[i][j] + cv) : vec_zero();
                u[0][j] = vec_sub(d[0], d[2]);
                u[1][j] = vec_add(d[1], d[2]);
                u[2][j] = vec_sub(d[2], d[1]);
                u[3][j] = vec_sub(d[1], d[3]);
            }
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
                vec_storeu(vk + (4 * i + 0) * ve + cv, vec_sub(u[i][0], u[i][2]));
                vec_storeu(vk + (4 * i + 1) * ve + cv, vec_add(u[i][1], u[i][2]));
                vec_storeu(vk + (4 * i + 2) * ve + cv, vec_sub(u[i][2], u[i][1]));
                vec_storeu(vk + (4 * i + 3) * ve + cv, vec_sub(u[i][1], u[i][3]));
            }
        }
        /* dM^T = A dy A^T: dy's 2x2 tile [a b; c d] at (2ty, 2tx), 0 past
         * its last row or column; the rows of A dy are [a b], [a+c b+d],
         * [a-c b-d], [-c -d], and each row [p q] times A^T is
         * [p, p+q, p-q, -q] */
        const float *yb = dyt + 2L * ty * yrow + 2L * tx * p->fpad_dy;
        const int right = 2 * tx + 1 < p->ow, down = 2 * ty + 1 < p->oh;
        float *mk = mt + (long)k * p->fpad_dy;
        for (int fv = 0; fv < p->fpad_dy; fv += VEC_FLOATS) {
            const VEC a = vec_loadu(yb + fv), b = right ? vec_loadu(yb + p->fpad_dy + fv) : vec_zero();
            const VEC c = down ? vec_loadu(yb + yrow + fv) : vec_zero();
            const VEC d = down && right ? vec_loadu(yb + yrow + p->fpad_dy + fv) : vec_zero();
            const VEC row[4][2] = {{a, b},
                                   {vec_add(a, c), vec_add(b, d)},
                                   {vec_sub(a, c), vec_sub(b, d)},
                                   {vec_sub(vec_zero(), c), vec_sub(vec_zero(), d)}};
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
                vec_storeu(mk + (4 * i + 0) * me + fv, row[i][0]);
                vec_storeu(mk + (4 * i + 1) * me + fv, vec_add(row[i][0], row[i][1]));
                vec_storeu(mk + (4 * i + 2) * me + fv, vec_sub(row[i][0], row[i][1]));
                vec_storeu(mk + (4 * i + 3) * me + fv, vec_sub(vec_zero(), row[i][1]));
            }
        }
    }
}

/* du (rows of ldu, `rows` of them) += mt^T vt over n tiles: R filters
 * broadcast from each tile's row of dM^T, VV vectors of channels from its
 * row of V^T */
#define gradient_tile(R, VV, n, mt, ldm, vt, ldv, du, ldu, rows) \
    register_tile(R, VV, 1, n, mt, ldm, vt, ldv, du, ldu, rows)

/* The products for n tiles, R filters by up to VMAX vectors of channels. */
WG_INLINE void gradient_products_rv(const int R, const int VMAX, const struct winograd_plan *p, const float *vt,
                                    const float *mt, int n, float *du)
{
    const int vectors = p->cpad / VEC_FLOATS;
    for (int e = 0; e < 16; e++)
        for (int f0 = 0; f0 < p->f; f0 += R) {
            const int rows = p->f - f0 < R ? p->f - f0 : R;
            const float *me = mt + e * p->mt_stride + f0, *ve = vt + e * p->vt_stride;
            float *de = du + ((long)e * p->f + f0) * p->cpad;
            for (int v0 = 0; v0 < vectors; v0 += VMAX) {
                const int left = vectors - v0, o = v0 * VEC_FLOATS;
                if (left >= VMAX)
                    gradient_tile(R, VMAX, n, me, p->fpad_dy, ve + o, p->cpad, de + o, p->cpad, rows);
                else if (left == 3)
                    gradient_tile(R, 3, n, me, p->fpad_dy, ve + o, p->cpad, de + o, p->cpad, rows);
                else if (left == 2)
                    gradient_tile(R, 2, n, me, p->fpad_dy, ve + o, p->cpad, de + o, p->cpad, rows);
                else
                    gradient_tile(R, 1, n, me, p->fpad_dy, ve + o, p->cpad, de + o, p->cpad, rows);
            }
        }
}

/* as winograd_plan_init chose wg_rows and wg_vectors */
static void gradient_products(const struct winograd_plan *p, const float *vt, const float *mt, int n, float *du)
{
#if VEC_FLOATS >= 16
    switch (p->wg_vectors) {
    case 1: gradient_products_rv(16, 1, p, vt, mt, n, du); break;
    case 2: gradient_products_rv(12, 2, p, vt, mt, n, du); break;
    case 3: gradient_products_rv(8, 3, p, vt, mt, n, du); break;
    default: gradient_products_rv(6, 4, p, vt, mt, n, du); break;
    }
#else
    switch (p->wg_vectors) {
    case 1: gradient_products_rv(8, 1, p, vt, mt, n, du); break;
    case 2: gradient_products_rv(6, 2, p, vt, mt, n, du); break;
    default: gradient_products_rv(4, 3, p, vt, mt, n, du); break;
    }
#endif
}

static void winograd_weight_gradient(const struct winograd_plan *p, const float *xt, const float *dyt, float *work,
                                     float *du)
{
    float *vt = work, *mt = work + 16 * p->vt_stride;
    const long tiles = (long)p->th * p->tw;
    for (long t0 = 0; t0 < tiles; t0 += p->block_tiles) {
        const int n = tiles - t0 < p->block_tiles ? (int)(tiles - t0) : p->block_tiles;
        gradient_transforms(p, xt, dyt, t0, n, vt, mt);
        gradient_products(p, vt, mt, n, du);
    }
}

const struct winograd_kernel WINOGRAD_KERNEL = {
    .name = WINOGRAD_NAME, .lanes = VEC_FLOATS, .image = winograd_image, .weight_gradient = winograd_weight_gradient,
};

#endif
