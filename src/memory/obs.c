/*
 * obs.c - writing observations: create with dedup, partial update, archive, supersede, delete,
 * feedback and retrieval bumps. Reads and import live in obs_query.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/obs_int.h"
#include "util/clock.h"

/* ---- shared helpers -------------------------------------------------------------------------- */

/* Steps a statement expected to return no row, then resets it. */
static int step_done(struct mnemo_conn *conn, sqlite3_stmt *st, const char *what,
                     struct mnemo_err *err)
{
    int src = sqlite3_step(st);
    sqlite3_reset(st);
    if (src != SQLITE_DONE)
        return mnemo_conn_error(conn, src, what, err);
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

int mnemo__obs_insert(struct mnemo_conn *conn, const struct mnemo_obs *in,
                      const struct mnemo__obs_derived *d, int64_t *id, struct mnemo_err *err)
{
    char *lists[4] = {NULL, NULL, NULL, NULL};
    sqlite3_stmt *st = NULL;
    int rc;
    *id = 0;
    if ((rc = mnemo__obs_json_array(in->facts, in->n_facts, &lists[0], err)) != 0 ||
        (rc = mnemo__obs_json_array(in->concepts, in->n_concepts, &lists[1], err)) != 0 ||
        (rc = mnemo__obs_json_array(in->files_read, in->n_files_read, &lists[2], err)) != 0 ||
        (rc = mnemo__obs_json_array(in->files_modified, in->n_files_modified, &lists[3], err)) != 0)
        goto out;
    rc = mnemo_conn_prepare_cached(
        conn,
        "INSERT INTO observations(uuid, session_id, project, scope, type, title, subtitle,"
        " narrative, facts, concepts, files_read, files_modified, file_mtimes, provenance,"
        " content_hash, importance, feedback, retrieval_count, last_retrieved_at, archived,"
        " archived_at, archived_reason, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
        " ?19, ?20, ?21, ?22, ?23, ?24)",
        &st, err);
    if (rc != 0)
        goto out;
    int archived = d->keep_archive && in->archived;
    bind_text(st, 1, d->uuid);
    if (in->session_id > 0)
        sqlite3_bind_int64(st, 2, in->session_id);
    bind_text(st, 3, in->project);
    bind_text(st, 4, d->scope);
    bind_text(st, 5, in->type);
    bind_text(st, 6, in->title);
    bind_text(st, 7, in->subtitle);
    bind_text(st, 8, in->narrative);
    for (int i = 0; i < 4; i++)
        bind_text(st, 9 + i, lists[i]);
    bind_text(st, 13, in->file_mtimes && in->file_mtimes[0] ? in->file_mtimes : "{}");
    bind_text(st, 14, d->provenance);
    bind_text(st, 15, d->hash);
    sqlite3_bind_double(st, 16, d->importance);
    sqlite3_bind_int(st, 17, in->feedback);
    sqlite3_bind_int64(st, 18, in->retrieval_count);
    if (in->last_retrieved_at > 0)
        sqlite3_bind_int64(st, 19, in->last_retrieved_at);
    sqlite3_bind_int(st, 20, archived);
    if (archived) {
        sqlite3_bind_int64(st, 21, in->archived_at > 0 ? in->archived_at : d->updated_at);
        if (in->archived_reason)
            bind_text(st, 22, in->archived_reason);
    }
    sqlite3_bind_int64(st, 23, d->created_at);
    sqlite3_bind_int64(st, 24, d->updated_at);
    if ((rc = step_done(conn, st, "insert observation", err)) != 0)
        goto out;
    *id = sqlite3_last_insert_rowid(mnemo_conn_db(conn));
out:
    for (int i = 0; i < 4; i++)
        free(lists[i]);
    return rc;
}

int mnemo__obs_find_hash(struct mnemo_conn *conn, const char *project, const char *hash,
                         int64_t *id, struct mnemo_obs_created *info, struct mnemo_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "SELECT id, uuid, scope, importance FROM observations"
                                       " WHERE content_hash = ?1 AND project = ?2"
                                       " ORDER BY id LIMIT 1",
                                       &st, err);
    *id = 0;
    if (rc != 0)
        return rc;
    bind_text(st, 1, hash);
    bind_text(st, 2, project);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        if (info) {
            memset(info, 0, sizeof *info);
            info->id = *id;
            snprintf(info->uuid, sizeof info->uuid, "%s", (const char *)sqlite3_column_text(st, 1));
            snprintf(info->scope, sizeof info->scope, "%s",
                     (const char *)sqlite3_column_text(st, 2));
            info->importance = sqlite3_column_double(st, 3);
            info->duplicate = 1;
        }
    }
    sqlite3_reset(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return mnemo_conn_error(conn, src, "look up content hash", err);
    return 0;
}

