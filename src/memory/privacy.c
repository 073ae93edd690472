/*
 * privacy.c - UTF-8 repair, stripping of private and system blocks, and secret redaction.
 *
 * The rule table and the entropy gate live in privacy_rules.c, tag stripping in
 * privacy_strip.c; this file repairs UTF-8, compiles the rules and runs the pipeline
 * documented in privacy.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "memory/privacy.h"

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "memory/privacy_int.h"
#include "util/strbuf.h"

/* Redaction can lengthen text (a marker is longer than a short secret); this caps the
 * output of one call, far above anything a 4 MiB input produces in practice. */
#define MAX_OUTPUT ((size_t)64 * 1024 * 1024)

/* PCRE2 backtracking budget per match attempt. The built-in rules are linear; the limit
 * protects against user rules that are not. */
#define MATCH_LIMIT 5000000u

#define MARKER_PREFIX     "[REDACTED:"
#define MARKER_PREFIX_LEN (sizeof MARKER_PREFIX - 1)
#define MARKER_MAX        (MARKER_PREFIX_LEN + MNEMO_PRIVACY_RULE_NAME_MAX + 1)

struct rule {
    char name[MNEMO_PRIVACY_RULE_NAME_MAX + 1];
    char marker[MARKER_MAX + 1]; /* "[REDACTED:<name>]" */
    size_t marker_len;
    pcre2_code *code;
    unsigned group;
    unsigned flags;
    bool jit;
    size_t n_keywords; /* its entries in mnemo_privacy.keywords; 0 = no pre-filter */
};

/* One pre-filter keyword, chained from the index slot of its first two (lowercase) bytes. */
struct keyword {
    uint16_t next; /* 1-based index of the next keyword with the same first two bytes */
    uint16_t rule;
    uint16_t len;
    char text[MNEMO_PRIVACY_KEYWORD_LEN + 1]; /* lowercase */
};

#define MAX_KEYWORDS (MNEMO_PRIVACY_MAX_RULES * MNEMO_PRIVACY_KEYWORDS_MAX)

struct mnemo_privacy {
    size_t n;
    uint32_t max_pairs;        /* ovector size that fits every rule's capture groups */
    pcre2_match_context *mctx; /* read-only after new(); PCRE2 allows sharing it */
    struct rule rules[MNEMO_PRIVACY_MAX_RULES];
    /* Every rule's keywords, indexed by their first two bytes, so one pass over the text
     * finds which rules can match at all (see find_keywords). */
    size_t n_keywords;
    struct keyword keywords[MAX_KEYWORDS];
    uint16_t keyword_head[65536]; /* 1-based index into keywords, 0 = none */
};

/* ---------------------------------------------------------------------------------------- */
/* UTF-8 repair                                                                             */
/* ---------------------------------------------------------------------------------------- */

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD */

/*
 * Walks in[0..len) once. With out NULL it only measures; otherwise it writes. Returns the
 * output length and sets *changed when a byte was replaced or dropped. utf8proc_iterate
 * rejects stray continuation bytes, truncated sequences, overlong forms, surrogates and
 * values above U+10FFFF; each rejected lead byte becomes one U+FFFD and the scan resumes at
 * the next byte, so a bad sequence never swallows the valid text after it.
 */
static size_t repair_pass(const unsigned char *in, size_t len, char *out, bool *changed)
{
    size_t i = 0, o = 0;
    while (i < len) {
        if (in[i] > 0 && in[i] < 0x80) {
            if (out)
                out[o] = (char)in[i];
            o++;
            i++;
            continue;
        }
        if (in[i] == 0) {
            *changed = true;
            i++;
            continue;
        }
        utf8proc_int32_t cp = -1;
        utf8proc_ssize_t n = utf8proc_iterate(in + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n > 0 && cp >= 0) {
            if (out)
                memcpy(out + o, in + i, (size_t)n);
            o += (size_t)n;
            i += (size_t)n;
        } else {
            if (out)
                memcpy(out + o, REPLACEMENT, 3);
            o += 3;
            i++;
            *changed = true;
        }
    }
    return o;
}

