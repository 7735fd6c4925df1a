/* check_config.c - every config mistake gives its one exact line. */
#include "test_util.h"
#include "settings.h"

#include <ctype.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRELUDE "[data]\ndir = .\n[train]\nepochs = 1\n"   /* lines 1-4 */
#define SIMPLE_NET "[c1]\ntype = conv\nfilters = 2\nsize = 5\n[fc]\ntype = affine\noutputs = 10\n[loss]\ntype = softmax\n"

/* Runs the checks `cnnctl train` runs (minus the data) and returns every
 * error joined by newlines ("" when the config is fine). */
static char *errors_for(const char *text, const char *set1, const char *set2)
{
    struct config cfg;
    struct settings st = {0};
    static char joined[8192];
    joined[0] = 0;
    if (config_load_text(&cfg, "test.ini", ".", text, strlen(text)) == 0) {
        if (set1)
            config_set(&cfg, set1);
        if (set2)
            config_set(&cfg, set2);
        /* as cnnctl's prepare(): every check runs, whatever failed before */
        settings_read(&st, &cfg, "test");
        struct net net;
        if (net_plan(&net, &cfg, (struct shape){1, 28, 28}, NET_FUSE) == 0)
            net_free(&net);
        config_check_unused(&cfg);
        config_sort_errors(&cfg);
    }
    for (int i = 0; i < cfg.error_count; i++) {
        strcat(joined, cfg.errors[i]);
        if (i + 1 < cfg.error_count)
            strcat(joined, "\n");
    }
    settings_free(&st);
    config_free(&cfg);
    return joined;
}

static void expect(const char *text, const char *set, const char *want)
{
    const char *got = errors_for(text, set, NULL);
    ck_assert_msg(strcmp(got, want) == 0, "config:\n%s\nwant: %s\ngot:  %s", text, want, got);
}

START_TEST(test_valid_config)
{
    expect(PRELUDE SIMPLE_NET, NULL, "");
}
END_TEST

START_TEST(test_unknown_key)
{
    expect(PRELUDE "[c1]\ntype = conv\nfilters = 2\nsize = 5\nstrid = 2\n[loss]\ntype = softmax\n", NULL,
           "test.ini:9: [c1] strid: unknown key (did you mean 'stride'?)");
}
END_TEST

START_TEST(test_unknown_layer_type)
{
    expect(PRELUDE "[c1]\ntype = convolution\n[loss]\ntype = softmax\n", NULL,
           "test.ini:6: [c1] type: unknown layer type 'convolution' (expected one of: conv, maxpool, avgpool, "
           "globalavgpool, affine, relu, leaky, sigmoid, tanh, dropout, batchnorm, lrn, add, concat, scale, "
           "deconv, upsample, crop, softmax, l2, l1, yolo)");
}
END_TEST

START_TEST(test_bad_numbers)
{
    expect(PRELUDE "[c1]\ntype = conv\nfilters = 3x\nsize = 5\n[loss]\ntype = softmax\n", NULL,
           "test.ini:7: [c1] filters: '3x' is not a whole number");
    expect(PRELUDE "[c1]\ntype = conv\nfilters = 3\nsize = -5\n[loss]\ntype = softmax\n", NULL,
           "test.ini:8: [c1] size: -5 is out of range (expected 1 to 1024)");
    expect("[data]\n[train]\nepochs = 99999999999999999999999\n" SIMPLE_NET, NULL,
           "test.ini:3: [train] epochs: 99999999999999999999999 is out of range (expected 1 to 1000000)");
    expect("[data]\n[train]\nlr =\n" SIMPLE_NET, NULL, "test.ini:3: [train] lr: '' is not a number");
    expect("[data]\n[train]\nlr = 0.1 0.2\n" SIMPLE_NET, NULL, "test.ini:3: [train] lr: '0.1 0.2' is not a number");
    expect("[data]\n[train]\nlr = nan\n" SIMPLE_NET, NULL, "test.ini:3: [train] lr: 'nan' is not a number");
    expect("[data]\n[train]\nbatch = 0\n" SIMPLE_NET, NULL,
           "test.ini:3: [train] batch: 0 is out of range (expected 1 to 65536)");
}
END_TEST

