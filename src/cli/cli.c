/* cli.c - `cnnctl train`, `cnnctl eval`, `cnnctl summary`, `cnnctl gradcheck`. */
#include "cli.h"
#include "cli_util.h"
#include "ckpt.h"
#include "config.h"
#include "dataset.h"
#include "eval.h"
#include "fileio.h"
#include "gradcheck.h"
#include "model.h"
#include "net.h"
#include "settings.h"
#include "train.h"

#include <getopt.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char train_usage[] =
    "Usage: cnnctl train CONFIG [--set SECTION.KEY=VALUE]... [--threads N] [--force] [--quiet]\n"
    "       cnnctl train [CONFIG] --resume CHECKPOINT [--set ...] [--threads N] [--quiet]\n"
    "Train the network that CONFIG describes on its [data], writing the log\n"
    "CSV and checkpoints named in [train] (default runs/NAME/log.csv and\n"
    "runs/NAME/model.ckpt, NAME being CONFIG's base name). With --resume, go on\n"
    "from a checkpoint exactly where it was written, with its own config unless\n"
    "CONFIG is given. SIGINT or SIGTERM: finish the step, write a checkpoint,\n"
    "exit 130 or 143. A run locks its files (a second run on them is refused)\n"
    "and does not start afresh over an existing checkpoint without --force.\n"
    "\n"
    "  -s, --set SECTION.KEY=VALUE  override a config key (repeatable)\n"
    "  -r, --resume CHECKPOINT      continue the run that wrote CHECKPOINT\n"
    "  -t, --threads N              threads (default: [train] threads, else every CPU;\n"
    "                               at most the CPUs this process may use)\n"
    "  -f, --force                  start afresh even where a checkpoint is (replacing it)\n"
    "  -q, --quiet                  print only errors and the final result\n"
    "  -h, --help                   show this help\n";

static const char eval_usage[] =
    "Usage: cnnctl eval CHECKPOINT [--images FILE [--labels FILE]] [--json]\n"
    "                   [--confusion] [--predictions FILE] [--threads N]\n"
    "Rebuild the network from the config inside CHECKPOINT and evaluate it on\n"
    "that config's test set (or on --images): accuracy, mean loss, count.\n"
    "\n"
    "  -i, --images FILE       images of the format the model was trained on:\n"
    "                          an IDX file, or a CIFAR file (labels inside)\n"
    "  -l, --labels FILE       the IDX label file of IDX images\n"
    "  -j, --json              print one JSON object\n"
    "  -c, --confusion         also the confusion matrix (rows: true class,\n"
    "                          columns: predicted), with [data] classes names\n"
    "  -p, --predictions FILE  write CSV rows index,label,predicted,p0..pK-1\n"
    "  -t, --threads N         threads (default: every CPU)\n"
    "  -h, --help              show this help\n";

static const char summary_usage[] =
    "Usage: cnnctl summary CONFIG [--set SECTION.KEY=VALUE]...\n"
    "Print each layer of CONFIG's network: name, type, output shape (C x H x W),\n"
    "parameters and forward FLOPs per image; then the totals. The input shape\n"
    "is [data] shape, or (without it) read from the training images' header.\n"
    "\n"
    "  -s, --set SECTION.KEY=VALUE  override a config key (repeatable)\n"
    "  -h, --help                   show this help\n";

static const char gradcheck_usage[] =
    "Usage: cnnctl gradcheck CONFIG [--set SECTION.KEY=VALUE]... [--images N]\n"
    "                        [--entries K] [--threads N]\n"
    "Compare the analytic gradient of every trained parameter of CONFIG's\n"
    "network with central differences on its first N training images (at the\n"
    "config's seed, in training mode) and print the worst relative error per\n"
    "layer. The shifted forwards keep the max-pool and ReLU choices of the\n"
    "first, so a kink cannot pass for a wrong gradient. Exit 1 if any layer is\n"
    "over the tolerance.\n"
    "\n"
    "  -s, --set SECTION.KEY=VALUE  override a config key (repeatable)\n"
    "  -n, --images N               images (default 4)\n"
    "  -k, --entries K              entries checked per tensor (default 16)\n"
    "  -t, --threads N              threads (default 1)\n"
    "  -h, --help                   show this help\n";

