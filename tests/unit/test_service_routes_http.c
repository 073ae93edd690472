/*
 * test_service_routes_http.c - the route table behind the real HTTP server on a Unix socket,
 * driven with libcurl: query arguments and path parameters reach the handlers, JSON Lines
 * import through the raw-body route, export and /metrics headers, readiness gating (health and
 * version answer while starting, data routes 503), and SSE events published by the routes.
 */
#include "test_service_routes_fixture.h"

#include <pthread.h>
#include <unistd.h>

#include <curl/curl.h>

#include "service/routes.h"

struct hx {
    struct rt_fixture *f;
    char sock[300];
};

struct reply {
    long status;
    struct mnemo_strbuf body;
    struct mnemo_strbuf headers;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    struct mnemo_strbuf *sb = arg;
    return mnemo_strbuf_append(sb, p, size * n) == 0 ? size * n : 0;
}

/* One request over the worker's socket; ctype NULL means application/json when there is a body. */
static void request(const char *sock, const char *method, const char *path, const char *ctype,
                    const char *body, struct reply *r)
{
    char url[512];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    mnemo_strbuf_init(&r->body, 0);
    mnemo_strbuf_init(&r->headers, 0);
    snprintf(url, sizeof url, "http://localhost%s", path);
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (body != NULL) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype != NULL ? ctype : "application/json");
        h = curl_slist_append(h, ct);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void reply_release(struct reply *r)
{
    mnemo_strbuf_release(&r->body);
    mnemo_strbuf_release(&r->headers);
}

static json_t *reply_json(struct reply *r)
{
    json_t *j = json_loads(mnemo_strbuf_str(&r->body), 0, NULL);
    if (j == NULL)
        fail_msg("not JSON: %s", mnemo_strbuf_str(&r->body));
    return j;
}

static int hx_setup(void **state)
{
    struct hx *x = calloc(1, sizeof *x);
    struct mnemo_http_config cfg;
    struct mnemo_err err = {0};
    size_t n;
    void *fs;

    assert_non_null(x);
    rt_setup(&fs);
    x->f = fs;
    tu_path(&x->f->dir, "mnemo.sock", x->sock, sizeof x->sock);
    mnemo_http_config_init(&cfg);
    cfg.socket_path = x->sock;
    cfg.rate_limit = 0;
    cfg.ready = mnemo_worker_ready;
    cfg.ctx = &x->f->w;
    const struct mnemo_http_route *routes = mnemo_routes(&n);
    if (mnemo_http_start(&cfg, routes, n, &x->f->w.http, &err) != 0)
        fail_msg("http: %s", err.msg);
    *state = x;
    return 0;
}

static int hx_teardown(void **state)
{
    struct hx *x = *state;
    mnemo_http_stop(x->f->w.http, 1000);
    x->f->w.http = NULL;
    void *fs = x->f;
    rt_teardown(&fs);
    free(x);
    return 0;
}

