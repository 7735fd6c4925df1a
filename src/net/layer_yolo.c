/* layer_yolo.c - YOLO's detection loss over a grid, the last layer of a
 * detector ([data] task = detect).
 *
 * The input is B (5 + K) x S x T: for each of the B anchors (a width and a
 * height in grid cells, from the config) and each cell (row i, column j) of
 * the S x T grid, five numbers and K class scores:
 *
 *   tx ty   the box's centre in the cell:  x = (j + sig(tx)) / T,  y = (i + sig(ty)) / S
 *   tw th   its size against the anchor:   w = aw exp(tw) / T,     h = ah exp(th) / S
 *   to      objectness:                    o = sig(to)
 *   c_k     class scores:                  p = softmax(c)
 *
 * (YOLOv2's parametrisation.) y is the same map decoded: x y w h as
 * fractions of the image, o, and p; a box's score for class k is o p_k.
 *
 * The loss of an image, after YOLO's papers: each labelled box is given to
 * the cell that holds its centre and, of that cell's anchors, to the one
 * whose shape overlaps it most (IoU of the two sizes, centred); that
 * predictor is "responsible" (a later box given the same one replaces an
 * earlier). With tx* = x T - j, ty* = y S - i, tw* = log(w T / aw),
 * th* = log(h S / ah), its terms are
 *
 *   coord_scale  [ (sig(tx) - tx*)^2 + (sig(ty) - ty*)^2 + (tw - tw*)^2 + (th - th*)^2 ]
 *   object_scale   -log o
 *   class_scale    -log p_class
 *
 * and every other predictor adds noobject_scale (-log(1 - o)), unless its
 * decoded box overlaps some labelled box by an IoU above ignore_thresh
 * (YOLOv2: a good box that is not the responsible one is not punished).
 * loss() sums the images' losses; backward() gives the batch mean's
 * gradient. Which predictors are ignored is a step function of the boxes;
 * it is kept per image in the layer's state and, in gradcheck's frozen
 * forward, used as it was. */
#include "layer.h"

#include "boxes.h"
#include "metrics.h"
#include "parallel.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define YOLO_MAX_ANCHORS 16

struct yolo_conf {
    int anchors;                        /* B */
    double anchor_w[YOLO_MAX_ANCHORS], anchor_h[YOLO_MAX_ANCHORS];   /* in grid cells */
    int classes;                        /* K, from the input's channels */
    double coord_scale, object_scale, noobject_scale, class_scale, ignore_thresh;
};

/* "W,H, W,H, ...": pairs of positive numbers, commas or spaces between. */
static int parse_anchors(struct yolo_conf *c, const char *text, char *why, size_t whylen)
{
    double v[2 * YOLO_MAX_ANCHORS + 1];
    int count = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (count == 2 * YOLO_MAX_ANCHORS) {
            snprintf(why, whylen, "more than %d anchors", YOLO_MAX_ANCHORS);
            return -1;
        }
        char *end;
        v[count] = strtod(p, &end);
        if (end == p || (*end && *end != ',' && !isspace((unsigned char)*end)) || !isfinite(v[count]) ||
            v[count] <= 0 || v[count] > 1e4) {
            snprintf(why, whylen, "'%.*s' is not a positive number", (int)strcspn(p, ", \t"), p);
            return -1;
        }
        count++;
        p = end;
    }
    if (count == 0 || count % 2) {
        snprintf(why, whylen, "expected pairs of a width and a height in grid cells (W,H, W,H, ...)");
        return -1;
    }
    c->anchors = count / 2;
    for (int b = 0; b < c->anchors; b++) {
        c->anchor_w[b] = v[2 * b];
        c->anchor_h[b] = v[2 * b + 1];
    }
    return 0;
}

