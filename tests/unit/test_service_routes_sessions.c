/*
 * test_service_routes_sessions.c - the hook-facing routes called directly: sessions (start by
 * project or cwd, prompts with privacy and dedup, end, summary, list) and the event queue
 * (append with payload redaction and session linking, list, retry).
 */
#include "test_service_routes_fixture.h"

#include "memory/events.h"
#include "memory/project.h"
#include "memory/prompt.h"
#include "memory/session.h"
#include "memory/summary.h"

#define START "{\"agent\":\"claude\",\"agent_session_id\":\"s-1\",\"project\":\"p1\"}"

static int64_t start_session(struct rt_fixture *f)
{
    int st = rt_call(f, route_session_start, "/v1/sessions", NULL, START);
    assert_true(st == 201 || st == 200);
    return (int64_t)json_integer_value(json_object_get(rt_get(f, "session"), "id"));
}

static void test_routes_session_start_is_idempotent(void **state)
{
    struct rt_fixture *f = *state;
    assert_int_equal(rt_call(f, route_session_start, "/v1/sessions", NULL, START), 201);
    assert_true(json_is_true(rt_get(f, "created")));
    json_t *s = rt_get(f, "session");
    int64_t id = (int64_t)json_integer_value(json_object_get(s, "id"));
    assert_string_equal(json_string_value(json_object_get(s, "project")), "p1");
    assert_string_equal(json_string_value(json_object_get(s, "status")), "active");
    assert_int_equal(json_integer_value(json_object_get(s, "prompt_count")), 0);

    assert_int_equal(rt_call(f, route_session_start, "/v1/sessions", NULL, START), 200);
    assert_false(json_is_true(rt_get(f, "created")));
    assert_int_equal(json_integer_value(json_object_get(rt_get(f, "session"), "id")), id);
}

static void test_routes_session_start_takes_the_project_from_cwd(void **state)
{
    struct rt_fixture *f = *state;
    char body[1024], want[MNEMO_PROJECT_SIZE];

    assert_int_equal(mnemo_project_identify(f->dir.path, NULL, want, sizeof want, NULL), 0);
    snprintf(body, sizeof body, "{\"agent\":\"codex\",\"agent_session_id\":\"c-9\",\"cwd\":\"%s\"}",
             f->dir.path);
    assert_int_equal(rt_call(f, route_session_start, "/v1/sessions", NULL, body), 201);
    json_t *s = rt_get(f, "session");
    assert_string_equal(json_string_value(json_object_get(s, "project")), want);
    assert_string_equal(json_string_value(json_object_get(s, "cwd")), f->dir.path);
}

static void test_routes_session_start_rejects_bad_input(void **state)
{
    struct rt_fixture *f = *state;
    rt_call(f, route_session_start, "/v1/sessions", NULL,
            "{\"agent_session_id\":\"s\",\"project\":\"p\"}");
    rt_assert_error(f, 400, "'agent'");
    rt_call(f, route_session_start, "/v1/sessions", NULL,
            "{\"agent\":\"claude\",\"project\":\"p\"}");
    rt_assert_error(f, 400, "'agent_session_id'");
    rt_call(f, route_session_start, "/v1/sessions", NULL,
            "{\"agent\":\"claude\",\"agent_session_id\":\"s\"}");
    rt_assert_error(f, 400, "'project' or 'cwd'");
    rt_call(f, route_session_start, "/v1/sessions", NULL,
            "{\"agent\":\"claude\",\"agent_session_id\":\"s\",\"cwd\":\"/no/such/dir/here\"}");
    rt_assert_error(f, 400, "'cwd'");
    rt_call(f, route_session_start, "/v1/sessions", NULL,
            "{\"agent\":\"Claude Code!\",\"agent_session_id\":\"s\",\"project\":\"p\"}");
    assert_int_equal(f->status, 400);
}

