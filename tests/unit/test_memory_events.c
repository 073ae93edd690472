/*
 * test_memory_events.c - the durable capture queue against a real database file: append and
 * pending order, done, failed attempts up to the dead letter, retry, stats, prune, list, and
 * bad input that is rejected without writing anything.
 */
#include "memutil.h"

#include <string.h>

#include "memory/events.h"
#include "memory/session.h"

#define T0 INT64_C(1790000000000) /* a fixed wall-clock time, in ms */

static int count_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    const char *sql = *(const char **)arg;
    int64_t n = 0;
    int rc = mnemo_conn_query_int(c, sql, &n, err);
    *(int64_t *)arg = n;
    return rc;
}

/* The integer the query returns. */
static int64_t q(struct mnemo_store *st, const char *sql)
{
    union {
        const char *sql;
        int64_t n;
    } u = {.sql = sql};
    struct mnemo_err e = {0};
    if (mnemo_store_read(st, "test-count", 5000, count_fn, &u, &e) != 0)
        fail_msg("'%s': %s", sql, e.msg);
    return u.n;
}

static int64_t append(struct mnemo_store *st, const char *payload, int64_t now)
{
    struct mnemo_err e = {0};
    int64_t id = 0;
    if (mnemo_events_append(st, "claude", "sess-1", 0, "post-tool-use", payload, now, &id, &e) != 0)
        fail_msg("append: %s", e.msg);
    assert_true(id > 0);
    return id;
}

static void test_memory_events_append_then_pending_in_id_order(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_event ev[4];
    struct mnemo_err e = {0};
    size_t n = 0;
    int64_t a = append(f->st, "{\"n\":1}", T0);
    int64_t b = append(f->st, "{\"n\":2}", T0 + 1);
    int64_t c = append(f->st, "[3]", T0 + 2);
    assert_true(a < b && b < c);

    assert_int_equal(mnemo_events_pending(f->st, 0, ev, 4, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].id, a);
    assert_int_equal(ev[2].id, c);
    assert_string_equal(ev[0].payload, "{\"n\":1}");
    assert_string_equal(ev[0].agent, "claude");
    assert_string_equal(ev[0].agent_session_id, "sess-1");
    assert_string_equal(ev[0].kind, "post-tool-use");
    assert_string_equal(ev[0].status, "pending");
    assert_int_equal(ev[0].attempts, 0);
    assert_null(ev[0].last_error);
    assert_int_equal(ev[0].session_id, 0);
    assert_int_equal(ev[1].created_at, T0 + 1);
    for (size_t i = 0; i < n; i++)
        mnemo_event_release(&ev[i]);

    /* after_id pages; max bounds the batch */
    assert_int_equal(mnemo_events_pending(f->st, a, ev, 1, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].id, b);
    mnemo_event_release(&ev[0]);
}

static void test_memory_events_append_links_an_existing_session_only(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_session s;
    struct mnemo_err e = {0};
    struct mnemo_event ev[1];
    size_t n = 0;
    int64_t id = 0;
    assert_int_equal(mnemo_session_start(f->st, "claude", "s1", "proj", "/x", T0, &s, NULL, &e), 0);
    assert_int_equal(mnemo_events_append(f->st, "claude", "s1", s.id, "stop", "{}", T0, &id, &e),
                     0);
    assert_int_equal(mnemo_events_pending(f->st, 0, ev, 1, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].session_id, s.id);
    mnemo_event_release(&ev[0]);

    assert_int_equal(
        mnemo_events_append(f->st, "claude", "s1", s.id + 100, "stop", "{}", T0, &id, &e),
        MNEMO_ENOTFOUND);
    assert_int_equal(id, 0);
    assert_int_equal(q(f->st, "SELECT count(*) FROM events"), 1);
}

static void test_memory_events_done_leaves_the_pending_set(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    struct mnemo_event ev[2];
    size_t n = 0;
    int64_t a = append(f->st, "{}", T0);
    int64_t b = append(f->st, "{}", T0);
    assert_int_equal(mnemo_events_done(f->st, a, T0 + 50, &e), 0);
    assert_int_equal(mnemo_events_pending(f->st, 0, ev, 2, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].id, b);
    mnemo_event_release(&ev[0]);
    assert_int_equal(q(f->st, "SELECT updated_at FROM events WHERE status = 'done'"), T0 + 50);
    assert_int_equal(mnemo_events_done(f->st, 9999, T0, &e), MNEMO_ENOTFOUND);
}

