/*
 * fusion.c - reciprocal rank fusion, boosts, relevance bar and near-duplicate clustering.
 */
#include "search/fusion.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/fts_query.h"
#include "util/clock.h"

#define MS_PER_DAY       86400000.0
#define CLUSTER_MIN_TERM 3

void mnemo_fusion_params_init(struct mnemo_fusion_params *p)
{
    p->rrf_k = 60.0;
    p->importance_weight = 0.2;
    p->importance_max = 2.0;
    p->recency_weight = 0.1;
    p->recency_half_life_days = 30.0;
    p->min_similarity = 0.3;
    p->threshold = 0.25;
    p->jaccard = 0.4;
    p->limit = 10;
    p->now_ms = 0;
}

static int find_cand(const struct mnemo_fusion_cand *c, int n, int64_t id)
{
    for (int i = 0; i < n; i++) {
        if (c[i].id == id)
            return i;
    }
    return -1;
}

int mnemo_fusion_merge(const int64_t *fts_ids, const double *fts_bm25, int n_fts,
                       const struct mnemo_vindex_hit *vec, int n_vec, struct mnemo_fusion_cand *out,
                       int max, int *n_out, struct mnemo_err *err)
{
    int n = 0;

    if (n_out != NULL)
        *n_out = 0;
    if (out == NULL || n_out == NULL || n_fts < 0 || n_vec < 0 || max < 0 ||
        (n_fts > 0 && fts_ids == NULL) || (n_vec > 0 && vec == NULL))
        return mnemo_err_set(err, MNEMO_EINVAL, "fusion: bad candidate lists");
    for (int i = 0; i < n_fts; i++) {
        if (find_cand(out, n, fts_ids[i]) >= 0)
            continue;
        if (n >= max)
            return mnemo_err_set(err, MNEMO_ETOOBIG, "fusion: more than %d candidates", max);
        memset(&out[n], 0, sizeof(out[n]));
        out[n].id = fts_ids[i];
        out[n].bm25_rank = i + 1;
        out[n].bm25 = fts_bm25 != NULL ? fts_bm25[i] : 0.0;
        n++;
    }
    for (int i = 0; i < n_vec; i++) {
        int at = find_cand(out, n, vec[i].id);
        if (at >= 0) {
            if (out[at].vec_rank == 0) {
                out[at].vec_rank = i + 1;
                out[at].vec_sim = vec[i].score;
            }
            continue;
        }
        if (n >= max)
            return mnemo_err_set(err, MNEMO_ETOOBIG, "fusion: more than %d candidates", max);
        memset(&out[n], 0, sizeof(out[n]));
        out[n].id = vec[i].id;
        out[n].vec_rank = i + 1;
        out[n].vec_sim = vec[i].score;
        n++;
    }
    *n_out = n;
    return 0;
}

/* ---- term sets for clustering -------------------------------------------------------- */

struct termset {
    uint64_t h[MNEMO_FUSION_MAX_TERMS];
    int n;
};

static int add_term(const char *tok, size_t len, int at_end, void *arg)
{
    (void)at_end;
    struct termset *ts = arg;
    /* FNV-1a: term identity only needs to be stable and well spread. */
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)tok[i];
        h *= UINT64_C(0x100000001b3);
    }
    ts->h[ts->n++] = h;
    return ts->n >= MNEMO_FUSION_MAX_TERMS ? 1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y);
}

static void termset_build(const char *text, struct termset *ts)
{
    ts->n = 0;
    if (text == NULL)
        return;
    mnemo_fts_tokenize(text, strlen(text), CLUSTER_MIN_TERM, 1, add_term, ts);
    qsort(ts->h, (size_t)ts->n, sizeof(ts->h[0]), cmp_u64);
    int w = 0;
    for (int i = 0; i < ts->n; i++) {
        if (w == 0 || ts->h[w - 1] != ts->h[i])
            ts->h[w++] = ts->h[i];
    }
    ts->n = w;
}

static double termset_jaccard(const struct termset *a, const struct termset *b)
{
    int i = 0, j = 0, both = 0;
    if (a->n == 0 || b->n == 0)
        return 0.0;
    while (i < a->n && j < b->n) {
        if (a->h[i] == b->h[j]) {
            both++;
            i++;
            j++;
        } else if (a->h[i] < b->h[j]) {
            i++;
        } else {
            j++;
        }
    }
    return (double)both / (double)(a->n + b->n - both);
}

double mnemo_fusion_jaccard(const char *a, const char *b)
{
    struct termset *ta = malloc(sizeof(*ta)), *tb = malloc(sizeof(*tb));
    double j = 0.0;
    if (ta != NULL && tb != NULL) {
        termset_build(a, ta);
        termset_build(b, tb);
        j = termset_jaccard(ta, tb);
    }
    free(ta);
    free(tb);
    return j;
}

/* ---- the fusion ----------------------------------------------------------------------- */

static double clamp01(double v)
{
    return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
}

