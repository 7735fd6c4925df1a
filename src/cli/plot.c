/* plot.c - `cnnctl plot LOG.csv... -o curve.png`: loss and accuracy curves
 * of one or more runs, overlaid, drawn by gnuplot (Debian's gnuplot-nox).
 * cnnctl reads the logs itself (so a damaged log is a clear error, not a
 * gnuplot message), hands gnuplot the numbers as inline data blocks, and
 * renames the PNG into place only when gnuplot succeeded. */
#include "cli.h"
#include "cli_util.h"
#include "fileio.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char plot_usage[] =
    "Usage: cnnctl plot LOG.csv [LOG.csv...] -o CURVE.png [--title TEXT]\n"
    "                   [--size WxH]\n"
    "Draw the training loss and the accuracies (training, validation, test)\n"
    "of one or more training logs against the step, runs overlaid and named\n"
    "by their folder (runs/NAME/log.csv) or file. Needs gnuplot\n"
    "(Debian: apt-get install gnuplot-nox).\n"
    "\n"
    "  -o, --output FILE   the PNG\n"
    "  -T, --title TEXT    a title above the curves\n"
    "  -z, --size WxH      pixels (default 1000x750)\n"
    "  -h, --help          show this help\n";

#define LOG_HEADER "epoch,step,loss,train_acc,val_acc,lr,seconds,images_per_s,test_acc,skipped,kind"

struct row {
    double epoch, step, loss, train_acc, val_acc, test_acc;
    int is_epoch;
};

struct run_log {
    char name[256];
    struct row *rows;
    int count;
};

/* "runs/lenet5/log.csv" -> "lenet5"; "sweep-lr0.1.csv" -> "sweep-lr0.1". */
static void run_name(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash && strcmp(base, "log.csv") == 0) {
        const char *start = slash;
        while (start > path && start[-1] != '/')
            start--;
        snprintf(out, len, "%.*s", (int)(slash - start), start);
        if (out[0])
            return;
    }
    snprintf(out, len, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

static double field_or_nan(const char *s)
{
    return *s ? atof(s) : NAN;
}

static int read_log(const char *path, struct run_log *log, char *err, size_t errlen)
{
    memset(log, 0, sizeof *log);
    run_name(path, log->name, sizeof log->name);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int lineno = 1, cap = 0, rc = 0;
    if (!fgets(line, sizeof line, f) || strncmp(line, LOG_HEADER, strlen(LOG_HEADER)) != 0) {
        snprintf(err, errlen, "%s:1: not a cnnctl log (expected the header %s)", path, LOG_HEADER);
        fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *fields[11];
        int n = 0;
        char *p = line;
        line[strcspn(line, "\r\n")] = '\0';
        while (n < 11) {
            fields[n++] = p;
            char *comma = strchr(p, ',');
            if (!comma)
                break;
            *comma = '\0';
            p = comma + 1;
        }
        if (n != 11 || (strcmp(fields[10], "step") != 0 && strcmp(fields[10], "epoch") != 0)) {
            snprintf(err, errlen, "%s:%d: not a log row (expected 11 fields ending in step or epoch)", path, lineno);
            rc = -1;
            break;
        }
        if (log->count == cap) {
            cap = cap ? 2 * cap : 256;
            struct row *grown = realloc(log->rows, sizeof *grown * cap);
            if (!grown) {
                snprintf(err, errlen, "%s: out of memory", path);
                rc = -1;
                break;
            }
            log->rows = grown;
        }
        log->rows[log->count++] = (struct row){atof(fields[0]), atof(fields[1]), field_or_nan(fields[2]),
                                               field_or_nan(fields[3]), field_or_nan(fields[4]),
                                               field_or_nan(fields[8]), strcmp(fields[10], "epoch") == 0};
    }
    fclose(f);
    /* a header alone (a run stopped before its first row) is drawn empty */
    if (rc == 0 && log->count == 0)
        fprintf(stderr, "cnnctl: note: %s: no rows yet; drawn without a curve\n", path);
    if (rc < 0) {
        free(log->rows);
        log->rows = NULL;
    }
    return rc;
}

/* A gnuplot string literal: single quotes, doubled inside. */
static void gp_string(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        if (*s != '\n')
            fputc(*s, f);
    }
    fputc('\'', f);
}

/* The points of run i's loss curve: its step rows, or (a run shorter than
 * log_every steps has none) its epoch rows' mean losses. */
static int loss_points(const struct run_log *log, int from_epochs)
{
    int n = 0;
    for (int r = 0; r < log->count; r++)
        n += log->rows[r].is_epoch == from_epochs && isfinite(log->rows[r].loss) && log->rows[r].loss > 0;
    return n;
}

static int loss_from_epochs(const struct run_log *log)
{
    return loss_points(log, 0) == 0;
}

static int accuracy_points(const struct run_log *log)
{
    int n = 0;
    for (int r = 0; r < log->count; r++)
        n += log->rows[r].is_epoch;
    return n;
}

