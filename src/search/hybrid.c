/*
 * hybrid.c - hybrid search: query embedding, vector candidates, FTS5 candidates, fusion, rows.
 */
#include "search/hybrid.h"
#include "search/rank.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/fts_query.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* Bytes of a candidate's narrative used for clustering: enough for its gist, and bounded so a
 * search never copies megabytes of text it will not show. */
#define CLUSTER_NARRATIVE_BYTES 2000

void mnemo_search_results_release(struct mnemo_search_results *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++)
        mnemo_obs_release(&r->items[i].obs);
    free(r->items);
    memset(r, 0, sizeof(*r));
}

/* Milliseconds left until deadline_ns, or 0 when it has passed. */
static int64_t ms_left(int64_t deadline_ns)
{
    int64_t ns = mnemo_deadline_left_ns(deadline_ns);
    return ns <= 0 ? 0 : (ns + MNEMO_NS_PER_MS - 1) / MNEMO_NS_PER_MS;
}

int mnemo_search_obs_text(const struct mnemo_obs *o, struct mnemo_strbuf *out)
{
    int rc = 0;
    const char *parts[] = {o->title, o->subtitle, o->narrative};
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        if (parts[i] != NULL && parts[i][0] != '\0') {
            rc = mnemo_strbuf_puts(out, parts[i]);
            if (rc == 0)
                rc = mnemo_strbuf_puts(out, "\n");
        }
    }
    for (size_t i = 0; i < o->n_facts && rc == 0; i++) {
        rc = mnemo_strbuf_puts(out, o->facts[i]);
        if (rc == 0)
            rc = mnemo_strbuf_puts(out, "\n");
    }
    for (size_t i = 0; i < o->n_concepts && rc == 0; i++) {
        rc = mnemo_strbuf_puts(out, o->concepts[i]);
        if (rc == 0)
            rc = mnemo_strbuf_puts(out, i + 1 < o->n_concepts ? " " : "\n");
    }
    return rc;
}

/* ---- the search transaction ------------------------------------------------------------ */

struct search_arg {
    const char *project;
    int include_global;
    const char *match; /* NULL: no keyword search */
    int n_phrases;     /* phrases (terms) in match */
    const struct mnemo_vindex_hit *vec;
    int n_vec;
    struct vec_job *vec_job; /* the vector search running beside the keyword one, or NULL */
    const struct mnemo_fusion_params *params;
    /* outputs */
    struct mnemo_fusion_cand *cands;
    char **texts;
    int n_cands;
    int n_fts;
    struct mnemo_fusion_result *fused;
    int n_fused;
    struct mnemo_obs_list rows;
};

static const char fts_sql[] =
    "SELECT o.id, " MNEMO_FTS_BM25_EXPR " AS r FROM " MNEMO_FTS_TABLE
    " JOIN observations o ON o.id = " MNEMO_FTS_TABLE ".rowid"
    " WHERE " MNEMO_FTS_TABLE " MATCH ?1 AND o.archived = 0 AND o.superseded_by IS NULL"
    " AND (?2 IS NULL OR o.project = ?2 OR (?3 <> 0 AND o.scope = 'global'))"
    " AND " MNEMO_FTS_TABLE ".rowid >= ?5"
    " ORDER BY r LIMIT ?4";

/* The rowid of the newest MNEMO_SEARCH_FTS_RANK_CAP-th match: FTS5 walks its doclists in rowid
 * order without scoring anything, which costs a fraction of ranking every match. */
static const char fts_floor_sql[] = "SELECT rowid FROM " MNEMO_FTS_TABLE " WHERE " MNEMO_FTS_TABLE
                                    " MATCH ?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?2";

_Static_assert(MNEMO_FTS_MAX_TERMS <= MNEMO_RANK_MAX_PHRASES,
               "every phrase of a query needs an IDF slot");

/* The same ranking with the IDFs estimated over the window of matches being ranked (rank.h). */
static const char fts_window_sql[] =
    "SELECT o.id, mnemo_bm25(" MNEMO_FTS_TABLE
    ", ?6, 10.0, 4.0, 1.0, 5.0, 5.0) AS r FROM " MNEMO_FTS_TABLE
    " JOIN observations o ON o.id = " MNEMO_FTS_TABLE ".rowid"
    " WHERE " MNEMO_FTS_TABLE " MATCH ?1 AND o.archived = 0 AND o.superseded_by IS NULL"
    " AND (?2 IS NULL OR o.project = ?2 OR (?3 <> 0 AND o.scope = 'global'))"
    " AND " MNEMO_FTS_TABLE ".rowid >= ?5"
    " ORDER BY r LIMIT ?4";

