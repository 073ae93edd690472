/*
 * test_agent_adapter.c - names, the output every agent accepts for every event (with and
 * without context), context escaping and the 10,000-character cap, and malformed input: never a
 * crash, always MNEMO_EINVAL with a message, and a minimal output that is still valid.
 * (Recorded payloads: test_agent_adapter_fixtures.c.)
 */
#include "testutil.h"

#include <jansson.h>

#include "agent/adapter.h"
#include "agent/adapter_int.h"
#include "util/strbuf.h"

static const enum mnemo_agent agents[] = {MNEMO_AGENT_CLAUDE, MNEMO_AGENT_CODEX, MNEMO_AGENT_GEMINI,
                                          MNEMO_AGENT_CURSOR};
#define N_AGENTS (sizeof agents / sizeof agents[0])
#define N_EVENTS (MNEMO_HOOK_PRE_COMPACT + 1)

/* ---- names ------------------------------------------------------------------------------ */

static void test_adapter_names_round_trip_and_unknown_ones_are_einval(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_AGENTS; i++) {
        enum mnemo_agent a;
        assert_int_equal(mnemo_agent_parse(mnemo_agent_name(agents[i]), &a), 0);
        assert_int_equal(a, agents[i]);
    }
    for (int e = 0; e < N_EVENTS; e++) {
        enum mnemo_hook_event got;
        assert_int_equal(mnemo_hook_event_parse(mnemo_hook_event_name(e), &got), 0);
        assert_int_equal(got, e);
    }
    enum mnemo_agent a = MNEMO_AGENT_CODEX;
    enum mnemo_hook_event ev = MNEMO_HOOK_STOP;
    assert_int_equal(mnemo_agent_parse("Claude", &a), MNEMO_EINVAL);
    assert_int_equal(mnemo_agent_parse("", &a), MNEMO_EINVAL);
    assert_int_equal(mnemo_agent_parse(NULL, &a), MNEMO_EINVAL);
    assert_int_equal(a, MNEMO_AGENT_CODEX);
    assert_int_equal(mnemo_hook_event_parse("UserPromptSubmit", &ev), MNEMO_EINVAL);
    assert_int_equal(mnemo_hook_event_parse("post_tool_use", &ev), MNEMO_EINVAL);
    assert_int_equal(ev, MNEMO_HOOK_STOP);
    assert_string_equal(mnemo_agent_name(MNEMO_AGENT_GEMINI), "gemini");
    assert_string_equal(mnemo_hook_event_name(MNEMO_HOOK_USER_PROMPT_SUBMIT), "user-prompt-submit");
    assert_string_equal(mnemo_agent_name((enum mnemo_agent)42), "unknown");
    assert_string_equal(mnemo_hook_event_name((enum mnemo_hook_event) - 1), "unknown");
}

/* ---- output shapes ---------------------------------------------------------------------- */

/* The output for (agent, event, context), as a malloc'd string. */
static char *output(enum mnemo_agent a, enum mnemo_hook_event e, const char *context)
{
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_adapter_output(a, e, context, &sb), 0);
    char *s = mnemo_strbuf_detach(&sb);
    assert_non_null(s);
    return s;
}

/* Parses one JSON object line ("...}\n": agents read one document) and returns it. */
static json_t *one_object(const char *where, const char *s)
{
    json_error_t je;
    size_t len = strlen(s);
    if (len < 2 || s[len - 1] != '\n' || memchr(s, '\n', len - 1) != NULL)
        fail_msg("%s: output is not one line ending in a newline: [%s]", where, s);
    json_t *j = json_loads(s, 0, &je);
    if (!json_is_object(j))
        fail_msg("%s: output is not a JSON object (%s): [%s]", where, je.text, s);
    return j;
}

/* Asserts out is {"hookSpecificOutput":{"hookEventName":name,"additionalContext":context}}
 * with no other member anywhere (Codex's schemas allow nothing else). */
