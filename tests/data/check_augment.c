/* check_augment.c - augmentation against its definition: shifts are exact
 * whole-pixel moves with zeros coming in, flips mirror, a quarter turn maps
 * the pixel grid onto itself, and draws depend on (seed, step, image) only. */
#include "test_util.h"
#include "augment.h"
#include "boxes.h"

#include <math.h>
#include <string.h>

#define H 7
#define W 6

static void pattern(float *img)
{
    for (int i = 0; i < H * W; i++)
        img[i] = (float)(i + 1);
}

static float at(const float *img, int y, int x)
{
    return y >= 0 && y < H && x >= 0 && x < W ? img[y * W + x] : 0.0f;
}

START_TEST(test_shift_is_a_padded_crop)
{
    struct augment a = {.shift = 2};
    float in[H * W], out[H * W], scratch[H * W];
    pattern(in);
    int seen[5][5] = {{0}};
    for (int i = 0; i < 200; i++) {
        struct augment_draw d = augment_draw(&a, 7, 3, i);
        ck_assert(d.shift_y >= -2 && d.shift_y <= 2 && d.shift_x >= -2 && d.shift_x <= 2 && !d.flip && d.angle == 0);
        seen[d.shift_y + 2][d.shift_x + 2] = 1;
        memcpy(out, in, sizeof in);
        augment_apply(&d, out, 1, H, W, scratch, NULL);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                ck_assert_float_eq(out[y * W + x], at(in, y - d.shift_y, x - d.shift_x));
    }
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            ck_assert_msg(seen[y][x], "shift (%d, %d) never drawn in 200 images", y - 2, x - 2);
}
END_TEST

START_TEST(test_flip_mirrors_half_the_time)
{
    struct augment a = {.flip = 1};
    float in[2 * H * W], out[2 * H * W], scratch[2 * H * W];
    for (int i = 0; i < 2 * H * W; i++)
        in[i] = (float)(i * 3 % 17);
    int flips = 0;
    for (int i = 0; i < 200; i++) {
        struct augment_draw d = augment_draw(&a, 7, 3, i);
        flips += d.flip;
        memcpy(out, in, sizeof in);
        augment_apply(&d, out, 2, H, W, scratch, NULL);
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    ck_assert_float_eq(out[(c * H + y) * W + x], in[(c * H + y) * W + (d.flip ? W - 1 - x : x)]);
    }
    ck_assert_int_gt(flips, 70);
    ck_assert_int_lt(flips, 130);
}
END_TEST

START_TEST(test_quarter_turn)
{
    /* 5 x 5 about its centre (2, 2), counter-clockwise: out(y, x) = in(4 - x, y) */
    struct augment_draw d = {.angle = M_PI / 2};
    float in[25], out[25], scratch[25];
    for (int i = 0; i < 25; i++)
        in[i] = out[i] = (float)(i + 1);
    augment_apply(&d, out, 1, 5, 5, scratch, NULL);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            ck_assert_float_eq_tol(out[y * 5 + x], in[(4 - x) * 5 + y], 1e-4f);
    /* and a small angle stays within the range asked for */
    struct augment a = {.rotate = 10.0};
    for (int i = 0; i < 100; i++) {
        struct augment_draw r = augment_draw(&a, 1, 1, i);
        ck_assert(fabs(r.angle) <= 10.0 * M_PI / 180.0 + 1e-12);
    }
}
END_TEST

START_TEST(test_draws_are_a_function_of_seed_step_image)
{
    struct augment a = {.shift = 2, .flip = 1, .rotate = 15.0};
    struct augment_draw x = augment_draw(&a, 5, 100, 3), y = augment_draw(&a, 5, 100, 3);
    /* field by field: the struct's padding after 'flip' is indeterminate */
    ck_assert_int_eq(x.shift_y, y.shift_y);
    ck_assert_int_eq(x.shift_x, y.shift_x);
    ck_assert_int_eq(x.flip, y.flip);
    ck_assert(memcmp(&x.angle, &y.angle, sizeof x.angle) == 0);
    int differ = 0;
    for (int i = 0; i < 8; i++) {
        struct augment_draw p = augment_draw(&a, 5, 100, i), q = augment_draw(&a, 5, 101, i);
        differ += p.angle != q.angle;
    }
    ck_assert_int_eq(differ, 8);
    /* nothing asked: nothing changes */
    struct augment none = {0};
    float img[H * W], copy[H * W], scratch[H * W];
    pattern(img);
    memcpy(copy, img, sizeof img);
    augment_batch(&none, img, 1, 0, 1, H, W, 5, 1, scratch, 1, NULL, NULL, 0, NULL);
    ck_assert_int_eq(memcmp(img, copy, sizeof img), 0);
}
END_TEST