static void test_routes_session_prompt_cleans_counts_and_dedups(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32];
    int64_t sid = start_session(f);
    snprintf(idb, sizeof idb, "%lld", (long long)sid);

    assert_int_equal(rt_call(f, route_session_prompt, "/v1/sessions/x/prompts", idb,
                             "{\"text\":\"deploy with key AKIAIOSFODNN7EXAMPLE please\"}"),
                     200);
    assert_int_equal(json_integer_value(rt_get(f, "number")), 1);
    assert_true(json_is_true(rt_get(f, "stored")));
    struct mnemo_prompt p;
    assert_int_equal(mnemo_prompt_get(f->w.st, sid, 1, &p, NULL), 0);
    assert_null(strstr(p.text, "AKIAIOSFODNN7EXAMPLE"));
    assert_non_null(strstr(p.text, "[REDACTED:aws_access_key]"));
    mnemo_prompt_release(&p);

    assert_int_equal(rt_call(f, route_session_prompt, "/v1/sessions/x/prompts", idb,
                             "{\"text\":\"deploy with key AKIAIOSFODNN7EXAMPLE please\"}"),
                     200);
    assert_true(json_is_true(rt_get(f, "duplicate")));
    assert_int_equal(json_integer_value(rt_get(f, "number")), 1);

    /* Private prompts are counted, not stored. */
    assert_int_equal(rt_call(f, route_session_prompt, "/v1/sessions/x/prompts", idb,
                             "{\"text\":\"<private>my password</private>\"}"),
                     200);
    assert_int_equal(json_integer_value(rt_get(f, "number")), 2);
    assert_false(json_is_true(rt_get(f, "stored")));
    assert_int_equal(rt_call(f, route_session_prompt, "/v1/sessions/x/prompts", idb,
                             "{\"text\":\"anything\",\"private\":true}"),
                     200);
    assert_int_equal(json_integer_value(rt_get(f, "number")), 3);
    assert_false(json_is_true(rt_get(f, "stored")));
    assert_int_equal(mnemo_prompt_get(f->w.st, sid, 3, &p, NULL), MNEMO_ENOTFOUND);

    assert_int_equal(
        rt_call(f, route_session_prompt, "/v1/sessions/x/prompts", "9999", "{\"text\":\"hi\"}"),
        404);
    rt_call(f, route_session_prompt, "/v1/sessions/x/prompts", "abc", "{\"text\":\"hi\"}");
    rt_assert_error(f, 400, "positive integer");
    rt_call(f, route_session_prompt, "/v1/sessions/x/prompts", idb, "{}");
    rt_assert_error(f, 400, "'text'");
    rt_call(f, route_session_prompt, "/v1/sessions/x/prompts", idb,
            "{\"text\":\"hi\",\"private\":\"yes\"}");
    rt_assert_error(f, 400, "'private'");
}

static void test_routes_session_end_and_summary(void **state)
{
    struct rt_fixture *f = *state;
    char idb[32];
    int64_t sid = start_session(f);
    snprintf(idb, sizeof idb, "%lld", (long long)sid);

    rt_call(f, route_session_end, "/v1/sessions/x/end", idb, "{\"status\":\"paused\"}");
    rt_assert_error(f, 400, "'status'");
    assert_int_equal(rt_call(f, route_session_end, "/v1/sessions/x/end", "4444", NULL), 404);
    assert_int_equal(
        rt_call(f, route_session_end, "/v1/sessions/x/end", idb, "{\"status\":\"failed\"}"), 200);
    json_t *s = rt_get(f, "session");
    assert_string_equal(json_string_value(json_object_get(s, "status")), "failed");
    assert_true(json_integer_value(json_object_get(s, "ended_at")) > 0);

    assert_int_equal(rt_call(f, route_session_summary, "/v1/sessions/x/summary", idb,
                             "{\"request\":\"add export\",\"learned\":\"token "
                             "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 works\"}"),
                     201);
    int64_t sum_id = (int64_t)json_integer_value(rt_get(f, "id"));
    struct mnemo_summary sm;
    assert_int_equal(mnemo_summary_get(f->w.st, sum_id, &sm, NULL), 0);
    assert_string_equal(sm.request, "add export");
    assert_string_equal(sm.project, "p1");
    assert_null(strstr(sm.learned, "ghp_"));
    assert_non_null(strstr(sm.learned, "[REDACTED:"));
    mnemo_summary_release(&sm);

    rt_call(f, route_session_summary, "/v1/sessions/x/summary", idb, "{}");
    assert_int_equal(f->status, 400);
    rt_call(f, route_session_summary, "/v1/sessions/x/summary", idb, "{\"notes\":3}");
    rt_assert_error(f, 400, "'notes'");
    assert_int_equal(
        rt_call(f, route_session_summary, "/v1/sessions/x/summary", "777", "{\"notes\":\"n\"}"),
        404);
}

static void test_routes_session_list_filters_and_bounds(void **state)
{
    struct rt_fixture *f = *state;
    start_session(f);
    assert_int_equal(rt_call(f, route_session_start, "/v1/sessions", NULL,
                             "{\"agent\":\"claude\",\"agent_session_id\":\"s-2\","
                             "\"project\":\"p2\"}"),
                     201);
    assert_int_equal(rt_call(f, route_session_list, "/v1/sessions", NULL, NULL), 200);
    assert_int_equal(json_array_size(rt_get(f, "sessions")), 2);
    assert_int_equal(rt_call(f, route_session_list, "/v1/sessions?project=p2", NULL, NULL), 200);
    assert_int_equal(json_array_size(rt_get(f, "sessions")), 1);
    assert_int_equal(rt_call(f, route_session_list, "/v1/sessions?limit=1", NULL, NULL), 200);
    assert_int_equal(json_array_size(rt_get(f, "sessions")), 1);
    rt_call(f, route_session_list, "/v1/sessions?limit=5000", NULL, NULL);
    rt_assert_error(f, 400, "'limit'");
}

