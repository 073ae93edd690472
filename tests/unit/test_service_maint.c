/*
 * test_service_maint.c - the worker's maintenance on a hand-built worker (real store, hash
 * embedder, vector index, no HTTP server): a run's report numbers with real millisecond ages,
 * zero retention keeps everything, a run past its deadline stops, the scheduler runs the first
 * pass and the score recalculation on its timers and stops promptly, the re-embedder fills
 * missing vectors into the store and the index, stops promptly mid-way and resumes.
 */
#include "memutil.h"

#include <stdatomic.h>
#include <string.h>

#include <curl/curl.h>

#include "embed/embed.h"
#include "memory/events.h"
#include "memory/obs.h"
#include "memory/prompt.h"
#include "memory/session.h"
#include "search/hybrid.h"
#include "search/vindex.h"
#include "service/http.h"
#include "service/maint.h"
#include "service/worker.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/strbuf.h"

#define DAY INT64_C(86400000)

/* Every variable a test may set; cleared before each config is built. */
static const char *const env_keys[] = {
    "MNEMO_MAINTENANCE_FIRST_DELAY_S",
    "MNEMO_MAINTENANCE_INTERVAL_S",
    "MNEMO_RETENTION_DAYS",
    "MNEMO_RETENTION_SUPERSEDED_DAYS",
    "MNEMO_RETENTION_PROMPT_DAYS",
    "MNEMO_SCORING_INTERVAL_S",
    "MNEMO_SCORING_BATCH",
    "MNEMO_REEMBED_BATCH",
};

struct fixture {
    struct mu_search_fixture *s;
    struct mnemo_worker *w;
    struct mnemo_maint *m;
};

static int setup(void **state)
{
    void *s = NULL;
    mu_search_setup(&s);
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->s = s;
    f->w = calloc(1, sizeof *f->w);
    assert_non_null(f->w);
    assert_int_equal(pthread_mutex_init(&f->w->cfg_lock, NULL), 0);
    assert_int_equal(pthread_cond_init(&f->w->cfg_idle, NULL), 0);
    f->w->log = tu_log_open(f->s->su.log);
    f->w->st = f->s->st;
    f->w->emb = f->s->emb;
    f->w->vx = f->s->vx;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mnemo_maint_stop(f->m);
    mnemo_config_free(f->w->cfg);
    mnemo_log_close(f->w->log);
    pthread_cond_destroy(&f->w->cfg_idle);
    pthread_mutex_destroy(&f->w->cfg_lock);
    free(f->w);
    void *s = f->s;
    free(f);
    for (size_t i = 0; i < sizeof env_keys / sizeof env_keys[0]; i++)
        unsetenv(env_keys[i]);
    return mu_search_teardown(&s);
}

/* Builds the worker's config from the defaults plus env ("KEY=VALUE" strings, NULL-ended). */
static void configure(struct fixture *f, const char *const *env)
{
    struct mnemo_err e = {0};
    for (size_t i = 0; i < sizeof env_keys / sizeof env_keys[0]; i++)
        unsetenv(env_keys[i]);
    for (size_t i = 0; env && env[i]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", env[i]);
        char *eq = strchr(buf, '=');
        assert_non_null(eq);
        *eq = '\0';
        assert_int_equal(setenv(buf, eq + 1, 1), 0);
    }
    if (mnemo_config_defaults(&f->w->cfg, &e) != 0)
        fail_msg("config: %s", e.msg);
}

static void start(struct fixture *f)
{
    struct mnemo_err e = {0};
    if (mnemo_maint_start(f->w, &f->m, &e) != 0)
        fail_msg("maint start: %s", e.msg);
}

/* Stops the maintenance threads and returns how long it took, in ms. */
static int64_t stop_ms(struct fixture *f)
{
    int64_t t0 = tu_now_ms();
    mnemo_maint_stop(f->m);
    f->m = NULL;
    return tu_now_ms() - t0;
}

