/*
 * test_search_fusion.c - each fusion rule pinned: merge, reciprocal rank fusion, importance
 * and recency boosts, exclusions, the similarity bar, the relevance threshold, truncation by
 * score, and Jaccard clustering.
 */
#include "testutil.h"

#include <math.h>

#include "search/fusion.h"

#define NOW   INT64_C(1800000000000)
#define DAYMS INT64_C(86400000)

static void params(struct mnemo_fusion_params *p)
{
    mnemo_fusion_params_init(p);
    p->now_ms = NOW;
    p->threshold = 0.0;
}

static struct mnemo_fusion_cand cand(int64_t id, int bm25_rank, int vec_rank, float sim)
{
    struct mnemo_fusion_cand c;
    memset(&c, 0, sizeof(c));
    c.id = id;
    c.bm25_rank = bm25_rank;
    c.vec_rank = vec_rank;
    c.vec_sim = sim;
    c.importance = 1.0;
    c.created_at_ms = NOW - 365 * DAYMS;
    return c;
}

static void test_fusion_merge_joins_lists_by_id(void **state)
{
    const int64_t fts[] = {5, 7, 5, 9};
    const double bm[] = {-3.0, -2.0, -1.5, -1.0};
    const struct mnemo_vindex_hit vec[] = {{9, 0.8f}, {11, 0.7f}, {5, 0.6f}};
    struct mnemo_fusion_cand c[8];
    int n = -1;
    assert_int_equal(mnemo_fusion_merge(fts, bm, 4, vec, 3, c, 8, &n, NULL), 0);
    assert_int_equal(n, 4);
    assert_int_equal(c[0].id, 5);
    assert_int_equal(c[0].bm25_rank, 1);
    assert_int_equal(c[0].vec_rank, 3);
    assert_true(c[0].bm25 == -3.0);
    assert_int_equal(c[1].id, 7);
    assert_int_equal(c[1].vec_rank, 0);
    assert_int_equal(c[2].id, 9);
    assert_int_equal(c[2].bm25_rank, 4);
    assert_int_equal(c[2].vec_rank, 1);
    assert_true(fabsf(c[2].vec_sim - 0.8f) < 1e-6f);
    assert_int_equal(c[3].id, 11);
    assert_int_equal(c[3].bm25_rank, 0);
    assert_int_equal(mnemo_fusion_merge(fts, bm, 4, vec, 3, c, 3, &n, NULL), MNEMO_ETOOBIG);
    assert_int_equal(mnemo_fusion_merge(NULL, NULL, 2, vec, 3, c, 8, &n, NULL), MNEMO_EINVAL);
}

