/*
 * vindex.c - the in-RAM vector index: matrix, id map, project interning, SIMD scan, top-k.
 */
#include "search/vindex.h"

#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Rows are padded to a whole number of 64-byte cache lines, so every row starts aligned and
 * the kernels need no remainder loop (padding is zero and adds nothing to a dot product). */
#define ALIGN_BYTES  64
#define F32_PER_LINE (ALIGN_BYTES / (int)sizeof(float))
#define EMPTY_SLOT   UINT32_MAX
#define NO_PROJECT   0u
#define SCAN_BATCH   256
#define INITIAL_ROWS 64
#define UNKNOWN_PROJ UINT32_MAX

/* ---- kernels -------------------------------------------------------------------------- */

/*
 * GCC vectorizes a float reduction only when allowed to reorder it: `omp simd reduction`
 * grants that for this loop alone (with -fopenmp-simd; without the flag the pragma is
 * unknown, so it is compiled only when the build defines MNEMO_OMP_SIMD). target_clones
 * builds AVX2 and AVX-512 versions picked at load time, so shipped builds need no -march.
 * MNEMO_VINDEX_NO_CLONES turns the clones off for toolchains that cannot build them (and
 * is set automatically under ThreadSanitizer, see below).
 */
#if defined(MNEMO_OMP_SIMD)
#define SIMD_REDUCE  _Pragma("omp simd reduction(+ : acc)")
#define SIMD_REDUCE4 _Pragma("omp simd reduction(+ : acc0, acc1, acc2, acc3)")
#if defined(__clang__)
/* Sanitizer instrumentation can keep clang from vectorizing; the pragma is a speed request,
 * so a build where it cannot be honoured must still compile under -Werror. */
#pragma clang diagnostic ignored "-Wpass-failed"
#endif
#define KERNEL_SIMD 1
#else
#define SIMD_REDUCE
#define SIMD_REDUCE4
#define KERNEL_SIMD 0
#endif

/* ThreadSanitizer's runtime is not initialised yet when ifunc resolvers run at load time, and
 * a clone resolver then crashes the process; TSan builds use the portable kernel. */
#if defined(__SANITIZE_THREAD__) && !defined(MNEMO_VINDEX_NO_CLONES)
#define MNEMO_VINDEX_NO_CLONES 1
#endif
#if defined(__has_feature) && !defined(MNEMO_VINDEX_NO_CLONES)
#if __has_feature(thread_sanitizer)
#define MNEMO_VINDEX_NO_CLONES 1
#endif
#endif
#define KERNEL_CLONES 0
#if defined(__x86_64__) && defined(__has_attribute) && !defined(MNEMO_VINDEX_NO_CLONES)
#if __has_attribute(target_clones)
#undef KERNEL_CLONES
#define KERNEL_CLONES 1
#define CLONES        __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#endif
#endif
#ifndef CLONES
#define CLONES
#endif

/*
 * out[r] = dot(row rows[r] of m, q) for r < n; stride floats per row. Four rows go through
 * one loop: four independent accumulator chains hide the add latency that a single reduction
 * chain would wait on, and each query element is loaded once for four rows.
 */
CLONES static void dot_f32_rows(const float *restrict m, size_t stride, const float *restrict q,
                                const uint32_t *restrict rows, size_t n, float *restrict out)
{
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
        const float *restrict a0 = m + (size_t)rows[r] * stride;
        const float *restrict a1 = m + (size_t)rows[r + 1] * stride;
        const float *restrict a2 = m + (size_t)rows[r + 2] * stride;
        const float *restrict a3 = m + (size_t)rows[r + 3] * stride;
        float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f;
        SIMD_REDUCE4
        for (size_t i = 0; i < stride; i++) {
            acc0 += a0[i] * q[i];
            acc1 += a1[i] * q[i];
            acc2 += a2[i] * q[i];
            acc3 += a3[i] * q[i];
        }
        out[r] = acc0;
        out[r + 1] = acc1;
        out[r + 2] = acc2;
        out[r + 3] = acc3;
    }
    for (; r < n; r++) {
        const float *restrict a = m + (size_t)rows[r] * stride;
        float acc = 0.0f;
        SIMD_REDUCE
        for (size_t i = 0; i < stride; i++)
            acc += a[i] * q[i];
        out[r] = acc;
    }
}

