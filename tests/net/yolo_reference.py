#!/usr/bin/env python3
"""The yolo layer's loss from its definition (cnnctl.ini(5), type = yolo),
in float64 with Python's math alone, and its gradient by central
differences: the numbers tests/net/check_gradient.c's
test_yolo_reference compares the layer with. It shares no code and no
float32 arithmetic with cnnctl.

The case: a 2 x 2 grid, anchors (1, 1.5) and (2, 1) in cells, 2 classes, so
the input is 2 x (5 + 2) x 2 x 2; x[e] = 1.5 sin(0.7 e + 0.3); one image
with the boxes below; ignore_thresh 0.2 (2 of the 6 predictors given no box are ignored);
the default scales."""
import math

S, T, A, K = 2, 2, [(1.0, 1.5), (2.0, 1.0)], 2
coord, obj, noobj, cls_scale, ignore = 5.0, 1.0, 0.5, 1.0, 0.2
boxes = [(1, 0.3, 0.35, 0.4, 0.5), (0, 0.7, 0.6, 0.5, 0.3)]  # class x y w h
P = S * T
C = len(A) * (5 + K)
x0 = [1.5 * math.sin(0.7 * e + 0.3) for e in range(C * P)]


def sig(t):
    return 1 / (1 + math.exp(-t))


def iou(a, b):
    iw = max(0.0, min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2))
    ih = max(0.0, min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def at(x, b, f, cell):
    return x[(b * (5 + K) + f) * P + cell]


def decoded(x, b, cell):
    i, j = divmod(cell, T)
    return ((j + sig(at(x, b, 0, cell))) / T, (i + sig(at(x, b, 1, cell))) / S,
            A[b][0] * math.exp(at(x, b, 2, cell)) / T, A[b][1] * math.exp(at(x, b, 3, cell)) / S)


# which predictor each box is given to: the cell of its centre, the anchor
# whose size overlaps it most (centred); a later box replaces an earlier
resp = {}
for t, (c, bx, by, bw, bh) in enumerate(boxes):
    cell = min(int(by * S), S - 1) * T + min(int(bx * T), T - 1)
    best = max(range(len(A)), key=lambda b: (iou((0, 0, bw, bh), (0, 0, A[b][0] / T, A[b][1] / S)), -b))
    resp[(best, cell)] = t
# the ignored predictors, from the unshifted input (held as they are)
ignored = {(b, cell) for b in range(len(A)) for cell in range(P)
           if any(iou(decoded(x0, b, cell), bb[1:]) > ignore for bb in boxes)}


def loss(x):
    total = 0.0
    for b in range(len(A)):
        for cell in range(P):
            to = at(x, b, 4, cell)
            if (b, cell) in resp:
                c, bx, by, bw, bh = boxes[resp[(b, cell)]]
                i, j = divmod(cell, T)
                tx, ty = bx * T - j, by * S - i
                tw, th = math.log(bw * T / A[b][0]), math.log(bh * S / A[b][1])
                total += coord * ((sig(at(x, b, 0, cell)) - tx) ** 2 + (sig(at(x, b, 1, cell)) - ty) ** 2 +
                                  (at(x, b, 2, cell) - tw) ** 2 + (at(x, b, 3, cell) - th) ** 2)
                total += obj * -math.log(sig(to))
                scores = [at(x, b, 5 + k, cell) for k in range(K)]
                m = max(scores)
                total += cls_scale * (math.log(sum(math.exp(s - m) for s in scores)) + m - scores[c])
            elif (b, cell) not in ignored:
                total += noobj * -math.log(1 - sig(to))
    return total


print("loss %.12g" % loss(x0))
print("ignored %d of %d" % (len(ignored), len(A) * P))
h = 1e-6
grad = []
for e in range(len(x0)):
    up, down = list(x0), list(x0)
    up[e] += h
    down[e] -= h
    grad.append((loss(up) - loss(down)) / (2 * h))
print("gradient", ", ".join("%.9g" % g for g in grad))