/* runs/NAME: the config's file name without folder and extension. */
static void run_name_of(const char *path, char *out, size_t len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, len, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

/* What the verbs that read a config share: the config with its overrides,
 * its settings, the input shape and the network. */
struct prepared {
    struct config cfg;
    struct settings st;
    struct shape input;
    struct net net;
};

/* Everything a config can get wrong, found in one run and printed at once
 * in file order: loads the config (the file at path, or with path NULL the
 * checkpoint's embedded text), applies the overrides, reads [data] and
 * [train], finds the input shape, plans the net (shapes only: the verb
 * allocates it for its batch), checks the class names and reports unknown
 * keys. Notes
 * (keys an override made meaningless) go to stderr unless quiet. 0, or -1
 * with the errors printed. */
static int prepare(struct prepared *p, const char *path, const struct ckpt *embedded, const char *ckpt_path,
                   char **sets, int set_count, int quiet)
{
    memset(p, 0, sizeof *p);
    char run_name[256];
    int failed;
    if (path) {
        run_name_of(path, run_name, sizeof run_name);
        failed = config_load_file(&p->cfg, path) < 0;
    } else {
        char label[PATH_MAX + 32];
        snprintf(label, sizeof label, "%s (embedded config)", ckpt_path);
        run_name_of(ckpt_path, run_name, sizeof run_name);
        failed = config_load_text(&p->cfg, label, ".", embedded->config, embedded->config_len) < 0;
    }
    if (failed) {   /* a line inih cannot read: what follows it means nothing */
        print_config_errors(&p->cfg);
        return -1;
    }
    for (int i = 0; i < set_count; i++)
        config_set(&p->cfg, sets[i]);
    settings_read(&p->st, &p->cfg, run_name);
    char err[1024] = "";
    int c, h, w;
    if (settings_input_shape(&p->st, &c, &h, &w, err, sizeof err) < 0) {
        /* the data's path may be wrong because of an error already found */
        if (p->cfg.error_count)
            print_config_errors(&p->cfg);
        else
            fprintf(stderr, "cnnctl: %s\n", err);
        return -1;
    }
    p->input = (struct shape){c, h, w};
    if (net_plan(&p->net, &p->cfg, p->input, NET_FUSE) == 0)
        settings_check_classes(&p->st, &p->cfg, p->net.classes);
    config_check_unused(&p->cfg);
    if (!quiet)
        print_config_notes(&p->cfg);
    if (p->cfg.error_count) {
        print_config_errors(&p->cfg);
        return -1;
    }
    return 0;
}

static void prepared_free(struct prepared *p)
{
    net_free(&p->net);
    settings_free(&p->st);
    config_free(&p->cfg);
}

/* The planned net allocated for batch images on threads threads; 0, or -1
 * with the error printed. */
static int allocate_net(struct prepared *p, int batch, int threads)
{
    if (net_allocate(&p->net, &p->cfg, batch, threads) < 0) {
        print_config_errors(&p->cfg);
        return -1;
    }
    return 0;
}

/* The verbs that take --set: their --set values are collected in an array
 * of argc pointers into argv, allocated once here. */
static int with_sets(int (*verb)(int, char **, char **), int argc, char **argv)
{
    char **sets = calloc(argc > 0 ? argc : 1, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "cnnctl: out of memory\n");
        return EXIT_RUNTIME;
    }
    int status = verb(argc, argv, sets);
    free(sets);
    return status;
}

static int train_verb(int argc, char **argv, char **sets);
static int summary_verb(int argc, char **argv, char **sets);
static int gradcheck_verb(int argc, char **argv, char **sets);

int cmd_train(int argc, char **argv)
{
    return with_sets(train_verb, argc, argv);
}

int cmd_summary(int argc, char **argv)
{
    return with_sets(summary_verb, argc, argv);
}

