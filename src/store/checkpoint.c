/*
 * checkpoint.c - the WAL's owner: TRUNCATE checkpoints on a dedicated connection, the
 * background checkpointer that keeps the WAL under its threshold and reports starvation,
 * and the maintenance operations built on them (optimize, integrity checks).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store/store_int.h"
#include "util/clock.h"

/* Consecutive stalls after which the starvation warning repeats only every Nth time. */
#define STALL_LOG_EVERY 10

int64_t mnemo_store_wal_size(const struct mnemo_store *st)
{
    /* stat() only: opening and closing any descriptor of a database file would drop this
     * process's POSIX locks on it and let another process delete the live WAL. */
    struct stat sb;
    if (stat(st->wal_path, &sb) != 0)
        return 0;
    return (int64_t)sb.st_size;
}

/* Records the outcome and counts checkpoints that did not advance. Returns the stall count. */
static int record_checkpoint(struct mnemo_store *st, const struct mnemo_store_checkpoint_result *r)
{
    int stalled = r->rc != 0 || r->busy || (r->log_frames > 0 && r->checkpointed < r->log_frames);
    pthread_mutex_lock(&st->state_mu);
    st->last_ckpt = *r;
    st->ckpt_stalls = stalled ? st->ckpt_stalls + 1 : 0;
    int stalls = st->ckpt_stalls;
    pthread_mutex_unlock(&st->state_mu);
    return stalls;
}

/*
 * The two passes on the checkpoint connection (caller holds ckpt_lock). PASSIVE first: it
 * copies every frame it can without waiting for anyone and without blocking writers. Then
 * TRUNCATE, which holds the writer lock while it copies the rest and waits for readers to
 * leave the WAL; with the copying mostly done, writers are held back only briefly.
 */
static int checkpoint_passes(struct mnemo_store *st, struct mnemo_conn *c,
                             struct mnemo_store_checkpoint_result *r, struct mnemo_err *err)
{
    int log_frames = -1, ckpt_frames = -1;
    (void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    int src = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                        &ckpt_frames);
    r->log_frames = log_frames;
    r->checkpointed = ckpt_frames;
    r->wal_after = mnemo_store_wal_size(st);
    if (src == SQLITE_OK)
        return 0;
    if ((src & 0xff) == SQLITE_BUSY) {
        /* Frames were copied as far as possible but the WAL was not reset: a reader still
         * uses it, a writer held the lock, or another connection was checkpointing. */
        r->busy = 1;
        return mnemo_err_set(err, MNEMO_EBUSY,
                             "checkpoint of '%s' could not finish: %d of %d frames copied, WAL "
                             "%" PRId64 " bytes (a reader or writer holds it)",
                             st->path, ckpt_frames, log_frames, r->wal_after);
    }
    return mnemo_conn_error(c, src, "wal_checkpoint", err);
}

int mnemo_store_checkpoint(struct mnemo_store *st, int64_t timeout_ms,
                           struct mnemo_store_checkpoint_result *out, struct mnemo_err *err)
{
    struct mnemo_store_checkpoint_result r = {0};
    int64_t start = mnemo_clock_mono_ns();
    int64_t deadline = mnemo_deadline_in_ms(timeout_ms);
    int rc;

    r.log_frames = -1;
    r.checkpointed = -1;
    r.wal_before = r.wal_after = mnemo_store_wal_size(st);
    if (mnemo__tlock_acquire(&st->ckpt_lock, deadline) != 0) {
        rc = mnemo_err_set(err, MNEMO_ETIMEDOUT,
                           "checkpoint of '%s' timed out waiting for another checkpoint", st->path);
        goto out_unlocked;
    }
    if (!st->ckpt_conn) {
        rc = mnemo__conn_open(st, 0, st->cfg.checkpoint_busy_timeout_ms, deadline, &st->ckpt_conn,
                              err);
        if (rc != 0)
            goto out;
    }
    mnemo__conn_begin_op(st->ckpt_conn, "checkpoint", start, deadline);
    rc = checkpoint_passes(st, st->ckpt_conn, &r, err);
    mnemo__conn_end_op(st->ckpt_conn);
out:
    mnemo__tlock_release(&st->ckpt_lock);
out_unlocked:
    r.rc = rc;
    r.duration_ns = mnemo_clock_mono_ns() - start;
    r.at_ms = mnemo_clock_wall_ms();
    record_checkpoint(st, &r);
    if (rc == 0)
        mnemo_log_write(st->log, MNEMO_LOG_DEBUG, "checkpoint",
                        "path=%s wal_before=%" PRId64 " wal_after=%" PRId64 " ms=%" PRId64,
                        st->path, r.wal_before, r.wal_after, r.duration_ns / MNEMO_NS_PER_MS);
    if (out)
        *out = r;
    return rc;
}

int mnemo_store_checkpoint_if_large(struct mnemo_store *st, int64_t threshold, int64_t timeout_ms,
                                    int *did, struct mnemo_store_checkpoint_result *out,
                                    struct mnemo_err *err)
{
    *did = 0;
    if (out)
        memset(out, 0, sizeof *out);
    if (mnemo_store_wal_size(st) < threshold)
        return 0;
    *did = 1;
    return mnemo_store_checkpoint(st, timeout_ms, out, err);
}