/* Data blocks $L<i> (step, loss) and $A<i> (step, train, val, test) per run. */
static void write_data(FILE *gp, const struct run_log *logs, int count)
{
    for (int i = 0; i < count; i++) {
        const int epochs = loss_from_epochs(&logs[i]);
        fprintf(gp, "$L%d << EOD\n", i);
        for (int r = 0; r < logs[i].count; r++)
            if (logs[i].rows[r].is_epoch == epochs && isfinite(logs[i].rows[r].loss) && logs[i].rows[r].loss > 0)
                fprintf(gp, "%.0f %.6g\n", logs[i].rows[r].step, logs[i].rows[r].loss);
        fprintf(gp, "EOD\n$A%d << EOD\n", i);
        for (int r = 0; r < logs[i].count; r++) {
            const struct row *w = &logs[i].rows[r];
            if (!w->is_epoch)
                continue;
            fprintf(gp, "%.0f", w->step);
            const double v[3] = {w->train_acc, w->val_acc, w->test_acc};
            for (int k = 0; k < 3; k++)
                isfinite(v[k]) ? fprintf(gp, " %.4f", 100 * v[k]) : fprintf(gp, " NaN");
            fputc('\n', gp);
        }
        fprintf(gp, "EOD\n");
    }
}

static void write_script(FILE *gp, const struct run_log *logs, int count, const char *png, const char *title,
                         int width, int height)
{
    fprintf(gp, "set terminal pngcairo size %d,%d font 'sans,10'\nset output ", width, height);
    gp_string(gp, png);
    fprintf(gp, "\nset datafile missing 'NaN'\nset grid\nset key outside right top\n");
    write_data(gp, logs, count);
    fprintf(gp, "set multiplot layout 2,1");
    if (title) {
        fprintf(gp, " title ");
        gp_string(gp, title);
    }
    /* A run with no points yet (a log of only its header) has no curve; a
     * panel with no curve at all is drawn empty, not refused. A curve of
     * one point is drawn as a point. */
    fprintf(gp, "\nset ylabel 'training loss'\nset logscale y\nplot ");
    int curves = 0;
    for (int i = 0; i < count; i++) {
        int points = loss_points(&logs[i], loss_from_epochs(&logs[i]));
        if (!points)
            continue;
        fprintf(gp, "%s$L%d using 1:2 with %s lc %d title ", curves++ ? ", " : "", i,
                points > 1 ? "lines lw 1.5" : "points pt 7 ps 0.6", i + 1);
        gp_string(gp, logs[i].name);
    }
    if (!curves)
        fprintf(gp, "[0:1] [0.1:10] NaN notitle");
    fprintf(gp, "\nunset logscale y\nset xlabel 'step'\nset ylabel 'accuracy (%%)'\nplot ");
    curves = 0;
    /* solid: test (or validation), dashed: training accuracy, per epoch */
    for (int i = 0; i < count; i++) {
        if (!accuracy_points(&logs[i]))
            continue;
        char name[300];
        int has_test = 0, has_val = 0;
        for (int r = 0; r < logs[i].count; r++) {
            has_test |= logs[i].rows[r].is_epoch && isfinite(logs[i].rows[r].test_acc);
            has_val |= logs[i].rows[r].is_epoch && isfinite(logs[i].rows[r].val_acc);
        }
        fprintf(gp, "%s$A%d using 1:2 with linespoints dt 2 pt 7 ps 0.5 lc %d title ", curves++ ? ", " : "", i, i + 1);
        snprintf(name, sizeof name, "%s train", logs[i].name);
        gp_string(gp, name);
        if (has_val) {
            fprintf(gp, ", $A%d using 1:3 with linespoints dt 3 pt 5 ps 0.5 lc %d title ", i, i + 1);
            snprintf(name, sizeof name, "%s validation", logs[i].name);
            gp_string(gp, name);
        }
        if (has_test) {
            fprintf(gp, ", $A%d using 1:4 with linespoints dt 1 pt 9 ps 0.6 lc %d title ", i, i + 1);
            snprintf(name, sizeof name, "%s test", logs[i].name);
            gp_string(gp, name);
        }
    }
    if (!curves)
        fprintf(gp, "[0:1] [0:100] NaN notitle");
    fprintf(gp, "\nunset multiplot\nset output\n");
}

/* gnuplot's last non-blank message line from the file at path (it ends
 * with what went wrong, after the line it was reading), in a static buffer. */
static const char *last_message(const char *path)
{
    static char last[512];
    snprintf(last, sizeof last, "(it printed nothing)");
    FILE *f = fopen(path, "r");
    if (!f)
        return last;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == ' ' || line[n - 1] == '\r'))
            line[--n] = 0;
        const char *p = line;
        while (*p == ' ' || *p == '^')
            p++;
        if (*p)
            snprintf(last, sizeof last, "%s", p);
    }
    fclose(f);
    return last;
}

