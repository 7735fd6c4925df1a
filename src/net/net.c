/* net.c - building a network from the config, and running it. */
#include "net.h"

#include "activation.h"
#include "boxes.h"
#include "cpu.h"
#include "cpu_target.h"
#include "pool.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *alloc_floats(long count)
{
    size_t bytes = (size_t)cache_line_floats(count > 0 ? count : 1) * sizeof(float);
    float *p = aligned_alloc(64, bytes);
    if (p)
        memset(p, 0, bytes);  /* fault the pages in now, not during the first steps */
    return p;
}

int net_is_settings_section(const char *name)
{
    return strcmp(name, "data") == 0 || strcmp(name, "train") == 0 || strcmp(name, "net") == 0 ||
           strcmp(name, "augment") == 0;
}

static int find_layer(const struct net *net, int before, const char *name)
{
    for (int i = 0; i < before; i++)
        if (strcmp(net->layers[i].name, name) == 0)
            return i;
    return -1;
}

/* Parse "a, b" into layer indices. */
static int parse_inputs(struct net *net, int index, struct config *cfg, struct config_section *s)
{
    struct layer *l = &net->layers[index];
    struct config_entry *e = config_find(s, "input");
    if (!e) {
        l->input_count = 1;
        l->inputs[0] = index - 1;  /* -1: the network input */
        if (l->ops->min_inputs > 1) {
            config_error(cfg, s, NULL, "input: missing (type %s joins %d or more layers: input = a, b)",
                         l->ops->type, l->ops->min_inputs);
            return -1;
        }
        return 0;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s", e->value);
    l->input_count = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = 0;
        int src = find_layer(net, index, tok);
        if (src < 0) {
            if (config_section(cfg, tok) && !net_is_settings_section(tok))
                config_error(cfg, s, e, "'%s' comes later in the file; a layer reads only earlier layers", tok);
            else
                config_error(cfg, s, e, "no layer named '%s'", tok);
            return -1;
        }
        if (l->input_count == LAYER_MAX_INPUTS) {
            config_error(cfg, s, e, "more than %d inputs", LAYER_MAX_INPUTS);
            return -1;
        }
        l->inputs[l->input_count++] = src;
    }
    int lo = l->ops->min_inputs ? l->ops->min_inputs : 1, hi = l->ops->max_inputs ? l->ops->max_inputs : 1;
    if (l->input_count < lo || l->input_count > hi) {
        if (lo == hi)
            config_error(cfg, s, e, "type %s takes exactly %d input%s, not %d", l->ops->type, lo, lo == 1 ? "" : "s",
                         l->input_count);
        else
            config_error(cfg, s, e, "type %s takes %d to %d inputs, not %d", l->ops->type, lo, hi, l->input_count);
        return -1;
    }
    return 0;
}

/* A fused activation shares its producer's tensors and a conv that pools
 * writes its pool's: neither has tensors of its own. A fused pool keeps
 * its own. */
static int has_own_output(const struct net *net, const struct layer *l)
{
    if (l->pool)
        return 0;
    return !l->fused || net->layers[l->fused_by].pool == l;
}

long net_output_floats(const struct net *net, const struct layer *l)
{
    if (l->pool)
        return shape_size(l->pool->out);
    if (!has_own_output(net, l))
        return net_output_floats(net, &net->layers[l->fused_by]);
    return shape_size(l->out);
}

