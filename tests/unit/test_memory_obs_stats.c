/*
 * test_memory_obs_stats.c - the counts `mnemo stats` shows and the page-through of
 * observations lacking a vector, which `mnemo reembed` resumes from.
 */
#include "memutil.h"

#include "memory/obs.h"
#include "memory/prompt.h"
#include "memory/session.h"

static int64_t add(struct mnemo_store *st, const char *project, const char *type, const char *title)
{
    struct mnemo_obs o;
    struct mnemo_obs_created c;
    struct mnemo_err e = {0};
    mnemo_obs_init(&o);
    o.project = (char *)project;
    snprintf(o.type, sizeof o.type, "%s", type);
    o.title = (char *)title;
    if (mnemo_obs_create(st, &o, &c, &e) != 0)
        fail_msg("create: %s", e.msg);
    return c.id;
}

static int add_vector_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    int64_t *id = arg;
    char sql[160];
    snprintf(sql, sizeof sql,
             "INSERT INTO vectors(observation_id, model_id, dim, embedding, created_at)"
             " VALUES (%lld, 'm1', 1, x'0000803f', 1)",
             (long long)*id);
    return mnemo_conn_exec(c, sql, err);
}

static int64_t group_count(const struct mnemo_obs_group *g, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(g[i].name, name) == 0)
            return g[i].count;
    return -1;
}

static void test_memory_stats_counts_by_state_project_type_and_model(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = mu_open(f->db);
    struct mnemo_err e = {0};
    int64_t a = add(st, "alpha_000001", "bugfix", "one");
    int64_t b = add(st, "alpha_000001", "bugfix", "two");
    int64_t c = add(st, "beta_000002", "decision", "three");
    add(st, "beta_000002", "feature", "four");
    assert_int_equal(mnemo_obs_archive(st, a, "old", &e), 0);
    assert_int_equal(mnemo_obs_supersede(st, b, c, &e), 0);
    assert_int_equal(mnemo_store_write(st, "vec", 1000, add_vector_fn, &c, &e), 0);
    /* Two sessions; three prompts of which one wholly private (counted, never stored). */
    struct mnemo_session ses;
    assert_int_equal(
        mnemo_session_start(st, "claude", "s1", "alpha_000001", "/a", 1000, &ses, NULL, &e), 0);
    assert_int_equal(mnemo_prompt_record(st, ses.id, "first prompt", 0, 2000, NULL, &e), 0);
    assert_int_equal(mnemo_prompt_record(st, ses.id, "second prompt", 0, 60000, NULL, &e), 0);
    assert_int_equal(mnemo_prompt_record(st, ses.id, NULL, 1, 70000, NULL, &e), 0);
    assert_int_equal(
        mnemo_session_start(st, "claude", "s2", "beta_000002", "/b", 1000, NULL, NULL, &e), 0);

    struct mnemo_obs_stats s;
    assert_int_equal(mnemo_obs_stats(st, &s, &e), 0);
    assert_int_equal(s.total, 4);
    assert_int_equal(s.live, 2);
    assert_int_equal(s.archived, 1);
    assert_int_equal(s.superseded, 1);
    assert_int_equal(s.sessions, 2);
    assert_int_equal(s.prompts, 2);
    assert_int_equal(group_count(s.by_project, s.n_by_project, "alpha_000001"), 2);
    assert_int_equal(group_count(s.by_project, s.n_by_project, "beta_000002"), 2);
    assert_int_equal(group_count(s.by_type, s.n_by_type, "bugfix"), 2);
    assert_string_equal(s.by_type[0].name, "bugfix"); /* largest first */
    assert_int_equal(group_count(s.by_scope, s.n_by_scope, "project"), 4);
    assert_int_equal(s.n_vectors_by_model, 1);
    assert_int_equal(group_count(s.vectors_by_model, s.n_vectors_by_model, "m1"), 1);
    mnemo_obs_stats_release(&s);
    assert_null(s.by_project);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_memory_missing_vectors_pages_in_id_order_and_resumes(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = mu_open(f->db);
    struct mnemo_err e = {0};
    int64_t ids[8], got[8];
    char title[32];
    for (int i = 0; i < 7; i++) {
        snprintf(title, sizeof title, "observation %d", i);
        ids[i] = add(st, "gamma_000003", "change", title);
    }
    assert_int_equal(mnemo_store_write(st, "vec", 1000, add_vector_fn, &ids[2], &e), 0);

    size_t n = 0;
    int64_t total = 0, after = 0, seen = 0;
    assert_int_equal(mnemo_obs_missing_vectors(st, "m1", 0, got, 3, &n, &total, &e), 0);
    assert_int_equal(total, 6);
    assert_int_equal(n, 3);
    assert_true(got[0] == ids[0] && got[1] == ids[1] && got[2] == ids[3]);
    for (;;) {
        assert_int_equal(mnemo_obs_missing_vectors(st, "m1", after, got, 3, &n, NULL, &e), 0);
        if (n == 0)
            break;
        seen += (int64_t)n;
        after = got[n - 1];
    }
    assert_int_equal(seen, 6);
    /* Another model has no vectors at all. */
    assert_int_equal(mnemo_obs_missing_vectors(st, "m2", 0, got, 8, &n, &total, &e), 0);
    assert_int_equal(total, 7);
    assert_int_equal(mnemo_obs_missing_vectors(st, "", 0, got, 8, &n, NULL, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_obs_missing_vectors(st, "m1", 0, got, 0, &n, NULL, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_store_close(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memory_stats_counts_by_state_project_type_and_model,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_memory_missing_vectors_pages_in_id_order_and_resumes,
                                        su_setup, su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
