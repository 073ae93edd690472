/*
 * test_memory_scoring.c - the importance score term by term, its floor, future timestamps, the
 * 7-day half-life on millisecond rows, concept weights from the table, and the batched
 * recalculation over a real store.
 */
#include "storeutil.h"

#include <math.h>
#include <string.h>

#include "memory/obs.h"
#include "memory/schema.h"
#include "memory/scoring.h"
#include "util/clock.h"

#define DAY_MS INT64_C(86400000)
/* A realistic "now" in Unix milliseconds (2026-11-27). */
#define NOW_MS INT64_C(1795824000000)

static void assert_close(double a, double b)
{
    if (fabs(a - b) > 1e-9)
        fail_msg("%.12f != %.12f", a, b);
}

static void test_memory_scoring_type_weights_match_the_reference(void **state)
{
    (void)state;
    assert_close(mnemo_scoring_type_weight("bugfix"), 1.3);
    assert_close(mnemo_scoring_type_weight("feature"), 1.2);
    assert_close(mnemo_scoring_type_weight("discovery"), 1.1);
    assert_close(mnemo_scoring_type_weight("decision"), 1.1);
    assert_close(mnemo_scoring_type_weight("refactor"), 1.0);
    assert_close(mnemo_scoring_type_weight("change"), 0.9);
    assert_close(mnemo_scoring_type_weight("musing"), 1.0);
    assert_close(mnemo_scoring_type_weight(NULL), 1.0);
}

static void test_memory_scoring_half_life_is_seven_days_in_milliseconds(void **state)
{
    (void)state;
    /* Age 0: the full type weight. */
    assert_close(mnemo_scoring_importance("bugfix", NOW_MS, NOW_MS, 0, 0, 0), 1.3);
    /* A row created 7 days ago in ms has half its type weight, 14 days a quarter. */
    assert_close(mnemo_scoring_importance("bugfix", NOW_MS - 7 * DAY_MS, NOW_MS, 0, 0, 0), 0.65);
    assert_close(mnemo_scoring_importance("bugfix", NOW_MS - 14 * DAY_MS, NOW_MS, 0, 0, 0), 0.325);
    assert_close(mnemo_scoring_importance("feature", NOW_MS - DAY_MS * 7 / 2, NOW_MS, 0, 0, 0),
                 0.848528137423857);
    /* A seconds value mistaken for ms would be 55 years old (floor), not 7 days: pin that the
     * function reads ms by checking one hour of age barely moves the score. */
    double hour = mnemo_scoring_importance("bugfix", NOW_MS - 3600 * 1000, NOW_MS, 0, 0, 0);
    assert_true(hour > 1.29 && hour < 1.3);
}

static void test_memory_scoring_future_timestamps_count_as_age_zero(void **state)
{
    (void)state;
    assert_close(mnemo_scoring_importance("decision", NOW_MS + 30 * DAY_MS, NOW_MS, 0, 0, 0), 1.1);
}

static void test_memory_scoring_feedback_concepts_and_retrievals_add_up(void **state)
{
    (void)state;
    double base = mnemo_scoring_importance("refactor", NOW_MS, NOW_MS, 0, 0, 0);
    assert_close(mnemo_scoring_importance("refactor", NOW_MS, NOW_MS, 1, 0, 0) - base, 0.30);
    assert_close(mnemo_scoring_importance("refactor", NOW_MS, NOW_MS, -1, 0, 0) - base, -0.30);
    assert_close(mnemo_scoring_importance("refactor", NOW_MS, NOW_MS, 0, 0.55, 0) - base, 0.11);
    /* log2(7 + 1) * 0.1 * 0.15 = 0.045 */
    assert_close(mnemo_scoring_importance("refactor", NOW_MS, NOW_MS, 0, 0, 7) - base, 0.045);
    /* Out-of-range feedback is clamped, negative counts are zero. */
    assert_close(mnemo_scoring_importance("refactor", NOW_MS, NOW_MS, 5, 0, -3) - base, 0.30);
    /* Everything together. */
    double all = mnemo_scoring_importance("bugfix", NOW_MS - 7 * DAY_MS, NOW_MS, 1, 0.45, 3);
    assert_close(all, 0.65 + 0.30 + 0.09 + 2.0 * 0.015);
}

static void test_memory_scoring_floor_is_one_hundredth(void **state)
{
    (void)state;
    /* Very old and voted down: the floor. */
    assert_close(mnemo_scoring_importance("change", NOW_MS - 365 * DAY_MS, NOW_MS, -1, 0, 0),
                 MNEMO_SCORING_FLOOR);
    /* Old but not voted down: tiny, above the floor? 0.9 * 0.5^(365/7) is ~2e-16: floor too. */
    assert_close(mnemo_scoring_importance("change", NOW_MS - 365 * DAY_MS, NOW_MS, 0, 0, 0),
                 MNEMO_SCORING_FLOOR);
    /* Concepts lift an old row above the floor. */
    assert_close(mnemo_scoring_importance("change", NOW_MS - 365 * DAY_MS, NOW_MS, 0, 0.3, 0),
                 0.06);
}

