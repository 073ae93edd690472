/*
 * test_embed_threads.c - one hash embedder shared by many threads gives the same bits as
 * one thread (run under TSan with the "concurrency" label).
 */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed.h"
#include "util/err.h"

#define THREADS 8
#define ROUNDS  200
#define NTEXTS  6
#define DIM     MNEMO_EMBED_HASH_DIM

static const char *const TEXTS[NTEXTS] = {
    "fix sqlite WAL checkpoint starvation",
    "getUserName returns null after session expiry",
    "Café ÅNGSTRÖM naïve résumé",
    "日本語のテキストと English mixed",
    "",
    "HTTPServerError in worker_pool.c line 42",
};

struct worker {
    struct mnemo_embedder *e;
    const float *expected;
    int mismatches;
    int rc;
};

static void *run(void *arg)
{
    struct worker *w = arg;
    float out[NTEXTS * DIM];
    struct mnemo_err err = {0};

    for (int r = 0; r < ROUNDS && w->rc == 0; r++) {
        w->rc = mnemo_embed_texts(w->e, TEXTS, NTEXTS, out, 0, &err);
        if (w->rc == 0 && memcmp(out, w->expected, sizeof(out)) != 0)
            w->mismatches++;
    }
    return NULL;
}

static void test_embed_hash_shared_by_threads_is_deterministic(void **state)
{
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    float expected[NTEXTS * DIM];
    struct worker w[THREADS];
    pthread_t th[THREADS];

    (void)state;
    mnemo_embed_config_init(&cfg);
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_int_equal(mnemo_embed_texts(e, TEXTS, NTEXTS, expected, 0, &err), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.e = e, .expected = expected};
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].mismatches, 0);
    }
    mnemo_embed_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_hash_shared_by_threads_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