/* How many rows of the window hold one phrase: a walk of that phrase's doclist alone, which
 * reads no positions (asking a row which phrases it holds makes FTS5 re-tokenize the row for
 * an OR query: ~50 us a row, measured). */
static const char window_hits_sql[] =
    "SELECT count(*) FROM " MNEMO_FTS_TABLE " WHERE " MNEMO_FTS_TABLE " MATCH ?1 AND rowid >= ?2";

/* How many documents the window spans (every row, matching or not), from the id range: ids
 * only grow, so that is the count less the rows deleted since, close enough for an IDF, while
 * count(*) would read every row of the window (100 ms for half of a 100k store). */
static const char window_docs_sql[] = "SELECT coalesce(max(id), 0) - ?1 + 1 FROM observations";

static const char meta_sql[] =
    "SELECT id, importance, created_at, archived, superseded_by IS NOT NULL,"
    " title || char(10) || substr(narrative, 1, ?2) || char(10) || facts"
    " FROM observations WHERE id IN (SELECT value FROM json_each(?1))";

static void free_texts(struct search_arg *a)
{
    if (a->texts == NULL)
        return;
    for (int i = 0; i < a->n_cands; i++)
        free(a->texts[i]);
    free(a->texts);
    a->texts = NULL;
}

/* The lowest rowid worth ranking: the newest MNEMO_SEARCH_FTS_RANK_CAP matches' floor, or 0 when
 * there are fewer matches than that. */
static int rank_floor(struct mnemo_conn *conn, const char *match, int64_t *floor,
                      struct mnemo_err *err)
{
    sqlite3_stmt *st;
    *floor = 0;
    int rc = mnemo_conn_prepare_cached(conn, fts_floor_sql, &st, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, MNEMO_SEARCH_FTS_RANK_CAP - 1);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *floor = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_DONE)
        rc = mnemo_conn_error(conn, src, "keyword search", err);
    sqlite3_reset(st);
    return rc;
}

/*
 * Prepares one of the statements that call mnemo's FTS5 functions, registering them on this
 * connection the first time (a pooled connection keeps them, and its statement cache keeps
 * the prepared statement, so this costs once per connection).
 */
static int prepare_ranked(struct mnemo_conn *conn, const char *sql, sqlite3_stmt **st,
                          struct mnemo_err *err)
{
    struct mnemo_err first;
    mnemo_err_clear(&first);
    if (mnemo_conn_prepare_cached(conn, sql, st, &first) == 0)
        return 0;
    int rc = mnemo_rank_register(mnemo_conn_db(conn), err);
    return rc != 0 ? rc : mnemo_conn_prepare_cached(conn, sql, st, err);
}

/*
 * The IDF of every phrase of the query over the window rowid >= floor: for each phrase the
 * rows of the window holding it, and the window's row count as N. The phrases are read back
 * from match, which mnemo_fts_query_build writes as "t1" OR "t2" OR "t3"*: a term is one
 * token, so " OR " never occurs inside one. idf holds MNEMO_RANK_MAX_PHRASES doubles.
 */
static int window_idf(struct mnemo_conn *conn, const char *match, int64_t floor, double *idf,
                      struct mnemo_err *err)
{
    int64_t docs = 0;
    sqlite3_stmt *st;
    int rc = mnemo_conn_prepare_cached(conn, window_docs_sql, &st, err), src;
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(st, 1, floor);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        docs = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (src != SQLITE_ROW)
        return mnemo_conn_error(conn, src, "keyword search", err);
    rc = mnemo_conn_prepare_cached(conn, window_hits_sql, &st, err);
    if (rc != 0)
        return rc;
    const char *p = match;
    for (int i = 0; i < MNEMO_RANK_MAX_PHRASES; i++) {
        idf[i] = mnemo_rank_idf(docs, 0);
        if (p == NULL)
            continue;
        const char *end = strstr(p, " OR ");
        int len = end != NULL ? (int)(end - p) : (int)strlen(p);
        sqlite3_bind_text(st, 1, p, len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, floor);
        src = sqlite3_step(st);
        if (src == SQLITE_ROW)
            idf[i] = mnemo_rank_idf(docs, sqlite3_column_int64(st, 0));
        sqlite3_reset(st);
        if (src != SQLITE_ROW)
            return mnemo_conn_error(conn, src, "keyword search", err);
        p = end != NULL ? end + 4 : NULL;
    }
    return 0;
}

