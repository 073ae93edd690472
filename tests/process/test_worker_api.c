/*
 * test_worker_api.c - the worker's routes over a real `mnemo serve` ($MNEMO_BIN) on a fresh
 * MNEMO_HOME, driven with libcurl over the Unix socket: public routes on both transports, each
 * route's success and error paths, concurrent writers, and a clean SIGTERM at the end. One
 * worker serves the whole group (tests run in order and share it). The security model,
 * limits and hostile clients are in test_worker_api_security.c.
 */
#include "worker_api.h"

/* ---- public routes, TCP security ------------------------------------------------------------ */

static void test_api_health_and_version_answer_on_both_transports_without_token(void **state)
{
    struct api *a = *state;
    struct http_resp r[4];
    r[0] = sock_json(a->f, "GET", "/v1/health", NULL);
    r[1] = tcp(a, "GET", "/v1/health", NULL, NULL);
    r[2] = sock_json(a->f, "GET", "/v1/version", NULL);
    r[3] = tcp(a, "GET", "/v1/version", NULL, NULL);
    for (int i = 0; i < 2; i++) {
        json_t *j = expect_json(&r[i], 200, "GET /v1/health");
        assert_string_equal(json_string_value(json_object_get(j, "status")), "ready");
        assert_true(json_is_true(json_object_get(j, "ready")));
        assert_non_null(json_string_value(json_object_get(j, "version")));
        expect_security_headers(&r[i]);
    }
    for (int i = 2; i < 4; i++) {
        json_t *j = expect_json(&r[i], 200, "GET /v1/version");
        assert_non_null(json_string_value(json_object_get(j, "version")));
        assert_int_equal(json_integer_value(json_object_get(j, "api")), 1);
        assert_int_equal(json_integer_value(json_object_get(j, "pid")), a->f->child);
    }
    for (int i = 0; i < 4; i++)
        http_resp_free(&r[i]);
}

/* ---- observations --------------------------------------------------------------------------- */

