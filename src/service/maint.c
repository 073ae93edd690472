/*
 * maint.c - the worker's maintenance: one synchronous run (retention, superseded cleanup,
 * prompt retention, done-event pruning, bounded optimize, checkpoint when large), the
 * scheduler thread that runs it and the importance recalculation on their timers, and the
 * lifecycle of both background threads (the re-embedder lives in maint_reembed.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memory/events.h"
#include "memory/retention.h"
#include "memory/scoring.h"
#include "search/vindex.h"
#include "service/maint_int.h"
#include "util/clock.h"
#include "util/config.h"

/* Default deadline of mnemo_maint_run. */
#define RUN_DEFAULT_TIMEOUT_MS 60000
/*
 * Observations or prompts deleted per write transaction. A row delete with its FTS entry,
 * vectors and relations costs 0.1-0.4 ms on the test VM, so a batch holds the writer for
 * about 5-20 ms; the pause after a full batch lets queued writers (hooks) in first.
 */
#define DELETE_BATCH    50
#define DELETE_PAUSE_MS 2

void mnemo__maint_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ns)
{
    if (deadline_ns <= mnemo_clock_mono_ns())
        return;
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / MNEMO_NS_PER_S),
                          .tv_nsec = (long)(deadline_ns % MNEMO_NS_PER_S)};
    /* Spurious wake-ups and ETIMEDOUT are the same to every caller: re-check and loop. */
    (void)pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- one run -------------------------------------------------------------------------------
 */

/* What the settings of one run are: read once from the config at the start. */
struct run_settings {
    int64_t retention_days, superseded_days, prompt_days;
};

struct run_ctx {
    struct mnemo_maint *m;
    int64_t deadline_ns;
    int64_t now_ms;
    struct run_settings cfg;
    struct mnemo_maint_report *r;
    int64_t ids[DELETE_BATCH];
};

static void read_settings(struct mnemo_worker *w, struct run_settings *s)
{
    const struct mnemo_config *c = mnemo_worker_config_ref(w);
    s->retention_days = mnemo_config_int(c, "retention.days");
    s->superseded_days = mnemo_config_int(c, "retention.superseded_days");
    s->prompt_days = mnemo_config_int(c, "retention.prompt_days");
    mnemo_worker_config_unref(w, c);
}

/* 0 when the run may go on to its next batch or step; else why not (err set). */
static int may_continue(const struct run_ctx *x, const char *next, struct mnemo_err *err)
{
    if (atomic_load(&x->m->stop))
        return mnemo_err_set(err, MNEMO_ECLOSED, "maintenance stopped (shutdown) before %s", next);
    if (mnemo_deadline_left_ns(x->deadline_ns) == 0)
        return mnemo_err_set(err, MNEMO_ETIMEDOUT, "maintenance ran out of time before %s", next);
    return 0;
}

/* The time one store call may take: what is left of the run, at most the retention default. */
static int64_t step_timeout_ms(const struct run_ctx *x)
{
    int64_t left = mnemo_deadline_left_ns(x->deadline_ns) / MNEMO_NS_PER_MS;
    if (left > MNEMO_RETENTION_TIMEOUT_MS)
        left = MNEMO_RETENTION_TIMEOUT_MS;
    return left > 0 ? left : 1;
}

typedef int (*obs_delete_fn)(struct mnemo_store *st, int64_t before_ms,
                             struct mnemo_retention_cursor *cur, size_t max_rows,
                             int64_t timeout_ms, int64_t *ids, size_t *n, struct mnemo_err *err);

/* Deletes observations batch by batch until none is left, keeping the vector index in step. */
static int delete_observations(struct run_ctx *x, obs_delete_fn fn, int64_t days, const char *step,
                               int64_t *count, struct mnemo_err *err)
{
    struct mnemo_worker *w = x->m->w;
    int64_t cutoff = mnemo_retention_cutoff_ms(x->now_ms, days);
    struct mnemo_retention_cursor cur = {0};
    size_t n = 0;
    if (cutoff <= 0)
        return 0;
    while (!cur.done) {
        int rc = may_continue(x, step, err);
        if (rc == 0)
            rc = fn(w->st, cutoff, &cur, DELETE_BATCH, step_timeout_ms(x), x->ids, &n, err);
        if (rc != 0)
            return rc;
        *count += (int64_t)n;
        for (size_t i = 0; i < n && w->vx != NULL; i++)
            (void)mnemo_vindex_remove(w->vx, x->ids[i], NULL); /* absent: never indexed */
        if (!cur.done)
            mnemo_clock_sleep_ms(DELETE_PAUSE_MS);
    }
    return 0;
}

