/*
 * test_capture_rules.c - the rules extractor as a table of hook payloads and the drafts they
 * must give: edits and writes, failing commands, fix pairing, git commits, read tracking,
 * stop summaries, malformed fields (nothing, never a crash), bounds, determinism and the
 * replay of a retried event.
 */
#include "testutil.h"

#include <jansson.h>

#include "capture/extract.h"

#define T0 INT64_C(1790000000000)

struct rig {
    struct mnemo_extractor *x;
    struct mnemo_extract_output out;
    int64_t next_id;
};

static int rig_setup(void **state)
{
    struct rig *r = calloc(1, sizeof *r);
    struct mnemo_err e = {0};
    assert_non_null(r);
    assert_int_equal(mnemo_extractor_rules_new(&r->x, &e), 0);
    mnemo_extract_output_init(&r->out);
    *state = r;
    return 0;
}

static int rig_teardown(void **state)
{
    struct rig *r = *state;
    mnemo_extract_output_release(&r->out);
    mnemo_extractor_free(r->x);
    free(r);
    return 0;
}

/* Runs one event (JSON text) with a fresh output; returns the extractor's rc. */
static int run_id(struct rig *r, int64_t id, const char *kind, const char *project,
                  const char *json)
{
    json_error_t je;
    struct mnemo_err e = {0};
    json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
    if (j == NULL)
        fail_msg("bad test JSON: %s: %s", je.text, json);
    mnemo_extract_output_release(&r->out);
    mnemo_extract_output_init(&r->out);
    struct mnemo_extract_input in = {
        .event_id = id,
        .agent = "claude",
        .kind = kind,
        .agent_session_id = "s1",
        .session_id = 7,
        .project = project,
        .payload = j,
        .created_at = T0 + id,
    };
    int rc = mnemo_extractor_run(r->x, &in, &r->out, &e);
    json_decref(j);
    return rc;
}

static int run(struct rig *r, const char *kind, const char *json)
{
    return run_id(r, ++r->next_id, kind, "proj", json);
}

static const struct mnemo_obs *only(struct rig *r)
{
    assert_int_equal(r->out.n_obs, 1);
    const struct mnemo_obs *o = &r->out.obs[0];
    assert_string_equal(o->provenance, "rules");
    assert_string_equal(o->project, "proj");
    assert_int_equal(o->session_id, 7);
    assert_true(strlen(o->title) <= 120);
    return o;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL)
        fail_msg("'%s' not found in '%s'", needle, hay ? hay : "(null)");
}

#define EDIT(oldj, newj)                                                                           \
    "{\"cwd\":\"/repo\",\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"/repo/src/foo.c\"," \
    "\"old_string\":" oldj ",\"new_string\":" newj "},\"tool_response\":{}}"

static void test_capture_rules_edit_is_a_change_with_line_counts_and_excerpt(void **state)
{
    struct rig *r = *state;
    assert_int_equal(run(r, "post-tool-use", EDIT("\"a\\nb\\nc\\n\"", "\"a\\nB1\\nB2\\nc\\n\"")),
                     0);
    const struct mnemo_obs *o = only(r);
    assert_string_equal(o->type, "change");
    assert_string_equal(o->title, "Edited src/foo.c");
    assert_int_equal(o->n_files_modified, 1);
    assert_string_equal(o->files_modified[0], "src/foo.c");
    assert_contains(o->narrative, "+2 -1 lines");
    assert_contains(o->narrative, "B1\nB2");
    assert_null(strstr(o->narrative, "\na\n")); /* unchanged lines are not quoted */
    assert_int_equal(o->created_at, T0 + 1);

    /* a pure deletion quotes the removed lines */
    assert_int_equal(run(r, "PostToolUse", EDIT("\"x\\ngone\\ny\"", "\"x\\ny\"")), 0);
    o = only(r);
    assert_contains(o->narrative, "+0 -1 lines");
    assert_contains(o->narrative, "Removed lines:\ngone");
}

