/*
 * retention.c - maintenance deletions in bounded batches (see retention.h).
 *
 * Each batch selects its victims' ids first and deletes them one by one by primary key inside
 * the same write transaction: the ids go back to the caller (who removes them from the vector
 * index), and per-row deletes let the AFTER DELETE triggers and FK cascades do their work.
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
    size_t max;
    int64_t *ids; /* room for max ids */
    size_t n;
};

static const char *const select_sql[] = {
    [BATCH_OBSERVATIONS] = "SELECT id FROM observations WHERE created_at < ?1 ORDER BY id LIMIT ?2",
    /* Supersession time: the newest 'supersedes' relation aimed at the row; a row marked
     * superseded without one (older data) falls back to its last update. */
    [BATCH_SUPERSEDED] = "SELECT o.id FROM observations o WHERE o.superseded_by IS NOT NULL"
                         " AND coalesce((SELECT max(r.created_at) FROM relations r"
                         " WHERE r.target_id = o.id AND r.type = 'supersedes'), o.updated_at)"
                         " < ?1 ORDER BY o.id LIMIT ?2",
    [BATCH_PROMPTS] = "SELECT id FROM prompts WHERE created_at < ?1 ORDER BY id LIMIT ?2",
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

/* Binds id to the single-parameter statement stmt, runs it to completion and resets it. */
static int run_on_id(struct mnemo_conn *conn, sqlite3_stmt *stmt, int64_t id, const char *why,
                     struct mnemo_err *err)
{
    sqlite3_bind_int64(stmt, 1, id);
    int src = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return src == SQLITE_DONE ? 0 : mnemo_conn_error(conn, src, why, err);
}

static int select_batch(struct mnemo_conn *conn, struct batch_args *a, struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn, select_sql[a->kind], &stmt, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, a->before_ms);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)a->max);
    int src;
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW && a->n < a->max)
        a->ids[a->n++] = sqlite3_column_int64(stmt, 0);
    rc = (src == SQLITE_DONE || src == SQLITE_ROW)
             ? 0
             : mnemo_conn_error(conn, src, what[a->kind], err);
    sqlite3_reset(stmt);
    return rc;
}

static int batch_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct batch_args *a = arg;
    sqlite3_stmt *del = NULL, *repoint = NULL;
    /* A write callback may run again after SQLITE_BUSY_SNAPSHOT: start from scratch. */
    a->n = 0;
    int rc = select_batch(conn, a, err);
    if (rc != 0 || a->n == 0)
        return rc;
    if ((rc = mnemo_conn_prepare_cached(conn, delete_sql[a->kind], &del, err)) != 0)
        return rc;
    if (a->kind == BATCH_SUPERSEDED &&
        (rc = mnemo_conn_prepare_cached(conn,
                                        "UPDATE observations SET superseded_by ="
                                        " (SELECT superseded_by FROM observations WHERE id = ?1)"
                                        " WHERE superseded_by = ?1",
                                        &repoint, err)) != 0)
        return rc;
    for (size_t i = 0; i < a->n && rc == 0; i++) {
        /* Keep what the victim superseded hidden: the FK would otherwise null the link. */
        if (repoint)
            rc = run_on_id(conn, repoint, a->ids[i], "re-point superseded observations", err);
        if (rc == 0)
            rc = run_on_id(conn, del, a->ids[i], what[a->kind], err);
    }
    return rc;
}

/* One batch of kind: validates, runs it in a write transaction, reports ids and count. */
static int delete_batch(struct mnemo_store *st, enum batch_kind kind, const char *op,
                        int64_t before_ms, size_t max_rows, int64_t timeout_ms, int64_t *ids,
                        size_t *n, struct mnemo_err *err)
{
    if (n == NULL || max_rows == 0 || max_rows > MNEMO_RETENTION_BATCH_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "retention: a batch of 1..%d rows is required",
                             MNEMO_RETENTION_BATCH_MAX);
    *n = 0;
    if (before_ms <= 0)
        return 0; /* keep everything */
    struct batch_args a = {.kind = kind, .before_ms = before_ms, .max = max_rows, .ids = ids};
    if (a.ids == NULL && (a.ids = calloc(max_rows, sizeof *a.ids)) == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory for a retention batch");
    int rc = mnemo_store_write(st, op, timeout_ms > 0 ? timeout_ms : MNEMO_RETENTION_TIMEOUT_MS,
                               batch_txn, &a, err);
    if (rc == 0)
        *n = a.n;
    if (a.ids != ids)
        free(a.ids);
    return rc;
}

int mnemo_retention_delete_observations_before(struct mnemo_store *st, int64_t before_ms,
                                               size_t max_rows, int64_t timeout_ms, int64_t *ids,
                                               size_t *n, struct mnemo_err *err)
{
    return delete_batch(st, BATCH_OBSERVATIONS, "retention.observations", before_ms, max_rows,
                        timeout_ms, ids, n, err);
}

int mnemo_retention_delete_superseded_before(struct mnemo_store *st, int64_t before_ms,
                                             size_t max_rows, int64_t timeout_ms, int64_t *ids,
                                             size_t *n, struct mnemo_err *err)
{
    return delete_batch(st, BATCH_SUPERSEDED, "retention.superseded", before_ms, max_rows,
                        timeout_ms, ids, n, err);
}

int mnemo_retention_delete_prompts_before(struct mnemo_store *st, int64_t before_ms,
                                          size_t max_rows, int64_t timeout_ms, size_t *n,
                                          struct mnemo_err *err)
{
    return delete_batch(st, BATCH_PROMPTS, "retention.prompts", before_ms, max_rows, timeout_ms,
                        NULL, n, err);
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
