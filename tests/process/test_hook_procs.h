/*
 * test_hook_procs.h - helpers of the hook's process tests (tests/process/test_hook_*.c): run
 * `mnemo hook <event> --agent A` with stdin bytes and extra environment, keep its stdout and
 * stderr, and time both its exit (a pidfd, so the time is exact, not a polling step) and the
 * end of its stdout (which a child that inherited the pipe would hold open). Header-only, on top
 * of worker_procs.h (the worker fixture), because CMake builds each process test from one file.
 * Thread-safety: for the test's main thread.
 */
#ifndef MNEMO_TESTS_HOOK_PROCS_H
#define MNEMO_TESTS_HOOK_PROCS_H

#include "worker_procs.h"

#include <poll.h>
#include <sys/syscall.h>

/* How long a hook may take at most before the helper kills it (a hang, not a slow hook). */
#define HOOK_KILL_MS 10000
/* The slack the issue allows over a hook's deadline. */
#define HOOK_SLACK_MS 100

struct hook_result {
    int status; /* exit status, 128+signal, or -1 when it had to be killed */
    char *out;  /* stdout (malloc'd, NUL-terminated) */
    size_t out_len;
    char *err;       /* stderr (malloc'd, NUL-terminated) */
    int64_t exit_ms; /* from spawn to exit */
    int64_t eof_ms;  /* from spawn to EOF on stdout and stderr */
};

