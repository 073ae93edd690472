/*
 * routes_int.h - what the route files (routes*.c) share: the handlers the table in routes.c
 * points at, and small helpers that read a request's inputs with validation and fill error
 * answers, so every handler answers bad input the same way.
 *
 * Helper convention: a helper that validates input returns 0 when the value is good, or -1
 * after it has filled resp with an error answer (the handler then returns 0 at once, because
 * resp is filled). Messages name the field ("field 'limit' must be an integer in 1..1000").
 *
 * Thread-safety: every helper works on its arguments only; handlers may run concurrently.
 */
#ifndef MNEMO_SERVICE_ROUTES_INT_H
#define MNEMO_SERVICE_ROUTES_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "memory/obs.h"
#include "service/http.h"
#include "service/worker.h"
#include "util/err.h"
#include "util/strbuf.h"

/* Default and largest list sizes of the list routes. */
#define ROUTES_DEFAULT_LIMIT  100
#define ROUTES_SESSIONS_LIMIT 20
/* Largest export body built in memory (beyond it: `mnemo export`, which streams). */
#define ROUTES_EXPORT_MAX ((size_t)512 * 1024 * 1024)
/* Most per-row errors an import answer lists (the counts stay exact). */
#define ROUTES_IMPORT_MAX_ERRORS 100
/* Deadline of the embedding done after a create or an update. */
#define ROUTES_EMBED_TIMEOUT_MS 2000
/* Largest budget_tokens a context route accepts (the output is hard-capped anyway). */
#define ROUTES_MAX_BUDGET_TOKENS 100000

/* ---- answers ------------------------------------------------------------------------------ */

/* Fills resp with the error of rc (status from rc) and a formatted message. Returns -1. */
int mnemo__routes_fail(struct mnemo_http_resp *resp, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills resp with the error of rc and err's message (or rc's text). Returns -1. */
int mnemo__routes_fail_err(struct mnemo_http_resp *resp, int rc, const struct mnemo_err *err);

/* Sets a JSON answer (takes the reference; NULL means out of memory). Returns 0. */
int mnemo__routes_json(struct mnemo_http_resp *resp, int status, json_t *j);

/*
 * Sets a raw answer that takes ownership of the malloc'd data (no copy: exports can be large).
 * content_type is static. Returns 0.
 */
void mnemo__routes_bytes_owned(struct mnemo_http_resp *resp, int status, const char *content_type,
                               char *data, size_t len);

/* ---- request inputs ----------------------------------------------------------------------- */

/*
 * The request body as an object: *out NULL when there is none and !required. A missing body
 * when required, or a body that is not an object, is a 400.
 */
int mnemo__routes_body(const struct mnemo_http_req *req, struct mnemo_http_resp *resp, int required,
                       const json_t **out);

/*
 * The string obj[key] (borrowed from obj), NULL when absent or null and !required. A
 * required one must be non-empty. Longer than max bytes is a 400 (max 0: no limit).
 */
int mnemo__routes_str(struct mnemo_http_resp *resp, const json_t *obj, const char *key,
                      int required, size_t max, const char **out);

/* The integer obj[key] in [min, max], def when absent or null. Other JSON types are a 400. */
int mnemo__routes_int(struct mnemo_http_resp *resp, const json_t *obj, const char *key, int64_t min,
                      int64_t max, int64_t def, int64_t *out);

/* The boolean obj[key], def when absent or null. */
int mnemo__routes_bool(struct mnemo_http_resp *resp, const json_t *obj, const char *key, int def,
                       int *out);

/*
 * The path parameter name as a positive integer id. A malformed value is a 400 (an id that
 * does not exist is the handler's 404).
 */
int mnemo__routes_param_id(const struct mnemo_http_req *req, struct mnemo_http_resp *resp,
                           const char *name, int64_t *out);

/*
 * The decoded query argument name, or NULL. With a server connection this is
 * mnemo_http_req_query; a request built by hand (conn NULL, as in unit tests) carries its query
 * after a '?' in path instead, which the server never leaves there. The result is copied into
 * buf (size bytes); a longer value is a 400.
 */
int mnemo__routes_query(const struct mnemo_http_req *req, struct mnemo_http_resp *resp,
                        const char *name, char *buf, size_t size, const char **out);

/* The query argument name as an integer in [min, max], def when absent. */
int mnemo__routes_query_int(const struct mnemo_http_req *req, struct mnemo_http_resp *resp,
                            const char *name, int64_t min, int64_t max, int64_t def, int64_t *out);

/* A project name from a body field or query: validated with mnemo_project_validate (400). */
int mnemo__routes_project_check(struct mnemo_http_resp *resp, const char *field,
                                const char *project);

/* ---- shared pieces ------------------------------------------------------------------------ */

/* Publishes an SSE event when the worker has a server (w->http); data is borrowed. */
void mnemo__routes_publish(struct mnemo_worker *w, const char *event, const json_t *data);

/* The embedder and index that writes keep up to date: both NULL unless embeddings are on. */
void mnemo__routes_vectors(struct mnemo_worker *w, struct mnemo_embedder **emb,
                           struct mnemo_vindex **vx);

/*
 * The embedder and index to search with: as mnemo__routes_vectors, but both NULL while the
 * index is still loading (w->index_ready), when *why (may be NULL) says so; a half-loaded
 * index would rank only the vectors read so far.
 */
void mnemo__routes_search_vectors(struct mnemo_worker *w, struct mnemo_embedder **emb,
                                  struct mnemo_vindex **vx, const char **why);

/*
 * Brings the vector of observation id up to date after a write (embeds it, or takes it out of
 * the index when it is no longer live). Failures are logged, not returned: the background
 * re-embedder fills missing vectors, so a slow embedder must not fail the write.
 */
void mnemo__routes_reindex(struct mnemo_worker *w, int64_t id);

/* Takes observation id out of the vector index (archived, superseded, deleted). */
void mnemo__routes_unindex(struct mnemo_worker *w, int64_t id);

/* Milliseconds since start_ns (mnemo_clock_mono_ns), as a double with microsecond detail. */
double mnemo__routes_took_ms(int64_t start_ns);

/* ---- handlers (route_<noun>_<verb>; see docs/API.md for each) ----------------------------- */

int route_health_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_version_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_restart_post(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_stats_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_maintenance_run(void *ctx, const struct mnemo_http_req *req,
                          struct mnemo_http_resp *resp);
int route_maintenance_get(void *ctx, const struct mnemo_http_req *req,
                          struct mnemo_http_resp *resp);
int route_checkpoint_run(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_selfcheck_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_metrics_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);

int route_session_start(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_session_prompt(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_session_end(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_session_summary(void *ctx, const struct mnemo_http_req *req,
                          struct mnemo_http_resp *resp);
int route_session_list(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_event_append(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_event_list(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_event_retry(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);

int route_obs_create(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_list(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_batch(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_update(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_archive(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_unarchive(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_supersede(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_feedback(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_delete(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_import(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_obs_export(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);

int route_search_run(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);
int route_context_session_start(void *ctx, const struct mnemo_http_req *req,
                                struct mnemo_http_resp *resp);
int route_context_prompt(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp);

/* The dashboard's read routes (routes_dashboard.c; the page and assets are in dashboard.h). */
int route_dashboard_timeline(void *ctx, const struct mnemo_http_req *req,
                             struct mnemo_http_resp *resp);
int route_dashboard_projects(void *ctx, const struct mnemo_http_req *req,
                             struct mnemo_http_resp *resp);
int route_dashboard_health(void *ctx, const struct mnemo_http_req *req,
                           struct mnemo_http_resp *resp);

#endif
