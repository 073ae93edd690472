/*
 * maint_reembed.c - the background re-embedder: gives every observation a vector of the
 * current model, a small batch at a time.
 *
 * It asks the store which observations lack such a vector (mnemo_obs_missing_vectors pages by
 * id), so it is resumable by construction: whatever a crash or a stop interrupted is still
 * missing next time. Each observation is embedded and written in its own short write
 * transaction and enters the vector index at once (mnemo_search_embed_obs); between batches
 * the thread pauses, so captures and hooks always find the writer free again soon. When
 * nothing is missing it sleeps until woken: at start, after a maintenance run, after a model
 * change (mnemo_maint_reembed_wake). A failure (embedding server down) is logged and retried
 * after MNEMO_MAINT_REEMBED_RETRY_MS. A stop is seen between two observations.
 */
#include <stdlib.h>

#include "memory/obs.h"
#include "search/hybrid.h"
#include "service/maint_int.h"
#include "util/clock.h"
#include "util/config.h"

static size_t batch_size(struct mnemo_worker *w)
{
    const struct mnemo_config *c = mnemo_worker_config_ref(w);
    int64_t b = mnemo_config_int(c, "reembed.batch");
    mnemo_worker_config_unref(w, c);
    if (b < 1)
        b = 1;
    if (b > MNEMO_OBS_LIST_MAX)
        b = MNEMO_OBS_LIST_MAX;
    return (size_t)b;
}

static void set_progress(struct mnemo_maint *m, int running, int64_t pending, int64_t done)
{
    pthread_mutex_lock(&m->mu);
    m->stats.reembed_running = running;
    m->stats.reembed_pending = pending > 0 ? pending : 0;
    m->stats.reembedded += done;
    pthread_mutex_unlock(&m->mu);
}

/* Pauses for ms unless a stop comes first. */
static void pause_ms(struct mnemo_maint *m, int64_t ms)
{
    int64_t until = mnemo_deadline_in_ms(ms);
    pthread_mutex_lock(&m->mu);
    while (!atomic_load(&m->stop) && mnemo_deadline_left_ns(until) > 0)
        mnemo__maint_wait_until(&m->reembed_cv, &m->mu, until);
    pthread_mutex_unlock(&m->mu);
}

/*
 * One pass over everything missing. Returns 0 when nothing is left (or on stop), else the
 * error that ended it (logged here).
 */
static int reembed_pass(struct mnemo_maint *m, int64_t *ids)
{
    struct mnemo_worker *w = m->w;
    const char *model = mnemo_embed_model_id(w->emb);
    int64_t after = 0, total = 0, done_total = 0;
    struct mnemo_err e = {0};
    int rc = 0, first = 1;
    while (!atomic_load(&m->stop)) {
        size_t n = 0, max = batch_size(w);
        rc =
            mnemo_obs_missing_vectors(w->st, model, after, ids, max, &n, first ? &total : NULL, &e);
        if (rc != 0 || n == 0)
            break;
        if (first)
            set_progress(m, 1, total, 0);
        first = 0;
        int64_t done = 0;
        for (size_t i = 0; i < n && rc == 0 && !atomic_load(&m->stop); i++) {
            rc = mnemo_search_embed_obs(w->st, w->vx, w->emb, ids[i],
                                        mnemo_deadline_in_ms(MNEMO_MAINT_REEMBED_EMBED_TIMEOUT_MS),
                                        &e);
            if (rc == MNEMO_ENOTFOUND) /* deleted meanwhile: nothing to embed */
                rc = 0;
            else if (rc == 0)
                done++;
            after = ids[i];
        }
        done_total += done;
        set_progress(m, rc == 0, total - done_total, done);
        if (rc != 0)
            break;
        pause_ms(m, MNEMO_MAINT_REEMBED_YIELD_MS);
    }
    if (rc != 0) {
        mnemo_log_write(w->log, MNEMO_LOG_WARN, "background re-embedding failed",
                        "model=%s embedded=%lld error=\"%s\"", model, (long long)done_total,
                        mnemo_err_text(&e, rc));
        set_progress(m, 0, total - done_total, 0);
    } else {
        set_progress(m, 0, atomic_load(&m->stop) ? total - done_total : 0, 0);
        if (done_total > 0)
            mnemo_log_write(w->log, MNEMO_LOG_INFO, "background re-embedding done",
                            "model=%s embedded=%lld", model, (long long)done_total);
    }
    return rc;
}

void *mnemo__maint_reembed_main(void *arg)
{
    struct mnemo_maint *m = arg;
    struct mnemo_worker *w = m->w;
    int enabled = w->emb != NULL && mnemo_embed_enabled(w->emb);
    int64_t *ids = enabled ? calloc(MNEMO_OBS_LIST_MAX, sizeof *ids) : NULL;
    if (enabled && ids == NULL) {
        mnemo_log_write(w->log, MNEMO_LOG_ERROR, "background re-embedding disabled",
                        "error=\"out of memory\"");
        enabled = 0;
    }
    int64_t retry_at = 0; /* after a failure: when to try again without a wake-up */
    pthread_mutex_lock(&m->mu);
    while (!atomic_load(&m->stop)) {
        if (!m->reembed_wake || !enabled) {
            if (retry_at != 0 && mnemo_clock_mono_ns() >= retry_at)
                m->reembed_wake = enabled;
            else if (retry_at != 0)
                mnemo__maint_wait_until(&m->reembed_cv, &m->mu, retry_at);
            else
                pthread_cond_wait(&m->reembed_cv, &m->mu);
            continue;
        }
        m->reembed_wake = 0;
        pthread_mutex_unlock(&m->mu);
        int rc = reembed_pass(m, ids);
        pthread_mutex_lock(&m->mu);
        retry_at =
            rc != 0 ? mnemo_clock_mono_ns() + MNEMO_MAINT_REEMBED_RETRY_MS * MNEMO_NS_PER_MS : 0;
    }
    pthread_mutex_unlock(&m->mu);
    free(ids);
    return NULL;
}
