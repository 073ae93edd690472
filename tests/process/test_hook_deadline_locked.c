/*
 * test_hook_deadline_locked.c - the deadline guarantee with the worker's database locked by
 * another process (this test holds BEGIN EXCLUSIVE on mnemo.db): writes in the worker wait on
 * the lock, so hooks that write (the prompt record, the event append) must give up at their
 * deadline, exit 0 and print the minimal output, 100 runs per event. After the lock is released
 * the same hooks work again.
 */
#include "test_hook_procs.h"

#include <sqlite3.h>

static void test_hook_deadline_holds_with_the_database_locked(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    char *body = NULL;

    serve(f);
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    expect_deadline_case(f, "database locked (BEGIN EXCLUSIVE)", f->dir.path);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);

    /* Unlocked: a post-tool-use is queued again. */
    char *in = claude_payload("post-tool-use", "after-lock", f->dir.path);
    struct hook_result r;
    static const char *const env[] = {"MNEMO_AUTOSTART=0", NULL};
    hook_text(f, env, "post-tool-use", "claude", in, &r);
    free(in);
    expect_in_time(&r, 300);
    hook_result_free(&r);
    assert_int_equal(http_get(f->sock, "http://localhost/v1/events?limit=1000", &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_true(json_array_size(json_object_get(j, "events")) >= 1);
    json_decref(j);
    stop_child(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_deadline_holds_with_the_database_locked, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
