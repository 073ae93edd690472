/*
 * test_mcp_server.c - a real `mnemo mcp` driven over pipes by a scripted client while a real
 * worker (`mnemo serve`) runs: a complete legacy conversation calling every tool, a complete
 * modern one, only JSON-RPC lines on stdout, exit at stdin EOF, and exit when the parent dies
 * without closing the pipe.
 */
#include "worker_procs.h"

#include <poll.h>
#include <sys/prctl.h>

#include "mcp/mcp.h"

#define MCP_WAIT_MS 20000

struct mcp_proc {
    pid_t pid;
    int in;  /* write end of the server's stdin */
    int out; /* read end of its stdout */
    char buf[1 << 20];
    size_t len;
    char err[700]; /* its stderr, a file */
};

/* The environment of f without the caller's MNEMO_ variables, plus extra (may be NULL). */
static char **child_env(struct fixture *f, const char *extra)
{
    size_t ne = 0;
    while (environ[ne] != NULL)
        ne++;
    char **env = calloc(ne + 6, sizeof *env);
    assert_non_null(env);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "MNEMO_", 6) != 0)
            env[k++] = environ[i];
    for (size_t i = 0; f->env[i] != NULL; i++)
        env[k++] = f->env[i];
    if (extra != NULL)
        env[k++] = (char *)extra;
    env[k] = NULL;
    return env;
}

/* Starts `mnemo mcp` with its stdin and stdout on pipes and its stderr in a file. */
static void mcp_start(struct fixture *f, struct mcp_proc *p)
{
    int in[2], out[2];
    memset(p, 0, sizeof *p);
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    tu_path(&f->dir, "mcp.err", p->err, sizeof p->err);
    char *argv[] = {(char *)tu_mnemo_bin(), (char *)"mcp", (char *)"--project", (char *)"proc_proj",
                    NULL};
    char **env = child_env(f, NULL);
    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, p->err,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0600),
                     0);
    int e = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (e != 0)
        fail_msg("cannot run %s: %s", argv[0], strerror(e));
    close(in[0]);
    close(out[1]);
    p->in = in[1];
    p->out = out[0];
}

static void mcp_send(struct mcp_proc *p, const char *line)
{
    size_t n = strlen(line);
    assert_int_equal(write(p->in, line, n), (ssize_t)n);
    assert_int_equal(write(p->in, "\n", 1), 1);
}

/* The next line of stdout parsed (new reference); fails after MCP_WAIT_MS or at EOF. */
static json_t *mcp_recv(struct mcp_proc *p)
{
    int64_t end = tu_now_ms() + MCP_WAIT_MS;
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->len);
        if (nl != NULL) {
            *nl = '\0';
            json_error_t je;
            json_t *j = json_loads(p->buf, 0, &je);
            if (j == NULL)
                fail_msg("stdout line is not JSON-RPC (%s): %s", je.text, p->buf);
            size_t used = (size_t)(nl - p->buf) + 1;
            memmove(p->buf, p->buf + used, p->len - used);
            p->len -= used;
            return j;
        }
        int64_t left = end - tu_now_ms();
        if (left <= 0)
            fail_msg("no answer from mnemo mcp within %d ms", MCP_WAIT_MS);
        struct pollfd pf = {.fd = p->out, .events = POLLIN};
        if (poll(&pf, 1, (int)left) <= 0)
            continue;
        ssize_t k = read(p->out, p->buf + p->len, sizeof p->buf - 1 - p->len);
        if (k <= 0) {
            char *err = tu_file_read(p->err, 1 << 20, NULL);
            fail_msg("mnemo mcp closed its stdout; stderr:\n%s", err != NULL ? err : "");
        }
        p->len += (size_t)k;
    }
}

/* Sends a request and returns its result (new reference), failing on an error answer. */
static json_t *mcp_request(struct mcp_proc *p, const char *line)
{
    mcp_send(p, line);
    json_t *j = mcp_recv(p);
    json_t *r = json_incref(json_object_get(j, "result"));
    if (r == NULL) {
        char *s = json_dumps(j, 0);
        fail_msg("request %s answered %s", line, s);
    }
    json_decref(j);
    return r;
}

static const char *text_of(const json_t *res)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(res, "content"), 0), "text"));
}

static json_t *tool(struct mcp_proc *p, int id, const char *meta, const char *name,
                    const char *args)
{
    char line[2048];
    snprintf(
        line, sizeof line,
        "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{%s\"name\":\"%s\","
        "\"arguments\":%s}}",
        id, meta, name, args);
    json_t *r = mcp_request(p, line);
    if (!json_is_false(json_object_get(r, "isError")))
        fail_msg("tool %s failed: %s", name, text_of(r));
    return r;
}