/* The int8 form: exact int32 dot products of quantized rows. */
CLONES static void dot_i8_rows(const int8_t *restrict m, size_t stride, const int8_t *restrict q,
                               const uint32_t *restrict rows, size_t n, int32_t *restrict out)
{
    for (size_t r = 0; r < n; r++) {
        const int8_t *restrict a = m + (size_t)rows[r] * stride;
        int32_t acc = 0;
        SIMD_REDUCE
        for (size_t i = 0; i < stride; i++)
            acc += (int32_t)a[i] * (int32_t)q[i];
        out[r] = acc;
    }
}

const char *mnemo_vindex_kernel_name(void)
{
    if (KERNEL_CLONES && KERNEL_SIMD)
        return "target_clones+omp-simd";
    if (KERNEL_SIMD)
        return "omp-simd";
    if (KERNEL_CLONES)
        return "target_clones";
    return "scalar";
}

/* ---- the index ------------------------------------------------------------------------ */

struct mnemo_vindex {
    pthread_rwlock_t lock;
    int dim;
    enum mnemo_vindex_mode mode;
    size_t stride;  /* floats per row in mat */
    size_t stride8; /* bytes per row in mat8 */

    int64_t n;   /* rows in use */
    int64_t cap; /* rows allocated */
    float *mat;  /* cap x stride, 64-byte aligned */
    int8_t *mat8;
    float *scale8; /* per-row dequantization scale (int8 mode) */
    int64_t *ids;
    uint32_t *proj;
    uint8_t *global;

    /* id -> row: open addressing, linear probing, backward-shift deletion (no tombstones). */
    int64_t *hkeys;
    uint32_t *hvals; /* EMPTY_SLOT marks a free slot */
    size_t hcap;     /* power of two, at least twice the rows */

    char **projects; /* projects[0] unused: id 0 means "no project" */
    uint32_t nproj;
    uint32_t projcap;
};

static size_t round_up(size_t v, size_t m)
{
    return (v + m - 1) / m * m;
}

static uint64_t hash_id(int64_t id)
{
    /* splitmix64 finalizer: ids are sequential, so spread them before masking. */
    uint64_t z = (uint64_t)id + UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static size_t slot_find(const struct mnemo_vindex *vx, int64_t id)
{
    size_t mask = vx->hcap - 1;
    size_t i = (size_t)hash_id(id) & mask;
    while (vx->hvals[i] != EMPTY_SLOT) {
        if (vx->hkeys[i] == id)
            return i;
        i = (i + 1) & mask;
    }
    return SIZE_MAX;
}

static void slot_put(int64_t *keys, uint32_t *vals, size_t cap, int64_t id, uint32_t row)
{
    size_t mask = cap - 1;
    size_t i = (size_t)hash_id(id) & mask;
    while (vals[i] != EMPTY_SLOT)
        i = (i + 1) & mask;
    keys[i] = id;
    vals[i] = row;
}

/* Frees slot i and moves later entries of the probe run back so lookups stay correct. */
static void slot_delete(struct mnemo_vindex *vx, size_t i)
{
    size_t mask = vx->hcap - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (vx->hvals[j] == EMPTY_SLOT)
            break;
        size_t k = (size_t)hash_id(vx->hkeys[j]) & mask;
        int move = (j > i) ? (k <= i || k > j) : (k <= i && k > j);
        if (move) {
            vx->hkeys[i] = vx->hkeys[j];
            vx->hvals[i] = vx->hvals[j];
            i = j;
        }
    }
    vx->hvals[i] = EMPTY_SLOT;
}

/* Makes room for rows+1 entries at a load factor of at most one half. */
static int hash_reserve(struct mnemo_vindex *vx, int64_t rows)
{
    if ((size_t)(rows + 1) * 2 <= vx->hcap)
        return 0;
    size_t ncap = vx->hcap ? vx->hcap * 2 : 128;
    while ((size_t)(rows + 1) * 2 > ncap)
        ncap *= 2;
    int64_t *keys = malloc(ncap * sizeof(*keys));
    uint32_t *vals = malloc(ncap * sizeof(*vals));
    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return MNEMO_ENOMEM;
    }
    for (size_t i = 0; i < ncap; i++)
        vals[i] = EMPTY_SLOT;
    for (size_t i = 0; i < vx->hcap; i++) {
        if (vx->hvals[i] != EMPTY_SLOT)
            slot_put(keys, vals, ncap, vx->hkeys[i], vx->hvals[i]);
    }
    free(vx->hkeys);
    free(vx->hvals);
    vx->hkeys = keys;
    vx->hvals = vals;
    vx->hcap = ncap;
    return 0;
}