static int64_t obs_at(struct mnemo_store *st, const char *title, int64_t created_ms)
{
    struct mnemo_obs o;
    struct mnemo_obs_created c;
    struct mnemo_err e = {0};
    mnemo_obs_init(&o);
    o.project = "proj";
    snprintf(o.type, sizeof o.type, "feature");
    o.title = (char *)title;
    o.narrative = "maintenance test narrative";
    o.created_at = created_ms;
    if (mnemo_obs_create(st, &o, &c, &e) != 0)
        fail_msg("create '%s': %s", title, e.msg);
    return c.id;
}

static void embed(struct fixture *f, int64_t id)
{
    struct mnemo_err e = {0};
    if (mnemo_search_embed_obs(f->w->st, f->w->vx, f->w->emb, id, 0, &e) != 0)
        fail_msg("embed %lld: %s", (long long)id, e.msg);
}

/* Imports n observations (no vectors) titled "<prefix> <i>", created at created_ms (0 = now). */
static void import_many_at(struct mnemo_store *st, const char *prefix, int n, int64_t created_ms)
{
    struct mnemo_obs *rows = calloc((size_t)n, sizeof *rows);
    char(*titles)[48] = calloc((size_t)n, sizeof *titles);
    assert_non_null(rows);
    assert_non_null(titles);
    for (int i = 0; i < n; i++) {
        mnemo_obs_init(&rows[i]);
        rows[i].project = "proj";
        snprintf(rows[i].type, sizeof rows[i].type, "discovery");
        snprintf(titles[i], sizeof titles[i], "%s %d", prefix, i);
        rows[i].title = titles[i];
        rows[i].created_at = created_ms;
    }
    struct mnemo_err e = {0};
    for (int done = 0; done < n;) {
        int k = n - done > MNEMO_OBS_LIST_MAX ? MNEMO_OBS_LIST_MAX : n - done;
        struct mnemo_obs_import_result res;
        if (mnemo_obs_import(st, rows + done, (size_t)k, &res, &e) != 0)
            fail_msg("import: %s", e.msg);
        assert_int_equal(res.imported, k);
        done += k;
    }
    free(titles);
    free(rows);
}

static void import_many(struct mnemo_store *st, const char *prefix, int n)
{
    import_many_at(st, prefix, n, 0);
}

/* Polls stats until pred holds or timeout_ms passes; returns the last snapshot. */
static int wait_stats(struct fixture *f, int (*pred)(const struct mnemo_maint_stats *, int64_t),
                      int64_t arg, int64_t timeout_ms, struct mnemo_maint_stats *s)
{
    int64_t until = tu_now_ms() + timeout_ms;
    for (;;) {
        mnemo_maint_stats(f->m, s);
        if (pred(s, arg))
            return 1;
        if (tu_now_ms() > until)
            return 0;
        mnemo_clock_sleep_ms(10);
    }
}

static int reembedded_at_least(const struct mnemo_maint_stats *s, int64_t n)
{
    return s->reembedded >= n;
}

static int reembed_idle_with(const struct mnemo_maint_stats *s, int64_t n)
{
    return s->reembedded >= n && !s->reembed_running && s->reembed_pending == 0;
}

static int ran_and_scored(const struct mnemo_maint_stats *s, int64_t n)
{
    return s->runs >= n && s->score_runs >= n;
}

/* ---- one run -------------------------------------------------------------------------------
 */