static void test_capture_rules_write_multiedit_and_notebook_edits(void **state)
{
    struct rig *r = *state;
    assert_int_equal(
        run(r, "post-tool-use",
            "{\"cwd\":\"/repo/\",\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":"
            "\"/repo/src/new.c\",\"content\":\"int a;\\nint b;\\nint c;\\n\"},"
            "\"tool_response\":{\"type\":\"create\"}}"),
        0);
    const struct mnemo_obs *o = only(r);
    assert_string_equal(o->title, "Created src/new.c");
    assert_contains(o->narrative, "+3 -0 lines");
    assert_contains(o->narrative, "int a;");

    assert_int_equal(run(r, "post-tool-use",
                         "{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"/etc/x.conf\","
                         "\"content\":\"k=v\"},\"tool_response\":{\"type\":\"update\"}}"),
                     0);
    o = only(r);
    assert_string_equal(o->title, "Edited /etc/x.conf"); /* outside cwd: the path as given */
    assert_contains(o->narrative, "Rewrote /etc/x.conf: 1 line written.");

    assert_int_equal(run(r, "post-tool-use",
                         "{\"tool_name\":\"MultiEdit\",\"tool_input\":{\"file_path\":\"m.c\","
                         "\"edits\":[{\"old_string\":\"a\",\"new_string\":\"b\"},"
                         "{\"old_string\":\"c\",\"new_string\":\"d\\ne\"}]}}"),
                     0);
    o = only(r);
    assert_string_equal(o->title, "Edited m.c");
    assert_contains(o->narrative, "(2 edits): +3 -2 lines");

    assert_int_equal(run(r, "post-tool-use",
                         "{\"tool_name\":\"NotebookEdit\",\"tool_input\":{\"notebook_path\":"
                         "\"n.ipynb\",\"cell_id\":\"c1\",\"new_source\":\"print(1)\","
                         "\"edit_mode\":\"insert\"}}"),
                     0);
    o = only(r);
    assert_string_equal(o->title, "Created n.ipynb");
    assert_contains(o->narrative, "cell c1 insert");
}

#define BASH(cmd, resp)                                                                            \
    "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":" cmd "},\"tool_response\":" resp "}"

static void test_capture_rules_failing_command_is_a_discovery_once(void **state)
{
    struct rig *r = *state;
    assert_int_equal(
        run(r, "post-tool-use",
            BASH("\"make  test\"",
                 "{\"stdout\":\"building\",\"stderr\":\"cc foo.c\\nfoo.c:3: error: x\\n\","
                 "\"exit_code\":2,\"interrupted\":false}")),
        0);
    const struct mnemo_obs *o = only(r);
    assert_string_equal(o->type, "discovery");
    assert_string_equal(o->title, "Failed: make test");
    assert_contains(o->narrative, "failed (exit code 2): make test");
    assert_contains(o->narrative, "foo.c:3: error: x");
    assert_null(strstr(o->narrative, "building")); /* stderr wins over stdout */
    assert_int_equal(o->n_facts, 1);
    assert_string_equal(o->facts[0], "command: make test");

    /* still failing: nothing new */
    assert_int_equal(
        run(r, "post-tool-use", BASH("\"make test\"", "{\"stderr\":\"other\",\"is_error\":true}")),
        0);
    assert_int_equal(r->out.n_obs, 0);

    /* interrupted, and the post-tool-use-failure event with its error string */
    assert_int_equal(
        run(r, "post-tool-use", BASH("\"sleep 100\"", "{\"stdout\":\"\",\"interrupted\":true}")),
        0);
    assert_contains(only(r)->narrative, "was interrupted");
    assert_int_equal(run(r, "post-tool-use-failure",
                         "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls /nope\"},"
                         "\"error\":\"Exit code 2\\nls: cannot access '/nope'\"}"),
                     0);
    assert_contains(only(r)->narrative, "cannot access");

    /* a passing command that fixes nothing and commits nothing is noise */
    assert_int_equal(run(r, "post-tool-use", BASH("\"ls -la\"", "{\"stdout\":\"a\\nb\"}")), 0);
    assert_int_equal(r->out.n_obs, 0);
}

