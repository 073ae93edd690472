/*
 * health.c - latency metrics, slow-operation logging and the cached health check.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/store_int.h"
#include "util/clock.h"

/* Thresholds of the health rules (the original store's values). */
#define POOL_BUSY_RATIO        0.8
#define WAIT_COUNT_LIMIT       100
#define WAIT_DURATION_LIMIT_NS (100 * MNEMO_NS_PER_MS)
#define PROBE_LATENCY_LIMIT_NS (10 * MNEMO_NS_PER_MS)
#define P95_LIMIT_NS           (50 * MNEMO_NS_PER_MS)
#define CHECKPOINT_STALL_LIMIT 3

void mnemo_store_metrics_record(struct mnemo_store *st, int64_t latency_ns)
{
    struct mnemo__ring *r = &st->ring;
    pthread_mutex_lock(&st->metrics_mu);
    r->samples[r->idx] = latency_ns;
    r->idx = (r->idx + 1) % MNEMO_STORE_METRICS_WINDOW;
    if (r->count < MNEMO_STORE_METRICS_WINDOW)
        r->count++;
    r->total++;
    r->last_sample_ms = mnemo_clock_wall_ms();
    pthread_mutex_unlock(&st->metrics_mu);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

void mnemo_store_metrics(struct mnemo_store *st, struct mnemo_store_metrics *out)
{
    int64_t sorted[MNEMO_STORE_METRICS_WINDOW];
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&st->metrics_mu);
    const struct mnemo__ring *r = &st->ring;
    out->total_queries = r->total;
    out->sample_count = r->count;
    out->last_sample_ms = r->last_sample_ms;
    memcpy(sorted, r->samples, sizeof(int64_t) * (size_t)r->count);
    pthread_mutex_unlock(&st->metrics_mu);

    pthread_mutex_lock(&st->pool_mu);
    out->peak_in_use = st->peak_in_use;
    out->peak_wait_count = st->wait_count;
    out->total_wait_ns = st->wait_ns;
    pthread_mutex_unlock(&st->pool_mu);

    if (out->sample_count == 0)
        return;
    int64_t sum = 0;
    out->min_ns = out->max_ns = sorted[0];
    for (int i = 0; i < out->sample_count; i++) {
        sum += sorted[i];
        if (sorted[i] < out->min_ns)
            out->min_ns = sorted[i];
        if (sorted[i] > out->max_ns)
            out->max_ns = sorted[i];
    }
    out->avg_ns = sum / out->sample_count;
    /* Below 20 samples a 95th percentile is just the maximum of a handful: not reported. */
    if (out->sample_count >= MNEMO_STORE_METRICS_P95_MIN) {
        qsort(sorted, (size_t)out->sample_count, sizeof sorted[0], cmp_i64);
        out->p95_ns = sorted[(out->sample_count * 95) / 100];
    }
}

void mnemo__store_op_done(struct mnemo_store *st, const char *op, int64_t start_ns, int rc)
{
    int64_t elapsed = mnemo_clock_mono_ns() - start_ns;
    mnemo_store_metrics_record(st, elapsed);
    if (elapsed > st->cfg.slow_op_ms * MNEMO_NS_PER_MS)
        mnemo_log_write(st->log, MNEMO_LOG_WARN, "slow database operation",
                        "op=%s elapsed_ms=%" PRId64 " result=%s", op, elapsed / MNEMO_NS_PER_MS,
                        mnemo_rcname(rc));
}

const char *mnemo_store_status_name(enum mnemo_store_status s)
{
    switch (s) {
    case MNEMO_STORE_HEALTHY:
        return "healthy";
    case MNEMO_STORE_DEGRADED:
        return "degraded";
    case MNEMO_STORE_UNHEALTHY:
        return "unhealthy";
    }
    return "unknown";
}