START_TEST(test_missing_keys)
{
    expect(PRELUDE "[c1]\ntype = conv\nsize = 5\n[loss]\ntype = softmax\n", NULL,
           "test.ini:5: [c1] filters: missing (the number of output channels)");
    expect(PRELUDE "[c1]\nfilters = 2\n[loss]\ntype = softmax\n", NULL,
           "test.ini:5: [c1] type: missing (the layer's kind: conv, maxpool, affine, ...)");
    expect("[train]\n" SIMPLE_NET, NULL, "test.ini: no [data] section (it names the IDX files to train on)");
}
END_TEST

START_TEST(test_duplicate_layer_name)
{
    expect(PRELUDE "[c1]\ntype = conv\nfilters = 2\nsize = 5\n[c1]\ntype = relu\n[loss]\ntype = softmax\n", NULL,
           "test.ini:9: [c1] defined again (first at line 5); layer names must be unique");
    expect(PRELUDE "[c1]\ntype = relu\ntype = relu\n[loss]\ntype = softmax\n", NULL,
           "test.ini:7: [c1] type: given twice (first at line 6)");
}
END_TEST

START_TEST(test_output_size_not_whole)
{
    expect(PRELUDE "[c1]\ntype = conv\nfilters = 2\nsize = 5\nstride = 2\n[loss]\ntype = softmax\n", NULL,
           "test.ini:5: [c1] output height: (28 + 2*0 - 5)/2 + 1 is not a whole number (OH = (H + 2P - FH)/S + 1); "
           "change size, stride or pad, or set rounding = floor (input 1 x 28 x 28)");
    expect(PRELUDE "[c1]\ntype = conv\nfilters = 2\nsize = 5\nstride = 2\nrounding = up\n[loss]\ntype = softmax\n",
           NULL, "test.ini:10: [c1] rounding: 'up' is not a rounding (expected exact or floor)");
    expect(PRELUDE "[p]\ntype = maxpool\nsize = 30\n[loss]\ntype = softmax\n", NULL,
           "test.ini:5: [p] output height: the window (30) is larger than the padded input (28 + 2*0 = 28) "
           "(input 1 x 28 x 28)");
}
END_TEST

START_TEST(test_loss_layer_placement)
{
    expect(PRELUDE "[loss]\ntype = softmax\n[fc]\ntype = affine\noutputs = 3\n", NULL,
           "test.ini:7: [fc] comes after the loss layer [loss]; the loss layer must be last");
    expect(PRELUDE "[fc]\ntype = affine\noutputs = 3\n", NULL,
           "test.ini:5: [fc] the last layer must be a loss layer (add a section with type = softmax)");
    expect(PRELUDE, NULL, "test.ini: no layers: add sections such as [conv1] with type = conv, ending with type = softmax");
}
END_TEST

