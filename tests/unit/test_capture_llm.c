/*
 * test_capture_llm.c - the LLM extractor with real child processes: the fake commands in
 * tests/data/llm stand in for the model (a good reply, junk, a hang, a failure, a checker of
 * the recursion guard and the prompt, a call counter, an overlap detector). Pins: drafts with
 * provenance llm and the parsed fields; every kind of trouble gives the rules output with a
 * note, a counter and a log line; the timeout kills the whole group on time; the daily budget
 * stops spawning; the concurrency limit holds across threads; the strict parser's rejections;
 * the built-in prompt equals prompts/extract.md.
 */
#include "memutil.h"

#include <pthread.h>
#include <unistd.h>

#include <jansson.h>

#include "capture/extract.h"
#include "memory/events.h"
#include "memory/privacy.h"
#include "memory/session.h"
#include "service/capture.h"
#include "service/worker.h"
#include "util/log.h"

#define T0 INT64_C(1790000000000)

/* tests/data/llm/<name>, found from this file's path so ctest works from any build dir. */
static const char *data_path(const char *name, char *buf, size_t size)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir_len = slash ? (int)(slash - file) : 1;
    snprintf(buf, size, "%.*s/../data/llm/%s", dir_len, slash ? file : ".", name);
    return buf;
}

struct rig {
    struct tu_dir dir;
    struct mnemo_log *log;
    char log_path[512];
    struct mnemo_extractor *x;
};

static int setup(void **state)
{
    struct rig *r = calloc(1, sizeof *r);
    assert_non_null(r);
    tu_dir_make(&r->dir);
    tu_path(&r->dir, "llm.log", r->log_path, sizeof r->log_path);
    r->log = tu_log_open(r->log_path);
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    struct rig *r = *state;
    mnemo_extractor_free(r->x);
    mnemo_log_close(r->log);
    tu_dir_remove(&r->dir);
    free(r);
    return 0;
}

/* Creates r->x running command (printf-formatted) with the given limits. */
__attribute__((format(printf, 5, 6))) static void
make_x(struct rig *r, int timeout_ms, int max_concurrent, int64_t daily_calls, const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    struct mnemo_extractor *rules = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_extractor_rules_new(&rules, &e), 0);
    struct mnemo_llm_config cfg = {.command = cmd,
                                   .timeout_ms = timeout_ms,
                                   .max_concurrent = max_concurrent,
                                   .daily_calls = daily_calls,
                                   .log = r->log};
    if (mnemo_extractor_llm_new(&cfg, rules, &r->x, &e) != 0)
        fail_msg("llm_new: %s", e.msg);
}

static const char *const EDIT_EVENT =
    "{\"session_id\":\"s1\",\"cwd\":\"/p\",\"tool_name\":\"Edit\",\"tool_input\":"
    "{\"file_path\":\"/p/src/pager.c\",\"old_string\":\"a\\n\",\"new_string\":\"b\\n\"},"
    "\"tool_response\":{}}";
static const char *const BASH_EVENT =
    "{\"session_id\":\"s1\",\"cwd\":\"/p\",\"tool_name\":\"Bash\",\"tool_input\":"
    "{\"command\":\"make test # MARKER-4711 <tag> & more\"},"
    "\"tool_response\":{\"stdout\":\"all 12 tests passed\",\"stderr\":\"\",\"interrupted\":false}}";

/* Runs one event (kind post-tool-use unless given) into out (initialised here). */
static int run_event(struct mnemo_extractor *x, int64_t id, const char *kind, const char *json,
                     struct mnemo_extract_output *out)
{
    json_error_t je;
    struct mnemo_err e = {0};
    json_t *j = json_loads(json, 0, &je);
    if (j == NULL)
        fail_msg("bad test JSON: %s", je.text);
    struct mnemo_extract_input in = {
        .event_id = id,
        .agent = "claude",
        .kind = kind ? kind : "post-tool-use",
        .agent_session_id = "s1",
        .session_id = 7,
        .project = "proj",
        .payload = j,
        .created_at = T0 + id,
    };
    mnemo_extract_output_init(out);
    int rc = mnemo_extractor_run(x, &in, out, &e);
    json_decref(j);
    return rc;
}