/* Ranks the matches with rowid >= floor; fills ids/bm25 (at most MNEMO_SEARCH_FTS_CANDIDATES).
 * With idf (the window's, from window_idf) the ranking is mnemo_bm25, else FTS5's bm25. */
static int rank_fts(struct mnemo_conn *conn, struct search_arg *a, int64_t floor, const double *idf,
                    int n_phrase, int64_t *ids, double *bm25, struct mnemo_err *err)
{
    sqlite3_stmt *st;
    int rc = idf != NULL ? prepare_ranked(conn, fts_window_sql, &st, err)
                         : mnemo_conn_prepare_cached(conn, fts_sql, &st, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, a->match, -1, SQLITE_STATIC);
    if (a->project != NULL)
        sqlite3_bind_text(st, 2, a->project, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_int(st, 3, a->include_global ? 1 : 0);
    sqlite3_bind_int(st, 4, MNEMO_SEARCH_FTS_CANDIDATES);
    sqlite3_bind_int64(st, 5, floor);
    if (idf != NULL)
        sqlite3_bind_blob(st, 6, idf, n_phrase * (int)sizeof(double), SQLITE_STATIC);
    int src;
    a->n_fts = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW && a->n_fts < MNEMO_SEARCH_FTS_CANDIDATES) {
        ids[a->n_fts] = sqlite3_column_int64(st, 0);
        bm25[a->n_fts] = sqlite3_column_double(st, 1);
        a->n_fts++;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        rc = mnemo_conn_error(conn, src, "keyword search", err);
    sqlite3_reset(st);
    return rc;
}

/*
 * Runs the keyword query. Ranking costs per matching row and a broad query can match half
 * the store, so only the newest MNEMO_SEARCH_FTS_RANK_CAP matches are ranked first, with IDFs
 * taken from that window (rank.h: FTS5's bm25 would walk every phrase's whole doclist first,
 * 5-13 ms at 100k); when that leaves fewer hits in scope than the caller asked for (a quiet
 * project among busy ones), every match is ranked after all with FTS5's bm25, still bounded
 * by the deadline.
 */
static int run_fts(struct mnemo_conn *conn, struct search_arg *a, int64_t *ids, double *bm25,
                   struct mnemo_err *err)
{
    int64_t floor = 0;
    double idf[MNEMO_RANK_MAX_PHRASES];
    int rc = rank_floor(conn, a->match, &floor, err);
    if (rc == 0 && floor > 0)
        rc = window_idf(conn, a->match, floor, idf, err);
    if (rc == 0 && floor > 0)
        rc = rank_fts(conn, a, floor, idf, a->n_phrases, ids, bm25, err);
    else if (rc == 0)
        rc = rank_fts(conn, a, 0, NULL, 0, ids, bm25, err);
    if (rc == 0 && floor > 0 && a->n_fts < a->params->limit)
        rc = rank_fts(conn, a, 0, NULL, 0, ids, bm25, err);
    return rc;
}

/* Reads importance, age, state and clustering text of every candidate. A candidate whose row
 * is gone (deleted after the index saw it) is marked archived, so fusion drops it. */
static int load_meta(struct mnemo_conn *conn, struct search_arg *a, struct mnemo_err *err)
{
    struct mnemo_strbuf ids;
    sqlite3_stmt *st;
    int rc, src;

    for (int i = 0; i < a->n_cands; i++)
        a->cands[i].archived = 1;
    mnemo_strbuf_init(&ids, 0);
    rc = mnemo_strbuf_puts(&ids, "[");
    for (int i = 0; i < a->n_cands && rc == 0; i++)
        rc = mnemo_strbuf_appendf(&ids, "%s%lld", i ? "," : "", (long long)a->cands[i].id);
    if (rc == 0)
        rc = mnemo_strbuf_puts(&ids, "]");
    if (rc != 0) {
        mnemo_strbuf_release(&ids);
        return mnemo_err_set(err, rc, "search: cannot list candidates: %s", mnemo_strerror(rc));
    }
    rc = mnemo_conn_prepare_cached(conn, meta_sql, &st, err);
    if (rc != 0) {
        mnemo_strbuf_release(&ids);
        return rc;
    }
    sqlite3_bind_text(st, 1, mnemo_strbuf_str(&ids), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, CLUSTER_NARRATIVE_BYTES);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int i = 0;
        while (i < a->n_cands && a->cands[i].id != id)
            i++;
        if (i == a->n_cands)
            continue;
        struct mnemo_fusion_cand *c = &a->cands[i];
        c->importance = sqlite3_column_double(st, 1);
        c->created_at_ms = sqlite3_column_int64(st, 2);
        c->archived = sqlite3_column_int(st, 3);
        c->superseded = sqlite3_column_int(st, 4);
        const char *t = (const char *)sqlite3_column_text(st, 5);
        free(a->texts[i]);
        a->texts[i] = t != NULL ? strdup(t) : NULL;
        if (t != NULL && a->texts[i] == NULL) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "search: out of memory");
            break;
        }
        c->text = a->texts[i];
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = mnemo_conn_error(conn, src, "load search candidates", err);
    sqlite3_reset(st);
    mnemo_strbuf_release(&ids);
    return rc;
}

