/*
 * test_worker_api.c - the worker's HTTP API over a real `mnemo serve` ($MNEMO_BIN) on a fresh
 * MNEMO_HOME, driven with libcurl over the Unix socket and over TCP (a free loopback port):
 * public routes on both transports, the TCP security model (token, cookie landing, Host and
 * Origin checks, no CORS, security headers), request limits and the error shape, each route's
 * success and error paths, secrets that never come back, and a clean SIGTERM at the end.
 * One worker serves the whole main group (tests run in order and share it); the rate limit has
 * its own worker with a low limit.
 */
#include "worker_http.h"

#include <pthread.h>

#define AWS_KEY "AKIAIOSFODNN7EXAMPLE"
/* ghp_ and 36 alphanumerics: a GitHub token of the right length. */
#define GH_TOKEN "ghp_Zq7Yk2Lm9Rt4Wx8Pv3Ns6Hd1Jf5Gb0Cc2Aa9"

struct api {
    struct fixture *f;
    int port;
    char tcp_env[64];
    char rate_env[64];
    char token[128];
    char base[64]; /* http://127.0.0.1:<port> */
};

static int api_start(void **state, const char *rate_env)
{
    struct api *a = calloc(1, sizeof *a);
    assert_non_null(a);
    void *fs = NULL;
    setup(&fs);
    a->f = fs;
    a->port = free_tcp_port();
    snprintf(a->tcp_env, sizeof a->tcp_env, "MNEMO_TCP_LISTEN=127.0.0.1:%d", a->port);
    snprintf(a->rate_env, sizeof a->rate_env, "%s", rate_env);
    snprintf(a->base, sizeof a->base, "http://127.0.0.1:%d", a->port);
    a->f->env[1] = a->tcp_env;
    a->f->env[2] = a->rate_env;
    /* A short idle timeout, so the slow-client test is quick (the env slots are taken). */
    assert_int_equal(mkdir(a->f->home, 0700), 0);
    char cfg[700];
    snprintf(cfg, sizeof cfg, "%s/config.json", a->f->home);
    tu_file_write(cfg, "{\"http.timeout_s\": 2}", strlen("{\"http.timeout_s\": 2}"));
    serve(a->f);
    read_token(a->f, a->token, sizeof a->token);
    *state = a;
    return 0;
}

static int group_setup(void **state)
{
    return api_start(state, "MNEMO_HTTP_RATE_LIMIT=100000");
}

static int rate_group_setup(void **state)
{
    return api_start(state, "MNEMO_HTTP_RATE_LIMIT=5");
}

static int group_teardown(void **state)
{
    struct api *a = *state;
    void *fs = a->f;
    teardown(&fs);
    free(a);
    return 0;
}

/* A request over TCP to path with the given extra headers (NULL-terminated list or NULL). */
static struct http_resp tcp(struct api *a, const char *method, const char *path,
                            const char *const *headers, const char *json_body)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", a->base, path);
    struct http_opts o = {.content_type = json_body != NULL ? "application/json" : NULL,
                          .headers = headers,
                          .body = json_body};
    return http(NULL, method, url, &o);
}

static void expect_security_headers(const struct http_resp *r)
{
    char v[256];
    assert_non_null(header_value(r, "X-Content-Type-Options", v, sizeof v));
    assert_string_equal(v, "nosniff");
    assert_non_null(header_value(r, "X-Frame-Options", v, sizeof v));
    assert_string_equal(v, "DENY");
    assert_non_null(header_value(r, "Cache-Control", v, sizeof v));
    assert_string_equal(v, "no-store");
    assert_non_null(header_value(r, "Referrer-Policy", v, sizeof v));
    assert_string_equal(v, "no-referrer");
    assert_non_null(header_value(r, "Content-Security-Policy", v, sizeof v));
    cu_expect_contains(v, "default-src 'self'");
    assert_null(header_value(r, "Access-Control-Allow-Origin", v, sizeof v));
}

/* Creates an observation over the socket; returns its id. */
static int64_t create_obs(struct fixture *f, const char *json, long want)
{
    struct http_resp r = sock_json(f, "POST", "/v1/observations", json);
    json_t *j = expect_json(&r, want, "POST /v1/observations");
    assert_true(json_is_integer(json_object_get(j, "id")));
    int64_t id = (int64_t)json_integer_value(json_object_get(j, "id"));
    http_resp_free(&r);
    return id;
}

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

