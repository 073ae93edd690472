/*
 * http_metrics.c - per-route request counters and latency histograms, rejection counters,
 * written out in the Prometheus text format.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "service/http_int.h"

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double BOUNDS[MNEMO__HTTP_N_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                         0.05,   0.1,   0.25,   0.5,   1,    2.5};

static const char *const REJECT_NAMES[MNEMO__REJ_COUNT] = {
    [MNEMO__REJ_AUTH] = "auth",
    [MNEMO__REJ_HOST] = "host",
    [MNEMO__REJ_ORIGIN] = "origin",
    [MNEMO__REJ_PEER] = "peer",
    [MNEMO__REJ_RATE] = "rate",
    [MNEMO__REJ_TOO_BIG] = "too_big",
    [MNEMO__REJ_CONTENT_TYPE] = "content_type",
    [MNEMO__REJ_BAD_JSON] = "bad_json",
    [MNEMO__REJ_NOT_FOUND] = "not_found",
    [MNEMO__REJ_METHOD] = "method",
    [MNEMO__REJ_NOT_READY] = "not_ready",
};

int mnemo__http_metrics_init(struct mnemo__http_metrics *m, size_t n_routes)
{
    memset(m, 0, sizeof(*m));
    m->per = calloc(n_routes + 1, sizeof(*m->per));
    if (m->per == NULL)
        return MNEMO_ENOMEM;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m->per);
        m->per = NULL;
        return MNEMO_EIO;
    }
    m->n_routes = n_routes;
    return 0;
}

void mnemo__http_metrics_release(struct mnemo__http_metrics *m)
{
    if (m->per == NULL)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m->per);
    m->per = NULL;
}

void mnemo__http_metrics_observe(struct mnemo__http_metrics *m, long route, int status,
                                 double seconds)
{
    size_t idx = (route < 0 || (size_t)route >= m->n_routes) ? m->n_routes : (size_t)route;
    size_t b = 0;
    while (b < MNEMO__HTTP_N_BUCKETS - 1 && seconds > BOUNDS[b])
        b++;
    pthread_mutex_lock(&m->mu);
    struct mnemo__route_metrics *r = &m->per[idx];
    int placed = 0;
    for (size_t i = 0; i < MNEMO__HTTP_MAX_CODES; i++) {
        if (r->codes[i] == status || r->codes[i] == 0) {
            r->codes[i] = status;
            r->code_counts[i]++;
            placed = 1;
            break;
        }
    }
    if (!placed)
        r->other_codes++;
    r->buckets[b]++;
    r->sum_s += seconds;
    r->count++;
    pthread_mutex_unlock(&m->mu);
}

void mnemo__http_metrics_reject(struct mnemo__http_metrics *m, enum mnemo__http_reject why)
{
    pthread_mutex_lock(&m->mu);
    m->rejected[why]++;
    pthread_mutex_unlock(&m->mu);
}

/* Appends formatted text and remembers the first failure, so the writer reads straight. */
static void put(struct mnemo_strbuf *sb, int *rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void put(struct mnemo_strbuf *sb, int *rc, const char *fmt, ...)
{
    if (*rc != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    *rc = mnemo_strbuf_vappendf(sb, fmt, ap);
    va_end(ap);
}

int mnemo_http_metrics_write(struct mnemo_http *h, struct mnemo_strbuf *sb)
{
    if (h == NULL || sb == NULL)
        return MNEMO_EINVAL;
    struct mnemo__http_metrics *m = &h->metrics;
    size_t n = m->n_routes + 1;
    /* Copy under the lock, format outside it: formatting allocates and may be slow. */
    struct mnemo__route_metrics *snap = malloc(n * sizeof(*snap));
    if (snap == NULL)
        return MNEMO_ENOMEM;
    uint64_t rejected[MNEMO__REJ_COUNT];
    pthread_mutex_lock(&m->mu);
    memcpy(snap, m->per, n * sizeof(*snap));
    memcpy(rejected, m->rejected, sizeof(rejected));
    pthread_mutex_unlock(&m->mu);

    int rc = 0;
    put(sb, &rc,
        "# HELP mnemo_http_requests_total HTTP requests by route, method and status.\n"
        "# TYPE mnemo_http_requests_total counter\n");
    for (size_t i = 0; i < n; i++) {
        const char *route = i < m->n_routes ? h->routes[i].pattern : "unmatched";
        const char *method = i < m->n_routes ? h->routes[i].method : "any";
        for (size_t k = 0; k < MNEMO__HTTP_MAX_CODES && snap[i].codes[k] != 0; k++)
            put(sb, &rc, "mnemo_http_requests_total{route=\"%s\",method=\"%s\",code=\"%d\"} %llu\n",
                route, method, snap[i].codes[k], (unsigned long long)snap[i].code_counts[k]);
        if (snap[i].other_codes > 0)
            put(sb, &rc,
                "mnemo_http_requests_total{route=\"%s\",method=\"%s\",code=\"other\"} %llu\n",
                route, method, (unsigned long long)snap[i].other_codes);
    }
    put(sb, &rc,
        "# HELP mnemo_http_request_duration_seconds Request latency by route.\n"
        "# TYPE mnemo_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        if (snap[i].count == 0)
            continue;
        const char *route = i < m->n_routes ? h->routes[i].pattern : "unmatched";
        const char *method = i < m->n_routes ? h->routes[i].method : "any";
        uint64_t cum = 0;
        for (size_t b = 0; b < MNEMO__HTTP_N_BUCKETS; b++) {
            cum += snap[i].buckets[b];
            if (b < MNEMO__HTTP_N_BUCKETS - 1)
                put(sb, &rc,
                    "mnemo_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                    "le=\"%g\"} %llu\n",
                    route, method, BOUNDS[b], (unsigned long long)cum);
            else
                put(sb, &rc,
                    "mnemo_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                    "le=\"+Inf\"} %llu\n",
                    route, method, (unsigned long long)cum);
        }
        put(sb, &rc,
            "mnemo_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n"
            "mnemo_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n",
            route, method, snap[i].sum_s, route, method, (unsigned long long)snap[i].count);
    }
    put(sb, &rc,
        "# HELP mnemo_http_sse_clients Connected event-stream clients.\n"
        "# TYPE mnemo_http_sse_clients gauge\n"
        "mnemo_http_sse_clients %d\n",
        mnemo_http_sse_clients(h));
    put(sb, &rc,
        "# HELP mnemo_http_rejected_total Requests refused before a handler ran.\n"
        "# TYPE mnemo_http_rejected_total counter\n");
    for (size_t i = 0; i < MNEMO__REJ_COUNT; i++)
        put(sb, &rc, "mnemo_http_rejected_total{reason=\"%s\"} %llu\n", REJECT_NAMES[i],
            (unsigned long long)rejected[i]);
    free(snap);
    return rc;
}
