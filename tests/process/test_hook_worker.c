/*
 * test_hook_worker.c - `mnemo hook` against a real worker (`mnemo serve`): a prompt gets the
 * memories as Claude Code's additionalContext, session-start gets the index, post-tool-use is
 * queued (GET /v1/events shows it), and stop reads the transcript's last messages, which the
 * capture thread turns into the session summary. Also the other agents' output shapes.
 */
#include "test_hook_procs.h"

#include <sqlite3.h>

#include "memory/project.h"

struct hw {
    struct fixture *f;
    char proj[600];                   /* the project directory (a git repository) */
    char project[MNEMO_PROJECT_SIZE]; /* its identity */
};

static int hw_setup(void **state)
{
    setup(state);
    struct fixture *f = *state;
    struct hw *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->f = f;
    tu_path(&f->dir, "proj", h->proj, sizeof h->proj);
    char git[700];
    snprintf(git, sizeof git, "%s/.git", h->proj);
    assert_int_equal(mkdir(h->proj, 0700), 0);
    assert_int_equal(mkdir(git, 0700), 0);
    assert_int_equal(mnemo_project_identify(h->proj, NULL, h->project, sizeof h->project, NULL), 0);
    serve(f);
    *state = h;
    return 0;
}

static int hw_teardown(void **state)
{
    struct hw *h = *state;
    void *fs = h->f;
    free(h);
    return teardown(&fs);
}

static const char *const no_autostart[] = {"MNEMO_AUTOSTART=0", NULL};

/* Stores an observation in h's project over the socket; returns its id. */
static int64_t add_obs(struct hw *h, const char *title, const char *narrative)
{
    char *resp = NULL;
    json_t *b = json_pack("{s:s,s:s,s:s,s:s}", "project", h->project, "type", "bugfix", "title",
                          title, "narrative", narrative);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    long code = http_request(h->f->sock, "POST", "http://localhost/v1/observations", body, &resp);
    free(body);
    if (code != 201)
        fail_msg("create answered %ld: %s", code, resp ? resp : "");
    json_t *j = json_loads(resp, 0, NULL);
    free(resp);
    int64_t id = (int64_t)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    return id;
}

/* The additionalContext of a Claude Code hook output for hookEventName, or fails. */
static const char *claude_context(json_t *out, const char *event_name)
{
    json_t *hso = json_object_get(out, "hookSpecificOutput");
    const char *name = json_string_value(json_object_get(hso, "hookEventName"));
    if (name == NULL || strcmp(name, event_name) != 0)
        fail_msg("no hookSpecificOutput for %s", event_name);
    const char *ctx = json_string_value(json_object_get(hso, "additionalContext"));
    assert_non_null(ctx);
    return ctx;
}

static void test_hook_prompt_gets_the_memories_as_additional_context(void **state)
{
    struct hw *h = *state;
    struct hook_result r;
    add_obs(h, "parser crash on empty input", "the lexer read past the end of the buffer");
    char *in = claude_payload("user-prompt-submit", "sess-1", h->proj);
    hook_text(h->f, no_autostart, "user-prompt-submit", "claude", in, &r);
    free(in);
    expect_in_time(&r, 1000);
    json_t *out = json_loads(r.out, 0, NULL);
    if (out == NULL) {
        dump_hook_log(h->f);
        fail_msg("stdout is not JSON: '%s'", r.out);
    }
    const char *ctx = claude_context(out, "UserPromptSubmit");
    cu_expect_contains(ctx, "parser crash on empty input");
    cu_expect_contains(ctx, "<mnemo-memory");
    json_decref(out);
    assert_string_equal(r.err, "");
    hook_result_free(&r);

    /* A prompt nothing matches: no output at all (Claude Code's minimal output). */
    char *in2 = claude_payload("user-prompt-submit", "sess-1", h->proj);
    json_t *j = json_loads(in2, 0, NULL);
    free(in2);
    json_object_set_new(j, "prompt", json_string("zebra quokka axolotl"));
    in2 = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    hook_text(h->f, no_autostart, "user-prompt-submit", "claude", in2, &r);
    free(in2);
    expect_in_time(&r, 1000);
    assert_string_equal(r.out, "");
    hook_result_free(&r);
}

static void test_hook_session_start_gets_the_index(void **state)
{
    struct hw *h = *state;
    struct hook_result r;
    char want[64];
    int64_t id = add_obs(h, "wal checkpoint truncates", "the checkpointer truncates the wal");
    snprintf(want, sizeof want, "#%lld", (long long)id);
    char *in = claude_payload("session-start", "sess-2", h->proj);
    hook_text(h->f, no_autostart, "session-start", "claude", in, &r);
    expect_in_time(&r, 2000);
    json_t *out = json_loads(r.out, 0, NULL);
    assert_non_null(out);
    const char *ctx = claude_context(out, "SessionStart");
    cu_expect_contains(ctx, "wal checkpoint truncates");
    cu_expect_contains(ctx, want);
    json_decref(out);
    hook_result_free(&r);

    /* Cursor takes the same index as sessionStart's additional_context. */
    hook_text(h->f, no_autostart, "session-start", "cursor", in, &r);
    free(in);
    expect_in_time(&r, 2000);
    out = json_loads(r.out, 0, NULL);
    assert_non_null(out);
    const char *cc = json_string_value(json_object_get(out, "additional_context"));
    assert_non_null(cc);
    cu_expect_contains(cc, "wal checkpoint truncates");
    json_decref(out);
    hook_result_free(&r);
}