/* The payload of the only queued event (malloc'd), with its session id. */
static char *only_event_payload(struct rt_fixture *f, int64_t *session_id)
{
    struct mnemo_event ev[2];
    size_t n = 0;
    assert_int_equal(mnemo_events_pending(f->w.st, 0, ev, 2, &n, NULL), 0);
    assert_int_equal(n, 1);
    char *p = strdup(ev[0].payload);
    *session_id = ev[0].session_id;
    mnemo_event_release(&ev[0]);
    return p;
}

static void test_routes_event_append_redacts_the_payload_and_keeps_it_json(void **state)
{
    struct rt_fixture *f = *state;
    assert_int_equal(
        rt_call(f, route_event_append, "/v1/events", NULL,
                "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"s-7\","
                "\"project\":\"p1\",\"payload\":{\"tool_name\":\"Bash\",\"tool_input\":{"
                "\"command\":\"export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\"},"
                "\"tool_response\":{\"stdout\":[\"line\\n"
                "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\\tx\"],\"quote\":\"say \\\"hi\\\"\"}}}"),
        202);
    assert_true(json_integer_value(rt_get(f, "id")) > 0);
    assert_int_equal(atomic_load(&f->w.events_appended), 1);

    int64_t sid = 0;
    char *payload = only_event_payload(f, &sid);
    assert_null(strstr(payload, "AKIAIOSFODNN7EXAMPLE"));
    assert_null(strstr(payload, "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"));
    json_t *j = json_loads(payload, 0, NULL);
    free(payload);
    assert_non_null(j);
    const char *cmd =
        json_string_value(json_object_get(json_object_get(j, "tool_input"), "command"));
    assert_non_null(cmd);
    assert_non_null(strstr(cmd, "[REDACTED:"));
    json_t *resp = json_object_get(j, "tool_response");
    assert_string_equal(json_string_value(json_object_get(resp, "quote")), "say \"hi\"");
    assert_string_equal(json_string_value(json_object_get(j, "tool_name")), "Bash");
    json_decref(j);

    /* A secret recognisable only by its key is caught in the dumped document. */
    assert_int_equal(mnemo_events_done(f->w.st, 1, 0, NULL), 0);
    assert_int_equal(rt_call(f, route_event_append, "/v1/events", NULL,
                             "{\"agent\":\"claude\",\"kind\":\"stop\",\"payload\":{\"env\":{"
                             "\"DB_PASSWORD\":\"Zx9qL2mP8vR4tY7w\"},\"n\":[1,2.5,true,null]}}"),
                     202);
    int64_t sid2 = -1;
    payload = only_event_payload(f, &sid2);
    assert_null(strstr(payload, "Zx9qL2mP8vR4tY7w"));
    assert_non_null(strstr(payload, "[REDACTED:"));
    assert_non_null(strstr(payload, "\"n\":[1,2.5,true,null]"));
    j = json_loads(payload, 0, NULL);
    free(payload);
    assert_non_null(j);
    json_decref(j);

    /* The event arrived before its session: the session was started and linked. */
    assert_true(sid > 0);
    struct mnemo_session s;
    assert_int_equal(mnemo_session_get(f->w.st, sid, &s, NULL), 0);
    assert_string_equal(s.project, "p1");
    assert_string_equal(s.agent_session_id, "s-7");
}

