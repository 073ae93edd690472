/*
 * test_torture_stalls.c - stalls and lock contention around a real worker, each held for a
 * while (CI: a few seconds; MNEMO_TORTURE_LONG=1: 30 s) while hooks run back to back:
 *  - another process holds the database's write lock (BEGIN EXCLUSIVE);
 *  - the worker is stopped (SIGSTOP);
 *  - the worker's socket file is removed;
 *  - the database file is deleted under the worker.
 * Every hook must exit 0 within its deadline + 100 ms, and afterwards the worker recovers (the
 * lock released, SIGCONT) or the problem is reported clearly: the API's error, /v1/health and
 * `mnemo doctor` name it, and a restart brings a working worker back.
 */
#include "../process/test_hook_procs.h"
#include "torture_procs.h"

#define TEST_NAME "stalls"

/* How long each stall lasts: the 30 s in the long run, a few seconds in CI. */
static int64_t hold_ms(int64_t short_ms)
{
    return tort_long() ? 30000 : short_ms;
}

/*
 * Runs hooks (user-prompt-submit, post-tool-use, session-start in turn) for at least ms
 * milliseconds, each with a DEADLINE_MS deadline; every one must exit 0 within the deadline +
 * HOOK_SLACK_MS. As in expect_deadline_case, a run over the bound is run once more (the stall
 * is permanent while it lasts, a scheduling hiccup is not); re-runs are counted. autostart:
 * whether the hook may try to start a worker.
 */
static void hook_loop(struct fixture *f, const char *label, int64_t ms, int autostart)
{
    static const char *const events[] = {"user-prompt-submit", "post-tool-use", "session-start"};
    const char *env[] = {autostart ? "MNEMO_AUTOSTART=1" : "MNEMO_AUTOSTART=0",
                         "MNEMO_HOOK_TIMEOUT_MS=150", NULL};
    struct tort_lat lat;
    int reruns = 0;
    char key[96];

    tort_lat_init(&lat);
    int64_t start = tu_now_ms(), end = start + ms;
    for (int i = 0; tu_now_ms() < end || i < 6; i++) {
        const char *ev = events[i % 3];
        char *in = claude_payload(ev, "stall-session", f->dir.path);
        struct hook_result r;
        hook_text(f, env, ev, "claude", in, &r);
        if (r.status == 0 && r.exit_ms > DEADLINE_MS + HOOK_SLACK_MS) {
            hook_result_free(&r);
            reruns++;
            hook_text(f, env, ev, "claude", in, &r);
        }
        free(in);
        if (r.status != 0 || r.exit_ms > DEADLINE_MS + HOOK_SLACK_MS) {
            dump_hook_log(f);
            fail_msg("%s, %s run %d: status %d after %lld ms (deadline %d ms), stderr '%s'", label,
                     ev, i, r.status, (long long)r.exit_ms, DEADLINE_MS, r.err);
        }
        tort_lat_add(&lat, r.exit_ms * 1000, 1);
        hook_result_free(&r);
    }
    snprintf(key, sizeof key, "%s_hooks", label);
    tort_figure(TEST_NAME, key,
                "%zu runs in %lld s, p50 %.0f ms, max %.0f ms (deadline %d ms + %d), %d re-run",
                lat.n, (long long)((tu_now_ms() - start + 500) / 1000),
                (double)tort_lat_quantile(&lat, 0.5) / 1000.0,
                (double)tort_lat_quantile(&lat, 1.0) / 1000.0, DEADLINE_MS, HOOK_SLACK_MS, reruns);
    tort_lat_release(&lat);
}

/* Appends one event; returns the status (with the error message in msg when not 202). */
static long append_event(struct fixture *f, char *msg, size_t size)
{
    struct http_opts o = {
        .content_type = "application/json",
        .body = "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"stall\","
                "\"project\":\"torture\",\"payload\":{\"tool_name\":\"Bash\"}}",
        .timeout_ms = 20000};
    struct http_resp r;
    long code =
        http_call(f->sock, "POST", "http://localhost/v1/events", &o, &r) == CURLE_OK ? r.code : 0;
    const char *m = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
    snprintf(msg, size, "%s", m != NULL ? m : (r.body != NULL ? r.body : "no answer"));
    http_resp_free(&r);
    return code;
}

/* Waits until an event append is acknowledged again; returns how long it took (ms). */
static int64_t wait_writes_back(struct fixture *f, const char *label)
{
    char msg[512];
    int64_t t0 = tu_now_ms();
    while (append_event(f, msg, sizeof msg) != 202) {
        if (tu_now_ms() - t0 > 30000)
            fail_worker(f, "%s: writes did not come back within 30 s: %s", label, msg);
        usleep(50000);
    }
    return tu_now_ms() - t0;
}

/* `mnemo doctor` exits 1 and its output contains want. */
static void expect_doctor_says(struct fixture *f, const char *want)
{
    struct cu_result r = run(f, "doctor", NULL);
    if (r.status != 1 || strstr(r.out, want) == NULL)
        fail_msg("doctor (status %d) does not say '%s':\n%s", r.status, want, r.out);
    cu_result_free(&r);
}

