/*
 * benchstore.c - see benchstore.h.
 */
#include "benchstore.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "memory/obs.h"
#include "memory/schema.h"
#include "search/hybrid.h"
#include "util/clock.h"
#include "util/strbuf.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

double bench_quantile(int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t rank = (size_t)ceil(p * (double)n);
    return (double)v[rank ? rank - 1 : 0];
}

int64_t bench_rss_bytes(pid_t pid)
{
    char path[64], line[256];
    int64_t kb = -1;
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/status");
    else
        snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %" SCNd64, &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

const char *bench_tmp_base(void)
{
    const char *base = getenv("TMPDIR");
    return base && base[0] ? base : "/tmp";
}

int bench_tmpdir_make(struct bench_tmpdir *t, const char *prog, const char *name)
{
    int n = snprintf(t->dir, sizeof t->dir, "%s/mnemo-bench-XXXXXX", bench_tmp_base());
    if (n < 0 || (size_t)n >= sizeof t->dir || !mkdtemp(t->dir)) {
        fprintf(stderr, "%s: cannot create a directory under '%s'\n", prog, bench_tmp_base());
        return -1;
    }
    n = snprintf(t->path, sizeof t->path, "%s/%s", t->dir, name);
    return n > 0 && (size_t)n < sizeof t->path ? 0 : -1;
}

/* Removes dir's files and subdirectories (a worker's home has logs/). */
static void remove_tree(const char *dir, const char *prog)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[BENCH_PATH_LEN + 260];
    if (d == NULL) {
        fprintf(stderr, "%s: cannot open '%s': %s\n", prog, dir, strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR)
            remove_tree(p, prog);
        else if (unlink(p) != 0 && errno != ENOENT)
            fprintf(stderr, "%s: cannot remove '%s': %s\n", prog, p, strerror(errno));
    }
    closedir(d);
    if (rmdir(dir) != 0)
        fprintf(stderr, "%s: cannot remove '%s': %s\n", prog, dir, strerror(errno));
}

void bench_tmpdir_remove(const struct bench_tmpdir *t, const char *prog)
{
    remove_tree(t->dir, prog);
}

int bench_store_open(const char *path, const char *prog, struct mnemo_store **out)
{
    struct mnemo_store_config cfg;
    struct mnemo_err e;
    mnemo_memory_store_config(&cfg, path, MNEMO_STORE_CREATE);
    int rc = mnemo_store_open(&cfg, out, &e);
    if (rc != 0) {
        fprintf(stderr, "%s: mnemo_store_open: %s\n", prog, mnemo_err_text(&e, rc));
        return -1;
    }
    return 0;
}

void bench_store_close(struct mnemo_store *st, const char *prog)
{
    int rc = st ? mnemo_store_close(st) : 0;
    if (rc)
        fprintf(stderr, "%s: mnemo_store_close: %s\n", prog, mnemo_strerror(rc));
}

static const char vec_insert_by_uuid_sql[] =
    "INSERT INTO vectors(observation_id, model_id, dim, embedding, created_at)"
    " SELECT id, ?2, ?3, ?4, ?5 FROM observations WHERE uuid = ?1";

struct vec_batch {
    struct mnemo_obs **rows;
    size_t n;
    const float *vecs;
    int dim;
    const char *model;
};

static int vec_batch_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct vec_batch *a = arg;
    sqlite3_stmt *stmt;
    int rc = mnemo_conn_prepare_cached(conn, vec_insert_by_uuid_sql, &stmt, err);
    int64_t now = mnemo_clock_wall_ms();
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        sqlite3_bind_text(stmt, 1, a->rows[i]->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, a->model, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 3, a->dim);
        sqlite3_bind_blob(stmt, 4, a->vecs + i * (size_t)a->dim, a->dim * (int)sizeof(float),
                          SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, now);
        int src = sqlite3_step(stmt);
        sqlite3_reset(stmt);
        if (src != SQLITE_DONE)
            rc = mnemo_conn_error(conn, src, "bench: insert vectors", err);
    }
    return rc;
}