/* See privacy_int.h. */
int mnemo__privacy_check_input(const char *in, size_t len, struct mnemo_err *err)
{
    if (!in && len > 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: NULL input with length %zu", len);
    if (len > MNEMO_PRIVACY_MAX_INPUT)
        return mnemo_err_set(err, MNEMO_ETOOBIG,
                             "privacy: input of %zu bytes exceeds the %zu-byte limit", len,
                             MNEMO_PRIVACY_MAX_INPUT);
    return 0;
}

/* See privacy_int.h. */
int mnemo__privacy_repair(const char *in, size_t len, char **out, size_t *out_len, bool *repaired,
                          struct mnemo_err *err)
{
    bool changed = false;
    const unsigned char *u = (const unsigned char *)(in ? in : "");
    size_t n = repair_pass(u, len, NULL, &changed);
    char *buf = malloc(n + 1);
    if (!buf)
        return mnemo_err_set(err, MNEMO_ENOMEM, "privacy: cannot allocate %zu bytes", n + 1);
    changed = false;
    repair_pass(u, len, buf, &changed);
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    *repaired = changed;
    return 0;
}

/* See privacy.h. */
int mnemo_privacy_utf8_repair(const char *in, size_t len, char **out, size_t *out_len,
                              bool *repaired, struct mnemo_err *err)
{
    size_t n = 0;
    bool changed = false;
    if (!out)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: NULL output pointer");
    *out = NULL;
    int rc = mnemo__privacy_check_input(in, len, err);
    if (rc == 0)
        rc = mnemo__privacy_repair(in, len, out, &n, &changed, err);
    if (rc == 0) {
        if (out_len)
            *out_len = n;
        if (repaired)
            *repaired = changed;
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Rules                                                                                    */
/* ---------------------------------------------------------------------------------------- */

static bool valid_rule_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MNEMO_PRIVACY_RULE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Lowercase keyword slots parsed from a rule's "a|b|c". */
struct keyword_list {
    size_t n;
    char words[MNEMO_PRIVACY_KEYWORDS_MAX][MNEMO_PRIVACY_KEYWORD_LEN + 1];
};

/* Splits "a|b|c" into kl. Returns false when a word is shorter than two bytes (the index
 * needs two) or too long, or there are too many. NULL or "" gives an empty list. */
static bool parse_keywords(const char *kw, struct keyword_list *kl)
{
    kl->n = 0;
    if (!kw || !*kw)
        return true;
    for (const char *w = kw;;) {
        const char *bar = strchr(w, '|');
        size_t n = bar ? (size_t)(bar - w) : strlen(w);
        if (n < 2 || n > MNEMO_PRIVACY_KEYWORD_LEN || kl->n >= MNEMO_PRIVACY_KEYWORDS_MAX)
            return false;
        for (size_t i = 0; i < n; i++)
            kl->words[kl->n][i] = ascii_lower(w[i]);
        kl->words[kl->n][n] = '\0';
        kl->n++;
        if (!bar)
            return true;
        w = bar + 1;
    }
}

/* See privacy.h. */
int mnemo_privacy_add_rule(struct mnemo_privacy *p, const struct mnemo_privacy_rule *r,
                           struct mnemo_err *err)
{
    const unsigned known = MNEMO_PRIVACY_RULE_ENTROPY | MNEMO_PRIVACY_RULE_CASELESS;
    if (!p || !r)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: NULL redactor or rule");
    if (!valid_rule_name(r->name))
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "privacy: rule name '%.40s' must be 1-%d characters of [a-z0-9_]",
                             r->name ? r->name : "(null)", MNEMO_PRIVACY_RULE_NAME_MAX);
    size_t plen = r->pattern ? strlen(r->pattern) : 0;
    if (plen == 0 || plen > MNEMO_PRIVACY_PATTERN_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: rule '%s': pattern must be 1-%d bytes",
                             r->name, MNEMO_PRIVACY_PATTERN_MAX);
    if (r->flags & ~known)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: rule '%s': unknown flags 0x%x", r->name,
                             r->flags & ~known);
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->rules[i].name, r->name) == 0)
            return mnemo_err_set(err, MNEMO_EINVAL, "privacy: rule '%s' already exists", r->name);
    if (p->n >= MNEMO_PRIVACY_MAX_RULES)
        return mnemo_err_set(err, MNEMO_ETOOBIG,
                             "privacy: cannot add rule '%s': the table holds at most %d rules",
                             r->name, MNEMO_PRIVACY_MAX_RULES);

    struct keyword_list kl;
    if (!parse_keywords(r->keywords, &kl))
        return mnemo_err_set(
            err, MNEMO_EINVAL,
            "privacy: rule '%s': keywords must be at most %d '|'-separated words of 2-%d bytes",
            r->name, MNEMO_PRIVACY_KEYWORDS_MAX, MNEMO_PRIVACY_KEYWORD_LEN);

    uint32_t opts = PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C;
    if (r->flags & MNEMO_PRIVACY_RULE_CASELESS)
        opts |= PCRE2_CASELESS;
    int ecode = 0;
    PCRE2_SIZE eoff = 0;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)r->pattern, plen, opts, &ecode, &eoff, NULL);
    if (!code) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(ecode, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", ecode);
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: rule '%s': bad pattern at offset %zu: %s",
                             r->name, (size_t)eoff, (const char *)msg);
    }
    uint32_t captures = 0, minlen = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures);
    pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &minlen);
    if (r->group > captures) {
        pcre2_code_free(code);
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "privacy: rule '%s': group %u does not exist (the pattern has %u)",
                             r->name, r->group, captures);
    }
    if (minlen == 0) {
        pcre2_code_free(code);
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "privacy: rule '%s': pattern can match the empty string", r->name);
    }
    struct rule *dst = &p->rules[p->n];
    memset(dst, 0, sizeof *dst);
    snprintf(dst->name, sizeof dst->name, "%s", r->name);
    dst->marker_len =
        (size_t)snprintf(dst->marker, sizeof dst->marker, MARKER_PREFIX "%s]", r->name);
    dst->code = code;
    dst->group = r->group;
    dst->flags = r->flags;
    /* JIT is an optimisation: when the platform refuses it (no executable memory, an
     * unsupported CPU) the interpreter runs the same pattern. */
    dst->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    if (captures + 1 > p->max_pairs)
        p->max_pairs = captures + 1;
    dst->n_keywords = kl.n;
    for (size_t k = 0; k < kl.n; k++) {
        struct keyword *kw = &p->keywords[p->n_keywords];
        const unsigned char *t = (const unsigned char *)kl.words[k];
        unsigned slot = (unsigned)t[0] << 8 | t[1];
        snprintf(kw->text, sizeof kw->text, "%s", kl.words[k]);
        kw->len = (uint16_t)strlen(kw->text);
        kw->rule = (uint16_t)p->n;
        kw->next = p->keyword_head[slot];
        p->n_keywords++;
        p->keyword_head[slot] = (uint16_t)p->n_keywords;
    }
    p->n++;
    return 0;
}

