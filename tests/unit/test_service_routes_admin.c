/*
 * test_service_routes_admin.c - the worker's own routes called directly: health (before and
 * after ready), version, restart, stats, maintenance (with the real maintenance threads),
 * checkpoint, selfcheck and /metrics; and the route table's shape (flags, order, coverage).
 */
#include "test_service_routes_fixture.h"

#include <unistd.h>

#include "memory/events.h"
#include "service/maint.h"
#include "service/routes.h"

static void test_routes_health_answers_before_and_after_ready(void **state)
{
    struct rt_fixture *f = *state;

    assert_int_equal(rt_call(f, route_health_get, "/v1/health", NULL, NULL), 200);
    assert_string_equal(json_string_value(rt_get(f, "status")), "ready");
    assert_true(json_is_true(rt_get(f, "ready")));
    assert_string_equal(json_string_value(rt_get(f, "version")), MNEMO_VERSION);
    assert_true(json_is_object(rt_get(f, "store")));
    assert_null(json_object_get(f->resp.json, "error"));
    assert_string_equal(json_string_value(rt_get(f, "index")), "ready");
    /* Ready while the vector index still loads. */
    atomic_store(&f->w.index_ready, 0);
    assert_int_equal(rt_call(f, route_health_get, "/v1/health", NULL, NULL), 200);
    assert_string_equal(json_string_value(rt_get(f, "index")), "loading");
    atomic_store(&f->w.index_ready, 1);

    /* Starting: no store yet, 503, no store section. */
    struct mnemo_store *st = f->w.st;
    f->w.st = NULL;
    atomic_store(&f->w.status, MNEMO_WORKER_STARTING);
    assert_int_equal(rt_call(f, route_health_get, "/v1/health", NULL, NULL), 503);
    assert_string_equal(json_string_value(rt_get(f, "status")), "starting");
    assert_false(json_is_true(rt_get(f, "ready")));
    assert_null(json_object_get(f->resp.json, "store"));

    /* Error: the reason is in the answer. */
    snprintf(f->w.error, sizeof f->w.error, "cannot open database 'x': disk full");
    atomic_store(&f->w.status, MNEMO_WORKER_ERROR);
    assert_int_equal(rt_call(f, route_health_get, "/v1/health", NULL, NULL), 503);
    assert_string_equal(json_string_value(rt_get(f, "error")),
                        "cannot open database 'x': disk full");
    f->w.st = st;
    atomic_store(&f->w.status, MNEMO_WORKER_READY);
}

static void test_routes_version_and_restart(void **state)
{
    struct rt_fixture *f = *state;

    assert_int_equal(rt_call(f, route_version_get, "/v1/version", NULL, NULL), 200);
    assert_string_equal(json_string_value(rt_get(f, "version")), MNEMO_VERSION);
    assert_int_equal(json_integer_value(rt_get(f, "api")), 1);
    assert_int_equal(json_integer_value(rt_get(f, "pid")), getpid());
    assert_int_equal(json_integer_value(rt_get(f, "started_at")), f->w.started_ms);

    assert_int_equal(
        rt_call(f, route_restart_post, "/v1/restart", NULL, "{\"version\":\"" MNEMO_VERSION "\"}"),
        200);
    assert_false(json_is_true(rt_get(f, "restarting")));
    /* Another version, but the worker is younger than a minute: no restart loop. */
    assert_int_equal(rt_call(f, route_restart_post, "/v1/restart", NULL, "{\"version\":\"0.0.1\"}"),
                     200);
    assert_false(json_is_true(rt_get(f, "restarting")));
    assert_non_null(strstr(json_string_value(rt_get(f, "reason")), "60 s"));
    assert_int_equal(atomic_load(&f->w.restart_requested), 0);

    f->w.started_mono_ns -= INT64_C(120) * 1000 * 1000 * 1000;
    assert_int_equal(rt_call(f, route_restart_post, "/v1/restart", NULL, "{\"version\":\"0.0.1\"}"),
                     202);
    assert_true(json_is_true(rt_get(f, "restarting")));
    assert_int_equal(atomic_load(&f->w.restart_requested), 1);
    assert_int_equal(atomic_load(&f->w.stop_requested), 1);

    rt_call(f, route_restart_post, "/v1/restart", NULL, "{}");
    rt_assert_error(f, 400, "'version'");
}