static void test_memory_events_fail_dead_letters_after_three_attempts(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    struct mnemo_events_stats s;
    int dead = -1;
    int64_t a = append(f->st, "{}", T0);
    int64_t b = append(f->st, "{}", T0 + 1);

    for (int i = 1; i < MNEMO_EVENTS_MAX_ATTEMPTS; i++) {
        assert_int_equal(mnemo_events_fail(f->st, a, "boom", T0 + i, &dead, &e), 0);
        assert_int_equal(dead, 0);
        assert_int_equal(q(f->st, "SELECT attempts FROM events WHERE id = 1"), i);
        assert_int_equal(q(f->st, "SELECT count(*) FROM events WHERE status = 'pending'"), 2);
    }
    assert_int_equal(mnemo_events_fail(f->st, a, "boom for good", T0 + 9, &dead, &e), 0);
    assert_int_equal(dead, 1);

    assert_int_equal(mnemo_events_stats(f->st, &s, &e), 0);
    assert_int_equal(s.pending, 1);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.done, 0);
    assert_int_equal(s.oldest_pending_ms, T0 + 1);

    struct mnemo_event *list = NULL;
    size_t n = 0;
    assert_int_equal(mnemo_events_list(f->st, "failed", 10, &list, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, a);
    assert_int_equal(list[0].attempts, MNEMO_EVENTS_MAX_ATTEMPTS);
    assert_string_equal(list[0].last_error, "boom for good");
    mnemo_events_list_free(list, n);

    /* a dead event is no longer pending: failing it again is refused and changes nothing */
    assert_int_equal(mnemo_events_fail(f->st, a, "again", T0, &dead, &e), MNEMO_EINVAL);
    assert_int_equal(q(f->st, "SELECT attempts FROM events WHERE id = 1"), 3);
    (void)b;
}

