/*
 * obs_query.c - reading observations (get, get_many, filtered list and count) and import.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/obs_int.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* ---- get ------------------------------------------------------------------------------------- */

struct get_arg {
    int64_t id;
    const char *uuid;
    struct mnemo_obs *out;
};

static int get_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct get_arg *a = arg;
    sqlite3_stmt *st = NULL;
    int rc = mnemo_conn_prepare_cached(
        conn,
        a->uuid ? "SELECT " MNEMO__OBS_COLS " FROM observations WHERE uuid = ?1"
                : "SELECT " MNEMO__OBS_COLS " FROM observations WHERE id = ?1",
        &st, err);
    mnemo_obs_release(a->out);
    if (rc != 0)
        return rc;
    if (a->uuid)
        sqlite3_bind_text(st, 1, a->uuid, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, a->id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = mnemo__obs_read_row(st, a->out, err);
    else if (src == SQLITE_DONE && a->uuid)
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "observation %.40s not found", a->uuid);
    else if (src == SQLITE_DONE)
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "observation %lld not found", (long long)a->id);
    else
        rc = mnemo_conn_error(conn, src, "get observation", err);
    sqlite3_reset(st);
    return rc;
}

int mnemo_obs_get(struct mnemo_store *st, int64_t id, struct mnemo_obs *out, struct mnemo_err *err)
{
    struct get_arg a = {id, NULL, out};
    mnemo_obs_init(out);
    return mnemo_store_read(st, "obs.get", MNEMO_OBS_TIMEOUT_MS, get_cb, &a, err);
}

int mnemo_obs_get_by_uuid(struct mnemo_store *st, const char *uuid, struct mnemo_obs *out,
                          struct mnemo_err *err)
{
    mnemo_obs_init(out);
    if (!uuid)
        return mnemo_err_set(err, MNEMO_EINVAL, "no uuid given");
    struct get_arg a = {0, uuid, out};
    return mnemo_store_read(st, "obs.get", MNEMO_OBS_TIMEOUT_MS, get_cb, &a, err);
}

/* ---- get_many -------------------------------------------------------------------------------- */

int mnemo_obs_get_many_conn(struct mnemo_conn *conn, const int64_t *ids, size_t n,
                            int include_hidden, struct mnemo_obs_list *out, struct mnemo_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    out->items = NULL;
    out->n = 0;
    if (n == 0)
        return 0;
    if (!ids || n > MNEMO_OBS_LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "get of %zu observations (at most %d)", n,
                             MNEMO_OBS_LIST_MAX);
    out->items = calloc(n, sizeof *out->items);
    if (!out->items)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory loading %zu observations", n);
    /* One cached point lookup per id keeps the caller's order (search ranks) for free. */
    rc = mnemo_conn_prepare_cached(
        conn,
        include_hidden
            ? "SELECT " MNEMO__OBS_COLS " FROM observations WHERE id = ?1"
            : "SELECT " MNEMO__OBS_COLS
              " FROM observations WHERE id = ?1 AND archived = 0 AND superseded_by IS NULL",
        &st, err);
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, ids[i]);
        int src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            rc = mnemo__obs_read_row(st, &out->items[out->n], err);
            if (rc == 0)
                out->n++;
        } else if (src != SQLITE_DONE) {
            rc = mnemo_conn_error(conn, src, "load observations", err);
        }
        sqlite3_reset(st);
        if (rc != 0)
            goto fail;
    }
    return 0;
fail:
    mnemo_obs_list_release(out);
    return rc;
}

struct many_arg {
    const int64_t *ids;
    size_t n;
    int include_hidden;
    struct mnemo_obs_list *out;
};

static int many_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct many_arg *a = arg;
    mnemo_obs_list_release(a->out);
    return mnemo_obs_get_many_conn(conn, a->ids, a->n, a->include_hidden, a->out, err);
}

int mnemo_obs_get_many(struct mnemo_store *st, const int64_t *ids, size_t n, int include_hidden,
                       struct mnemo_obs_list *out, struct mnemo_err *err)
{
    struct many_arg a = {ids, n, include_hidden, out};
    out->items = NULL;
    out->n = 0;
    if (n == 0)
        return 0;
    return mnemo_store_read(st, "obs.get_many", MNEMO_OBS_TIMEOUT_MS, many_cb, &a, err);
}

/* ---- list and count -------------------------------------------------------------------------- */

void mnemo_obs_filter_init(struct mnemo_obs_filter *f)
{
    memset(f, 0, sizeof *f);
}