static void test_routes_event_append_rejects_bad_events_and_writes_nothing(void **state)
{
    struct rt_fixture *f = *state;
    rt_call(f, route_event_append, "/v1/events", NULL,
            "{\"agent\":\"claude\",\"kind\":\"stop\",\"payload\":\"text\"}");
    rt_assert_error(f, 400, "'payload'");
    rt_call(f, route_event_append, "/v1/events", NULL, "{\"agent\":\"claude\",\"payload\":{}}");
    rt_assert_error(f, 400, "'kind'");
    rt_call(f, route_event_append, "/v1/events", NULL, "{\"kind\":\"stop\",\"payload\":{}}");
    rt_assert_error(f, 400, "'agent'");
    rt_call(f, route_event_append, "/v1/events", NULL,
            "{\"agent\":\"claude\",\"kind\":\"stop\",\"session_id\":\"1\",\"payload\":{}}");
    rt_assert_error(f, 400, "'session_id'");
    rt_call(f, route_event_append, "/v1/events", NULL,
            "{\"agent\":\"claude\",\"kind\":\"stop\",\"agent_session_id\":\"z\","
            "\"project\":\"../x\",\"payload\":{}}");
    rt_assert_error(f, 400, "'project'");
    struct mnemo_events_stats es;
    assert_int_equal(mnemo_events_stats(f->w.st, &es, NULL), 0);
    assert_int_equal(es.pending + es.done + es.failed, 0);

    /* An unknown cwd does not lose the event: it is queued without a session. */
    assert_int_equal(rt_call(f, route_event_append, "/v1/events", NULL,
                             "{\"agent\":\"claude\",\"kind\":\"stop\",\"agent_session_id\":\"z\","
                             "\"cwd\":\"/no/such/place\",\"payload\":{\"a\":1}}"),
                     202);
    int64_t sid = -1;
    free(only_event_payload(f, &sid));
    assert_int_equal(sid, 0);
}

static void test_routes_event_list_and_retry(void **state)
{
    struct rt_fixture *f = *state;
    assert_int_equal(rt_call(f, route_event_append, "/v1/events", NULL,
                             "{\"agent\":\"claude\",\"kind\":\"stop\",\"payload\":{}}"),
                     202);
    int64_t id = (int64_t)json_integer_value(rt_get(f, "id"));
    assert_int_equal(rt_call(f, route_event_list, "/v1/events?status=pending", NULL, NULL), 200);
    json_t *evs = rt_get(f, "events");
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 0), "kind")), "stop");
    rt_call(f, route_event_list, "/v1/events?status=lost", NULL, NULL);
    rt_assert_error(f, 400, "'status'");
    rt_call(f, route_event_list, "/v1/events?limit=0", NULL, NULL);
    rt_assert_error(f, 400, "'limit'");

    int dead = 0;
    for (int i = 0; i < MNEMO_EVENTS_MAX_ATTEMPTS; i++)
        assert_int_equal(mnemo_events_fail(f->w.st, id, "boom", 0, &dead, NULL), 0);
    assert_true(dead);
    assert_int_equal(rt_call(f, route_event_list, "/v1/events?status=failed", NULL, NULL), 200);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(rt_get(f, "events"), 0), "last_error")),
        "boom");

    rt_call(f, route_event_retry, "/v1/events/retry", NULL, "{\"id\":\"x\"}");
    rt_assert_error(f, 400, "'id'");
    assert_int_equal(rt_call(f, route_event_retry, "/v1/events/retry", NULL, NULL), 200);
    assert_int_equal(json_integer_value(rt_get(f, "requeued")), 1);
    assert_int_equal(rt_call(f, route_event_retry, "/v1/events/retry", NULL, "{}"), 200);
    assert_int_equal(json_integer_value(rt_get(f, "requeued")), 0);
}

static void test_routes_event_append_of_a_large_payload_stays_fast(void **state)
{
    struct rt_fixture *f = *state;
    /* A Bash tool event with 32 KiB of output, the usual large case for a hook. */
    size_t cap = 40 * 1024;
    char *body = malloc(cap);
    assert_non_null(body);
    size_t n = (size_t)snprintf(body, cap,
                                "{\"agent\":\"claude\",\"kind\":\"post-tool-use\","
                                "\"payload\":{\"tool_name\":\"Bash\",\"tool_response\":{"
                                "\"stdout\":\"");
    while (n < 32 * 1024)
        n += (size_t)snprintf(body + n, cap - n, "line %zu of build output ok\\n", n);
    snprintf(body + n, cap - n, "\"}}}");
    int64_t best = INT64_MAX;
    for (int i = 0; i < 20; i++) {
        int64_t t0 = mnemo_clock_mono_ns();
        assert_int_equal(rt_call(f, route_event_append, "/v1/events", NULL, body), 202);
        int64_t dt = mnemo_clock_mono_ns() - t0;
        best = dt < best ? dt : best;
    }
    free(body);
    print_message("event append (32 KiB payload) best of 20: %.3f ms\n", (double)best / 1e6);
    assert_true(best < INT64_C(200) * 1000 * 1000); /* generous: sanitizers, loaded CI */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_session_start_is_idempotent, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_session_start_takes_the_project_from_cwd,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_session_start_rejects_bad_input, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_session_prompt_cleans_counts_and_dedups,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_session_end_and_summary, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_session_list_filters_and_bounds, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(
            test_routes_event_append_redacts_the_payload_and_keeps_it_json, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(
            test_routes_event_append_rejects_bad_events_and_writes_nothing, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_event_list_and_retry, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_event_append_of_a_large_payload_stays_fast,
                                        rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
