/*
 * test_worker_crash.c - durability of the capture queue across kill -9: a thread appends
 * 1,000 events to a real worker over its socket while the test's main thread sends SIGKILL
 * after ~300 acknowledgements, so the kill lands in the middle of requests. A new worker on
 * the same home must then hold every event that was answered 2xx and process all of them, and
 * the database must pass integrity_check.
 */
#include "worker_http.h"

#include <pthread.h>
#include <stdatomic.h>

#include <sqlite3.h>

#define N_EVENTS   1000
#define KILL_AFTER 300

struct appender {
    struct fixture *f;
    atomic_int next; /* the next event number to send */
    pthread_mutex_t mu;
    int64_t acked[N_EVENTS]; /* ids answered 202 */
    atomic_int n_acked;
    int n_failed; /* appends that got no 2xx (after the kill) */
    int n_other;  /* answers that were neither 202 nor a transport error: a defect */
    long other_code;
};

/* Appends events one by one until N_EVENTS were sent (by all threads together). */
static void *append_events(void *arg)
{
    struct appender *a = arg;
    for (int i = atomic_fetch_add(&a->next, 1); i < N_EVENTS; i = atomic_fetch_add(&a->next, 1)) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"crash\","
                 "\"project\":\"crashproj\",\"payload\":{\"tool_name\":\"Bash\",\"tool_input\":"
                 "{\"command\":\"echo %d\"},\"tool_response\":{\"stdout\":\"%d\\n\",\"stderr\":"
                 "\"\",\"exit_code\":0}}}",
                 i, i);
        struct http_opts o = {.content_type = "application/json", .body = body, .timeout_ms = 3000};
        struct http_resp r;
        CURLcode cc = http_call(a->f->sock, "POST", "http://localhost/v1/events", &o, &r);
        json_t *id = json_object_get(r.json, "id");
        pthread_mutex_lock(&a->mu);
        if (cc == CURLE_OK && r.code == 202 && json_is_integer(id)) {
            int n = atomic_load(&a->n_acked);
            a->acked[n] = (int64_t)json_integer_value(id);
            atomic_store(&a->n_acked, n + 1);
        } else {
            a->n_failed++;
            if (cc == CURLE_OK && r.code != 0) {
                a->n_other++;
                a->other_code = r.code;
            }
        }
        pthread_mutex_unlock(&a->mu);
        http_resp_free(&r);
    }
    return NULL;
}

/* Polls /v1/stats until the queue has nothing pending; returns the last stats body. */
static json_t *wait_queue_drained(struct fixture *f, int64_t timeout_ms)
{
    int64_t end = tu_now_ms() + timeout_ms;
    for (;;) {
        struct http_resp r = sock_json(f, "GET", "/v1/stats", NULL);
        json_t *s = expect_json(&r, 200, "GET /v1/stats");
        json_t *q = json_object_get(s, "queue");
        assert_true(json_is_integer(json_object_get(q, "pending")));
        if (json_integer_value(json_object_get(q, "pending")) == 0) {
            json_t *keep = json_incref(s);
            http_resp_free(&r);
            return keep;
        }
        http_resp_free(&r);
        if (tu_now_ms() > end)
            fail_worker(f, "the queue still had events pending after %lld ms",
                        (long long)timeout_ms);
        usleep(20000);
    }
}

/* The fixture, without a rate limit: 1,000 appends from one client are the point. */
static int crash_setup(void **state)
{
    setup(state);
    struct fixture *f = *state;
    f->env[2] = (char *)"MNEMO_HTTP_RATE_LIMIT=0";
    return 0;
}

/*
 * Appends N_EVENTS events from n_threads clients, each one request at a time, SIGKILLs the
 * worker after KILL_AFTER acknowledgements, restarts it and checks every acked event.
 */
static void kill_9_mid_appends(struct fixture *f, int n_threads)
{
    struct appender *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->f = f;
    assert_int_equal(pthread_mutex_init(&a->mu, NULL), 0);

    serve(f);
    pthread_t t[8];
    assert_true(n_threads > 0 && n_threads <= 8);
    for (int i = 0; i < n_threads; i++)
        assert_int_equal(pthread_create(&t[i], NULL, append_events, a), 0);
    int64_t end = tu_now_ms() + 60000;
    while (atomic_load(&a->n_acked) < KILL_AFTER && tu_now_ms() < end)
        usleep(200);
    pid_t victim = f->child;
    assert_int_equal(kill(victim, SIGKILL), 0);
    for (int i = 0; i < n_threads; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(wait_child(victim, EXIT_WAIT_MS), 128 + SIGKILL);
    f->child = 0;

    int acked = atomic_load(&a->n_acked);
    print_message("%d client(s): acked before kill -9: %d of %d (not acked: %d)\n", n_threads,
                  acked, N_EVENTS, a->n_failed);
    if (a->n_other > 0)
        fail_msg("%d appends answered neither 202 nor nothing (last %ld)", a->n_other,
                 a->other_code);
    assert_true(acked >= KILL_AFTER);
    /* The kill landed while appends were still running. */
    assert_true(acked < N_EVENTS);
    assert_int_equal(acked + a->n_failed, N_EVENTS);

    serve(f);
    json_t *stats = wait_queue_drained(f, 60000);
    json_t *q = json_object_get(stats, "queue");
    print_message("after restart: queue done %lld, failed %lld\n",
                  (long long)json_integer_value(json_object_get(q, "done")),
                  (long long)json_integer_value(json_object_get(q, "failed")));
    assert_true(json_integer_value(json_object_get(q, "done")) >= acked);
    assert_int_equal(json_integer_value(json_object_get(q, "failed")), 0);
    json_decref(stats);
    stop_child(f);
    expect_clean_stop(f);

    /* The database itself, read-only, after the clean stop. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);

    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT status, last_error FROM events WHERE id = ?", -1, &st, NULL),
        SQLITE_OK);
    for (int i = 0; i < acked; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, a->acked[i]);
        if (sqlite3_step(st) != SQLITE_ROW)
            fail_msg("acked event %lld (#%d) is not in the database", (long long)a->acked[i], i);
        const char *status = (const char *)sqlite3_column_text(st, 0);
        if (status == NULL || strcmp(status, "done") != 0)
            fail_msg("acked event %lld is '%s' (%s), not done", (long long)a->acked[i],
                     status != NULL ? status : "?",
                     sqlite3_column_text(st, 1) != NULL ? (const char *)sqlite3_column_text(st, 1)
                                                        : "no error");
    }
    sqlite3_finalize(st);

    /* Nothing was left behind, acked or not: an append that committed but whose answer was
     * lost to the kill is processed like the others. */
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM events WHERE status <> 'done'", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 0);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static void test_worker_kill_9_mid_appends_keeps_and_processes_every_acked_event(void **state)
{
    kill_9_mid_appends(*state, 1);
}

/* Four clients keep several appends in flight, so the kill lands in some of them. */
static void test_worker_kill_9_mid_concurrent_appends_keeps_every_acked_event(void **state)
{
    kill_9_mid_appends(*state, 4);
}

int main(void)
{
    /* Before any thread: the appender thread uses curl too. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_worker_kill_9_mid_appends_keeps_and_processes_every_acked_event, crash_setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_worker_kill_9_mid_concurrent_appends_keeps_every_acked_event, crash_setup,
            teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
