/*
 * test_store_migrate.c - migrations apply once, atomically, in order; a newer schema is
 * refused without being touched.
 */
#include "storeutil.h"

#include <string.h>

#include "util/clock.h"

static int seed_fn(sqlite3 *db, struct mnemo_err *err)
{
    int rc = sqlite3_exec(db, "INSERT INTO weights VALUES ('security', 0.3), ('gotcha', 0.25)",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return mnemo_err_set(err, MNEMO_ESQLITE, "seed failed: %s", sqlite3_errmsg(db));
    return 0;
}

/* Plain CREATE TABLE (no IF NOT EXISTS): running any step twice would fail loudly. */
static const struct mnemo_store_migration v1_v2[] = {
    {1, "weights table", "CREATE TABLE weights(concept TEXT PRIMARY KEY, weight REAL)", NULL},
    {2, "seed weights", NULL, seed_fn},
};

static const struct mnemo_store_migration v1_v3[] = {
    {1, "weights table", "CREATE TABLE weights(concept TEXT PRIMARY KEY, weight REAL)", NULL},
    {2, "seed weights", NULL, seed_fn},
    {3, "notes", "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT)", NULL},
};

static int open_with(const char *db, const struct mnemo_store_migration *m, int n,
                     struct mnemo_store **st, struct mnemo_err *e)
{
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.path = db;
    cfg.flags = MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER;
    cfg.migrations = m;
    cfg.n_migrations = n;
    return mnemo_store_open(&cfg, st, e);
}

static int64_t query(struct mnemo_store *st, const char *sql)
{
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    int64_t v = -1;
    assert_int_equal(mnemo_store_acquire(st, "query", mnemo_deadline_in_ms(1000), &c, &e), 0);
    if (mnemo_conn_query_int(c, sql, &v, &e) != 0)
        fail_msg("%s: %s", sql, e.msg);
    mnemo_store_release(c);
    return v;
}

static void test_store_migrations_apply_once_and_are_idempotent_on_reopen(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    for (int round = 0; round < 3; round++) {
        if (open_with(f->db, v1_v2, 2, &st, &e) != 0)
            fail_msg("round %d: %s", round, e.msg);
        assert_int_equal(mnemo_store_schema_version(st), 2);
        assert_int_equal(query(st, "SELECT count(*) FROM weights"), 2);
        assert_int_equal(query(st, "SELECT count(*) FROM schema_migrations"), 2);
        assert_int_equal(mnemo_store_close(st), 0);
    }
    /* A newer binary adds only its new step. */
    assert_int_equal(open_with(f->db, v1_v3, 3, &st, &e), 0);
    assert_int_equal(mnemo_store_schema_version(st), 3);
    assert_int_equal(query(st, "SELECT count(*) FROM weights"), 2);
    assert_int_equal(query(st, "SELECT max(version) FROM schema_migrations"), 3);
    assert_true(query(st, "SELECT min(applied_at) FROM schema_migrations") > 1700000000000);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_newer_schema_is_refused_untouched(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(open_with(f->db, v1_v3, 3, &st, &e), 0);
    assert_int_equal(mnemo_store_close(st), 0);
    size_t before_len = 0, after_len = 0;
    char *before = tu_file_read(f->db, 1 << 24, &before_len);
    assert_non_null(before);

    assert_int_equal(open_with(f->db, v1_v2, 2, &st, &e), MNEMO_ESCHEMA);
    assert_null(st);
    assert_non_null(strstr(e.msg, f->db));
    assert_non_null(strstr(e.msg, "schema version 3"));
    assert_non_null(strstr(e.msg, "newer"));

    char *after = tu_file_read(f->db, 1 << 24, &after_len);
    assert_non_null(after);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before);
    free(after);
}

static void test_store_failed_migration_rolls_back_whole_step(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    const struct mnemo_store_migration broken[] = {
        {1, "weights table", "CREATE TABLE weights(concept TEXT PRIMARY KEY, weight REAL)", NULL},
        {2, "half-broken", "CREATE TABLE extra(x); INSERT INTO missing_table VALUES (1)", NULL},
    };
    int rc = open_with(f->db, broken, 2, &st, &e);
    assert_int_equal(rc, MNEMO_ESQLITE);
    assert_null(st);
    assert_non_null(strstr(e.msg, "migration 2 (half-broken) failed"));
    assert_non_null(strstr(e.msg, "missing_table"));

    /* Step 1 stayed, step 2 left nothing behind. */
    assert_int_equal(open_with(f->db, v1_v2, 1, &st, &e), 0);
    assert_int_equal(mnemo_store_schema_version(st), 1);
    assert_int_equal(query(st, "SELECT count(*) FROM sqlite_master WHERE name='extra'"), 0);
    assert_int_equal(query(st, "SELECT count(*) FROM schema_migrations"), 1);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_invalid_migration_list_is_refused(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    const struct mnemo_store_migration unordered[] = {
        {2, "two", "CREATE TABLE a(x)", NULL},
        {1, "one", "CREATE TABLE b(x)", NULL},
    };
    assert_int_equal(open_with(f->db, unordered, 2, &st, &e), MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "migration list is invalid"));
    assert_null(st);
    assert_int_equal(tu_file_size(f->db), -1); /* refused before anything was created */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_store_migrations_apply_once_and_are_idempotent_on_reopen, su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_newer_schema_is_refused_untouched, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_failed_migration_rolls_back_whole_step, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_invalid_migration_list_is_refused, su_setup,
                                        su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