START_TEST(test_inputs)
{
    expect(PRELUDE "[c1]\ntype = relu\n[c2]\ntype = relu\ninput = nosuch\n[loss]\ntype = softmax\n", NULL,
           "test.ini:9: [c2] input: no layer named 'nosuch'");
    expect(PRELUDE "[c1]\ntype = relu\ninput = loss\n[loss]\ntype = softmax\n", NULL,
           "test.ini:7: [c1] input: 'loss' comes later in the file; a layer reads only earlier layers");
    expect(PRELUDE "[a]\ntype = relu\n[b]\ntype = relu\n[loss]\ntype = softmax\ninput = a\n", NULL,
           "test.ini:7: [b] the output of [b] is not used by any layer");
    /* graphs: input counts, shapes that do not join */
    expect(PRELUDE "[a]\ntype = relu\n[b]\ntype = add\n[loss]\ntype = softmax\n", NULL,
           "test.ini:7: [b] input: missing (type add joins 2 or more layers: input = a, b)");
    expect(PRELUDE "[a]\ntype = relu\n[b]\ntype = relu\ninput = a, a\n[loss]\ntype = softmax\n", NULL,
           "test.ini:9: [b] input: type relu takes exactly 1 input, not 2");
    expect(PRELUDE "[a]\ntype = relu\n[b]\ntype = scale\ninput = a, a, a\n[loss]\ntype = softmax\n", NULL,
           "test.ini:9: [b] input: type scale takes exactly 2 inputs, not 3");
    expect(PRELUDE "[a]\ntype = conv\nfilters = 2\nsize = 3\n[b]\ntype = conv\nfilters = 2\nsize = 1\ninput = a\n"
           "[c]\ntype = conv\nfilters = 2\nsize = 3\ninput = a\n[sum]\ntype = add\ninput = b, c\n"
           "[loss]\ntype = softmax\n", NULL,
           "test.ini:19: [sum] add needs inputs of one shape, but input 1 is 2 x 26 x 26 and input 2 is 2 x 24 x 24 "
           "(a 1x1 conv with a stride on the shortcut matches them) (input 2 x 26 x 26)");
    expect(PRELUDE "[a]\ntype = conv\nfilters = 2\nsize = 3\n[b]\ntype = maxpool\n[c]\ntype = concat\ninput = a, b\n"
           "[loss]\ntype = softmax\n", NULL,
           "test.ini:11: [c] concat joins channels of one height and width, but input 1 is 2 x 26 x 26 and input 2 "
           "is 2 x 13 x 13 (input 2 x 26 x 26)");
    expect(PRELUDE "[a]\ntype = conv\nfilters = 2\nsize = 3\n[b]\ntype = scale\ninput = a, a\n"
           "[loss]\ntype = softmax\n", NULL,
           "test.ini:9: [b] scale needs one weight per channel of input 1 (2 x 26 x 26), but input 2 is 2 x 26 x 26 "
           "(input 2 x 26 x 26)");
}
END_TEST

START_TEST(test_layer_keys)
{
    expect(PRELUDE "[a]\ntype = conv\nfilters = 3\nsize = 3\ngroups = 2\n[loss]\ntype = softmax\n", NULL,
           "test.ini:5: [a] groups = 2 must divide both the input channels (1) and filters (3) (input 1 x 28 x 28)");
    expect(PRELUDE "[a]\ntype = conv\nfilters = 3\nsize = 3\nactivation = gelu\n[loss]\ntype = softmax\n", NULL,
           "test.ini:9: [a] activation: 'gelu' is not an activation (expected none, relu, leaky, sigmoid or tanh)");
    expect(PRELUDE "[a]\ntype = conv\nfilters = 3\nsize = 3\ndilation = 14\n[loss]\ntype = softmax\n", NULL,
           "test.ini:5: [a] output height: the window (29) is larger than the padded input (28 + 2*0 = 28)"
           " (input 1 x 28 x 28)");
    expect(PRELUDE "[a]\ntype = lrn\nsize = 4\n[loss]\ntype = softmax\n", NULL,
           "test.ini:7: [a] size: must be odd (a window centred on each channel)");
    expect(PRELUDE "[a]\ntype = dropout\nrate = 1\n[loss]\ntype = softmax\n", NULL,
           "test.ini:7: [a] rate: 1 is out of range (expected 0 to 0.95)");
    expect(PRELUDE "[a]\ntype = relu\nslope = 0.1\n[loss]\ntype = softmax\n", NULL,
           "test.ini:7: [a] slope: unknown key");
}
END_TEST

/* Debian's inih glues an indented line to the previous value; our reader
 * normalises indentation so it is a key of its own. */
