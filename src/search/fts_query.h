/*
 * fts_query.h - turns a user's free text into a safe FTS5 MATCH expression.
 *
 * User text is data, never syntax: every term is double-quoted (embedded quotes doubled), so
 * FTS5 operators (AND OR NOT NEAR, column filters, ^, *, parentheses) typed by the user are
 * searched as words instead of being interpreted. Terms are lower-cased ASCII, stop-words and
 * one-character tokens are dropped, duplicates removed, and the count capped, because FTS5's
 * ranking cost grows with the number of matching rows (sqlite-reliability.md section 5).
 *
 * The same tokenizer serves the search layer's near-duplicate clustering (fusion.h).
 *
 * Thread-safety: every function is pure (no shared state) and safe from any thread.
 */
#ifndef MNEMO_SEARCH_FTS_QUERY_H
#define MNEMO_SEARCH_FTS_QUERY_H

#include <stddef.h>

#include "util/err.h"
#include "util/strbuf.h"

/* At most this many terms reach the MATCH expression; the rest of the text is ignored. */
#define MNEMO_FTS_MAX_TERMS 32
/* Tokens shorter than this (in bytes) are dropped. */
#define MNEMO_FTS_MIN_TERM 2
/* Tokens longer than this (in bytes) are cut at a UTF-8 boundary: nobody types such words,
 * and hashes or base64 blobs should not make the expression large. */
#define MNEMO_FTS_MAX_TERM 64
/* The last term is matched as a prefix only in queries of at most this many terms. */
#define MNEMO_FTS_PREFIX_MAX_TERMS 2
/* Only this many bytes of the user's text are read. */
#define MNEMO_FTS_MAX_INPUT 8192

/* The FTS5 table and the bm25() expression with mnemo's column weights: title 10, subtitle 4,
 * narrative 1, facts 5, concepts 5 (columns in the table's declared order). bm25() is lower
 * for better matches, so callers ORDER BY it ascending. */
#define MNEMO_FTS_TABLE     "observations_fts"
#define MNEMO_FTS_BM25_EXPR "bm25(" MNEMO_FTS_TABLE ", 10.0, 4.0, 1.0, 5.0, 5.0)"

/* The SQL expression "bm25(observations_fts, 10.0, 4.0, 1.0, 5.0, 5.0)" (static storage). */
const char *mnemo_fts_bm25_expr(void);

/* 1 when the lower-case ASCII word w[0..len) is one of the built-in stop-words. */
int mnemo_fts_is_stopword(const char *w, size_t len);

/*
 * Called once per token by mnemo_fts_tokenize with the lower-cased token tok[0..len)
 * (borrowed for the call only) and whether it ended at the very end of the text. Returns 0
 * to go on, non-zero to stop (that value is returned by mnemo_fts_tokenize).
 */
typedef int (*mnemo_fts_token_fn)(const char *tok, size_t len, int at_end, void *arg);

/*
 * Splits text[0..len) into words: ASCII letters, digits, '_' and every byte >= 0x80 (so UTF-8
 * words stay whole) are word bytes; everything else separates. A NUL byte separates too.
 * ASCII is lower-cased; tokens shorter than min_len, longer than MNEMO_FTS_MAX_TERM bytes (cut
 * at a UTF-8 boundary) and, when drop_stopwords is set, stop-words are handled before fn sees
 * them (short ones and stop-words skipped). At most MNEMO_FTS_MAX_INPUT bytes are read.
 * Returns 0 or the first non-zero value fn returned.
 */
int mnemo_fts_tokenize(const char *text, size_t len, size_t min_len, int drop_stopwords,
                       mnemo_fts_token_fn fn, void *arg);

/*
 * Builds the MATCH expression for text[0..len) into out (appended; caller-owned): the kept
 * terms, each as "term", joined with " OR ". The last term becomes a prefix query "term"*
 * when the text ends inside that word (the user may still be typing it), the word has at
 * least 3 bytes and holds a letter or digit (a prefix of pure punctuation would match every
 * row), and the query has at most MNEMO_FTS_PREFIX_MAX_TERMS terms (see fts_query.c). *n_terms (may
 * be NULL) receives the number of terms. Returns 0; MNEMO_ENOTFOUND when no term is left (nothing
 * to search: the caller should return no results rather than run a query); MNEMO_EINVAL for NULL
 * arguments; strbuf errors. On failure out is left as it was.
 */
int mnemo_fts_query_build(const char *text, size_t len, struct mnemo_strbuf *out, int *n_terms,
                          struct mnemo_err *err);

#endif
