/*
 * storeutil.h - store helpers shared by the store's tests: a small test schema and ways to
 * grow it. Each helper fails the running cmocka test on error.
 * Thread-safety: su_insert_rows and su_count_rows may run on any thread (they go through
 * the store's own thread-safe calls); the rest are for the main thread.
 */
#ifndef MNEMO_STOREUTIL_H
#define MNEMO_STOREUTIL_H

#include "testutil.h"

/* A fresh temp directory per test with the paths a store test needs inside it. */
struct su_fixture {
    struct tu_dir dir;
    char db[300];  /* dir/mnemo.db */
    char wal[310]; /* its -wal */
    char shm[310]; /* its -shm */
    char log[300]; /* dir/test.log */
};

/* cmocka setup/teardown creating and removing a struct su_fixture in *state. */
int su_setup(void **state);
int su_teardown(void **state);

/* The test schema: migration 1 creates t(id INTEGER PRIMARY KEY, body TEXT NOT NULL). */
extern const struct mnemo_store_migration su_migrations[];
extern const int su_n_migrations;

/* Opens (creating) path with cfg (NULL for defaults) plus flags and the test schema. */
struct mnemo_store *su_open(const char *path, const struct mnemo_store_config *cfg, unsigned flags,
                            struct mnemo_log *log);

/* Inserts n rows with bodies of body_len bytes, rows_per_txn rows per write transaction.
 * Returns 0 or the first error (does not fail the test, so threads can use it). */
int su_insert_rows(struct mnemo_store *st, int n, size_t body_len, int rows_per_txn,
                   struct mnemo_err *err);

/* Number of rows in t. */
int64_t su_count_rows(struct mnemo_store *st);

/* The first column of the first row of sql (an integer; -1 when no row), through a pooled
 * connection. Fails the test on error. */
int64_t su_query_int(struct mnemo_store *st, const char *sql);

/* Runs sql (no result rows; several statements allowed). Fails the test on error. */
void su_exec(struct mnemo_store *st, const char *sql);

#endif
