/*
 * dashboard.h - the web dashboard the worker serves at `/` (issue 7): the page and its
 * assets (the files of web/, compiled into the binary by cmake/embed.cmake, so it works
 * offline and needs no CDN), and the health history the dashboard charts (WAL size, store
 * P95, queue depth and dead letters sampled over time; the checkpoints and maintenance runs
 * seen).
 *
 * Assets: `GET /` is web/index.html, `GET /assets/<name>` any other file of web/. They are
 * public routes (the page holds no secret: its API calls carry the cookie that `/?token=`
 * set), so over TCP they still pass the server's Host/Origin checks first. Each answer has a
 * strong ETag (a hash of the file, computed at build time), answers If-None-Match with 304,
 * and carries a Content-Security-Policy that allows only this origin's scripts, styles,
 * images and connections, no inline script and no framing.
 *
 * History: one sampler per worker, started once it is ready and stopped first thing at
 * shutdown. Every MNEMO_DASHBOARD_SAMPLE_MS (or
 * $MNEMO_DASHBOARD_SAMPLE_MS, 100..3600000, for tests and tuning) it records one sample in a
 * ring of MNEMO_DASHBOARD_SAMPLES; each checkpoint and maintenance run it sees finished since
 * the last look goes into its own ring. Rings live in memory and restart empty with the worker.
 * Two checkpoints (or runs) finishing between two looks show as the later one only; the
 * sample's checkpoint counter still counts both when the store reports them.
 *
 * Ownership: the asset table is static; a history object belongs to the worker that made it
 * (w->hist) and start borrows the worker until stop. Thread-safety: every function may be
 * called from any thread (one mutex per history guards its rings); start, stop and free are
 * called by the worker's main thread, never concurrently with each other.
 */
#ifndef MNEMO_SERVICE_DASHBOARD_H
#define MNEMO_SERVICE_DASHBOARD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "service/http.h"
#include "util/err.h"

/* ---- assets ------------------------------------------------------------------------------- */

/* One file of web/, as the generated source (dashboard_assets.c in the build dir) holds it. */
struct mnemo_dashboard_asset {
    const char *name;         /* "index.html", "app.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const unsigned char *data;
    size_t len;
    const char *etag; /* "\"<16 hex digits>\"" */
};

/* The generated table (static storage). */
extern const struct mnemo_dashboard_asset mnemo__dashboard_assets[];
extern const size_t mnemo__dashboard_n_assets;

/* The Content-Security-Policy of the dashboard's answers. */
#define MNEMO_DASHBOARD_CSP                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; "               \
    "frame-ancestors 'none'"

/* The asset called name, or NULL. */
const struct mnemo_dashboard_asset *mnemo_dashboard_asset_find(const char *name);

/*
 * Fills resp with asset name: 200 with the bytes, or 304 when if_none_match (may be NULL)
 * lists its ETag (or is "*"), or 404 when there is no such asset. Returns 0 (resp filled).
 */
int mnemo_dashboard_answer(const char *name, const char *if_none_match,
                           struct mnemo_http_resp *resp);

/* Route handlers: `GET /` and `GET /assets/{name}`. ctx is the worker (unused). */
int route_dashboard_index(void *ctx, const struct mnemo_http_req *req,
                          struct mnemo_http_resp *resp);
int route_dashboard_asset(void *ctx, const struct mnemo_http_req *req,
                          struct mnemo_http_resp *resp);

/* ---- health history ----------------------------------------------------------------------- */

#define MNEMO_DASHBOARD_SAMPLE_MS     10000
#define MNEMO_DASHBOARD_SAMPLES       720 /* two hours at the default interval */
#define MNEMO_DASHBOARD_CHECKPOINTS   64
#define MNEMO_DASHBOARD_MAINT_RUNS    32
#define MNEMO_DASHBOARD_SAMPLE_MIN_MS 100
#define MNEMO_DASHBOARD_SAMPLE_MAX_MS 3600000

struct mnemo_worker;
/* The history: rings and the sampler thread. Owned by the worker (mnemo_worker.hist). */
struct mnemo_dashboard_hist;

/* Creates an empty history with no thread. Returns 0 or MNEMO_ENOMEM (*out NULL). */
int mnemo_dashboard_hist_new(struct mnemo_dashboard_hist **out, struct mnemo_err *err);

/* Stops the sampler if it runs, then frees h. NULL is a no-op. */
void mnemo_dashboard_hist_free(struct mnemo_dashboard_hist *h);

/*
 * Starts h's sampler thread for w (ready: w->st set; borrowed until stop), which takes its
 * first sample at once. Returns 0, MNEMO_EEXIST (already running) or MNEMO_EIO (thread).
 */
int mnemo_dashboard_hist_start(struct mnemo_dashboard_hist *h, struct mnemo_worker *w,
                               struct mnemo_err *err);

/* Stops and joins the sampler (a sample in progress finishes first). No-op when not running
 * or h is NULL. */
void mnemo_dashboard_hist_stop(struct mnemo_dashboard_hist *h);

/*
 * Takes one sample of w now into h (the sampler's step; tests call it directly): WAL size,
 * store P95, pool use, queue depth and dead letters, plus any new checkpoint or maintenance
 * run. No-op when h, w or w->st is NULL.
 */
void mnemo_dashboard_hist_sample(struct mnemo_dashboard_hist *h, struct mnemo_worker *w);

/*
 * Records only what is cheap and needs no query: a checkpoint or maintenance run that
 * finished since the last look (the history route calls it so a run started from the page
 * shows at once). No-op when h, w or w->st is NULL.
 */
void mnemo_dashboard_hist_catch_up(struct mnemo_dashboard_hist *h, struct mnemo_worker *w);

/*
 * The history as {interval_ms, samples:[{at,wal_bytes,store_p95_ms,pool_in_use,queue_pending,
 * dead_letters,checkpoints}], checkpoints:[{at,wal_before,wal_after,duration_ms,busy,ok}],
 * maintenance:[<maint report JSON>]}, oldest first, samples at or after since_ms only; empty
 * lists when h is NULL (no history was started). A new reference, NULL when out of memory.
 */
json_t *mnemo_dashboard_hist_json(struct mnemo_dashboard_hist *h, int64_t since_ms);

#endif
