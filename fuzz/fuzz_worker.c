/*
 * fuzz_worker.c - see fuzz_worker.h.
 */
#include "fuzz_worker.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "embed/embed.h"
#include "memory/privacy.h"
#include "memory/schema.h"
#include "search/vindex.h"
#include "service/routes.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/config.h"

static struct mnemo_worker *g_w;
static char g_dir[64];
static unsigned g_calls;

static void die(const char *what, const struct mnemo_err *e)
{
    fprintf(stderr, "fuzz_worker: %s: %s\n", what, e != NULL ? e->msg : "");
    abort();
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void worker_free(void)
{
    struct mnemo_worker *w = g_w;
    if (w == NULL)
        return;
    g_w = NULL;
    mnemo_routes_retrieval_free(w->retrieval);
    mnemo_vindex_close(w->vx);
    mnemo_embed_close(w->emb);
    mnemo_privacy_free(w->priv);
    mnemo_config_free(w->cfg);
    pthread_mutex_destroy(&w->cfg_lock);
    pthread_cond_destroy(&w->cfg_idle);
    mnemo_store_close(w->st);
    free(w);
    nftw(g_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

struct mnemo_worker *fuzz_worker(void)
{
    struct mnemo_err e = {0};
    struct mnemo_embed_config ec;
    struct mnemo_store_config sc;

    if (g_w != NULL)
        return g_w;
    struct mnemo_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        die("calloc", NULL);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/mnemo-fuzz-XXXXXX",
             tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL)
        die("mkdtemp", NULL);
    snprintf(w->home, sizeof w->home, "%s", g_dir);
    snprintf(w->db_path, sizeof w->db_path, "%s/mnemo.db", g_dir);
    /* No socket: a route that would reach one fails like a worker that is gone. */
    snprintf(w->socket_path, sizeof w->socket_path, "%s/mnemo.sock", g_dir);
    mnemo_memory_store_config(&sc, w->db_path, MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER);
    if (mnemo_store_open(&sc, &w->st, &e) != 0)
        die("store", &e);
    if (mnemo_privacy_new(&w->priv, &e) != 0)
        die("privacy", &e);
    mnemo_embed_config_init(&ec);
    if (mnemo_embed_open(&ec, &w->emb, &e) != 0)
        die("embed", &e);
    if (mnemo_vindex_open(mnemo_embed_dim(w->emb), MNEMO_VINDEX_FLOAT, &w->vx, &e) != 0)
        die("vindex", &e);
    if (mnemo_config_defaults(&w->cfg, &e) != 0)
        die("config", &e);
    if (pthread_mutex_init(&w->cfg_lock, NULL) != 0 || pthread_cond_init(&w->cfg_idle, NULL) != 0)
        die("mutex", NULL);
    w->started_ms = mnemo_clock_wall_ms();
    w->started_mono_ns = mnemo_clock_mono_ns();
    atomic_store(&w->index_ready, 1);
    if (mnemo_routes_retrieval_new(&w->retrieval) != 0)
        die("retrieval counters", NULL);
    atomic_store(&w->status, MNEMO_WORKER_READY);
    g_w = w;
    atexit(worker_free);
    return w;
}

static void resp_release(struct mnemo_http_resp *r)
{
    json_decref(r->json);
    free(r->bytes);
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->header_values[i]);
    memset(r, 0, sizeof *r);
}

/* Every error the API sends is {"error":{"code":"MNEMO_...","message":"..."}}. */
static void check_answer(const char *path, const struct mnemo_http_resp *r, int status)
{
    if (status < 100 || status > 599) {
        fprintf(stderr, "%s answered status %d\n", path, status);
        abort();
    }
    if (status >= 400) {
        const json_t *e = json_object_get(r->json, "error");
        if (!json_is_string(json_object_get(e, "code")) ||
            !json_is_string(json_object_get(e, "message"))) {
            fprintf(stderr, "%s answered %d without an error object\n", path, status);
            abort();
        }
    } else if (status != 204 && r->json == NULL && r->bytes == NULL) {
        fprintf(stderr, "%s answered %d without a body\n", path, status);
        abort();
    }
}

int fuzz_worker_call(mnemo_http_handler h, const char *method, const char *path,
                     const char *param_name, const char *param_value, int parse, const char *data,
                     size_t size)
{
    struct mnemo_worker *w = fuzz_worker();
    struct mnemo_http_req req;
    struct mnemo_http_resp resp;
    json_t *body = NULL;

    /* The server hands handlers a NUL-terminated copy of the body. */
    char *raw = malloc(size + 1);
    if (raw == NULL)
        return 0;
    memcpy(raw, data, size);
    raw[size] = '\0';
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.method = method;
    req.path = path;
    req.route = path;
    req.transport = MNEMO_HTTP_UNIX;
    if (param_name != NULL) {
        req.n_params = 1;
        req.param_names[0] = param_name;
        req.param_values[0] = param_value;
    }
    /* The server refuses bodies nested too deep before parsing them (http_dispatch.c), so
     * handlers never see one; neither do they here. */
    if (parse && size > 0 && mnemo_http_json_too_deep(raw, size) < 0)
        body = json_loadb(raw, size, 0, NULL);
    req.body = body;
    req.raw_body = size > 0 ? raw : NULL;
    req.raw_len = size;
    int rc = h(w, &req, &resp);
    if (rc < 0) {
        resp_release(&resp);
        mnemo_http_resp_error(&resp, 0, rc, NULL);
    }
    int status = resp.status == 0 ? 200 : resp.status;
    check_answer(path, &resp, status);
    resp_release(&resp);
    json_decref(body);
    free(raw);
    g_calls++;
    return status;
}

static int trim_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    (void)arg;
    return mnemo_conn_exec(conn,
                           "DELETE FROM relations; DELETE FROM vectors; DELETE FROM observations;"
                           "DELETE FROM summaries; DELETE FROM prompts; DELETE FROM events;"
                           "DELETE FROM sessions;",
                           err);
}

void fuzz_worker_trim(unsigned every)
{
    struct mnemo_err e = {0};
    struct mnemo_worker *w = fuzz_worker();
    if (every == 0 || g_calls % every != 0)
        return;
    if (mnemo_store_write(w->st, "fuzz_trim", MNEMO_STORE_TIMEOUT_SLOW_MS, trim_fn, NULL, &e) != 0)
        die("trim", &e);
    mnemo_vindex_close(w->vx);
    w->vx = NULL;
    if (mnemo_vindex_open(mnemo_embed_dim(w->emb), MNEMO_VINDEX_FLOAT, &w->vx, &e) != 0)
        die("vindex", &e);
}
