/*
 * dashboard_hist.c - the health history behind the dashboard's charts (see dashboard.h): a
 * sampler thread and three rings (samples, checkpoints, maintenance runs) under one mutex, in
 * one object the worker owns.
 *
 * Why a thread of its own rather than sampling on request: the charts must show what happened
 * while nobody was looking (a WAL that grew at 3 a.m.), and a query on the worker's main
 * thread would delay its signal handling behind a busy store.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory/events.h"
#include "service/dashboard.h"
#include "service/maint.h"
#include "service/worker.h"
#include "store/store.h"
#include "util/clock.h"

struct sample {
    int64_t at_ms, wal_bytes, p95_ns, pending, dead, checkpoints;
    int pool_in_use;
};

struct ckpt {
    int64_t at_ms, wal_before, wal_after, duration_ns;
    int busy, rc;
};

/* Every field below is guarded by mu, except the thread handle (start/stop only). */
struct mnemo_dashboard_hist {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int running, stopping;
    pthread_t thread;
    struct mnemo_worker *w; /* the sampled worker while the thread runs */
    int64_t interval_ms;
    struct sample samples[MNEMO_DASHBOARD_SAMPLES];
    size_t n_samples, next_sample;
    struct ckpt ckpts[MNEMO_DASHBOARD_CHECKPOINTS];
    size_t n_ckpts, next_ckpt;
    struct mnemo_maint_report runs[MNEMO_DASHBOARD_MAINT_RUNS];
    size_t n_runs, next_run;
    int64_t last_ckpt_at, ckpts_seen, maint_runs_seen;
};

/* The interval from $MNEMO_DASHBOARD_SAMPLE_MS when valid, else the default. */
static int64_t interval_from_env(void)
{
    const char *s = getenv("MNEMO_DASHBOARD_SAMPLE_MS");
    if (s == NULL || *s == '\0')
        return MNEMO_DASHBOARD_SAMPLE_MS;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < MNEMO_DASHBOARD_SAMPLE_MIN_MS ||
        v > MNEMO_DASHBOARD_SAMPLE_MAX_MS)
        return MNEMO_DASHBOARD_SAMPLE_MS;
    return v;
}

/* Records a checkpoint that finished since the last look. Under mu. */
static void note_checkpoint_locked(struct mnemo_dashboard_hist *h,
                                   const struct mnemo_store_checkpoint_result *c)
{
    if (c->at_ms == 0 || c->at_ms == h->last_ckpt_at)
        return;
    h->last_ckpt_at = c->at_ms;
    h->ckpts_seen++;
    h->ckpts[h->next_ckpt] =
        (struct ckpt){c->at_ms, c->wal_before, c->wal_after, c->duration_ns, c->busy, c->rc};
    h->next_ckpt = (h->next_ckpt + 1) % MNEMO_DASHBOARD_CHECKPOINTS;
    if (h->n_ckpts < MNEMO_DASHBOARD_CHECKPOINTS)
        h->n_ckpts++;
}

/* Records a maintenance run that finished since the last look. Under mu. */
static void note_maint_locked(struct mnemo_dashboard_hist *h, const struct mnemo_maint_stats *ms)
{
    if (ms->runs <= h->maint_runs_seen || ms->last.started_ms == 0)
        return;
    h->maint_runs_seen = ms->runs;
    h->runs[h->next_run] = ms->last;
    h->next_run = (h->next_run + 1) % MNEMO_DASHBOARD_MAINT_RUNS;
    if (h->n_runs < MNEMO_DASHBOARD_MAINT_RUNS)
        h->n_runs++;
}

void mnemo_dashboard_hist_catch_up(struct mnemo_dashboard_hist *h, struct mnemo_worker *w)
{
    struct mnemo_store_health hs;
    struct mnemo_maint_stats ms;
    int have_maint = w != NULL && w->maint != NULL;

    if (h == NULL || w == NULL || w->st == NULL)
        return;
    /* A fresh snapshot (a SELECT 1 on the store's own probe connection): the cached one may be
     * 5 s old, and a checkpoint forced from the page must show at once. */
    mnemo_store_health(w->st, 1, &hs);
    if (have_maint)
        mnemo_maint_stats(w->maint, &ms);
    pthread_mutex_lock(&h->mu);
    note_checkpoint_locked(h, &hs.last_checkpoint);
    if (have_maint)
        note_maint_locked(h, &ms);
    pthread_mutex_unlock(&h->mu);
}

void mnemo_dashboard_hist_sample(struct mnemo_dashboard_hist *h, struct mnemo_worker *w)
{
    struct mnemo_store_metrics m;
    struct mnemo_store_pool_stats ps;
    struct mnemo_events_stats es;
    struct mnemo_err err;

    if (h == NULL || w == NULL || w->st == NULL)
        return;
    mnemo_dashboard_hist_catch_up(h, w);
    mnemo_store_metrics(w->st, &m);
    mnemo_store_pool_stats(w->st, &ps);
    mnemo_err_clear(&err);
    /* A busy store costs this sample its queue numbers, not the sample: -1 says unknown. */
    if (mnemo_events_stats(w->st, &es, &err) != 0)
        es.pending = es.failed = -1;
    struct sample s = {
        .at_ms = mnemo_clock_wall_ms(),
        .wal_bytes = mnemo_store_wal_size(w->st),
        .p95_ns = m.p95_ns,
        .pending = es.pending,
        .dead = es.failed,
        .pool_in_use = ps.in_use,
    };
    pthread_mutex_lock(&h->mu);
    s.checkpoints = h->ckpts_seen;
    h->samples[h->next_sample] = s;
    h->next_sample = (h->next_sample + 1) % MNEMO_DASHBOARD_SAMPLES;
    if (h->n_samples < MNEMO_DASHBOARD_SAMPLES)
        h->n_samples++;
    pthread_mutex_unlock(&h->mu);
}

