/*
 * bench_memory.c - the memory and search layers' performance budget (issue 3, "Benchmarks").
 *
 * On a generated, deterministic corpus of coding-session observations (corpus.h: 10 projects;
 * titles, 2-6 sentence narratives and 2-5 facts drawn from a 3,000-word code/prose vocabulary
 * with Zipf-Mandelbrot frequencies; 1-3 of the reference's concepts; file paths; types), at two
 * sizes (10k and 100k, --quick: 2k and 10k), each in a fresh temporary directory:
 *   1. ingest: through the API one observation at a time (mnemo_obs_create, then
 *      mnemo_search_embed_obs: hash embedding, vector row, index upsert); the same work in ONE
 *      write transaction per observation (mnemo_obs_create_conn + the vector row); and bulk
 *      (mnemo_obs_import, 1,000 rows per call, then the batch's vectors: mnemo_embed_texts and
 *      one transaction of vector rows, because the API has no bulk vector call);
 *   2. search latency (p50/p99) for keyword only, vector only, hybrid and FTS5 alone, with broad
 *      queries (corpus word frequencies) and specific ones (words drawn uniformly);
 *   3. at the larger size, the exact vector scan (top-10 over every row, no filter) next to a
 *      plain read of the same bytes and next to sqlite-vec 0.1.9 (vec0.so from the path in
 *      MNEMO_BENCH_VEC0, fetched by bench/sqlite_vec.sh; reported unavailable when missing);
 *   4. the RSS a process gains by loading the index.
 * The table goes to stdout, progress and errors to stderr. Exits 0 after a complete run
 * whatever the verdicts, 1 when a measurement could not run, 2 on a usage error.
 *
 * Usage: bench_memory [--quick]
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "benchstore.h"
#include "benchutil.h"
#include "corpus.h"
#include "embed/embed.h"
#include "memory/obs.h"
#include "memory/schema.h"
#include "search/fts_query.h"
#include "search/hybrid.h"
#include "search/vindex.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/strbuf.h"

#define BATCH           1000 /* rows per mnemo_obs_import call (its maximum) */
#define N_QUERIES       200
#define WARMUP_Q        20
#define SEARCH_LIMIT    10
#define SCAN_RUNS       40
#define VEC_RUNS        20
#define TOPK            10
#define Q_LEN           256
#define TARGET_INGEST   5000.0
#define TARGET_BULK     50000.0
#define TARGET_P99_NS   10e6
#define TARGET_SCAN     1.5
#define TARGET_VEC      10.0
#define HYBRID_TARGET_N 100000

/* ---- measurement helpers ----------------------------------------------------------------- */

static int fail(const char *what, const struct mnemo_err *e, int rc)
{
    fprintf(stderr, "bench_memory: %s: %s\n", what, mnemo_err_text(e, rc));
    return -1;
}

/* ---- 1. ingest ----------------------------------------------------------------------------- */

struct ingest_result {
    double api_rate, api_p50, api_p99;       /* create + embed_obs, per observation */
    double txn_rate, txn_p50, txn_p99;       /* one write transaction per observation */
    double import_rate, vec_rate, bulk_rate; /* rows only, vectors only, both */
    int64_t duplicates, failed;
};

static const char vec_insert_sql[] =
    "INSERT OR REPLACE INTO vectors(observation_id, model_id, dim, embedding, created_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

/*
 * The API path a worker takes for a captured observation: mnemo_obs_create (one write
 * transaction: row + FTS triggers), then mnemo_search_embed_obs (reads the row back, embeds it,
 * writes the vector in a second transaction, upserts it into the index). The store is left
 * holding the corpus for the search measurements.
 */
static int ingest_api(struct mnemo_store *st, struct mnemo_embedder *emb, struct corpus *c,
                      int64_t n, int64_t base_ms, struct ingest_result *r)
{
    struct gen *g = malloc(sizeof *g);
    int64_t *lat = malloc((size_t)n * sizeof *lat), total = 0;
    struct mnemo_vindex *vx = NULL;
    struct mnemo_err e;
    int rc = -1;
    if (!g || !lat || mnemo_vindex_open(mnemo_embed_dim(emb), MNEMO_VINDEX_FLOAT, &vx, &e) != 0)
        goto out;
    for (int64_t i = 0; i < n; i++) {
        struct mnemo_obs_created cr;
        gen_obs(g, c, i, base_ms - (n - i) * 30000);
        int64_t t0 = mnemo_clock_mono_ns();
        int r1 = mnemo_obs_create(st, &g->obs, &cr, &e);
        if (r1 == 0 && !cr.duplicate)
            r1 = mnemo_search_embed_obs(st, vx, emb, cr.id, 0, &e);
        lat[i] = mnemo_clock_mono_ns() - t0;
        total += lat[i];
        if (r1 != 0) {
            fail("ingest (create + embed_obs)", &e, r1);
            goto out;
        }
        r->duplicates += cr.duplicate;
    }
    r->api_rate = (double)n / ((double)total / 1e9);
    r->api_p50 = bench_quantile(lat, (size_t)n, 0.5);
    r->api_p99 = bench_quantile(lat, (size_t)n, 0.99);
    rc = 0;
out:
    mnemo_vindex_close(vx);
    free(lat);
    free(g);
    return rc;
}

struct one_txn {
    const struct mnemo_obs *obs;
    const float *vec;
    int dim;
    const char *model;
    struct mnemo_obs_created cr;
};

