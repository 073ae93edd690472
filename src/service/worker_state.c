/*
 * worker_state.c - the small accessors of struct mnemo_worker that routes and background
 * threads share: status names, readiness and the reload-safe config reference.
 */
#include <assert.h>

#include "service/worker.h"

const char *mnemo_worker_status_name(enum mnemo_worker_status s)
{
    switch (s) {
    case MNEMO_WORKER_STARTING:
        return "starting";
    case MNEMO_WORKER_READY:
        return "ready";
    case MNEMO_WORKER_ERROR:
        return "error";
    case MNEMO_WORKER_STOPPING:
        return "stopping";
    }
    return "unknown";
}

int mnemo_worker_ready(void *worker)
{
    struct mnemo_worker *w = worker;
    return atomic_load(&w->status) == MNEMO_WORKER_READY;
}

/*
 * The config is read often and replaced rarely (SIGHUP), so readers hold cfg_lock only long
 * enough to take a reference; the reload path waits for cfg_readers to drain before it frees
 * the old config.
 */
const struct mnemo_config *mnemo_worker_config_ref(struct mnemo_worker *w)
{
    int rc = pthread_mutex_lock(&w->cfg_lock);
    assert(rc == 0);
    (void)rc;
    const struct mnemo_config *c = w->cfg;
    w->cfg_readers++;
    pthread_mutex_unlock(&w->cfg_lock);
    return c;
}

void mnemo_worker_config_unref(struct mnemo_worker *w, const struct mnemo_config *c)
{
    (void)c;
    int rc = pthread_mutex_lock(&w->cfg_lock);
    assert(rc == 0);
    (void)rc;
    assert(w->cfg_readers > 0);
    if (--w->cfg_readers == 0)
        pthread_cond_broadcast(&w->cfg_idle);
    pthread_mutex_unlock(&w->cfg_lock);
}