static void test_api_tcp_data_routes_need_the_token(void **state)
{
    struct api *a = *state;
    char bearer[200], wrong[200], v[512];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", a->token);
    snprintf(wrong, sizeof wrong, "Authorization: Bearer %s", a->token);
    wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == '0' ? '1' : '0';

    struct http_resp r = tcp(a, "GET", "/v1/stats", NULL, NULL);
    expect_error(&r, 401, "no token");
    expect_security_headers(&r);
    http_resp_free(&r);

    const char *const hw[] = {wrong, NULL};
    r = tcp(a, "GET", "/v1/stats", hw, NULL);
    expect_error(&r, 401, "wrong token");
    http_resp_free(&r);

    const char *const hc_wrong[] = {"Cookie: mnemo_token=0123", NULL};
    r = tcp(a, "GET", "/v1/stats", hc_wrong, NULL);
    expect_error(&r, 401, "wrong cookie");
    http_resp_free(&r);

    const char *const hb[] = {bearer, NULL};
    r = tcp(a, "GET", "/v1/stats", hb, NULL);
    expect_json(&r, 200, "Bearer token");
    expect_security_headers(&r);
    http_resp_free(&r);

    /* The landing URL trades the token for a cookie and drops it from the address bar. */
    char path[256];
    snprintf(path, sizeof path, "/?token=%s", a->token);
    r = tcp(a, "GET", path, NULL, NULL);
    assert_int_equal(r.code, 303);
    assert_non_null(header_value(&r, "Location", v, sizeof v));
    assert_string_equal(v, "/");
    assert_non_null(header_value(&r, "Set-Cookie", v, sizeof v));
    char want[256];
    snprintf(want, sizeof want, "mnemo_token=%s;", a->token);
    assert_non_null(strstr(v, want));
    assert_non_null(strstr(v, "HttpOnly"));
    assert_non_null(strstr(v, "SameSite=Strict"));
    http_resp_free(&r);

    char cookie[256];
    snprintf(cookie, sizeof cookie, "Cookie: mnemo_token=%s", a->token);
    const char *const hc[] = {cookie, NULL};
    r = tcp(a, "GET", "/v1/stats", hc, NULL);
    expect_json(&r, 200, "cookie");
    http_resp_free(&r);

    /* A wrong token at the landing URL sets no cookie. */
    r = tcp(a, "GET", "/?token=nope", NULL, NULL);
    assert_true(r.code >= 400);
    assert_null(header_value(&r, "Set-Cookie", v, sizeof v));
    http_resp_free(&r);
}