static void expect_hook_specific(const char *where, const char *out, const char *name,
                                 const char *context)
{
    json_t *j = one_object(where, out);
    json_t *hso = json_object_get(j, "hookSpecificOutput");
    if (json_object_size(j) != 1 || !json_is_object(hso) || json_object_size(hso) != 2)
        fail_msg("%s: unexpected members: %s", where, out);
    assert_string_equal(json_string_value(json_object_get(hso, "hookEventName")), name);
    assert_string_equal(json_string_value(json_object_get(hso, "additionalContext")), context);
    json_decref(j);
}

static void expect_exact(const char *where, const char *out, const char *want)
{
    if (strcmp(out, want) != 0)
        fail_msg("%s: output [%s], expected [%s]", where, out, want);
}

/* What every agent must print for every event, with context ctx or none (NULL). */
static void check_output(enum mnemo_agent a, enum mnemo_hook_event e, const char *ctx)
{
    char where[128];
    int injects =
        ctx != NULL && (e == MNEMO_HOOK_SESSION_START || e == MNEMO_HOOK_USER_PROMPT_SUBMIT);
    char *out = output(a, e, ctx);

    snprintf(where, sizeof where, "%s %s %s context", mnemo_agent_name(a), mnemo_hook_event_name(e),
             ctx ? "with" : "without");
    switch (a) {
    case MNEMO_AGENT_CLAUDE:
    case MNEMO_AGENT_CODEX:
        if (!injects)
            expect_exact(where, out, ""); /* never a bare {"continue":true} */
        else
            expect_hook_specific(
                where, out, e == MNEMO_HOOK_SESSION_START ? "SessionStart" : "UserPromptSubmit",
                ctx);
        break;
    case MNEMO_AGENT_GEMINI:
        if (!injects)
            expect_exact(where, out, "{}\n");
        else
            expect_hook_specific(
                where, out, e == MNEMO_HOOK_SESSION_START ? "SessionStart" : "BeforeAgent", ctx);
        break;
    case MNEMO_AGENT_CURSOR:
        if (e == MNEMO_HOOK_USER_PROMPT_SUBMIT) {
            expect_exact(where, out,
                         "{\"continue\":true}\n"); /* beforeSubmitPrompt cannot inject */
        } else if (injects) {
            json_t *j = one_object(where, out);
            assert_int_equal(json_object_size(j), 1);
            assert_string_equal(json_string_value(json_object_get(j, "additional_context")), ctx);
            json_decref(j);
        } else {
            expect_exact(where, out, "{}\n");
        }
        break;
    }
    free(out);
}

static void test_adapter_every_agent_and_event_prints_what_the_agent_accepts(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_AGENTS; i++)
        for (int e = 0; e < N_EVENTS; e++) {
            check_output(agents[i], e, NULL);
            check_output(agents[i], e, "## mnemo\n- parser.c needs a semicolon (#42)");
        }
}

static void test_adapter_empty_or_blank_context_counts_as_none(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_AGENTS; i++)
        for (int e = 0; e < N_EVENTS; e++) {
            char *none = output(agents[i], e, NULL);
            char *empty = output(agents[i], e, "");
            char *blank = output(agents[i], e, " \n\t\r\n");
            assert_string_equal(empty, none);
            assert_string_equal(blank, none);
            free(none);
            free(empty);
            free(blank);
        }
}

static void test_adapter_output_reports_a_full_buffer(void **state)
{
    struct mnemo_strbuf sb;
    (void)state;
    mnemo_strbuf_init(&sb, 16);
    assert_int_equal(mnemo_adapter_output(MNEMO_AGENT_CLAUDE, MNEMO_HOOK_SESSION_START,
                                          "a context longer than sixteen bytes", &sb),
                     MNEMO_ETOOBIG);
    mnemo_strbuf_release(&sb);
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_adapter_output((enum mnemo_agent)9, MNEMO_HOOK_STOP, NULL, &sb),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_adapter_output(MNEMO_AGENT_CLAUDE, (enum mnemo_hook_event)9, NULL, &sb),
                     MNEMO_EINVAL);
    assert_int_equal(sb.len, 0);
    mnemo_strbuf_release(&sb);
}

/* ---- context escaping and the cap -------------------------------------------------------- */

