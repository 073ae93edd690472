/*
 * test_service_http.c - the worker's HTTP server, run in-process on a small route table and
 * driven with libcurl over its Unix socket and over TCP (port 0): routing, limits, JSON
 * checks, the TCP security model, the socket's life cycle, rate limiting, readiness, SSE,
 * metrics and the graceful stop.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "service/http.h"
#include "util/strbuf.h"

#define TOKEN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct tctx {
    atomic_int ready;
    atomic_int slow_entered;
    struct mnemo_http *h;
};

static int route_health(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)ctx;
    (void)req;
    return mnemo_http_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static int route_echo(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)ctx;
    json_t *got = req->body != NULL ? json_deep_copy(req->body) : json_null();
    const char *q = mnemo_http_req_query(req, "q");
    return mnemo_http_resp_json(resp, 201, json_pack("{s:o,s:s?}", "got", got, "q", q));
}

static int route_item(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)ctx;
    return mnemo_http_resp_json(
        resp, 200,
        json_pack("{s:s,s:s}", "id", mnemo_http_req_param(req, "id"), "route", req->route));
}

static int route_fail(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return MNEMO_ENOTFOUND;
}

static int route_raw(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)ctx;
    if (req->body != NULL)
        return MNEMO_EINTERNAL; /* a raw route must not see a parsed body */
    return mnemo_http_resp_bytes(resp, 200, "text/plain", req->raw_body, req->raw_len);
}

static int route_slow(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)req;
    struct tctx *t = ctx;
    atomic_store(&t->slow_entered, 1);
    usleep(300 * 1000);
    return mnemo_http_resp_json(resp, 200, json_pack("{s:b}", "slow", 1));
}

static int route_metrics(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    (void)req;
    struct tctx *t = ctx;
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    int rc = mnemo_http_metrics_write(t->h, &sb);
    if (rc == 0)
        rc = mnemo_http_resp_bytes(resp, 200, "text/plain; version=0.0.4", sb.data, sb.len);
    mnemo_strbuf_release(&sb);
    return rc;
}

static const struct mnemo_http_route ROUTES[] = {
    {"GET", "/v1/health", route_health, MNEMO_HTTP_PUBLIC},
    {"POST", "/v1/echo", route_echo, 0},
    {"GET", "/v1/items/{id}", route_item, 0},
    {"DELETE", "/v1/items/{id}", route_item, 0},
    {"GET", "/v1/ready", route_health, MNEMO_HTTP_NEEDS_READY},
    {"POST", "/v1/raw", route_raw, MNEMO_HTTP_RAW_BODY},
    {"GET", "/v1/slow", route_slow, 0},
    {"GET", "/v1/fail", route_fail, 0},
    {"GET", "/v1/stream", NULL, MNEMO_HTTP_SSE},
    {"GET", "/metrics", route_metrics, 0},
};

struct fixture {
    struct tu_dir dir;
    char sock[300];
    struct mnemo_http_config cfg;
    struct tctx ctx;
    struct mnemo_http *h;
    int port;
};

static int ready_fn(void *ctx)
{
    return atomic_load(&((struct tctx *)ctx)->ready);
}

static void fx_config(struct fixture *f)
{
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "mnemo.sock", f->sock, sizeof(f->sock));
    mnemo_http_config_init(&f->cfg);
    f->cfg.socket_path = f->sock;
    f->cfg.tcp_enabled = 1;
    f->cfg.tcp_port = 0;
    f->cfg.token = TOKEN;
    f->cfg.rate_limit = 0;
    f->cfg.max_body = 1024 * 1024;
    f->cfg.ready = ready_fn;
    f->cfg.ctx = &f->ctx;
    f->cfg.sse_keepalive_ms = 50;
    atomic_store(&f->ctx.ready, 1);
}