static void test_api_tcp_refuses_foreign_host_and_origin(void **state)
{
    struct api *a = *state;
    char bearer[200], host[128], port_host[128], own_origin[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", a->token);
    snprintf(host, sizeof host, "Host: evil.example:%d", a->port);
    snprintf(port_host, sizeof port_host, "Host: 127.0.0.1:%d", a->port == 65535 ? 1 : a->port + 1);
    snprintf(own_origin, sizeof own_origin, "Origin: http://localhost:%d", a->port);

    const char *const h1[] = {bearer, host, NULL};
    struct http_resp r = tcp(a, "GET", "/v1/stats", h1, NULL);
    expect_error(&r, 403, "foreign Host");
    expect_security_headers(&r);
    http_resp_free(&r);
    /* Even the public route: a rebinding page must not learn the worker is there. */
    r = tcp(a, "GET", "/v1/health", h1 + 1, NULL);
    expect_error(&r, 403, "foreign Host on /v1/health");
    http_resp_free(&r);

    const char *const h2[] = {bearer, port_host, NULL};
    r = tcp(a, "GET", "/v1/stats", h2, NULL);
    expect_error(&r, 403, "wrong port in Host");
    http_resp_free(&r);

    const char *const h3[] = {bearer, "Origin: http://evil.example", NULL};
    r = tcp(a, "POST", "/v1/search", h3, "{\"query\":\"x\"}");
    expect_error(&r, 403, "foreign Origin");
    assert_null(header_value(&r, "Access-Control-Allow-Origin", host, sizeof host));
    http_resp_free(&r);

    const char *const h4[] = {bearer, own_origin, NULL};
    r = tcp(a, "GET", "/v1/stats", h4, NULL);
    expect_json(&r, 200, "own Origin");
    expect_security_headers(&r);
    http_resp_free(&r);

    const char *const h5[] = {bearer, "Host: localhost", NULL};
    r = tcp(a, "GET", "/v1/stats", h5, NULL);
    expect_error(&r, 403, "Host without the port");
    http_resp_free(&r);
}

/* ---- limits and the error shape (socket) ---------------------------------------------------- */

static void test_api_limits_and_errors_over_the_socket(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    char v[256];

    /* Over 10 MB: 413, refused on its length. */
    size_t big = 10 * 1024 * 1024 + 16;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    struct http_opts o = {.content_type = "application/json", .body = body, .body_len = big};
    struct http_resp r = http(f->sock, "POST", "http://localhost/v1/search", &o);
    expect_error(&r, 413, "body over 10 MB");
    http_resp_free(&r);
    free(body);

    o = (struct http_opts){.content_type = "text/plain", .body = "{\"query\":\"x\"}"};
    r = http(f->sock, "POST", "http://localhost/v1/search", &o);
    expect_error(&r, 415, "text/plain");
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/search", "{\"query\": \"x\",\n \"limit\": }");
    const char *m = expect_error(&r, 400, "malformed JSON");
    cu_expect_contains(m, "column");
    cu_expect_contains(m, "position");
    http_resp_free(&r);

    size_t deep = 100000;
    char *nest = malloc(deep + 1);
    assert_non_null(nest);
    memset(nest, '[', deep);
    nest[deep] = '\0';
    r = sock_json(f, "POST", "/v1/search", nest);
    expect_error(&r, 400, "100,000 nested '['");
    http_resp_free(&r);
    free(nest);

    r = sock_json(f, "POST", "/v1/search", "{\"query\":\"bad \xc3\x28 byte\"}");
    expect_error(&r, 400, "invalid UTF-8");
    http_resp_free(&r);

    r = sock_json(f, "GET", "/v1/nope", NULL);
    expect_error(&r, 404, "unknown route");
    expect_security_headers(&r);
    http_resp_free(&r);

    r = sock_json(f, "DELETE", "/v1/search", NULL);
    expect_error(&r, 405, "wrong method");
    assert_non_null(header_value(&r, "Allow", v, sizeof v));
    cu_expect_contains(v, "POST");
    http_resp_free(&r);

    r = sock_json(f, "PUT", "/v1/stats", "{}");
    expect_error(&r, 405, "PUT on a GET route");
    assert_non_null(header_value(&r, "Allow", v, sizeof v));
    cu_expect_contains(v, "GET");
    http_resp_free(&r);

    /* A pattern route's 405 names every method of that path. */
    r = sock_json(f, "PUT", "/v1/observations/5", "{}");
    expect_error(&r, 405, "PUT on an {id} route");
    assert_non_null(header_value(&r, "Allow", v, sizeof v));
    cu_expect_contains(v, "GET");
    cu_expect_contains(v, "PATCH");
    cu_expect_contains(v, "DELETE");
    http_resp_free(&r);

    const char *nf[] = {"/v1/observations/", "/v1//stats", "/v1/stats/",
                        "/v1/observations/5/archive/x"};
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++) {
        r = sock_json(f, "GET", nf[i], NULL);
        expect_error(&r, 404, nf[i]);
        http_resp_free(&r);
    }
    const char *bad[] = {"/v1/observations/99999999999999999999",
                         "/v1/observations/-1",
                         "/v1/observations/0",
                         "/v1/observations?limit=1001",
                         "/v1/observations?offset=-1",
                         "/v1/observations?archived=maybe",
                         "/v1/events?limit=abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = sock_json(f, "GET", bad[i], NULL);
        expect_error(&r, 400, bad[i]);
        http_resp_free(&r);
    }

    /* The worker took none of it badly. */
    assert_true(health_ready(f));
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

/* Polls GET /v1/events until the event id is done; fails on failed or after the deadline. */
static void wait_event_done(struct fixture *f, int64_t id)
{
    int64_t end = tu_now_ms() + 30000;
    for (;;) {
        struct http_resp r = sock_json(f, "GET", "/v1/events?limit=100", NULL);
        json_t *ev = json_object_get(expect_json(&r, 200, "GET /v1/events"), "events");
        const char *status = NULL;
        size_t i;
        json_t *e;
        json_array_foreach(ev, i, e)
        {
            if (json_integer_value(json_object_get(e, "id")) == id)
                status = json_string_value(json_object_get(e, "status"));
        }
        if (status != NULL && strcmp(status, "done") == 0) {
            http_resp_free(&r);
            return;
        }
        if (status != NULL && strcmp(status, "failed") == 0)
            fail_msg("event %lld failed: %s", (long long)id, r.body);
        http_resp_free(&r);
        if (tu_now_ms() > end)
            fail_worker(f, "event %lld not processed in time", (long long)id);
        usleep(20000);
    }
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

/* ---- secrets -------------------------------------------------------------------------------- */

static void expect_no_secret(const struct http_resp *r, const char *what)
{
    if (r->body != NULL && (strstr(r->body, AWS_KEY) != NULL || strstr(r->body, GH_TOKEN) != NULL))
        fail_msg("%s leaks a secret: %s", what, r->body);
}

static void test_api_secrets_never_come_back(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    struct http_resp r = sock_json(
        f, "POST", "/v1/events",
        "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"s-sec\","
        "\"project\":\"secproj\",\"payload\":{\"tool_name\":\"Bash\",\"tool_input\":{\"command\":"
        "\"deploy --key " AWS_KEY " --gh " GH_TOKEN "\"},\"tool_response\":{\"stdout\":\"\","
        "\"stderr\":\"denied for " AWS_KEY "\",\"exit_code\":1}}}");
    int64_t ev = json_integer_value(json_object_get(expect_json(&r, 202, "secret event"), "id"));
    http_resp_free(&r);
    wait_event_done(f, ev);

    create_obs(f,
               "{\"project\":\"secproj\",\"type\":\"discovery\",\"title\":\"Pelican deploy keys\","
               "\"narrative\":\"The pelican deploy used " AWS_KEY " and " GH_TOKEN ".\","
               "\"facts\":[\"token " GH_TOKEN "\"]}",
               201);

    const char *gets[] = {"/v1/events?limit=100", "/v1/observations?project=secproj&archived=all",
                          "/v1/observations/export?format=jsonl",
                          "/v1/observations/export?format=json",
                          "/v1/observations/export?format=csv"};
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
        r = sock_json(f, "GET", gets[i], NULL);
        assert_int_equal(r.code, 200);
        expect_no_secret(&r, gets[i]);
        http_resp_free(&r);
    }
    /* The failing command became an observation, with the secrets redacted out of it. */
    r = sock_json(f, "GET", "/v1/observations/export?format=jsonl&project=secproj", NULL);
    assert_int_equal(r.code, 200);
    cu_expect_contains(r.body, "deploy --key");
    expect_no_secret(&r, "export of the extracted observation");
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/search",
                  "{\"query\":\"pelican deploy\",\"project\":\"secproj\"}");
    assert_true(json_array_size(json_object_get(expect_json(&r, 200, "search"), "results")) >= 1);
    expect_no_secret(&r, "search");
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/context/prompt",
                  "{\"project\":\"secproj\",\"prompt\":\"pelican deploy\"}");
    expect_no_secret(&r, "context");
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

