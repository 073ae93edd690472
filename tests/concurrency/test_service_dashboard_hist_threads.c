/*
 * test_service_dashboard_hist_threads.c - the dashboard's health history under concurrency: its
 * sampler thread records samples while two readers take the history as JSON and catch up on
 * checkpoints, and a writer forces checkpoints. Every reader sees a well-formed history, and
 * stop and free end the sampler cleanly. Run under TSan with the concurrency label.
 */
#include "memutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "service/dashboard.h"
#include "service/worker.h"

struct shared {
    struct mnemo_dashboard_hist *h;
    struct mnemo_worker *w;
    int stop; /* __atomic */
    int bad;  /* __atomic */
};

static void *reader(void *arg)
{
    struct shared *sh = arg;
    while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
        mnemo_dashboard_hist_catch_up(sh->h, sh->w);
        json_t *j = mnemo_dashboard_hist_json(sh->h, 0);
        if (j == NULL || !json_is_array(json_object_get(j, "samples")) ||
            !json_is_array(json_object_get(j, "checkpoints")))
            __atomic_fetch_add(&sh->bad, 1, __ATOMIC_RELAXED);
        json_decref(j);
    }
    return NULL;
}

static void test_dashboard_hist_sampler_and_readers_run_together(void **state)
{
    struct mu_fixture *f = *state;
    static struct mnemo_worker w;
    struct mnemo_err e = {0};
    memset(&w, 0, sizeof w);
    w.st = f->st;
    struct shared sh = {.w = &w};
    assert_int_equal(mnemo_dashboard_hist_new(&sh.h, &e), 0);
    assert_int_equal(setenv("MNEMO_DASHBOARD_SAMPLE_MS", "100", 1), 0);
    assert_int_equal(mnemo_dashboard_hist_start(sh.h, &w, &e), 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &sh), 0);
    for (int i = 0; i < 6; i++) {
        su_exec(f->st, "CREATE TABLE IF NOT EXISTS t_hist(x)");
        su_exec(f->st, "INSERT INTO t_hist VALUES (randomblob(4000))");
        struct mnemo_store_checkpoint_result cr;
        assert_int_equal(mnemo_store_checkpoint(f->st, 5000, &cr, &e), 0);
        usleep(60 * 1000);
    }
    __atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    json_t *j = mnemo_dashboard_hist_json(sh.h, 0);
    assert_non_null(j);
    assert_true(json_array_size(json_object_get(j, "samples")) >= 2);
    assert_true(json_array_size(json_object_get(j, "checkpoints")) >= 1);
    json_decref(j);
    mnemo_dashboard_hist_free(sh.h); /* stops the running sampler */
    unsetenv("MNEMO_DASHBOARD_SAMPLE_MS");
    assert_int_equal(sh.bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dashboard_hist_sampler_and_readers_run_together,
                                        mu_setup, mu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
