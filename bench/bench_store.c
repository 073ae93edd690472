/*
 * bench_store.c - the store's performance budget, measured next to raw SQLite in one run.
 *
 * Three measurements, each on real files in its own fresh temporary directory:
 *   1. single-row commit latency through mnemo_store_write, next to raw sqlite3 with the
 *      insert statement cached (as the store path has it, from the connection's statement
 *      cache) and prepared per row (what raw sqlite3_exec does);
 *   2. pool acquire + release on one thread;
 *   3. a mixed load (one writer at full rate, four readers, one leaked reader statement)
 *      through the store, next to the original's pre-fix behaviour: raw connections, PASSIVE
 *      autocheckpoint only, and the leaked statement left pinned.
 * The table goes to stdout, progress and errors to stderr. Exits 0 after a complete run
 * whatever the verdicts, 1 when a measurement could not run, 2 on a usage error.
 *
 * Usage: bench_store [--quick] [--duration SECONDS]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "benchutil.h"
#include "store/store.h"
#include "util/clock.h"

#define BODY_LEN            300
#define COMMITS_FULL        20000
#define COMMITS_QUICK       2000
#define COMMIT_WARMUP       200
#define ACQUIRE_FULL        1000000L
#define ACQUIRE_QUICK       100000L
#define ACQUIRE_WARMUP      10000L
#define ACQUIRE_BATCH       100
#define CLOCK_SAMPLES       100000L
#define MIX_SECONDS_FULL    60
#define MIX_SECONDS_QUICK   10
#define MIX_READERS         4
#define MIX_SEED_ROWS       1000
#define MIX_READ_RANGE      100
#define MIX_SAMPLE_MS       50
#define RAW_BUSY_TIMEOUT_MS 5000
#define BASELINE_WAL_CAP    (INT64_C(2) * 1024 * 1024 * 1024)
#define TARGET_COMMIT_RATIO 1.3
#define ACQ_TARGET_NS       2000.0
#define ERRMSG_LEN          256
#define PATH_LEN            512

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, body TEXT NOT NULL, "
    "created INTEGER NOT NULL)";
static const char insert_sql[] = "INSERT INTO t(body, created) VALUES (?, ?)";
static const char read_sql[] = "SELECT count(*), max(id) FROM t WHERE id > ?";
static const char leak_sql[] = "SELECT * FROM t";

static const struct mnemo_store_migration bench_migrations[] = {
    {1, "bench table", schema_sql, NULL},
};

/* ---- latency histogram ------------------------------------------------------------------ */

/*
 * Log-linear buckets: exact below 128 ns, then 64 buckets per power of two (relative error
 * under 1.6 %), so millions of samples cost a fixed 30 KB and percentiles stay honest.
 */
#define HIST_SUB_BITS 6
#define HIST_SUB      (1 << HIST_SUB_BITS)
#define HIST_BUCKETS  (HIST_SUB * 58)

struct hist {
    int64_t n, sum, max;
    int64_t counts[HIST_BUCKETS];
};

static int hist_index(int64_t v)
{
    if (v < HIST_SUB)
        return v < 0 ? 0 : (int)v;
    int shift = 63 - __builtin_clzll((unsigned long long)v) - HIST_SUB_BITS;
    return shift * HIST_SUB + (int)(v >> shift);
}

/* The midpoint of bucket i. */
static int64_t hist_value(int i)
{
    if (i < 2 * HIST_SUB)
        return i;
    int shift = i / HIST_SUB - 1;
    return ((int64_t)(i - shift * HIST_SUB) << shift) + ((INT64_C(1) << shift) >> 1);
}