int mnemo__obs_uuid_exists(struct mnemo_conn *conn, const char *uuid, int *exists,
                           struct mnemo_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc =
        mnemo_conn_prepare_cached(conn, "SELECT 1 FROM observations WHERE uuid = ?1", &st, err);
    *exists = 0;
    if (rc != 0)
        return rc;
    bind_text(st, 1, uuid);
    int src = sqlite3_step(st);
    *exists = src == SQLITE_ROW;
    sqlite3_reset(st);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return mnemo_conn_error(conn, src, "look up uuid", err);
    return 0;
}

/* Loads row id into *o; MNEMO_ENOTFOUND when absent. */
static int load_row(struct mnemo_conn *conn, int64_t id, struct mnemo_obs *o, struct mnemo_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = mnemo_conn_prepare_cached(
        conn, "SELECT " MNEMO__OBS_COLS " FROM observations WHERE id = ?1", &st, err);
    mnemo_obs_init(o);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = mnemo__obs_read_row(st, o, err);
    else if (src == SQLITE_DONE)
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "observation %lld not found", (long long)id);
    else
        rc = mnemo_conn_error(conn, src, "load observation", err);
    sqlite3_reset(st);
    return rc;
}

/* ---- create ---------------------------------------------------------------------------------- */

int mnemo_obs_create_conn(struct mnemo_conn *conn, const struct mnemo_obs *in,
                          struct mnemo_obs_created *out, struct mnemo_err *err)
{
    struct mnemo_scoring_weights w = {0};
    struct mnemo__obs_derived d = {0};
    char uuid[MNEMO_OBS_UUID_LEN + 1], hash[MNEMO_OBS_HASH_LEN + 1];
    int64_t id = 0;
    int exists = 0, rc;
    if (out)
        memset(out, 0, sizeof *out);
    if ((rc = mnemo__obs_validate(in, 0, err)) != 0)
        return rc;
    mnemo_obs_content_hash(in->title, in->narrative, (const char *const *)in->facts, in->n_facts,
                           hash);
    struct mnemo_obs_created dup;
    if ((rc = mnemo__obs_find_hash(conn, in->project, hash, &id, &dup, err)) != 0)
        return rc;
    if (id > 0) {
        if (out)
            *out = dup;
        return 0;
    }
    if (in->uuid[0]) {
        snprintf(uuid, sizeof uuid, "%s", in->uuid);
        if ((rc = mnemo__obs_uuid_exists(conn, uuid, &exists, err)) != 0)
            return rc;
        if (exists)
            return mnemo_err_set(err, MNEMO_EEXIST, "an observation with uuid %s exists", uuid);
    } else if ((rc = mnemo_obs_uuid4(uuid, err)) != 0) {
        return rc;
    }
    if ((rc = mnemo_scoring_weights_load_conn(conn, &w, err)) != 0)
        return rc;
    int64_t now = mnemo_clock_wall_ms();
    d.uuid = uuid;
    d.hash = hash;
    d.scope = mnemo__obs_effective_scope(in);
    d.provenance = in->provenance[0] ? in->provenance : "agent";
    d.created_at = in->created_at > 0 ? in->created_at : now;
    d.updated_at = in->updated_at > 0 ? in->updated_at : d.created_at;
    double csum = mnemo_scoring_concept_sum(&w, (const char *const *)in->concepts, in->n_concepts);
    d.importance = mnemo_scoring_importance(in->type, d.created_at, now, in->feedback, csum,
                                            in->retrieval_count);
    mnemo_scoring_weights_release(&w);
    if ((rc = mnemo__obs_insert(conn, in, &d, &id, err)) != 0)
        return rc;
    if (out) {
        out->id = id;
        snprintf(out->uuid, sizeof out->uuid, "%s", uuid);
        snprintf(out->scope, sizeof out->scope, "%s", d.scope);
        out->importance = d.importance;
        out->duplicate = 0;
    }
    return 0;
}