int cmd_gradcheck(int argc, char **argv)
{
    return with_sets(gradcheck_verb, argc, argv);
}

static struct option set_option = {"set", required_argument, NULL, 's'};

/* More threads than CPUs only wait for each other: capped, with a note. CNNCTL_OVERSUBSCRIBE=1 keeps the
 * count as asked (the tests use it to run 3 threads on 2 CPUs). */
static int cap_threads(int threads, int quiet)
{
    int cpus = settings_cpu_count();
    const char *keep = getenv("CNNCTL_OVERSUBSCRIBE");
    if (threads <= cpus || (keep && strcmp(keep, "1") == 0))
        return threads;
    if (!quiet)
        fprintf(stderr, "cnnctl: note: %d threads asked for, but this process may use %d CPUs; using %d\n", threads,
                cpus, cpus);
    return cpus;
}

static int train_verb(int argc, char **argv, char **sets)
{
    struct option options[] = {set_option,
                               {"resume", required_argument, NULL, 'r'},
                               {"threads", required_argument, NULL, 't'},
                               {"quiet", no_argument, NULL, 'q'},
                               {"force", no_argument, NULL, 'f'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    const char *resume = NULL;
    int set_count = 0, threads = 0, quiet = 0, force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:r:t:qfh", options, NULL)) != -1) {
        switch (c) {
        case 'f': force = 1; break;
        case 's': sets[set_count++] = optarg; break;
        case 'r': resume = optarg; break;
        case 't':
            if (parse_threads("train", optarg, &threads))
                return EXIT_INPUT;
            break;
        case 'q': quiet = 1; break;
        case 'h': fputs(train_usage, stdout); return EXIT_OK;
        default: return usage_error("train", "%s", "bad option");
        }
    }
    if (optind < argc - 1 || (optind == argc && !resume))
        return usage_error("train", "%s", optind == argc ? "missing CONFIG" : "more than one CONFIG");
    const char *config_path = optind < argc ? argv[optind] : NULL;
    char err[1024] = "";
    struct ckpt ck = {0};
    if (resume) {
        if (ckpt_read(resume, &ck, err, sizeof err) < 0 ||
            (!ck.has_state && snprintf(err, sizeof err, "%s: holds no training state to resume", resume))) {
            fprintf(stderr, "cnnctl: %s\n", err);
            ckpt_free(&ck);
            return EXIT_INPUT;
        }
    }
    struct prepared p;
    int rc = prepare(&p, config_path, &ck, resume, sets, set_count, quiet);
    if (rc < 0) {
        prepared_free(&p);
        ckpt_free(&ck);
        return EXIT_INPUT;
    }
    struct settings *st = &p.st;
    if (!threads)
        threads = st->threads ? (int)st->threads : settings_cpu_count();
    threads = cap_threads(threads, quiet);

    struct train_request req = {&p.cfg, st, &p.net, p.input, resume, resume ? &ck : NULL, threads, quiet, force};
    int status = train_command(&req, err, sizeof err);
    if (status != EXIT_OK)
        fprintf(stderr, "cnnctl: %s\n", err);
    prepared_free(&p);
    ckpt_free(&ck);
    return status;
}

static int summary_verb(int argc, char **argv, char **sets)
{
    struct option options[] = {set_option, {"help", no_argument, NULL, 'h'}, {0}};
    int set_count = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:h", options, NULL)) != -1) {
        switch (c) {
        case 's': sets[set_count++] = optarg; break;
        case 'h': fputs(summary_usage, stdout); return EXIT_OK;
        default: return usage_error("summary", "%s", "bad option");
        }
    }
    if (optind != argc - 1)
        return usage_error("summary", "%s", optind == argc ? "missing CONFIG" : "more than one CONFIG");
    struct prepared p;
    int rc = prepare(&p, argv[optind], NULL, NULL, sets, set_count, 0);
    if (rc == 0)
        net_print_summary(&p.net, stdout);
    prepared_free(&p);
    return rc < 0 ? EXIT_INPUT : EXIT_OK;
}

