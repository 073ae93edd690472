/*
 * test_memory_retention.c - maintenance deletions with real millisecond timestamps: rows older
 * than the cutoff go, newer ones stay, a zero retention keeps everything, superseded cleanup
 * spares live rows and keeps chains hidden, prompts expire, vectors and FTS entries leave with
 * their observation, and batches are bounded.
 */
#include "memutil.h"

#include <string.h>

#include "embed/embed.h"
#include "memory/obs.h"
#include "memory/prompt.h"
#include "memory/retention.h"
#include "memory/session.h"
#include "search/hybrid.h"
#include "search/vindex.h"
#include "util/clock.h"

#define DAY MNEMO_RETENTION_MS_PER_DAY

static int64_t count_obs(struct mnemo_store *st)
{
    return su_query_int(st, "SELECT count(*) FROM observations");
}

static int64_t fts_hits(struct mnemo_store *st, const char *match)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM observations_fts WHERE observations_fts MATCH '%s'", match);
    return su_query_int(st, sql);
}

/* Creates an observation titled title (unique per test) created at created_ms. */
static int64_t obs_at(struct mnemo_store *st, const char *title, int64_t created_ms)
{
    struct mnemo_obs o;
    struct mnemo_obs_created c;
    struct mnemo_err e = {0};
    mnemo_obs_init(&o);
    o.project = "proj";
    snprintf(o.type, sizeof o.type, "discovery");
    o.title = (char *)title;
    o.narrative = "retention test narrative";
    o.created_at = created_ms;
    if (mnemo_obs_create(st, &o, &c, &e) != 0)
        fail_msg("create '%s': %s", title, e.msg);
    assert_int_equal(c.duplicate, 0);
    return c.id;
}

static int64_t exists(struct mnemo_store *st, int64_t id)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE id = %lld", (long long)id);
    return su_query_int(st, sql);
}

/* Deletes every old observation in batches of batch; returns the total. */
static size_t drain_observations(struct mnemo_store *st, int64_t cutoff, size_t batch)
{
    int64_t ids[MNEMO_RETENTION_BATCH_MAX];
    size_t total = 0, n = 0;
    struct mnemo_err e = {0};
    struct mnemo_retention_cursor cur = {0};
    while (!cur.done) {
        if (mnemo_retention_delete_observations_before(st, cutoff, &cur, batch, 0, ids, &n, &e) !=
            0)
            fail_msg("retention: %s", e.msg);
        assert_true(n <= batch);
        total += n;
    }
    return total;
}

static void test_memory_retention_cutoff_uses_milliseconds_and_zero_keeps(void **state)
{
    (void)state;
    int64_t now = mnemo_clock_wall_ms();
    assert_int_equal(mnemo_retention_cutoff_ms(now, 30), now - INT64_C(30) * 86400000);
    assert_int_equal(mnemo_retention_cutoff_ms(now, 0), 0);
    assert_int_equal(mnemo_retention_cutoff_ms(now, -5), 0);
    /* A retention longer than the epoch is "keep everything", never a negative cutoff. */
    assert_int_equal(mnemo_retention_cutoff_ms(now, INT64_C(1) << 40), 0);
}

static void test_memory_retention_deletes_only_rows_older_than_the_cutoff(void **state)
{
    struct mu_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    int64_t old1 = obs_at(f->st, "ancient alpha", now - 40 * DAY);
    int64_t old2 = obs_at(f->st, "ancient beta", now - 31 * DAY);
    int64_t old3 = obs_at(f->st, "ancient gamma", now - 400 * DAY);
    int64_t young1 = obs_at(f->st, "recent delta", now - 29 * DAY);
    int64_t young2 = obs_at(f->st, "recent epsilon", now - 60 * 1000);

    int64_t ids[2];
    size_t n = 0;
    struct mnemo_err e = {0};
    struct mnemo_retention_cursor cur = {0};
    int64_t cutoff = mnemo_retention_cutoff_ms(now, 30);
    /* A batch of two deletes exactly two, the lowest ids first. */
    assert_int_equal(
        mnemo_retention_delete_observations_before(f->st, cutoff, &cur, 2, 0, ids, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], old1);
    assert_int_equal(ids[1], old2);
    assert_int_equal(
        mnemo_retention_delete_observations_before(f->st, cutoff, &cur, 2, 0, ids, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], old3);
    assert_true(cur.done); /* fewer candidates than asked for: the sweep reached the end */
    assert_int_equal(
        mnemo_retention_delete_observations_before(f->st, cutoff, &cur, 2, 0, ids, &n, &e), 0);
    assert_int_equal(n, 0);

    assert_int_equal(count_obs(f->st), 2);
    assert_int_equal(exists(f->st, young1), 1);
    assert_int_equal(exists(f->st, young2), 1);
    assert_int_equal(fts_hits(f->st, "ancient"), 0);
    assert_int_equal(fts_hits(f->st, "recent"), 2);
}