static void test_memory_events_retry_requeues_dead_letters(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    int64_t n = -1;
    int64_t a = append(f->st, "{}", T0);
    int64_t b = append(f->st, "{}", T0);
    for (int i = 0; i < MNEMO_EVENTS_MAX_ATTEMPTS; i++) {
        assert_int_equal(mnemo_events_fail(f->st, a, "x", T0, NULL, &e), 0);
        assert_int_equal(mnemo_events_fail(f->st, b, "y", T0, NULL, &e), 0);
    }
    assert_int_equal(q(f->st, "SELECT count(*) FROM events WHERE status = 'failed'"), 2);

    assert_int_equal(mnemo_events_retry(f->st, b, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(q(f->st, "SELECT attempts FROM events WHERE id = 2 AND status = 'pending'"),
                     0);
    assert_int_equal(mnemo_events_retry(f->st, b, &n, &e), 0);
    assert_int_equal(n, 0); /* no longer failed */
    assert_int_equal(mnemo_events_retry(f->st, 0, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(q(f->st, "SELECT count(*) FROM events WHERE status = 'pending'"), 2);
}

static void test_memory_events_prune_deletes_only_old_done_events(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    int64_t n = -1;
    int64_t a = append(f->st, "{}", T0);
    int64_t b = append(f->st, "{}", T0);
    (void)append(f->st, "{}", T0); /* stays pending */
    assert_int_equal(mnemo_events_done(f->st, a, T0 + 10, &e), 0);
    assert_int_equal(mnemo_events_done(f->st, b, T0 + 1000, &e), 0);

    assert_int_equal(mnemo_events_prune(f->st, T0 + 500, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(q(f->st, "SELECT count(*) FROM events"), 2);
    assert_int_equal(q(f->st, "SELECT count(*) FROM events WHERE id = 1"), 0);
    assert_int_equal(mnemo_events_prune(f->st, T0 + 5000, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(q(f->st, "SELECT count(*) FROM events WHERE status = 'pending'"), 1);
}

static void test_memory_events_list_is_newest_first_and_filters_by_status(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    struct mnemo_event *list = NULL;
    size_t n = 0;
    for (int i = 0; i < 5; i++)
        (void)append(f->st, "{}", T0 + i);
    assert_int_equal(mnemo_events_done(f->st, 2, T0, &e), 0);
    assert_int_equal(mnemo_events_list(f->st, NULL, 3, &list, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].id, 5);
    assert_int_equal(list[2].id, 3);
    mnemo_events_list_free(list, n);
    assert_int_equal(mnemo_events_list(f->st, "done", 0, &list, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, 2);
    mnemo_events_list_free(list, n);
    assert_int_equal(mnemo_events_list(f->st, "failed", 0, &list, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(list);
    assert_int_equal(mnemo_events_list(f->st, "bogus", 10, &list, &n, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_events_list(f->st, NULL, 1001, &list, &n, &e), MNEMO_EINVAL);
}

static void test_memory_events_bad_input_is_rejected_and_writes_nothing(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    int64_t id = 77;
    char long_name[80];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';

    assert_int_equal(mnemo_events_append(f->st, "", NULL, 0, "stop", "{}", T0, &id, &e),
                     MNEMO_EINVAL);
    assert_int_equal(id, 0);
    assert_int_equal(mnemo_events_append(f->st, NULL, NULL, 0, "stop", "{}", T0, &id, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, 0, "", "{}", T0, &id, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_events_append(f->st, long_name, NULL, 0, "stop", "{}", T0, &id, &e),
                     MNEMO_ETOOBIG);
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, 0, "st\nop", "{}", T0, &id, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_events_append(f->st, "claude", "id\x01", 0, "stop", "{}", T0, &id, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, -1, "stop", "{}", T0, &id, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, 0, "stop", "{\"a\":", T0, &id, &e),
                     MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "not valid JSON"));
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, 0, "stop", "", T0, &id, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, 0, "stop", NULL, T0, &id, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, 0, "stop", "{}", -5, &id, &e),
                     MNEMO_EINVAL);

    /* one byte over the payload limit */
    size_t big = (size_t)MNEMO_EVENTS_MAX_PAYLOAD + 1;
    char *p = malloc(big + 1);
    assert_non_null(p);
    p[0] = '"';
    memset(p + 1, 'x', big - 2);
    p[big - 1] = '"';
    p[big] = '\0';
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, 0, "stop", p, T0, &id, &e),
                     MNEMO_ETOOBIG);
    /* exactly at the limit is fine */
    p[big - 2] = '"';
    p[big - 1] = '\0';
    assert_int_equal(mnemo_events_append(f->st, "claude", NULL, 0, "stop", p, T0, &id, &e), 0);
    free(p);
    assert_int_equal(q(f->st, "SELECT count(*) FROM events"), 1);

    assert_int_equal(mnemo_events_fail(f->st, 0, "x", T0, NULL, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_events_fail(f->st, 999, "x", T0, NULL, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_events_retry(f->st, -1, NULL, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_events_prune(f->st, -1, NULL, &e), MNEMO_EINVAL);
    assert_int_equal(q(f->st, "SELECT count(*) FROM events WHERE status = 'pending'"), 1);
}

static void test_memory_events_long_errors_are_cut_at_a_character_boundary(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    char msg[3000];
    /* "é" is two bytes: a cut at an even byte count would split none, an odd one would */
    size_t n = 0;
    msg[n++] = 'x';
    while (n + 2 < sizeof msg) {
        msg[n++] = (char)0xC3;
        msg[n++] = (char)0xA9;
    }
    msg[n] = '\0';
    int64_t a = append(f->st, "{}", T0);
    assert_int_equal(mnemo_events_fail(f->st, a, msg, T0, NULL, &e), 0);
    int64_t len = q(f->st, "SELECT length(CAST(last_error AS BLOB)) FROM events");
    assert_true(len > 0 && len <= 1024);
    assert_int_equal(len % 2, 1); /* 'x' plus whole two-byte characters */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_events_append_then_pending_in_id_order,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_events_append_links_an_existing_session_only,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_events_done_leaves_the_pending_set, mu_setup,
                                        mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_events_fail_dead_letters_after_three_attempts,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_events_retry_requeues_dead_letters, mu_setup,
                                        mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_events_prune_deletes_only_old_done_events,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(
            test_memory_events_list_is_newest_first_and_filters_by_status, mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_events_bad_input_is_rejected_and_writes_nothing,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(
            test_memory_events_long_errors_are_cut_at_a_character_boundary, mu_setup, mu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
