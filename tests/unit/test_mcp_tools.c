/*
 * test_mcp_tools.c - the MCP tools against a real worker: the test forks, the child runs
 * mnemo_worker_run on a fresh home (socket only), and MCP sessions over in-memory streams call
 * every tool: save_memory (and its duplicate), search with each filter, timeline centred on an
 * anchor (given, first, or found by a query), get_observations with a missing id, and every
 * memory_admin action. The worker is stopped with SIGTERM and must exit 0.
 */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "mcp/mcp.h"
#include "service/worker.h"
#include "util/clock.h"
#include "util/uhttp.h"

struct fx {
    struct tu_dir dir;
    char home[300];
    char sock[320];
    char log[320];
    pid_t worker;
    const char *rate_limit; /* MNEMO_HTTP_RATE_LIMIT of the worker; NULL: the default */
    struct mnemo_mcp_config cfg;
};

static int worker_ready(const char *sock)
{
    struct mnemo_uhttp_resp r;
    int ready = 0;
    if (mnemo_uhttp_call(sock, "GET", "/v1/health", NULL, 0, mnemo_deadline_in_ms(1000), &r,
                         NULL) == 0) {
        json_t *j = r.body != NULL ? json_loads(r.body, 0, NULL) : NULL;
        ready = r.status == 200 && json_is_true(json_object_get(j, "ready"));
        json_decref(j);
        mnemo_uhttp_resp_release(&r);
    }
    return ready;
}

static int setup_with(void **state, const char *rate_limit)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->rate_limit = rate_limit;
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "home", f->home, sizeof f->home);
    assert_int_equal(mkdir(f->home, 0700), 0);
    snprintf(f->sock, sizeof f->sock, "%s/mnemo.sock", f->home);
    tu_path(&f->dir, "worker.log", f->log, sizeof f->log);
    f->worker = fork();
    assert_true(f->worker >= 0);
    if (f->worker == 0) {
        /* A test that dies half-way (a sanitizer abort) must not leave its worker behind. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (f->rate_limit != NULL)
            setenv("MNEMO_HTTP_RATE_LIMIT", f->rate_limit, 1);
        int fd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        struct mnemo_worker_options o = {.home = f->home, .foreground_log = 1, .tcp_listen = "off"};
        struct mnemo_err err = {0};
        int rc = mnemo_worker_run(&o, &err);
        if (rc != 0)
            fprintf(stderr, "worker: %s\n", err.msg);
        _exit(rc == 0 ? 0 : 1);
    }
    int64_t t0 = tu_now_ms();
    while (!worker_ready(f->sock)) {
        int status;
        if (waitpid(f->worker, &status, WNOHANG) == f->worker) {
            f->worker = 0;
            char *log = tu_file_read(f->log, 1 << 20, NULL);
            fail_msg("the worker exited during start-up:\n%s", log != NULL ? log : "");
        }
        if (tu_now_ms() - t0 > 30000)
            fail_msg("the worker was not ready within 30 s");
        usleep(10000);
    }
    f->cfg.socket_path = f->sock;
    f->cfg.project = "proj_test";
    f->cfg.version = "1.0.0";
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int setup_rate_limited(void **state)
{
    return setup_with(state, "1");
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->worker > 0) {
        int status = 0;
        kill(f->worker, SIGTERM);
        assert_int_equal(waitpid(f->worker, &status, 0), f->worker);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char *log = tu_file_read(f->log, 1 << 20, NULL);
            fprintf(stderr, "worker log:\n%s\n", log != NULL ? log : "");
            free(log);
            fail_msg("the worker did not stop cleanly (status %d)", status);
        }
    }
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* One legacy session: initialize, initialized, then tools/call name(args); the call's result. */
static json_t *call(struct fx *f, const char *name, const char *args)
{
    char *input = NULL;
    size_t inlen = 0;
    FILE *in_w = open_memstream(&input, &inlen);
    fprintf(in_w,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
            "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}\n"
            "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
            "\"arguments\":%s}}\n",
            name, args);
    fclose(in_w);
    char *outbuf = NULL;
    size_t outlen = 0;
    FILE *in = fmemopen(input, inlen, "r");
    FILE *out = open_memstream(&outbuf, &outlen);
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_mcp_serve(&f->cfg, in, out, &err), 0);
    fclose(in);
    fclose(out);
    free(input);
    char *second = strchr(outbuf, '\n');
    assert_non_null(second);
    json_t *j = json_loads(second + 1, JSON_DISABLE_EOF_CHECK, NULL);
    assert_non_null(j);
    free(outbuf);
    json_t *res = json_incref(json_object_get(j, "result"));
    if (res == NULL) {
        char *s = json_dumps(j, 0);
        fail_msg("tools/call %s answered %s", name, s);
    }
    json_decref(j);
    return res;
}

