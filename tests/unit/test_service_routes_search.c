/*
 * test_service_routes_search.c - POST /v1/search (hybrid, explain, validation) and the two
 * context routes (session-start index, per-prompt block: cleaned prompt, no writes).
 */
#include "test_service_routes_fixture.h"

#include "search/context.h"

static void seed(struct rt_fixture *f)
{
    rt_create(f, "{\"project\":\"p1\",\"type\":\"decision\",\"title\":\"sqlite wal checkpoint "
                 "truncate\",\"narrative\":\"the checkpointer truncates the wal when it grows\"}");
    rt_create(f, "{\"project\":\"p1\",\"type\":\"bugfix\",\"title\":\"parser crash on empty "
                 "input\",\"narrative\":\"the lexer read past the end\"}");
    rt_create(f, "{\"project\":\"p2\",\"type\":\"feature\",\"title\":\"wal size gauge\","
                 "\"narrative\":\"metrics show the wal bytes\"}");
    rt_create(f, "{\"project\":\"p3\",\"type\":\"discovery\",\"title\":\"wal best practice\","
                 "\"concepts\":[\"best-practice\"],\"narrative\":\"keep wal small\"}");
}

static void test_routes_search_finds_project_rows_with_scores(void **state)
{
    struct rt_fixture *f = *state;
    seed(f);

    assert_int_equal(rt_call(f, route_search_run, "/v1/search", NULL,
                             "{\"query\":\"wal checkpoint\",\"project\":\"p1\"}"),
                     200);
    json_t *res = rt_get(f, "results");
    assert_true(json_array_size(res) >= 1);
    json_t *first = json_array_get(res, 0);
    json_t *o = json_object_get(first, "observation");
    assert_string_equal(json_string_value(json_object_get(o, "title")),
                        "sqlite wal checkpoint truncate");
    json_t *score = json_object_get(first, "score");
    assert_true(json_real_value(json_object_get(score, "total")) > 0);
    assert_null(json_object_get(score, "fts_rank"));
    assert_true(json_is_true(rt_get(f, "vec_used")));
    assert_true(json_is_real(rt_get(f, "took_ms")));
    /* p2's row never shows in p1; p3's global best practice does unless asked not to. */
    size_t i;
    json_t *hit;
    int global = 0;
    json_array_foreach(res, i, hit)
    {
        const char *p =
            json_string_value(json_object_get(json_object_get(hit, "observation"), "project"));
        assert_string_not_equal(p, "p2");
        global += strcmp(p, "p3") == 0;
    }
    assert_int_equal(global, 1);
    assert_int_equal(rt_call(f, route_search_run, "/v1/search", NULL,
                             "{\"query\":\"wal\",\"project\":\"p1\",\"include_global\":false}"),
                     200);
    json_array_foreach(rt_get(f, "results"), i, hit)
    {
        const char *p =
            json_string_value(json_object_get(json_object_get(hit, "observation"), "project"));
        assert_string_equal(p, "p1");
    }
}

static void test_routes_search_explain_adds_the_score_components(void **state)
{
    struct rt_fixture *f = *state;
    seed(f);
    assert_int_equal(rt_call(f, route_search_run, "/v1/search", NULL,
                             "{\"query\":\"parser crash\",\"explain\":true,\"limit\":1}"),
                     200);
    json_t *res = rt_get(f, "results");
    assert_int_equal(json_array_size(res), 1);
    json_t *score = json_object_get(json_array_get(res, 0), "score");
    assert_int_equal(json_integer_value(json_object_get(score, "fts_rank")), 1);
    assert_non_null(json_object_get(score, "vec_rank"));
    assert_non_null(json_object_get(score, "rrf"));
    assert_true(json_real_value(json_object_get(score, "importance_boost")) >= 1.0);
    assert_true(json_real_value(json_object_get(score, "recency_boost")) >= 1.0);
}

static void test_routes_search_without_embeddings_is_keyword_only(void **state)
{
    struct rt_fixture *f = *state;
    seed(f);
    struct mnemo_vindex *vx = f->w.vx;
    f->w.vx = NULL;
    assert_int_equal(
        rt_call(f, route_search_run, "/v1/search", NULL, "{\"query\":\"parser crash\"}"), 200);
    f->w.vx = vx;
    assert_false(json_is_true(rt_get(f, "vec_used")));
    assert_true(json_array_size(rt_get(f, "results")) >= 1);
}

