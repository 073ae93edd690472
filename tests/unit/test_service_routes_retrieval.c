/*
 * test_service_routes_retrieval.c - the per-project retrieval counters behind /v1/stats:
 * counts per project and kind, the bound on projects, and exact totals under concurrent use.
 */
#include "testutil.h"

#include <pthread.h>

#include "service/routes.h"

static json_t *row(json_t *o, const char *project)
{
    json_t *r = json_object_get(o, project);
    if (r == NULL)
        fail_msg("no row for '%s'", project);
    return r;
}

static int64_t field(json_t *o, const char *project, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(row(o, project), key));
}

static void test_routes_retrieval_counts_per_project_and_kind(void **state)
{
    (void)state;
    struct mnemo_routes_retrieval *r;
    assert_int_equal(mnemo_routes_retrieval_new(&r), 0);

    json_t *o = mnemo_routes_retrieval_json(r);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);

    mnemo_routes_retrieval_record(r, "p1", MNEMO_ROUTES_RETRIEVAL_SEARCH, 3);
    mnemo_routes_retrieval_record(r, "p1", MNEMO_ROUTES_RETRIEVAL_SEARCH, 0);
    mnemo_routes_retrieval_record(r, "p1", MNEMO_ROUTES_RETRIEVAL_CONTEXT, 2);
    mnemo_routes_retrieval_record(r, "p2", MNEMO_ROUTES_RETRIEVAL_CONTEXT, 1);
    mnemo_routes_retrieval_record(r, NULL, MNEMO_ROUTES_RETRIEVAL_SEARCH, 4);
    mnemo_routes_retrieval_record(r, "p2", MNEMO_ROUTES_RETRIEVAL_CONTEXT, -5);

    o = mnemo_routes_retrieval_json(r);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 3);
    assert_int_equal(field(o, "p1", "searches"), 2);
    assert_int_equal(field(o, "p1", "context_requests"), 1);
    assert_int_equal(field(o, "p1", "hits"), 5);
    assert_int_equal(field(o, "p2", "searches"), 0);
    assert_int_equal(field(o, "p2", "context_requests"), 2);
    assert_int_equal(field(o, "p2", "hits"), 1);
    assert_int_equal(field(o, MNEMO_ROUTES_RETRIEVAL_ALL, "searches"), 1);
    json_decref(o);
    mnemo_routes_retrieval_free(r);

    /* NULL counters are a no-op and report {}. */
    mnemo_routes_retrieval_record(NULL, "p", MNEMO_ROUTES_RETRIEVAL_SEARCH, 1);
    o = mnemo_routes_retrieval_json(NULL);
    assert_int_equal(json_object_size(o), 0);
    json_decref(o);
    mnemo_routes_retrieval_free(NULL);
}

static void test_routes_retrieval_keeps_at_most_500_projects(void **state)
{
    (void)state;
    struct mnemo_routes_retrieval *r;
    char name[32];
    assert_int_equal(mnemo_routes_retrieval_new(&r), 0);
    for (int i = 0; i < MNEMO_ROUTES_RETRIEVAL_MAX_PROJECTS + 20; i++) {
        snprintf(name, sizeof name, "proj-%d", i);
        mnemo_routes_retrieval_record(r, name, MNEMO_ROUTES_RETRIEVAL_SEARCH, 1);
    }
    json_t *o = mnemo_routes_retrieval_json(r);
    assert_int_equal(json_object_size(o), MNEMO_ROUTES_RETRIEVAL_MAX_PROJECTS + 1);
    assert_int_equal(field(o, "proj-0", "searches"), 1);
    assert_null(json_object_get(o, "proj-500"));
    assert_int_equal(field(o, MNEMO_ROUTES_RETRIEVAL_OTHER, "searches"), 20);
    json_decref(o);
    mnemo_routes_retrieval_free(r);
}

#define THREADS    4
#define PER_THREAD 20000

static void *hammer(void *arg)
{
    struct mnemo_routes_retrieval *r = arg;
    char name[16];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(name, sizeof name, "p%d", i % 7);
        mnemo_routes_retrieval_record(
            r, name, i % 2 ? MNEMO_ROUTES_RETRIEVAL_SEARCH : MNEMO_ROUTES_RETRIEVAL_CONTEXT, 1);
    }
    return NULL;
}

static void test_routes_retrieval_totals_are_exact_under_concurrency(void **state)
{
    (void)state;
    struct mnemo_routes_retrieval *r;
    pthread_t t[THREADS];
    assert_int_equal(mnemo_routes_retrieval_new(&r), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, r), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    json_t *o = mnemo_routes_retrieval_json(r);
    int64_t s = 0, c = 0, h = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        s += json_integer_value(json_object_get(v, "searches"));
        c += json_integer_value(json_object_get(v, "context_requests"));
        h += json_integer_value(json_object_get(v, "hits"));
    }
    json_decref(o);
    assert_int_equal(s, THREADS * PER_THREAD / 2);
    assert_int_equal(c, THREADS * PER_THREAD / 2);
    assert_int_equal(h, THREADS * PER_THREAD);
    mnemo_routes_retrieval_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_retrieval_counts_per_project_and_kind),
        cmocka_unit_test(test_routes_retrieval_keeps_at_most_500_projects),
        cmocka_unit_test(test_routes_retrieval_totals_are_exact_under_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
