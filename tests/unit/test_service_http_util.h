/*
 * test_service_http_util.h - what the HTTP server's two test programs share (a test route
 * table, a fixture that starts the server on a Unix socket and TCP port 0, a small libcurl
 * client). Included once per test program, after testutil.h; everything is static inline so
 * that a program using only part of it builds warning-free.
 */
#ifndef MNEMO_TEST_SERVICE_HTTP_UTIL_H
#define MNEMO_TEST_SERVICE_HTTP_UTIL_H

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

static inline int route_health(void *ctx, const struct mnemo_http_req *req,
                               struct mnemo_http_resp *resp)
{
    (void)ctx;
    (void)req;
    return mnemo_http_resp_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

static inline int route_echo(void *ctx, const struct mnemo_http_req *req,
                             struct mnemo_http_resp *resp)
{
    (void)ctx;
    json_t *got = req->body != NULL ? json_deep_copy(req->body) : json_null();
    const char *q = mnemo_http_req_query(req, "q");
    return mnemo_http_resp_json(resp, 201, json_pack("{s:o,s:s?}", "got", got, "q", q));
}

static inline int route_item(void *ctx, const struct mnemo_http_req *req,
                             struct mnemo_http_resp *resp)
{
    (void)ctx;
    return mnemo_http_resp_json(
        resp, 200,
        json_pack("{s:s,s:s}", "id", mnemo_http_req_param(req, "id"), "route", req->route));
}

static inline int route_fail(void *ctx, const struct mnemo_http_req *req,
                             struct mnemo_http_resp *resp)
{
    (void)ctx;
    (void)req;
    (void)resp;
    return MNEMO_ENOTFOUND;
}

static inline int route_raw(void *ctx, const struct mnemo_http_req *req,
                            struct mnemo_http_resp *resp)
{
    (void)ctx;
    if (req->body != NULL)
        return MNEMO_EINTERNAL; /* a raw route must not see a parsed body */
    return mnemo_http_resp_bytes(resp, 200, "text/plain", req->raw_body, req->raw_len);
}

static inline int route_slow(void *ctx, const struct mnemo_http_req *req,
                             struct mnemo_http_resp *resp)
{
    (void)req;
    struct tctx *t = ctx;
    atomic_store(&t->slow_entered, 1);
    usleep(300 * 1000);
    return mnemo_http_resp_json(resp, 200, json_pack("{s:b}", "slow", 1));
}

static inline int route_metrics(void *ctx, const struct mnemo_http_req *req,
                                struct mnemo_http_resp *resp)
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

static inline int ready_fn(void *ctx)
{
    return atomic_load(&((struct tctx *)ctx)->ready);
}

static inline void fx_config(struct fixture *f)
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

static inline void fx_start(struct fixture *f)
{
    struct mnemo_err err = {0};
    int rc = mnemo_http_start(&f->cfg, ROUTES, sizeof(ROUTES) / sizeof(ROUTES[0]), &f->h, &err);
    if (rc != 0)
        fail_msg("start: %s", err.msg);
    f->ctx.h = f->h;
    f->port = mnemo_http_tcp_port(f->h);
    assert_true(f->port > 0);
}

static inline int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    fx_config(f);
    fx_start(f);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
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

static inline size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    return mnemo_strbuf_append(ud, p, sz * n) == 0 ? sz * n : 0;
}

/* One request. sock non-NULL: over the Unix socket, else TCP on port. extra: NULL-ended
 * header lines. Returns the curl code; the reply is in r (release with reply_free). */
static inline CURLcode request(const char *sock, int port, const char *method, const char *path,
                               const char *const *extra, const char *body, size_t blen,
                               struct reply *r)
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

static inline void reply_free(struct reply *r)
{
    mnemo_strbuf_release(&r->body);
    mnemo_strbuf_release(&r->hdrs);
}

static const char *const JSON_CT[]
    __attribute__((unused)) = {"Content-Type: application/json", NULL};
static const char *const BEARER[] __attribute__((unused)) = {"Authorization: Bearer " TOKEN, NULL};

static inline int has(const struct mnemo_strbuf *sb, const char *needle)
{
    return strcasestr(mnemo_strbuf_str(sb), needle) != NULL;
}

/* The error body's code, checked against want, and its message returned (static copy). */
static inline const char *error_of(const struct reply *r, const char *want_code)
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

#endif