/* While the worker is still loading its vector index (index_ready 0), search answers from
 * keywords alone and says why; it never ranks against a half-loaded index. */
static void test_routes_search_is_keyword_only_while_the_index_loads(void **state)
{
    struct rt_fixture *f = *state;
    seed(f);
    atomic_store(&f->w.index_ready, 0);
    assert_int_equal(
        rt_call(f, route_search_run, "/v1/search", NULL, "{\"query\":\"wal checkpoint\"}"), 200);
    assert_false(json_is_true(rt_get(f, "vec_used")));
    assert_true(json_array_size(rt_get(f, "results")) >= 1);
    assert_non_null(strstr(json_string_value(rt_get(f, "vec_error")), "loading"));
    atomic_store(&f->w.index_ready, 1);
    assert_int_equal(
        rt_call(f, route_search_run, "/v1/search", NULL, "{\"query\":\"wal checkpoint\"}"), 200);
    assert_true(json_is_true(rt_get(f, "vec_used")));
}

/* Searches and context requests are counted per project in /v1/stats. */
static void test_routes_retrieval_counts_reach_stats(void **state)
{
    struct rt_fixture *f = *state;
    seed(f);
    assert_int_equal(rt_call(f, route_search_run, "/v1/search", NULL,
                             "{\"query\":\"wal checkpoint\",\"project\":\"p1\"}"),
                     200);
    size_t hits = json_array_size(rt_get(f, "results"));
    assert_int_equal(rt_call(f, route_context_prompt, "/v1/context/prompt", NULL,
                             "{\"project\":\"p1\",\"prompt\":\"wal checkpoint\"}"),
                     200);
    assert_int_equal(rt_call(f, route_stats_get, "/v1/stats", NULL, NULL), 200);
    json_t *p1 = json_object_get(rt_get(f, "retrieval"), "p1");
    assert_non_null(p1);
    assert_int_equal(json_integer_value(json_object_get(p1, "searches")), 1);
    assert_int_equal(json_integer_value(json_object_get(p1, "context_requests")), 1);
    assert_true(json_integer_value(json_object_get(p1, "hits")) >= (json_int_t)hits);
}

static void test_routes_search_validates_its_fields(void **state)
{
    struct rt_fixture *f = *state;
    rt_call(f, route_search_run, "/v1/search", NULL, "{}");
    rt_assert_error(f, 400, "'query'");
    rt_call(f, route_search_run, "/v1/search", NULL, "{\"query\":\"\"}");
    rt_assert_error(f, 400, "'query'");
    rt_call(f, route_search_run, "/v1/search", NULL, "{\"query\":\"x\",\"limit\":201}");
    rt_assert_error(f, 400, "'limit'");
    rt_call(f, route_search_run, "/v1/search", NULL, "{\"query\":\"x\",\"limit\":\"5\"}");
    rt_assert_error(f, 400, "'limit'");
    rt_call(f, route_search_run, "/v1/search", NULL, "{\"query\":\"x\",\"explain\":1}");
    rt_assert_error(f, 400, "'explain'");
    rt_call(f, route_search_run, "/v1/search", NULL, "{\"query\":\"x\",\"project\":\" p\"}");
    rt_assert_error(f, 400, "'project'");

    char *big = malloc(MNEMO_SEARCH_MAX_QUERY + 64);
    assert_non_null(big);
    int n = snprintf(big, 32, "{\"query\":\"");
    memset(big + n, 'a', MNEMO_SEARCH_MAX_QUERY + 1);
    snprintf(big + n + MNEMO_SEARCH_MAX_QUERY + 1, 8, "\"}");
    rt_call(f, route_search_run, "/v1/search", NULL, big);
    free(big);
    rt_assert_error(f, 400, "'query'");
}

