/*
 * test_service_routes_hooks.c - POST /v1/hooks/{event} called directly: session-start starts
 * the session and returns the index, user-prompt-submit returns the per-prompt block and
 * records the cleaned prompt, the other events are queued (redacted, long strings cut) and
 * session-end ends the session; bad events and bodies are refused.
 */
#include "test_service_routes_fixture.h"

#include <sqlite3.h>

#include "memory/events.h"
#include "memory/project.h"
#include "memory/prompt.h"
#include "memory/session.h"
#include "service/routes_hooks.h"

/* Calls the hook route for event with body, as the server would. Returns the status. */
static int hook(struct rt_fixture *f, const char *event, const char *body)
{
    struct mnemo_http_req req;
    char path[128];
    json_t *parsed = NULL;

    memset(&req, 0, sizeof req);
    snprintf(path, sizeof path, "/v1/hooks/%s", event);
    req.method = "POST";
    req.path = path;
    req.route = "/v1/hooks/{event}";
    req.transport = MNEMO_HTTP_UNIX;
    req.n_params = 1;
    req.param_names[0] = "event";
    req.param_values[0] = event;
    if (body != NULL) {
        parsed = json_loads(body, JSON_DECODE_ANY, NULL);
        req.body = parsed;
        req.raw_body = body;
        req.raw_len = strlen(body);
    }
    rt_resp_release(&f->resp);
    int rc = route_hook_post(&f->w, &req, &f->resp);
    if (rc != 0) {
        assert_null(f->resp.json);
        mnemo_http_resp_error(&f->resp, 0, rc, NULL);
    }
    json_decref(parsed);
    f->status = f->resp.status == 0 ? 200 : f->resp.status;
    return f->status;
}

static void seed(struct rt_fixture *f)
{
    rt_create(f, "{\"project\":\"p1\",\"type\":\"bugfix\",\"title\":\"parser crash on empty "
                 "input\",\"narrative\":\"the lexer read past the end\"}");
    rt_create(f, "{\"project\":\"p2\",\"type\":\"feature\",\"title\":\"wal size gauge\","
                 "\"narrative\":\"metrics show the wal bytes\"}");
}

/* The newest event in the queue (released by the caller). */
static void newest_event(struct rt_fixture *f, struct mnemo_event *out)
{
    struct mnemo_event *list = NULL;
    size_t n = 0;
    assert_int_equal(mnemo_events_list(f->w.st, NULL, 1, &list, &n, NULL), 0);
    assert_int_equal(n, 1);
    *out = list[0];
    memset(&list[0], 0, sizeof list[0]);
    mnemo_events_list_free(list, n);
}

static void test_hooks_session_start_starts_the_session_and_returns_the_index(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_session s;
    seed(f);
    assert_int_equal(hook(f, "session-start",
                          "{\"agent\":\"claude\",\"session_id\":\"s-1\",\"project\":\"p1\","
                          "\"source\":\"startup\"}"),
                     200);
    const char *ctx = json_string_value(rt_get(f, "context"));
    assert_non_null(strstr(ctx, "parser crash on empty input"));
    assert_null(strstr(ctx, "wal size gauge")); /* another project's, not global */
    assert_int_equal(json_integer_value(rt_get(f, "shown")), 1);
    int64_t sid = (int64_t)json_integer_value(rt_get(f, "session_id"));
    assert_true(sid > 0);
    assert_int_equal(mnemo_session_find(f->w.st, "claude", "s-1", &s, NULL), 0);
    assert_int_equal(s.id, sid);
    assert_string_equal(s.project, "p1");

    /* Again (a resume): the same session. Without a session id: context, no session. */
    assert_int_equal(hook(f, "session-start",
                          "{\"agent\":\"claude\",\"session_id\":\"s-1\",\"project\":\"p1\"}"),
                     200);
    assert_int_equal(json_integer_value(rt_get(f, "session_id")), sid);
    assert_int_equal(hook(f, "session-start", "{\"agent\":\"claude\",\"project\":\"p1\"}"), 200);
    assert_true(json_is_null(rt_get(f, "session_id")));
    assert_int_equal(json_integer_value(rt_get(f, "shown")), 1);
}

static void test_hooks_session_start_derives_the_project_from_cwd(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_session s;
    char body[1024], want[MNEMO_PROJECT_SIZE];

    assert_int_equal(mnemo_project_identify(f->dir.path, NULL, want, sizeof want, NULL), 0);
    snprintf(body, sizeof body, "{\"agent\":\"codex\",\"session_id\":\"c-1\",\"cwd\":\"%s\"}",
             f->dir.path);
    assert_int_equal(hook(f, "session-start", body), 200);
    assert_string_equal(json_string_value(rt_get(f, "context")), ""); /* nothing stored yet */
    assert_int_equal(mnemo_session_find(f->w.st, "codex", "c-1", &s, NULL), 0);
    assert_string_equal(s.project, want);
    assert_string_equal(s.cwd, f->dir.path);
}