static int yolo_parse(struct layer *l, struct config *cfg, struct config_section *s)
{
    struct yolo_conf *c = calloc(1, sizeof *c);
    l->conf = c;
    if (!c)
        return -1;
    int rc = 0;
    const char *anchors;
    if (config_get_string(cfg, s, "anchors", &anchors, "") < 0) {
        rc = -1;
    } else if (!anchors[0]) {
        config_error(cfg, s, config_find(s, "anchors"),
                     "a yolo layer needs anchors = W,H, W,H, ... (their sizes in grid cells)");
        rc = -1;
    } else {
        char why[128];
        if (parse_anchors(c, anchors, why, sizeof why) < 0) {
            config_error(cfg, s, config_find(s, "anchors"), "%s", why);
            rc = -1;
        }
    }
    if (config_get_float(cfg, s, "coord_scale", &c->coord_scale, 5.0, 0.0, 1e6) < 0 ||
        config_get_float(cfg, s, "object_scale", &c->object_scale, 1.0, 0.0, 1e6) < 0 ||
        config_get_float(cfg, s, "noobject_scale", &c->noobject_scale, 0.5, 0.0, 1e6) < 0 ||
        config_get_float(cfg, s, "class_scale", &c->class_scale, 1.0, 0.0, 1e6) < 0 ||
        config_get_float(cfg, s, "ignore_thresh", &c->ignore_thresh, 0.6, 0.0, 1.0) < 0)
        rc = -1;
    return rc;
}

static int yolo_shape(struct layer *l, char *err, size_t errlen)
{
    struct yolo_conf *c = l->conf;
    const struct shape in = l->in[0];
    if (in.c % c->anchors || in.c / c->anchors < 6) {
        snprintf(err, errlen,
                 "input has %d channels; %d anchors need %d (5 + K) of them for K classes (a 1x1 conv with that "
                 "many filters before it)",
                 in.c, c->anchors, c->anchors);
        return -1;
    }
    c->classes = in.c / c->anchors - 5;
    l->out = in;
    /* per image: which predictors the loss ignores (1) */
    l->state_floats = (long)c->anchors * in.h * in.w;
    /* per thread: the labelled box each predictor is responsible for */
    l->scratch_floats = (long)c->anchors * in.h * in.w;
    l->flops = 10.0 * shape_size(in);
    return 0;
}

static double sigmoid(double t)
{
    return 1.0 / (1.0 + exp(-t));
}

/* log(1 + e^z) without overflow */
static double softplus(double z)
{
    return (z > 0 ? z : 0) + log1p(exp(-fabs(z)));
}

/* The box that predictor (b, cell) decodes to, from its raw outputs at x
 * (channel stride P). */
static struct det_box decode(const struct yolo_conf *c, const struct shape in, const float *x, long P, int b,
                             long cell)
{
    const int i = (int)(cell / in.w), j = (int)(cell % in.w);
    const float *t = x + (long)b * (5 + c->classes) * P + cell;
    return (struct det_box){.x = (float)((j + sigmoid(t[0])) / in.w),
                            .y = (float)((i + sigmoid(t[P])) / in.h),
                            .w = (float)(c->anchor_w[b] * exp(fmin(t[2 * P], 20.0)) / in.w),
                            .h = (float)(c->anchor_h[b] * exp(fmin(t[3 * P], 20.0)) / in.h)};
}

static void yolo_forward(struct layer *l, const struct layer_run *run)
{
    const struct yolo_conf *c = l->conf;
    const struct shape in = l->in[0];
    const long P = (long)in.h * in.w, size = shape_size(in);
    const int K = c->classes;
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int n = 0; n < run->n; n++) {
        const float *x = l->x[0] + n * size;
        float *y = l->y + n * size;
        for (int b = 0; b < c->anchors; b++) {
            const float *t = x + (long)b * (5 + K) * P;
            float *o = y + (long)b * (5 + K) * P;
            for (long cell = 0; cell < P; cell++) {
                const struct det_box box = decode(c, in, x, P, b, cell);
                o[cell] = box.x;
                o[P + cell] = box.y;
                o[2 * P + cell] = box.w;
                o[3 * P + cell] = box.h;
                o[4 * P + cell] = (float)sigmoid(t[4 * P + cell]);
                double max = t[5 * P + cell], sum = 0.0;
                for (int k = 1; k < K; k++)
                    max = fmax(max, t[(5 + k) * P + cell]);
                for (int k = 0; k < K; k++)
                    sum += exp(t[(5 + k) * P + cell] - max);
                for (int k = 0; k < K; k++)
                    o[(5 + k) * P + cell] = (float)(exp(t[(5 + k) * P + cell] - max) / sum);
            }
        }
    }
}

