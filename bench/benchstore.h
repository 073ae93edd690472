/*
 * benchstore.h - what the benchmark programs share besides the machine header: quantiles, RSS,
 * temporary stores, and filling a store with the generated corpus (corpus.h) in bulk.
 * Thread-safety: call from one thread at a time; a filled store is then the caller's.
 */
#ifndef MNEMO_BENCHSTORE_H
#define MNEMO_BENCHSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "embed/embed.h"
#include "store/store.h"

#define BENCH_PATH_LEN 512

/* The p-quantile (nearest rank) of v[0..n), sorting v in place; 0 when empty. */
double bench_quantile(int64_t *v, size_t n, double p);

/* VmRSS of process pid (0 = this process) in bytes, -1 when /proc is unreadable. */
int64_t bench_rss_bytes(pid_t pid);

/* Where temporary stores go: $TMPDIR, or /tmp. */
const char *bench_tmp_base(void);

/* A fresh directory under $TMPDIR (or /tmp) and the path of file name inside it. */
struct bench_tmpdir {
    char dir[BENCH_PATH_LEN - 32];
    char path[BENCH_PATH_LEN];
};

/* Creates the directory; prog names the caller in error messages. 0 or -1 (reported). */
int bench_tmpdir_make(struct bench_tmpdir *t, const char *prog, const char *name);

/* Removes every file in the directory, then the directory; failures are reported. */
void bench_tmpdir_remove(const struct bench_tmpdir *t, const char *prog);

/* Opens (creating) a store at path with the memory schema. 0 or -1 (reported). */
int bench_store_open(const char *path, const char *prog, struct mnemo_store **out);

/* Closes st (NULL is a no-op), reporting a failure. */
void bench_store_close(struct mnemo_store *st, const char *prog);

/* What bench_fill measured: only the timed calls count, corpus generation does not. */
struct bench_fill_stats {
    int64_t import_ns; /* mnemo_obs_import calls */
    int64_t vec_ns;    /* embedding + the vector rows' transactions */
    int64_t duplicates, failed;
};

/* Batch size of bench_fill: mnemo_obs_import's maximum rows per call. */
#define BENCH_FILL_BATCH 1000

/*
 * Generates observation i (created at created_at) into the caller's buffer number slot
 * (0..BENCH_FILL_BATCH-1) and returns it; it must stay valid until the same slot is reused.
 */
typedef struct mnemo_obs *(*bench_gen_fn)(void *ctx, size_t slot, int64_t i, int64_t created_at);

/*
 * Adds observations 0..n-1 to st: mnemo_obs_import of BENCH_FILL_BATCH rows per call (with
 * fresh uuids, so the vectors can find their rows), then each batch's vectors with emb: one
 * mnemo_embed_texts call and one write transaction of vector rows (the API has no bulk vector
 * call, so this step is the benchmark's own SQL, the statement mnemo_search_embed_obs uses).
 * Observation i is created at base_ms - (n - i) * 30 s. 0 or -1 (reported).
 */
int bench_fill(struct mnemo_store *st, struct mnemo_embedder *emb, int64_t n, int64_t base_ms,
               bench_gen_fn gen, void *ctx, const char *prog, struct bench_fill_stats *out);

/*
 * bench_fill on a new store at path with the default (hash) embedder, closed afterwards (a
 * TRUNCATE checkpoint: the store is ready for a worker). 0 or -1 (reported).
 */
int bench_fill_path(const char *path, int64_t n, bench_gen_fn gen, void *ctx, const char *prog);

#endif