/* ---- edges: content types, body shapes, TCP token and Origin corner cases ------------------- */

static void test_api_content_types_and_body_shapes(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    const char *q = "{\"query\":\"quokka\"}";
    const char *ok_types[] = {"application/json; charset=utf-8", "APPLICATION/JSON"};
    for (size_t i = 0; i < 2; i++) {
        struct http_opts o = {.content_type = ok_types[i], .body = q};
        struct http_resp r = http(f->sock, "POST", "http://localhost/v1/search", &o);
        expect_json(&r, 200, ok_types[i]);
        http_resp_free(&r);
    }
    struct http_opts o = {.content_type = "application/jsonx", .body = q};
    struct http_resp r = http(f->sock, "POST", "http://localhost/v1/search", &o);
    expect_error(&r, 415, "application/jsonx");
    http_resp_free(&r);
    o = (struct http_opts){.body = q}; /* no Content-Type at all (curl: form-urlencoded) */
    r = http(f->sock, "POST", "http://localhost/v1/search", &o);
    expect_error(&r, 415, "form-urlencoded");
    http_resp_free(&r);

    const char *bad[] = {"[1,2]", "", "{} trailing", "{\"query\":\"a\\u0000b\"}",
                         "\"just a string\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = sock_json(f, "POST", "/v1/observations", bad[i]);
        char what[64];
        snprintf(what, sizeof what, "body '%s'", bad[i]);
        expect_error(&r, 400, what);
        http_resp_free(&r);
    }

    r = sock_json(f, "POST", "/v1/events/retry", "{\"id\":999999}");
    assert_int_equal(json_integer_value(json_object_get(expect_json(&r, 200, "retry"), "requeued")),
                     0);
    http_resp_free(&r);

    /* The same version asks for no restart. */
    r = sock_json(f, "GET", "/v1/version", NULL);
    char body[128];
    snprintf(body, sizeof body, "{\"version\":\"%s\"}",
             json_string_value(json_object_get(expect_json(&r, 200, "version"), "version")));
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/restart", body);
    assert_false(json_is_true(json_object_get(expect_json(&r, 200, "restart"), "restarting")));
    http_resp_free(&r);
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

static void test_api_tcp_token_and_origin_corner_cases(void **state)
{
    struct api *a = *state;
    char bearer[200], path[256], v[256], upper[128], evil[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", a->token);
    snprintf(upper, sizeof upper, "Origin: http://LOCALHOST:%d", a->port);
    snprintf(evil, sizeof evil, "Host: evil.example:%d", a->port);

    /* The token is not accepted in a data route's query string. */
    snprintf(path, sizeof path, "/v1/stats?token=%s", a->token);
    struct http_resp r = tcp(a, "GET", path, NULL, NULL);
    expect_error(&r, 401, "token in the query");
    http_resp_free(&r);
    const char *const basic[] = {"Authorization: Basic bW5lbW86dG9rZW4=", NULL};
    r = tcp(a, "GET", "/v1/stats", basic, NULL);
    expect_error(&r, 401, "Basic auth");
    http_resp_free(&r);
    /* Unknown paths are not revealed before the token (documented order). */
    r = tcp(a, "GET", "/v1/nope", NULL, NULL);
    expect_error(&r, 401, "unknown path without token");
    http_resp_free(&r);

    const char *origins[] = {"Origin: null", NULL, NULL};
    char https[128];
    snprintf(https, sizeof https, "Origin: https://localhost:%d", a->port);
    origins[1] = https;
    for (size_t i = 0; i < 2; i++) {
        const char *const h[] = {bearer, origins[i], NULL};
        r = tcp(a, "GET", "/v1/stats", h, NULL);
        expect_error(&r, 403, origins[i]);
        http_resp_free(&r);
    }
    const char *const hu[] = {bearer, upper, NULL};
    r = tcp(a, "GET", "/v1/stats", hu, NULL);
    expect_json(&r, 200, "own origin in capitals");
    http_resp_free(&r);

    /* A rebinding page cannot collect the cookie either. */
    snprintf(path, sizeof path, "/?token=%s", a->token);
    const char *const he[] = {evil, NULL};
    r = tcp(a, "GET", path, he, NULL);
    expect_error(&r, 403, "landing with a foreign Host");
    assert_null(header_value(&r, "Set-Cookie", v, sizeof v));
    http_resp_free(&r);

    /* Over TCP the body limit holds too, with the token. */
    size_t big = 10 * 1024 * 1024 + 1;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    char url[128];
    snprintf(url, sizeof url, "%s/v1/search", a->base);
    const char *const hb[] = {bearer, NULL};
    struct http_opts o = {
        .content_type = "application/json", .headers = hb, .body = body, .body_len = big};
    r = http(NULL, "POST", url, &o);
    expect_error(&r, 413, "TCP body over 10 MB");
    http_resp_free(&r);
    free(body);
}

/* Fails when a secret's bytes are anywhere in the file (the database, its -wal, the log). */
static void expect_file_without_secrets(const char *path)
{
    size_t len = 0;
    char *data = tu_file_read(path, 256u << 20, &len);
    if (data == NULL)
        return; /* no such file: nothing stored there */
    const char *secrets[] = {AWS_KEY, GH_TOKEN};
    for (size_t i = 0; i < 2; i++)
        if (memmem(data, len, secrets[i], strlen(secrets[i])) != NULL) {
            free(data);
            fail_msg("'%s' holds the secret %s", path, secrets[i]);
        }
    free(data);
}

static void
test_api_secrets_and_private_blocks_stay_out_of_updates_imports_and_summaries(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    int64_t id = create_obs(f,
                            "{\"project\":\"sec2proj\",\"type\":\"decision\",\"title\":\"Cormorant "
                            "release plan\",\"narrative\":\"public part <private>hidden walrus "
                            "nine</private> end\"}",
                            201);
    char path[128];
    snprintf(path, sizeof path, "/v1/observations/%lld", (long long)id);
    struct http_resp r = sock_json(
        f, "PATCH", path, "{\"narrative\":\"now with " AWS_KEY "\",\"facts\":[\"" GH_TOKEN "\"]}");
    expect_json(&r, 200, "PATCH with secrets");
    expect_no_secret(&r, "PATCH answer");
    http_resp_free(&r);
    r = sock_json(f, "GET", path, NULL);
    expect_json(&r, 200, "GET");
    expect_no_secret(&r, "GET after PATCH");
    http_resp_free(&r);

    r = sock_json(f, "POST", "/v1/observations/import",
                  "{\"observations\":[{\"project\":\"sec2proj\",\"type\":\"change\",\"title\":"
                  "\"Imported cormorant key\",\"narrative\":\"key " AWS_KEY "\"}]}");
    assert_int_equal(
        json_integer_value(json_object_get(expect_json(&r, 200, "import"), "imported")), 1);
    http_resp_free(&r);

    r = sock_json(
        f, "POST", "/v1/sessions",
        "{\"agent\":\"claude\",\"agent_session_id\":\"s-sec2\",\"project\":\"sec2proj\"}");
    int64_t sid = json_integer_value(
        json_object_get(json_object_get(expect_json(&r, 201, "session"), "session"), "id"));
    http_resp_free(&r);
    snprintf(path, sizeof path, "/v1/sessions/%lld/summary", (long long)sid);
    r = sock_json(f, "POST", path,
                  "{\"request\":\"cormorant release\",\"learned\":\"the key is " GH_TOKEN "\","
                  "\"completed\":\"released with " AWS_KEY "\"}");
    expect_json(&r, 201, "summary with secrets");
    http_resp_free(&r);

    const char *gets[] = {"/v1/observations/export?format=jsonl&project=sec2proj",
                          "/v1/observations?project=sec2proj"};
    for (size_t i = 0; i < 2; i++) {
        r = sock_json(f, "GET", gets[i], NULL);
        assert_int_equal(r.code, 200);
        cu_expect_contains(r.body, "ormorant");
        expect_no_secret(&r, gets[i]);
        if (strstr(r.body, "hidden walrus") != NULL)
            fail_msg("%s shows a <private> block: %s", gets[i], r.body);
        http_resp_free(&r);
    }
    /* A prompt and an event whose payload has the secret as a key are stored redacted too. */
    snprintf(path, sizeof path, "/v1/sessions/%lld/prompts", (long long)sid);
    r = sock_json(f, "POST", path, "{\"text\":\"log in with " AWS_KEY " then " GH_TOKEN "\"}");
    expect_json(&r, 200, "prompt with secrets");
    expect_no_secret(&r, "prompt answer");
    http_resp_free(&r);
    r = sock_json(f, "POST", "/v1/events",
                  "{\"agent\":\"claude\",\"kind\":\"notification\",\"project\":\"sec2proj\","
                  "\"payload\":{\"" AWS_KEY "\":\"as a key\",\"nested\":[{\"deep\":\"" GH_TOKEN
                  "\"}]}}");
    int64_t ev = json_integer_value(json_object_get(expect_json(&r, 202, "event"), "id"));
    http_resp_free(&r);
    wait_event_done(f, ev);

    const char *posts[][2] = {
        {"/v1/context/session-start", "{\"project\":\"sec2proj\"}"},
        {"/v1/context/prompt", "{\"project\":\"sec2proj\",\"prompt\":\"cormorant release key\"}"},
        {"/v1/search", "{\"query\":\"cormorant\",\"project\":\"sec2proj\"}"}};
    for (size_t i = 0; i < 3; i++) {
        r = sock_json(f, "POST", posts[i][0], posts[i][1]);
        expect_json(&r, 200, posts[i][0]);
        expect_no_secret(&r, posts[i][0]);
        if (strstr(r.body, "hidden walrus") != NULL)
            fail_msg("%s shows a <private> block: %s", posts[i][0], r.body);
        http_resp_free(&r);
    }

    /* Nothing on disk holds them: the -wal as it is, then the database and the -wal after a
     * forced checkpoint, and the worker's log. */
    expect_file_without_secrets(f->wal);
    r = sock_json(f, "POST", "/v1/checkpoint", NULL);
    expect_json(&r, 200, "checkpoint");
    http_resp_free(&r);
    expect_file_without_secrets(f->db);
    expect_file_without_secrets(f->wal);
    expect_file_without_secrets(f->out);
}

/* ---- hostile clients ----------------------------------------------------------------------- */

/* A TCP connection to the worker that sent the start of a request and then nothing. */
static int half_request(struct api *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char req[128];
    int n = snprintf(req, sizeof req, "GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", a->port);
    assert_int_equal(write(fd, req, (size_t)n), n);
    return fd;
}

struct chunked {
    size_t left;
};

static size_t read_spaces(char *buf, size_t size, size_t n, void *userdata)
{
    struct chunked *c = userdata;
    size_t k = size * n < c->left ? size * n : c->left;
    memset(buf, ' ', k);
    c->left -= k;
    return k;
}

static void test_api_hostile_clients_do_not_hurt_the_worker(void **state)
{
    struct api *a = *state;
    struct fixture *f = a->f;

    /* Idle half-requests hold no one up, and are closed after the idle timeout (2 s here). */
    int fds[20];
    for (int i = 0; i < 20; i++)
        fds[i] = half_request(a);
    struct http_resp r = tcp(a, "GET", "/v1/health", NULL, NULL);
    expect_json(&r, 200, "health beside 20 idle connections");
    http_resp_free(&r);
    int64_t t0 = tu_now_ms();
    for (int i = 0; i < 20; i++) {
        struct timeval tv = {.tv_sec = 20};
        assert_int_equal(setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
        char buf[256];
        ssize_t got = read(fds[i], buf, sizeof buf);
        if (got < 0 && errno != ECONNRESET)
            fail_msg("idle connection %d not closed by the worker: %s", i, strerror(errno));
        close(fds[i]);
    }
    int64_t took = tu_now_ms() - t0;
    print_message("idle connections closed after %lld ms (timeout 2 s)\n", (long long)took);
    assert_true(took < 15000);

    /* A chunked body past the limit has no length to refuse up front: the connection is closed. */
    char url[128];
    snprintf(url, sizeof url, "%s/v1/observations", a->base);
    char bearer[200];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", a->token);
    struct curl_slist *hl = curl_slist_append(NULL, bearer);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
    assert_non_null(hl);
    struct chunked ch = {.left = 11u * 1024 * 1024};
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_spaces);
    curl_easy_setopt(c, CURLOPT_READDATA, &ch);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 1 << 20);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sb);
    CURLcode cc = curl_easy_perform(c);
    long code = 0;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    mnemo_strbuf_release(&sb);
    if (cc == CURLE_OK && code < 400)
        fail_msg("an 11 MB chunked body was answered %ld", code);
    /* Closed by the worker, not unreachable or hanging. */
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT)
        fail_msg("the chunked upload did not reach the worker: %s", curl_easy_strerror(cc));
    print_message("11 MB chunked body: %s, status %ld\n", curl_easy_strerror(cc), code);

    /* A header block over MHD's limit gets an error, not a crash. */
    size_t hn = 40 * 1024;
    char *big = malloc(hn + 16);
    assert_non_null(big);
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', hn);
    big[7 + hn] = '\0';
    const char *const hb[] = {big, NULL};
    struct http_resp br;
    char surl[64];
    snprintf(surl, sizeof surl, "http://localhost/v1/health");
    struct http_opts o = {.headers = hb};
    cc = http_call(f->sock, "GET", surl, &o, &br);
    if (cc == CURLE_OK && br.code < 400)
        fail_msg("a 40 KiB header was answered %ld", br.code);
    http_resp_free(&br);
    free(big);

    /* A flood of TCP connections (past the listener's 128) does not starve the socket. */
    int flood[140];
    for (int i = 0; i < 140; i++) {
        flood[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(flood[i] >= 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(flood[i], (struct sockaddr *)&sa, sizeof sa), 0);
    }
    assert_true(health_ready(f));
    for (int i = 0; i < 140; i++)
        close(flood[i]);

    /* TCP serves again once the flood is gone (closed connections free their slots). */
    int64_t end = tu_now_ms() + 15000;
    for (;;) {
        struct http_resp h;
        char hurl[96];
        snprintf(hurl, sizeof hurl, "%s/v1/health", a->base);
        struct http_opts ho = {.timeout_ms = 2000};
        CURLcode hc = http_call(NULL, "GET", hurl, &ho, &h);
        long hcode = h.code;
        http_resp_free(&h);
        if (hc == CURLE_OK && hcode == 200)
            break;
        if (tu_now_ms() > end)
            fail_worker(f, "TCP did not serve again after the flood");
        usleep(50000);
    }
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

static void test_api_sigterm_exits_0_leaving_no_wal(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    stop_child(f);
    expect_clean_stop(f);
}

/* ---- rate limit (own worker: 5 requests per second, burst 10) -------------------------------- */

static void test_api_rate_limit_answers_429_with_retry_after(void **state)
{
    struct api *a = *state;
    char v[64];
    int retry_after = 0;
    /* 60 requests at once are far over 5 per second with a burst of 10, whatever the start-up
     * health polls already took from the bucket. */
    for (int i = 0; i < 60 && retry_after == 0; i++) {
        struct http_resp r = sock_json(a->f, "GET", "/v1/version", NULL);
        if (r.code == 429) {
            expect_error(&r, 429, "rate limited");
            expect_security_headers(&r);
            assert_non_null(header_value(&r, "Retry-After", v, sizeof v));
            retry_after = atoi(v);
            assert_true(retry_after >= 1 && retry_after <= 2);
        } else {
            assert_int_equal(r.code, 200);
        }
        http_resp_free(&r);
    }
    assert_true(retry_after > 0);
    /* The limit is per client: TCP is keyed by address, not by the socket's peer uid. */
    struct http_resp t = tcp(a, "GET", "/v1/version", NULL, NULL);
    expect_json(&t, 200, "TCP while the socket's user is limited");
    http_resp_free(&t);
    /* Waiting as told is enough to be served again. */
    usleep((useconds_t)retry_after * 1000000u);
    struct http_resp r = sock_json(a->f, "GET", "/v1/version", NULL);
    expect_json(&r, 200, "after Retry-After");
    http_resp_free(&r);
    stop_child(a->f);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_health_and_version_answer_on_both_transports_without_token),
        cmocka_unit_test(test_api_tcp_data_routes_need_the_token),
        cmocka_unit_test(test_api_tcp_refuses_foreign_host_and_origin),
        cmocka_unit_test(test_api_limits_and_errors_over_the_socket),
        cmocka_unit_test(test_api_observation_routes_success_and_error_paths),
        cmocka_unit_test(test_api_search_and_context_find_what_was_stored),
        cmocka_unit_test(test_api_session_routes),
        cmocka_unit_test(test_api_events_are_queued_then_processed),
        cmocka_unit_test(test_api_secrets_never_come_back),
        cmocka_unit_test(test_api_export_is_an_attachment_and_import_counts),
        cmocka_unit_test(test_api_content_types_and_body_shapes),
        cmocka_unit_test(test_api_import_jsonl_export_json_and_paging),
        cmocka_unit_test(test_api_tcp_token_and_origin_corner_cases),
        cmocka_unit_test(
            test_api_secrets_and_private_blocks_stay_out_of_updates_imports_and_summaries),
        cmocka_unit_test(test_api_hostile_clients_do_not_hurt_the_worker),
        cmocka_unit_test(test_api_concurrent_mixed_writes_get_no_5xx_and_leave_a_sound_store),
        cmocka_unit_test(test_api_stats_maintenance_selfcheck_and_metrics),
        cmocka_unit_test(test_api_sigterm_exits_0_leaving_no_wal),
    };
    const struct CMUnitTest rate[] = {
        cmocka_unit_test(test_api_rate_limit_answers_429_with_retry_after),
    };
    int rc = cmocka_run_group_tests_name("worker_api", tests, group_setup, group_teardown);
    rc += cmocka_run_group_tests_name("worker_api_rate", rate, rate_group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
