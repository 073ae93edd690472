/*
 * routes_admin.c - the worker's own routes: health and version (public, answer before the
 * store is ready), restart, stats, maintenance, checkpoint and selfcheck.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "memory/events.h"
#include "memory/session.h"
#include "search/hybrid.h"
#include "service/capture.h"
#include "service/maint.h"
#include "service/routes.h"
#include "service/routes_int.h"
#include "util/clock.h"

/* The store's health snapshot as a JSON object (NULL when out of memory). */
static json_t *store_health_json(struct mnemo_store *st, int force, struct mnemo_store_health *h)
{
    struct mnemo_strbuf sb;

    mnemo_store_health(st, force, h);
    mnemo_strbuf_init(&sb, 0);
    json_t *j = NULL;
    if (mnemo_store_health_json(h, &sb) == 0)
        j = json_loadb(mnemo_strbuf_str(&sb), sb.len, 0, NULL);
    mnemo_strbuf_release(&sb);
    return j;
}

int route_health_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    int status = atomic_load(&w->status);
    int ready = status == MNEMO_WORKER_READY && w->st != NULL;
    struct mnemo_store_health h;

    json_t *j = json_pack("{s:s,s:b,s:s}", "status",
                          mnemo_worker_status_name((enum mnemo_worker_status)status), "ready",
                          ready, "version", MNEMO_VERSION);
    if (j != NULL && status == MNEMO_WORKER_ERROR &&
        json_object_set_new(j, "error", json_string(w->error)) != 0) {
        json_decref(j);
        j = NULL;
    }
    if (j != NULL && ready) {
        /* Ready answers before the vector index has loaded (worker.h): say where it is. */
        const char *index = w->vx == NULL                  ? "none"
                            : atomic_load(&w->index_ready) ? "ready"
                                                           : "loading";
        json_t *sj = store_health_json(w->st, 0, &h);
        if (json_object_set_new(j, "index", json_string(index)) != 0) {
            json_decref(j);
            json_decref(sj);
            return mnemo__routes_json(resp, 500, NULL);
        }
        if (sj == NULL || json_object_set_new(j, "store", sj) != 0) {
            json_decref(j);
            j = NULL;
        }
    }
    return mnemo__routes_json(resp, ready ? 200 : 503, j);
}

int route_version_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    return mnemo__routes_json(resp, 200,
                              json_pack("{s:s,s:i,s:I,s:I}", "version", MNEMO_VERSION, "api", 1,
                                        "pid", (json_int_t)getpid(), "started_at",
                                        (json_int_t)w->started_ms));
}

int route_restart_post(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *version;

    if (mnemo__routes_body(req, resp, 1, &body) != 0 ||
        mnemo__routes_str(resp, body, "version", 1, 64, &version) != 0)
        return 0;
    if (strcmp(version, MNEMO_VERSION) == 0)
        return mnemo__routes_json(resp, 200,
                                  json_pack("{s:b,s:s}", "restarting", 0, "reason",
                                            "the worker already runs this version"));
    int rc = mnemo_worker_request_restart(w);
    if (rc == MNEMO_EBUSY)
        return mnemo__routes_json(
            resp, 200,
            json_pack("{s:b,s:s}", "restarting", 0, "reason",
                      "the worker started less than 60 s ago (no restart loops)"));
    if (rc != 0)
        return rc;
    mnemo_log_write(w->log, MNEMO_LOG_INFO, "restart requested by a client", "client_version=%s",
                    version);
    return mnemo__routes_json(resp, 202, json_pack("{s:b}", "restarting", 1));
}