static void test_routes_context_session_start_lists_the_project_index(void **state)
{
    struct rt_fixture *f = *state;

    /* Nothing stored: no block at all. */
    assert_int_equal(rt_call(f, route_context_session_start, "/v1/context/session-start", NULL,
                             "{\"project\":\"p1\"}"),
                     200);
    assert_string_equal(json_string_value(rt_get(f, "context")), "");
    assert_int_equal(json_integer_value(rt_get(f, "shown")), 0);

    seed(f);
    assert_int_equal(rt_call(f, route_context_session_start, "/v1/context/session-start", NULL,
                             "{\"project\":\"p1\"}"),
                     200);
    const char *ctx = json_string_value(rt_get(f, "context"));
    assert_non_null(strstr(ctx, "<mnemo-context"));
    assert_non_null(strstr(ctx, "parser crash on empty input"));
    assert_non_null(strstr(ctx, "wal best practice")); /* global scope */
    assert_null(strstr(ctx, "wal size gauge"));        /* another project */
    assert_int_equal(json_integer_value(rt_get(f, "shown")), 3);
    assert_int_equal(atomic_load(&f->w.context_requests), 2);

    rt_call(f, route_context_session_start, "/v1/context/session-start", NULL, "{}");
    rt_assert_error(f, 400, "'project'");
    rt_call(f, route_context_session_start, "/v1/context/session-start", NULL,
            "{\"project\":\"p1\",\"budget_tokens\":0}");
    rt_assert_error(f, 400, "'budget_tokens'");
}

static void test_routes_context_prompt_matches_and_writes_nothing(void **state)
{
    struct rt_fixture *f = *state;
    seed(f);
    int64_t before = mnemo_store_wal_size(f->w.st);
    assert_int_equal(rt_call(f, route_context_prompt, "/v1/context/prompt", NULL,
                             "{\"project\":\"p1\",\"prompt\":\"why does the parser crash on "
                             "empty input?\"}"),
                     200);
    const char *ctx = json_string_value(rt_get(f, "context"));
    assert_non_null(strstr(ctx, "<mnemo-memory"));
    assert_non_null(strstr(ctx, "parser crash on empty input"));
    assert_true(json_integer_value(rt_get(f, "shown")) >= 1);
    assert_int_equal(mnemo_store_wal_size(f->w.st), before);

    /* A prompt that is all private, or only mnemo's own earlier context, searches nothing. */
    assert_int_equal(rt_call(f, route_context_prompt, "/v1/context/prompt", NULL,
                             "{\"project\":\"p1\",\"prompt\":\"<private>parser crash</private>\"}"),
                     200);
    assert_string_equal(json_string_value(rt_get(f, "context")), "");
    assert_int_equal(rt_call(f, route_context_prompt, "/v1/context/prompt", NULL,
                             "{\"project\":\"p1\",\"prompt\":\"<mnemo-memory>parser crash on "
                             "empty input</mnemo-memory>\"}"),
                     200);
    assert_string_equal(json_string_value(rt_get(f, "context")), "");

    rt_call(f, route_context_prompt, "/v1/context/prompt", NULL, "{\"project\":\"p1\"}");
    rt_assert_error(f, 400, "'prompt'");
    rt_call(f, route_context_prompt, "/v1/context/prompt", NULL,
            "{\"project\":\"p1\",\"prompt\":\"x\",\"budget_tokens\":1000000}");
    rt_assert_error(f, 400, "'budget_tokens'");
    rt_call(f, route_context_prompt, "/v1/context/prompt", NULL,
            "{\"project\":\"p1\",\"prompt\":\"x\",\"session_id\":-1}");
    rt_assert_error(f, 400, "'session_id'");
}

static void test_routes_context_prompt_is_fast_at_small_sizes(void **state)
{
    struct rt_fixture *f = *state;
    seed(f);
    int64_t best = INT64_MAX;
    for (int i = 0; i < 20; i++) {
        int64_t t0 = mnemo_clock_mono_ns();
        assert_int_equal(rt_call(f, route_context_prompt, "/v1/context/prompt", NULL,
                                 "{\"project\":\"p1\",\"prompt\":\"wal checkpoint\"}"),
                         200);
        int64_t dt = mnemo_clock_mono_ns() - t0;
        if (dt < best)
            best = dt;
    }
    print_message("context prompt best of 20: %.3f ms\n", (double)best / 1e6);
    /* A generous bound (sanitizer builds, loaded CI): single-digit ms is the target. */
    assert_true(best < INT64_C(100) * 1000 * 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_routes_search_finds_project_rows_with_scores, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_search_explain_adds_the_score_components,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_search_without_embeddings_is_keyword_only,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_search_is_keyword_only_while_the_index_loads,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_retrieval_counts_reach_stats, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_search_validates_its_fields, rt_setup,
                                        rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_context_session_start_lists_the_project_index,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_context_prompt_matches_and_writes_nothing,
                                        rt_setup, rt_teardown),
        cmocka_unit_test_setup_teardown(test_routes_context_prompt_is_fast_at_small_sizes, rt_setup,
                                        rt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
