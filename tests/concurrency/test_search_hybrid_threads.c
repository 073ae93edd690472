/*
 * test_search_hybrid_threads.c - hybrid searches from four threads (each search runs its
 * vector path on a thread of its own beside the keyword path) while a writer adds and embeds
 * observations: every search succeeds with both paths used, and each one finds the row it was
 * seeded to find. Run under TSan with the concurrency label.
 */
#include "memutil.h"

#include <pthread.h>

#include "embed/embed.h"
#include "memory/obs.h"
#include "search/hybrid.h"
#include "util/clock.h"

enum { SEARCHERS = 4, SEEDED = 40, WRITES = 150 };

struct shared {
    struct mu_search_fixture *f;
    int64_t seeded[SEEDED];
    int stop; /* __atomic */
    int failures;
    long searches;
};

static int64_t add(struct mu_search_fixture *f, const char *project, const char *title,
                   const char *narrative)
{
    struct mnemo_obs o;
    struct mnemo_obs_created c;
    struct mnemo_err e = {0};
    mnemo_obs_init(&o);
    o.project = (char *)project;
    snprintf(o.type, sizeof(o.type), "discovery");
    o.title = (char *)title;
    o.narrative = (char *)narrative;
    if (mnemo_obs_create(f->st, &o, &c, &e) != 0)
        return -1;
    if (mnemo_search_embed_obs(f->st, f->vx, f->emb, c.id, 0, &e) != 0)
        return -1;
    return c.id;
}

static void *searcher(void *arg)
{
    struct shared *sh = arg;
    long done = 0;
    int bad = 0;
    while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE) || done < 20) {
        int k = (int)(done % SEEDED);
        char q[64];
        snprintf(q, sizeof q, "zebraword%d checkpoint", k);
        struct mnemo_search_results r;
        struct mnemo_err e = {0};
        int rc = mnemo_search_hybrid(sh->f->st, sh->f->vx, sh->f->emb, "alpha", q, 5, 1, 0, NULL,
                                     &r, &e);
        if (rc != 0 || !r.vec_used || r.n == 0 || r.items[0].obs.id != sh->seeded[k])
            bad++;
        if (rc == 0)
            mnemo_search_results_release(&r);
        done++;
    }
    __atomic_fetch_add(&sh->failures, bad, __ATOMIC_RELAXED);
    __atomic_fetch_add(&sh->searches, done, __ATOMIC_RELAXED);
    return NULL;
}

static void test_search_hybrid_threads_concurrent_searches_and_writes(void **state)
{
    struct mu_search_fixture *f = *state;
    static struct shared sh;
    memset(&sh, 0, sizeof sh);
    sh.f = f;
    for (int i = 0; i < SEEDED; i++) {
        char title[64];
        snprintf(title, sizeof title, "zebraword%d checkpoint finding", i);
        sh.seeded[i] = add(f, "alpha", title, "A seeded note the searchers look for.");
        assert_true(sh.seeded[i] > 0);
    }
    pthread_t th[SEARCHERS];
    for (int i = 0; i < SEARCHERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, searcher, &sh), 0);
    for (int i = 0; i < WRITES; i++) {
        char title[64];
        snprintf(title, sizeof title, "checkpoint writer note %d", i);
        assert_true(add(f, i % 2 ? "alpha" : "beta", title, "Written while searches run.") > 0);
    }
    __atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < SEARCHERS; i++)
        pthread_join(th[i], NULL);
    assert_true(sh.searches >= SEARCHERS * 20);
    assert_int_equal(sh.failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_search_hybrid_threads_concurrent_searches_and_writes,
                                        mu_search_setup, mu_search_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