struct create_arg {
    const struct mnemo_obs *in;
    struct mnemo_obs_created *out;
};

static int create_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct create_arg *a = arg;
    return mnemo_obs_create_conn(conn, a->in, a->out, err);
}

int mnemo_obs_create(struct mnemo_store *st, const struct mnemo_obs *in,
                     struct mnemo_obs_created *out, struct mnemo_err *err)
{
    struct mnemo_obs_created local;
    struct create_arg a = {in, out ? out : &local};
    if (out)
        memset(out, 0, sizeof *out);
    /* Validate before taking the writer lock: bad input must cost nobody else anything. */
    int rc = mnemo__obs_validate(in, 0, err);
    if (rc != 0)
        return rc;
    return mnemo_store_write(st, "obs.create", MNEMO_OBS_TIMEOUT_MS, create_cb, &a, err);
}

/* ---- update ---------------------------------------------------------------------------------- */

struct update_arg {
    int64_t id;
    unsigned mask;
    const struct mnemo_obs *values;
    struct mnemo_obs *out;
};

/* The row after applying the mask: cur's pointers, with the masked ones borrowed from v. */
static void merge(struct mnemo_obs *m, const struct mnemo_obs *cur, const struct mnemo_obs *v,
                  unsigned mask)
{
    *m = *cur;
    if (mask & MNEMO_OBS_F_TYPE)
        memcpy(m->type, v->type, sizeof m->type);
    if (mask & MNEMO_OBS_F_SCOPE)
        memcpy(m->scope, v->scope, sizeof m->scope);
    if (mask & MNEMO_OBS_F_TITLE)
        m->title = v->title;
    if (mask & MNEMO_OBS_F_SUBTITLE)
        m->subtitle = v->subtitle;
    if (mask & MNEMO_OBS_F_NARRATIVE)
        m->narrative = v->narrative;
    if (mask & MNEMO_OBS_F_FACTS)
        m->facts = v->facts, m->n_facts = v->n_facts;
    if (mask & MNEMO_OBS_F_CONCEPTS)
        m->concepts = v->concepts, m->n_concepts = v->n_concepts;
    if (mask & MNEMO_OBS_F_FILES_READ)
        m->files_read = v->files_read, m->n_files_read = v->n_files_read;
    if (mask & MNEMO_OBS_F_FILES_MODIFIED)
        m->files_modified = v->files_modified, m->n_files_modified = v->n_files_modified;
    if (mask & MNEMO_OBS_F_FILE_MTIMES)
        m->file_mtimes = v->file_mtimes;
    if (mask & MNEMO_OBS_F_PROVENANCE)
        memcpy(m->provenance, v->provenance, sizeof m->provenance);
    if (mask & MNEMO_OBS_F_SESSION)
        m->session_id = v->session_id;
    if (mask & MNEMO_OBS_F_PROJECT)
        m->project = v->project;
}

