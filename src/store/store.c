/*
 * store.c - configuration, open and close.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/clock.h"
#include "util/fs.h"

/* How long close waits for connections a caller forgot to release before giving up. */
#define CLOSE_WAIT_MS 5000
/* The bound on the final TRUNCATE checkpoint at close. */
#define CLOSE_CHECKPOINT_MS 2000

void mnemo_store_config_init(struct mnemo_store_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_conns = 4;
    cfg->conn_max_lifetime_ns = 3600 * MNEMO_NS_PER_S;
    cfg->conn_max_idle_ns = 1800 * MNEMO_NS_PER_S;
    cfg->busy_timeout_ms = 5000;
    cfg->cache_size = -64000;
    cfg->journal_size_limit = INT64_C(8) * 1024 * 1024;
    cfg->wal_autocheckpoint = 1000;
    cfg->temp_store = 2;
    cfg->mmap_size = 0;
    cfg->checkpoint_interval_ms = 60 * 1000;
    cfg->checkpoint_threshold_bytes = INT64_C(4) * 1024 * 1024;
    cfg->checkpoint_poll_ms = 250;
    cfg->checkpoint_busy_timeout_ms = 20;
    cfg->health_ttl_ms = 5000;
    cfg->slow_op_ms = MNEMO_STORE_SLOW_OP_MS;
}

void mnemo__ns_to_timespec(int64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / MNEMO_NS_PER_S);
    ts->tv_nsec = (long)(ns % MNEMO_NS_PER_S);
}

int mnemo__tlock_init(struct mnemo__tlock *l)
{
    pthread_condattr_t ca;
    l->held = 0;
    if (pthread_condattr_init(&ca) != 0)
        return MNEMO_ENOMEM;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return MNEMO_ENOMEM;
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        pthread_cond_destroy(&l->cv);
        return MNEMO_ENOMEM;
    }
    return 0;
}

void mnemo__tlock_destroy(struct mnemo__tlock *l)
{
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
}

int mnemo__tlock_acquire(struct mnemo__tlock *l, int64_t deadline_ns)
{
    struct timespec ts;
    int rc = 0;
    mnemo__ns_to_timespec(deadline_ns, &ts);
    pthread_mutex_lock(&l->mu);
    while (l->held && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&l->cv, &l->mu, &ts);
    int got = !l->held;
    if (got)
        l->held = 1;
    pthread_mutex_unlock(&l->mu);
    return got ? 0 : MNEMO_ETIMEDOUT;
}

