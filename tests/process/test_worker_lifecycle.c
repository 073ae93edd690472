/*
 * test_worker_lifecycle.c - process-level tests of the worker's lifecycle: the real binary
 * ($MNEMO_BIN) runs `mnemo serve` (foreground, as a child of the test) or `mnemo start` /
 * `serve --daemon` (detached) on a fresh MNEMO_HOME, and the tests drive it with signals, the
 * CLI and libcurl over the Unix socket: one worker per home, health at start, clean shutdown
 * on SIGTERM (no -wal, no socket, no pid file), reload on SIGHUP, daemon detachment, the
 * token file's permissions and log rotation. Start-to-ready time is measured and printed.
 */
#include "worker_procs.h"

#include <dirent.h>

/* ---- foreground ----------------------------------------------------------------------------- */

static void test_worker_serve_answers_health_at_once_and_stops_cleanly_on_sigterm(void **state)
{
    struct fixture *f = *state;

    int64_t ms = serve(f);
    print_message("start-to-ready (empty store, process spawn included): %lld ms\n", (long long)ms);
    assert_true(ms < READY_WAIT_MS);

    assert_int_equal(pid_file(f), f->child);
    assert_int_equal(mode_of(f->sock) & 0777, 0600);
    struct stat sb;
    assert_int_equal(lstat(f->sock, &sb), 0);
    assert_true(S_ISSOCK(sb.st_mode));
    assert_true(tu_file_size(f->lockfile) >= 0);
    assert_int_equal(mode_of(f->token), 0600);
    assert_int_equal(tu_file_size(f->token), 64);

    /* The lock answers "is a worker running?" for the CLI. */
    struct cu_result r = run(f, "status", NULL);
    cu_expect_status(&r, 0);
    char line[64];
    snprintf(line, sizeof line, "running (pid %ld)", (long)f->child);
    cu_expect_contains(r.out, line);
    cu_expect_contains(r.out, "ready:   yes");
    cu_result_free(&r);

    stop_child(f);
    expect_clean_stop(f);
    r = run(f, "status", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.out, "not running");
    cu_result_free(&r);
}

static void test_worker_second_serve_exits_1_naming_the_running_pid(void **state)
{
    struct fixture *f = *state;

    serve(f);
    struct cu_result r = run(f, "serve", NULL);
    cu_expect_status(&r, 1);
    char want[64];
    snprintf(want, sizeof want, "(pid %ld)", (long)f->child);
    cu_expect_contains(r.err, "another worker is running");
    cu_expect_contains(r.err, want);
    cu_result_free(&r);

    /* The refused one touched nothing: the first still answers and still owns the pid file. */
    assert_true(health_ready(f));
    assert_int_equal(pid_file(f), f->child);
    stop_child(f);
    expect_clean_stop(f);
}

static void test_worker_sighup_reloads_config_and_keeps_serving(void **state)
{
    struct fixture *f = *state;

    serve(f);
    char cfg[700];
    snprintf(cfg, sizeof cfg, "%s/config.json", f->home);
    const char *json = "{\"log.level\": \"debug\"}";
    tu_file_write(cfg, json, strlen(json));
    assert_int_equal(kill(f->child, SIGHUP), 0);

    int64_t end = tu_now_ms() + READY_WAIT_MS;
    while (!file_contains(f->out, "config reloaded") && tu_now_ms() < end)
        usleep(10000);
    if (!file_contains(f->out, "config reloaded")) {
        char *out = tu_file_read(f->out, 1 << 20, NULL);
        fail_msg("no reload logged:\n%s", out ? out : "");
    }
    assert_int_equal(waitpid(f->child, NULL, WNOHANG), 0);
    assert_true(health_ready(f));

    /* A broken file is reported and the worker keeps the config it has. */
    tu_file_write(cfg, "{", 1);
    assert_int_equal(kill(f->child, SIGHUP), 0);
    end = tu_now_ms() + READY_WAIT_MS;
    while (!file_contains(f->out, "config reload failed") && tu_now_ms() < end)
        usleep(10000);
    assert_true(file_contains(f->out, "config reload failed"));
    assert_true(health_ready(f));
    stop_child(f);
}

static void test_worker_sigint_stops_cleanly_too(void **state)
{
    struct fixture *f = *state;

    serve(f);
    assert_int_equal(kill(f->child, SIGINT), 0);
    assert_int_equal(wait_child(f->child, EXIT_WAIT_MS), 0);
    f->child = 0;
    expect_clean_stop(f);
}