/* See privacy.h. */
int mnemo_privacy_new(struct mnemo_privacy **out, struct mnemo_err *err)
{
    const struct mnemo_privacy_rule *builtin = NULL;
    size_t nb = mnemo_privacy_builtin_rules(&builtin);
    if (!out)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: NULL output pointer");
    *out = NULL;
    struct mnemo_privacy *p = calloc(1, sizeof *p);
    if (!p)
        return mnemo_err_set(err, MNEMO_ENOMEM, "privacy: cannot allocate the redactor");
    int rc = 0;
    p->mctx = pcre2_match_context_create(NULL);
    if (!p->mctx) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "privacy: cannot allocate a PCRE2 match context");
        goto out;
    }
    pcre2_set_match_limit(p->mctx, MATCH_LIMIT);
    for (size_t i = 0; i < nb; i++) {
        struct mnemo_err rule_err = {0};
        rc = mnemo_privacy_add_rule(p, &builtin[i], &rule_err);
        if (rc != 0) {
            /* A built-in rule that does not compile is a bug in mnemo, not bad input. */
            rc = mnemo_err_set(err, rc == MNEMO_ENOMEM ? rc : MNEMO_EINTERNAL, "built-in %s",
                               rule_err.msg);
        }
        if (rc != 0)
            goto out;
    }