static void test_capture_rules_fix_pairs_with_the_failure_and_files_between(void **state)
{
    struct rig *r = *state;
    assert_int_equal(run(r, "post-tool-use",
                         BASH("\"cd build && make test\"",
                              "{\"stderr\":\"test_parse FAILED\",\"exit_code\":1}")),
                     0);
    assert_int_equal(r->out.n_obs, 1);
    assert_int_equal(run(r, "post-tool-use", EDIT("\"x\"", "\"y\"")), 0);
    assert_int_equal(run(r, "post-tool-use",
                         "{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"src/b.c\","
                         "\"content\":\"z\"}}"),
                     0);
    /* same target, different spelling: still the fix */
    assert_int_equal(
        run(r, "post-tool-use", BASH("\"make -j2 test\"", "{\"stdout\":\"100% tests passed\"}")),
        0);
    const struct mnemo_obs *o = only(r);
    assert_string_equal(o->type, "bugfix");
    assert_string_equal(o->title, "Fixed: make -j2 test");
    assert_int_equal(o->n_files_modified, 2);
    assert_string_equal(o->files_modified[0], "src/foo.c");
    assert_string_equal(o->files_modified[1], "src/b.c");
    assert_contains(o->narrative, "test_parse FAILED");
    assert_contains(o->narrative, "cd build && make test");
    assert_contains(o->narrative, "100% tests passed");

    /* the failure is closed: passing again is noise */
    assert_int_equal(run(r, "post-tool-use", BASH("\"make -j2 test\"", "{\"stdout\":\"ok\"}")), 0);
    assert_int_equal(r->out.n_obs, 0);
}

static void test_capture_rules_git_commit_is_a_change_with_its_message(void **state)
{
    struct rig *r = *state;
    assert_int_equal(run(r, "post-tool-use", EDIT("\"x\"", "\"y\"")), 0);
    assert_int_equal(run(r, "post-tool-use",
                         BASH("\"git add -A && git commit -m \\\"Add the parser\\\"\"",
                              "{\"stdout\":\"[main 1a2b3c4] Add the parser\\n 1 file changed\"}")),
                     0);
    const struct mnemo_obs *o = only(r);
    assert_string_equal(o->type, "change");
    assert_string_equal(o->title, "Committed: Add the parser");
    assert_contains(o->narrative, "Commit message:\nAdd the parser");
    assert_contains(o->narrative, "[main 1a2b3c4]");
    assert_int_equal(o->n_files_modified, 1);
    assert_string_equal(o->files_modified[0], "src/foo.c");

    /* a here-document message (how Claude Code writes commits); files were committed above */
    assert_int_equal(run(r, "post-tool-use",
                         BASH("\"git -C /repo commit -m \\\"$(cat <<'EOF'\\nFix the lexer\\n\\n"
                              "Longer body.\\nEOF\\n)\\\"\"",
                              "{\"stdout\":\"\"}")),
                     0);
    o = only(r);
    assert_string_equal(o->title, "Committed: Fix the lexer");
    assert_contains(o->narrative, "Longer body.");
    assert_int_equal(o->n_files_modified, 0);

    /* only git's own "commit" subcommand counts */
    assert_int_equal(run(r, "post-tool-use", BASH("\"echo git commit\"", "{\"stdout\":\"\"}")), 0);
    assert_int_equal(r->out.n_obs, 0);
    assert_int_equal(run(r, "post-tool-use", BASH("\"git log --oneline\"", "{\"stdout\":\"\"}")),
                     0);
    assert_int_equal(r->out.n_obs, 0);
}

static void test_capture_rules_reads_go_into_the_next_observation(void **state)
{
    struct rig *r = *state;
    assert_int_equal(run(r, "post-tool-use",
                         "{\"cwd\":\"/repo\",\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":"
                         "\"/repo/src/x.c\"},\"tool_response\":{}}"),
                     0);
    assert_int_equal(r->out.n_obs, 0);
    assert_int_equal(run(r, "post-tool-use",
                         "{\"cwd\":\"/repo\",\"tool_name\":\"Glob\",\"tool_input\":{\"pattern\":"
                         "\"*.h\"},\"tool_response\":{\"filenames\":[\"/repo/a.h\",7,\"/repo/"
                         "src/x.c\"]}}"),
                     0);
    assert_int_equal(r->out.n_obs, 0);
    assert_int_equal(run(r, "post-tool-use", EDIT("\"x\"", "\"y\"")), 0);
    const struct mnemo_obs *o = only(r);
    assert_int_equal(o->n_files_read, 2);
    assert_string_equal(o->files_read[0], "src/x.c");
    assert_string_equal(o->files_read[1], "a.h");
    /* consumed */
    assert_int_equal(run(r, "post-tool-use", EDIT("\"y\"", "\"z\"")), 0);
    assert_int_equal(only(r)->n_files_read, 0);
}

