/* check_metrics.c - segmentation and detection metrics against hand-worked
 * cases, and mean average precision against the PASCAL VOC devkit's logic
 * re-typed in Python (an independent implementation) on a random case. */
#include "test_util.h"
#include "metrics.h"

#include <math.h>

/* 3 classes, 10 pixels, one ignored (255):
 *   truth     0 0 0 1 1 1 2 2 255 0
 *   predicted 0 0 1 1 1 2 2 0 2   0
 * class 0: TP 3 (pixels 0, 1, 9), FN 1 (pixel 2), FP 1 (pixel 7): 3/5
 * class 1: TP 2, FN 1 (pixel 5), FP 1 (pixel 2): 2/4
 * class 2: TP 1, FN 1 (pixel 7), FP 1 (pixel 5): 1/3
 * pixel accuracy 6/9 */
START_TEST(test_segmentation_metrics)
{
    const uint8_t truth[10] = {0, 0, 0, 1, 1, 1, 2, 2, 255, 0}, predicted[10] = {0, 0, 1, 1, 1, 2, 2, 0, 2, 0};
    struct seg_metrics m;
    ck_assert_int_eq(seg_metrics_init(&m, 3), 0);
    ck_assert(isnan(seg_pixel_accuracy(&m)) && isnan(seg_mean_iou(&m)));
    seg_metrics_add(&m, truth, predicted, 10, 255);
    ck_assert_double_eq_tol(seg_pixel_accuracy(&m), 6.0 / 9, 1e-12);
    ck_assert_double_eq_tol(seg_iou(&m, 0), 3.0 / 5, 1e-12);
    ck_assert_double_eq_tol(seg_iou(&m, 1), 2.0 / 4, 1e-12);
    ck_assert_double_eq_tol(seg_iou(&m, 2), 1.0 / 3, 1e-12);
    ck_assert_double_eq_tol(seg_mean_iou(&m), (0.6 + 0.5 + 1.0 / 3) / 3, 1e-12);
    seg_metrics_free(&m);
    /* a class neither present nor predicted has no IoU and is left out of
     * the mean; one predicted but absent has IoU 0 */
    const uint8_t t2[4] = {0, 0, 1, 1}, p2[4] = {0, 3, 1, 1};
    ck_assert_int_eq(seg_metrics_init(&m, 4), 0);
    seg_metrics_add(&m, t2, p2, 4, -1);
    ck_assert(isnan(seg_iou(&m, 2)));
    ck_assert_double_eq_tol(seg_iou(&m, 3), 0.0, 1e-12);
    ck_assert_double_eq_tol(seg_iou(&m, 0), 0.5, 1e-12);
    ck_assert_double_eq_tol(seg_mean_iou(&m), (0.5 + 1.0 + 0.0) / 3, 1e-12);
    seg_metrics_free(&m);
}
END_TEST

static struct det_box box(float x, float y, float w, float h, float score, int cls, int image)
{
    return (struct det_box){x, y, w, h, score, cls, image};
}

START_TEST(test_box_iou)
{
    const struct det_box a = box(0.5f, 0.5f, 0.2f, 0.2f, 0, 0, 0);
    const struct det_box b = box(0.6f, 0.5f, 0.2f, 0.2f, 0, 0, 0);   /* half of a: 0.02 / 0.06 */
    const struct det_box c = box(0.9f, 0.9f, 0.1f, 0.1f, 0, 0, 0);   /* apart */
    const struct det_box d = box(0.5f, 0.5f, 0.1f, 0.1f, 0, 0, 0);   /* inside a: 0.01 / 0.04 */
    ck_assert_double_eq_tol(det_iou(&a, &a), 1.0, 1e-6);
    ck_assert_double_eq_tol(det_iou(&a, &b), 1.0 / 3, 1e-6);
    ck_assert_double_eq_tol(det_iou(&b, &a), 1.0 / 3, 1e-6);
    ck_assert(det_iou(&a, &c) == 0.0);
    ck_assert_double_eq_tol(det_iou(&a, &d), 0.25, 1e-6);
    /* touching edges: no overlap */
    const struct det_box e = box(0.7f, 0.5f, 0.2f, 0.2f, 0, 0, 0);
    ck_assert_double_le(det_iou(&a, &e), 1e-6);
}
END_TEST

/* Class-wise suppression: the two overlapping 7s keep the better one, a 1
 * on the same spot stays, a far 7 stays; equal scores keep the earlier. */
START_TEST(test_nms)
{
    const struct det_box boxes[5] = {
        box(0.50f, 0.5f, 0.2f, 0.2f, 0.8f, 7, 0), box(0.52f, 0.5f, 0.2f, 0.2f, 0.9f, 7, 0),
        box(0.50f, 0.5f, 0.2f, 0.2f, 0.7f, 1, 0), box(0.10f, 0.1f, 0.1f, 0.1f, 0.3f, 7, 0),
        box(0.11f, 0.1f, 0.1f, 0.1f, 0.3f, 7, 0),
    };
    int keep[5];
    const int n = det_nms(boxes, 5, 0.45, keep);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(keep[0], 1);
    ck_assert_int_eq(keep[1], 2);
    ck_assert_int_eq(keep[2], 3);
    /* nothing to keep, and a threshold of 1 keeps everything */
    ck_assert_int_eq(det_nms(boxes, 0, 0.45, keep), 0);
    ck_assert_int_eq(det_nms(boxes, 5, 1.0, keep), 5);
}
END_TEST

