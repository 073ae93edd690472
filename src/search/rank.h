/*
 * rank.h - keyword ranking without FTS5's per-query corpus pass.
 *
 * FTS5's bm25() computes each phrase's inverse document frequency on its first call by
 * walking the phrase's whole doclist (xQueryPhrase): at 100k observations that costs 5-13 ms
 * per query even when ten rows are ranked, most of the keyword search's time. When a search
 * ranks only the newest matches (hybrid.h, MNEMO_SEARCH_FTS_RANK_CAP), the document
 * frequencies can come from that window instead: a walk of each phrase's doclist over the
 * window counts the rows holding it, the window's row count gives N, and mnemo_bm25() scores
 * with those IDFs and otherwise exactly as bm25() does (k1 1.2, b 0.75,
 * the same column weights, average length over the whole table, negated score). Over a
 * window that covers the table the two agree to rounding (pinned by a test).
 *
 * Thread-safety: registration is per connection; the functions keep no state between calls.
 */
#ifndef MNEMO_SEARCH_RANK_H
#define MNEMO_SEARCH_RANK_H

#include <stdint.h>

#include <sqlite3.h>

#include "util/err.h"

/* Phrases one query may have. */
#define MNEMO_RANK_MAX_PHRASES 62

/*
 * Registers the FTS5 auxiliary function mnemo_bm25(fts, idf, w0, w1, ...) on db: bm25 with
 * the per-phrase IDFs in idf (a blob of native doubles, one per phrase of the query; another
 * size is an error) and column weights w0... Once per connection (FTS5 keeps every
 * registration until the connection closes). Returns 0, or MNEMO_ESQLITE without FTS5.
 */
int mnemo_rank_register(sqlite3 *db, struct mnemo_err *err);

/* bm25's IDF of a phrase found in hits of n rows (never below 1e-6, as FTS5 clamps it). */
double mnemo_rank_idf(int64_t n, int64_t hits);

#endif
