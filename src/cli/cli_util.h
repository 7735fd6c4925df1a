/* cli_util.h - what the verbs share: usage errors, config errors, the
 * --threads option, JSON strings. */
#ifndef CNNCTL_CLI_UTIL_H
#define CNNCTL_CLI_UTIL_H

#include <stdio.h>

#include "config.h"

/* "cnnctl VERB: <fmt with arg>" and a pointer to --help on stderr; returns 2. */
int usage_error(const char *verb, const char *fmt, const char *arg);
/* Each recorded config error as one line on stderr, in file order. */
void print_config_errors(struct config *cfg);
/* Each note (a key an override made meaningless, dropped) on stderr. */
void print_config_notes(const struct config *cfg);
/* --threads N, 1 to 1024: 0, or the usage error's status. */
int parse_threads(const char *verb, const char *text, int *out);
/* s as a JSON string literal, quotes included. */
void json_string(FILE *f, const char *s);

#endif