static int one_txn_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct one_txn *a = arg;
    sqlite3_stmt *stmt;
    int rc = mnemo_obs_create_conn(conn, a->obs, &a->cr, err);
    if (rc != 0 || a->cr.duplicate)
        return rc;
    rc = mnemo_conn_prepare_cached(conn, vec_insert_sql, &stmt, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(stmt, 1, a->cr.id);
    sqlite3_bind_text(stmt, 2, a->model, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, a->dim);
    sqlite3_bind_blob(stmt, 4, a->vec, a->dim * (int)sizeof(float), SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, mnemo_clock_wall_ms());
    int src = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return src == SQLITE_DONE ? 0 : mnemo_conn_error(conn, src, "bench: insert vector", err);
}

/*
 * The same work with one write transaction per observation: the text is embedded first (outside
 * the writer lock, as a worker would), then the row, its FTS entries and its vector commit
 * together; the index upsert follows the commit.
 */
static int ingest_one_txn(struct mnemo_store *st, struct mnemo_embedder *emb, struct corpus *c,
                          int64_t n, int64_t base_ms, struct ingest_result *r)
{
    int dim = mnemo_embed_dim(emb);
    struct gen *g = malloc(sizeof *g);
    float *vec = malloc((size_t)dim * sizeof *vec);
    int64_t *lat = malloc((size_t)n * sizeof *lat), total = 0;
    struct mnemo_vindex *vx = NULL;
    struct mnemo_strbuf text;
    struct mnemo_err e;
    int rc = -1;
    mnemo_strbuf_init(&text, 0);
    if (!g || !vec || !lat || mnemo_vindex_open(dim, MNEMO_VINDEX_FLOAT, &vx, &e) != 0)
        goto out;
    for (int64_t i = 0; i < n; i++) {
        gen_obs(g, c, i, base_ms - (n - i) * 30000);
        int64_t t0 = mnemo_clock_mono_ns();
        struct one_txn a = {&g->obs, vec, dim, mnemo_embed_model_id(emb), {0}};
        mnemo_strbuf_reset(&text);
        int r1 = mnemo_search_obs_text(&g->obs, &text);
        if (r1 == 0)
            r1 = mnemo_embed_text(emb, mnemo_strbuf_str(&text), vec, 0, &e);
        if (r1 == 0)
            r1 = mnemo_store_write(st, "bench ingest", MNEMO_OBS_TIMEOUT_MS, one_txn_fn, &a, &e);
        if (r1 == 0 && !a.cr.duplicate)
            r1 = mnemo_vindex_upsert(vx, a.cr.id, g->obs.project, strcmp(a.cr.scope, "global") == 0,
                                     vec, dim, &e);
        lat[i] = mnemo_clock_mono_ns() - t0;
        total += lat[i];
        if (r1 != 0) {
            fail("ingest (one transaction)", &e, r1);
            goto out;
        }
    }
    r->txn_rate = (double)n / ((double)total / 1e9);
    r->txn_p50 = bench_quantile(lat, (size_t)n, 0.5);
    r->txn_p99 = bench_quantile(lat, (size_t)n, 0.99);
    rc = 0;
out:
    mnemo_strbuf_release(&text);
    mnemo_vindex_close(vx);
    free(lat);
    free(vec);
    free(g);
    return rc;
}

struct bulk_ctx {
    struct gen *g;
    struct corpus *c;
};

/* bench_fill's generator: observation i into gen buffer slot. */
static struct mnemo_obs *gen_slot(void *ctx, size_t slot, int64_t i, int64_t created_at)
{
    struct bulk_ctx *b = ctx;
    gen_obs(&b->g[slot], b->c, i, created_at);
    return &b->g[slot].obs;
}

/* Bulk: bench_fill (1,000 rows per mnemo_obs_import, then the batch's vectors), timed apart. */
static int ingest_bulk(struct mnemo_store *st, struct mnemo_embedder *emb, struct corpus *c,
                       int64_t n, int64_t base_ms, struct ingest_result *r)
{
    struct bulk_ctx b = {malloc(BENCH_FILL_BATCH * sizeof *b.g), c};
    struct bench_fill_stats fs;
    if (b.g == NULL)
        return -1;
    int rc = bench_fill(st, emb, n, base_ms, gen_slot, &b, "bench_memory", &fs);
    free(b.g);
    if (rc != 0)
        return rc;
    r->failed += fs.failed;
    r->duplicates += fs.duplicates;
    r->import_rate = (double)n / ((double)fs.import_ns / 1e9);
    r->vec_rate = (double)n / ((double)fs.vec_ns / 1e9);
    r->bulk_rate = (double)n / ((double)(fs.import_ns + fs.vec_ns) / 1e9);
    return 0;
}

/* ---- 2. search ----------------------------------------------------------------------------- */

enum { M_FTS, M_VEC, M_HYB, M_RAW, N_MODES };
enum { Q_BROAD, Q_SPECIFIC, N_SETS };
static const char *const set_names[N_SETS] = {"broad", "specific"};
static const char *const mode_names[N_MODES] = {"keyword only", "vector only", "hybrid",
                                                "FTS5 MATCH+bm25 alone"};

struct search_result {
    double p50[N_SETS][N_MODES], p99[N_SETS][N_MODES], mean_hits[N_SETS][N_MODES];
    double match_share[N_SETS]; /* mean share of the corpus a query's FTS expression matches */
    double load_ns;
    int64_t rss_before, rss_after, loaded;
};

static const char raw_fts_sql[] = "SELECT rowid FROM " MNEMO_FTS_TABLE " WHERE " MNEMO_FTS_TABLE
                                  " MATCH ?1 ORDER BY " MNEMO_FTS_BM25_EXPR " LIMIT ?2";
