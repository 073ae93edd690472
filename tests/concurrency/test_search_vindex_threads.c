/*
 * test_search_vindex_threads.c - four threads search while one thread inserts, updates and
 * deletes. Every vector is a pure function of its id, so a searcher can check each hit's
 * score against the vector it must have: a torn or misplaced row (a swap-remove or growth
 * racing a scan) shows up as a wrong score. Run under TSan with the concurrency label.
 */
#include "testutil.h"

#include <math.h>
#include <pthread.h>

#include "search/vindex.h"

enum { DIM = 64, IDS = 3000, SEARCHERS = 4, WRITER_OPS = 20000, K = 20 };

struct shared {
    struct mnemo_vindex *vx;
    int stop; /* read and written with __atomic builtins */
    int failures;
    long searches;
};

/* The vector of id: deterministic, unit length. */
static void vec_of(int64_t id, float *v)
{
    double s = 0;
    uint64_t x = (uint64_t)id * 0x9E3779B97F4A7C15ULL + 1;
    for (int i = 0; i < DIM; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v[i] = (float)((double)(x >> 11) / (double)(1ULL << 53)) - 0.5f;
        s += (double)v[i] * v[i];
    }
    for (int i = 0; i < DIM; i++)
        v[i] = (float)(v[i] / sqrt(s));
}

static void *searcher(void *arg)
{
    struct shared *sh = arg;
    float q[DIM], v[DIM];
    struct mnemo_vindex_hit hits[K];
    long done = 0;
    int bad = 0;
    while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
        int n = 0;
        vec_of(-1 - done % 50, q);
        const char *proj = (done % 3 == 0) ? NULL : "even";
        if (mnemo_vindex_search(sh->vx, q, DIM, proj, done % 2, K, hits, &n, NULL) != 0) {
            bad++;
            continue;
        }
        for (int i = 0; i < n; i++) {
            double s = 0;
            vec_of(hits[i].id, v);
            for (int j = 0; j < DIM; j++)
                s += (double)v[j] * q[j];
            if (fabs(s - hits[i].score) > 1e-4 || (i > 0 && hits[i - 1].score < hits[i].score))
                bad++;
            if (proj != NULL && (hits[i].id % 2) != 0 && !(done % 2 && hits[i].id % 10 == 1))
                bad++;
        }
        done++;
    }
    __atomic_fetch_add(&sh->failures, bad, __ATOMIC_RELAXED);
    __atomic_fetch_add(&sh->searches, done, __ATOMIC_RELAXED);
    return NULL;
}

static void test_vindex_concurrent_searches_and_writer(void **state)
{
    struct shared sh = {0};
    pthread_t th[SEARCHERS];
    float v[DIM];
    assert_int_equal(mnemo_vindex_open(DIM, MNEMO_VINDEX_FLOAT, &sh.vx, NULL), 0);
    /* Even ids belong to project "even", odd ids to "odd"; ids ending in 1 are global. */
    for (int64_t id = 0; id < IDS / 2; id++) {
        vec_of(id, v);
        assert_int_equal(
            mnemo_vindex_upsert(sh.vx, id, id % 2 ? "odd" : "even", id % 10 == 1, v, DIM, NULL), 0);
    }
    for (int i = 0; i < SEARCHERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, searcher, &sh), 0);

    uint64_t x = 12345;
    for (int op = 0; op < WRITER_OPS; op++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t id = (int64_t)(x % IDS);
        if (x % 3 == 0) {
            int rc = mnemo_vindex_remove(sh.vx, id, NULL);
            assert_true(rc == 0 || rc == MNEMO_ENOTFOUND);
        } else {
            vec_of(id, v);
            assert_int_equal(
                mnemo_vindex_upsert(sh.vx, id, id % 2 ? "odd" : "even", id % 10 == 1, v, DIM, NULL),
                0);
        }
    }
    __atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < SEARCHERS; i++)
        pthread_join(th[i], NULL);
    print_message("%ld searches during %d writes\n", sh.searches, WRITER_OPS);
    assert_int_equal(sh.failures, 0);
    assert_true(sh.searches > 0);
    mnemo_vindex_close(sh.vx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vindex_concurrent_searches_and_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
