/*
 * retention.h - the deletions maintenance runs: observations past their retention age,
 * observations superseded for longer than the superseded retention, old prompts, plus a
 * bounded PRAGMA optimize.
 *
 * Every cutoff is a Unix millisecond timestamp compared with millisecond columns (the
 * original compared seconds with milliseconds and so never deleted anything). A cutoff of 0 or
 * less means "keep everything": nothing is deleted, *n is 0 and the cursor is done.
 * mnemo_retention_cutoff_ms turns a retention in days into such a cutoff.
 *
 * Each delete call removes at most max_rows rows (1..MNEMO_RETENTION_BATCH_MAX) in one short
 * write transaction and reports how many it removed, so the writer lock is never held for
 * long; callers loop with a cursor until it is done and may stop between calls (deadline,
 * shutdown) and resume later with the same cursor or a fresh one.
 * Deleting an observation deletes its vectors and relations (FK cascade) and its FTS entry
 * (the AFTER DELETE trigger); the caller keeps its in-RAM vector index in step with the ids
 * returned. Timeouts: timeout_ms bounds each of the call's two transactions (0 =
 * MNEMO_RETENTION_TIMEOUT_MS).
 *
 * Thread-safety: every function may be called from any thread with the same store.
 * Errors: 0 or a negative enum mnemo_rc with detail in the optional struct mnemo_err; on an
 * error the batch is rolled back and *n is 0.
 */
#ifndef MNEMO_MEMORY_RETENTION_H
#define MNEMO_MEMORY_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Default and largest rows per delete call (one write transaction each). */
#define MNEMO_RETENTION_BATCH_DEFAULT 100
#define MNEMO_RETENTION_BATCH_MAX     1000
/* Default deadline of one call. */
#define MNEMO_RETENTION_TIMEOUT_MS MNEMO_STORE_TIMEOUT_DEFAULT_MS
/* Milliseconds in a day (retention settings are in days). */
#define MNEMO_RETENTION_MS_PER_DAY INT64_C(86400000)
/* Rows PRAGMA optimize's ANALYZE samples per index (bounds its time on big tables). */
#define MNEMO_RETENTION_ANALYSIS_LIMIT 1000

/*
 * The cutoff for keeping rows days days before now_ms (both in the units named): now_ms -
 * days * MNEMO_RETENTION_MS_PER_DAY, or 0 (keep everything) when days <= 0 or the result would
 * not be positive. Pure.
 */
int64_t mnemo_retention_cutoff_ms(int64_t now_ms, int64_t days);

/*
 * Where a sequence of delete calls has got to. Start from {0}; call again while !done. The
 * candidates of each call are the rows with id > after_id, lowest first, found in a read
 * transaction (so the writer is not held while the table is scanned); the write transaction
 * then deletes them by primary key, re-checking the condition, so a row that changed in
 * between is spared. One sweep therefore reads the table once, however many batches it takes.
 */
struct mnemo_retention_cursor {
    int64_t after_id; /* the last candidate seen */
    int done;         /* 1 once the scan reached the end of the table */
};

/*
 * Deletes up to max_rows observations (any state) created before before_ms, continuing the
 * sweep *cur. ids (may be NULL; else room for max_rows) receives the deleted ids, *n their
 * count. Rows the deleted one superseded become live again through the FK's ON DELETE SET
 * NULL when they are younger than the cutoff, which the age order makes rare.
 * Returns 0, MNEMO_EINVAL (max_rows out of range, NULL cur or n) or a store error (the cursor
 * is then unchanged, so the same call may be retried).
 */
int mnemo_retention_delete_observations_before(struct mnemo_store *st, int64_t before_ms,
                                               struct mnemo_retention_cursor *cur, size_t max_rows,
                                               int64_t timeout_ms, int64_t *ids, size_t *n,
                                               struct mnemo_err *err);

/*
 * Deletes up to max_rows superseded observations that were superseded before before_ms,
 * continuing *cur. The time of supersession is the newest 'supersedes' relation pointing at
 * the row, or the row's updated_at when there is none. Rows that a deleted row itself
 * superseded are re-pointed at what superseded it, so a chain A <- B <- C never brings A back
 * to life when B goes. Live observations are never touched. ids and *n as above.
 */
int mnemo_retention_delete_superseded_before(struct mnemo_store *st, int64_t before_ms,
                                             struct mnemo_retention_cursor *cur, size_t max_rows,
                                             int64_t timeout_ms, int64_t *ids, size_t *n,
                                             struct mnemo_err *err);

/*
 * Deletes up to max_rows prompts created before before_ms, of any session (prompts_fts follows
 * by trigger), continuing *cur. *n = rows deleted.
 */
int mnemo_retention_delete_prompts_before(struct mnemo_store *st, int64_t before_ms,
                                          struct mnemo_retention_cursor *cur, size_t max_rows,
                                          int64_t timeout_ms, size_t *n, struct mnemo_err *err);

/*
 * Runs PRAGMA optimize as the writer with ANALYZE bounded to MNEMO_RETENTION_ANALYSIS_LIMIT rows
 * per index, so the planner's statistics stay fresh without a full ANALYZE holding the writer
 * lock on a large database. The connection's analysis limit is restored afterwards.
 * Returns 0 or a store error.
 */
int mnemo_retention_optimize(struct mnemo_store *st, int64_t timeout_ms, struct mnemo_err *err);

#endif