/* The colour changes against their definitions on a 3 x 2 x 2 image:
 * brightness scales, contrast blends with the image's mean luma,
 * saturation with each pixel's luma; each clamped to [0, 1]. */
START_TEST(test_colour_jitter_definitions)
{
    const float in[12] = {0.2f, 0.9f, 0.5f, 0.1f, 0.4f, 0.3f, 0.8f, 0.6f, 0.7f, 0.0f, 1.0f, 0.25f};
    float out[12], scratch[12];
    const long plane = 4;
    /* brightness 1.5 */
    struct augment_draw d = {.brightness = 0.5f};
    memcpy(out, in, sizeof in);
    augment_apply(&d, out, 3, 2, 2, scratch, NULL);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(out[i], fminf(1.0f, in[i] * 1.5f), 1e-6f);
    /* contrast 0.5 */
    d = (struct augment_draw){.contrast = -0.5f};
    double mean = 0;
    for (int p = 0; p < plane; p++)
        mean += 0.299 * in[p] + 0.587 * in[plane + p] + 0.114 * in[2 * plane + p];
    mean /= plane;
    memcpy(out, in, sizeof in);
    augment_apply(&d, out, 3, 2, 2, scratch, NULL);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(out[i], mean + 0.5 * (in[i] - mean), 1e-6f);
    /* saturation 0: gray; 2: twice as far from gray, clamped */
    for (int k = 0; k < 2; k++) {
        d = (struct augment_draw){.saturation = k ? 1.0f : -1.0f};
        memcpy(out, in, sizeof in);
        augment_apply(&d, out, 3, 2, 2, scratch, NULL);
        for (int p = 0; p < plane; p++) {
            const double gray = 0.299 * in[p] + 0.587 * in[plane + p] + 0.114 * in[2 * plane + p];
            for (int c = 0; c < 3; c++) {
                double want = k ? gray + 2 * (in[c * plane + p] - gray) : gray;
                want = want < 0 ? 0 : want > 1 ? 1 : want;
                ck_assert_float_eq_tol(out[c * plane + p], want, 1e-6f);
            }
        }
    }
    /* drawn within [1 - A, 1 + A], and not at all when not asked */
    struct augment a = {.brightness = 0.4, .contrast = 0.2, .saturation = 0.3};
    struct augment none = {.shift = 1};
    for (int i = 0; i < 100; i++) {
        struct augment_draw r = augment_draw(&a, 3, 2, i), z = augment_draw(&none, 3, 2, i);
        ck_assert(fabsf(r.brightness) <= 0.4f && fabsf(r.contrast) <= 0.2f && fabsf(r.saturation) <= 0.3f);
        ck_assert(z.brightness == 0 && z.contrast == 0 && z.saturation == 0 && z.cutout == 0);
    }
}
END_TEST

/* Cutout: an N x N square at the drawn centre, cut at the edges, filled
 * with the fill colour; nothing else changes. */
/* Masks move with their images (segmentation): an image whose pixel is its
 * mask value / 10, shifted and flipped in a batch of 8 draws, still is;
 * where nothing came in, the image 0 and the mask the fill; colour changes
 * and cutout leave the masks. */
START_TEST(test_masks_move_with_images)
{
    enum { N = 8 };
    float img[N * H * W], scratch[H * W];
    uint8_t mask[N * H * W];
    for (int i = 0; i < N * H * W; i++) {
        mask[i] = (uint8_t)(1 + (i * 7 + i / W) % 9);
        img[i] = mask[i] / 10.0f;
    }
    struct augment moves = {.shift = 3, .flip = 1};
    augment_batch(&moves, img, N, 0, 1, H, W, 9, 4, scratch, 1, NULL, mask, 255, NULL);
    int filled = 0;
    for (int i = 0; i < N * H * W; i++) {
        if (mask[i] == 255) {
            ck_assert(img[i] == 0.0f);
            filled++;
            continue;
        }
        ck_assert_msg(img[i] == mask[i] / 10.0f, "pixel %d: image %g, mask %d", i, img[i], mask[i]);
    }
    ck_assert_int_gt(filled, 0);
    /* colour changes and cutout: the masks stay */
    struct augment colour = {.brightness = 0.3, .contrast = 0.2, .cutout = 4};
    uint8_t before[N * H * W];
    memcpy(before, mask, sizeof before);
    augment_batch(&colour, img, N, 0, 1, H, W, 9, 5, scratch, 1, NULL, mask, 255, NULL);
    ck_assert_int_eq(memcmp(before, mask, sizeof before), 0);
}
END_TEST

/* Boxes move with their images (detection): an image whose only bright
 * pixels fill its box, shifted and flipped in a batch of 32 draws, still
 * has its box around exactly those pixels; a box pushed out of the image
 * is cut to it, or dropped when less than a pixel is left. */