START_TEST(test_indentation_normalised)
{
    struct config cfg;
    const char *text = "[data]\n  dir = x\n[train]\n    epochs = 3\n\tbatch = 7\n";
    ck_assert_int_eq(config_load_text(&cfg, "t.ini", ".", text, strlen(text)), 0);
    struct config_section *train = config_section(&cfg, "train");
    ck_assert_int_eq(train->count, 2);
    ck_assert_str_eq(config_find(train, "epochs")->value, "3");
    ck_assert_str_eq(config_find(train, "batch")->value, "7");
    ck_assert_int_eq(config_find(train, "batch")->line, 5);
    config_free(&cfg);
}
END_TEST

START_TEST(test_line_errors)
{
    char text[1024];
    char long_value[300];
    memset(long_value, 'x', 250);
    long_value[250] = 0;
    snprintf(text, sizeof text, PRELUDE "[c1]\ntype = relu\nname = %s\n[loss]\ntype = softmax\n", long_value);
    expect(text, NULL, "test.ini:7: line is longer than 198 characters");
    expect("epochs = 3\n" PRELUDE SIMPLE_NET, NULL, "test.ini:1: key outside any [section]");
    expect(PRELUDE "[c1\ntype = relu\n[loss]\ntype = softmax\n", NULL, "test.ini:5: section header without ']'");
    expect(PRELUDE "just words\n" SIMPLE_NET, NULL,
           "test.ini:5: expected 'key = value', a [section] header or a comment");
    expect(PRELUDE "[c 1!]\n" SIMPLE_NET, NULL,
           "test.ini:5: section name 'c 1!': use letters, digits, '_', '-' and '.'");
    /* several errors: all reported */
    expect(PRELUDE "[c1]\ntype = conv\nfilters = x\nsize = 0\n[loss]\ntype = softmax\n", NULL,
           "test.ini:7: [c1] filters: 'x' is not a whole number\n"
           "test.ini:8: [c1] size: 0 is out of range (expected 1 to 1024)");
}
END_TEST

START_TEST(test_binary_garbage)
{
    struct config cfg;
    const char text[] = "[data]\n\x01\x02\x00\xff garbage";
    ck_assert_int_eq(config_load_text(&cfg, "t.ini", ".", text, sizeof text - 1), -1);
    ck_assert_str_eq(cfg.errors[0], "t.ini: binary data (a NUL byte at byte offset 9); expected an INI text");
    config_free(&cfg);
    expect("\x01\x02\x03\n" PRELUDE SIMPLE_NET, NULL,
           "test.ini:1: expected 'key = value', a [section] header or a comment");
}
END_TEST

