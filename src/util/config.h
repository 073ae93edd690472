/*
 * config.h - mnemo's settings: a fixed table of keys with types, defaults and descriptions,
 * read from $MNEMO_HOME/config.json and overridden per key by the environment.
 *
 * Key "tcp.listen" is overridden by MNEMO_TCP_LISTEN: "MNEMO_" + the key upper-cased with
 * every '.' turned into '_'. Precedence: environment > config.json > built-in default. Unknown
 * keys in config.json are reported by mnemo_config_load as warnings (logged, not fatal) so a
 * typo is visible; values of the wrong type are an error naming the key and the file.
 *
 * Ownership: a struct mnemo_config is owned by its creator and freed with mnemo_config_free.
 * Strings returned by the getters are borrowed from it and live until it is freed.
 * Thread-safety: a loaded config is immutable, so any number of threads may read it at once.
 * Reload (SIGHUP) builds a new one and swaps the pointer (the worker's business).
 */
#ifndef MNEMO_UTIL_CONFIG_H
#define MNEMO_UTIL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/log.h"

/* The config file's name inside the home directory. */
#define MNEMO_CONFIG_FILE "config.json"

enum mnemo_config_type {
    MNEMO_CONFIG_STRING,
    MNEMO_CONFIG_INT,  /* decimal integer within [min, max] */
    MNEMO_CONFIG_BOOL, /* true/false, 1/0, yes/no, on/off */
};

/* Where a value came from (for `mnemo config list`). */
enum mnemo_config_source {
    MNEMO_CONFIG_DEFAULT,
    MNEMO_CONFIG_FROM_FILE,
    MNEMO_CONFIG_FROM_ENV,
};

/* One key of the table (static data). */
struct mnemo_config_key {
    const char *name; /* "tcp.listen" */
    enum mnemo_config_type type;
    const char *def;  /* default as text */
    int64_t min, max; /* bounds for MNEMO_CONFIG_INT */
    int secret;       /* 1: value is masked ("***") by list/get unless asked to reveal */
    const char *help; /* one line */
};

struct mnemo_config;

/* The key table and its length (static; sorted by name). */
const struct mnemo_config_key *mnemo_config_keys(size_t *n);

/* The table entry for name, or NULL when there is no such key. */
const struct mnemo_config_key *mnemo_config_key_find(const char *name);

/*
 * Loads the config of home: defaults, then home/config.json when it exists (a missing file is
 * not an error), then the environment. log (may be NULL) gets warnings about unknown keys.
 * Returns 0, MNEMO_EINVAL (malformed JSON with line and column, or a bad value naming the key
 * and its source), MNEMO_EIO or MNEMO_ENOMEM; *out is NULL on failure.
 */
int mnemo_config_load(const char *home, struct mnemo_log *log, struct mnemo_config **out,
                      struct mnemo_err *err);

/* A config holding only defaults and the environment (for tests and for no home). */
int mnemo_config_defaults(struct mnemo_config **out, struct mnemo_err *err);

void mnemo_config_free(struct mnemo_config *c);

/*
 * Typed getters. The key must be in the table with that type (a programmer error otherwise:
 * assert). Strings are never NULL ("" for an empty value).
 */
const char *mnemo_config_str(const struct mnemo_config *c, const char *key);
int64_t mnemo_config_int(const struct mnemo_config *c, const char *key);
int mnemo_config_bool(const struct mnemo_config *c, const char *key);

/* The value of key as text and its source; MNEMO_ENOTFOUND for an unknown key. */
int mnemo_config_get_text(const struct mnemo_config *c, const char *key, const char **value,
                          enum mnemo_config_source *source, struct mnemo_err *err);

const char *mnemo_config_source_name(enum mnemo_config_source s);

/*
 * Validates value for key and writes it into home/config.json (atomic replace, mode 0600,
 * other keys kept). value NULL removes the key from the file (back to the default).
 * Returns 0, MNEMO_ENOTFOUND (unknown key), MNEMO_EINVAL (bad value: says why), MNEMO_EIO.
 */
int mnemo_config_set(const char *home, const char *key, const char *value, struct mnemo_err *err);

#endif