/* Closes stdin and expects exit 0 within the deadline, with nothing more on stdout. */
static void mcp_finish(struct mcp_proc *p)
{
    close(p->in);
    int status = wait_child(p->pid, EXIT_WAIT_MS);
    if (status != 0) {
        char *err = tu_file_read(p->err, 1 << 20, NULL);
        fail_msg("mnemo mcp exited with %d after stdin EOF; stderr:\n%s", status,
                 err != NULL ? err : "");
    }
    char rest[16];
    assert_int_equal(read(p->out, rest, sizeof rest), 0);
    assert_int_equal(p->len, 0);
    close(p->out);
}

static void test_mcp_process_legacy_conversation_calls_every_tool(void **state)
{
    struct fixture *f = *state;
    serve(f);
    struct mcp_proc *p = calloc(1, sizeof *p);
    assert_non_null(p);
    mcp_start(f, p);

    json_t *r =
        mcp_request(p, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                       "\"protocolVersion\":\"2024-11-05\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"script\",\"version\":\"1\"}}}");
    assert_string_equal(json_string_value(json_object_get(r, "protocolVersion")), "2024-11-05");
    json_decref(r);
    mcp_send(p, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    r = mcp_request(p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    assert_int_equal(json_array_size(json_object_get(r, "tools")), 5);
    json_decref(r);

    r = tool(p, 2, "", "save_memory",
             "{\"title\":\"heron: the importer retries on 429 with jitter\",\"narrative\":"
             "\"found while debugging the nightly sync\",\"type\":\"discovery\",\"concepts\":"
             "[\"gotcha\"],\"files\":[\"src/importer.c\"]}");
    json_int_t id =
        json_integer_value(json_object_get(json_object_get(r, "structuredContent"), "id"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "structuredContent"), "project")),
        "proc_proj");
    json_decref(r);
    json_decref(tool(p, 3, "", "save_memory",
                     "{\"title\":\"osprey: the exporter writes csv with crlf\",\"type\":"
                     "\"change\"}"));

    char want[64];
    snprintf(want, sizeof want, "#%lld [discovery] heron", (long long)id);
    r = tool(p, 4, "", "search", "{\"query\":\"importer retries\",\"concepts\":[\"gotcha\"]}");
    cu_expect_contains(text_of(r), want);
    json_decref(r);

    char args[128];
    snprintf(args, sizeof args, "{\"anchor\":%lld,\"depth_before\":3,\"depth_after\":3}",
             (long long)id);
    r = tool(p, 5, "", "timeline", args);
    cu_expect_contains(text_of(r), "(0 before, 1 after");
    cu_expect_contains(text_of(r), "> #");
    json_decref(r);

    snprintf(args, sizeof args, "{\"ids\":[%lld]}", (long long)id);
    r = tool(p, 6, "", "get_observations", args);
    const json_t *o =
        json_array_get(json_object_get(json_object_get(r, "structuredContent"), "observations"), 0);
    assert_string_equal(json_string_value(json_object_get(o, "narrative")),
                        "found while debugging the nightly sync");
    json_decref(r);

    static const char *const actions[] = {"stats", "health", "checkpoint", "run_maintenance"};
    for (int i = 0; i < 4; i++) {
        snprintf(args, sizeof args, "{\"action\":\"%s\"}", actions[i]);
        r = tool(p, 7 + i, "", "memory_admin", args);
        assert_true(json_is_object(json_object_get(r, "structuredContent")));
        json_decref(r);
    }
    r = mcp_request(p, "{\"jsonrpc\":\"2.0\",\"id\":20,\"method\":\"ping\"}");
    assert_int_equal(json_object_size(r), 0);
    json_decref(r);

    mcp_finish(p);
    /* Logs went to stderr, never to stdout (mcp_recv parsed every stdout line as JSON). */
    free(p);
    stop_child(f);
}

#define META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"},"

static void test_mcp_process_modern_conversation_without_initialize(void **state)
{
    struct fixture *f = *state;
    serve(f);
    struct mcp_proc *p = calloc(1, sizeof *p);
    assert_non_null(p);
    mcp_start(f, p);

    json_t *r = mcp_request(p, "{\"jsonrpc\":\"2.0\",\"id\":\"d\",\"method\":\"server/discover\","
                               "\"params\":{" META "\"x\":1}}");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r, "supportedVersions"), 0)),
        "2026-07-28");
    json_decref(r);
    r = mcp_request(p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META
                       "\"cursor\":null}}");
    assert_string_equal(json_string_value(json_object_get(r, "resultType")), "complete");
    json_decref(r);
    r = tool(p, 2, META, "save_memory", "{\"title\":\"kestrel: staging uses a read replica\"}");
    assert_string_equal(json_string_value(json_object_get(r, "resultType")), "complete");
    json_decref(r);
    r = tool(p, 3, META, "search", "{\"query\":\"kestrel replica\"}");
    cu_expect_contains(text_of(r), "kestrel: staging uses a read replica");
    json_decref(r);
    r = tool(p, 4, META, "timeline", "{\"query\":\"kestrel replica\"}");
    cu_expect_contains(text_of(r), "> #");
    json_decref(r);
    r = tool(p, 5, META, "memory_admin", "{\"action\":\"health\"}");
    json_decref(r);

    mcp_finish(p);
    free(p);
    stop_child(f);
}