static void *aligned_grow(void *old, size_t old_bytes, size_t new_bytes)
{
    void *p = aligned_alloc(ALIGN_BYTES, round_up(new_bytes, ALIGN_BYTES));
    if (p != NULL && old != NULL)
        memcpy(p, old, old_bytes);
    return p;
}

/* Doubles the row capacity. On failure the index is unchanged (arrays that did grow are only
 * larger, which is harmless). */
static int rows_reserve(struct mnemo_vindex *vx, int64_t need)
{
    if (need <= vx->cap)
        return 0;
    if (need > MNEMO_VINDEX_MAX_ROWS)
        return MNEMO_ETOOBIG;
    int64_t ncap = vx->cap ? vx->cap * 2 : INITIAL_ROWS;
    if (ncap > MNEMO_VINDEX_MAX_ROWS)
        ncap = MNEMO_VINDEX_MAX_ROWS;
    size_t oc = (size_t)vx->cap, nc = (size_t)ncap;

    float *mat = aligned_grow(vx->mat, oc * vx->stride * sizeof(float), nc * vx->stride * 4);
    if (mat == NULL)
        return MNEMO_ENOMEM;
    int8_t *mat8 = NULL;
    if (vx->mode == MNEMO_VINDEX_INT8) {
        mat8 = aligned_grow(vx->mat8, oc * vx->stride8, nc * vx->stride8);
        if (mat8 == NULL) {
            free(mat);
            return MNEMO_ENOMEM;
        }
    }
    /* The small arrays grow with realloc: a failure leaves the old block valid. */
    void *p;
    if ((p = realloc(vx->ids, nc * sizeof(*vx->ids))) != NULL)
        vx->ids = p;
    if (p != NULL && (p = realloc(vx->proj, nc * sizeof(*vx->proj))) != NULL)
        vx->proj = p;
    if (p != NULL && (p = realloc(vx->global, nc)) != NULL)
        vx->global = p;
    if (p != NULL && vx->mode == MNEMO_VINDEX_INT8 &&
        (p = realloc(vx->scale8, nc * sizeof(*vx->scale8))) != NULL)
        vx->scale8 = p;
    if (p == NULL) {
        free(mat);
        free(mat8);
        return MNEMO_ENOMEM;
    }
    free(vx->mat);
    vx->mat = mat;
    if (mat8 != NULL) {
        free(vx->mat8);
        vx->mat8 = mat8;
    }
    vx->cap = ncap;
    return 0;
}

/* The interned id of project, or UNKNOWN_PROJ; NULL and "" are NO_PROJECT. */
static uint32_t project_lookup(const struct mnemo_vindex *vx, const char *project)
{
    if (project == NULL || project[0] == '\0')
        return NO_PROJECT;
    for (uint32_t i = 1; i < vx->nproj; i++) {
        if (strcmp(vx->projects[i], project) == 0)
            return i;
    }
    return UNKNOWN_PROJ;
}

static int project_intern(struct mnemo_vindex *vx, const char *project, uint32_t *out)
{
    uint32_t id = project_lookup(vx, project);
    if (id != UNKNOWN_PROJ) {
        *out = id;
        return 0;
    }
    if (vx->nproj >= MNEMO_VINDEX_MAX_PROJECTS)
        return MNEMO_ETOOBIG;
    if (vx->nproj == vx->projcap) {
        uint32_t ncap = vx->projcap * 2;
        char **p = realloc(vx->projects, ncap * sizeof(*p));
        if (p == NULL)
            return MNEMO_ENOMEM;
        vx->projects = p;
        vx->projcap = ncap;
    }
    char *copy = strdup(project);
    if (copy == NULL)
        return MNEMO_ENOMEM;
    vx->projects[vx->nproj] = copy;
    *out = vx->nproj++;
    return 0;
}

