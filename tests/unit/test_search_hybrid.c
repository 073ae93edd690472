/*
 * test_search_hybrid.c - hybrid search over a real store: keyword and vector candidates fused,
 * project and global scope honoured, archived, superseded and deleted rows never returned,
 * the vector index kept in step with the vectors table, deadlines and bad input handled.
 */
#include "memutil.h"

#include "embed/embed.h"
#include "memory/obs.h"
#include "memory/schema.h"
#include "search/hybrid.h"
#include "util/clock.h"

/* Creates an observation, embeds it and indexes it; returns its id. */
static int64_t add(struct mu_search_fixture *f, const char *project, const char *scope,
                   const char *title, const char *narrative, int64_t age_days)
{
    struct mnemo_obs o;
    struct mnemo_obs_created c;
    struct mnemo_err e = {0};
    mnemo_obs_init(&o);
    o.project = (char *)project;
    snprintf(o.scope, sizeof(o.scope), "%s", scope);
    snprintf(o.type, sizeof(o.type), "discovery");
    o.title = (char *)title;
    o.narrative = (char *)narrative;
    o.created_at = mnemo_clock_wall_ms() - age_days * 86400000;
    if (mnemo_obs_create(f->st, &o, &c, &e) != 0)
        fail_msg("create: %s", e.msg);
    assert_int_equal(c.duplicate, 0);
    if (mnemo_search_embed_obs(f->st, f->vx, f->emb, c.id, 0, &e) != 0)
        fail_msg("embed_obs: %s", e.msg);
    return c.id;
}

static void seed(struct mu_search_fixture *f, int64_t ids[6])
{
    ids[0] = add(f, "alpha", "project", "WAL checkpoint starvation",
                 "A long reader kept the WAL growing until checkpoints could finish.", 1);
    ids[1] = add(f, "alpha", "project", "Pool connection recycling",
                 "Connections are recycled by age and idleness.", 2);
    ids[2] = add(f, "beta", "project", "WAL checkpoint in beta",
                 "The beta project also checkpoints its WAL.", 1);
    ids[3] = add(f, "beta", "global", "Always bound the WAL checkpoint",
                 "A global rule: the WAL must stay bounded with TRUNCATE checkpoints.", 3);
    ids[4] = add(f, "alpha", "project", "Old WAL checkpoint note",
                 "An older note about WAL checkpoint sizing, later superseded.", 30);
    ids[5] = add(f, "alpha", "project", "Archived WAL checkpoint idea",
                 "An idea about WAL checkpoint timing that was archived.", 5);
}

static int has(const struct mnemo_search_results *r, int64_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->items[i].obs.id == id)
            return 1;
    return 0;
}

static void test_search_hybrid_scope_and_hidden_rows(void **state)
{
    struct mu_search_fixture *f = *state;
    struct mnemo_search_results r;
    struct mnemo_err e = {0};
    int64_t ids[6];
    seed(f, ids);
    assert_int_equal(mnemo_obs_supersede(f->st, ids[4], ids[0], &e), 0);
    assert_int_equal(mnemo_obs_archive(f->st, ids[5], "test", &e), 0);

    if (mnemo_search_hybrid(f->st, f->vx, f->emb, "alpha", "wal checkpoint", 10, 1, 0, NULL, &r,
                            &e) != 0)
        fail_msg("search: %s", e.msg);
    assert_true(r.vec_used);
    assert_true(r.n_fts > 0);
    assert_true(r.n_vec > 0);
    assert_true(has(&r, ids[0]));
    assert_true(has(&r, ids[3]));  /* global row of another project */
    assert_false(has(&r, ids[2])); /* beta's project row */
    assert_false(has(&r, ids[4])); /* superseded */
    assert_false(has(&r, ids[5])); /* archived */
    for (size_t i = 0; i < r.n; i++) {
        const struct mnemo_fusion_result *s = &r.items[i].score;
        assert_int_equal(s->id, r.items[i].obs.id);
        assert_true(s->final > 0);
        if (i > 0)
            assert_true(r.items[i - 1].score.final >= s->final);
    }
    /* The best match was found by both paths and carries both components. */
    assert_true(r.items[0].score.bm25_rank > 0);
    assert_true(r.items[0].score.vec_rank > 0);
    mnemo_search_results_release(&r);

    /* Without global scope the beta rule disappears. */
    assert_int_equal(mnemo_search_hybrid(f->st, f->vx, f->emb, "alpha", "wal checkpoint", 10, 0, 0,
                                         NULL, &r, &e),
                     0);
    assert_true(has(&r, ids[0]));
    assert_false(has(&r, ids[3]));
    mnemo_search_results_release(&r);
}

