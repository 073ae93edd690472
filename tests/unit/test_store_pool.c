/*
 * test_store_pool.c - the pool is bounded, waits up to a deadline, counts what it does, and
 * only takes connections back clean.
 */
#include "storeutil.h"

#include <pthread.h>
#include <string.h>

#include "util/clock.h"

static struct mnemo_store *open_pool(struct su_fixture *f, int max_conns, struct mnemo_log *log)
{
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.max_conns = max_conns;
    cfg.wal_autocheckpoint = 0;
    return su_open(f->db, &cfg, MNEMO_STORE_NO_CHECKPOINTER, log);
}

static void test_store_acquire_times_out_when_pool_exhausted(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_pool(f, 2, NULL);
    struct mnemo_conn *a = NULL, *b = NULL, *c = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_store_acquire(st, "a", mnemo_deadline_in_ms(1000), &a, &e), 0);
    assert_int_equal(mnemo_store_acquire(st, "b", mnemo_deadline_in_ms(1000), &b, &e), 0);
    int64_t t0 = tu_now_ms();
    assert_int_equal(mnemo_store_acquire(st, "third", mnemo_deadline_in_ms(100), &c, &e),
                     MNEMO_ETIMEDOUT);
    int64_t took = tu_now_ms() - t0;
    assert_null(c);
    assert_true(took >= 95 && took < 300);
    assert_non_null(strstr(e.msg, "'third'"));
    assert_non_null(strstr(e.msg, "waiting for a database connection"));

    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.max_open, 2);
    assert_int_equal(ps.open, 2);
    assert_int_equal(ps.in_use, 2);
    assert_int_equal(ps.idle, 0);
    assert_int_equal(ps.wait_count, 1);
    assert_true(ps.wait_duration_ns >= 90 * MNEMO_NS_PER_MS);
    mnemo_store_release(a);
    mnemo_store_release(b);
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.in_use, 0);
    assert_int_equal(ps.idle, 2);
    assert_int_equal(mnemo_store_close(st), 0);
}

struct releaser {
    struct mnemo_conn *conn;
    int delay_ms;
};

static void *release_later(void *arg)
{
    struct releaser *r = arg;
    mnemo_clock_sleep_ms(r->delay_ms);
    mnemo_store_release(r->conn);
    return NULL;
}