static const char count_fts_sql[] =
    "SELECT count(*) FROM " MNEMO_FTS_TABLE " WHERE " MNEMO_FTS_TABLE " MATCH ?1";

struct fts_arg {
    const char *match;
    int count_only;
    int64_t n; /* rows returned, or the count */
};

static int fts_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct fts_arg *a = arg;
    sqlite3_stmt *stmt;
    int rc =
        mnemo_conn_prepare_cached(conn, a->count_only ? count_fts_sql : raw_fts_sql, &stmt, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(stmt, 1, a->match, -1, SQLITE_STATIC);
    if (!a->count_only)
        sqlite3_bind_int(stmt, 2, MNEMO_SEARCH_FTS_CANDIDATES);
    int src;
    a->n = 0;
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW)
        a->n = a->count_only ? sqlite3_column_int64(stmt, 0) : a->n + 1;
    sqlite3_reset(stmt);
    return src == SQLITE_DONE ? 0 : mnemo_conn_error(conn, src, "bench: fts query", err);
}

/*
 * FTS5 alone: the query builder's MATCH expression, bm25 with mnemo's column weights, the best
 * MNEMO_SEARCH_FTS_CANDIDATES rowids, no join, filter or row loading (or, with count_only, the
 * number of matching rows). *n receives the row count.
 */
static int raw_fts(struct mnemo_store *st, const char *q, int count_only, int64_t *n)
{
    struct mnemo_strbuf match;
    struct mnemo_err e;
    mnemo_strbuf_init(&match, 0);
    int rc = mnemo_fts_query_build(q, strlen(q), &match, NULL, &e);
    struct fts_arg a = {mnemo_strbuf_str(&match), count_only, 0};
    if (rc == 0)
        rc = mnemo_store_read(st, "bench fts", MNEMO_STORE_TIMEOUT_SLOW_MS, fts_txn, &a, &e);
    mnemo_strbuf_release(&match);
    *n = a.n;
    if (rc == MNEMO_ENOTFOUND) /* nothing to search for */
        return 0;
    return rc ? fail("fts query", &e, rc) : 0;
}

/* Runs query q in mode m; *hits receives the number of results. */
static int run_query(struct mnemo_store *st, struct mnemo_vindex *vx, struct mnemo_embedder *emb,
                     int m, const char *q, const char *project, float *qv, int *hits)
{
    struct mnemo_err e;
    int rc;
    if (m == M_RAW) {
        int64_t n = 0;
        rc = raw_fts(st, q, 0, &n);
        *hits = (int)n;
        return rc;
    }
    if (m == M_VEC) {
        struct mnemo_vindex_hit h[SEARCH_LIMIT];
        rc = mnemo_embed_text(emb, q, qv, 0, &e);
        if (rc == 0)
            rc = mnemo_vindex_search(vx, qv, mnemo_embed_dim(emb), project, 1, SEARCH_LIMIT, h,
                                     hits, &e);
        return rc ? fail("vector search", &e, rc) : 0;
    }
    struct mnemo_search_results res;
    rc = mnemo_search_hybrid(st, m == M_HYB ? vx : NULL, m == M_HYB ? emb : NULL, project, q,
                             SEARCH_LIMIT, 1, 0, NULL, &res, &e);
    *hits = (int)res.n;
    if (rc == 0 && m == M_HYB && !res.vec_used) {
        fprintf(stderr, "bench_memory: hybrid search ran without vectors: %s\n", res.vec_error);
        rc = MNEMO_EINTERNAL;
    }
    mnemo_search_results_release(&res);
    return rc ? fail(mode_names[m], &e, rc) : 0;
}

/*
 * Loads the index from the store (RSS read before and after), then runs every query in each
 * mode, the modes interleaved per query so drift hits them alike; each query is scoped to one
 * project (cycling through the ten) plus global observations, as a prompt's search is.
 */
static int bench_search(struct mnemo_store *st, struct mnemo_embedder *emb, struct corpus *c,
                        struct mnemo_vindex **vx_out, struct search_result *r)
{
    int dim = mnemo_embed_dim(emb);
    int64_t *lat = malloc((size_t)N_MODES * N_QUERIES * sizeof *lat);
    float *qv = malloc((size_t)dim * sizeof *qv);
    struct mnemo_vindex *vx = NULL;
    struct mnemo_err e;
    int rc = -1;
    if (!lat || !qv)
        goto out;
    r->rss_before = bench_rss_bytes(0);
    int64_t t0 = mnemo_clock_mono_ns();
    int r1 = mnemo_vindex_open(dim, MNEMO_VINDEX_FLOAT, &vx, &e);
    if (r1 == 0)
        r1 = mnemo_search_vindex_load(st, vx, mnemo_embed_model_id(emb), 0, &r->loaded, &e);
    r->load_ns = (double)(mnemo_clock_mono_ns() - t0);
    r->rss_after = bench_rss_bytes(0);
    if (r1 != 0) {
        fail("index load", &e, r1);
        goto out;
    }
    for (int set = 0; set < N_SETS; set++) {
        int64_t sum_hits[N_MODES] = {0}, matched = 0;
        for (int i = -WARMUP_Q; i < N_QUERIES; i++) {
            char q[Q_LEN];
            int qi = i < 0 ? N_QUERIES + WARMUP_Q + i : i; /* warm-up queries are not re-used */
            gen_query(c, qi, set == Q_BROAD, q, sizeof q);
            for (int k = 0; k < N_MODES; k++) {
                int m = (k + (i < 0 ? 0 : i)) % N_MODES, hits = 0;
                int64_t s0 = mnemo_clock_mono_ns();
                if (run_query(st, vx, emb, m, q, c->projects[qi % N_PROJECTS], qv, &hits) != 0)
                    goto out;
                if (i >= 0) {
                    lat[m * N_QUERIES + i] = mnemo_clock_mono_ns() - s0;
                    sum_hits[m] += hits;
                }
            }
            int64_t count = 0;
            if (i >= 0 && raw_fts(st, q, 1, &count) != 0) /* untimed: how broad the query is */
                goto out;
            matched += count;
        }
        r->match_share[set] = r->loaded ? (double)matched / N_QUERIES / (double)r->loaded : 0;
        for (int m = 0; m < N_MODES; m++) {
            r->p50[set][m] = bench_quantile(lat + m * N_QUERIES, N_QUERIES, 0.5);
            r->p99[set][m] = bench_quantile(lat + m * N_QUERIES, N_QUERIES, 0.99);
            r->mean_hits[set][m] = (double)sum_hits[m] / N_QUERIES;
        }
    }
    *vx_out = vx;
    vx = NULL;
    rc = 0;
out:
    mnemo_vindex_close(vx);
    free(qv);
    free(lat);
    return rc;
}