static int result_cmp(const void *pa, const void *pb)
{
    const struct mnemo_fusion_result *a = pa, *b = pb;
    if (a->final != b->final)
        return a->final > b->final ? -1 : 1;
    return a->id < b->id ? -1 : (a->id > b->id);
}

static int check_params(const struct mnemo_fusion_params *p, struct mnemo_err *err)
{
    if (!(p->rrf_k >= 0.0) || !(p->importance_max > 0.0) || !(p->recency_half_life_days > 0.0) ||
        !(p->importance_weight >= 0.0) || !(p->recency_weight >= 0.0) || !isfinite(p->threshold) ||
        !isfinite(p->min_similarity) || !(p->jaccard > 0.0))
        return mnemo_err_set(err, MNEMO_EINVAL, "fusion: invalid parameters");
    if (p->limit < 1 || p->limit > MNEMO_FUSION_MAX_RESULTS)
        return mnemo_err_set(err, MNEMO_EINVAL, "fusion: limit %d out of range 1..%d", p->limit,
                             MNEMO_FUSION_MAX_RESULTS);
    return 0;
}

int mnemo_fusion_run(const struct mnemo_fusion_params *params,
                     const struct mnemo_fusion_cand *cands, int n, struct mnemo_fusion_result *out,
                     int *n_out, struct mnemo_err *err)
{
    struct mnemo_fusion_params defaults;
    struct mnemo_fusion_result *scored = NULL;
    struct termset *kept_terms = NULL, *cur = NULL;
    int ns = 0, nk = 0, rc = 0;

    if (n_out != NULL)
        *n_out = 0;
    if (params == NULL) {
        mnemo_fusion_params_init(&defaults);
        params = &defaults;
    }
    if (out == NULL || n_out == NULL || n < 0 || (n > 0 && cands == NULL))
        return mnemo_err_set(err, MNEMO_EINVAL, "fusion: bad arguments");
    if (n > MNEMO_FUSION_MAX_CANDS)
        return mnemo_err_set(err, MNEMO_EINVAL, "fusion: %d candidates, at most %d", n,
                             MNEMO_FUSION_MAX_CANDS);
    rc = check_params(params, err);
    if (rc != 0 || n == 0)
        return rc;

    int64_t now = params->now_ms != 0 ? params->now_ms : mnemo_clock_wall_ms();
    double rrf_max = 2.0 / (params->rrf_k + 1.0);
    scored = malloc((size_t)n * sizeof(*scored));
    if (scored == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "fusion: out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const struct mnemo_fusion_cand *c = &cands[i];
        if (c->superseded || c->archived)
            continue;
        if (c->bm25_rank <= 0 && c->vec_rank <= 0)
            continue;
        if (c->bm25_rank <= 0 && !(c->vec_sim >= params->min_similarity))
            continue;
        struct mnemo_fusion_result *r = &scored[ns];
        memset(r, 0, sizeof(*r));
        r->id = c->id;
        r->cand = i;
        r->bm25_rank = c->bm25_rank;
        r->bm25 = c->bm25;
        r->vec_rank = c->vec_rank;
        r->vec_sim = c->vec_sim;
        if (c->bm25_rank > 0)
            r->rrf += 1.0 / (params->rrf_k + c->bm25_rank);
        if (c->vec_rank > 0)
            r->rrf += 1.0 / (params->rrf_k + c->vec_rank);
        r->rrf_norm = r->rrf / rrf_max;
        double imp = c->importance / params->importance_max;
        imp = isfinite(imp) ? clamp01(imp) : 0.0;
        r->importance_boost = 1.0 + params->importance_weight * imp;
        double age_days =
            c->created_at_ms < now ? (double)(now - c->created_at_ms) / MS_PER_DAY : 0.0;
        r->recency_boost =
            1.0 + params->recency_weight * pow(0.5, age_days / params->recency_half_life_days);
        r->final = r->rrf_norm * r->importance_boost * r->recency_boost;
        if (r->final < params->threshold)
            continue;
        ns++;
    }
    qsort(scored, (size_t)ns, sizeof(*scored), result_cmp);

    /* Greedy clustering in score order; term sets are built only for candidates that get this
     * far, and only kept results' sets are remembered. */
    kept_terms = malloc((size_t)params->limit * sizeof(*kept_terms));
    cur = malloc(sizeof(*cur));
    if (kept_terms == NULL || cur == NULL) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "fusion: out of memory");
        goto out;
    }
    for (int i = 0; i < ns && nk < params->limit; i++) {
        int dup_of = -1;
        if (params->jaccard <= 1.0) {
            termset_build(cands[scored[i].cand].text, cur);
            for (int j = 0; j < nk && dup_of < 0; j++) {
                if (termset_jaccard(cur, &kept_terms[j]) >= params->jaccard)
                    dup_of = j;
            }
        }
        if (dup_of >= 0) {
            out[dup_of].duplicates++;
            continue;
        }
        out[nk] = scored[i];
        if (params->jaccard <= 1.0)
            kept_terms[nk] = *cur;
        nk++;
    }
    *n_out = nk;
out:
    free(scored);
    free(kept_terms);
    free(cur);
    return rc;
}
