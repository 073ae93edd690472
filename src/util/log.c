/*
 * log.c - leveled logfmt logging to stderr or a file.
 *
 * Each line is built in a stack buffer and handed to the kernel with one write(2) under the
 * logger's mutex, so concurrent threads never interleave and a line is never split across
 * two writes of different threads. The level is an atomic so any thread may change it while
 * others log, without taking the mutex on the hot "is this level enabled?" path.
 */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* The longest line written, newline included. */
#define LOG_LINE_MAX 4096

/* Appended when the caller's fields did not fit, so a reader knows the line is incomplete. */
#define LOG_TRUNCATED_MARK " truncated=true"

struct mnemo_log {
    int fd;
    int owns_fd; /* 0 for stderr, which the logger must leave open */
    atomic_int level;
    pthread_mutex_t lock; /* serialises writes so lines never interleave */
};

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

/* ---- quoting ---------------------------------------------------------------------------- */

/* Writes the quoted form of byte c into out (at least 5 bytes); returns its length. */
static size_t escape_byte(unsigned char c, char *out)
{
    switch (c) {
    case '"':
    case '\\':
        out[0] = '\\';
        out[1] = (char)c;
        return 2;
    case '\n':
        out[0] = '\\';
        out[1] = 'n';
        return 2;
    case '\t':
        out[0] = '\\';
        out[1] = 't';
        return 2;
    case '\r':
        out[0] = '\\';
        out[1] = 'r';
        return 2;
    default:
        break;
    }
    /* Other control characters would corrupt terminals and line-based readers. */
    if (c < 0x20 || c == 0x7f) {
        snprintf(out, 5, "\\x%02x", c);
        return 4;
    }
    out[0] = (char)c;
    return 1;
}

/* True when s cannot be written bare in logfmt. */
static int needs_quote(const char *s)
{
    if (*s == '\0')
        return 1;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '"' || c == '=' || c == 0x7f)
            return 1;
    }
    return 0;
}

/*
 * Writes s as a logfmt value into buf (size bytes, NUL included), quoted when force is set
 * or s needs it. A value that does not fit ends in "..." (inside the quotes when quoted).
 * Returns the length written, excluding the NUL.
 */
static size_t quote_into(char *buf, size_t size, const char *s, int force)
{
    char esc[8];
    size_t full = 2;
    size_t limit;
    size_t pos;
    int truncated;

    if (size == 0)
        return 0;
    if (!s)
        s = "";
    if (!force && !needs_quote(s)) {
        size_t len = strlen(s);
        if (len < size) {
            memcpy(buf, s, len + 1);
            return len;
        }
        if (size < 4) {
            buf[0] = '\0';
            return 0;
        }
        pos = mnemo_utf8_cut(s, size - 4);
        memcpy(buf, s, pos);
        memcpy(buf + pos, "...", 4);
        return pos + 3;
    }
    for (const char *p = s; *p; p++)
        full += escape_byte((unsigned char)*p, esc);
    truncated = full >= size;
    if (truncated && size < 6) {
        /* No room for "..." in quotes; an empty quoted value still parses. */
        if (size < 3) {
            buf[0] = '\0';
            return 0;
        }
        memcpy(buf, "\"\"", 3);
        return 2;
    }
    /* Where the escaped text must stop: before the closing quote, or before `..."`. */
    limit = truncated ? size - 5 : size - 2;
    buf[0] = '"';
    pos = 1;
    for (const char *p = s; *p; p++) {
        size_t n = escape_byte((unsigned char)*p, esc);
        if (pos + n > limit)
            break;
        memcpy(buf + pos, esc, n);
        pos += n;
    }
    if (truncated) {
        pos = 1 + mnemo_utf8_cut(buf + 1, pos - 1);
        memcpy(buf + pos, "...\"", 5);
        return pos + 4;
    }
    buf[pos++] = '"';
    buf[pos] = '\0';
    return pos;
}

/* Writes s into buf as a logfmt value, bare when it can be; returns buf. */
const char *mnemo_log_quote(char *buf, size_t size, const char *s)
{
    if (buf)
        quote_into(buf, size, s, 0);
    return buf;
}

/* ---- levels ----------------------------------------------------------------------------- */

/* The lower-case name of a level ("warn"); "unknown" outside the enum. */
const char *mnemo_log_level_name(enum mnemo_log_level level)
{
    if ((int)level < (int)MNEMO_LOG_DEBUG || (int)level > (int)MNEMO_LOG_OFF)
        return "unknown";
    return level_names[level];
}

/* Parses "debug", "info", "warn" or "error" (case-insensitive). */
int mnemo_log_level_parse(const char *s, enum mnemo_log_level *out)
{
    if (!s || !out)
        return MNEMO_EINVAL;
    for (int l = MNEMO_LOG_DEBUG; l <= MNEMO_LOG_ERROR; l++) {
        if (strcasecmp(s, level_names[l]) == 0) {
            *out = (enum mnemo_log_level)l;
            return MNEMO_OK;
        }
    }
    return MNEMO_EINVAL;
}

/* Changes the threshold; safe from any thread. Out-of-range levels are ignored. */
void mnemo_log_set_level(struct mnemo_log *log, enum mnemo_log_level level)
{
    if (!log || (int)level < (int)MNEMO_LOG_DEBUG || (int)level > (int)MNEMO_LOG_OFF)
        return;
    /* Relaxed is enough: the level guards no other data, and a stale read costs one line. */
    atomic_store_explicit(&log->level, (int)level, memory_order_relaxed);
}

/* True when a line at level would be written. */
int mnemo_log_enabled(const struct mnemo_log *log, enum mnemo_log_level level)
{
    if (!log || (int)level < (int)MNEMO_LOG_DEBUG || (int)level >= (int)MNEMO_LOG_OFF)
        return 0;
    return (int)level >= atomic_load_explicit(&log->level, memory_order_relaxed);
}