START_TEST(test_set_overrides)
{
    const char *got = errors_for(PRELUDE SIMPLE_NET, "train.lrr=0.1", NULL);
    ck_assert_str_eq(got, "--set train.lrr=0.1: [train] lrr: unknown key (did you mean 'lr'?)");
    /* an empty number from --set takes the key back to its default: epochs
     * gives way to iterations; in the file, empty is an error */
    ck_assert_str_eq(errors_for(PRELUDE SIMPLE_NET, "train.epochs=", "train.iterations=7"), "");
    /* an override of one of two keys that exclude each other replaces the
     * file's other key (and both in the file, or both as overrides, is an
     * error) */
    ck_assert_str_eq(errors_for(PRELUDE SIMPLE_NET, "train.iterations=7", NULL), "");
    ck_assert_str_eq(errors_for(PRELUDE "iterations = 3\n" SIMPLE_NET, NULL, NULL),
                     "test.ini:5: [train] iterations: give epochs or iterations, not both");
    ck_assert_str_eq(errors_for("[data]\ndir = .\n[train]\n" SIMPLE_NET, "train.iterations=7", "train.epochs=2"),
                     "--set train.iterations=7: [train] iterations: give epochs or iterations, not both");
    ck_assert_str_eq(errors_for("[data]\ndir = .\n[train]\nepochs =\n" SIMPLE_NET, NULL, NULL),
                     "test.ini:4: [train] epochs: '' is not a whole number");
    got = errors_for(PRELUDE SIMPLE_NET, "nosuch.x=1", NULL);
    ck_assert_str_eq(got, "--set nosuch.x=1: no section [nosuch] in test.ini");
    got = errors_for(PRELUDE SIMPLE_NET, "train.lr", NULL);
    ck_assert_str_eq(got, "--set train.lr: expected section.key=value");
    got = errors_for(PRELUDE SIMPLE_NET, "c1.filters=zero", NULL);
    ck_assert_str_eq(got, "--set c1.filters=zero: [c1] filters: 'zero' is not a whole number");
    got = errors_for(PRELUDE SIMPLE_NET, "train.lr=0.05", "data.test_images=");
    ck_assert_str_eq(got, "");

    /* an override replaces the value and shows in the text a checkpoint embeds */
    struct config cfg;
    ck_assert_int_eq(config_load_text(&cfg, "t.ini", ".", PRELUDE SIMPLE_NET, strlen(PRELUDE SIMPLE_NET)), 0);
    ck_assert_int_eq(config_set(&cfg, "c1.filters=7"), 0);
    ck_assert_int_eq(config_set(&cfg, "train.lr=0.05"), 0);
    char *text = config_to_text(&cfg, NULL);
    ck_assert_ptr_nonnull(strstr(text, "[c1]\ntype = conv\nfilters = 7\n"));
    ck_assert_ptr_nonnull(strstr(text, "[train]\nepochs = 1\nlr = 0.05\n"));
    /* and the text parses back to the same config */
    struct config again;
    ck_assert_int_eq(config_load_text(&again, "again", ".", text, strlen(text)), 0);
    char *text2 = config_to_text(&again, NULL);
    ck_assert_str_eq(text, text2);
    free(text);
    free(text2);
    config_free(&again);
    config_free(&cfg);
}
END_TEST

START_TEST(test_settings_rules)
{
    expect("[data]\n[train]\nepochs = 2\niterations = 100\n" SIMPLE_NET, NULL,
           "test.ini:4: [train] iterations: give epochs or iterations, not both");
    expect("[data]\n[train]\noptimizer = adamw\n" SIMPLE_NET, NULL,
           "test.ini:3: [train] optimizer: unknown optimizer 'adamw' (expected sgd, momentum, nesterov, adagrad, rmsprop or adam)");
    expect("[data]\n[train]\n[net]\ninit = gauss\n" SIMPLE_NET, NULL,
           "test.ini:4: [net] init: 'gauss' is not an initialiser (expected he, xavier, normal:STD or uniform:A, "
           "with STD and A from 0 to 100)");
    struct config cfg;
    struct settings st;
    const char *text = "[data]\ndir = sub\ntest_images =\n[train]\n" SIMPLE_NET;
    ck_assert_int_eq(config_load_text(&cfg, "cfg/x.ini", "cfg", text, strlen(text)), 0);
    ck_assert_int_eq(settings_read(&st, &cfg, "x"), 0);
    ck_assert_str_eq(st.train_images, "cfg/sub/train-images-idx3-ubyte.gz");
    ck_assert_ptr_null(st.test_images);  /* empty test_images: no test set */
    ck_assert_str_eq(st.checkpoint_path, "runs/x/model.ckpt");
    ck_assert_int_eq(st.epochs, 10);
    settings_free(&st);
    config_free(&cfg);
}
END_TEST

/* Every error of a config in one run, in line order, whatever was found
 * first; a misspelt key names the key it was meant to be. */
START_TEST(test_every_error_in_line_order)
{
    expect("[data]\ndir = .\n[train]\nlr = abc\n[c1]\ntype = conv\nfiltres = 8\nsize = 3\n[fc]\ntype = affine\n"
           "outputs = 10\nx = 1\n[loss]\ntype = softmax\n",
           "train.epoch=2",
           "test.ini:4: [train] lr: 'abc' is not a number\n"
           "test.ini:5: [c1] filters: missing (the number of output channels)\n"
           "test.ini:7: [c1] filtres: unknown key (did you mean 'filters'?)\n"
           "test.ini:12: [fc] x: unknown key\n"
           "--set train.epoch=2: [train] epoch: unknown key (did you mean 'epochs'?)");
    /* nothing near enough: no suggestion */
    expect(PRELUDE "zzzzzz = 1\n" SIMPLE_NET, NULL, "test.ini:5: [train] zzzzzz: unknown key");
}
END_TEST

