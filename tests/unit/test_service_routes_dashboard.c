/*
 * test_service_routes_dashboard.c - the dashboard's routes called directly: the page and its
 * assets (ETag, 304, CSP, unknown names), the timeline (kinds merged newest first, filters,
 * paging, truncated prompts, bad queries), per-project statistics (counts, growth per day,
 * retrieval counters, bad days), and the health history (samples, checkpoints, maintenance
 * runs, the sampler thread, bad since).
 */
#include "test_service_routes_fixture.h"

#include <stdlib.h>
#include <unistd.h>

#include "memory/prompt.h"
#include "memory/session.h"
#include "memory/summary.h"
#include "service/dashboard.h"
#include "service/maint.h"

/* The value of response header name, or NULL. */
static const char *resp_header(const struct mnemo_http_resp *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcmp(r->header_names[i], name) == 0)
            return r->header_values[i];
    }
    return NULL;
}

/* Calls the asset route with {name} = name. Returns the status. */
static int call_asset(struct rt_fixture *f, const char *name)
{
    struct mnemo_http_req req;
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = "/assets/x";
    req.n_params = 1;
    req.param_names[0] = "name";
    req.param_values[0] = name;
    rt_resp_release(&f->resp);
    assert_int_equal(route_dashboard_asset(&f->w, &req, &f->resp), 0);
    f->status = f->resp.status == 0 ? 200 : f->resp.status;
    return f->status;
}

