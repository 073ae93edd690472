/*
 * store.h - mnemo's durable SQLite store: safe, bounded access to one database file.
 *
 * The store owns a bounded pool of connections, each configured by one connect routine
 * (deadline-aware busy handler, verified correctness pragmas, best-effort tuning pragmas),
 * a single-writer lock, per-operation deadlines, a checkpointer that keeps the WAL bounded,
 * migrations, and a cached health check. It knows nothing of observations: the layers above
 * pass their schema in as migrations and run their SQL inside mnemo_store_read/write.
 *
 * Thread-safety: a struct mnemo_store is safe to use from any number of threads at once,
 * except mnemo_store_open and mnemo_store_close. A struct mnemo_conn belongs to the thread
 * that acquired it until it is released, and so do its sqlite3 handle and statements.
 *
 * Errors: every function returns 0 or a negative enum mnemo_rc, with detail in the optional
 * struct mnemo_err naming the database file, the operation and the cause.
 */
#ifndef MNEMO_STORE_STORE_H
#define MNEMO_STORE_STORE_H

#include <stdint.h>

#include <sqlite3.h>

#include "util/err.h"
#include "util/log.h"
#include "util/strbuf.h"

/* Named operation timeouts, as in the original store. */
#define MNEMO_STORE_TIMEOUT_FAST_MS    1000
#define MNEMO_STORE_TIMEOUT_DEFAULT_MS 5000
#define MNEMO_STORE_TIMEOUT_SLOW_MS    30000

/* Operations slower than this are logged as slow, by name. */
#define MNEMO_STORE_SLOW_OP_MS 100

/* The largest WAL the health check accepts beyond the checkpoint threshold. */
#define MNEMO_STORE_WAL_SLACK_BYTES (INT64_C(8) * 1024 * 1024)

/* Open flags. */
enum mnemo_store_flags {
    /* Create the database file when it does not exist (its directory must exist). */
    MNEMO_STORE_CREATE = 1 << 0,
    /* Do not start the background checkpointer thread (one-shot CLI commands, tests). */
    MNEMO_STORE_NO_CHECKPOINTER = 1 << 1,
    /* Do not warm the pool at open. */
    MNEMO_STORE_NO_WARMUP = 1 << 2,
};

/*
 * One schema step. Steps run in ascending version order, each in its own BEGIN IMMEDIATE
 * transaction together with its row in schema_migrations, so a crash leaves either the whole
 * step or none of it. sql (may hold several statements) runs first, then fn when set.
 */
struct mnemo_store_migration {
    int version;      /* > 0, strictly increasing across the array */
    const char *name; /* short description, recorded in schema_migrations */
    const char *sql;  /* may be NULL when fn does the work */
    int (*fn)(sqlite3 *db, struct mnemo_err *err); /* may be NULL */
};

struct mnemo_store_config {
    const char *path; /* database file; borrowed for the duration of mnemo_store_open */
    unsigned flags;   /* enum mnemo_store_flags */

    int max_conns;                /* pool size; default 4 */
    int64_t conn_max_lifetime_ns; /* recycle a connection this old; default 1 h; 0 = never */
    int64_t conn_max_idle_ns;     /* close a connection idle this long; default 30 min; 0 = never */

    int busy_timeout_ms;        /* longest single lock wait; default 5000 */
    int cache_size;             /* PRAGMA cache_size; default -64000 (64 MB) */
    int64_t journal_size_limit; /* bytes; default 8 MiB */
    int wal_autocheckpoint;     /* pages; default 1000 */
    int temp_store;             /* 0 default, 1 file, 2 memory; default 2 */
    /*
     * Default 0 (off). With mmap an I/O error on a mapped page is delivered as SIGBUS and
     * kills the process instead of returning an error, so it stays off unless a benchmark on
     * the target machine justifies it.
     */
    int64_t mmap_size;

    int64_t checkpoint_interval_ms;     /* checkpointer period; default 60 s */
    int64_t checkpoint_threshold_bytes; /* TRUNCATE when the -wal reaches this; default 4 MiB */
    /*
     * Between periods the checkpointer stat()s the -wal this often and checkpoints as soon as
     * it reaches the threshold, so a burst of writes cannot grow it for a whole interval.
     * Default 250 ms (a stat() costs about a microsecond).
     */
    int64_t checkpoint_poll_ms;
    /* The checkpoint connection's own lock wait. TRUNCATE holds the writer lock while it waits
     * for readers, so this bounds how long a checkpoint can hold writers back. Default 20: at
     * 250 every checkpoint that met a reader stalled event appends for 250 ms (bench_worker:
     * append p99 248 ms at 250, 12 ms at 20); a TRUNCATE that gives up is retried with backoff
     * and the PASSIVE pass before it has already copied what it could. */
    int checkpoint_busy_timeout_ms;