static void test_api_observation_routes_success_and_error_paths(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    const char *obs = "{\"project\":\"apiproj\",\"type\":\"decision\",\"title\":\"Use WAL mode for "
                      "the zebrafish store\",\"narrative\":\"Readers never block the writer.\","
                      "\"concepts\":[\"sqlite\"]}";
    int64_t id = create_obs(f, obs, 201);
    assert_int_equal(create_obs(f, obs, 200), id); /* same content: the existing row */

    char path[128];
    snprintf(path, sizeof path, "/v1/observations/%lld", (long long)id);
    struct http_resp r = sock_json(f, "GET", path, NULL);
    json_t *o = json_object_get(expect_json(&r, 200, "GET obs"), "observation");
    assert_int_equal(json_integer_value(json_object_get(o, "id")), id);
    assert_string_equal(json_string_value(json_object_get(o, "project")), "apiproj");
    assert_string_equal(json_string_value(json_object_get(o, "provenance")), "agent");
    char uuid_path[128];
    snprintf(uuid_path, sizeof uuid_path, "/v1/observations/%s",
             json_string_value(json_object_get(o, "uuid")));
    http_resp_free(&r);
    r = sock_json(f, "GET", uuid_path, NULL);
    expect_json(&r, 200, "GET obs by uuid");
    http_resp_free(&r);

    r = sock_json(f, "GET", "/v1/observations/999999", NULL);
    expect_error(&r, 404, "unknown id");
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/observations/12abc", NULL);
    expect_error(&r, 400, "malformed id");
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/observations",
                  "{\"project\":\"apiproj\",\"type\":\"nonsense\","
                  "\"title\":\"t\"}");
    cu_expect_contains(expect_error(&r, 400, "bad type"), "type");
    http_resp_free(&r);

    r = sock_json(f, "PATCH", path, "{\"title\":\"Use WAL mode for the zebrafish store, always\"}");
    o = json_object_get(expect_json(&r, 200, "PATCH"), "observation");
    assert_string_equal(json_string_value(json_object_get(o, "title")),
                        "Use WAL mode for the zebrafish store, always");
    http_resp_free(&r);
    r = sock_json(f, "PATCH", "/v1/observations/999999", "{\"title\":\"x\"}");
    expect_error(&r, 404, "PATCH unknown");
    http_resp_free(&r);

    char sub[160];
    snprintf(sub, sizeof sub, "%s/archive", path);
    r = sock_json(f, "POST", sub, "{\"reason\":\"testing\"}");
    o = json_object_get(expect_json(&r, 200, "archive"), "observation");
    assert_true(json_is_true(json_object_get(o, "archived")) ||
                json_integer_value(json_object_get(o, "archived")) == 1);
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/observations?project=apiproj", NULL);
    assert_int_equal(json_array_size(json_object_get(expect_json(&r, 200, "list"), "observations")),
                     0);
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/observations?project=apiproj&archived=1", NULL);
    assert_int_equal(
        json_array_size(json_object_get(expect_json(&r, 200, "list archived"), "observations")), 1);
    http_resp_free(&r);
    snprintf(sub, sizeof sub, "%s/unarchive", path);
    r = sock_json(f, "POST", sub, NULL);
    o = json_object_get(expect_json(&r, 200, "unarchive"), "observation");
    assert_false(json_is_true(json_object_get(o, "archived")));
    http_resp_free(&r);

    snprintf(sub, sizeof sub, "%s/feedback", path);
    r = sock_json(f, "POST", sub, "{\"vote\":7}");
    expect_error(&r, 400, "bad vote");
    http_resp_free(&r);
    r = sock_json(f, "POST", sub, "{\"vote\":1}");
    assert_true(json_is_number(json_object_get(expect_json(&r, 200, "vote"), "importance")));
    http_resp_free(&r);

    /* Supersede by a newer one; the list then hides the old one unless archived=all. */
    int64_t newer =
        create_obs(f,
                   "{\"project\":\"apiproj\",\"type\":\"decision\",\"title\":\"Use WAL2 "
                   "for the zebrafish store\",\"narrative\":\"Newer.\"}",
                   201);
    snprintf(sub, sizeof sub, "%s/supersede", path);
    char by[64];
    snprintf(by, sizeof by, "{\"by\":%lld}", (long long)newer);
    r = sock_json(f, "POST", sub, by);
    o = json_object_get(expect_json(&r, 200, "supersede"), "observation");
    assert_int_equal(json_integer_value(json_object_get(o, "superseded_by")), newer);
    http_resp_free(&r);
    r = sock_json(f, "POST", sub, "{\"by\":999999}");
    assert_true(r.code == 404 || r.code == 400);
    expect_error(&r, r.code, "supersede by unknown");
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/observations?project=apiproj&type=decision&limit=10", NULL);
    json_t *j = expect_json(&r, 200, "list live");
    assert_int_equal(json_array_size(json_object_get(j, "observations")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "limit")), 10);
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/observations?project=apiproj&archived=all", NULL);
    assert_int_equal(json_array_size(json_object_get(expect_json(&r, 200, "all"), "observations")),
                     2);
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/observations?limit=0", NULL);
    expect_error(&r, 400, "limit 0");
    http_resp_free(&r);

    char ids[96];
    snprintf(ids, sizeof ids, "{\"ids\":[%lld,%lld,999999]}", (long long)id, (long long)newer);
    r = sock_json(f, "POST", "/v1/observations/batch", ids);
    assert_int_equal(
        json_array_size(json_object_get(expect_json(&r, 200, "batch"), "observations")), 2);
    http_resp_free(&r);

    r = sock_json(f, "DELETE", path, NULL);
    assert_true(json_is_true(json_object_get(expect_json(&r, 200, "DELETE"), "deleted")));
    http_resp_free(&r);
    r = sock_json(f, "GET", path, NULL);
    expect_error(&r, 404, "GET after DELETE");
    http_resp_free(&r);
    r = sock_json(f, "DELETE", path, NULL);
    expect_error(&r, 404, "DELETE twice");
    http_resp_free(&r);
}