static int filter_check(const struct mnemo_obs_filter *f, int64_t *limit, struct mnemo_err *err)
{
    if (!f)
        return mnemo_err_set(err, MNEMO_EINVAL, "no filter given");
    if (f->project && strnlen(f->project, MNEMO_OBS_MAX_PROJECT + 1) > MNEMO_OBS_MAX_PROJECT)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "project filter is longer than %d bytes",
                             MNEMO_OBS_MAX_PROJECT);
    if (f->type && !mnemo_obs_type_valid(f->type))
        return mnemo_err_set(err, MNEMO_EINVAL, "type filter '%.32s' is not a type", f->type);
    if (f->scope && !mnemo_obs_scope_valid(f->scope))
        return mnemo_err_set(err, MNEMO_EINVAL, "scope filter '%.32s' is not a scope", f->scope);
    if (f->order != MNEMO_OBS_ORDER_CREATED_DESC && f->order != MNEMO_OBS_ORDER_IMPORTANCE_DESC &&
        f->order != MNEMO_OBS_ORDER_ID_ASC)
        return mnemo_err_set(err, MNEMO_EINVAL, "unknown list order %d", (int)f->order);
    if (f->limit < 0 || f->limit > MNEMO_OBS_LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "list limit %lld is not in 1..%d",
                             (long long)f->limit, MNEMO_OBS_LIST_MAX);
    if (f->offset < 0 || f->after_id < 0 || f->since_ms < 0 || f->until_ms < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "list offset, cursor and times must be >= 0");
    *limit = f->limit ? f->limit : 100;
    return 0;
}

/* Builds the WHERE clause (and for lists ORDER/LIMIT) with named parameters. */
static int build_sql(struct mnemo_strbuf *sb, const struct mnemo_obs_filter *f, int count)
{
    int rc = mnemo_strbuf_puts(sb, count ? "SELECT count(*) FROM observations WHERE 1"
                                         : "SELECT " MNEMO__OBS_COLS " FROM observations WHERE 1");
    if (rc == 0 && f->project)
        rc = mnemo_strbuf_puts(sb, f->include_global
                                       ? " AND (project = :project OR scope = 'global')"
                                       : " AND project = :project");
    if (rc == 0 && f->scope)
        rc = mnemo_strbuf_puts(sb, " AND scope = :scope");
    if (rc == 0 && f->type)
        rc = mnemo_strbuf_puts(sb, " AND type = :type");
    if (rc == 0 && f->since_ms > 0)
        rc = mnemo_strbuf_puts(sb, " AND created_at >= :since");
    if (rc == 0 && f->until_ms > 0)
        rc = mnemo_strbuf_puts(sb, " AND created_at < :until");
    if (rc == 0 && !f->include_archived)
        rc = mnemo_strbuf_puts(sb, " AND archived = 0");
    if (rc == 0 && !f->include_superseded)
        rc = mnemo_strbuf_puts(sb, " AND superseded_by IS NULL");
    if (count || rc != 0)
        return rc;
    if (f->order == MNEMO_OBS_ORDER_ID_ASC) {
        if (f->after_id > 0)
            rc = mnemo_strbuf_puts(sb, " AND id > :after");
        if (rc == 0)
            rc = mnemo_strbuf_puts(sb, " ORDER BY id ASC");
    } else if (f->order == MNEMO_OBS_ORDER_IMPORTANCE_DESC) {
        rc = mnemo_strbuf_puts(sb, " ORDER BY importance DESC, created_at DESC, id DESC");
    } else {
        rc = mnemo_strbuf_puts(sb, " ORDER BY created_at DESC, id DESC");
    }
    if (rc == 0)
        rc = mnemo_strbuf_puts(sb, " LIMIT :limit OFFSET :offset");
    return rc;
}