static int update_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct update_arg *a = arg;
    struct mnemo_obs cur, m;
    struct mnemo_scoring_weights w = {0};
    char *lists[4] = {NULL, NULL, NULL, NULL};
    char hash[MNEMO_OBS_HASH_LEN + 1];
    sqlite3_stmt *st = NULL;
    int rc;
    if (a->out)
        mnemo_obs_release(a->out); /* a retried callback starts over */
    if ((rc = load_row(conn, a->id, &cur, err)) != 0)
        return rc;
    if (a->mask == 0) {
        if (a->out)
            *a->out = cur;
        else
            mnemo_obs_release(&cur);
        return 0;
    }
    merge(&m, &cur, a->values, a->mask);
    /* A stored row may carry an archived state that validate would reject only on import. */
    if ((rc = mnemo__obs_validate(&m, 1, err)) != 0)
        goto out;
    if ((a->mask & MNEMO_OBS_F_PROVENANCE) && !m.provenance[0]) {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "observation provenance is required in an update");
        goto out;
    }
    const char *scope = mnemo__obs_effective_scope(&m);
    mnemo_obs_content_hash(m.title, m.narrative, (const char *const *)m.facts, m.n_facts, hash);
    if ((rc = mnemo_scoring_weights_load_conn(conn, &w, err)) != 0)
        goto out;
    int64_t now = mnemo_clock_wall_ms();
    double importance = mnemo__obs_importance(&m, &w, now);
    if ((rc = mnemo__obs_json_array(m.facts, m.n_facts, &lists[0], err)) != 0 ||
        (rc = mnemo__obs_json_array(m.concepts, m.n_concepts, &lists[1], err)) != 0 ||
        (rc = mnemo__obs_json_array(m.files_read, m.n_files_read, &lists[2], err)) != 0 ||
        (rc = mnemo__obs_json_array(m.files_modified, m.n_files_modified, &lists[3], err)) != 0)
        goto out;
    rc = mnemo_conn_prepare_cached(
        conn,
        "UPDATE observations SET session_id = ?2, project = ?3, scope = ?4, type = ?5,"
        " title = ?6, subtitle = ?7, narrative = ?8, facts = ?9, concepts = ?10,"
        " files_read = ?11, files_modified = ?12, file_mtimes = ?13, provenance = ?14,"
        " content_hash = ?15, importance = ?16, updated_at = ?17 WHERE id = ?1",
        &st, err);
    if (rc != 0)
        goto out;
    sqlite3_bind_int64(st, 1, a->id);
    if (m.session_id > 0)
        sqlite3_bind_int64(st, 2, m.session_id);
    bind_text(st, 3, m.project);
    bind_text(st, 4, scope);
    bind_text(st, 5, m.type);
    bind_text(st, 6, m.title);
    bind_text(st, 7, m.subtitle);
    bind_text(st, 8, m.narrative);
    for (int i = 0; i < 4; i++)
        bind_text(st, 9 + i, lists[i]);
    bind_text(st, 13, m.file_mtimes && m.file_mtimes[0] ? m.file_mtimes : "{}");
    bind_text(st, 14, m.provenance);
    bind_text(st, 15, hash);
    sqlite3_bind_double(st, 16, importance);
    sqlite3_bind_int64(st, 17, now > cur.updated_at ? now : cur.updated_at);
    if ((rc = step_done(conn, st, "update observation", err)) != 0)
        goto out;
    if (a->out)
        rc = load_row(conn, a->id, a->out, err);
out:
    for (int i = 0; i < 4; i++)
        free(lists[i]);
    mnemo_scoring_weights_release(&w);
    mnemo_obs_release(&cur);
    return rc;
}

int mnemo_obs_update(struct mnemo_store *st, int64_t id, unsigned mask,
                     const struct mnemo_obs *values, struct mnemo_obs *out, struct mnemo_err *err)
{
    if (out)
        mnemo_obs_init(out);
    if (mask & ~MNEMO_OBS_F_ALL)
        return mnemo_err_set(err, MNEMO_EINVAL, "unknown update fields 0x%x", mask);
    if (mask && !values)
        return mnemo_err_set(err, MNEMO_EINVAL, "update of observation %lld without values",
                             (long long)id);
    if (id <= 0)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "observation %lld not found", (long long)id);
    struct update_arg a = {id, mask, values, out};
    int rc = mask ? mnemo_store_write(st, "obs.update", MNEMO_OBS_TIMEOUT_MS, update_cb, &a, err)
                  : mnemo_store_read(st, "obs.get", MNEMO_OBS_TIMEOUT_MS, update_cb, &a, err);
    if (rc != 0 && out)
        mnemo_obs_release(out);
    return rc;
}

