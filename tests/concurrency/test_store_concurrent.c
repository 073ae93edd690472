/*
 * test_store_concurrent.c - four readers and a writer at full rate for ten seconds: no
 * errors, every committed row visible, and the WAL bounded the whole time. Also run under
 * TSan (label "concurrency").
 */
#include "storeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "util/clock.h"

#define READERS   4
#define RUN_MS    10000
#define SAMPLE_MS 20

struct shared {
    struct mnemo_store *st;
    atomic_int stop;
    atomic_llong rows_written;
    atomic_llong reads;
    atomic_llong errors;
    atomic_llong max_wal;
    char first_error[MNEMO_ERR_MSG_MAX];
    pthread_mutex_t err_mu;
};

static void note_error(struct shared *s, const struct mnemo_err *e)
{
    if (atomic_fetch_add(&s->errors, 1) == 0) {
        pthread_mutex_lock(&s->err_mu);
        snprintf(s->first_error, sizeof s->first_error, "%s", e->msg);
        pthread_mutex_unlock(&s->err_mu);
    }
}

static void *writer_main(void *arg)
{
    struct shared *s = arg;
    struct mnemo_err e = {0};
    while (!atomic_load(&s->stop)) {
        if (su_insert_rows(s->st, 1, 1024, 1, &e) != 0)
            note_error(s, &e);
        else
            atomic_fetch_add(&s->rows_written, 1);
    }
    return NULL;
}

struct range {
    int64_t count, max_id;
};

static int range_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    struct range *r = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(mnemo_conn_db(c),
                                "SELECT count(*), coalesce(max(id), 0) FROM "
                                "(SELECT id FROM t ORDER BY id DESC LIMIT 200)",
                                -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return mnemo_conn_error(c, rc, "prepare range", err);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        r->count = sqlite3_column_int64(stmt, 0);
        r->max_id = sqlite3_column_int64(stmt, 1);
        rc = SQLITE_DONE;
    }
    int out = rc == SQLITE_DONE ? 0 : mnemo_conn_error(c, rc, "range", err);
    sqlite3_finalize(stmt);
    return out;
}

static void *reader_main(void *arg)
{
    struct shared *s = arg;
    struct mnemo_err e = {0};
    int64_t last_max = 0;
    while (!atomic_load(&s->stop)) {
        struct range r = {0};
        if (mnemo_store_read(s->st, "range-read", MNEMO_STORE_TIMEOUT_DEFAULT_MS, range_fn, &r,
                             &e) != 0) {
            note_error(s, &e);
            continue;
        }
        /* Snapshots only move forward: a reader never sees the table shrink. */
        if (r.max_id < last_max) {
            struct mnemo_err bad = {0};
            mnemo_err_set(&bad, MNEMO_EINTERNAL, "max id went back from %lld to %lld",
                          (long long)last_max, (long long)r.max_id);
            note_error(s, &bad);
        }
        last_max = r.max_id;
        atomic_fetch_add(&s->reads, 1);
    }
    return NULL;
}

static void *sampler_main(void *arg)
{
    struct shared *s = arg;
    while (!atomic_load(&s->stop)) {
        long long w = mnemo_store_wal_size(s->st);
        long long cur = atomic_load(&s->max_wal);
        while (w > cur && !atomic_compare_exchange_weak(&s->max_wal, &cur, w)) {
        }
        mnemo_clock_sleep_ms(SAMPLE_MS);
    }
    return NULL;
}

static void test_store_readers_and_writer_run_without_errors_and_bounded_wal(void **state)
{
    (void)state;
    struct tu_dir dir;
    char db[300];
    tu_dir_make(&dir);
    tu_path(&dir, "mnemo.db", db, sizeof db);
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg); /* production settings throughout */
    struct shared s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.err_mu, NULL);
    struct mnemo_log *dbg = getenv("MNEMO_TEST_LOG") ? tu_log_open(getenv("MNEMO_TEST_LOG")) : NULL;
    s.st = su_open(db, &cfg, 0, dbg);

    pthread_t w, samp, r[READERS];
    assert_int_equal(pthread_create(&w, NULL, writer_main, &s), 0);
    assert_int_equal(pthread_create(&samp, NULL, sampler_main, &s), 0);
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&r[i], NULL, reader_main, &s), 0);
    mnemo_clock_sleep_ms(RUN_MS);
    atomic_store(&s.stop, 1);
    pthread_join(w, NULL);
    pthread_join(samp, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);

    long long errors = atomic_load(&s.errors);
    if (errors)
        fail_msg("%lld errors, first: %s", errors, s.first_error);
    long long written = atomic_load(&s.rows_written);
    long long max_wal = atomic_load(&s.max_wal);
    print_message("rows written %lld, reads %lld, max WAL %lld bytes\n", written,
                  (long long)atomic_load(&s.reads), max_wal);
    assert_true(written > 0);
    assert_true(atomic_load(&s.reads) > 0);
    assert_true(max_wal <= cfg.checkpoint_threshold_bytes + MNEMO_STORE_WAL_SLACK_BYTES);
    assert_int_equal(su_count_rows(s.st), written);
    assert_int_equal(mnemo_store_close(s.st), 0);
    pthread_mutex_destroy(&s.err_mu);
    tu_dir_remove(&dir);
}

#define WRITERS     4
#define WRITES_EACH 300

static void *many_writer_main(void *arg)
{
    struct shared *s = arg;
    struct mnemo_err e = {0};
    for (int i = 0; i < WRITES_EACH; i++) {
        if (su_insert_rows(s->st, 2, 256, 2, &e) != 0)
            note_error(s, &e);
        else
            atomic_fetch_add(&s->rows_written, 2);
    }
    return NULL;
}

static void test_store_concurrent_writers_are_serialized_without_busy_errors(void **state)
{
    (void)state;
    struct tu_dir dir;
    char db[300];
    tu_dir_make(&dir);
    tu_path(&dir, "mnemo.db", db, sizeof db);
    struct shared s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.err_mu, NULL);
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    /* A lock wait this short would surface as SQLITE_BUSY if writers ever raced for SQLite's
     * write lock instead of queueing on the store's writer lock. */
    cfg.busy_timeout_ms = 1;
    s.st = su_open(db, &cfg, 0, NULL);

    pthread_t w[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&w[i], NULL, many_writer_main, &s), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    long long errors = atomic_load(&s.errors);
    if (errors)
        fail_msg("%lld errors, first: %s", errors, s.first_error);
    assert_int_equal(atomic_load(&s.rows_written), WRITERS * WRITES_EACH * 2);
    assert_int_equal(su_count_rows(s.st), WRITERS * WRITES_EACH * 2);
    assert_int_equal(mnemo_store_close(s.st), 0);
    pthread_mutex_destroy(&s.err_mu);
    tu_dir_remove(&dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_readers_and_writer_run_without_errors_and_bounded_wal),
        cmocka_unit_test(test_store_concurrent_writers_are_serialized_without_busy_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