static void test_mcp_process_exits_at_stdin_eof_without_a_worker(void **state)
{
    struct fixture *f = *state;
    struct mcp_proc *p = calloc(1, sizeof *p);
    assert_non_null(p);
    mcp_start(f, p);
    mcp_send(p, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                "\"protocolVersion\":\"2025-11-25\"}}");
    json_decref(mcp_recv(p));
    mcp_send(p, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":"
                "\"search\",\"arguments\":{\"query\":\"x\"}}}");
    json_t *j = mcp_recv(p);
    const json_t *r = json_object_get(j, "result");
    assert_true(json_is_true(json_object_get(r, "isError")));
    cu_expect_contains(text_of(r), "mnemo start");
    json_decref(j);
    int64_t t0 = tu_now_ms();
    mcp_finish(p);
    assert_true(tu_now_ms() - t0 < 5000);
    free(p);
}

/*
 * A client that dies without closing our stdin (the test keeps the write end open): the server
 * must still go. The test is the subreaper, so the orphaned server is re-parented to it and can
 * be waited for.
 */
static void test_mcp_process_exits_when_its_parent_dies(void **state)
{
    struct fixture *f = *state;
    int in[2], out[2], pidp[2];
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(pidp), 0);
    char **env = child_env(f, NULL);
    pid_t mid = fork();
    assert_true(mid >= 0);
    if (mid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a test that failed half-way */
        char *argv[] = {(char *)tu_mnemo_bin(), (char *)"mcp", NULL};
        posix_spawn_file_actions_t fa;
        pid_t pid = 0;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
        if (posix_spawn(&pid, argv[0], &fa, NULL, argv, env) != 0)
            _exit(1);
        if (write(pidp[1], &pid, sizeof pid) != (ssize_t)sizeof pid)
            _exit(1);
        pause(); /* until killed */
        _exit(0);
    }
    free(env);
    close(in[0]);
    close(out[1]);
    close(pidp[1]);
    pid_t server = 0;
    assert_int_equal(read(pidp[0], &server, sizeof server), (ssize_t)sizeof server);
    close(pidp[0]);

    /* The server answers while its parent lives... */
    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";
    assert_int_equal(write(in[1], ping, strlen(ping)), (ssize_t)strlen(ping));
    char buf[256];
    struct pollfd pf = {.fd = out[0], .events = POLLIN};
    assert_int_equal(poll(&pf, 1, MCP_WAIT_MS), 1);
    assert_true(read(out[0], buf, sizeof buf) > 0);
    assert_int_equal(kill(server, 0), 0);

    /* ...and goes when it dies, though its stdin stays open. */
    assert_int_equal(kill(mid, SIGKILL), 0);
    assert_int_equal(wait_child(mid, EXIT_WAIT_MS), 128 + SIGKILL);
    int64_t t0 = tu_now_ms();
    int status = wait_child(server, EXIT_WAIT_MS);
    int64_t took = tu_now_ms() - t0;
    if (status < 0) {
        kill(server, SIGKILL);
        wait_child(server, EXIT_WAIT_MS);
        fail_msg("mnemo mcp still runs %d ms after its parent died", EXIT_WAIT_MS);
    }
    print_message("mnemo mcp exited %lld ms after its parent died (status %d)\n", (long long)took,
                  status);
    assert_true(took < 3 * MNEMO_MCP_IDLE_MS);
    close(in[1]);
    close(out[0]);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
}

static void test_mcp_process_usage_errors_exit_2_with_nothing_on_stdout(void **state)
{
    struct fixture *f = *state;
    struct cu_result r = run(f, "mcp", "extra", NULL);
    cu_expect_status(&r, 2);
    assert_string_equal(r.out, "");
    cu_expect_contains(r.err, "unexpected argument 'extra'");
    cu_result_free(&r);
    r = run(f, "mcp", "--project", "a/b", NULL);
    cu_expect_status(&r, 2);
    assert_string_equal(r.out, "");
    cu_expect_contains(r.err, "invalid project");
    cu_result_free(&r);
    r = run(f, "mcp", "--help", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "usage: mnemo mcp");
    cu_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mcp_process_legacy_conversation_calls_every_tool,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcp_process_modern_conversation_without_initialize,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcp_process_exits_at_stdin_eof_without_a_worker, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mcp_process_exits_when_its_parent_dies, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mcp_process_usage_errors_exit_2_with_nothing_on_stdout,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