/* ---- archive, supersede, delete, feedback, retrieval ----------------------------------------- */

struct simple_arg {
    int64_t id, other, now;
    const char *text;
    int vote;
    double importance;
    const int64_t *ids;
    size_t n;
};

/* Runs sql (binding ?1 = a->id, ?2 = a->now, ?3 = a->text) and fails with ENOTFOUND when no row
 * changed. */
static int exec_on_row(struct mnemo_conn *conn, const char *sql, struct simple_arg *a,
                       const char *what, struct mnemo_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = mnemo_conn_prepare_cached(conn, sql, &st, err);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(st, 1, a->id);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, a->now);
    if (sqlite3_bind_parameter_count(st) >= 3 && a->text)
        bind_text(st, 3, a->text);
    if ((rc = step_done(conn, st, what, err)) != 0)
        return rc;
    if (sqlite3_changes(mnemo_conn_db(conn)) == 0)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "observation %lld not found", (long long)a->id);
    return 0;
}

static int archive_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    return exec_on_row(conn,
                       "UPDATE observations SET archived = 1, archived_at = ?2,"
                       " archived_reason = ?3, updated_at = max(updated_at, ?2) WHERE id = ?1",
                       arg, "archive observation", err);
}

int mnemo_obs_archive(struct mnemo_store *st, int64_t id, const char *reason, struct mnemo_err *err)
{
    if (reason && strnlen(reason, MNEMO_OBS_MAX_REASON + 1) > MNEMO_OBS_MAX_REASON)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "archive reason is longer than %d bytes",
                             MNEMO_OBS_MAX_REASON);
    struct simple_arg a = {.id = id, .now = mnemo_clock_wall_ms(), .text = reason};
    return mnemo_store_write(st, "obs.archive", MNEMO_OBS_TIMEOUT_MS, archive_cb, &a, err);
}

static int unarchive_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    return exec_on_row(conn,
                       "UPDATE observations SET archived = 0, archived_at = NULL,"
                       " archived_reason = NULL, updated_at = max(updated_at, ?2) WHERE id = ?1",
                       arg, "unarchive observation", err);
}

int mnemo_obs_unarchive(struct mnemo_store *st, int64_t id, struct mnemo_err *err)
{
    struct simple_arg a = {.id = id, .now = mnemo_clock_wall_ms()};
    return mnemo_store_write(st, "obs.unarchive", MNEMO_OBS_TIMEOUT_MS, unarchive_cb, &a, err);
}

static int supersede_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct simple_arg *a = arg;
    sqlite3_stmt *st = NULL;
    int64_t newer_exists = 0;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE id = %lld",
             (long long)a->other);
    int rc = mnemo_conn_query_int(conn, sql, &newer_exists, err);
    if (rc != 0)
        return rc;
    if (!newer_exists)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "observation %lld not found",
                             (long long)a->other);
    struct simple_arg upd = {.id = a->id, .now = a->other};
    /* ?2 carries the newer id here. */
    if ((rc = exec_on_row(conn, "UPDATE observations SET superseded_by = ?2 WHERE id = ?1", &upd,
                          "supersede observation", err)) != 0)
        return rc;
    if ((rc = mnemo_conn_prepare_cached(conn,
                                        "INSERT OR IGNORE INTO relations(source_id, target_id,"
                                        " type, confidence, created_at)"
                                        " VALUES (?1, ?2, 'supersedes', 1.0, ?3)",
                                        &st, err)) != 0)
        return rc;
    sqlite3_bind_int64(st, 1, a->other);
    sqlite3_bind_int64(st, 2, a->id);
    sqlite3_bind_int64(st, 3, a->now);
    return step_done(conn, st, "record supersedes relation", err);
}