START_TEST(test_boxes_move_with_images)
{
    enum { N = 32, S = 16 };
    static float img[N * S * S], scratch[S * S];
    static uint8_t records[N * BOX_LABEL_BYTES];
    for (int i = 0; i < N; i++) {
        /* pixels [x0, x1) x [y0, y1), of several sizes and places */
        const int x0 = i % 5, x1 = x0 + 2 + i % 7, y0 = i % 3 + 1, y1 = y0 + 1 + i % 4;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                img[(i * S + y) * S + x] = x >= x0 && x < x1 && y >= y0 && y < y1 ? 1.0f : 0.0f;
        struct box_label b[BOX_MAX_PER_IMAGE];
        for (int k = 0; k < BOX_MAX_PER_IMAGE; k++)
            b[k] = (struct box_label){.cls = -1.0f};
        b[0] = (struct box_label){(float)(i % 3), (x0 + x1) / 2.0f / S, (y0 + y1) / 2.0f / S, (float)(x1 - x0) / S,
                                  (float)(y1 - y0) / S};
        memcpy(records + i * BOX_LABEL_BYTES, b, sizeof b);
    }
    struct augment moves = {.shift = 6, .flip = 1};
    augment_batch(&moves, img, N, 0, 1, S, S, 9, 4, scratch, 1, NULL, NULL, 0, records);
    int dropped = 0, cut = 0;
    for (int i = 0; i < N; i++) {
        int x0 = S, x1 = 0, y0 = S, y1 = 0;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                if (img[(i * S + y) * S + x] > 0.5f) {
                    x0 = x < x0 ? x : x0;
                    x1 = x + 1 > x1 ? x + 1 : x1;
                    y0 = y < y0 ? y : y0;
                    y1 = y + 1 > y1 ? y + 1 : y1;
                }
        const struct box_label *b = box_labels(records, i);
        ck_assert(b[1].cls < 0);
        if (x1 <= x0 || y1 <= y0) {
            ck_assert_msg(b[0].cls < 0, "image %d: no pixel left, but a box", i);
            dropped++;
            continue;
        }
        ck_assert_msg(b[0].cls == (float)(i % 3), "image %d: class %g", i, b[0].cls);
        const float eps = 1e-5f;
        ck_assert_msg(fabsf((b[0].x - b[0].w / 2) * S - x0) < eps && fabsf((b[0].x + b[0].w / 2) * S - x1) < eps &&
                          fabsf((b[0].y - b[0].h / 2) * S - y0) < eps && fabsf((b[0].y + b[0].h / 2) * S - y1) < eps,
                      "image %d: box %g %g %g %g, pixels [%d, %d) x [%d, %d)", i, b[0].x * S, b[0].y * S, b[0].w * S,
                      b[0].h * S, x0, x1, y0, y1);
        cut += x0 == 0 || y0 == 0 || x1 == S || y1 == S;
    }
    ck_assert_msg(cut > 0 && dropped > 0, "cut %d, dropped %d: the draws reach neither edge case", cut, dropped);
}
END_TEST

START_TEST(test_cutout_square)
{
    float in[2 * H * W], out[2 * H * W], scratch[2 * H * W];
    for (int i = 0; i < 2 * H * W; i++)
        in[i] = (float)(i % 7) / 7;
    const float fill[2] = {0.25f, 0.75f};
    struct augment a = {.cutout = 4};
    int corner = 0;
    for (int i = 0; i < 200; i++) {
        struct augment_draw d = augment_draw(&a, 9, 1, i);
        memcpy(out, in, sizeof in);
        augment_apply(&d, out, 2, H, W, scratch, fill);
        const int cy = (int)(d.cutout_y * H), cx = (int)(d.cutout_x * W);
        int cut = 0;
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    const int inside = y >= cy - 2 && y < cy + 2 && x >= cx - 2 && x < cx + 2;
                    cut += inside;
                    ck_assert_float_eq(out[(c * H + y) * W + x], inside ? fill[c] : in[(c * H + y) * W + x]);
                }
        corner += cut < 2 * 16;  /* cut by an edge */
    }
    ck_assert_int_gt(corner, 0);
}
END_TEST

Suite *augment_suite(void)
{
    Suite *s = suite_create("augment");
    TCase *tc = tcase_create("definition");
    tcase_add_test(tc, test_shift_is_a_padded_crop);
    tcase_add_test(tc, test_flip_mirrors_half_the_time);
    tcase_add_test(tc, test_quarter_turn);
    tcase_add_test(tc, test_draws_are_a_function_of_seed_step_image);
    tcase_add_test(tc, test_colour_jitter_definitions);
    tcase_add_test(tc, test_cutout_square);
    tcase_add_test(tc, test_masks_move_with_images);
    tcase_add_test(tc, test_boxes_move_with_images);
    suite_add_tcase(s, tc);
    return s;
}
