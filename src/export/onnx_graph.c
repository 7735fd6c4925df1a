/* onnx_graph.c - see onnx_graph.h. The protobuf-c messages are built in
 * place; every block this file allocates is listed in g->blocks and freed
 * at once, so a node or tensor half built when memory runs out needs no
 * unwinding of its own. */
#include "onnx_graph.h"

#include "fileio.h"
#include "onnx.pb-c.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct onnx_graph {
    Onnx__GraphProto graph;
    size_t node_cap, init_cap;
    void **blocks;           /* everything allocated for the messages */
    size_t block_count, block_cap;
    int failed;              /* out of memory at some point */
};

struct onnx_node {
    Onnx__NodeProto proto;
};

/* n zeroed bytes, listed for freeing; NULL (and g->failed) out of memory */
static void *take(struct onnx_graph *g, size_t n)
{
    if (g->block_count == g->block_cap) {
        size_t cap = g->block_cap ? 2 * g->block_cap : 256;
        void **blocks = realloc(g->blocks, sizeof *blocks * cap);
        if (!blocks) {
            g->failed = 1;
            return NULL;
        }
        g->blocks = blocks;
        g->block_cap = cap;
    }
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        g->failed = 1;
        return NULL;
    }
    g->blocks[g->block_count++] = p;
    return p;
}

static char *text(struct onnx_graph *g, const char *s)
{
    if (!s) {
        g->failed = 1;
        return NULL;
    }
    char *p = take(g, strlen(s) + 1);
    if (p)
        memcpy(p, s, strlen(s) + 1);
    return p;
}

/* appends item to a growing array of pointers (*items, *count, *cap) */
static int append(struct onnx_graph *g, void ***items, size_t *count, size_t *cap, void *item)
{
    if (!item)
        return -1;
    if (*count == *cap) {
        size_t next = *cap ? 2 * *cap : 64;
        void **grown = take(g, sizeof *grown * next);
        if (!grown)
            return -1;
        if (*count)
            memcpy(grown, *items, sizeof *grown * *count);
        *items = grown;   /* the old array stays in blocks until the end */
        *cap = next;
    }
    (*items)[(*count)++] = item;
    return 0;
}

struct onnx_graph *onnx_graph_new(const char *name)
{
    struct onnx_graph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    onnx__graph_proto__init(&g->graph);
    g->graph.name = text(g, name);
    if (g->failed) {
        onnx_graph_free(g);
        return NULL;
    }
    return g;
}

void onnx_graph_free(struct onnx_graph *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->block_count; i++)
        free(g->blocks[i]);
    free(g->blocks);
    free(g);
}

struct onnx_node *onnx_node(struct onnx_graph *g, const char *op, const char *output, int count,
                            const char *const *inputs)
{
    /* a name that could not be made (out of memory) makes no node */
    for (int i = 0; i < count; i++)
        if (!inputs[i])
            return NULL;
    if (!output)
        return NULL;
    struct onnx_node *n = take(g, sizeof *n);
    char **in = take(g, sizeof *in * (count ? count : 1)), **out = take(g, sizeof *out);
    if (!n || !in || !out)
        return NULL;
    onnx__node_proto__init(&n->proto);
    for (int i = 0; i < count; i++)
        in[i] = text(g, inputs[i]);
    out[0] = text(g, output);
    n->proto.n_input = (size_t)count;
    n->proto.input = in;
    n->proto.n_output = 1;
    n->proto.output = out;
    n->proto.op_type = text(g, op);
    n->proto.name = text(g, output);
    if (g->failed || append(g, (void ***)&g->graph.node, &g->graph.n_node, &g->node_cap, &n->proto) < 0)
        return NULL;
    return n;
}

static Onnx__AttributeProto *attribute(struct onnx_graph *g, struct onnx_node *n, const char *name,
                                       Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = take(g, sizeof *a);
    Onnx__AttributeProto **list = take(g, sizeof *list * (n->proto.n_attribute + 1));
    if (!a || !list)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = text(g, name);
    a->has_type = 1;
    a->type = type;
    if (n->proto.n_attribute)
        memcpy(list, n->proto.attribute, sizeof *list * n->proto.n_attribute);
    list[n->proto.n_attribute++] = a;
    n->proto.attribute = list;
    return g->failed ? NULL : a;
}

int onnx_attr_int(struct onnx_graph *g, struct onnx_node *n, const char *name, long v)
{
    Onnx__AttributeProto *a = n ? attribute(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) : NULL;
    if (!a)
        return -1;
    a->has_i = 1;
    a->i = v;
    return 0;
}

int onnx_attr_ints(struct onnx_graph *g, struct onnx_node *n, const char *name, int count, const long *v)
{
    Onnx__AttributeProto *a = n ? attribute(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) : NULL;
    int64_t *ints = a ? take(g, sizeof *ints * (count ? count : 1)) : NULL;
    if (!ints)
        return -1;
    for (int i = 0; i < count; i++)
        ints[i] = v[i];
    a->n_ints = (size_t)count;
    a->ints = ints;
    return 0;
}

int onnx_attr_float(struct onnx_graph *g, struct onnx_node *n, const char *name, float v)
{
    Onnx__AttributeProto *a = n ? attribute(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) : NULL;
    if (!a)
        return -1;
    a->has_f = 1;
    a->f = v;
    return 0;
}

int onnx_attr_string(struct onnx_graph *g, struct onnx_node *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = n ? attribute(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING) : NULL;
    char *s = a ? text(g, v) : NULL;
    if (!s)
        return -1;
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)s;
    return 0;
}