static void test_service_maint_run_reports_what_it_cleaned_with_ms_ages(void **state)
{
    struct fixture *f = *state;
    const char *env[] = {"MNEMO_RETENTION_DAYS=60", NULL};
    configure(f, env);
    struct mnemo_store *st = f->w->st;
    struct mnemo_err e = {0};
    int64_t now = mnemo_clock_wall_ms();

    /* Observations: two past retention, one superseded long ago, three to keep. */
    int64_t old1 = obs_at(st, "ninety days ago", now - 90 * DAY);
    int64_t old2 = obs_at(st, "sixty one days ago", now - 61 * DAY);
    int64_t sup = obs_at(st, "replaced long ago", now - 45 * DAY);
    int64_t newer = obs_at(st, "the replacement", now - 44 * DAY);
    int64_t keep1 = obs_at(st, "fifty nine days ago", now - 59 * DAY);
    int64_t keep2 = obs_at(st, "made today", now);
    int64_t all[] = {old1, old2, sup, newer, keep1, keep2};
    for (size_t i = 0; i < 6; i++)
        embed(f, all[i]);
    assert_int_equal(mnemo_obs_supersede(st, sup, newer, &e), 0);
    char sql[200];
    snprintf(sql, sizeof sql,
             "UPDATE relations SET created_at = %lld WHERE target_id = %lld AND type='supersedes'",
             (long long)(now - 40 * DAY), (long long)sup);
    su_exec(st, sql);

    /* Prompts: two older than 30 days, one recent. */
    struct mnemo_session s;
    assert_int_equal(
        mnemo_session_start(st, "claude", "s1", "proj", "/tmp", now - 90 * DAY, &s, NULL, &e), 0);
    assert_int_equal(mnemo_prompt_record(st, s.id, "old prompt a", 0, now - 50 * DAY, NULL, &e), 0);
    assert_int_equal(mnemo_prompt_record(st, s.id, "old prompt b", 0, now - 31 * DAY, NULL, &e), 0);
    assert_int_equal(mnemo_prompt_record(st, s.id, "new prompt", 0, now - DAY, NULL, &e), 0);

    /* Events: one done 8 days ago, one done yesterday, one pending from long ago. */
    int64_t ev[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(mnemo_events_append(st, "claude", "s1", s.id, "post-tool-use", "{}",
                                             now - 20 * DAY, &ev[i], &e),
                         0);
    assert_int_equal(mnemo_events_done(st, ev[0], now - 8 * DAY, &e), 0);
    assert_int_equal(mnemo_events_done(st, ev[1], now - DAY, &e), 0);

    start(f);
    struct mnemo_maint_report r;
    assert_int_equal(mnemo_maint_run(f->m, 0, &r, &e), 0);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.error, "");
    assert_int_equal(r.observations_deleted, 2);
    assert_int_equal(r.superseded_deleted, 1);
    assert_int_equal(r.prompts_deleted, 2);
    assert_int_equal(r.events_pruned, 1);
    assert_int_equal(r.optimized, 1);
    assert_true(r.started_ms >= now);
    assert_true(r.duration_ms >= 0);

    /* The store and the index agree with the report. */
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM observations"), 3);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM vectors"), 3);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM prompts"), 1);
    assert_int_equal(su_query_int(st, "SELECT count(*) FROM events"), 2);
    assert_false(mnemo_vindex_contains(f->w->vx, old1));
    assert_false(mnemo_vindex_contains(f->w->vx, old2));
    assert_false(mnemo_vindex_contains(f->w->vx, sup));
    assert_true(mnemo_vindex_contains(f->w->vx, keep1));
    assert_true(mnemo_vindex_contains(f->w->vx, keep2));
    assert_true(mnemo_vindex_contains(f->w->vx, newer));

    struct mnemo_maint_stats stats;
    mnemo_maint_stats(f->m, &stats);
    assert_int_equal(stats.runs, 1);
    assert_int_equal(stats.total_cleaned, 3);
    assert_int_equal(stats.optimizes, 1);
    assert_int_equal(stats.last_run_ms, r.started_ms);
    assert_int_equal(stats.last.prompts_deleted, 2);

    /* A second run finds nothing more to do and counts up. */
    assert_int_equal(mnemo_maint_run(f->m, 0, &r, &e), 0);
    assert_int_equal(r.observations_deleted + r.superseded_deleted + r.prompts_deleted, 0);
    mnemo_maint_stats(f->m, &stats);
    assert_int_equal(stats.runs, 2);
    assert_int_equal(stats.total_cleaned, 3);
    assert_int_equal(stats.optimizes, 2);
}

static void test_service_maint_default_retention_keeps_observations(void **state)
{
    struct fixture *f = *state;
    configure(f, NULL);
    int64_t now = mnemo_clock_wall_ms();
    obs_at(f->w->st, "ten years old", now - 3650 * DAY);
    obs_at(f->w->st, "fresh", now);
    start(f);
    struct mnemo_maint_report r;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_maint_run(f->m, 0, &r, &e), 0);
    assert_int_equal(r.observations_deleted, 0);
    assert_int_equal(su_query_int(f->w->st, "SELECT count(*) FROM observations"), 2);
}