static void test_api_search_and_context_find_what_was_stored(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    create_obs(f,
               "{\"project\":\"searchproj\",\"type\":\"bugfix\",\"title\":\"Fixed the quokka "
               "parser crash on empty input\",\"narrative\":\"The quokka parser read past the "
               "end of an empty buffer.\"}",
               201);

    struct http_resp r = sock_json(f, "POST", "/v1/search",
                                   "{\"query\":\"quokka parser\",\"project\":\"searchproj\","
                                   "\"explain\":true}");
    json_t *j = expect_json(&r, 200, "search");
    json_t *res = json_object_get(j, "results");
    assert_true(json_array_size(res) >= 1);
    json_t *first = json_array_get(res, 0);
    cu_expect_contains(
        json_string_value(json_object_get(json_object_get(first, "observation"), "title")),
        "quokka");
    assert_true(json_is_number(json_object_get(json_object_get(first, "score"), "total")));
    http_resp_free(&r);

    /* The index follows each change: archived and deleted rows leave the results. */
    int64_t gone = create_obs(f,
                              "{\"project\":\"searchproj\",\"type\":\"decision\",\"title\":"
                              "\"Narwhal tusk migration\",\"narrative\":\"the narwhal tusk\"}",
                              201);
    const char *nq = "{\"query\":\"narwhal tusk\",\"project\":\"searchproj\"}";
    char gp[128];
    for (int step = 0; step < 4; step++) {
        if (step == 1)
            snprintf(gp, sizeof gp, "/v1/observations/%lld/archive", (long long)gone);
        else if (step == 2)
            snprintf(gp, sizeof gp, "/v1/observations/%lld/unarchive", (long long)gone);
        else if (step == 3)
            snprintf(gp, sizeof gp, "/v1/observations/%lld", (long long)gone);
        if (step > 0) {
            r = sock_json(f, step == 3 ? "DELETE" : "POST", gp, step == 3 ? NULL : "{}");
            expect_json(&r, 200, gp);
            http_resp_free(&r);
        }
        r = sock_json(f, "POST", "/v1/search", nq);
        size_t n =
            json_array_size(json_object_get(expect_json(&r, 200, "search narwhal"), "results"));
        if (n != (step == 0 || step == 2 ? 1u : 0u))
            fail_msg("step %d: %zu results: %s", step, n, r.body);
        http_resp_free(&r);
    }

    r = sock_json(f, "POST", "/v1/search", "{\"project\":\"searchproj\"}");
    cu_expect_contains(expect_error(&r, 400, "search without query"), "query");
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/context/prompt",
                  "{\"project\":\"searchproj\",\"prompt\":\"why does the quokka parser crash?\"}");
    j = expect_json(&r, 200, "context/prompt");
    cu_expect_contains(json_string_value(json_object_get(j, "context")), "quokka");
    assert_true(json_integer_value(json_object_get(j, "shown")) >= 1);
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/context/session-start", "{\"project\":\"searchproj\"}");
    j = expect_json(&r, 200, "context/session-start");
    cu_expect_contains(json_string_value(json_object_get(j, "context")), "mnemo-context");
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/context/session-start", "{}");
    expect_error(&r, 400, "session-start without project");
    http_resp_free(&r);
}

/* ---- sessions and events -------------------------------------------------------------------- */

