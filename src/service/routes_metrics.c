/*
 * routes_metrics.c - GET /metrics: the HTTP server's own metrics (requests and latency per
 * route) followed by the worker's gauges and counters in Prometheus text format 0.0.4: queue
 * depth, WAL size, checkpoints, store latency, pool statistics, capture and maintenance.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/events.h"
#include "service/capture.h"
#include "service/maint.h"
#include "service/routes_int.h"
#include "util/clock.h"

/* Appends "# HELP", "# TYPE" and one sample without labels. */
static int metric(struct mnemo_strbuf *sb, const char *name, const char *type, const char *help,
                  double value)
{
    return mnemo_strbuf_appendf(sb, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
                                type, name, value);
}

static int queue_metrics(struct mnemo_worker *w, struct mnemo_strbuf *sb)
{
    struct mnemo_events_stats es;

    if (mnemo_events_stats(w->st, &es, NULL) != 0)
        return 0; /* a busy store must not fail the scrape; the gauges are left out */
    int rc = mnemo_strbuf_appendf(sb,
                                  "# HELP mnemo_queue_events Capture queue events by status.\n"
                                  "# TYPE mnemo_queue_events gauge\n"
                                  "mnemo_queue_events{status=\"pending\"} %lld\n"
                                  "mnemo_queue_events{status=\"done\"} %lld\n"
                                  "mnemo_queue_events{status=\"failed\"} %lld\n",
                                  (long long)es.pending, (long long)es.done, (long long)es.failed);
    double age = es.oldest_pending_ms > 0
                     ? (double)(mnemo_clock_wall_ms() - es.oldest_pending_ms) / 1000.0
                     : 0.0;
    if (rc == 0)
        rc = metric(sb, "mnemo_queue_oldest_pending_age_seconds", "gauge",
                    "Age of the oldest pending capture event (0 when none).", age < 0 ? 0 : age);
    return rc;
}

static int store_metrics(struct mnemo_worker *w, struct mnemo_strbuf *sb)
{
    struct mnemo_store_health h;

    mnemo_store_health(w->st, 0, &h);
    const struct mnemo_store_checkpoint_result *c = &h.last_checkpoint;
    const struct mnemo_store_pool_stats *p = &h.pool;
    int rc = metric(sb, "mnemo_store_wal_bytes", "gauge", "Size of the -wal file.",
                    (double)mnemo_store_wal_size(w->st));
    if (rc == 0)
        rc = metric(sb, "mnemo_store_last_checkpoint_timestamp_seconds", "gauge",
                    "When the last checkpoint finished (0: none yet).", (double)c->at_ms / 1000.0);
    if (rc == 0)
        rc = metric(sb, "mnemo_store_last_checkpoint_ok", "gauge",
                    "1 when the last checkpoint completed and reset the WAL.",
                    c->at_ms > 0 && c->rc == 0 && !c->busy);
    if (rc == 0)
        rc = metric(sb, "mnemo_store_checkpoint_stalls", "gauge",
                    "Consecutive checkpoints that did not advance.", h.checkpoint_stalls);
    if (rc == 0)
        rc = metric(sb, "mnemo_store_healthy", "gauge",
                    "Store status: 0 healthy, 1 degraded, 2 unhealthy.", h.status);
    if (rc == 0)
        rc = metric(sb, "mnemo_store_query_p95_seconds", "gauge",
                    "P95 store operation latency over the last 100 samples (0: too few).",
                    (double)h.metrics.p95_ns / 1e9);
    if (rc == 0)
        rc = metric(sb, "mnemo_store_queries_total", "counter", "Store latency samples recorded.",
                    (double)h.metrics.total_queries);
    if (rc == 0)
        rc = mnemo_strbuf_appendf(sb,
                                  "# HELP mnemo_store_pool_connections Pool connections by state.\n"
                                  "# TYPE mnemo_store_pool_connections gauge\n"
                                  "mnemo_store_pool_connections{state=\"max\"} %d\n"
                                  "mnemo_store_pool_connections{state=\"open\"} %d\n"
                                  "mnemo_store_pool_connections{state=\"in_use\"} %d\n"
                                  "mnemo_store_pool_connections{state=\"idle\"} %d\n",
                                  p->max_open, p->open, p->in_use, p->idle);
    if (rc == 0)
        rc = metric(sb, "mnemo_store_pool_waits_total", "counter",
                    "Connection acquires that had to wait.", (double)p->wait_count);
    if (rc == 0)
        rc = metric(sb, "mnemo_store_pool_wait_seconds_total", "counter",
                    "Time spent waiting for a connection.", (double)p->wait_duration_ns / 1e9);
    if (rc == 0)
        rc = mnemo_strbuf_appendf(
            sb,
            "# HELP mnemo_store_pool_closed_total Connections closed by the pool, by reason.\n"
            "# TYPE mnemo_store_pool_closed_total counter\n"
            "mnemo_store_pool_closed_total{reason=\"max_lifetime\"} %lld\n"
            "mnemo_store_pool_closed_total{reason=\"max_idle\"} %lld\n"
            "# HELP mnemo_store_leaks_total Statements and transactions cleaned up at release.\n"
            "# TYPE mnemo_store_leaks_total counter\n"
            "mnemo_store_leaks_total{kind=\"statement\"} %lld\n"
            "mnemo_store_leaks_total{kind=\"transaction\"} %lld\n",
            (long long)p->closed_max_lifetime, (long long)p->closed_max_idle,
            (long long)p->leaked_statements, (long long)p->leaked_transactions);
    return rc;
}