/* ---- 3. vector scan ------------------------------------------------------------------------ */

struct scan_result {
    int64_t rows;
    double vx_p50, vx_min, read_p50, read_min, int8_p50, int8_overlap;
    double vec_p50, vec_insert_s, vec_overlap;
    int vec_ok;
    char vec_why[160];
    char vec_version[32];
};

struct matrix_arg {
    float *m;
    int64_t *ids;
    int64_t cap, rows;
    int dim;
    const char *model;
};

static int matrix_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct matrix_arg *a = arg;
    sqlite3_stmt *stmt;
    int rc = mnemo_conn_prepare_cached(
        conn, "SELECT observation_id, embedding FROM vectors WHERE model_id = ?1", &stmt, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(stmt, 1, a->model, -1, SQLITE_STATIC);
    a->rows = 0;
    int src;
    while ((src = sqlite3_step(stmt)) == SQLITE_ROW && a->rows < a->cap) {
        if (sqlite3_column_bytes(stmt, 1) != a->dim * (int)sizeof(float)) {
            rc = mnemo_err_set(err, MNEMO_EINVAL, "bench: a vector has the wrong size");
            break;
        }
        a->ids[a->rows] = sqlite3_column_int64(stmt, 0);
        memcpy(a->m + a->rows * a->dim, sqlite3_column_blob(stmt, 1),
               (size_t)a->dim * sizeof(float));
        a->rows++;
    }
    if (rc == 0 && src != SQLITE_ROW && src != SQLITE_DONE)
        rc = mnemo_conn_error(conn, src, "bench: read vectors", err);
    sqlite3_reset(stmt);
    return rc;
}

/*
 * The bound: a plain read of the matrix, summing every float. Independent 64-byte vector
 * accumulators (GNU vector extension) keep the adds off the critical path, so the loop runs at
 * the speed of the loads; target_clones gives it the same AVX2/AVX-512 dispatch as the index's
 * kernel, so the ratio compares like with like.
 */
typedef float v16f __attribute__((vector_size(64)));
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
/* A clone dispatched through an ifunc is never inlined (and clang rejects noinline with it). */
#define SUM_CLONES __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#endif
#endif
#ifndef SUM_CLONES
#define SUM_CLONES __attribute__((noinline))
#endif

SUM_CLONES static float matrix_sum(const float *m, size_t n)
{
    v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        v16f x0, x1, x2, x3;
        memcpy(&x0, m + i, sizeof x0);
        memcpy(&x1, m + i + 16, sizeof x1);
        memcpy(&x2, m + i + 32, sizeof x2);
        memcpy(&x3, m + i + 48, sizeof x3);
        a0 += x0;
        a1 += x1;
        a2 += x2;
        a3 += x3;
    }
    v16f t = a0 + a1 + a2 + a3;
    float s = 0;
    for (int k = 0; k < 16; k++)
        s += t[k];
    for (; i < n; i++)
        s += m[i];
    return s;
}

/* Number of ids of a[0..n) also in b[0..nb). */
static int overlap(const int64_t *a, int n, const int64_t *b, int nb)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < nb; j++)
            if (a[i] == b[j]) {
                k++;
                break;
            }
    return k;
}

/* Runs a top-k over every row; ids[0..*n) receive the result. */
static int vx_topk(struct mnemo_vindex *vx, const float *q, int dim, int64_t *ids, int *n)
{
    struct mnemo_vindex_hit h[TOPK];
    struct mnemo_err e;
    int rc = mnemo_vindex_search(vx, q, dim, NULL, 0, TOPK, h, n, &e);
    if (rc != 0)
        return fail("vindex scan", &e, rc);
    for (int i = 0; i < *n; i++)
        ids[i] = h[i].id;
    return 0;
}

static int vec_fail(struct scan_result *r, sqlite3 *db, const char *what)
{
    snprintf(r->vec_why, sizeof r->vec_why, "%s: %s", what,
             db ? sqlite3_errmsg(db) : "cannot open an in-memory database");
    return -1;
}

/*
 * sqlite-vec 0.1.9 on the same vectors: a raw in-memory connection (so every page is in RAM,
 * the most favourable setting for it), vec0(embedding float[dim]) filled in one transaction with
 * rowid = observation id, and the `MATCH ? AND k = ?` query form (the only one SQLite 3.40
 * accepts). Its default metric is L2, which ranks unit vectors exactly as the dot product does.
 * Any failure only marks it unavailable, with the reason.
 */
