/*
 * pool.c - the bounded connection pool: blocking acquire with a deadline, recycling by age and
 * idleness, and release hygiene that keeps a careless caller from pinning the WAL.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"
#include "util/clock.h"

static int conn_expired_lifetime(const struct mnemo_store *st, const struct mnemo_conn *c,
                                 int64_t now)
{
    return st->cfg.conn_max_lifetime_ns > 0 && now - c->created_ns >= st->cfg.conn_max_lifetime_ns;
}

static int conn_expired_idle(const struct mnemo_store *st, const struct mnemo_conn *c, int64_t now)
{
    return st->cfg.conn_max_idle_ns > 0 && now - c->returned_ns >= st->cfg.conn_max_idle_ns;
}

/* Removes c from the pool's books. Caller holds pool_mu. */
static void pool_forget(struct mnemo_store *st, struct mnemo_conn *c)
{
    if (c->slot >= 0)
        st->slots[c->slot] = NULL;
    c->slot = -1;
    st->n_open--;
}

/* Pops idle connections, sending expired ones to *dead. Caller holds pool_mu. */
static struct mnemo_conn *pool_pop_live(struct mnemo_store *st, int64_t now,
                                        struct mnemo_conn **dead)
{
    while (st->idle) {
        struct mnemo_conn *c = st->idle;
        st->idle = c->next_idle;
        c->next_idle = NULL;
        int old = conn_expired_lifetime(st, c, now);
        if (old || conn_expired_idle(st, c, now)) {
            if (old)
                st->closed_lifetime++;
            else
                st->closed_idle++;
            pool_forget(st, c);
            c->next_idle = *dead;
            *dead = c;
            continue;
        }
        return c;
    }
    return NULL;
}

static void close_list(struct mnemo_conn *dead)
{
    while (dead) {
        struct mnemo_conn *next = dead->next_idle;
        mnemo__conn_close(dead);
        dead = next;
    }
}

static int free_slot(const struct mnemo_store *st)
{
    for (int i = 0; i < st->cfg.max_conns; i++)
        if (!st->slots[i])
            return i;
    return -1;
}

int mnemo__pool_acquire(struct mnemo_store *st, const char *op, int64_t start_ns,
                        int64_t deadline_ns, struct mnemo_conn **out, struct mnemo_err *err)
{
    struct mnemo_conn *c = NULL, *dead = NULL;
    int create_slot = -1, waited = 0, rc = 0;
    int64_t wait_start = 0;
    struct timespec ts;

    *out = NULL;
    mnemo__ns_to_timespec(deadline_ns, &ts);
    pthread_mutex_lock(&st->pool_mu);
    for (;;) {
        if (st->closing) {
            rc = mnemo_err_set(err, MNEMO_ECLOSED, "store '%s' is closing (operation '%s')",
                               st->path, op);
            break;
        }
        int64_t now = mnemo_clock_mono_ns();
        if ((c = pool_pop_live(st, now, &dead)) != NULL)
            break;
        if (st->n_open < st->cfg.max_conns) {
            create_slot = free_slot(st);
            st->n_open++;
            break;
        }
        if (!waited) {
            waited = 1;
            wait_start = now;
        }
        int w = pthread_cond_timedwait(&st->pool_cv, &st->pool_mu, &ts);
        if (w == ETIMEDOUT && !st->idle && st->n_open >= st->cfg.max_conns) {
            rc = mnemo_err_set(err, MNEMO_ETIMEDOUT,
                               "operation '%s' timed out after %" PRId64
                               " ms waiting for a database connection (%d of %d in use)",
                               op, (mnemo_clock_mono_ns() - start_ns) / MNEMO_NS_PER_MS,
                               st->n_in_use, st->cfg.max_conns);
            break;
        }
    }
    if (waited) {
        st->wait_count++;
        st->wait_ns += mnemo_clock_mono_ns() - wait_start;
    }
    if (rc == 0 && c) {
        c->in_use = 1;
        st->n_in_use++;
        if (st->n_in_use > st->peak_in_use)
            st->peak_in_use = st->n_in_use;
        mnemo__conn_begin_op(c, op, start_ns, deadline_ns);
    }
    pthread_mutex_unlock(&st->pool_mu);
    close_list(dead);
    if (rc != 0 || c) {
        *out = c;
        return rc;
    }

    /* A new connection: the slot is reserved, the connect routine runs outside the lock. */
    rc = mnemo__conn_open(st, 0, st->cfg.busy_timeout_ms, deadline_ns, &c, err);
    pthread_mutex_lock(&st->pool_mu);
    if (rc != 0) {
        st->n_open--;
        pthread_cond_signal(&st->pool_cv);
    } else {
        c->slot = create_slot;
        st->slots[create_slot] = c;
        c->in_use = 1;
        st->n_in_use++;
        if (st->n_in_use > st->peak_in_use)
            st->peak_in_use = st->n_in_use;
        mnemo__conn_begin_op(c, op, start_ns, deadline_ns);
    }
    pthread_mutex_unlock(&st->pool_mu);
    *out = c;
    return rc;
}

int mnemo_store_acquire(struct mnemo_store *st, const char *op_name, int64_t deadline_ns,
                        struct mnemo_conn **out, struct mnemo_err *err)
{
    return mnemo__pool_acquire(st, op_name, mnemo_clock_mono_ns(), deadline_ns, out, err);
}

