/*
 * scoring.c - the importance score (pure) and its batched recalculation over the store.
 */
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "memory/obs_int.h"
#include "memory/scoring.h"

double mnemo_scoring_type_weight(const char *type)
{
    static const struct {
        const char *type;
        double weight;
    } weights[] = {
        {"bugfix", 1.3},   {"feature", 1.2},  {"discovery", 1.1},
        {"decision", 1.1}, {"refactor", 1.0}, {"change", 0.9},
    };
    for (size_t i = 0; type && i < sizeof weights / sizeof weights[0]; i++)
        if (strcmp(type, weights[i].type) == 0)
            return weights[i].weight;
    return 1.0;
}

/*
 * The two transcendental functions the score needs, so the memory library does not depend on
 * libm (CMake links none for it). Both are accurate to a few ulps over the ranges used here.
 */

/* e^y for y in [-1, 0] by its Taylor series (25 terms reach double precision). */
static double exp_small(double y)
{
    double term = 1.0, sum = 1.0;
    for (int i = 1; i < 25; i++) {
        term *= y / i;
        sum += term;
    }
    return sum;
}

/* 0.5^x for x >= 0: whole halvings, then e^(-f ln 2) for the fraction f. */
static double half_pow(double x)
{
    if (!(x > 0.0))
        return 1.0;
    if (x > 1100.0) /* below the smallest subnormal */
        return 0.0;
    double whole = (double)(int64_t)x;
    double r = exp_small(-(x - whole) * 0.69314718055994530942);
    for (int64_t k = 0; k < (int64_t)whole; k++)
        r *= 0.5;
    return r;
}

/* log2(v) for v >= 1: the binary exponent, then 2 atanh((m-1)/(m+1)) / ln 2 for m in [1,2). */
static double log2_ge1(double v)
{
    if (!(v > 1.0))
        return 0.0;
    double e = 0.0;
    while (v >= 2.0) {
        v *= 0.5;
        e += 1.0;
    }
    double z = (v - 1.0) / (v + 1.0), z2 = z * z, term = z, sum = 0.0;
    for (int i = 1; i < 60 && term > DBL_EPSILON * 1e-3; i += 2) {
        sum += term / i;
        term *= z2;
    }
    return e + 2.0 * sum / 0.69314718055994530942;
}

double mnemo_scoring_importance(const char *type, int64_t created_at_ms, int64_t now_ms,
                                int feedback, double concept_sum, int64_t retrieval_count)
{
    /* Both times are Unix milliseconds; a clock that went backwards (or an imported row from a
     * machine ahead of us) must not make a memory more important than a brand-new one. */
    double age_days = 0.0;
    if (now_ms > created_at_ms)
        age_days = (double)(now_ms - created_at_ms) / MNEMO_SCORING_MS_PER_DAY;
    if (feedback < -1)
        feedback = -1;
    if (feedback > 1)
        feedback = 1;
    if (retrieval_count < 0)
        retrieval_count = 0;
    if (!isfinite(concept_sum))
        concept_sum = 0.0;
    double score =
        mnemo_scoring_type_weight(type) * half_pow(age_days / MNEMO_SCORING_HALF_LIFE_DAYS) +
        feedback * MNEMO_SCORING_FEEDBACK_W + concept_sum * MNEMO_SCORING_CONCEPT_W +
        log2_ge1((double)retrieval_count + 1.0) * MNEMO_SCORING_RETRIEVAL_W;
    return score < MNEMO_SCORING_FLOOR ? MNEMO_SCORING_FLOOR : score;
}

/* ---- concept weights ------------------------------------------------------------------------- */

static int weight_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mnemo_scoring_weight *)a)->concept,
                  ((const struct mnemo_scoring_weight *)b)->concept);
}

void mnemo_scoring_weights_release(struct mnemo_scoring_weights *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->items[i].concept);
    free(w->items);
    w->items = NULL;
    w->n = 0;
}

