/*
 * test_store_checkpoint.c - the WAL is owned: TRUNCATE shrinks it, the size gate works, the
 * checkpointer keeps it under its threshold, close leaves nothing behind, optimize runs.
 */
#include "storeutil.h"

#include <string.h>

#include "util/clock.h"

#define KIB       1024
#define SMALL_WAL (64 * KIB)

/* The checkpointer off, autocheckpoint off: only explicit checkpoints shrink the WAL. */
static struct mnemo_store *open_manual(struct su_fixture *f)
{
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.wal_autocheckpoint = 0;
    return su_open(f->db, &cfg, MNEMO_STORE_NO_CHECKPOINTER, NULL);
}

static void grow_wal(struct mnemo_store *st, int rows)
{
    struct mnemo_err e = {0};
    if (su_insert_rows(st, rows, 2048, 1, &e) != 0)
        fail_msg("insert failed: %s", e.msg);
}

static void test_store_checkpoint_truncates_grown_wal(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_manual(f);
    struct mnemo_store_checkpoint_result r;
    struct mnemo_err e = {0};

    grow_wal(st, 1000);
    int64_t before = mnemo_store_wal_size(st);
    assert_true(before >= SMALL_WAL);
    assert_int_equal(mnemo_store_checkpoint(st, 5000, &r, &e), 0);
    assert_int_equal(r.busy, 0);
    /* A completed TRUNCATE resets the WAL, so SQLite reports it as empty: 0 of 0 frames. */
    assert_int_equal(r.log_frames, 0);
    assert_int_equal(r.checkpointed, 0);
    assert_true(r.wal_before >= SMALL_WAL);
    int64_t after = mnemo_store_wal_size(st);
    assert_true(after < before);
    assert_true(after <= SMALL_WAL);
    assert_true(r.at_ms > 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_checkpoint_if_large_gates_on_threshold(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_manual(f);
    struct mnemo_store_checkpoint_result r;
    struct mnemo_err e = {0};
    int did = -1;

    grow_wal(st, 200);
    int64_t before = mnemo_store_wal_size(st);
    assert_true(before > 0);
    assert_int_equal(mnemo_store_checkpoint_if_large(st, INT64_C(1) << 30, 5000, &did, &r, &e), 0);
    assert_int_equal(did, 0);
    assert_true(mnemo_store_wal_size(st) == before); /* a no-op below the threshold */

    grow_wal(st, 800);
    assert_true(mnemo_store_wal_size(st) >= SMALL_WAL);
    assert_int_equal(mnemo_store_checkpoint_if_large(st, SMALL_WAL, 5000, &did, &r, &e), 0);
    assert_int_equal(did, 1);
    assert_true(mnemo_store_wal_size(st) <= SMALL_WAL);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_close_removes_wal_and_reopen_finds_every_row(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_manual(f);
    grow_wal(st, 800);
    assert_true(tu_file_size(f->wal) > 0);
    assert_int_equal(mnemo_store_close(st), 0);
    assert_int_equal(tu_file_size(f->wal), -1);
    assert_int_equal(tu_file_size(f->shm), -1);

    st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    assert_int_equal(su_count_rows(st), 800);
    assert_int_equal(mnemo_store_close(st), 0);
    assert_int_equal(tu_file_size(f->wal), -1);
}

static void test_store_checkpoint_reports_busy_while_a_reader_pins_the_wal(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.wal_autocheckpoint = 0;
    cfg.checkpoint_busy_timeout_ms = 100;
    struct mnemo_store *st = su_open(f->db, &cfg, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    struct mnemo_store_checkpoint_result r;
    struct mnemo_err e = {0};
    struct mnemo_conn *reader = NULL;
    sqlite3_stmt *s = NULL;

    grow_wal(st, 100);
    assert_int_equal(
        mnemo_store_acquire(st, "pinning-reader", mnemo_deadline_in_ms(5000), &reader, &e), 0);
    assert_int_equal(sqlite3_prepare_v2(mnemo_conn_db(reader), "SELECT id FROM t", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    grow_wal(st, 100); /* frames after the reader's snapshot cannot be checkpointed */

    int64_t t0 = tu_now_ms();
    assert_int_equal(mnemo_store_checkpoint(st, 5000, &r, &e), MNEMO_EBUSY);
    int64_t took = tu_now_ms() - t0;
    assert_int_equal(r.busy, 1);
    assert_true(r.checkpointed < r.log_frames);
    assert_non_null(strstr(e.msg, "could not finish"));
    /* The dedicated connection waits its own short busy timeout, not the 5 s default. */
    assert_true(took < 1000);

    struct mnemo_store_health h;
    mnemo_store_health(st, 1, &h);
    assert_int_equal(h.last_checkpoint.busy, 1);
    assert_int_equal(h.checkpoint_stalls, 1);

    sqlite3_finalize(s);
    mnemo_store_release(reader);
    assert_int_equal(mnemo_store_checkpoint(st, 5000, &r, &e), 0);
    assert_true(mnemo_store_wal_size(st) <= SMALL_WAL);
    mnemo_store_health(st, 1, &h);
    assert_int_equal(h.checkpoint_stalls, 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_checkpointer_thread_bounds_wal(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.wal_autocheckpoint = 0; /* only the checkpointer thread may reclaim the WAL */
    cfg.checkpoint_interval_ms = 20;
    cfg.checkpoint_threshold_bytes = 256 * KIB;
    struct mnemo_store *st = su_open(f->db, &cfg, 0, NULL);

    grow_wal(st, 1000); /* ~2.5 MB of frames */
    int64_t deadline = tu_now_ms() + 3000;
    while (mnemo_store_wal_size(st) >= cfg.checkpoint_threshold_bytes && tu_now_ms() < deadline)
        mnemo_clock_sleep_ms(10);
    assert_true(mnemo_store_wal_size(st) < cfg.checkpoint_threshold_bytes);
    struct mnemo_store_health h;
    mnemo_store_health(st, 1, &h);
    assert_true(h.last_checkpoint.at_ms > 0);
    assert_int_equal(h.last_checkpoint.busy, 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_optimize_runs_analyze_and_truncates_wal(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_manual(f);
    struct mnemo_err e = {0};
    grow_wal(st, 300);
    assert_true(mnemo_store_wal_size(st) >= SMALL_WAL);
    assert_int_equal(mnemo_store_optimize(st, 10000, &e), 0);
    assert_true(mnemo_store_wal_size(st) <= SMALL_WAL);

    struct mnemo_conn *c = NULL;
    int64_t n = 0;
    assert_int_equal(mnemo_store_acquire(st, "stat1", mnemo_deadline_in_ms(1000), &c, &e), 0);
    assert_int_equal(mnemo_conn_query_int(
                         c, "SELECT count(*) FROM sqlite_master WHERE name='sqlite_stat1'", &n, &e),
                     0);
    mnemo_store_release(c);
    assert_int_equal(n, 1);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_optimize_with_expired_deadline_fails(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_manual(f);
    struct mnemo_err e = {0};
    grow_wal(st, 50);
    /* The original's "cancelled context" case: no time at all must be an error, not a hang. */
    int rc = mnemo_store_optimize(st, 0, &e);
    assert_int_equal(rc, MNEMO_ETIMEDOUT);
    assert_non_null(strstr(e.msg, "optimize"));
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_check_reports_sound_database(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_manual(f);
    struct mnemo_err e = {0};
    struct mnemo_strbuf problems;
    mnemo_strbuf_init(&problems, 0);
    grow_wal(st, 50);
    assert_int_equal(mnemo_store_check(st, 0, 5000, &problems, &e), 0);
    assert_int_equal(mnemo_store_check(st, 1, 5000, &problems, &e), 0);
    assert_int_equal(problems.len, 0);
    mnemo_strbuf_release(&problems);
    assert_int_equal(mnemo_store_close(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_checkpoint_truncates_grown_wal, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_checkpoint_if_large_gates_on_threshold, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_close_removes_wal_and_reopen_finds_every_row,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(
            test_store_checkpoint_reports_busy_while_a_reader_pins_the_wal, su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_checkpointer_thread_bounds_wal, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_optimize_runs_analyze_and_truncates_wal,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_optimize_with_expired_deadline_fails, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_check_reports_sound_database, su_setup,
                                        su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