/* The vector path's inputs and outputs when it runs on a thread of its own. */
struct vec_job {
    struct mnemo_vindex *vx;
    struct mnemo_embedder *emb;
    const char *project;
    int include_global;
    const char *query;
    int64_t deadline_ns;
    struct mnemo_vindex_hit *hits;
    int n;
    struct mnemo_search_results *out;
    pthread_t thread;
    int running; /* the thread was started and not yet joined */
};

static void vector_candidates(struct mnemo_vindex *vx, struct mnemo_embedder *emb,
                              const char *project, int include_global, const char *query,
                              int64_t deadline_ns, struct mnemo_vindex_hit *hits, int *n,
                              struct mnemo_search_results *out);

static void *vec_job_run(void *arg)
{
    struct vec_job *j = arg;
    vector_candidates(j->vx, j->emb, j->project, j->include_global, j->query, j->deadline_ns,
                      j->hits, &j->n, j->out);
    return NULL;
}

/* Waits for the vector thread (once; a retried read callback finds it joined already). */
static void vec_job_join(struct search_arg *a)
{
    struct vec_job *j = a->vec_job;
    if (j == NULL || !j->running)
        return;
    pthread_join(j->thread, NULL);
    j->running = 0;
    a->n_vec = j->n;
}

static int search_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct search_arg *a = arg;
    int64_t fts_ids[MNEMO_SEARCH_FTS_CANDIDATES];
    double fts_bm25[MNEMO_SEARCH_FTS_CANDIDATES];
    int64_t ids[MNEMO_FUSION_MAX_RESULTS];
    int rc = 0;

    /* A read callback may be retried: start from a clean slate each time. */
    free_texts(a);
    mnemo_obs_list_release(&a->rows);
    a->n_cands = a->n_fts = a->n_fused = 0;
    if (a->match != NULL) {
        rc = run_fts(conn, a, fts_ids, fts_bm25, err);
        if (rc != 0)
            return rc;
    }
    vec_job_join(a);
    rc = mnemo_fusion_merge(fts_ids, fts_bm25, a->n_fts, a->vec, a->n_vec, a->cands,
                            MNEMO_SEARCH_FTS_CANDIDATES + MNEMO_SEARCH_VEC_CANDIDATES, &a->n_cands,
                            err);
    if (rc != 0 || a->n_cands == 0)
        return rc;
    a->texts = calloc((size_t)a->n_cands, sizeof(*a->texts));
    if (a->texts == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "search: out of memory");
    rc = load_meta(conn, a, err);
    if (rc != 0)
        return rc;
    rc = mnemo_fusion_run(a->params, a->cands, a->n_cands, a->fused, &a->n_fused, err);
    if (rc != 0 || a->n_fused == 0)
        return rc;
    for (int i = 0; i < a->n_fused; i++)
        ids[i] = a->fused[i].id;
    return mnemo_obs_get_many_conn(conn, ids, (size_t)a->n_fused, 0, &a->rows, err);
}

/* Embeds the query and asks the index; any failure only disables the vector path. */
static void vector_candidates(struct mnemo_vindex *vx, struct mnemo_embedder *emb,
                              const char *project, int include_global, const char *query,
                              int64_t deadline_ns, struct mnemo_vindex_hit *hits, int *n,
                              struct mnemo_search_results *out)
{
    struct mnemo_err e;
    float *q;
    int dim;

