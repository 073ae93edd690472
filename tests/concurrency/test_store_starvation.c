/*
 * test_store_starvation.c - the original failure, reproduced: a reader that never finishes
 * pins the WAL. Through the pool it cannot happen (release resets the statement); from
 * outside the pool the checkpointer notices, says so, and recovers once the reader ends.
 */
#include "storeutil.h"

#include <string.h>

#include "util/clock.h"

#define MIB (1024 * 1024)

/* Production thresholds; only the period is shortened so the test does not last a minute. */
static void starvation_config(struct mnemo_store_config *cfg)
{
    mnemo_store_config_init(cfg);
    cfg->checkpoint_interval_ms = 1000;
    cfg->checkpoint_poll_ms = 50;
}

/* Writes total_bytes in 2 KiB rows, ten per transaction, sampling the WAL after each. */
static int64_t write_and_sample(struct mnemo_store *st, int64_t total_bytes)
{
    struct mnemo_err e = {0};
    int64_t max_wal = 0;
    int rows = (int)(total_bytes / 2048);
    for (int done = 0; done < rows; done += 10) {
        if (su_insert_rows(st, 10, 2048, 10, &e) != 0)
            fail_msg("write failed: %s", e.msg);
        int64_t w = mnemo_store_wal_size(st);
        if (w > max_wal)
            max_wal = w;
    }
    return max_wal;
}

static int64_t wait_wal_below(struct mnemo_store *st, int64_t bound, int64_t timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    int64_t w = mnemo_store_wal_size(st);
    while (w >= bound && tu_now_ms() < deadline) {
        mnemo_clock_sleep_ms(20);
        w = mnemo_store_wal_size(st);
    }
    return w;
}

static void test_store_leaked_pooled_statement_does_not_pin_wal(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_log *log = tu_log_open(f->log);
    starvation_config(&cfg);
    struct mnemo_store *st = su_open(f->db, &cfg, 0, log);
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    sqlite3_stmt *leak = NULL;

    assert_int_equal(su_insert_rows(st, 100, 2048, 100, &e), 0);
    assert_int_equal(mnemo_store_acquire(st, "leaky-reader", mnemo_deadline_in_ms(1000), &c, &e),
                     0);
    assert_int_equal(sqlite3_prepare_v2(mnemo_conn_db(c), "SELECT id FROM t", -1, &leak, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(leak), SQLITE_ROW);
    mnemo_store_release(c); /* stepped once, never reset: the original's stale read mark */

    int64_t max_wal = write_and_sample(st, 20 * MIB);
    int64_t bound = cfg.checkpoint_threshold_bytes + MNEMO_STORE_WAL_SLACK_BYTES;
    assert_true(max_wal <= bound);
    int64_t settled = wait_wal_below(st, cfg.checkpoint_threshold_bytes, 5000);
    if (settled >= cfg.checkpoint_threshold_bytes)
        fail_msg("WAL stayed at %lld bytes", (long long)settled);
    assert_int_equal(su_count_rows(st), 100 + 20 * MIB / 2048 / 10 * 10);

    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.leaked_statements, 1);
    sqlite3_finalize(leak);
    assert_int_equal(mnemo_store_close(st), 0);
    mnemo_log_close(log);
}

static void test_store_checkpointer_reports_starvation_and_recovers(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_log *log = tu_log_open(f->log);
    starvation_config(&cfg);
    cfg.checkpoint_busy_timeout_ms = 50;
    struct mnemo_store *st = su_open(f->db, &cfg, 0, log);
    struct mnemo_err e = {0};
    assert_int_equal(su_insert_rows(st, 10, 2048, 10, &e), 0);

    /* A reader outside the pool (a sidecar, another tool) that never finishes. */
    sqlite3 *outside = NULL;
    sqlite3_stmt *pin = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &outside, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(outside, "SELECT id FROM t", -1, &pin, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(pin), SQLITE_ROW);

    write_and_sample(st, 8 * MIB);
    assert_true(mnemo_store_wal_size(st) >= cfg.checkpoint_threshold_bytes);
    /* Give the checkpointer time for several failed attempts. */
    struct mnemo_store_health h;
    int64_t deadline = tu_now_ms() + 5000;
    do {
        mnemo_clock_sleep_ms(50);
        mnemo_store_health(st, 1, &h);
    } while (h.checkpoint_stalls < 3 && tu_now_ms() < deadline);
    assert_true(h.checkpoint_stalls >= 3);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);
    assert_non_null(strstr(h.warning, "checkpoints not advancing"));
    assert_int_equal(h.last_checkpoint.busy, 1);

    /* The reader ends: the next checkpoint resets the WAL and health recovers. */
    sqlite3_finalize(pin);
    sqlite3_close(outside);
    int64_t settled = wait_wal_below(st, cfg.checkpoint_threshold_bytes, 5000);
    assert_true(settled < cfg.checkpoint_threshold_bytes);
    deadline = tu_now_ms() + 2000; /* the result is recorded just after the WAL shrinks */
    for (;;) {
        mnemo_store_health(st, 1, &h);
        if (h.checkpoint_stalls == 0 || tu_now_ms() >= deadline)
            break;
        mnemo_clock_sleep_ms(10);
    }
    int stalls_after = h.checkpoint_stalls;
    assert_int_equal(mnemo_store_close(st), 0);
    mnemo_log_close(log);

    char *text = tu_file_read(f->log, 1 << 22, NULL);
    assert_non_null(text);
    char *line = strstr(text, "msg=\"checkpoint starved: WAL not reset\"");
    assert_non_null(line);
    assert_non_null(strstr(line, "wal_bytes="));
    assert_non_null(strstr(line, "log_frames="));
    assert_non_null(strstr(line, "consecutive="));
    free(text);
    assert_int_equal(stalls_after, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_leaked_pooled_statement_does_not_pin_wal,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_checkpointer_reports_starvation_and_recovers,
                                        su_setup, su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