out:
    if (rc != 0) {
        mnemo_privacy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* See privacy.h. */
void mnemo_privacy_free(struct mnemo_privacy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        pcre2_code_free(p->rules[i].code);
    pcre2_match_context_free(p->mctx);
    free(p);
}

/* See privacy.h. */
size_t mnemo_privacy_rule_count(const struct mnemo_privacy *p)
{
    return p ? p->n : 0;
}

/* See privacy.h. */
const char *mnemo_privacy_rule_name(const struct mnemo_privacy *p, size_t i)
{
    return p && i < p->n ? p->rules[i].name : NULL;
}

/* See privacy.h. */
bool mnemo_privacy_rule_jit(const struct mnemo_privacy *p, size_t i)
{
    return p && i < p->n && p->rules[i].jit;
}

/* ---------------------------------------------------------------------------------------- */
/* Redaction                                                                                */
/* ---------------------------------------------------------------------------------------- */

static bool has_substr(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    return len >= n && memmem(s, len, needle, n) != NULL;
}

/* Whether [gs, ge) touches an earlier "[REDACTED:...]" marker: a user rule whose pattern
 * matches marker text must not mangle it. */
static bool touches_marker(const char *s, size_t gs, size_t ge)
{
    if (has_substr(s + gs, ge - gs, MARKER_PREFIX))
        return true;
    size_t lo = gs > MARKER_MAX ? gs - MARKER_MAX : 0;
    for (size_t i = gs; i-- > lo;) {
        if (s[i] == ']')
            return false;
        if (s[i] == '[')
            return strncmp(s + i, MARKER_PREFIX, MARKER_PREFIX_LEN) == 0;
    }
    return false;
}

/* The offset of the character after position i (UTF-8 aware). */
static size_t next_char(const char *s, size_t len, size_t i)
{
    i++;
    while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/*
 * The keyword pre-filter (reference/security.md §6c): sets run[i] for every rule that has no
 * keywords or whose keyword occurs in s[0..len) (ASCII case-insensitive). One pass with a
 * table lookup per byte replaces a regex scan, for rules whose first character is common, and
 * one substring search per keyword. Deciding on the text before any rule ran is sound: later
 * rules only insert markers, which no rule redacts again.
 */
static void find_keywords(const struct mnemo_privacy *p, const char *s, size_t len, bool *run)
{
    size_t pending = 0;
    for (size_t i = 0; i < p->n; i++) {
        run[i] = p->rules[i].n_keywords == 0;
        pending += !run[i];
    }
    for (size_t i = 0; i + 1 < len && pending > 0; i++) {
        unsigned slot =
            (unsigned)(unsigned char)ascii_lower(s[i]) << 8 | (unsigned char)ascii_lower(s[i + 1]);
        for (uint16_t e = p->keyword_head[slot]; e != 0; e = p->keywords[e - 1].next) {
            const struct keyword *kw = &p->keywords[e - 1];
            if (run[kw->rule] || len - i < kw->len)
                continue;
            size_t j = 2;
            while (j < kw->len && ascii_lower(s[i + j]) == kw->text[j])
                j++;
            if (j == kw->len) {
                run[kw->rule] = true;
                pending--;
            }
        }
    }
}

/*
 * Runs one rule over s[0..len) (valid UTF-8). When it redacts anything, the new
 * text goes to *out (reset first) and *hits counts the replacements; otherwise *hits is 0 and *out
 * is untouched. A rejected candidate (entropy gate, marker) resumes the search one character after
 * its start, so a real secret overlapping it is still found.
 */
static int apply_rule(const struct mnemo_privacy *p, const struct rule *r, pcre2_match_data *md,
                      const char *s, size_t len, struct mnemo_strbuf *out, unsigned *hits,
                      struct mnemo_err *err)
{
    size_t off = 0, copied = 0;
    unsigned count = 0;
    int rc = 0;
    *hits = 0;
    while (off <= len) {
        int m = pcre2_match(r->code, (PCRE2_SPTR)s, len, off, PCRE2_NO_UTF_CHECK, md, p->mctx);
        if (m == PCRE2_ERROR_JIT_STACKLIMIT)
            m = pcre2_match(r->code, (PCRE2_SPTR)s, len, off, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md,
                            p->mctx);
        if (m == PCRE2_ERROR_NOMATCH)
            break;
        if (m < 0) {
            PCRE2_UCHAR msg[120];
            if (pcre2_get_error_message(m, msg, sizeof msg) < 0)
                snprintf((char *)msg, sizeof msg, "error %d", m);
            return mnemo_err_set(err, MNEMO_EINTERNAL, "privacy: rule '%s' failed: %s", r->name,
                                 (const char *)msg);
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        size_t gs = PCRE2_UNSET, ge = PCRE2_UNSET;
        if (r->group < (unsigned)m) {
            gs = ov[2 * r->group];
            ge = ov[2 * r->group + 1];
        }
        bool redact = gs != PCRE2_UNSET && ge > gs && gs >= copied && !touches_marker(s, gs, ge) &&
                      (!(r->flags & MNEMO_PRIVACY_RULE_ENTROPY) ||
                       mnemo_privacy_looks_secret(s + gs, ge - gs));
        if (!redact) {
            off = next_char(s, len, ms);
            continue;
        }
        if (count == 0)
            mnemo_strbuf_reset(out);
        rc = mnemo_strbuf_append(out, s + copied, gs - copied);
        if (rc == 0)
            rc = mnemo_strbuf_append(out, r->marker, r->marker_len);
        if (rc != 0)
            return mnemo_err_set(err, rc, "privacy: redacted text exceeds %zu bytes", out->max);
        copied = ge;
        count++;
        off = me > ge ? me : ge;
        if (off == ms)
            off = next_char(s, len, ms);
    }
    if (count > 0) {
        rc = mnemo_strbuf_append(out, s + copied, len - copied);
        if (rc != 0)
            return mnemo_err_set(err, rc, "privacy: redacted text exceeds %zu bytes", out->max);
    }
    *hits = count;
    return 0;
}

/*
 * Applies every rule in order to s[0..len) (valid UTF-8, NUL-free). Each rule reads the
 * previous rule's output; two buffers swap roles so no rule copies text it does not change.
 * On success *out is malloc'd.
 */
static int redact_impl(const struct mnemo_privacy *p, const char *s, size_t len, char **out,
                       size_t *out_len, unsigned hits[MNEMO_PRIVACY_MAX_RULES], unsigned *total,
                       struct mnemo_err *err)
{
    struct mnemo_strbuf a, b;
    mnemo_strbuf_init(&a, MAX_OUTPUT);
    mnemo_strbuf_init(&b, MAX_OUTPUT);
    struct mnemo_strbuf *cur = NULL, *spare = &a;
    int rc = 0;
    unsigned sum = 0;
    bool run[MNEMO_PRIVACY_MAX_RULES] = {false};
    pcre2_match_data *md = pcre2_match_data_create(p->max_pairs ? p->max_pairs : 1, NULL);
    if (!md) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "privacy: cannot allocate PCRE2 match data");
        goto out;
    }
    find_keywords(p, s, len, run);
    for (size_t i = 0; i < p->n; i++) {
        if (!run[i])
            continue;
        const char *text = cur ? cur->data : s;
        size_t tlen = cur ? cur->len : len;
        unsigned h = 0;
        rc = apply_rule(p, &p->rules[i], md, text, tlen, spare, &h, err);
        if (rc != 0)
            goto out;
        if (h > 0) {
            struct mnemo_strbuf *prev = cur;
            cur = spare;
            spare = prev ? prev : &b;
        }
        hits[i] = h;
        sum += h;
    }
    char *res = NULL;
    size_t rlen = cur ? cur->len : len;
    if (cur) {
        res = mnemo_strbuf_detach(cur);
    } else {
        res = malloc(len + 1);
        if (res) {
            memcpy(res, s, len);
            res[len] = '\0';
        }
    }
    if (!res) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "privacy: cannot allocate %zu bytes", rlen + 1);
        goto out;
    }
    *out = res;
    *out_len = rlen;
    *total = sum;