static void test_routes_http_query_and_params_reach_the_handlers(void **state)
{
    struct hx *x = *state;
    struct reply r;

    for (int i = 0; i < 3; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"project\":\"%s\",\"type\":\"change\",\"title\":\"row %d\"}",
                 i < 2 ? "p1" : "p2", i);
        request(x->sock, "POST", "/v1/observations", NULL, body, &r);
        assert_int_equal(r.status, 201);
        reply_release(&r);
    }
    request(x->sock, "GET", "/v1/observations?project=p1&limit=1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *j = reply_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "observations")), 1);
    json_decref(j);
    reply_release(&r);

    request(x->sock, "GET", "/v1/observations?type=poem", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(mnemo_strbuf_str(&r.body), "MNEMO_EINVAL"));
    reply_release(&r);

    request(x->sock, "GET", "/v1/observations/1", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);
    request(x->sock, "GET", "/v1/observations/abc", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    reply_release(&r);
    request(x->sock, "POST", "/v1/observations/1/feedback", NULL, "{\"vote\":1}", &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);
}

static void test_routes_http_ndjson_import_and_csv_export(void **state)
{
    struct hx *x = *state;
    struct reply r;

    request(x->sock, "POST", "/v1/observations/import", "application/x-ndjson",
            "{\"project\":\"p1\",\"type\":\"change\",\"title\":\"a\"}\n"
            "{\"project\":\"p1\",\"type\":\"change\",\"title\":\"b\"}\n",
            &r);
    assert_int_equal(r.status, 200);
    json_t *j = reply_json(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "imported")), 2);
    json_decref(j);
    reply_release(&r);

    request(x->sock, "GET", "/v1/observations/export?format=csv", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    const char *hd = mnemo_strbuf_str(&r.headers);
    assert_non_null(strcasestr(hd, "Content-Type: text/csv"));
    assert_non_null(
        strcasestr(hd, "Content-Disposition: attachment; filename=\"mnemo-export.csv\""));
    assert_true(strncmp(mnemo_strbuf_str(&r.body), "id,uuid,", 8) == 0);
    reply_release(&r);

    request(x->sock, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(
        strcasestr(mnemo_strbuf_str(&r.headers), "Content-Type: text/plain; version=0.0.4"));
    /* The server records a request after answering it, so only the family is certain. */
    assert_non_null(
        strstr(mnemo_strbuf_str(&r.body), "# TYPE mnemo_http_requests_total counter\n"));
    assert_non_null(strstr(mnemo_strbuf_str(&r.body), "mnemo_store_wal_bytes "));
    reply_release(&r);
}

static void test_routes_http_only_health_and_version_answer_while_starting(void **state)
{
    struct hx *x = *state;
    struct reply r;

    atomic_store(&x->f->w.status, MNEMO_WORKER_STARTING);
    request(x->sock, "GET", "/v1/health", NULL, NULL, &r);
    assert_int_equal(r.status, 503);
    json_t *j = reply_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "starting");
    json_decref(j);
    reply_release(&r);
    request(x->sock, "GET", "/v1/version", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);
    request(x->sock, "POST", "/v1/search", NULL, "{\"query\":\"x\"}", &r);
    assert_int_equal(r.status, 503);
    reply_release(&r);
    request(x->sock, "GET", "/metrics", NULL, NULL, &r);
    assert_int_equal(r.status, 503);
    reply_release(&r);
    atomic_store(&x->f->w.status, MNEMO_WORKER_READY);

    request(x->sock, "DELETE", "/v1/search", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    reply_release(&r);
}

/* Reads the SSE stream until it holds want or the deadline passes. */
struct sse_arg {
    const char *sock;
    struct mnemo_strbuf got;
    const char *want;
};

static int sse_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct sse_arg *s = arg;
    return strstr(mnemo_strbuf_str(&s->got), s->want) != NULL; /* non-zero aborts */
}

static void *sse_reader(void *arg)
{
    struct sse_arg *s = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, s->sock);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/stream");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s->got);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, sse_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    return NULL;
}

static void test_routes_http_publishes_observation_and_session_events(void **state)
{
    struct hx *x = *state;
    struct reply r;
    struct sse_arg s = {.sock = x->sock, .want = "event: checkpoint.ran"};
    pthread_t t;

    mnemo_strbuf_init(&s.got, 0);
    assert_int_equal(pthread_create(&t, NULL, sse_reader, &s), 0);
    /* Wait until the stream is connected before publishing. */
    for (int i = 0; i < 500 && mnemo_http_sse_clients(x->f->w.http) == 0; i++)
        usleep(10 * 1000);
    assert_int_equal(mnemo_http_sse_clients(x->f->w.http), 1);

    request(x->sock, "POST", "/v1/observations", NULL,
            "{\"project\":\"p1\",\"type\":\"change\",\"title\":\"streamed\"}", &r);
    assert_int_equal(r.status, 201);
    reply_release(&r);
    request(x->sock, "POST", "/v1/sessions", NULL,
            "{\"agent\":\"claude\",\"agent_session_id\":\"s\",\"project\":\"p1\"}", &r);
    assert_int_equal(r.status, 201);
    reply_release(&r);
    request(x->sock, "POST", "/v1/checkpoint", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_release(&r);
    pthread_join(t, NULL);

    const char *got = mnemo_strbuf_str(&s.got);
    assert_non_null(strstr(got, "event: observation.created"));
    assert_non_null(strstr(got, "\"title\":\"streamed\""));
    assert_non_null(strstr(got, "event: session.started"));
    assert_non_null(strstr(got, "event: checkpoint.ran"));
    mnemo_strbuf_release(&s.got);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_http_query_and_params_reach_the_handlers,
                                        hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(test_routes_http_ndjson_import_and_csv_export, hx_setup,
                                        hx_teardown),
        cmocka_unit_test_setup_teardown(
            test_routes_http_only_health_and_version_answer_while_starting, hx_setup, hx_teardown),
        cmocka_unit_test_setup_teardown(test_routes_http_publishes_observation_and_session_events,
                                        hx_setup, hx_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