static void test_service_maint_run_past_its_deadline_stops_with_etimedout(void **state)
{
    struct fixture *f = *state;
    const char *env[] = {"MNEMO_RETENTION_DAYS=1", NULL};
    configure(f, env);
    obs_at(f->w->st, "old enough", mnemo_clock_wall_ms() - 10 * DAY);
    start(f);
    struct mnemo_maint_report r;
    struct mnemo_err e = {0};
    /* A deadline already in the past (1 ns after the monotonic origin). */
    assert_int_equal(mnemo_maint_run(f->m, 1, &r, &e), MNEMO_ETIMEDOUT);
    assert_int_equal(r.rc, MNEMO_ETIMEDOUT);
    assert_non_null(strstr(r.error, "observation retention"));
    assert_int_equal(r.observations_deleted, 0);
    assert_int_equal(r.optimized, 0);
    assert_int_equal(su_query_int(f->w->st, "SELECT count(*) FROM observations"), 1);
    struct mnemo_maint_stats s;
    mnemo_maint_stats(f->m, &s);
    assert_int_equal(s.runs, 1);
    assert_int_equal(s.last.rc, MNEMO_ETIMEDOUT);
}

static void test_service_maint_report_json_has_every_field(void **state)
{
    (void)state;
    struct mnemo_maint_report r = {.started_ms = 1700000000123,
                                   .duration_ms = 42,
                                   .observations_deleted = 3,
                                   .superseded_deleted = 2,
                                   .prompts_deleted = 5,
                                   .events_pruned = 7,
                                   .optimized = 1,
                                   .wal_bytes_after = 4096};
    json_t *j = mnemo_maint_report_json(&r);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "started_at")), 1700000000123);
    assert_int_equal(json_integer_value(json_object_get(j, "observations_deleted")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "superseded_deleted")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "prompts_deleted")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "events_pruned")), 7);
    assert_true(json_is_true(json_object_get(j, "optimized")));
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_true(json_is_null(json_object_get(j, "error")));
    json_decref(j);

    r.rc = MNEMO_ETIMEDOUT;
    snprintf(r.error, sizeof r.error, "maintenance ran out of time before optimize");
    struct mnemo_maint_stats s = {.runs = 1, .last = r, .reembed_running = 1};
    j = mnemo_maint_stats_json(&s);
    assert_non_null(j);
    json_t *last = json_object_get(j, "last");
    assert_true(json_is_false(json_object_get(last, "ok")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(last, "error"), "code")),
                        "MNEMO_ETIMEDOUT");
    assert_true(json_is_true(json_object_get(j, "reembed_running")));
    json_decref(j);
}

/* ---- threads --------------------------------------------------------------------------------
 */

static void test_service_maint_scheduler_runs_on_its_timers_and_stops_promptly(void **state)
{
    struct fixture *f = *state;
    const char *env[] = {"MNEMO_MAINTENANCE_FIRST_DELAY_S=0", "MNEMO_RETENTION_DAYS=30", NULL};
    configure(f, env);
    int64_t now = mnemo_clock_wall_ms();
    int64_t old = obs_at(f->w->st, "scheduled for deletion", now - 31 * DAY);
    obs_at(f->w->st, "stays", now - 2 * DAY);
    su_exec(f->w->st, "UPDATE observations SET importance = 99");

    start(f);
    struct mnemo_maint_stats s;
    assert_true(wait_stats(f, ran_and_scored, 1, 20000, &s));
    assert_int_equal(s.last.observations_deleted, 1);
    assert_int_equal(s.scores_updated, 1);
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE id = %lld", (long long)old);
    assert_int_equal(su_query_int(f->w->st, sql), 0);
    /* The recalculation replaced the bogus importance. */
    assert_int_equal(
        su_query_int(f->w->st, "SELECT count(*) FROM observations WHERE importance = 99"), 0);

    /* Both timers re-armed from their intervals (at least a minute): no run in between. */
    mnemo_clock_sleep_ms(300);
    mnemo_maint_stats(f->m, &s);
    assert_int_equal(s.runs, 1);
    assert_int_equal(s.score_runs, 1);

    /* The next runs are a minute and an hour away: stop must not wait for them. */
    assert_true(stop_ms(f) < 1000);
}

