/*
 * privacy.h - what mnemo removes from text before it is stored, embedded or logged.
 *
 * Three steps, applied in this order by mnemo_privacy_clean:
 *   1. UTF-8 repair: invalid bytes become U+FFFD and NUL bytes are dropped, so every later
 *      step (and jansson) sees valid UTF-8.
 *   2. Stripping: <private>...</private> blocks, mnemo's own injected blocks and the agent's
 *      system tags are removed (tag names case-insensitive, attributes allowed, across lines);
 *      then runs of three or more newlines become two and the text is trimmed. An unclosed
 *      <private> hides everything after it (fail closed).
 *   3. Redaction: a table of PCRE2 rules (JIT-compiled when the platform allows, the
 *      interpreter otherwise) replaces each secret with "[REDACTED:<rule>]". Rules marked
 *      entropy-gated redact only values that look random (see mnemo_privacy_looks_secret).
 * Stripping runs before redaction, so a secret cut in two by a <private> block is redacted
 * once its halves meet, and nothing inside a stripped block ever reaches the redactor's output.
 *
 * Thread-safety: a struct mnemo_privacy is configured by one thread (mnemo_privacy_new, then
 * any mnemo_privacy_add_rule calls) and is afterwards read-only: mnemo_privacy_clean,
 * mnemo_privacy_redact and the accessors may then be called from any number of threads at
 * once on the same object (each call allocates its own PCRE2 match data). add_rule must not
 * run concurrently with anything else on the same object. The free functions (strip, UTF-8
 * repair, entropy) are pure.
 */
#ifndef MNEMO_MEMORY_PRIVACY_H
#define MNEMO_MEMORY_PRIVACY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* The tags mnemo wraps around what it injects into an agent's context. Text inside them is
 * mnemo's own output coming back, so it is stripped and never stored a second time. */
#define MNEMO_PRIVACY_CONTEXT_TAG "mnemo-context"
#define MNEMO_PRIVACY_MEMORY_TAG  "mnemo-memory"

/* Largest input accepted by the functions below; larger inputs fail with MNEMO_ETOOBIG. */
#define MNEMO_PRIVACY_MAX_INPUT ((size_t)4 * 1024 * 1024)

/* Most rules one redactor holds (built-in plus added). */
#define MNEMO_PRIVACY_MAX_RULES 64

/* Longest rule name; names are [a-z0-9_] and appear in "[REDACTED:<name>]". */
#define MNEMO_PRIVACY_RULE_NAME_MAX 32

/* Longest rule pattern accepted by mnemo_privacy_add_rule. */
#define MNEMO_PRIVACY_PATTERN_MAX 4096

/* Bounds of a rule's keyword pre-filter. */
#define MNEMO_PRIVACY_KEYWORDS_MAX 8
#define MNEMO_PRIVACY_KEYWORD_LEN  31

/* The entropy gate: a candidate value needs at least this many bits per byte of Shannon
 * entropy and at least this many bytes (gitleaks' generic-api-key uses the same floor). */
#define MNEMO_PRIVACY_MIN_ENTROPY    3.5
#define MNEMO_PRIVACY_MIN_SECRET_LEN 8

/* Rule flags. */
enum {
    /* Redact only when the captured value passes mnemo_privacy_looks_secret. */
    MNEMO_PRIVACY_RULE_ENTROPY = 1u << 0,
    /* Compile the pattern case-insensitively (same as a leading (?i)). */
    MNEMO_PRIVACY_RULE_CASELESS = 1u << 1,
};

/* One redaction rule. All strings are borrowed for the duration of the call that takes it. */
struct mnemo_privacy_rule {
    const char *name;     /* [a-z0-9_]{1,32} */
    const char *pattern;  /* PCRE2 syntax, compiled in UTF mode */
    unsigned group;       /* capture group replaced by the marker; 0 = the whole match */
    unsigned flags;       /* MNEMO_PRIVACY_RULE_* */
    const char *keywords; /* pre-filter: up to MNEMO_PRIVACY_KEYWORDS_MAX words of 2 to
                             MNEMO_PRIVACY_KEYWORD_LEN bytes, separated by '|'; the pattern
                             runs only on text that contains one of them (ASCII
                             case-insensitive), so every possible match must contain
                             one. NULL or "" runs it on every text. */
};

/* Opaque compiled redactor. */
struct mnemo_privacy;

/* What mnemo_privacy_clean produced. The caller owns the struct (usually on its stack). */
struct mnemo_privacy_result {
    char *text;            /* malloc'd, NUL-terminated, valid UTF-8 without NULs; never NULL on
                              success ("" when nothing is left) */
    size_t len;            /* strlen(text) */
    bool wholly_private;   /* the input held a <private> block and nothing but whitespace was
                              left after stripping: count the prompt, do not store it */
    bool utf8_repaired;    /* invalid UTF-8 or NUL bytes were found and fixed */
    unsigned n_stripped;   /* blocks removed (private, mnemo's own and system tags) */
    unsigned n_redactions; /* secrets replaced, all rules together */
    unsigned rule_hits[MNEMO_PRIVACY_MAX_RULES]; /* per rule, indexed like
                                                    mnemo_privacy_rule_name */
};

/*
 * The built-in rule table (most specific first, the entropy-gated generic rule last).
 * Returns the number of rules and points *rules at static storage.
 */
size_t mnemo_privacy_builtin_rules(const struct mnemo_privacy_rule **rules);

/*
 * Compiles the built-in rules into a new redactor.
 * Returns 0 and sets *out (free with mnemo_privacy_free), or MNEMO_ENOMEM / MNEMO_EINTERNAL
 * (a built-in rule failed to compile) with *out NULL.
 */
int mnemo_privacy_new(struct mnemo_privacy **out, struct mnemo_err *err);