int mnemo_scoring_weights_load_conn(struct mnemo_conn *conn, struct mnemo_scoring_weights *w,
                                    struct mnemo_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc, src;
    w->items = NULL;
    w->n = 0;
    rc = mnemo_conn_prepare_cached(
        conn, "SELECT concept, weight FROM concept_weights ORDER BY concept LIMIT 4096", &st, err);
    if (rc != 0)
        return rc;
    size_t cap = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW && w->n < MNEMO_SCORING_MAX_WEIGHTS) {
        if (w->n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            struct mnemo_scoring_weight *p = realloc(w->items, ncap * sizeof *p);
            if (!p) {
                rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory loading concept weights");
                goto fail;
            }
            w->items = p;
            cap = ncap;
        }
        const unsigned char *c = sqlite3_column_text(st, 0);
        w->items[w->n].concept = strdup(c ? (const char *)c : "");
        if (!w->items[w->n].concept) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory loading concept weights");
            goto fail;
        }
        w->items[w->n].weight = sqlite3_column_double(st, 1);
        w->n++;
    }
    if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = mnemo_conn_error(conn, src, "load concept weights", err);
        goto fail;
    }
    sqlite3_reset(st);
    /* SQLite's ORDER BY uses BINARY collation, the same order as strcmp, but sort anyway so the
     * lookup never depends on that. */
    if (w->n > 1)
        qsort(w->items, w->n, sizeof *w->items, weight_cmp);
    return 0;
fail:
    sqlite3_reset(st);
    mnemo_scoring_weights_release(w);
    return rc;
}

static int load_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct mnemo_scoring_weights *w = arg;
    mnemo_scoring_weights_release(w);
    return mnemo_scoring_weights_load_conn(conn, w, err);
}

int mnemo_scoring_weights_load(struct mnemo_store *st, struct mnemo_scoring_weights *w,
                               struct mnemo_err *err)
{
    w->items = NULL;
    w->n = 0;
    return mnemo_store_read(st, "scoring.weights", MNEMO_STORE_TIMEOUT_DEFAULT_MS, load_cb, w, err);
}

double mnemo_scoring_weight_of(const struct mnemo_scoring_weights *w, const char *concept)
{
    if (!w || !concept || w->n == 0)
        return 0.0;
    struct mnemo_scoring_weight key = {.concept = (char *)concept, .weight = 0};
    const struct mnemo_scoring_weight *hit =
        bsearch(&key, w->items, w->n, sizeof *w->items, weight_cmp);
    return hit ? hit->weight : 0.0;
}

double mnemo_scoring_concept_sum(const struct mnemo_scoring_weights *w, const char *const *concepts,
                                 size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; concepts && i < n; i++) {
        if (!concepts[i])
            continue;
        int seen = 0;
        /* Lists are bounded (MNEMO_OBS_MAX_CONCEPTS), so the quadratic check is cheap. */
        for (size_t j = 0; j < i && !seen; j++)
            seen = concepts[j] && strcmp(concepts[j], concepts[i]) == 0;
        if (!seen)
            sum += mnemo_scoring_weight_of(w, concepts[i]);
    }
    return sum;
}

/* ---- batched recalculation ------------------------------------------------------------------- */

struct recalc_batch {
    const struct mnemo_scoring_weights *w;
    int64_t now_ms;
    int64_t after_id; /* in: resume point; out (via next_id): last id visited */
    int64_t next_id;
    int limit;
    int64_t visited;
};