static void degrade(struct mnemo_store_health *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void degrade(struct mnemo_store_health *h, const char *fmt, ...)
{
    va_list ap;
    if (h->status == MNEMO_STORE_HEALTHY)
        h->status = MNEMO_STORE_DEGRADED;
    va_start(ap, fmt);
    vsnprintf(h->warning, sizeof h->warning, fmt, ap);
    va_end(ap);
}

void mnemo_store_health_classify(struct mnemo_store_health *h)
{
    h->warning[0] = '\0';
    if (h->error[0]) {
        h->status = MNEMO_STORE_UNHEALTHY;
        return;
    }
    h->status = MNEMO_STORE_HEALTHY;
    /* Measured against the pool's size, not the connections that happen to be open: one
     * busy connection out of one open is not saturation when three more can be opened. */
    if (h->pool.in_use > 0 && h->pool.max_open > 0 &&
        (double)h->pool.in_use / (double)h->pool.max_open > POOL_BUSY_RATIO)
        degrade(h, "connection pool heavily utilized (%d of %d in use)", h->pool.in_use,
                h->pool.max_open);
    if (h->pool.wait_count > WAIT_COUNT_LIMIT && h->pool.wait_duration_ns > WAIT_DURATION_LIMIT_NS)
        degrade(h, "connection pool contention (%" PRId64 " waits, %" PRId64 " ms)",
                h->pool.wait_count, h->pool.wait_duration_ns / MNEMO_NS_PER_MS);
    if (h->query_latency_ns > PROBE_LATENCY_LIMIT_NS)
        degrade(h, "slow query latency: %.1f ms", (double)h->query_latency_ns / 1e6);
    if (h->metrics.p95_ns > P95_LIMIT_NS)
        degrade(h, "high P95 latency: %.1f ms", (double)h->metrics.p95_ns / 1e6);
    if (h->checkpoint_threshold_bytes > 0 &&
        h->wal_bytes > h->checkpoint_threshold_bytes + MNEMO_STORE_WAL_SLACK_BYTES)
        degrade(h, "WAL is %" PRId64 " bytes, above its bound of %" PRId64, h->wal_bytes,
                h->checkpoint_threshold_bytes + MNEMO_STORE_WAL_SLACK_BYTES);
    if (h->checkpoint_stalls >= CHECKPOINT_STALL_LIMIT)
        degrade(h, "checkpoints not advancing (%d in a row)", h->checkpoint_stalls);
}

/* Runs SELECT 1 and the page counters on the probe connection. Caller holds health_mu. */
static void health_probe(struct mnemo_store *st, struct mnemo_store_health *h)
{
    struct mnemo_err e = {0};
    int64_t deadline = mnemo_deadline_in_ms(MNEMO_STORE_TIMEOUT_FAST_MS);
    int rc = 0;
    if (!st->probe_conn)
        rc = mnemo__conn_open(st, 0, MNEMO_STORE_TIMEOUT_FAST_MS, deadline, &st->probe_conn, &e);
    if (rc != 0) {
        snprintf(h->error, sizeof h->error, "%s", e.msg);
        return;
    }
    struct mnemo_conn *c = st->probe_conn;
    int64_t one = 0, start = mnemo_clock_mono_ns();
    mnemo__conn_begin_op(c, "health", start, deadline);
    rc = mnemo_conn_query_int(c, "SELECT 1", &one, &e);
    h->query_latency_ns = mnemo_clock_mono_ns() - start;
    mnemo_store_metrics_record(st, h->query_latency_ns);
    if (rc == 0)
        rc = mnemo_conn_query_int(c, "PRAGMA page_size", &h->page_size, &e);
    if (rc == 0)
        rc = mnemo_conn_query_int(c, "PRAGMA page_count", &h->page_count, &e);
    if (rc == 0)
        rc = mnemo_conn_query_int(c, "PRAGMA freelist_count", &h->freelist_count, &e);
    mnemo__conn_end_op(c);
    if (rc != 0) {
        snprintf(h->error, sizeof h->error, "%s", e.msg);
        /* A connection that failed may be broken; the next check opens a fresh one. */
        mnemo__conn_close(st->probe_conn);
        st->probe_conn = NULL;
    }
}

int mnemo_store_health(struct mnemo_store *st, int force, struct mnemo_store_health *out)
{
    int64_t now = mnemo_clock_mono_ns();
    pthread_mutex_lock(&st->health_mu);
    if (!force && st->have_cached &&
        now - st->cached_mono_ns < st->cfg.health_ttl_ms * MNEMO_NS_PER_MS) {
        *out = st->cached;
        out->from_cache = 1;
        /* A deleted database file or a full disk must not hide behind the cache. */
        mnemo__space_health(st, out);
        pthread_mutex_unlock(&st->health_mu);
        return 0;
    }
    struct mnemo_store_health h;
    memset(&h, 0, sizeof h);
    h.checked_at_ms = mnemo_clock_wall_ms();
    mnemo_store_pool_stats(st, &h.pool);
    health_probe(st, &h);
    mnemo_store_metrics(st, &h.metrics);
    h.wal_bytes = mnemo_store_wal_size(st);
    h.checkpoint_threshold_bytes = st->cfg.checkpoint_threshold_bytes;
    pthread_mutex_lock(&st->state_mu);
    h.last_checkpoint = st->last_ckpt;
    h.checkpoint_stalls = st->ckpt_stalls;
    pthread_mutex_unlock(&st->state_mu);
    h.schema_version = st->schema_version;
    mnemo_store_health_classify(&h);
    mnemo__space_health(st, &h);
    st->cached = h;
    st->have_cached = 1;
    st->cached_mono_ns = mnemo_clock_mono_ns();
    pthread_mutex_unlock(&st->health_mu);
    *out = h;
    return 0;
}

void mnemo__health_close(struct mnemo_store *st)
{
    pthread_mutex_lock(&st->health_mu);
    mnemo__conn_close(st->probe_conn);
    st->probe_conn = NULL;
    pthread_mutex_unlock(&st->health_mu);
}

int mnemo_store_health_json(const struct mnemo_store_health *h, struct mnemo_strbuf *out)
{
    char ts[MNEMO_CLOCK_ISO_LEN], ckpt_ts[MNEMO_CLOCK_ISO_LEN];
    const struct mnemo_store_checkpoint_result *c = &h->last_checkpoint;
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:b, s:I, s:{s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I},"
        " s:{s:I, s:i, s:I, s:I, s:I, s:I, s:i, s:I, s:I},"
        " s:{s:I, s:I, s:i, s:{s:s?, s:b, s:i, s:i, s:I, s:I, s:I, s:s?}},"
        " s:{s:I, s:I, s:I}, s:i}",
        "status", mnemo_store_status_name(h->status), "warning", h->warning, "error", h->error,
        "timestamp", mnemo_clock_format_utc(h->checked_at_ms, ts, sizeof ts), "from_cache",
        h->from_cache, "query_latency_ns", (json_int_t)h->query_latency_ns, "pool_stats",
        "max_open", h->pool.max_open, "open_connections", h->pool.open, "in_use", h->pool.in_use,
        "idle", h->pool.idle, "wait_count", (json_int_t)h->pool.wait_count, "wait_duration_ns",
        (json_int_t)h->pool.wait_duration_ns, "max_lifetime_closed",
        (json_int_t)h->pool.closed_max_lifetime, "max_idle_closed",
        (json_int_t)h->pool.closed_max_idle, "leaked_statements",
        (json_int_t)h->pool.leaked_statements, "leaked_transactions",
        (json_int_t)h->pool.leaked_transactions, "historical_metrics", "total_queries",
        (json_int_t)h->metrics.total_queries, "sample_count", h->metrics.sample_count,
        "avg_latency_ns", (json_int_t)h->metrics.avg_ns, "min_latency_ns",
        (json_int_t)h->metrics.min_ns, "max_latency_ns", (json_int_t)h->metrics.max_ns,
        "p95_latency_ns", (json_int_t)h->metrics.p95_ns, "peak_in_use", h->metrics.peak_in_use,
        "peak_wait_count", (json_int_t)h->metrics.peak_wait_count, "total_wait_time_ns",
        (json_int_t)h->metrics.total_wait_ns, "wal", "bytes", (json_int_t)h->wal_bytes,
        "checkpoint_threshold_bytes", (json_int_t)h->checkpoint_threshold_bytes,
        "checkpoint_stalls", h->checkpoint_stalls, "last_checkpoint", "at",
        c->at_ms ? mnemo_clock_format_utc(c->at_ms, ckpt_ts, sizeof ckpt_ts) : NULL, "busy",
        c->busy, "log_frames", c->log_frames, "checkpointed_frames", c->checkpointed, "wal_before",
        (json_int_t)c->wal_before, "wal_after", (json_int_t)c->wal_after, "duration_ns",
        (json_int_t)c->duration_ns, "result", c->at_ms ? mnemo_rcname(c->rc) : NULL, "pages",
        "page_size", (json_int_t)h->page_size, "page_count", (json_int_t)h->page_count,
        "freelist_count", (json_int_t)h->freelist_count, "schema_version", h->schema_version);
    if (!o)
        return MNEMO_ENOMEM;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        return MNEMO_ENOMEM;
    int rc = mnemo_strbuf_puts(out, s);
    free(s);
    return rc;
}