static void *sampler(void *arg)
{
    struct mnemo_dashboard_hist *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stopping) {
        struct mnemo_worker *w = h->w;
        pthread_mutex_unlock(&h->mu);
        mnemo_dashboard_hist_sample(h, w);
        pthread_mutex_lock(&h->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = (int64_t)until.tv_nsec + (h->interval_ms % 1000) * MNEMO_NS_PER_MS;
        until.tv_sec += (time_t)(h->interval_ms / 1000 + ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        while (!h->stopping && pthread_cond_timedwait(&h->wake, &h->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int mnemo_dashboard_hist_new(struct mnemo_dashboard_hist **out, struct mnemo_err *err)
{
    struct mnemo_dashboard_hist *h = calloc(1, sizeof *h);
    *out = NULL;
    if (h == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory for the dashboard history");
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot create the dashboard history lock");
    }
    if (pthread_cond_init(&h->wake, NULL) != 0) {
        pthread_mutex_destroy(&h->mu);
        free(h);
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot create the dashboard history condition");
    }
    h->interval_ms = MNEMO_DASHBOARD_SAMPLE_MS;
    *out = h;
    return 0;
}

void mnemo_dashboard_hist_free(struct mnemo_dashboard_hist *h)
{
    if (h == NULL)
        return;
    mnemo_dashboard_hist_stop(h);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int mnemo_dashboard_hist_start(struct mnemo_dashboard_hist *h, struct mnemo_worker *w,
                               struct mnemo_err *err)
{
    pthread_mutex_lock(&h->mu);
    if (h->running) {
        pthread_mutex_unlock(&h->mu);
        return mnemo_err_set(err, MNEMO_EEXIST, "the dashboard sampler already runs");
    }
    h->interval_ms = interval_from_env();
    h->stopping = 0;
    h->w = w;
    int e = pthread_create(&h->thread, NULL, sampler, h);
    if (e == 0)
        h->running = 1;
    pthread_mutex_unlock(&h->mu);
    if (e != 0)
        return mnemo_err_set(err, MNEMO_EIO, "cannot start the dashboard sampler: %s", strerror(e));
    return 0;
}

void mnemo_dashboard_hist_stop(struct mnemo_dashboard_hist *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    if (!h->running) {
        pthread_mutex_unlock(&h->mu);
        return;
    }
    h->stopping = 1;
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_mutex_lock(&h->mu);
    h->running = 0;
    pthread_mutex_unlock(&h->mu);
}

/* Index of the i-th oldest of n entries of a ring of cap whose next write goes to next. */
static size_t oldest(size_t i, size_t n, size_t next, size_t cap)
{
    return (next + cap - n + i) % cap;
}

static int push(json_t *a, json_t *v)
{
    return v == NULL || json_array_append_new(a, v) != 0;
}

json_t *mnemo_dashboard_hist_json(struct mnemo_dashboard_hist *h, int64_t since_ms)
{
    json_t *samples = json_array(), *ckpts = json_array(), *runs = json_array();
    int bad = samples == NULL || ckpts == NULL || runs == NULL;

    if (h == NULL) {
        if (bad)
            goto fail;
        return json_pack("{s:I,s:o,s:o,s:o}", "interval_ms", (json_int_t)interval_from_env(),
                         "samples", samples, "checkpoints", ckpts, "maintenance", runs);
    }
    pthread_mutex_lock(&h->mu);
    int64_t interval = h->running ? h->interval_ms : interval_from_env();
    for (size_t i = 0; !bad && i < h->n_samples; i++) {
        const struct sample *s =
            &h->samples[oldest(i, h->n_samples, h->next_sample, MNEMO_DASHBOARD_SAMPLES)];
        if (s->at_ms < since_ms)
            continue;
        bad |= push(samples,
                    json_pack("{s:I,s:I,s:f,s:i,s:I,s:I,s:I}", "at", (json_int_t)s->at_ms,
                              "wal_bytes", (json_int_t)s->wal_bytes, "store_p95_ms",
                              (double)s->p95_ns / 1e6, "pool_in_use", s->pool_in_use,
                              "queue_pending", (json_int_t)s->pending, "dead_letters",
                              (json_int_t)s->dead, "checkpoints", (json_int_t)s->checkpoints));
    }
    for (size_t i = 0; !bad && i < h->n_ckpts; i++) {
        const struct ckpt *c =
            &h->ckpts[oldest(i, h->n_ckpts, h->next_ckpt, MNEMO_DASHBOARD_CHECKPOINTS)];
        bad |= push(ckpts,
                    json_pack("{s:I,s:I,s:I,s:f,s:b,s:b}", "at", (json_int_t)c->at_ms, "wal_before",
                              (json_int_t)c->wal_before, "wal_after", (json_int_t)c->wal_after,
                              "duration_ms", (double)c->duration_ns / 1e6, "busy", c->busy, "ok",
                              c->rc == 0 && !c->busy));
    }
    for (size_t i = 0; !bad && i < h->n_runs; i++)
        bad |= push(runs,
                    mnemo_maint_report_json(
                        &h->runs[oldest(i, h->n_runs, h->next_run, MNEMO_DASHBOARD_MAINT_RUNS)]));
    pthread_mutex_unlock(&h->mu);
    if (bad) {
    fail:
        json_decref(samples);
        json_decref(ckpts);
        json_decref(runs);
        return NULL;
    }
    return json_pack("{s:I,s:o,s:o,s:o}", "interval_ms", (json_int_t)interval, "samples", samples,
                     "checkpoints", ckpts, "maintenance", runs);
}
