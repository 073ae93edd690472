/*
 * log.h - leveled logfmt logging to stderr or a file.
 *
 * A line looks like:
 *   ts=2026-11-27T20:58:15.123Z level=warn msg="slow database operation" op=search elapsed_ms=120
 * The message is quoted by the logger; the caller's fields are appended as formatted, so a
 * value that may contain spaces or quotes goes through mnemo_log_quote first.
 *
 * There is no global logger: a struct mnemo_log is created by the process's entry point and
 * passed down. A NULL logger discards everything, so libraries can log unconditionally.
 *
 * Thread-safety: mnemo_log_write and mnemo_log_enabled may be called from any thread
 * concurrently; each line is written with a single write(2) under a mutex, so lines never
 * interleave. mnemo_log_open/close are not thread-safe with respect to writes.
 */
#ifndef MNEMO_UTIL_LOG_H
#define MNEMO_UTIL_LOG_H

#include <stddef.h>

#include "util/err.h"

enum mnemo_log_level {
    MNEMO_LOG_DEBUG = 0,
    MNEMO_LOG_INFO = 1,
    MNEMO_LOG_WARN = 2,
    MNEMO_LOG_ERROR = 3,
    MNEMO_LOG_OFF = 4,
};

struct mnemo_log;

/*
 * Opens a logger writing lines at `level` or above. path NULL or "-" means stderr; any
 * other path is opened for append (created 0600). Returns 0 and *out, or a negative code
 * (out set to NULL) with detail in err. The caller frees with mnemo_log_close.
 */
int mnemo_log_open(const char *path, enum mnemo_log_level level, struct mnemo_log **out,
                   struct mnemo_err *err);

/* Flushes nothing (every line is written at once) and frees the logger. NULL is a no-op. */
void mnemo_log_close(struct mnemo_log *log);

/* Changes the threshold. Safe from any thread. */
void mnemo_log_set_level(struct mnemo_log *log, enum mnemo_log_level level);

/* True when a line at `level` would be written; use it to skip costly field formatting. */
int mnemo_log_enabled(const struct mnemo_log *log, enum mnemo_log_level level);

/*
 * Writes one line. msg is quoted and escaped; fields_fmt (may be NULL) is printf-formatted
 * and appended after a space. Lines longer than 4 KiB are truncated. log may be NULL.
 */
void mnemo_log_write(struct mnemo_log *log, enum mnemo_log_level level, const char *msg,
                     const char *fields_fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Writes s into buf as a logfmt value: bare when it has no space, quote, '=' or control
 * character, else double-quoted with \" \\ \n \t escapes. Truncates to fit (ending with
 * "..." inside the quotes). Returns buf, so it can be used as a printf argument.
 */
const char *mnemo_log_quote(char *buf, size_t size, const char *s);

/* Parses "debug", "info", "warn" or "error" (case-insensitive). Returns 0 or MNEMO_EINVAL. */
int mnemo_log_level_parse(const char *s, enum mnemo_log_level *out);

/* The lower-case name of a level ("warn"). */
const char *mnemo_log_level_name(enum mnemo_log_level level);

#endif