static inline void hook_result_free(struct hook_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

static inline int64_t hook_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    assert_true(fl >= 0);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/*
 * Runs `mnemo hook event --agent agent` in f's environment plus extra ("K=V" strings,
 * NULL-terminated, may be NULL; they win over f's), writing in[0..in_len) to its stdin (in NULL:
 * stdin is closed at once; in non-NULL with in_len 0: stdin stays open and silent, as a terminal
 * would). Fills *r.
 */
static inline void hook_exec(struct fixture *f, const char *const *extra, const char *event,
                             const char *agent, const char *in, size_t in_len,
                             struct hook_result *r)
{
    int pin[2], pout[2], perr[2];
    char *argv[] = {(char *)tu_mnemo_bin(), (char *)"hook", (char *)event,
                    (char *)"--agent",      (char *)agent,  NULL};

    memset(r, 0, sizeof *r);
    signal(SIGPIPE, SIG_IGN); /* a hook that stops reading a huge stdin closes the pipe */
    assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
    assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
    assert_int_equal(pipe2(perr, O_CLOEXEC), 0);

    size_t ne = 0, nx = 0;
    while (environ[ne] != NULL)
        ne++;
    while (extra != NULL && extra[nx] != NULL)
        nx++;
    char **env = calloc(ne + nx + 8, sizeof *env);
    assert_non_null(env);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "MNEMO_", 6) != 0)
            env[k++] = environ[i];
    for (size_t i = 0; f->env[i] != NULL; i++) {
        size_t klen = strcspn(f->env[i], "=");
        int overridden = 0;
        for (size_t j = 0; j < nx; j++)
            overridden |= strncmp(extra[j], f->env[i], klen + 1) == 0;
        if (!overridden)
            env[k++] = f->env[i];
    }
    for (size_t j = 0; j < nx; j++)
        env[k++] = (char *)extra[j];
    env[k] = NULL;

    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, pin[0], 0), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, pout[1], 1), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, perr[1], 2), 0);
    int64_t t0 = hook_now_ns();
    pid_t pid = 0;
    int e = posix_spawn(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (e != 0)
        fail_msg("cannot run %s: %s", argv[0], strerror(e));
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    assert_true(pidfd >= 0);

    int win = pin[1], held = -1;
    if (in == NULL) {
        close(win);
        win = -1;
    } else if (in_len == 0) {
        held = win; /* closed once the hook has exited */
        win = -1;
    } else {
        set_nonblock(win);
    }
    set_nonblock(pout[0]);
    set_nonblock(perr[0]);
    struct mnemo_strbuf ob, eb;
    mnemo_strbuf_init(&ob, 64 << 20);
    mnemo_strbuf_init(&eb, 64 << 20);
    int rout = pout[0], rerr = perr[0], exited = 0;
    size_t sent = 0;
    int64_t kill_at = t0 + (int64_t)HOOK_KILL_MS * 1000000;
    while (rout >= 0 || rerr >= 0 || !exited) {
        struct pollfd p[4];
        int n = 0, iw = -1, io = -1, ie = -1, ip = -1;
        if (win >= 0) {
            p[n] = (struct pollfd){.fd = win, .events = POLLOUT};
            iw = n++;
        }
        if (rout >= 0) {
            p[n] = (struct pollfd){.fd = rout, .events = POLLIN};
            io = n++;
        }
        if (rerr >= 0) {
            p[n] = (struct pollfd){.fd = rerr, .events = POLLIN};
            ie = n++;
        }
        if (!exited) {
            p[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
            ip = n++;
        }
        int64_t left_ms = (kill_at - hook_now_ns()) / 1000000;
        if (left_ms <= 0) {
            kill(pid, SIGKILL);
            r->status = -1;
            break;
        }
        int got = poll(p, (nfds_t)n, (int)left_ms);
        if (got < 0 && errno == EINTR)
            continue;
        assert_true(got >= 0);
        int64_t now = hook_now_ns();
        if (iw >= 0 && p[iw].revents != 0) {
            ssize_t w = write(win, in + sent, in_len - sent);
            if (w > 0)
                sent += (size_t)w;
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                sent = in_len; /* EPIPE: the hook stopped reading (a huge stdin) */
            if (sent >= in_len) {
                close(win);
                win = -1;
            }
        }
        int *fds[2] = {&rout, &rerr};
        int idx[2] = {io, ie};
        struct mnemo_strbuf *bufs[2] = {&ob, &eb};
        for (int s = 0; s < 2; s++) {
            if (idx[s] < 0 || p[idx[s]].revents == 0)
                continue;
            char buf[65536];
            ssize_t rd = read(*fds[s], buf, sizeof buf);
            if (rd > 0) {
                assert_int_equal(mnemo_strbuf_append(bufs[s], buf, (size_t)rd), 0);
            } else if (rd == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(*fds[s]);
                *fds[s] = -1;
                if (rout < 0 && rerr < 0)
                    r->eof_ms = (now - t0) / 1000000;
            }
        }
        if (ip >= 0 && p[ip].revents != 0) {
            int status = 0;
            assert_int_equal(waitpid(pid, &status, 0), pid);
            r->exit_ms = (now - t0) / 1000000;
            r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            exited = 1;
            if (win >= 0) {
                close(win);
                win = -1;
            }
        }
    }
    if (win >= 0)
        close(win);
    if (held >= 0)
        close(held);
    if (rout >= 0)
        close(rout);
    if (rerr >= 0)
        close(rerr);
    if (!exited) {
        int status;
        waitpid(pid, &status, 0);
    }
    close(pidfd);
    r->out_len = ob.len;
    r->out = mnemo_strbuf_detach(&ob);
    r->err = mnemo_strbuf_detach(&eb);
    mnemo_strbuf_release(&ob);
    mnemo_strbuf_release(&eb);
}

/* hook_exec with a NUL-terminated stdin text. */
static inline void hook_text(struct fixture *f, const char *const *extra, const char *event,
                             const char *agent, const char *in, struct hook_result *r)
{
    /* "" is an empty stdin (closed at once), never the held-open one. */
    hook_exec(f, extra, event, agent, in != NULL && in[0] != '\0' ? in : NULL,
              in != NULL ? strlen(in) : 0, r);
}

/* Prints the hook log of f's home on stderr (for a failing test's reader). */
static inline void dump_hook_log(struct fixture *f)
{
    char path[700];
    snprintf(path, sizeof path, "%s/logs/hooks.log", f->home);
    char *text = tu_file_read(path, 1 << 20, NULL);
    fprintf(stderr, "---- %s:\n%s---- end\n", path, text != NULL ? text : "(none)\n");
    free(text);
}

/* Fails unless the run exited 0 within deadline_ms + HOOK_SLACK_MS. */
static inline void expect_in_time(const struct hook_result *r, int64_t deadline_ms)
{
    if (r->status != 0)
        fail_msg("the hook exited with %d (stderr: %s)", r->status, r->err ? r->err : "");
    if (r->exit_ms > deadline_ms + HOOK_SLACK_MS)
        fail_msg("the hook took %lld ms for a %lld ms deadline", (long long)r->exit_ms,
                 (long long)deadline_ms);
}

/* A Claude Code payload for event in project dir cwd. */
static inline char *claude_payload(const char *event, const char *session, const char *cwd)
{
    json_t *j = json_pack("{s:s,s:s,s:s}", "session_id", session, "cwd", cwd, "transcript_path",
                          "/nonexistent/transcript.jsonl");
    assert_non_null(j);
    if (strcmp(event, "user-prompt-submit") == 0)
        json_object_set_new(j, "prompt", json_string("why does the parser crash on empty input?"));
    if (strcmp(event, "post-tool-use") == 0) {
        json_object_set_new(j, "tool_name", json_string("Bash"));
        json_object_set_new(j, "tool_input", json_pack("{s:s}", "command", "make test"));
        json_object_set_new(j, "tool_response",
                            json_pack("{s:s,s:s,s:i}", "stdout", "", "stderr",
                                      "error: parser crash on empty input", "exit_code", 2));
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    return s;
}

/* Runs per deadline case, per event (the number). */
#define DEADLINE_RUNS 100
/* The deadline the deadline cases set (MNEMO_HOOK_TIMEOUT_MS), small to keep the suite fast. */
#define DEADLINE_MS 150

static inline int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether r is a pass of the deadline case: exit 0, nothing on stdout, in time. */
static inline int deadline_ok(const struct hook_result *r)
{
    return r->status == 0 && r->exit_ms <= DEADLINE_MS + HOOK_SLACK_MS && r->out_len == 0;
}

/*
 * The deadline guarantee for one failure mode (label): DEADLINE_RUNS runs each of
 * user-prompt-submit and post-tool-use with a DEADLINE_MS deadline and autostart off, every one
 * exiting 0 with Claude Code's minimal output (nothing) within the deadline + HOOK_SLACK_MS.
 * cwd is the project directory named in the payloads. Prints p50 and max.
 *
 * The time is measured from spawn to exit, so it includes loading the binary, which a loaded
 * machine (parallel tests, builds) can stretch by hundreds of ms on its own. A run over the bound
 * is therefore run once more at once: a hook that does not honour its deadline fails every run
 * (the failure modes here are permanent), a scheduling hiccup does not repeat. Retries are
 * counted and printed, and a wrong status or output is never retried.
 */
static inline void expect_deadline_case(struct fixture *f, const char *label, const char *cwd)
{
    static const char *const events[] = {"user-prompt-submit", "post-tool-use"};
    static const char *const env[] = {"MNEMO_AUTOSTART=0", "MNEMO_HOOK_TIMEOUT_MS=150", NULL};
    int64_t took[DEADLINE_RUNS];

    for (size_t e = 0; e < 2; e++) {
        char *in = claude_payload(events[e], "deadline-session", cwd);
        int retries = 0;
        for (int i = 0; i < DEADLINE_RUNS; i++) {
            struct hook_result r;
            hook_text(f, env, events[e], "claude", in, &r);
            if (r.status == 0 && r.out_len == 0 && !deadline_ok(&r)) {
                hook_result_free(&r);
                retries++;
                hook_text(f, env, events[e], "claude", in, &r);
            }
            if (!deadline_ok(&r)) {
                dump_hook_log(f);
                fail_msg("%s, %s run %d: status %d after %lld ms, stdout '%s', stderr '%s'", label,
                         events[e], i, r.status, (long long)r.exit_ms, r.out, r.err);
            }
            took[i] = r.exit_ms;
            hook_result_free(&r);
        }
        free(in);
        qsort(took, DEADLINE_RUNS, sizeof took[0], cmp_i64);
        print_message("%s, %s: %d runs, p50 %lld ms, max %lld ms (deadline %d ms), %d re-run\n",
                      label, events[e], DEADLINE_RUNS, (long long)took[DEADLINE_RUNS / 2],
                      (long long)took[DEADLINE_RUNS - 1], DEADLINE_MS, retries);
    }
}

#endif
