/*
 * memutil.h - a cmocka fixture for tests of the memory and search layers: a temp directory
 * with a store opened on the full memory schema (no checkpointer thread).
 * Thread-safety: setup and teardown run on the test's main thread; the store is thread-safe.
 */
#ifndef MNEMO_MEMUTIL_H
#define MNEMO_MEMUTIL_H

#include "storeutil.h"

struct mu_fixture {
    struct su_fixture su;
    struct mnemo_store *st;
};

/* Opens (creating) a store at path with the memory migrations. Fails the test on error. */
struct mnemo_store *mu_open(const char *path);

/* cmocka setup/teardown for a struct mu_fixture in *state; teardown asserts a clean close. */
int mu_setup(void **state);
int mu_teardown(void **state);

/* The same plus the default (hash) embedder and an empty float vector index of its dimension,
 * for search tests. */
struct mnemo_embedder;
struct mnemo_vindex;
struct mu_search_fixture {
    struct su_fixture su;
    struct mnemo_store *st;
    struct mnemo_embedder *emb;
    struct mnemo_vindex *vx;
};

/* cmocka setup/teardown for a struct mu_search_fixture in *state. */
int mu_search_setup(void **state);
int mu_search_teardown(void **state);

#endif