static const char *text_of(const json_t *res)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(res, "content"), 0), "text"));
}

static void expect_ok(const json_t *res)
{
    if (!json_is_false(json_object_get(res, "isError")))
        fail_msg("the tool failed: %s", text_of(res));
}

/* Saves a memory and returns its id. */
static json_int_t save(struct fx *f, const char *args)
{
    json_t *res = call(f, "save_memory", args);
    expect_ok(res);
    const json_t *sc = json_object_get(res, "structuredContent");
    json_int_t id = json_integer_value(json_object_get(sc, "id"));
    assert_true(id > 0);
    /* The text is the structured content serialized, for clients that read only text. */
    json_t *again = json_loads(text_of(res), 0, NULL);
    assert_true(json_equal(again, sc));
    json_decref(again);
    json_decref(res);
    return id;
}

/* Position of "#id [" in text, or -1. */
static long pos_of(const char *text, json_int_t id)
{
    char needle[40];
    snprintf(needle, sizeof needle, "#%lld [", (long long)id);
    const char *p = strstr(text, needle);
    return p != NULL ? (long)(p - text) : -1;
}

/* Fails, showing text, unless "#id [" is in text exactly when want. */
static void expect_listed(const char *text, json_int_t id, int want)
{
    if ((pos_of(text, id) >= 0) != (want != 0))
        fail_msg("#%lld should%s be listed in:\n%s", (long long)id, want ? "" : " not", text);
}