static void test_routes_stats_counts_memory_queue_and_components(void **state)
{
    struct rt_fixture *f = *state;
    rt_create(f, "{\"project\":\"p1\",\"type\":\"decision\",\"title\":\"one\"}");
    rt_create(f, "{\"project\":\"p1\",\"type\":\"bugfix\",\"title\":\"two\"}");
    rt_create(f, "{\"project\":\"p2\",\"type\":\"bugfix\",\"title\":\"three\"}");
    assert_int_equal(mnemo_events_append(f->w.st, "claude", NULL, 0, "stop", "{}", 0, NULL, NULL),
                     0);

    assert_int_equal(rt_call(f, route_stats_get, "/v1/stats", NULL, NULL), 200);
    json_t *o = rt_get(f, "observations");
    assert_int_equal(json_integer_value(json_object_get(o, "total")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "live")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "by_type"), "bugfix")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "by_project"), "p1")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "by_scope"), "project")),
                     3);
    assert_int_equal(
        json_integer_value(json_object_get(rt_get(f, "vectors"), mnemo_embed_model_id(f->w.emb))),
        3);
    assert_int_equal(json_integer_value(json_object_get(rt_get(f, "queue"), "pending")), 1);
    json_t *e = rt_get(f, "embedder");
    assert_string_equal(json_string_value(json_object_get(e, "provider")), "hash");
    assert_true(json_is_true(json_object_get(e, "enabled")));
    assert_int_equal(json_integer_value(json_object_get(e, "dim")), mnemo_embed_dim(f->w.emb));
    assert_int_equal(json_integer_value(json_object_get(rt_get(f, "index"), "vectors")), 3);
    assert_string_equal(json_string_value(json_object_get(rt_get(f, "index"), "mode")), "float");
    assert_true(json_integer_value(rt_get(f, "wal_bytes")) > 0);
    assert_true(json_integer_value(rt_get(f, "uptime_ms")) >= 0);
    assert_int_equal(json_integer_value(rt_get(f, "sessions")), 0);
    assert_true(json_is_object(rt_get(f, "retrieval")));
    /* No capture thread or maintenance in this worker: their sections are left out. */
    assert_null(json_object_get(f->resp.json, "capture"));
    assert_null(json_object_get(f->resp.json, "maintenance"));
}

static void test_routes_maintenance_runs_with_a_deadline_and_reports(void **state)
{
    struct rt_fixture *f = *state;
    struct mnemo_err e = {0};

    rt_call(f, route_maintenance_run, "/v1/maintenance", NULL, NULL);
    rt_assert_error(f, 503, "not running");
    rt_call(f, route_maintenance_get, "/v1/maintenance", NULL, NULL);
    rt_assert_error(f, 503, "not running");

    if (mnemo_maint_start(&f->w, &f->w.maint, &e) != 0)
        fail_msg("maint: %s", e.msg);
    rt_call(f, route_maintenance_run, "/v1/maintenance", NULL, "{\"timeout_ms\":0}");
    rt_assert_error(f, 400, "'timeout_ms'");
    assert_int_equal(
        rt_call(f, route_maintenance_run, "/v1/maintenance", NULL, "{\"timeout_ms\":30000}"), 200);
    json_t *r = rt_get(f, "report");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(json_integer_value(json_object_get(r, "started_at")) > 0);
    assert_int_equal(rt_call(f, route_maintenance_get, "/v1/maintenance", NULL, NULL), 200);
    assert_int_equal(json_integer_value(json_object_get(rt_get(f, "stats"), "runs")), 1);

    assert_int_equal(rt_call(f, route_stats_get, "/v1/stats", NULL, NULL), 200);
    assert_int_equal(json_integer_value(json_object_get(rt_get(f, "maintenance"), "runs")), 1);
    mnemo_maint_stop(f->w.maint);
    f->w.maint = NULL;
}