static int worker_metrics(struct mnemo_worker *w, struct mnemo_strbuf *sb)
{
    int rc = metric(sb, "mnemo_worker_ready", "gauge", "1 when the worker serves data routes.",
                    atomic_load(&w->status) == MNEMO_WORKER_READY);
    if (rc == 0)
        rc = metric(sb, "mnemo_worker_uptime_seconds", "gauge", "Seconds since the worker started.",
                    (double)(mnemo_clock_mono_ns() - w->started_mono_ns) / 1e9);
    if (rc == 0)
        rc = metric(sb, "mnemo_events_appended_total", "counter",
                    "Capture events appended since start.",
                    (double)atomic_load(&w->events_appended));
    if (rc == 0)
        rc =
            metric(sb, "mnemo_context_requests_total", "counter",
                   "Context blocks served since start.", (double)atomic_load(&w->context_requests));
    if (rc == 0 && w->vx != NULL)
        rc = metric(sb, "mnemo_index_vectors", "gauge", "Vectors in the in-RAM index.",
                    (double)mnemo_vindex_count(w->vx));
    if (rc == 0 && w->capture != NULL) {
        struct mnemo_capture_stats cs;
        mnemo_capture_stats(w->capture, &cs);
        rc = mnemo_strbuf_appendf(
            sb,
            "# HELP mnemo_capture_events_total Capture outcomes since start.\n"
            "# TYPE mnemo_capture_events_total counter\n"
            "mnemo_capture_events_total{outcome=\"processed\"} %lld\n"
            "mnemo_capture_events_total{outcome=\"failed_try\"} %lld\n"
            "mnemo_capture_events_total{outcome=\"dead_lettered\"} %lld\n",
            (long long)cs.processed, (long long)cs.failed_tries, (long long)cs.dead_lettered);
        if (rc == 0)
            rc = metric(sb, "mnemo_capture_observations_total", "counter",
                        "Observations created by capture since start.", (double)cs.observations);
    }
    if (rc == 0 && w->maint != NULL) {
        struct mnemo_maint_stats ms;
        mnemo_maint_stats(w->maint, &ms);
        rc = metric(sb, "mnemo_maintenance_runs_total", "counter", "Maintenance runs since start.",
                    (double)ms.runs);
        if (rc == 0)
            rc = metric(sb, "mnemo_maintenance_last_run_failed", "gauge",
                        "1 when the last maintenance run ended with an error.",
                        ms.runs > 0 && ms.last.rc != 0);
        if (rc == 0)
            rc = metric(sb, "mnemo_maintenance_cleaned_total", "counter",
                        "Observations deleted by maintenance since start.",
                        (double)ms.total_cleaned);
    }
    return rc;
}

int route_metrics_get(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    struct mnemo_strbuf sb;

    mnemo_strbuf_init(&sb, 0);
    int rc = w->http != NULL ? mnemo_http_metrics_write(w->http, &sb) : 0;
    if (rc == 0)
        rc = worker_metrics(w, &sb);
    if (rc == 0 && w->st != NULL)
        rc = queue_metrics(w, &sb);
    if (rc == 0 && w->st != NULL)
        rc = store_metrics(w, &sb);
    if (rc != 0) {
        mnemo_strbuf_release(&sb);
        return rc;
    }
    size_t len = sb.len;
    char *data = mnemo_strbuf_detach(&sb);
    if (data == NULL)
        return MNEMO_ENOMEM;
    mnemo__routes_bytes_owned(resp, 200, "text/plain; version=0.0.4; charset=utf-8", data, len);
    return 0;
}