static void test_memory_retention_seconds_cutoff_would_delete_nothing(void **state)
{
    /* The original's bug, pinned the other way round: a cutoff in seconds is far in the past
     * of millisecond rows, so it must delete nothing (and ours is in ms, so it does). */
    struct mu_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    obs_at(f->st, "forty days old", now - 40 * DAY);
    int64_t seconds_cutoff = now / 1000 - 30 * 86400;
    assert_int_equal(drain_observations(f->st, seconds_cutoff, 10), 0);
    assert_int_equal(drain_observations(f->st, mnemo_retention_cutoff_ms(now, 30), 10), 1);
    assert_int_equal(count_obs(f->st), 0);
}

static void test_memory_retention_zero_days_keeps_everything(void **state)
{
    struct mu_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    obs_at(f->st, "very old one", now - 5000 * DAY);
    obs_at(f->st, "very old two", 1);
    size_t n = 7;
    struct mnemo_err e = {0};
    struct mnemo_retention_cursor cur = {0};
    assert_int_equal(mnemo_retention_delete_observations_before(
                         f->st, mnemo_retention_cutoff_ms(now, 0), &cur, 10, 0, NULL, &n, &e),
                     0);
    assert_int_equal(n, 0);
    assert_true(cur.done);
    cur = (struct mnemo_retention_cursor){0};
    assert_int_equal(mnemo_retention_delete_superseded_before(f->st, 0, &cur, 10, 0, NULL, &n, &e),
                     0);
    assert_int_equal(n, 0);
    cur = (struct mnemo_retention_cursor){0};
    assert_int_equal(mnemo_retention_delete_prompts_before(f->st, 0, &cur, 10, 0, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(count_obs(f->st), 2);
}

static void test_memory_retention_rejects_bad_batch_sizes(void **state)
{
    struct mu_fixture *f = *state;
    size_t n = 0;
    struct mnemo_err e = {0};
    struct mnemo_retention_cursor cur = {0};
    assert_int_equal(
        mnemo_retention_delete_observations_before(f->st, 10, &cur, 0, 0, NULL, &n, &e),
        MNEMO_EINVAL);
    assert_int_equal(mnemo_retention_delete_superseded_before(
                         f->st, 10, &cur, MNEMO_RETENTION_BATCH_MAX + 1, 0, NULL, &n, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_retention_delete_prompts_before(f->st, 10, &cur, 1, 0, NULL, &e),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_retention_delete_prompts_before(f->st, 10, NULL, 1, 0, &n, &e),
                     MNEMO_EINVAL);
}

/* Sets the time observation older was superseded to when_ms (what supersede recorded now). */
static void superseded_at(struct mnemo_store *st, int64_t older, int64_t when_ms)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE relations SET created_at = %lld WHERE target_id = %lld AND type = "
             "'supersedes'",
             (long long)when_ms, (long long)older);
    su_exec(st, sql);
}

static void supersede(struct mnemo_store *st, int64_t older, int64_t newer)
{
    struct mnemo_err e = {0};
    if (mnemo_obs_supersede(st, older, newer, &e) != 0)
        fail_msg("supersede: %s", e.msg);
}

static void test_memory_retention_superseded_cleanup_keeps_live_and_recent(void **state)
{
    struct mu_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    int64_t live_old = obs_at(f->st, "live but old", now - 90 * DAY);
    int64_t gone = obs_at(f->st, "superseded long ago", now - 80 * DAY);
    int64_t recent = obs_at(f->st, "superseded yesterday", now - 80 * DAY);
    int64_t newer = obs_at(f->st, "the replacement", now - 70 * DAY);
    supersede(f->st, gone, newer);
    supersede(f->st, recent, newer);
    superseded_at(f->st, gone, now - 31 * DAY);
    superseded_at(f->st, recent, now - 1 * DAY);

    int64_t ids[10];
    size_t n = 0;
    struct mnemo_err e = {0};
    struct mnemo_retention_cursor cur = {0};
    assert_int_equal(mnemo_retention_delete_superseded_before(
                         f->st, mnemo_retention_cutoff_ms(now, 30), &cur, 10, 0, ids, &n, &e),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], gone);
    assert_int_equal(exists(f->st, gone), 0);
    assert_int_equal(exists(f->st, live_old), 1);
    assert_int_equal(exists(f->st, recent), 1);
    assert_int_equal(exists(f->st, newer), 1);
    assert_int_equal(fts_hits(f->st, "long"), 0);
}

