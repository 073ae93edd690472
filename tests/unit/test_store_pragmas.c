/*
 * test_store_pragmas.c - every connection the store hands out is configured the same way:
 * pooled ones held at once, recycled ones, and the defaults match the original store.
 */
#include "storeutil.h"

#include <string.h>

#include "util/clock.h"

static struct mnemo_store *open_store(const struct su_fixture *f, struct mnemo_store_config *cfg)
{
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    cfg->path = f->db;
    cfg->flags |= MNEMO_STORE_CREATE;
    int rc = mnemo_store_open(cfg, &st, &e);
    if (rc != 0)
        fail_msg("open failed: %s", e.msg);
    return st;
}

static void assert_default_settings(struct mnemo_conn *c)
{
    struct mnemo_store_conn_settings s;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_conn_settings(c, &s, &e), 0);
    assert_string_equal(s.journal_mode, "wal");
    assert_int_equal(s.synchronous, 1);
    assert_int_equal(s.foreign_keys, 1);
    assert_int_equal(s.busy_timeout_ms, 5000);
    assert_int_equal(s.cache_size, -64000);
    assert_int_equal(s.temp_store, 2);
    assert_int_equal(s.mmap_size, 0);
    assert_int_equal(s.journal_size_limit, 8388608);
    assert_int_equal(s.wal_autocheckpoint, 1000);
}

static void test_store_config_defaults_match_original(void **state)
{
    (void)state;
    struct mnemo_store_config c;
    mnemo_store_config_init(&c);
    assert_int_equal(c.max_conns, 4);
    assert_true(c.conn_max_lifetime_ns == 3600 * MNEMO_NS_PER_S);
    assert_true(c.conn_max_idle_ns == 1800 * MNEMO_NS_PER_S);
    assert_int_equal(c.busy_timeout_ms, 5000);
    assert_int_equal(c.cache_size, -64000);
    assert_int_equal(c.journal_size_limit, 8 * 1024 * 1024);
    assert_int_equal(c.wal_autocheckpoint, 1000);
    assert_int_equal(c.temp_store, 2);
    assert_int_equal(c.mmap_size, 0);
    assert_int_equal(c.checkpoint_interval_ms, 60000);
    assert_int_equal(c.checkpoint_threshold_bytes, 4 * 1024 * 1024);
    assert_int_equal(c.health_ttl_ms, 5000);
}