static void fx_start(struct fixture *f)
{
    struct mnemo_err err = {0};
    int rc = mnemo_http_start(&f->cfg, ROUTES, sizeof(ROUTES) / sizeof(ROUTES[0]), &f->h, &err);
    if (rc != 0)
        fail_msg("start: %s", err.msg);
    f->ctx.h = f->h;
    f->port = mnemo_http_tcp_port(f->h);
    assert_true(f->port > 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    fx_config(f);
    fx_start(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mnemo_http_stop(f->h, 1000);
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* ---- a small libcurl client ---- */

struct reply {
    long status;
    struct mnemo_strbuf body;
    struct mnemo_strbuf hdrs;
};

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    return mnemo_strbuf_append(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* One request. sock non-NULL: over the Unix socket, else TCP on port. extra: NULL-ended
 * header lines. Returns the curl code; the reply is in r (release with reply_free). */
static CURLcode request(const char *sock, int port, const char *method, const char *path,
                        const char *const *extra, const char *body, size_t blen, struct reply *r)
{
    memset(r, 0, sizeof(*r));
    mnemo_strbuf_init(&r->body, 0);
    mnemo_strbuf_init(&r->hdrs, 0);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[512];
    if (sock != NULL) {
        snprintf(url, sizeof(url), "http://localhost%s", path);
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
    } else {
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    struct curl_slist *hl = NULL;
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
        hl = curl_slist_append(hl, extra[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->hdrs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc;
}

static void reply_free(struct reply *r)
{
    mnemo_strbuf_release(&r->body);
    mnemo_strbuf_release(&r->hdrs);
}

static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};
static const char *const BEARER[] = {"Authorization: Bearer " TOKEN, NULL};

static int has(const struct mnemo_strbuf *sb, const char *needle)
{
    return strcasestr(mnemo_strbuf_str(sb), needle) != NULL;
}

/* The error body's code, checked against want, and its message returned (static copy). */
static const char *error_of(const struct reply *r, const char *want_code)
{
    static char msg[512];
    json_error_t e;
    json_t *j = json_loads(mnemo_strbuf_str(&r->body), 0, &e);
    if (j == NULL)
        fail_msg("error body is not JSON: %s", mnemo_strbuf_str(&r->body));
    const char *code = NULL, *m = NULL;
    assert_int_equal(json_unpack(j, "{s:{s:s,s:s}}", "error", "code", &code, "message", &m), 0);
    assert_string_equal(code, want_code);
    snprintf(msg, sizeof(msg), "%s", m);
    json_decref(j);
    return msg;
}

/* ---- routing and the success path ---- */

static void test_http_socket_serves_routes_with_params_query_and_body(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    assert_int_equal(request(f->sock, 0, "GET", "/v1/items/42", NULL, NULL, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(has(&r.body, "\"id\":\"42\""));
    assert_true(has(&r.body, "\"route\":\"/v1/items/{id}\""));
    reply_free(&r);
    /* The path is decoded before matching. */
    assert_int_equal(request(f->sock, 0, "GET", "/v1/items/a%20b", NULL, NULL, 0, &r), CURLE_OK);
    assert_true(has(&r.body, "\"id\":\"a b\""));
    assert_true(has(&r.hdrs, "Content-Type: application/json"));
    reply_free(&r);

    const char *b = "{\"a\":[1,2,{\"b\":\"x\"}]}";
    assert_int_equal(
        request(f->sock, 0, "POST", "/v1/echo?q=hello%20there", JSON_CT, b, strlen(b), &r),
        CURLE_OK);
    assert_int_equal(r.status, 201);
    assert_string_equal(mnemo_strbuf_str(&r.body),
                        "{\"got\":{\"a\":[1,2,{\"b\":\"x\"}]},\"q\":\"hello there\"}");
    reply_free(&r);
}

static void test_http_every_response_carries_security_headers(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    const char *paths[] = {"/v1/health", "/nope"};
    for (size_t i = 0; i < 2; i++) {
        request(f->sock, 0, "GET", paths[i], NULL, NULL, 0, &r);
        assert_true(has(&r.hdrs, "X-Content-Type-Options: nosniff"));
        assert_true(has(&r.hdrs, "X-Frame-Options: DENY"));
        assert_true(has(&r.hdrs, "Referrer-Policy: no-referrer"));
        assert_true(has(&r.hdrs, "Cache-Control: no-store"));
        assert_true(has(&r.hdrs, "Content-Security-Policy: default-src 'self'"));
        assert_false(has(&r.hdrs, "Access-Control-Allow-Origin"));
        reply_free(&r);
    }
}

static void test_http_unknown_path_is_404_json(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(f->sock, 0, "GET", "/v1/items", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    error_of(&r, "MNEMO_ENOTFOUND");
    reply_free(&r);
}

static void test_http_wrong_method_is_405_with_allow(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(f->sock, 0, "PUT", "/v1/items/7", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 405);
    assert_true(has(&r.hdrs, "Allow: GET, DELETE"));
    error_of(&r, "MNEMO_EINVAL");
    reply_free(&r);
}

static void test_http_handler_error_code_becomes_json_error(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(f->sock, 0, "GET", "/v1/fail", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(error_of(&r, "MNEMO_ENOTFOUND"), "not found");
    reply_free(&r);
}

/* ---- body limits and JSON checks ---- */

static void test_http_oversized_body_is_413_before_it_is_read(void **state)
{
    struct fixture *f = *state;
    size_t n = 4 * 1024 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, big, n, &r);
    assert_int_equal(r.status, 413);
    error_of(&r, "MNEMO_ETOOBIG");
    reply_free(&r);
    free(big);
}

static void test_http_oversized_chunked_body_is_cut_off(void **state)
{
    struct fixture *f = *state;
    size_t n = 4 * 1024 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    const char *const chunked[] = {"Content-Type: application/json", "Transfer-Encoding: chunked",
                                   NULL};
    struct reply r;
    /* Without a length to refuse up front, the server cuts the connection at the limit. */
    CURLcode rc = request(f->sock, 0, "POST", "/v1/echo", chunked, big, n, &r);
    assert_int_not_equal(rc, CURLE_OK);
    assert_int_not_equal(r.status, 201);
    reply_free(&r);
    free(big);
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_http_metrics_write(f->h, &sb), 0);
    assert_non_null(
        strstr(mnemo_strbuf_str(&sb), "mnemo_http_rejected_total{reason=\"too_big\"} 1\n"));
    mnemo_strbuf_release(&sb);
    /* A chunked body under the limit is read and parsed as usual. */
    request(f->sock, 0, "POST", "/v1/echo", chunked, "{\"x\":1}", 7, &r);
    assert_int_equal(r.status, 201);
    reply_free(&r);
}

static void test_http_body_without_json_content_type_is_415(void **state)
{
    struct fixture *f = *state;
    const char *const plain[] = {"Content-Type: text/plain", NULL};
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", plain, "{}", 2, &r);
    assert_int_equal(r.status, 415);
    error_of(&r, "MNEMO_EINVAL");
    reply_free(&r);
    /* A raw-body route takes any type and gets the bytes unparsed. */
    request(f->sock, 0, "POST", "/v1/raw", plain, "not json", 8, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(mnemo_strbuf_str(&r.body), "not json");
    reply_free(&r);
}

static void test_http_malformed_json_is_400_with_position(void **state)
{
    struct fixture *f = *state;
    const char *b = "{\"a\":\n  1,,}";
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, b, strlen(b), &r);
    assert_int_equal(r.status, 400);
    const char *m = error_of(&r, "MNEMO_EINVAL");
    assert_non_null(strstr(m, "malformed JSON"));
    assert_non_null(strstr(m, "line 2"));
    assert_non_null(strstr(m, "column"));
    assert_non_null(strstr(m, "position"));
    reply_free(&r);
}

static void test_http_deeply_nested_json_is_400(void **state)
{
    struct fixture *f = *state;
    size_t n = 100000;
    char *deep = malloc(n);
    assert_non_null(deep);
    memset(deep, '[', n);
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, deep, n, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(error_of(&r, "MNEMO_EINVAL"), "nested deeper than 64"));
    reply_free(&r);
    /* Brackets inside strings are data, not nesting. */
    memset(deep, 'x', n);
    memcpy(deep, "{\"s\":\"", 6);
    memset(deep + 6, '[', 1000);
    memcpy(deep + 1006, "\"}", 3);
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, deep, strlen(deep), &r);
    assert_int_equal(r.status, 201);
    reply_free(&r);
    free(deep);
}

static void test_http_invalid_utf8_json_is_400(void **state)
{
    struct fixture *f = *state;
    const char b[] = "{\"a\":\"caf\xc3\x28\"}";
    struct reply r;
    request(f->sock, 0, "POST", "/v1/echo", JSON_CT, b, sizeof(b) - 1, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(error_of(&r, "MNEMO_EINVAL"), "not valid UTF-8"));
    reply_free(&r);
}

/* ---- the TCP security model ---- */

static void test_http_tcp_foreign_host_is_403(void **state)
{
    struct fixture *f = *state;
    char host[64];
    snprintf(host, sizeof(host), "Host: evil.com:%d", f->port);
    const char *const h1[] = {host, "Authorization: Bearer " TOKEN, NULL};
    struct reply r;
    request(NULL, f->port, "GET", "/v1/health", h1, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(error_of(&r, "MNEMO_EACCES"), "Host"));
    reply_free(&r);
    /* The right name with another port is just as foreign. */
    snprintf(host, sizeof(host), "Host: localhost:%d", f->port + 1);
    request(NULL, f->port, "GET", "/v1/health", h1, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    reply_free(&r);
    snprintf(host, sizeof(host), "Host: localhost:%d", f->port);
    request(NULL, f->port, "GET", "/v1/health", h1, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_http_tcp_foreign_origin_is_403(void **state)
{
    struct fixture *f = *state;
    char own[80];
    snprintf(own, sizeof(own), "Origin: http://127.0.0.1:%d", f->port);
    const char *const bad[] = {"Origin: http://evil.com", "Authorization: Bearer " TOKEN, NULL};
    const char *const good[] = {own, "Authorization: Bearer " TOKEN, NULL};
    struct reply r;
    request(NULL, f->port, "GET", "/v1/items/1", bad, NULL, 0, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(error_of(&r, "MNEMO_EACCES"), "Origin"));
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", good, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_http_tcp_token_required_bearer_or_cookie(void **state)
{
    struct fixture *f = *state;
    const char *const wrong[] = {"Authorization: Bearer " TOKEN "0", NULL};
    const char *const cookie[] = {"Cookie: theme=dark; mnemo_token=" TOKEN, NULL};
    struct reply r;
    request(NULL, f->port, "GET", "/v1/items/1", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    error_of(&r, "MNEMO_EACCES");
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", wrong, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", BEARER, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", cookie, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    /* Public routes need no token; the Unix socket never does. */
    request(NULL, f->port, "GET", "/v1/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    request(f->sock, 0, "GET", "/v1/items/1", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_http_token_in_query_sets_cookie_and_redirects(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(NULL, f->port, "GET", "/?token=" TOKEN, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 303);
    assert_true(has(&r.hdrs, "Location: /\r\n"));
    assert_true(has(&r.hdrs, "Set-Cookie: mnemo_token=" TOKEN));
    assert_true(has(&r.hdrs, "HttpOnly"));
    assert_true(has(&r.hdrs, "SameSite=Strict"));
    assert_true(has(&r.hdrs, "Path=/"));
    reply_free(&r);
    request(NULL, f->port, "GET", "/?token=nope", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 401);
    assert_false(has(&r.hdrs, "Set-Cookie"));
    reply_free(&r);
}

static void test_http_non_loopback_tcp_without_token_is_refused(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    f.cfg.socket_path = NULL;
    f.cfg.tcp_host = "0.0.0.0";
    f.cfg.token = NULL;
    struct mnemo_err err = {0};
    struct mnemo_http *h = NULL;
    assert_int_equal(mnemo_http_start(&f.cfg, ROUTES, 1, &h, &err), MNEMO_EINVAL);
    assert_null(h);
    assert_non_null(strstr(err.msg, "0.0.0.0"));
    tu_dir_remove(&f.dir);
}

static void test_http_tcp_port_in_use_is_eexist(void **state)
{
    struct fixture *f = *state;
    struct fixture g = {0};
    fx_config(&g);
    g.cfg.socket_path = NULL;
    g.cfg.tcp_port = f->port;
    struct mnemo_err err = {0};
    struct mnemo_http *h = NULL;
    assert_int_equal(mnemo_http_start(&g.cfg, ROUTES, 1, &h, &err), MNEMO_EEXIST);
    assert_null(h);
    char port[16];
    snprintf(port, sizeof(port), "%d", f->port);
    assert_non_null(strstr(err.msg, port));
    tu_dir_remove(&g.dir);
}

/* ---- the Unix socket's life cycle ---- */

static void test_http_socket_is_private_and_single(void **state)
{
    struct fixture *f = *state;
    struct stat st;
    assert_int_equal(lstat(f->sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    struct mnemo_http_config cfg = f->cfg;
    cfg.tcp_enabled = 0;
    struct mnemo_err err = {0};
    struct mnemo_http *h = NULL;
    assert_int_equal(mnemo_http_start(&cfg, ROUTES, 1, &h, &err), MNEMO_EEXIST);
    assert_null(h);
    /* The failed start left the live server's socket alone. */
    struct reply r;
    request(f->sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_http_stale_socket_is_replaced_and_removed_at_stop(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    f.cfg.tcp_enabled = 0;
    /* A socket file nobody listens on, as a killed server leaves behind. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(f.sock) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, f.sock, strlen(f.sock) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_http_start(&f.cfg, ROUTES, 1, &f.h, &err), 0);
    struct reply r;
    request(f.sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    mnemo_http_stop(f.h, 1000);
    struct stat st;
    assert_int_equal(lstat(f.sock, &st), -1);

    /* A regular file at the path is not a socket to replace. */
    tu_file_write(f.sock, "keep", 4);
    assert_int_equal(mnemo_http_start(&f.cfg, ROUTES, 1, &f.h, &err), MNEMO_EEXIST);
    assert_int_equal(tu_file_size(f.sock), 4);
    tu_dir_remove(&f.dir);
}

/* ---- rate limit and readiness ---- */

static void test_http_rate_limit_answers_429_with_retry_after(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    f.cfg.rate_limit = 5; /* burst of 10 */
    fx_start(&f);
    int ok = 0, limited = 0;
    struct reply r;
    for (int i = 0; i < 40 && limited == 0; i++) {
        request(f.sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
        if (r.status == 200) {
            ok++;
        } else {
            assert_int_equal(r.status, 429);
            assert_true(has(&r.hdrs, "Retry-After: "));
            error_of(&r, "MNEMO_EBUSY");
            limited++;
        }
        reply_free(&r);
    }
    assert_int_equal(limited, 1);
    assert_true(ok >= 10);
    mnemo_http_stop(f.h, 1000);
    tu_dir_remove(&f.dir);
}

static void test_http_needs_ready_route_is_503_until_ready(void **state)
{
    struct fixture *f = *state;
    atomic_store(&f->ctx.ready, 0);
    struct reply r;
    request(f->sock, 0, "GET", "/v1/ready", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(error_of(&r, "MNEMO_EBUSY"), "starting");
    reply_free(&r);
    /* Routes without the flag answer meanwhile. */
    request(f->sock, 0, "GET", "/v1/health", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    atomic_store(&f->ctx.ready, 1);
    request(f->sock, 0, "GET", "/v1/ready", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

/* ---- SSE ---- */

struct sse_reader {
    const char *sock;
    pthread_t thread;
    pthread_mutex_t mu;
    struct mnemo_strbuf got;
    atomic_int quit;        /* abort at the next chunk */
    atomic_int quit_on_any; /* abort as soon as anything arrives (a client that leaves) */
    CURLcode rc;
};

static size_t sse_sink(char *p, size_t sz, size_t n, void *ud)
{
    struct sse_reader *s = ud;
    if (atomic_load(&s->quit) || atomic_load(&s->quit_on_any))
        return 0;
    pthread_mutex_lock(&s->mu);
    int rc = mnemo_strbuf_append(&s->got, p, sz * n);
    pthread_mutex_unlock(&s->mu);
    return rc == 0 ? sz * n : 0;
}

static void *sse_main(void *arg)
{
    struct sse_reader *s = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, s->sock);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/stream");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    s->rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    return NULL;
}

static void sse_open(struct sse_reader *s, const char *sock)
{
    memset(s, 0, sizeof(*s));
    s->sock = sock;
    pthread_mutex_init(&s->mu, NULL);
    mnemo_strbuf_init(&s->got, 0);
    assert_int_equal(pthread_create(&s->thread, NULL, sse_main, s), 0);
}

static int sse_has(struct sse_reader *s, const char *needle)
{
    pthread_mutex_lock(&s->mu);
    int yes = strstr(mnemo_strbuf_str(&s->got), needle) != NULL;
    pthread_mutex_unlock(&s->mu);
    return yes;
}

static void sse_close(struct sse_reader *s)
{
    atomic_store(&s->quit, 1);
    pthread_join(s->thread, NULL);
    mnemo_strbuf_release(&s->got);
    pthread_mutex_destroy(&s->mu);
}

/* Waits up to 10 s for cond(h, arg). */
static int wait_for_clients(struct mnemo_http *h, int n)
{
    int64_t end = tu_now_ms() + 10000;
    while (tu_now_ms() < end) {
        if (mnemo_http_sse_clients(h) == n)
            return 1;
        usleep(5000);
    }
    return 0;
}

static void test_http_sse_client_receives_published_event(void **state)
{
    struct fixture *f = *state;
    struct sse_reader s;
    sse_open(&s, f->sock);
    assert_true(wait_for_clients(f->h, 1));
    json_t *data = json_pack("{s:i,s:s}", "id", 7, "title", "line\nbreak");
    assert_int_equal(mnemo_http_publish(f->h, "observation.created", data), 0);
    json_decref(data);
    int64_t end = tu_now_ms() + 10000;
    const char *want =
        "event: observation.created\ndata: {\"id\":7,\"title\":\"line\\nbreak\"}\n\n";
    while (!sse_has(&s, want) && tu_now_ms() < end)
        usleep(5000);
    assert_true(sse_has(&s, want));
    /* Idle streams carry keepalive comments (50 ms in this fixture). */
    end = tu_now_ms() + 10000;
    while (!sse_has(&s, ": keepalive\n\n") && tu_now_ms() < end)
        usleep(5000);
    assert_true(sse_has(&s, ": keepalive\n\n"));
    /* An event name with a line break would forge fields: refused. */
    assert_int_equal(mnemo_http_publish(f->h, "a\nevent: b", json_null()), MNEMO_EINVAL);
    sse_close(&s);
    assert_true(wait_for_clients(f->h, 0));
}

static void test_http_sse_departed_client_does_not_break_others(void **state)
{
    struct fixture *f = *state;
    struct sse_reader stay, leave;
    sse_open(&stay, f->sock);
    sse_open(&leave, f->sock);
    assert_true(wait_for_clients(f->h, 2));
    atomic_store(&leave.quit_on_any, 1);
    json_t *data = json_pack("{s:i}", "n", 1);
    char want[64];
    for (int i = 0; i < 50; i++) {
        json_object_set_new(data, "n", json_integer(i));
        assert_int_equal(mnemo_http_publish(f->h, "queue.status", data), 0);
    }
    /* The departed client is noticed (its next write fails) and unregistered. */
    assert_true(wait_for_clients(f->h, 1));
    pthread_join(leave.thread, NULL);
    for (int i = 50; i < 60; i++) {
        json_object_set_new(data, "n", json_integer(i));
        assert_int_equal(mnemo_http_publish(f->h, "queue.status", data), 0);
    }
    json_decref(data);
    snprintf(want, sizeof(want), "data: {\"n\":59}\n\n");
    int64_t end = tu_now_ms() + 10000;
    while (!sse_has(&stay, want) && tu_now_ms() < end)
        usleep(5000);
    assert_true(sse_has(&stay, want));
    assert_true(sse_has(&stay, "data: {\"n\":0}\n\n"));
    mnemo_strbuf_release(&leave.got);
    pthread_mutex_destroy(&leave.mu);
    sse_close(&stay);
}

static void test_http_sse_stalled_reader_is_dropped_without_blocking_publish(void **state)
{
    struct fixture *f = *state;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, f->sock, strlen(f->sock) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    const char *get = "GET /v1/stream HTTP/1.1\r\nHost: localhost\r\n\r\n";
    assert_int_equal(write(fd, get, strlen(get)), (ssize_t)strlen(get));
    assert_true(wait_for_clients(f->h, 1));

    char *pad = malloc(16001);
    assert_non_null(pad);
    memset(pad, 'p', 16000);
    pad[16000] = '\0';
    json_t *data = json_pack("{s:s}", "pad", pad);
    free(pad);
    /* Far more than the socket buffers and the client's queue hold: the reader never reads,
     * yet every publish returns at once and the reader is dropped. */
    int64_t t0 = tu_now_ms();
    for (int i = 0; i < 2 * MNEMO_HTTP_SSE_QUEUE; i++)
        assert_int_equal(mnemo_http_publish(f->h, "queue.status", data), 0);
    assert_true(tu_now_ms() - t0 < 5000);
    json_decref(data);
    assert_int_equal(mnemo_http_sse_clients(f->h), 0);

    /* Once the reader reads again, it gets what was queued and then the end of the stream. */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t total = 0;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    assert_int_equal(n, 0); /* the server ended the stream (not our 10 s timeout) */
    close(fd);
    assert_true(total < (size_t)2 * MNEMO_HTTP_SSE_QUEUE * 16000);
}

/* ---- metrics and stop ---- */

static void test_http_metrics_count_requests_and_rejections(void **state)
{
    struct fixture *f = *state;
    struct reply r;
    request(f->sock, 0, "GET", "/v1/items/1", NULL, NULL, 0, &r);
    reply_free(&r);
    request(NULL, f->port, "GET", "/v1/items/1", NULL, NULL, 0, &r);
    reply_free(&r);
    request(f->sock, 0, "GET", "/metrics", NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_true(has(&r.hdrs, "Content-Type: text/plain"));
    const char *m = mnemo_strbuf_str(&r.body);
    assert_non_null(strstr(
        m, "mnemo_http_requests_total{route=\"/v1/items/{id}\",method=\"GET\",code=\"200\"} 1\n"));
    assert_non_null(strstr(m, "mnemo_http_request_duration_seconds_bucket{route=\"/v1/items/{id}\","
                              "method=\"GET\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(m, "mnemo_http_rejected_total{reason=\"auth\"} 1\n"));
    assert_non_null(strstr(m, "mnemo_http_sse_clients 0\n"));
    reply_free(&r);
}

struct slow_call {
    const char *sock;
    struct reply r;
};

static void *slow_main(void *arg)
{
    struct slow_call *s = arg;
    request(s->sock, 0, "GET", "/v1/slow", NULL, NULL, 0, &s->r);
    return NULL;
}

static void test_http_stop_lets_in_flight_request_finish(void **state)
{
    (void)state;
    struct fixture f = {0};
    fx_config(&f);
    fx_start(&f);
    struct slow_call s = {.sock = f.sock};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_main, &s), 0);
    int64_t end = tu_now_ms() + 10000;
    while (!atomic_load(&f.ctx.slow_entered) && tu_now_ms() < end)
        usleep(2000);
    assert_true(atomic_load(&f.ctx.slow_entered));
    struct sse_reader sse;
    sse_open(&sse, f.sock);
    assert_true(wait_for_clients(f.h, 1));
    mnemo_http_stop(f.h, 10000);
    pthread_join(t, NULL);
    assert_int_equal(s.r.status, 200);
    assert_true(has(&s.r.body, "\"slow\":true"));
    reply_free(&s.r);
    /* The stream ended with the server, so its reader returns by itself. */
    pthread_join(sse.thread, NULL);
    mnemo_strbuf_release(&sse.got);
    pthread_mutex_destroy(&sse.mu);
    struct stat st;
    assert_int_equal(lstat(f.sock, &st), -1);
    tu_dir_remove(&f.dir);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_socket_serves_routes_with_params_query_and_body,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_every_response_carries_security_headers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_unknown_path_is_404_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_wrong_method_is_405_with_allow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_handler_error_code_becomes_json_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_oversized_body_is_413_before_it_is_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_oversized_chunked_body_is_cut_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_body_without_json_content_type_is_415, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_malformed_json_is_400_with_position, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_deeply_nested_json_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_invalid_utf8_json_is_400, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_tcp_foreign_host_is_403, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_tcp_foreign_origin_is_403, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_tcp_token_required_bearer_or_cookie, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_token_in_query_sets_cookie_and_redirects, setup,
                                        teardown),
        cmocka_unit_test(test_http_non_loopback_tcp_without_token_is_refused),
        cmocka_unit_test_setup_teardown(test_http_tcp_port_in_use_is_eexist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_socket_is_private_and_single, setup, teardown),
        cmocka_unit_test(test_http_stale_socket_is_replaced_and_removed_at_stop),
        cmocka_unit_test(test_http_rate_limit_answers_429_with_retry_after),
        cmocka_unit_test_setup_teardown(test_http_needs_ready_route_is_503_until_ready, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_sse_client_receives_published_event, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_http_sse_departed_client_does_not_break_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_http_sse_stalled_reader_is_dropped_without_blocking_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_metrics_count_requests_and_rejections, setup,
                                        teardown),
        cmocka_unit_test(test_http_stop_lets_in_flight_request_finish),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