/* The additionalContext (or Cursor's additional_context) the agent would read from out. */
static char *injected(enum mnemo_agent a, const char *ctx)
{
    char *out = output(a, MNEMO_HOOK_SESSION_START, ctx);
    json_t *j = one_object(mnemo_agent_name(a), out);
    const json_t *v =
        a == MNEMO_AGENT_CURSOR
            ? json_object_get(j, "additional_context")
            : json_object_get(json_object_get(j, "hookSpecificOutput"), "additionalContext");
    assert_true(json_is_string(v));
    char *s = strdup(json_string_value(v));
    assert_non_null(s);
    json_decref(j);
    free(out);
    return s;
}

/* Length of s as the agents count characters (UTF-16 code units, like JavaScript). */
static size_t utf16_units(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n += *p >= 0xF0 ? 2 : 1;
    return n;
}

static void test_adapter_context_with_quotes_newlines_and_unicode_round_trips(void **state)
{
    static const char *const contexts[] = {
        "He said \"use 'tabs'\" \\ not spaces\\",
        "line 1\nline 2\r\n\ttabbed\b\f end",
        "control \x01\x02\x1f and DEL \x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xe2\x80\xa8 \xe2\x80\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87",
        "</script><!-- {\"json\": [1,2]} -->",
    };
    (void)state;
    for (size_t i = 0; i < N_AGENTS; i++)
        for (size_t c = 0; c < sizeof contexts / sizeof contexts[0]; c++) {
            char *got = injected(agents[i], contexts[c]);
            assert_string_equal(got, contexts[c]);
            free(got);
        }
}

