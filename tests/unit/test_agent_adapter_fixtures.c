/*
 * test_agent_adapter_fixtures.c - every recorded hook payload of every agent
 * (tests/fixtures/<agent>/<event>[.<variant>].json) parses to the normalized fields of its
 * .out.json, and the tool events of agents whose shapes differ from Claude Code's come out in a
 * shape the rules extractor turns into the same observations.
 */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>

#include "agent/adapter.h"
#include "capture/extract.h"

/* tests/fixtures/<sub>, found from this file's path so ctest works from any build directory. */
static void fixture_path(const char *sub, char *buf, size_t size)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir_len = slash ? (int)(slash - file) : 1;
    snprintf(buf, size, "%.*s/../fixtures/%s", dir_len, slash ? file : ".", sub);
}

static char *read_fixture(const char *agent, const char *name, size_t *len)
{
    char rel[512], path[1024];
    snprintf(rel, sizeof rel, "%s/%s", agent, name);
    fixture_path(rel, path, sizeof path);
    char *text = tu_file_read(path, 1 << 20, len);
    if (text == NULL)
        fail_msg("missing fixture %s", path);
    return text;
}

/* Parses agent/stem.json as the event its name starts with; fails the test on an error. */
static void parse_fixture(enum mnemo_agent agent, const char *stem, struct mnemo_hook_input *in)
{
    char event_name[64], name[320];
    size_t len;
    enum mnemo_hook_event event;
    struct mnemo_err err = {0};

    snprintf(event_name, sizeof event_name, "%.*s", (int)strcspn(stem, "."), stem);
    if (mnemo_hook_event_parse(event_name, &event) != 0)
        fail_msg("fixture %s/%s: '%s' is not a hook event", mnemo_agent_name(agent), stem,
                 event_name);
    snprintf(name, sizeof name, "%s.json", stem);
    char *text = read_fixture(mnemo_agent_name(agent), name, &len);
    int rc = mnemo_adapter_parse(agent, event, text, len, in, &err);
    free(text);
    if (rc != 0)
        fail_msg("fixture %s/%s: %s", mnemo_agent_name(agent), stem, err.msg);
}

static void expect_str(const char *where, const char *field, const json_t *want, const char *got)
{
    if (want == NULL && got != NULL)
        fail_msg("%s: %s is \"%s\", expected absent", where, field, got);
    if (want != NULL && (got == NULL || strcmp(json_string_value(want), got) != 0))
        fail_msg("%s: %s is %s%s%s, expected \"%s\"", where, field, got ? "\"" : "",
                 got ? got : "absent", got ? "\"" : "", json_string_value(want));
}

static void expect_json(const char *where, const char *field, const json_t *want, const json_t *got)
{
    if ((want == NULL) != (got == NULL) || (want != NULL && !json_equal(want, got))) {
        char *w = want ? json_dumps(want, JSON_COMPACT) : NULL;
        char *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
        fail_msg("%s: %s is %s, expected %s", where, field, g ? g : "absent", w ? w : "absent");
    }
}

/* Checks one fixture against its .out.json: every field named there, and no other. */
static void check_fixture(enum mnemo_agent agent, const char *stem)
{
    struct mnemo_hook_input in;
    char where[320], name[320];
    size_t len;
    json_error_t je;

    snprintf(where, sizeof where, "%s/%s", mnemo_agent_name(agent), stem);
    snprintf(name, sizeof name, "%s.out.json", stem);
    char *text = read_fixture(mnemo_agent_name(agent), name, &len);
    json_t *want = json_loadb(text, len, 0, &je);
    free(text);
    if (!json_is_object(want))
        fail_msg("%s.out.json is not a JSON object: %s", where, je.text);
    static const char *const known[] = {
        "session_id",    "turn_id",         "cwd",
        "prompt",        "tool_name",       "tool_input",
        "tool_response", "transcript_path", "last_assistant_message",
        "source"};
    const char *key;
    const json_t *v;
    json_object_foreach(want, key, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key) != 0)
            i++;
        if (i == sizeof known / sizeof known[0])
            fail_msg("%s.out.json names an unknown field '%s'", where, key);
    }

    parse_fixture(agent, stem, &in);
    assert_int_equal(in.agent, agent);
    assert_non_null(in.raw);
    expect_str(where, "session_id", json_object_get(want, "session_id"), in.session_id);
    expect_str(where, "turn_id", json_object_get(want, "turn_id"), in.turn_id);
    expect_str(where, "cwd", json_object_get(want, "cwd"), in.cwd);
    expect_str(where, "prompt", json_object_get(want, "prompt"), in.prompt);
    expect_str(where, "tool_name", json_object_get(want, "tool_name"), in.tool_name);
    expect_str(where, "transcript_path", json_object_get(want, "transcript_path"),
               in.transcript_path);
    expect_str(where, "last_assistant_message", json_object_get(want, "last_assistant_message"),
               in.last_assistant_message);
    expect_str(where, "source", json_object_get(want, "source"), in.source);
    expect_json(where, "tool_input", json_object_get(want, "tool_input"), in.tool_input);
    expect_json(where, "tool_response", json_object_get(want, "tool_response"), in.tool_response);
    mnemo_hook_input_release(&in);
    json_decref(want);
}