static void test_capture_rules_stop_gives_a_summary(void **state)
{
    struct rig *r = *state;
    assert_int_equal(run(r, "user-prompt-submit", "{\"prompt\":\"Fix the crash in the lexer\"}"),
                     0);
    assert_int_equal(run(r, "user-prompt-submit", "{\"prompt\":\"and add a test\"}"), 0);
    assert_int_equal(run(r, "post-tool-use", EDIT("\"x\"", "\"y\"")), 0);
    assert_int_equal(run(r, "stop",
                         "{\"hook_event_name\":\"Stop\",\"stop_hook_active\":false,"
                         "\"last_assistant_message\":\"Fixed the lexer crash and added a test.\"}"),
                     0);
    assert_int_equal(r->out.n_obs, 0);
    assert_true(r->out.has_summary);
    assert_string_equal(r->out.completed, "Fixed the lexer crash and added a test.");
    assert_string_equal(r->out.request, "Fix the crash in the lexer");
    assert_string_equal(r->out.notes, "Files modified: src/foo.c");

    /* no message, or only whitespace: no summary */
    assert_int_equal(run(r, "stop", "{\"last_assistant_message\":\"  \\n \"}"), 0);
    assert_false(r->out.has_summary);
    assert_int_equal(run(r, "stop", "{}"), 0);
    assert_false(r->out.has_summary);

    /* a long message is bounded */
    char big[12000];
    memcpy(big, "{\"last_assistant_message\":\"", 27);
    memset(big + 27, 'w', 10000);
    memcpy(big + 27 + 10000, "\"}", 3);
    assert_int_equal(run(r, "stop", big), 0);
    assert_true(r->out.has_summary);
    assert_true(strlen(r->out.completed) <= 4096 + 4);
}

static void test_capture_rules_session_end_summarizes_and_forgets_the_session(void **state)
{
    struct rig *r = *state;
    assert_int_equal(run(r, "post-tool-use", BASH("\"make\"", "{\"exit_code\":2}")), 0);
    assert_int_equal(r->out.n_obs, 1);
    assert_int_equal(
        run(r, "session-end", "{\"reason\":\"other\",\"last_assistant_message\":\"Stopped.\"}"), 0);
    assert_true(r->out.has_summary);
    /* the open failure went with the session: a pass is not a fix any more */
    assert_int_equal(run(r, "post-tool-use", BASH("\"make\"", "{\"stdout\":\"ok\"}")), 0);
    assert_int_equal(r->out.n_obs, 0);
}

static void test_capture_rules_malformed_fields_give_nothing(void **state)
{
    struct rig *r = *state;
    static const char *const bad[] = {
        "{\"tool_name\":7}",
        "{\"tool_name\":\"Edit\"}",
        "{\"tool_name\":\"Edit\",\"tool_input\":[]}",
        "{\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":3,\"old_string\":\"a\","
        "\"new_string\":\"b\"}}",
        "{\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"a\",\"old_string\":\"a\","
        "\"new_string\":5}}",
        "{\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"\",\"old_string\":\"a\","
        "\"new_string\":\"b\"}}",
        "{\"tool_name\":\"MultiEdit\",\"tool_input\":{\"file_path\":\"a\",\"edits\":{}}}",
        "{\"tool_name\":\"MultiEdit\",\"tool_input\":{\"file_path\":\"a\",\"edits\":[1]}}",
        "{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"a\",\"content\":null}}",
        "{\"tool_name\":\"NotebookEdit\",\"tool_input\":{\"notebook_path\":\"n\","
        "\"new_source\":[]}}",
        "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":42},\"tool_response\":{}}",
        "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"   \"},\"tool_response\":{}}",
        "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls\"},\"tool_response\":"
        "{\"exit_code\":\"2\",\"stderr\":4,\"interrupted\":\"yes\"}}",
        "{\"tool_name\":\"Read\",\"tool_input\":{\"file_path\":[]}}",
        "{\"tool_name\":\"Grep\",\"tool_response\":{\"filenames\":\"a\"}}",
        "{\"tool_name\":\"WebFetch\",\"tool_input\":{\"url\":\"https://x\"}}",
        "{\"tool_name\":\"Edit\",\"tool_input\":{\"file_path\":\"a\",\"old_string\":\"a\","
        "\"new_string\":\"b\"}}", /* a failed edit changed nothing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kind =
            i + 1 == sizeof bad / sizeof bad[0] ? "post-tool-use-failure" : "post-tool-use";
        assert_int_equal(run(r, kind, bad[i]), 0);
        if (r->out.n_obs != 0 || r->out.has_summary)
            fail_msg("payload %zu gave output: %s", i, bad[i]);
    }
    /* not an object at all, an unknown kind, a stop message of the wrong type */
    assert_int_equal(run(r, "post-tool-use", "[1,2]"), 0);
    assert_int_equal(run(r, "post-tool-use", "\"text\""), 0);
    assert_int_equal(run(r, "teleport", EDIT("\"x\"", "\"y\"")), 0);
    assert_int_equal(r->out.n_obs, 0);
    assert_int_equal(run(r, "stop", "{\"last_assistant_message\":{\"a\":1}}"), 0);
    assert_false(r->out.has_summary);
}