static Onnx__TensorProto *tensor(struct onnx_graph *g, const char *name, int rank, const long *dims, int type)
{
    Onnx__TensorProto *t = name ? take(g, sizeof *t) : NULL;
    int64_t *d = t ? take(g, sizeof *d * (rank ? rank : 1)) : NULL;
    if (!t || !d)
        return NULL;
    onnx__tensor_proto__init(t);
    for (int i = 0; i < rank; i++)
        d[i] = dims[i];
    t->n_dims = (size_t)rank;
    t->dims = d;
    t->has_data_type = 1;
    t->data_type = type;
    t->name = text(g, name);
    if (g->failed || append(g, (void ***)&g->graph.initializer, &g->graph.n_initializer, &g->init_cap, t) < 0)
        return NULL;
    return t;
}

static long elements(int rank, const long *dims)
{
    long n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

int onnx_floats(struct onnx_graph *g, const char *name, int rank, const long *dims, const float *data)
{
    const long n = elements(rank, dims);
    Onnx__TensorProto *t = tensor(g, name, rank, dims, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    float *v = t ? take(g, sizeof *v * n) : NULL;
    if (!v)
        return -1;
    memcpy(v, data, sizeof *v * n);
    t->n_float_data = (size_t)n;
    t->float_data = v;
    return 0;
}

int onnx_int64s(struct onnx_graph *g, const char *name, int rank, const long *dims, const long *data)
{
    const long n = elements(rank, dims);
    Onnx__TensorProto *t = tensor(g, name, rank, dims, ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    int64_t *v = t ? take(g, sizeof *v * n) : NULL;
    if (!v)
        return -1;
    for (long i = 0; i < n; i++)
        v[i] = data[i];
    t->n_int64_data = (size_t)n;
    t->int64_data = v;
    return 0;
}

/* A float tensor's description: dims, dims[0] 0 for a symbolic "N" */
static Onnx__ValueInfoProto *value_info(struct onnx_graph *g, const char *name, int rank, const long *dims)
{
    Onnx__ValueInfoProto *v = take(g, sizeof *v);
    Onnx__TypeProto *type = take(g, sizeof *type);
    Onnx__TypeProto__Tensor *tt = take(g, sizeof *tt);
    Onnx__TensorShapeProto *shape = take(g, sizeof *shape);
    Onnx__TensorShapeProto__Dimension **dim = take(g, sizeof *dim * rank);
    if (!v || !type || !tt || !shape || !dim)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(type);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(shape);
    for (int i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = take(g, sizeof *d);
        if (!d)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0 && dims[0] == 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = text(g, "N");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        }
        dim[i] = d;
    }
    shape->n_dim = (size_t)rank;
    shape->dim = dim;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = shape;
    type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type->tensor_type = tt;
    v->name = text(g, name);
    v->type = type;
    return g->failed ? NULL : v;
}

int onnx_input(struct onnx_graph *g, const char *name, long batch, struct shape s)
{
    const long dims[4] = {batch, s.c, s.h, s.w};
    Onnx__ValueInfoProto **list = take(g, sizeof *list);
    Onnx__ValueInfoProto *v = value_info(g, name, 4, dims);
    if (!list || !v)
        return -1;
    list[0] = v;
    g->graph.n_input = 1;
    g->graph.input = list;
    return 0;
}

int onnx_output(struct onnx_graph *g, const char *name, int rank, const long *dims)
{
    Onnx__ValueInfoProto **list = take(g, sizeof *list);
    Onnx__ValueInfoProto *v = value_info(g, name, rank, dims);
    if (!list || !v)
        return -1;
    list[0] = v;
    g->graph.n_output = 1;
    g->graph.output = list;
    return 0;
}

int onnx_param(struct onnx_graph *g, const char *layer, const struct param *p, const char **name)
{
    long dims[4];
    for (int i = 0; i < p->rank; i++)
        dims[i] = p->dims[i];
    *name = onnx_name(g, layer, p->name);
    return *name ? onnx_floats(g, *name, p->rank, dims, p->data) : -1;
}

int onnx_window(struct onnx_graph *g, struct onnx_node *n, int kh, int kw, int sh, int sw, int ph, int pw)
{
    const long kernel[2] = {kh, kw}, strides[2] = {sh, sw}, pads[4] = {ph, pw, ph, pw};
    return n && onnx_attr_ints(g, n, "kernel_shape", 2, kernel) == 0 && onnx_attr_ints(g, n, "strides", 2, strides) == 0 &&
                   onnx_attr_ints(g, n, "pads", 4, pads) == 0
               ? 0
               : -1;
}

const char *onnx_name(struct onnx_graph *g, const char *layer, const char *what)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", layer, what);
    return text(g, buf);
}

int onnx_write(struct onnx_graph *g, const char *path, char *err, size_t errlen)
{
    if (g->failed) {
        snprintf(err, errlen, "%s: out of memory while building the model", path);
        return -1;
    }
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = ONNX_OPSET;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    model.has_ir_version = 1;
    model.ir_version = 7;   /* ONNX 1.8, where opset 13 came */
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.producer_name = "cnnctl";
    model.graph = &g->graph;
    const size_t size = onnx__model_proto__get_packed_size(&model);
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) {
        snprintf(err, errlen, "%s: out of memory for %zu bytes", path, size);
        return -1;
    }
    onnx__model_proto__pack(&model, bytes);
    struct atomic_file out;
    int rc = -1;
    if (atomic_open(&out, path, err, errlen) == 0) {
        if (fwrite(bytes, 1, size, out.f) == size) {
            rc = atomic_commit(&out, err, errlen);
        } else {
            snprintf(err, errlen, "%s: write failed", path);
            atomic_abort(&out);
        }
    }
    free(bytes);
    return rc;
}
