/*
 * worker_api.h - the fixture of the worker API process tests (test_worker_api.c: routes;
 * test_worker_api_security.c: the security model, limits and hostile clients): one real
 * `mnemo serve` with TCP on a free loopback port, its token, and request helpers.
 * Header-only (static inline) because CMake builds each test from its one source file.
 * Thread-safety: for the test's main thread.
 */
#ifndef MNEMO_TESTS_WORKER_API_H
#define MNEMO_TESTS_WORKER_API_H

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

static inline int api_start(void **state, const char *rate_env)
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

static inline int group_setup(void **state)
{
    return api_start(state, "MNEMO_HTTP_RATE_LIMIT=100000");
}

static inline int rate_group_setup(void **state)
{
    return api_start(state, "MNEMO_HTTP_RATE_LIMIT=5");
}

static inline int group_teardown(void **state)
{
    struct api *a = *state;
    void *fs = a->f;
    teardown(&fs);
    free(a);
    return 0;
}

/* A request over TCP to path with the given extra headers (NULL-terminated list or NULL). */
static inline struct http_resp tcp(struct api *a, const char *method, const char *path,
                                   const char *const *headers, const char *json_body)
{
    char url[1024];
    snprintf(url, sizeof url, "%s%s", a->base, path);
    struct http_opts o = {.content_type = json_body != NULL ? "application/json" : NULL,
                          .headers = headers,
                          .body = json_body};
    return http(NULL, method, url, &o);
}

static inline void expect_security_headers(const struct http_resp *r)
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
static inline int64_t create_obs(struct fixture *f, const char *json, long want)
{
    struct http_resp r = sock_json(f, "POST", "/v1/observations", json);
    json_t *j = expect_json(&r, want, "POST /v1/observations");
    assert_true(json_is_integer(json_object_get(j, "id")));
    int64_t id = (int64_t)json_integer_value(json_object_get(j, "id"));
    http_resp_free(&r);
    return id;
}

/* Polls GET /v1/events until the event id is done; fails on failed or after the deadline. */
static inline void wait_event_done(struct fixture *f, int64_t id)
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

/* The last test of a group: SIGTERM, exit 0, no -wal left (stop_child checks). */
static inline void test_api_sigterm_exits_0_leaving_no_wal(void **state)
{
    struct fixture *f = ((struct api *)*state)->f;
    stop_child(f);
    expect_clean_stop(f);
}

#endif