int mnemo_vindex_open(int dim, enum mnemo_vindex_mode mode, struct mnemo_vindex **out,
                      struct mnemo_err *err)
{
    struct mnemo_vindex *vx;
    pthread_rwlockattr_t attr;

    if (out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: out is required");
    *out = NULL;
    if (dim < 1 || dim > MNEMO_VINDEX_MAX_DIM)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: dimension %d out of range 1..%d", dim,
                             MNEMO_VINDEX_MAX_DIM);
    if (mode != MNEMO_VINDEX_FLOAT && mode != MNEMO_VINDEX_INT8)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: unknown mode %d", (int)mode);
    vx = calloc(1, sizeof(*vx));
    if (vx == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "vindex: out of memory");
    vx->projcap = 16;
    vx->projects = calloc(vx->projcap, sizeof(*vx->projects));
    if (vx->projects == NULL) {
        free(vx);
        return mnemo_err_set(err, MNEMO_ENOMEM, "vindex: out of memory");
    }
    vx->nproj = 1;
    vx->dim = dim;
    vx->mode = mode;
    vx->stride = round_up((size_t)dim, F32_PER_LINE);
    vx->stride8 = round_up((size_t)dim, ALIGN_BYTES);
    /* Writer preference: four busy search threads must not keep an insert waiting forever. */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int prc = pthread_rwlock_init(&vx->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (prc != 0) {
        free(vx->projects);
        free(vx);
        return mnemo_err_set(err, MNEMO_ENOMEM, "vindex: cannot create lock");
    }
    *out = vx;
    return 0;
}

void mnemo_vindex_close(struct mnemo_vindex *vx)
{
    if (vx == NULL)
        return;
    pthread_rwlock_destroy(&vx->lock);
    free(vx->mat);
    free(vx->mat8);
    free(vx->scale8);
    free(vx->ids);
    free(vx->proj);
    free(vx->global);
    free(vx->hkeys);
    free(vx->hvals);
    for (uint32_t i = 1; i < vx->nproj; i++)
        free(vx->projects[i]);
    free(vx->projects);
    free(vx);
}

int mnemo_vindex_dim(const struct mnemo_vindex *vx)
{
    return vx->dim;
}

enum mnemo_vindex_mode mnemo_vindex_mode(const struct mnemo_vindex *vx)
{
    return vx->mode;
}

int64_t mnemo_vindex_count(struct mnemo_vindex *vx)
{
    pthread_rwlock_rdlock(&vx->lock);
    int64_t n = vx->n;
    pthread_rwlock_unlock(&vx->lock);
    return n;
}

int mnemo_vindex_contains(struct mnemo_vindex *vx, int64_t id)
{
    pthread_rwlock_rdlock(&vx->lock);
    int found = vx->hcap > 0 && slot_find(vx, id) != SIZE_MAX;
    pthread_rwlock_unlock(&vx->lock);
    return found;
}

/* Quantizes n floats to int8 with a symmetric scale (max |x| maps to 127); returns the scale
 * that turns an int8 value back into a float. */
static float quantize(const float *v, size_t n, int8_t *out)
{
    float mx = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = v[i] < 0.0f ? -v[i] : v[i];
        if (a > mx)
            mx = a;
    }
    if (mx == 0.0f) {
        memset(out, 0, n);
        return 0.0f;
    }
    float inv = 127.0f / mx;
    for (size_t i = 0; i < n; i++) {
        float x = v[i] * inv;
        int r = (int)(x < 0.0f ? x - 0.5f : x + 0.5f);
        out[i] = (int8_t)(r > 127 ? 127 : (r < -127 ? -127 : r));
    }
    return mx / 127.0f;
}

static int check_vec(const struct mnemo_vindex *vx, const float *vec, int dim,
                     struct mnemo_err *err)
{
    if (vec == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: vector is required");
    if (dim != vx->dim)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: vector has %d dimensions, index has %d",
                             dim, vx->dim);
    for (int i = 0; i < dim; i++) {
        if (!isfinite(vec[i]))
            return mnemo_err_set(err, MNEMO_EINVAL, "vindex: vector holds a non-finite value");
    }
    return 0;
}