static void test_hooks_prompt_returns_the_block_and_records_the_prompt(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_session s;
    struct mnemo_prompt p;
    seed(f);
    assert_int_equal(hook(f, "user-prompt-submit",
                          "{\"agent\":\"claude\",\"session_id\":\"s-2\",\"project\":\"p1\","
                          "\"prompt\":\"why does the parser crash on empty input?\"}"),
                     200);
    const char *ctx = json_string_value(rt_get(f, "context"));
    assert_non_null(strstr(ctx, "<mnemo-memory"));
    assert_non_null(strstr(ctx, "parser crash on empty input"));
    assert_true(json_integer_value(rt_get(f, "shown")) >= 1);
    assert_int_equal(json_integer_value(rt_get(f, "prompt_number")), 1);
    assert_null(json_object_get(f->resp.json, "prompt_error"));

    /* The session was started by the prompt (no session-start before), and the prompt kept. */
    assert_int_equal(mnemo_session_find(f->w.st, "claude", "s-2", &s, NULL), 0);
    assert_int_equal(mnemo_prompt_get(f->w.st, s.id, 1, &p, NULL), 0);
    assert_string_equal(p.text, "why does the parser crash on empty input?");
    mnemo_prompt_release(&p);

    /* Nothing relevant: "" and the prompt still counts. */
    assert_int_equal(hook(f, "user-prompt-submit",
                          "{\"agent\":\"claude\",\"session_id\":\"s-2\",\"project\":\"p1\","
                          "\"prompt\":\"zebra quokka\"}"),
                     200);
    assert_string_equal(json_string_value(rt_get(f, "context")), "");
    assert_int_equal(json_integer_value(rt_get(f, "prompt_number")), 2);
}

