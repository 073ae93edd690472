/*
 * strbuf.c - a growable, NUL-terminated byte buffer with a hard maximum.
 *
 * Storage grows geometrically (doubling) so n appends cost O(n) copying overall, and is
 * capped at max + 1 bytes (the contents plus the terminating NUL). A failed append leaves
 * data, len and the terminator exactly as they were.
 */
#include "util/strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

/* The first allocation; small strings (names, short JSON) then never reallocate. */
#define STRBUF_MIN_CAP 64

/* Initialises an empty buffer that may grow to max bytes (0 means the default). */
void mnemo_strbuf_init(struct mnemo_strbuf *sb, size_t max)
{
    if (!sb)
        return;
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
    sb->max = max ? max : MNEMO_STRBUF_DEFAULT_MAX;
}

/* Frees the data and resets the buffer to empty, keeping max. */
void mnemo_strbuf_release(struct mnemo_strbuf *sb)
{
    if (!sb)
        return;
    free(sb->data);
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
}

/* Empties the buffer without freeing its storage. */
void mnemo_strbuf_reset(struct mnemo_strbuf *sb)
{
    if (!sb)
        return;
    sb->len = 0;
    if (sb->data)
        sb->data[0] = '\0';
}

/*
 * Makes room for extra more bytes plus the NUL. Returns 0, MNEMO_ETOOBIG when len + extra
 * would pass max, or MNEMO_ENOMEM; the buffer is untouched on failure.
 */
static int strbuf_grow(struct mnemo_strbuf *sb, size_t extra)
{
    size_t need;
    size_t limit;
    size_t cap;
    char *p;

    if (sb->len > sb->max || extra > sb->max - sb->len)
        return MNEMO_ETOOBIG;
    need = sb->len + extra + 1;
    if (need <= sb->cap)
        return MNEMO_OK;
    /* max + 1 cannot overflow unless max is SIZE_MAX, where the limit is SIZE_MAX itself. */
    limit = sb->max < SIZE_MAX ? sb->max + 1 : SIZE_MAX;
    cap = sb->cap ? sb->cap : STRBUF_MIN_CAP;
    while (cap < need) {
        if (cap > limit / 2) {
            cap = limit;
            break;
        }
        cap *= 2;
    }
    if (cap > limit)
        cap = limit;
    p = realloc(sb->data, cap);
    if (!p)
        return MNEMO_ENOMEM;
    if (!sb->data)
        p[0] = '\0';
    sb->data = p;
    sb->cap = cap;
    return MNEMO_OK;
}

/* Appends n bytes. Returns 0, MNEMO_ENOMEM, MNEMO_ETOOBIG or MNEMO_EINVAL. */
int mnemo_strbuf_append(struct mnemo_strbuf *sb, const void *data, size_t n)
{
    const char *src = data;
    size_t self_off = 0;
    int self = 0;
    int rc;

    if (!sb || (!data && n > 0))
        return MNEMO_EINVAL;
    /*
     * Appending a slice of the buffer to itself is legal; remember it as an offset because
     * growing may move the storage and leave src dangling.
     */
    if (src && sb->data) {
        uintptr_t s = (uintptr_t)src;
        uintptr_t base = (uintptr_t)sb->data;
        if (s >= base && s - base < sb->cap) {
            self = 1;
            self_off = (size_t)(s - base);
        }
    }
    rc = strbuf_grow(sb, n);
    if (rc != MNEMO_OK)
        return rc;
    if (self)
        src = sb->data + self_off;
    if (n > 0)
        memmove(sb->data + sb->len, src, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
    return MNEMO_OK;
}

/* Appends a NUL-terminated string. */
int mnemo_strbuf_puts(struct mnemo_strbuf *sb, const char *s)
{
    if (!s)
        return MNEMO_EINVAL;
    return mnemo_strbuf_append(sb, s, strlen(s));
}

/* Appends formatted text. */
int mnemo_strbuf_appendf(struct mnemo_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = mnemo_strbuf_vappendf(sb, fmt, ap);
    va_end(ap);
    return rc;
}

/* va_list form of mnemo_strbuf_appendf. */
int mnemo_strbuf_vappendf(struct mnemo_strbuf *sb, const char *fmt, va_list ap)
{
    va_list ap2;
    size_t avail;
    int n;
    int rc = MNEMO_OK;

    if (!sb || !fmt)
        return MNEMO_EINVAL;
    va_copy(ap2, ap);
    /* Most appends fit in the spare capacity, so format once straight into it. */
    avail = sb->data ? sb->cap - sb->len : 0;
    n = vsnprintf(sb->data ? sb->data + sb->len : NULL, avail, fmt, ap);
    if (n < 0) {
        rc = MNEMO_EINVAL;
        goto out;
    }
    if ((size_t)n < avail) {
        sb->len += (size_t)n;
        goto out;
    }
    rc = strbuf_grow(sb, (size_t)n);
    if (rc != MNEMO_OK)
        goto out;
    avail = sb->cap - sb->len;
    n = vsnprintf(sb->data + sb->len, avail, fmt, ap2);
    if (n < 0 || (size_t)n >= avail) {
        /* Only an argument that changed between the passes (it pointed into sb) gets here. */
        rc = MNEMO_EINVAL;
        goto out;
    }
    sb->len += (size_t)n;
out:
    /* A failed or partial attempt may have written past len; restore the terminator. */
    if (sb->data)
        sb->data[sb->len] = '\0';
    va_end(ap2);
    return rc;
}

/* The contents as a C string; "" for a buffer that never grew. */
const char *mnemo_strbuf_str(const struct mnemo_strbuf *sb)
{
    return sb && sb->data ? sb->data : "";
}

/* Hands the data to the caller (free() it) and leaves the buffer empty. */
char *mnemo_strbuf_detach(struct mnemo_strbuf *sb)
{
    char *p;

    if (!sb)
        return NULL;
    if (!sb->data) {
        p = malloc(1);
        if (p)
            p[0] = '\0';
        return p;
    }
    p = sb->data;
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
    return p;
}

/*
 * Cuts len back so buf[0..len) does not end in the middle of a UTF-8 sequence. Messages
 * reach JSON answers, and a JSON encoder rejects a string whose last character was split by
 * truncation, which would lose the whole message instead of its tail.
 */
size_t mnemo_utf8_cut(const char *buf, size_t len)
{
    size_t i = len;
    size_t back = 0;

    while (i > 0 && back < 4 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80) {
        i--;
        back++;
    }
    if (i == 0)
        return len;
    unsigned char lead = (unsigned char)buf[i - 1];
    size_t need;
    if (lead < 0x80)
        return len;
    if ((lead & 0xE0) == 0xC0)
        need = 2;
    else if ((lead & 0xF0) == 0xE0)
        need = 3;
    else if ((lead & 0xF8) == 0xF0)
        need = 4;
    else
        return len; /* not UTF-8 at all; leave the bytes as they are */
    return back + 1 < need ? i - 1 : len;
}