static void test_memory_retention_superseded_chain_stays_hidden(void **state)
{
    /* b is created first so it has the lower id and goes in the first batch of one: a, which
     * b superseded, must then stay superseded (re-pointed at c) rather than come back. */
    struct mu_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    int64_t b = obs_at(f->st, "middle link", now - 60 * DAY);
    int64_t a = obs_at(f->st, "first link", now - 61 * DAY);
    int64_t c = obs_at(f->st, "last link", now - 50 * DAY);
    supersede(f->st, a, b);
    supersede(f->st, b, c);
    superseded_at(f->st, a, now - 45 * DAY);
    superseded_at(f->st, b, now - 40 * DAY);

    int64_t ids[1];
    size_t n = 0;
    struct mnemo_err e = {0};
    struct mnemo_retention_cursor cur = {0};
    int64_t cutoff = mnemo_retention_cutoff_ms(now, 30);
    assert_int_equal(
        mnemo_retention_delete_superseded_before(f->st, cutoff, &cur, 1, 0, ids, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], b);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT superseded_by FROM observations WHERE id = %lld",
             (long long)a);
    assert_int_equal(su_query_int(f->st, sql), c);
    assert_int_equal(
        mnemo_retention_delete_superseded_before(f->st, cutoff, &cur, 1, 0, ids, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], a);
    assert_int_equal(
        mnemo_retention_delete_superseded_before(f->st, cutoff, &cur, 1, 0, ids, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(count_obs(f->st), 1);
    assert_int_equal(exists(f->st, c), 1);
}

static void test_memory_retention_prompts_older_than_cutoff_are_deleted(void **state)
{
    struct mu_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    struct mnemo_session s;
    struct mnemo_err e = {0};
    struct mnemo_retention_cursor cur = {0};
    if (mnemo_session_start(f->st, "claude", "sess-1", "proj", "/tmp", now - 100 * DAY, &s, NULL,
                            &e) != 0)
        fail_msg("session: %s", e.msg);
    struct mnemo_prompt_recorded r;
    assert_int_equal(mnemo_prompt_record(f->st, s.id, "an old question", 0, now - 45 * DAY, &r, &e),
                     0);
    assert_int_equal(
        mnemo_prompt_record(f->st, s.id, "another old question", 0, now - 31 * DAY, &r, &e), 0);
    assert_int_equal(mnemo_prompt_record(f->st, s.id, "a fresh question", 0, now - 2 * DAY, &r, &e),
                     0);
    int64_t fresh = r.id;

    size_t n = 0;
    int64_t cutoff = mnemo_retention_cutoff_ms(now, 30);
    assert_int_equal(mnemo_retention_delete_prompts_before(f->st, cutoff, &cur, 1, 0, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mnemo_retention_delete_prompts_before(f->st, cutoff, &cur, 5, 0, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(mnemo_retention_delete_prompts_before(f->st, cutoff, &cur, 5, 0, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM prompts"), 1);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM prompts WHERE id = %lld", (long long)fresh);
    assert_int_equal(su_query_int(f->st, sql), 1);
    assert_int_equal(
        su_query_int(f->st, "SELECT count(*) FROM prompts_fts WHERE prompts_fts MATCH 'old'"), 0);
    assert_int_equal(
        su_query_int(f->st, "SELECT count(*) FROM prompts_fts WHERE prompts_fts MATCH 'fresh'"), 1);
    /* The session itself stays. */
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM sessions"), 1);
}

static void test_memory_retention_vectors_and_fts_leave_with_their_observation(void **state)
{
    struct mu_search_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    int64_t old = obs_at(f->st, "zebra migration notes", now - 100 * DAY);
    int64_t keep = obs_at(f->st, "giraffe feeding notes", now - DAY);
    struct mnemo_err e = {0};
    struct mnemo_retention_cursor cur = {0};
    assert_int_equal(mnemo_search_embed_obs(f->st, f->vx, f->emb, old, 0, &e), 0);
    assert_int_equal(mnemo_search_embed_obs(f->st, f->vx, f->emb, keep, 0, &e), 0);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM vectors"), 2);
    assert_int_equal(fts_hits(f->st, "zebra"), 1);

    int64_t ids[4];
    size_t n = 0;
    assert_int_equal(mnemo_retention_delete_observations_before(
                         f->st, mnemo_retention_cutoff_ms(now, 30), &cur, 4, 0, ids, &n, &e),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], old);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM vectors WHERE observation_id = %lld",
             (long long)old);
    assert_int_equal(su_query_int(f->st, sql), 0);
    assert_int_equal(su_query_int(f->st, "SELECT count(*) FROM vectors"), 1);
    assert_int_equal(fts_hits(f->st, "zebra"), 0);
    assert_int_equal(fts_hits(f->st, "giraffe"), 1);

    /* Keyword search no longer finds it either. */
    struct mnemo_search_results res;
    assert_int_equal(
        mnemo_search_hybrid(f->st, NULL, NULL, "proj", "zebra", 10, 0, 0, NULL, &res, &e), 0);
    assert_int_equal(res.n, 0);
    mnemo_search_results_release(&res);
}

static void test_memory_retention_large_backlog_drains_in_bounded_batches(void **state)
{
    struct mu_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    char title[64];
    for (int i = 0; i < 250; i++) {
        snprintf(title, sizeof title, "bulk old item %d", i);
        obs_at(f->st, title, now - (40 + i % 5) * DAY);
    }
    for (int i = 0; i < 20; i++) {
        snprintf(title, sizeof title, "bulk new item %d", i);
        obs_at(f->st, title, now - (i % 3) * DAY);
    }
    assert_int_equal(drain_observations(f->st, mnemo_retention_cutoff_ms(now, 30), 100), 250);
    assert_int_equal(count_obs(f->st), 20);
}

static void test_memory_retention_optimize_runs_and_restores_analysis_limit(void **state)
{
    struct mu_fixture *f = *state;
    int64_t now = mnemo_clock_wall_ms();
    obs_at(f->st, "something to analyze", now);
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_retention_optimize(f->st, 0, &e), 0);
    /* Every pooled connection, whichever ran it, is back at the default (no limit). */
    int max = mnemo_store_config(f->st)->max_conns;
    struct mnemo_conn *conns[16] = {0};
    assert_true(max > 0 && max <= 16);
    for (int i = 0; i < max; i++) {
        int64_t v = -1;
        assert_int_equal(
            mnemo_store_acquire(f->st, "check", mnemo_deadline_in_ms(2000), &conns[i], &e), 0);
        assert_int_equal(mnemo_conn_query_int(conns[i], "PRAGMA analysis_limit", &v, &e), 0);
        assert_int_equal(v, 0);
    }
    for (int i = 0; i < max; i++)
        mnemo_store_release(conns[i]);
}

int main(void)
{
#define T(fn)  cmocka_unit_test_setup_teardown(fn, mu_setup, mu_teardown)
#define TS(fn) cmocka_unit_test_setup_teardown(fn, mu_search_setup, mu_search_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_retention_cutoff_uses_milliseconds_and_zero_keeps),
        T(test_memory_retention_deletes_only_rows_older_than_the_cutoff),
        T(test_memory_retention_seconds_cutoff_would_delete_nothing),
        T(test_memory_retention_zero_days_keeps_everything),
        T(test_memory_retention_rejects_bad_batch_sizes),
        T(test_memory_retention_superseded_cleanup_keeps_live_and_recent),
        T(test_memory_retention_superseded_chain_stays_hidden),
        T(test_memory_retention_prompts_older_than_cutoff_are_deleted),
        TS(test_memory_retention_vectors_and_fts_leave_with_their_observation),
        T(test_memory_retention_large_backlog_drains_in_bounded_batches),
        T(test_memory_retention_optimize_runs_and_restores_analysis_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