/* Two 3s to find; detections by score: a hit (P 1, R 1/2), a miss (1/2,
 * 1/2), the other hit (2/3, 1): precision made non-increasing, AP =
 * 1/2 * 1 + 1/2 * 2/3 = 5/6. A second detection of a found box is a false
 * positive; a class with boxes and no detection 0; one without boxes NaN,
 * left out of the mean. */
START_TEST(test_average_precision)
{
    const struct det_box truth[3] = {box(0.3f, 0.3f, 0.2f, 0.2f, 0, 3, 0), box(0.7f, 0.7f, 0.2f, 0.2f, 0, 3, 1),
                                     box(0.5f, 0.5f, 0.2f, 0.2f, 0, 5, 1)};
    const struct det_box dets[4] = {box(0.31f, 0.3f, 0.2f, 0.2f, 0.9f, 3, 0), box(0.1f, 0.9f, 0.1f, 0.1f, 0.8f, 3, 0),
                                    box(0.7f, 0.71f, 0.2f, 0.2f, 0.7f, 3, 1), box(0.5f, 0.5f, 0.2f, 0.2f, 0.6f, 8, 1)};
    ck_assert_double_eq_tol(det_average_precision(dets, 4, truth, 3, 3, 0.5), 5.0 / 6, 1e-9);
    ck_assert(det_average_precision(dets, 4, truth, 3, 5, 0.5) == 0.0);
    ck_assert(isnan(det_average_precision(dets, 4, truth, 3, 8, 0.5)));
    double per[9];
    ck_assert_double_eq_tol(det_mean_average_precision(dets, 4, truth, 3, 9, 0.5, per), (5.0 / 6 + 0.0) / 2, 1e-9);
    ck_assert(isnan(per[0]) && isnan(per[8]));
    /* the same hit twice: the second is a false positive (P 1/2 at R 1/2) */
    const struct det_box twice[2] = {box(0.3f, 0.3f, 0.2f, 0.2f, 0.9f, 3, 0), box(0.3f, 0.3f, 0.2f, 0.2f, 0.9f, 3, 0)};
    ck_assert_double_eq_tol(det_average_precision(twice, 2, truth, 3, 3, 0.5), 0.5, 1e-9);
    /* no detections at all */
    ck_assert(det_average_precision(dets, 0, truth, 3, 3, 0.5) == 0.0);
    /* an overlap of exactly the threshold does not count (VOC: more than) */
    const struct det_box half[1] = {box(0.3f + 0.2f / 3, 0.3f, 0.2f, 0.2f, 0.9f, 3, 0)};
    ck_assert_double_lt(det_average_precision(half, 1, truth, 3, 3, det_iou(&half[0], &truth[0])), 1e-9);
}
END_TEST

/* A random case and its APs as tests/train/voc_ap_reference.py (the
 * devkit's logic in Python) prints them. */
START_TEST(test_average_precision_reference)
{
    static const struct det_box truth[] = {
        {0.858f, 0.416f, 0.062f, 0.255f, 0, 0, 0}, {0.173f, 0.44f, 0.257f, 0.081f, 0, 0, 0},
        {0.52f, 0.8f, 0.232f, 0.122f, 0, 0, 2},    {0.635f, 0.712f, 0.193f, 0.269f, 0, 1, 2},
        {0.81f, 0.378f, 0.285f, 0.139f, 0, 2, 3},  {0.797f, 0.164f, 0.162f, 0.187f, 0, 0, 3},
        {0.791f, 0.323f, 0.154f, 0.14f, 0, 1, 3},  {0.286f, 0.287f, 0.171f, 0.197f, 0, 1, 5},
    };
    static const struct det_box dets[] = {
        {0.831f, 0.416f, 0.034f, 0.251f, 0.07f, 0, 0}, {0.178f, 0.414f, 0.262f, 0.054f, 0.22f, 0, 0},
        {0.787f, 0.332f, 0.086f, 0.079f, 0.56f, 2, 0}, {0.646f, 0.182f, 0.193f, 0.097f, 0.55f, 0, 0},
        {0.148f, 0.265f, 0.22f, 0.157f, 0.47f, 2, 1},  {0.839f, 0.389f, 0.112f, 0.095f, 0.08f, 1, 1},
        {0.515f, 0.815f, 0.211f, 0.121f, 0.04f, 0, 2}, {0.626f, 0.712f, 0.211f, 0.243f, 0.09f, 1, 2},
        {0.479f, 0.631f, 0.065f, 0.225f, 0.28f, 3, 2}, {0.784f, 0.394f, 0.263f, 0.124f, 0.39f, 2, 3},
        {0.265f, 0.289f, 0.178f, 0.186f, 0.13f, 1, 5}, {0.86f, 0.624f, 0.235f, 0.164f, 0.4f, 3, 5},
        {0.415f, 0.485f, 0.15f, 0.098f, 0.44f, 1, 5},
    };
    double per[4];
    const double map = det_mean_average_precision(dets, 13, truth, 8, 4, 0.5, per);
    ck_assert_double_eq_tol(per[0], 0.0625, 1e-9);
    ck_assert_double_eq_tol(per[1], 4.0 / 9, 1e-9);
    ck_assert_double_eq_tol(per[2], 1.0 / 3, 1e-9);
    ck_assert(isnan(per[3]));
    ck_assert_double_eq_tol(map, 0.28009259259259256, 1e-9);
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("hand-worked");
    tcase_add_test(tc, test_segmentation_metrics);
    tcase_add_test(tc, test_box_iou);
    tcase_add_test(tc, test_nms);
    tcase_add_test(tc, test_average_precision);
    tcase_add_test(tc, test_average_precision_reference);
    suite_add_tcase(s, tc);
    return s;
}