static int allocate(struct net *net)
{
    /* parameters, and statistics */
    long total = 0, stats = 0;
    for (int i = 0; i < net->count; i++)
        for (int j = 0; j < net->layers[i].param_count; j++) {
            const struct param *p = &net->layers[i].params[j];
            if (p->trainable)
                total += cache_line_floats(p->size);
            else
                stats += cache_line_floats(p->size);
        }
    net->param_floats = total;
    net->statistic_floats = stats;
    net->params = alloc_floats(total);
    net->grads = alloc_floats(total);
    net->statistics = alloc_floats(stats);
    /* activations, their gradients, layer state */
    long acts = 0, scratch = 0, partial = 0;
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        long out = has_own_output(net, l) ? cache_line_floats((long)net->batch * shape_size(l->out)) : 0;
        acts += out + (l->ops->is_loss ? 0 : out) + cache_line_floats((long)net->batch * l->state_floats);
        if (l->scratch_floats > scratch)
            scratch = l->scratch_floats;
        if (l->partial_floats > partial)
            partial = l->partial_floats;
    }
    net->activations = alloc_floats(acts);
    net->activation_floats = acts;
    net->input_data = alloc_floats((long)net->batch * shape_size(net->input));
    net->scratch_stride = cache_line_floats(scratch);
    net->scratch = alloc_floats(net->scratch_stride * net->threads);
    net->partial_stride = cache_line_floats(partial);
    net->partials = alloc_floats(net->partial_stride * LAYER_GRADIENT_CHUNKS);
    if (!net->params || !net->grads || !net->statistics || !net->activations || !net->input_data || !net->scratch ||
        !net->partials)
        return -1;
    if (gemm_ctx_init(&net->gemm, net->threads, cpu_target_select()) < 0)
        return -1;
    cpu_flush_denormals(net->threads);

    float *p = net->params, *g = net->grads, *st = net->statistics, *a = net->activations;
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        for (int j = 0; j < l->param_count; j++) {
            struct param *pa = &l->params[j];
            if (pa->trainable) {
                pa->data = p;
                pa->grad = g;
                p += cache_line_floats(pa->size);
                g += cache_line_floats(pa->size);
            } else {
                pa->data = st;
                pa->grad = NULL;
                st += cache_line_floats(pa->size);
            }
        }
        if (!has_own_output(net, l))
            continue;
        long out = cache_line_floats((long)net->batch * shape_size(l->out));
        l->y = a;
        a += out;
        if (!l->ops->is_loss) {
            l->dy = a;
            a += out;
        }
        if (l->state_floats) {
            l->state = a;
            a += cache_line_floats((long)net->batch * l->state_floats);
        }
    }
    /* A conv that pools its output writes the pool's tensors; an activation
     * its producer applies shares the producer's (in this order: the
     * producer may be such a conv). */
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        if (l->pool) {
            l->y = l->pool->y;
            l->dy = l->pool->dy;
            l->state = l->pool->state;
        }
    }
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        if (l->fused && !has_own_output(net, l)) {
            l->y = net->layers[l->inputs[0]].y;
            l->dy = net->layers[l->inputs[0]].dy;
        }
    }
    /* Wire inputs. In backward order the first layer to write a gradient
     * overwrites it; later ones (a tensor with several readers) add. */
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        for (int k = 0; k < l->input_count; k++) {
            int src = l->inputs[k];
            l->x[k] = src < 0 ? net->input_data : net->layers[src].y;
            l->dx[k] = src < 0 ? NULL : net->layers[src].dy;
            l->dx_overwrite[k] = 1;
            for (int m = 0; m < k; m++)   /* the same tensor twice: the first writes, the second adds */
                if (l->inputs[m] == src)
                    l->dx_overwrite[k] = 0;
            for (int later = i + 1; later < net->count; later++)
                for (int m = 0; m < net->layers[later].input_count; m++)
                    if (net->layers[later].inputs[m] == src)
                        l->dx_overwrite[k] = 0;
        }
    }
    return 0;
}

int net_build(struct net *net, struct config *cfg, struct shape input, int batch, int threads,
              enum net_fusion fusion)
{
    if (net_plan(net, cfg, input, fusion) < 0)
        return -1;
    return net_allocate(net, cfg, batch, threads);
}

/* Each layer that has a choice of algorithms makes it for the net's GEMM
 * context (layer_ops.choose). */
static void choose_algorithms(struct net *net)
{
    for (int i = 0; i < net->count; i++)
        if (net->layers[i].ops->choose)
            net->layers[i].ops->choose(&net->layers[i], &net->gemm);
}

int net_allocate(struct net *net, struct config *cfg, int batch, int threads)
{
    net->batch = batch;
    net->threads = threads;
    if (allocate(net) < 0) {
        config_error(cfg, NULL, NULL, "out of memory for the network at batch %d", batch);
        net_free(net);
        return -1;
    }
    choose_algorithms(net);
    return 0;
}

void net_use_library(struct net *net, int on)
{
    gemm_use_library(&net->gemm, on);
    choose_algorithms(net);
}