static struct mnemo_llm_stats stats_of(struct rig *r)
{
    struct mnemo_llm_stats s;
    mnemo_extractor_llm_stats(r->x, &s);
    return s;
}

/* Lines in path (0 when missing). */
static int count_lines(const char *path)
{
    char *text = tu_file_read(path, 1 << 20, NULL);
    int n = 0;
    for (const char *p = text; p != NULL && *p != '\0'; p++)
        n += *p == '\n';
    free(text);
    return n;
}

static int log_has(struct rig *r, const char *needle)
{
    char *text = tu_file_read(r->log_path, 1 << 20, NULL);
    int found = text != NULL && strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* The edit event's rules output, which every fallback must give. */
static void assert_rules_edit(const struct mnemo_extract_output *out)
{
    assert_int_equal(out->n_obs, 1);
    assert_string_equal(out->obs[0].provenance, "rules");
    assert_string_equal(out->obs[0].type, "change");
    assert_string_equal(out->obs[0].title, "Edited src/pager.c");
}

/* ---- success ----------------------------------------------------------------------------- */

static void test_good_reply_gives_llm_drafts_with_the_parsed_fields(void **state)
{
    struct rig *r = *state;
    char sh[512], xml[512];
    setenv("MNEMO_INTERNAL", "0", 1); /* the child must get 1 whatever the parent has */
    make_x(r, 10000, 1, 0, "%s %s MARKER-4711", data_path("check.sh", sh, sizeof sh),
           data_path("good_reply.xml", xml, sizeof xml));
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, BASH_EVENT, &out), 0);
    unsetenv("MNEMO_INTERNAL");
    if (out.note[0] != '\0')
        fail_msg("unexpected fallback: %s", out.note);
    assert_int_equal(out.n_obs, 1);
    const struct mnemo_obs *o = &out.obs[0];
    assert_string_equal(o->provenance, "llm");
    assert_string_equal(o->type, "bugfix");
    assert_string_equal(o->project, "proj");
    assert_int_equal(o->session_id, 7);
    assert_int_equal(o->created_at, T0 + 1);
    assert_string_equal(o->title, "Pager skipped the last line & its test missed it");
    assert_string_equal(o->subtitle, "off-by-one in page_count");
    assert_string_equal(o->narrative,
                        "page_count rounded down, so the last partial page was never shown.");
    assert_int_equal(o->n_facts, 2);
    assert_string_equal(o->facts[0], "page_count must round up: (n + size - 1) / size");
    assert_string_equal(o->facts[1], "x < y \xe2\x86\x92 ok");
    assert_int_equal(o->n_concepts, 2);
    assert_string_equal(o->concepts[0], "problem-solution");
    assert_string_equal(o->concepts[1], "gotcha");
    assert_int_equal(o->n_files_read, 1);
    assert_string_equal(o->files_read[0], "src/pager.h");
    assert_int_equal(o->n_files_modified, 1);
    assert_string_equal(o->files_modified[0], "src/pager.c");
    struct mnemo_llm_stats s = stats_of(r);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.calls_today, 1);
    assert_int_equal(s.successes, 1);
    assert_int_equal(s.fallbacks, 0);
    assert_true(s.tokens_today > 0);
    mnemo_extract_output_release(&out);
}

static void test_files_read_collected_by_the_fallback_join_the_llm_drafts(void **state)
{
    struct rig *r = *state;
    char sh[512], xml[512], cnt[512];
    make_x(r, 10000, 1, 0, "%s %s %s", data_path("counter.sh", sh, sizeof sh),
           tu_path(&r->dir, "count", cnt, sizeof cnt),
           data_path("good_reply.xml", xml, sizeof xml));
    struct mnemo_extract_output out;
    /* A Read goes to the rules alone (no call), which remember the file for the next draft. */
    assert_int_equal(run_event(r->x, 1, NULL,
                               "{\"session_id\":\"s1\",\"cwd\":\"/p\",\"tool_name\":\"Read\","
                               "\"tool_input\":{\"file_path\":\"/p/docs/notes.md\"}}",
                               &out),
                     0);
    assert_int_equal(out.n_obs, 0);
    mnemo_extract_output_release(&out);
    assert_int_equal(count_lines(cnt), 0);
    assert_int_equal(run_event(r->x, 2, NULL, EDIT_EVENT, &out), 0);
    assert_int_equal(count_lines(cnt), 1);
    assert_int_equal(out.n_obs, 1);
    assert_string_equal(out.obs[0].provenance, "llm");
    assert_int_equal(out.obs[0].n_files_read, 2);
    assert_string_equal(out.obs[0].files_read[0], "src/pager.h");
    assert_string_equal(out.obs[0].files_read[1], "docs/notes.md");
    mnemo_extract_output_release(&out);
}

