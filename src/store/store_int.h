/*
 * store_int.h - the store module's private structures and cross-file functions.
 *
 * Only the store's own .c files include this. Locking order (never take an earlier lock while
 * holding a later one): write_lock -> ckpt_lock -> health_mu -> pool_mu -> state_mu ->
 * metrics_mu; space_mu is a leaf (nothing is taken while it is held).
 */
#ifndef MNEMO_STORE_STORE_INT_H
#define MNEMO_STORE_STORE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/space.h"
#include "store/store.h"

/* Why a busy handler stopped waiting, so the error can say which limit ran out. */
enum mnemo__busy_end {
    MNEMO__BUSY_NONE = 0,
    MNEMO__BUSY_DEADLINE = 1, /* the operation's deadline */
    MNEMO__BUSY_TIMEOUT = 2,  /* the connection's busy timeout */
};

struct mnemo__cached_stmt {
    char *sql; /* owned copy: callers' strings may not outlive the connection */
    sqlite3_stmt *stmt;
    uint64_t last_use;
};

struct mnemo_conn {
    struct mnemo_store *st;
    sqlite3 *db;
    struct mnemo_conn *next_idle; /* idle stack link, under pool_mu */
    int slot;                     /* index in st->slots while pooled; -1 for dedicated conns */
    int in_use;                   /* under pool_mu */
    int64_t created_ns;
    int64_t returned_ns; /* when it last went back to the pool */

    /* The current operation. Written by the owning thread under pool_mu at acquire (so the
     * checkpointer can name who holds the WAL); read by the SQLite handlers on the owner. */
    const char *op;
    int64_t op_start_ns;
    int64_t deadline_ns; /* 0 = none */

    int busy_timeout_ms;
    int64_t busy_wait_start_ns;

    /* Statement cache, touched only by the owning thread. */
    struct mnemo__cached_stmt cache[MNEMO_CONN_STMT_CACHE];
    int n_cache;
    uint64_t use_clock;
    enum mnemo__busy_end busy_end;
    int deadline_hit; /* the progress handler interrupted at the deadline */
};

/*
 * A lock whose acquisition can time out on the monotonic clock. pthread_mutex_clocklock would
 * do, but ThreadSanitizer does not intercept it (it then reports every unlock as unlocking an
 * unheld mutex), so this is a mutex, a flag and a condition variable.
 */
struct mnemo__tlock {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC */
    int held;
};

struct mnemo__ring {
    int64_t samples[MNEMO_STORE_METRICS_WINDOW];
    int idx;
    int count;
    int64_t total;
    int64_t last_sample_ms;
};

struct mnemo_store {
    char *path;
    char *wal_path;
    char *dir;
    struct mnemo_store_config cfg; /* defaults filled in; path and migrations not kept */
    struct mnemo_log *log;
    int schema_version;

    /* Pool. */
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv; /* on CLOCK_MONOTONIC */
    struct mnemo_conn *idle;
    struct mnemo_conn **slots; /* cfg.max_conns entries; NULL where no connection is open */
    int n_open;
    int n_in_use;
    int closing;
    int peak_in_use;
    int64_t wait_count;
    int64_t wait_ns;
    int64_t closed_lifetime;
    int64_t closed_idle;
    int64_t leaked_stmts;
    int64_t leaked_txns;

    /* The single writer. */
    struct mnemo__tlock write_lock;

    /* Dedicated checkpoint connection (created on first use), under ckpt_lock. */
    struct mnemo__tlock ckpt_lock;
    struct mnemo_conn *ckpt_conn;

    /* Last checkpoint outcome, under state_mu. */
    pthread_mutex_t state_mu;
    struct mnemo_store_checkpoint_result last_ckpt;
    int ckpt_stalls;

    /* Background checkpointer. */
    pthread_mutex_t thr_mu;
    pthread_cond_t thr_cv; /* on CLOCK_MONOTONIC */
    pthread_t thr;
    int thr_started;
    int thr_stop;
    int thr_kick; /* a writer saw the WAL reach the threshold */

    /* Health cache and its probe connection, under health_mu. */
    pthread_mutex_t health_mu;
    struct mnemo_conn *probe_conn;
    struct mnemo_store_health cached;
    int have_cached;
    int64_t cached_mono_ns;

    /* Latency metrics, under metrics_mu. */
    pthread_mutex_t metrics_mu;
    struct mnemo__ring ring;

    /* Free-space floor and file identity (space.c), under space_mu, a leaf lock. */
    pthread_mutex_t space_mu;
    struct mnemo_store_space space;
    int64_t space_checked_ns; /* monotonic; 0 = never checked */
    dev_t file_dev;           /* the database file the store opened */
    ino_t file_ino;
    int have_file_id;
};

