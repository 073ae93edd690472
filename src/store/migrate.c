/*
 * migrate.c - numbered schema migrations, each in its own transaction, recorded in
 * schema_migrations so that reopening applies nothing twice.
 */
#include <inttypes.h>
#include <stdio.h>

#include "store/store_int.h"
#include "util/clock.h"

static int table_exists(struct mnemo_conn *c, int *exists, struct mnemo_err *err)
{
    int64_t n = 0;
    int rc = mnemo_conn_query_int(
        c, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'", &n,
        err);
    *exists = n > 0;
    return rc;
}

int mnemo__migrations_validate(const struct mnemo_store_migration *m, int n, struct mnemo_err *err)
{
    for (int i = 0; i < n; i++) {
        if (m[i].version <= 0 || (i > 0 && m[i].version <= m[i - 1].version) || !m[i].name ||
            (!m[i].sql && !m[i].fn))
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "migration list is invalid at entry %d (versions must be "
                                 "positive and increasing, each with a name and sql or fn)",
                                 i);
    }
    return 0;
}

/* Applies one step unless a concurrent opener already did, all inside BEGIN IMMEDIATE. */
static int apply_one(struct mnemo_conn *c, const struct mnemo_store_migration *m,
                     struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t done = 0;
    char what[128];
    int rc = mnemo_conn_exec(c, "BEGIN IMMEDIATE", err);
    if (rc != 0)
        return rc;
    snprintf(what, sizeof what, "SELECT count(*) FROM schema_migrations WHERE version=%d",
             m->version);
    if ((rc = mnemo_conn_query_int(c, what, &done, err)) != 0)
        goto rollback;
    if (done) {
        rc = mnemo_conn_exec(c, "COMMIT", err);
        goto out;
    }
    if (m->sql && (rc = mnemo_conn_exec(c, m->sql, err)) != 0)
        goto rollback;
    if (m->fn && (rc = m->fn(c->db, err)) != 0)
        goto rollback;
    int src = sqlite3_prepare_v2(
        c->db, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)", -1,
        &stmt, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_int(stmt, 1, m->version);
        sqlite3_bind_text(stmt, 2, m->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, mnemo_clock_wall_ms());
        src = sqlite3_step(stmt);
        if (src == SQLITE_DONE)
            src = SQLITE_OK;
    }
    if (src != SQLITE_OK) {
        rc = mnemo_conn_error(c, src, "record migration", err);
        goto rollback;
    }
    sqlite3_finalize(stmt);
    stmt = NULL;
    rc = mnemo_conn_exec(c, "COMMIT", err);
    if (rc != 0)
        goto rollback;
    goto out;
rollback:
    sqlite3_finalize(stmt);
    stmt = NULL;
    mnemo__conn_rollback(c);
out:
    if (rc != 0)
        mnemo_err_set(err, rc, "migration %d (%s) failed: %s", m->version, m->name,
                      err ? err->msg : mnemo_strerror(rc));
    return rc;
}

int mnemo__migrate(struct mnemo_store *st, struct mnemo_conn *c,
                   const struct mnemo_store_migration *migrations, int n, struct mnemo_err *err)
{
    int exists = 0, rc;
    int64_t current = 0;
    int known = n > 0 ? migrations[n - 1].version : 0;

    /* Read before writing anything: a database from a newer mnemo is refused untouched. */
    if ((rc = table_exists(c, &exists, err)) != 0)
        return rc;
    if (exists &&
        (rc = mnemo_conn_query_int(c, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                                   &current, err)) != 0)
        return rc;
    if (current > known)
        return mnemo_err_set(err, MNEMO_ESCHEMA,
                             "database '%s' has schema version %" PRId64
                             ", newer than this mnemo supports (%d); upgrade mnemo",
                             st->path, current, known);
    if (!exists && (rc = mnemo_conn_exec(c,
                                         "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                         "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                                         "applied_at INTEGER NOT NULL)",
                                         err)) != 0)
        return rc;
    for (int i = 0; i < n; i++) {
        if (migrations[i].version <= current)
            continue;
        if ((rc = apply_one(c, &migrations[i], err)) != 0)
            return rc;
        char q[128];
        mnemo_log_write(st->log, MNEMO_LOG_INFO, "migration applied", "version=%d name=%s",
                        migrations[i].version, mnemo_log_quote(q, sizeof q, migrations[i].name));
    }
    st->schema_version = known > current ? known : (int)current;
    return 0;
}