static void test_skip_reply_gives_nothing_and_is_no_fallback(void **state)
{
    struct rig *r = *state;
    char sh[512], prompt[512];
    make_x(r, 10000, 1, 0, "%s %s", data_path("tee.sh", sh, sizeof sh),
           tu_path(&r->dir, "prompt.txt", prompt, sizeof prompt));
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    assert_int_equal(out.n_obs, 0);
    assert_string_equal(out.note, "");
    struct mnemo_llm_stats s = stats_of(r);
    assert_int_equal(s.skips, 1);
    assert_int_equal(s.fallbacks, 0);
    mnemo_extract_output_release(&out);
}

static void test_prompt_carries_the_event_escaped_and_bounded(void **state)
{
    struct rig *r = *state;
    char sh[512], prompt[512];
    make_x(r, 10000, 1, 0, "%s %s", data_path("tee.sh", sh, sizeof sh),
           tu_path(&r->dir, "prompt.txt", prompt, sizeof prompt));
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, BASH_EVENT, &out), 0);
    mnemo_extract_output_release(&out);
    char *text = tu_file_read(prompt, 1 << 20, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "<tool_name>Bash</tool_name>"));
    assert_non_null(strstr(text, "<project>proj</project>"));
    assert_non_null(strstr(text, "MARKER-4711 &lt;tag&gt; &amp; more"));
    assert_non_null(strstr(text, "all 12 tests passed"));
    assert_null(strstr(text, "{{"));
    free(text);

    /* A response of 20,000 bytes reaches the model cut to 5,000 and marked. */
    char *big = malloc(20001);
    assert_non_null(big);
    memset(big, 'z', 20000);
    big[20000] = '\0';
    json_t *ev = json_pack("{s:s, s:s, s:{s:s}, s:s}", "session_id", "s1", "tool_name", "Bash",
                           "tool_input", "command", "cat big", "tool_response", big);
    char *js = json_dumps(ev, 0);
    assert_int_equal(run_event(r->x, 2, NULL, js, &out), 0);
    mnemo_extract_output_release(&out);
    text = tu_file_read(prompt, 1 << 20, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "[... cut]"));
    assert_true(strlen(text) < 5000 + 4000);
    free(text);
    free(js);
    json_decref(ev);
    free(big);
}

/* Runs the edit event with the template file tmpl (may be missing); returns the prompt. */
static char *prompt_with_template(struct rig *r, const char *tmpl)
{
    char sh[512], prompt[512], cmd[1200];
    struct mnemo_extractor *rules = NULL;
    struct mnemo_err e = {0};
    snprintf(cmd, sizeof cmd, "%s %s", data_path("tee.sh", sh, sizeof sh),
             tu_path(&r->dir, "prompt.txt", prompt, sizeof prompt));
    assert_int_equal(mnemo_extractor_rules_new(&rules, &e), 0);
    struct mnemo_llm_config cfg = {.command = cmd, .prompt_path = tmpl, .log = r->log};
    mnemo_extractor_free(r->x);
    assert_int_equal(mnemo_extractor_llm_new(&cfg, rules, &r->x, &e), 0);
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    mnemo_extract_output_release(&out);
    char *text = tu_file_read(prompt, 1 << 20, NULL);
    assert_non_null(text);
    return text;
}

static void test_template_file_is_used_and_a_missing_one_logged(void **state)
{
    struct rig *r = *state;
    char tmpl[512];
    tu_path(&r->dir, "tmpl.md", tmpl, sizeof tmpl);
    tu_file_write(tmpl, "TOOL={{tool_name}} {{unknown}} END\n", 35);
    char *text = prompt_with_template(r, tmpl);
    assert_string_equal(text, "TOOL=Edit {{unknown}} END\n");
    free(text);
    text = prompt_with_template(r, "/nonexistent/extract.md");
    assert_non_null(strstr(text, "You are the memory extractor of mnemo"));
    assert_non_null(strstr(text, "<tool_name>Edit</tool_name>"));
    assert_true(log_has(r, "prompt template not usable"));
    free(text);
}