/* The text a checkpoint embeds after overrides parses back without them:
 * an unset number is left out, and so is the key an override replaced. */
static char *embedded_after(const char *text, const char *set1, const char *set2, int *errors, int *notes)
{
    struct config cfg;
    struct settings st;
    ck_assert_int_eq(config_load_text(&cfg, "t.ini", ".", text, strlen(text)), 0);
    if (set1)
        ck_assert_int_eq(config_set(&cfg, set1), 0);
    if (set2)
        ck_assert_int_eq(config_set(&cfg, set2), 0);
    settings_read(&st, &cfg, "t");
    struct net net;
    if (net_plan(&net, &cfg, (struct shape){1, 28, 28}, NET_FUSE) == 0)
        net_free(&net);
    config_check_unused(&cfg);
    *errors = cfg.error_count;
    *notes = cfg.note_count;
    char *out = config_to_text(&cfg, NULL);
    settings_free(&st);
    config_free(&cfg);
    if (*errors == 0) {   /* what eval and --resume do with it */
        ck_assert_int_eq(config_load_text(&cfg, "again", ".", out, strlen(out)), 0);
        ck_assert_int_eq(settings_read(&st, &cfg, "t"), 0);
        ck_assert_int_eq(net_plan(&net, &cfg, (struct shape){1, 28, 28}, NET_FUSE), 0);
        config_check_unused(&cfg);
        ck_assert_msg(cfg.error_count == 0, "%s", cfg.errors[0]);
        net_free(&net);
        settings_free(&st);
        config_free(&cfg);
    }
    return out;
}

START_TEST(test_overrides_leave_a_valid_config)
{
    int errors, notes;
    /* epochs unset, iterations given: no "epochs =" in the text */
    char *text = embedded_after(PRELUDE SIMPLE_NET, "train.epochs=", "train.iterations=50", &errors, &notes);
    ck_assert_int_eq(errors, 0);
    ck_assert_ptr_null(strstr(text, "epochs"));
    ck_assert_ptr_nonnull(strstr(text, "iterations = 50\n"));
    free(text);
    /* iterations alone replaces the file's epochs */
    text = embedded_after(PRELUDE SIMPLE_NET, "train.iterations=50", NULL, &errors, &notes);
    ck_assert_int_eq(errors, 0);
    ck_assert_ptr_null(strstr(text, "epochs"));
    free(text);
    /* switching the optimizer away from the file's momentum: a note, and
     * momentum is left out */
    const char *with_momentum = PRELUDE "optimizer = momentum\nmomentum = 0.8\n" SIMPLE_NET;
    text = embedded_after(with_momentum, "train.optimizer=sgd", NULL, &errors, &notes);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(notes, 1);
    ck_assert_ptr_null(strstr(text, "momentum = "));
    free(text);
    /* unsetting a key the optimizer does not read */
    text = embedded_after(PRELUDE "optimizer = sgd\nmomentum = 0.8\n" SIMPLE_NET, "train.momentum=", NULL, &errors,
                          &notes);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(notes, 0);
    ck_assert_ptr_null(strstr(text, "momentum"));
    free(text);
    /* an override of another key leaves the file's inconsistency an error */
    expect(PRELUDE "optimizer = sgd\nmomentum = 0.8\n" SIMPLE_NET, "train.lr=0.05",
           "test.ini:6: [train] momentum: used only with optimizer = momentum or nesterov");
    /* and with the file alone saying so, it is an error */
    expect(PRELUDE "optimizer = adam\nmomentum = 0.8\n" SIMPLE_NET, NULL,
           "test.ini:6: [train] momentum: used only with optimizer = momentum or nesterov");
    expect(PRELUDE "lr_min = 0.1\n" SIMPLE_NET, NULL, "test.ini:5: [train] lr_min: used only with schedule = cosine");
    /* an unset count goes back to its default */
    text = embedded_after(PRELUDE "checkpoint_every = 3\n" SIMPLE_NET, "train.checkpoint_every=", NULL, &errors,
                          &notes);
    ck_assert_int_eq(errors, 0);
    ck_assert_ptr_null(strstr(text, "checkpoint_every"));
    free(text);
}
END_TEST