static void test_worker_after_kill_9_the_next_worker_starts(void **state)
{
    struct fixture *f = *state;

    serve(f);
    pid_t first = f->child;
    assert_int_equal(kill(first, SIGKILL), 0);
    assert_int_equal(wait_child(first, EXIT_WAIT_MS), 128 + SIGKILL);
    f->child = 0;
    /* The pid file and the socket outlived it; the lock did not. */
    assert_int_equal(pid_file(f), first);

    serve(f);
    assert_int_equal(pid_file(f), f->child);
    stop_child(f);
    expect_clean_stop(f);
}

static void test_worker_tcp_listener_answers_health(void **state)
{
    struct fixture *f = *state;

    f->env[1] = (char *)"MNEMO_TCP_LISTEN=127.0.0.1:0";
    serve(f);
    /* The port actually bound is in the start-up log line. */
    char *out = tu_file_read(f->out, 1 << 20, NULL);
    assert_non_null(out);
    const char *p = strstr(out, "tcp_port=");
    assert_non_null(p);
    int port = atoi(p + strlen("tcp_port="));
    free(out);
    assert_true(port > 0 && port < 65536);

    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/health", port);
    char *body = NULL;
    assert_int_equal(http_get(NULL, url, &body), 200);
    assert_non_null(strstr(body, "\"ready\""));
    free(body);
    stop_child(f);
}

static void test_worker_with_a_broken_database_stays_up_reporting_error(void **state)
{
    struct fixture *f = *state;
    char junk[8192];

    assert_int_equal(mkdir(f->home, 0700), 0);
    memset(junk, 'x', sizeof junk);
    tu_file_write(f->db, junk, sizeof junk);

    f->child = spawn(f, "serve", NULL);
    int64_t end = tu_now_ms() + READY_WAIT_MS;
    json_t *j = NULL;
    long code = 0;
    for (;;) {
        char *body = NULL;
        code = http_get(f->sock, "http://localhost/v1/health", &body);
        j = body != NULL ? json_loads(body, 0, NULL) : NULL;
        free(body);
        const char *st = j != NULL ? json_string_value(json_object_get(j, "status")) : NULL;
        if (st != NULL && strcmp(st, "error") == 0)
            break;
        json_decref(j);
        j = NULL;
        if (tu_now_ms() > end) {
            char *out = tu_file_read(f->out, 1 << 20, NULL);
            fail_msg("the worker did not report the broken store:\n%s", out ? out : "");
        }
        usleep(10000);
    }
    assert_int_equal(code, 503);
    assert_false(json_is_true(json_object_get(j, "ready")));
    const char *why = json_string_value(json_object_get(j, "error"));
    assert_non_null(why);
    cu_expect_contains(why, "store");
    json_decref(j);

    struct cu_result r = run(f, "status", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.out, "status:  error");
    cu_expect_contains(r.out, "error:   store");
    cu_result_free(&r);

    stop_child(f);
    /* The file that is not a database was left exactly as it was. */
    char *after = tu_file_read(f->db, sizeof junk + 1, NULL);
    assert_non_null(after);
    assert_memory_equal(after, junk, sizeof junk);
    free(after);
    assert_int_equal(tu_file_size(f->sock), -1);
    assert_int_equal(tu_file_size(f->pidfile), -1);
}

static void test_worker_refuses_a_malformed_tcp_address_and_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    const char *bad[] = {"nonsense", "127.0.0.1:", "127.0.0.1:70000", "[::1:80", "host:-1"};

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cu_result r = run(f, "serve", "--tcp", bad[i], NULL);
        cu_expect_status(&r, 1);
        cu_expect_contains(r.err, "tcp.listen");
        cu_expect_contains(r.err, bad[i]);
        cu_result_free(&r);
        assert_int_equal(tu_file_size(f->pidfile), -1);
        assert_int_equal(tu_file_size(f->sock), -1);
    }
    pid_t pid = 1;
    assert_int_equal(mnemo_worker_running_pid(f->home, &pid, NULL), 0);
    assert_int_equal(pid, 0);
}

static void test_worker_refuses_a_token_file_others_can_read(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(mkdir(f->home, 0700), 0);
    const char *tok = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    tu_file_write(f->token, tok, strlen(tok));
    assert_int_equal(chmod(f->token, 0644), 0);

    struct cu_result r = run(f, "serve", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "token file");
    cu_expect_contains(r.err, "0644");
    cu_result_free(&r);
    /* Nothing was left behind that would block a fixed start. */
    assert_int_equal(tu_file_size(f->pidfile), -1);
    assert_int_equal(tu_file_size(f->sock), -1);

    assert_int_equal(chmod(f->token, 0600), 0);
    serve(f);
    char *kept = tu_file_read(f->token, 128, NULL);
    assert_string_equal(kept, tok);
    free(kept);
    stop_child(f);
}