static void test_fusion_rrf_prefers_candidates_in_both_lists(void **state)
{
    struct mnemo_fusion_params p;
    struct mnemo_fusion_cand c[3] = {cand(1, 1, 0, 0), cand(2, 2, 2, 0.9f), cand(3, 0, 1, 0.9f)};
    struct mnemo_fusion_result r[10];
    int n;
    params(&p);
    p.importance_weight = 0.0;
    p.recency_weight = 0.0;
    assert_int_equal(mnemo_fusion_run(&p, c, 3, r, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_int_equal(r[0].id, 2);
    assert_true(fabs(r[0].rrf - 2.0 / 62.0) < 1e-12);
    assert_true(fabs(r[0].rrf_norm - (2.0 / 62.0) / (2.0 / 61.0)) < 1e-12);
    /* Rank 1 in one list only: half of the maximum. Equal scores: smaller id first. */
    assert_int_equal(r[1].id, 1);
    assert_int_equal(r[2].id, 3);
    assert_true(fabs(r[1].rrf_norm - 0.5) < 1e-12);
    assert_true(fabs(r[1].final - r[2].final) < 1e-12);
    /* Components are carried through. */
    assert_int_equal(r[0].bm25_rank, 2);
    assert_int_equal(r[0].vec_rank, 2);
    assert_true(fabsf(r[0].vec_sim - 0.9f) < 1e-6f);
    assert_true(r[0].importance_boost == 1.0 && r[0].recency_boost == 1.0);
}

static void test_fusion_importance_and_recency_boosts(void **state)
{
    struct mnemo_fusion_params p;
    struct mnemo_fusion_cand c[4] = {cand(1, 1, 0, 0), cand(2, 1, 0, 0), cand(3, 1, 0, 0),
                                     cand(4, 1, 0, 0)};
    struct mnemo_fusion_result r[10];
    int n;
    params(&p);
    c[0].importance = 0.0;
    c[1].importance = 1.0; /* half of importance_max */
    c[2].importance = 5.0; /* clamped to the full boost */
    c[2].created_at_ms = NOW - 30 * DAYMS;
    c[3].importance = 0.0;
    c[3].created_at_ms = NOW + 10 * DAYMS; /* the future counts as now */
    assert_int_equal(mnemo_fusion_run(&p, c, 4, r, &n, NULL), 0);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++) {
        double imp = r[i].id == 2 ? 0.5 : (r[i].id == 3 ? 1.0 : 0.0);
        double ib = 1.0 + 0.2 * imp;
        assert_true(fabs(r[i].importance_boost - ib) < 1e-12);
        assert_true(fabs(r[i].final - 0.5 * ib * r[i].recency_boost) < 1e-12);
        if (r[i].id == 3) /* exactly one half-life old */
            assert_true(fabs(r[i].recency_boost - 1.05) < 1e-12);
        else if (r[i].id == 4) /* age 0 */
            assert_true(fabs(r[i].recency_boost - 1.1) < 1e-12);
        else /* 365 days: between 12 and 13 half-lives */
            assert_true(r[i].recency_boost > 1.0 + 0.1 / 8192.0 &&
                        r[i].recency_boost < 1.0 + 0.1 / 4096.0);
    }
    assert_int_equal(r[0].id, 3);
    assert_int_equal(r[1].id, 2);
    assert_int_equal(r[2].id, 4); /* brand new beats a year old at equal importance */
    assert_int_equal(r[3].id, 1);
}

static void test_fusion_excludes_superseded_and_archived(void **state)
{
    struct mnemo_fusion_cand c[3] = {cand(1, 1, 1, 0.9f), cand(2, 2, 2, 0.9f), cand(3, 3, 3, 0.9f)};
    struct mnemo_fusion_result r[10];
    struct mnemo_fusion_params p;
    int n;
    params(&p);
    c[0].superseded = 1;
    c[1].archived = 1;
    assert_int_equal(mnemo_fusion_run(&p, c, 3, r, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].id, 3);
}

static void test_fusion_vector_only_needs_min_similarity(void **state)
{
    struct mnemo_fusion_cand c[3] = {cand(1, 0, 1, 0.29f), cand(2, 0, 2, 0.31f),
                                     cand(3, 5, 3, 0.05f)};
    struct mnemo_fusion_result r[10];
    struct mnemo_fusion_params p;
    int n;
    params(&p);
    assert_int_equal(mnemo_fusion_run(&p, c, 3, r, &n, NULL), 0);
    /* 1 is dropped; 3 has a weak vector but a keyword hit, so it stays. */
    assert_int_equal(n, 2);
    assert_int_equal(r[0].id, 3);
    assert_int_equal(r[1].id, 2);
}

static void test_fusion_threshold_returns_nothing_below_the_bar(void **state)
{
    struct mnemo_fusion_cand c[2] = {cand(1, 40, 0, 0), cand(2, 0, 50, 0.5f)};
    struct mnemo_fusion_result r[10];
    struct mnemo_fusion_params p;
    int n = -1;
    mnemo_fusion_params_init(&p);
    p.now_ms = NOW;
    /* Default bar: rank 40 in one list is rrf_norm 61/200 = 0.305 (passes), rank 50 is
     * 61/220 = 0.277 x recency (passes); a bar of 0.9 removes both. */
    assert_int_equal(mnemo_fusion_run(&p, c, 2, r, &n, NULL), 0);
    assert_int_equal(n, 2);
    p.threshold = 0.9;
    assert_int_equal(mnemo_fusion_run(&p, c, 2, r, &n, NULL), 0);
    assert_int_equal(n, 0);
    struct mnemo_fusion_cand far = cand(3, 200, 0, 0);
    p.threshold = 0.25;
    assert_int_equal(mnemo_fusion_run(&p, &far, 1, r, &n, NULL), 0);
    assert_int_equal(n, 0);
}

static void test_fusion_truncates_by_score_not_date(void **state)
{
    struct mnemo_fusion_cand c[20];
    struct mnemo_fusion_result r[5];
    struct mnemo_fusion_params p;
    int n;
    params(&p);
    p.limit = 5;
    p.recency_weight = 0.0;
    for (int i = 0; i < 20; i++) {
        /* Worse ranks are newer: a date sort would return exactly the wrong five. */
        c[i] = cand(100 + i, i + 1, 0, 0);
        c[i].created_at_ms = NOW - (20 - i) * DAYMS;
    }
    assert_int_equal(mnemo_fusion_run(&p, c, 20, r, &n, NULL), 0);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(r[i].id, 100 + i);
        if (i > 0)
            assert_true(r[i - 1].final >= r[i].final);
    }
}