static void test_hooks_prompt_keeps_private_text_out_of_search_and_store(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_session s;
    struct mnemo_prompt p;
    seed(f);
    assert_int_equal(hook(f, "user-prompt-submit",
                          "{\"agent\":\"claude\",\"session_id\":\"s-3\",\"project\":\"p1\","
                          "\"prompt\":\"<private>parser crash</private>\"}"),
                     200);
    assert_string_equal(json_string_value(rt_get(f, "context")), "");
    assert_int_equal(json_integer_value(rt_get(f, "prompt_number")), 1);
    assert_int_equal(mnemo_session_find(f->w.st, "claude", "s-3", &s, NULL), 0);
    assert_int_equal(s.prompt_counter, 1);
    assert_int_equal(mnemo_prompt_get(f->w.st, s.id, 1, &p, NULL), MNEMO_ENOTFOUND);

    /* A secret in a prompt is stored redacted. */
    assert_int_equal(hook(f, "user-prompt-submit",
                          "{\"agent\":\"claude\",\"session_id\":\"s-3\",\"project\":\"p1\","
                          "\"prompt\":\"use token ghp_abcdefghijklmnopqrstuvwxyz0123456789\"}"),
                     200);
    assert_int_equal(mnemo_prompt_get(f->w.st, s.id, 2, &p, NULL), 0);
    assert_null(strstr(p.text, "ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
    assert_non_null(strstr(p.text, "REDACTED"));
    mnemo_prompt_release(&p);
}

static void test_hooks_prompt_keeps_the_context_when_the_record_cannot_be_written(void **state)
{
    struct rt_fixture *f = *state;
    sqlite3 *db = NULL;
    seed(f);
    /* The session exists; then another connection holds the write lock past the store's wait. */
    assert_int_equal(hook(f, "session-start",
                          "{\"agent\":\"claude\",\"session_id\":\"s-9\",\"project\":\"p1\"}"),
                     200);
    assert_int_equal(sqlite3_open_v2(f->w.db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    int st = hook(f, "user-prompt-submit",
                  "{\"agent\":\"claude\",\"session_id\":\"s-9\",\"project\":\"p1\","
                  "\"prompt\":\"why does the parser crash on empty input?\"}");
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_int_equal(st, 200);
    assert_non_null(strstr(json_string_value(rt_get(f, "context")), "parser crash on empty input"));
    assert_int_equal(json_integer_value(rt_get(f, "prompt_number")), 0);
    assert_true(json_string_length(rt_get(f, "prompt_error")) > 0);
}

static void test_hooks_post_tool_use_queues_the_redacted_event(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_event e;
    struct mnemo_session s;
    assert_int_equal(hook(f, "post-tool-use",
                          "{\"agent\":\"claude\",\"session_id\":\"s-4\",\"project\":\"p1\","
                          "\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"export "
                          "GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\"},"
                          "\"tool_response\":{\"stdout\":\"ok\"}}"),
                     202);
    int64_t id = (int64_t)json_integer_value(rt_get(f, "event_id"));
    assert_true(id > 0);
    assert_null(json_object_get(f->resp.json, "id"));
    newest_event(f, &e);
    assert_int_equal(e.id, id);
    assert_string_equal(e.kind, "post-tool-use");
    assert_string_equal(e.agent, "claude");
    assert_string_equal(e.status, "pending");
    assert_non_null(strstr(e.payload, "\"tool_name\":\"Bash\""));
    assert_null(strstr(e.payload, "ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
    assert_null(strstr(e.payload, "\"agent\""));
    /* The event is linked to a session started for it, in the body's project. */
    assert_int_equal(mnemo_session_find(f->w.st, "claude", "s-4", &s, NULL), 0);
    assert_int_equal(e.session_id, s.id);
    assert_string_equal(s.project, "p1");
    mnemo_event_release(&e);
}

static void test_hooks_events_cut_long_strings(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_event e;
    size_t big = 3u << 20; /* over the queue's 1 MiB payload limit */
    json_t *b = json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "agent", "claude", "session_id", "s-5",
                          "project", "p1", "tool_name", "Bash", "tool_response", "stdout", "");
    char *text = malloc(big + 1);
    assert_non_null(b);
    assert_non_null(text);
    memset(text, 'y', big);
    text[big] = '\0';
    assert_int_equal(
        json_object_set_new(json_object_get(b, "tool_response"), "stdout", json_string(text)), 0);
    assert_int_equal(json_object_set_new(b, "last_assistant_message", json_string(text)), 0);
    free(text);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    assert_non_null(body);
    assert_int_equal(hook(f, "stop", body), 202);
    free(body);
    newest_event(f, &e);
    assert_string_equal(e.kind, "stop");
    json_t *p = json_loads(e.payload, 0, NULL);
    assert_non_null(p);
    assert_int_equal(
        json_string_length(json_object_get(json_object_get(p, "tool_response"), "stdout")),
        MNEMO_HOOKS_FIELD_MAX);
    assert_int_equal(json_string_length(json_object_get(p, "last_assistant_message")),
                     MNEMO_HOOKS_MESSAGE_MAX);
    json_decref(p);
    mnemo_event_release(&e);
}

static void test_hooks_session_end_queues_and_ends_the_session(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_session s;
    struct mnemo_event e;
    assert_int_equal(hook(f, "session-start",
                          "{\"agent\":\"claude\",\"session_id\":\"s-6\",\"project\":\"p1\"}"),
                     200);
    assert_int_equal(hook(f, "session-end",
                          "{\"agent\":\"claude\",\"session_id\":\"s-6\",\"project\":\"p1\","
                          "\"last_assistant_message\":\"All tests pass now.\"}"),
                     202);
    newest_event(f, &e);
    assert_string_equal(e.kind, "session-end");
    assert_non_null(strstr(e.payload, "All tests pass now."));
    mnemo_event_release(&e);
    assert_int_equal(mnemo_session_find(f->w.st, "claude", "s-6", &s, NULL), 0);
    assert_int_equal(s.status, MNEMO_SESSION_COMPLETED);

    /* The other queued events. */
    const char *kinds[] = {"subagent-stop", "pre-compact", "stop"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(hook(f, kinds[i], "{\"agent\":\"gemini\",\"session_id\":\"g\"}"), 202);
        newest_event(f, &e);
        assert_string_equal(e.kind, kinds[i]);
        assert_string_equal(e.agent, "gemini");
        mnemo_event_release(&e);
    }
}

/* The agent ran in a directory deleted since: the events are kept under a project all the same. */
static void test_hooks_events_from_a_deleted_cwd_are_stored(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_session s;
    struct mnemo_event e;
    char gone[600], body[1200], want[MNEMO_PROJECT_SIZE], needle[200];

    snprintf(gone, sizeof gone, "%s/deleted-worktree", f->dir.path);
    assert_int_equal(mnemo_project_name_for_path(gone, want, sizeof want, NULL), 0);
    snprintf(body, sizeof body,
             "{\"agent\":\"claude\",\"session_id\":\"gone-1\",\"cwd\":\"%s\","
             "\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"make\"}}",
             gone);
    assert_int_equal(hook(f, "post-tool-use", body), 202);
    assert_int_equal(mnemo_session_find(f->w.st, "claude", "gone-1", &s, NULL), 0);
    assert_string_equal(s.project, want);
    newest_event(f, &e);
    snprintf(needle, sizeof needle, "\"project\":\"%s\"", want);
    assert_non_null(strstr(e.payload, needle));
    mnemo_event_release(&e);
    snprintf(body, sizeof body,
             "{\"agent\":\"claude\",\"session_id\":\"gone-1\",\"cwd\":\"%s\","
             "\"prompt\":\"where did it go\"}",
             gone);
    assert_int_equal(hook(f, "user-prompt-submit", body), 200);
    assert_int_equal(json_integer_value(rt_get(f, "prompt_number")), 1);

    /* A session the worker knows keeps its project. */
    assert_int_equal(hook(f, "session-start",
                          "{\"agent\":\"claude\",\"session_id\":\"known\",\"project\":\"p1\"}"),
                     200);
    snprintf(body, sizeof body,
             "{\"agent\":\"claude\",\"session_id\":\"known\",\"cwd\":\"%s\","
             "\"last_assistant_message\":\"done\"}",
             gone);
    assert_int_equal(hook(f, "stop", body), 202);
    newest_event(f, &e);
    assert_non_null(strstr(e.payload, "\"project\":\"p1\""));
    mnemo_event_release(&e);
}

/* What `claude mcp list` sends: a SessionEnd with no session before it. */
static void test_hooks_session_end_of_an_unseen_session_records_nothing(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_session s;
    char body[1024];

    snprintf(body, sizeof body,
             "{\"agent\":\"claude\",\"session_id\":\"never-started\",\"cwd\":\"%s\","
             "\"transcript_path\":\"%s/no-such.jsonl\",\"source\":\"other\"}",
             f->dir.path, f->dir.path);
    assert_int_equal(hook(f, "session-end", body), 200);
    assert_int_equal(json_integer_value(rt_get(f, "event_id")), 0);
    assert_int_equal(hook(f, "session-end", "{\"agent\":\"claude\",\"project\":\"p1\"}"), 200);
    assert_int_equal(mnemo_session_find(f->w.st, "claude", "never-started", &s, NULL),
                     MNEMO_ENOTFOUND);
    struct mnemo_session *list = NULL;
    int n = 0;
    assert_int_equal(mnemo_session_list_recent(f->w.st, NULL, 10, &list, &n, NULL), 0);
    assert_int_equal(n, 0);
    free(list);
    struct mnemo_event *events = NULL;
    size_t ne = 0;
    assert_int_equal(mnemo_events_list(f->w.st, NULL, 10, &events, &ne, NULL), 0);
    assert_int_equal(ne, 0);
    mnemo_events_list_free(events, ne);
}

static void test_hooks_refuse_bad_events_and_bodies(void **state)
{
    struct rt_fixture *f = *state;
    hook(f, "pre-tool-use", "{\"agent\":\"claude\"}");
    rt_assert_error(f, 404, "'pre-tool-use'");
    hook(f, "stop", NULL);
    assert_int_equal(f->status, 400);
    hook(f, "stop", "[1]");
    assert_int_equal(f->status, 400);
    hook(f, "stop", "{\"session_id\":\"x\"}");
    rt_assert_error(f, 400, "'agent'");
    hook(f, "session-start", "{\"agent\":\"claude\",\"session_id\":\"x\"}");
    rt_assert_error(f, 400, "'project' or 'cwd'");
    hook(f, "user-prompt-submit", "{\"agent\":\"claude\",\"project\":\"p1\"}");
    rt_assert_error(f, 400, "'prompt'");
    hook(f, "user-prompt-submit",
         "{\"agent\":\"claude\",\"cwd\":\"no/such/dir/here\",\"prompt\":\"x\"}");
    rt_assert_error(f, 400, "'cwd'");
    hook(f, "post-tool-use", "{\"agent\":\"claude\",\"session_id\":7}");
    rt_assert_error(f, 400, "'session_id'");
    /* Nothing was queued by any of them. */
    struct mnemo_event *list = NULL;
    size_t n = 0;
    assert_int_equal(mnemo_events_list(f->w.st, NULL, 10, &list, &n, NULL), 0);
    assert_int_equal(n, 0);
    mnemo_events_list_free(list, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_hooks_session_start_starts_the_session_and_returns_the_index, rt_setup,
            rt_teardown),
        cmocka_unit_test_setup_teardown(test_hooks_session_start_derives_the_project_from_cwd,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_hooks_prompt_returns_the_block_and_records_the_prompt,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(
            test_hooks_prompt_keeps_private_text_out_of_search_and_store, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(
            test_hooks_prompt_keeps_the_context_when_the_record_cannot_be_written, rt_setup,
            rt_teardown),
        cmocka_unit_test_setup_teardown(test_hooks_post_tool_use_queues_the_redacted_event,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_hooks_events_cut_long_strings, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_hooks_session_end_queues_and_ends_the_session,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_hooks_events_from_a_deleted_cwd_are_stored, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_hooks_session_end_of_an_unseen_session_records_nothing,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_hooks_refuse_bad_events_and_bodies, rt_setup,
                                        rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