static void test_adapter_context_invalid_utf8_becomes_replacement_characters(void **state)
{
    (void)state;
    /* A stray continuation byte, an overlong '/', a surrogate, a truncated sequence. */
    char *got = injected(MNEMO_AGENT_CLAUDE, "a\x80z \xc0\xaf \xed\xa0\x80 \xe2\x82");
    assert_string_equal(got, "a\xef\xbf\xbdz \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd"
                             "\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
    free(got);
}

/* A string of n copies of unit. */
static char *repeat(const char *unit, size_t n, const char *prefix)
{
    size_t ul = strlen(unit), pl = strlen(prefix);
    char *s = malloc(pl + ul * n + 1);
    assert_non_null(s);
    memcpy(s, prefix, pl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + pl + i * ul, unit, ul);
    s[pl + ul * n] = '\0';
    return s;
}

static void test_adapter_context_never_exceeds_10000_characters(void **state)
{
    static const struct {
        const char *unit, *prefix;
        size_t n, want_units, want_bytes;
    } cases[] = {
        {"a", "", 10000, 10000, 10000},               /* exactly the cap: kept whole */
        {"a", "", 10001, 10000, 10000},               /* one over: cut */
        {"a", "", 250000, 10000, 10000},              /* far over */
        {"\xe2\x82\xac", "", 10001, 10000, 30000},    /* 3-byte characters, cut between them */
        {"\xf0\x9f\x98\x80", "", 5000, 10000, 20000}, /* emoji: 2 units each, 10,000 in all */
        {"\xf0\x9f\x98\x80", "", 5001, 10000, 20000},
        {"\xf0\x9f\x98\x80", "a", 5000, 9999, 19997}, /* the last emoji would straddle the cap */
        {"\"", "", 10001, 10000, 10000},              /* escaping does not count */
        {"\n", "x", 20000, 10000, 10000},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t i = 0; i < N_AGENTS; i++) {
            char *ctx = repeat(cases[c].unit, cases[c].n, cases[c].prefix);
            char *got = injected(agents[i], ctx);
            assert_int_equal(utf16_units(got), cases[c].want_units);
            assert_int_equal(strlen(got), cases[c].want_bytes);
            assert_int_equal(strncmp(got, ctx, strlen(got)), 0); /* a prefix of what was asked */
            assert_true(utf16_units(got) <= MNEMO_ADAPTER_CONTEXT_MAX);
            free(got);
            free(ctx);
        }
}

/* ---- malformed input --------------------------------------------------------------------- */

/* Parses text as every event of agent a and expects MNEMO_EINVAL, a message, an emptied
 * struct, and a minimal output that is still valid for the agent. */
static void expect_einval(enum mnemo_agent a, const char *text, size_t len)
{
    for (int e = 0; e < N_EVENTS; e++) {
        struct mnemo_hook_input in;
        struct mnemo_err err = {0};
        int rc = mnemo_adapter_parse(a, e, text, len, &in, &err);
        if (rc != MNEMO_EINVAL)
            fail_msg("%s %s: [%.60s] gave %d, expected MNEMO_EINVAL", mnemo_agent_name(a),
                     mnemo_hook_event_name(e), text ? text : "(null)", rc);
        assert_int_equal(err.code, MNEMO_EINVAL);
        assert_true(strlen(err.msg) > 10);
        assert_null(in.raw);
        assert_null(in.norm);
        assert_null(in.session_id);
        assert_null(in.tool_input);
        assert_int_equal(in.agent, a);
        assert_int_equal(in.event, e);
        mnemo_hook_input_release(&in);
        mnemo_hook_input_release(&in); /* twice is harmless */
        check_output(a, e, NULL);
    }
}

static void expect_einval_str(enum mnemo_agent a, const char *text)
{
    expect_einval(a, text, strlen(text));
}

static void test_adapter_input_that_is_not_a_json_object_is_einval(void **state)
{
    static const char *const bad[] = {
        "not json",
        "{\"session_id\":",
        "{\"a\":1} {\"b\":2}",
        "[]",
        "[{\"session_id\":\"s\"}]",
        "\"a string\"",
        "42",
        "null",
        "true",
        "{'single':'quotes'}",
        "{\"a\":1,}",
        "\xef\xbb\xbf{}",
        "{\"prompt\":\"\xff\xfe\"}",
        "{\"prompt\":\"\xc0\xaf\"}",
        "{\"prompt\":\"\xed\xa0\x80\"}",
    };
    (void)state;
    for (size_t i = 0; i < N_AGENTS; i++) {
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
            expect_einval_str(agents[i], bad[b]);
        expect_einval(agents[i], "", 0);
        expect_einval(agents[i], NULL, 0);
        expect_einval(agents[i], "{}\0{}", 5); /* bytes after the NUL are input too */
    }
}

static void test_adapter_fields_of_the_wrong_type_are_einval_naming_the_field(void **state)
{
    static const struct {
        enum mnemo_agent agent;
        enum mnemo_hook_event event;
        const char *json, *field;
    } cases[] = {
        {MNEMO_AGENT_CLAUDE, MNEMO_HOOK_USER_PROMPT_SUBMIT, "{\"session_id\":42}", "session_id"},
        {MNEMO_AGENT_CLAUDE, MNEMO_HOOK_USER_PROMPT_SUBMIT, "{\"prompt\":[\"a\"]}", "prompt"},
        {MNEMO_AGENT_CLAUDE, MNEMO_HOOK_POST_TOOL_USE, "{\"tool_name\":{}}", "tool_name"},
        {MNEMO_AGENT_CLAUDE, MNEMO_HOOK_STOP, "{\"last_assistant_message\":true}",
         "last_assistant_message"},
        {MNEMO_AGENT_CLAUDE, MNEMO_HOOK_SESSION_START, "{\"source\":1.5}", "source"},
        {MNEMO_AGENT_CODEX, MNEMO_HOOK_STOP, "{\"turn_id\":7}", "turn_id"},
        {MNEMO_AGENT_CODEX, MNEMO_HOOK_SESSION_END, "{\"cwd\":false}", "cwd"},
        {MNEMO_AGENT_GEMINI, MNEMO_HOOK_STOP, "{\"prompt_response\":{}}", "prompt_response"},
        {MNEMO_AGENT_GEMINI, MNEMO_HOOK_POST_TOOL_USE, "{\"tool_name\":[]}", "tool_name"},
        {MNEMO_AGENT_GEMINI, MNEMO_HOOK_PRE_COMPACT, "{\"transcript_path\":3}", "transcript_path"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_STOP, "{\"conversation_id\":1}", "conversation_id"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_STOP, "{\"workspace_roots\":\"/a\"}", "workspace_roots"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_STOP, "{\"workspace_roots\":[7]}", "workspace_roots"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_POST_TOOL_USE,
         "{\"hook_event_name\":\"afterFileEdit\",\"edits\":{}}", "edits"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_POST_TOOL_USE,
         "{\"hook_event_name\":\"afterShellExecution\",\"command\":[\"ls\"]}", "command"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_STOP,
         "{\"hook_event_name\":\"afterAgentResponse\",\"text\":1}", "text"},
    };
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct mnemo_hook_input in;
        struct mnemo_err err = {0};
        int rc = mnemo_adapter_parse(cases[c].agent, cases[c].event, cases[c].json,
                                     strlen(cases[c].json), &in, &err);
        if (rc != MNEMO_EINVAL || strstr(err.msg, cases[c].field) == NULL)
            fail_msg("%s: rc %d, message \"%s\"", cases[c].json, rc, err.msg);
        assert_null(in.raw);
        mnemo_hook_input_release(&in);
    }
}