/* A JSON object mapping each group's name to its count (NULL when out of memory). */
static json_t *group_json(const struct mnemo_obs_group *g, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < n; i++) {
        if (json_object_set_new(o, g[i].name, json_integer(g[i].count)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* "hash", "http" or "none", from what the embedder says of itself. */
static const char *embed_provider(const struct mnemo_embedder *e)
{
    if (e == NULL || !mnemo_embed_enabled(e))
        return "none";
    return strncmp(mnemo_embed_model_id(e), "hash", 4) == 0 ? "hash" : "http";
}

int route_stats_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    struct mnemo_obs_stats os;
    struct mnemo_events_stats es;
    struct mnemo_store_health h;
    struct mnemo_err err;

    mnemo_err_clear(&err);
    int rc = mnemo_obs_stats(w->st, &os, &err);
    if (rc == 0) {
        rc = mnemo_events_stats(w->st, &es, &err);
        if (rc != 0)
            mnemo_obs_stats_release(&os);
    }
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    mnemo_store_health(w->st, 0, &h);
    json_t *j =
        json_pack("{s:{s:I,s:I,s:I,s:I,s:o,s:o,s:o},s:o,s:I,s:I,s:{s:I,s:I,s:I,s:I},s:I,"
                  "s:{s:s,s:s,s:i,s:b},s:I,s:I}",
                  "observations", "total", (json_int_t)os.total, "live", (json_int_t)os.live,
                  "archived", (json_int_t)os.archived, "superseded", (json_int_t)os.superseded,
                  "by_type", group_json(os.by_type, os.n_by_type), "by_project",
                  group_json(os.by_project, os.n_by_project), "by_scope",
                  group_json(os.by_scope, os.n_by_scope), "vectors",
                  group_json(os.vectors_by_model, os.n_vectors_by_model), "sessions",
                  (json_int_t)os.sessions, "prompts", (json_int_t)os.prompts, "queue", "pending",
                  (json_int_t)es.pending, "done", (json_int_t)es.done, "failed",
                  (json_int_t)es.failed, "oldest_pending_at", (json_int_t)es.oldest_pending_ms,
                  "uptime_ms", (json_int_t)((mnemo_clock_mono_ns() - w->started_mono_ns) / 1000000),
                  "embedder", "provider", embed_provider(w->emb), "model",
                  w->emb != NULL ? mnemo_embed_model_id(w->emb) : "none", "dim",
                  w->emb != NULL ? mnemo_embed_dim(w->emb) : 0, "enabled",
                  w->emb != NULL && mnemo_embed_enabled(w->emb), "wal_bytes",
                  (json_int_t)mnemo_store_wal_size(w->st), "last_checkpoint_at",
                  (json_int_t)h.last_checkpoint.at_ms);
    mnemo_obs_stats_release(&os);
    int bad = j == NULL;
    if (!bad) {
        json_t *ix =
            w->vx == NULL
                ? json_pack("{s:i,s:n}", "vectors", 0, "mode")
                : json_pack("{s:I,s:s}", "vectors", (json_int_t)mnemo_vindex_count(w->vx), "mode",
                            mnemo_vindex_mode(w->vx) == MNEMO_VINDEX_INT8 ? "int8" : "float");
        bad |= json_object_set_new(j, "index", ix) != 0;
    }
    if (!bad && w->capture != NULL) {
        struct mnemo_capture_stats cs;
        mnemo_capture_stats(w->capture, &cs);
        bad |=
            json_object_set_new(
                j, "capture",
                json_pack("{s:I,s:I,s:I,s:I,s:I}", "processed", (json_int_t)cs.processed,
                          "failed_tries", (json_int_t)cs.failed_tries, "dead_lettered",
                          (json_int_t)cs.dead_lettered, "observations", (json_int_t)cs.observations,
                          "last_run_at", (json_int_t)cs.last_run_ms)) != 0;
    }
    if (!bad) {
        /* Zeros unless extractor = llm: the counters show whether the model is used at all. */
        struct mnemo_llm_stats ls;
        mnemo_extractor_llm_stats(w->llm, &ls);
        bad |=
            json_object_set_new(
                j, "llm",
                json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "enabled",
                          w->llm != NULL, "calls_today", (json_int_t)ls.calls_today, "tokens_today",
                          (json_int_t)ls.tokens_today, "calls", (json_int_t)ls.calls, "successes",
                          (json_int_t)ls.successes, "skips", (json_int_t)ls.skips, "failures",
                          (json_int_t)ls.failures, "timeouts", (json_int_t)ls.timeouts, "rejected",
                          (json_int_t)ls.rejected, "busy", (json_int_t)ls.busy, "budget_exhausted",
                          (json_int_t)ls.budget_exhausted, "fallbacks",
                          (json_int_t)ls.fallbacks)) != 0;
    }
    if (!bad && w->maint != NULL) {
        struct mnemo_maint_stats ms;
        mnemo_maint_stats(w->maint, &ms);
        bad |= json_object_set_new(j, "maintenance", mnemo_maint_stats_json(&ms)) != 0;
    }
    if (!bad)
        bad |=
            json_object_set_new(j, "retrieval", mnemo_routes_retrieval_json(w->retrieval)) != 0 ||
            json_object_set_new(j, "context_requests",
                                json_integer(atomic_load(&w->context_requests))) != 0 ||
            json_object_set_new(j, "events_appended",
                                json_integer(atomic_load(&w->events_appended))) != 0;
    if (bad) {
        json_decref(j);
        j = NULL;
    }
    return mnemo__routes_json(resp, 200, j);
}

/* ---- maintenance, checkpoint -------------------------------------------------------------- */

int route_maintenance_run(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    int64_t timeout_ms;
    struct mnemo_maint_report rep;
    struct mnemo_err err;

    if (mnemo__routes_body(req, resp, 0, &body) != 0 ||
        mnemo__routes_int(resp, body, "timeout_ms", 1, 10 * 60 * 1000, 60 * 1000, &timeout_ms) != 0)
        return 0;
    if (w->maint == NULL) {
        mnemo__routes_fail(resp, MNEMO_EBUSY, "maintenance is not running");
        return 0;
    }
    memset(&rep, 0, sizeof rep);
    mnemo_err_clear(&err);
    /* A run cut short by the deadline still reports what it did: the report says why. */
    int rc = mnemo_maint_run(w->maint, mnemo_deadline_in_ms(timeout_ms), &rep, &err);
    if (rc != 0 && rc != MNEMO_ETIMEDOUT && rep.started_ms == 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *r = mnemo_maint_report_json(&rep);
    return mnemo__routes_json(resp, 200, r != NULL ? json_pack("{s:o}", "report", r) : NULL);
}

int route_maintenance_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    struct mnemo_maint_stats ms;

    if (w->maint == NULL) {
        mnemo__routes_fail(resp, MNEMO_EBUSY, "maintenance is not running");
        return 0;
    }
    mnemo_maint_stats(w->maint, &ms);
    json_t *s = mnemo_maint_stats_json(&ms);
    return mnemo__routes_json(resp, 200, s != NULL ? json_pack("{s:o}", "stats", s) : NULL);
}

int route_checkpoint_run(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    struct mnemo_store_checkpoint_result r;
    struct mnemo_err err;

    memset(&r, 0, sizeof r);
    mnemo_err_clear(&err);
    int rc = mnemo_store_checkpoint(w->st, MNEMO_STORE_TIMEOUT_DEFAULT_MS, &r, &err);
    /* Readers holding old snapshots make TRUNCATE give up: that is an answer, not a failure. */
    if (rc != 0 && rc != MNEMO_EBUSY) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *j = json_pack("{s:i,s:i,s:I,s:I,s:f,s:b}", "wal_frames", r.log_frames,
                          "checkpointed_frames", r.checkpointed, "wal_bytes_before",
                          (json_int_t)r.wal_before, "wal_bytes_after", (json_int_t)r.wal_after,
                          "took_ms", (double)r.duration_ns / 1e6, "busy", rc == MNEMO_EBUSY);
    mnemo__routes_publish(w, "checkpoint.ran", j);
    return mnemo__routes_json(resp, 200, j);
}

/* ---- selfcheck ---------------------------------------------------------------------------- */

/* Free space below this on the home's file system fails the disk check. */
#define SELFCHECK_MIN_FREE_BYTES (INT64_C(100) * 1024 * 1024)

static int add_component(json_t *comps, const char *name, int ok, const char *detail, int *all_ok)
{
    if (!ok)
        *all_ok = 0;
    return json_object_set_new(comps, name, json_pack("{s:b,s:s}", "ok", ok, "detail", detail));
}

int route_selfcheck_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    struct mnemo_store_health h;
    struct mnemo_err err;
    char d[MNEMO_ERR_MSG_MAX + 64];
    int all_ok = 1, bad = 0;
    json_t *comps = json_object();

    if (comps == NULL)
        return MNEMO_ENOMEM;

    mnemo_store_health(w->st, 1, &h);
    snprintf(d, sizeof d, "%s%s%s", mnemo_store_status_name(h.status),
             h.error[0] != '\0' || h.warning[0] != '\0' ? ": " : "",
             h.error[0] != '\0' ? h.error : h.warning);
    bad |= add_component(comps, "store", h.status != MNEMO_STORE_UNHEALTHY, d, &all_ok);

    /* The keyword path end to end: a query that matches nothing still runs FTS5. */
    struct mnemo_search_results res;
    mnemo_err_clear(&err);
    int rc =
        mnemo_search_hybrid(w->st, NULL, NULL, NULL, "mnemo selfcheck probe", 1, 1,
                            mnemo_deadline_in_ms(MNEMO_STORE_TIMEOUT_FAST_MS), NULL, &res, &err);
    if (rc == 0)
        mnemo_search_results_release(&res);
    bad |= add_component(comps, "fts", rc == 0,
                         rc == 0 ? "keyword search answers" : mnemo_err_text(&err, rc), &all_ok);

    int enabled = w->emb != NULL && mnemo_embed_enabled(w->emb);
    if (!enabled) {
        bad |= add_component(comps, "index", 1, "embeddings disabled", &all_ok);
        bad |= add_component(comps, "embedder", 1, "provider none (keyword search only)", &all_ok);
    } else {
        int dim = mnemo_embed_dim(w->emb);
        int ix_ok = w->vx != NULL && mnemo_vindex_dim(w->vx) == dim;
        snprintf(d, sizeof d, "%lld vectors of %d dimensions",
                 (long long)(w->vx != NULL ? mnemo_vindex_count(w->vx) : 0), dim);
        bad |= add_component(comps, "index", ix_ok, ix_ok ? d : "no index of the embedder's size",
                             &all_ok);
        float *v = malloc((size_t)dim * sizeof *v);
        mnemo_err_clear(&err);
        rc = v == NULL ? MNEMO_ENOMEM
                       : mnemo_embed_text(w->emb, "mnemo selfcheck probe", v,
                                          mnemo_deadline_in_ms(ROUTES_EMBED_TIMEOUT_MS), &err);
        free(v);
        snprintf(d, sizeof d, "%s",
                 rc == 0 ? mnemo_embed_model_id(w->emb) : mnemo_err_text(&err, rc));
        bad |= add_component(comps, "embedder", rc == 0, d, &all_ok);
    }

    struct mnemo_events_stats es;
    mnemo_err_clear(&err);
    rc = mnemo_events_stats(w->st, &es, &err);
    if (rc == 0)
        snprintf(d, sizeof d, "%s; %lld pending, %lld dead-lettered",
                 w->capture != NULL ? "running" : "not running", (long long)es.pending,
                 (long long)es.failed);
    else
        snprintf(d, sizeof d, "%s", mnemo_err_text(&err, rc));
    bad |= add_component(comps, "capture", rc == 0 && w->capture != NULL, d, &all_ok);

    struct statvfs vfs;
    if (statvfs(w->home[0] != '\0' ? w->home : ".", &vfs) == 0) {
        int64_t free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
        snprintf(d, sizeof d, "%lld MiB free", (long long)(free_bytes >> 20));
        bad |= add_component(comps, "disk", free_bytes >= SELFCHECK_MIN_FREE_BYTES, d, &all_ok);
    } else {
        bad |= add_component(comps, "disk", 0, "cannot stat the home directory", &all_ok);
    }
    if (bad) {
        json_decref(comps);
        return MNEMO_ENOMEM;
    }
    return mnemo__routes_json(resp, 200, json_pack("{s:b,s:o}", "ok", all_ok, "components", comps));
}
