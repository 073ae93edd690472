/*
 * fusion.h - turns the keyword (BM25) and vector candidate lists into one ranked result list.
 *
 * The rules, in order (mnemo_fusion_run):
 *  1. superseded and archived candidates are dropped (the caller passes the flags);
 *  2. vector-only candidates below min_similarity are dropped (a vector list always has a
 *     "nearest" row, however unrelated; a keyword hit already means a real word matched);
 *  3. reciprocal rank fusion: rrf = sum over lists of 1 / (rrf_k + rank), rank 1-based,
 *     normalised by its maximum 2 / (rrf_k + 1) so that rrf_norm is in [0, 1];
 *  4. boosts: final = rrf_norm x (1 + importance_weight x importance_norm)
 *                              x (1 + recency_weight x 0.5^(age_days / recency_half_life_days)),
 *     importance_norm = clamp(importance / importance_max, 0, 1), age 0 for future times;
 *  5. candidates whose final score is below threshold are dropped (the relevance bar: with
 *     nothing above it, nothing is returned);
 *  6. sorted by final score (ties: smaller id first), never by date;
 *  7. near-duplicates clustered greedily in that order: a candidate whose term set has a
 *     Jaccard similarity >= jaccard with an already kept one is dropped (the first, i.e. best
 *     scored, of each cluster is kept). Terms come from the candidate's text, lower-cased,
 *     split like the FTS query builder, at least 3 bytes, stop-words removed;
 *  8. truncated to limit.
 * Every result carries its score components so `mnemo search --explain` can show them.
 *
 * Thread-safety: pure functions over caller-owned arrays; safe from any thread.
 */
#ifndef MNEMO_SEARCH_FUSION_H
#define MNEMO_SEARCH_FUSION_H

#include <stdint.h>

#include "search/vindex.h"
#include "util/err.h"

/* Most candidates one fusion accepts (FTS list plus vector list). */
#define MNEMO_FUSION_MAX_CANDS 2048
/* Most results one fusion returns. */
#define MNEMO_FUSION_MAX_RESULTS 200
/* Distinct terms per candidate used for clustering (the rest of a long text is ignored). */
#define MNEMO_FUSION_MAX_TERMS 256

struct mnemo_fusion_params {
    double rrf_k;                  /* 60 */
    double importance_weight;      /* 0.2 */
    double importance_max;         /* 2.0: importance at or above this gets the whole boost */
    double recency_weight;         /* 0.1 */
    double recency_half_life_days; /* 30 */
    double min_similarity;         /* 0.3: bar for candidates found only by vector */
    double threshold;              /* 0.25: minimum final score */
    double jaccard;                /* 0.4; must be > 0; > 1 turns clustering off */
    int limit;                     /* 10; 1..MNEMO_FUSION_MAX_RESULTS */
    int64_t now_ms;                /* wall clock for recency; 0 = mnemo_clock_wall_ms() */
};

/* One candidate: an observation found by either list or both. */
struct mnemo_fusion_cand {
    int64_t id;
    int bm25_rank; /* 1-based rank in the keyword list; 0 when not found by keyword */
    double bm25;   /* bm25() value (lower is better); meaningful when bm25_rank > 0 */
    int vec_rank;  /* 1-based rank in the vector list; 0 when not found by vector */
    float vec_sim; /* dot product with the query; meaningful when vec_rank > 0 */
    double importance;
    int64_t created_at_ms;
    int superseded;   /* non-zero: excluded */
    int archived;     /* non-zero: excluded */
    const char *text; /* title, narrative and facts for clustering; borrowed; may be NULL */
};

/* One result with its score components. */
struct mnemo_fusion_result {
    int64_t id;
    int cand;      /* index of the candidate it came from */
    int bm25_rank; /* as in the candidate */
    double bm25;
    int vec_rank;
    float vec_sim;
    double rrf;              /* raw reciprocal-rank sum */
    double rrf_norm;         /* rrf / (2 / (rrf_k + 1)) */
    double importance_boost; /* the multiplier applied, >= 1 */
    double recency_boost;    /* the multiplier applied, >= 1 */
    double final;
    int duplicates; /* candidates folded into this one by clustering */
};

/* Fills p with the defaults above. */
void mnemo_fusion_params_init(struct mnemo_fusion_params *p);

/*
 * Merges a keyword list (ids in rank order with their bm25 values; bm25 may be NULL) and a
 * vector list (best first) into candidates out[0..*n_out): one per distinct id, in order of
 * first appearance, ranks and scores filled, everything else zeroed. An id repeated within a
 * list keeps its first rank. Returns 0, MNEMO_EINVAL for NULL pointers or negative counts,
 * MNEMO_ETOOBIG when the distinct ids exceed max.
 */
int mnemo_fusion_merge(const int64_t *fts_ids, const double *fts_bm25, int n_fts,
                       const struct mnemo_vindex_hit *vec, int n_vec, struct mnemo_fusion_cand *out,
                       int max, int *n_out, struct mnemo_err *err);

/*
 * Applies the rules above to cands[0..n) and writes at most p->limit results, best first,
 * into out[0..*n_out) (out holds at least p->limit entries). p may be NULL for the defaults.
 * Returns 0 (possibly with *n_out 0), MNEMO_EINVAL for bad parameters or n beyond
 * MNEMO_FUSION_MAX_CANDS, MNEMO_ENOMEM.
 */
int mnemo_fusion_run(const struct mnemo_fusion_params *p, const struct mnemo_fusion_cand *cands,
                     int n, struct mnemo_fusion_result *out, int *n_out, struct mnemo_err *err);

/* The term-set Jaccard similarity of two texts as clustering computes it (0 when either has
 * no terms). Exposed for tests and `--explain`. */
double mnemo_fusion_jaccard(const char *a, const char *b);

#endif
