/*
 * test_torture_load.c - constant-rate load on a real worker (CI: 2 min; MNEMO_TORTURE_LONG=1:
 * 30 min): hook events, new observations, prompt context and search at fixed rates, with
 * maintenance runs and forced checkpoints on top of the worker's own checkpointer and
 * scheduled maintenance. No request may fail; the worker's RSS and open file descriptors,
 * sampled each second from /proc, must stay within a bound of their level after warm-up; the
 * WAL must stay under the checkpoint threshold plus the store's slack. Latencies (measured from
 * each request's due time) are reported, never asserted: this machine is shared.
 */
#include "torture_rate.h"

#define TEST_NAME "load"
#define WARMUP_S  10
/* Growth allowed after warm-up. Memory grows with the data: every new observation adds a
 * vector to the in-RAM index, and SQLite's page cache (up to 64 MB per connection, six
 * connections) fills as the database grows, which over 30 min it does by a hundred MB or so.
 * Descriptors must not grow beyond a few transient connections. */
#define RSS_GROWTH_MAX_KIB (tort_long() ? 512 * 1024 : 128 * 1024)
#define FDS_GROWTH_MAX     16

static int load_setup(void **state)
{
    setup(state);
    struct fixture *f = *state;
    f->env[2] = (char *)"MNEMO_HTTP_RATE_LIMIT=0";
    /* Scheduled maintenance early, on top of the runs the test asks for. */
    assert_int_equal(mkdir(f->home, 0700), 0);
    char cfg[700];
    snprintf(cfg, sizeof cfg, "%s/config.json", f->home);
    static const char text[] = "{\"maintenance.first_delay_s\": 5, \"maintenance.interval_s\": 60}";
    tu_file_write(cfg, text, strlen(text));
    return 0;
}

static void test_torture_load_constant_rate_no_errors_bounded_resources(void **state)
{
    struct fixture *f = *state;
    int64_t seconds = tort_long() ? 1800 : 120;

    tort_begin(TEST_NAME);
    serve(f);
    tort_seed_observations(f, 2000);
    struct tort_op ops[] = {
        {.name = "events",
         .method = "POST",
         .path = "/v1/events",
         .body_fn = tort_event_body,
         .rate = 20,
         .threads = 4,
         .ok_code = 202},
        {.name = "observations",
         .method = "POST",
         .path = "/v1/observations",
         .body_fn = tort_obs_body,
         .rate = 5,
         .threads = 2,
         .ok_code = 201},
        {.name = "prompt_context",
         .method = "POST",
         .path = "/v1/context/prompt",
         .body_fn = tort_prompt_body,
         .rate = 10,
         .threads = 4,
         .ok_code = 200},
        {.name = "search",
         .method = "POST",
         .path = "/v1/search",
         .body_fn = tort_prompt_body,
         .rate = 10,
         .threads = 4,
         .ok_code = 200},
        {.name = "stats",
         .method = "GET",
         .path = "/v1/stats",
         .rate = 1,
         .threads = 1,
         .ok_code = 200},
        {.name = "checkpoint",
         .method = "POST",
         .path = "/v1/checkpoint",
         .body = "{}",
         .rate = 0.1,
         .threads = 1,
         .timeout_ms = 30000,
         .ok_code = 200},
        {.name = "maintenance",
         .method = "POST",
         .path = "/v1/maintenance",
         .body = "{\"timeout_ms\": 20000}",
         .rate = 1.0 / 30,
         .threads = 1,
         .timeout_ms = 60000,
         .ok_code = 200},
    };
    struct tort_rate run = {.f = f, .ops = ops, .n_ops = (int)(sizeof ops / sizeof ops[0])};
    tort_rate_run(&run, seconds, WARMUP_S, NULL);

    json_t *stats = tort_wait_queue_drained(f, 120000);
    int64_t dead = tort_json_int(stats, "queue", "failed");
    json_decref(stats);
    char ic[256];
    int ok = tort_integrity_ok(f->db, ic, sizeof ic);

    tort_figure(TEST_NAME, "duration_s", "%lld", (long long)seconds);
    tort_figure(TEST_NAME, "rate_scale", "%.2f", TORT_RATE_SCALE);
    tort_rate_figures(TEST_NAME, "", &run);
    tort_figure(TEST_NAME, "rss_mib", "first %.1f, after warm-up %.1f, max %.1f, last %.1f",
                run.rss_first_kib / 1024.0, run.rss_base_kib / 1024.0, run.rss_max_kib / 1024.0,
                run.rss_last_kib / 1024.0);
    tort_figure(TEST_NAME, "open_fds", "first %d, after warm-up %d, max %d, last %d", run.fds_first,
                run.fds_base, run.fds_max, run.fds_last);
    tort_figure(TEST_NAME, "wal_max_bytes", "%lld", (long long)run.wal_max);
    tort_figure(TEST_NAME, "db_bytes_at_end", "%lld", (long long)tu_file_size(f->db));
    tort_figure(TEST_NAME, "dead_letters", "%lld", (long long)dead);
    tort_figure(TEST_NAME, "integrity_check", "%s", ic);

    /* The samples go before any check can fail, so a failure is not also reported as a leak. */
    tort_rate_release(&run);
    tort_rate_expect_no_errors(f, &run, "constant-rate load");
    assert_int_equal(dead, 0);
    assert_true(ok);
    if (!TORT_SANITIZED && run.rss_max_kib - run.rss_base_kib > RSS_GROWTH_MAX_KIB)
        fail_msg("RSS grew by %lld KiB after warm-up (bound %d KiB)",
                 (long long)(run.rss_max_kib - run.rss_base_kib), RSS_GROWTH_MAX_KIB);
    if (run.fds_max - run.fds_base > FDS_GROWTH_MAX)
        fail_msg("open fds grew from %d to %d after warm-up", run.fds_base, run.fds_max);
    if (run.wal_max > INT64_C(4194304) + MNEMO_STORE_WAL_SLACK_BYTES)
        fail_msg("the WAL reached %lld bytes", (long long)run.wal_max);
    stop_child(f);
    expect_clean_stop(f);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_torture_load_constant_rate_no_errors_bounded_resources,
                                        load_setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