static void test_routes_checkpoint_truncates_the_wal(void **state)
{
    struct rt_fixture *f = *state;
    rt_create(f, "{\"project\":\"p1\",\"type\":\"decision\",\"title\":\"grow the wal\"}");
    assert_true(mnemo_store_wal_size(f->w.st) > 0);

    assert_int_equal(rt_call(f, route_checkpoint_run, "/v1/checkpoint", NULL, NULL), 200);
    assert_true(json_integer_value(rt_get(f, "wal_bytes_before")) > 0);
    assert_int_equal(json_integer_value(rt_get(f, "wal_bytes_after")), 0);
    assert_false(json_is_true(rt_get(f, "busy")));
    assert_true(json_is_real(rt_get(f, "took_ms")));
    assert_int_equal(mnemo_store_wal_size(f->w.st), 0);
}

static void test_routes_selfcheck_reports_every_component(void **state)
{
    struct rt_fixture *f = *state;
    assert_int_equal(rt_call(f, route_selfcheck_get, "/v1/selfcheck", NULL, NULL), 200);
    json_t *c = rt_get(f, "components");
    const char *names[] = {"store", "fts", "index", "embedder", "capture", "disk"};
    for (size_t i = 0; i < 6; i++) {
        json_t *comp = json_object_get(c, names[i]);
        if (comp == NULL)
            fail_msg("no component '%s'", names[i]);
        assert_true(json_is_string(json_object_get(comp, "detail")));
    }
    assert_true(json_is_true(json_object_get(json_object_get(c, "store"), "ok")));
    assert_true(json_is_true(json_object_get(json_object_get(c, "fts"), "ok")));
    assert_true(json_is_true(json_object_get(json_object_get(c, "index"), "ok")));
    assert_true(json_is_true(json_object_get(json_object_get(c, "embedder"), "ok")));
    /* This worker has no capture thread, so the whole check is not ok. */
    assert_false(json_is_true(json_object_get(json_object_get(c, "capture"), "ok")));
    assert_false(json_is_true(rt_get(f, "ok")));
}

static void test_routes_metrics_is_prometheus_text(void **state)
{
    struct rt_fixture *f = *state;
    assert_int_equal(mnemo_events_append(f->w.st, "claude", NULL, 0, "stop", "{}", 0, NULL, NULL),
                     0);
    assert_int_equal(rt_call(f, route_metrics_get, "/metrics", NULL, NULL), 200);
    assert_null(f->resp.json);
    assert_non_null(f->resp.bytes);
    assert_string_equal(f->resp.content_type, "text/plain; version=0.0.4; charset=utf-8");
    const char *t = f->resp.bytes;
    assert_non_null(strstr(t, "# TYPE mnemo_queue_events gauge\n"));
    assert_non_null(strstr(t, "mnemo_queue_events{status=\"pending\"} 1\n"));
    assert_non_null(strstr(t, "mnemo_store_wal_bytes "));
    assert_non_null(strstr(t, "mnemo_store_query_p95_seconds "));
    assert_non_null(strstr(t, "mnemo_store_pool_connections{state=\"in_use\"} "));
    assert_non_null(strstr(t, "mnemo_store_last_checkpoint_ok "));
    assert_non_null(strstr(t, "mnemo_worker_ready 1\n"));
    /* Every sample line is "name{labels} value" or "name value". */
    for (const char *line = t; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        if (line[0] != '#')
            assert_true(memchr(line, ' ', (size_t)(nl - line)) != NULL);
        line = nl + 1;
    }
}

