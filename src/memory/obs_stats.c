/*
 * obs_stats.c - what the memory holds (counts by state, project, type, scope and vector model)
 * and the page-through of observations that still lack a vector of the current model.
 */
#include <stdlib.h>
#include <string.h>

#include "memory/obs.h"
#include "util/err.h"

/* Runs a "SELECT name, count(*) ... ORDER BY 2 DESC" query into a group array. */
static int group_query(struct mnemo_conn *conn, const char *sql, struct mnemo_obs_group **out,
                       size_t *n, struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn, sql, &stmt, err);
    if (rc != 0)
        return rc;
    struct mnemo_obs_group *groups = calloc(MNEMO_OBS_STATS_MAX_GROUPS, sizeof *groups);
    if (!groups)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory counting observations");
    size_t k = 0;
    int src;
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW && k < MNEMO_OBS_STATS_MAX_GROUPS) {
        const unsigned char *name = sqlite3_column_text(stmt, 0);
        groups[k].name = strdup(name ? (const char *)name : "");
        if (!groups[k].name) {
            src = SQLITE_NOMEM;
            break;
        }
        groups[k].count = sqlite3_column_int64(stmt, 1);
        k++;
    }
    rc = (src == SQLITE_DONE || src == SQLITE_ROW) ? 0 : mnemo_conn_error(conn, src, "count", err);
    sqlite3_reset(stmt);
    *out = groups;
    *n = k;
    return rc;
}

static int stats_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct mnemo_obs_stats *s = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(
        conn,
        "SELECT count(*), coalesce(sum(archived = 0 AND superseded_by IS NULL), 0),"
        " coalesce(sum(archived = 1), 0), coalesce(sum(superseded_by IS NOT NULL), 0)"
        " FROM observations",
        &stmt, err);
    if (rc != 0)
        return rc;
    int src = sqlite3_step(stmt);
    if (src == SQLITE_ROW) {
        s->total = sqlite3_column_int64(stmt, 0);
        s->live = sqlite3_column_int64(stmt, 1);
        s->archived = sqlite3_column_int64(stmt, 2);
        s->superseded = sqlite3_column_int64(stmt, 3);
        src = SQLITE_DONE;
    }
    rc = src == SQLITE_DONE ? 0 : mnemo_conn_error(conn, src, "count observations", err);
    sqlite3_reset(stmt);
    if (rc == 0)
        rc = group_query(conn,
                         "SELECT project, count(*) FROM observations GROUP BY project"
                         " ORDER BY 2 DESC, 1",
                         &s->by_project, &s->n_by_project, err);
    if (rc == 0)
        rc = group_query(conn,
                         "SELECT type, count(*) FROM observations GROUP BY type ORDER BY 2 DESC, 1",
                         &s->by_type, &s->n_by_type, err);
    if (rc == 0)
        rc = group_query(
            conn, "SELECT scope, count(*) FROM observations GROUP BY scope ORDER BY 2 DESC, 1",
            &s->by_scope, &s->n_by_scope, err);
    if (rc == 0)
        rc = group_query(
            conn, "SELECT model_id, count(*) FROM vectors GROUP BY model_id ORDER BY 2 DESC, 1",
            &s->vectors_by_model, &s->n_vectors_by_model, err);
    if (rc == 0)
        rc = mnemo_conn_query_int(conn, "SELECT count(*) FROM sessions", &s->sessions, err);
    if (rc == 0)
        rc = mnemo_conn_query_int(conn, "SELECT count(*) FROM prompts", &s->prompts, err);
    return rc;
}

static void groups_free(struct mnemo_obs_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].name);
    free(g);
}

void mnemo_obs_stats_release(struct mnemo_obs_stats *stats)
{
    if (!stats)
        return;
    groups_free(stats->by_project, stats->n_by_project);
    groups_free(stats->by_type, stats->n_by_type);
    groups_free(stats->by_scope, stats->n_by_scope);
    groups_free(stats->vectors_by_model, stats->n_vectors_by_model);
    memset(stats, 0, sizeof *stats);
}

int mnemo_obs_stats(struct mnemo_store *st, struct mnemo_obs_stats *out, struct mnemo_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = mnemo_store_read(st, "obs.stats", MNEMO_STORE_TIMEOUT_SLOW_MS, stats_txn, out, err);
    if (rc != 0)
        mnemo_obs_stats_release(out);
    return rc;
}

struct missing_args {
    const char *model;
    int64_t after;
    int64_t *ids;
    size_t max;
    size_t n;
    int64_t *total;
};

static int missing_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct missing_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(
        conn,
        "SELECT o.id FROM observations o WHERE o.id > ?2 AND NOT EXISTS (SELECT 1 FROM vectors v"
        " WHERE v.observation_id = o.id AND v.model_id = ?1) ORDER BY o.id LIMIT ?3",
        &stmt, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(stmt, 1, a->model, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, a->after);
    sqlite3_bind_int64(stmt, 3, (sqlite3_int64)a->max);
    int src;
    a->n = 0;
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW && a->n < a->max)
        a->ids[a->n++] = sqlite3_column_int64(stmt, 0);
    rc = (src == SQLITE_DONE || src == SQLITE_ROW)
             ? 0
             : mnemo_conn_error(conn, src, "find observations without vectors", err);
    sqlite3_reset(stmt);
    if (rc != 0 || !a->total)
        return rc;
    rc = mnemo_conn_prepare_cached(
        conn,
        "SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM vectors v"
        " WHERE v.observation_id = o.id AND v.model_id = ?1)",
        &stmt, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(stmt, 1, a->model, -1, SQLITE_STATIC);
    src = sqlite3_step(stmt);
    if (src == SQLITE_ROW) {
        *a->total = sqlite3_column_int64(stmt, 0);
        src = SQLITE_DONE;
    }
    rc = src == SQLITE_DONE
             ? 0
             : mnemo_conn_error(conn, src, "count observations without vectors", err);
    sqlite3_reset(stmt);
    return rc;
}

int mnemo_obs_missing_vectors(struct mnemo_store *st, const char *model_id, int64_t after_id,
                              int64_t *ids, size_t max, size_t *n, int64_t *total,
                              struct mnemo_err *err)
{
    *n = 0;
    if (total)
        *total = 0;
    if (!model_id || !model_id[0] || !ids || max == 0 || max > MNEMO_OBS_LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "missing vectors: a model id and 1..%d ids are required",
                             MNEMO_OBS_LIST_MAX);
    struct missing_args a = {
        .model = model_id, .after = after_id, .ids = ids, .max = max, .total = total};
    int rc = mnemo_store_read(st, "obs.missing_vectors", MNEMO_STORE_TIMEOUT_SLOW_MS, missing_txn,
                              &a, err);
    if (rc == 0)
        *n = a.n;
    return rc;
}