static void test_adapter_null_fields_are_absent_and_unknown_fields_ignored(void **state)
{
    static const char json[] =
        "{\"session_id\":\"s-1\",\"conversation_id\":\"s-1\",\"cwd\":null,\"prompt\":null,"
        "\"transcript_path\":null,\"last_assistant_message\":null,\"workspace_roots\":null,"
        "\"future_field\":{\"nested\":[1,2,{\"x\":null}]},\"another\":1e308,\"tool_name\":null}";
    (void)state;
    for (size_t i = 0; i < N_AGENTS; i++)
        for (int e = 0; e < N_EVENTS; e++) {
            struct mnemo_hook_input in;
            struct mnemo_err err = {0};
            assert_int_equal(mnemo_adapter_parse(agents[i], e, json, sizeof json - 1, &in, &err),
                             0);
            assert_string_equal(in.session_id, "s-1");
            assert_null(in.cwd);
            assert_null(in.prompt);
            assert_null(in.transcript_path);
            assert_null(in.last_assistant_message);
            mnemo_hook_input_release(&in);
        }
}

static void test_adapter_huge_input_is_parsed_within_the_limit_and_refused_beyond(void **state)
{
    (void)state;
    /* A 4 MiB prompt is a legitimate (if silly) paste: it parses. */
    size_t n = (size_t)4 << 20;
    char *big = repeat("x", n, "{\"prompt\":\"");
    char *tail = realloc(big, strlen(big) + 3);
    assert_non_null(tail);
    strcat(tail, "\"}");
    struct mnemo_hook_input in;
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_adapter_parse(MNEMO_AGENT_CLAUDE, MNEMO_HOOK_USER_PROMPT_SUBMIT, tail,
                                         strlen(tail), &in, &err),
                     0);
    assert_int_equal(strlen(in.prompt), n);
    mnemo_hook_input_release(&in);
    free(tail);

    /* One byte over the limit is refused before any parsing. */
    size_t over = MNEMO_ADAPTER_INPUT_MAX + 1;
    char *huge = malloc(over);
    assert_non_null(huge);
    memset(huge, ' ', over);
    huge[0] = '{';
    huge[over - 1] = '}';
    for (size_t i = 0; i < N_AGENTS; i++)
        expect_einval(agents[i], huge, over);
    free(huge);
}

static void test_adapter_deeply_nested_input_is_einval_not_a_crash(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *s = malloc(depth * 2 + 32);
    assert_non_null(s);
    size_t len = (size_t)sprintf(s, "{\"tool_input\":");
    memset(s + len, '[', depth);
    memset(s + len + depth, ']', depth);
    len += 2 * depth;
    s[len++] = '}';
    for (size_t i = 0; i < N_AGENTS; i++)
        expect_einval(agents[i], s, len);
    free(s);
}