void mnemo__tlock_release(struct mnemo__tlock *l)
{
    pthread_mutex_lock(&l->mu);
    assert(l->held);
    l->held = 0;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static int config_check(const struct mnemo_store_config *c, struct mnemo_err *err)
{
    const char *bad = NULL;
    if (!c->path || !c->path[0])
        bad = "path";
    else if (c->max_conns < 1 || c->max_conns > 64)
        bad = "max_conns (1..64)";
    else if (c->conn_max_lifetime_ns < 0 || c->conn_max_idle_ns < 0)
        bad = "connection lifetime/idle time";
    else if (c->busy_timeout_ms <= 0)
        bad = "busy_timeout_ms";
    else if (c->temp_store < 0 || c->temp_store > 2)
        bad = "temp_store (0..2)";
    else if (c->mmap_size < 0 || c->journal_size_limit < -1)
        bad = "mmap_size/journal_size_limit";
    else if (c->checkpoint_interval_ms <= 0 || c->checkpoint_threshold_bytes <= 0 ||
             c->checkpoint_busy_timeout_ms <= 0 || c->checkpoint_poll_ms <= 0)
        bad = "checkpoint settings";
    else if (c->health_ttl_ms < 0 || c->slow_op_ms < 0 || c->min_free_bytes < 0)
        bad = "health_ttl_ms/slow_op_ms/min_free_bytes";
    else if (c->n_migrations < 0 || (c->n_migrations > 0 && !c->migrations))
        bad = "migrations";
    if (bad)
        return mnemo_err_set(err, MNEMO_EINVAL, "invalid store configuration: %s", bad);
    return mnemo__migrations_validate(c->migrations, c->n_migrations, err);
}

/*
 * Checks the file and its directory with stat()/access() only, so the common mistakes get a
 * precise message instead of SQLite's generic "unable to open database file".
 */
static int precheck_paths(const struct mnemo_store *st, unsigned flags, struct mnemo_err *err)
{
    struct stat sb;
    if (stat(st->dir, &sb) != 0)
        return mnemo_err_set(err, mnemo_fs_errno_rc(errno),
                             "cannot open database '%s': directory '%s': %s", st->path, st->dir,
                             strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "cannot open database '%s': '%s' is not a directory", st->path,
                             st->dir);
    if (access(st->dir, W_OK | X_OK) != 0)
        return mnemo_err_set(err, MNEMO_EACCES,
                             "cannot open database '%s': directory '%s' is not writable (SQLite "
                             "creates the -wal and -shm files beside the database): %s",
                             st->path, st->dir, strerror(errno));
    if (stat(st->path, &sb) != 0) {
        if (errno == ENOENT && (flags & MNEMO_STORE_CREATE))
            return 0;
        if (errno == ENOENT)
            return mnemo_err_set(err, MNEMO_ENOTFOUND, "database '%s' does not exist", st->path);
        return mnemo_err_set(err, mnemo_fs_errno_rc(errno), "cannot open database '%s': %s",
                             st->path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode))
        return mnemo_err_set(err, MNEMO_EINVAL, "cannot open database '%s': not a regular file",
                             st->path);
    if (access(st->path, R_OK | W_OK) != 0)
        return mnemo_err_set(err, MNEMO_EACCES,
                             "cannot open database '%s': file is not readable and writable: %s",
                             st->path, strerror(errno));
    return 0;
}

static int init_sync(struct mnemo_store *st)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return MNEMO_ENOMEM;
    /* Deadlines are monotonic; the condition variables must time out on the same clock. */
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&st->pool_cv, &ca);
    if (rc == 0 && (rc = pthread_cond_init(&st->thr_cv, &ca)) != 0)
        pthread_cond_destroy(&st->pool_cv);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return MNEMO_ENOMEM;
    if (mnemo__tlock_init(&st->write_lock) != 0) {
        pthread_cond_destroy(&st->pool_cv);
        pthread_cond_destroy(&st->thr_cv);
        return MNEMO_ENOMEM;
    }
    if (mnemo__tlock_init(&st->ckpt_lock) != 0) {
        mnemo__tlock_destroy(&st->write_lock);
        pthread_cond_destroy(&st->pool_cv);
        pthread_cond_destroy(&st->thr_cv);
        return MNEMO_ENOMEM;
    }
    pthread_mutex_init(&st->pool_mu, NULL);
    pthread_mutex_init(&st->state_mu, NULL);
    pthread_mutex_init(&st->thr_mu, NULL);
    pthread_mutex_init(&st->health_mu, NULL);
    pthread_mutex_init(&st->metrics_mu, NULL);
    pthread_mutex_init(&st->space_mu, NULL);
    return 0;
}

static void destroy_sync(struct mnemo_store *st)
{
    pthread_cond_destroy(&st->pool_cv);
    pthread_cond_destroy(&st->thr_cv);
    pthread_mutex_destroy(&st->pool_mu);
    mnemo__tlock_destroy(&st->write_lock);
    mnemo__tlock_destroy(&st->ckpt_lock);
    pthread_mutex_destroy(&st->state_mu);
    pthread_mutex_destroy(&st->thr_mu);
    pthread_mutex_destroy(&st->health_mu);
    pthread_mutex_destroy(&st->metrics_mu);
    pthread_mutex_destroy(&st->space_mu);
}

static void free_store(struct mnemo_store *st)
{
    free(st->slots);
    free(st->path);
    free(st->wal_path);
    free(st->dir);
    free(st);
}

static int alloc_store(const struct mnemo_store_config *cfg, struct mnemo_store **out,
                       struct mnemo_err *err)
{
    struct mnemo_store *st = calloc(1, sizeof *st);
    size_t n = strlen(cfg->path);
    *out = NULL;
    if (!st)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    st->cfg = *cfg;
    st->cfg.path = NULL;
    st->cfg.migrations = NULL;
    st->cfg.n_migrations = 0;
    st->log = cfg->log;
    st->path = strdup(cfg->path);
    st->wal_path = malloc(n + 5);
    st->dir = malloc(n + 2);
    st->slots = calloc((size_t)cfg->max_conns, sizeof *st->slots);
    if (!st->path || !st->wal_path || !st->dir || !st->slots) {
        free_store(st);
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    snprintf(st->wal_path, n + 5, "%s-wal", cfg->path);
    if (mnemo_fs_dirname(cfg->path, st->dir, n + 2) != 0) {
        free_store(st);
        return mnemo_err_set(err, MNEMO_EINVAL, "invalid database path '%s'", cfg->path);
    }
    if (init_sync(st) != 0) {
        free_store(st);
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot initialise store locks");
    }
    *out = st;
    return 0;
}

/* Opens the rest of the pool up front so the first operations do not pay the connect cost.
 * A failure here is not fatal: the pool opens connections on demand later. */
static void warm_pool(struct mnemo_store *st)
{
    for (int i = 1; i < st->cfg.max_conns; i++) {
        struct mnemo_conn *c = NULL;
        struct mnemo_err e = {0};
        int64_t deadline = mnemo_deadline_in_ms(MNEMO_STORE_TIMEOUT_FAST_MS * 2);
        if (mnemo__conn_open(st, 0, st->cfg.busy_timeout_ms, deadline, &c, &e) != 0) {
            mnemo_log_write(st->log, MNEMO_LOG_WARN, "pool warm-up failed", "error=\"%s\"", e.msg);
            return;
        }
        pthread_mutex_lock(&st->pool_mu);
        c->slot = i;
        st->slots[i] = c;
        st->n_open++;
        c->returned_ns = mnemo_clock_mono_ns();
        c->next_idle = st->idle;
        st->idle = c;
        pthread_mutex_unlock(&st->pool_mu);
    }
}

int mnemo_store_open(const struct mnemo_store_config *cfg, struct mnemo_store **out,
                     struct mnemo_err *err)
{
    struct mnemo_store *st = NULL;
    struct mnemo_conn *first = NULL;
    int rc;