/* IoU of two sizes with the same centre. */
static double shape_iou(double w1, double h1, double w2, double h2)
{
    const double inter = fmin(w1, w2) * fmin(h1, h2);
    return inter / (w1 * h1 + w2 * h2 - inter);
}

/* resp[b P + cell]: the index of the labelled box predictor (b, cell) is
 * responsible for, or -1. */
static void assign(const struct yolo_conf *c, const struct shape in, const struct box_label *boxes, float *resp)
{
    const long P = (long)in.h * in.w;
    for (long e = 0; e < c->anchors * P; e++)
        resp[e] = -1.0f;
    for (int t = 0; t < BOX_MAX_PER_IMAGE && boxes[t].cls >= 0; t++) {
        int i = (int)(boxes[t].y * in.h), j = (int)(boxes[t].x * in.w);
        i = i < 0 ? 0 : i >= in.h ? in.h - 1 : i;
        j = j < 0 ? 0 : j >= in.w ? in.w - 1 : j;
        int best = 0;
        double best_iou = -1.0;
        for (int b = 0; b < c->anchors; b++) {
            const double iou = shape_iou(boxes[t].w, boxes[t].h, c->anchor_w[b] / in.w, c->anchor_h[b] / in.h);
            if (iou > best_iou) {
                best_iou = iou;
                best = b;
            }
        }
        resp[best * P + (long)i * in.w + j] = (float)t;
    }
}

/* ignored[b P + cell] = 1 where predictor (b, cell)'s box overlaps a
 * labelled box by more than ignore_thresh (before the responsible ones are
 * known: those are never ignored) */
static void find_ignored(const struct yolo_conf *c, const struct shape in, const float *x,
                         const struct box_label *boxes, float *ignored)
{
    const long P = (long)in.h * in.w;
    for (int b = 0; b < c->anchors; b++)
        for (long cell = 0; cell < P; cell++) {
            const struct det_box d = decode(c, in, x, P, b, cell);
            int hit = 0;
            for (int t = 0; t < BOX_MAX_PER_IMAGE && boxes[t].cls >= 0 && !hit; t++) {
                const struct det_box truth = {.x = boxes[t].x, .y = boxes[t].y, .w = boxes[t].w, .h = boxes[t].h};
                hit = det_iou(&d, &truth) > c->ignore_thresh;
            }
            ignored[b * P + cell] = (float)hit;
        }
}

/* One image's labelled boxes (records may lie anywhere: copied). */
static void image_boxes(const struct layer_run *run, int n, struct box_label *boxes)
{
    memcpy(boxes, run->labels + (long)n * BOX_LABEL_BYTES, BOX_LABEL_BYTES);
}

/* Image n's loss and, with dx (NULL: none), its gradient times `scale`,
 * written or added as dx_overwrite says. resp: scratch for the
 * assignment. */