int cmd_eval(int argc, char **argv)
{
    struct option options[] = {{"images", required_argument, NULL, 'i'},
                               {"labels", required_argument, NULL, 'l'},
                               {"json", no_argument, NULL, 'j'},
                               {"confusion", no_argument, NULL, 'c'},
                               {"predictions", required_argument, NULL, 'p'},
                               {"threads", required_argument, NULL, 't'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    const char *images = NULL, *labels = NULL, *predictions = NULL;
    int json = 0, confusion = 0, threads = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:l:jcp:t:h", options, NULL)) != -1) {
        switch (c) {
        case 'i': images = optarg; break;
        case 'l': labels = optarg; break;
        case 'j': json = 1; break;
        case 'c': confusion = 1; break;
        case 'p': predictions = optarg; break;
        case 't':
            if (parse_threads("eval", optarg, &threads))
                return EXIT_INPUT;
            break;
        case 'h': fputs(eval_usage, stdout); return EXIT_OK;
        default: return usage_error("eval", "%s", "bad option");
        }
    }
    if (optind != argc - 1)
        return usage_error("eval", "%s", optind == argc ? "missing CHECKPOINT" : "more than one CHECKPOINT");
    if (labels && !images)
        return usage_error("eval", "%s", "--labels goes with --images");
    const char *path = argv[optind];
    if (!threads)
        threads = settings_cpu_count();
    threads = cap_threads(threads, 0);

    char err[1024] = "";
    struct model m;
    if (model_load(&m, path, 0, threads, NET_FUSE, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        return EXIT_INPUT;
    }
    const struct settings *st = &m.st;
    struct net *net = &m.net;
    int status = EXIT_INPUT;
    struct dataset data = {0};
    struct atomic_file out = {0};
    long *matrix = NULL;
    const int images_given = images != NULL;
    if (!images) {
        if (!st->test_images) {
            fprintf(stderr, "cnnctl: %s: the embedded config has no test set; give --images (and --labels)\n", path);
            goto done;
        }
        images = st->test_images;
    }
    /* --images: files of the format the model was trained on */
    struct data_source given = st->train;
    given.file_count = 1;
    given.images[0] = (char *)images;
    given.labels = (char *)labels;
    if (labels && data_source_format(&given) != DATA_IDX &&
        !(data_source_format(&given) == DATA_FOLDER && (given.masks || given.boxes))) {
        fprintf(stderr, "cnnctl: %s: --labels is for IDX images; %s data holds its labels\n", images,
                data_format_name(data_source_format(&given)));
        goto done;
    }
    if (data_source_load(images_given ? &given : &st->test, &data, err, sizeof err) < 0 ||
        dataset_check_shape(&data, net->input, images, err, sizeof err) < 0 ||
        dataset_check_labels(&data, net->classes, net->label_units, net->boxes, (int)m.st.ignore, err, sizeof err) < 0)
        goto fail;
    data.mean = m.st.norm_mean;
    data.inv_std = m.st.norm_inv_std;
    net->ignore_label = (int)m.st.ignore;
    if (predictions && net_per_pixel(net)) {
        snprintf(err, sizeof err, "--predictions writes a row of class probabilities an image; %s labels each "
                 "pixel (task = segment)", path);
        goto fail;
    }
    if (confusion && net->boxes) {
        snprintf(err, sizeof err, "--confusion counts images by class; %s finds boxes (task = detect): eval "
                 "reports each class's average precision", path);
        goto fail;
    }
    if (predictions && atomic_open(&out, predictions, err, sizeof err) < 0) {
        status = EXIT_RUNTIME;
        goto fail;
    }
    if (out.f && net->boxes) {
        fprintf(out.f, "image,class,score,x,y,w,h\n");
    } else if (out.f) {
        fprintf(out.f, "index,label,predicted");
        for (int k = 0; k < net->classes; k++)
            fprintf(out.f, ",p%d", k);
        fputc('\n', out.f);
    }
    struct eval_result r;
    if (confusion && !(matrix = calloc((size_t)net->classes * net->classes, sizeof *matrix))) {
        snprintf(err, sizeof err, "out of memory");
        status = EXIT_RUNTIME;
        goto fail;
    }
    if (evaluate(net, &data, &r, out.f, matrix) < 0) {
        snprintf(err, sizeof err, "out of memory");
        status = EXIT_RUNTIME;
        goto fail;
    }
    if (out.f && atomic_commit(&out, err, sizeof err) < 0) {
        status = EXIT_RUNTIME;
        goto fail;
    }
    if (json) {
        printf("{\"accuracy\": %.4f, \"loss\": %.4f, \"count\": %d, \"correct\": %d, \"checkpoint\": ",
               r.accuracy, r.loss, r.count, r.correct);
        json_string(stdout, path);
        printf(", \"images\": ");
        json_string(stdout, images);
        if (r.detect) {
            /* null for a class with no box in the set */
            printf(", \"map\": %.4f, \"ap\": [", r.accuracy);
            for (int k = 0; k < net->classes; k++)
                printf(isnan(r.ap[k]) ? "%snull" : "%s%.4f", k ? ", " : "", r.ap[k]);
            printf("]");
        }
        if (r.per_pixel) {
            /* null for a class neither in the masks nor predicted */
            printf(isnan(r.mean_iou) ? ", \"mean_iou\": null, \"iou\": [" : ", \"mean_iou\": %.4f, \"iou\": [",
                   r.mean_iou);
            for (int k = 0; k < net->classes; k++)
                printf(isnan(r.iou[k]) ? "%snull" : "%s%.4f", k ? ", " : "", r.iou[k]);
            printf("]");
        }
        if (matrix) {
            printf(", \"classes\": [");
            for (int k = 0; k < net->classes; k++) {
                if (k)
                    printf(", ");
                if (st->class_count)
                    json_string(stdout, st->class_names[k]);
                else
                    printf("\"%d\"", k);
            }
            printf("], \"confusion\": [");
            for (int k = 0; k < net->classes; k++) {
                printf(k ? ", [" : "[");
                for (int j = 0; j < net->classes; j++)
                    printf(j ? ", %ld" : "%ld", matrix[k * net->classes + j]);
                printf("]");
            }
            printf("]");
        }
        printf("}\n");
    } else {
        if (r.detect) {
            printf("mAP@0.5 %.4f  loss %.4f  count %d\n", r.accuracy, r.loss, r.count);
            for (int k = 0; k < net->classes && k < 256; k++) {
                char number[16];
                snprintf(number, sizeof number, "%d", k);
                printf(isnan(r.ap[k]) ? "  AP %-12s   -  (no box)\n" : "  AP %-12s %.4f\n",
                       st->class_count ? st->class_names[k] : number, r.ap[k]);
            }
        } else if (r.per_pixel)
            printf("pixel accuracy %.4f  mean IoU %.4f  loss %.4f  count %d\n", r.accuracy, r.mean_iou, r.loss,
                   r.count);
        else
            printf("accuracy %.4f  loss %.4f  count %d  correct %d\n", r.accuracy, r.loss, r.count, r.correct);
        if (matrix)
            print_confusion(stdout, matrix, net->classes, st->class_count ? st->class_names : NULL);
    }
    status = EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "cnnctl: %s\n", err);
done:
    if (out.f)
        atomic_abort(&out);
    free(matrix);
    dataset_free(&data);
    model_free(&m);
    return status;
}

static int gradcheck_verb(int argc, char **argv, char **sets)
{
    struct option options[] = {set_option,
                               {"images", required_argument, NULL, 'n'},
                               {"entries", required_argument, NULL, 'k'},
                               {"threads", required_argument, NULL, 't'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    int set_count = 0, c, threads = 1;
    long images = 4, entries = 16;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:n:k:t:h", options, NULL)) != -1) {
        switch (c) {
        case 's': sets[set_count++] = optarg; break;
        case 'n':
            if (parse_long(optarg, &images) < 0 || images < 1 || images > 256)
                return usage_error("gradcheck", "--images: '%s' is not a whole number from 1 to 256", optarg);
            break;
        case 'k':
            if (parse_long(optarg, &entries) < 0 || entries < 1 || entries > 1000000)
                return usage_error("gradcheck", "--entries: '%s' is not a whole number from 1 to 1000000", optarg);
            break;
        case 't':
            if (parse_threads("gradcheck", optarg, &threads))
                return EXIT_INPUT;
            break;
        case 'h': fputs(gradcheck_usage, stdout); return EXIT_OK;
        default: return usage_error("gradcheck", "%s", "bad option");
        }
    }
    if (optind != argc - 1)
        return usage_error("gradcheck", "%s", optind == argc ? "missing CONFIG" : "more than one CONFIG");
    struct prepared p;
    int rc = prepare(&p, argv[optind], NULL, NULL, sets, set_count, 0);
    if (rc < 0) {
        prepared_free(&p);
        return EXIT_INPUT;
    }
    char err[1024] = "";
    int status = EXIT_INPUT;
    struct dataset all = {0};
    struct net *net = &p.net;
    uint32_t *order = NULL;
    uint8_t *labels = NULL;
    struct gradcheck_layer *result = NULL;
    threads = cap_threads(threads, 0);
    if (allocate_net(&p, (int)images, threads) < 0)
        goto done;
    if (data_source_load(&p.st.train, &all, err, sizeof err) < 0 ||
        dataset_check_labels(&all, net->classes, net->label_units, net->boxes, (int)p.st.ignore, err, sizeof err) < 0 ||
        dataset_check_shape(&all, p.input, p.st.train_images, err, sizeof err) < 0 ||
        settings_resolve_normalisation(&p.st, p.input.c, &all,
                                       all.count > p.st.validation ? all.count - (int)p.st.validation : all.count,
                                       err, sizeof err) < 0)
        goto fail;
    all.mean = p.st.norm_mean;
    all.inv_std = p.st.norm_inv_std;
    if (all.count < images) {
        snprintf(err, sizeof err, "%s: has %d images, fewer than --images %ld", p.st.train_images, all.count, images);
        goto fail;
    }
    order = malloc(sizeof *order * images);
    labels = malloc((size_t)images * net->label_units);
    net->ignore_label = (int)p.st.ignore;
    result = calloc(net->count, sizeof *result);
    if (!order || !labels || !result) {
        snprintf(err, sizeof err, "out of memory");
        status = EXIT_RUNTIME;
        goto fail;
    }
    for (int i = 0; i < images; i++)
        order[i] = (uint32_t)i;
    dataset_batch(&all, order, 0, (int)images, net->input_data, labels);
    dataset_normalise(&all, net->input_data, (int)images);
    net_init_params(net, p.st.seed);
    const struct net_pass pass = {p.st.seed, 0, 0, 0};
    double worst = gradcheck_run(net, (int)images, labels, &pass, (int)entries, result);
    if (worst < 0) {
        snprintf(err, sizeof err, "out of memory");
        status = EXIT_RUNTIME;
        goto fail;
    }
    printf("%-16s %-13s %8s %11s  %s\n", "layer", "type", "checked", "worst error", "where");
    int over = 0;
    for (int i = 0; i < net->count; i++) {
        const struct gradcheck_layer *g = &result[i];
        if (!g->checked)
            continue;
        int bad = g->worst > GRADCHECK_TOLERANCE;
        over += bad;
        printf("%-16s %-13s %8ld %11.2e  %s%s\n", net->layers[i].name, net->layers[i].ops->type, g->checked, g->worst,
               g->where, bad ? "  OVER" : "");
    }
    printf("worst %.2e, tolerance %.0e: %s\n", worst, GRADCHECK_TOLERANCE,
           over ? "FAILED" : "every layer agrees with central differences");
    status = over ? EXIT_RUNTIME : EXIT_OK;
    goto done;
fail:
    fprintf(stderr, "cnnctl: %s\n", err);
done:
    free(order);
    free(labels);
    free(result);
    dataset_free(&all);
    prepared_free(&p);
    return status;
}