static void test_service_maint_reembed_fills_missing_vectors_and_index(void **state)
{
    struct fixture *f = *state;
    configure(f, NULL);
    import_many(f->w->st, "needs a vector", 150);
    int64_t embedded = obs_at(f->w->st, "already embedded", mnemo_clock_wall_ms());
    embed(f, embedded);
    assert_int_equal(su_query_int(f->w->st, "SELECT count(*) FROM vectors"), 1);

    start(f);
    struct mnemo_maint_stats s;
    assert_true(wait_stats(f, reembed_idle_with, 150, 30000, &s));
    assert_int_equal(s.reembedded, 150);
    assert_int_equal(su_query_int(f->w->st, "SELECT count(*) FROM vectors"), 151);
    assert_int_equal(mnemo_vindex_count(f->w->vx), 151);
    assert_int_equal(su_query_int(f->w->st,
                                  "SELECT count(*) FROM observations o WHERE NOT EXISTS"
                                  " (SELECT 1 FROM vectors v WHERE v.observation_id = o.id)"),
                     0);

    /* A wake-up with nothing missing leaves it idle and writes nothing. */
    mnemo_maint_reembed_wake(f->m);
    mnemo_clock_sleep_ms(100);
    mnemo_maint_stats(f->m, &s);
    assert_int_equal(s.reembedded, 150);

    /* New gaps are filled after a wake-up (what a model change or a maintenance run does). */
    import_many(f->w->st, "arrived later", 5);
    mnemo_maint_reembed_wake(f->m);
    assert_true(wait_stats(f, reembed_idle_with, 155, 30000, &s));
    assert_int_equal(mnemo_vindex_count(f->w->vx), 156);

    /* Search finds a re-embedded observation through the vector path. */
    struct mnemo_search_results res;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_search_hybrid(f->w->st, f->w->vx, f->w->emb, "proj", "arrived later 3",
                                         5, 0, 0, NULL, &res, &e),
                     0);
    assert_true(res.vec_used);
    assert_true(res.n_vec > 0);
    mnemo_search_results_release(&res);
}

static int reembed_failed_with(const struct mnemo_maint_stats *s, int64_t n)
{
    return !s->reembed_running && s->reembed_pending == n;
}

static void test_service_maint_reembed_failure_is_logged_and_waits(void **state)
{
    /* An index of another dimension makes every embedding fail (as a changed model would
     * before its index is rebuilt): the pass stops, says so, and leaves the gap counted. */
    struct fixture *f = *state;
    struct mnemo_vindex *other = NULL;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_vindex_open(16, MNEMO_VINDEX_FLOAT, &other, &e), 0);
    f->w->vx = other;
    configure(f, NULL);
    import_many(f->w->st, "cannot embed", 3);
    start(f);
    struct mnemo_maint_stats s;
    assert_true(wait_stats(f, reembed_failed_with, 3, 10000, &s));
    assert_int_equal(s.reembedded, 0);
    assert_int_equal(su_query_int(f->w->st, "SELECT count(*) FROM vectors"), 0);
    assert_true(stop_ms(f) < 1000);
    char *log = tu_file_read(f->s->su.log, 1 << 20, NULL);
    assert_non_null(log);
    assert_non_null(strstr(log, "background re-embedding failed"));
    free(log);
    mnemo_vindex_close(other);
    f->w->vx = f->s->vx;
}