/* Frees a redactor. p may be NULL. No call on p may be running. */
void mnemo_privacy_free(struct mnemo_privacy *p);

/*
 * Appends a rule (config calls this for user-defined patterns). The rule's strings are
 * copied. Returns 0; MNEMO_EINVAL for a bad name, an empty or too long pattern, a pattern
 * PCRE2 rejects (err names the PCRE2 message and the offset), a group the pattern does not
 * have, a pattern that can match the empty string, malformed keywords, unknown flags, or a
 * duplicate name; MNEMO_ETOOBIG when the table is full;
 * MNEMO_ENOMEM. On failure the redactor is unchanged. Not thread-safe (see above).
 */
int mnemo_privacy_add_rule(struct mnemo_privacy *p, const struct mnemo_privacy_rule *rule,
                           struct mnemo_err *err);

/*
 * Appends the rules of a JSON file (the privacy.rules_file setting): an array of objects with
 * the fields of struct mnemo_privacy_rule - "name" and "pattern" (required), "group" (0-99),
 * "keywords", and the booleans "caseless" and "entropy" (the flags); unknown fields are
 * refused. All or nothing: every rule is checked and compiled before any is added, so on
 * failure p is unchanged. Returns 0 (an empty array adds nothing); MNEMO_ENOTFOUND,
 * MNEMO_EACCES or MNEMO_EIO for the file; MNEMO_EINVAL for malformed JSON (line and column)
 * or a bad rule (err names the file, the rule's 1-based index and why); MNEMO_ETOOBIG when
 * the rules do not fit; MNEMO_ENOMEM. Not thread-safe, like mnemo_privacy_add_rule.
 */
int mnemo_privacy_load_rules_file(struct mnemo_privacy *p, const char *path, struct mnemo_err *err);

/* Number of rules in p. Thread-safe once configured. */
size_t mnemo_privacy_rule_count(const struct mnemo_privacy *p);

/* Name of rule i (borrowed from p, valid until mnemo_privacy_free), NULL when out of range. */
const char *mnemo_privacy_rule_name(const struct mnemo_privacy *p, size_t i);

/* Whether rule i runs JIT-compiled code (false when the platform refused JIT). */
bool mnemo_privacy_rule_jit(const struct mnemo_privacy *p, size_t i);

/*
 * The whole pipeline: UTF-8 repair, stripping, redaction. in need not be NUL-terminated and
 * may be NULL when len is 0. On success returns 0 and fills *out (release its text with
 * mnemo_privacy_result_release). Returns MNEMO_EINVAL (bad arguments), MNEMO_ETOOBIG (len >
 * MNEMO_PRIVACY_MAX_INPUT), MNEMO_ENOMEM, or MNEMO_EINTERNAL when a rule's match limit was
 * exhausted (the input is then not known to be clean and must not be stored); on failure
 * *out is zeroed. Thread-safe on a configured redactor.
 */
int mnemo_privacy_clean(const struct mnemo_privacy *p, const char *in, size_t len,
                        struct mnemo_privacy_result *out, struct mnemo_err *err);

/* Frees r->text and zeroes r. r may be NULL. */
void mnemo_privacy_result_release(struct mnemo_privacy_result *r);

/*
 * Redaction alone (after UTF-8 repair, which it also applies). On success *out is a malloc'd
 * NUL-terminated string the caller frees with free(), *out_len its length (out_len may be
 * NULL), and *n_redactions (may be NULL) the number of replacements. Same errors as
 * mnemo_privacy_clean; *out is NULL on failure. Thread-safe on a configured redactor.
 */
int mnemo_privacy_redact(const struct mnemo_privacy *p, const char *in, size_t len, char **out,
                         size_t *out_len, unsigned *n_redactions, struct mnemo_err *err);

/*
 * Stripping alone (after UTF-8 repair). *out is malloc'd (caller frees with free()), out_len
 * and the flag pointers may be NULL. Returns 0, MNEMO_EINVAL, MNEMO_ETOOBIG or MNEMO_ENOMEM;
 * *out is NULL on failure. Pure.
 */
int mnemo_privacy_strip(const char *in, size_t len, char **out, size_t *out_len,
                        bool *wholly_private, unsigned *n_stripped, struct mnemo_err *err);

/*
 * Returns in[0..len) as valid UTF-8: each byte that does not start or continue a valid
 * sequence (stray continuation bytes, truncated sequences, overlong forms, UTF-16 surrogates,
 * code points above U+10FFFF) becomes U+FFFD, and NUL bytes are dropped. *out is malloc'd
 * (caller frees with free()), out_len and repaired (set when anything changed) may be NULL.
 * Returns 0, MNEMO_EINVAL, MNEMO_ETOOBIG or MNEMO_ENOMEM; *out is NULL on failure. Pure.
 */
int mnemo_privacy_utf8_repair(const char *in, size_t len, char **out, size_t *out_len,
                              bool *repaired, struct mnemo_err *err);

/* Shannon entropy of the bytes of s[0..len) in bits per byte (0 for an empty string). Pure. */
double mnemo_privacy_entropy(const char *s, size_t len);

/*
 * The entropy gate used by MNEMO_PRIVACY_RULE_ENTROPY rules: true when value is at least
 * MNEMO_PRIVACY_MIN_SECRET_LEN bytes, has entropy >= MNEMO_PRIVACY_MIN_ENTROPY, and is not an
 * obvious non-secret: a word or identifier without digits (code such as `= user.password`),
 * a placeholder (`${VAR}`, `{{ x }}`, `<...>`, `%s`, `$VAR`), a path, URL or AWS ARN, an
 * e-mail address, a UUID, or an earlier redaction marker. Pure.
 */
bool mnemo_privacy_looks_secret(const char *value, size_t len);

#endif