static void test_store_acquire_waits_for_a_released_connection(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_pool(f, 1, NULL);
    struct mnemo_conn *a = NULL, *b = NULL;
    struct mnemo_err e = {0};
    pthread_t t;
    assert_int_equal(mnemo_store_acquire(st, "holder", mnemo_deadline_in_ms(1000), &a, &e), 0);
    struct releaser r = {.conn = a, .delay_ms = 50};
    assert_int_equal(pthread_create(&t, NULL, release_later, &r), 0);
    int64_t t0 = tu_now_ms();
    assert_int_equal(mnemo_store_acquire(st, "waiter", mnemo_deadline_in_ms(2000), &b, &e), 0);
    int64_t took = tu_now_ms() - t0;
    assert_true(took >= 40 && took < 1000);
    assert_ptr_equal(b, a); /* the pool of one handed the same connection back */
    assert_string_equal(mnemo_conn_op(b), "waiter");
    pthread_join(t, NULL);
    mnemo_store_release(b);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_release_resets_leaked_statement_and_logs_sql(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_log *log = tu_log_open(f->log);
    struct mnemo_store *st = open_pool(f, 1, log);
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    sqlite3_stmt *s = NULL;
    assert_int_equal(su_insert_rows(st, 50, 100, 50, &e), 0);

    assert_int_equal(mnemo_store_acquire(st, "careless-reader", mnemo_deadline_in_ms(1000), &c, &e),
                     0);
    assert_int_equal(
        sqlite3_prepare_v2(mnemo_conn_db(c), "SELECT id, body FROM t ORDER BY id", -1, &s, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_true(sqlite3_stmt_busy(s));
    mnemo_store_release(c); /* stepped once, never reset */

    assert_false(sqlite3_stmt_busy(s));
    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.leaked_statements, 1);

    /* No read mark is left behind: a TRUNCATE checkpoint now completes. */
    assert_int_equal(su_insert_rows(st, 50, 100, 1, &e), 0);
    struct mnemo_store_checkpoint_result r;
    assert_int_equal(mnemo_store_checkpoint(st, 2000, &r, &e), 0);
    assert_int_equal(r.busy, 0);
    sqlite3_finalize(s);
    assert_int_equal(mnemo_store_close(st), 0);
    mnemo_log_close(log);

    char *text = tu_file_read(f->log, 1 << 20, NULL);
    assert_non_null(text);
    char *line = strstr(text, "msg=\"leaked statement reset at release\"");
    assert_non_null(line);
    assert_non_null(strstr(line, "op=careless-reader"));
    assert_non_null(strstr(line, "SELECT id, body FROM t ORDER BY id"));
    free(text);
}

static void test_store_release_rolls_back_leaked_transaction(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_log *log = tu_log_open(f->log);
    struct mnemo_store *st = open_pool(f, 2, log);
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(
        mnemo_store_acquire(st, "forgetful-writer", mnemo_deadline_in_ms(1000), &c, &e), 0);
    assert_int_equal(mnemo_conn_exec(c, "BEGIN IMMEDIATE; INSERT INTO t(body) VALUES ('lost')", &e),
                     0);
    mnemo_store_release(c);

    /* The write lock is free again and the half-done write never happened. */
    assert_int_equal(su_insert_rows(st, 1, 10, 1, &e), 0);
    assert_int_equal(su_count_rows(st), 1);
    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.leaked_transactions, 1);
    assert_int_equal(mnemo_store_close(st), 0);
    mnemo_log_close(log);

    char *text = tu_file_read(f->log, 1 << 20, NULL);
    assert_non_null(text);
    char *line = strstr(text, "msg=\"leaked transaction rolled back at release\"");
    assert_non_null(line);
    assert_non_null(strstr(line, "op=forgetful-writer"));
    free(text);
}

static void test_store_pool_warms_up_to_max_at_open(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_pool(f, 3, NULL);
    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.open, 3);
    assert_int_equal(ps.idle, 3);
    assert_int_equal(ps.in_use, 0);
    assert_int_equal(mnemo_store_close(st), 0);

    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    st = su_open(f->db, &cfg, MNEMO_STORE_NO_CHECKPOINTER | MNEMO_STORE_NO_WARMUP, NULL);
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.open, 1);
    assert_int_equal(mnemo_store_close(st), 0);
}

static int insert_then_fail_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    int *calls = arg;
    (*calls)++;
    int rc = mnemo_conn_exec(c, "INSERT INTO t(body) VALUES ('half')", err);
    if (rc != 0)
        return rc;
    return mnemo_err_set(err, MNEMO_EINVAL, "caller gave up halfway");
}

static void test_store_write_callback_error_rolls_back(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_pool(f, 2, NULL);
    struct mnemo_err e = {0};
    int calls = 0;
    assert_int_equal(mnemo_store_write(st, "half-write", 1000, insert_then_fail_fn, &calls, &e),
                     MNEMO_EINVAL);
    assert_int_equal(calls, 1); /* an ordinary error is not retried */
    assert_string_equal(e.msg, "caller gave up halfway");
    assert_int_equal(su_count_rows(st), 0);
    /* The writer lock and the connection were given back. */
    assert_int_equal(su_insert_rows(st, 1, 10, 1, &e), 0);
    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.in_use, 0);
    assert_int_equal(ps.leaked_transactions, 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

static int count_statements(sqlite3 *db)
{
    int n = 0;
    for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s; s = sqlite3_next_stmt(db, s))
        n++;
    return n;
}