/* Checks every payload of one agent's folder; returns how many, with a bit per event seen. */
static int check_agent(enum mnemo_agent agent, unsigned *events_seen)
{
    char dir_path[1024];
    int n = 0;

    fixture_path(mnemo_agent_name(agent), dir_path, sizeof dir_path);
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
        fail_msg("cannot open %s", dir_path);
    *events_seen = 0;
    for (struct dirent *de; (de = readdir(dir)) != NULL;) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 ||
            (len > 9 && strcmp(de->d_name + len - 9, ".out.json") == 0))
            continue;
        char stem[256], event_name[64];
        enum mnemo_hook_event e;
        snprintf(stem, sizeof stem, "%.*s", (int)(len - 5), de->d_name);
        snprintf(event_name, sizeof event_name, "%.*s", (int)strcspn(stem, "."), stem);
        if (mnemo_hook_event_parse(event_name, &e) == 0)
            *events_seen |= 1u << e;
        check_fixture(agent, stem);
        n++;
    }
    closedir(dir);
    return n;
}

static unsigned all_events_but(int missing)
{
    unsigned all = (1u << (MNEMO_HOOK_PRE_COMPACT + 1)) - 1;
    return missing < 0 ? all : all & ~(1u << missing);
}

static void test_adapter_claude_fixtures_parse_to_their_normalized_fields(void **state)
{
    unsigned seen;
    (void)state;
    assert_true(check_agent(MNEMO_AGENT_CLAUDE, &seen) >= 10);
    assert_int_equal(seen, all_events_but(-1));
}

static void test_adapter_codex_fixtures_parse_to_their_normalized_fields(void **state)
{
    unsigned seen;
    (void)state;
    assert_true(check_agent(MNEMO_AGENT_CODEX, &seen) >= 10);
    assert_int_equal(seen, all_events_but(-1));
}

/* Gemini CLI has no subagent stop event, so there is no payload to record for it. */
static void test_adapter_gemini_fixtures_parse_to_their_normalized_fields(void **state)
{
    unsigned seen;
    (void)state;
    assert_true(check_agent(MNEMO_AGENT_GEMINI, &seen) >= 10);
    assert_int_equal(seen, all_events_but(MNEMO_HOOK_SUBAGENT_STOP));
}

/* Nor does Cursor send a subagent stop that mnemo uses. */
static void test_adapter_cursor_fixtures_parse_to_their_normalized_fields(void **state)
{
    unsigned seen;
    (void)state;
    assert_true(check_agent(MNEMO_AGENT_CURSOR, &seen) >= 10);
    assert_int_equal(seen, all_events_but(MNEMO_HOOK_SUBAGENT_STOP));
}

/* ---- the rules extractor reads what the adapters rebuilt ------------------------------- */

/* Runs the rules extractor on the fixture as the hook sends it to the worker (the normalized
 * fields) and returns how many observations of kind it drafted, the first one in *title. */
