/*
 * retention.c - maintenance deletions in bounded batches (see retention.h).
 *
 * Each batch finds its candidates in a read transaction (a scan that does not hold the writer),
 * then deletes them one by one by primary key in a short write transaction, re-checking the
 * condition first: the ids go back to the caller (who removes them from the vector index), and
 * per-row deletes let the AFTER DELETE triggers and FK cascades do their work.
 */
#include <stdlib.h>
#include <string.h>

#include "memory/retention.h"
#include "util/err.h"

int64_t mnemo_retention_cutoff_ms(int64_t now_ms, int64_t days)
{
    if (days <= 0 || now_ms <= 0 || days > now_ms / MNEMO_RETENTION_MS_PER_DAY)
        return 0;
    return now_ms - days * MNEMO_RETENTION_MS_PER_DAY;
}

enum batch_kind {
    BATCH_OBSERVATIONS,
    BATCH_SUPERSEDED,
    BATCH_PROMPTS,
};

struct batch_args {
    enum batch_kind kind;
    int64_t before_ms;
    int64_t after_id;
    size_t max;
    int64_t *cand; /* candidates found by the read step (room for max) */
    size_t n_cand;
    int64_t *ids; /* deleted ids (room for max) */
    size_t n;
};

/* Supersession time: the newest 'supersedes' relation aimed at the row; a row marked superseded
 * without one (older data) falls back to its last update. */
#define SUPERSEDED_BEFORE_P1                                                                       \
    "o.superseded_by IS NOT NULL AND coalesce((SELECT max(r.created_at) FROM relations r"          \
    " WHERE r.target_id = o.id AND r.type = 'supersedes'), o.updated_at) < ?1"
#define SUPERSEDED_BEFORE_P2                                                                       \
    "o.superseded_by IS NOT NULL AND coalesce((SELECT max(r.created_at) FROM relations r"          \
    " WHERE r.target_id = o.id AND r.type = 'supersedes'), o.updated_at) < ?2"

/* ?1 cutoff, ?2 limit, ?3 after id. */
static const char *const select_sql[] = {
    [BATCH_OBSERVATIONS] = "SELECT id FROM observations WHERE id > ?3 AND created_at < ?1"
                           " ORDER BY id LIMIT ?2",
    [BATCH_SUPERSEDED] = "SELECT o.id FROM observations o WHERE o.id > ?3 AND " SUPERSEDED_BEFORE_P1
                         " ORDER BY o.id LIMIT ?2",
    [BATCH_PROMPTS] = "SELECT id FROM prompts WHERE id > ?3 AND created_at < ?1"
                      " ORDER BY id LIMIT ?2",
};

/* ?1 id, ?2 cutoff: the condition again, inside the write transaction. */
static const char *const check_sql[] = {
    [BATCH_OBSERVATIONS] = "SELECT 1 FROM observations o WHERE o.id = ?1 AND o.created_at < ?2",
    [BATCH_SUPERSEDED] = "SELECT 1 FROM observations o WHERE o.id = ?1 AND " SUPERSEDED_BEFORE_P2,
    [BATCH_PROMPTS] = "SELECT 1 FROM prompts WHERE id = ?1 AND created_at < ?2",
};

static const char *const delete_sql[] = {
    [BATCH_OBSERVATIONS] = "DELETE FROM observations WHERE id = ?1",
    [BATCH_SUPERSEDED] = "DELETE FROM observations WHERE id = ?1",
    [BATCH_PROMPTS] = "DELETE FROM prompts WHERE id = ?1",
};

static const char *const what[] = {
    [BATCH_OBSERVATIONS] = "delete old observations",
    [BATCH_SUPERSEDED] = "delete superseded observations",
    [BATCH_PROMPTS] = "delete old prompts",
};

/* Binds id (and the cutoff when the statement has a second parameter), runs stmt to its first
 * row or the end and resets it. *row (may be NULL) tells whether a row came back. */
static int run_on_id(struct mnemo_conn *conn, sqlite3_stmt *stmt, int64_t id, int64_t cutoff,
                     int *row, const char *why, struct mnemo_err *err)
{
    sqlite3_bind_int64(stmt, 1, id);
    if (sqlite3_bind_parameter_count(stmt) >= 2)
        sqlite3_bind_int64(stmt, 2, cutoff);
    int src = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (row)
        *row = src == SQLITE_ROW;
    return src == SQLITE_DONE || src == SQLITE_ROW ? 0 : mnemo_conn_error(conn, src, why, err);
}

/* The read step: the next candidates after a->after_id, without holding the writer. */
static int select_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct batch_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    a->n_cand = 0;
    int rc = mnemo_conn_prepare_cached(conn, select_sql[a->kind], &stmt, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, a->before_ms);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)a->max);
    sqlite3_bind_int64(stmt, 3, a->after_id);
    int src;
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW && a->n_cand < a->max)
        a->cand[a->n_cand++] = sqlite3_column_int64(stmt, 0);
    rc = (src == SQLITE_DONE || src == SQLITE_ROW)
             ? 0
             : mnemo_conn_error(conn, src, what[a->kind], err);
    sqlite3_reset(stmt);
    return rc;
}