static void test_api_session_routes(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    const char *start = "{\"agent\":\"claude\",\"agent_session_id\":\"s-api-1\","
                        "\"project\":\"sessproj\"}";
    struct http_resp r = sock_json(f, "POST", "/v1/sessions", start);
    json_t *j = expect_json(&r, 201, "session start");
    assert_true(json_is_true(json_object_get(j, "created")));
    int64_t sid = json_integer_value(json_object_get(json_object_get(j, "session"), "id"));
    assert_true(sid > 0);
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/sessions", start);
    j = expect_json(&r, 200, "session start again");
    assert_false(json_is_true(json_object_get(j, "created")));
    http_resp_free(&r);

    char path[128];
    snprintf(path, sizeof path, "/v1/sessions/%lld/prompts", (long long)sid);
    r = sock_json(f, "POST", path, "{\"text\":\"please refactor the walrus module\"}");
    j = expect_json(&r, 200, "prompt");
    assert_int_equal(json_integer_value(json_object_get(j, "number")), 1);
    assert_false(json_is_true(json_object_get(j, "duplicate")));
    http_resp_free(&r);
    /* The same prompt again at once (a hook retry) is folded into the first. */
    r = sock_json(f, "POST", path, "{\"text\":\"please refactor the walrus module\"}");
    assert_true(json_is_true(json_object_get(expect_json(&r, 200, "prompt again"), "duplicate")));
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/sessions/999999/prompts", "{\"text\":\"x\"}");
    expect_error(&r, 404, "prompt to unknown session");
    http_resp_free(&r);

    snprintf(path, sizeof path, "/v1/sessions/%lld/summary", (long long)sid);
    r = sock_json(f, "POST", path, "{\"request\":\"refactor\",\"completed\":\"done it\"}");
    assert_true(json_integer_value(json_object_get(expect_json(&r, 201, "summary"), "id")) > 0);
    http_resp_free(&r);

    snprintf(path, sizeof path, "/v1/sessions/%lld/end", (long long)sid);
    r = sock_json(f, "POST", path, "{\"status\":\"bogus\"}");
    expect_error(&r, 400, "end with a bad status");
    http_resp_free(&r);
    r = sock_json(f, "POST", path, "{\"status\":\"completed\"}");
    j = expect_json(&r, 200, "end");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "session"), "status")),
                        "completed");
    http_resp_free(&r);

    r = sock_json(f, "GET", "/v1/sessions?project=sessproj", NULL);
    assert_int_equal(json_array_size(json_object_get(expect_json(&r, 200, "sessions"), "sessions")),
                     1);
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/sessions", "{\"agent\":\"claude\"}");
    expect_error(&r, 400, "session without agent_session_id");
    http_resp_free(&r);
}

static void test_api_events_are_queued_then_processed(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    struct http_resp r = sock_json(
        f, "POST", "/v1/events",
        "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"s-ev\","
        "\"project\":\"evproj\",\"payload\":{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":"
        "\"/src/otter.c\",\"content\":\"int otter(void) { return 1; }\\n\"}}}");
    int64_t id = json_integer_value(json_object_get(expect_json(&r, 202, "POST /v1/events"), "id"));
    assert_true(id > 0);
    http_resp_free(&r);
    wait_event_done(f, id);

    r = sock_json(f, "POST", "/v1/events",
                  "{\"agent\":\"claude\",\"kind\":\"stop\",\"payload\":3}");
    cu_expect_contains(expect_error(&r, 400, "payload not an object"), "payload");
    http_resp_free(&r);
    /* A payload over 1 MiB (inside the 10 MB body limit) is refused and not queued. */
    size_t pn = 1100 * 1024;
    char *big = malloc(pn + 128);
    assert_non_null(big);
    int off = snprintf(big, 128, "{\"agent\":\"claude\",\"kind\":\"stop\",\"payload\":{\"x\":\"");
    memset(big + off, 'a', pn);
    strcpy(big + off + pn, "\"}}");
    r = sock_json(f, "POST", "/v1/events", big);
    expect_error(&r, 413, "payload over 1 MiB");
    http_resp_free(&r);
    free(big);

    r = sock_json(f, "GET", "/v1/events?status=weird", NULL);
    expect_error(&r, 400, "bad status filter");
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/events?status=done", NULL);
    assert_true(json_array_size(json_object_get(expect_json(&r, 200, "done events"), "events")) >=
                1);
    http_resp_free(&r);
}

/* ---- import and export ---------------------------------------------------------------------- */