static void test_mcp_tools_against_a_real_worker(void **state)
{
    struct fx *f = *state;
    json_int_t ids[7];
    static const char *const types[] = {"decision",  "bugfix", "feature", "refactor",
                                        "discovery", "change", "decision"};
    static const char *const titles[] = {
        "zebra: chose postgres over mysql for billing",
        "zebra: fixed race in websocket reconnect logic",
        "zebra: added csv export button to reports page",
        "zebra: split payment service into smaller modules",
        "zebra: learned that cron runs in utc on staging",
        "zebra: renamed config keys for logging verbosity",
        "zebra: decided to cache tokens in redis cluster",
    };
    for (int i = 0; i < 7; i++) {
        char args[600];
        snprintf(args, sizeof args,
                 "{\"title\":\"%s\",\"narrative\":\"details of item %d\",\"type\":\"%s\","
                 "\"concepts\":[\"%s\"],\"facts\":[\"fact %d\"],\"files\":[\"src/mod%d/file.c\"]}",
                 titles[i], i, types[i], i % 2 ? "gotcha" : "pattern", i, i);
        ids[i] = save(f, args);
        if (i > 0)
            assert_true(ids[i] > ids[i - 1]);
    }

    /* The same content again is one memory. */
    json_t *res = call(f, "save_memory",
                       "{\"title\":\"zebra: chose postgres over mysql for billing\",\"narrative\":"
                       "\"details of item 0\",\"type\":\"decision\",\"concepts\":[\"pattern\"],"
                       "\"facts\":[\"fact 0\"],\"files\":[\"src/mod0/file.c\"]}");
    expect_ok(res);
    assert_true(
        json_is_true(json_object_get(json_object_get(res, "structuredContent"), "duplicate")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(res, "structuredContent"), "id")),
        ids[0]);
    json_decref(res);

    /* search: compact index lines with ids, and each filter. */
    res = call(f, "search", "{\"query\":\"zebra\",\"limit\":10}");
    expect_ok(res);
    for (int i = 0; i < 7; i++)
        expect_listed(text_of(res), ids[i], 1);
    assert_non_null(
        strstr(text_of(res), "[decision] zebra: chose postgres over mysql for billing ("));
    assert_null(json_object_get(res, "structuredContent"));
    json_decref(res);

    res = call(f, "search", "{\"query\":\"zebra\",\"type\":\"bugfix\"}");
    expect_ok(res);
    expect_listed(text_of(res), ids[1], 1);
    expect_listed(text_of(res), ids[0], 0);
    json_decref(res);

    res = call(f, "search", "{\"query\":\"zebra\",\"concepts\":[\"gotcha\"]}");
    expect_ok(res);
    for (int i = 0; i < 7; i++)
        expect_listed(text_of(res), ids[i], i % 2 == 1);
    json_decref(res);

    res = call(f, "search", "{\"files\":[\"mod3/\"]}"); /* a listing with a file filter */
    expect_ok(res);
    for (int i = 0; i < 7; i++)
        expect_listed(text_of(res), ids[i], i == 3);
    json_decref(res);

    res = call(f, "search", "{\"query\":\"zebra\",\"since\":\"2999-01-01\"}");
    expect_ok(res);
    assert_non_null(strstr(text_of(res), "No memories found"));
    json_decref(res);

    res = call(f, "search", "{\"query\":\"*\",\"limit\":3,\"until\":\"2999-12-31\"}");
    expect_ok(res); /* "*" lists the newest */
    expect_listed(text_of(res), ids[6], 1);
    assert_true(pos_of(text_of(res), ids[6]) < pos_of(text_of(res), ids[5]));
    expect_listed(text_of(res), ids[3], 0);
    json_decref(res);

    res = call(f, "search", "{\"query\":\"zebra\",\"project\":\"somewhere_else\"}");
    expect_ok(res);
    assert_non_null(strstr(text_of(res), "No memories found"));
    json_decref(res);

    /* timeline: truly centred, oldest first. */
    char args[200];
    snprintf(args, sizeof args, "{\"anchor\":%lld,\"depth_before\":2,\"depth_after\":2}",
             (long long)ids[3]);
    res = call(f, "timeline", args);
    expect_ok(res);
    const char *t = text_of(res);
    assert_true(pos_of(t, ids[0]) < 0);
    assert_true(pos_of(t, ids[6]) < 0);
    assert_true(pos_of(t, ids[1]) >= 0);
    assert_true(pos_of(t, ids[1]) < pos_of(t, ids[2]));
    assert_true(pos_of(t, ids[2]) < pos_of(t, ids[3]));
    assert_true(pos_of(t, ids[3]) < pos_of(t, ids[4]));
    assert_true(pos_of(t, ids[4]) < pos_of(t, ids[5]));
    assert_int_equal(t[pos_of(t, ids[3]) - 2], '>');
    json_decref(res);

    snprintf(args, sizeof args, "{\"anchor\":%lld,\"depth_before\":3,\"depth_after\":3}",
             (long long)ids[0]);
    res = call(f, "timeline", args);
    expect_ok(res);
    t = text_of(res);
    assert_non_null(strstr(t, "(0 before, 3 after"));
    assert_true(pos_of(t, ids[3]) > pos_of(t, ids[0]));
    assert_true(pos_of(t, ids[4]) < 0);
    json_decref(res);

    res = call(f, "timeline",
               "{\"query\":\"renamed config keys logging verbosity\",\"depth_before\":1,"
               "\"depth_after\":0}");
    expect_ok(res);
    t = text_of(res);
    assert_non_null(strstr(t, "(1 before, 0 after"));
    json_decref(res);

    res = call(f, "timeline", "{\"anchor\":999999}");
    assert_true(json_is_true(json_object_get(res, "isError")));
    assert_non_null(strstr(text_of(res), "no memory #999999"));
    json_decref(res);

    /* get_observations: full records, missing ids named. */
    snprintf(args, sizeof args, "{\"ids\":[%lld,\"#%lld\",999999]}", (long long)ids[2],
             (long long)ids[4]);
    res = call(f, "get_observations", args);
    expect_ok(res);
    const json_t *sc = json_object_get(res, "structuredContent");
    assert_int_equal(json_array_size(json_object_get(sc, "observations")), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(sc, "missing"), 0)), 999999);
    const json_t *o = json_array_get(json_object_get(sc, "observations"), 0);
    assert_non_null(strstr(json_string_value(json_object_get(o, "narrative")), "details of item"));
    assert_string_equal(json_string_value(json_object_get(o, "provenance")), "agent");
    assert_string_equal(json_string_value(json_object_get(o, "project")), "proj_test");
    json_decref(res);

    /* memory_admin: every action really runs. */
    res = call(f, "memory_admin", "{\"action\":\"stats\"}");
    expect_ok(res);
    sc = json_object_get(res, "structuredContent");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(sc, "observations"), "total")), 7);
    json_decref(res);
    res = call(f, "memory_admin", "{\"action\":\"health\"}");
    expect_ok(res);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(res, "structuredContent"), "status")),
        "ready");
    json_decref(res);
    res = call(f, "memory_admin", "{\"action\":\"checkpoint\"}");
    expect_ok(res);
    assert_non_null(json_object_get(json_object_get(res, "structuredContent"), "wal_bytes_after"));
    json_decref(res);
    res = call(f, "memory_admin", "{\"action\":\"run_maintenance\"}");
    expect_ok(res);
    assert_true(
        json_is_object(json_object_get(json_object_get(res, "structuredContent"), "report")));
    json_decref(res);
}