/* The write step: deletes the candidates that still qualify, by primary key. */
static int delete_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct batch_args *a = arg;
    sqlite3_stmt *check = NULL, *del = NULL, *repoint = NULL;
    /* A write callback may run again after SQLITE_BUSY_SNAPSHOT: start from scratch. */
    a->n = 0;
    int rc = mnemo_conn_prepare_cached(conn, check_sql[a->kind], &check, err);
    if (rc == 0)
        rc = mnemo_conn_prepare_cached(conn, delete_sql[a->kind], &del, err);
    if (rc == 0 && a->kind == BATCH_SUPERSEDED)
        rc = mnemo_conn_prepare_cached(conn,
                                       "UPDATE observations SET superseded_by ="
                                       " (SELECT superseded_by FROM observations WHERE id = ?1)"
                                       " WHERE superseded_by = ?1",
                                       &repoint, err);
    for (size_t i = 0; i < a->n_cand && rc == 0; i++) {
        int64_t id = a->cand[i];
        int still = 0;
        rc = run_on_id(conn, check, id, a->before_ms, &still, what[a->kind], err);
        if (rc != 0 || !still)
            continue;
        /* Keep what the victim superseded hidden: the FK would otherwise null the link. */
        if (repoint)
            rc = run_on_id(conn, repoint, id, 0, NULL, "re-point superseded observations", err);
        if (rc == 0)
            rc = run_on_id(conn, del, id, 0, NULL, what[a->kind], err);
        if (rc == 0)
            a->ids[a->n++] = id;
    }
    return rc;
}

/* One batch of kind: validates, finds candidates, deletes them, advances the cursor. */
static int delete_batch(struct mnemo_store *st, enum batch_kind kind, const char *op,
                        int64_t before_ms, struct mnemo_retention_cursor *cur, size_t max_rows,
                        int64_t timeout_ms, int64_t *ids, size_t *n, struct mnemo_err *err)
{
    if (n == NULL || cur == NULL || max_rows == 0 || max_rows > MNEMO_RETENTION_BATCH_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "retention: a cursor and a batch of 1..%d rows are required",
                             MNEMO_RETENTION_BATCH_MAX);
    *n = 0;
    if (before_ms <= 0 || cur->done) {
        cur->done = 1; /* keep everything, or nothing left */
        return 0;
    }
    if (timeout_ms <= 0)
        timeout_ms = MNEMO_RETENTION_TIMEOUT_MS;
    struct batch_args a = {
        .kind = kind, .before_ms = before_ms, .after_id = cur->after_id, .max = max_rows};
    /* Without a caller array the deleted ids go to a second half: the write callback may run
     * again after SQLITE_BUSY_SNAPSHOT, so it must never overwrite the candidates. */
    a.cand = calloc(ids != NULL ? max_rows : 2 * max_rows, sizeof *a.cand);
    if (a.cand == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory for a retention batch");
    a.ids = ids != NULL ? ids : a.cand + max_rows;
    int rc = mnemo_store_read(st, op, timeout_ms, select_txn, &a, err);
    if (rc == 0 && a.n_cand > 0)
        rc = mnemo_store_write(st, op, timeout_ms, delete_txn, &a, err);
    if (rc == 0) {
        *n = a.n;
        if (a.n_cand > 0)
            cur->after_id = a.cand[a.n_cand - 1];
        cur->done = a.n_cand < max_rows;
    }
    free(a.cand);
    return rc;
}

int mnemo_retention_delete_observations_before(struct mnemo_store *st, int64_t before_ms,
                                               struct mnemo_retention_cursor *cur, size_t max_rows,
                                               int64_t timeout_ms, int64_t *ids, size_t *n,
                                               struct mnemo_err *err)
{
    return delete_batch(st, BATCH_OBSERVATIONS, "retention.observations", before_ms, cur, max_rows,
                        timeout_ms, ids, n, err);
}

int mnemo_retention_delete_superseded_before(struct mnemo_store *st, int64_t before_ms,
                                             struct mnemo_retention_cursor *cur, size_t max_rows,
                                             int64_t timeout_ms, int64_t *ids, size_t *n,
                                             struct mnemo_err *err)
{
    return delete_batch(st, BATCH_SUPERSEDED, "retention.superseded", before_ms, cur, max_rows,
                        timeout_ms, ids, n, err);
}

int mnemo_retention_delete_prompts_before(struct mnemo_store *st, int64_t before_ms,
                                          struct mnemo_retention_cursor *cur, size_t max_rows,
                                          int64_t timeout_ms, size_t *n, struct mnemo_err *err)
{
    return delete_batch(st, BATCH_PROMPTS, "retention.prompts", before_ms, cur, max_rows,
                        timeout_ms, NULL, n, err);
}

#define STR_(x) #x
#define STR(x)  STR_(x)

static int optimize_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    (void)arg;
    int rc = mnemo_conn_exec(
        conn, "PRAGMA analysis_limit = " STR(MNEMO_RETENTION_ANALYSIS_LIMIT) "; PRAGMA optimize;",
        err);
    /* The limit is a connection setting and pooled connections outlive this call. */
    struct mnemo_err e2 = {0};
    int rc2 = mnemo_conn_exec(conn, "PRAGMA analysis_limit = 0", rc == 0 ? err : &e2);
    return rc != 0 ? rc : rc2;
}

int mnemo_retention_optimize(struct mnemo_store *st, int64_t timeout_ms, struct mnemo_err *err)
{
    return mnemo_store_write(st, "retention.optimize",
                             timeout_ms > 0 ? timeout_ms : MNEMO_RETENTION_TIMEOUT_MS, optimize_txn,
                             NULL, err);
}