static void test_store_statement_cache_reuses_resets_and_evicts(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_log *log = tu_log_open(f->log);
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.max_conns = 1;
    cfg.conn_max_lifetime_ns = 0;
    struct mnemo_store *st = su_open(f->db, &cfg, MNEMO_STORE_NO_CHECKPOINTER, log);
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    sqlite3_stmt *a = NULL, *b = NULL;
    assert_int_equal(su_insert_rows(st, 3, 10, 3, &e), 0);

    assert_int_equal(mnemo_store_acquire(st, "cache", mnemo_deadline_in_ms(1000), &c, &e), 0);
    assert_int_equal(mnemo_conn_prepare_cached(c, "SELECT ?1, count(*) FROM t", &a, &e), 0);
    sqlite3_bind_int(a, 1, 42);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 42);
    /* Left mid-iteration on purpose: the next lookup hands it back reset and unbound. */
    assert_int_equal(mnemo_conn_prepare_cached(c, "SELECT ?1, count(*) FROM t", &b, &e), 0);
    assert_ptr_equal(a, b);
    assert_false(sqlite3_stmt_busy(b));
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);
    assert_int_equal(sqlite3_column_int(b, 1), 3);
    sqlite3_reset(b);

    assert_int_equal(mnemo_conn_prepare_cached(c, "SELEKT nonsense", &b, &e), MNEMO_ESQLITE);
    assert_null(b);
    assert_non_null(strstr(e.msg, "syntax error"));

    /* Past the cache size the least recently used statement is finalized. */
    char sql[64];
    for (int i = 0; i < MNEMO_CONN_STMT_CACHE; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", i);
        assert_int_equal(mnemo_conn_prepare_cached(c, sql, &b, &e), 0);
    }
    assert_int_equal(count_statements(mnemo_conn_db(c)), MNEMO_CONN_STMT_CACHE);
    assert_int_equal(mnemo_conn_prepare_cached(c, "SELECT ?1, count(*) FROM t", &b, &e), 0);
    assert_int_equal(count_statements(mnemo_conn_db(c)), MNEMO_CONN_STMT_CACHE);
    mnemo_store_release(c);

    /* The cache survives release: the same connection comes back with the same statement. */
    assert_int_equal(mnemo_store_acquire(st, "cache-again", mnemo_deadline_in_ms(1000), &c, &e), 0);
    assert_int_equal(mnemo_conn_prepare_cached(c, "SELECT ?1, count(*) FROM t", &a, &e), 0);
    assert_ptr_equal(a, b);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    mnemo_store_release(c); /* left stepped: reset at release and counted */
    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.leaked_statements, 1);
    assert_int_equal(mnemo_store_close(st), 0);
    mnemo_log_close(log);

    /* Cached statements are the connection's own: closing it is not a leak. */
    char *text = tu_file_read(f->log, 1 << 20, NULL);
    assert_non_null(text);
    assert_null(strstr(text, "never finalized"));
    free(text);
}

static void test_store_close_after_fts5_queries_and_unfinalized_statement(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_log *log = tu_log_open(f->log);
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, log);
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    sqlite3_stmt *q = NULL, *forgotten = NULL;
    int64_t n = 0;

    /* FTS5 prepares statements of its own on the connection; closing must leave those to
     * SQLite (finalizing them from outside made SQLite finalize them twice and abort). */
    assert_int_equal(mnemo_store_acquire(st, "fts", mnemo_deadline_in_ms(1000), &c, &e), 0);
    assert_int_equal(mnemo_conn_exec(c,
                                     "CREATE VIRTUAL TABLE notes USING fts5(body);"
                                     "INSERT INTO notes VALUES ('checkpoint starvation'),"
                                     "('wal growth');",
                                     &e),
                     0);
    assert_int_equal(
        mnemo_conn_prepare_cached(c, "SELECT count(*) FROM notes WHERE notes MATCH ?", &q, &e), 0);
    sqlite3_bind_text(q, 1, "wal", -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 1);
    sqlite3_reset(q);
    assert_int_equal(mnemo_conn_query_int(
                         c, "SELECT count(*) FROM notes WHERE notes MATCH 'starvation'", &n, &e),
                     0);
    assert_int_equal(n, 1);
    /* And one statement its user never finalizes. */
    assert_int_equal(sqlite3_prepare_v2(mnemo_conn_db(c), "SELECT 1", -1, &forgotten, NULL),
                     SQLITE_OK);
    mnemo_store_release(c);
    assert_int_equal(mnemo_store_close(st), 0);
    mnemo_log_close(log);

    char *text = tu_file_read(f->log, 1 << 20, NULL);
    assert_non_null(text);
    char *line = strstr(text, "msg=\"statement never finalized\"");
    assert_non_null(line);
    assert_non_null(strstr(line, "SELECT 1"));
    free(text);
    /* Finalizing it now frees the handle SQLite kept alive for it. */
    assert_int_equal(sqlite3_finalize(forgotten), SQLITE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_store_close_after_fts5_queries_and_unfinalized_statement, su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_statement_cache_reuses_resets_and_evicts,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_acquire_times_out_when_pool_exhausted, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_acquire_waits_for_a_released_connection,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_release_resets_leaked_statement_and_logs_sql,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_release_rolls_back_leaked_transaction, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_pool_warms_up_to_max_at_open, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_write_callback_error_rolls_back, su_setup,
                                        su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