static int delete_prompts(struct run_ctx *x, struct mnemo_err *err)
{
    int64_t cutoff = mnemo_retention_cutoff_ms(x->now_ms, x->cfg.prompt_days);
    struct mnemo_retention_cursor cur = {0};
    size_t n = 0;
    if (cutoff <= 0)
        return 0;
    while (!cur.done) {
        int rc = may_continue(x, "prompt retention", err);
        if (rc == 0)
            rc = mnemo_retention_delete_prompts_before(x->m->w->st, cutoff, &cur, DELETE_BATCH,
                                                       step_timeout_ms(x), &n, err);
        if (rc != 0)
            return rc;
        x->r->prompts_deleted += (int64_t)n;
        if (!cur.done)
            mnemo_clock_sleep_ms(DELETE_PAUSE_MS);
    }
    return 0;
}

/* The steps in order; the first error ends the run. */
static int run_steps(struct run_ctx *x, struct mnemo_err *err)
{
    struct mnemo_store *st = x->m->w->st;
    struct mnemo_maint_report *r = x->r;
    int rc;
    if ((rc = delete_observations(x, mnemo_retention_delete_observations_before,
                                  x->cfg.retention_days, "observation retention",
                                  &r->observations_deleted, err)) != 0)
        return rc;
    if ((rc = delete_observations(x, mnemo_retention_delete_superseded_before,
                                  x->cfg.superseded_days, "superseded cleanup",
                                  &r->superseded_deleted, err)) != 0)
        return rc;
    if ((rc = delete_prompts(x, err)) != 0)
        return rc;
    if ((rc = may_continue(x, "event pruning", err)) != 0)
        return rc;
    int64_t events_cutoff = mnemo_retention_cutoff_ms(x->now_ms, MNEMO_MAINT_EVENTS_KEEP_DAYS);
    if (events_cutoff > 0 &&
        (rc = mnemo_events_prune(st, events_cutoff, &r->events_pruned, err)) != 0)
        return rc;
    if ((rc = may_continue(x, "optimize", err)) != 0)
        return rc;
    if ((rc = mnemo_retention_optimize(st, step_timeout_ms(x), err)) != 0)
        return rc;
    r->optimized = 1;
    if ((rc = may_continue(x, "checkpoint", err)) != 0)
        return rc;
    int did = 0;
    struct mnemo_err ce = {0};
    rc = mnemo_store_checkpoint_if_large(st, mnemo_store_config(st)->checkpoint_threshold_bytes,
                                         step_timeout_ms(x), &did, NULL, &ce);
    /* Readers holding the WAL are normal; the checkpointer retries on its own schedule. */
    if (rc == MNEMO_EBUSY)
        mnemo_log_write(x->m->w->log, MNEMO_LOG_INFO, "maintenance checkpoint busy", "error=\"%s\"",
                        ce.msg);
    else if (rc != 0)
        return mnemo_err_set(err, rc, "%s", ce.msg);
    return 0;
}

static void log_report(struct mnemo_log *log, const struct mnemo_maint_report *r)
{
    mnemo_log_write(log, r->rc == 0 ? MNEMO_LOG_INFO : MNEMO_LOG_WARN,
                    r->rc == 0 ? "maintenance ran" : "maintenance stopped early",
                    "duration_ms=%lld observations_deleted=%lld superseded_deleted=%lld"
                    " prompts_deleted=%lld events_pruned=%lld optimized=%d wal_bytes=%lld"
                    " rc=%s error=\"%s\"",
                    (long long)r->duration_ms, (long long)r->observations_deleted,
                    (long long)r->superseded_deleted, (long long)r->prompts_deleted,
                    (long long)r->events_pruned, r->optimized, (long long)r->wal_bytes_after,
                    mnemo_rcname(r->rc), r->error);
}

