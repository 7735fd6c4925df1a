/* im2col.h - unrolling one image's receptive fields into a matrix, so a
 * convolution becomes one GEMM (and col2im, its adjoint, for the gradient).
 *
 * For one image x: (C, H, W) and a KH x KW window at stride (SH, SW) with
 * zero padding (PH, PW) and dilation (DH, DW) (taps DH rows apart, so the
 * window spans EH = DH*(KH-1) + 1 rows), the output is OH x OW with
 *     OH = (H + 2*PH - EH) / SH + 1,  OW = (W + 2*PW - EW) / SW + 1,
 * and col: (C*KH*KW, OH*OW), row r = (c*KH + ki)*KW + kj, column q = oh*OW + ow:
 *     col[r][q] = x[c][oh*SH - PH + ki*DH][ow*SW - PW + kj*DW]   (0 outside x).
 * Laying col out this way ("rows are filter taps") lets the forward pass be
 * out(F, OH*OW) = W(F, C*KH*KW) * col, which lands directly in NCHW order. */
#ifndef CNNCTL_IM2COL_H
#define CNNCTL_IM2COL_H

struct conv_geometry {
    int c, h, w;      /* input */
    int kh, kw;       /* window */
    int sh, sw;       /* stride */
    int ph, pw;       /* zero padding */
    int oh, ow;       /* output, from conv_output_size() with the dilated extent */
    int dh, dw;       /* dilation, 1 for a plain convolution */
};

/* The output-size formula OH = (H + 2P - FH)/S + 1. Returns the size, or -1
 * if (in + 2*pad - k) is negative, or not divisible by stride unless floor
 * is set (then the last rows the stride cannot reach are left out, as
 * PyTorch and Caffe do). */
int conv_output_size(int in, int k, int stride, int pad, int floor);

/* The output columns ox whose input column ox*s - p + kj lies in [0, w):
 * the range [lo, hi) (empty when lo == hi); ow is the output width. */
void conv_valid_range(int kj, int s, int p, int w, int ow, int *lo, int *hi);

/* x: (C, H, W) -> col: (C*KH*KW, OH*OW) */
void im2col(const float *x, const struct conv_geometry *g, float *col);
/* col: (C*KH*KW, OH*OW) -> dx: (C, H, W), ADDED to dx (overlapping windows sum). */
void col2im(const float *col, const struct conv_geometry *g, float *dx);

#endif