int bench_fill(struct mnemo_store *st, struct mnemo_embedder *emb, int64_t n, int64_t base_ms,
               bench_gen_fn gen, void *ctx, const char *prog, struct bench_fill_stats *out)
{
    enum { B = BENCH_FILL_BATCH };
    int dim = mnemo_embed_dim(emb);
    struct mnemo_obs **ptrs = malloc(B * sizeof *ptrs);
    struct mnemo_obs *rows = malloc(B * sizeof *rows);
    struct mnemo_strbuf *texts = calloc(B, sizeof *texts);
    const char **tp = malloc(B * sizeof *tp);
    float *vecs = malloc((size_t)B * (size_t)dim * sizeof *vecs);
    struct mnemo_err e;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (!ptrs || !rows || !texts || !tp || !vecs) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto out;
    }
    for (size_t k = 0; k < B; k++)
        mnemo_strbuf_init(&texts[k], 0);
    for (int64_t i0 = 0; i0 < n; i0 += B) {
        size_t m = (size_t)(n - i0 < B ? n - i0 : B);
        for (size_t k = 0; k < m; k++) {
            int64_t i = i0 + (int64_t)k;
            ptrs[k] = gen(ctx, k, i, base_ms - (n - i) * 30000);
            int r1 = mnemo_obs_uuid4(ptrs[k]->uuid, &e);
            if (r1 != 0) {
                fprintf(stderr, "%s: uuid: %s\n", prog, mnemo_err_text(&e, r1));
                goto out;
            }
            rows[k] = *ptrs[k];
        }
        struct mnemo_obs_import_result res;
        int64_t t0 = mnemo_clock_mono_ns();
        int r1 = mnemo_obs_import(st, rows, m, &res, &e);
        int64_t t1 = mnemo_clock_mono_ns();
        out->import_ns += t1 - t0;
        if (r1 != 0) {
            fprintf(stderr, "%s: mnemo_obs_import: %s\n", prog, mnemo_err_text(&e, r1));
            goto out;
        }
        out->failed += res.failed;
        out->duplicates += res.skipped_hash + res.skipped_uuid;
        for (size_t k = 0; k < m; k++) {
            mnemo_strbuf_reset(&texts[k]);
            if (mnemo_search_obs_text(ptrs[k], &texts[k]) != 0) {
                fprintf(stderr, "%s: out of memory\n", prog);
                goto out;
            }
            tp[k] = mnemo_strbuf_str(&texts[k]);
        }
        r1 = mnemo_embed_texts(emb, tp, m, vecs, 0, &e);
        struct vec_batch vb = {ptrs, m, vecs, dim, mnemo_embed_model_id(emb)};
        if (r1 == 0)
            r1 = mnemo_store_write(st, "bench vectors", MNEMO_STORE_TIMEOUT_SLOW_MS, vec_batch_fn,
                                   &vb, &e);
        out->vec_ns += mnemo_clock_mono_ns() - t1;
        if (r1 != 0) {
            fprintf(stderr, "%s: bulk vectors: %s\n", prog, mnemo_err_text(&e, r1));
            goto out;
        }
    }
    rc = 0;
out:
    if (texts)
        for (size_t k = 0; k < B; k++)
            mnemo_strbuf_release(&texts[k]);
    free(texts);
    free(tp);
    free(vecs);
    free(rows);
    free(ptrs);
    return rc;
}

int bench_fill_path(const char *path, int64_t n, bench_gen_fn gen, void *ctx, const char *prog)
{
    struct mnemo_store *st = NULL;
    struct mnemo_embedder *emb = NULL;
    struct mnemo_embed_config ec;
    struct mnemo_err e;
    struct bench_fill_stats fs;
    int rc = -1;
    mnemo_embed_config_init(&ec);
    if (bench_store_open(path, prog, &st) != 0)
        return -1;
    int erc = mnemo_embed_open(&ec, &emb, &e);
    if (erc != 0)
        fprintf(stderr, "%s: embedder: %s\n", prog, mnemo_err_text(&e, erc));
    else
        rc = bench_fill(st, emb, n, mnemo_clock_wall_ms(), gen, ctx, prog, &fs);
    mnemo_embed_close(emb);
    bench_store_close(st, prog);
    return rc;
}