static size_t extract(enum mnemo_agent agent, const char *stem, const char *kind, char *title,
                      size_t title_size)
{
    struct mnemo_hook_input in;
    struct mnemo_extractor *x = NULL;
    struct mnemo_extract_output out;
    struct mnemo_err err = {0};
    size_t n = 0;

    parse_fixture(agent, stem, &in);
    json_t *payload = json_object();
    assert_non_null(payload);
    if (in.cwd)
        json_object_set_new(payload, "cwd", json_string(in.cwd));
    if (in.tool_name)
        json_object_set_new(payload, "tool_name", json_string(in.tool_name));
    if (in.tool_input)
        json_object_set(payload, "tool_input", (json_t *)in.tool_input);
    if (in.tool_response)
        json_object_set(payload, "tool_response", (json_t *)in.tool_response);
    assert_int_equal(mnemo_extractor_rules_new(&x, &err), 0);
    mnemo_extract_output_init(&out);
    struct mnemo_extract_input ein = {
        .event_id = 1,
        .agent = mnemo_agent_name(agent),
        .kind = "post-tool-use",
        .agent_session_id = in.session_id,
        .session_id = 1,
        .project = "proj",
        .payload = payload,
        .created_at = INT64_C(1790000000000),
    };
    if (mnemo_extractor_run(x, &ein, &out, &err) != 0)
        fail_msg("%s/%s: extractor failed: %s", mnemo_agent_name(agent), stem, err.msg);
    title[0] = '\0';
    for (size_t i = 0; i < out.n_obs; i++)
        if (strcmp(out.obs[i].type, kind) == 0) {
            if (n++ == 0)
                snprintf(title, title_size, "%s", out.obs[i].title ? out.obs[i].title : "");
        }
    mnemo_extract_output_release(&out);
    mnemo_extractor_free(x);
    json_decref(payload);
    mnemo_hook_input_release(&in);
    return n;
}

static void test_adapter_gemini_tool_events_become_the_observations_claude_ones_do(void **state)
{
    char title[256];
    (void)state;
    /* A failing run_shell_command: its exit code comes out of llmContent. */
    assert_int_equal(extract(MNEMO_AGENT_GEMINI, "post-tool-use", "discovery", title, sizeof title),
                     1);
    assert_non_null(strstr(title, "make test"));
    /* write_file that overwrote a file, and replace. */
    assert_int_equal(
        extract(MNEMO_AGENT_GEMINI, "post-tool-use.write-file", "change", title, sizeof title), 1);
    assert_non_null(strstr(title, "NOTES.md"));
    assert_int_equal(
        extract(MNEMO_AGENT_GEMINI, "post-tool-use.replace", "change", title, sizeof title), 1);
    assert_non_null(strstr(title, "parser.c"));
}

static void test_adapter_codex_shell_text_becomes_a_failing_command(void **state)
{
    char title[256];
    (void)state;
    assert_int_equal(extract(MNEMO_AGENT_CODEX, "post-tool-use", "discovery", title, sizeof title),
                     1);
    assert_non_null(strstr(title, "pytest"));
    assert_int_equal(
        extract(MNEMO_AGENT_CODEX, "post-tool-use.unified-exec", "discovery", title, sizeof title),
        0);
}

static void test_adapter_cursor_tool_events_become_the_observations_claude_ones_do(void **state)
{
    char title[256];
    (void)state;
    assert_int_equal(
        extract(MNEMO_AGENT_CURSOR, "post-tool-use.file-edit", "change", title, sizeof title), 1);
    assert_non_null(strstr(title, "Signup.tsx"));
    /* postToolUse of Shell whose JSON tool_output says exitCode 1. */
    assert_int_equal(extract(MNEMO_AGENT_CURSOR, "post-tool-use", "discovery", title, sizeof title),
                     1);
    assert_non_null(strstr(title, "npm test"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_claude_fixtures_parse_to_their_normalized_fields),
        cmocka_unit_test(test_adapter_codex_fixtures_parse_to_their_normalized_fields),
        cmocka_unit_test(test_adapter_gemini_fixtures_parse_to_their_normalized_fields),
        cmocka_unit_test(test_adapter_cursor_fixtures_parse_to_their_normalized_fields),
        cmocka_unit_test(test_adapter_gemini_tool_events_become_the_observations_claude_ones_do),
        cmocka_unit_test(test_adapter_codex_shell_text_becomes_a_failing_command),
        cmocka_unit_test(test_adapter_cursor_tool_events_become_the_observations_claude_ones_do),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
