/*
 * summary.h - session summaries: what was asked, investigated, learned and completed, what
 * comes next, and notes, written when a session stops and shown in later sessions.
 *
 * A summary belongs to a project and usually to a session (session_id 0 when it has none,
 * e.g. an import). Its six fields are plain text, each at most MNEMO_SUMMARY_FIELD_MAX bytes
 * of valid UTF-8; at least one must be non-empty. Full-text search over summaries is the
 * search layer's job (summaries_fts is kept in step by triggers).
 *
 * Every call runs in one mnemo_store_read/mnemo_store_write transaction with the deadline
 * MNEMO_SUMMARY_TIMEOUT_MS. Timestamps are Unix milliseconds; now_ms 0 means the wall clock.
 *
 * Thread-safety: every function may be called from any thread with the same store; results
 * belong to the caller.
 * Errors: 0 or a negative enum mnemo_rc with detail in the optional struct mnemo_err; bad
 * input writes nothing.
 */
#ifndef MNEMO_MEMORY_SUMMARY_H
#define MNEMO_MEMORY_SUMMARY_H

#include <stdint.h>

#include "memory/project.h"
#include "store/store.h"

/* The largest field, in bytes. */
#define MNEMO_SUMMARY_FIELD_MAX (16 * 1024)
/* The most summaries one list call returns. */
#define MNEMO_SUMMARY_LIST_MAX 1000
/* Deadline of every call in this module. */
#define MNEMO_SUMMARY_TIMEOUT_MS MNEMO_STORE_TIMEOUT_DEFAULT_MS

/* The six fields, as create's input: borrowed for the call; NULL means "". */
struct mnemo_summary_fields {
    const char *request;
    const char *investigated;
    const char *learned;
    const char *completed;
    const char *next_steps;
    const char *notes;
};

/*
 * One stored summary. Every string is malloc'd, never NULL, and owned by the struct
 * (mnemo_summary_release).
 */
struct mnemo_summary {
    int64_t id;
    int64_t session_id; /* 0 = none (or its session was deleted) */
    char project[MNEMO_PROJECT_SIZE];
    char *request;
    char *investigated;
    char *learned;
    char *completed;
    char *next_steps;
    char *notes;
    int64_t created_at;
};

/*
 * Stores a summary. With session_id > 0 the session must exist, and project may be NULL (the
 * session's project is taken) or must equal the session's project; with session_id 0,
 * project is required. *id (may be NULL) receives the new row's id.
 * A session has one summary: when it has one already (Stop and SessionEnd both summarize,
 * and Stop fires after every turn), that row is updated instead (its id returned): the
 * non-empty fields replace the stored ones and created_at becomes now_ms; a summary older
 * than the stored one (a late retry) changes nothing.
 * Returns 0; MNEMO_EINVAL (every field empty, invalid UTF-8, bad or mismatched project,
 * negative now_ms); MNEMO_ETOOBIG (a field too long, named); MNEMO_ENOTFOUND (no such
 * session); or a store error. *id is 0 on failure.
 */
int mnemo_summary_create(struct mnemo_store *st, int64_t session_id, const char *project,
                         const struct mnemo_summary_fields *fields, int64_t now_ms, int64_t *id,
                         struct mnemo_err *err);

/* Reads summary id into *out (released with mnemo_summary_release). Returns 0,
 * MNEMO_ENOTFOUND, MNEMO_ENOMEM or a store error (*out zeroed). */
int mnemo_summary_get(struct mnemo_store *st, int64_t id, struct mnemo_summary *out,
                      struct mnemo_err *err);

/* The project's most recent summary (by created_at, then id). Same returns as get;
 * MNEMO_ENOTFOUND when the project has none. */
int mnemo_summary_latest(struct mnemo_store *st, const char *project, struct mnemo_summary *out,
                         struct mnemo_err *err);

/* Frees the strings s owns and zeroes it. NULL is a no-op. */
void mnemo_summary_release(struct mnemo_summary *s);

/*
 * Summaries newest first, filtered by project (NULL: any) and session (0: any), skipping
 * offset (>= 0) and returning at most limit (1..MNEMO_SUMMARY_LIST_MAX). *out is a malloc'd
 * array of *n summaries (NULL when *n is 0) freed with mnemo_summary_list_free. Returns 0,
 * MNEMO_EINVAL, MNEMO_ENOMEM or a store error (*out NULL, *n 0).
 */
int mnemo_summary_list(struct mnemo_store *st, const char *project, int64_t session_id, int offset,
                       int limit, struct mnemo_summary **out, int *n, struct mnemo_err *err);

/* Frees a list from mnemo_summary_list (n items). NULL is a no-op. */
void mnemo_summary_list_free(struct mnemo_summary *list, int n);

#endif
