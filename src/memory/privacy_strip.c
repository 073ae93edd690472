/*
 * privacy_strip.c - removal of <private> blocks, mnemo's own injected blocks and the agent's
 * system tags (privacy.h, step 2). A hand-written scanner rather than a regex: it fails closed
 * on an unclosed <private>, counts nested <private> blocks, and stays linear on any input.
 */
#include "memory/privacy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "memory/privacy_int.h"

/* Blocks removed with their content. Index 0 is <private>, which fails closed. The last two
 * names are spelled as reference/claude-mnemonic.md §8 gives them. */
static const char *const strip_tags[] = {
    "private",
    MNEMO_PRIVACY_CONTEXT_TAG,
    MNEMO_PRIVACY_MEMORY_TAG,
    "task-notification",
    "system-reminder",
    "relevant-memory",
    "user-prompt-submit-hook",
    "persisted-output",
    "available-deferred-tools",
    "fast_mode_info",
    "antml_thinking",
    "antml_function_calls",
};
#define N_STRIP_TAGS (sizeof strip_tags / sizeof strip_tags[0])
#define PRIVATE_TAG  0

/* Attributes longer than this do not make a tag: the '<' is then plain text (or, for
 * <private>, the start of an unterminated block). */
#define TAG_ATTR_MAX 4096

static bool is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == ':' || c == '.';
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Whether s[i..] starts with name (ASCII case-insensitive) followed by a non-name byte. */
static bool name_at(const char *s, size_t len, size_t i, const char *name, size_t *after)
{
    size_t n = strlen(name);
    /* Tag names are lowercase; comparing the first byte first keeps "<<<<" cheap. */
    if (len - i < n || (s[i] | 0x20) != name[0] || strncasecmp(s + i, name, n) != 0)
        return false;
    if (i + n < len && is_name_char((unsigned char)s[i + n]))
        return false;
    *after = i + n;
    return true;
}

/*
 * Whether s[i] == '<' opens one of the strip tags. Sets *tag, and *end to the index after
 * the closing '>' (SIZE_MAX when the tag never closes: end of input or over-long attributes)
 * and *self_closing for "<tag ... />". Quoted attribute values may contain '>'.
 */
static bool open_tag_at(const char *s, size_t len, size_t i, size_t *tag, size_t *end,
                        bool *self_closing)
{
    size_t after = 0;
    if (i + 1 >= len || s[i] != '<')
        return false;
    for (size_t t = 0; t < N_STRIP_TAGS; t++) {
        if (!name_at(s, len, i + 1, strip_tags[t], &after))
            continue;
        if (after < len && !is_space((unsigned char)s[after]) && s[after] != '>' && s[after] != '/')
            return false;
        *tag = t;
        *end = SIZE_MAX;
        *self_closing = false;
        char quote = 0;
        for (size_t j = after; j < len && j - after <= TAG_ATTR_MAX; j++) {
            char c = s[j];
            if (quote) {
                if (c == quote)
                    quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '>') {
                *end = j + 1;
                *self_closing = j > after && s[j - 1] == '/';
                break;
            }
        }
        return true;
    }
    return false;
}

/* Whether s[i..] is "</name" + optional whitespace + ">" for strip tag t; *end after '>'. */
static bool close_tag_at(const char *s, size_t len, size_t i, size_t t, size_t *end)
{
    size_t j = 0;
    if (len - i < 3 || s[i] != '<' || s[i + 1] != '/')
        return false;
    if (!name_at(s, len, i + 2, strip_tags[t], &j))
        return false;
    while (j < len && is_space((unsigned char)s[j]))
        j++;
    if (j >= len || s[j] != '>')
        return false;
    *end = j + 1;
    return true;
}

/* The end of the closing tag that balances a <private> opened before from (nested private
 * blocks count), or false when it never closes. */
static bool find_private_close(const char *s, size_t len, size_t from, size_t *end)
{
    size_t depth = 1, i = from;
    while (i < len) {
        const char *lt = memchr(s + i, '<', len - i);
        if (!lt)
            return false;
        size_t p = (size_t)(lt - s), t = 0, e = 0;
        bool sc = false;
        if (close_tag_at(s, len, p, PRIVATE_TAG, &e)) {
            if (--depth == 0) {
                *end = e;
                return true;
            }
            i = e;
        } else if (open_tag_at(s, len, p, &t, &e, &sc) && t == PRIVATE_TAG && e != SIZE_MAX) {
            if (!sc)
                depth++;
            i = e;
        } else {
            i = p + 1;
        }
    }
    return false;
}