static void test_api_export_is_an_attachment_and_import_counts(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    char v[256];
    const char *formats[][2] = {{"jsonl", "mnemo-export.jsonl"}, {"csv", "mnemo-export.csv"}};
    for (size_t i = 0; i < 2; i++) {
        char path[96];
        snprintf(path, sizeof path, "/v1/observations/export?format=%s&project=apiproj",
                 formats[i][0]);
        struct http_resp r = sock_json(f, "GET", path, NULL);
        assert_int_equal(r.code, 200);
        assert_non_null(header_value(&r, "Content-Disposition", v, sizeof v));
        cu_expect_contains(v, "attachment");
        cu_expect_contains(v, formats[i][1]);
        cu_expect_contains(r.body, "WAL2");
        http_resp_free(&r);
    }
    struct http_resp r = sock_json(f, "GET", "/v1/observations/export?format=xml", NULL);
    expect_error(&r, 400, "export format xml");
    http_resp_free(&r);

    r = sock_json(
        f, "POST", "/v1/observations/import",
        "{\"observations\":[{\"project\":\"impproj\",\"type\":\"feature\",\"title\":"
        "\"Imported heron feature\",\"narrative\":\"one\"},{\"project\":\"impproj\","
        "\"type\":\"feature\",\"title\":\"Imported heron feature\",\"narrative\":\"one\"},"
        "{\"project\":\"impproj\",\"type\":\"nope\",\"title\":\"bad\"}]}");
    json_t *j = expect_json(&r, 200, "import");
    assert_int_equal(json_integer_value(json_object_get(j, "imported")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "skipped")) +
                         json_integer_value(json_object_get(j, "failed")),
                     2);
    assert_true(json_integer_value(json_object_get(j, "failed")) >= 1);
    assert_true(json_array_size(json_object_get(j, "errors")) >= 1);
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/observations?project=impproj", NULL);
    assert_int_equal(json_integer_value(json_object_get(expect_json(&r, 200, "list"), "total")), 1);
    http_resp_free(&r);
}

/* ---- admin routes --------------------------------------------------------------------------- */

static void test_api_stats_maintenance_selfcheck_and_metrics(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    struct http_resp r = sock_json(f, "GET", "/v1/stats", NULL);
    json_t *j = expect_json(&r, 200, "stats");
    const char *keys[] = {"observations", "sessions", "queue",     "capture",
                          "uptime_ms",    "embedder", "wal_bytes", "maintenance",
                          "retrieval",    "index",    "vectors",   "prompts"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(j, keys[i]) == NULL)
            fail_msg("stats has no '%s': %s", keys[i], r.body);
    assert_true(json_integer_value(json_object_get(json_object_get(j, "observations"), "total")) >=
                3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "queue"), "pending")),
                     0);
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/maintenance", "{\"timeout_ms\":20000}");
    assert_true(json_is_object(json_object_get(expect_json(&r, 200, "maintenance"), "report")));
    http_resp_free(&r);
    r = sock_json(f, "GET", "/v1/maintenance", NULL);
    assert_true(json_is_object(json_object_get(expect_json(&r, 200, "maint stats"), "stats")));
    http_resp_free(&r);

    r = sock_json(f, "GET", "/v1/selfcheck", NULL);
    j = expect_json(&r, 200, "selfcheck");
    if (!json_is_true(json_object_get(j, "ok")))
        fail_msg("selfcheck not ok: %s", r.body);
    assert_true(json_is_true(
        json_object_get(json_object_get(json_object_get(j, "components"), "store"), "ok")));
    http_resp_free(&r);

    r = sock_json(f, "GET", "/metrics", NULL);
    assert_int_equal(r.code, 200);
    cu_expect_contains(r.body, "mnemo_http_requests_total");
    http_resp_free(&r);

    /* A forced TRUNCATE checkpoint: the -wal is empty afterwards, once the background writers
     * (capture, the re-embedder of the imported rows) have nothing left to write. */
    int64_t end = tu_now_ms() + 20000;
    for (int quiet = 0; !quiet;) {
        r = sock_json(f, "GET", "/v1/stats", NULL);
        j = expect_json(&r, 200, "stats");
        json_t *m = json_object_get(j, "maintenance");
        quiet = json_integer_value(json_object_get(json_object_get(j, "queue"), "pending")) == 0 &&
                json_integer_value(json_object_get(m, "reembed_pending")) == 0 &&
                !json_is_true(json_object_get(m, "reembed_running"));
        http_resp_free(&r);
        if (!quiet && tu_now_ms() > end)
            fail_worker(f, "background writers still busy after 20 s");
        if (!quiet)
            usleep(20000);
    }
    r = sock_json(f, "POST", "/v1/checkpoint", NULL);
    j = expect_json(&r, 200, "checkpoint");
    assert_true(json_is_integer(json_object_get(j, "wal_frames")));
    assert_true(json_is_integer(json_object_get(j, "checkpointed_frames")));
    assert_int_equal(json_integer_value(json_object_get(j, "wal_bytes_after")), 0);
    http_resp_free(&r);
    assert_int_equal(tu_file_size(f->wal), 0);
}