static void test_dashboard_page_and_assets(void **state)
{
    struct rt_fixture *f = *state;

    assert_int_equal(rt_call(f, route_dashboard_index, "/", NULL, NULL), 200);
    assert_non_null(f->resp.bytes);
    assert_string_equal(f->resp.content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(f->resp.bytes, "<!doctype html>"));
    assert_non_null(strstr(f->resp.bytes, "/assets/app.js"));
    /* No inline script: the CSP forbids it and the page must not need it. */
    assert_null(strstr(f->resp.bytes, "<script>"));
    const char *csp = resp_header(&f->resp, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "script-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    assert_non_null(strstr(csp, "connect-src 'self'"));
    const char *etag = resp_header(&f->resp, "ETag");
    assert_non_null(etag);
    assert_int_equal(strlen(etag), 18); /* "<16 hex>" */

    const struct mnemo_dashboard_asset *page = mnemo_dashboard_asset_find("index.html");
    assert_non_null(page);
    assert_string_equal(page->etag, etag);
    char list[128];
    snprintf(list, sizeof list, "\"0000000000000000\", W/%s", page->etag);
    rt_resp_release(&f->resp);
    assert_int_equal(mnemo_dashboard_answer("index.html", list, &f->resp), 0);
    assert_int_equal(f->resp.status, 304);
    assert_null(f->resp.bytes);
    rt_resp_release(&f->resp);
    assert_int_equal(mnemo_dashboard_answer("index.html", "*", &f->resp), 0);
    assert_int_equal(f->resp.status, 304);
    rt_resp_release(&f->resp);
    assert_int_equal(mnemo_dashboard_answer("index.html", "\"0000000000000000\"", &f->resp), 0);
    assert_int_equal(f->resp.status, 200);
    rt_resp_release(&f->resp);

    /* Every string from the store goes through textContent: the scripts never hand markup to
     * the HTML parser, nor evaluate text. */
    static const char *const scripts[] = {"app.js", "ui.js"};
    static const char *const parsers[] = {
        "innerHTML", "outerHTML",    "insertAdjacentHTML",      "document.write",
        "eval(",     "new Function", "createContextualFragment"};
    for (size_t k = 0; k < sizeof scripts / sizeof scripts[0]; k++) {
        assert_int_equal(call_asset(f, scripts[k]), 200);
        assert_string_equal(f->resp.content_type, "text/javascript; charset=utf-8");
        assert_int_equal(f->resp.len, mnemo_dashboard_asset_find(scripts[k])->len);
        for (size_t i = 0; i < sizeof parsers / sizeof parsers[0]; i++)
            if (strstr(f->resp.bytes, parsers[i]) != NULL)
                fail_msg("%s uses %s", scripts[k], parsers[i]);
    }
    assert_int_equal(call_asset(f, "app.css"), 200);
    assert_string_equal(f->resp.content_type, "text/css; charset=utf-8");
    assert_int_equal(call_asset(f, "favicon.svg"), 200);
    assert_string_equal(f->resp.content_type, "image/svg+xml");

    /* Unknown names, the page under a second address, and traversal are all 404. */
    assert_int_equal(call_asset(f, "nope.js"), 404);
    assert_int_equal(call_asset(f, "index.html"), 404);
    assert_int_equal(call_asset(f, "..%2fmnemo.db"), 404);
    assert_int_equal(call_asset(f, ""), 404);
    assert_null(mnemo_dashboard_asset_find(NULL));
}

/* A session in project with one prompt of text and a summary, at fixed times. */
static void add_session(struct rt_fixture *f, const char *project, const char *agent_sid,
                        int64_t at, const char *text)
{
    struct mnemo_session s;
    struct mnemo_err e = {0};
    struct mnemo_summary_fields sf = {.request = "fix the build", .learned = "ccache was stale"};
    if (mnemo_session_start(f->w.st, "claude", agent_sid, project, "/tmp", at, &s, NULL, &e) != 0)
        fail_msg("session: %s", e.msg);
    if (mnemo_prompt_record(f->w.st, s.id, text, 0, at + 1000, NULL, &e) != 0)
        fail_msg("prompt: %s", e.msg);
    if (mnemo_summary_create(f->w.st, s.id, NULL, &sf, at + 2000, NULL, &e) != 0)
        fail_msg("summary: %s", e.msg);
}

static const char *item_kind(json_t *items, size_t i)
{
    return json_string_value(json_object_get(json_array_get(items, i), "kind"));
}

static void test_dashboard_timeline_merges_filters_and_pages(void **state)
{
    struct rt_fixture *f = *state;
    int64_t t = mnemo_clock_wall_ms() - 60000;

    char long_text[3000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    add_session(f, "alpha", "s1", t, long_text);
    add_session(f, "beta", "s2", t - 30000, "a beta prompt");
    rt_create(f, "{\"project\":\"alpha\",\"type\":\"bugfix\",\"title\":\"first\"}");
    int64_t a2 = rt_create(f, "{\"project\":\"alpha\",\"type\":\"decision\",\"title\":\"second\"}");
    rt_create(f, "{\"project\":\"beta\",\"type\":\"bugfix\",\"title\":\"third\"}");

    /* Everything, newest first: the observations (now), then alpha's summary and prompt, then
     * beta's. */
    assert_int_equal(rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline", NULL, NULL),
                     200);
    json_t *items = rt_get(f, "items");
    assert_int_equal(json_array_size(items), 7);
    assert_string_equal(item_kind(items, 0), "observation");
    assert_string_equal(item_kind(items, 3), "summary");
    assert_string_equal(item_kind(items, 4), "prompt");
    for (size_t i = 1; i < json_array_size(items); i++)
        assert_true(json_integer_value(json_object_get(json_array_get(items, i - 1), "at")) >=
                    json_integer_value(json_object_get(json_array_get(items, i), "at")));
    json_t *p = json_object_get(json_array_get(items, 4), "prompt");
    assert_true(json_is_true(json_object_get(p, "truncated")));
    assert_int_equal(strlen(json_string_value(json_object_get(p, "text"))), 2000);
    assert_string_equal(json_string_value(json_object_get(p, "project")), "alpha");
    assert_string_equal(json_string_value(json_object_get(p, "agent")), "claude");
    json_t *s = json_object_get(json_array_get(items, 3), "summary");
    assert_string_equal(json_string_value(json_object_get(s, "learned")), "ccache was stale");
    assert_int_equal(json_integer_value(rt_get(f, "next_before")), 0);

    /* Project, kinds and type filters (a type keeps observations only). */
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?project=beta", NULL, NULL);
    assert_int_equal(json_array_size(rt_get(f, "items")), 3);
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?kinds=prompt,summary", NULL, NULL);
    assert_int_equal(json_array_size(rt_get(f, "items")), 4);
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?type=bugfix", NULL, NULL);
    items = rt_get(f, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(item_kind(items, 1), "observation");

    /* Archived rows only with archived=1. */
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)a2);
    assert_int_equal(rt_call(f, route_obs_archive, "/x", id, NULL), 200);
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?kinds=observation", NULL, NULL);
    assert_int_equal(json_array_size(rt_get(f, "items")), 2);
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?kinds=observation&archived=1",
            NULL, NULL);
    assert_int_equal(json_array_size(rt_get(f, "items")), 3);

    /* Paging: a full page says where the next starts, and before= continues there. */
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?kinds=prompt,summary&limit=3",
            NULL, NULL);
    assert_int_equal(json_array_size(rt_get(f, "items")), 3);
    int64_t next = json_integer_value(rt_get(f, "next_before"));
    assert_true(next > 0);
    char path[128];
    snprintf(path, sizeof path, "/v1/dashboard/timeline?kinds=prompt,summary&before=%lld",
             (long long)next);
    rt_call(f, route_dashboard_timeline, path, NULL, NULL);
    items = rt_get(f, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(item_kind(items, 0), "prompt");

    /* Bad queries are 400s naming the field. */
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?kinds=events", NULL, NULL);
    rt_assert_error(f, 400, "'kinds'");
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?type=poem", NULL, NULL);
    rt_assert_error(f, 400, "'type'");
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?archived=2", NULL, NULL);
    rt_assert_error(f, 400, "'archived'");
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?limit=0", NULL, NULL);
    rt_assert_error(f, 400, "'limit'");
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?limit=201", NULL, NULL);
    rt_assert_error(f, 400, "'limit'");
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?before=-1", NULL, NULL);
    rt_assert_error(f, 400, "'before'");
    rt_call(f, route_dashboard_timeline, "/v1/dashboard/timeline?project=..%2Fetc", NULL, NULL);
    assert_int_equal(f->status, 400);
}

