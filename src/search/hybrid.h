/*
 * hybrid.h - hybrid search over observations: keyword (FTS5/bm25) and vector candidates fused
 * into one ranked list, plus the glue that keeps the vector index in step with the vectors
 * table.
 *
 * A search: the query is embedded (when an embedder and index are given), the index returns
 * its nearest live vectors of the project (+ global scope); inside one read transaction FTS5
 * returns up to MNEMO_SEARCH_FTS_CANDIDATES live matches of the same scope ordered by bm25
 * with mnemo's column weights, the candidates' importance, age and text are read, fusion.h
 * ranks them, and the winners' rows are loaded in score order. A failed or late embedding
 * degrades to keyword-only search instead of failing the prompt (vec_error says why).
 *
 * Vectors are stored as native-endian float32 BLOBs (length 4 x dim) in the vectors table,
 * one per (observation, model id). The index holds the vectors of one model only.
 *
 * Thread-safety: every function may run on any thread; the store, index and embedder are
 * themselves thread-safe (see their headers). A results struct belongs to its caller.
 */
#ifndef MNEMO_SEARCH_HYBRID_H
#define MNEMO_SEARCH_HYBRID_H

#include <stddef.h>
#include <stdint.h>

#include "embed/embed.h"
#include "memory/obs.h"
#include "search/fusion.h"
#include "search/vindex.h"
#include "store/store.h"

/* Keyword candidates per search (bm25 cost grows with matches; this bounds the rest). */
#define MNEMO_SEARCH_FTS_CANDIDATES 200
/* Vector candidates per search. */
#define MNEMO_SEARCH_VEC_CANDIDATES 100
/* Keyword ranking looks at the newest this-many matches first (see mnemo_search_hybrid). */
#define MNEMO_SEARCH_FTS_RANK_CAP 1000
/* Longest query text read, in bytes. */
#define MNEMO_SEARCH_MAX_QUERY 8192
/* Deadline used when the caller passes 0. */
#define MNEMO_SEARCH_DEFAULT_TIMEOUT_MS 2000

/* One result: the row (owned) and how it scored. */
struct mnemo_search_hit {
    struct mnemo_fusion_result score;
    struct mnemo_obs obs;
};

struct mnemo_search_results {
    struct mnemo_search_hit *items; /* best first */
    size_t n;
    int n_fts;                         /* keyword candidates found */
    int n_vec;                         /* vector candidates found */
    int vec_used;                      /* 1 when the vector path ran */
    char vec_error[MNEMO_ERR_MSG_MAX]; /* why the vector path was skipped or failed; "" */
};

/* Frees everything r owns and zeroes it. NULL is a no-op. */
void mnemo_search_results_release(struct mnemo_search_results *r);

/*
 * Searches for query among live observations of project (NULL = every project), plus the
 * global-scope observations of other projects when include_global is set. vx and emb may be
 * NULL (keyword only); with both, emb's dimension must equal vx's. limit 1..
 * MNEMO_FUSION_MAX_RESULTS. deadline_ns is absolute (mnemo_clock_mono_ns), 0 for
 * MNEMO_SEARCH_DEFAULT_TIMEOUT_MS from now. params (may be NULL for the defaults; its limit
 * is ignored) sets the fusion rules. *out is initialised here and filled best first; a query
 * with nothing to search for returns 0 results. Keyword matches are ranked among the newest
 * MNEMO_SEARCH_FTS_RANK_CAP matches first, which bounds the cost of broad queries; when that
 * leaves fewer than limit hits in scope, all matches are ranked. With both paths to run, the
 * vector path runs on a thread of its own (created and joined within the call) while the
 * keyword path runs on the caller's; without threads to spare it runs inline first.
 * Returns 0, MNEMO_EINVAL, MNEMO_ETIMEDOUT (the deadline passed during the keyword search or
 * loading), or a store error; out is empty on failure.
 */
int mnemo_search_hybrid(struct mnemo_store *st, struct mnemo_vindex *vx, struct mnemo_embedder *emb,
                        const char *project, const char *query, int limit, int include_global,
                        int64_t deadline_ns, const struct mnemo_fusion_params *params,
                        struct mnemo_search_results *out, struct mnemo_err *err);

/*
 * Loads into vx the vectors of model_id whose observations are live (not archived, not
 * superseded), with their project and scope, inside one read transaction (timeout_ms; 0 =
 * MNEMO_STORE_TIMEOUT_SLOW_MS). Rows whose dimension differs from vx's fail the load with
 * MNEMO_EINVAL. *n_loaded (may be NULL) counts the rows loaded.
 */
int mnemo_search_vindex_load(struct mnemo_store *st, struct mnemo_vindex *vx, const char *model_id,
                             int64_t timeout_ms, int64_t *n_loaded, struct mnemo_err *err);

/*
 * The text embedded for an observation: title, subtitle, narrative, facts and concepts
 * separated by newlines, appended to out. Returns 0 or a strbuf error.
 */
int mnemo_search_obs_text(const struct mnemo_obs *o, struct mnemo_strbuf *out);

/*
 * Embeds observation id with emb, stores the vector under emb's model id (replacing an older
 * one of the same model) and, when vx is given, puts it in the index if the observation is
 * live or takes it out if not. deadline_ns as in mnemo_search_hybrid. Returns 0,
 * MNEMO_ENOTFOUND, MNEMO_EINVAL (emb disabled or dim mismatch), embedder or store errors.
 */
int mnemo_search_embed_obs(struct mnemo_store *st, struct mnemo_vindex *vx,
                           struct mnemo_embedder *emb, int64_t id, int64_t deadline_ns,
                           struct mnemo_err *err);

#endif