/* conn.c: the connect routine. busy_timeout_ms is the new connection's lock-wait limit and
 * deadline_ns bounds the pragmas' own lock waits. Returns 0 and *out, or an error naming the
 * pragma or cause; nothing is left open on failure. */
int mnemo__conn_open(struct mnemo_store *st, int create, int busy_timeout_ms, int64_t deadline_ns,
                     struct mnemo_conn **out, struct mnemo_err *err);

/* conn.c: closes the handle, finalizing statements nobody released, and frees conn. */
void mnemo__conn_close(struct mnemo_conn *conn);

/* conn.c: starts an operation on conn (resets the deadline bookkeeping). */
void mnemo__conn_begin_op(struct mnemo_conn *conn, const char *op, int64_t start_ns,
                          int64_t deadline_ns);

/* conn.c: ends the operation: no deadline applies to what follows (cleanup, rollback). */
void mnemo__conn_end_op(struct mnemo_conn *conn);

/* conn.c: ROLLBACK without a deadline, so cleanup itself cannot be interrupted. */
void mnemo__conn_rollback(struct mnemo_conn *conn);

/* pool.c: acquire for an operation that started at start_ns. */
int mnemo__pool_acquire(struct mnemo_store *st, const char *op, int64_t start_ns,
                        int64_t deadline_ns, struct mnemo_conn **out, struct mnemo_err *err);

/* pool.c: closes idle connections past their lifetime or idle time. */
void mnemo__pool_reap(struct mnemo_store *st);

/* pool.c: marks the pool closing and closes every idle connection. Returns how many
 * connections were still in use (a caller bug). */
int mnemo__pool_shutdown(struct mnemo_store *st);

/* pool.c: the oldest operation holding a pooled connection, for starvation reports.
 * Writes its name into op (size bytes) and how long it has held the connection. Returns 0
 * when no connection is in use. */
int mnemo__pool_oldest_user(struct mnemo_store *st, char *op, size_t size, int64_t *held_ns);

/* migrate.c: checks that versions are positive and increasing, each step with a name and
 * sql or fn. */
int mnemo__migrations_validate(const struct mnemo_store_migration *m, int n, struct mnemo_err *err);

/* migrate.c: applies cfg->migrations on conn; refuses a newer schema. */
int mnemo__migrate(struct mnemo_store *st, struct mnemo_conn *conn,
                   const struct mnemo_store_migration *migrations, int n, struct mnemo_err *err);

/* checkpoint.c: starts/stops the background checkpointer. */
int mnemo__checkpointer_start(struct mnemo_store *st, struct mnemo_err *err);
void mnemo__checkpointer_stop(struct mnemo_store *st);

/* checkpoint.c: called after each write commit; wakes the checkpointer at once when the WAL
 * has reached the threshold, so a burst of writes is not left to grow until the next poll. */
void mnemo__checkpointer_kick(struct mnemo_store *st);

/* checkpoint.c: closes the checkpoint connection after a final bounded TRUNCATE. */
int mnemo__checkpoint_final(struct mnemo_store *st, int64_t timeout_ms);

/* health.c: records an operation's latency and logs it when slow. */
void mnemo__store_op_done(struct mnemo_store *st, const char *op, int64_t start_ns, int rc);

/* space.c: remembers which file the store opened (device and inode), for the write guard. */
void mnemo__space_remember_file(struct mnemo_store *st);

/* space.c: folds the space state into a health snapshot after classification: a deleted or
 * replaced database file makes it unhealthy, a disk below the floor degraded. */
void mnemo__space_health(struct mnemo_store *st, struct mnemo_store_health *h);

/* health.c: closes the probe connection. */
void mnemo__health_close(struct mnemo_store *st);

/* store.c: initialises/destroys a timed lock. Returns 0 or MNEMO_ENOMEM. */
int mnemo__tlock_init(struct mnemo__tlock *l);
void mnemo__tlock_destroy(struct mnemo__tlock *l);

/* store.c: takes the lock, waiting until deadline_ns at most. Returns 0 or MNEMO_ETIMEDOUT. */
int mnemo__tlock_acquire(struct mnemo__tlock *l, int64_t deadline_ns);

/* store.c: releases a lock taken with mnemo__tlock_acquire. */
void mnemo__tlock_release(struct mnemo__tlock *l);

/* store.c: absolute monotonic timespec for pthread timed waits. */
struct timespec;
void mnemo__ns_to_timespec(int64_t ns, struct timespec *ts);

#endif