/* The body of upsert; the caller holds the write lock. */
static int upsert_locked(struct mnemo_vindex *vx, int64_t id, const char *project, int global,
                         const float *vec, int dim, struct mnemo_err *err)
{
    uint32_t pid;
    int rc = check_vec(vx, vec, dim, err);
    if (rc != 0)
        return rc;
    rc = project_intern(vx, project, &pid);
    if (rc != 0)
        return mnemo_err_set(err, rc, "vindex: cannot intern project: %s", mnemo_strerror(rc));
    size_t slot = vx->hcap > 0 ? slot_find(vx, id) : SIZE_MAX;
    size_t row;
    if (slot != SIZE_MAX) {
        row = vx->hvals[slot];
    } else {
        rc = hash_reserve(vx, vx->n);
        if (rc == 0)
            rc = rows_reserve(vx, vx->n + 1);
        if (rc != 0)
            return mnemo_err_set(err, rc, "vindex: cannot grow to %lld rows: %s",
                                 (long long)vx->n + 1, mnemo_strerror(rc));
        row = (size_t)vx->n;
    }
    float *dst = vx->mat + row * vx->stride;
    memcpy(dst, vec, (size_t)dim * sizeof(float));
    memset(dst + dim, 0, (vx->stride - (size_t)dim) * sizeof(float));
    if (vx->mode == MNEMO_VINDEX_INT8) {
        int8_t *d8 = vx->mat8 + row * vx->stride8;
        vx->scale8[row] = quantize(vec, (size_t)dim, d8);
        memset(d8 + dim, 0, vx->stride8 - (size_t)dim);
    }
    vx->ids[row] = id;
    vx->proj[row] = pid;
    vx->global[row] = global ? 1 : 0;
    if (slot == SIZE_MAX) {
        slot_put(vx->hkeys, vx->hvals, vx->hcap, id, (uint32_t)row);
        vx->n++;
    }
    return 0;
}

