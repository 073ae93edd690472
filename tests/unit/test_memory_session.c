/*
 * test_memory_session.c - sessions (idempotent start, end, reopen, lists), prompts (numbering,
 * the 10 s duplicate window, wholly private prompts, bounds) and summaries (round trip,
 * latest, lists, bounds), each against a real database in a temporary directory.
 */
#include "memutil.h"

#include <string.h>

#include "memory/prompt.h"
#include "memory/schema.h"
#include "memory/session.h"
#include "memory/summary.h"

#define T0 INT64_C(1790000000000) /* a fixed wall-clock time, in ms */

static int count_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    const char *sql = *(const char **)arg;
    int64_t n = 0;
    int rc = mnemo_conn_query_int(c, sql, &n, err);
    *(int64_t *)arg = n;
    return rc;
}

/* The integer the query returns. */
static int64_t q(struct mnemo_store *st, const char *sql)
{
    union {
        const char *sql;
        int64_t n;
    } u = {.sql = sql};
    struct mnemo_err e = {0};
    if (mnemo_store_read(st, "test-count", 5000, count_fn, &u, &e) != 0)
        fail_msg("'%s': %s", sql, e.msg);
    return u.n;
}

static int64_t start(struct mnemo_store *st, const char *agent, const char *id, const char *project,
                     int64_t now)
{
    struct mnemo_session s;
    struct mnemo_err e = {0};
    if (mnemo_session_start(st, agent, id, project, "/work/x", now, &s, NULL, &e) != 0)
        fail_msg("session start: %s", e.msg);
    return s.id;
}