static void test_builtin_prompt_equals_the_repo_template(void **state)
{
    (void)state;
    char path[512];
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    snprintf(path, sizeof path, "%.*s/../../prompts/extract.md", (int)(slash - file), file);
    size_t len = 0;
    char *text = tu_file_read(path, 1 << 20, &len);
    if (text == NULL)
        skip(); /* built away from the source tree */
    const char *builtin = mnemo_extractor_llm_builtin_prompt();
    assert_int_equal(strlen(builtin), len);
    assert_string_equal(builtin, text);
    free(text);
}

/* ---- fallbacks --------------------------------------------------------------------------- */

static void test_junk_reply_falls_back_to_rules_and_counts_rejected(void **state)
{
    struct rig *r = *state;
    char sh[512];
    make_x(r, 10000, 1, 0, "%s", data_path("junk.sh", sh, sizeof sh));
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    assert_rules_edit(&out);
    assert_non_null(strstr(out.note, "llm: llm reply rejected"));
    assert_non_null(strstr(out.note, "rules output used"));
    struct mnemo_llm_stats s = stats_of(r);
    assert_int_equal(s.rejected, 1);
    assert_int_equal(s.fallbacks, 1);
    assert_int_equal(s.successes, 0);
    assert_true(log_has(r, "llm extractor: fell back"));
    mnemo_extract_output_release(&out);
}

static int pid_alive(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren != NULL && paren[1] == ' ' && paren[2] != 'Z'; /* a zombie is dead */
}

static void test_timeout_kills_the_group_within_the_deadline(void **state)
{
    struct rig *r = *state;
    char sh[512], pidf[512];
    make_x(r, 300, 1, 0, "%s %s", data_path("sleep.sh", sh, sizeof sh),
           tu_path(&r->dir, "bg.pid", pidf, sizeof pidf));
    struct mnemo_extract_output out;
    int64_t t0 = tu_now_ms();
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    int64_t took = tu_now_ms() - t0;
    if (took > 300 + 100)
        fail_msg("took %lld ms with a 300 ms timeout", (long long)took);
    assert_rules_edit(&out);
    assert_non_null(strstr(out.note, "timed out after 300 ms"));
    struct mnemo_llm_stats s = stats_of(r);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.fallbacks, 1);
    /* The script's background child went with the group. */
    char *pid_text = tu_file_read(pidf, 64, NULL);
    assert_non_null(pid_text);
    pid_t bg = (pid_t)atoi(pid_text);
    free(pid_text);
    assert_true(bg > 0);
    int64_t until = tu_now_ms() + 5000; /* init reaps it; a generous deadline */
    while (pid_alive(bg) && tu_now_ms() < until)
        usleep(10000);
    assert_false(pid_alive(bg));
    mnemo_extract_output_release(&out);
}

static void test_nonzero_exit_falls_back_with_stderr_in_the_log(void **state)
{
    struct rig *r = *state;
    char sh[512];
    make_x(r, 10000, 1, 0, "%s", data_path("fail.sh", sh, sizeof sh));
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    assert_rules_edit(&out);
    assert_non_null(strstr(out.note, "exited with status 1"));
    assert_int_equal(stats_of(r).failures, 1);
    assert_true(log_has(r, "model overloaded, try later"));
    mnemo_extract_output_release(&out);
}

static void test_missing_program_falls_back(void **state)
{
    struct rig *r = *state;
    make_x(r, 10000, 1, 0, "mnemo-no-such-llm-command --flag");
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    assert_rules_edit(&out);
    assert_non_null(strstr(out.note, "cannot run mnemo-no-such-llm-command"));
    assert_int_equal(stats_of(r).failures, 1);
    mnemo_extract_output_release(&out);
}

static void test_oversized_reply_is_rejected(void **state)
{
    struct rig *r = *state;
    char sh[512];
    make_x(r, 10000, 1, 0, "%s", data_path("big.sh", sh, sizeof sh));
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    assert_rules_edit(&out);
    assert_non_null(strstr(out.note, "reply larger than"));
    assert_int_equal(stats_of(r).rejected, 1);
    mnemo_extract_output_release(&out);
}