static json_t *find_project(json_t *projects, const char *name)
{
    for (size_t i = 0; i < json_array_size(projects); i++) {
        json_t *p = json_array_get(projects, i);
        if (strcmp(json_string_value(json_object_get(p, "project")), name) == 0)
            return p;
    }
    fail_msg("no project %s", name);
    return NULL;
}

static void test_dashboard_projects_counts_growth_and_retrieval(void **state)
{
    struct rt_fixture *f = *state;

    assert_int_equal(rt_call(f, route_dashboard_projects, "/v1/dashboard/projects", NULL, NULL),
                     200);
    assert_int_equal(json_array_size(rt_get(f, "projects")), 0);
    assert_int_equal(json_integer_value(rt_get(f, "days")), 30);

    add_session(f, "alpha", "s1", mnemo_clock_wall_ms() - 5000, "hello");
    rt_create(f, "{\"project\":\"alpha\",\"type\":\"bugfix\",\"title\":\"one\"}");
    int64_t two = rt_create(f, "{\"project\":\"alpha\",\"type\":\"bugfix\",\"title\":\"two\"}");
    rt_create(f, "{\"project\":\"alpha\",\"type\":\"decision\",\"title\":\"three\"}");
    rt_create(f, "{\"project\":\"beta\",\"type\":\"feature\",\"title\":\"four\"}");
    /* An old row, outside a 7-day window but inside 30. */
    assert_int_equal(rt_call(f, route_obs_import, "/v1/observations/import", NULL,
                             "{\"observations\":[{\"project\":\"beta\",\"type\":\"change\","
                             "\"title\":\"old\",\"created_at\":1000000000000,"
                             "\"updated_at\":1000000000000}]}"),
                     200);
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)two);
    assert_int_equal(rt_call(f, route_obs_archive, "/x", id, NULL), 200);
    mnemo_routes_retrieval_record(f->w.retrieval, "alpha", MNEMO_ROUTES_RETRIEVAL_SEARCH, 4);
    mnemo_routes_retrieval_record(f->w.retrieval, "alpha", MNEMO_ROUTES_RETRIEVAL_CONTEXT, 2);

    assert_int_equal(
        rt_call(f, route_dashboard_projects, "/v1/dashboard/projects?days=7", NULL, NULL), 200);
    json_t *ps = rt_get(f, "projects");
    assert_int_equal(json_array_size(ps), 2);
    json_t *a = find_project(ps, "alpha");
    json_t *ao = json_object_get(a, "observations");
    assert_int_equal(json_integer_value(json_object_get(ao, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(ao, "live")), 2);
    assert_int_equal(json_integer_value(json_object_get(ao, "archived")), 1);
    json_t *bt = json_object_get(ao, "by_type");
    assert_int_equal(json_integer_value(json_object_get(bt, "bugfix")), 1);
    assert_int_equal(json_integer_value(json_object_get(bt, "decision")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "sessions")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "prompts")), 1);
    assert_int_equal(json_integer_value(json_object_get(a, "summaries")), 1);
    json_t *ar = json_object_get(a, "retrieval");
    assert_int_equal(json_integer_value(json_object_get(ar, "searches")), 1);
    assert_int_equal(json_integer_value(json_object_get(ar, "context_requests")), 1);
    assert_int_equal(json_integer_value(json_object_get(ar, "hits")), 6);
    json_t *g = json_object_get(a, "growth");
    assert_int_equal(json_array_size(g), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(g, 0), "observations")), 3);
    assert_int_equal(strlen(json_string_value(json_object_get(json_array_get(g, 0), "day"))), 10);

    json_t *b = find_project(ps, "beta");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(b, "observations"), "total")), 2);
    /* The 2001 row counts in the totals, not in a 7-day growth. */
    assert_int_equal(json_array_size(json_object_get(b, "growth")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(b, "retrieval"), "searches")), 0);
    assert_true(json_integer_value(json_object_get(a, "last_activity_at")) > 0);

    /* names=1: only the names, sorted, including a project that has only sessions. */
    add_session(f, "gamma", "s9", mnemo_clock_wall_ms() - 1000, "only a prompt");
    assert_int_equal(
        rt_call(f, route_dashboard_projects, "/v1/dashboard/projects?names=1", NULL, NULL), 200);
    ps = rt_get(f, "projects");
    assert_int_equal(json_array_size(ps), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 0), "project")),
                        "alpha");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 2), "project")),
                        "gamma");
    assert_null(json_object_get(json_array_get(ps, 0), "observations"));
    rt_call(f, route_dashboard_projects, "/v1/dashboard/projects?names=2", NULL, NULL);
    rt_assert_error(f, 400, "'names'");

    rt_call(f, route_dashboard_projects, "/v1/dashboard/projects?days=0", NULL, NULL);
    rt_assert_error(f, 400, "'days'");
    rt_call(f, route_dashboard_projects, "/v1/dashboard/projects?days=366", NULL, NULL);
    rt_assert_error(f, 400, "'days'");
    rt_call(f, route_dashboard_projects, "/v1/dashboard/projects?days=x", NULL, NULL);
    rt_assert_error(f, 400, "'days'");
}