static int bench_sqlite_vec(const char *so, const float *m, const int64_t *ids, int64_t rows,
                            int dim, const float *qs, int nq, const int64_t (*ref)[TOPK],
                            struct scan_result *r)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *q = NULL;
    char *msg = NULL, sql[96];
    int64_t lat[VEC_RUNS];
    int rc = -1, agree = 0;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        vec_fail(r, db, "open");
        goto out;
    }
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL);
    if (sqlite3_load_extension(db, so, "sqlite3_vec_init", &msg) != SQLITE_OK) {
        snprintf(r->vec_why, sizeof r->vec_why, "cannot load %s: %s", so, msg ? msg : "?");
        goto out;
    }
    if (sqlite3_prepare_v2(db, "SELECT vec_version()", -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        vec_fail(r, db, "vec_version()");
        goto out;
    }
    snprintf(r->vec_version, sizeof r->vec_version, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    q = NULL;
    snprintf(sql, sizeof sql, "CREATE VIRTUAL TABLE v USING vec0(embedding float[%d])", dim);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        vec_fail(r, db, "create vec0");
        goto out;
    }
    int64_t t0 = mnemo_clock_mono_ns();
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO v(rowid, embedding) VALUES (?1, ?2)", -1, &ins, NULL) !=
            SQLITE_OK) {
        vec_fail(r, db, "insert");
        goto out;
    }
    for (int64_t i = 0; i < rows; i++) {
        sqlite3_bind_int64(ins, 1, ids[i]);
        sqlite3_bind_blob(ins, 2, m + i * dim, dim * (int)sizeof(float), SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            vec_fail(r, db, "insert");
            goto out;
        }
        sqlite3_reset(ins);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        vec_fail(r, db, "commit");
        goto out;
    }
    r->vec_insert_s = (double)(mnemo_clock_mono_ns() - t0) / 1e9;
    if (sqlite3_prepare_v2(db, "SELECT rowid FROM v WHERE embedding MATCH ?1 AND k = ?2", -1, &q,
                           NULL) != SQLITE_OK) {
        vec_fail(r, db, "knn query");
        goto out;
    }
    for (int run = -1; run < VEC_RUNS; run++) { /* run -1 warms up */
        int qi = (run < 0 ? 0 : run) % nq, n = 0;
        int64_t got[TOPK];
        t0 = mnemo_clock_mono_ns();
        sqlite3_bind_blob(q, 1, qs + (size_t)qi * (size_t)dim, dim * (int)sizeof(float),
                          SQLITE_STATIC);
        sqlite3_bind_int(q, 2, TOPK);
        int src;
        while ((src = sqlite3_step(q)) == SQLITE_ROW)
            if (n < TOPK)
                got[n++] = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        if (src != SQLITE_DONE) {
            vec_fail(r, db, "knn query");
            goto out;
        }
        if (run >= 0) {
            lat[run] = mnemo_clock_mono_ns() - t0;
            agree += overlap(got, n, ref[qi], TOPK);
        }
    }
    r->vec_p50 = bench_quantile(lat, VEC_RUNS, 0.5);
    r->vec_overlap = (double)agree / VEC_RUNS;
    r->vec_ok = 1;
    rc = 0;
out:
    sqlite3_free(msg);
    sqlite3_finalize(ins);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rc;
}

/*
 * The exact scan (top-10 over every row, no filter) of the search index vx, interleaved with a
 * plain read of a matrix of the same vectors (the same number of bytes), then the int8 mode
 * and sqlite-vec on the same vectors. Query vectors are embeddings of generated queries.
 */
static int bench_scan(struct mnemo_store *st, struct mnemo_embedder *emb, struct corpus *c,
                      struct mnemo_vindex *vx, struct scan_result *r)
{
    int dim = mnemo_embed_dim(emb);
    int64_t n = mnemo_vindex_count(vx);
    size_t bytes = ((size_t)n * (size_t)dim * sizeof(float) + 63) / 64 * 64;
    int64_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
    struct matrix_arg ma = {
        aligned_alloc(64, bytes ? bytes : 64), ids, n, 0, dim, mnemo_embed_model_id(emb)};
    float *qs = malloc((size_t)SCAN_RUNS * (size_t)dim * sizeof *qs);
    int64_t(*ref)[TOPK] = calloc(SCAN_RUNS, sizeof *ref);
    int64_t lat_vx[SCAN_RUNS], lat_rd[SCAN_RUNS], lat_i8[SCAN_RUNS];
    struct mnemo_vindex *vx8 = NULL;
    struct mnemo_err e;
    int rc = -1, r1, agree = 0;
    volatile float sink = 0;
    r->rows = n;
    if (!ma.m || !qs || !ref || !ids)
        goto out;
    r1 = mnemo_store_read(st, "bench matrix", MNEMO_STORE_TIMEOUT_SLOW_MS, matrix_txn, &ma, &e);
    if (r1 != 0 || ma.rows != n) {
        fail("read the vectors", &e, r1 ? r1 : MNEMO_EINTERNAL);
        goto out;
    }
    for (int i = 0; i < SCAN_RUNS; i++) {
        char q[Q_LEN];
        gen_query(c, 100000 + i, i % 2, q, sizeof q);
        r1 = mnemo_embed_text(emb, q, qs + (size_t)i * (size_t)dim, 0, &e);
        if (r1 != 0) {
            fail("embed a query", &e, r1);
            goto out;
        }
    }
    for (int run = -2; run < SCAN_RUNS; run++) { /* two warm-up rounds */
        int qi = run < 0 ? 0 : run, k;
        int64_t t0 = mnemo_clock_mono_ns();
        if (vx_topk(vx, qs + (size_t)qi * (size_t)dim, dim, ref[qi], &k) != 0)
            goto out;
        int64_t t1 = mnemo_clock_mono_ns();
        sink = sink + matrix_sum(ma.m, (size_t)n * (size_t)dim);
        int64_t t2 = mnemo_clock_mono_ns();
        if (run >= 0) {
            lat_vx[run] = t1 - t0;
            lat_rd[run] = t2 - t1;
        }
    }
    r->vx_p50 = bench_quantile(lat_vx, SCAN_RUNS, 0.5);
    r->vx_min = (double)lat_vx[0]; /* bench_quantile() sorted the samples */
    r->read_p50 = bench_quantile(lat_rd, SCAN_RUNS, 0.5);
    r->read_min = (double)lat_rd[0];

