/*
 * conn.c - the connect routine every connection goes through, the deadline handlers, and the
 * translation of SQLite failures into mnemo errors.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/clock.h"

/* VM instructions between progress-handler calls: a few microseconds of work, so a deadline
 * is noticed within well under a millisecond while the clock read stays negligible. */
#define PROGRESS_OPS 1000

/*
 * Lock-wait backoff in milliseconds. Short first steps keep a briefly-held lock from costing
 * a whole 25 ms sleep on the prompt path; the cap keeps a long wait from spinning.
 */
static const int busy_delays_ms[] = {1, 1, 2, 2, 5, 5, 10, 10, 20, 25};
#define BUSY_DELAYS_N ((int)(sizeof busy_delays_ms / sizeof busy_delays_ms[0]))

/*
 * SQLite keeps exactly one busy handler per connection, and PRAGMA busy_timeout installs its
 * own, replacing any other. mnemo therefore implements the busy timeout in this handler, so a
 * single lock wait ends at whichever comes first: the connection's busy timeout or the
 * operation's deadline. The handler runs on the thread stepping the statement.
 */
static int conn_busy_handler(void *arg, int count)
{
    struct mnemo_conn *c = arg;
    int64_t now = mnemo_clock_mono_ns();
    if (count == 0)
        c->busy_wait_start_ns = now;
    int64_t limit = c->busy_wait_start_ns + (int64_t)c->busy_timeout_ms * MNEMO_NS_PER_MS;
    enum mnemo__busy_end why = MNEMO__BUSY_TIMEOUT;
    if (c->deadline_ns > 0 && c->deadline_ns <= limit) {
        limit = c->deadline_ns;
        why = MNEMO__BUSY_DEADLINE;
    }
    if (now >= limit) {
        c->busy_end = why;
        return 0;
    }
    int64_t delay = (int64_t)busy_delays_ms[count < BUSY_DELAYS_N ? count : BUSY_DELAYS_N - 1] *
                    MNEMO_NS_PER_MS;
    if (delay > limit - now)
        delay = limit - now;
    mnemo_clock_sleep_ns(delay);
    return 1;
}

/* Interrupts CPU-bound work (a scan, a sort, FTS ranking) once the deadline has passed. It
 * must not touch the connection: it only reads the clock and the deadline. */
static int conn_progress_handler(void *arg)
{
    struct mnemo_conn *c = arg;
    if (c->deadline_ns > 0 && mnemo_clock_mono_ns() > c->deadline_ns) {
        c->deadline_hit = 1;
        return 1;
    }
    return 0;
}

void mnemo__conn_begin_op(struct mnemo_conn *conn, const char *op, int64_t start_ns,
                          int64_t deadline_ns)
{
    conn->op = op;
    conn->op_start_ns = start_ns;
    conn->deadline_ns = deadline_ns;
    conn->deadline_hit = 0;
    conn->busy_end = MNEMO__BUSY_NONE;
}

void mnemo__conn_end_op(struct mnemo_conn *conn)
{
    conn->deadline_ns = 0;
}

void mnemo__conn_rollback(struct mnemo_conn *conn)
{
    int64_t saved = conn->deadline_ns;
    conn->deadline_ns = 0;
    int rc = sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(conn->db))
        mnemo_log_write(conn->st->log, MNEMO_LOG_ERROR, "rollback failed", "op=%s error=%d",
                        conn->op ? conn->op : "-", rc);
    conn->deadline_ns = saved;
}

sqlite3 *mnemo_conn_db(struct mnemo_conn *conn)
{
    return conn->db;
}

const char *mnemo_conn_op(const struct mnemo_conn *conn)
{
    return conn->op ? conn->op : "";
}

int64_t mnemo_conn_age_ns(const struct mnemo_conn *conn)
{
    return mnemo_clock_mono_ns() - conn->created_ns;
}

/* True for the errno values that mean "the disk (or a limit standing in for it) is full". */
static int errno_is_full(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG;
}

