/* layer.c - the registry of layer types and helpers their parsers share. */
#include "layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct layer_ops *const registry[] = {
    &layer_conv, &layer_maxpool, &layer_avgpool, &layer_globalavgpool, &layer_affine, &layer_relu, &layer_leaky,
    &layer_sigmoid, &layer_tanh, &layer_dropout, &layer_batchnorm, &layer_lrn, &layer_add, &layer_concat,
    &layer_scale, &layer_deconv, &layer_upsample, &layer_crop, &layer_softmax, &layer_l2, &layer_l1, &layer_yolo,
};

#define REGISTRY_COUNT (sizeof registry / sizeof registry[0])

const struct layer_ops *layer_ops_find(const char *type)
{
    for (size_t i = 0; i < REGISTRY_COUNT; i++)
        if (strcmp(registry[i]->type, type) == 0)
            return registry[i];
    return NULL;
}

void layer_type_list(char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < REGISTRY_COUNT && used < len; i++)
        used += snprintf(buf + used, len - used, "%s%s", i ? ", " : "", registry[i]->type);
}

int layer_parse_init(struct config *cfg, struct config_section *s, struct init_spec *out)
{
    struct config_entry *e = config_find(s, "init");
    if (!e)
        return 0;  /* keep the default the caller set */
    const char *v = e->value;
    double arg;
    if (strcmp(v, "he") == 0)
        *out = (struct init_spec){INIT_HE, 0};
    else if (strcmp(v, "xavier") == 0)
        *out = (struct init_spec){INIT_XAVIER, 0};
    else if (strncmp(v, "normal:", 7) == 0 && parse_double(v + 7, &arg) == 0 && arg >= 0 && arg <= 100)
        *out = (struct init_spec){INIT_NORMAL, (float)arg};
    else if (strncmp(v, "uniform:", 8) == 0 && parse_double(v + 8, &arg) == 0 && arg >= 0 && arg <= 100)
        *out = (struct init_spec){INIT_UNIFORM, (float)arg};
    else {
        config_error(cfg, s, e, "'%s' is not an initialiser (expected he, xavier, normal:STD or uniform:A, "
                     "with STD and A from 0 to 100)", v);
        return -1;
    }
    return 0;
}

int layer_parse_pair(struct config *cfg, struct config_section *s, const char *key, int *h, int *w, int def,
                     int min, int max)
{
    char kh[64], kw[64];
    long both, vh, vw;
    snprintf(kh, sizeof kh, "%s_h", key);
    snprintf(kw, sizeof kw, "%s_w", key);
    int rc = 0;
    if (config_get_int(cfg, s, key, &both, def, min, max) < 0)
        rc = -1;
    if (config_get_int(cfg, s, kh, &vh, both, min, max) < 0)
        rc = -1;
    if (config_get_int(cfg, s, kw, &vw, both, min, max) < 0)
        rc = -1;
    *h = (int)vh;
    *w = (int)vw;
    return rc;
}

struct param *layer_add_param(struct layer *l, const char *name, int rank, const int *dims, int fan_in,
                              struct init_spec init)
{
    struct param *p = &l->params[l->param_count++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->rank = rank;
    p->size = 1;
    for (int i = 0; i < rank; i++) {
        p->dims[i] = dims[i];
        p->size *= dims[i];
    }
    p->fan_in = fan_in;
    p->init = init;
    p->trainable = 1;
    return p;
}

struct param *layer_add_statistic(struct layer *l, const char *name, int count, float value)
{
    int dims[1] = {count};
    struct param *p = layer_add_param(l, name, 1, dims, 1, (struct init_spec){INIT_CONSTANT, value});
    p->trainable = 0;
    return p;
}

int layer_parse_rounding(struct config *cfg, struct config_section *s, int *floor)
{
    *floor = 0;
    struct config_entry *e = config_find(s, "rounding");
    if (!e || strcmp(e->value, "exact") == 0)
        return 0;
    if (strcmp(e->value, "floor") == 0) {
        *floor = 1;
        return 0;
    }
    config_error(cfg, s, e, "'%s' is not a rounding (expected exact or floor)", e->value);
    return -1;
}

void layer_size_error(char *err, size_t errlen, const char *what, int in, int k, int stride, int pad)
{
    long span = (long)in + 2L * pad - k;
    if (span < 0)
        snprintf(err, errlen, "%s: the window (%d) is larger than the padded input (%d + 2*%d = %ld)", what, k,
                 in, pad, (long)in + 2L * pad);
    else
        snprintf(err, errlen,
                 "%s: (%d + 2*%d - %d)/%d + 1 is not a whole number (OH = (H + 2P - FH)/S + 1); "
                 "change size, stride or pad, or set rounding = floor",
                 what, in, pad, k, stride);
}