int mnemo_vindex_upsert(struct mnemo_vindex *vx, int64_t id, const char *project, int global,
                        const float *vec, int dim, struct mnemo_err *err)
{
    if (vx == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: index is required");
    pthread_rwlock_wrlock(&vx->lock);
    int rc = upsert_locked(vx, id, project, global, vec, dim, err);
    pthread_rwlock_unlock(&vx->lock);
    return rc;
}

int mnemo_vindex_remove(struct mnemo_vindex *vx, int64_t id, struct mnemo_err *err)
{
    if (vx == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: index is required");
    pthread_rwlock_wrlock(&vx->lock);
    size_t slot = vx->hcap > 0 ? slot_find(vx, id) : SIZE_MAX;
    if (slot == SIZE_MAX) {
        pthread_rwlock_unlock(&vx->lock);
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "vindex: observation %lld has no vector",
                             (long long)id);
    }
    size_t row = vx->hvals[slot];
    size_t last = (size_t)vx->n - 1;
    slot_delete(vx, slot);
    if (row != last) {
        /* Swap-remove: the last row fills the hole, so the matrix stays dense. */
        memcpy(vx->mat + row * vx->stride, vx->mat + last * vx->stride, vx->stride * sizeof(float));
        if (vx->mode == MNEMO_VINDEX_INT8) {
            memcpy(vx->mat8 + row * vx->stride8, vx->mat8 + last * vx->stride8, vx->stride8);
            vx->scale8[row] = vx->scale8[last];
        }
        vx->ids[row] = vx->ids[last];
        vx->proj[row] = vx->proj[last];
        vx->global[row] = vx->global[last];
        size_t moved = slot_find(vx, vx->ids[row]);
        assert(moved != SIZE_MAX);
        vx->hvals[moved] = (uint32_t)row;
    }
    vx->n--;
    pthread_rwlock_unlock(&vx->lock);
    return 0;
}

int mnemo_vindex_load(struct mnemo_vindex *vx, mnemo_vindex_next_fn next, void *arg,
                      int64_t *n_loaded, struct mnemo_err *err)
{
    struct mnemo_vindex_row row;
    int64_t count = 0;
    int rc = 0;

    if (n_loaded != NULL)
        *n_loaded = 0;
    if (vx == NULL || next == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: index and iterator are required");
    pthread_rwlock_wrlock(&vx->lock);
    for (;;) {
        memset(&row, 0, sizeof(row));
        int more = next(arg, &row);
        if (more < 0) {
            rc = mnemo_err_set(err, more, "vindex: load iterator failed: %s", mnemo_strerror(more));
            break;
        }
        if (more == 0)
            break;
        rc = upsert_locked(vx, row.id, row.project, row.global, row.vec, row.dim, err);
        if (rc != 0)
            break;
        count++;
    }
    pthread_rwlock_unlock(&vx->lock);
    if (n_loaded != NULL)
        *n_loaded = count;
    return rc;
}

/* ---- search --------------------------------------------------------------------------- */

/* 1 when a ranks below b: a lower score, or an equal score and a larger id (ties go to the
 * smaller id, so results are deterministic). */
static int hit_worse(const struct mnemo_vindex_hit *a, const struct mnemo_vindex_hit *b)
{
    return a->score < b->score || (a->score == b->score && a->id > b->id);
}

/* A bounded min-heap whose root is the worst hit kept so far. */
struct topk {
    struct mnemo_vindex_hit *h;
    int n, k;
    uint32_t *rows; /* the row of each hit (int8 re-rank needs it); parallel to h */
};

static void topk_swap(struct topk *t, int a, int b)
{
    struct mnemo_vindex_hit x = t->h[a];
    uint32_t r = t->rows[a];
    t->h[a] = t->h[b];
    t->rows[a] = t->rows[b];
    t->h[b] = x;
    t->rows[b] = r;
}

static void topk_offer(struct topk *t, int64_t id, float score, uint32_t row)
{
    struct mnemo_vindex_hit c = {id, score};
    if (t->n < t->k) {
        int i = t->n++;
        t->h[i] = c;
        t->rows[i] = row;
        while (i > 0 && hit_worse(&t->h[i], &t->h[(i - 1) / 2])) {
            topk_swap(t, i, (i - 1) / 2);
            i = (i - 1) / 2;
        }
        return;
    }
    if (!hit_worse(&t->h[0], &c))
        return;
    t->h[0] = c;
    t->rows[0] = row;
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && hit_worse(&t->h[l], &t->h[m]))
            m = l;
        if (r < t->n && hit_worse(&t->h[r], &t->h[m]))
            m = r;
        if (m == i)
            break;
        topk_swap(t, i, m);
        i = m;
    }
}

static int hit_cmp_best_first(const void *pa, const void *pb)
{
    const struct mnemo_vindex_hit *a = pa, *b = pb;
    if (hit_worse(b, a))
        return -1;
    if (hit_worse(a, b))
        return 1;
    return 0;
}

/* Collects the next up to SCAN_BATCH rows from *r on that pass the project/scope filter;
 * returns how many (0 at the end). */
static size_t next_batch(const struct mnemo_vindex *vx, int64_t *r, int filter, uint32_t pid,
                         int include_global, uint32_t rows[SCAN_BATCH])
{
    size_t nb = 0;
    while (*r < vx->n && nb < SCAN_BATCH) {
        int64_t i = (*r)++;
        if (!filter || vx->proj[i] == pid || (include_global && vx->global[i]))
            rows[nb++] = (uint32_t)i;
    }
    return nb;
}

/* Scans every row that passes the filter with the float kernel, offering each to t. */
static void scan_f32(const struct mnemo_vindex *vx, const float *q, int filter, uint32_t pid,
                     int include_global, struct topk *t)
{
    uint32_t rows[SCAN_BATCH];
    float scores[SCAN_BATCH];
    int64_t r = 0;
    size_t nb;
    while ((nb = next_batch(vx, &r, filter, pid, include_global, rows)) > 0) {
        dot_f32_rows(vx->mat, vx->stride, q, rows, nb, scores);
        for (size_t i = 0; i < nb; i++)
            topk_offer(t, vx->ids[rows[i]], scores[i], rows[i]);
    }
}

/* The int8 pre-filter: approximate scores (int32 dot x row scale; the query's scale is the
 * same for every row, so it does not change the order). */