/* ---- detached ---------------------------------------------------------------------------------
 */

static void test_worker_start_status_stop_through_the_cli(void **state)
{
    struct fixture *f = *state;

    struct cu_result r = run(f, "stop", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "not running");
    cu_result_free(&r);

    int64_t t0 = tu_now_ms();
    r = run(f, "start", NULL);
    cu_expect_status(&r, 0);
    pid_t pid = pid_file(f);
    assert_true(pid > 0);
    char want[64];
    snprintf(want, sizeof want, "mnemo worker started (pid %ld)", (long)pid);
    cu_expect_contains(r.out, want);
    cu_result_free(&r);
    print_message("mnemo start until ready: %lld ms\n", (long long)wait_ready(f, t0));

    r = run(f, "start", NULL);
    cu_expect_status(&r, 0);
    snprintf(want, sizeof want, "already running (pid %ld)", (long)pid);
    cu_expect_contains(r.out, want);
    cu_result_free(&r);

    r = run(f, "status", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "status:  ready");
    cu_expect_contains(r.out, f->sock);
    cu_result_free(&r);

    r = run(f, "status", "--json", NULL);
    cu_expect_status(&r, 0);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "running")));
    assert_int_equal(json_integer_value(json_object_get(j, "pid")), pid);
    json_decref(j);
    cu_result_free(&r);

    r = run(f, "restart", NULL);
    cu_expect_status(&r, 0);
    snprintf(want, sizeof want, "mnemo worker stopped (pid %ld)", (long)pid);
    cu_expect_contains(r.out, want);
    cu_expect_contains(r.out, "mnemo worker started");
    cu_result_free(&r);
    pid_t second = pid_file(f);
    assert_true(second > 0 && second != pid);

    r = run(f, "stop", NULL);
    cu_expect_status(&r, 0);
    snprintf(want, sizeof want, "mnemo worker stopped (pid %ld)", (long)second);
    cu_expect_contains(r.out, want);
    cu_result_free(&r);
    expect_clean_stop(f);
}