static void test_spent_budget_uses_rules_without_spawning(void **state)
{
    struct rig *r = *state;
    char sh[512], xml[512], cnt[512];
    make_x(r, 10000, 1, 1, "%s %s %s", data_path("counter.sh", sh, sizeof sh),
           tu_path(&r->dir, "count", cnt, sizeof cnt),
           data_path("good_reply.xml", xml, sizeof xml));
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    assert_string_equal(out.obs[0].provenance, "llm");
    mnemo_extract_output_release(&out);
    assert_int_equal(run_event(r->x, 2, NULL, EDIT_EVENT, &out), 0);
    assert_rules_edit(&out);
    assert_non_null(strstr(out.note, "daily budget spent"));
    mnemo_extract_output_release(&out);
    assert_int_equal(count_lines(cnt), 1);
    struct mnemo_llm_stats s = stats_of(r);
    assert_int_equal(s.calls_today, 1);
    assert_int_equal(s.budget_exhausted, 1);
    assert_int_equal(s.fallbacks, 1);
}

static void test_token_budget_refuses_a_prompt_that_would_pass_it(void **state)
{
    struct rig *r = *state;
    char sh[512], xml[512], cnt[512], cmd[1600];
    struct mnemo_extractor *rules = NULL;
    struct mnemo_err e = {0};
    snprintf(cmd, sizeof cmd, "%s %s %s", data_path("counter.sh", sh, sizeof sh),
             tu_path(&r->dir, "count", cnt, sizeof cnt),
             data_path("good_reply.xml", xml, sizeof xml));
    assert_int_equal(mnemo_extractor_rules_new(&rules, &e), 0);
    /* The built-in prompt alone is about 700 tokens. */
    struct mnemo_llm_config cfg = {.command = cmd, .daily_tokens = 100, .log = r->log};
    assert_int_equal(mnemo_extractor_llm_new(&cfg, rules, &r->x, &e), 0);
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    assert_rules_edit(&out);
    mnemo_extract_output_release(&out);
    assert_int_equal(count_lines(cnt), 0);
    assert_int_equal(stats_of(r).budget_exhausted, 1);
}

static void test_other_kinds_and_skipped_tools_never_spawn(void **state)
{
    struct rig *r = *state;
    char sh[512], xml[512], cnt[512];
    make_x(r, 10000, 1, 0, "%s %s %s", data_path("counter.sh", sh, sizeof sh),
           tu_path(&r->dir, "count", cnt, sizeof cnt),
           data_path("good_reply.xml", xml, sizeof xml));
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, "stop",
                               "{\"session_id\":\"s1\",\"last_assistant_message\":"
                               "\"Fixed the pager and its tests.\"}",
                               &out),
                     0);
    assert_true(out.has_summary);
    assert_string_equal(out.completed, "Fixed the pager and its tests.");
    mnemo_extract_output_release(&out);
    assert_int_equal(run_event(r->x, 2, NULL,
                               "{\"session_id\":\"s1\",\"tool_name\":\"TodoWrite\","
                               "\"tool_input\":{\"todos\":[]}}",
                               &out),
                     0);
    assert_int_equal(out.n_obs, 0);
    mnemo_extract_output_release(&out);
    assert_int_equal(count_lines(cnt), 0);
    assert_int_equal(stats_of(r).fallbacks, 0);
}

static void test_retried_event_is_replayed_without_a_second_call(void **state)
{
    struct rig *r = *state;
    char sh[512], xml[512], cnt[512];
    make_x(r, 10000, 1, 0, "%s %s %s", data_path("counter.sh", sh, sizeof sh),
           tu_path(&r->dir, "count", cnt, sizeof cnt),
           data_path("good_reply.xml", xml, sizeof xml));
    struct mnemo_extract_output out;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run_event(r->x, 5, NULL, EDIT_EVENT, &out), 0);
        assert_int_equal(out.n_obs, 1);
        assert_string_equal(out.obs[0].provenance, "llm");
        assert_string_equal(out.obs[0].type, "bugfix");
        mnemo_extract_output_release(&out);
    }
    assert_int_equal(count_lines(cnt), 1);
}

/* ---- concurrency ------------------------------------------------------------------------- */