/*
 * Resets statements the user left mid-iteration and rolls back a transaction left open.
 * Either would keep a read mark in the WAL for as long as the connection sits in the pool,
 * and no checkpoint can move past a read mark: this is how the original's WAL grew without
 * bound. Returns 1 when the connection is clean afterwards.
 */
static int conn_scrub(struct mnemo_conn *c, int64_t *stmts, int64_t *txns)
{
    struct mnemo_log *log = c->st->log;
    const char *op = c->op ? c->op : "-";
    for (sqlite3_stmt *s = sqlite3_next_stmt(c->db, NULL); s; s = sqlite3_next_stmt(c->db, s)) {
        if (!sqlite3_stmt_busy(s))
            continue;
        char q[512];
        mnemo_log_write(log, MNEMO_LOG_WARN, "leaked statement reset at release", "op=%s sql=%s",
                        op, mnemo_log_quote(q, sizeof q, sqlite3_sql(s)));
        sqlite3_reset(s);
        (*stmts)++;
    }
    if (!sqlite3_get_autocommit(c->db)) {
        mnemo_log_write(log, MNEMO_LOG_WARN, "leaked transaction rolled back at release", "op=%s",
                        op);
        mnemo__conn_rollback(c);
        (*txns)++;
    }
    return sqlite3_get_autocommit(c->db);
}

void mnemo_store_release(struct mnemo_conn *conn)
{
    if (!conn)
        return;
    struct mnemo_store *st = conn->st;
    int64_t stmts = 0, txns = 0;
    mnemo__conn_end_op(conn);
    int clean = conn_scrub(conn, &stmts, &txns);
    int64_t now = mnemo_clock_mono_ns();
    int discard = 0;

    pthread_mutex_lock(&st->pool_mu);
    conn->in_use = 0;
    conn->op = NULL;
    st->n_in_use--;
    st->leaked_stmts += stmts;
    st->leaked_txns += txns;
    if (!clean || st->closing) {
        discard = 1;
    } else if (conn_expired_lifetime(st, conn, now)) {
        st->closed_lifetime++;
        discard = 1;
    }
    if (discard) {
        pool_forget(st, conn);
    } else {
        conn->returned_ns = now;
        conn->next_idle = st->idle;
        st->idle = conn;
    }
    pthread_cond_signal(&st->pool_cv);
    pthread_mutex_unlock(&st->pool_mu);
    if (discard)
        mnemo__conn_close(conn);
}

void mnemo__pool_reap(struct mnemo_store *st)
{
    struct mnemo_conn *dead = NULL, *keep = NULL;
    int64_t now = mnemo_clock_mono_ns();
    pthread_mutex_lock(&st->pool_mu);
    struct mnemo_conn *c;
    while ((c = pool_pop_live(st, now, &dead)) != NULL) {
        c->next_idle = keep;
        keep = c;
    }
    /* Put the survivors back in their original order (most recently used on top). */
    while (keep) {
        c = keep;
        keep = c->next_idle;
        c->next_idle = st->idle;
        st->idle = c;
    }
    pthread_mutex_unlock(&st->pool_mu);
    close_list(dead);
}

int mnemo__pool_shutdown(struct mnemo_store *st)
{
    struct mnemo_conn *dead = NULL;
    pthread_mutex_lock(&st->pool_mu);
    st->closing = 1;
    while (st->idle) {
        struct mnemo_conn *c = st->idle;
        st->idle = c->next_idle;
        pool_forget(st, c);
        c->next_idle = dead;
        dead = c;
    }
    int in_use = st->n_in_use;
    pthread_cond_broadcast(&st->pool_cv);
    pthread_mutex_unlock(&st->pool_mu);
    close_list(dead);
    return in_use;
}

int mnemo__pool_oldest_user(struct mnemo_store *st, char *op, size_t size, int64_t *held_ns)
{
    int found = 0;
    int64_t now = mnemo_clock_mono_ns(), oldest = now;
    op[0] = '\0';
    *held_ns = 0;
    pthread_mutex_lock(&st->pool_mu);
    for (int i = 0; i < st->cfg.max_conns; i++) {
        const struct mnemo_conn *c = st->slots[i];
        if (c && c->in_use && c->op_start_ns <= oldest) {
            oldest = c->op_start_ns;
            snprintf(op, size, "%s", c->op ? c->op : "-");
            found = 1;
        }
    }
    pthread_mutex_unlock(&st->pool_mu);
    if (found)
        *held_ns = now - oldest;
    return found;
}

void mnemo_store_pool_stats(struct mnemo_store *st, struct mnemo_store_pool_stats *out)
{
    pthread_mutex_lock(&st->pool_mu);
    out->max_open = st->cfg.max_conns;
    out->open = st->n_open;
    out->in_use = st->n_in_use;
    out->idle = st->n_open - st->n_in_use;
    out->wait_count = st->wait_count;
    out->wait_duration_ns = st->wait_ns;
    out->closed_max_lifetime = st->closed_lifetime;
    out->closed_max_idle = st->closed_idle;
    out->leaked_statements = st->leaked_stmts;
    out->leaked_transactions = st->leaked_txns;
    pthread_mutex_unlock(&st->pool_mu);
}