static void scan_i8(const struct mnemo_vindex *vx, const int8_t *q8, int filter, uint32_t pid,
                    int include_global, struct topk *t)
{
    uint32_t rows[SCAN_BATCH];
    int32_t dots[SCAN_BATCH];
    int64_t r = 0;
    size_t nb;
    while ((nb = next_batch(vx, &r, filter, pid, include_global, rows)) > 0) {
        dot_i8_rows(vx->mat8, vx->stride8, q8, rows, nb, dots);
        for (size_t i = 0; i < nb; i++)
            topk_offer(t, vx->ids[rows[i]], (float)dots[i] * vx->scale8[rows[i]], rows[i]);
    }
}

int mnemo_vindex_search(struct mnemo_vindex *vx, const float *query, int dim, const char *project,
                        int include_global, int k, struct mnemo_vindex_hit *out, int *n_out,
                        struct mnemo_err *err)
{
    float *q = NULL;
    int8_t *q8 = NULL;
    struct topk t = {0};
    int rc = 0;

    if (n_out != NULL)
        *n_out = 0;
    if (vx == NULL || out == NULL || n_out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: index and outputs are required");
    if (k < 1 || k > MNEMO_VINDEX_MAX_K)
        return mnemo_err_set(err, MNEMO_EINVAL, "vindex: k %d out of range 1..%d", k,
                             MNEMO_VINDEX_MAX_K);
    rc = check_vec(vx, query, dim, err);
    if (rc != 0)
        return rc;

    /* The query is copied into an aligned, zero-padded row so the kernel sees the same shape
     * as the matrix. */
    q = aligned_alloc(ALIGN_BYTES, vx->stride * sizeof(float));
    int cand = k;
    if (vx->mode == MNEMO_VINDEX_INT8) {
        q8 = aligned_alloc(ALIGN_BYTES, vx->stride8);
        cand = k * MNEMO_VINDEX_RERANK_FACTOR;
    }
    t.k = cand;
    t.h = malloc((size_t)cand * sizeof(*t.h));
    t.rows = malloc((size_t)cand * sizeof(*t.rows));
    if (q == NULL || t.h == NULL || t.rows == NULL ||
        (vx->mode == MNEMO_VINDEX_INT8 && q8 == NULL)) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "vindex: out of memory");
        goto out;
    }
    memcpy(q, query, (size_t)dim * sizeof(float));
    memset(q + dim, 0, (vx->stride - (size_t)dim) * sizeof(float));
    if (q8 != NULL) {
        (void)quantize(query, (size_t)dim, q8);
        memset(q8 + dim, 0, vx->stride8 - (size_t)dim);
    }

    pthread_rwlock_rdlock(&vx->lock);
    int filter = project != NULL;
    uint32_t pid = filter ? project_lookup(vx, project) : NO_PROJECT;
    if (vx->mode == MNEMO_VINDEX_FLOAT) {
        scan_f32(vx, q, filter, pid, include_global, &t);
    } else {
        scan_i8(vx, q8, filter, pid, include_global, &t);
        /* Re-rank the candidates with exact float scores, keeping the best k. */
        float scores[SCAN_BATCH];
        struct topk fin = {t.h, 0, k, t.rows};
        int nc = t.n;
        for (int off = 0; off < nc; off += SCAN_BATCH) {
            size_t nb = (size_t)(nc - off < SCAN_BATCH ? nc - off : SCAN_BATCH);
            dot_f32_rows(vx->mat, vx->stride, q, t.rows + off, nb, scores);
            for (size_t i = 0; i < nb; i++)
                t.h[off + (int)i].score = scores[i];
        }
        /* Rebuild as a k-heap in place: entries are offered from the front, and the heap
         * never grows past an index already read. */
        for (int i = 0; i < nc; i++) {
            struct mnemo_vindex_hit hcopy = t.h[i];
            uint32_t rcopy = t.rows[i];
            topk_offer(&fin, hcopy.id, hcopy.score, rcopy);
        }
        t.n = fin.n;
    }
    pthread_rwlock_unlock(&vx->lock);

    qsort(t.h, (size_t)t.n, sizeof(*t.h), hit_cmp_best_first);
    memcpy(out, t.h, (size_t)t.n * sizeof(*t.h));
    *n_out = t.n;
out:
    free(q);
    free(q8);
    free(t.h);
    free(t.rows);
    return rc;
}
