/*
 * test_store_health.c - the health check: cache lifetime, forced checks, the status rules,
 * the latency metrics and the JSON shape.
 */
#include "storeutil.h"

#include <string.h>

#include <jansson.h>

#include "util/clock.h"

static void test_store_health_is_cached_for_its_ttl(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_store_health a, b, c;
    mnemo_store_config_init(&cfg);
    cfg.health_ttl_ms = 300;
    struct mnemo_store *st = su_open(f->db, &cfg, MNEMO_STORE_NO_CHECKPOINTER, NULL);

    assert_int_equal(mnemo_store_health(st, 0, &a), 0);
    assert_int_equal(a.from_cache, 0);
    assert_int_equal(a.status, MNEMO_STORE_HEALTHY);
    assert_int_equal(mnemo_store_health(st, 0, &b), 0);
    assert_int_equal(b.from_cache, 1);
    assert_true(b.checked_at_ms == a.checked_at_ms);
    assert_true(b.query_latency_ns == a.query_latency_ns);

    mnemo_clock_sleep_ms(350);
    assert_int_equal(mnemo_store_health(st, 0, &c), 0);
    assert_int_equal(c.from_cache, 0);
    assert_true(c.checked_at_ms > a.checked_at_ms);
    struct mnemo_store_metrics m;
    mnemo_store_metrics(st, &m);
    assert_true(m.total_queries >= 2);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_forced_health_bypasses_cache(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_health a, b, c;
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    assert_int_equal(mnemo_store_health(st, 0, &a), 0);
    mnemo_clock_sleep_ms(5);
    assert_int_equal(mnemo_store_health(st, 1, &b), 0);
    assert_int_equal(b.from_cache, 0);
    assert_true(b.checked_at_ms > a.checked_at_ms);
    /* The forced result refreshes the cache. */
    assert_int_equal(mnemo_store_health(st, 0, &c), 0);
    assert_int_equal(c.from_cache, 1);
    assert_true(c.checked_at_ms == b.checked_at_ms);
    assert_int_equal(b.schema_version, 1);
    assert_true(b.page_size == 4096);
    assert_true(b.page_count > 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_health_degrades_when_pool_is_exhausted(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    struct mnemo_conn *c[4];
    struct mnemo_err e = {0};
    struct mnemo_store_health h;
    for (int i = 0; i < 3; i++)
        assert_int_equal(mnemo_store_acquire(st, "hold", mnemo_deadline_in_ms(1000), &c[i], &e), 0);
    assert_int_equal(mnemo_store_health(st, 1, &h), 0);
    assert_int_equal(h.status, MNEMO_STORE_HEALTHY); /* 3 of 4 is 75 % */
    assert_int_equal(mnemo_store_acquire(st, "hold", mnemo_deadline_in_ms(1000), &c[3], &e), 0);
    int64_t t0 = tu_now_ms();
    assert_int_equal(mnemo_store_health(st, 1, &h), 0);
    /* The probe has its own connection: an exhausted pool does not delay it. */
    assert_true(tu_now_ms() - t0 < 500);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);
    assert_non_null(strstr(h.warning, "pool"));
    assert_int_equal(h.pool.in_use, 4);
    for (int i = 0; i < 4; i++)
        mnemo_store_release(c[i]);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void healthy_snapshot(struct mnemo_store_health *h)
{
    memset(h, 0, sizeof *h);
    h->pool.max_open = 4;
    h->pool.open = 4;
    h->query_latency_ns = 1 * MNEMO_NS_PER_MS;
    h->checkpoint_threshold_bytes = 4 << 20;
    h->wal_bytes = 1 << 20;
}

static void test_store_health_rules_match_original(void **state)
{
    (void)state;
    struct mnemo_store_health h;

    healthy_snapshot(&h);
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_HEALTHY);
    assert_string_equal(h.warning, "");

    healthy_snapshot(&h);
    h.pool.in_use = 4;
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);

    healthy_snapshot(&h);
    h.pool.wait_count = 101;
    h.pool.wait_duration_ns = 101 * MNEMO_NS_PER_MS;
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);
    assert_non_null(strstr(h.warning, "contention"));

    healthy_snapshot(&h); /* many waits but short ones: fine */
    h.pool.wait_count = 1000;
    h.pool.wait_duration_ns = 50 * MNEMO_NS_PER_MS;
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_HEALTHY);

    healthy_snapshot(&h);
    h.query_latency_ns = 11 * MNEMO_NS_PER_MS;
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);
    assert_non_null(strstr(h.warning, "latency"));

    healthy_snapshot(&h);
    h.metrics.p95_ns = 51 * MNEMO_NS_PER_MS;
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);
    assert_non_null(strstr(h.warning, "P95"));

    healthy_snapshot(&h);
    h.wal_bytes = h.checkpoint_threshold_bytes + MNEMO_STORE_WAL_SLACK_BYTES + 1;
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);
    assert_non_null(strstr(h.warning, "WAL"));

    healthy_snapshot(&h);
    h.checkpoint_stalls = 3;
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);

    healthy_snapshot(&h);
    h.checkpoint_stalls = 2;
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_HEALTHY);

    healthy_snapshot(&h);
    h.pool.in_use = 4;
    snprintf(h.error, sizeof h.error, "cannot open database");
    mnemo_store_health_classify(&h);
    assert_int_equal(h.status, MNEMO_STORE_UNHEALTHY);
}