static void test_service_maint_stop_mid_reembed_is_prompt_and_resumes(void **state)
{
    struct fixture *f = *state;
    /* Small batches: each one yields, so 2000 rows take far longer than the test waits. */
    const char *env[] = {"MNEMO_REEMBED_BATCH=4", NULL};
    configure(f, env);
    import_many(f->w->st, "backlog item", 2000);

    start(f);
    struct mnemo_maint_stats s;
    assert_true(wait_stats(f, reembedded_at_least, 8, 30000, &s));
    assert_true(stop_ms(f) < 1000);
    int64_t first = su_query_int(f->w->st, "SELECT count(*) FROM vectors");
    assert_true(first >= 8);
    assert_true(first < 2000);

    /* A new start continues with what is still missing; nothing is embedded twice. */
    mnemo_config_free(f->w->cfg);
    const char *fast[] = {"MNEMO_REEMBED_BATCH=1000", NULL};
    configure(f, fast);
    start(f);
    assert_true(wait_stats(f, reembed_idle_with, 2000 - first, 60000, &s));
    assert_int_equal(s.reembedded, 2000 - first);
    assert_int_equal(su_query_int(f->w->st, "SELECT count(*) FROM vectors"), 2000);
    assert_int_equal(mnemo_vindex_count(f->w->vx), 2000);
}

struct run_thread {
    struct mnemo_maint *m;
    int rc;
    struct mnemo_maint_report r;
};

static void *run_thread_main(void *arg)
{
    struct run_thread *t = arg;
    struct mnemo_err e = {0};
    t->rc = mnemo_maint_run(t->m, 0, &t->r, &e);
    return NULL;
}

static void test_service_maint_concurrent_runs_never_clean_twice(void **state)
{
    struct fixture *f = *state;
    const char *env[] = {"MNEMO_RETENTION_DAYS=30", NULL};
    configure(f, env);
    import_many_at(f->w->st, "expired", 600, mnemo_clock_wall_ms() - 40 * DAY);
    start(f);
    struct run_thread t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct run_thread){.m = f->m, .rc = -100};
        assert_int_equal(pthread_create(&th[i], NULL, run_thread_main, &t[i]), 0);
    }
    int saw_cleaning = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(t[i].rc, 0);
        /* Either the run that cleaned (its own or one it waited for), or a later one. */
        assert_true(t[i].r.observations_deleted == 600 || t[i].r.observations_deleted == 0);
        saw_cleaning |= t[i].r.observations_deleted == 600;
    }
    assert_true(saw_cleaning);
    struct mnemo_maint_stats s;
    mnemo_maint_stats(f->m, &s);
    assert_true(s.runs >= 1 && s.runs <= 4);
    assert_int_equal(s.total_cleaned, 600);
    assert_int_equal(su_query_int(f->w->st, "SELECT count(*) FROM observations"), 0);
}

static void test_service_maint_stop_during_a_large_cleanup_is_prompt(void **state)
{
    struct fixture *f = *state;
    const char *env[] = {"MNEMO_MAINTENANCE_FIRST_DELAY_S=0", "MNEMO_RETENTION_DAYS=30", NULL};
    configure(f, env);
    int64_t now = mnemo_clock_wall_ms();
    import_many_at(f->w->st, "expired backlog", 10000, now - 40 * DAY);
    start(f);
    mnemo_clock_sleep_ms(30);
    int64_t took = stop_ms(f);
    assert_true(took < 1000);
    /* Whatever was deleted went whole batches at a time; the rest waits for the next run. */
    int64_t left = su_query_int(f->w->st, "SELECT count(*) FROM observations");
    assert_true(left >= 0 && left <= 10000);
    assert_int_equal(left % 50, 0);
    print_message("stop took %lld ms with %lld of 10000 rows left\n", (long long)took,
                  (long long)left);
}

/* ---- the event stream -----------------------------------------------------------------------
 */

struct sse_reader {
    char url_sock[300];
    pthread_t thread;
    pthread_mutex_t mu;
    struct mnemo_strbuf got;
    atomic_int quit;
};

static size_t sse_sink(char *p, size_t sz, size_t n, void *ud)
{
    struct sse_reader *r = ud;
    if (atomic_load(&r->quit))
        return 0; /* aborts the transfer */
    pthread_mutex_lock(&r->mu);
    int rc = mnemo_strbuf_append(&r->got, p, sz * n);
    pthread_mutex_unlock(&r->mu);
    return rc == 0 ? sz * n : 0;
}