int mnemo_conn_error(struct mnemo_conn *conn, int sqlite_rc, const char *what,
                     struct mnemo_err *err)
{
    struct mnemo_store *st = conn->st;
    const char *op = conn->op ? conn->op : "open";
    const char *w = what ? what : "query";
    int primary = sqlite_rc & 0xff;
    int sys = sqlite3_system_errno(conn->db);
    const char *msg = sqlite3_errmsg(conn->db);
    int64_t elapsed_ms = (mnemo_clock_mono_ns() - conn->op_start_ns) / MNEMO_NS_PER_MS;
    int64_t budget_ms =
        conn->deadline_ns > 0 ? (conn->deadline_ns - conn->op_start_ns) / MNEMO_NS_PER_MS : 0;

    switch (primary) {
    case SQLITE_INTERRUPT:
        return mnemo_err_set(err, MNEMO_ETIMEDOUT,
                             "operation '%s' exceeded its %" PRId64 " ms deadline after %" PRId64
                             " ms (%s on '%s')",
                             op, budget_ms, elapsed_ms, w, st->path);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        if (conn->busy_end == MNEMO__BUSY_DEADLINE)
            return mnemo_err_set(err, MNEMO_ETIMEDOUT,
                                 "operation '%s' timed out after %" PRId64
                                 " ms waiting for a lock on '%s' (%s)",
                                 op, elapsed_ms, st->path, w);
        return mnemo_err_set(err, MNEMO_EBUSY,
                             "database '%s' is locked: operation '%s' waited %d ms (%s: %s)",
                             st->path, op, conn->busy_timeout_ms, w, msg);
    case SQLITE_FULL:
        return mnemo_err_set(err, MNEMO_ENOSPC,
                             "cannot write database '%s': disk full or file size limit reached "
                             "(operation '%s', %s)",
                             st->path, op, w);
    case SQLITE_CORRUPT:
        return mnemo_err_set(err, MNEMO_ECORRUPT,
                             "database '%s' is corrupt (%s during '%s'); run 'mnemo db check "
                             "--full'",
                             st->path, msg, op);
    case SQLITE_NOTADB:
        return mnemo_err_set(err, MNEMO_ENOTDB, "file '%s' is not a SQLite database (%s)", st->path,
                             msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return mnemo_err_set(err, MNEMO_EACCES, "cannot write database '%s': %s (operation '%s')",
                             st->path, msg, op);
    case SQLITE_CANTOPEN:
        if (sys == EACCES || sys == EPERM || sys == EROFS)
            return mnemo_err_set(err, MNEMO_EACCES, "cannot open database '%s': %s", st->path,
                                 strerror(sys));
        return mnemo_err_set(err, MNEMO_EIO, "cannot open database '%s': %s%s%s", st->path, msg,
                             sys ? ": " : "", sys ? strerror(sys) : "");
    case SQLITE_NOMEM:
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory in operation '%s' on '%s'", op,
                             st->path);
    case SQLITE_IOERR:
        if (errno_is_full(sys))
            return mnemo_err_set(err, MNEMO_ENOSPC,
                                 "cannot write database '%s': %s (operation '%s', %s)", st->path,
                                 strerror(sys), op, w);
        return mnemo_err_set(err, MNEMO_EIO, "i/o error on database '%s' in operation '%s': %s%s%s",
                             st->path, op, msg, sys ? ": " : "", sys ? strerror(sys) : "");
    default:
        return mnemo_err_set(err, MNEMO_ESQLITE, "operation '%s' failed on '%s' (%s): %s", op,
                             st->path, w, msg);
    }
}

