/* onnx_graph.h - an ONNX model being written (`cnnctl export`): one input,
 * nodes in order, the weights as initializers, one output, serialised by
 * protobuf-c from onnx.proto (Debian's libonnx-dev, compiled at build
 * time). Each layer type writes its own nodes (layer_ops.onnx), so this
 * file knows no layer; nothing here exposes a protobuf type.
 *
 * Errors: every function returns 0 or -1 (out of memory); onnx_write says
 * what went wrong in err. */
#ifndef CNNCTL_ONNX_GRAPH_H
#define CNNCTL_ONNX_GRAPH_H

#include <stddef.h>

#include "layer.h"

/* the opset written: ONNX 1.8's, which Debian's onnx 1.12 checks and
 * OpenCV 4.6 reads */
#define ONNX_OPSET 13

struct onnx_graph;
struct onnx_node;

struct onnx_graph *onnx_graph_new(const char *name);
void onnx_graph_free(struct onnx_graph *g);

/* A node of `op` reading inputs[0..count) (a name "" is an input left out)
 * and writing output; NULL out of memory. */
struct onnx_node *onnx_node(struct onnx_graph *g, const char *op, const char *output, int count,
                            const char *const *inputs);
int onnx_attr_int(struct onnx_graph *g, struct onnx_node *n, const char *name, long v);
int onnx_attr_ints(struct onnx_graph *g, struct onnx_node *n, const char *name, int count, const long *v);
int onnx_attr_float(struct onnx_graph *g, struct onnx_node *n, const char *name, float v);
int onnx_attr_string(struct onnx_graph *g, struct onnx_node *n, const char *name, const char *v);

/* A weight: rank dims of float32 (copied), or of int64 (shapes, axes). */
int onnx_floats(struct onnx_graph *g, const char *name, int rank, const long *dims, const float *data);
int onnx_int64s(struct onnx_graph *g, const char *name, int rank, const long *dims, const long *data);

/* The model's input, N x C x H x W, and its output, N x the rest of dims
 * (rank values); N is dims[0], or when that is 0 a dimension named "N"
 * (any batch). */
int onnx_input(struct onnx_graph *g, const char *name, long batch, struct shape s);
int onnx_output(struct onnx_graph *g, const char *name, int rank, const long *dims);

/* A layer's parameter as a weight named "LAYER/NAME", its name in *name. */
int onnx_param(struct onnx_graph *g, const char *layer, const struct param *p, const char **name);
/* A window's attributes: kernel_shape KH KW, strides SH SW, pads PH PW PH PW
 * (OpenCV needs kernel_shape written out, though ONNX can infer it). */
int onnx_window(struct onnx_graph *g, struct onnx_node *n, int kh, int kw, int sh, int sw, int ph, int pw);

/* A fresh tensor name: "LAYER/what". The graph owns the string. */
const char *onnx_name(struct onnx_graph *g, const char *layer, const char *what);

/* The model (producer cnnctl, ONNX_OPSET) to path, atomically. 0, or -1
 * with err. */
int onnx_write(struct onnx_graph *g, const char *path, char *err, size_t errlen);

#endif