static void bind_named_text(sqlite3_stmt *st, const char *name, const char *v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_named_int(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_int64(st, i, v);
}

struct list_arg {
    const struct mnemo_obs_filter *f;
    int64_t limit;
    int count;
    struct mnemo_obs_list *out;
    int64_t n;
};

static int list_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct list_arg *a = arg;
    const struct mnemo_obs_filter *f = a->f;
    struct mnemo_strbuf sb;
    sqlite3_stmt *st = NULL;
    int rc, src;
    if (a->out)
        mnemo_obs_list_release(a->out);
    a->n = 0;
    mnemo_strbuf_init(&sb, 4096);
    if ((rc = build_sql(&sb, f, a->count)) != 0) {
        rc = mnemo_err_set(err, rc, "cannot build the list query");
        goto out;
    }
    if ((rc = mnemo_conn_prepare_cached(conn, mnemo_strbuf_str(&sb), &st, err)) != 0)
        goto out;
    if (f->project)
        bind_named_text(st, ":project", f->project);
    if (f->scope)
        bind_named_text(st, ":scope", f->scope);
    if (f->type)
        bind_named_text(st, ":type", f->type);
    bind_named_int(st, ":since", f->since_ms);
    bind_named_int(st, ":until", f->until_ms);
    bind_named_int(st, ":after", f->after_id);
    bind_named_int(st, ":limit", a->limit);
    bind_named_int(st, ":offset", f->offset);
    if (a->count) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW)
            a->n = sqlite3_column_int64(st, 0);
    } else {
        a->out->items = calloc((size_t)a->limit, sizeof *a->out->items);
        if (!a->out->items) {
            sqlite3_reset(st);
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory listing observations");
            goto out;
        }
        while ((src = sqlite3_step(st)) == SQLITE_ROW && a->out->n < (size_t)a->limit) {
            if ((rc = mnemo__obs_read_row(st, &a->out->items[a->out->n], err)) != 0)
                break;
            a->out->n++;
        }
    }
    sqlite3_reset(st);
    if (rc == 0 && src != SQLITE_ROW && src != SQLITE_DONE)
        rc =
            mnemo_conn_error(conn, src, a->count ? "count observations" : "list observations", err);
out:
    mnemo_strbuf_release(&sb);
    if (rc != 0 && a->out)
        mnemo_obs_list_release(a->out);
    return rc;
}

int mnemo_obs_list(struct mnemo_store *st, const struct mnemo_obs_filter *f,
                   struct mnemo_obs_list *out, struct mnemo_err *err)
{
    struct list_arg a = {.f = f, .out = out};
    out->items = NULL;
    out->n = 0;
    int rc = filter_check(f, &a.limit, err);
    if (rc != 0)
        return rc;
    return mnemo_store_read(st, "obs.list", MNEMO_OBS_TIMEOUT_MS, list_cb, &a, err);
}

int mnemo_obs_count(struct mnemo_store *st, const struct mnemo_obs_filter *f, int64_t *out,
                    struct mnemo_err *err)
{
    struct list_arg a = {.f = f, .count = 1};
    *out = 0;
    int rc = filter_check(f, &a.limit, err);
    if (rc == 0)
        rc = mnemo_store_read(st, "obs.count", MNEMO_OBS_TIMEOUT_MS, list_cb, &a, err);
    if (rc == 0)
        *out = a.n;
    return rc;
}

/* ---- import ---------------------------------------------------------------------------------- */

struct import_arg {
    const struct mnemo_obs *rows;
    size_t n;
    struct mnemo_obs_import_result res;
    struct mnemo_err first_err;
};

static int import_one(struct mnemo_conn *conn, const struct mnemo_obs *in,
                      const struct mnemo_scoring_weights *w, int64_t now, struct import_arg *a,
                      struct mnemo_err *err)
{
    struct mnemo__obs_derived d = {0};
    char uuid[MNEMO_OBS_UUID_LEN + 1], hash[MNEMO_OBS_HASH_LEN + 1];
    int64_t id = 0;
    int exists = 0, rc;
    if ((rc = mnemo__obs_validate(in, 1, &a->first_err)) != 0) {
        if (a->res.failed == 0)
            mnemo_err_set(err, rc, "%s", a->first_err.msg);
        a->res.failed++;
        return 0;
    }
    if (in->uuid[0]) {
        snprintf(uuid, sizeof uuid, "%s", in->uuid);
        if ((rc = mnemo__obs_uuid_exists(conn, uuid, &exists, err)) != 0)
            return rc;
        if (exists) {
            a->res.skipped_uuid++;
            return 0;
        }
    } else if ((rc = mnemo_obs_uuid4(uuid, err)) != 0) {
        return rc;
    }
    mnemo_obs_content_hash(in->title, in->narrative, (const char *const *)in->facts, in->n_facts,
                           hash);
    if ((rc = mnemo__obs_find_hash(conn, in->project, hash, &id, NULL, err)) != 0)
        return rc;
    if (id > 0) {
        a->res.skipped_hash++;
        return 0;
    }
    d.uuid = uuid;
    d.hash = hash;
    d.scope = mnemo__obs_effective_scope(in);
    d.provenance = in->provenance[0] ? in->provenance : "import";
    d.created_at = in->created_at > 0 ? in->created_at : now;
    d.updated_at = in->updated_at > 0 ? in->updated_at : d.created_at;
    d.keep_archive = 1;
    double csum = mnemo_scoring_concept_sum(w, (const char *const *)in->concepts, in->n_concepts);
    d.importance = mnemo_scoring_importance(in->type, d.created_at, now, in->feedback, csum,
                                            in->retrieval_count);
    if ((rc = mnemo__obs_insert(conn, in, &d, &id, err)) != 0)
        return rc;
    a->res.imported++;
    return 0;
}