static int recalc_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct recalc_batch *b = arg;
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int rc, src;
    b->visited = 0;
    b->next_id = b->after_id;
    if ((rc = mnemo_conn_prepare_cached(
             conn,
             "SELECT id, type, created_at, feedback, concepts, retrieval_count FROM observations"
             " WHERE id > ?1 AND archived = 0 AND superseded_by IS NULL ORDER BY id LIMIT ?2",
             &sel, err)) != 0)
        return rc;
    /* Separate from the SELECT's cache slot: both are live at once. */
    if ((rc = mnemo_conn_prepare_cached(
             conn, "UPDATE observations SET importance = ?1 WHERE id = ?2 AND importance <> ?1",
             &upd, err)) != 0)
        return rc;
    sqlite3_bind_int64(sel, 1, b->after_id);
    sqlite3_bind_int(sel, 2, b->limit);
    while ((src = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(sel, 0);
        struct mnemo_obs o;
        mnemo_obs_init(&o);
        const unsigned char *type = sqlite3_column_text(sel, 1);
        snprintf(o.type, sizeof o.type, "%s", type ? (const char *)type : "");
        o.created_at = sqlite3_column_int64(sel, 2);
        o.feedback = sqlite3_column_int(sel, 3);
        o.retrieval_count = sqlite3_column_int64(sel, 5);
        json_error_t jerr;
        json_t *arr = json_loadb((const char *)sqlite3_column_text(sel, 4),
                                 (size_t)sqlite3_column_bytes(sel, 4), 0, &jerr);
        const char *concepts[MNEMO_OBS_MAX_CONCEPTS];
        size_t nc = 0;
        for (size_t i = 0;
             arr && json_is_array(arr) && i < json_array_size(arr) && nc < MNEMO_OBS_MAX_CONCEPTS;
             i++) {
            const char *s = json_string_value(json_array_get(arr, i));
            if (s)
                concepts[nc++] = s;
        }
        double csum = mnemo_scoring_concept_sum(b->w, concepts, nc);
        json_decref(arr);
        double imp = mnemo_scoring_importance(o.type, o.created_at, b->now_ms, o.feedback, csum,
                                              o.retrieval_count);
        sqlite3_bind_double(upd, 1, imp);
        sqlite3_bind_int64(upd, 2, id);
        src = sqlite3_step(upd);
        sqlite3_reset(upd);
        if (src != SQLITE_DONE) {
            sqlite3_reset(sel);
            return mnemo_conn_error(conn, src, "update importance", err);
        }
        b->next_id = id;
        b->visited++;
    }
    sqlite3_reset(sel);
    if (src != SQLITE_DONE)
        return mnemo_conn_error(conn, src, "select observations to rescore", err);
    return 0;
}

int mnemo_scoring_recalc(struct mnemo_store *st, int batch_size, int64_t now_ms, int64_t *updated,
                         struct mnemo_err *err)
{
    return mnemo_scoring_recalc_cancelable(st, batch_size, now_ms, NULL, updated, err);
}

int mnemo_scoring_recalc_cancelable(struct mnemo_store *st, int batch_size, int64_t now_ms,
                                    const _Atomic int *cancel, int64_t *updated,
                                    struct mnemo_err *err)
{
    struct mnemo_scoring_weights w = {0};
    int64_t total = 0;
    int rc;
    if (updated)
        *updated = 0;
    if (batch_size == 0)
        batch_size = MNEMO_SCORING_BATCH_DEFAULT;
    if (batch_size < 0 || batch_size > MNEMO_SCORING_BATCH_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "recalculation batch size %d is not in 1..%d",
                             batch_size, MNEMO_SCORING_BATCH_MAX);
    if ((rc = mnemo_scoring_weights_load(st, &w, err)) != 0)
        return rc;
    struct recalc_batch b = {.w = &w, .now_ms = now_ms, .after_id = 0, .limit = batch_size};
    for (;;) {
        if (cancel != NULL && atomic_load(cancel)) {
            rc = mnemo_err_set(err, MNEMO_ECLOSED, "score recalculation cancelled after %lld rows",
                               (long long)total);
            break;
        }
        rc = mnemo_store_write(st, "scoring.recalc", MNEMO_STORE_TIMEOUT_SLOW_MS, recalc_cb, &b,
                               err);
        if (rc != 0)
            break;
        total += b.visited;
        if (b.visited < batch_size)
            break;
        b.after_id = b.next_id;
    }
    mnemo_scoring_weights_release(&w);
    if (updated)
        *updated = total;
    return rc;
}