    *n = 0;
    if (vx == NULL || emb == NULL || !mnemo_embed_enabled(emb)) {
        snprintf(out->vec_error, sizeof(out->vec_error), "%s", "vector search not configured");
        return;
    }
    dim = mnemo_embed_dim(emb);
    if (dim != mnemo_vindex_dim(vx)) {
        snprintf(out->vec_error, sizeof(out->vec_error),
                 "embedder has %d dimensions, vector index %d", dim, mnemo_vindex_dim(vx));
        return;
    }
    q = malloc((size_t)dim * sizeof(float));
    if (q == NULL) {
        snprintf(out->vec_error, sizeof(out->vec_error), "%s", "out of memory");
        return;
    }
    mnemo_err_clear(&e);
    int rc = mnemo_embed_text(emb, query, q, deadline_ns, &e);
    if (rc == 0)
        rc = mnemo_vindex_search(vx, q, dim, project, include_global, MNEMO_SEARCH_VEC_CANDIDATES,
                                 hits, n, &e);
    if (rc != 0)
        snprintf(out->vec_error, sizeof(out->vec_error), "%s", mnemo_err_text(&e, rc));
    else
        out->vec_used = 1;
    free(q);
}

int mnemo_search_hybrid(struct mnemo_store *st, struct mnemo_vindex *vx, struct mnemo_embedder *emb,
                        const char *project, const char *query, int limit, int include_global,
                        int64_t deadline_ns, const struct mnemo_fusion_params *params,
                        struct mnemo_search_results *out, struct mnemo_err *err)
{
    struct mnemo_fusion_params fp;
    struct mnemo_strbuf match;
    struct search_arg a;
    struct mnemo_vindex_hit *vec = NULL;
    char *qtext = NULL;
    int rc = 0;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    if (st == NULL || query == NULL || out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "search: store, query and results are required");
    if (limit < 1 || limit > MNEMO_FUSION_MAX_RESULTS)
        return mnemo_err_set(err, MNEMO_EINVAL, "search: limit %d out of range 1..%d", limit,
                             MNEMO_FUSION_MAX_RESULTS);
    if (params != NULL)
        fp = *params;
    else
        mnemo_fusion_params_init(&fp);
    fp.limit = limit;
    if (deadline_ns == 0)
        deadline_ns = mnemo_deadline_in_ms(MNEMO_SEARCH_DEFAULT_TIMEOUT_MS);

    memset(&a, 0, sizeof(a));
    mnemo_strbuf_init(&match, 0);
    /* The query is cut to a bound (at a UTF-8 boundary) before anything reads it. */
    size_t qlen = strlen(query);
    if (qlen > MNEMO_SEARCH_MAX_QUERY)
        qlen = mnemo_utf8_cut(query, MNEMO_SEARCH_MAX_QUERY);
    qtext = strndup(query, qlen);
    vec = malloc(MNEMO_SEARCH_VEC_CANDIDATES * sizeof(*vec));
    a.cands =
        malloc((MNEMO_SEARCH_FTS_CANDIDATES + MNEMO_SEARCH_VEC_CANDIDATES) * sizeof(*a.cands));
    a.fused = malloc((size_t)limit * sizeof(*a.fused));
    if (qtext == NULL || vec == NULL || a.cands == NULL || a.fused == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "search: out of memory");
        goto done;
    }
    rc = mnemo_fts_query_build(qtext, qlen, &match, &a.n_phrases, NULL);
    if (rc != 0 && rc != MNEMO_ENOTFOUND) {
        rc = mnemo_err_set(err, rc, "search: cannot build keyword query: %s", mnemo_strerror(rc));
        goto done;
    }
    a.match = rc == 0 ? mnemo_strbuf_str(&match) : NULL;
    rc = 0;

    /* Both paths take milliseconds at 100k rows (the scan is memory-bound, FTS5 mostly
     * SQLite's own work), so with both to run the vector one gets a thread of its own and the
     * keyword search does not wait for it; fusion joins them. */
    struct vec_job job = {.vx = vx,
                          .emb = emb,
                          .project = project,
                          .include_global = include_global,
                          .query = qtext,
                          .deadline_ns = deadline_ns,
                          .hits = vec,
                          .out = out};
    if (a.match != NULL && vx != NULL && emb != NULL && mnemo_embed_enabled(emb))
        job.running = pthread_create(&job.thread, NULL, vec_job_run, &job) == 0;
    if (job.running) {
        a.vec_job = &job;
    } else {
        vector_candidates(vx, emb, project, include_global, qtext, deadline_ns, vec, &a.n_vec, out);
        if (a.match == NULL && a.n_vec == 0)
            goto done;
    }

    int64_t left = ms_left(deadline_ns);
    if (left == 0) {
        rc = mnemo_err_set(err, MNEMO_ETIMEDOUT,
                           "search: deadline passed before the keyword search");
        goto done;
    }
    a.project = project;
    a.include_global = include_global;
    a.vec = vec;
    a.params = &fp;
    rc = mnemo_store_read(st, "search", left, search_txn, &a, err);
    if (rc != 0)
        goto done;

    out->n_fts = a.n_fts;
    out->n_vec = a.n_vec;
    out->items = calloc(a.rows.n > 0 ? a.rows.n : 1, sizeof(*out->items));
    if (out->items == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "search: out of memory");
        goto done;
    }
    /* Rows come back in score order with hidden ones skipped: walk both lists together. */
    size_t r = 0;
    for (int i = 0; i < a.n_fused && r < a.rows.n; i++) {
        if (a.rows.items[r].id != a.fused[i].id)
            continue;
        out->items[out->n].score = a.fused[i];
        out->items[out->n].obs = a.rows.items[r];
        mnemo_obs_init(&a.rows.items[r]);
        out->n++;
        r++;
    }