static void test_store_every_pooled_connection_has_all_pragmas(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.flags = MNEMO_STORE_NO_CHECKPOINTER;
    struct mnemo_store *st = open_store(f, &cfg);
    struct mnemo_conn *conns[4] = {0};
    struct mnemo_err e = {0};

    /* Hold all four at once so each is a distinct connection. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(mnemo_store_acquire(st, "pin", mnemo_deadline_in_ms(1000), &conns[i], &e),
                         0);
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(mnemo_conn_db(conns[i]), mnemo_conn_db(conns[j]));
        assert_default_settings(conns[i]);
    }
    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.open, 4);
    assert_int_equal(ps.in_use, 4);
    for (int i = 0; i < 4; i++)
        mnemo_store_release(conns[i]);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_recycled_connection_comes_back_configured(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.flags = MNEMO_STORE_NO_CHECKPOINTER;
    cfg.conn_max_lifetime_ns = 1; /* every connection is too old by the time it is reused */
    struct mnemo_store *st = open_store(f, &cfg);
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};

    assert_int_equal(mnemo_store_acquire(st, "first", mnemo_deadline_in_ms(1000), &c, &e), 0);
    mnemo_store_release(c);
    assert_int_equal(mnemo_store_acquire(st, "second", mnemo_deadline_in_ms(1000), &c, &e), 0);
    /* A connection opened moments ago, not one that survived from open. */
    assert_true(mnemo_conn_age_ns(c) < 500 * MNEMO_NS_PER_MS);
    assert_default_settings(c);
    mnemo_store_release(c);

    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_true(ps.closed_max_lifetime >= 2);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_idle_connections_are_closed_after_idle_time(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.flags = MNEMO_STORE_NO_CHECKPOINTER;
    cfg.conn_max_idle_ns = 50 * MNEMO_NS_PER_MS;
    struct mnemo_store *st = open_store(f, &cfg);
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};

    mnemo_clock_sleep_ms(80);
    assert_int_equal(mnemo_store_acquire(st, "after-idle", mnemo_deadline_in_ms(1000), &c, &e), 0);
    assert_default_settings(c);
    mnemo_store_release(c);
    struct mnemo_store_pool_stats ps;
    mnemo_store_pool_stats(st, &ps);
    assert_int_equal(ps.closed_max_idle, 4);
    assert_int_equal(ps.open, 1);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_custom_settings_apply_to_every_connection(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.flags = MNEMO_STORE_NO_CHECKPOINTER;
    cfg.max_conns = 2;
    cfg.busy_timeout_ms = 1234;
    cfg.cache_size = -2000;
    cfg.wal_autocheckpoint = 500;
    cfg.journal_size_limit = 1 << 20;
    cfg.temp_store = 1;
    struct mnemo_store *st = open_store(f, &cfg);
    struct mnemo_conn *a = NULL, *b = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_store_acquire(st, "a", mnemo_deadline_in_ms(1000), &a, &e), 0);
    assert_int_equal(mnemo_store_acquire(st, "b", mnemo_deadline_in_ms(1000), &b, &e), 0);
    struct mnemo_conn *both[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        struct mnemo_store_conn_settings s;
        assert_int_equal(mnemo_conn_settings(both[i], &s, &e), 0);
        assert_int_equal(s.busy_timeout_ms, 1234);
        assert_int_equal(s.cache_size, -2000);
        assert_int_equal(s.wal_autocheckpoint, 500);
        assert_int_equal(s.journal_size_limit, 1 << 20);
        assert_int_equal(s.temp_store, 1);
    }
    mnemo_store_release(a);
    mnemo_store_release(b);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_replaced_busy_handler_is_detected(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.flags = MNEMO_STORE_NO_CHECKPOINTER;
    struct mnemo_store *st = open_store(f, &cfg);
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    struct mnemo_store_conn_settings s;
    assert_int_equal(mnemo_store_acquire(st, "replace", mnemo_deadline_in_ms(1000), &c, &e), 0);
    /* PRAGMA busy_timeout swaps SQLite's handler in for the deadline-aware one. */
    assert_int_equal(mnemo_conn_exec(c, "PRAGMA busy_timeout=5000", &e), 0);
    assert_int_equal(mnemo_conn_settings(c, &s, &e), 0);
    assert_int_equal(s.busy_timeout_ms, -1);
    mnemo_store_release(c);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_failed_correctness_pragma_rejects_connection_naming_it(void **state)
{
    struct su_fixture *f = *state;
    sqlite3 *legacy = NULL;
    sqlite3_stmt *s = NULL;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    struct mnemo_store_config cfg;

    /* A rollback-journal database with a reader in the middle of a query: switching it to WAL
     * needs an exclusive lock that the reader's shared lock denies. */
    assert_int_equal(sqlite3_open(f->db, &legacy), SQLITE_OK);
    assert_int_equal(sqlite3_exec(legacy, "CREATE TABLE old(x); INSERT INTO old VALUES (1), (2);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(legacy, "SELECT x FROM old", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);

    mnemo_store_config_init(&cfg);
    cfg.path = f->db;
    cfg.flags = MNEMO_STORE_NO_CHECKPOINTER;
    cfg.busy_timeout_ms = 100;
    int64_t t0 = tu_now_ms();
    int rc = mnemo_store_open(&cfg, &st, &e);
    assert_int_equal(rc, MNEMO_EBUSY);
    assert_null(st);
    assert_true(tu_now_ms() - t0 < 2000);
    assert_non_null(strstr(e.msg, "rejected: pragma journal_mode=WAL"));
    assert_non_null(strstr(e.msg, f->db));

    /* Once the reader is done the same database opens and is converted to WAL. */
    sqlite3_finalize(s);
    sqlite3_close(legacy);
    assert_int_equal(mnemo_store_open(&cfg, &st, &e), 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_invalid_config_is_refused(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    mnemo_store_config_init(&cfg);
    cfg.path = f->db;
    cfg.flags = MNEMO_STORE_CREATE;
    cfg.max_conns = 0;
    assert_int_equal(mnemo_store_open(&cfg, &st, &e), MNEMO_EINVAL);
    assert_null(st);
    assert_non_null(strstr(e.msg, "max_conns"));
    assert_int_equal(tu_file_size(f->db), -1); /* nothing was created */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_config_defaults_match_original),
        cmocka_unit_test_setup_teardown(test_store_every_pooled_connection_has_all_pragmas,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_recycled_connection_comes_back_configured,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_idle_connections_are_closed_after_idle_time,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_custom_settings_apply_to_every_connection,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_replaced_busy_handler_is_detected, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(
            test_store_failed_correctness_pragma_rejects_connection_naming_it, su_setup,
            su_teardown),
        cmocka_unit_test_setup_teardown(test_store_invalid_config_is_refused, su_setup,
                                        su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
