/* progress.c - see progress.h. */
#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void progress_init(struct progress *p, FILE *out, int quiet, int live)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->quiet = quiet;
    p->live = !quiet && (live >= 0 ? live : isatty(fileno(out)));
    p->width = 80;
    struct winsize ws;
    if (p->live && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        p->width = ws.ws_col;
    p->last_draw = -1.0;
}

void progress_format_seconds(double seconds, char *buf, size_t len)
{
    if (!(seconds >= 0) || seconds > 99 * 3600.0) {
        snprintf(buf, len, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(buf, len, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, len, "%lds", s);
}

void progress_step(struct progress *p, unsigned long long epoch, long epochs, int batch, int batches,
                   unsigned long long step, double loss, double accuracy, double images_per_s, double eta,
                   double now, int force)
{
    if (!p->live || (!force && p->last_draw >= 0 && now - p->last_draw < 0.1))
        return;
    p->last_draw = now;
    char head[64], tail[160], eta_text[16];
    progress_format_seconds(eta, eta_text, sizeof eta_text);
    int hn = snprintf(head, sizeof head, "epoch %llu/%ld ", epoch, epochs);
    char acc[32] = "";
    if (!isnan(accuracy))   /* a detector has none */
        snprintf(acc, sizeof acc, "  acc %.2f%%", 100 * accuracy);
    int tn = snprintf(tail, sizeof tail, " %*d/%d  step %llu  loss %.4f%s  %.0f img/s  ETA %s",
                      batches >= 1000 ? 4 : 3, batch, batches, step, loss, acc, images_per_s, eta_text);
    /* the bar takes what the terminal has left, 10 to 30 cells */
    int cells = p->width - 1 - hn - tn - 2;
    if (cells > 30)
        cells = 30;
    char bar[32];
    if (cells >= 10) {
        int done = batches > 0 ? (int)((long)cells * batch / batches) : 0;
        for (int i = 0; i < cells; i++)
            bar[i] = i < done ? '#' : '.';
        bar[cells] = '\0';
        fprintf(p->out, "\r\033[K%s[%s]%s", head, bar, tail);
    } else {
        fprintf(p->out, "\r\033[K%s%s", head, tail);
    }
    fflush(p->out);
    p->drawn = 1;
}

void progress_clear(struct progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
        p->drawn = 0;
    }
}

void progress_line(struct progress *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    progress_clear(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    fflush(p->out);
}