struct worker_arg {
    struct mnemo_extractor *x;
    int64_t id;
    int rc;
    char provenance[8];
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    struct mnemo_extract_output out;
    a->rc = run_event(a->x, a->id, NULL, EDIT_EVENT, &out);
    if (out.n_obs > 0)
        snprintf(a->provenance, sizeof a->provenance, "%s", out.obs[0].provenance);
    mnemo_extract_output_release(&out);
    return NULL;
}

static void test_concurrency_limit_holds_across_threads(void **state)
{
    struct rig *r = *state;
    char sh[512], xml[512];
    make_x(r, 20000, 1, 0, "%s %s %s", data_path("overlap.sh", sh, sizeof sh), r->dir.path,
           data_path("good_reply.xml", xml, sizeof xml));
    pthread_t t[4];
    struct worker_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct worker_arg){.x = r->x, .id = i + 1, .rc = -1, .provenance = ""};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].rc, 0);
        assert_string_equal(a[i].provenance, "llm");
    }
    char calls[600], overlaps[600];
    snprintf(calls, sizeof calls, "%s/calls", r->dir.path);
    snprintf(overlaps, sizeof overlaps, "%s/overlaps", r->dir.path);
    assert_int_equal(count_lines(calls), 4);
    assert_int_equal(count_lines(overlaps), 0);
    assert_int_equal(stats_of(r).calls, 4);
}

/* ---- the strict parser ------------------------------------------------------------------- */

/* Runs the edit event against a reply of text; returns the output's provenance ("" = none). */
static void reply_case(struct rig *r, const char *reply, const char *want, int line)
{
    char sh[512], path[512];
    tu_path(&r->dir, "reply.xml", path, sizeof path);
    tu_file_write(path, reply, strlen(reply));
    mnemo_extractor_free(r->x);
    r->x = NULL;
    make_x(r, 10000, 1, 0, "%s %s", data_path("reply.sh", sh, sizeof sh), path);
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    const char *got = out.n_obs > 0 ? out.obs[0].provenance : "";
    if (strcmp(got, want) != 0)
        fail_msg("line %d: want %s, got %s (note: %s) for reply: %s", line, want, got, out.note,
                 reply);
    mnemo_extract_output_release(&out);
}

#define OBS(inner)                                                                                 \
    "<observation><type>change</type><title>T</title><narrative>N</narrative>" inner               \
    "</observation>"