/* Imports one observation in each project p<from>..p<to - 1>: project i's is i minutes old. */
static void import_projects(struct rt_fixture *f, int from, int to, int64_t now)
{
    char row[256];
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_strbuf_puts(&sb, "{\"observations\":["), 0);
    for (int i = from; i < to; i++) {
        snprintf(row, sizeof row,
                 "%s{\"project\":\"p%02d\",\"type\":\"change\",\"title\":\"row %d\","
                 "\"created_at\":%lld,\"updated_at\":%lld}",
                 i > from ? "," : "", i, i, (long long)(now - i * 60000),
                 (long long)(now - i * 60000));
        assert_int_equal(mnemo_strbuf_puts(&sb, row), 0);
    }
    assert_int_equal(mnemo_strbuf_puts(&sb, "]}"), 0);
    assert_int_equal(
        rt_call(f, route_obs_import, "/v1/observations/import", NULL, mnemo_strbuf_str(&sb)), 200);
    mnemo_strbuf_release(&sb);
}

/* Asserts the unfiltered timeline's first page is "row 0".."row 4". */
static void expect_newest_rows(struct rt_fixture *f)
{
    char want[32];
    assert_int_equal(rt_call(f, route_dashboard_timeline,
                             "/v1/dashboard/timeline?kinds=observation&limit=5", NULL, NULL),
                     200);
    json_t *items = rt_get(f, "items");
    assert_int_equal(json_array_size(items), 5);
    for (int i = 0; i < 5; i++) {
        json_t *o = json_object_get(json_array_get(items, (size_t)i), "observation");
        snprintf(want, sizeof want, "row %d", i);
        assert_string_equal(json_string_value(json_object_get(o, "title")), want);
    }
}