/* The end of the first closing tag for t at or after from (non-greedy, as the reference). */
static bool find_close(const char *s, size_t len, size_t from, size_t t, size_t *end)
{
    size_t i = from;
    while (i < len) {
        const char *lt = memchr(s + i, '<', len - i);
        if (!lt)
            return false;
        size_t p = (size_t)(lt - s);
        if (close_tag_at(s, len, p, t, end))
            return true;
        i = p + 1;
    }
    return false;
}

/* Whether s[i..] is a closing tag of any strip tag (a stray one, with no opener). */
static bool stray_close_at(const char *s, size_t len, size_t i, size_t *end)
{
    if (len - i < 3 || s[i + 1] != '/')
        return false;
    for (size_t t = 0; t < N_STRIP_TAGS; t++)
        if (close_tag_at(s, len, i, t, end))
            return true;
    return false;
}

/* Collapses runs of three or more newlines ('\r' inside a run ignored) to two and trims
 * ASCII whitespace at both ends, in place. Returns the new length. */
static size_t collapse_and_trim(char *s, size_t len)
{
    size_t o = 0, i = 0;
    while (i < len) {
        if (s[i] == '\n' || s[i] == '\r') {
            size_t j = i, newlines = 0;
            while (j < len && (s[j] == '\n' || s[j] == '\r')) {
                newlines += s[j] == '\n';
                j++;
            }
            if (newlines >= 3) {
                s[o++] = '\n';
                s[o++] = '\n';
            } else {
                memmove(s + o, s + i, j - i);
                o += j - i;
            }
            i = j;
            continue;
        }
        s[o++] = s[i++];
    }
    size_t start = 0;
    while (start < o && is_space((unsigned char)s[start]))
        start++;
    while (o > start && is_space((unsigned char)s[o - 1]))
        o--;
    memmove(s, s + start, o - start);
    o -= start;
    s[o] = '\0';
    return o;
}

/* See privacy_int.h. Linear time: a closing tag is searched for once per tag name after it
 * is known to be missing, and a nested <private> search ends the scan either way. */
int mnemo__privacy_strip(const char *s, size_t len, char **out, size_t *out_len, bool *wholly,
                         unsigned *n_stripped, struct mnemo_err *err)
{
    char *buf = malloc(len + 1);
    if (!buf)
        return mnemo_err_set(err, MNEMO_ENOMEM, "privacy: cannot allocate %zu bytes", len + 1);
    bool no_close[N_STRIP_TAGS] = {false};
    bool had_private = false;
    unsigned stripped = 0;
    size_t i = 0, o = 0;
    while (i < len) {
        const char *lt = memchr(s + i, '<', len - i);
        size_t p = lt ? (size_t)(lt - s) : len;
        memcpy(buf + o, s + i, p - i);
        o += p - i;
        if (!lt)
            break;
        size_t t = 0, end = 0, close_end = 0;
        bool sc = false;
        if (open_tag_at(s, len, p, &t, &end, &sc)) {
            if (t == PRIVATE_TAG) {
                had_private = true;
                stripped++;
                /* Fail closed: an unterminated or unclosed <private> hides the rest. */
                if (end == SIZE_MAX || (!sc && !find_private_close(s, len, end, &close_end)))
                    break;
                i = sc ? end : close_end;
                continue;
            }
            if (end != SIZE_MAX && sc) {
                stripped++;
                i = end;
                continue;
            }
            if (end != SIZE_MAX && !no_close[t]) {
                if (find_close(s, len, end, t, &close_end)) {
                    stripped++;
                    i = close_end;
                    continue;
                }
                no_close[t] = true;
            }
        } else if (stray_close_at(s, len, p, &end)) {
            i = end;
            continue;
        }
        buf[o++] = '<';
        i = p + 1;
    }
    o = collapse_and_trim(buf, o);
    *out = buf;
    *out_len = o;
    *wholly = had_private && o == 0;
    *n_stripped = stripped;
    return 0;
}

/* See privacy.h. */
int mnemo_privacy_strip(const char *in, size_t len, char **out, size_t *out_len,
                        bool *wholly_private, unsigned *n_stripped, struct mnemo_err *err)
{
    char *fixed = NULL;
    size_t n = 0, m = 0;
    bool changed = false, wholly = false;
    unsigned count = 0;
    if (!out)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: NULL output pointer");
    *out = NULL;
    int rc = mnemo__privacy_check_input(in, len, err);
    if (rc == 0)
        rc = mnemo__privacy_repair(in, len, &fixed, &n, &changed, err);
    if (rc == 0)
        rc = mnemo__privacy_strip(fixed, n, out, &m, &wholly, &count, err);
    free(fixed);
    if (rc == 0) {
        if (out_len)
            *out_len = m;
        if (wholly_private)
            *wholly_private = wholly;
        if (n_stripped)
            *n_stripped = count;
    }
    return rc;
}
