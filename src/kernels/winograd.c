/* winograd.c - the plan of a Winograd F(2x2, 3x3) convolution and its
 * filters' transform (see winograd.h); the arithmetic on images is in
 * winograd_kernel.h. */
#include "winograd.h"


/* Up to this many vectors of tiles in a block: its V and M then stay in L2
 * (64 channels: 2 x 16 x 64 x 96 floats, 768 KiB), and a block is two of
 * the products' widest tiles. */
#define BLOCK_VECTORS 6

static long round_up(long n, long to)
{
    return (n + to - 1) / to * to;
}

/* n floats rounded up to an odd number of cache lines: the 16 rows of V
 * (and of M) that a transform writes (reads) together then fall in
 * different L1 sets. */
static long odd_cache_lines(long n)
{
    long lines = (n + 15) / 16;
    return (lines | 1) * 16;
}

int winograd_plan_init(struct winograd_plan *plan, const struct conv_geometry *g, int filters, int lanes)
{
    if (g->kh != 3 || g->kw != 3 || g->sh != 1 || g->sw != 1 || g->dh != 1 || g->dw != 1 || g->oh < 1 ||
        g->ow < 1 || g->c < WINOGRAD_MIN_CHANNELS || filters < WINOGRAD_MIN_CHANNELS)
        return -1;
    struct winograd_plan p = {0};
    p.c = g->c;
    p.f = filters;
    p.h = g->h;
    p.w = g->w;
    p.ph = g->ph;
    p.pw = g->pw;
    p.oh = g->oh;
    p.ow = g->ow;
    p.th = (g->oh + 1) / 2;
    p.tw = (g->ow + 1) / 2;
    p.lanes = lanes;
    if (4 * p.tw < lanes)
        return -1;
    /* a vector is one tile row's, or 2 or 4 whole tile rows where they fit
     * exactly; other widths leave lanes empty */
    p.pieces = p.tw < lanes && lanes % p.tw == 0 ? lanes / p.tw : 1;
    p.segments = p.pieces > 1 ? 1 : (p.tw + lanes - 1) / lanes;
    /* blocks of whole groups (a vector's tile rows), as even as they go */
    const int groups = (p.th + p.pieces - 1) / p.pieces;
    const int per_block_max = BLOCK_VECTORS / p.segments > 0 ? BLOCK_VECTORS / p.segments : 1;
    const int blocks = (groups + per_block_max - 1) / per_block_max;
    const int per_block = (groups + blocks - 1) / blocks;
    p.block_rows = per_block * p.pieces;
    /* 16 (AVX-512) or 8 (AVX2) accumulators over one vector of tiles, or
     * 8 (4) filters over up to 3 */
    const int base = lanes >= 16 ? 8 : 4;
    p.rows = per_block * p.segments == 1 ? 2 * base : base;
    p.fpad = (int)round_up(filters, p.rows);
    p.ld = round_up((long)p.block_rows * p.tw, lanes) + lanes;
    /* the weight gradient: a product tile of filters x up to 4 (AVX2: 3)
     * vectors of channels, 24 (12) accumulators, or 16 (8) over one */
    p.cpad = (int)round_up(p.c, lanes);
    const int vectors = p.cpad / lanes, most = lanes >= 16 ? 4 : 3;
    p.wg_vectors = vectors < most ? vectors : most;
    p.wg_rows = lanes >= 16 ? (p.wg_vectors == 1 ? 16 : 24 / p.wg_vectors) : (p.wg_vectors == 1 ? 8 : 12 / p.wg_vectors);
    p.fpad_dy = (int)round_up(round_up(filters, p.wg_rows), lanes);
    p.block_tiles = 64;
    p.vt_stride = odd_cache_lines((long)p.block_tiles * p.cpad);
    p.mt_stride = odd_cache_lines((long)p.block_tiles * p.fpad_dy);
    p.u_stride = odd_cache_lines((long)p.fpad * p.c);
    p.v_stride = odd_cache_lines(p.c * p.ld);
    p.m_stride = odd_cache_lines(p.fpad * p.ld);
    *plan = p;
    return 0;
}

long winograd_weight_floats(const struct winograd_plan *plan)
{
    return 16 * plan->u_stride;
}

long winograd_work_floats(const struct winograd_plan *plan)
{
    return 16 * (plan->v_stride + plan->m_stride);
}

long winograd_gradient_floats(const struct winograd_plan *plan)
{
    return 16L * plan->f * plan->cpad;
}

long winograd_xt_floats(const struct winograd_plan *plan)
{
    return (long)plan->h * plan->w * plan->cpad;
}

long winograd_dyt_floats(const struct winograd_plan *plan)
{
    return (long)plan->oh * plan->ow * plan->fpad_dy;
}

long winograd_gradient_work_floats(const struct winograd_plan *plan)
{
    return 16 * (plan->vt_stride + plan->mt_stride);
}

void winograd_finish_gradient(const struct winograd_plan *plan, const float *du, float *dw)
{
    const long e_stride = (long)plan->f * plan->cpad;
    for (int f = 0; f < plan->f; f++)
        for (int c = 0; c < plan->c; c++) {
            const float *d = du + (long)f * plan->cpad + c;
            /* t = G^T dU (3 x 4), then t G (3 x 3) */
            float t[3][4];
            for (int j = 0; j < 4; j++) {
                const float u0 = d[j * e_stride], u1 = d[(4 + j) * e_stride], u2 = d[(8 + j) * e_stride],
                            u3 = d[(12 + j) * e_stride];
                t[0][j] = u0 + 0.5f * (u1 + u2);
                t[1][j] = 0.5f * (u1 - u2);
                t[2][j] = 0.5f * (u1 + u2) + u3;
            }
            float *w = dw + ((long)f * plan->c + c) * 9;
            for (int i = 0; i < 3; i++) {
                w[i * 3 + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
                w[i * 3 + 1] = 0.5f * (t[i][1] - t[i][2]);
                w[i * 3 + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
            }
        }
}

void winograd_transform_weights(const struct winograd_plan *plan, const float *w, int flip, float *u)
{
    const int C = plan->c, R = plan->rows, blocks = plan->fpad / R;
    const long e_stride = plan->u_stride;
    for (int fb = 0; fb < blocks; fb++)
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) {
                const int f = fb * R + r;
                float *at = u + ((long)fb * C + c) * R + r;
                if (f >= plan->f) {
                    for (int e = 0; e < 16; e++)
                        at[e * e_stride] = 0.0f;
                    continue;
                }
                /* g = the 3x3 filter; flipped: w[c][f] turned by 180 degrees */
                float g[3][3];
                const float *wf = flip ? w + ((long)c * plan->f + f) * 9 : w + ((long)f * C + c) * 9;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++)
                        g[i][j] = flip ? wf[(2 - i) * 3 + (2 - j)] : wf[i * 3 + j];
                /* t = G g (4 x 3), then G g G^T (4 x 4) */
                float t[4][3];
                for (int j = 0; j < 3; j++) {
                    t[0][j] = g[0][j];
                    t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
                    t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
                    t[3][j] = g[2][j];
                }
                for (int i = 0; i < 4; i++) {
                    at[(4 * i + 0) * e_stride] = t[i][0];
                    at[(4 * i + 1) * e_stride] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                    at[(4 * i + 2) * e_stride] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                    at[(4 * i + 3) * e_stride] = t[i][2];
                }
            }
}