static void test_torture_stalls_write_lock_held_by_another_process(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    char msg[512];

    tort_begin(TEST_NAME);
    serve(f);
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(db, 5000), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    int64_t held = hold_ms(5000);
    int64_t t0 = tu_now_ms();
    /* A write meanwhile fails, saying it waited for a lock, instead of hanging. */
    long code = append_event(f, msg, sizeof msg);
    if (code == 202 || strstr(msg, "lock") == NULL)
        fail_worker(f, "an append under another process's lock answered %ld: %s", code, msg);
    tort_figure(TEST_NAME, "lock_append_error", "%ld %s", code, msg);
    int64_t left = held - (tu_now_ms() - t0);
    hook_loop(f, "lock", left > 0 ? left : 0, 0);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    tort_figure(TEST_NAME, "lock_held_s", "%lld", (long long)((tu_now_ms() - t0) / 1000));
    tort_figure(TEST_NAME, "lock_recovery_ms", "%lld",
                (long long)wait_writes_back(f, "after the lock"));
    stop_child(f);
    expect_clean_stop(f);
}

static void test_torture_stalls_worker_stopped(void **state)
{
    struct fixture *f = *state;
    serve(f);
    assert_int_equal(kill(f->child, SIGSTOP), 0);
    int64_t t0 = tu_now_ms();
    hook_loop(f, "sigstop", hold_ms(5000), 0);
    /* Doctor gives up on the stopped worker after its own timeout and says so. */
    expect_doctor_says(f, "did not answer");
    tort_figure(TEST_NAME, "sigstop_held_s", "%lld", (long long)((tu_now_ms() - t0) / 1000));
    assert_int_equal(kill(f->child, SIGCONT), 0);
    tort_figure(TEST_NAME, "sigstop_recovery_ms", "%lld",
                (long long)wait_writes_back(f, "after SIGCONT"));
    stop_child(f);
    expect_clean_stop(f);
}

static void test_torture_stalls_socket_missing(void **state)
{
    struct fixture *f = *state;
    serve(f);
    assert_int_equal(unlink(f->sock), 0);
    hook_loop(f, "nosocket", hold_ms(3000), 0);
    /* With autostart on, the hook's attempt to start a worker meets the running one's lock. */
    hook_loop(f, "nosocket_autostart", 1000, 1);
    expect_doctor_says(f, "no worker socket");
    /* The worker cannot be reached, but it still stops cleanly and a new one serves. */
    stop_child(f);
    int64_t t0 = tu_now_ms();
    serve(f);
    tort_figure(TEST_NAME, "nosocket_recovery_ms", "restart %lld",
                (long long)(tu_now_ms() - t0 + wait_writes_back(f, "after the restart")));
    stop_child(f);
    expect_clean_stop(f);
}

static void test_torture_stalls_database_deleted_under_the_worker(void **state)
{
    struct fixture *f = *state;
    char msg[512];
    serve(f);
    assert_int_equal(append_event(f, msg, sizeof msg), 202);
    assert_int_equal(unlink(f->db), 0);

    /* Within the space check's second, writes are refused (they would be lost) and say why. */
    int64_t t0 = tu_now_ms();
    long code;
    while ((code = append_event(f, msg, sizeof msg)) == 202) {
        if (tu_now_ms() - t0 > 5000)
            fail_worker(f, "appends still acknowledged 5 s after the database was deleted");
        usleep(50000);
    }
    if (strstr(msg, "was deleted while open") == NULL)
        fail_worker(f, "an append after the deletion answered %ld: %s", code, msg);
    tort_figure(TEST_NAME, "deleted_detected_ms", "%lld", (long long)(tu_now_ms() - t0));
    struct http_resp h = sock_json(f, "GET", "/v1/health", NULL);
    json_t *store = json_object_get(h.json, "store");
    const char *status = json_string_value(json_object_get(store, "status"));
    const char *error = json_string_value(json_object_get(store, "error"));
    if (status == NULL || strcmp(status, "unhealthy") != 0 || error == NULL ||
        strstr(error, "was deleted while open") == NULL)
        fail_worker(f, "health does not report the deleted database: %s", h.body);
    http_resp_free(&h);

    hook_loop(f, "deleted", hold_ms(3000), 0);
    expect_doctor_says(f, "was deleted while open");

    /* A restart starts a new database, and writes work again. */
    stop_child(f);
    t0 = tu_now_ms();
    serve(f);
    tort_figure(TEST_NAME, "deleted_recovery_ms", "restart %lld",
                (long long)(tu_now_ms() - t0 + wait_writes_back(f, "after the restart")));
    stop_child(f);
    expect_clean_stop(f);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_torture_stalls_write_lock_held_by_another_process,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_torture_stalls_worker_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torture_stalls_socket_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torture_stalls_database_deleted_under_the_worker,
                                        setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