static void *sse_main(void *arg)
{
    struct sse_reader *r = arg;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, r->url_sock);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/stream");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    (void)curl_easy_perform(c);
    curl_easy_cleanup(c);
    return NULL;
}

static int sse_has(struct sse_reader *r, const char *needle)
{
    pthread_mutex_lock(&r->mu);
    int yes = strstr(mnemo_strbuf_str(&r->got), needle) != NULL;
    pthread_mutex_unlock(&r->mu);
    return yes;
}

static void test_service_maint_run_is_published_on_the_event_stream(void **state)
{
    struct fixture *f = *state;
    static const struct mnemo_http_route routes[] = {
        {"GET", "/v1/stream", NULL, MNEMO_HTTP_SSE},
    };
    struct sse_reader r;
    memset(&r, 0, sizeof r);
    tu_path(&f->s->su.dir, "mnemo.sock", r.url_sock, sizeof r.url_sock);
    struct mnemo_http_config hc;
    mnemo_http_config_init(&hc);
    hc.socket_path = r.url_sock;
    hc.log = f->w->log;
    struct mnemo_http *h = NULL;
    struct mnemo_err e = {0};
    if (mnemo_http_start(&hc, routes, 1, &h, &e) != 0)
        fail_msg("http: %s", e.msg);
    f->w->http = h;
    configure(f, NULL);
    start(f);

    assert_int_equal(pthread_mutex_init(&r.mu, NULL), 0);
    mnemo_strbuf_init(&r.got, 0);
    assert_int_equal(pthread_create(&r.thread, NULL, sse_main, &r), 0);
    int64_t until = tu_now_ms() + 10000;
    while (mnemo_http_sse_clients(h) < 1 && tu_now_ms() < until)
        mnemo_clock_sleep_ms(5);
    assert_int_equal(mnemo_http_sse_clients(h), 1);

    struct mnemo_maint_report rep;
    assert_int_equal(mnemo_maint_run(f->m, 0, &rep, &e), 0);
    until = tu_now_ms() + 10000;
    while (!sse_has(&r, "\"wal_bytes_after\"") && tu_now_ms() < until)
        mnemo_clock_sleep_ms(5);
    assert_true(sse_has(&r, "event: maintenance.ran\ndata: {"));
    assert_true(sse_has(&r, "\"optimized\":true"));
    assert_true(sse_has(&r, "\"ok\":true"));

    /* The shutdown order: detach, stop the server, and maintenance still runs safely. */
    mnemo_maint_detach_http(f->m);
    atomic_store(&r.quit, 1);
    mnemo_http_stop(h, 1000);
    f->w->http = NULL;
    pthread_join(r.thread, NULL);
    assert_int_equal(mnemo_maint_run(f->m, 0, &rep, &e), 0);
    mnemo_strbuf_release(&r.got);
    pthread_mutex_destroy(&r.mu);
}

static void test_service_maint_stop_of_null_is_a_no_op(void **state)
{
    (void)state;
    mnemo_maint_stop(NULL);
    mnemo_maint_reembed_wake(NULL);
    mnemo_maint_detach_http(NULL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_service_maint_run_reports_what_it_cleaned_with_ms_ages),
        T(test_service_maint_default_retention_keeps_observations),
        T(test_service_maint_run_past_its_deadline_stops_with_etimedout),
        cmocka_unit_test(test_service_maint_report_json_has_every_field),
        T(test_service_maint_scheduler_runs_on_its_timers_and_stops_promptly),
        T(test_service_maint_reembed_fills_missing_vectors_and_index),
        T(test_service_maint_reembed_failure_is_logged_and_waits),
        T(test_service_maint_stop_mid_reembed_is_prompt_and_resumes),
        T(test_service_maint_concurrent_runs_never_clean_twice),
        T(test_service_maint_stop_during_a_large_cleanup_is_prompt),
        T(test_service_maint_run_is_published_on_the_event_stream),
        cmocka_unit_test(test_service_maint_stop_of_null_is_a_no_op),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