    /*
     * Write transactions are refused with MNEMO_ENOSPC while the database's file system has
     * less than this many bytes available (store/space.h), so a full disk leaves room for the
     * checkpoint and the deletes that recover from it. Default 0 (no floor); the worker sets
     * it from the config key store.min_free_bytes.
     */
    int64_t min_free_bytes;

    int64_t health_ttl_ms; /* health cache lifetime; default 5000 */
    int64_t slow_op_ms;    /* slow-operation log threshold; default 100 */

    const struct mnemo_store_migration *migrations; /* borrowed during open; may be NULL */
    int n_migrations;

    struct mnemo_log *log; /* borrowed for the store's lifetime; NULL discards logs */

    /* Name of a registered sqlite3_vfs every connection opens with (borrowed for the store's
     * lifetime); NULL (the default) is SQLite's default VFS. The fault-injection tests use it
     * (tests/torture/vfs_fault.h). */
    const char *vfs;
};

/* Fills cfg with the defaults above (path, migrations and log NULL). */
void mnemo_store_config_init(struct mnemo_store_config *cfg);

struct mnemo_store;
struct mnemo_conn;

/*
 * Opens (and with MNEMO_STORE_CREATE creates) the database at cfg->path, checks that it is a
 * usable SQLite database before anything is written to it, applies pending migrations,
 * warms the pool and starts the checkpointer. A missing or unwritable directory, a file that
 * is not a database, a corrupt database, a full disk or a schema newer than cfg->migrations
 * knows each fail with a message naming the file and the cause, and leave the file as it was.
 * On success the caller owns *out and frees it with mnemo_store_close.
 */
int mnemo_store_open(const struct mnemo_store_config *cfg, struct mnemo_store **out,
                     struct mnemo_err *err);

/*
 * Stops the checkpointer, closes the pool, runs a bounded best-effort TRUNCATE checkpoint
 * and closes the last connection, so a clean close leaves no -wal file behind. Every
 * connection must have been released. NULL is a no-op. Returns 0, or the checkpoint's error
 * (the store is freed either way).
 */
int mnemo_store_close(struct mnemo_store *st);

/* The database path (borrowed for the store's lifetime). */
const char *mnemo_store_path(const struct mnemo_store *st);

/* The configuration in force, defaults filled in (borrowed; path/migrations not valid). */
const struct mnemo_store_config *mnemo_store_config(const struct mnemo_store *st);

/* The highest applied migration version. */
int mnemo_store_schema_version(const struct mnemo_store *st);

/* ---- connections and deadlines ---------------------------------------------------------- */

/*
 * Takes a connection from the pool for operation op_name (a string literal or other storage
 * that outlives the connection's use), waiting at most until deadline_ns (absolute, from
 * mnemo_clock_mono_ns / mnemo_deadline_in_ms). The connection carries the deadline: SQL that
 * runs past it is interrupted (SQLITE_INTERRUPT) and lock waits end at it (SQLITE_BUSY).
 * Expired connections are recycled here and come back fully configured.
 * Returns 0 and *out, MNEMO_ETIMEDOUT when no connection frees up in time, MNEMO_ECLOSED, or
 * the connect routine's error (naming the pragma that failed).
 */
int mnemo_store_acquire(struct mnemo_store *st, const char *op_name, int64_t deadline_ns,
                        struct mnemo_conn **out, struct mnemo_err *err);

/*
 * Returns a connection to the pool. A statement the user stepped and left unreset is reset,
 * and an open transaction is rolled back, each logged as a leak with its SQL, because either
 * would hold a WAL read mark and starve checkpoints. Statements must still be finalized by
 * whoever prepared them; conn is invalid after this call. NULL is a no-op.
 */
void mnemo_store_release(struct mnemo_conn *conn);

/* The connection's SQLite handle, borrowed until release. */
sqlite3 *mnemo_conn_db(struct mnemo_conn *conn);

/* The operation name the connection was acquired for. */
const char *mnemo_conn_op(const struct mnemo_conn *conn);

/*
 * Translates a failed SQLite call on conn into a mnemo code and a message naming the
 * operation, the database and the cause: an interrupt at the deadline becomes MNEMO_ETIMEDOUT
 * ("operation 'search' exceeded its 200 ms deadline after 201 ms"), a lock wait that ran out
 * MNEMO_ETIMEDOUT or MNEMO_EBUSY, SQLITE_FULL MNEMO_ENOSPC, corruption MNEMO_ECORRUPT, and
 * anything else MNEMO_ESQLITE. what (may be NULL) says what was being done.
 */
int mnemo_conn_error(struct mnemo_conn *conn, int sqlite_rc, const char *what,
                     struct mnemo_err *err);

/* How many statements each connection keeps prepared; the least recently used goes first. */
#define MNEMO_CONN_STMT_CACHE 32