/* Without a project the timeline merges each project's newest rows; past 64 projects it sorts
 * one scan instead. Both give the same newest-first page. */
static void test_dashboard_timeline_across_many_projects(void **state)
{
    struct rt_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();

    import_projects(f, 0, 60, now); /* merged per project */
    expect_newest_rows(f);
    import_projects(f, 60, 70, now); /* one sorted scan */
    expect_newest_rows(f);
}

static void test_dashboard_health_history(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_err e = {0};
    struct mnemo_store_checkpoint_result cr;

    /* No history yet (the worker makes it when ready): empty lists. */
    assert_int_equal(rt_call(f, route_dashboard_health, "/v1/dashboard/health", NULL, NULL), 200);
    assert_int_equal(json_array_size(rt_get(f, "samples")), 0);
    assert_int_equal(mnemo_dashboard_hist_new(&f->w.hist, &e), 0);
    assert_int_equal(rt_call(f, route_dashboard_health, "/v1/dashboard/health", NULL, NULL), 200);
    assert_int_equal(json_array_size(rt_get(f, "samples")), 0);
    assert_int_equal(json_array_size(rt_get(f, "checkpoints")), 0);
    assert_int_equal(json_array_size(rt_get(f, "maintenance")), 0);
    json_t *now = rt_get(f, "now");
    assert_int_equal(json_integer_value(json_object_get(now, "wal_threshold_bytes")), 4194304);
    assert_non_null(json_object_get(now, "llm_daily_calls"));

    rt_create(f, "{\"project\":\"alpha\",\"type\":\"bugfix\",\"title\":\"grow the wal\"}");
    mnemo_dashboard_hist_sample(f->w.hist, &f->w);
    assert_int_equal(mnemo_store_checkpoint(f->w.st, 5000, &cr, &e), 0);
    mnemo_dashboard_hist_sample(f->w.hist, &f->w);
    mnemo_dashboard_hist_sample(f->w.hist, &f->w); /* the same checkpoint is not listed twice */

    if (mnemo_maint_start(&f->w, &f->w.maint, &e) != 0)
        fail_msg("maint: %s", e.msg);
    assert_int_equal(rt_call(f, route_maintenance_run, "/v1/maintenance", NULL, NULL), 200);
    assert_int_equal(rt_call(f, route_dashboard_health, "/v1/dashboard/health", NULL, NULL), 200);
    mnemo_maint_stop(f->w.maint);
    f->w.maint = NULL;

    json_t *ss = rt_get(f, "samples");
    assert_int_equal(json_array_size(ss), 3);
    json_t *s0 = json_array_get(ss, 0), *s2 = json_array_get(ss, 2);
    assert_true(json_integer_value(json_object_get(s0, "wal_bytes")) > 0);
    assert_int_equal(json_integer_value(json_object_get(s2, "wal_bytes")), 0);
    assert_int_equal(json_integer_value(json_object_get(s0, "queue_pending")), 0);
    assert_int_equal(json_integer_value(json_object_get(s0, "dead_letters")), 0);
    assert_int_equal(json_integer_value(json_object_get(s2, "checkpoints")), 1);
    assert_true(json_is_number(json_object_get(s0, "store_p95_ms")));
    json_t *cs = rt_get(f, "checkpoints");
    assert_int_equal(json_array_size(cs), 1);
    assert_true(json_is_true(json_object_get(json_array_get(cs, 0), "ok")));
    assert_true(json_integer_value(json_object_get(json_array_get(cs, 0), "wal_before")) > 0);
    json_t *ms = rt_get(f, "maintenance");
    assert_int_equal(json_array_size(ms), 1);
    assert_true(json_is_true(json_object_get(json_array_get(ms, 0), "ok")));

    /* since: only later samples; a negative since is a 400. */
    char path[96];
    snprintf(path, sizeof path, "/v1/dashboard/health?since=%lld",
             (long long)(mnemo_clock_wall_ms() + 60000));
    rt_call(f, route_dashboard_health, path, NULL, NULL);
    assert_int_equal(json_array_size(rt_get(f, "samples")), 0);
    rt_call(f, route_dashboard_health, "/v1/dashboard/health?since=-5", NULL, NULL);
    rt_assert_error(f, 400, "'since'");
    mnemo_dashboard_hist_free(f->w.hist);
    f->w.hist = NULL;
}

