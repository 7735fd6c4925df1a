/* model.c - see model.h. */
#include "model.h"

#include "source.h"
#include "image.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static int config_failed(struct model *m, char *err, size_t errlen)
{
    config_sort_errors(&m->cfg);
    snprintf(err, errlen, "%s", m->cfg.error_count ? m->cfg.errors[0] : "bad embedded config");
    return -1;
}

int model_load(struct model *m, const char *path, int batch, int threads, enum net_fusion fusion, char *err,
               size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->light_on_dark = -1;
    if (ckpt_read(path, &m->ck, err, errlen) < 0)
        return -1;
    char label[PATH_MAX + 32];
    snprintf(label, sizeof label, "%s (embedded config)", path);
    if (config_load_text(&m->cfg, label, ".", m->ck.config, m->ck.config_len) < 0 ||
        settings_read(&m->st, &m->cfg, "model") < 0) {
        config_failed(m, err, errlen);
        model_free(m);
        return -1;
    }
    int c, h, w;
    if (settings_input_shape(&m->st, &c, &h, &w, err, errlen) < 0) {
        model_free(m);
        return -1;
    }
    struct shape input = {c, h, w};
    if (net_build(&m->net, &m->cfg, input, batch > 0 ? batch : (int)m->st.batch, threads, fusion) < 0) {
        config_failed(m, err, errlen);
        model_free(m);
        return -1;
    }
    if (ckpt_load_params(&m->ck, &m->net, path, err, errlen) < 0) {
        model_free(m);
        return -1;
    }
    if (settings_resolve_normalisation(&m->st, c, NULL, 0, err, errlen) < 0) {
        model_free(m);
        return -1;
    }
    if (settings_check_classes(&m->st, &m->cfg, m->net.classes) < 0) {
        config_failed(m, err, errlen);
        model_free(m);
        return -1;
    }
    return 0;
}

void model_free(struct model *m)
{
    net_free(&m->net);
    settings_free(&m->st);
    config_free(&m->cfg);
    ckpt_free(&m->ck);
}

/* Are the training images light on dark? The border pixels of the first
 * thousand say (MNIST and Fashion-MNIST: black borders). */
static int training_is_light_on_dark(const struct model *m, int *answer, char *err, size_t errlen)
{
    struct dataset d;
    if (data_source_load(&m->st.train, &d, err, errlen) < 0)
        return -1;
    double sum = 0.0;
    long n = 0;
    const int H = d.shape.h, W = d.shape.w, count = d.count < 1000 ? d.count : 1000;
    for (int i = 0; i < count; i++) {
        const long at = (long)i * shape_size(d.shape);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if (y == 0 || x == 0 || y == H - 1 || x == W - 1) {
                    sum += d.pixels ? d.pixels[at + y * W + x] / 255.0 : d.values[at + y * W + x];
                    n++;
                }
    }
    dataset_free(&d);
    *answer = n == 0 || sum / n < 0.5;
    return 0;
}

int model_input_image(struct model *m, const char *path, int invert, float *dst, int *inverted, char *err,
                      size_t errlen)
{
    const int C = m->net.input.c, H = m->net.input.h, W = m->net.input.w;
    const long plane = (long)H * W;
    if (C != 1 && C != 3) {
        snprintf(err, errlen, "the network takes %d channels; images are read as gray (1) or colour (3)", C);
        return -1;
    }
    /* inverting is for gray digits and clothes: light on dark or not */
    if (C == 1 && invert < 0 && m->light_on_dark < 0) {
        char why[1024];
        if (training_is_light_on_dark(m, &m->light_on_dark, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s (read to decide whether to invert; or give --invert or --no-invert)", why);
            return -1;
        }
    }
    struct image img;
    if (image_read(path, C, &img, err, errlen) < 0)
        return -1;
    image_resize(&img, dst, H, W);
    image_free(&img);
    *inverted = invert >= 0 ? invert : C == 1 && m->light_on_dark == (image_border_mean(dst, H, W) > 0.5);
    if (*inverted)
        for (long i = 0; i < C * plane; i++)
            dst[i] = 1.0f - dst[i];
    /* as the training batches were */
    if (m->st.norm_mean)
        for (int c = 0; c < C; c++)
            for (long i = 0; i < plane; i++)
                dst[c * plane + i] = (dst[c * plane + i] - m->st.norm_mean[c]) * m->st.norm_inv_std[c];
    return 0;
}

struct layer *model_layer(struct model *m, const char *name)
{
    for (int i = 0; i < m->net.count; i++)
        if (strcmp(m->net.layers[i].name, name) == 0)
            return &m->net.layers[i];
    return NULL;
}