static void test_search_hybrid_keyword_only_without_vectors(void **state)
{
    struct mu_search_fixture *f = *state;
    struct mnemo_search_results r;
    struct mnemo_err e = {0};
    int64_t ids[6];
    seed(f, ids);
    assert_int_equal(
        mnemo_search_hybrid(f->st, NULL, NULL, "alpha", "recycled", 10, 1, 0, NULL, &r, &e), 0);
    assert_false(r.vec_used);
    assert_true(r.vec_error[0] != '\0');
    assert_int_equal(r.n, 1);
    assert_int_equal(r.items[0].obs.id, ids[1]);
    assert_int_equal(r.items[0].score.vec_rank, 0);
    assert_string_equal(r.items[0].obs.title, "Pool connection recycling");
    mnemo_search_results_release(&r);
}

/* Imports n observations of project titled "<word> note <i>" (one batch per 1000). */
static void import_notes(struct mu_search_fixture *f, const char *project, const char *word, int n,
                         int64_t created_at)
{
    struct mnemo_obs *rows = calloc(1000, sizeof(*rows));
    char(*titles)[64] = calloc(1000, sizeof(*titles));
    struct mnemo_err e = {0};
    assert_non_null(rows);
    assert_non_null(titles);
    for (int done = 0; done < n; done += 1000) {
        int k = n - done < 1000 ? n - done : 1000;
        for (int i = 0; i < k; i++) {
            mnemo_obs_init(&rows[i]);
            snprintf(titles[i], sizeof(titles[i]), "%s note %d", word, done + i);
            rows[i].project = (char *)project;
            rows[i].title = titles[i];
            rows[i].narrative = (char *)"wal checkpoint notes";
            snprintf(rows[i].type, sizeof(rows[i].type), "change");
            rows[i].created_at = created_at;
        }
        struct mnemo_obs_import_result res;
        if (mnemo_obs_import(f->st, rows, (size_t)k, &res, &e) != 0)
            fail_msg("import: %s", e.msg);
    }
    free(titles);
    free(rows);
}

static void test_search_hybrid_quiet_project_found_past_the_rank_cap(void **state)
{
    struct mu_search_fixture *f = *state;
    struct mnemo_search_results r;
    struct mnemo_err e = {0};
    int64_t now = mnemo_clock_wall_ms();
    /* Two old notes in a quiet project, then more newer matches elsewhere than the rank cap. */
    import_notes(f, "quiet_000001", "quiet", 2, now - 86400000);
    import_notes(f, "busy_000002", "busy", MNEMO_SEARCH_FTS_RANK_CAP + 100, now);
    struct mnemo_fusion_params p;
    mnemo_fusion_params_init(&p);
    p.jaccard = 2.0; /* the notes are near-duplicates on purpose: keep them all */
    assert_int_equal(mnemo_search_hybrid(f->st, NULL, NULL, "quiet_000001", "wal checkpoint", 10, 0,
                                         0, &p, &r, &e),
                     0);
    assert_int_equal(r.n, 2);
    for (size_t i = 0; i < r.n; i++)
        assert_string_equal(r.items[i].obs.project, "quiet_000001");
    mnemo_search_results_release(&r);
    assert_int_equal(mnemo_search_hybrid(f->st, NULL, NULL, "busy_000002", "wal checkpoint", 10, 0,
                                         0, &p, &r, &e),
                     0);
    assert_int_equal(r.n, 10);
    mnemo_search_results_release(&r);
}

static void test_search_hybrid_deleted_row_in_index_is_not_returned(void **state)
{
    struct mu_search_fixture *f = *state;
    struct mnemo_search_results r;
    struct mnemo_err e = {0};
    int64_t ids[6];
    seed(f, ids);
    /* Deleted from the store but (deliberately) still in the index. */
    assert_int_equal(mnemo_obs_delete(f->st, ids[0], &e), 0);
    assert_true(mnemo_vindex_contains(f->vx, ids[0]));
    assert_int_equal(mnemo_search_hybrid(f->st, f->vx, f->emb, "alpha", "WAL checkpoint", 10, 1, 0,
                                         NULL, &r, &e),
                     0);
    assert_false(has(&r, ids[0]));
    assert_true(r.n > 0);
    mnemo_search_results_release(&r);
}

static void test_search_hybrid_load_index_from_vectors_table(void **state)
{
    struct mu_search_fixture *f = *state;
    struct mnemo_vindex *vx2;
    struct mnemo_err e = {0};
    int64_t ids[6], loaded = -1;
    seed(f, ids);
    assert_int_equal(mnemo_obs_archive(f->st, ids[5], NULL, &e), 0);
    assert_int_equal(mnemo_vindex_open(mnemo_embed_dim(f->emb), MNEMO_VINDEX_INT8, &vx2, &e), 0);
    if (mnemo_search_vindex_load(f->st, vx2, mnemo_embed_model_id(f->emb), 0, &loaded, &e) != 0)
        fail_msg("load: %s", e.msg);
    assert_int_equal(loaded, 5);
    assert_false(mnemo_vindex_contains(vx2, ids[5]));
    assert_true(mnemo_vindex_contains(vx2, ids[3]));
    /* Another model's vectors are not loaded. */
    mnemo_vindex_close(vx2);
    assert_int_equal(mnemo_vindex_open(mnemo_embed_dim(f->emb), MNEMO_VINDEX_FLOAT, &vx2, &e), 0);
    assert_int_equal(mnemo_search_vindex_load(f->st, vx2, "other-model", 0, &loaded, &e), 0);
    assert_int_equal(loaded, 0);
    mnemo_vindex_close(vx2);
    /* A dimension mismatch is an error, not a crash. */
    assert_int_equal(mnemo_vindex_open(16, MNEMO_VINDEX_FLOAT, &vx2, &e), 0);
    assert_int_equal(
        mnemo_search_vindex_load(f->st, vx2, mnemo_embed_model_id(f->emb), 0, &loaded, &e),
        MNEMO_EINVAL);
    mnemo_vindex_close(vx2);
}