static void test_api_import_jsonl_export_json_and_paging(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    const char *lines = "{\"project\":\"pageproj\",\"type\":\"change\",\"title\":\"Page one "
                        "ibis\",\"narrative\":\"a\"}\n"
                        "{\"project\":\"pageproj\",\"type\":\"change\",\"title\":\"Page two "
                        "ibis\",\"narrative\":\"b\"}\n"
                        "{\"project\":\"pageproj\",\"type\":\"change\",\"title\":\"Page three "
                        "ibis\",\"narrative\":\"c\"}\n";
    struct http_opts o = {.content_type = "application/x-ndjson", .body = lines};
    struct http_resp r = http(f->sock, "POST", "http://localhost/v1/observations/import", &o);
    assert_int_equal(
        json_integer_value(json_object_get(expect_json(&r, 200, "import jsonl"), "imported")), 3);
    http_resp_free(&r);

    r = sock_json(f, "GET", "/v1/observations?project=pageproj&limit=2&offset=2", NULL);
    json_t *j = expect_json(&r, 200, "page 2");
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "offset")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "observations")), 1);
    http_resp_free(&r);

    r = sock_json(f, "GET", "/v1/observations/export?format=json&project=pageproj", NULL);
    assert_int_equal(r.code, 200);
    assert_non_null(r.json);
    cu_expect_contains(r.body, "Page three ibis");
    http_resp_free(&r);
}

/* ---- concurrent mixed load ------------------------------------------------------------------ */

#define STRESS_THREADS 8
#define STRESS_OPS     60

struct stress {
    struct fixture *f;
    int64_t ids[8];
    unsigned seed;
    int n_5xx, n_lost; /* answers >= 500; requests nothing answered */
    long last_bad;
    char what[512];
};