/* An activation layer that alone reads a conv's or affine's output is
 * applied by that layer, in place, while each tile or image is in cache:
 * one pass over the output fewer forward, two fewer backward. The same
 * functions run on the same values, so the results are the same bits. */
static void fuse_activations(struct net *net)
{
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        const struct activation *a = l->ops->activation ? l->ops->activation(l) : NULL;
        const int src = l->inputs[0];
        if (!a || l->input_count != 1 || src < 0 || !net->layers[src].ops->fuse_activation)
            continue;
        int readers = 0;
        for (int j = src + 1; j < net->count; j++)
            for (int k = 0; k < net->layers[j].input_count; k++)
                readers += net->layers[j].inputs[k] == src;
        if (readers == 1 && net->layers[src].ops->fuse_activation(&net->layers[src], a) == 0) {
            l->fused = 1;
            l->fused_by = src;
        }
    }
}

/* A max pool that alone reads a conv's output (or that of an activation
 * fused into the conv) is applied by the conv to each image's output while
 * it is in L2: the conv's full output never goes to memory, and its
 * gradient is rebuilt per image from the pool's (layer_conv.c). Same
 * functions on the same values: the same bits. */
static void fuse_pools(struct net *net)
{
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        const int src = l->inputs[0];
        if (!l->ops->pool_geometry || l->input_count != 1 || src < 0)
            continue;
        const int producer = net->layers[src].fused ? net->layers[src].fused_by : src;
        struct layer *p = &net->layers[producer];
        int readers = 0;
        for (int j = src + 1; j < net->count; j++)
            for (int k = 0; k < net->layers[j].input_count; k++)
                readers += net->layers[j].inputs[k] == src;
        if (readers == 1 && !p->fused && !p->pool && p->ops->fuse_pool && p->ops->fuse_pool(p, l) == 0) {
            p->pool = l;
            l->fused = 1;
            l->fused_by = producer;
        }
    }
}

