/* model.c - see model.h. */
#include "model.h"

#include "idx.h"
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
    struct idx_images im;
    if (idx_read_images(m->st.train_images, &im, err, errlen) < 0)
        return -1;
    double sum = 0.0;
    long n = 0;
    uint32_t count = im.count < 1000 ? im.count : 1000;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *p = im.pixels + (size_t)i * im.rows * im.cols;
        for (uint32_t y = 0; y < im.rows; y++)
            for (uint32_t x = 0; x < im.cols; x++)
                if (y == 0 || x == 0 || y == im.rows - 1 || x == im.cols - 1) {
                    sum += p[y * im.cols + x] / 255.0;
                    n++;
                }
    }
    idx_images_free(&im);
    *answer = n == 0 || sum / n < 0.5;
    return 0;
}

int model_input_image(struct model *m, const char *path, int invert, float *dst, int *inverted, char *err,
                      size_t errlen)
{
    const int H = m->net.input.h, W = m->net.input.w;
    if (m->net.input.c != 1) {
        snprintf(err, errlen, "the network takes %d channels; only gray images are read", m->net.input.c);
        return -1;
    }
    if (invert < 0 && m->light_on_dark < 0) {
        char why[1024];
        if (training_is_light_on_dark(m, &m->light_on_dark, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s (read to decide whether to invert; or give --invert or --no-invert)", why);
            return -1;
        }
    }
    struct image img;
    if (image_read(path, &img, err, errlen) < 0)
        return -1;
    image_resize(&img, dst, H, W);
    image_free(&img);
    *inverted = invert >= 0 ? invert : m->light_on_dark == (image_border_mean(dst, H, W) > 0.5);
    if (*inverted)
        for (long i = 0; i < (long)H * W; i++)
            dst[i] = 1.0f - dst[i];
    return 0;
}

struct layer *model_layer(struct model *m, const char *name)
{
    for (int i = 0; i < m->net.count; i++)
        if (strcmp(m->net.layers[i].name, name) == 0)
            return &m->net.layers[i];
    return NULL;
}