/* Says what is known about a checkpoint that did not advance: the WAL, the frames, and the
 * operation that has held a pooled connection longest (the usual pinning reader). */
static void report_stall(struct mnemo_store *st, const struct mnemo_store_checkpoint_result *r,
                         int stalls)
{
    char op[64], q[128];
    int64_t held_ns = 0;
    struct mnemo_store_pool_stats ps;
    if (stalls != 1 && stalls % STALL_LOG_EVERY != 0)
        return;
    int found = mnemo__pool_oldest_user(st, op, sizeof op, &held_ns);
    mnemo_store_pool_stats(st, &ps);
    mnemo_log_write(st->log, MNEMO_LOG_WARN, "checkpoint starved: WAL not reset",
                    "path=%s wal_bytes=%" PRId64 " log_frames=%d checkpointed=%d consecutive=%d "
                    "pool_in_use=%d oldest_op=%s oldest_held_ms=%" PRId64
                    " leaked_statements=%" PRId64,
                    st->path, r->wal_after, r->log_frames, r->checkpointed, stalls, ps.in_use,
                    found ? mnemo_log_quote(q, sizeof q, op) : "none", held_ns / MNEMO_NS_PER_MS,
                    ps.leaked_statements);
}

/*
 * Checkpoints when the WAL has reached the threshold. Returns the backoff in milliseconds
 * before the next attempt may run: 0 after success; while checkpoints keep failing to reset
 * the WAL, a growing pause (10 ms, 20 ms, ... up to twenty busy timeouts, 5 s by default). Each
 * failed TRUNCATE has held writers back for up to its busy timeout, so a WAL pinned by a reader
 * must not be retried in a tight loop; a checkpoint that lost a race with a writer's automatic one
 * is retried almost at once.
 */
static int64_t checkpointer_check(struct mnemo_store *st, int64_t backoff_ms)
{
    /* Long enough that a pinned WAL costs writers at most one busy timeout in twenty; short
     * enough that once the reader is gone the WAL is reclaimed within seconds. */
    int64_t max_backoff = st->cfg.checkpoint_busy_timeout_ms * 20;
    if (max_backoff > st->cfg.checkpoint_interval_ms)
        max_backoff = st->cfg.checkpoint_interval_ms;
    struct mnemo_store_checkpoint_result r;
    struct mnemo_err e = {0};

    int64_t timeout = st->cfg.checkpoint_busy_timeout_ms + MNEMO_STORE_TIMEOUT_FAST_MS;
    if (mnemo_store_wal_size(st) < st->cfg.checkpoint_threshold_bytes)
        return 0;
    int rc = mnemo_store_checkpoint(st, timeout, &r, &e);
    if (rc == 0 && r.wal_after < st->cfg.checkpoint_threshold_bytes)
        return 0;
    int stalls;
    pthread_mutex_lock(&st->state_mu);
    stalls = st->ckpt_stalls;
    pthread_mutex_unlock(&st->state_mu);
    if (rc != 0 && rc != MNEMO_EBUSY)
        mnemo_log_write(st->log, MNEMO_LOG_ERROR, "checkpoint failed", "path=%s error=%s", st->path,
                        mnemo_rcname(rc));
    report_stall(st, &r, stalls > 0 ? stalls : 1);
    backoff_ms = backoff_ms ? backoff_ms * 2 : 10;
    return backoff_ms > max_backoff ? max_backoff : backoff_ms;
}

void mnemo__checkpointer_kick(struct mnemo_store *st)
{
    if (!st->thr_started || mnemo_store_wal_size(st) < st->cfg.checkpoint_threshold_bytes)
        return;
    pthread_mutex_lock(&st->thr_mu);
    st->thr_kick = 1;
    pthread_cond_signal(&st->thr_cv);
    pthread_mutex_unlock(&st->thr_mu);
}

/*
 * Sleeps until the next poll, the next period, or a writer's kick (ignored while backing
 * off). Every poll period and on each kick: checkpoint once the WAL has reached the
 * threshold. Every interval: also recycle idle and expired connections, dropping any read
 * marks they hold.
 */
static void *checkpointer_main(void *arg)
{
    struct mnemo_store *st = arg;
    int64_t backoff = 0;
    int64_t next_period = mnemo_deadline_in_ms(st->cfg.checkpoint_interval_ms);
    pthread_mutex_lock(&st->thr_mu);
    while (!st->thr_stop) {
        struct timespec ts;
        int64_t wake = mnemo_deadline_in_ms(backoff ? backoff : st->cfg.checkpoint_poll_ms);
        if (wake > next_period)
            wake = next_period;
        mnemo__ns_to_timespec(wake, &ts);
        while (!st->thr_stop && !(st->thr_kick && !backoff)) {
            if (pthread_cond_timedwait(&st->thr_cv, &st->thr_mu, &ts) == ETIMEDOUT)
                break;
        }
        st->thr_kick = 0;
        if (st->thr_stop)
            break;
        pthread_mutex_unlock(&st->thr_mu);
        if (mnemo_clock_mono_ns() >= next_period) {
            mnemo__pool_reap(st);
            next_period = mnemo_deadline_in_ms(st->cfg.checkpoint_interval_ms);
        }
        backoff = checkpointer_check(st, backoff);
        pthread_mutex_lock(&st->thr_mu);
    }
    pthread_mutex_unlock(&st->thr_mu);
    return NULL;
}