out:
    pcre2_match_data_free(md);
    mnemo_strbuf_release(&a);
    mnemo_strbuf_release(&b);
    return rc;
}

/* See privacy.h. */
int mnemo_privacy_redact(const struct mnemo_privacy *p, const char *in, size_t len, char **out,
                         size_t *out_len, unsigned *n_redactions, struct mnemo_err *err)
{
    unsigned hits[MNEMO_PRIVACY_MAX_RULES] = {0};
    unsigned total = 0;
    char *fixed = NULL;
    size_t n = 0, m = 0;
    bool changed = false;
    if (!p || !out)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: NULL redactor or output pointer");
    *out = NULL;
    int rc = mnemo__privacy_check_input(in, len, err);
    if (rc == 0)
        rc = mnemo__privacy_repair(in, len, &fixed, &n, &changed, err);
    if (rc == 0)
        rc = redact_impl(p, fixed, n, out, &m, hits, &total, err);
    free(fixed);
    if (rc == 0) {
        if (out_len)
            *out_len = m;
        if (n_redactions)
            *n_redactions = total;
    }
    return rc;
}

/* See privacy.h. */
int mnemo_privacy_clean(const struct mnemo_privacy *p, const char *in, size_t len,
                        struct mnemo_privacy_result *out, struct mnemo_err *err)
{
    char *fixed = NULL, *stripped = NULL;
    size_t n = 0, m = 0;
    if (!out)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: NULL result pointer");
    memset(out, 0, sizeof *out);
    if (!p)
        return mnemo_err_set(err, MNEMO_EINVAL, "privacy: NULL redactor");
    int rc = mnemo__privacy_check_input(in, len, err);
    if (rc == 0)
        rc = mnemo__privacy_repair(in, len, &fixed, &n, &out->utf8_repaired, err);
    if (rc == 0)
        rc = mnemo__privacy_strip(fixed, n, &stripped, &m, &out->wholly_private, &out->n_stripped,
                                  err);
    if (rc == 0)
        rc = redact_impl(p, stripped, m, &out->text, &out->len, out->rule_hits, &out->n_redactions,
                         err);
    free(fixed);
    free(stripped);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* See privacy.h. */
void mnemo_privacy_result_release(struct mnemo_privacy_result *r)
{
    if (!r)
        return;
    free(r->text);
    memset(r, 0, sizeof *r);
}