    *out = NULL;
    if ((rc = config_check(cfg, err)) != 0)
        return rc;
    if ((rc = alloc_store(cfg, &st, err)) != 0)
        return rc;
    if ((rc = precheck_paths(st, cfg->flags, err)) != 0)
        goto fail;
    rc = mnemo__conn_open(st, (cfg->flags & MNEMO_STORE_CREATE) != 0, st->cfg.busy_timeout_ms,
                          mnemo_deadline_in_ms(MNEMO_STORE_TIMEOUT_DEFAULT_MS), &first, err);
    if (rc != 0)
        goto fail;
    mnemo__space_remember_file(st);
    mnemo__conn_begin_op(first, "migrate", mnemo_clock_mono_ns(),
                         mnemo_deadline_in_ms(MNEMO_STORE_TIMEOUT_SLOW_MS));
    rc = mnemo__migrate(st, first, cfg->migrations, cfg->n_migrations, err);
    mnemo__conn_end_op(first);
    if (rc != 0)
        goto fail;

    first->slot = 0;
    first->op = NULL;
    first->returned_ns = mnemo_clock_mono_ns();
    st->slots[0] = first;
    st->n_open = 1;
    st->idle = first;
    first = NULL;
    if (!(cfg->flags & MNEMO_STORE_NO_WARMUP))
        warm_pool(st);
    if (!(cfg->flags & MNEMO_STORE_NO_CHECKPOINTER) &&
        (rc = mnemo__checkpointer_start(st, err)) != 0)
        goto fail_open;
    mnemo_log_write(st->log, MNEMO_LOG_DEBUG, "store opened", "path=%s schema_version=%d pool=%d",
                    st->path, st->schema_version, st->cfg.max_conns);
    *out = st;
    return 0;

fail_open:
    mnemo__pool_shutdown(st);
fail:
    mnemo__conn_close(first);
    destroy_sync(st);
    free_store(st);
    return rc;
}

/* Waits for connections still out; a caller bug, but freeing under them would be worse. */
static int wait_released(struct mnemo_store *st)
{
    struct timespec ts;
    mnemo__ns_to_timespec(mnemo_deadline_in_ms(CLOSE_WAIT_MS), &ts);
    pthread_mutex_lock(&st->pool_mu);
    while (st->n_in_use > 0)
        if (pthread_cond_timedwait(&st->pool_cv, &st->pool_mu, &ts) == ETIMEDOUT)
            break;
    int left = st->n_in_use;
    pthread_mutex_unlock(&st->pool_mu);
    return left;
}

int mnemo_store_close(struct mnemo_store *st)
{
    if (!st)
        return 0;
    mnemo__checkpointer_stop(st);
    int in_use = mnemo__pool_shutdown(st);
    if (in_use > 0) {
        mnemo_log_write(st->log, MNEMO_LOG_ERROR, "store closing with connections in use",
                        "path=%s in_use=%d", st->path, in_use);
        if (wait_released(st) > 0) {
            /* The store stays allocated: the holders would otherwise touch freed memory. */
            return mnemo_err_set(NULL, MNEMO_EBUSY, "connections still in use");
        }
    }
    mnemo__health_close(st);
    int rc = mnemo__checkpoint_final(st, CLOSE_CHECKPOINT_MS);
    mnemo_log_write(st->log, MNEMO_LOG_DEBUG, "store closed", "path=%s wal_bytes=%" PRId64,
                    st->path, mnemo_store_wal_size(st));
    destroy_sync(st);
    free_store(st);
    return rc;
}

const char *mnemo_store_path(const struct mnemo_store *st)
{
    return st->path;
}

const struct mnemo_store_config *mnemo_store_config(const struct mnemo_store *st)
{
    return &st->cfg;
}

int mnemo_store_schema_version(const struct mnemo_store *st)
{
    return st->schema_version;
}
