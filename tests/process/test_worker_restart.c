/*
 * test_worker_restart.c - the worker's self-restart (POST /v1/restart from a client of another
 * version, mnemo_worker_request_restart): refused while the worker is younger than 60 s, so
 * clients cannot make it loop; after that it stops cleanly and re-executes itself, in the
 * foreground keeping its pid (and so its parent), as a daemon handing over to a new daemon.
 * The test has to wait out the 60 s once; both workers run at the same time to pay it once.
 */
#include "worker_procs.h"

/* The client version the restart requests claim (anything but the worker's own). */
#define OTHER_VERSION_BODY "{\"version\":\"0.0.0-other\"}"

static json_t *get_json(struct fixture *f, const char *path)
{
    char url[256];
    char *body = NULL;
    snprintf(url, sizeof url, "http://localhost%s", path);
    long code = http_get(f->sock, url, &body);
    json_t *j = code == 200 && body != NULL ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}

/* started_at of /v1/version, 0 when the worker does not answer. */
static int64_t started_at(struct fixture *f)
{
    json_t *j = get_json(f, "/v1/version");
    int64_t v = j != NULL ? json_integer_value(json_object_get(j, "started_at")) : 0;
    json_decref(j);
    return v;
}

/* POST /v1/restart; returns the HTTP status and whether the answer says it restarts. */
static long ask_restart(struct fixture *f, int *restarting)
{
    char *body = NULL;
    long code =
        http_request(f->sock, "POST", "http://localhost/v1/restart", OTHER_VERSION_BODY, &body);
    json_t *j = body != NULL ? json_loads(body, 0, NULL) : NULL;
    *restarting = json_is_true(json_object_get(j, "restarting"));
    json_decref(j);
    free(body);
    return code;
}

/* Waits until the worker answers ready with a started_at other than before. */
static void wait_restarted(struct fixture *f, int64_t before)
{
    int64_t end = tu_now_ms() + READY_WAIT_MS;
    for (;;) {
        int64_t now = started_at(f);
        if (now != 0 && now != before && health_ready(f))
            return;
        if (tu_now_ms() > end) {
            char *out = tu_file_read(f->out, 1 << 20, NULL);
            fail_msg("the worker did not come back after the restart:\n%s", out ? out : "");
        }
        usleep(20000);
    }
}

static void test_worker_restart_is_refused_young_then_reexecs_foreground_and_daemon(void **state)
{
    struct fixture **fx = *state;
    struct fixture *fg = fx[0], *dm = fx[1];
    int restarting = 0;

    serve(fg);
    struct cu_result r = run(dm, "start", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    wait_ready(dm, tu_now_ms());
    int64_t t_ready = tu_now_ms();

    /* Young: refused, and the worker stays as it is. */
    assert_int_equal(ask_restart(fg, &restarting), 200);
    assert_false(restarting);
    int64_t fg_started = started_at(fg);
    int64_t dm_started = started_at(dm);
    pid_t dm_pid = pid_file(dm);
    assert_true(fg_started > 0 && dm_started > 0 && dm_pid > 0);

    /* Both started before t_ready, so this is past 60 s for both. */
    int64_t wait_ms = MNEMO_WORKER_RESTART_MIN_UPTIME_MS + 1000 - (tu_now_ms() - t_ready);
    print_message("waiting %lld ms for the workers to be old enough to restart\n",
                  (long long)wait_ms);
    if (wait_ms > 0)
        usleep((useconds_t)wait_ms * 1000);

    assert_int_equal(ask_restart(fg, &restarting), 202);
    assert_true(restarting);
    assert_int_equal(ask_restart(dm, &restarting), 202);
    assert_true(restarting);

    /* Foreground: the same process (the test's child) runs again, fresh. */
    wait_restarted(fg, fg_started);
    assert_int_equal(waitpid(fg->child, NULL, WNOHANG), 0);
    assert_int_equal(pid_file(fg), fg->child);
    assert_true(file_contains(fg->out, "worker restarting"));
    /* Young again: a client cannot make it loop. */
    assert_int_equal(ask_restart(fg, &restarting), 200);
    assert_false(restarting);

    /* Daemon: a new detached worker took over. */
    wait_restarted(dm, dm_started);
    pid_t dm_new = pid_file(dm);
    assert_true(dm_new > 0);
    pid_t running = 0;
    assert_int_equal(mnemo_worker_running_pid(dm->home, &running, NULL), 0);
    assert_int_equal(running, dm_new);

    stop_child(fg);
    expect_clean_stop(fg);
    r = run(dm, "stop", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    expect_clean_stop(dm);
}

static int setup_two(void **state)
{
    struct fixture **fx = calloc(2, sizeof *fx);
    assert_non_null(fx);
    for (int i = 0; i < 2; i++) {
        void *one = NULL;
        setup(&one);
        fx[i] = one;
    }
    *state = fx;
    return 0;
}

static int teardown_two(void **state)
{
    struct fixture **fx = *state;
    for (int i = 0; i < 2; i++) {
        void *one = fx[i];
        teardown(&one);
    }
    free(fx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_worker_restart_is_refused_young_then_reexecs_foreground_and_daemon, setup_two,
            teardown_two),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