static double image_loss(struct layer *l, const struct layer_run *run, int n, float *resp, float *dx, float scale)
{
    const struct yolo_conf *c = l->conf;
    const struct shape in = l->in[0];
    const long P = (long)in.h * in.w, size = shape_size(in);
    const int K = c->classes;
    const float *x = l->x[0] + n * size;
    float *ignored = l->state + n * l->state_floats;
    struct box_label boxes[BOX_MAX_PER_IMAGE];
    image_boxes(run, n, boxes);
    if (!run->frozen)
        find_ignored(c, in, x, boxes, ignored);
    assign(c, in, boxes, resp);
    double loss = 0.0;
    for (int b = 0; b < c->anchors; b++)
        for (long cell = 0; cell < P; cell++) {
            const float *t = x + (long)b * (5 + K) * P + cell;
            float *g = dx ? dx + (long)b * (5 + K) * P + cell : NULL;
            double grad[5] = {0}, to = t[4 * P];
            const int r = (int)resp[b * P + cell];
            if (r >= 0) {
                const struct box_label *box = &boxes[r];
                const double sx = sigmoid(t[0]), sy = sigmoid(t[P]);
                const double tx = box->x * in.w - (double)(cell % in.w), ty = box->y * in.h - (double)(cell / in.w);
                const double tw = log(box->w * in.w / c->anchor_w[b]), th = log(box->h * in.h / c->anchor_h[b]);
                const double dw = t[2 * P] - tw, dh = t[3 * P] - th;
                loss += c->coord_scale * ((sx - tx) * (sx - tx) + (sy - ty) * (sy - ty) + dw * dw + dh * dh);
                loss += c->object_scale * softplus(-to);
                grad[0] = c->coord_scale * 2 * (sx - tx) * sx * (1 - sx);
                grad[1] = c->coord_scale * 2 * (sy - ty) * sy * (1 - sy);
                grad[2] = c->coord_scale * 2 * dw;
                grad[3] = c->coord_scale * 2 * dh;
                grad[4] = c->object_scale * (sigmoid(to) - 1);
                /* the class: softmax cross-entropy */
                const int label = (int)box->cls;
                double max = t[5 * P];
                for (int k = 1; k < K; k++)
                    max = fmax(max, t[(5 + k) * P]);
                double sum = 0.0;
                for (int k = 0; k < K; k++)
                    sum += exp(t[(5 + k) * P] - max);
                loss += c->class_scale * (log(sum) + max - t[(5 + label) * P]);
                for (int k = 0; g && k < K; k++) {
                    const double p = exp(t[(5 + k) * P] - max) / sum;
                    const float v = (float)(c->class_scale * (p - (k == label)) * scale);
                    g[(5 + k) * P] = l->dx_overwrite[0] ? v : g[(5 + k) * P] + v;
                }
            } else {
                if (!ignored[b * P + cell]) {
                    loss += c->noobject_scale * softplus(to);
                    grad[4] = c->noobject_scale * sigmoid(to);
                }
                for (int k = 0; g && k < K; k++)
                    g[(5 + k) * P] = l->dx_overwrite[0] ? 0.0f : g[(5 + k) * P];
            }
            for (int f = 0; g && f < 5; f++) {
                const float v = (float)(grad[f] * scale);
                g[f * P] = l->dx_overwrite[0] ? v : g[f * P] + v;
            }
        }
    return loss;
}

static double yolo_loss(struct layer *l, const struct layer_run *run, int *correct)
{
    double total = 0.0;
    for (int n = 0; n < run->n; n++)
        total += image_loss(l, run, n, run->scratch, NULL, 0.0f);
    /* detection has no "right" image; eval measures mean average precision */
    if (correct)
        *correct = 0;
    return total;
}

static void yolo_backward(struct layer *l, const struct layer_run *run)
{
    if (!l->dx[0])
        return;
    const long size = shape_size(l->in[0]);
    const float scale = 1.0f / run->n;
#pragma omp parallel for num_threads(image_threads(run)) schedule(static)
    for (int n = 0; n < run->n; n++)
        image_loss(l, run, n, run->scratch + omp_get_thread_num() * run->scratch_stride, l->dx[0] + n * size,
                   scale);
}

static int yolo_class_count(const struct layer *l)
{
    const struct yolo_conf *c = l->conf;
    return c->classes;
}

/* Image n's boxes whose score o p_k is above threshold, one a class, from
 * the decoded map y; at most max of them (the map's size is enough). */
static int yolo_detections(const struct layer *l, int n, float threshold, struct det_box *out, int max)
{
    const struct yolo_conf *c = l->conf;
    const long P = (long)l->out.h * l->out.w;
    const int K = c->classes;
    const float *y = l->y + n * shape_size(l->out);
    int count = 0;
    for (int b = 0; b < c->anchors; b++) {
        const float *o = y + (long)b * (5 + K) * P;
        for (long cell = 0; cell < P; cell++)
            for (int k = 0; k < K; k++) {
                const float score = o[4 * P + cell] * o[(5 + k) * P + cell];
                if (score > threshold && count < max)
                    out[count++] = (struct det_box){.x = o[cell],
                                                    .y = o[P + cell],
                                                    .w = o[2 * P + cell],
                                                    .h = o[3 * P + cell],
                                                    .score = score,
                                                    .cls = k,
                                                    .image = n};
            }
    }
    return count;
}

const struct layer_ops layer_yolo = {
    .type = "yolo", .is_loss = 1, .boxes = 1, .parse = yolo_parse, .shape = yolo_shape, .forward = yolo_forward,
    .backward = yolo_backward, .loss = yolo_loss, .class_count = yolo_class_count, .detections = yolo_detections,
};