static void test_adapter_nul_inside_a_string_keeps_the_event(void **state)
{
    static const char json[] = "{\"session_id\":\"s\",\"tool_name\":\"Bash\","
                               "\"tool_input\":{\"command\":\"cat bin\"},"
                               "\"tool_response\":{\"stdout\":\"a\\u0000b\"}}";
    struct mnemo_hook_input in;
    struct mnemo_err err = {0};
    (void)state;
    assert_int_equal(mnemo_adapter_parse(MNEMO_AGENT_CLAUDE, MNEMO_HOOK_POST_TOOL_USE, json,
                                         sizeof json - 1, &in, &err),
                     0);
    assert_int_equal(json_string_length(json_object_get(in.tool_response, "stdout")), 3);
    mnemo_hook_input_release(&in);
}

/* ---- agent specifics not covered by the recorded payloads -------------------------------- */

static void test_adapter_gemini_shell_error_and_missing_exit_code(void **state)
{
    static const char json[] =
        "{\"session_id\":\"g\",\"hook_event_name\":\"AfterTool\",\"tool_name\":\"run_shell_command\","
        "\"tool_input\":{\"command\":\"nosuchcmd\"},\"tool_response\":{\"llmContent\":"
        "\"Command: nosuchcmd\\nExit Code: (none)\",\"error\":{\"message\":\"spawn ENOENT\","
        "\"type\":\"execution_failed\"}}}";
    struct mnemo_hook_input in;
    struct mnemo_err err = {0};
    (void)state;
    assert_int_equal(mnemo_adapter_parse(MNEMO_AGENT_GEMINI, MNEMO_HOOK_POST_TOOL_USE, json,
                                         sizeof json - 1, &in, &err),
                     0);
    assert_string_equal(in.tool_name, "Bash");
    assert_null(json_object_get(in.tool_response, "exit_code"));
    assert_true(json_is_true(json_object_get(in.tool_response, "is_error")));
    assert_string_equal(json_string_value(json_object_get(in.tool_response, "stderr")),
                        "spawn ENOENT");
    mnemo_hook_input_release(&in);
}

static void test_adapter_gemini_shell_output_is_cut_from_its_header_and_footer(void **state)
{
    /* The command printed lines that look like the footer; only the real footer is cut. */
    static const char json[] =
        "{\"tool_name\":\"run_shell_command\",\"tool_input\":{\"command\":\"./t.sh\"},"
        "\"tool_response\":{\"llmContent\":\"Command: ./t.sh\\nDirectory: (root)\\nOutput: "
        "Output: one\\nError: two\\nExit Code: 0\\nthree\\nError: segfault in t\\nExit Code: "
        "139\\nSignal: 11\"}}";
    struct mnemo_hook_input in;
    struct mnemo_err err = {0};
    (void)state;
    assert_int_equal(mnemo_adapter_parse(MNEMO_AGENT_GEMINI, MNEMO_HOOK_POST_TOOL_USE, json,
                                         sizeof json - 1, &in, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(in.tool_response, "stdout")),
                        "Output: one\nError: two\nExit Code: 0\nthree");
    assert_string_equal(json_string_value(json_object_get(in.tool_response, "stderr")),
                        "segfault in t");
    assert_int_equal(json_integer_value(json_object_get(in.tool_response, "exit_code")), 139);
    mnemo_hook_input_release(&in);
}

static void test_adapter_gemini_unknown_tools_and_shapes_pass_through(void **state)
{
    static const char json[] = "{\"tool_name\":\"save_memory\",\"tool_input\":{\"fact\":\"x\"},"
                               "\"tool_response\":\"not an object\"}";
    struct mnemo_hook_input in;
    struct mnemo_err err = {0};
    (void)state;
    assert_int_equal(mnemo_adapter_parse(MNEMO_AGENT_GEMINI, MNEMO_HOOK_POST_TOOL_USE, json,
                                         sizeof json - 1, &in, &err),
                     0);
    assert_string_equal(in.tool_name, "save_memory");
    assert_ptr_equal(in.tool_input, json_object_get(in.raw, "tool_input"));
    assert_string_equal(json_string_value(in.tool_response), "not an object");
    assert_null(in.norm);
    mnemo_hook_input_release(&in);
}

