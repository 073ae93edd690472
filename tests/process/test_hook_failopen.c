/*
 * test_hook_failopen.c - `mnemo hook` fails open without a worker: the switches (MNEMO_DISABLED,
 * MNEMO_INTERNAL, a .mnemo-ignore file up to the git root) make it a no-op that never touches
 * the socket; malformed, empty, huge or never-ending stdin and a misconfigured command line all
 * end in exit 0 with the agent's minimal output, within the deadline, with the reason in the
 * hook log and nothing on stdout.
 */
#include "test_hook_procs.h"

#include <sys/socket.h>
#include <sys/un.h>

/* A listener on f's socket path that the test polls to see whether a hook connected. */
static int fake_worker(struct fixture *f)
{
    struct sockaddr_un sa;
    assert_int_equal(mkdir(f->home, 0700), 0);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    assert_true(strlen(f->sock) < sizeof sa.sun_path);
    memcpy(sa.sun_path, f->sock, strlen(f->sock) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 16), 0);
    return fd;
}

/* 1 when a connection is waiting on the fake worker (accepted and closed), else 0. */
static int contacted(int lfd)
{
    int n = 0;
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            return n > 0;
        close(c);
        n++;
    }
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir '%s': %s", path, strerror(errno));
}

static void test_hook_switches_never_contact_the_worker(void **state)
{
    struct fixture *f = *state;
    struct hook_result r;
    char proj[600], sub[700], git[700], ignore[700], outer[700];
    int lfd = fake_worker(f);
    static const char *const fast[] = {"MNEMO_AUTOSTART=0", "MNEMO_HOOK_TIMEOUT_MS=150", NULL};
    static const char *const disabled[] = {"MNEMO_DISABLED=1", NULL};
    static const char *const internal[] = {"MNEMO_INTERNAL=1", NULL};

    tu_path(&f->dir, "proj", proj, sizeof proj);
    snprintf(sub, sizeof sub, "%s/src", proj);
    snprintf(git, sizeof git, "%s/.git", proj);
    make_dir(proj);
    make_dir(sub);
    make_dir(git);
    char *in = claude_payload("user-prompt-submit", "s", sub);

    /* Control: a normal run connects (and gives up on the silent fake in time). */
    hook_text(f, fast, "user-prompt-submit", "claude", in, &r);
    expect_in_time(&r, 150);
    assert_true(contacted(lfd));
    hook_result_free(&r);

    hook_text(f, disabled, "user-prompt-submit", "claude", in, &r);
    expect_in_time(&r, 1000);
    assert_string_equal(r.out, "");
    assert_false(contacted(lfd));
    hook_result_free(&r);
    hook_text(f, internal, "session-start", "gemini", in, &r);
    expect_in_time(&r, 2000);
    assert_string_equal(r.out, "{}\n"); /* Gemini's stdout must hold JSON */
    assert_false(contacted(lfd));
    hook_result_free(&r);

    /* .mnemo-ignore above the git root is not this project's: the hook goes on. */
    tu_path(&f->dir, ".mnemo-ignore", outer, sizeof outer);
    tu_file_write(outer, "", 0);
    hook_text(f, fast, "post-tool-use", "claude", in, &r);
    expect_in_time(&r, 150);
    assert_true(contacted(lfd));
    hook_result_free(&r);

    /* In the project root, it covers the subdirectory the agent runs in. */
    snprintf(ignore, sizeof ignore, "%s/.mnemo-ignore", proj);
    tu_file_write(ignore, "", 0);
    hook_text(f, fast, "post-tool-use", "claude", in, &r);
    expect_in_time(&r, 150);
    assert_string_equal(r.out, "");
    assert_false(contacted(lfd));
    hook_result_free(&r);
    free(in);
    close(lfd);
}

/* Runs event with stdin in[0..len) for claude and gemini; both fail open with their output. */
static void expect_minimal(struct fixture *f, const char *label, const char *in, size_t len,
                           const char *rc_name)
{
    static const char *const env[] = {"MNEMO_AUTOSTART=0", NULL};
    struct hook_result r;
    char log[700];

    hook_exec(f, env, "user-prompt-submit", "claude", in, len, &r);
    if (r.status != 0 || r.out_len != 0 || r.exit_ms > 1000 + HOOK_SLACK_MS)
        fail_msg("%s: status %d after %lld ms, stdout '%s'", label, r.status, (long long)r.exit_ms,
                 r.out);
    hook_result_free(&r);
    hook_exec(f, env, "post-tool-use", "gemini", in, len, &r);
    if (r.status != 0 || strcmp(r.out, "{}\n") != 0 || r.exit_ms > 300 + HOOK_SLACK_MS)
        fail_msg("%s (gemini): status %d after %lld ms, stdout '%s'", label, r.status,
                 (long long)r.exit_ms, r.out);
    hook_result_free(&r);
    snprintf(log, sizeof log, "%s/logs/hooks.log", f->home);
    if (!file_contains(log, rc_name)) {
        dump_hook_log(f);
        fail_msg("%s: no %s in the hook log", label, rc_name);
    }
}

static void test_hook_bad_stdin_fails_open(void **state)
{
    struct fixture *f = *state;
    expect_minimal(f, "not JSON", "this is not json {", 18, "rc=MNEMO_EINVAL");
    expect_minimal(f, "empty", NULL, 0, "rc=MNEMO_EINVAL");
    expect_minimal(f, "an array", "[1,2]", 5, "rc=MNEMO_EINVAL");
    expect_minimal(f, "a field of the wrong type", "{\"session_id\":5,\"cwd\":[]}", 25,
                   "rc=MNEMO_EINVAL");

    /* More than the 4 MiB read: the hook stops reading and answers at once. */
    size_t big = 6u << 20;
    char *huge = malloc(big);
    assert_non_null(huge);
    memcpy(huge, "{\"prompt\":\"", 11);
    memset(huge + 11, 'x', big - 13);
    memcpy(huge + big - 2, "\"}", 2);
    expect_minimal(f, "huge", huge, big, "rc=MNEMO_ETOOBIG");
    free(huge);
}

static void test_hook_stdin_that_never_ends_times_out(void **state)
{
    struct fixture *f = *state;
    struct hook_result r;
    static const char *const env[] = {"MNEMO_AUTOSTART=0", "MNEMO_HOOK_TIMEOUT_MS=150", NULL};
    hook_exec(f, env, "user-prompt-submit", "claude", "", 0, &r);
    expect_in_time(&r, 150);
    /* It did wait for stdin, up to its deadline (which may start up to a 10 ms tick early). */
    assert_true(r.exit_ms >= 120);
    assert_string_equal(r.out, "");
    hook_result_free(&r);
    char log[700];
    snprintf(log, sizeof log, "%s/logs/hooks.log", f->home);
    assert_true(file_contains(log, "rc=MNEMO_ETIMEDOUT"));
}

static void test_hook_misconfigured_command_exits_zero(void **state)
{
    struct fixture *f = *state;
    struct hook_result r;
    hook_text(f, NULL, "UserPromptSubmit", "claude", "{}", &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    cu_expect_contains(r.err, "unknown hook event 'UserPromptSubmit'");
    hook_result_free(&r);
    hook_text(f, NULL, "stop", "vim", "{}", &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    cu_expect_contains(r.err, "unknown agent 'vim'");
    hook_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_switches_never_contact_the_worker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_bad_stdin_fails_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_stdin_that_never_ends_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_misconfigured_command_exits_zero, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
