/*
 * summary.c - session summaries (see summary.h).
 */
#include "memory/summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/session_int.h"

#define N_FIELDS 6

/* The fields in column order, with their names for messages. */
static const char *const field_names[N_FIELDS] = {"request",   "investigated", "learned",
                                                  "completed", "next_steps",   "notes"};

static void field_values(const struct mnemo_summary_fields *f, const char *v[N_FIELDS])
{
    v[0] = f->request;
    v[1] = f->investigated;
    v[2] = f->learned;
    v[3] = f->completed;
    v[4] = f->next_steps;
    v[5] = f->notes;
}

static void field_slots(struct mnemo_summary *s, char **slots[N_FIELDS])
{
    slots[0] = &s->request;
    slots[1] = &s->investigated;
    slots[2] = &s->learned;
    slots[3] = &s->completed;
    slots[4] = &s->next_steps;
    slots[5] = &s->notes;
}

/* ---- create ------------------------------------------------------------------------------ */

struct create_args {
    int64_t session_id;
    const char *project; /* NULL: the session's */
    const char *v[N_FIELDS];
    int64_t now;
    int64_t id;
};

/* Checks the session exists and agrees with (or supplies) the project into buf. */
static int session_project(struct mnemo_conn *conn, struct create_args *a, char *buf, size_t size,
                           struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc =
        mnemo_conn_prepare_cached(conn, "SELECT project FROM sessions WHERE id = ?1", &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->session_id);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind summary session", err);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        mnemo__session_column_copy(stmt, 0, buf, size);
        rc = 0;
    } else if (step == SQLITE_DONE) {
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "no session with id %lld",
                           (long long)a->session_id);
    } else {
        rc = mnemo_conn_error(conn, step, "summary session", err);
    }
    sqlite3_reset(stmt);
    if (rc == 0 && a->project && strcmp(a->project, buf) != 0)
        rc = mnemo_err_set(err, MNEMO_EINVAL,
                           "summary project '%s' differs from its session's project '%s'",
                           a->project, buf);
    return rc;
}

/* The id of the session's newest summary into a->id (0 when it has none). */
static int session_summary(struct mnemo_conn *conn, struct create_args *a, struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "SELECT id FROM summaries WHERE session_id = ?1"
                                       " ORDER BY created_at DESC, id DESC LIMIT 1",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->session_id);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind summary lookup", err);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        a->id = sqlite3_column_int64(stmt, 0);
    else if (step != SQLITE_DONE)
        rc = mnemo_conn_error(conn, step, "summary lookup", err);
    sqlite3_reset(stmt);
    return rc;
}

/*
 * Updates summary a->id with a's non-empty fields and time, unless it is newer than a (an
 * event replayed late must not bring back what a later one replaced).
 */