static void test_routes_table_flags_order_and_coverage(void **state)
{
    (void)state;
    static const char *const api[][2] = {
        {"GET", "/v1/health"},
        {"GET", "/v1/version"},
        {"POST", "/v1/restart"},
        {"GET", "/v1/stats"},
        {"POST", "/v1/sessions"},
        {"POST", "/v1/sessions/{id}/prompts"},
        {"POST", "/v1/sessions/{id}/end"},
        {"POST", "/v1/sessions/{id}/summary"},
        {"GET", "/v1/sessions"},
        {"POST", "/v1/events"},
        {"GET", "/v1/events"},
        {"POST", "/v1/events/retry"},
        {"POST", "/v1/observations"},
        {"GET", "/v1/observations"},
        {"GET", "/v1/observations/{id}"},
        {"POST", "/v1/observations/batch"},
        {"PATCH", "/v1/observations/{id}"},
        {"POST", "/v1/observations/{id}/archive"},
        {"POST", "/v1/observations/{id}/unarchive"},
        {"POST", "/v1/observations/{id}/supersede"},
        {"POST", "/v1/observations/{id}/feedback"},
        {"DELETE", "/v1/observations/{id}"},
        {"POST", "/v1/observations/import"},
        {"GET", "/v1/observations/export"},
        {"POST", "/v1/search"},
        {"POST", "/v1/context/session-start"},
        {"POST", "/v1/context/prompt"},
        {"POST", "/v1/maintenance"},
        {"GET", "/v1/maintenance"},
        {"POST", "/v1/checkpoint"},
        {"GET", "/v1/selfcheck"},
        {"GET", "/v1/stream"},
        {"GET", "/metrics"},
        {"POST", "/v1/hooks/{event}"},
        {"GET", "/"},
        {"GET", "/assets/{name}"},
        {"GET", "/v1/dashboard/timeline"},
        {"GET", "/v1/dashboard/projects"},
        {"GET", "/v1/dashboard/health"},
    };
    size_t n = 0;
    const struct mnemo_http_route *r = mnemo_routes(&n);
    assert_int_equal(n, sizeof api / sizeof api[0]);
    size_t get_id = n, get_export = n;
    for (size_t i = 0; i < n; i++) {
        int public =
            strcmp(r[i].pattern, "/v1/health") == 0 || strcmp(r[i].pattern, "/v1/version") == 0;
        /* The dashboard's page and assets hold no secret (its API calls carry the cookie). */
        public |= strcmp(r[i].pattern, "/") == 0 || strcmp(r[i].pattern, "/assets/{name}") == 0;
        assert_int_equal((r[i].flags & MNEMO_HTTP_PUBLIC) != 0, public);
        assert_int_equal((r[i].flags & MNEMO_HTTP_NEEDS_READY) != 0, !public);
        int sse = strcmp(r[i].pattern, "/v1/stream") == 0;
        assert_int_equal((r[i].flags & MNEMO_HTTP_SSE) != 0, sse);
        assert_int_equal(r[i].handler == NULL, sse);
        assert_int_equal((r[i].flags & MNEMO_HTTP_RAW_BODY) != 0,
                         strcmp(r[i].pattern, "/v1/observations/import") == 0);
        if (strcmp(r[i].method, "GET") == 0 && strcmp(r[i].pattern, "/v1/observations/{id}") == 0)
            get_id = i;
        if (strcmp(r[i].pattern, "/v1/observations/export") == 0)
            get_export = i;
        size_t k = 0;
        while (k < n &&
               !(strcmp(api[k][0], r[i].method) == 0 && strcmp(api[k][1], r[i].pattern) == 0))
            k++;
        if (k == n)
            fail_msg("route %s %s is not in docs/API.md", r[i].method, r[i].pattern);
    }
    /* First match wins: the literal export path must precede {id}. */
    assert_true(get_export < get_id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_health_answers_before_and_after_ready, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_version_and_restart, rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_stats_counts_memory_queue_and_components,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_maintenance_runs_with_a_deadline_and_reports,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_checkpoint_truncates_the_wal, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_selfcheck_reports_every_component, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_metrics_is_prometheus_text, rt_setup,
                                        rt_teardown),
        cmocka_unit_test(test_routes_table_flags_order_and_coverage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