/* Runs every step into *r (the caller holds the "running" flag). */
static void run_once(struct mnemo_maint *m, int64_t deadline_ns, struct mnemo_maint_report *r)
{
    struct run_ctx *x = calloc(1, sizeof *x);
    struct mnemo_err e = {0};
    int64_t t0 = mnemo_clock_mono_ns();
    memset(r, 0, sizeof *r);
    r->started_ms = mnemo_clock_wall_ms();
    if (x == NULL) {
        r->rc = mnemo_err_set(&e, MNEMO_ENOMEM, "out of memory for a maintenance run");
    } else {
        x->m = m;
        x->deadline_ns = deadline_ns;
        x->now_ms = r->started_ms;
        x->r = r;
        read_settings(m->w, &x->cfg);
        r->rc = run_steps(x, &e);
        free(x);
    }
    if (r->rc != 0)
        snprintf(r->error, sizeof r->error, "%s", mnemo_err_text(&e, r->rc));
    r->wal_bytes_after = mnemo_store_wal_size(m->w->st);
    r->duration_ms = (mnemo_clock_mono_ns() - t0) / MNEMO_NS_PER_MS;
}

/*
 * Sends the report to the event stream. Under mu, so that once mnemo_maint_detach_http has
 * returned no publish is running or can start, and the server may be stopped and freed.
 * mnemo_http_publish never blocks (full client queues drop the client), so holding mu is brief.
 */