static int update_fn(struct mnemo_conn *conn, struct create_args *a, struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc =
        mnemo_conn_prepare_cached(conn,
                                  "UPDATE summaries SET"
                                  " request = CASE WHEN ?2 = '' THEN request ELSE ?2 END,"
                                  " investigated = CASE WHEN ?3 = '' THEN investigated ELSE ?3 END,"
                                  " learned = CASE WHEN ?4 = '' THEN learned ELSE ?4 END,"
                                  " completed = CASE WHEN ?5 = '' THEN completed ELSE ?5 END,"
                                  " next_steps = CASE WHEN ?6 = '' THEN next_steps ELSE ?6 END,"
                                  " notes = CASE WHEN ?7 = '' THEN notes ELSE ?7 END,"
                                  " created_at = ?8"
                                  " WHERE id = ?1 AND created_at <= ?8",
                                  &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->id);
    for (int i = 0; i < N_FIELDS && b == SQLITE_OK; i++)
        b = sqlite3_bind_text(stmt, 2 + i, a->v[i] ? a->v[i] : "", -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 8, a->now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind summary update", err);
    return mnemo__session_step_done(conn, stmt, "update summary", err);
}

static int create_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct create_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    char project[MNEMO_PROJECT_SIZE];
    int rc;

    a->id = 0;
    if (a->session_id > 0) {
        rc = session_project(conn, a, project, sizeof project, err);
        if (rc == 0)
            rc = session_summary(conn, a, err);
        if (rc != 0 || a->id > 0)
            return rc != 0 ? rc : update_fn(conn, a, err);
    } else {
        memcpy(project, a->project, strlen(a->project) + 1); /* validated: fits */
    }
    rc = mnemo_conn_prepare_cached(
        conn,
        "INSERT INTO summaries(session_id, project, request, investigated, learned, completed,"
        " next_steps, notes, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &stmt, err);
    if (rc != 0)
        return rc;
    int b =
        a->session_id > 0 ? sqlite3_bind_int64(stmt, 1, a->session_id) : sqlite3_bind_null(stmt, 1);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 2, project, -1, SQLITE_TRANSIENT);
    for (int i = 0; i < N_FIELDS && b == SQLITE_OK; i++)
        b = sqlite3_bind_text(stmt, 3 + i, a->v[i] ? a->v[i] : "", -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 9, a->now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind summary insert", err);
    rc = mnemo__session_step_done(conn, stmt, "insert summary", err);
    if (rc != 0)
        return rc;
    a->id = sqlite3_last_insert_rowid(mnemo_conn_db(conn));
    return 0;
}

/* Stores a summary. */
int mnemo_summary_create(struct mnemo_store *st, int64_t session_id, const char *project,
                         const struct mnemo_summary_fields *fields, int64_t now_ms, int64_t *id,
                         struct mnemo_err *err)
{
    struct create_args a = {.session_id = session_id, .project = project};
    int rc;
    int any = 0;

    if (id)
        *id = 0;
    if (!st || !fields)
        return mnemo_err_set(err, MNEMO_EINVAL, "summary create: no store or no fields");
    if (session_id < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "summary create: session id %lld is not valid",
                             (long long)session_id);
    if (project || session_id == 0) {
        rc = mnemo_project_validate(project, err);
        if (rc != 0)
            return rc;
    }
    field_values(fields, a.v);
    for (int i = 0; i < N_FIELDS; i++) {
        char what[32];
        snprintf(what, sizeof what, "summary %s", field_names[i]);
        rc = mnemo__session_check_text(a.v[i], MNEMO_SUMMARY_FIELD_MAX, what, err);
        if (rc != 0)
            return rc;
        any |= a.v[i] && a.v[i][0] != '\0';
    }
    if (!any)
        return mnemo_err_set(err, MNEMO_EINVAL, "summary is empty: every field is blank");
    rc = mnemo__session_now(now_ms, "summary create", &a.now, err);
    if (rc != 0)
        return rc;
    rc = mnemo_store_write(st, "summary create", MNEMO_SUMMARY_TIMEOUT_MS, create_fn, &a, err);
    if (rc == 0 && id)
        *id = a.id;
    return rc;
}

/* ---- read -------------------------------------------------------------------------------- */

#define SUMMARY_COLS                                                                               \
    "id, coalesce(session_id, 0), project, request, investigated, learned, completed, "            \
    "next_steps, notes, created_at"

/* Fills s (zeroed) from a row selecting SUMMARY_COLS. Returns 0 or MNEMO_ENOMEM, in which case
 * s holds what was copied so far for mnemo_summary_release. */
static int read_row(sqlite3_stmt *stmt, struct mnemo_summary *s)
{
    char **slots[N_FIELDS];
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(stmt, 0);
    s->session_id = sqlite3_column_int64(stmt, 1);
    mnemo__session_column_copy(stmt, 2, s->project, sizeof s->project);
    field_slots(s, slots);
    for (int i = 0; i < N_FIELDS; i++) {
        *slots[i] = mnemo__session_column_dup(stmt, 3 + i);
        if (!*slots[i])
            return MNEMO_ENOMEM;
    }
    s->created_at = sqlite3_column_int64(stmt, 9);
    return 0;
}

/* Frees a summary's strings. */
void mnemo_summary_release(struct mnemo_summary *s)
{
    char **slots[N_FIELDS];
    if (!s)
        return;
    field_slots(s, slots);
    for (int i = 0; i < N_FIELDS; i++)
        free(*slots[i]);
    memset(s, 0, sizeof *s);
}

/* Frees a summary list. */
void mnemo_summary_list_free(struct mnemo_summary *list, int n)
{
    if (!list)
        return;
    for (int i = 0; i < n; i++)
        mnemo_summary_release(&list[i]);
    free(list);
}

struct query_args {
    const char *project; /* NULL: any */
    int64_t session_id;  /* 0: any */
    int64_t id;          /* > 0: this one only */
    int offset, limit;
    struct mnemo_summary *items;
    int n, cap;
};

static int query_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct query_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    /*
     * One statement per filter shape rather than "(?2 IS NULL OR project = ?2)", which would
     * keep SQLite from using the (project, created_at) index. Unused numbers bind harmlessly.
     */
    static const char *const sql[5] = {
        "SELECT " SUMMARY_COLS " FROM summaries"
        " ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?4",
        "SELECT " SUMMARY_COLS " FROM summaries WHERE project = ?2"
        " ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?4",
        "SELECT " SUMMARY_COLS " FROM summaries WHERE session_id = ?3"
        " ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?4",
        "SELECT " SUMMARY_COLS " FROM summaries WHERE project = ?2 AND session_id = ?3"
        " ORDER BY created_at DESC, id DESC LIMIT ?5 OFFSET ?4",
        "SELECT " SUMMARY_COLS " FROM summaries WHERE id = ?1 LIMIT ?5 OFFSET ?4",
    };
    int shape = a->id > 0 ? 4 : (a->project ? 1 : 0) + (a->session_id > 0 ? 2 : 0);
    int rc = mnemo_conn_prepare_cached(conn, sql[shape], &stmt, err);
    if (rc != 0)
        return rc;
    int b = a->id > 0 ? sqlite3_bind_int64(stmt, 1, a->id) : SQLITE_OK;
    if (b == SQLITE_OK && a->project)
        b = sqlite3_bind_text(stmt, 2, a->project, -1, SQLITE_STATIC);
    if (b == SQLITE_OK && a->session_id > 0)
        b = sqlite3_bind_int64(stmt, 3, a->session_id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(stmt, 4, a->offset);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(stmt, 5, a->limit);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind summary query", err);
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct mnemo_summary *grown =
            mnemo__session_grow(a->items, sizeof *a->items, a->n, &a->cap, a->limit);
        rc = grown ? 0 : MNEMO_ENOMEM;
        if (grown) {
            a->items = grown;
            rc = read_row(stmt, &a->items[a->n]);
            a->n++; /* counted even when partly filled, so the list free releases it */
        }
        if (rc != 0) {
            sqlite3_reset(stmt);
            return mnemo_err_set(err, rc, "summary query: out of memory");
        }
    }
    rc = step == SQLITE_DONE ? 0 : mnemo_conn_error(conn, step, "query summaries", err);
    sqlite3_reset(stmt);
    return rc;
}