static void test_capture_rules_no_project_stores_nothing_but_keeps_pairing(void **state)
{
    struct rig *r = *state;
    assert_int_equal(run_id(r, 1, "post-tool-use", NULL, BASH("\"ctest\"", "{\"exit_code\":8}")),
                     0);
    assert_int_equal(r->out.n_obs, 0);
    assert_int_equal(run_id(r, 2, "post-tool-use", "proj", BASH("\"ctest\"", "{\"stdout\":\"\"}")),
                     0);
    assert_string_equal(only(r)->type, "bugfix");
}

static void test_capture_rules_bounds_titles_and_error_excerpts(void **state)
{
    struct rig *r = *state;
    char cmd[400], json[40000], err[30000];
    memset(cmd, 'c', sizeof cmd - 1);
    cmd[sizeof cmd - 1] = '\0';
    size_t n = 0;
    for (int i = 0; n + 40 < sizeof err; i++)
        n += (size_t)snprintf(err + n, sizeof err - n, "error line %d of the build\\n", i);
    snprintf(json, sizeof json,
             "{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"%s\"},"
             "\"tool_response\":{\"stderr\":\"%s\",\"exit_code\":1}}",
             cmd, err);
    assert_int_equal(run(r, "post-tool-use", json), 0);
    const struct mnemo_obs *o = only(r);
    assert_int_equal(strlen(o->title), 120);
    assert_string_equal(o->title + 117, "...");
    assert_true(strlen(o->narrative) < 2048 + 600);
    assert_null(strstr(o->narrative, "error line 0 ")); /* the head is dropped: last lines kept */
}

/*
 * Every field the extractor reads, given every JSON type in turn, for every tool and kind:
 * nothing may crash (ASan/UBSan run this), and a call never fails.
 */