static void test_hook_post_tool_use_queues_the_event(void **state)
{
    struct hw *h = *state;
    struct hook_result r;
    char *body = NULL;
    char *in = claude_payload("post-tool-use", "sess-3", h->proj);
    hook_text(h->f, no_autostart, "post-tool-use", "claude", in, &r);
    free(in);
    expect_in_time(&r, 300);
    assert_string_equal(r.out, ""); /* PostToolUse output stays empty */
    hook_result_free(&r);

    assert_int_equal(http_get(h->f->sock, "http://localhost/v1/events?limit=10", &body), 200);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    json_t *events = json_object_get(j, "events");
    assert_true(json_array_size(events) >= 1);
    json_t *e = json_array_get(events, 0);
    assert_string_equal(json_string_value(json_object_get(e, "kind")), "post-tool-use");
    assert_string_equal(json_string_value(json_object_get(e, "agent")), "claude");
    json_decref(j);

    /* Gemini's AfterTool payload lands in the same queue, in Claude Code's shape. */
    hook_text(h->f, no_autostart, "post-tool-use", "gemini",
              "{\"session_id\":\"g-1\",\"cwd\":\"/tmp\",\"hook_event_name\":\"AfterTool\","
              "\"tool_name\":\"run_shell_command\",\"tool_input\":{\"command\":\"ls\"},"
              "\"tool_response\":{\"llmContent\":\"a\"}}",
              &r);
    expect_in_time(&r, 300);
    assert_string_equal(r.out, "{}\n");
    hook_result_free(&r);
    assert_int_equal(http_get(h->f->sock, "http://localhost/v1/events?limit=1", &body), 200);
    cu_expect_contains(body, "\"agent\":\"gemini\"");
    free(body);
}

/* Waits for a summary of the database whose completed text holds needle; returns it. */
static char *wait_summary(struct hw *h, const char *needle)
{
    int64_t end = tu_now_ms() + 15000;
    char *found = NULL;
    while (found == NULL && tu_now_ms() < end) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        if (sqlite3_open_v2(h->f->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "SELECT request || ' | ' || completed FROM summaries", -1, &st,
                               NULL) == SQLITE_OK) {
            while (found == NULL && sqlite3_step(st) == SQLITE_ROW) {
                const char *t = (const char *)sqlite3_column_text(st, 0);
                if (t != NULL && strstr(t, needle) != NULL)
                    found = strdup(t);
            }
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        if (found == NULL)
            usleep(50000);
    }
    return found;
}

static void test_hook_stop_sends_the_transcript_tail_for_the_summary(void **state)
{
    struct hw *h = *state;
    struct hook_result r;
    char tpath[700];
    tu_path(&h->f->dir, "transcript.jsonl", tpath, sizeof tpath);

    /* A transcript larger than the tail read, ending with the turn that matters. */
    struct mnemo_strbuf t;
    mnemo_strbuf_init(&t, 0);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(
            mnemo_strbuf_appendf(&t,
                                 "{\"type\":\"assistant\",\"message\":{\"content\":"
                                 "[{\"type\":\"text\",\"text\":\"old answer %d\"}]}}\n",
                                 i),
            0);
    assert_int_equal(
        mnemo_strbuf_puts(&t, "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":"
                              "\"Please fix the flaky lexer test\"}}\n"
                              "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":"
                              "\"tool_use\",\"name\":\"Edit\"}]}}\n"
                              "{\"type\":\"user\",\"message\":{\"content\":[{\"type\":"
                              "\"tool_result\",\"content\":\"ok\"}]}}\n"
                              "not json at all\n"
                              "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":"
                              "\"text\",\"text\":\"Fixed the lexer: it no longer reads past the "
                              "end of an empty buffer.\"}]}}\n"),
        0);
    tu_file_write(tpath, t.data, t.len);
    mnemo_strbuf_release(&t);

    char *prompt = claude_payload("user-prompt-submit", "sess-4", h->proj);
    hook_text(h->f, no_autostart, "user-prompt-submit", "claude", prompt, &r);
    free(prompt);
    expect_in_time(&r, 1000);
    hook_result_free(&r);

    json_t *j = json_pack("{s:s,s:s,s:s,s:b}", "session_id", "sess-4", "cwd", h->proj,
                          "transcript_path", tpath, "stop_hook_active", 0);
    char *in = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    hook_text(h->f, no_autostart, "stop", "claude", in, &r);
    free(in);
    expect_in_time(&r, 1000);
    assert_string_equal(r.out, ""); /* never a bare {"continue":true} from Stop */
    hook_result_free(&r);

    char *s = wait_summary(h, "it no longer reads past the end");
    if (s == NULL)
        fail_msg("no summary with the transcript's last assistant message within 15 s");
    /* The request is the session's first prompt, recorded by the prompt hook. */
    cu_expect_contains(s, "why does the parser crash");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_prompt_gets_the_memories_as_additional_context,
                                        hw_setup, hw_teardown),
        cmocka_unit_test_setup_teardown(test_hook_session_start_gets_the_index, hw_setup,
                                        hw_teardown),
        cmocka_unit_test_setup_teardown(test_hook_post_tool_use_queues_the_event, hw_setup,
                                        hw_teardown),
        cmocka_unit_test_setup_teardown(test_hook_stop_sends_the_transcript_tail_for_the_summary,
                                        hw_setup, hw_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