    r1 = mnemo_vindex_open(dim, MNEMO_VINDEX_INT8, &vx8, &e);
    if (r1 == 0)
        r1 = mnemo_search_vindex_load(st, vx8, mnemo_embed_model_id(emb), 0, NULL, &e);
    if (r1 != 0) {
        fail("int8 index", &e, r1);
        goto out;
    }
    for (int run = -2; run < SCAN_RUNS; run++) {
        int qi = run < 0 ? 0 : run, k;
        int64_t got[TOPK], t0 = mnemo_clock_mono_ns();
        if (vx_topk(vx8, qs + (size_t)qi * (size_t)dim, dim, got, &k) != 0)
            goto out;
        if (run >= 0) {
            lat_i8[run] = mnemo_clock_mono_ns() - t0;
            agree += overlap(got, k, ref[qi], TOPK);
        }
    }
    r->int8_p50 = bench_quantile(lat_i8, SCAN_RUNS, 0.5);
    r->int8_overlap = (double)agree / SCAN_RUNS;
    mnemo_vindex_close(vx8);
    vx8 = NULL;

    const char *so = getenv("MNEMO_BENCH_VEC0");
    if (!so || !so[0]) {
        snprintf(r->vec_why, sizeof r->vec_why,
                 "MNEMO_BENCH_VEC0 not set; make bench sets it from bench/sqlite_vec.sh");
    } else if (access(so, R_OK) != 0) {
        snprintf(r->vec_why, sizeof r->vec_why, "%s: %s", so, strerror(errno));
    } else {
        fprintf(stderr, "bench_memory: sqlite-vec from %s, %" PRId64 " vectors...\n", so, n);
        bench_sqlite_vec(so, ma.m, ids, n, dim, qs, SCAN_RUNS, (const int64_t(*)[TOPK])ref, r);
    }
    (void)sink;
    rc = 0;
out:
    mnemo_vindex_close(vx8);
    free(ids);
    free(ref);
    free(qs);
    free(ma.m);
    return rc;
}

/* ---- machine, table, main ------------------------------------------------------------------ */

static void print_machine(const char *date, double load_start, const struct scan_result *s)
{
    bench_print_machine("mnemo memory and search benchmark", date, load_start);
    printf("  vindex:   dot product kernel '%s'\n", mnemo_vindex_kernel_name());
    printf("  vec0:     %s\n", s->vec_ok ? s->vec_version : "unavailable");
    printf("  temp dir: %s\n\n", bench_tmp_base());
}

#define NA (-2.0)
enum unit { U_NS, U_BYTES, U_RATE, U_RATIO, U_COUNT };

static const char *cell(char *b, size_t n, enum unit u, double v)
{
    if (v == NA)
        snprintf(b, n, "-");
    else if (u == U_BYTES)
        snprintf(b, n, "%.1f MiB", v / 1048576.0);
    else if (u == U_NS && v < 1e4)
        snprintf(b, n, "%.0f ns", v);
    else if (u == U_NS && v < 1e6)
        snprintf(b, n, "%.1f us", v / 1e3);
    else if (u == U_NS)
        snprintf(b, n, "%.2f ms", v / 1e6);
    else if (u == U_RATIO)
        snprintf(b, n, "%.2fx", v);
    else if (u == U_RATE)
        snprintf(b, n, "%.0f/s", v);
    else
        snprintf(b, n, "%.1f", v);
    return b;
}

/* One table row; verdict < 0 prints "-". */
static void row(const char *metric, enum unit u, double mnemo, double base, const char *target,
                int verdict)
{
    char m[32], b[32];
    printf("%-44s | %-12s | %-12s | %-11s | %s\n", metric, cell(m, sizeof m, u, mnemo),
           cell(b, sizeof b, u, base), target,
           verdict < 0 ? "-"
           : verdict   ? "PASS"
                       : "FAIL");
}

struct size_run {
    int64_t n;
    struct ingest_result in;
    struct search_result se;
};