static void test_search_hybrid_hostile_and_empty_queries(void **state)
{
    struct mu_search_fixture *f = *state;
    struct mnemo_search_results r;
    struct mnemo_err e = {0};
    int64_t ids[6];
    const char *hostile[] = {"title:wal NEAR(checkpoint", "\"unbalanced", "* - ^ : ( )",
                             "wal\" OR \"x", "AND OR NOT"};
    seed(f, ids);
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        if (mnemo_search_hybrid(f->st, f->vx, f->emb, "alpha", hostile[i], 5, 1, 0, NULL, &r, &e) !=
            0)
            fail_msg("'%s': %s", hostile[i], e.msg);
        mnemo_search_results_release(&r);
    }
    /* Nothing to search for and no vectors: no results, no error. */
    assert_int_equal(
        mnemo_search_hybrid(f->st, NULL, NULL, "alpha", "the and of", 5, 1, 0, NULL, &r, &e), 0);
    assert_int_equal(r.n, 0);
    mnemo_search_results_release(&r);
    /* A relevance bar nobody clears returns nothing. */
    struct mnemo_fusion_params p;
    mnemo_fusion_params_init(&p);
    p.threshold = 10.0;
    assert_int_equal(
        mnemo_search_hybrid(f->st, f->vx, f->emb, "alpha", "wal checkpoint", 5, 1, 0, &p, &r, &e),
        0);
    assert_int_equal(r.n, 0);
    mnemo_search_results_release(&r);
}

static void test_search_hybrid_bad_arguments_and_deadline(void **state)
{
    struct mu_search_fixture *f = *state;
    struct mnemo_search_results r;
    struct mnemo_err e = {0};
    struct mnemo_vindex *small;
    assert_int_equal(mnemo_search_hybrid(f->st, NULL, NULL, "alpha", "wal", 0, 1, 0, NULL, &r, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_search_hybrid(f->st, NULL, NULL, "alpha", NULL, 5, 1, 0, NULL, &r, &e),
                     MNEMO_EINVAL);
    /* A deadline already in the past. */
    assert_int_equal(mnemo_search_hybrid(f->st, NULL, NULL, "alpha", "wal", 5, 1,
                                         mnemo_clock_mono_ns() - 1, NULL, &r, &e),
                     MNEMO_ETIMEDOUT);
    assert_int_equal(r.n, 0);
    /* An index of another dimension disables the vector path instead of failing. */
    assert_int_equal(mnemo_vindex_open(16, MNEMO_VINDEX_FLOAT, &small, &e), 0);
    assert_int_equal(
        mnemo_search_hybrid(f->st, small, f->emb, "alpha", "wal", 5, 1, 0, NULL, &r, &e), 0);
    assert_false(r.vec_used);
    assert_non_null(strstr(r.vec_error, "dimensions"));
    mnemo_search_results_release(&r);
    assert_int_equal(mnemo_search_embed_obs(f->st, small, f->emb, 1, 0, &e), MNEMO_EINVAL);
    mnemo_vindex_close(small);
    assert_int_equal(mnemo_search_embed_obs(f->st, f->vx, f->emb, 999, 0, &e), MNEMO_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_search_hybrid_quiet_project_found_past_the_rank_cap,
                                        mu_search_setup, mu_search_teardown),
        cmocka_unit_test_setup_teardown(test_search_hybrid_scope_and_hidden_rows, mu_search_setup,
                                        mu_search_teardown),
        cmocka_unit_test_setup_teardown(test_search_hybrid_keyword_only_without_vectors,
                                        mu_search_setup, mu_search_teardown),
        cmocka_unit_test_setup_teardown(test_search_hybrid_deleted_row_in_index_is_not_returned,
                                        mu_search_setup, mu_search_teardown),
        cmocka_unit_test_setup_teardown(test_search_hybrid_load_index_from_vectors_table,
                                        mu_search_setup, mu_search_teardown),
        cmocka_unit_test_setup_teardown(test_search_hybrid_hostile_and_empty_queries,
                                        mu_search_setup, mu_search_teardown),
        cmocka_unit_test_setup_teardown(test_search_hybrid_bad_arguments_and_deadline,
                                        mu_search_setup, mu_search_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