int mnemo_conn_exec(struct mnemo_conn *conn, const char *sql, struct mnemo_err *err)
{
    int rc = sqlite3_exec(conn->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return mnemo_conn_error(conn, rc, sql, err);
    return 0;
}

int mnemo_conn_query_int(struct mnemo_conn *conn, const char *sql, int64_t *out,
                         struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    *out = 0;
    int rc = sqlite3_prepare_v2(conn->db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return mnemo_conn_error(conn, rc, sql, err);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    int out_rc = rc == SQLITE_OK ? 0 : mnemo_conn_error(conn, rc, sql, err);
    sqlite3_finalize(stmt);
    return out_rc;
}

/* Reads a one-row text pragma into buf. */
static int query_text(struct mnemo_conn *conn, const char *sql, char *buf, size_t size,
                      struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    buf[0] = '\0';
    int rc = sqlite3_prepare_v2(conn->db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return mnemo_conn_error(conn, rc, sql, err);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(stmt, 0);
        snprintf(buf, size, "%s", t ? (const char *)t : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    int out_rc = rc == SQLITE_OK ? 0 : mnemo_conn_error(conn, rc, sql, err);
    sqlite3_finalize(stmt);
    return out_rc;
}

/* Sets an integer pragma and reads it back; a mismatch rejects the connection. */
static int pragma_verified(struct mnemo_conn *conn, const char *name, int64_t want,
                           struct mnemo_err *err)
{
    char sql[96];
    int64_t got = 0;
    snprintf(sql, sizeof sql, "PRAGMA %s=%" PRId64, name, want);
    int rc = mnemo_conn_exec(conn, sql, err);
    if (rc == 0) {
        snprintf(sql, sizeof sql, "PRAGMA %s", name);
        rc = mnemo_conn_query_int(conn, sql, &got, err);
    }
    if (rc != 0)
        return mnemo_err_set(err, rc, "connection to '%s' rejected: pragma %s failed: %s",
                             conn->st->path, name, err ? err->msg : mnemo_strerror(rc));
    if (got != want)
        return mnemo_err_set(err, MNEMO_EINTERNAL,
                             "connection to '%s' rejected: pragma %s reads back %" PRId64
                             ", expected %" PRId64,
                             conn->st->path, name, got, want);
    return 0;
}

/* Best-effort tuning: a failure leaves the connection correct, only less tuned. */
static void pragma_best_effort(struct mnemo_conn *conn, const char *name, int64_t value)
{
    char sql[96];
    struct mnemo_err e = {0};
    snprintf(sql, sizeof sql, "PRAGMA %s=%" PRId64, name, value);
    if (mnemo_conn_exec(conn, sql, &e) != 0)
        mnemo_log_write(conn->st->log, MNEMO_LOG_WARN, "pragma failed (non-fatal)",
                        "pragma=%s value=%" PRId64 " error=\"%s\"", name, value, e.msg);
}

/*
 * Refuses a file SQLite cannot use before anything is written to it: reading the schema
 * reads page 1 (SQLITE_NOTADB for a foreign file) and parses sqlite_master (SQLITE_CORRUPT
 * for a damaged one). Only reads happen here; journal_mode=WAL, the first write, comes after.
 */
static int conn_validate(struct mnemo_conn *conn, struct mnemo_err *err)
{
    int64_t n = 0;
    return mnemo_conn_query_int(conn, "SELECT count(*) FROM sqlite_master", &n, err);
}

static int conn_configure(struct mnemo_conn *conn, struct mnemo_err *err)
{
    const struct mnemo_store_config *cfg = &conn->st->cfg;
    char mode[16];
    int64_t builtin_timeout = -1;
    int rc;

    /* Correctness pragmas: each read back; any failure rejects the connection. */
    rc = query_text(conn, "PRAGMA journal_mode=WAL", mode, sizeof mode, err);
    if (rc != 0)
        return mnemo_err_set(err, rc, "connection to '%s' rejected: pragma journal_mode=WAL: %s",
                             conn->st->path, err ? err->msg : mnemo_strerror(rc));
    if (strcmp(mode, "wal") != 0)
        return mnemo_err_set(err, MNEMO_EINTERNAL,
                             "connection to '%s' rejected: pragma journal_mode=WAL reads back "
                             "'%s'",
                             conn->st->path, mode);
    if ((rc = pragma_verified(conn, "synchronous", 1, err)) != 0)
        return rc;
    if ((rc = pragma_verified(conn, "foreign_keys", 1, err)) != 0)
        return rc;
    /* The busy timeout lives in conn_busy_handler. SQLite's own reads 0 while ours is the
     * installed handler; any other value means something replaced it. */
    rc = mnemo_conn_query_int(conn, "PRAGMA busy_timeout", &builtin_timeout, err);
    if (rc != 0 || builtin_timeout != 0 || conn->busy_timeout_ms <= 0)
        return mnemo_err_set(err, rc ? rc : MNEMO_EINTERNAL,
                             "connection to '%s' rejected: busy timeout handler not installed",
                             conn->st->path);
    if ((rc = pragma_verified(conn, "cache_size", cfg->cache_size, err)) != 0)
        return rc;

    pragma_best_effort(conn, "temp_store", cfg->temp_store);
    pragma_best_effort(conn, "mmap_size", cfg->mmap_size);
    pragma_best_effort(conn, "journal_size_limit", cfg->journal_size_limit);
    pragma_best_effort(conn, "wal_autocheckpoint", cfg->wal_autocheckpoint);
    return 0;
}

int mnemo__conn_open(struct mnemo_store *st, int create, int busy_timeout_ms, int64_t deadline_ns,
                     struct mnemo_conn **out, struct mnemo_err *err)
{
    int rc;
    struct mnemo_conn *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory opening '%s'", st->path);
    c->st = st;
    c->slot = -1;
    c->busy_timeout_ms = busy_timeout_ms;
    c->created_ns = mnemo_clock_mono_ns();
    mnemo__conn_begin_op(c, "connect", c->created_ns, deadline_ns);

    /* NOMUTEX: a connection is used by one thread at a time (the pool hands it out), so
     * SQLite's per-connection mutex would only cost time. Extended codes tell
     * SQLITE_BUSY_SNAPSHOT apart from plain busy. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (create)
        flags |= SQLITE_OPEN_CREATE;
    int src = sqlite3_open_v2(st->path, &c->db, flags, st->cfg.vfs);
    if (src != SQLITE_OK) {
        if (!c->db) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory opening '%s'", st->path);
            goto fail;
        }
        rc = mnemo_conn_error(c, src, "open", err);
        goto fail;
    }
    sqlite3_extended_result_codes(c->db, 1);

    /* The busy handler goes first, so even the pragmas below wait for a lock (another
     * process may be recovering the WAL) instead of failing at once. */
    sqlite3_busy_handler(c->db, conn_busy_handler, c);
    sqlite3_progress_handler(c->db, PROGRESS_OPS, conn_progress_handler, c);

    if ((rc = conn_validate(c, err)) != 0)
        goto fail;
    if ((rc = conn_configure(c, err)) != 0)
        goto fail;
    mnemo__conn_end_op(c);
    c->op = NULL;
    *out = c;
    return 0;
fail:
    mnemo__conn_close(c);
    return rc;
}

int mnemo_conn_prepare_cached(struct mnemo_conn *conn, const char *sql, sqlite3_stmt **out,
                              struct mnemo_err *err)
{
    struct mnemo__cached_stmt *slot = NULL;
    *out = NULL;
    for (int i = 0; i < conn->n_cache; i++) {
        struct mnemo__cached_stmt *e = &conn->cache[i];
        if (strcmp(e->sql, sql) == 0) {
            e->last_use = ++conn->use_clock;
            sqlite3_reset(e->stmt);
            sqlite3_clear_bindings(e->stmt);
            *out = e->stmt;
            return 0;
        }
    }
    if (conn->n_cache < MNEMO_CONN_STMT_CACHE) {
        slot = &conn->cache[conn->n_cache];
    } else {
        slot = &conn->cache[0];
        for (int i = 1; i < conn->n_cache; i++)
            if (conn->cache[i].last_use < slot->last_use)
                slot = &conn->cache[i];
    }
    char *copy = strdup(sql);
    if (!copy)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory caching a statement");
    sqlite3_stmt *stmt = NULL;
    /* PERSISTENT tells SQLite the statement is long-lived, so it allocates it outside the
     * lookaside memory meant for short-lived ones. */
    int rc = sqlite3_prepare_v3(conn->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        free(copy);
        return mnemo_conn_error(conn, rc, sql, err);
    }
    if (slot == &conn->cache[conn->n_cache]) {
        conn->n_cache++;
    } else {
        sqlite3_finalize(slot->stmt);
        free(slot->sql);
    }
    slot->sql = copy;
    slot->stmt = stmt;
    slot->last_use = ++conn->use_clock;
    *out = stmt;
    return 0;
}

void mnemo__conn_close(struct mnemo_conn *conn)
{
    if (!conn)
        return;
    for (int i = 0; i < conn->n_cache; i++) {
        sqlite3_finalize(conn->cache[i].stmt);
        free(conn->cache[i].sql);
    }
    conn->n_cache = 0;
    if (conn->db) {
        /* Close first: that disconnects virtual tables (FTS5), which finalize the statements
         * they prepared on this handle. Finalizing those ourselves would make SQLite finalize
         * them twice. */
        /* The handlers point at conn, which is freed below even if the handle outlives it. */
        sqlite3_busy_handler(conn->db, NULL, NULL);
        sqlite3_progress_handler(conn->db, 0, NULL, NULL);
        int rc = sqlite3_close(conn->db);
        if (rc == SQLITE_BUSY) {
            /* What is left was prepared by a user and never finalized. Its owner may still hold
             * the pointer, so it is not ours to free: log each one and let SQLite turn the handle
             * into a zombie that is freed when the last of them is finalized. */
            for (sqlite3_stmt *s = sqlite3_next_stmt(conn->db, NULL); s;
                 s = sqlite3_next_stmt(conn->db, s)) {
                char q[256];
                mnemo_log_write(conn->st->log, MNEMO_LOG_WARN, "statement never finalized",
                                "sql=%s", mnemo_log_quote(q, sizeof q, sqlite3_sql(s)));
            }
            rc = sqlite3_close_v2(conn->db);
        }
        if (rc != SQLITE_OK)
            mnemo_log_write(conn->st->log, MNEMO_LOG_ERROR, "close failed", "path=%s rc=%d",
                            conn->st->path, rc);
    }
    free(conn);
}

int mnemo_conn_settings(struct mnemo_conn *conn, struct mnemo_store_conn_settings *out,
                        struct mnemo_err *err)
{
    int64_t v;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = query_text(conn, "PRAGMA journal_mode", out->journal_mode, sizeof out->journal_mode,
                         err)) != 0)
        return rc;
    static const char *const sqls[] = {
        "PRAGMA synchronous",        "PRAGMA foreign_keys", "PRAGMA cache_size",
        "PRAGMA temp_store",         "PRAGMA mmap_size",    "PRAGMA journal_size_limit",
        "PRAGMA wal_autocheckpoint",
    };
    int64_t vals[sizeof sqls / sizeof sqls[0]];
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++)
        if ((rc = mnemo_conn_query_int(conn, sqls[i], &vals[i], err)) != 0)
            return rc;
    out->synchronous = (int)vals[0];
    out->foreign_keys = (int)vals[1];
    out->cache_size = (int)vals[2];
    out->temp_store = (int)vals[3];
    out->mmap_size = vals[4];
    out->journal_size_limit = vals[5];
    out->wal_autocheckpoint = (int)vals[6];
    /* SQLite's built-in handler must still be absent (0) for ours to be the one installed. */
    if ((rc = mnemo_conn_query_int(conn, "PRAGMA busy_timeout", &v, err)) != 0)
        return rc;
    out->busy_timeout_ms = v == 0 ? conn->busy_timeout_ms : -1;
    return 0;
}
