/* cli_util.c - see cli_util.h. */
#include "cli_util.h"

#include "cli.h"

#include <stdio.h>

int usage_error(const char *verb, const char *fmt, const char *arg)
{
    fprintf(stderr, "cnnctl %s: ", verb);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'cnnctl %s --help'.\n", verb);
    return EXIT_INPUT;
}

void print_config_errors(struct config *cfg)
{
    config_sort_errors(cfg);
    for (int i = 0; i < cfg->error_count; i++)
        fprintf(stderr, "cnnctl: %s\n", cfg->errors[i]);
}

void print_config_notes(const struct config *cfg)
{
    for (int i = 0; i < cfg->note_count; i++)
        fprintf(stderr, "cnnctl: note: %s\n", cfg->notes[i]);
}

int parse_threads(const char *verb, const char *text, int *out)
{
    long v;
    if (parse_long(text, &v) < 0 || v < 1 || v > 1024)
        return usage_error(verb, "--threads: '%s' is not a whole number from 1 to 1024", text);
    *out = (int)v;
    return 0;
}

void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}