static void test_strict_parser_rejects_malformed_replies(void **state)
{
    struct rig *r = *state;
    static const char *const bad[] = {
        "",
        "   \n",
        "Here you go: " OBS(""),
        OBS("") " thanks!",
        OBS("<color>red</color>"),
        "<observation><type>change</type><narrative>N</narrative></observation>",
        "<observation><type>change</type><title>T</title></observation>",
        "<observation><title>T</title><narrative>N</narrative></observation>",
        "<observation><type>chore</type><title>T</title><narrative>N</narrative></observation>",
        "<observation><type>change</type><type>change</type><title>T</title>"
        "<narrative>N</narrative></observation>",
        "<observation type=\"change\"><title>T</title><narrative>N</narrative></observation>",
        OBS("<concepts><concept>magic</concept></concepts>"),
        OBS("<concepts><concept>testing</concept><concept>gotcha</concept><concept>pattern</concept>"
            "<concept>workflow</concept></concepts>"),
        OBS("<facts><item>x</item></facts>"),
        OBS("<facts><fact></fact></facts>"),
        OBS("<facts>loose text</facts>"),
        OBS("<subtitle>a &nbsp; b</subtitle>"),
        OBS("<subtitle>&#0;</subtitle>"),
        OBS("<subtitle><![CDATA[x]]></subtitle>"),
        OBS("<!-- note -->"),
        "<observation><type>change</type><title>T</title><narrative>N</narrative>",
        OBS("") OBS("") OBS("") OBS(""),
        "<skip/><skip/>",
        "<skip why=\"x\"/>",
        "<skip>x</skip>",
        "```json\n" OBS("") "\n```",
        "<observation><type>change</type><title>"
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567"
        "8901234567890123456789012345678901234567890123456789012345678901234567890123456789012345"
        "6789012345678901234567890</title><narrative>N</narrative></observation>",
        OBS("<subtitle>\xff\xfe</subtitle>"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        reply_case(r, bad[i], "rules", (int)i);
    struct mnemo_llm_stats s = stats_of(r);
    assert_int_equal(s.rejected, 1); /* the last extractor's one call */
}

static void test_strict_parser_accepts_the_documented_forms(void **state)
{
    struct rig *r = *state;
    static const char *const good[] = {
        OBS(""),
        "\n  " OBS("<subtitle/><facts/><concepts/><files_read/><files_modified/>") "\n\n",
        "<observation>\n <narrative>N</narrative>\n <title> T </title>\n <type>change</type>\n"
        "</observation>",
        OBS("") OBS("") OBS(""),
        "```xml\n" OBS("") "\n```\n",
        "```\n" OBS("") "\n```",
        OBS("<facts><fact>a &quot;b&quot; &apos;c&apos; &#65;&#x42;</fact></facts>"),
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        reply_case(r, good[i], "llm", (int)i);
    reply_case(r, "<skip/>", "", 100);
    reply_case(r, "  <skip reason=\"trivial listing\" />\n", "", 101);
    assert_int_equal(stats_of(r).skips, 1);
}

/* ---- configuration ----------------------------------------------------------------------- */

static void test_bad_configuration_is_refused_and_frees_the_fallback(void **state)
{
    (void)state;
    static const char *const cmds[] = {"claude -p 'unterminated", "   ", "\"\" -p", "trailing\\"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        struct mnemo_extractor *rules = NULL, *x = NULL;
        struct mnemo_err e = {0};
        assert_int_equal(mnemo_extractor_rules_new(&rules, &e), 0);
        struct mnemo_llm_config cfg = {.command = cmds[i]};
        assert_int_equal(mnemo_extractor_llm_new(&cfg, rules, &x, &e), MNEMO_EINVAL);
        assert_null(x);
    }
    struct mnemo_extractor *rules = NULL, *x = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_extractor_rules_new(&rules, &e), 0);
    struct mnemo_llm_config cfg = {.timeout_ms = -5};
    assert_int_equal(mnemo_extractor_llm_new(&cfg, rules, &x, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_extractor_llm_new(&cfg, NULL, &x, &e), MNEMO_EINVAL);
    /* The default command splits (its --tools "" is one empty argument). */
    assert_int_equal(mnemo_extractor_rules_new(&rules, &e), 0);
    assert_int_equal(mnemo_extractor_llm_new(NULL, rules, &x, &e), 0);
    struct mnemo_llm_stats s;
    mnemo_extractor_llm_stats(x, &s);
    assert_int_equal(s.calls, 0);
    mnemo_extractor_free(x);
    /* Stats of another extractor are zero. */
    assert_int_equal(mnemo_extractor_rules_new(&rules, &e), 0);
    s.calls = 99;
    mnemo_extractor_llm_stats(rules, &s);
    assert_int_equal(s.calls, 0);
    mnemo_extractor_free(rules);
}

static void test_quoted_arguments_reach_the_child_as_single_words(void **state)
{
    struct rig *r = *state;
    char xml[512], out_path[512];
    tu_path(&r->dir, "args.txt", out_path, sizeof out_path);
    /* sh -c with a script given as one quoted word; $1.. are the next words. */
    make_x(r, 10000, 1, 0,
           "/bin/sh -c 'cat >/dev/null; printf \"%%s|\" \"$@\" >\"$0\"; cat %s' %s \"a b\" '' "
           "c\\ d \"\\$x\" '$HOME;*'",
           data_path("good_reply.xml", xml, sizeof xml), out_path);
    struct mnemo_extract_output out;
    assert_int_equal(run_event(r->x, 1, NULL, EDIT_EVENT, &out), 0);
    assert_string_equal(out.obs[0].provenance, "llm");
    mnemo_extract_output_release(&out);
    char *args = tu_file_read(out_path, 4096, NULL);
    assert_non_null(args);
    assert_string_equal(args, "a b||c d|$x|$HOME;*|");
    free(args);
}

/* ---- inside the capture thread ---------------------------------------------------------- */

struct count_arg {
    const char *sql;
    int64_t n;
};

static int count_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    struct count_arg *a = arg;
    return mnemo_conn_query_int(c, a->sql, &a->n, err);
}

static int64_t query_count(struct mnemo_store *st, const char *sql)
{
    struct count_arg a = {.sql = sql, .n = 0};
    struct mnemo_err e = {0};
    if (mnemo_store_read(st, "test-count", 5000, count_fn, &a, &e) != 0)
        fail_msg("'%s': %s", sql, e.msg);
    return a.n;
}

static void test_capture_thread_stores_llm_drafts_and_falls_back_without_loss(void **state)
{
    struct rig *r = *state;
    char sh[512], xml[512], cnt[512];
    void *m = NULL;
    struct mnemo_privacy *priv = NULL;
    struct mnemo_session sess;
    struct mnemo_capture *cap = NULL;
    struct mnemo_err e = {0};
    mu_search_setup(&m);
    struct mu_search_fixture *fx = m;
    assert_int_equal(mnemo_privacy_new(&priv, &e), 0);
    struct mnemo_worker *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->st = fx->st;
    w->priv = priv;
    w->emb = fx->emb;
    w->vx = fx->vx;
    w->log = r->log;
    assert_int_equal(
        mnemo_session_start(fx->st, "claude", "s1", "proj", "/nowhere", T0, &sess, NULL, &e), 0);
    /* One call a day: the first event gets the model's drafts, the second the rules'. */
    make_x(r, 10000, 1, 1, "%s %s %s", data_path("counter.sh", sh, sizeof sh),
           tu_path(&r->dir, "count", cnt, sizeof cnt),
           data_path("good_reply.xml", xml, sizeof xml));
    struct mnemo_extractor *x = r->x;
    r->x = NULL; /* the capture thread owns it now */
    assert_int_equal(mnemo_capture_start_with(w, &x, 1, &cap, &e), 0);
    for (int i = 0; i < 2; i++) {
        int64_t id = 0;
        assert_int_equal(mnemo_events_append(fx->st, "claude", "s1", sess.id, "post-tool-use",
                                             EDIT_EVENT, 0, &id, &e),
                         0);
    }
    int64_t until = tu_now_ms() + 30000;
    while (query_count(fx->st, "SELECT count(*) FROM events WHERE status = 'done'") < 2 &&
           tu_now_ms() < until) {
        mnemo_capture_kick(cap);
        usleep(10000);
    }
    mnemo_capture_stop(cap);
    assert_int_equal(query_count(fx->st, "SELECT count(*) FROM events WHERE status = 'done'"), 2);
    assert_int_equal(query_count(fx->st, "SELECT count(*) FROM observations WHERE provenance = "
                                         "'llm' AND title LIKE 'Pager skipped%'"),
                     1);
    assert_int_equal(query_count(fx->st, "SELECT count(*) FROM observations WHERE provenance = "
                                         "'rules' AND title = 'Edited src/pager.c'"),
                     1);
    assert_int_equal(count_lines(cnt), 1);
    mnemo_privacy_free(priv);
    free(w);
    mu_search_teardown(&m);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_good_reply_gives_llm_drafts_with_the_parsed_fields),
        T(test_files_read_collected_by_the_fallback_join_the_llm_drafts),
        T(test_skip_reply_gives_nothing_and_is_no_fallback),
        T(test_prompt_carries_the_event_escaped_and_bounded),
        T(test_template_file_is_used_and_a_missing_one_logged),
        cmocka_unit_test(test_builtin_prompt_equals_the_repo_template),
        T(test_junk_reply_falls_back_to_rules_and_counts_rejected),
        T(test_timeout_kills_the_group_within_the_deadline),
        T(test_nonzero_exit_falls_back_with_stderr_in_the_log),
        T(test_missing_program_falls_back),
        T(test_oversized_reply_is_rejected),
        T(test_spent_budget_uses_rules_without_spawning),
        T(test_token_budget_refuses_a_prompt_that_would_pass_it),
        T(test_other_kinds_and_skipped_tools_never_spawn),
        T(test_retried_event_is_replayed_without_a_second_call),
        T(test_concurrency_limit_holds_across_threads),
        T(test_strict_parser_rejects_malformed_replies),
        T(test_strict_parser_accepts_the_documented_forms),
        cmocka_unit_test(test_bad_configuration_is_refused_and_frees_the_fallback),
        T(test_quoted_arguments_reach_the_child_as_single_words),
        T(test_capture_thread_stores_llm_drafts_and_falls_back_without_loss),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