static void test_dashboard_sampler_thread(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_err e = {0};

    struct mnemo_dashboard_hist *h = NULL;
    assert_int_equal(mnemo_dashboard_hist_new(&h, &e), 0);
    mnemo_dashboard_hist_stop(h); /* not running: a no-op */
    mnemo_dashboard_hist_stop(NULL);
    assert_int_equal(setenv("MNEMO_DASHBOARD_SAMPLE_MS", "100", 1), 0);
    assert_int_equal(mnemo_dashboard_hist_start(h, &f->w, &e), 0);
    assert_int_equal(mnemo_dashboard_hist_start(h, &f->w, &e), MNEMO_EEXIST);
    usleep(450 * 1000);
    mnemo_dashboard_hist_stop(h);
    mnemo_dashboard_hist_stop(h);
    json_t *j = mnemo_dashboard_hist_json(h, 0);
    assert_non_null(j);
    size_t n = json_array_size(json_object_get(j, "samples"));
    assert_true(n >= 3 && n <= 6);
    assert_int_equal(json_integer_value(json_object_get(j, "interval_ms")), 100);
    json_decref(j);

    /* An interval out of range falls back to the default. */
    assert_int_equal(setenv("MNEMO_DASHBOARD_SAMPLE_MS", "5", 1), 0);
    j = mnemo_dashboard_hist_json(NULL, 0);
    assert_int_equal(json_integer_value(json_object_get(j, "interval_ms")),
                     MNEMO_DASHBOARD_SAMPLE_MS);
    json_decref(j);
    unsetenv("MNEMO_DASHBOARD_SAMPLE_MS");

    /* A worker without a store samples nothing; a running sampler is stopped by free. */
    mnemo_dashboard_hist_free(h);
    assert_int_equal(mnemo_dashboard_hist_new(&h, &e), 0);
    struct mnemo_worker none;
    memset(&none, 0, sizeof none);
    mnemo_dashboard_hist_sample(h, &none);
    mnemo_dashboard_hist_sample(h, NULL);
    mnemo_dashboard_hist_sample(NULL, &f->w);
    j = mnemo_dashboard_hist_json(h, 0);
    assert_int_equal(json_array_size(json_object_get(j, "samples")), 0);
    json_decref(j);
    assert_int_equal(mnemo_dashboard_hist_start(h, &f->w, &e), 0);
    mnemo_dashboard_hist_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dashboard_page_and_assets, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_timeline_merges_filters_and_pages, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_projects_counts_growth_and_retrieval,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_timeline_across_many_projects, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_health_history, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_sampler_thread, rt_setup, rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
