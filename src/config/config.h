/* config.h - the INI configuration, read with the system's inih.
 *
 * A config is an ordered list of sections, each an ordered list of
 * key = value entries that remember where they came from (file:line, or the
 * --set option that made them). Consumers read keys through the typed
 * getters, which parse strictly, check ranges and mark the key as used;
 * afterwards config_check_unused() reports every key nobody asked for, so a
 * misspelt key is an error, never silently ignored.
 *
 * Errors are collected, not printed: every problem becomes one line
 * "file:line: [section] key: what is wrong" in config->errors, and the
 * command layer prints them all and exits 2. */
#ifndef CNNCTL_CONFIG_H
#define CNNCTL_CONFIG_H

#include <stddef.h>

struct config_entry {
    char *key;
    char *value;
    int line;        /* 1-based line in the file; 0 when origin is set */
    char *origin;    /* "--set a.b=c" for overrides, else NULL */
    int used;
    int dropped;     /* unset by an override (--set a.b=), or given up for a
                        conflicting override: read as absent, never written
                        back by config_to_text() */
};

struct config_section {
    char *name;
    int line;
    struct config_entry *entries;
    int count, cap;
    /* The keys this section may hold: every key a getter asked for, and
     * those declared with config_declare() (why: when they are read; by:
     * the key whose value decides that). For config_check_unused()'s "did
     * you mean" and its unknown/unused verdict. */
    char **known, **known_why, **known_by;
    int known_count, known_cap;
    int unchecked;   /* its type is unknown: no verdict on its keys */
};

struct config {
    char *label;     /* the file name used in messages */
    char *base_dir;  /* folder of the config file: relative paths start here */
    struct config_section *sections;
    int count, cap;
    char **errors;
    int error_count;
    long *error_order;  /* per error: its line, for config_sort_errors() */
    char **notes;       /* what was ignored and why; printed, not fatal */
    int note_count;
};

/* Both return 0 on success, -1 when errors were recorded (the config is
 * still valid to free). label names the text in messages. */
int config_load_file(struct config *cfg, const char *path);
int config_load_text(struct config *cfg, const char *label, const char *base_dir,
                     const char *text, size_t len);
void config_free(struct config *cfg);

/* Apply "section.key=value". Replaces an existing key or adds a new one
 * (which config_check_unused() rejects if nothing reads it). -1 on error. */
int config_set(struct config *cfg, const char *assignment);
/* Replace or add a key programmatically (no origin, no error). */
void config_put(struct config *cfg, struct config_section *s, const char *key, const char *value);

struct config_section *config_section(struct config *cfg, const char *name);
/* Find a key and mark it used; NULL when absent. */
struct config_entry *config_find(struct config_section *s, const char *key);

/* Typed getters: s may be NULL (absent section: the default applies).
 * Return 1 when the key was present and valid, 0 when absent (*out = def),
 * -1 when present but invalid (an error is recorded, *out = def). */
int config_get_int(struct config *cfg, struct config_section *s, const char *key,
                   long *out, long def, long min, long max);
int config_get_float(struct config *cfg, struct config_section *s, const char *key,
                     double *out, double def, double min, double max);
int config_get_string(struct config *cfg, struct config_section *s, const char *key,
                      const char **out, const char *def);

/* Record an error located at an entry, or a section (e == NULL), or the file. */
void config_error(struct config *cfg, const struct config_section *s,
                  const struct config_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Strict number parsing of a whole string; 0 on success. */
int parse_long(const char *text, long *out);
int parse_double(const char *text, double *out);

/* A key of section s that the settings read so far do not use because of
 * the value of key `by`: why says when it is used ("used only with
 * optimizer = momentum or nesterov"). */
void config_declare(struct config_section *s, const char *key, const char *why, const char *by);
/* Give up e: read as absent from now on, not written back. */
void config_drop(struct config_entry *e);
/* 1 when e was set by --set with an empty value: the key's default applies. */
int config_unset_by_option(const struct config_entry *e);

/* Every key that no getter read: a key the section does not know is an
 * error ("unknown key", with the nearest known key as a suggestion); a
 * known key the settings make meaningless is an error when the file alone
 * says so, and a note (the key dropped) when an override of the key that
 * decides it (config_declare's by) made it so. */
void config_check_unused(struct config *cfg);

/* The first error in file order, into err (a config that one check found
 * wrong); "" when there is none. */
void config_error_text(struct config *cfg, char *err, size_t errlen);

/* The errors in file order: by line, then those of --set options, then the
 * rest in the order they were found. */
void config_sort_errors(struct config *cfg);

/* The config as INI text (sections and keys in order); caller frees. */
char *config_to_text(const struct config *cfg, size_t *len);

#endif