int mnemo_obs_supersede(struct mnemo_store *st, int64_t older_id, int64_t newer_id,
                        struct mnemo_err *err)
{
    if (older_id == newer_id)
        return mnemo_err_set(err, MNEMO_EINVAL, "observation %lld cannot supersede itself",
                             (long long)older_id);
    struct simple_arg a = {.id = older_id, .other = newer_id, .now = mnemo_clock_wall_ms()};
    return mnemo_store_write(st, "obs.supersede", MNEMO_OBS_TIMEOUT_MS, supersede_cb, &a, err);
}

static int delete_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    return exec_on_row(conn, "DELETE FROM observations WHERE id = ?1", arg, "delete observation",
                       err);
}

int mnemo_obs_delete(struct mnemo_store *st, int64_t id, struct mnemo_err *err)
{
    struct simple_arg a = {.id = id};
    return mnemo_store_write(st, "obs.delete", MNEMO_OBS_TIMEOUT_MS, delete_cb, &a, err);
}

static int feedback_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct simple_arg *a = arg;
    struct mnemo_obs o;
    struct mnemo_scoring_weights w = {0};
    sqlite3_stmt *st = NULL;
    int rc = load_row(conn, a->id, &o, err);
    if (rc != 0)
        return rc;
    if ((rc = mnemo_scoring_weights_load_conn(conn, &w, err)) != 0)
        goto out;
    o.feedback = a->vote;
    a->importance = mnemo__obs_importance(&o, &w, a->now);
    if ((rc = mnemo_conn_prepare_cached(
             conn, "UPDATE observations SET feedback = ?2, importance = ?3 WHERE id = ?1", &st,
             err)) != 0)
        goto out;
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_int(st, 2, a->vote);
    sqlite3_bind_double(st, 3, a->importance);
    rc = step_done(conn, st, "record feedback", err);
out:
    mnemo_scoring_weights_release(&w);
    mnemo_obs_release(&o);
    return rc;
}

int mnemo_obs_feedback(struct mnemo_store *st, int64_t id, int vote, double *importance,
                       struct mnemo_err *err)
{
    if (vote < -1 || vote > 1)
        return mnemo_err_set(err, MNEMO_EINVAL, "feedback %d is not -1, 0 or 1", vote);
    struct simple_arg a = {.id = id, .vote = vote, .now = mnemo_clock_wall_ms()};
    int rc = mnemo_store_write(st, "obs.feedback", MNEMO_OBS_TIMEOUT_MS, feedback_cb, &a, err);
    if (rc == 0 && importance)
        *importance = a.importance;
    return rc;
}

static int touch_cb(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct simple_arg *a = arg;
    sqlite3_stmt *st = NULL;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "UPDATE observations SET retrieval_count ="
                                       " retrieval_count + 1, last_retrieved_at = ?2 WHERE id = ?1",
                                       &st, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < a->n; i++) {
        sqlite3_bind_int64(st, 1, a->ids[i]);
        sqlite3_bind_int64(st, 2, a->now);
        if ((rc = step_done(conn, st, "bump retrieval count", err)) != 0)
            return rc;
    }
    return 0;
}

int mnemo_obs_touch_retrieved(struct mnemo_store *st, const int64_t *ids, size_t n, int64_t now_ms,
                              struct mnemo_err *err)
{
    if (n == 0)
        return 0;
    if (!ids || n > MNEMO_OBS_LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "retrieval bump of %zu ids (1..%d allowed)", n,
                             MNEMO_OBS_LIST_MAX);
    struct simple_arg a = {.ids = ids, .n = n, .now = now_ms};
    return mnemo_store_write(st, "obs.touch", MNEMO_OBS_TIMEOUT_MS, touch_cb, &a, err);
}