static void publish(struct mnemo_maint *m, const struct mnemo_maint_report *r)
{
    json_t *j = mnemo_maint_report_json(r);
    if (j == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    if (m->http != NULL && atomic_load(&m->w->status) != MNEMO_WORKER_STOPPING)
        (void)mnemo_http_publish(m->http, "maintenance.ran", j);
    pthread_mutex_unlock(&m->mu);
    json_decref(j);
}

int mnemo_maint_run(struct mnemo_maint *m, int64_t deadline_ns, struct mnemo_maint_report *out,
                    struct mnemo_err *err)
{
    struct mnemo_maint_report r;
    if (deadline_ns == 0)
        deadline_ns = mnemo_deadline_in_ms(RUN_DEFAULT_TIMEOUT_MS);
    pthread_mutex_lock(&m->mu);
    if (m->running) {
        /* Somebody else's run is in progress: its result is ours. */
        int64_t seq = m->run_seq;
        while (m->run_seq == seq && mnemo_deadline_left_ns(deadline_ns) > 0)
            mnemo__maint_wait_until(&m->run_cv, &m->mu, deadline_ns);
        if (m->run_seq == seq) {
            pthread_mutex_unlock(&m->mu);
            memset(&r, 0, sizeof r);
            r.rc = MNEMO_ETIMEDOUT;
            snprintf(r.error, sizeof r.error,
                     "the maintenance run in progress did not finish by the deadline");
            if (out)
                *out = r;
            return mnemo_err_set(err, r.rc, "%s", r.error);
        }
        r = m->stats.last;
        pthread_mutex_unlock(&m->mu);
    } else {
        m->running = 1;
        pthread_mutex_unlock(&m->mu);
        run_once(m, deadline_ns, &r);
        pthread_mutex_lock(&m->mu);
        m->stats.runs++;
        m->stats.last_run_ms = r.started_ms;
        m->stats.last_duration_ms = r.duration_ms;
        m->stats.total_cleaned += r.observations_deleted + r.superseded_deleted;
        m->stats.optimizes += r.optimized;
        m->stats.last = r;
        m->running = 0;
        m->run_seq++;
        m->reembed_wake = 1; /* a cheap re-check for observations that still lack a vector */
        pthread_cond_broadcast(&m->run_cv);
        pthread_cond_broadcast(&m->reembed_cv);
        pthread_mutex_unlock(&m->mu);
        log_report(m->w->log, &r);
        publish(m, &r);
    }
    if (out)
        *out = r;
    if (r.rc != 0)
        mnemo_err_set(err, r.rc, "%s", r.error);
    return r.rc;
}

/* ---- scheduler ------------------------------------------------------------------------------
 */

static int64_t config_seconds_ns(struct mnemo_worker *w, const char *key)
{
    const struct mnemo_config *c = mnemo_worker_config_ref(w);
    int64_t s = mnemo_config_int(c, key);
    mnemo_worker_config_unref(w, c);
    return s * MNEMO_NS_PER_S;
}

static void score_once(struct mnemo_maint *m)
{
    const struct mnemo_config *c = mnemo_worker_config_ref(m->w);
    int64_t batch = mnemo_config_int(c, "scoring.batch");
    mnemo_worker_config_unref(m->w, c);
    if (batch > MNEMO_SCORING_BATCH_MAX)
        batch = MNEMO_SCORING_BATCH_MAX;
    int64_t updated = 0, t0 = mnemo_clock_mono_ns();
    struct mnemo_err e = {0};
    int rc = mnemo_scoring_recalc_cancelable(m->w->st, (int)batch, mnemo_clock_wall_ms(), &m->stop,
                                             &updated, &e);
    pthread_mutex_lock(&m->mu);
    m->stats.score_runs++;
    m->stats.scores_updated += updated;
    m->stats.last_score_ms = mnemo_clock_wall_ms();
    pthread_mutex_unlock(&m->mu);
    if (rc != 0 && rc != MNEMO_ECLOSED) /* ECLOSED: cancelled by stop, not a failure */
        mnemo_log_write(m->w->log, MNEMO_LOG_WARN, "importance recalculation failed",
                        "updated=%lld error=\"%s\"", (long long)updated, mnemo_err_text(&e, rc));
    else
        mnemo_log_write(m->w->log, MNEMO_LOG_DEBUG, "importance recalculated",
                        "updated=%lld duration_ms=%lld", (long long)updated,
                        (long long)((mnemo_clock_mono_ns() - t0) / MNEMO_NS_PER_MS));
}

/*
 * Both timers are first due first_delay_s after start (scores decay with age, so a restart
 * should not leave them stale for an hour); each is re-armed from its own interval, read
 * after the run so a config reload takes effect at the next one.
 */
static void *sched_main(void *arg)
{
    struct mnemo_maint *m = arg;
    int64_t first = m->started_mono_ns + config_seconds_ns(m->w, "maintenance.first_delay_s");
    int64_t next_maint = first, next_score = first;
    pthread_mutex_lock(&m->mu);
    while (!atomic_load(&m->stop)) {
        int64_t now = mnemo_clock_mono_ns();
        if (now >= next_maint) {
            pthread_mutex_unlock(&m->mu);
            (void)mnemo_maint_run(m, mnemo_deadline_in_ms(MNEMO_MAINT_SCHEDULED_TIMEOUT_MS), NULL,
                                  NULL);
            next_maint = mnemo_clock_mono_ns() + config_seconds_ns(m->w, "maintenance.interval_s");
            pthread_mutex_lock(&m->mu);
            continue;
        }
        if (now >= next_score) {
            pthread_mutex_unlock(&m->mu);
            score_once(m);
            next_score = mnemo_clock_mono_ns() + config_seconds_ns(m->w, "scoring.interval_s");
            pthread_mutex_lock(&m->mu);
            continue;
        }
        mnemo__maint_wait_until(&m->sched_cv, &m->mu,
                                next_maint < next_score ? next_maint : next_score);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* ---- lifecycle and stats --------------------------------------------------------------------
 */

static int cond_init_mono(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0)
        return -1;
    int rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

static void maint_free(struct mnemo_maint *m, int n_conds)
{
    pthread_cond_t *conds[] = {&m->sched_cv, &m->reembed_cv, &m->run_cv};
    for (int i = 0; i < n_conds; i++)
        pthread_cond_destroy(conds[i]);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

int mnemo_maint_start(struct mnemo_worker *w, struct mnemo_maint **out, struct mnemo_err *err)
{
    *out = NULL;
    if (w == NULL || w->st == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "maintenance needs an open store");
    struct mnemo_maint *m = calloc(1, sizeof *m);
    if (m == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory for maintenance");
    m->w = w;
    m->http = w->http;
    m->started_mono_ns = mnemo_clock_mono_ns();
    m->reembed_wake = 1;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return mnemo_err_set(err, MNEMO_EIO, "cannot create the maintenance lock");
    }
    pthread_cond_t *conds[] = {&m->sched_cv, &m->reembed_cv, &m->run_cv};
    for (int i = 0; i < 3; i++) {
        if (cond_init_mono(conds[i]) != 0) {
            maint_free(m, i);
            return mnemo_err_set(err, MNEMO_EIO, "cannot create a maintenance condition");
        }
    }
    int rc = pthread_create(&m->sched_thread, NULL, sched_main, m);
    if (rc == 0) {
        m->sched_started = 1;
        rc = pthread_create(&m->reembed_thread, NULL, mnemo__maint_reembed_main, m);
        if (rc == 0)
            m->reembed_started = 1;
    }
    if (rc != 0) {
        mnemo_maint_stop(m);
        return mnemo_err_set(err, MNEMO_EIO, "cannot start a maintenance thread: %s", strerror(rc));
    }
    *out = m;
    return 0;
}

void mnemo_maint_detach_http(struct mnemo_maint *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->http = NULL;
    pthread_mutex_unlock(&m->mu);
}

void mnemo_maint_reembed_wake(struct mnemo_maint *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->reembed_wake = 1;
    pthread_cond_broadcast(&m->reembed_cv);
    pthread_mutex_unlock(&m->mu);
}

void mnemo_maint_stats(struct mnemo_maint *m, struct mnemo_maint_stats *out)
{
    pthread_mutex_lock(&m->mu);
    *out = m->stats;
    pthread_mutex_unlock(&m->mu);
}

void mnemo_maint_stop(struct mnemo_maint *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    atomic_store(&m->stop, 1);
    pthread_cond_broadcast(&m->sched_cv);
    pthread_cond_broadcast(&m->reembed_cv);
    pthread_cond_broadcast(&m->run_cv);
    pthread_mutex_unlock(&m->mu);
    if (m->sched_started)
        pthread_join(m->sched_thread, NULL);
    if (m->reembed_started)
        pthread_join(m->reembed_thread, NULL);
    maint_free(m, 3);
}

/* ---- JSON -----------------------------------------------------------------------------------
 */

json_t *mnemo_maint_report_json(const struct mnemo_maint_report *r)
{
    json_t *error = r->rc == 0
                        ? json_null()
                        : json_pack("{s:s, s:s}", "code", mnemo_rcname(r->rc), "message", r->error);
    if (error == NULL)
        return NULL;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:b, s:o}", "started_at",
                     (json_int_t)r->started_ms, "duration_ms", (json_int_t)r->duration_ms,
                     "observations_deleted", (json_int_t)r->observations_deleted,
                     "superseded_deleted", (json_int_t)r->superseded_deleted, "prompts_deleted",
                     (json_int_t)r->prompts_deleted, "events_pruned", (json_int_t)r->events_pruned,
                     "optimized", r->optimized, "wal_bytes_after", (json_int_t)r->wal_bytes_after,
                     "ok", r->rc == 0, "error", error);
}

json_t *mnemo_maint_stats_json(const struct mnemo_maint_stats *s)
{
    json_t *last = s->runs > 0 ? mnemo_maint_report_json(&s->last) : json_null();
    if (last == NULL)
        return NULL;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:b}", "runs",
                     (json_int_t)s->runs, "last_run_at", (json_int_t)s->last_run_ms,
                     "last_duration_ms", (json_int_t)s->last_duration_ms, "total_cleaned",
                     (json_int_t)s->total_cleaned, "optimizes", (json_int_t)s->optimizes, "last",
                     last, "score_runs", (json_int_t)s->score_runs, "scores_updated",
                     (json_int_t)s->scores_updated, "last_score_at", (json_int_t)s->last_score_ms,
                     "reembedded", (json_int_t)s->reembedded, "reembed_pending",
                     (json_int_t)s->reembed_pending, "reembed_running", s->reembed_running);
}