START_TEST(test_shape_key)
{
    struct config cfg;
    struct settings st;
    const char *text = "[data]\nshape = 3x32x24\n[train]\n" SIMPLE_NET;
    ck_assert_int_eq(config_load_text(&cfg, "t.ini", ".", text, strlen(text)), 0);
    ck_assert_int_eq(settings_read(&st, &cfg, "t"), 0);
    int c, h, w;
    char err[256];
    ck_assert_int_eq(settings_input_shape(&st, &c, &h, &w, err, sizeof err), 0);
    ck_assert_int_eq(c, 3);
    ck_assert_int_eq(h, 32);
    ck_assert_int_eq(w, 24);
    settings_free(&st);
    config_free(&cfg);
    const char *bad[] = {"28x28", "1x28x28x1", "0x28x28", "1x-28x28", "1x28x", "ax28x28", "1x28x28 ", "1x99999x2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char want[256], set[64];
        snprintf(set, sizeof set, "data.shape=%s", bad[i]);
        snprintf(want, sizeof want,
                 "--set %s: [data] shape: '%s' is not a shape (expected CxHxW, such as 1x28x28; each from 1 to 65536)",
                 set, bad[i]);
        expect(PRELUDE SIMPLE_NET, set, want);
    }
}
END_TEST

/* Every key the parser reads is documented in cnnctl.ini(5), and every key
 * documented there is read. The parser's keys are the string literals its
 * getters are called with in src/ (layer_parse_pair also reads KEY_h and
 * KEY_w); the documented ones are the bold words of the .TP entries written
 * .BR key " (type ...)" between [data] and LOG FORMAT. Run from the source tree (make check). */
#define MAX_KEYS 256

static int add_key(char keys[][32], int n, const char *key, size_t len)
{
    if (len == 0 || len >= 32)
        return n;
    for (int i = 0; i < n; i++)
        if (strlen(keys[i]) == len && strncmp(keys[i], key, len) == 0)
            return n;
    ck_assert_int_lt(n, MAX_KEYS);
    memcpy(keys[n], key, len);
    keys[n][len] = 0;
    return n + 1;
}

