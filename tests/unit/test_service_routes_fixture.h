/*
 * test_service_routes_fixture.h - a hand-built worker (store, privacy, hash embedder, vector
 * index, default config, status ready, no HTTP server) and a way to call one route handler
 * with a hand-made request, shared by the tests/unit/test_service_routes*.c programs.
 * Header-only (static functions) so each test program stays one file for CMake's glob.
 * Thread-safety: used from the test's main thread.
 */
#ifndef MNEMO_TEST_SERVICE_ROUTES_FIXTURE_H
#define MNEMO_TEST_SERVICE_ROUTES_FIXTURE_H

#include "memutil.h"
#include "testutil.h"

#include <string.h>

#include "embed/embed.h"
#include "memory/privacy.h"
#include "search/vindex.h"
#include "service/http.h"
#include "service/routes.h"
#include "service/routes_int.h"
#include "service/worker.h"
#include "util/clock.h"
#include "util/config.h"

struct rt_fixture {
    struct tu_dir dir;
    struct mnemo_worker w;
    struct mnemo_http_resp resp; /* the last answer */
    int status;                  /* its HTTP status (0 -> 200) */
};

static inline void rt_resp_release(struct mnemo_http_resp *r)
{
    json_decref(r->json);
    free(r->bytes);
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->header_values[i]);
    memset(r, 0, sizeof *r);
}

static inline int rt_setup(void **state)
{
    struct rt_fixture *f = calloc(1, sizeof *f);
    struct mnemo_err e = {0};
    struct mnemo_embed_config ec;
    char db[512];

    assert_non_null(f);
    tu_dir_make(&f->dir);
    snprintf(f->w.home, sizeof f->w.home, "%s", f->dir.path);
    snprintf(f->w.db_path, sizeof f->w.db_path, "%s", tu_path(&f->dir, "mnemo.db", db, sizeof db));
    f->w.st = mu_open(f->w.db_path);
    if (mnemo_privacy_new(&f->w.priv, &e) != 0)
        fail_msg("privacy: %s", e.msg);
    mnemo_embed_config_init(&ec);
    if (mnemo_embed_open(&ec, &f->w.emb, &e) != 0)
        fail_msg("embed: %s", e.msg);
    if (mnemo_vindex_open(mnemo_embed_dim(f->w.emb), MNEMO_VINDEX_FLOAT, &f->w.vx, &e) != 0)
        fail_msg("vindex: %s", e.msg);
    if (mnemo_config_defaults(&f->w.cfg, &e) != 0)
        fail_msg("config: %s", e.msg);
    assert_int_equal(pthread_mutex_init(&f->w.cfg_lock, NULL), 0);
    assert_int_equal(pthread_cond_init(&f->w.cfg_idle, NULL), 0);
    f->w.started_ms = mnemo_clock_wall_ms();
    f->w.started_mono_ns = mnemo_clock_mono_ns();
    atomic_store(&f->w.index_ready, 1); /* the index is empty and complete */
    if (mnemo_routes_retrieval_new(&f->w.retrieval) != 0)
        fail_msg("retrieval counters");
    atomic_store(&f->w.status, MNEMO_WORKER_READY);
    *state = f;
    return 0;
}

static inline int rt_teardown(void **state)
{
    struct rt_fixture *f = *state;
    rt_resp_release(&f->resp);
    mnemo_routes_retrieval_free(f->w.retrieval);
    mnemo_vindex_close(f->w.vx);
    mnemo_embed_close(f->w.emb);
    mnemo_privacy_free(f->w.priv);
    mnemo_config_free(f->w.cfg);
    pthread_mutex_destroy(&f->w.cfg_lock);
    pthread_cond_destroy(&f->w.cfg_idle);
    if (f->w.st != NULL)
        assert_int_equal(mnemo_store_close(f->w.st), 0);
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

/*
 * Calls handler h as the server would: path may carry "?query", id (may be NULL) is the {id}
 * parameter, body (may be NULL) the request body text, parsed when it is JSON. A negative
 * return becomes the error answer the server would send. Returns the HTTP status.
 */
static inline int rt_call(struct rt_fixture *f, mnemo_http_handler h, const char *path,
                          const char *id, const char *body)
{
    struct mnemo_http_req req;
    json_t *parsed = NULL;

    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = path;
    req.transport = MNEMO_HTTP_UNIX;
    if (id != NULL) {
        req.n_params = 1;
        req.param_names[0] = "id";
        req.param_values[0] = id;
    }
    if (body != NULL) {
        parsed = json_loads(body, JSON_DECODE_ANY, NULL);
        req.body = parsed;
        req.raw_body = body;
        req.raw_len = strlen(body);
    }
    rt_resp_release(&f->resp);
    int rc = h(&f->w, &req, &f->resp);
    if (rc != 0) {
        assert_null(f->resp.json);
        mnemo_http_resp_error(&f->resp, 0, rc, NULL);
    }
    json_decref(parsed);
    f->status = f->resp.status == 0 ? 200 : f->resp.status;
    return f->status;
}

/* The last answer's JSON member key (borrowed), failing the test when there is none. */
static inline json_t *rt_get(struct rt_fixture *f, const char *key)
{
    assert_non_null(f->resp.json);
    json_t *v = json_object_get(f->resp.json, key);
    if (v == NULL) {
        char *s = json_dumps(f->resp.json, 0);
        fail_msg("no '%s' in %s", key, s != NULL ? s : "?");
    }
    return v;
}

/* The last answer's error message ("" when it is not an error). */
static inline const char *rt_error(struct rt_fixture *f)
{
    json_t *e = f->resp.json != NULL ? json_object_get(f->resp.json, "error") : NULL;
    const char *m = json_string_value(json_object_get(e, "message"));
    return m != NULL ? m : "";
}

/* Asserts the last answer is status with a message containing part. */
static inline void rt_assert_error(struct rt_fixture *f, int status, const char *part)
{
    if (f->status != status || strstr(rt_error(f), part) == NULL)
        fail_msg("expected %d with '%s', got %d '%s'", status, part, f->status, rt_error(f));
}

/* Creates an observation from body text and returns its id (fails the test otherwise). */
static inline int64_t rt_create(struct rt_fixture *f, const char *body)
{
    int st = rt_call(f, route_obs_create, "/v1/observations", NULL, body);
    if (st != 201)
        fail_msg("create answered %d: %s", st, rt_error(f));
    return (int64_t)json_integer_value(rt_get(f, "id"));
}

#endif
