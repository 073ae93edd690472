/*
 * scoring.h - the importance score of an observation and its batched recalculation.
 *
 *   importance = type_weight(type) * 0.5^(age_days / 7)
 *              + feedback * 0.30
 *              + sum(concept weights) * 0.20
 *              + log2(retrieval_count + 1) * 0.1 * 0.15
 *   floored at 0.01.
 *
 * Type weights: bugfix 1.3, feature 1.2, discovery 1.1, decision 1.1, refactor 1.0, change 0.9,
 * anything else 1.0. Ages come from Unix milliseconds (created_at and now are both ms); a
 * created_at in the future counts as age 0. Concept weights come from the concept_weights table;
 * a concept not in the table weighs 0, and a concept listed twice counts once.
 *
 * Thread-safety: the pure functions may run on any thread; a struct mnemo_scoring_weights belongs
 * to its caller (read-only use from several threads is safe).
 */
#ifndef MNEMO_MEMORY_SCORING_H
#define MNEMO_MEMORY_SCORING_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define MNEMO_SCORING_HALF_LIFE_DAYS 7.0
#define MNEMO_SCORING_MS_PER_DAY     86400000.0
#define MNEMO_SCORING_FEEDBACK_W     0.30
#define MNEMO_SCORING_CONCEPT_W      0.20
#define MNEMO_SCORING_RETRIEVAL_W    (0.1 * 0.15)
#define MNEMO_SCORING_FLOOR          0.01
/* Most concept weights loaded from the table (the rest are ignored, logged by nobody). */
#define MNEMO_SCORING_MAX_WEIGHTS 4096
/* Default and largest batch of the recalculation (rows per write transaction). */
#define MNEMO_SCORING_BATCH_DEFAULT 500
#define MNEMO_SCORING_BATCH_MAX     5000

/* The weight of an observation type (1.0 for unknown or NULL). Pure. */
double mnemo_scoring_type_weight(const char *type);

/*
 * The importance score (formula above) for an observation of type created at created_at_ms,
 * evaluated at now_ms (both Unix ms), with feedback (-1..1; clamped), concept_sum (the sum of its
 * concept weights) and retrieval_count (negative counts as 0). Pure.
 */
double mnemo_scoring_importance(const char *type, int64_t created_at_ms, int64_t now_ms,
                                int feedback, double concept_sum, int64_t retrieval_count);

/* A snapshot of the concept_weights table; owned by the caller. */
struct mnemo_scoring_weight {
    char *concept;
    double weight;
};
struct mnemo_scoring_weights {
    struct mnemo_scoring_weight *items; /* sorted by concept (strcmp) */
    size_t n;
};

/* Loads the table on conn (inside the caller's transaction) into *w (initialised here). */
int mnemo_scoring_weights_load_conn(struct mnemo_conn *conn, struct mnemo_scoring_weights *w,
                                    struct mnemo_err *err);
/* Same in its own read transaction. */
int mnemo_scoring_weights_load(struct mnemo_store *st, struct mnemo_scoring_weights *w,
                               struct mnemo_err *err);
/* Frees w's contents and zeroes it. NULL is a no-op. */
void mnemo_scoring_weights_release(struct mnemo_scoring_weights *w);

/* The weight of one concept (0 when absent). Pure. */
double mnemo_scoring_weight_of(const struct mnemo_scoring_weights *w, const char *concept);

/* The sum of the weights of concepts, each distinct concept counted once. Pure. */
double mnemo_scoring_concept_sum(const struct mnemo_scoring_weights *w, const char *const *concepts,
                                 size_t n);

/*
 * Recomputes the importance of every live observation (not archived, not superseded) at now_ms,
 * in id order, batch_size rows per write transaction (0 = MNEMO_SCORING_BATCH_DEFAULT; at most
 * MNEMO_SCORING_BATCH_MAX, else MNEMO_EINVAL), so no transaction holds the writer lock for long.
 * Concept weights are read once at the start. *updated (may be NULL) receives the number of rows
 * visited. Returns 0 or the first error (batches already committed stay committed).
 */
int mnemo_scoring_recalc(struct mnemo_store *st, int batch_size, int64_t now_ms, int64_t *updated,
                         struct mnemo_err *err);

/*
 * mnemo_scoring_recalc that also stops between batches once *cancel (may be NULL; read
 * atomically from another thread) is non-zero, returning MNEMO_ECLOSED: a worker shutting down
 * waits for at most one batch instead of a whole pass (1-2 s at 100k observations).
 */
int mnemo_scoring_recalc_cancelable(struct mnemo_store *st, int batch_size, int64_t now_ms,
                                    const _Atomic int *cancel, int64_t *updated,
                                    struct mnemo_err *err);

#endif