static void test_capture_rules_survives_every_field_of_every_type(void **state)
{
    struct rig *r = *state;
    static const char *const tools[] = {"Edit", "Write", "MultiEdit", "NotebookEdit",
                                        "Bash", "Read",  "Grep",      "Glob"};
    static const char *const kinds[] = {"post-tool-use", "post-tool-use-failure", "stop",
                                        "session-end", "user-prompt-submit"};
    static const char *const values[] = {"null",      "7",  "-1",        "true", "\"\"",
                                         "\"x\\ny\"", "[]", "[\"a\",1]", "{}",   "{\"a\":[1]}"};
    static const char *const input_keys[] = {
        "file_path",  "old_string", "new_string", "content", "edits",      "notebook_path",
        "new_source", "edit_mode",  "cell_id",    "command", "replace_all"};
    static const char *const resp_keys[] = {"stdout",   "stderr", "exit_code", "interrupted",
                                            "is_error", "type",   "filenames"};
    char json[1024];
    for (size_t t = 0; t < sizeof tools / sizeof tools[0]; t++) {
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            for (size_t k = 0; k < sizeof input_keys / sizeof input_keys[0]; k++) {
                snprintf(json, sizeof json,
                         "{\"tool_name\":\"%s\",\"cwd\":%s,\"tool_input\":{\"file_path\":"
                         "\"f\",\"command\":\"make\",\"old_string\":\"a\","
                         "\"new_string\":\"b\",\"content\":\"c\",\"%s\":%s},"
                         "\"tool_response\":{\"%s\":%s},\"last_assistant_message\":%s,"
                         "\"prompt\":%s,\"error\":%s,\"session_id\":%s}",
                         tools[t], values[v], input_keys[k], values[v],
                         resp_keys[k % (sizeof resp_keys / sizeof resp_keys[0])], values[v],
                         values[v], values[v], values[v], values[v]);
                for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
                    assert_int_equal(run(r, kinds[i], json), 0);
            }
            /* the whole tool_input or tool_response of the wrong type */
            snprintf(json, sizeof json, "{\"tool_name\":\"%s\",\"tool_input\":%s}", tools[t],
                     values[v]);
            assert_int_equal(run(r, "post-tool-use", json), 0);
            snprintf(json, sizeof json,
                     "{\"tool_name\":\"%s\",\"tool_input\":{\"command\":\"x\","
                     "\"file_path\":\"y\"},\"tool_response\":%s}",
                     tools[t], values[v]);
            assert_int_equal(run(r, "post-tool-use", json), 0);
        }
    }
}

/* Feeds the same sequence to a fresh extractor and checks the same drafts come out. */
static void test_capture_rules_is_deterministic_and_replays_a_retried_event(void **state)
{
    struct rig *r = *state;
    static const char *const seq[] = {
        BASH("\"pytest -x tests/t.py\"", "{\"stderr\":\"E assert 1 == 2\",\"exit_code\":1}"),
        EDIT("\"1\"", "\"2\""),
        BASH("\"pytest tests/t.py\"", "{\"stdout\":\"1 passed\"}"),
    };
    char titles[2][3][200];
    for (int round = 0; round < 2; round++) {
        struct mnemo_extractor *x = r->x;
        if (round == 1) {
            struct mnemo_err e = {0};
            mnemo_extractor_free(r->x);
            assert_int_equal(mnemo_extractor_rules_new(&r->x, &e), 0);
            x = r->x;
        }
        (void)x;
        for (int i = 0; i < 3; i++) {
            assert_int_equal(run_id(r, 10 + i, "post-tool-use", "proj", seq[i]), 0);
            snprintf(titles[round][i], sizeof titles[round][i], "%s",
                     r->out.n_obs ? r->out.obs[0].title : "");
        }
    }
    for (int i = 0; i < 3; i++)
        assert_string_equal(titles[0][i], titles[1][i]);
    assert_string_equal(titles[0][2], "Fixed: pytest tests/t.py");

    /* the fix event again (a retry after a failed write): the same bugfix comes back */
    assert_int_equal(run_id(r, 12, "post-tool-use", "proj", seq[2]), 0);
    assert_string_equal(only(r)->title, "Fixed: pytest tests/t.py");
    assert_contains(only(r)->narrative, "E assert 1 == 2");
    /* while a new event with the same command is noise */
    assert_int_equal(run_id(r, 13, "post-tool-use", "proj", seq[2]), 0);
    assert_int_equal(r->out.n_obs, 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, rig_setup, rig_teardown)
    const struct CMUnitTest tests[] = {
        T(test_capture_rules_edit_is_a_change_with_line_counts_and_excerpt),
        T(test_capture_rules_write_multiedit_and_notebook_edits),
        T(test_capture_rules_failing_command_is_a_discovery_once),
        T(test_capture_rules_fix_pairs_with_the_failure_and_files_between),
        T(test_capture_rules_git_commit_is_a_change_with_its_message),
        T(test_capture_rules_reads_go_into_the_next_observation),
        T(test_capture_rules_stop_gives_a_summary),
        T(test_capture_rules_session_end_summarizes_and_forgets_the_session),
        T(test_capture_rules_malformed_fields_give_nothing),
        T(test_capture_rules_no_project_stores_nothing_but_keeps_pairing),
        T(test_capture_rules_bounds_titles_and_error_excerpts),
        T(test_capture_rules_survives_every_field_of_every_type),
        T(test_capture_rules_is_deterministic_and_replays_a_retried_event),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
