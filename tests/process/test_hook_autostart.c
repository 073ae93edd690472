/*
 * test_hook_autostart.c - a hook that finds no worker starts one, fully detached: the hook
 * still exits and its stdout and stderr reach EOF within the deadline (the worker holds none
 * of the agent's pipes), and a worker answers on the socket soon after. The on-disk breaker
 * lets one start through per 10 s; MNEMO_AUTOSTART=0 starts nothing, and neither does a
 * session-end.
 */
#include "test_hook_procs.h"

#include "util/clock.h"

/* How soon an autostarted worker must answer (generous: sanitizer builds on a busy machine). */
#define AUTOSTART_READY_MS 10000

static const char *const env_fast[] = {"MNEMO_HOOK_TIMEOUT_MS=200", NULL};

static int count_in_log(struct fixture *f, const char *needle)
{
    char path[700];
    snprintf(path, sizeof path, "%s/logs/hooks.log", f->home);
    char *text = tu_file_read(path, 1 << 20, NULL);
    int n = 0;
    for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(text);
    return n;
}

/* Runs one post-tool-use hook with no worker and checks it ends (and closes its pipes) in time. */
static void hook_without_worker(struct fixture *f, const char *const *env)
{
    struct hook_result r;
    char *in = claude_payload("post-tool-use", "auto-1", f->dir.path);
    hook_text(f, env, "post-tool-use", "claude", in, &r);
    free(in);
    expect_in_time(&r, 200);
    if (r.eof_ms > 200 + HOOK_SLACK_MS)
        fail_msg("stdout and stderr reached EOF only after %lld ms", (long long)r.eof_ms);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    hook_result_free(&r);
}

/* Waits up to ms for the worker to answer ready; returns 1 when it did. */
static int ready_within(struct fixture *f, int64_t ms)
{
    int64_t end = tu_now_ms() + ms;
    while (tu_now_ms() < end) {
        if (health_ready(f))
            return 1;
        usleep(20000);
    }
    return 0;
}

/* Kills the running daemon and waits until it is gone (its lock released). */
static void kill_daemon(struct fixture *f)
{
    pid_t pid = 0;
    assert_int_equal(mnemo_worker_running_pid(f->home, &pid, NULL), 0);
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    int64_t end = tu_now_ms() + EXIT_WAIT_MS;
    while (kill(pid, 0) == 0 && tu_now_ms() < end)
        usleep(10000);
    pid_t again = 0;
    assert_true(mnemo_worker_running_pid(f->home, &again, NULL) != 0 || again == 0);
}

static void test_hook_autostarts_a_detached_worker(void **state)
{
    struct fixture *f = *state;
    int64_t t0 = tu_now_ms();
    hook_without_worker(f, env_fast);
    if (!ready_within(f, AUTOSTART_READY_MS)) {
        dump_hook_log(f);
        fail_msg("no worker answered within %d ms of the hook", AUTOSTART_READY_MS);
    }
    print_message("autostarted worker ready %lld ms after the hook started\n",
                  (long long)(tu_now_ms() - t0));
    assert_int_equal(count_in_log(f, "autostart: launched"), 1);

    /* The next hook finds it: no second start. */
    hook_without_worker(f, env_fast);
    assert_int_equal(count_in_log(f, "autostart: launched"), 1);
}

static void test_hook_autostart_breaker_allows_one_start_per_ten_seconds(void **state)
{
    struct fixture *f = *state;
    char stamp[700];
    snprintf(stamp, sizeof stamp, "%s/autostart.stamp", f->home);

    hook_without_worker(f, env_fast);
    assert_true(ready_within(f, AUTOSTART_READY_MS));
    kill_daemon(f); /* a crash: the socket file stays, nothing listens */

    /* Within 10 s of the first attempt: the breaker holds, no worker appears. */
    hook_without_worker(f, env_fast);
    hook_without_worker(f, env_fast);
    usleep(1500 * 1000);
    assert_false(health_ready(f));
    assert_int_equal(count_in_log(f, "autostart: launched"), 1);

    /* Once the last attempt is older than 10 s, the next hook starts one again. */
    char old[32];
    snprintf(old, sizeof old, "%lld\n", (long long)(mnemo_clock_wall_ms() - 11000));
    tu_file_write(stamp, old, strlen(old));
    hook_without_worker(f, env_fast);
    assert_true(ready_within(f, AUTOSTART_READY_MS));
    assert_int_equal(count_in_log(f, "autostart: launched"), 2);
}

static void test_hook_autostart_burst_starts_one_worker(void **state)
{
    struct fixture *f = *state;
    enum { N = 8 };
    char payload[700], home_env[700];
    pid_t pids[N];

    tu_path(&f->dir, "payload.json", payload, sizeof payload);
    char *in = claude_payload("post-tool-use", "burst", f->dir.path);
    tu_file_write(payload, in, strlen(in));
    free(in);
    snprintf(home_env, sizeof home_env, "MNEMO_HOME=%s", f->home);
    char *env[] = {home_env, (char *)"MNEMO_TCP_LISTEN=off", (char *)"MNEMO_HOOK_TIMEOUT_MS=300",
                   NULL};
    char *argv[] = {(char *)tu_mnemo_bin(), (char *)"hook", (char *)"post-tool-use", NULL};
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 0, payload, O_RDONLY, 0), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0), 0);
    /* All at once, as an agent running several hooks in parallel does. */
    for (int i = 0; i < N; i++)
        assert_int_equal(posix_spawn(&pids[i], argv[0], &fa, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < N; i++)
        assert_int_equal(wait_child(pids[i], EXIT_WAIT_MS), 0);
    assert_true(ready_within(f, AUTOSTART_READY_MS));
    assert_int_equal(count_in_log(f, "autostart: launched"), 1);
}

static void test_hook_autostart_can_be_switched_off(void **state)
{
    struct fixture *f = *state;
    static const char *const off[] = {"MNEMO_HOOK_TIMEOUT_MS=200", "MNEMO_AUTOSTART=0", NULL};
    char stamp[700];
    snprintf(stamp, sizeof stamp, "%s/autostart.stamp", f->home);
    hook_without_worker(f, off);
    usleep(1000 * 1000);
    assert_false(health_ready(f));
    assert_int_equal(tu_file_size(stamp), -1);
    assert_int_equal(count_in_log(f, "autostart"), 0);
}

/* `claude mcp list` fires a SessionEnd with no session: no worker is started for it. */
static void test_hook_session_end_starts_no_worker(void **state)
{
    struct fixture *f = *state;
    struct hook_result r;
    char stamp[700];
    snprintf(stamp, sizeof stamp, "%s/autostart.stamp", f->home);
    char *in = claude_payload("session-end", "mcp-list", f->dir.path);
    hook_text(f, env_fast, "session-end", "claude", in, &r);
    free(in);
    expect_in_time(&r, 200);
    hook_result_free(&r);
    usleep(1000 * 1000);
    assert_false(health_ready(f));
    assert_int_equal(tu_file_size(stamp), -1);
    assert_int_equal(count_in_log(f, "autostart"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_autostarts_a_detached_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_hook_autostart_breaker_allows_one_start_per_ten_seconds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_autostart_burst_starts_one_worker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_autostart_can_be_switched_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_session_end_starts_no_worker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