static void hist_add(struct hist *h, int64_t v)
{
    h->counts[hist_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

static void hist_merge(struct hist *dst, const struct hist *src)
{
    for (int i = 0; i < HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->n += src->n;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
}

/* The p-quantile (0 < p <= 1); 0 for an empty histogram. */
static int64_t hist_pct(const struct hist *h, double p)
{
    int64_t rank = (int64_t)(p * (double)h->n + 0.999999), seen = 0;
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

static int64_t hist_mean(const struct hist *h)
{
    return h->n ? h->sum / h->n : 0;
}

/* ---- temporary databases ---------------------------------------------------------------- */

struct tmpdb {
    char dir[PATH_LEN - 32]; /* leaves room for "/bench.db-wal" in path and wal */
    char path[PATH_LEN];
    char wal[PATH_LEN];
};

static const char *tmp_base(void)
{
    const char *base = getenv("TMPDIR");
    return base && base[0] ? base : "/tmp";
}

static int tmpdb_make(struct tmpdb *t)
{
    int n = snprintf(t->dir, sizeof t->dir, "%s/mnemo-bench-XXXXXX", tmp_base());
    if (n < 0 || (size_t)n >= sizeof t->dir) {
        fprintf(stderr, "bench_store: TMPDIR '%s' is too long\n", tmp_base());
        return -1;
    }
    if (!mkdtemp(t->dir)) {
        fprintf(stderr, "bench_store: cannot create a directory under '%s': %s\n", tmp_base(),
                strerror(errno));
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/bench.db", t->dir);
    snprintf(t->wal, sizeof t->wal, "%s/bench.db-wal", t->dir);
    return 0;
}

/* Removes the database, its -wal and -shm, then the directory. Failures are reported. */
static void tmpdb_remove(const struct tmpdb *t)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char p[PATH_LEN + 16];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        int n = snprintf(p, sizeof p, "%s%s", t->path, suffixes[i]);
        if (n < 0 || (size_t)n >= sizeof p)
            continue;
        if (unlink(p) != 0 && errno != ENOENT)
            fprintf(stderr, "bench_store: cannot remove '%s': %s\n", p, strerror(errno));
    }
    if (rmdir(t->dir) != 0)
        fprintf(stderr, "bench_store: cannot remove '%s': %s\n", t->dir, strerror(errno));
}

/* Size of path by stat(); -1 when it does not exist. */
static int64_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* ---- raw SQLite and the store ----------------------------------------------------------- */

static int raw_fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    return -1;
}

/*
 * Opens a raw connection the way the baselines do: WAL, synchronous=NORMAL, SQLite's own
 * busy timeout, every other setting at SQLite's default (autocheckpoint 1000 pages, PASSIVE).
 */
static int raw_open(const char *path, int create_schema, sqlite3 **out)
{
    sqlite3 *db = NULL;
    *out = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        raw_fail(db, "sqlite3_open");
        sqlite3_close(db);
        return -1;
    }
    if (sqlite3_busy_timeout(db, RAW_BUSY_TIMEOUT_MS) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
        (create_schema && sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK)) {
        raw_fail(db, "configuring a raw connection");
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static void raw_close(sqlite3 *db)
{
    if (db && sqlite3_close(db) != SQLITE_OK)
        raw_fail(db, "sqlite3_close");
}

/* Inserts one row with the cached statement, or prepares and finalizes one when NULL. */
static int insert_row(sqlite3 *db, sqlite3_stmt *cached, const char *body, int64_t *rowid)
{
    sqlite3_stmt *s = cached;
    int rc = SQLITE_OK;
    if (!s && (rc = sqlite3_prepare_v2(db, insert_sql, -1, &s, NULL)) != SQLITE_OK)
        return rc;
    rc = sqlite3_bind_text(s, 1, body, BODY_LEN, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, mnemo_clock_wall_ms());
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_DONE)
        rc = SQLITE_OK;
    if (rc == SQLITE_OK && rowid)
        *rowid = sqlite3_last_insert_rowid(db);
    if (cached)
        sqlite3_reset(cached);
    else
        sqlite3_finalize(s);
    return rc;
}

/* Inserts `rows` rows in one BEGIN IMMEDIATE ... COMMIT. Returns an SQLite code. */
static int raw_commit(sqlite3 *db, sqlite3_stmt *cached, const char *body, int rows, int64_t *rowid)
{
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (int i = 0; i < rows && rc == SQLITE_OK; i++)
        rc = insert_row(db, cached, body, rowid);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

struct insert_arg {
    const char *body;
    int rows;
    int64_t rowid; /* the last row inserted */
};

/* The write callback: takes the INSERT from the connection's statement cache, as store users
 * on hot paths do. */
static int store_insert_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    struct insert_arg *a = arg;
    sqlite3_stmt *s = NULL;
    int rc = mnemo_conn_prepare_cached(c, insert_sql, &s, err);
    if (rc != 0)
        return rc;
    for (int i = 0; i < a->rows; i++) {
        rc = insert_row(mnemo_conn_db(c), s, a->body, &a->rowid);
        if (rc != SQLITE_OK)
            return mnemo_conn_error(c, rc, "insert", err);
    }
    return 0;
}

static int store_insert(struct mnemo_store *st, const char *body, int rows, int64_t *rowid,
                        struct mnemo_err *err)
{
    struct insert_arg a = {.body = body, .rows = rows};
    int rc = mnemo_store_write(st, "bench_insert", MNEMO_STORE_TIMEOUT_DEFAULT_MS, store_insert_fn,
                               &a, err);
    if (rc == 0 && rowid)
        *rowid = a.rowid;
    return rc;
}

/* Opens (creating) a store on path with the default config and the bench table. */
static int store_open_at(const char *path, struct mnemo_store **out)
{
    struct mnemo_store_config cfg;
    struct mnemo_err e = {0};
    mnemo_store_config_init(&cfg);
    cfg.path = path;
    cfg.flags = MNEMO_STORE_CREATE;
    cfg.migrations = bench_migrations;
    cfg.n_migrations = 1;
    int rc = mnemo_store_open(&cfg, out, &e);
    if (rc != 0)
        fprintf(stderr, "bench_store: %s\n", mnemo_err_text(&e, rc));
    return rc;
}

static void store_close_checked(struct mnemo_store *st)
{
    int rc = mnemo_store_close(st);
    if (rc != 0)
        fprintf(stderr, "bench_store: mnemo_store_close: %s\n", mnemo_strerror(rc));
}

/* ---- 1. single-row commit latency ------------------------------------------------------- */

enum { COMMIT_RAW_CACHED, COMMIT_RAW_PREPARE, COMMIT_STORE, COMMIT_VARIANTS };

struct commit_target {
    struct tmpdb t;
    int made;
    struct mnemo_store *st;
    sqlite3 *db;
    sqlite3_stmt *cached;
};

/* One timed commit on target v; returns the latency, or -1 on failure. */
static int64_t commit_once(struct commit_target *tg, const char *body)
{
    struct mnemo_err e = {0};
    int64_t t0 = mnemo_clock_mono_ns();
    int r = tg->st ? store_insert(tg->st, body, 1, NULL, &e)
                   : raw_commit(tg->db, tg->cached, body, 1, NULL);
    int64_t t1 = mnemo_clock_mono_ns();
    if (r == 0)
        return t1 - t0;
    if (tg->st)
        fprintf(stderr, "bench_store: store insert: %s\n", mnemo_err_text(&e, r));
    else
        raw_fail(tg->db, "raw insert");
    return -1;
}

/*
 * The three variants run interleaved, one commit each per round in a rotating order, so
 * drift in the machine's speed (other tenants, the page cache) hits them all alike.
 */
static int bench_commit(int n, const char *body, struct hist *h)
{
    struct commit_target tg[COMMIT_VARIANTS] = {0};
    int rc = -1;

    for (int v = 0; v < COMMIT_VARIANTS; v++) {
        if (tmpdb_make(&tg[v].t) != 0)
            goto out;
        tg[v].made = 1;
        if (v == COMMIT_STORE ? store_open_at(tg[v].t.path, &tg[v].st) != 0
                              : raw_open(tg[v].t.path, 1, &tg[v].db) != 0)
            goto out;
        if (v == COMMIT_RAW_CACHED &&
            sqlite3_prepare_v2(tg[v].db, insert_sql, -1, &tg[v].cached, NULL) != SQLITE_OK) {
            raw_fail(tg[v].db, "prepare insert");
            goto out;
        }
    }
    for (int i = -COMMIT_WARMUP; i < n; i++) {
        for (int k = 0; k < COMMIT_VARIANTS; k++) {
            int v = (i + COMMIT_WARMUP + k) % COMMIT_VARIANTS;
            int64_t ns = commit_once(&tg[v], body);
            if (ns < 0)
                goto out;
            if (i >= 0)
                hist_add(&h[v], ns);
        }
    }
    rc = 0;
out:
    for (int v = 0; v < COMMIT_VARIANTS; v++) {
        sqlite3_finalize(tg[v].cached);
        raw_close(tg[v].db);
        if (tg[v].st)
            store_close_checked(tg[v].st);
        if (tg[v].made)
            tmpdb_remove(&tg[v].t);
    }
    return rc;
}

/* ---- 2. pool acquire + release ---------------------------------------------------------- */

struct acquire_result {
    struct hist per_iter; /* each pair timed on its own */
    struct hist batch;    /* mean pair time of each batch of ACQUIRE_BATCH */
    struct hist clock;    /* two back-to-back clock reads: the per-iteration timer's cost */
};

static int acquire_release(struct mnemo_store *st)
{
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    int rc = mnemo_store_acquire(st, "bench_acquire", mnemo_deadline_in_ms(1000), &c, &e);
    if (rc != 0) {
        fprintf(stderr, "bench_store: acquire: %s\n", mnemo_err_text(&e, rc));
        return rc;
    }
    mnemo_store_release(c);
    return 0;
}

static int bench_acquire(long iters, struct acquire_result *r)
{
    struct tmpdb t;
    struct mnemo_store *st = NULL;
    int rc = -1;

    if (tmpdb_make(&t) != 0)
        return -1;
    if (store_open_at(t.path, &st) != 0)
        goto out;
    for (long i = 0; i < ACQUIRE_WARMUP; i++)
        if (acquire_release(st) != 0)
            goto out;
    for (long i = 0; i < CLOCK_SAMPLES; i++) {
        int64_t t0 = mnemo_clock_mono_ns();
        hist_add(&r->clock, mnemo_clock_mono_ns() - t0);
    }
    for (long i = 0; i < iters; i++) {
        int64_t t0 = mnemo_clock_mono_ns();
        if (acquire_release(st) != 0)
            goto out;
        hist_add(&r->per_iter, mnemo_clock_mono_ns() - t0);
    }
    for (long b = 0; b < iters / ACQUIRE_BATCH; b++) {
        int64_t t0 = mnemo_clock_mono_ns();
        for (int i = 0; i < ACQUIRE_BATCH; i++)
            if (acquire_release(st) != 0)
                goto out;
        hist_add(&r->batch, (mnemo_clock_mono_ns() - t0) / ACQUIRE_BATCH);
    }
    rc = 0;
out:
    if (st)
        store_close_checked(st);
    tmpdb_remove(&t);
    return rc;
}

/* ---- 3. mixed load ---------------------------------------------------------------------- */

/* Shared by every thread of one mixed-load run; the atomics are the only shared writes. */
struct mix_ctx {
    struct mnemo_store *st; /* NULL for the baseline */
    const char *wal_path;
    const char *body;
    int64_t wal_cap; /* the baseline stops when its WAL reaches this; 0 = no cap */
    atomic_int stop;
    _Atomic int64_t last_id;
};

struct worker {
    struct mix_ctx *mx;
    int writer;
    sqlite3 *db; /* the baseline's own connection */
    int64_t ops, errors;
    char first_error[ERRMSG_LEN];
    struct hist h;
};

struct sampler {
    struct mix_ctx *mx;
    int64_t max_wal;
    int capped;
};

struct mix_result {
    double seconds;
    int64_t rows, reads, write_errors, read_errors;
    struct hist read_h, write_h;
    int64_t max_wal, final_wal, wal_after_close, wal_cap;
    int capped;
    struct mnemo_store_pool_stats pool;
    struct mnemo_store_config cfg; /* the store's configuration in force */
    char health[ERRMSG_LEN];
};

struct read_arg {
    int64_t from, count, max;
};

static int read_range(sqlite3 *db, struct read_arg *a)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, read_sql, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if ((rc = sqlite3_bind_int64(s, 1, a->from)) == SQLITE_OK &&
        (rc = sqlite3_step(s)) == SQLITE_ROW) {
        a->count = sqlite3_column_int64(s, 0);
        a->max = sqlite3_column_int64(s, 1);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc;
}

static int store_read_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    int rc = read_range(mnemo_conn_db(c), arg);
    return rc == SQLITE_OK ? 0 : mnemo_conn_error(c, rc, "range read", err);
}

/* The writer (w->writer) inserts, the readers read, each at full rate, timing every call. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct mix_ctx *mx = w->mx;
    while (!atomic_load(&mx->stop)) {
        struct mnemo_err e = {0};
        struct read_arg a = {.from = atomic_load(&mx->last_id) - MIX_READ_RANGE};
        int64_t id = 0, t0 = mnemo_clock_mono_ns();
        int rc;
        if (w->writer)
            rc = mx->st ? store_insert(mx->st, mx->body, 1, &id, &e)
                        : raw_commit(w->db, NULL, mx->body, 1, &id);
        else
            rc = mx->st ? mnemo_store_read(mx->st, "bench_read", MNEMO_STORE_TIMEOUT_DEFAULT_MS,
                                           store_read_fn, &a, &e)
                        : read_range(w->db, &a);
        int64_t t1 = mnemo_clock_mono_ns();
        if (rc != 0) {
            if (w->errors++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "%s",
                         mx->st ? mnemo_err_text(&e, rc) : sqlite3_errmsg(w->db));
            continue;
        }
        w->ops++;
        hist_add(&w->h, t1 - t0);
        if (w->writer)
            atomic_store(&mx->last_id, id);
    }
    return NULL;
}

/* Samples the -wal size by stat() every MIX_SAMPLE_MS; stops the run at the baseline's cap. */
static void *sampler_main(void *arg)
{
    struct sampler *s = arg;
    struct mix_ctx *mx = s->mx;
    while (!atomic_load(&mx->stop)) {
        int64_t w = mx->st ? mnemo_store_wal_size(mx->st) : file_size(mx->wal_path);
        if (w > s->max_wal)
            s->max_wal = w;
        if (mx->wal_cap > 0 && w >= mx->wal_cap) {
            s->capped = 1;
            atomic_store(&mx->stop, 1);
            break;
        }
        mnemo_clock_sleep_ms(MIX_SAMPLE_MS);
    }
    return NULL;
}

/* The leak, through the store: stepped once, never reset nor finalized, released. */
static int store_leak_statement(struct mnemo_store *st)
{
    struct mnemo_conn *c = NULL;
    struct mnemo_err e = {0};
    sqlite3_stmt *s = NULL;
    int rc = mnemo_store_acquire(st, "bench_leak", mnemo_deadline_in_ms(1000), &c, &e);
    if (rc != 0) {
        fprintf(stderr, "bench_store: acquire: %s\n", mnemo_err_text(&e, rc));
        return -1;
    }
    int src = sqlite3_prepare_v2(mnemo_conn_db(c), leak_sql, -1, &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    if (src != SQLITE_ROW)
        raw_fail(mnemo_conn_db(c), "leaked statement");
    mnemo_store_release(c); /* deliberately with s still stepped */
    return src == SQLITE_ROW ? 0 : -1;
}

static int64_t disk_avail(const char *dir)
{
    struct statvfs vs;
    return statvfs(dir, &vs) == 0 ? (int64_t)vs.f_bavail * (int64_t)vs.f_frsize : -1;
}

/*
 * Runs one mixed load for `seconds`: through the store when use_store, else the baseline.
 * Fills *res; returns 0, or -1 when the run could not be set up.
 */
static int bench_mixed(int use_store, int seconds, const char *body, struct mix_result *res)
{
    struct tmpdb t;
    struct mix_ctx mx = {.body = body};
    struct worker *w = calloc(1 + MIX_READERS, sizeof *w);
    struct sampler smp = {.mx = &mx};
    sqlite3 *leak_db = NULL;
    sqlite3_stmt *leak = NULL;
    pthread_t thr[2 + MIX_READERS];
    int64_t start = 0;
    int started = 0, rc = -1;
    struct mnemo_err e = {0};

    if (!w || tmpdb_make(&t) != 0) {
        free(w);
        return -1;
    }
    mx.wal_path = t.wal;
    atomic_init(&mx.stop, 0);
    atomic_init(&mx.last_id, 0);
    for (int i = 0; i <= MIX_READERS; i++)
        w[i].mx = &mx;
    w[0].writer = 1;
    if (use_store) {
        int64_t id = 0;
        if (store_open_at(t.path, &mx.st) != 0)
            goto out;
        if (store_insert(mx.st, body, MIX_SEED_ROWS, &id, &e) != 0) {
            fprintf(stderr, "bench_store: seeding: %s\n", e.msg);
            goto out;
        }
        atomic_store(&mx.last_id, id);
        if (store_leak_statement(mx.st) != 0)
            goto out;
    } else {
        int64_t avail = disk_avail(t.dir);
        mx.wal_cap = avail > 0 && avail / 4 < BASELINE_WAL_CAP ? avail / 4 : BASELINE_WAL_CAP;
        if (raw_open(t.path, 1, &w[0].db) != 0)
            goto out;
        int64_t id = 0;
        if (raw_commit(w[0].db, NULL, body, MIX_SEED_ROWS, &id) != SQLITE_OK) {
            raw_fail(w[0].db, "seeding");
            goto out;
        }
        atomic_store(&mx.last_id, id);
        /* The original's leak: a reader that stepped once and kept its statement. */
        if (raw_open(t.path, 0, &leak_db) != 0)
            goto out;
        if (sqlite3_prepare_v2(leak_db, leak_sql, -1, &leak, NULL) != SQLITE_OK ||
            sqlite3_step(leak) != SQLITE_ROW) {
            raw_fail(leak_db, "leaked statement");
            goto out;
        }
        for (int i = 1; i <= MIX_READERS; i++)
            if (raw_open(t.path, 0, &w[i].db) != 0)
                goto out;
    }

    start = mnemo_clock_mono_ns();
    if (pthread_create(&thr[started], NULL, sampler_main, &smp) != 0)
        goto stop;
    started++;
    if (pthread_create(&thr[started], NULL, worker_main, &w[0]) != 0)
        goto stop;
    started++;
    for (int i = 1; i <= MIX_READERS; i++) {
        if (pthread_create(&thr[started], NULL, worker_main, &w[i]) != 0)
            goto stop;
        started++;
    }
    while (!atomic_load(&mx.stop) && mnemo_clock_mono_ns() - start < seconds * MNEMO_NS_PER_S)
        mnemo_clock_sleep_ms(100);
    rc = 0;
stop:
    if (rc != 0)
        fprintf(stderr, "bench_store: cannot start the load threads\n");
    atomic_store(&mx.stop, 1);
    for (int i = 0; i < started; i++)
        pthread_join(thr[i], NULL);
    res->seconds = (double)(mnemo_clock_mono_ns() - start) / (double)MNEMO_NS_PER_S;
    res->rows = w[0].ops;
    res->write_errors = w[0].errors;
    hist_merge(&res->write_h, &w[0].h);
    for (int i = 0; i <= MIX_READERS; i++) {
        if (w[i].errors)
            fprintf(stderr, "bench_store: %s: %" PRId64 " errors, first: %s\n",
                    i ? "reader" : "writer", w[i].errors, w[i].first_error);
        if (i == 0)
            continue;
        res->reads += w[i].ops;
        res->read_errors += w[i].errors;
        hist_merge(&res->read_h, &w[i].h);
    }
    res->max_wal = smp.max_wal;
    res->capped = smp.capped;
    res->wal_cap = mx.wal_cap;
    res->final_wal = file_size(t.wal);
    if (mx.st) {
        struct mnemo_store_health h;
        mnemo_store_pool_stats(mx.st, &res->pool);
        res->cfg = *mnemo_store_config(mx.st);
        if (mnemo_store_health(mx.st, 1, &h) != 0)
            fprintf(stderr, "bench_store: health check failed\n");
        snprintf(res->health, sizeof res->health, "%s%s%s", mnemo_store_status_name(h.status),
                 h.warning[0] ? ": " : "", h.warning);
    }
out:
    /* The careless caller never finalizes its statement; the store's close does (it finalizes
     * whatever is left on a connection, which is the only way the handle can close). */
    if (mx.st)
        store_close_checked(mx.st);
    sqlite3_finalize(leak);
    raw_close(leak_db);
    for (int i = MIX_READERS; i >= 0; i--)
        raw_close(w[i].db); /* the writer's last: its close checkpoints and removes the WAL */
    res->wal_after_close = file_size(t.wal);
    tmpdb_remove(&t);
    free(w);
    return rc;
}

/* ---- machine description and table ------------------------------------------------------ */

static void print_machine(const char *date, double load_start)
{
    bench_print_machine("mnemo store benchmark", date, load_start);
    printf("  temp dir: %s (%s)\n\n", tmp_base(), bench_fs_name(tmp_base()));
}

/* Table cells. NA prints "-"; a byte count of -1 prints "absent" (no such file). */
#define NA (-2.0)
enum unit { U_NS, U_BYTES, U_COUNT, U_RATE, U_RATIO, U_SECONDS };

static const char *cell(char *b, size_t n, enum unit u, double v)
{
    static const double ns_div[] = {1.0, 1e3, 1e6}, byte_div[] = {1024.0, 1048576.0, 1073741824.0};
    static const char *const ns_unit[] = {"ns", "us", "ms"};
    static const char *const byte_unit[] = {"KiB", "MiB", "GiB"};
    static const int prec[] = {0, 1, 2};
    if (v == NA) {
        snprintf(b, n, "-");
    } else if (u == U_BYTES && v < 0) {
        snprintf(b, n, "absent");
    } else if (u == U_BYTES) {
        int k = v < byte_div[1] ? 0 : v < byte_div[2] ? 1 : 2;
        snprintf(b, n, "%.*f %s", prec[k] + (k < 2), v / byte_div[k], byte_unit[k]);
    } else if (u == U_NS) {
        int k = v < 1e4 ? 0 : v < 1e6 ? 1 : 2;
        snprintf(b, n, "%.*f %s", prec[k], v / ns_div[k], ns_unit[k]);
    } else if (u == U_RATIO) {
        snprintf(b, n, "%.2fx", v);
    } else if (u == U_SECONDS) {
        snprintf(b, n, "%.1f s", v);
    } else {
        snprintf(b, n, u == U_RATE ? "%.0f/s" : "%.0f", v);
    }
    return b;
}

struct table_row {
    const char *metric;
    enum unit u;
    double mnemo, base;
    const char *target;
    int verdict; /* 1 PASS, 0 FAIL, -1 none */
};

static double pct(const struct hist *h, double p)
{
    return (double)hist_pct(h, p);
}

/* One table row; verdict < 0 prints "-". */
static void row(const char *metric, enum unit u, double mnemo, double base, const char *target,
                int verdict)
{
    char m[32], b[32];
    printf("%-38s | %-12s | %-12s | %-11s | %s\n", metric, cell(m, sizeof m, u, mnemo),
           cell(b, sizeof b, u, base), target,
           verdict < 0 ? "-"
           : verdict   ? "PASS"
                       : "FAIL");
}

/* Prints the results table and the notes on method. */
static void print_table(const struct hist *commit, const struct acquire_result *acq,
                        const struct mix_result *mix, int commits, long iters)
{
    static const char dashes[] = "----------------------------------------";
    printf("%-38s | %-12s | %-12s | %-11s | %s\n", "metric", "mnemo", "baseline", "target",
           "verdict");
    printf("%.39s+%.14s+%.14s+%.13s+%.8s\n", dashes, dashes, dashes, dashes, dashes);
    static const char *const base_name[] = {"raw cached", "raw prep/row"};
    for (int v = 0; v < 2; v++) {
        char m[64];
        const struct hist *cs = &commit[COMMIT_STORE], *cb = &commit[v];
        const double ps[] = {0.5, 0.99};
        for (int k = 0; k < 3; k++) {
            snprintf(m, sizeof m, "commit %s, baseline %s",
                     k == 2 ? "mean"
                     : k    ? "p99"
                            : "p50",
                     base_name[v]);
            row(m, U_NS, (double)(k == 2 ? hist_mean(cs) : hist_pct(cs, ps[k])),
                (double)(k == 2 ? hist_mean(cb) : hist_pct(cb, ps[k])), "-", -1);
        }
        for (int k = 0; k < 2; k++) {
            double r = k ? (double)hist_mean(cs) / (double)hist_mean(cb)
                         : (double)hist_pct(cs, 0.5) / (double)hist_pct(cb, 0.5);
            snprintf(m, sizeof m, "commit overhead %s vs %s", k ? "mean" : "p50", base_name[v]);
            row(m, U_RATIO, r, 1.0, "<= 1.30x", r <= TARGET_COMMIT_RATIO);
        }
    }
    const struct mix_result *ms = &mix[0], *mb = &mix[1];
    const struct mnemo_store_config *cfg = &ms->cfg;
    const double wal_target =
        (double)(cfg->checkpoint_threshold_bytes + MNEMO_STORE_WAL_SLACK_BYTES);
    char wal_target_s[32];
    snprintf(wal_target_s, sizeof wal_target_s, "<= %.1f MiB", wal_target / 1048576.0);
    const double ap50 = pct(&acq->per_iter, 0.5), bp50 = pct(&acq->batch, 0.5);
    const struct table_row rows[] = {
        {"acquire+release p50 (each timed)", U_NS, ap50, NA, "<= 2 us", ap50 <= ACQ_TARGET_NS},
        {"acquire+release p99 (each timed)", U_NS, pct(&acq->per_iter, 0.99), NA, "-", -1},
        {"acquire+release p50 (batches of 100)", U_NS, bp50, NA, "<= 2 us", bp50 <= ACQ_TARGET_NS},
        {"timer cost: clock read pair p50", U_NS, pct(&acq->clock, 0.5), NA, "-", -1},
        {"mixed: duration", U_SECONDS, ms->seconds, mb->seconds, "-", -1},
        {"mixed: rows written", U_COUNT, (double)ms->rows, (double)mb->rows, "-", -1},
        {"mixed: writes/s", U_RATE, ms->rows / ms->seconds, mb->rows / mb->seconds, "-", -1},
        {"mixed: reads/s (4 readers)", U_RATE, ms->reads / ms->seconds, mb->reads / mb->seconds,
         "-", -1},
        {"mixed: write p50", U_NS, pct(&ms->write_h, 0.5), pct(&mb->write_h, 0.5), "-", -1},
        {"mixed: write p99", U_NS, pct(&ms->write_h, 0.99), pct(&mb->write_h, 0.99), "-", -1},
        {"mixed: read p50", U_NS, pct(&ms->read_h, 0.5), pct(&mb->read_h, 0.5), "-", -1},
        {"mixed: read p99", U_NS, pct(&ms->read_h, 0.99), pct(&mb->read_h, 0.99), "-", -1},
        {"mixed: max WAL observed", U_BYTES, (double)ms->max_wal, (double)mb->max_wal, wal_target_s,
         ms->max_wal <= wal_target},
        {"mixed: WAL at end of load", U_BYTES, (double)ms->final_wal, (double)mb->final_wal, "-",
         -1},
        {"mixed: -wal after close", U_BYTES, (double)ms->wal_after_close,
         (double)mb->wal_after_close, "absent", ms->wal_after_close < 0},
        {"mixed: leaked statements reset", U_COUNT, (double)ms->pool.leaked_statements, 0, "1",
         ms->pool.leaked_statements == 1},
        {"mixed: write errors", U_COUNT, (double)ms->write_errors, (double)mb->write_errors, "0",
         ms->write_errors == 0},
        {"mixed: read errors", U_COUNT, (double)ms->read_errors, (double)mb->read_errors, "0",
         ms->read_errors == 0},
        {"mixed: pool waits", U_COUNT, (double)ms->pool.wait_count, NA, "-", -1},
        {"mixed: pool wait time, total", U_NS, (double)ms->pool.wait_duration_ns, NA, "-", -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        row(rows[i].metric, rows[i].u, rows[i].mnemo, rows[i].base, rows[i].target,
            rows[i].verdict);
    printf("\nstore health after the load: %s\n", ms->health);
    printf("baseline stopped by: %s\n", mb->capped ? "WAL cap" : "duration");
    printf("\nnotes: percentiles come from a log-linear histogram (<= 1.6 %% bucket error).\n"
           "commit: %d timed commits per variant after %d warm-up, the three variants "
           "interleaved, each in a fresh directory; each commit is BEGIN IMMEDIATE, one INSERT of "
           "a %d-byte row, COMMIT (WAL, synchronous=NORMAL); the store callback takes the INSERT "
           "from the connection's statement cache.\n"
           "acquire: %ld pairs timed one by one with clock_gettime (includes the timer cost), "
           "then %ld more in batches of %d.\n"
           "mixed: the store's default config (pool %d, checkpoint threshold %.1f MiB, poll "
           "%" PRId64 " ms and a kick after each write, checkpoint busy timeout %d ms, "
           "wal_autocheckpoint %d pages, journal_size_limit %.1f MiB); WAL target = threshold + "
           "8 MiB slack; WAL sampled by stat() every %d ms; the pool serves the writer and the "
           "4 readers. Baseline: raw connections (busy_timeout %d), default PASSIVE "
           "autocheckpoint only, no TRUNCATE checkpointer, the leaked statement kept stepped; "
           "stopped at the duration or at %.1f GiB of WAL.\n",
           commits, COMMIT_WARMUP, BODY_LEN, iters, iters, ACQUIRE_BATCH, cfg->max_conns,
           (double)cfg->checkpoint_threshold_bytes / 1048576.0, cfg->checkpoint_poll_ms,
           cfg->checkpoint_busy_timeout_ms, cfg->wal_autocheckpoint,
           (double)cfg->journal_size_limit / 1048576.0, MIX_SAMPLE_MS, RAW_BUSY_TIMEOUT_MS,
           (double)mb->wal_cap / 1073741824.0);
}

/* ---- main ------------------------------------------------------------------------------- */

struct opts {
    int quick;
    int seconds;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
    int seconds = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            o->quick = 1;
        } else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno != 0 || !end || *end != '\0' || v < 1 || v > 3600) {
                fprintf(stderr, "bench_store: --duration wants 1..3600 seconds\n");
                return -1;
            }
            seconds = (int)v;
        } else {
            fprintf(stderr, "usage: bench_store [--quick] [--duration SECONDS]\n");
            return -1;
        }
    }
    o->seconds = seconds ? seconds : o->quick ? MIX_SECONDS_QUICK : MIX_SECONDS_FULL;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    char body[BODY_LEN + 1], date[64];
    struct hist *commit = calloc(COMMIT_VARIANTS, sizeof *commit);
    struct acquire_result *acq = calloc(1, sizeof *acq);
    struct mix_result *mix = calloc(2, sizeof *mix); /* store, baseline */
    int rc = 1;

    if (parse_args(argc, argv, &o) != 0) {
        rc = 2;
        goto out;
    }
    if (!commit || !acq || !mix) {
        fprintf(stderr, "bench_store: out of memory\n");
        goto out;
    }
    double load_start = -1;
    if (getloadavg(&load_start, 1) != 1)
        load_start = -1;
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(date, sizeof date, "unknown date");
    for (int i = 0; i < BODY_LEN; i++)
        body[i] = (char)('a' + (i * 7) % 26);
    body[BODY_LEN] = '\0';

    int commits = o.quick ? COMMITS_QUICK : COMMITS_FULL;
    long iters = o.quick ? ACQUIRE_QUICK : ACQUIRE_FULL;
    fprintf(stderr, "bench_store: %d single-row commits x 3 variants...\n", commits);
    if (bench_commit(commits, body, commit) != 0)
        goto out;
    fprintf(stderr, "bench_store: %ld pool acquire+release pairs (x2)...\n", iters);
    if (bench_acquire(iters, acq) != 0)
        goto out;
    fprintf(stderr, "bench_store: mixed load through the store, %d s...\n", o.seconds);
    if (bench_mixed(1, o.seconds, body, &mix[0]) != 0)
        goto out;
    fprintf(stderr, "bench_store: mixed load baseline, %d s (or the WAL cap)...\n", o.seconds);
    if (bench_mixed(0, o.seconds, body, &mix[1]) != 0)
        goto out;

    print_machine(date, load_start);
    print_table(commit, acq, mix, commits, iters);
    rc = 0;
out:
    free(commit);
    free(acq);
    free(mix);
    return rc;
}
