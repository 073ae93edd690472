/*
 * vindex.h - the in-RAM vector index: exact top-k by dot product over one contiguous matrix.
 *
 * Vectors of one model (one dimension) live in a single 64-byte-aligned, row-major float32
 * matrix, rows padded to a multiple of 16 floats, next to parallel arrays of observation id,
 * interned project id and global-scope flag. A search scans every row that passes the
 * project/scope filter with a SIMD dot product and keeps the best k in a small heap, so it is
 * exact and bound by memory bandwidth (100k x 384 takes about 1.1x a plain read of the same
 * 154 MB: ~5 ms on a fast desktop core, ~20 ms on the test VM). An optional int8 mode scans a
 * quantized copy (a quarter of the bytes; ~1.5x faster on the test VM, where the widening
 * multiply is the limit) and re-ranks the best 4k candidates with the float rows, so its
 * scores stay exact and only the candidate set is approximate. Vectors are expected to be
 * L2-normalized (so the dot product is the cosine similarity); the index does not check.
 *
 * Thread-safety: one struct mnemo_vindex may be used by any number of threads at once.
 * Searches run concurrently under a read lock; upsert, remove and load take the write lock
 * (writer-preferring, so a stream of searches cannot starve a writer). Open and close must
 * not race with any other call.
 */
#ifndef MNEMO_SEARCH_VINDEX_H
#define MNEMO_SEARCH_VINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Largest k a search accepts. */
#define MNEMO_VINDEX_MAX_K 1000
/* Largest dimension accepted (text embedding models stay well below). */
#define MNEMO_VINDEX_MAX_DIM 4096
/* Largest number of rows; bounds memory to what a memory store can plausibly hold. */
#define MNEMO_VINDEX_MAX_ROWS (INT64_C(1) << 26)
/* Distinct project names the index interns. */
#define MNEMO_VINDEX_MAX_PROJECTS 65536
/* In int8 mode, candidates re-ranked with float per requested result. */
#define MNEMO_VINDEX_RERANK_FACTOR 4

enum mnemo_vindex_mode {
    MNEMO_VINDEX_FLOAT = 0, /* exact float32 scan */
    MNEMO_VINDEX_INT8 = 1,  /* int8 scan (per-row scale) + float re-rank of 4k candidates */
};

struct mnemo_vindex;

/* One search result: the observation id and its dot product with the query (float). */
struct mnemo_vindex_hit {
    int64_t id;
    float score;
};

/*
 * Creates an empty index for vectors of dim floats (1..MNEMO_VINDEX_MAX_DIM) in mode.
 * The caller owns *out and frees it with mnemo_vindex_close. Returns 0, MNEMO_EINVAL or
 * MNEMO_ENOMEM (*out NULL on failure).
 */
int mnemo_vindex_open(int dim, enum mnemo_vindex_mode mode, struct mnemo_vindex **out,
                      struct mnemo_err *err);

/* Frees the index and everything it holds. NULL is a no-op. */
void mnemo_vindex_close(struct mnemo_vindex *vx);

/* The dimension fixed at open. */
int mnemo_vindex_dim(const struct mnemo_vindex *vx);

/* The mode fixed at open. */
enum mnemo_vindex_mode mnemo_vindex_mode(const struct mnemo_vindex *vx);

/* The number of rows held now. */
int64_t mnemo_vindex_count(struct mnemo_vindex *vx);

/*
 * Inserts observation id's vector, or replaces it (vector, project and scope) when id is
 * already present. project (may be NULL or "" for none) is copied and interned; global is 1
 * for a global-scope observation. vec (dim floats) is copied. Returns 0; MNEMO_EINVAL for a
 * dim mismatch, NULL vec or non-finite values; MNEMO_ETOOBIG past the row or project limits;
 * MNEMO_ENOMEM (index unchanged on any failure).
 */
int mnemo_vindex_upsert(struct mnemo_vindex *vx, int64_t id, const char *project, int global,
                        const float *vec, int dim, struct mnemo_err *err);

/* Removes id's row (the last row moves into its place). Returns 0 or MNEMO_ENOTFOUND. */
int mnemo_vindex_remove(struct mnemo_vindex *vx, int64_t id, struct mnemo_err *err);

/* 1 when id has a row. */
int mnemo_vindex_contains(struct mnemo_vindex *vx, int64_t id);

/* One row produced by a load iterator; every pointer is borrowed until the next call. */
struct mnemo_vindex_row {
    int64_t id;
    const char *project; /* may be NULL */
    int global;
    const float *vec;
    int dim;
};

/*
 * Load iterator: fills *row and returns 1, returns 0 at the end, or a negative mnemo code to
 * abort the load (that code is returned by mnemo_vindex_load).
 */
typedef int (*mnemo_vindex_next_fn)(void *arg, struct mnemo_vindex_row *row);

/*
 * Upserts every row next produces, holding the write lock throughout, so searches wait for
 * the load to end and never see it half done. next runs under that lock and must not call
 * into this index. Stops at the first error: rows already upserted stay. *n_loaded (may be
 * NULL) counts upserted rows.
 */
int mnemo_vindex_load(struct mnemo_vindex *vx, mnemo_vindex_next_fn next, void *arg,
                      int64_t *n_loaded, struct mnemo_err *err);

/*
 * The k (1..MNEMO_VINDEX_MAX_K) rows with the highest dot product with query (dim floats),
 * best first, ties broken by ascending id, into out[0..*n_out). With project NULL every row
 * is a candidate; otherwise rows of that project, plus global rows when include_global is
 * set. Returns 0 (possibly with *n_out 0); MNEMO_EINVAL for k out of range, a dim mismatch
 * or NULL pointers; MNEMO_ENOMEM. In int8 mode the scores are still exact float dot
 * products; only the candidate set is approximate.
 */
int mnemo_vindex_search(struct mnemo_vindex *vx, const float *query, int dim, const char *project,
                        int include_global, int k, struct mnemo_vindex_hit *out, int *n_out,
                        struct mnemo_err *err);

/* Which dot-product kernel the build uses ("target_clones+omp-simd", "omp-simd", "scalar"). */
const char *mnemo_vindex_kernel_name(void);

#endif