int net_plan(struct net *net, struct config *cfg, struct shape input, enum net_fusion fusion)
{
    memset(net, 0, sizeof *net);
    net->input = input;
    int layer_sections = 0;
    for (int i = 0; i < cfg->count; i++)
        layer_sections += !net_is_settings_section(cfg->sections[i].name);
    net->layers = calloc(layer_sections ? layer_sections : 1, sizeof *net->layers);
    struct config_section **sections = calloc(layer_sections ? layer_sections : 1, sizeof *sections);
    if (!net->layers || !sections) {
        free(sections);
        config_error(cfg, NULL, NULL, "out of memory");
        net_free(net);
        return -1;
    }
    int failed = 0;

    /* 1. types and settings */
    struct init_spec default_init = {INIT_HE, 0};
    struct config_section *netsec = config_section(cfg, "net");
    if (netsec && layer_parse_init(cfg, netsec, &default_init) < 0)
        failed = 1;
    for (int i = 0; i < cfg->count; i++) {
        struct config_section *s = &cfg->sections[i];
        if (net_is_settings_section(s->name))
            continue;
        struct layer *l = &net->layers[net->count];
        sections[net->count] = s;
        net->count++;
        snprintf(l->name, sizeof l->name, "%s", s->name);
        l->index = net->count - 1;
        if (strlen(s->name) >= LAYER_NAME_MAX) {
            config_error(cfg, s, NULL, "layer name longer than %d characters", LAYER_NAME_MAX - 1);
            failed = 1;
        }
        struct config_entry *type = config_find(s, "type");
        if (!type) {
            config_error(cfg, s, NULL, "type: missing (the layer's kind: conv, maxpool, affine, ...)");
            s->unchecked = 1;   /* which keys it may hold is not known */
            failed = 1;
            continue;
        }
        l->ops = layer_ops_find(type->value);
        if (!l->ops) {
            char list[256];
            layer_type_list(list, sizeof list);
            config_error(cfg, s, type, "unknown layer type '%s' (expected one of: %s)", type->value, list);
            s->unchecked = 1;
            failed = 1;
            continue;
        }
        l->default_init = default_init;
        if (l->ops->parse && l->ops->parse(l, cfg, s) < 0)
            failed = 1;
        if (parse_inputs(net, net->count - 1, cfg, s) < 0)
            failed = 1;
    }
    if (net->count == 0) {
        config_error(cfg, NULL, NULL, "no layers: add sections such as [conv1] with type = conv, "
                     "ending with type = softmax");
        failed = 1;
    }
    if (failed)
        goto fail;

    /* 2. the loss layer: exactly one, last */
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        if (l->ops->is_loss && i != net->count - 1) {
            config_error(cfg, sections[i + 1], NULL, "comes after the loss layer [%s]; the loss layer must be last",
                         l->name);
            failed = 1;
            break;
        }
    }
    if (!failed && !net->layers[net->count - 1].ops->is_loss) {
        config_error(cfg, sections[net->count - 1], NULL,
                     "the last layer must be a loss layer (add a section with type = softmax)");
        failed = 1;
    }
    if (failed)
        goto fail;

    /* 3. shapes, in order */
    for (int i = 0; i < net->count; i++) {
        struct layer *l = &net->layers[i];
        for (int k = 0; k < l->input_count; k++)
            l->in[k] = l->inputs[k] < 0 ? input : net->layers[l->inputs[k]].out;
        char err[512];
        if (l->ops->shape(l, err, sizeof err) < 0) {
            config_error(cfg, sections[i], NULL, "%s (input %d x %d x %d)", err, l->in[0].c, l->in[0].h,
                         l->in[0].w);
            failed = 1;
            break;
        }
        if (shape_size(l->out) > (1L << 28)) {
            config_error(cfg, sections[i], NULL, "output of %ld values per image is too large",
                         shape_size(l->out));
            failed = 1;
            break;
        }
    }
    if (failed)
        goto fail;
    /* every output but the last feeds something */
    for (int i = 0; i < net->count - 1; i++) {
        int used = 0;
        for (int j = i + 1; j < net->count && !used; j++)
            for (int k = 0; k < net->layers[j].input_count; k++)
                used |= net->layers[j].inputs[k] == i;
        if (!used) {
            config_error(cfg, sections[i], NULL, "the output of [%s] is not used by any layer", net->layers[i].name);
            failed = 1;
        }
    }
    if (failed)
        goto fail;
    const struct shape loss_out = net->layers[net->count - 1].out;
    const struct layer *loss = &net->layers[net->count - 1];
    net->classes = loss->ops->class_count ? loss->ops->class_count(loss) : loss_out.c;
    net->boxes = loss->ops->boxes;
    net->label_units = net->boxes ? (int)BOX_LABEL_BYTES : loss_out.h * loss_out.w;
    net->ignore_label = -1;
    if (fusion == NET_FUSE) {
        fuse_activations(net);
        fuse_pools(net);
    }
    free(sections);
    return 0;
fail:
    free(sections);
    net_free(net);
    return -1;
}

void net_free(struct net *net)
{
    if (net->layers)
        for (int i = 0; i < net->count; i++)
            free(net->layers[i].conf);
    free(net->layers);
    free(net->params);
    free(net->grads);
    free(net->statistics);
    free(net->input_data);
    free(net->activations);
    free(net->scratch);
    free(net->partials);
    if (net->gemm.buffers)
        gemm_ctx_free(&net->gemm);
    memset(net, 0, sizeof *net);
}

void net_init_params(struct net *net, uint64_t seed)
{
    struct rng rng;
    rng_seed(&rng, seed, RNG_STREAM_INIT);
    for (int i = 0; i < net->count; i++)
        for (int j = 0; j < net->layers[i].param_count; j++) {
            struct param *p = &net->layers[i].params[j];
            float scale = 0.0f;
            switch (p->init.kind) {
            case INIT_HE: scale = sqrtf(2.0f / p->fan_in); break;
            case INIT_XAVIER: scale = sqrtf(1.0f / p->fan_in); break;
            case INIT_NORMAL: scale = p->init.arg; break;
            case INIT_UNIFORM: scale = p->init.arg; break;
            case INIT_ZERO: break;
            case INIT_CONSTANT: break;
            }
            for (long e = 0; e < p->size; e++) {
                if (p->init.kind == INIT_ZERO || p->init.kind == INIT_CONSTANT)
                    p->data[e] = p->init.arg;
                else if (p->init.kind == INIT_UNIFORM)
                    p->data[e] = scale * (2.0f * rng_uniform(&rng) - 1.0f);
                else
                    p->data[e] = scale * rng_normal(&rng);
            }
        }
}