static void print_table(const struct size_run *runs, int nruns, const struct scan_result *s)
{
    static const char dashes[] = "---------------------------------------------";
    char m[96], t[32];
    printf("%-44s | %-12s | %-12s | %-11s | %s\n", "metric", "mnemo", "baseline", "target",
           "verdict");
    printf("%.45s+%.14s+%.14s+%.13s+%.8s\n", dashes, dashes, dashes, dashes, dashes);
    for (int k = 0; k < nruns; k++) {
        const struct size_run *r = &runs[k];
        const struct ingest_result *in = &r->in;
        const struct search_result *se = &r->se;
        char nm[24];
        snprintf(nm, sizeof nm, "%" PRId64 "k", r->n / 1000);
        snprintf(m, sizeof m, "%s ingest API: create + embed_obs", nm);
        row(m, U_RATE, in->api_rate, NA, ">= 5000/s", in->api_rate >= TARGET_INGEST);
        snprintf(m, sizeof m, "%s ingest API: per obs p50", nm);
        row(m, U_NS, in->api_p50, NA, "-", -1);
        snprintf(m, sizeof m, "%s ingest API: per obs p99", nm);
        row(m, U_NS, in->api_p99, NA, "-", -1);
        snprintf(m, sizeof m, "%s ingest, one txn per obs (+ vector)", nm);
        row(m, U_RATE, in->txn_rate, NA, ">= 5000/s", in->txn_rate >= TARGET_INGEST);
        snprintf(m, sizeof m, "%s ingest, one txn per obs: p50", nm);
        row(m, U_NS, in->txn_p50, NA, "-", -1);
        snprintf(m, sizeof m, "%s ingest, one txn per obs: p99", nm);
        row(m, U_NS, in->txn_p99, NA, "-", -1);
        snprintf(m, sizeof m, "%s bulk: mnemo_obs_import x1000, rows only", nm);
        row(m, U_RATE, in->import_rate, NA, "-", -1);
        snprintf(m, sizeof m, "%s bulk: vectors (embed x1000 + 1 txn)", nm);
        row(m, U_RATE, in->vec_rate, NA, "-", -1);
        snprintf(m, sizeof m, "%s bulk: import + vectors", nm);
        row(m, U_RATE, in->bulk_rate, NA, ">= 50000/s", in->bulk_rate >= TARGET_BULK);
        for (int set = 0; set < N_SETS; set++)
            for (int md = 0; md < N_MODES; md++) {
                int hyb = md == M_HYB && r->n == HYBRID_TARGET_N;
                snprintf(m, sizeof m, "%s %s %s p50", nm, set_names[set], mode_names[md]);
                row(m, U_NS, se->p50[set][md], NA, "-", -1);
                snprintf(m, sizeof m, "%s %s %s p99", nm, set_names[set], mode_names[md]);
                row(m, U_NS, se->p99[set][md], NA, hyb ? "<= 10 ms" : "-",
                    hyb ? se->p99[set][md] <= TARGET_P99_NS : -1);
            }
        snprintf(m, sizeof m, "%s index load (%" PRId64 " vectors)", nm, se->loaded);
        row(m, U_NS, se->load_ns, NA, "-", -1);
        double matrix = (double)se->loaded * MNEMO_EMBED_HASH_DIM * sizeof(float);
        snprintf(m, sizeof m, "%s RSS delta holding the index", nm);
        row(m, U_BYTES, (double)(se->rss_after - se->rss_before), matrix, "-", -1);
        snprintf(m, sizeof m, "%s RSS total with the index", nm);
        row(m, U_BYTES, (double)se->rss_after, NA, "-", -1);
    }
    snprintf(m, sizeof m, "scan %" PRId64 "k x %d top-%d p50 vs plain read", s->rows / 1000,
             MNEMO_EMBED_HASH_DIM, TOPK);
    row(m, U_NS, s->vx_p50, s->read_p50, "-", -1);
    row("scan min vs plain read min", U_NS, s->vx_min, s->read_min, "-", -1);
    double ratio = s->vx_p50 / s->read_p50;
    row("scan / plain read (p50)", U_RATIO, ratio, 1.0, "<= 1.50x", ratio <= TARGET_SCAN);
    row("scan int8 + re-rank p50 vs plain read", U_NS, s->int8_p50, s->read_p50, "-", -1);
    row("int8 top-10 overlap with exact (of 10)", U_COUNT, s->int8_overlap, 10.0, "-", -1);
    if (s->vec_ok) {
        snprintf(t, sizeof t, "%s", s->vec_version);
        snprintf(m, sizeof m, "scan p50 vs sqlite-vec %s (k = ?)", t);
        row(m, U_NS, s->vx_p50, s->vec_p50, "-", -1);
        double speed = s->vec_p50 / s->vx_p50;
        row("speed-up over sqlite-vec", U_RATIO, speed, 1.0, ">= 10x", speed >= TARGET_VEC);
        row("sqlite-vec top-10 overlap with exact", U_COUNT, s->vec_overlap, 10.0, "-", -1);
    } else {
        printf("sqlite-vec: unavailable (%s)\n", s->vec_why);
    }
    printf("\nnotes: each size is a fresh store in a temp dir (WAL, default config, checkpointer "
           "on); ingest rates are the sum of timed calls only (corpus generation excluded).\n");
    for (int k = 0; k < nruns; k++) {
        const struct search_result *se = &runs[k].se;
        printf("%" PRId64 "k: duplicates %" PRId64 ", failed imports %" PRId64
               "; RSS %.1f -> %.1f MiB\n",
               runs[k].n / 1000, runs[k].in.duplicates, runs[k].in.failed,
               (double)se->rss_before / 1048576.0, (double)se->rss_after / 1048576.0);
        for (int set = 0; set < N_SETS; set++)
            printf("%" PRId64 "k %s queries: an FTS expression matches %.1f %% of the corpus on "
                   "average; mean results: keyword %.1f, vector %.1f, hybrid %.1f\n",
                   runs[k].n / 1000, set_names[set], 100.0 * se->match_share[set],
                   se->mean_hits[set][M_FTS], se->mean_hits[set][M_VEC], se->mean_hits[set][M_HYB]);
    }
    printf(
        "search: %d generated queries (3-7 words) per set and mode after %d warm-up, modes "
        "interleaved, each scoped to one of %d projects + global, limit %d; keyword only = "
        "mnemo_search_hybrid without index/embedder; vector only = embed the query + "
        "mnemo_vindex_search; hybrid = mnemo_search_hybrid with both; FTS5 MATCH+bm25 alone = the "
        "builder's expression, ORDER BY bm25 LIMIT %d on observations_fts, no join. Broad queries draw "
        "their words with the corpus's Zipf frequencies, specific ones uniformly from the "
        "vocabulary.\n",
        N_QUERIES, WARMUP_Q, N_PROJECTS, SEARCH_LIMIT, MNEMO_SEARCH_FTS_CANDIDATES);
    printf("scan: %d runs each, interleaved with the plain read (sum of every float of a copy "
           "of the same vectors, same byte count); int8 and sqlite-vec on the same vectors%s.\n",
           SCAN_RUNS, s->vec_ok ? "" : " (sqlite-vec skipped)");
    if (s->vec_ok)
        printf("sqlite-vec: in-memory database, %" PRId64 " inserts in one transaction took "
               "%.2f s; %d timed k = %d queries.\n",
               s->rows, s->vec_insert_s, VEC_RUNS, TOPK);
}