/*
 * Batches of at least this many rows index FTS in one statement instead of through the insert
 * trigger. The trigger runs each INSERT inside a statement savepoint, and FTS5 writes its
 * pending terms out as a new segment at every savepoint: a batch of 1,000 rows wrote 1,000
 * tiny segments and merged them (measured 5.4x slower than one bulk insert). Dropping the
 * trigger is DDL, which makes every connection re-read the schema, so small batches keep it.
 */
#define IMPORT_BULK_FTS_MIN 64

/* Runs the batch with the FTS insert trigger dropped, then indexes every row inserted by the
 * batch in one INSERT ... SELECT and recreates the trigger from its stored SQL, all inside the
 * caller's transaction: a failure anywhere rolls the whole thing back, trigger included.
 * Ids are assigned in increasing order by the only writer, so the batch's rows are exactly
 * those with id > the largest id before it. */
static int import_bulk(struct mnemo_conn *conn, const struct mnemo_scoring_weights *w, int64_t now,
                       struct import_arg *a, struct mnemo_err *err)
{
    sqlite3_stmt *q = NULL;
    char *trigger_sql = NULL;
    int64_t max_before = 0;
    int rc = mnemo_conn_query_int(conn, "SELECT coalesce(max(id), 0) FROM observations",
                                  &max_before, err);
    if (rc != 0)
        return rc;
    rc = sqlite3_prepare_v2(mnemo_conn_db(conn),
                            "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = "
                            "'observations_ai'",
                            -1, &q, NULL);
    if (rc != SQLITE_OK)
        return mnemo_conn_error(conn, rc, "obs.import: read trigger", err);
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL)
        trigger_sql = strdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    if (trigger_sql == NULL)
        return mnemo_err_set(err, MNEMO_ESCHEMA, "obs.import: the FTS insert trigger is missing");

    rc = mnemo_conn_exec(conn, "DROP TRIGGER observations_ai", err);
    for (size_t i = 0; i < a->n && rc == 0; i++)
        rc = import_one(conn, &a->rows[i], w, now, a, err);
    if (rc == 0 && a->res.imported > 0) {
        sqlite3_stmt *ins = NULL;
        int src = sqlite3_prepare_v2(mnemo_conn_db(conn),
                                     "INSERT INTO observations_fts(rowid, title, subtitle, "
                                     "narrative, facts, concepts) SELECT id, title, subtitle, "
                                     "narrative, facts, concepts FROM observations WHERE id > ?1",
                                     -1, &ins, NULL);
        if (src == SQLITE_OK) {
            sqlite3_bind_int64(ins, 1, max_before);
            src = sqlite3_step(ins);
        }
        if (src != SQLITE_DONE)
            rc = mnemo_conn_error(conn, src, "obs.import: index", err);
        sqlite3_finalize(ins);
    }
    if (rc == 0)
        rc = mnemo_conn_exec(conn, trigger_sql, err);
    free(trigger_sql);
    return rc;
}

static int import_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct import_arg *a = arg;
    struct mnemo_scoring_weights w = {0};
    memset(&a->res, 0, sizeof a->res);
    int rc = mnemo_scoring_weights_load_conn(conn, &w, err);
    if (rc != 0)
        return rc;
    int64_t now = mnemo_clock_wall_ms();
    if (a->n >= IMPORT_BULK_FTS_MIN) {
        rc = import_bulk(conn, &w, now, a, err);
    } else {
        for (size_t i = 0; i < a->n && rc == 0; i++)
            rc = import_one(conn, &a->rows[i], &w, now, a, err);
    }
    mnemo_scoring_weights_release(&w);
    return rc;
}

int mnemo_obs_import(struct mnemo_store *st, const struct mnemo_obs *rows, size_t n,
                     struct mnemo_obs_import_result *res, struct mnemo_err *err)
{
    struct import_arg a = {.rows = rows, .n = n};
    memset(res, 0, sizeof *res);
    if (n == 0)
        return 0;
    if (!rows || n > MNEMO_OBS_LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "import of %zu rows in one call (1..%d)", n,
                             MNEMO_OBS_LIST_MAX);
    int rc = mnemo_store_write(st, "obs.import", MNEMO_STORE_TIMEOUT_SLOW_MS, import_cb, &a, err);
    if (rc == 0)
        *res = a.res;
    return rc;
}