/* Runs a query for at most one summary into *out. */
static int query_one(struct mnemo_store *st, const char *op, struct query_args *a,
                     struct mnemo_summary *out, struct mnemo_err *err)
{
    a->limit = 1;
    int rc = mnemo_store_read(st, op, MNEMO_SUMMARY_TIMEOUT_MS, query_fn, a, err);
    if (rc == 0 && a->n == 0) {
        if (a->id > 0)
            rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "no summary with id %lld", (long long)a->id);
        else
            rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "project '%s' has no summary", a->project);
    }
    if (rc == 0) {
        *out = a->items[0];
        free(a->items);
    } else {
        mnemo_summary_list_free(a->items, a->n);
    }
    return rc;
}

/* Reads one summary by id. */
int mnemo_summary_get(struct mnemo_store *st, int64_t id, struct mnemo_summary *out,
                      struct mnemo_err *err)
{
    struct query_args a = {.id = id};
    if (out)
        memset(out, 0, sizeof *out);
    if (!st || !out)
        return mnemo_err_set(err, MNEMO_EINVAL, "summary get: no store or no output");
    if (id <= 0)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "no summary with id %lld", (long long)id);
    return query_one(st, "summary get", &a, out, err);
}

/* Reads a project's latest summary. */
int mnemo_summary_latest(struct mnemo_store *st, const char *project, struct mnemo_summary *out,
                         struct mnemo_err *err)
{
    struct query_args a = {.project = project};
    if (out)
        memset(out, 0, sizeof *out);
    if (!st || !out)
        return mnemo_err_set(err, MNEMO_EINVAL, "summary latest: no store or no output");
    int rc = mnemo_project_validate(project, err);
    if (rc != 0)
        return rc;
    return query_one(st, "summary latest", &a, out, err);
}

/* Lists summaries newest first. */
int mnemo_summary_list(struct mnemo_store *st, const char *project, int64_t session_id, int offset,
                       int limit, struct mnemo_summary **out, int *n, struct mnemo_err *err)
{
    struct query_args a = {
        .project = project, .session_id = session_id, .offset = offset, .limit = limit};
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!st || !out || !n)
        return mnemo_err_set(err, MNEMO_EINVAL, "summary list: no store or no output");
    if (limit < 1 || limit > MNEMO_SUMMARY_LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "summary list limit %d is outside 1..%d", limit,
                             MNEMO_SUMMARY_LIST_MAX);
    if (offset < 0 || session_id < 0)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "summary list: offset and session id must not "
                             "be negative");
    if (project) {
        int rc = mnemo_project_validate(project, err);
        if (rc != 0)
            return rc;
    }
    int rc = mnemo_store_read(st, "summary list", MNEMO_SUMMARY_TIMEOUT_MS, query_fn, &a, err);
    if (rc != 0) {
        mnemo_summary_list_free(a.items, a.n);
        return rc;
    }
    *out = a.items;
    *n = a.n;
    return 0;
}