static void test_store_p95_reported_only_after_20_samples(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    struct mnemo_store_metrics m;
    mnemo_store_metrics(st, &m);
    int64_t base = m.total_queries;
    /* Known samples, 1 ms apart, so every statistic has one right answer. */
    for (int i = 1; i <= 19; i++)
        mnemo_store_metrics_record(st, i * MNEMO_NS_PER_MS);
    mnemo_store_metrics(st, &m);
    assert_int_equal(base, 0); /* opening records no samples */
    assert_int_equal(m.sample_count, 19);
    assert_true(m.p95_ns == 0);
    mnemo_store_metrics_record(st, 20 * MNEMO_NS_PER_MS);
    mnemo_store_metrics(st, &m);
    assert_int_equal(m.sample_count, 20);
    assert_true(m.p95_ns == 20 * MNEMO_NS_PER_MS);
    assert_true(m.min_ns == 1 * MNEMO_NS_PER_MS);
    assert_true(m.max_ns == 20 * MNEMO_NS_PER_MS);
    assert_true(m.avg_ns == 10500000);
    for (int i = 21; i <= 150; i++)
        mnemo_store_metrics_record(st, i * MNEMO_NS_PER_MS);
    mnemo_store_metrics(st, &m);
    assert_int_equal(m.sample_count, MNEMO_STORE_METRICS_WINDOW);
    assert_int_equal(m.total_queries, 150);
    assert_true(m.min_ns == 51 * MNEMO_NS_PER_MS); /* the window keeps the last 100 */
    assert_true(m.p95_ns == 146 * MNEMO_NS_PER_MS);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_health_json_has_documented_fields(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    struct mnemo_store_health h;
    struct mnemo_strbuf sb;
    struct mnemo_err e = {0};
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_store_checkpoint(st, 1000, NULL, &e), 0);
    assert_int_equal(mnemo_store_health(st, 1, &h), 0);
    assert_int_equal(mnemo_store_health_json(&h, &sb), 0);
    json_error_t je;
    json_t *o = json_loads(mnemo_strbuf_str(&sb), 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "healthy");
    json_t *pool = json_object_get(o, "pool_stats");
    assert_int_equal(json_integer_value(json_object_get(pool, "max_open")), 4);
    assert_non_null(json_object_get(pool, "wait_duration_ns"));
    json_t *wal = json_object_get(o, "wal");
    assert_non_null(json_object_get(wal, "bytes"));
    json_t *last = json_object_get(wal, "last_checkpoint");
    assert_true(json_is_string(json_object_get(last, "at")));
    assert_string_equal(json_string_value(json_object_get(last, "result")), "MNEMO_OK");
    assert_int_equal(json_integer_value(json_object_get(o, "schema_version")), 1);
    assert_non_null(json_object_get(json_object_get(o, "historical_metrics"), "p95_latency_ns"));
    assert_true(json_integer_value(json_object_get(json_object_get(o, "pages"), "page_count")) > 0);
    json_decref(o);
    mnemo_strbuf_release(&sb);
    assert_int_equal(mnemo_store_close(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_health_is_cached_for_its_ttl, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_forced_health_bypasses_cache, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_health_degrades_when_pool_is_exhausted, su_setup,
                                        su_teardown),
        cmocka_unit_test(test_store_health_rules_match_original),
        cmocka_unit_test_setup_teardown(test_store_p95_reported_only_after_20_samples, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_health_json_has_documented_fields, su_setup,
                                        su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