static void test_mcp_projects_stay_apart_unless_every_project_is_asked(void **state)
{
    struct fx *f = *state;
    json_int_t mine =
        save(f, "{\"title\":\"quokka lives in the billing module\",\"type\":\"decision\"}");
    json_int_t theirs =
        save(f, "{\"title\":\"quokka deployment notes for kubernetes\",\"project\":\"other\"}");

    json_t *res = call(f, "search", "{\"query\":\"quokka\"}");
    expect_ok(res);
    expect_listed(text_of(res), mine, 1);
    expect_listed(text_of(res), theirs, 0);
    json_decref(res);

    res = call(f, "search", "{\"query\":\"quokka\",\"project\":\"*\"}");
    expect_ok(res);
    expect_listed(text_of(res), mine, 1);
    expect_listed(text_of(res), theirs, 1);
    assert_non_null(strstr(text_of(res), "{other}"));
    json_decref(res);

    /* The timeline of the other project's memory stays in that project. */
    char args[100];
    snprintf(args, sizeof args, "{\"anchor\":%lld}", (long long)theirs);
    res = call(f, "timeline", args);
    expect_ok(res);
    assert_non_null(strstr(text_of(res), "project other"));
    expect_listed(text_of(res), mine, 0);
    json_decref(res);
}

/*
 * Rows of one millisecond: the worker orders them by id, so the timeline must place the anchor
 * among them by id, not by time alone. Imported with fixed timestamps: 2 earlier rows, 7 in the
 * same millisecond, 2 later.
 */
static void test_mcp_timeline_is_centred_among_rows_of_one_millisecond(void **state)
{
    struct fx *f = *state;
    json_t *list = json_array();
    static const char *const words[] = {"amber", "basil", "cedar", "delta", "ember", "fjord",
                                        "grove", "heath", "inlet", "jetty", "kelp"};
    for (int i = 0; i < 11; i++) {
        json_int_t at = 1700000000000LL + (i < 2 ? i - 2 : i > 8 ? i - 8 : 0) * 60000;
        char title[80];
        snprintf(title, sizeof title, "%s notes on the %s subsystem", words[i], words[10 - i]);
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:I,s:I}", "project", "proj_test",
                                              "type", "change", "title", title, "created_at", at,
                                              "updated_at", at));
    }
    json_t *body = json_pack("{s:o}", "observations", list);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct mnemo_uhttp_resp r;
    assert_int_equal(mnemo_uhttp_call(f->sock, "POST", "/v1/observations/import", text,
                                      strlen(text), mnemo_deadline_in_ms(10000), &r, NULL),
                     0);
    free(text);
    if (r.status != 200)
        fail_msg("import answered %d: %s", r.status, r.body != NULL ? r.body : "");
    mnemo_uhttp_resp_release(&r);

    /* The ids in time order (import order); find them through the listing. */
    json_t *res = call(f, "search", "{\"limit\":20}");
    expect_ok(res);
    json_int_t ids[11];
    for (int i = 0; i < 11; i++) {
        char needle[80];
        snprintf(needle, sizeof needle, "] %s notes", words[i]);
        const char *p = strstr(text_of(res), needle);
        assert_non_null(p);
        while (p > text_of(res) && *p != '#')
            p--;
        ids[i] = strtoll(p + 1, NULL, 10);
        if (i > 0)
            assert_true(ids[i] > ids[i - 1]);
    }
    json_decref(res);

    /* Anchored on each row of the millisecond, two before and two after, exactly. */
    for (int a = 2; a <= 8; a++) {
        char args[128];
        snprintf(args, sizeof args, "{\"anchor\":%lld,\"depth_before\":2,\"depth_after\":2}",
                 (long long)ids[a]);
        res = call(f, "timeline", args);
        expect_ok(res);
        const char *t = text_of(res);
        for (int i = 0; i < 11; i++)
            expect_listed(t, ids[i], i >= a - 2 && i <= a + 2);
        for (int i = a - 2; i < a + 2; i++)
            assert_true(pos_of(t, ids[i]) < pos_of(t, ids[i + 1]));
        json_decref(res);
    }
}

/* A worker that rate-limits answers 429: the tool says to wait and retry, not "refused". */
static void test_mcp_rate_limited_worker_asks_the_model_to_wait(void **state)
{
    struct fx *f = *state;
    int limited = 0;
    for (int i = 0; i < 20 && !limited; i++) {
        json_t *res = call(f, "memory_admin", "{\"action\":\"stats\"}");
        if (json_is_true(json_object_get(res, "isError"))) {
            assert_non_null(strstr(text_of(res), "rate-limiting"));
            assert_non_null(strstr(text_of(res), "wait a few seconds"));
            limited = 1;
        }
        json_decref(res);
    }
    assert_true(limited);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mcp_tools_against_a_real_worker, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcp_projects_stay_apart_unless_every_project_is_asked,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcp_timeline_is_centred_among_rows_of_one_millisecond,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcp_rate_limited_worker_asks_the_model_to_wait,
                                        setup_rate_limited, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