/*
 * Returns the prepared statement for sql from conn's statement cache, preparing it on first
 * use, reset and with its bindings cleared. Preparing costs about as much as a small insert,
 * so code on hot paths should use this instead of sqlite3_prepare_v2. The statement belongs to
 * the connection: never finalize it. Reset it (or step it to SQLITE_DONE) when done: release
 * reports a statement left mid-iteration as a leak. *out is valid until conn is released.
 */
int mnemo_conn_prepare_cached(struct mnemo_conn *conn, const char *sql, sqlite3_stmt **out,
                              struct mnemo_err *err);

/* Runs SQL with no result rows on conn (several statements allowed). */
int mnemo_conn_exec(struct mnemo_conn *conn, const char *sql, struct mnemo_err *err);

/* Runs a query whose first row's first column is an integer; *out is 0 when no row. */
int mnemo_conn_query_int(struct mnemo_conn *conn, const char *sql, int64_t *out,
                         struct mnemo_err *err);

/* ---- transactions ----------------------------------------------------------------------- */

/*
 * A unit of work run inside a transaction. It returns 0 to commit or a negative code to roll
 * back. A write callback may run more than once (after SQLITE_BUSY_SNAPSHOT), so it must not
 * have side effects outside the database.
 */
typedef int (*mnemo_store_txn_fn)(struct mnemo_conn *conn, void *arg, struct mnemo_err *err);

/*
 * Runs fn inside BEGIN IMMEDIATE ... COMMIT as the store's single writer, with the deadline
 * timeout_ms from now covering the wait for the writer lock, the pool, SQLite's lock and the
 * work itself. SQLITE_BUSY_SNAPSHOT and a busy COMMIT are retried until the deadline.
 * Operations over the slow threshold are logged by name.
 */
int mnemo_store_write(struct mnemo_store *st, const char *op_name, int64_t timeout_ms,
                      mnemo_store_txn_fn fn, void *arg, struct mnemo_err *err);

/* Runs fn inside one read transaction (a consistent snapshot) with the same deadline rules. */
int mnemo_store_read(struct mnemo_store *st, const char *op_name, int64_t timeout_ms,
                     mnemo_store_txn_fn fn, void *arg, struct mnemo_err *err);

/* ---- checkpoints and maintenance --------------------------------------------------------- */

struct mnemo_store_checkpoint_result {
    int busy;           /* 1 when the checkpoint could not finish (readers or a writer) */
    int log_frames;     /* frames left in the WAL (0 after a completed TRUNCATE, which resets it) */
    int checkpointed;   /* frames copied into the database (likewise 0 after a reset) */
    int64_t wal_before; /* -wal size in bytes before, by stat() */
    int64_t wal_after;  /* -wal size in bytes after */
    int64_t duration_ns;
    int64_t at_ms; /* wall-clock time it finished, 0 when none has run */
    int rc;        /* the checkpoint's own result code (0 or a negative mnemo code) */
};

/*
 * Runs a checkpoint on the store's dedicated checkpoint connection: a PASSIVE pass (copies
 * without blocking anyone), then TRUNCATE (resets the -wal to zero bytes), whose busy handler
 * waits at most checkpoint_busy_timeout_ms and never past timeout_ms. Returns 0
 * when the WAL was fully checkpointed and reset; MNEMO_EBUSY (with *out filled in) when
 * readers or a writer kept it from finishing; other codes on errors.
 */
int mnemo_store_checkpoint(struct mnemo_store *st, int64_t timeout_ms,
                           struct mnemo_store_checkpoint_result *out, struct mnemo_err *err);

/*
 * Checkpoints only when the -wal file, sized with stat() alone, has reached threshold bytes.
 * *did is set to 1 when a checkpoint ran. Same returns as mnemo_store_checkpoint.
 */
int mnemo_store_checkpoint_if_large(struct mnemo_store *st, int64_t threshold, int64_t timeout_ms,
                                    int *did, struct mnemo_store_checkpoint_result *out,
                                    struct mnemo_err *err);

/* Size of the -wal file by stat() (never open()); 0 when it does not exist. */
int64_t mnemo_store_wal_size(const struct mnemo_store *st);

/* ANALYZE, PRAGMA optimize and a TRUNCATE checkpoint, all within timeout_ms. */
int mnemo_store_optimize(struct mnemo_store *st, int64_t timeout_ms, struct mnemo_err *err);

/*
 * Runs PRAGMA quick_check (full = 0) or integrity_check (full = 1) within timeout_ms and
 * appends up to 100 problem lines to problems (may be NULL). Returns 0 when the database is
 * sound, MNEMO_ECORRUPT when problems were found, other codes when the check could not run.
 */
int mnemo_store_check(struct mnemo_store *st, int full, int64_t timeout_ms,
                      struct mnemo_strbuf *problems, struct mnemo_err *err);