static void test_memory_scoring_concept_weights_come_from_the_table(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_store *st = NULL;
    struct mnemo_scoring_weights w;
    struct mnemo_err e = {0};
    mnemo_memory_store_config(&cfg, f->db, MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER);
    assert_int_equal(mnemo_store_open(&cfg, &st, &e), 0);
    assert_int_equal(mnemo_scoring_weights_load(st, &w, &e), 0);
    assert_int_equal(w.n, MNEMO_MEMORY_SEEDED_WEIGHTS_V2);
    assert_close(mnemo_scoring_weight_of(&w, "security"), 0.30);
    assert_close(mnemo_scoring_weight_of(&w, "gotcha"), 0.25);
    assert_close(mnemo_scoring_weight_of(&w, "trade-off"), 0.10);
    assert_close(mnemo_scoring_weight_of(&w, "no-such-concept"), 0.0);
    const char *cs[] = {"security", "gotcha", "security", "unknown"};
    /* Duplicates count once; unknown concepts weigh nothing. */
    assert_close(mnemo_scoring_concept_sum(&w, cs, 4), 0.55);
    mnemo_scoring_weights_release(&w);
    assert_int_equal(w.n, 0);
    mnemo_store_close(st);
}

static void test_memory_scoring_recalc_updates_live_rows_in_batches(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};
    struct mnemo_obs_created c;
    struct mnemo_obs got;
    int64_t updated = 0;
    static char *concepts[] = {"security"};
    mnemo_memory_store_config(&cfg, f->db, MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER);
    assert_int_equal(mnemo_store_open(&cfg, &st, &e), 0);

    /* 23 bugfix rows created exactly 7 days before NOW_MS, stored in milliseconds. */
    int64_t first = 0, archived = 0;
    for (int i = 0; i < 23; i++) {
        char title[32];
        snprintf(title, sizeof title, "row %d", i);
        struct mnemo_obs o;
        mnemo_obs_init(&o);
        o.project = "p";
        snprintf(o.type, sizeof o.type, "bugfix");
        o.title = title;
        o.concepts = concepts;
        o.n_concepts = 1;
        o.created_at = NOW_MS - 7 * DAY_MS;
        assert_int_equal(mnemo_obs_create(st, &o, &c, &e), 0);
        if (i == 0)
            first = c.id;
        if (i == 1)
            archived = c.id;
    }
    assert_int_equal(mnemo_obs_archive(st, archived, "test", &e), 0);
    /* Make every stored score stale, then recalc at NOW_MS in batches of 5. */
    struct mnemo_conn *conn = NULL;
    assert_int_equal(mnemo_store_acquire(st, "stale", mnemo_deadline_in_ms(2000), &conn, &e), 0);
    assert_int_equal(mnemo_conn_exec(conn, "UPDATE observations SET importance = 42", &e), 0);
    mnemo_store_release(conn);

    assert_int_equal(mnemo_scoring_recalc(st, 5, NOW_MS, &updated, &e), 0);
    assert_int_equal(updated, 22);
    assert_int_equal(mnemo_obs_get(st, first, &got, &e), 0);
    /* Half the bugfix weight after 7 days, plus security 0.30 * 0.20. */
    assert_close(got.importance, 0.65 + 0.06);
    mnemo_obs_release(&got);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM observations WHERE importance = 42"),
                     1);
    assert_int_equal(mnemo_obs_get(st, archived, &got, &e), 0);
    assert_close(got.importance, 42);
    mnemo_obs_release(&got);

    /* A changed concept weight is picked up by the next recalculation. */
    assert_int_equal(mnemo_store_acquire(st, "tune", mnemo_deadline_in_ms(2000), &conn, &e), 0);
    assert_int_equal(
        mnemo_conn_exec(conn, "UPDATE concept_weights SET weight = 1.0 WHERE concept='security'",
                        &e),
        0);
    mnemo_store_release(conn);
    assert_int_equal(mnemo_scoring_recalc(st, 0, NOW_MS + 7 * DAY_MS, &updated, &e), 0);
    assert_int_equal(updated, 22);
    assert_int_equal(mnemo_obs_get(st, first, &got, &e), 0);
    assert_close(got.importance, 0.325 + 0.20);
    mnemo_obs_release(&got);

    /* A set cancel flag stops the pass before its next batch; nothing more is visited. */
    _Atomic int cancel = 1;
    assert_int_equal(mnemo_scoring_recalc_cancelable(st, 5, NOW_MS, &cancel, &updated, &e),
                     MNEMO_ECLOSED);
    assert_int_equal(updated, 0);
    cancel = 0;
    assert_int_equal(mnemo_scoring_recalc_cancelable(st, 5, NOW_MS, &cancel, &updated, &e), 0);
    assert_true(updated > 0);
    assert_int_equal(mnemo_scoring_recalc(st, -1, NOW_MS, &updated, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_scoring_recalc(st, MNEMO_SCORING_BATCH_MAX + 1, NOW_MS, &updated, &e),
                     MNEMO_EINVAL);
    mnemo_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_scoring_type_weights_match_the_reference),
        cmocka_unit_test(test_memory_scoring_half_life_is_seven_days_in_milliseconds),
        cmocka_unit_test(test_memory_scoring_future_timestamps_count_as_age_zero),
        cmocka_unit_test(test_memory_scoring_feedback_concepts_and_retrievals_add_up),
        cmocka_unit_test(test_memory_scoring_floor_is_one_hundredth),
        cmocka_unit_test_setup_teardown(test_memory_scoring_concept_weights_come_from_the_table,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_memory_scoring_recalc_updates_live_rows_in_batches,
                                        su_setup, su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