static int run_size(struct corpus *c, struct mnemo_embedder *emb, int64_t n, int last,
                    struct size_run *r, struct scan_result *scan)
{
    struct bench_tmpdir t[3];
    struct mnemo_store *st = NULL;
    struct mnemo_vindex *vx = NULL;
    int64_t base_ms = mnemo_clock_wall_ms();
    int rc = -1, made = 0;
    r->n = n;
    for (; made < 3; made++)
        if (bench_tmpdir_make(&t[made], "bench_memory", "memory.db") != 0)
            goto out;
    fprintf(stderr, "bench_memory: %" PRId64 " obs, one at a time through the API...\n", n);
    if (bench_store_open(t[0].path, "bench_memory", &st) != 0 ||
        ingest_api(st, emb, c, n, base_ms, &r->in) != 0)
        goto out;
    fprintf(stderr, "bench_memory: %" PRId64 " obs, one transaction each...\n", n);
    struct mnemo_store *st2 = NULL;
    if (bench_store_open(t[1].path, "bench_memory", &st2) != 0)
        goto out;
    int r1 = ingest_one_txn(st2, emb, c, n, base_ms, &r->in);
    bench_store_close(st2, "bench_memory");
    bench_tmpdir_remove(&t[1], "bench_memory");
    if (r1 != 0)
        goto out;
    fprintf(stderr, "bench_memory: %" PRId64 " obs, bulk import...\n", n);
    if (bench_store_open(t[2].path, "bench_memory", &st2) != 0)
        goto out;
    r1 = ingest_bulk(st2, emb, c, n, base_ms, &r->in);
    bench_store_close(st2, "bench_memory");
    bench_tmpdir_remove(&t[2], "bench_memory");
    if (r1 != 0)
        goto out;
    fprintf(stderr, "bench_memory: %" PRId64 " obs, %d queries x %d modes...\n", n, N_QUERIES,
            N_MODES);
    if (bench_search(st, emb, c, &vx, &r->se) != 0)
        goto out;
    if (last) {
        fprintf(stderr, "bench_memory: vector scan over %" PRId64 " rows...\n",
                mnemo_vindex_count(vx));
        if (bench_scan(st, emb, c, vx, scan) != 0)
            goto out;
    }
    rc = 0;
out:
    mnemo_vindex_close(vx);
    bench_store_close(st, "bench_memory");
    if (made > 0)
        bench_tmpdir_remove(&t[0], "bench_memory");
    for (int i = 1; i < made && rc != 0; i++) /* on success 1 and 2 are gone already */
        bench_tmpdir_remove(&t[i], "bench_memory");
    return rc;
}

int main(int argc, char **argv)
{
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") != 0) {
            fprintf(stderr, "usage: bench_memory [--quick]\n");
            return 2;
        }
        quick = 1;
    }
    const int64_t sizes[2] = {quick ? 2000 : 10000, quick ? 10000 : 100000};
    struct size_run *runs = calloc(2, sizeof *runs);
    struct scan_result *scan = calloc(1, sizeof *scan);
    struct corpus c = {0};
    struct mnemo_embed_config ec;
    struct mnemo_embedder *emb = NULL;
    struct mnemo_err e;
    char date[64];
    double load_start = -1;
    int rc = 1;
    if (!runs || !scan || corpus_init(&c) != 0) {
        fprintf(stderr, "bench_memory: out of memory\n");
        goto out;
    }
    mnemo_embed_config_init(&ec);
    int r1 = mnemo_embed_open(&ec, &emb, &e);
    if (r1 != 0) {
        fail("mnemo_embed_open", &e, r1);
        goto out;
    }
    if (getloadavg(&load_start, 1) != 1)
        load_start = -1;
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(date, sizeof date, "unknown date");
    for (int k = 0; k < 2; k++)
        if (run_size(&c, emb, sizes[k], k == 1, &runs[k], scan) != 0)
            goto out;
    print_machine(date, load_start, scan);
    print_table(runs, 2, scan);
    rc = 0;
out:
    mnemo_embed_close(emb);
    corpus_free(&c);
    free(scan);
    free(runs);
    return rc;
}