static void *stress_main(void *arg)
{
    struct stress *s = arg;
    unsigned x = s->seed;
    for (int k = 0; k < STRESS_OPS; k++) {
        x = x * 1103515245u + 12345u;
        unsigned op = (x >> 16) % 9;
        int64_t id = s->ids[(x >> 8) % 8];
        int64_t other = s->ids[(x >> 4) % 8];
        char url[160], body[256];
        const char *method = "POST";
        body[0] = '\0';
        switch (op) {
        case 0:
            snprintf(url, sizeof url, "http://localhost/v1/observations");
            snprintf(body, sizeof body,
                     "{\"project\":\"stressproj\",\"type\":\"change\",\"title\":\"stress %u\","
                     "\"narrative\":\"n\"}",
                     (x >> 20) % 16);
            break;
        case 1:
            method = "PATCH";
            snprintf(url, sizeof url, "http://localhost/v1/observations/%lld", (long long)id);
            snprintf(body, sizeof body, "{\"title\":\"stress patched %u\"}", x % 1000);
            break;
        case 2:
            method = "DELETE";
            snprintf(url, sizeof url, "http://localhost/v1/observations/%lld", (long long)id);
            break;
        case 3:
        case 4:
            snprintf(url, sizeof url, "http://localhost/v1/observations/%lld/%s", (long long)id,
                     op == 3 ? "archive" : "unarchive");
            snprintf(body, sizeof body, "{}");
            break;
        case 5:
            snprintf(url, sizeof url, "http://localhost/v1/observations/%lld/supersede",
                     (long long)id);
            snprintf(body, sizeof body, "{\"by\":%lld}", (long long)other);
            break;
        case 6:
            snprintf(url, sizeof url, "http://localhost/v1/search");
            snprintf(body, sizeof body,
                     "{\"query\":\"stress patched\",\"project\":\"stressproj\"}");
            break;
        case 7:
            snprintf(url, sizeof url, "http://localhost/v1/observations/%lld/feedback",
                     (long long)id);
            snprintf(body, sizeof body, "{\"vote\":%d}", (int)(x % 3) - 1);
            break;
        default:
            snprintf(url, sizeof url, "http://localhost/v1/checkpoint");
            break;
        }
        struct http_opts o = {.content_type = body[0] != '\0' ? "application/json" : NULL,
                              .body = body[0] != '\0' ? body : NULL,
                              .timeout_ms = 20000};
        struct http_resp r;
        CURLcode cc = http_call(s->f->sock, method, url, &o, &r);
        if (cc != CURLE_OK) {
            s->n_lost++;
            snprintf(s->what, sizeof s->what, "%s %s: %s", method, url, curl_easy_strerror(cc));
        } else if (r.code >= 500) {
            s->n_5xx++;
            s->last_bad = r.code;
            snprintf(s->what, sizeof s->what, "%s %s: %.80s", method, url,
                     r.body != NULL ? r.body : "");
        }
        http_resp_free(&r);
    }
    return NULL;
}

static void test_api_concurrent_mixed_writes_get_no_5xx_and_leave_a_sound_store(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    struct stress st[STRESS_THREADS];
    int64_t ids[8];
    for (int i = 0; i < 8; i++) {
        char body[160];
        snprintf(body, sizeof body,
                 "{\"project\":\"stressproj\",\"type\":\"decision\",\"title\":\"stress seed %d\","
                 "\"narrative\":\"seed\"}",
                 i);
        ids[i] = create_obs(f, body, 201);
    }
    pthread_t t[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++) {
        memset(&st[i], 0, sizeof st[i]);
        st[i].f = f;
        memcpy(st[i].ids, ids, sizeof ids);
        st[i].seed = 7919u * (unsigned)(i + 1);
        assert_int_equal(pthread_create(&t[i], NULL, stress_main, &st[i]), 0);
    }
    for (int i = 0; i < STRESS_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < STRESS_THREADS; i++) {
        if (st[i].n_lost > 0)
            fail_worker(f, "thread %d: %d requests got no answer (%s)", i, st[i].n_lost,
                        st[i].what);
        if (st[i].n_5xx > 0)
            fail_worker(f, "thread %d: %d answers >= 500 (last %ld: %s)", i, st[i].n_5xx,
                        st[i].last_bad, st[i].what);
    }
    struct http_resp r = sock_json(f, "GET", "/v1/selfcheck", NULL);
    if (!json_is_true(json_object_get(expect_json(&r, 200, "selfcheck"), "ok")))
        fail_msg("selfcheck after the load: %s", r.body);
    http_resp_free(&r);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_health_and_version_answer_on_both_transports_without_token),
        cmocka_unit_test(test_api_observation_routes_success_and_error_paths),
        cmocka_unit_test(test_api_search_and_context_find_what_was_stored),
        cmocka_unit_test(test_api_session_routes),
        cmocka_unit_test(test_api_events_are_queued_then_processed),
        cmocka_unit_test(test_api_export_is_an_attachment_and_import_counts),
        cmocka_unit_test(test_api_import_jsonl_export_json_and_paging),
        cmocka_unit_test(test_api_concurrent_mixed_writes_get_no_5xx_and_leave_a_sound_store),
        cmocka_unit_test(test_api_stats_maintenance_selfcheck_and_metrics),
        cmocka_unit_test(test_api_sigterm_exits_0_leaving_no_wal),
    };
    int rc = cmocka_run_group_tests_name("worker_api", tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
