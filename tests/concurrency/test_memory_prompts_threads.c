/*
 * test_memory_prompts_threads.c - prompts recorded from four threads at once into one session
 * get unique, consecutive numbers (private ones included), and the same text sent by every
 * thread at the same moment is stored exactly once; four threads starting one session at
 * once get one row. Also run under TSan (label "concurrency").
 */
#include "storeutil.h"

#include <pthread.h>
#include <string.h>

#include "memory/prompt.h"
#include "memory/schema.h"
#include "memory/session.h"

#define THREADS    4
#define PER_THREAD 60
#define T0         INT64_C(1790000000000)

struct shared {
    struct mnemo_store *st;
    int64_t session_id;
    pthread_barrier_t go;
};

struct worker {
    struct shared *sh;
    int index;
    int64_t numbers[PER_THREAD];
    int stored[PER_THREAD];
    int failures;
    char first_error[MNEMO_ERR_MSG_MAX];
    /* The same-text round: */
    struct mnemo_prompt_recorded same;
    /* The session-start round: */
    int64_t started_id;
    int created;
};

static void *record_many(void *arg)
{
    struct worker *w = arg;
    struct mnemo_err e = {0};
    pthread_barrier_wait(&w->sh->go);
    for (int i = 0; i < PER_THREAD; i++) {
        char text[64];
        struct mnemo_prompt_recorded r;
        snprintf(text, sizeof text, "thread %d prompt %d", w->index, i);
        /* Every fifth prompt is wholly private: counted, not stored. */
        int priv = i % 5 == 4;
        if (mnemo_prompt_record(w->sh->st, w->sh->session_id, priv ? NULL : text, priv, T0 + i, &r,
                                &e) != 0) {
            if (w->failures++ == 0)
                snprintf(w->first_error, sizeof w->first_error, "%s", e.msg);
            continue;
        }
        w->numbers[i] = r.number;
        w->stored[i] = r.stored;
    }
    return NULL;
}

static void *record_same(void *arg)
{
    struct worker *w = arg;
    struct mnemo_err e = {0};
    pthread_barrier_wait(&w->sh->go);
    if (mnemo_prompt_record(w->sh->st, w->sh->session_id, "the very same prompt", 0, T0 + 500,
                            &w->same, &e) != 0) {
        w->failures++;
        snprintf(w->first_error, sizeof w->first_error, "%s", e.msg);
    }
    return NULL;
}

static void *start_same(void *arg)
{
    struct worker *w = arg;
    struct mnemo_err e = {0};
    struct mnemo_session s;
    pthread_barrier_wait(&w->sh->go);
    if (mnemo_session_start(w->sh->st, "codex", "raced", "proj_000000", "/w", T0, &s, &w->created,
                            &e) != 0) {
        w->failures++;
        snprintf(w->first_error, sizeof w->first_error, "%s", e.msg);
    }
    w->started_id = s.id;
    return NULL;
}

static int query_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    int64_t *out = arg;
    int rc = mnemo_conn_query_int(c, "SELECT count(*) FROM prompts", &out[0], err);
    if (rc == 0)
        rc = mnemo_conn_query_int(c, "SELECT count(DISTINCT number) FROM prompts", &out[1], err);
    if (rc == 0)
        rc = mnemo_conn_query_int(c, "SELECT max(number) FROM prompts", &out[2], err);
    if (rc == 0)
        rc = mnemo_conn_query_int(c, "SELECT prompt_counter FROM sessions", &out[3], err);
    return rc;
}

static void run_threads(struct shared *sh, struct worker *w, void *(*fn)(void *))
{
    pthread_t t[THREADS];
    assert_int_equal(pthread_barrier_init(&sh->go, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i].sh = sh;
        w[i].index = i;
        assert_int_equal(pthread_create(&t[i], NULL, fn, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&sh->go);
    for (int i = 0; i < THREADS; i++)
        if (w[i].failures)
            fail_msg("thread %d: %d failures, first: %s", i, w[i].failures, w[i].first_error);
}

static void test_memory_prompts_from_four_threads_get_unique_consecutive_numbers(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_session s;
    struct mnemo_err e = {0};
    struct shared sh = {0};
    static struct worker w[THREADS];

    memset(w, 0, sizeof w);
    mnemo_memory_store_config(&cfg, f->db, MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER);
    assert_int_equal(mnemo_store_open(&cfg, &sh.st, &e), 0);
    assert_int_equal(
        mnemo_session_start(sh.st, "claude", "threads", "proj_000000", "/w", T0, &s, NULL, &e), 0);
    sh.session_id = s.id;

    run_threads(&sh, w, record_many);

    /* Every number 1..THREADS*PER_THREAD handed out exactly once. */
    enum { TOTAL = THREADS * PER_THREAD };
    static int seen[TOTAL + 1];
    memset(seen, 0, sizeof seen);
    int stored = 0;
    for (int t = 0; t < THREADS; t++) {
        int64_t last = 0;
        for (int i = 0; i < PER_THREAD; i++) {
            int64_t n = w[t].numbers[i];
            assert_true(n >= 1 && n <= TOTAL);
            assert_int_equal(seen[n], 0);
            seen[n] = 1;
            assert_true(n > last); /* one thread's prompts are numbered in its own order */
            last = n;
            stored += w[t].stored[i];
            assert_int_equal(w[t].stored[i], i % 5 != 4);
        }
    }
    int64_t got[4];
    assert_int_equal(mnemo_store_read(sh.st, "test", 5000, query_fn, got, &e), 0);
    assert_int_equal(got[0], stored);
    assert_int_equal(got[1], stored);
    assert_int_equal(got[3], TOTAL);
    assert_true(got[2] <= TOTAL);

    /* Four threads send one text at the same instant: one row, three duplicates of it. */
    run_threads(&sh, w, record_same);
    int fresh = 0;
    for (int t = 0; t < THREADS; t++) {
        fresh += w[t].same.stored;
        assert_int_equal(w[t].same.number, TOTAL + 1);
        assert_int_equal(w[t].same.duplicate, !w[t].same.stored);
    }
    assert_int_equal(fresh, 1);
    assert_int_equal(mnemo_store_read(sh.st, "test", 5000, query_fn, got, &e), 0);
    assert_int_equal(got[0], stored + 1);
    assert_int_equal(got[3], TOTAL + 1);

    /* Four hooks of one new session race to start it: one row, created once. */
    run_threads(&sh, w, start_same);
    int created = 0;
    for (int t = 0; t < THREADS; t++) {
        created += w[t].created;
        assert_true(w[t].started_id > 0);
        assert_int_equal(w[t].started_id, w[0].started_id);
    }
    assert_int_equal(created, 1);
    assert_int_equal(mnemo_store_close(sh.st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_memory_prompts_from_four_threads_get_unique_consecutive_numbers, su_setup,
            su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
