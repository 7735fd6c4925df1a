/* progress.h - what `cnnctl train` tells the person watching it, on stderr.
 *
 * On a terminal, a progress line redrawn in place a few times a second:
 *   epoch 3/10 [#########...........]  270/600  step 1470  loss 0.3412  acc 88.10%  1102 img/s  ETA 4m12s
 * and, when the epoch ends, the line is replaced by the epoch's summary.
 * Anywhere else (a pipe, a file, CI) only the summary lines, with no
 * control characters. Quiet: nothing. */
#ifndef CNNCTL_PROGRESS_H
#define CNNCTL_PROGRESS_H

#include <stdio.h>

struct progress {
    FILE *out;
    int quiet;
    int live;             /* redraw a progress line: out is a terminal */
    int drawn;            /* a progress line is on the screen */
    int width;            /* of the terminal */
    double last_draw;     /* seconds */
};

/* live: 1 or 0 to force, -1 to ask whether out is a terminal. */
void progress_init(struct progress *p, FILE *out, int quiet, int live);

/* During an epoch: batch done of batches, the epoch's running loss and
 * accuracy, images per second, and the seconds left (< 0: unknown).
 * Draws at most every 0.1 s unless force. */
void progress_step(struct progress *p, unsigned long long epoch, long epochs, int batch, int batches,
                   unsigned long long step, double loss, double accuracy, double images_per_s, double eta,
                   double now, int force);

/* A whole line (an epoch's summary, a notice): clears the progress line
 * first. printf-style; the text should end with a newline. */
void progress_line(struct progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Remove the progress line (before an error or the final result). */
void progress_clear(struct progress *p);

/* "4m12s", "1h05m", "37s" */
void progress_format_seconds(double seconds, char *buf, size_t len);

#endif