static struct mnemo_prompt_recorded rec(struct mnemo_store *st, int64_t sid, const char *text,
                                        int priv, int64_t now)
{
    struct mnemo_prompt_recorded r;
    struct mnemo_err e = {0};
    if (mnemo_prompt_record(st, sid, text, priv, now, &r, &e) != 0)
        fail_msg("prompt record: %s", e.msg);
    return r;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static void test_memory_session_start_is_idempotent_per_agent_and_id(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_session a, b, c;
    struct mnemo_err e = {0};
    int created = -1;

    assert_int_equal(
        mnemo_session_start(f->st, "claude", "uuid-1", "proj_abc123", "/w/p", T0, &a, &created, &e),
        0);
    assert_int_equal(created, 1);
    assert_true(a.id > 0);
    assert_string_equal(a.agent, "claude");
    assert_string_equal(a.agent_session_id, "uuid-1");
    assert_string_equal(a.project, "proj_abc123");
    assert_string_equal(a.cwd, "/w/p");
    assert_int_equal(a.started_at, T0);
    assert_int_equal(a.ended_at, 0);
    assert_int_equal(a.status, MNEMO_SESSION_ACTIVE);
    assert_int_equal(a.prompt_counter, 0);

    /* Same pair later, from another directory: the same row, as first recorded. */
    assert_int_equal(mnemo_session_start(f->st, "claude", "uuid-1", "other_def456", "/elsewhere",
                                         T0 + 5000, &b, &created, &e),
                     0);
    assert_int_equal(created, 0);
    assert_int_equal(b.id, a.id);
    assert_string_equal(b.project, "proj_abc123");
    assert_string_equal(b.cwd, "/w/p");
    assert_int_equal(b.started_at, T0);

    /* Another agent with the same session id is another session. */
    assert_int_equal(
        mnemo_session_start(f->st, "codex", "uuid-1", "proj_abc123", NULL, T0, &c, &created, &e),
        0);
    assert_int_equal(created, 1);
    assert_true(c.id != a.id);
    assert_string_equal(c.cwd, "");
    assert_int_equal(q(f->st, "SELECT count(*) FROM sessions"), 2);

    assert_int_equal(mnemo_session_find(f->st, "codex", "uuid-1", &b, &e), 0);
    assert_int_equal(b.id, c.id);
    assert_int_equal(mnemo_session_find(f->st, "gemini", "uuid-1", &b, &e), MNEMO_ENOTFOUND);
    assert_non_null(strstr(e.msg, "uuid-1"));
    assert_int_equal(b.id, 0);
    assert_int_equal(mnemo_session_get(f->st, a.id, &b, &e), 0);
    assert_string_equal(b.agent_session_id, "uuid-1");
    assert_int_equal(mnemo_session_get(f->st, 9999, &b, &e), MNEMO_ENOTFOUND);
}

static void test_memory_session_end_records_status_and_first_end_wins(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_session s;
    struct mnemo_err e = {0};
    int created = -1;
    int64_t id = start(f->st, "claude", "s-end", "p_000001", T0);

    assert_int_equal(mnemo_session_end(f->st, id, MNEMO_SESSION_COMPLETED, T0 + 60000, &e), 0);
    assert_int_equal(mnemo_session_get(f->st, id, &s, &e), 0);
    assert_int_equal(s.status, MNEMO_SESSION_COMPLETED);
    assert_int_equal(s.ended_at, T0 + 60000);
    assert_string_equal(mnemo_session_status_name(s.status), "completed");

    /* A retried end changes nothing. */
    assert_int_equal(mnemo_session_end(f->st, id, MNEMO_SESSION_FAILED, T0 + 90000, &e), 0);
    assert_int_equal(mnemo_session_get(f->st, id, &s, &e), 0);
    assert_int_equal(s.status, MNEMO_SESSION_COMPLETED);
    assert_int_equal(s.ended_at, T0 + 60000);

    /* Resuming reopens it. */
    assert_int_equal(mnemo_session_start(f->st, "claude", "s-end", "p_000001", "", T0 + 100000, &s,
                                         &created, &e),
                     0);
    assert_int_equal(created, 0);
    assert_int_equal(s.id, id);
    assert_int_equal(s.status, MNEMO_SESSION_ACTIVE);
    assert_int_equal(s.ended_at, 0);

    /* A clock that stepped back never ends a session before it started. */
    assert_int_equal(mnemo_session_end(f->st, id, MNEMO_SESSION_FAILED, T0 - 5, &e), 0);
    assert_int_equal(mnemo_session_get(f->st, id, &s, &e), 0);
    assert_int_equal(s.status, MNEMO_SESSION_FAILED);
    assert_int_equal(s.ended_at, T0);

    assert_int_equal(mnemo_session_end(f->st, id, MNEMO_SESSION_ACTIVE, T0, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_session_end(f->st, id + 100, MNEMO_SESSION_FAILED, T0, &e),
                     MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_session_end(f->st, id, MNEMO_SESSION_FAILED, -1, &e), MNEMO_EINVAL);

    enum mnemo_session_status parsed;
    assert_int_equal(mnemo_session_status_parse("failed", &parsed, &e), 0);
    assert_int_equal(parsed, MNEMO_SESSION_FAILED);
    assert_int_equal(mnemo_session_status_parse("done", &parsed, &e), MNEMO_EINVAL);
}

static void test_memory_session_list_recent_is_per_project_newest_first(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_session *list = NULL;
    struct mnemo_err e = {0};
    int n = -1;
    int64_t s1 = start(f->st, "claude", "a", "one_111111", T0 + 1);
    int64_t s2 = start(f->st, "claude", "b", "one_111111", T0 + 3);
    int64_t s3 = start(f->st, "claude", "c", "one_111111", T0 + 2);
    start(f->st, "claude", "d", "two_222222", T0 + 4);

    assert_int_equal(mnemo_session_list_recent(f->st, "one_111111", 2, &list, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, s2);
    assert_int_equal(list[1].id, s3);
    free(list);
    assert_int_equal(mnemo_session_list_recent(f->st, "one_111111", 10, &list, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_int_equal(list[2].id, s1);
    free(list);
    assert_int_equal(mnemo_session_list_recent(f->st, NULL, 10, &list, &n, &e), 0);
    assert_int_equal(n, 4);
    assert_string_equal(list[0].project, "two_222222");
    free(list);
    assert_int_equal(mnemo_session_list_recent(f->st, "none_333333", 10, &list, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(list);

    assert_int_equal(mnemo_session_list_recent(f->st, NULL, 0, &list, &n, &e), MNEMO_EINVAL);
    assert_int_equal(
        mnemo_session_list_recent(f->st, NULL, MNEMO_SESSION_LIST_MAX + 1, &list, &n, &e),
        MNEMO_EINVAL);
    assert_int_equal(mnemo_session_list_recent(f->st, "a/b", 5, &list, &n, &e), MNEMO_EINVAL);
}

static void test_memory_session_bad_input_is_rejected_and_writes_nothing(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_session s;
    struct mnemo_err e = {0};
    char long_id[MNEMO_SESSION_AGENT_ID_MAX + 2];
    memset(long_id, 'i', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    char *long_cwd = malloc(MNEMO_SESSION_CWD_MAX + 2);
    assert_non_null(long_cwd);
    memset(long_cwd, 'c', MNEMO_SESSION_CWD_MAX + 1);
    long_cwd[0] = '/';
    long_cwd[MNEMO_SESSION_CWD_MAX + 1] = '\0';

    struct {
        const char *agent, *id, *project, *cwd;
        int64_t now;
        int rc;
        const char *msg;
    } cases[] = {
        {NULL, "x", "p_1", "", T0, MNEMO_EINVAL, "agent"},
        {"Claude", "x", "p_1", "", T0, MNEMO_EINVAL, "agent name"},
        {"claude code", "x", "p_1", "", T0, MNEMO_EINVAL, "agent name"},
        {"claude", "", "p_1", "", T0, MNEMO_EINVAL, "session id"},
        {"claude", long_id, "p_1", "", T0, MNEMO_ETOOBIG, "session id"},
        {"claude", "tab\tid", "p_1", "", T0, MNEMO_EINVAL, "session id"},
        {"claude", "x", NULL, "", T0, MNEMO_EINVAL, "project"},
        {"claude", "x", "a/b", "", T0, MNEMO_EINVAL, "project"},
        {"claude", "x", "p_1", "/a\nb", T0, MNEMO_EINVAL, "cwd"},
        {"claude", "x", "p_1", long_cwd, T0, MNEMO_ETOOBIG, "cwd"},
        {"claude", "x", "p_1", "", -1, MNEMO_EINVAL, "negative"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mnemo_err_clear(&e);
        s.id = 77;
        assert_int_equal(mnemo_session_start(f->st, cases[i].agent, cases[i].id, cases[i].project,
                                             cases[i].cwd, cases[i].now, &s, NULL, &e),
                         cases[i].rc);
        if (!strstr(e.msg, cases[i].msg))
            fail_msg("case %zu: message '%s' does not mention '%s'", i, e.msg, cases[i].msg);
        assert_int_equal(s.id, 0);
    }
    free(long_cwd);
    assert_int_equal(q(f->st, "SELECT count(*) FROM sessions"), 0);
}

/* ---- prompts ----------------------------------------------------------------------------- */

static void test_memory_prompt_numbers_follow_the_session_counter(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_session s;
    struct mnemo_err e = {0};
    int64_t sid = start(f->st, "claude", "p-num", "p_1", T0);

    for (int i = 1; i <= 5; i++) {
        char text[32];
        snprintf(text, sizeof text, "prompt number %d", i);
        struct mnemo_prompt_recorded r = rec(f->st, sid, text, 0, T0 + i * 20000);
        assert_int_equal(r.number, i);
        assert_true(r.id > 0);
        assert_int_equal(r.stored, 1);
        assert_int_equal(r.duplicate, 0);
    }
    assert_int_equal(mnemo_session_get(f->st, sid, &s, &e), 0);
    assert_int_equal(s.prompt_counter, 5);

    struct mnemo_prompt *list = NULL;
    int n = 0;
    assert_int_equal(mnemo_prompt_list(f->st, sid, 0, 3, &list, &n, &e), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(list[i].number, i + 1);
        assert_int_equal(list[i].session_id, sid);
        assert_int_equal(list[i].created_at, T0 + (i + 1) * 20000);
    }
    assert_string_equal(list[2].text, "prompt number 3");
    mnemo_prompt_list_free(list, n);
    assert_int_equal(mnemo_prompt_list(f->st, sid, 3, 10, &list, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].number, 4);
    assert_int_equal(list[1].number, 5);
    mnemo_prompt_list_free(list, n);

    struct mnemo_prompt p;
    assert_int_equal(mnemo_prompt_get(f->st, sid, 4, &p, &e), 0);
    assert_string_equal(p.text, "prompt number 4");
    mnemo_prompt_release(&p);
    assert_null(p.text);
    assert_int_equal(mnemo_prompt_get(f->st, sid, 6, &p, &e), MNEMO_ENOTFOUND);

    /* prompts_fts follows the rows (the search layer reads it). */
    assert_int_equal(q(f->st, "SELECT count(*) FROM prompts_fts WHERE prompts_fts MATCH 'number'"),
                     5);
}

static void test_memory_prompt_same_text_within_ten_seconds_is_stored_once(void **state)
{
    struct mu_fixture *f = *state;
    int64_t sid = start(f->st, "claude", "p-dup", "p_1", T0);

    struct mnemo_prompt_recorded r1 = rec(f->st, sid, "fix the build", 0, T0);
    assert_int_equal(r1.number, 1);
    struct mnemo_prompt_recorded r2 = rec(f->st, sid, "fix the build", 0, T0 + 9999);
    assert_int_equal(r2.duplicate, 1);
    assert_int_equal(r2.stored, 0);
    assert_int_equal(r2.number, 1);
    assert_int_equal(r2.id, r1.id);
    assert_int_equal(q(f->st, "SELECT prompt_counter FROM sessions"), 1);

    /* Other text inside the window is a new prompt. */
    struct mnemo_prompt_recorded r3 = rec(f->st, sid, "fix the build!", 0, T0 + 9999);
    assert_int_equal(r3.duplicate, 0);
    assert_int_equal(r3.number, 2);

    /* Ten seconds after the first, the same text counts again. */
    struct mnemo_prompt_recorded r4 = rec(f->st, sid, "fix the build", 0, T0 + 10000);
    assert_int_equal(r4.duplicate, 0);
    assert_int_equal(r4.stored, 1);
    assert_int_equal(r4.number, 3);
    /* ...and the window now runs from that newer copy. */
    struct mnemo_prompt_recorded r5 = rec(f->st, sid, "fix the build", 0, T0 + 15000);
    assert_int_equal(r5.duplicate, 1);
    assert_int_equal(r5.number, 3);
    assert_int_equal(q(f->st, "SELECT count(*) FROM prompts"), 3);
    assert_int_equal(q(f->st, "SELECT prompt_counter FROM sessions"), 3);

    /* Deep into a long session the latest prompt is still found. */
    for (int i = 0; i < 150; i++) {
        char text[32];
        snprintf(text, sizeof text, "later %d", i);
        rec(f->st, sid, text, 0, T0 + 20000 + i * 20000);
    }
    int64_t last_at = T0 + 20000 + 149 * 20000;
    struct mnemo_prompt_recorded r6 = rec(f->st, sid, "later 149", 0, last_at + 3000);
    assert_int_equal(r6.duplicate, 1);
    assert_int_equal(r6.number, 153);
    struct mnemo_prompt_recorded r7 = rec(f->st, sid, "later 148", 0, last_at + 3000);
    assert_int_equal(r7.duplicate, 0);
    assert_int_equal(r7.number, 154);
}

static void test_memory_prompt_dedup_does_not_cross_sessions(void **state)
{
    struct mu_fixture *f = *state;
    int64_t a = start(f->st, "claude", "sess-a", "p_1", T0);
    int64_t b = start(f->st, "claude", "sess-b", "p_1", T0);
    rec(f->st, a, "hello", 0, T0);
    rec(f->st, a, "second", 0, T0);
    struct mnemo_prompt_recorded rb = rec(f->st, b, "hello", 0, T0 + 1);
    assert_int_equal(rb.duplicate, 0);
    assert_int_equal(rb.stored, 1);
    assert_int_equal(rb.number, 1);
    assert_int_equal(q(f->st, "SELECT count(*) FROM prompts WHERE text = 'hello'"), 2);
}

static void test_memory_prompt_wholly_private_is_counted_not_stored(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    int64_t sid = start(f->st, "claude", "p-priv", "p_1", T0);

    struct mnemo_prompt_recorded r = rec(f->st, sid, NULL, 1, T0);
    assert_int_equal(r.number, 1);
    assert_int_equal(r.id, 0);
    assert_int_equal(r.stored, 0);
    assert_int_equal(r.duplicate, 0);
    /* Private prompts are never deduplicated: each one is counted. */
    r = rec(f->st, sid, "ignored text", 1, T0 + 1);
    assert_int_equal(r.number, 2);
    r = rec(f->st, sid, "after the secrets", 0, T0 + 2);
    assert_int_equal(r.number, 3);
    assert_int_equal(r.stored, 1);

    assert_int_equal(q(f->st, "SELECT count(*) FROM prompts"), 1);
    assert_int_equal(q(f->st, "SELECT count(*) FROM prompts WHERE text LIKE '%ignored%'"), 0);
    assert_int_equal(q(f->st, "SELECT prompt_counter FROM sessions"), 3);
    struct mnemo_prompt p;
    assert_int_equal(mnemo_prompt_get(f->st, sid, 1, &p, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_prompt_get(f->st, sid, 3, &p, &e), 0);
    assert_string_equal(p.text, "after the secrets");
    mnemo_prompt_release(&p);
}

static void test_memory_prompt_bad_input_is_rejected_and_writes_nothing(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_prompt_recorded r;
    struct mnemo_err e = {0};
    int64_t sid = start(f->st, "claude", "p-bad", "p_1", T0);

    char *big = malloc(MNEMO_PROMPT_TEXT_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', MNEMO_PROMPT_TEXT_MAX + 1);
    big[MNEMO_PROMPT_TEXT_MAX + 1] = '\0';
    assert_int_equal(mnemo_prompt_record(f->st, sid, big, 0, T0, &r, &e), MNEMO_ETOOBIG);
    assert_non_null(strstr(e.msg, "prompt text"));
    /* Exactly at the bound is fine. */
    big[MNEMO_PROMPT_TEXT_MAX] = '\0';
    r.number = -1;
    assert_int_equal(mnemo_prompt_record(f->st, sid, big, 0, T0, &r, &e), 0);
    assert_int_equal(r.number, 1);
    free(big);

    assert_int_equal(mnemo_prompt_record(f->st, sid, "", 0, T0, &r, &e), MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "empty"));
    assert_int_equal(r.number, 0);
    assert_int_equal(mnemo_prompt_record(f->st, sid, NULL, 0, T0, &r, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_prompt_record(f->st, sid, "bad \xc3\x28 utf8", 0, T0, &r, &e),
                     MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "UTF-8"));
    assert_int_equal(mnemo_prompt_record(f->st, sid, "ok", 0, -5, &r, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_prompt_record(f->st, 0, "ok", 0, T0, &r, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_prompt_record(f->st, sid + 50, "ok", 0, T0, &r, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_prompt_record(f->st, sid + 50, NULL, 1, T0, &r, &e), MNEMO_ENOTFOUND);
    assert_non_null(strstr(e.msg, "no session"));

    assert_int_equal(q(f->st, "SELECT count(*) FROM prompts"), 1);
    assert_int_equal(q(f->st, "SELECT prompt_counter FROM sessions"), 1);

    struct mnemo_prompt *list = NULL;
    int n = 0;
    assert_int_equal(mnemo_prompt_list(f->st, sid, 0, 0, &list, &n, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_prompt_list(f->st, sid, -1, 5, &list, &n, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_prompt_list(f->st, sid + 50, 0, 5, &list, &n, &e), 0);
    assert_int_equal(n, 0);
}

/* ---- summaries --------------------------------------------------------------------------- */

static void test_memory_summary_round_trips_and_latest_is_newest(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_summary s;
    struct mnemo_err e = {0};
    int64_t sid = start(f->st, "claude", "sum-1", "proj_aaaaaa", T0);
    struct mnemo_summary_fields in = {.request = "make the build reproducible",
                                      .investigated = "the CMake cache and \xc3\xa9 flags",
                                      .learned = "ccache hid a stale object",
                                      .completed = "pinned the compiler",
                                      .next_steps = "add a CI job",
                                      .notes = NULL};
    int64_t id1 = 0, id2 = 0, id3 = 0;

    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &in, T0 + 10, &id1, &e), 0);
    assert_true(id1 > 0);
    assert_int_equal(mnemo_summary_get(f->st, id1, &s, &e), 0);
    assert_int_equal(s.id, id1);
    assert_int_equal(s.session_id, sid);
    assert_string_equal(s.project, "proj_aaaaaa");
    assert_string_equal(s.request, in.request);
    assert_string_equal(s.investigated, in.investigated);
    assert_string_equal(s.learned, in.learned);
    assert_string_equal(s.completed, in.completed);
    assert_string_equal(s.next_steps, in.next_steps);
    assert_string_equal(s.notes, "");
    assert_int_equal(s.created_at, T0 + 10);
    mnemo_summary_release(&s);
    assert_null(s.request);

    /* A second summary of the same session updates the first; one without a session in
     * another project is a row of its own. */
    struct mnemo_summary_fields in2 = {.learned = "second pass", .notes = "n"};
    assert_int_equal(mnemo_summary_create(f->st, sid, "proj_aaaaaa", &in2, T0 + 20, &id2, &e), 0);
    assert_int_equal(id2, id1);
    assert_int_equal(mnemo_summary_create(f->st, 0, "proj_bbbbbb", &in2, T0 + 30, &id3, &e), 0);

    assert_int_equal(mnemo_summary_latest(f->st, "proj_aaaaaa", &s, &e), 0);
    assert_int_equal(s.id, id1);
    assert_string_equal(s.learned, "second pass");
    assert_string_equal(s.request, in.request); /* kept: the update left it empty */
    assert_string_equal(s.notes, "n");
    assert_int_equal(s.created_at, T0 + 20);
    mnemo_summary_release(&s);
    assert_int_equal(mnemo_summary_latest(f->st, "proj_bbbbbb", &s, &e), 0);
    assert_int_equal(s.id, id3);
    assert_int_equal(s.session_id, 0);
    mnemo_summary_release(&s);
    assert_int_equal(mnemo_summary_latest(f->st, "proj_cccccc", &s, &e), MNEMO_ENOTFOUND);
    assert_non_null(strstr(e.msg, "proj_cccccc"));

    struct mnemo_summary *list = NULL;
    int n = 0;
    assert_int_equal(mnemo_summary_list(f->st, NULL, 0, 0, 10, &list, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, id3);
    assert_int_equal(list[1].id, id1);
    mnemo_summary_list_free(list, n);
    assert_int_equal(mnemo_summary_list(f->st, "proj_aaaaaa", 0, 0, 10, &list, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, id1);
    mnemo_summary_list_free(list, n);
    assert_int_equal(mnemo_summary_list(f->st, NULL, sid, 0, 10, &list, &n, &e), 0);
    assert_int_equal(n, 1);
    mnemo_summary_list_free(list, n);
    assert_int_equal(mnemo_summary_list(f->st, "proj_bbbbbb", sid, 0, 10, &list, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(list);

    /* summaries_fts follows the rows, the update included. */
    assert_int_equal(
        q(f->st, "SELECT count(*) FROM summaries_fts WHERE summaries_fts MATCH 'reproducible'"), 1);
    assert_int_equal(
        q(f->st, "SELECT count(*) FROM summaries_fts WHERE summaries_fts MATCH 'ccache'"), 0);
    assert_int_equal(
        q(f->st, "SELECT count(*) FROM summaries_fts WHERE summaries_fts MATCH 'second'"), 2);
}

/* Stop and SessionEnd both summarize a print-mode session, with the same text: one summary. */
static void test_memory_summary_one_per_session_updated_by_later_stops(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_summary s;
    struct mnemo_err e = {0};
    int64_t sid = start(f->st, "claude", "sum-once", "proj_aaaaaa", T0);
    struct mnemo_summary_fields stop = {.request = "fix the parser", .completed = "Fixed it."};
    int64_t id1 = 0, id2 = 0, id3 = 0;

    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &stop, T0 + 10, &id1, &e), 0);
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &stop, T0 + 11, &id2, &e), 0);
    assert_int_equal(id2, id1);
    assert_int_equal(q(f->st, "SELECT count(*) FROM summaries"), 1);

    /* A later turn's stop brings more: the same row says it. */
    struct mnemo_summary_fields later = {.request = "fix the parser",
                                         .completed = "Fixed it and added a test.",
                                         .notes = "Files modified: parser.c"};
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &later, T0 + 50, &id3, &e), 0);
    assert_int_equal(id3, id1);
    /* A late retry of the first stop does not bring the old text back. */
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &stop, T0 + 10, &id2, &e), 0);
    assert_int_equal(q(f->st, "SELECT count(*) FROM summaries"), 1);
    assert_int_equal(mnemo_summary_get(f->st, id1, &s, &e), 0);
    assert_string_equal(s.completed, "Fixed it and added a test.");
    assert_string_equal(s.notes, "Files modified: parser.c");
    assert_int_equal(s.created_at, T0 + 50);
    mnemo_summary_release(&s);
    assert_int_equal(
        q(f->st, "SELECT count(*) FROM summaries_fts WHERE summaries_fts MATCH 'added'"), 1);
    assert_int_equal(
        q(f->st, "SELECT count(*) FROM summaries_fts WHERE summaries_fts MATCH 'fixed'"), 1);
}

static void test_memory_summary_bad_input_is_rejected_and_writes_nothing(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    struct mnemo_summary s;
    int64_t sid = start(f->st, "claude", "sum-bad", "proj_aaaaaa", T0);
    int64_t id = 0;

    struct mnemo_summary_fields empty = {.request = "", .notes = NULL};
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &empty, T0, &id, &e), MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "empty"));

    char *big = malloc(MNEMO_SUMMARY_FIELD_MAX + 2);
    assert_non_null(big);
    memset(big, 'y', MNEMO_SUMMARY_FIELD_MAX + 1);
    big[MNEMO_SUMMARY_FIELD_MAX + 1] = '\0';
    struct mnemo_summary_fields toolong = {.request = "fine", .next_steps = big};
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &toolong, T0, &id, &e), MNEMO_ETOOBIG);
    assert_non_null(strstr(e.msg, "next_steps"));
    big[MNEMO_SUMMARY_FIELD_MAX] = '\0';
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &toolong, T0, &id, &e), 0);
    assert_int_equal(mnemo_summary_get(f->st, id, &s, &e), 0);
    assert_int_equal(strlen(s.next_steps), MNEMO_SUMMARY_FIELD_MAX);
    mnemo_summary_release(&s);
    free(big);

    struct mnemo_summary_fields ok = {.learned = "something"};
    struct mnemo_summary_fields badutf = {.notes = "\xed\xa0\x80 surrogate"};
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &badutf, T0, &id, &e), MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "notes"));
    assert_int_equal(mnemo_summary_create(f->st, sid, "other_bbbbbb", &ok, T0, &id, &e),
                     MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "differs"));
    assert_int_equal(mnemo_summary_create(f->st, sid + 9, NULL, &ok, T0, &id, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_summary_create(f->st, 0, NULL, &ok, T0, &id, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_summary_create(f->st, 0, "a/b", &ok, T0, &id, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, NULL, T0, &id, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_summary_create(f->st, sid, NULL, &ok, -1, &id, &e), MNEMO_EINVAL);
    assert_int_equal(id, 0);
    assert_int_equal(q(f->st, "SELECT count(*) FROM summaries"), 1);

    struct mnemo_summary *list = NULL;
    int n = 0;
    assert_int_equal(mnemo_summary_list(f->st, NULL, 0, -1, 5, &list, &n, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_summary_list(f->st, NULL, 0, 0, 0, &list, &n, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_summary_get(f->st, 0, &s, &e), MNEMO_ENOTFOUND);
    assert_int_equal(mnemo_summary_get(f->st, 12345, &s, &e), MNEMO_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_session_start_is_idempotent_per_agent_and_id,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_session_end_records_status_and_first_end_wins,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_session_list_recent_is_per_project_newest_first,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(
            test_memory_session_bad_input_is_rejected_and_writes_nothing, mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_prompt_numbers_follow_the_session_counter,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(
            test_memory_prompt_same_text_within_ten_seconds_is_stored_once, mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_prompt_dedup_does_not_cross_sessions, mu_setup,
                                        mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_prompt_wholly_private_is_counted_not_stored,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_prompt_bad_input_is_rejected_and_writes_nothing,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_summary_round_trips_and_latest_is_newest,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_memory_summary_one_per_session_updated_by_later_stops,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(
            test_memory_summary_bad_input_is_rejected_and_writes_nothing, mu_setup, mu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