/* The link target of /proc/<pid>/fd/<fd>, "" when there is none. */
static void fd_target(pid_t pid, const char *fd, char *buf, size_t size)
{
    char link[512];
    snprintf(link, sizeof link, "/proc/%ld/fd/%s", (long)pid, fd);
    ssize_t n = readlink(link, buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
}

static void
test_worker_daemon_detaches_closes_inherited_fds_and_logs_to_a_private_file(void **state)
{
    struct fixture *f = *state;
    char marker[600], target[1024], log[700];

    /* A descriptor the launcher leaks to its children (no O_CLOEXEC): the daemon must not
     * keep it. */
    tu_path(&f->dir, "inherited", marker, sizeof marker);
    int leak = open(marker, O_WRONLY | O_CREAT, 0600);
    assert_true(leak >= 0);

    struct cu_result r = run(f, "serve", "--daemon", NULL);
    close(leak);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    pid_t pid = pid_file(f);
    assert_true(pid > 0);
    wait_ready(f, tu_now_ms());

    /* A new session, away from the test's, and not its leader (the second fork). */
    pid_t sid = getsid(pid);
    assert_true(sid > 0);
    assert_true(sid != getsid(0));
    assert_true(sid != pid);

    snprintf(log, sizeof log, "%s/logs/worker.log", f->home);
    fd_target(pid, "0", target, sizeof target);
    assert_string_equal(target, "/dev/null");
    fd_target(pid, "1", target, sizeof target);
    assert_string_equal(target, log);
    fd_target(pid, "2", target, sizeof target);
    assert_string_equal(target, log);

    char dirpath[64];
    snprintf(dirpath, sizeof dirpath, "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(dirpath);
    assert_non_null(d);
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        fd_target(pid, e->d_name, target, sizeof target);
        if (strcmp(target, marker) == 0)
            fail_msg("the daemon kept the inherited descriptor %s -> %s", e->d_name, target);
    }
    closedir(d);

    assert_int_equal(mode_of(log), 0600);
    char logs[700];
    snprintf(logs, sizeof logs, "%s/logs", f->home);
    assert_int_equal(mode_of(logs), 0700);
    assert_true(file_contains(log, "worker ready"));

    /* SIGHUP does not stop a daemon either. */
    assert_int_equal(kill(pid, SIGHUP), 0);
    int64_t end = tu_now_ms() + READY_WAIT_MS;
    while (!file_contains(log, "config reloaded") && tu_now_ms() < end)
        usleep(10000);
    assert_true(file_contains(log, "config reloaded"));
    assert_true(health_ready(f));

    r = run(f, "stop", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    expect_clean_stop(f);
    /* libmicrohttpd warns on stderr (the log) when its logger option is not the first. */
    assert_false(file_contains(log, "is not the first option"));
}

static void test_worker_rotates_an_oversized_log_at_start(void **state)
{
    struct fixture *f = *state;
    char logs[700], log[800], old[800], cfg[700];

    assert_int_equal(mkdir(f->home, 0700), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", f->home);
    const char *json = "{\"log.max_bytes\": 65536}";
    tu_file_write(cfg, json, strlen(json));
    snprintf(logs, sizeof logs, "%s/logs", f->home);
    assert_int_equal(mkdir(logs, 0700), 0);
    snprintf(log, sizeof log, "%s/worker.log", logs);
    snprintf(old, sizeof old, "%s/worker.log.1", logs);
    size_t big = 70 * 1024;
    char *junk = malloc(big);
    assert_non_null(junk);
    memset(junk, 'x', big);
    tu_file_write(log, junk, big);
    free(junk);

    struct cu_result r = run(f, "start", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    wait_ready(f, tu_now_ms());
    assert_int_equal(tu_file_size(old), (int64_t)big);
    assert_true(tu_file_size(log) < (int64_t)big);
    assert_int_equal(mode_of(log), 0600);

    r = run(f, "stop", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    /* The shutdown was logged in the new file, not the rotated one. */
    assert_true(file_contains(log, "worker stopped"));
}

static void test_worker_rotates_its_log_while_running(void **state)
{
    struct fixture *f = *state;
    char cfg[700], log[700], old[700];

    assert_int_equal(mkdir(f->home, 0700), 0);
    snprintf(cfg, sizeof cfg, "%s/config.json", f->home);
    /* At debug the server logs every refused request: a cheap way to fill the log. */
    const char *json = "{\"log.max_bytes\": 65536}";
    tu_file_write(cfg, json, strlen(json));
    f->env[2] = (char *)"MNEMO_LOG_LEVEL=debug";
    snprintf(log, sizeof log, "%s/logs/worker.log", f->home);
    snprintf(old, sizeof old, "%s/logs/worker.log.1", f->home);

    struct cu_result r = run(f, "start", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    wait_ready(f, tu_now_ms());

    int64_t end = tu_now_ms() + READY_WAIT_MS;
    while (tu_file_size(old) < 0) {
        if (tu_now_ms() > end)
            fail_msg("no rotation: worker.log is %lld bytes", (long long)tu_file_size(log));
        for (int i = 0; i < 100; i++)
            http_get(f->sock, "http://localhost/v1/no-such-route", NULL);
        usleep(50000);
    }
    assert_true(tu_file_size(old) >= 65536);
    assert_int_equal(mode_of(log), 0600);
    /* The worker writes into the new file from now on. */
    assert_true(file_contains(log, "log rotated"));

    r = run(f, "stop", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    assert_true(file_contains(log, "worker stopped"));
}

static void test_worker_status_of_no_worker_exits_1(void **state)
{
    struct fixture *f = *state;

    struct cu_result r = run(f, "status", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.out, "mnemo worker is not running");
    cu_result_free(&r);

    r = run(f, "status", "--json", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.out, "\"running\":false");
    cu_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_worker_serve_answers_health_at_once_and_stops_cleanly_on_sigterm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_second_serve_exits_1_naming_the_running_pid,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_sighup_reloads_config_and_keeps_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_sigint_stops_cleanly_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_after_kill_9_the_next_worker_starts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_tcp_listener_answers_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_with_a_broken_database_stays_up_reporting_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_worker_refuses_a_malformed_tcp_address_and_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_refuses_a_token_file_others_can_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_start_status_stop_through_the_cli, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_worker_daemon_detaches_closes_inherited_fds_and_logs_to_a_private_file, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_worker_rotates_an_oversized_log_at_start, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_worker_rotates_its_log_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_status_of_no_worker_exits_1, setup, teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