static void test_adapter_exit_codes_are_read_only_from_their_own_lines(void **state)
{
    (void)state;
    assert_int_equal(mnemo__adapter_exit_code("Output: x\nExit Code: 2\nSignal: (none)", 0), 2);
    assert_int_equal(mnemo__adapter_exit_code("Exit code: 0\nWall time: 1 seconds", 0), 0);
    assert_int_equal(mnemo__adapter_exit_code("a\n  Process exited with code 127\n", 0), 127);
    assert_int_equal(mnemo__adapter_exit_code("EXIT CODE:3", 0), 3);
    assert_int_equal(mnemo__adapter_exit_code("echo 'Exit code: 9' inside a line", 0), -1);
    assert_int_equal(mnemo__adapter_exit_code("Exit Code: (none)", 0), -1);
    assert_int_equal(mnemo__adapter_exit_code("Exit code: -1", 0), -1);
    assert_int_equal(mnemo__adapter_exit_code("Exit code: 99999999999999999999", 0), -1);
    assert_int_equal(mnemo__adapter_exit_code("", 0), -1);
    /* A command that printed such a line itself: first and last tell them apart. */
    static const char codex[] = "Exit code: 1\nOutput:\nExit code: 0\n";
    static const char gemini[] = "Output: Exit code: 0\nExit code: 0\nError: (none)\nExit Code: 1";
    assert_int_equal(mnemo__adapter_exit_code(codex, 0), 1);
    assert_int_equal(mnemo__adapter_exit_code(gemini, 1), 1);
}

static void test_adapter_cursor_mcp_text_that_is_not_json_stays_text(void **state)
{
    static const char json[] = "{\"hook_event_name\":\"afterMCPExecution\",\"tool_name\":\"t\","
                               "\"tool_input\":\"{not json\",\"result_json\":\"plain text\"}";
    struct mnemo_hook_input in;
    struct mnemo_err err = {0};
    (void)state;
    assert_int_equal(mnemo_adapter_parse(MNEMO_AGENT_CURSOR, MNEMO_HOOK_POST_TOOL_USE, json,
                                         sizeof json - 1, &in, &err),
                     0);
    assert_string_equal(json_string_value(in.tool_input), "{not json");
    assert_string_equal(json_string_value(in.tool_response), "plain text");
    assert_null(in.session_id);
    assert_null(in.cwd);
    mnemo_hook_input_release(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_names_round_trip_and_unknown_ones_are_einval),
        cmocka_unit_test(test_adapter_every_agent_and_event_prints_what_the_agent_accepts),
        cmocka_unit_test(test_adapter_empty_or_blank_context_counts_as_none),
        cmocka_unit_test(test_adapter_output_reports_a_full_buffer),
        cmocka_unit_test(test_adapter_context_with_quotes_newlines_and_unicode_round_trips),
        cmocka_unit_test(test_adapter_context_invalid_utf8_becomes_replacement_characters),
        cmocka_unit_test(test_adapter_context_never_exceeds_10000_characters),
        cmocka_unit_test(test_adapter_input_that_is_not_a_json_object_is_einval),
        cmocka_unit_test(test_adapter_fields_of_the_wrong_type_are_einval_naming_the_field),
        cmocka_unit_test(test_adapter_null_fields_are_absent_and_unknown_fields_ignored),
        cmocka_unit_test(test_adapter_huge_input_is_parsed_within_the_limit_and_refused_beyond),
        cmocka_unit_test(test_adapter_deeply_nested_input_is_einval_not_a_crash),
        cmocka_unit_test(test_adapter_nul_inside_a_string_keeps_the_event),
        cmocka_unit_test(test_adapter_gemini_shell_error_and_missing_exit_code),
        cmocka_unit_test(test_adapter_gemini_shell_output_is_cut_from_its_header_and_footer),
        cmocka_unit_test(test_adapter_gemini_unknown_tools_and_shapes_pass_through),
        cmocka_unit_test(test_adapter_exit_codes_are_read_only_from_their_own_lines),
        cmocka_unit_test(test_adapter_cursor_mcp_text_that_is_not_json_stays_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