static int has_key(char keys[][32], int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

static int parser_keys(char keys[][32])
{
    static const char *const calls[] = {"config_get_int(", "config_get_float(", "config_get_string(", "config_find(",
                                        "find_count(", "layer_parse_pair("};
    glob_t g;
    ck_assert_int_eq(glob("src/*/*.c", 0, NULL, &g), 0);
    int n = 0;
    for (size_t f = 0; f < g.gl_pathc; f++) {
        char *text = read_file(g.gl_pathv[f], NULL);
        ck_assert_ptr_nonnull(text);
        for (int c = 0; c < 6; c++)
            for (const char *p = text; (p = strstr(p, calls[c])) != NULL; p++) {
                /* the first string literal among the first three arguments */
                const char *q = p + strlen(calls[c]);
                int commas = 0;
                while (*q && *q != '"' && *q != ';' && *q != '{' && commas <= 2)
                    commas += *q++ == ',';
                if (*q != '"' || commas > 2)
                    continue;
                const char *end = strchr(q + 1, '"');
                if (!end)
                    continue;
                n = add_key(keys, n, q + 1, (size_t)(end - q - 1));
                if (c == 5) {
                    char pair[40];
                    snprintf(pair, sizeof pair, "%.*s_h", (int)(end - q - 1), q + 1);
                    n = add_key(keys, n, pair, strlen(pair));
                    pair[strlen(pair) - 1] = 'w';
                    n = add_key(keys, n, pair, strlen(pair));
                }
            }
        free(text);
    }
    globfree(&g);
    return n;
}

static int documented_keys(char keys[][32])
{
    char *text = read_file("man/cnnctl.ini.5", NULL);
    ck_assert_ptr_nonnull(text);
    const char *start = strstr(text, "\n.SH [data]"), *stop = strstr(text, "\n.SH LOG FORMAT");
    ck_assert(start && stop && start < stop);
    int n = 0;
    for (const char *p = start; p && p < stop; p = strchr(p + 1, '\n')) {
        /* keys are written .BR key " (type, range, default)"; a plain .B
         * entry is a value (sgd, adam) or a layer type */
        if (strncmp(p, "\n.TP\n.BR ", 8) != 0)
            continue;
        const int alternating = 1;
        const char *q = p + 8;
        /* .BR a ", " b " (...)": the unquoted words are the keys */
        for (;;) {
            while (*q == ' ')
                q++;
            if (*q == '"') {
                const char *end = strchr(q + 1, '"');
                if (!end || memchr(q, '(', (size_t)(end - q)) || memchr(q, '=', (size_t)(end - q)))
                    break;   /* the type and range: no more keys */
                q = end + 1;
                continue;
            }
            const char *w = q;
            while (islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_')
                q++;
            if (q == w)
                break;
            n = add_key(keys, n, w, (size_t)(q - w));
            if (!alternating)
                break;
        }
    }
    free(text);
    return n;
}

START_TEST(test_every_key_documented)
{
    static char parsed[MAX_KEYS][32], documented[MAX_KEYS][32];
    int np = parser_keys(parsed), nd = documented_keys(documented);
    ck_assert_int_gt(np, 40);
    for (int i = 0; i < np; i++)
        ck_assert_msg(has_key(documented, nd, parsed[i]), "key '%s' is read but not in man/cnnctl.ini.5", parsed[i]);
    for (int i = 0; i < nd; i++)
        ck_assert_msg(has_key(parsed, np, documented[i]), "man/cnnctl.ini.5 documents '%s', which nothing reads",
                      documented[i]);
    /* bash completion offers every key */
    char *completion = read_file("scripts/cnnctl-completion.bash", NULL);
    ck_assert_ptr_nonnull(completion);
    for (int i = 0; i < np; i++) {
        int found = 0;
        for (const char *p = completion; (p = strstr(p, parsed[i])) != NULL; p++) {
            /* a whole word */
            char before = p == completion ? ' ' : p[-1], after = p[strlen(parsed[i])];
            if ((before == ' ' || before == '"') && (after == ' ' || after == '"')) {
                found = 1;
                break;
            }
        }
        ck_assert_msg(found, "scripts/cnnctl-completion.bash does not offer the key '%s'", parsed[i]);
    }
    free(completion);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, test_valid_config);
    tcase_add_test(tc, test_unknown_key);
    tcase_add_test(tc, test_unknown_layer_type);
    tcase_add_test(tc, test_bad_numbers);
    tcase_add_test(tc, test_missing_keys);
    tcase_add_test(tc, test_duplicate_layer_name);
    tcase_add_test(tc, test_output_size_not_whole);
    tcase_add_test(tc, test_loss_layer_placement);
    tcase_add_test(tc, test_inputs);
    tcase_add_test(tc, test_layer_keys);
    tcase_add_test(tc, test_indentation_normalised);
    tcase_add_test(tc, test_line_errors);
    tcase_add_test(tc, test_binary_garbage);
    tcase_add_test(tc, test_set_overrides);
    tcase_add_test(tc, test_settings_rules);
    tcase_add_test(tc, test_every_error_in_line_order);
    tcase_add_test(tc, test_overrides_leave_a_valid_config);
    tcase_add_test(tc, test_shape_key);
    tcase_add_test(tc, test_every_key_documented);
    suite_add_tcase(s, tc);
    return s;
}