struct layer_run net_layer_run(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass)
{
    const struct net_pass inference = {0};
    const struct net_pass *p = pass ? pass : &inference;
    return (struct layer_run){.n = n,
                              .threads = net->threads,
                              .gemm = &net->gemm,
                              .scratch = net->scratch,
                              .scratch_stride = net->scratch_stride,
                              .partials = net->partials,
                              .partial_stride = net->partial_stride,
                              .labels = labels,
                              .train = pass != NULL,
                              .seed = p->seed,
                              .step = p->step,
                              .image_base = p->image_base,
                              .batch_total = p->batch_total,
                              .frozen = net->frozen,
                              .ignore_label = net->ignore_label};
}

double net_forward(struct net *net, int n, const uint8_t *labels, int *correct, const struct net_pass *pass)
{
    struct layer_run run = net_layer_run(net, n, labels, pass);
    /* a fused layer is run by the layer it names (fused_by) */
    for (int i = 0; i < net->count; i++)
        if (!net->layers[i].fused)
            net->layers[i].ops->forward(&net->layers[i], &run);
    if (!labels)
        return 0.0;
    struct layer *last = &net->layers[net->count - 1];
    return last->ops->loss(last, &run, correct);
}

void net_backward_each(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass,
                       void (*done)(void *ctx, struct layer *l), void *ctx)
{
    struct layer_run run = net_layer_run(net, n, labels, pass);
    for (int i = net->count - 1; i >= 0; i--) {
        if (!net->layers[i].fused)
            net->layers[i].ops->backward(&net->layers[i], &run);
        if (done)
            done(ctx, &net->layers[i]);
    }
}

void net_batch_gradients(struct net *net, struct layer *l, const float *x, const float *dy, int n)
{
    const struct net_pass whole = {0};
    struct layer_run run = net_layer_run(net, n, NULL, &whole);
    l->ops->batch_gradients(l, &run, x, dy, n);
}

void net_backward(struct net *net, int n, const uint8_t *labels, const struct net_pass *pass)
{
    net_backward_each(net, n, labels, pass, NULL, NULL);
}

const float *net_probabilities(const struct net *net)
{
    return net->layers[net->count - 1].y;
}

static void format_count(double v, char *buf, size_t len)
{
    if (v >= 1e9)
        snprintf(buf, len, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, len, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, len, "%.1fK", v / 1e3);
    else
        snprintf(buf, len, "%.0f", v);
}

void net_print_summary(const struct net *net, FILE *out)
{
    fprintf(out, "%-16s %-13s %-14s %10s %12s\n", "layer", "type", "output (CxHxW)", "params", "flops/image");
    char shape[64], params[32], flops[32];
    snprintf(shape, sizeof shape, "%dx%dx%d", net->input.c, net->input.h, net->input.w);
    fprintf(out, "%-16s %-13s %-14s %10s %12s\n", "(input)", "", shape, "0", "0");
    long total_params = 0;
    double total_flops = 0;
    for (int i = 0; i < net->count; i++) {
        const struct layer *l = &net->layers[i];
        long n = 0;
        for (int j = 0; j < l->param_count; j++)
            if (l->params[j].trainable)   /* not batchnorm's running statistics */
                n += l->params[j].size;
        total_params += n;
        total_flops += l->flops;
        snprintf(shape, sizeof shape, "%dx%dx%d", l->out.c, l->out.h, l->out.w);
        snprintf(params, sizeof params, "%ld", n);
        format_count(l->flops, flops, sizeof flops);
        fprintf(out, "%-16s %-13s %-14s %10s %12s\n", l->name, l->ops->type, shape, params, flops);
    }
    format_count(total_flops, flops, sizeof flops);
    fprintf(out, "%-16s %-13s %-14s %10ld %12s\n", "total", "", "", total_params, flops);
    const char *sep = "fused (run by an earlier layer while its output is in cache; the same results):";
    for (int i = 0; i < net->count; i++)
        if (net->layers[i].fused) {
            fprintf(out, "%s %s into %s", sep, net->layers[i].name, net->layers[net->layers[i].fused_by].name);
            sep = ",";
        }
    if (*sep == ',')
        fputc('\n', out);
}