/* ---- open, close, write ----------------------------------------------------------------- */

/* Opens a logger writing lines at level or above to path (NULL or "-" for stderr). */
int mnemo_log_open(const char *path, enum mnemo_log_level level, struct mnemo_log **out,
                   struct mnemo_err *err)
{
    struct mnemo_log *log = NULL;
    char eb[128];
    int owns = 0;
    int fd = -1;
    int e;
    int rc = MNEMO_OK;

    if (!out) {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "no output for the logger");
        goto out;
    }
    *out = NULL;
    if ((int)level < (int)MNEMO_LOG_DEBUG || (int)level > (int)MNEMO_LOG_OFF) {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "invalid log level %d", (int)level);
        goto out;
    }
    if (path && path[0] == '\0') {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "empty log file path");
        goto out;
    }
    log = calloc(1, sizeof *log);
    if (!log) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot allocate a logger");
        goto out;
    }
    if (path && strcmp(path, "-") != 0) {
        /* O_APPEND makes every write land at the current end even if others append too. */
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
            e = errno;
            rc = mnemo_err_set(err, mnemo_fs_errno_rc(e), "cannot open log file '%s': %s", path,
                               strerror_r(e, eb, sizeof eb));
            goto out;
        }
        owns = 1;
    } else {
        fd = STDERR_FILENO;
    }
    e = pthread_mutex_init(&log->lock, NULL);
    if (e != 0) {
        rc = mnemo_err_set(err, mnemo_fs_errno_rc(e), "cannot initialise the log lock: %s",
                           strerror_r(e, eb, sizeof eb));
        goto out;
    }
    log->fd = fd;
    log->owns_fd = owns;
    atomic_init(&log->level, (int)level);
    *out = log;
    log = NULL;
    owns = 0;
out:
    /* Nothing was written to a descriptor we failed to hand over, so close cannot lose data. */
    if (owns)
        close(fd);
    free(log);
    return rc;
}

/* Frees the logger (closing its file, never stderr). NULL is a no-op. */
void mnemo_log_close(struct mnemo_log *log)
{
    if (!log)
        return;
    pthread_mutex_destroy(&log->lock);
    /*
     * Every line went out with write(2) already; a close error can only be a deferred
     * write error on an exotic file system, and there is nobody left to tell.
     */
    if (log->owns_fd)
        close(log->fd);
    free(log);
}

/*
 * Writes len bytes to fd, resuming after signals and short writes. Logging must never stall
 * or take down the service, so on any other error the rest of the line is dropped.
 */
static void write_line(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

/*
 * Shortens the caller's fields, which were cut off at len bytes (region starts at the space
 * before them), back to the last whole field and appends LOG_TRUNCATED_MARK, so the line
 * stays parseable instead of ending inside a quoted value. Returns the new region length.
 */
static size_t cut_fields(char *region, size_t len)
{
    size_t mark = sizeof LOG_TRUNCATED_MARK - 1;
    size_t best = SIZE_MAX;
    int quoted = 0;

    for (size_t i = 0; i < len; i++) {
        char c = region[i];
        if (quoted) {
            if (c == '\\')
                i++;
            else if (c == '"')
                quoted = 0;
            continue;
        }
        if (c == '"')
            quoted = 1;
        else if (c == ' ' && i + mark <= len)
            best = i;
    }
    if (best == SIZE_MAX)
        return 0;
    memcpy(region + best, LOG_TRUNCATED_MARK, mark);
    return best + mark;
}

/* Writes one line at level: timestamp, level, quoted msg, then the formatted fields. */
void mnemo_log_write(struct mnemo_log *log, enum mnemo_log_level level, const char *msg,
                     const char *fields_fmt, ...)
{
    char line[LOG_LINE_MAX];
    char ts[MNEMO_CLOCK_ISO_LEN];
    va_list ap;
    size_t pos;
    int n;

    if (!mnemo_log_enabled(log, level))
        return;
    mnemo_clock_format_utc(mnemo_clock_wall_ms(), ts, sizeof ts);
    /*
     * Everything below writes within line[0..LOG_LINE_MAX - 1), keeping the last byte for the
     * newline that replaces the final NUL.
     */
    n = snprintf(line, LOG_LINE_MAX, "ts=%s level=%s msg=", ts, mnemo_log_level_name(level));
    if (n < 0 || (size_t)n >= LOG_LINE_MAX)
        return;
    pos = (size_t)n;
    pos += quote_into(line + pos, LOG_LINE_MAX - pos, msg, 1);

    if (fields_fmt && fields_fmt[0] != '\0' && pos + 2 < LOG_LINE_MAX) {
        size_t start = pos + 1;
        size_t avail = LOG_LINE_MAX - start;
        line[pos] = ' ';
        va_start(ap, fields_fmt);
        n = vsnprintf(line + start, avail, fields_fmt, ap);
        va_end(ap);
        /* Fields that format to nothing (or fail to format) leave no trailing space behind. */
        if (n > 0 && (size_t)n < avail)
            pos = start + (size_t)n;
        else if (n > 0)
            pos += cut_fields(line + pos, avail);
        /* A raw newline from a caller's unquoted field would split the entry in two. */
        for (size_t i = start; i < pos; i++) {
            if (line[i] == '\n' || line[i] == '\r')
                line[i] = ' ';
        }
    }
    line[pos++] = '\n';

    /* The mutex keeps a short write's remainder from landing after another thread's line. */
    if (pthread_mutex_lock(&log->lock) != 0)
        return;
    write_line(log->fd, line, pos);
    pthread_mutex_unlock(&log->lock);
}