/* The file at from, copied into the existing non-regular file at to. */
static int copy_into(const char *from, const char *to, char *err, size_t errlen)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    int failed = !in || !out;
    while (!failed && (n = fread(buf, 1, sizeof buf, in)) > 0)
        failed = fwrite(buf, 1, n, out) != n;
    if (out && fclose(out) != 0)
        failed = 1;
    if (in)
        fclose(in);
    if (failed)
        snprintf(err, errlen, "%s: write failed: %s", to, strerror(errno ? errno : EIO));
    return failed ? -1 : 0;
}

int cmd_plot(int argc, char **argv)
{
    struct option options[] = {{"output", required_argument, NULL, 'o'},
                               {"title", required_argument, NULL, 'T'},
                               {"size", required_argument, NULL, 'z'},
                               {"help", no_argument, NULL, 'h'},
                               {0}};
    const char *output = NULL, *title = NULL;
    int width = 1000, height = 750, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:T:z:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'T': title = optarg; break;
        case 'z': {
            char tail;
            if (sscanf(optarg, "%dx%d%c", &width, &height, &tail) != 2 || width < 200 || height < 150 ||
                width > 10000 || height > 10000)
                return usage_error("plot", "--size: '%s' is not WxH with W 200 to 10000 and H 150 to 10000", optarg);
            break;
        }
        case 'h': fputs(plot_usage, stdout); return EXIT_OK;
        default: return usage_error("plot", "%s", "bad option");
        }
    }
    if (optind == argc)
        return usage_error("plot", "%s", "missing LOG.csv");
    if (!output)
        return usage_error("plot", "%s", "missing -o CURVE.png");
    int count = argc - optind, status = EXIT_INPUT;
    char err[2048];
    struct run_log *logs = calloc((size_t)count, sizeof *logs);
    if (!logs) {
        fprintf(stderr, "cnnctl: out of memory\n");
        return EXIT_RUNTIME;
    }
    for (int i = 0; i < count; i++)
        if (read_log(argv[optind + i], &logs[i], err, sizeof err) < 0) {
            fprintf(stderr, "cnnctl: %s\n", err);
            goto done;
        }
    /* two runs of one name (runs/a/vgg, runs/b/vgg): name them by the folder above too */
    for (int i = 0; i < count; i++)
        for (int j = 0; j < count; j++)
            if (i != j && strcmp(logs[i].name, logs[j].name) == 0 && strchr(argv[optind + i], '/')) {
                const char *path = argv[optind + i], *end = strrchr(path, '/'), *start = end;
                int slashes = strcmp(end + 1, "log.csv") == 0 ? 2 : 1;
                while (start > path && slashes > 0)
                    if (*--start == '/')
                        slashes--;
                if (*start == '/')
                    start++;
                snprintf(logs[i].name, sizeof logs[i].name, "%.*s", (int)(end - start), start);
                if (strcmp(end + 1, "log.csv") != 0)
                    snprintf(logs[i].name, sizeof logs[i].name, "%s", start);
                break;
            }
    status = EXIT_RUNTIME;
    /* gnuplot writes a temporary file next to the output, renamed when done */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", output, (long)getpid());
    if (make_parent_dirs(output, err, sizeof err) < 0) {
        fprintf(stderr, "cnnctl: %s\n", err);
        goto done;
    }
    /* gnuplot's messages go to a file of ours, shown if it fails */
    char messages[] = "/tmp/cnnctl-gnuplot-XXXXXX", command[64];
    int fd = mkstemp(messages);
    if (fd < 0) {
        fprintf(stderr, "cnnctl: cannot create a temporary file for gnuplot's messages: %s\n", strerror(errno));
        goto done;
    }
    close(fd);
    snprintf(command, sizeof command, "gnuplot >/dev/null 2>%s", messages);
    FILE *gp = popen(command, "w");
    if (!gp) {
        fprintf(stderr, "cnnctl: cannot start gnuplot: %s\n", strerror(errno));
        unlink(messages);
        goto done;
    }
    write_script(gp, logs, count, tmp, title, width, height);
    int rc = pclose(gp);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        unlink(tmp);
        if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127)
            fprintf(stderr, "cnnctl: gnuplot is not installed (Debian: apt-get install gnuplot-nox)\n");
        else
            fprintf(stderr, "cnnctl: gnuplot failed to draw %s: %s\n", output, last_message(messages));
        unlink(messages);
        goto done;
    }
    unlink(messages);
    struct stat st;
    if (stat(output, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a device or pipe (/dev/stdout): copied into, never renamed over */
        if (copy_into(tmp, output, err, sizeof err) < 0) {
            fprintf(stderr, "cnnctl: %s\n", err);
            unlink(tmp);
            goto done;
        }
        unlink(tmp);
    } else if (rename(tmp, output) < 0) {
        fprintf(stderr, "cnnctl: %s: %s\n", output, strerror(errno));
        unlink(tmp);
        goto done;
    }
    printf("%s: %d run%s\n", output, count, count == 1 ? "" : "s");
    status = EXIT_OK;
done:
    for (int i = 0; i < count; i++)
        free(logs[i].rows);
    free(logs);
    return status;
}