done:
    vec_job_join(&a); /* before anything it reads or writes is freed */
    if (rc != 0) {
        char keep[MNEMO_ERR_MSG_MAX];
        memcpy(keep, out->vec_error, sizeof(keep));
        mnemo_search_results_release(out);
        memcpy(out->vec_error, keep, sizeof(keep));
    }
    mnemo_obs_list_release(&a.rows);
    free_texts(&a);
    free(a.cands);
    free(a.fused);
    free(vec);
    free(qtext);
    mnemo_strbuf_release(&match);
    return rc;
}

/* ---- keeping the index in step --------------------------------------------------------- */

static const char load_sql[] =
    "SELECT v.observation_id, o.project, o.scope = 'global', v.dim, v.embedding"
    " FROM vectors v JOIN observations o ON o.id = v.observation_id"
    " WHERE v.model_id = ?1 AND o.archived = 0 AND o.superseded_by IS NULL";

struct load_arg {
    struct mnemo_vindex *vx;
    const char *model_id;
    sqlite3_stmt *st;
    struct mnemo_conn *conn;
    float *buf; /* an aligned copy of the current BLOB (SQLite's pointer has no alignment) */
    int step_rc;
    int64_t loaded;
};

static int load_next(void *arg, struct mnemo_vindex_row *row)
{
    struct load_arg *a = arg;
    int src = sqlite3_step(a->st);
    if (src == SQLITE_DONE)
        return 0;
    if (src != SQLITE_ROW) {
        a->step_rc = src;
        return MNEMO_ESQLITE;
    }
    int dim = sqlite3_column_int(a->st, 3);
    const void *blob = sqlite3_column_blob(a->st, 4);
    int bytes = sqlite3_column_bytes(a->st, 4);
    if (dim != mnemo_vindex_dim(a->vx) || blob == NULL || bytes != dim * (int)sizeof(float))
        return MNEMO_EINVAL;
    memcpy(a->buf, blob, (size_t)bytes);
    row->id = sqlite3_column_int64(a->st, 0);
    row->project = (const char *)sqlite3_column_text(a->st, 1);
    row->global = sqlite3_column_int(a->st, 2);
    row->vec = a->buf;
    row->dim = dim;
    return 1;
}

static int load_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct load_arg *a = arg;
    int rc = mnemo_conn_prepare_cached(conn, load_sql, &a->st, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(a->st, 1, a->model_id, -1, SQLITE_STATIC);
    a->conn = conn;
    a->step_rc = 0;
    rc = mnemo_vindex_load(a->vx, load_next, a, &a->loaded, err);
    if (rc != 0 && a->step_rc != 0)
        rc = mnemo_conn_error(conn, a->step_rc, "load vectors", err);
    else if (rc == MNEMO_EINVAL)
        rc = mnemo_err_set(err, rc,
                           "load vectors: a vector of model '%s' does not have %d dimensions",
                           a->model_id, mnemo_vindex_dim(a->vx));
    sqlite3_reset(a->st);
    return rc;
}

