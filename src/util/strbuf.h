/*
 * strbuf.h - a growable, NUL-terminated byte buffer with a hard maximum.
 *
 * Every buffer has a ceiling (max); growth past it fails with MNEMO_ETOOBIG and leaves the
 * buffer as it was, so untrusted input can never make mnemo allocate without bound.
 *
 * Thread-safety: a buffer belongs to one thread at a time; no internal locking.
 * Ownership: the struct is the caller's (stack or embedded); mnemo_strbuf_release frees its
 * data. After release the buffer may be initialised again.
 */
#ifndef MNEMO_UTIL_STRBUF_H
#define MNEMO_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct mnemo_strbuf {
    char *data; /* NUL-terminated when len > 0 or after any append; NULL before the first */
    size_t len;
    size_t cap;
    size_t max; /* largest len allowed */
};

/* Default ceiling used by callers that have no better bound: 16 MiB. */
#define MNEMO_STRBUF_DEFAULT_MAX ((size_t)16 * 1024 * 1024)

/* Initialises an empty buffer that may grow to max bytes (0 means the default). */
void mnemo_strbuf_init(struct mnemo_strbuf *sb, size_t max);

/* Frees the data and resets the buffer to empty (keeping max). */
void mnemo_strbuf_release(struct mnemo_strbuf *sb);

/* Empties the buffer without freeing its storage. */
void mnemo_strbuf_reset(struct mnemo_strbuf *sb);

/* Appends n bytes. Returns 0, MNEMO_ENOMEM or MNEMO_ETOOBIG (buffer unchanged on failure). */
int mnemo_strbuf_append(struct mnemo_strbuf *sb, const void *data, size_t n);

/* Appends a NUL-terminated string. Same returns as mnemo_strbuf_append. */
int mnemo_strbuf_puts(struct mnemo_strbuf *sb, const char *s);

/* Appends formatted text. Same returns as mnemo_strbuf_append, MNEMO_EINVAL on a bad format. */
int mnemo_strbuf_appendf(struct mnemo_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* va_list form of mnemo_strbuf_appendf. */
int mnemo_strbuf_vappendf(struct mnemo_strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The contents as a C string; "" for a buffer that never grew. Borrowed until the next change. */
const char *mnemo_strbuf_str(const struct mnemo_strbuf *sb);

/*
 * Hands the data to the caller (who frees it with free()) and leaves the buffer empty.
 * Returns a malloc'd "" for an empty buffer, or NULL when that allocation fails.
 */
char *mnemo_strbuf_detach(struct mnemo_strbuf *sb);

/*
 * The length to cut buf[0..len) to so that it does not end inside a UTF-8 sequence (len
 * itself when it does not). Truncated messages reach JSON, whose encoders reject a split
 * character and would drop the whole string.
 */
size_t mnemo_utf8_cut(const char *buf, size_t len);

#endif