int mnemo__checkpointer_start(struct mnemo_store *st, struct mnemo_err *err)
{
    int rc = pthread_create(&st->thr, NULL, checkpointer_main, st);
    if (rc != 0)
        return mnemo_err_set(err, MNEMO_ENOMEM, "cannot start the checkpointer thread: %s",
                             strerror(rc));
    st->thr_started = 1;
    return 0;
}

void mnemo__checkpointer_stop(struct mnemo_store *st)
{
    if (!st->thr_started)
        return;
    pthread_mutex_lock(&st->thr_mu);
    st->thr_stop = 1;
    pthread_cond_broadcast(&st->thr_cv);
    pthread_mutex_unlock(&st->thr_mu);
    pthread_join(st->thr, NULL);
    st->thr_started = 0;
}

int mnemo__checkpoint_final(struct mnemo_store *st, int64_t timeout_ms)
{
    struct mnemo_err e = {0};
    int rc = mnemo_store_checkpoint(st, timeout_ms, NULL, &e);
    if (rc != 0)
        mnemo_log_write(st->log, MNEMO_LOG_WARN, "checkpoint on close failed (non-fatal)",
                        "path=%s error=\"%s\"", st->path, e.msg);
    if (mnemo__tlock_acquire(&st->ckpt_lock, mnemo_deadline_in_ms(timeout_ms)) != 0)
        return MNEMO_ETIMEDOUT; /* cannot happen once the checkpointer has stopped */
    mnemo__conn_close(st->ckpt_conn);
    st->ckpt_conn = NULL;
    mnemo__tlock_release(&st->ckpt_lock);
    return rc;
}

static int optimize_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    (void)arg;
    int rc = mnemo_conn_exec(c, "ANALYZE", err);
    if (rc != 0)
        return rc;
    struct mnemo_err e = {0};
    if (mnemo_conn_exec(c, "PRAGMA optimize", &e) != 0)
        mnemo_log_write(c->st->log, MNEMO_LOG_WARN, "PRAGMA optimize failed (non-fatal)",
                        "error=\"%s\"", e.msg);
    return 0;
}

int mnemo_store_optimize(struct mnemo_store *st, int64_t timeout_ms, struct mnemo_err *err)
{
    int64_t deadline = mnemo_deadline_in_ms(timeout_ms);
    int rc = mnemo_store_write(st, "optimize", timeout_ms, optimize_fn, NULL, err);
    if (rc != 0)
        return rc;
    int64_t left_ms = mnemo_deadline_left_ns(deadline) / MNEMO_NS_PER_MS;
    struct mnemo_err e = {0};
    if (left_ms <= 0 || mnemo_store_checkpoint(st, left_ms, NULL, &e) != 0)
        mnemo_log_write(st->log, MNEMO_LOG_WARN, "checkpoint after optimize failed (non-fatal)",
                        "path=%s error=\"%s\"", st->path, left_ms <= 0 ? "no time left" : e.msg);
    return 0;
}

struct check_args {
    int full;
    struct mnemo_strbuf *problems;
    int n_problems;
};

static int check_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    struct check_args *a = arg;
    const char *sql = a->full ? "PRAGMA integrity_check(100)" : "PRAGMA quick_check(100)";
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return mnemo_conn_error(c, rc, sql, err);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(stmt, 0);
        if (!line || strcmp(line, "ok") == 0)
            continue;
        a->n_problems++;
        if (a->problems) {
            /* A full buffer only truncates the report; the count stays right. */
            (void)mnemo_strbuf_puts(a->problems, line);
            (void)mnemo_strbuf_puts(a->problems, "\n");
        }
    }
    int out = rc == SQLITE_DONE ? 0 : mnemo_conn_error(c, rc, sql, err);
    sqlite3_finalize(stmt);
    return out;
}

int mnemo_store_check(struct mnemo_store *st, int full, int64_t timeout_ms,
                      struct mnemo_strbuf *problems, struct mnemo_err *err)
{
    struct check_args a = {.full = full, .problems = problems};
    int rc = mnemo_store_read(st, full ? "integrity_check" : "quick_check", timeout_ms, check_fn,
                              &a, err);
    if (rc != 0)
        return rc;
    if (a.n_problems > 0)
        return mnemo_err_set(err, MNEMO_ECORRUPT, "database '%s' failed %s: %d problem(s)",
                             st->path, full ? "integrity_check" : "quick_check", a.n_problems);
    return 0;
}
