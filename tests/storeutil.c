/*
 * storeutil.c - see storeutil.h.
 */
#include "storeutil.h"

#include "util/clock.h"

#include <stdlib.h>
#include <string.h>

const struct mnemo_store_migration su_migrations[] = {
    {1, "test table", "CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT NOT NULL)", NULL},
};
const int su_n_migrations = 1;

int su_setup(void **state)
{
    struct su_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "mnemo.db", f->db, sizeof f->db);
    tu_path(&f->dir, "test.log", f->log, sizeof f->log);
    snprintf(f->wal, sizeof f->wal, "%s-wal", f->db);
    snprintf(f->shm, sizeof f->shm, "%s-shm", f->db);
    *state = f;
    return 0;
}

int su_teardown(void **state)
{
    struct su_fixture *f = *state;
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

struct mnemo_store *su_open(const char *path, const struct mnemo_store_config *cfg, unsigned flags,
                            struct mnemo_log *log)
{
    struct mnemo_store_config c;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    if (cfg)
        c = *cfg;
    else
        mnemo_store_config_init(&c);
    c.path = path;
    c.flags |= flags | MNEMO_STORE_CREATE;
    c.migrations = su_migrations;
    c.n_migrations = su_n_migrations;
    c.log = log;
    int rc = mnemo_store_open(&c, &st, &e);
    if (rc != 0)
        fail_msg("cannot open store '%s': %s", path, e.msg);
    return st;
}

struct insert_args {
    int n;
    size_t body_len;
    const char *body;
};

static int insert_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    struct insert_args *a = arg;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(mnemo_conn_db(c), "INSERT INTO t(body) VALUES (?)", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return mnemo_conn_error(c, rc, "prepare insert", err);
    for (int i = 0; i < a->n; i++) {
        sqlite3_bind_text(s, 1, a->body, (int)a->body_len, SQLITE_STATIC);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            int out = mnemo_conn_error(c, rc, "insert", err);
            sqlite3_finalize(s);
            return out;
        }
    }
    sqlite3_finalize(s);
    return 0;
}

int su_insert_rows(struct mnemo_store *st, int n, size_t body_len, int rows_per_txn,
                   struct mnemo_err *err)
{
    char *body = malloc(body_len + 1);
    if (!body)
        return MNEMO_ENOMEM;
    for (size_t i = 0; i < body_len; i++)
        body[i] = (char)('a' + (i * 7 + (size_t)n) % 26);
    body[body_len] = '\0';
    int rc = 0;
    for (int done = 0; done < n && rc == 0; done += rows_per_txn) {
        struct insert_args a = {.n = n - done < rows_per_txn ? n - done : rows_per_txn,
                                .body_len = body_len,
                                .body = body};
        rc = mnemo_store_write(st, "test-insert", MNEMO_STORE_TIMEOUT_DEFAULT_MS, insert_fn, &a,
                               err);
    }
    free(body);
    return rc;
}

static int count_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    return mnemo_conn_query_int(c, "SELECT count(*) FROM t", arg, err);
}

int64_t su_count_rows(struct mnemo_store *st)
{
    int64_t n = -1;
    struct mnemo_err e = {0};
    if (mnemo_store_read(st, "test-count", MNEMO_STORE_TIMEOUT_DEFAULT_MS, count_fn, &n, &e) != 0)
        fail_msg("count failed: %s", e.msg);
    return n;
}

int64_t su_query_int(struct mnemo_store *st, const char *sql)
{
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    int64_t v = -1;
    assert_int_equal(mnemo_store_acquire(st, "query", mnemo_deadline_in_ms(2000), &c, &e), 0);
    if (mnemo_conn_query_int(c, sql, &v, &e) != 0)
        fail_msg("%s: %s", sql, e.msg);
    mnemo_store_release(c);
    return v;
}

void su_exec(struct mnemo_store *st, const char *sql)
{
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_store_acquire(st, "exec", mnemo_deadline_in_ms(2000), &c, &e), 0);
    if (mnemo_conn_exec(c, sql, &e) != 0)
        fail_msg("%s: %s", sql, e.msg);
    mnemo_store_release(c);
}
