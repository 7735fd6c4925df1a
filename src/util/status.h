/* status.h - the exit statuses every verb returns and the modules below
 * them hand up: 0 success, 1 a failure while running (I/O, divergence, out
 * of memory), 2 bad usage or bad input (config, data file, checkpoint).
 * A run stopped by SIGINT or SIGTERM exits 128 + the signal. */
#ifndef CNNCTL_STATUS_H
#define CNNCTL_STATUS_H

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_INPUT = 2 };

#endif