static void test_fusion_jaccard_values(void **state)
{
    assert_true(fabs(mnemo_fusion_jaccard("alpha bravo charlie", "charlie Bravo ALPHA") - 1.0) <
                1e-12);
    assert_true(mnemo_fusion_jaccard("alpha bravo", "delta echo") == 0.0);
    /* Stop-words and short tokens do not count. */
    assert_true(fabs(mnemo_fusion_jaccard("the alpha of bravo", "alpha bravo is ok") - 1.0) <
                1e-12);
    assert_true(fabs(mnemo_fusion_jaccard("alpha bravo charlie delta", "alpha bravo echo") - 0.4) <
                1e-12);
    assert_true(mnemo_fusion_jaccard(NULL, "alpha") == 0.0);
    assert_true(mnemo_fusion_jaccard("", "") == 0.0);
}

static void test_fusion_clusters_near_duplicates_keeping_the_best(void **state)
{
    struct mnemo_fusion_cand c[4] = {cand(1, 2, 0, 0), cand(2, 1, 0, 0), cand(3, 3, 0, 0),
                                     cand(4, 4, 0, 0)};
    struct mnemo_fusion_result r[10];
    struct mnemo_fusion_params p;
    int n;
    params(&p);
    c[0].text = "alpha bravo charlie delta";
    c[1].text = "alpha bravo echo";         /* J = 0.4 with 1: same cluster */
    c[2].text = "alpha bravo foxtrot golf"; /* J = 2/6 with 1, 2/5 with 2 */
    c[3].text = "hotel india juliet kilo";  /* unrelated */
    assert_int_equal(mnemo_fusion_run(&p, c, 4, r, &n, NULL), 0);
    /* 2 is best (rank 1) and kept; 1 joins its cluster (0.4); 3 also (2/5 with 2). */
    assert_int_equal(n, 2);
    assert_int_equal(r[0].id, 2);
    assert_int_equal(r[0].duplicates, 2);
    assert_int_equal(r[1].id, 4);
    assert_int_equal(r[1].duplicates, 0);
    /* Clustering off: all four. */
    p.jaccard = 1.5;
    assert_int_equal(mnemo_fusion_run(&p, c, 4, r, &n, NULL), 0);
    assert_int_equal(n, 4);
}

static void test_fusion_rejects_bad_parameters(void **state)
{
    struct mnemo_fusion_cand c = cand(1, 1, 0, 0);
    struct mnemo_fusion_result r[1];
    struct mnemo_fusion_params p;
    int n = 9;
    params(&p);
    p.limit = 0;
    assert_int_equal(mnemo_fusion_run(&p, &c, 1, r, &n, NULL), MNEMO_EINVAL);
    assert_int_equal(n, 0);
    params(&p);
    p.importance_max = 0.0;
    assert_int_equal(mnemo_fusion_run(&p, &c, 1, r, &n, NULL), MNEMO_EINVAL);
    params(&p);
    p.threshold = NAN;
    assert_int_equal(mnemo_fusion_run(&p, &c, 1, r, &n, NULL), MNEMO_EINVAL);
    params(&p);
    assert_int_equal(mnemo_fusion_run(&p, &c, MNEMO_FUSION_MAX_CANDS + 1, r, &n, NULL),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_fusion_run(&p, NULL, 0, r, &n, NULL), 0);
    assert_int_equal(n, 0);
    /* NULL parameters mean the defaults (limit 10). */
    assert_int_equal(mnemo_fusion_run(NULL, &c, 1, r, &n, NULL), 0);
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fusion_merge_joins_lists_by_id),
        cmocka_unit_test(test_fusion_rrf_prefers_candidates_in_both_lists),
        cmocka_unit_test(test_fusion_importance_and_recency_boosts),
        cmocka_unit_test(test_fusion_excludes_superseded_and_archived),
        cmocka_unit_test(test_fusion_vector_only_needs_min_similarity),
        cmocka_unit_test(test_fusion_threshold_returns_nothing_below_the_bar),
        cmocka_unit_test(test_fusion_truncates_by_score_not_date),
        cmocka_unit_test(test_fusion_jaccard_values),
        cmocka_unit_test(test_fusion_clusters_near_duplicates_keeping_the_best),
        cmocka_unit_test(test_fusion_rejects_bad_parameters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
