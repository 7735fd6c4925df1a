/* check_augment.c - augmentation against its definition: shifts are exact
 * whole-pixel moves with zeros coming in, flips mirror, a quarter turn maps
 * the pixel grid onto itself, and draws depend on (seed, step, image) only. */
#include "test_util.h"
#include "augment.h"

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
    struct augment a = {2, 0, 0.0};
    float in[H * W], out[H * W], scratch[H * W];
    pattern(in);
    int seen[5][5] = {{0}};
    for (int i = 0; i < 200; i++) {
        struct augment_draw d = augment_draw(&a, 7, 3, i);
        ck_assert(d.shift_y >= -2 && d.shift_y <= 2 && d.shift_x >= -2 && d.shift_x <= 2 && !d.flip && d.angle == 0);
        seen[d.shift_y + 2][d.shift_x + 2] = 1;
        memcpy(out, in, sizeof in);
        augment_apply(&d, out, 1, H, W, scratch);
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
    struct augment a = {0, 1, 0.0};
    float in[2 * H * W], out[2 * H * W], scratch[2 * H * W];
    for (int i = 0; i < 2 * H * W; i++)
        in[i] = (float)(i * 3 % 17);
    int flips = 0;
    for (int i = 0; i < 200; i++) {
        struct augment_draw d = augment_draw(&a, 7, 3, i);
        flips += d.flip;
        memcpy(out, in, sizeof in);
        augment_apply(&d, out, 2, H, W, scratch);
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
    struct augment_draw d = {0, 0, 0, M_PI / 2};
    float in[25], out[25], scratch[25];
    for (int i = 0; i < 25; i++)
        in[i] = out[i] = (float)(i + 1);
    augment_apply(&d, out, 1, 5, 5, scratch);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
            ck_assert_float_eq_tol(out[y * 5 + x], in[(4 - x) * 5 + y], 1e-4f);
    /* and a small angle stays within the range asked for */
    struct augment a = {0, 0, 10.0};
    for (int i = 0; i < 100; i++) {
        struct augment_draw r = augment_draw(&a, 1, 1, i);
        ck_assert(fabs(r.angle) <= 10.0 * M_PI / 180.0 + 1e-12);
    }
}
END_TEST

START_TEST(test_draws_are_a_function_of_seed_step_image)
{
    struct augment a = {2, 1, 15.0};
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
    struct augment none = {0, 0, 0.0};
    float img[H * W], copy[H * W], scratch[H * W];
    pattern(img);
    memcpy(copy, img, sizeof img);
    augment_batch(&none, img, 1, 0, 1, H, W, 5, 1, scratch);
    ck_assert_int_eq(memcmp(img, copy, sizeof img), 0);
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
    suite_add_tcase(s, tc);
    return s;
}