int mnemo_search_vindex_load(struct mnemo_store *st, struct mnemo_vindex *vx, const char *model_id,
                             int64_t timeout_ms, int64_t *n_loaded, struct mnemo_err *err)
{
    struct load_arg a;
    int rc;

    if (n_loaded != NULL)
        *n_loaded = 0;
    if (st == NULL || vx == NULL || model_id == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "load vectors: store, index and model are required");
    memset(&a, 0, sizeof(a));
    a.vx = vx;
    a.model_id = model_id;
    a.buf = malloc((size_t)mnemo_vindex_dim(vx) * sizeof(float));
    if (a.buf == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "load vectors: out of memory");
    rc = mnemo_store_read(st, "load vectors",
                          timeout_ms > 0 ? timeout_ms : MNEMO_STORE_TIMEOUT_SLOW_MS, load_txn, &a,
                          err);
    free(a.buf);
    if (n_loaded != NULL)
        *n_loaded = a.loaded;
    return rc;
}

struct put_arg {
    int64_t id;
    const char *model_id;
    const float *vec;
    int dim;
};

static int put_txn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct put_arg *a = arg;
    sqlite3_stmt *st;
    int rc = mnemo_conn_prepare_cached(
        conn,
        "INSERT OR REPLACE INTO vectors(observation_id, model_id, dim, embedding, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
        &st, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, a->model_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, a->dim);
    sqlite3_bind_blob(st, 4, a->vec, a->dim * (int)sizeof(float), SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, mnemo_clock_wall_ms());
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = mnemo_conn_error(conn, src, "store vector", err);
    sqlite3_reset(st);
    return rc;
}

int mnemo_search_embed_obs(struct mnemo_store *st, struct mnemo_vindex *vx,
                           struct mnemo_embedder *emb, int64_t id, int64_t deadline_ns,
                           struct mnemo_err *err)
{
    struct mnemo_obs o;
    struct mnemo_strbuf text;
    float *vec = NULL;
    int rc, dim;

    if (st == NULL || emb == NULL || !mnemo_embed_enabled(emb))
        return mnemo_err_set(err, MNEMO_EINVAL, "embed observation: no enabled embedder");
    dim = mnemo_embed_dim(emb);
    if (vx != NULL && dim != mnemo_vindex_dim(vx))
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "embed observation: embedder has %d dimensions, vector index %d", dim,
                             mnemo_vindex_dim(vx));
    if (deadline_ns == 0)
        deadline_ns = mnemo_deadline_in_ms(MNEMO_STORE_TIMEOUT_DEFAULT_MS);
    mnemo_obs_init(&o);
    mnemo_strbuf_init(&text, 0);
    rc = mnemo_obs_get(st, id, &o, err);
    if (rc != 0)
        goto out;
    rc = mnemo_search_obs_text(&o, &text);
    vec = malloc((size_t)dim * sizeof(float));
    if (rc != 0 || vec == NULL) {
        rc = mnemo_err_set(err, rc != 0 ? rc : MNEMO_ENOMEM, "embed observation %lld: %s",
                           (long long)id, mnemo_strerror(rc != 0 ? rc : MNEMO_ENOMEM));
        goto out;
    }
    rc = mnemo_embed_text(emb, mnemo_strbuf_str(&text), vec, deadline_ns, err);
    if (rc != 0)
        goto out;
    int64_t left = ms_left(deadline_ns);
    if (left == 0) {
        rc = mnemo_err_set(err, MNEMO_ETIMEDOUT, "embed observation %lld: deadline passed",
                           (long long)id);
        goto out;
    }
    struct put_arg pa = {id, mnemo_embed_model_id(emb), vec, dim};
    rc = mnemo_store_write(st, "store vector", left, put_txn, &pa, err);
    if (rc != 0 || vx == NULL)
        goto out;
    if (o.archived == 0 && o.superseded_by == 0) {
        rc = mnemo_vindex_upsert(vx, id, o.project, strcmp(o.scope, "global") == 0, vec, dim, err);
    } else if (mnemo_vindex_remove(vx, id, NULL) != 0) {
        rc = 0; /* a hidden observation that was not indexed: nothing to take out */
    }
out:
    free(vec);
    mnemo_strbuf_release(&text);
    mnemo_obs_release(&o);
    return rc;
}