/* ---- health and statistics -------------------------------------------------------------- */

struct mnemo_store_pool_stats {
    int max_open;
    int open;
    int in_use;
    int idle;
    int64_t wait_count;          /* acquires that had to wait */
    int64_t wait_duration_ns;    /* total time spent waiting */
    int64_t closed_max_lifetime; /* connections closed for age */
    int64_t closed_max_idle;     /* connections closed for idleness */
    int64_t leaked_statements;   /* stepped-but-unreset statements reset at release */
    int64_t leaked_transactions; /* open transactions rolled back at release */
};

/* A consistent snapshot of the pool counters. */
void mnemo_store_pool_stats(struct mnemo_store *st, struct mnemo_store_pool_stats *out);

struct mnemo_store_metrics {
    int64_t total_queries; /* samples ever recorded */
    int sample_count;      /* samples in the window (at most 100) */
    int64_t avg_ns, min_ns, max_ns;
    int64_t p95_ns; /* 0 until the window holds at least 20 samples */
    int peak_in_use;
    int64_t peak_wait_count;
    int64_t total_wait_ns;
    int64_t last_sample_ms; /* wall clock */
};

/* Window size and P95 minimum of the latency metrics. */
#define MNEMO_STORE_METRICS_WINDOW  100
#define MNEMO_STORE_METRICS_P95_MIN 20

enum mnemo_store_status {
    MNEMO_STORE_HEALTHY = 0,
    MNEMO_STORE_DEGRADED = 1,
    MNEMO_STORE_UNHEALTHY = 2,
};

struct mnemo_store_health {
    enum mnemo_store_status status;
    char warning[160];             /* the last rule that degraded the status; "" when healthy */
    char error[MNEMO_ERR_MSG_MAX]; /* why it is unhealthy; "" otherwise */
    int64_t checked_at_ms;         /* wall clock of the check this snapshot comes from */
    int from_cache;                /* 1 when served from the cache */
    int64_t query_latency_ns;      /* the SELECT 1 probe */
    struct mnemo_store_pool_stats pool;
    struct mnemo_store_metrics metrics;
    int64_t wal_bytes;
    int64_t checkpoint_threshold_bytes;
    struct mnemo_store_checkpoint_result last_checkpoint;
    int checkpoint_stalls; /* consecutive checkpoints that did not advance */
    int64_t page_size, page_count, freelist_count;
    int schema_version;
};

/*
 * Reports the store's health. Within health_ttl_ms of the last check the cached snapshot is
 * returned (from_cache = 1) unless force is set. The check runs SELECT 1 on a dedicated probe
 * connection (so it answers even when the pool is exhausted), records its latency and applies
 * mnemo_store_health_classify. Always fills *out; returns 0.
 */
int mnemo_store_health(struct mnemo_store *st, int force, struct mnemo_store_health *out);

/*
 * The status rules, applied to a filled snapshot (pure; exposed so the rules can be tested):
 * a probe error is unhealthy; degraded when more than 80 % of the pool's connections are in
 * use, when more than 100 acquires waited for a total over 100 ms, when the probe took over
 * 10 ms, when the P95 is over 50 ms, when the WAL exceeds the threshold plus
 * MNEMO_STORE_WAL_SLACK_BYTES, or when three checkpoints in a row did not advance.
 */
void mnemo_store_health_classify(struct mnemo_store_health *h);

/* "healthy", "degraded" or "unhealthy". */
const char *mnemo_store_status_name(enum mnemo_store_status s);

/* Appends the snapshot as one JSON object to out. Returns 0 or a strbuf error. */
int mnemo_store_health_json(const struct mnemo_store_health *h, struct mnemo_strbuf *out);

/* The latency metrics without running a check. */
void mnemo_store_metrics(struct mnemo_store *st, struct mnemo_store_metrics *out);

/* Records one latency sample in the metrics window (used by the health probe and tests). */
void mnemo_store_metrics_record(struct mnemo_store *st, int64_t latency_ns);

/* ---- inspection (tests and doctor) ------------------------------------------------------ */

/* The settings a connection actually has, read back from SQLite. */
struct mnemo_store_conn_settings {
    char journal_mode[16];
    int synchronous;
    int foreign_keys;
    int busy_timeout_ms; /* the deadline-aware handler's limit (see store.c for why) */
    int cache_size;
    int temp_store;
    int64_t mmap_size;
    int64_t journal_size_limit;
    int wal_autocheckpoint;
};

/* Reads back every setting of conn. */
int mnemo_conn_settings(struct mnemo_conn *conn, struct mnemo_store_conn_settings *out,
                        struct mnemo_err *err);

/* Nanoseconds since conn's sqlite3 handle was opened (tells a recycled connection apart). */
int64_t mnemo_conn_age_ns(const struct mnemo_conn *conn);

#endif
