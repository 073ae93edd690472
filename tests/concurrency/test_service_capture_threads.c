/*
 * test_service_capture_threads.c - the capture thread while other threads append and kick at
 * the same time (as the HTTP handlers do), and a stop in the middle of a backlog followed by
 * a new thread: every event is processed exactly once and nothing is lost. Runs under TSan.
 */
#include "memutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "embed/embed.h"
#include "memory/events.h"
#include "memory/obs.h"
#include "memory/privacy.h"
#include "memory/session.h"
#include "search/vindex.h"
#include "service/capture.h"
#include "service/worker.h"

#define THREADS    4
#define PER_THREAD 40
#define WAIT_MS    60000

struct appender {
    struct mnemo_worker *w;
    int64_t sid;
    int index;
    int rc;
};

static void *append_main(void *arg)
{
    struct appender *a = arg;
    char payload[512];
    for (int i = 0; i < PER_THREAD && a->rc == 0; i++) {
        struct mnemo_err e = {0};
        snprintf(payload, sizeof payload,
                 "{\"tool_name\":\"Write\",\"tool_input\":{\"file_path\":\"t%d/f%d.c\","
                 "\"content\":\"thread %d file %d\"}}",
                 a->index, i, a->index, i);
        a->rc = mnemo_events_append(a->w->st, "claude", "sess-C", a->sid, "post-tool-use", payload,
                                    0, NULL, &e);
        mnemo_capture_kick(a->w->capture);
        struct mnemo_capture_stats cs;
        mnemo_capture_stats(a->w->capture, &cs); /* readers race the thread's counters */
    }
    return NULL;
}

static int64_t count_where(struct mnemo_store *st, const char *status)
{
    struct mnemo_events_stats s;
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_events_stats(st, &s, &e), 0);
    return strcmp(status, "done") == 0 ? s.done : s.pending;
}

static void wait_done(struct mnemo_worker *w, int64_t want)
{
    int64_t until = tu_now_ms() + WAIT_MS;
    while (tu_now_ms() < until) {
        if (count_where(w->st, "done") == want && count_where(w->st, "pending") == 0)
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("only %lld of %lld events done", (long long)count_where(w->st, "done"),
             (long long)want);
}

static void test_service_capture_threads_concurrent_appends_are_each_processed_once(void **state)
{
    struct mu_search_fixture *m = *state;
    struct mnemo_privacy *priv = NULL;
    struct mnemo_err e = {0};
    struct mnemo_session s;
    struct mnemo_worker *w = calloc(1, sizeof *w);
    assert_non_null(w);
    assert_int_equal(mnemo_privacy_new(&priv, &e), 0);
    assert_int_equal(
        mnemo_session_start(m->st, "claude", "sess-C", "proj", "/nowhere", 0, &s, NULL, &e), 0);
    w->st = m->st;
    w->priv = priv;
    w->emb = m->emb;
    w->vx = m->vx;
    if (mnemo_capture_start(w, &w->capture, &e) != 0)
        fail_msg("start: %s", e.msg);

    pthread_t th[THREADS];
    struct appender a[THREADS];
    for (int i = 0; i < THREADS; i++) {
        a[i] = (struct appender){.w = w, .sid = s.id, .index = i};
        assert_int_equal(pthread_create(&th[i], NULL, append_main, &a[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(a[i].rc, 0);
    }

    /* stop while a backlog may still be pending, then a new thread takes over */
    mnemo_capture_stop(w->capture);
    w->capture = NULL;
    if (mnemo_capture_start(w, &w->capture, &e) != 0)
        fail_msg("restart: %s", e.msg);
    wait_done(w, THREADS * PER_THREAD);
    /* the thread finishes the event in hand (vectors and index after its commit) first */
    mnemo_capture_stop(w->capture);
    w->capture = NULL;

    struct mnemo_obs_filter f;
    int64_t n = 0;
    mnemo_obs_filter_init(&f);
    f.project = "proj";
    assert_int_equal(mnemo_obs_count(m->st, &f, &n, &e), 0);
    assert_int_equal(n, THREADS * PER_THREAD);
    assert_int_equal(mnemo_vindex_count(m->vx), THREADS * PER_THREAD);

    mnemo_privacy_free(priv);
    free(w);
}

/* ---- a busy store ------------------------------------------------------------------------ */

/* Longer than the capture thread's write deadline (MNEMO_STORE_TIMEOUT_DEFAULT_MS). */
#define HOLD_MS (MNEMO_STORE_TIMEOUT_DEFAULT_MS + 1500)

struct holder {
    struct mnemo_store *st;
    atomic_int holding;
    int rc;
};

static int hold_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct holder *h = arg;
    (void)conn;
    (void)err;
    atomic_store(&h->holding, 1);
    struct timespec ts = {HOLD_MS / 1000, (HOLD_MS % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
    return 0;
}

static void *hold_main(void *arg)
{
    struct holder *h = arg;
    struct mnemo_err e = {0};
    h->rc = mnemo_store_write(h->st, "test hold", HOLD_MS * 4, hold_fn, h, &e);
    return NULL;
}

static void test_service_capture_threads_a_busy_store_costs_no_attempt(void **state)
{
    struct mu_search_fixture *m = *state;
    struct mnemo_privacy *priv = NULL;
    struct mnemo_err e = {0};
    struct mnemo_session s;
    struct mnemo_worker *w = calloc(1, sizeof *w);
    struct holder h = {.st = m->st};
    pthread_t th;
    assert_non_null(w);
    assert_int_equal(mnemo_privacy_new(&priv, &e), 0);
    assert_int_equal(
        mnemo_session_start(m->st, "claude", "sess-B", "proj", "/nowhere", 0, &s, NULL, &e), 0);
    assert_int_equal(mnemo_events_append(m->st, "claude", "sess-B", s.id, "post-tool-use",
                                         "{\"tool_name\":\"Write\",\"tool_input\":{"
                                         "\"file_path\":\"busy.c\",\"content\":\"x\"}}",
                                         0, NULL, &e),
                     0);
    w->st = m->st;
    w->priv = priv;
    w->emb = m->emb;
    w->vx = m->vx;

    /* another writer holds the store past the capture thread's deadline */
    assert_int_equal(pthread_create(&th, NULL, hold_main, &h), 0);
    while (!atomic_load(&h.holding)) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (mnemo_capture_start(w, &w->capture, &e) != 0)
        fail_msg("start: %s", e.msg);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(h.rc, 0);
    wait_done(w, 1);
    mnemo_capture_stop(w->capture);

    /* the event went through once the store was free, and no attempt was charged to it */
    struct mnemo_event *list = NULL;
    size_t n = 0;
    assert_int_equal(mnemo_events_list(m->st, "done", 10, &list, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].attempts, 0);
    assert_null(list[0].last_error);
    mnemo_events_list_free(list, n);
    mnemo_privacy_free(priv);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_service_capture_threads_concurrent_appends_are_each_processed_once,
            mu_search_setup, mu_search_teardown),
        cmocka_unit_test_setup_teardown(test_service_capture_threads_a_busy_store_costs_no_attempt,
                                        mu_search_setup, mu_search_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
