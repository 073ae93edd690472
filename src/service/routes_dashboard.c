/*
 * routes_dashboard.c - the read routes the dashboard needs beyond the rest of the API
 * (docs/API.md, "Dashboard routes"): one timeline of observations, prompts and summaries,
 * per-project statistics with growth per day, and the health history.
 *
 * The prompt, summary and per-project queries are read-only aggregates that only the
 * dashboard asks for, so they live here as SQL inside mnemo_store_read (one snapshot, the
 * store's deadline rules) rather than as new memory/ API. Observations are picked here by id
 * (see timeline_ids: at 100k rows mnemo_obs_list's sort of whole rows took 0.6 s without a
 * project) and loaded through memory/obs.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "memory/obs_json.h"
#include "service/dashboard.h"
#include "service/routes.h"
#include "service/routes_int.h"
#include "store/store.h"
#include "util/clock.h"

/* Largest timeline page, and how much of a prompt's text a timeline item carries. */
#define TIMELINE_MAX          200
#define TIMELINE_DEFAULT      50
#define TIMELINE_PROMPT_CHARS 2000
#define PROJECTS_MAX          500
#define GROWTH_DAYS_MAX       365
#define MS_PER_DAY            INT64_C(86400000)

enum { K_OBS = 1, K_PROMPT = 2, K_SUMMARY = 4 };

/* ---- SQL helpers ------------------------------------------------------------------------------
 */

/* A column as a JSON string ("" for NULL). */
static json_t *col_str(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return json_stringn(t != NULL ? (const char *)t : "", (size_t)sqlite3_column_bytes(s, i));
}

/* Steps a bound statement, adding one JSON value per row made by row (NULL row = error). */
static int collect(struct mnemo_conn *conn, sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *),
                   json_t *out, const char *what, struct mnemo_err *err)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *v = row(s);
        if (v == NULL || json_array_append_new(out, v) != 0) {
            sqlite3_reset(s);
            return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
        }
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : mnemo_conn_error(conn, rc, what, err);
}

/* ---- timeline ---------------------------------------------------------------------------------
 */

struct timeline_q {
    const char *project; /* NULL = every project */
    const char *type;    /* NULL = any (observations only) */
    int include_archived;
    int64_t before_ms; /* created_at < before_ms */
    int64_t limit;
    int kinds;
    json_t *obs, *prompts, *summaries; /* arrays filled by the read */
};

/* Most projects the timeline merges one by one; beyond it one sorted scan is cheaper. */
#define TIMELINE_MERGE_PROJECTS 64

struct obs_at {
    int64_t at, id;
};

/* Newest first; the id breaks ties, as in the SQL. */
static int by_at_desc(const void *a, const void *b)
{
    const struct obs_at *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? 1 : -1;
    return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

/* Appends the (created_at, id) rows of the bound statement s to out (room for max). */
static int collect_ids(struct mnemo_conn *conn, sqlite3_stmt *s, struct obs_at *out, size_t max,
                       size_t *n, struct mnemo_err *err)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        out[*n].at = sqlite3_column_int64(s, 0);
        out[*n].id = sqlite3_column_int64(s, 1);
        (*n)++;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW
               ? 0
               : mnemo_conn_error(conn, rc, "list recent observations", err);
}

/* Binds the filters shared by the statements below: ?2 type, ?3 archived, ?4 before, ?5 limit. */
static void bind_filters(sqlite3_stmt *s, const struct timeline_q *q)
{
    if (q->type != NULL)
        sqlite3_bind_text(s, 2, q->type, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, q->include_archived);
    sqlite3_bind_int64(s, 4, q->before_ms);
    sqlite3_bind_int64(s, 5, q->limit);
}

/*
 * The ids of the newest observations matching q, newest first, into ids (*n of them). The
 * schema indexes created_at only after project, so without a project the newest rows of each
 * project are read through that index and merged here: O(projects x limit) instead of
 * sorting the whole table (0.5 s at 100k rows). The projects come from a skip-scan of the
 * same index.
 */
static int timeline_ids(struct mnemo_conn *conn, const struct timeline_q *q, int64_t *ids,
                        size_t *n, struct mnemo_err *err)
{
    static const char one_sql[] =
        "SELECT created_at, id FROM observations WHERE project = ?1 AND (?2 IS NULL OR type = ?2)"
        " AND (?3 OR archived = 0) AND superseded_by IS NULL AND created_at < ?4"
        " ORDER BY created_at DESC, id DESC LIMIT ?5";
    static const char all_sql[] =
        "SELECT created_at, id FROM observations WHERE (?2 IS NULL OR type = ?2) AND (?3 OR"
        " archived = 0) AND superseded_by IS NULL AND created_at < ?4"
        " ORDER BY created_at DESC, id DESC LIMIT ?5";
    static const char projects_sql[] =
        "WITH RECURSIVE p(name) AS (SELECT min(project) FROM observations UNION ALL"
        " SELECT (SELECT min(project) FROM observations WHERE project > p.name) FROM p"
        " WHERE p.name IS NOT NULL) SELECT name FROM p WHERE name IS NOT NULL LIMIT ?1";
    size_t max = (size_t)q->limit * TIMELINE_MERGE_PROJECTS, got = 0;
    char **names = NULL;
    size_t n_names = 0;
    sqlite3_stmt *s;
    int rc;

    *n = 0;
    if (q->project == NULL) {
        rc = mnemo_conn_prepare_cached(conn, projects_sql, &s, err);
        if (rc != 0)
            return rc;
        names = calloc(TIMELINE_MERGE_PROJECTS + 1, sizeof *names);
        if (names == NULL) {
            sqlite3_reset(s);
            return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
        }
        sqlite3_bind_int(s, 1, TIMELINE_MERGE_PROJECTS + 1);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(s, 0);
            if (t != NULL && (names[n_names] = strdup(t)) != NULL)
                n_names++;
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            rc = mnemo_conn_error(conn, rc, "list projects", err);
        else
            rc = 0;
    } else {
        rc = 0;
    }
    int merge = q->project != NULL || n_names <= TIMELINE_MERGE_PROJECTS;
    struct obs_at *rows = rc == 0 ? malloc((merge ? max : (size_t)q->limit) * sizeof *rows) : NULL;
    if (rc == 0 && rows == NULL)
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    if (rc == 0 && !merge) {
        rc = mnemo_conn_prepare_cached(conn, all_sql, &s, err);
        if (rc == 0) {
            bind_filters(s, q);
            rc = collect_ids(conn, s, rows, (size_t)q->limit, &got, err);
        }
    }
    for (size_t i = 0; rc == 0 && merge && i < (q->project != NULL ? 1 : n_names); i++) {
        rc = mnemo_conn_prepare_cached(conn, one_sql, &s, err);
        if (rc != 0)
            break;
        sqlite3_bind_text(s, 1, q->project != NULL ? q->project : names[i], -1, SQLITE_STATIC);
        bind_filters(s, q);
        rc = collect_ids(conn, s, rows, max, &got, err);
    }
    if (rc == 0) {
        qsort(rows, got, sizeof *rows, by_at_desc);
        for (size_t i = 0; i < got && i < (size_t)q->limit; i++)
            ids[(*n)++] = rows[i].id;
    }
    free(rows);
    for (size_t i = 0; i < n_names; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* The newest observations matching q, loaded through memory/obs.h into q->obs. */
static int timeline_obs(struct mnemo_conn *conn, struct timeline_q *q, struct mnemo_err *err)
{
    int64_t ids[TIMELINE_MAX];
    size_t n = 0;
    int rc = timeline_ids(conn, q, ids, &n, err);
    if (rc != 0)
        return rc;
    struct mnemo_obs_list l;
    rc = mnemo_obs_get_many_conn(conn, ids, n, 1, &l, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        json_t *o = mnemo_obs_to_json(&l.items[i]);
        if (o == NULL || json_array_append_new(q->obs, o) != 0)
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    mnemo_obs_list_release(&l);
    return rc;
}

static json_t *prompt_row(sqlite3_stmt *s)
{
    json_t *j =
        json_pack("{s:I,s:I,s:I,s:o,s:b,s:o,s:o,s:I}", "id", (json_int_t)sqlite3_column_int64(s, 0),
                  "session_id", (json_int_t)sqlite3_column_int64(s, 1), "number",
                  (json_int_t)sqlite3_column_int64(s, 2), "text", col_str(s, 3), "truncated",
                  sqlite3_column_int64(s, 4) > TIMELINE_PROMPT_CHARS, "project", col_str(s, 5),
                  "agent", col_str(s, 6), "created_at", (json_int_t)sqlite3_column_int64(s, 7));
    return j;
}

static json_t *summary_row(sqlite3_stmt *s)
{
    return json_pack("{s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "id",
                     (json_int_t)sqlite3_column_int64(s, 0), "session_id",
                     (json_int_t)sqlite3_column_int64(s, 1), "project", col_str(s, 2), "request",
                     col_str(s, 3), "investigated", col_str(s, 4), "learned", col_str(s, 5),
                     "completed", col_str(s, 6), "next_steps", col_str(s, 7), "notes",
                     col_str(s, 8), "created_at", (json_int_t)sqlite3_column_int64(s, 9));
}

static int timeline_read(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct timeline_q *q = arg;
    sqlite3_stmt *s;
    int rc;

    /* Should the store run this again (a retried snapshot), it starts from empty lists. */
    json_array_clear(q->obs);
    json_array_clear(q->prompts);
    json_array_clear(q->summaries);
    if (q->kinds & K_OBS) {
        rc = timeline_obs(conn, q, err);
        if (rc != 0)
            return rc;
    }

    if (q->kinds & K_PROMPT) {
        rc = mnemo_conn_prepare_cached(
            conn,
            "SELECT p.id, p.session_id, p.number, substr(p.text, 1, ?4), length(p.text),"
            " s.project, s.agent, p.created_at FROM prompts p JOIN sessions s ON s.id ="
            " p.session_id WHERE (?1 IS NULL OR s.project = ?1) AND p.created_at < ?2"
            " ORDER BY p.created_at DESC, p.id DESC LIMIT ?3",
            &s, err);
        if (rc != 0)
            return rc;
        if (q->project != NULL)
            sqlite3_bind_text(s, 1, q->project, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, q->before_ms);
        sqlite3_bind_int64(s, 3, q->limit);
        sqlite3_bind_int(s, 4, TIMELINE_PROMPT_CHARS);
        rc = collect(conn, s, prompt_row, q->prompts, "list recent prompts", err);
        if (rc != 0)
            return rc;
    }
    if (q->kinds & K_SUMMARY) {
        rc = mnemo_conn_prepare_cached(
            conn,
            "SELECT id, coalesce(session_id, 0), project, request, investigated, learned,"
            " completed, next_steps, notes, created_at FROM summaries WHERE (?1 IS NULL OR"
            " project = ?1) AND created_at < ?2 ORDER BY created_at DESC, id DESC LIMIT ?3",
            &s, err);
        if (rc != 0)
            return rc;
        if (q->project != NULL)
            sqlite3_bind_text(s, 1, q->project, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, q->before_ms);
        sqlite3_bind_int64(s, 3, q->limit);
        rc = collect(conn, s, summary_row, q->summaries, "list recent summaries", err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Parses kinds=observation,prompt,summary (NULL or "" = all). Returns the mask, 0 when bad. */
static int parse_kinds(const char *s)
{
    if (s == NULL || *s == '\0')
        return K_OBS | K_PROMPT | K_SUMMARY;
    int mask = 0;
    const char *p = s;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (n == 11 && strncmp(p, "observation", n) == 0)
            mask |= K_OBS;
        else if (n == 6 && strncmp(p, "prompt", n) == 0)
            mask |= K_PROMPT;
        else if (n == 7 && strncmp(p, "summary", n) == 0)
            mask |= K_SUMMARY;
        else
            return 0;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return mask;
}

/* created_at of array item i's member key (an object inside), INT64_MIN past the end. */
static int64_t item_at(const json_t *a, size_t i)
{
    if (i >= json_array_size(a))
        return INT64_MIN;
    return json_integer_value(json_object_get(json_array_get(a, i), "created_at"));
}

/* Merges the three newest-first arrays into at most limit items {kind, at, <kind>}. */
static json_t *merge_timeline(json_t *obs, json_t *prompts, json_t *sums, int64_t limit)
{
    json_t *items = json_array();
    size_t io = 0, ip = 0, is = 0;
    while (items != NULL && (int64_t)json_array_size(items) < limit) {
        int64_t ao = item_at(obs, io), ap = item_at(prompts, ip), as = item_at(sums, is);
        if (ao == INT64_MIN && ap == INT64_MIN && as == INT64_MIN)
            break;
        const char *kind;
        json_t *v;
        int64_t at;
        if (ao >= ap && ao >= as) {
            kind = "observation", v = json_array_get(obs, io++), at = ao;
        } else if (ap >= as) {
            kind = "prompt", v = json_array_get(prompts, ip++), at = ap;
        } else {
            kind = "summary", v = json_array_get(sums, is++), at = as;
        }
        json_t *it = json_pack("{s:s,s:I,s:O}", "kind", kind, "at", (json_int_t)at, kind, v);
        if (it == NULL || json_array_append_new(items, it) != 0) {
            json_decref(items);
            return NULL;
        }
    }
    return items;
}

int route_dashboard_timeline(void *ctx, const struct mnemo_http_req *req,
                             struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    char project[MNEMO_OBS_MAX_PROJECT + 1], type[32], kinds_s[64], archived_s[8];
    const char *proj = NULL, *typ = NULL, *kinds_q = NULL, *arch = NULL;
    int64_t limit, before;
    struct mnemo_err err;

    if (mnemo__routes_query(req, resp, "project", project, sizeof project, &proj) != 0 ||
        mnemo__routes_query(req, resp, "type", type, sizeof type, &typ) != 0 ||
        mnemo__routes_query(req, resp, "kinds", kinds_s, sizeof kinds_s, &kinds_q) != 0 ||
        mnemo__routes_query(req, resp, "archived", archived_s, sizeof archived_s, &arch) != 0 ||
        mnemo__routes_query_int(req, resp, "limit", 1, TIMELINE_MAX, TIMELINE_DEFAULT, &limit) !=
            0 ||
        mnemo__routes_query_int(req, resp, "before", 0, INT64_MAX, 0, &before) != 0)
        return 0;
    if (proj != NULL && *proj == '\0')
        proj = NULL;
    if (typ != NULL && *typ == '\0')
        typ = NULL;
    if (proj != NULL && mnemo__routes_project_check(resp, "project", proj) != 0)
        return 0;
    if (typ != NULL && !mnemo_obs_type_valid(typ)) {
        mnemo__routes_fail(resp, MNEMO_EINVAL,
                           "query 'type' must be decision, bugfix, feature, refactor, discovery "
                           "or change");
        return 0;
    }
    int kinds = parse_kinds(kinds_q);
    if (kinds == 0) {
        mnemo__routes_fail(resp, MNEMO_EINVAL,
                           "query 'kinds' must list observation, prompt and/or summary");
        return 0;
    }
    int include_archived = 0;
    if (arch != NULL && strcmp(arch, "1") == 0) {
        include_archived = 1;
    } else if (arch != NULL && *arch != '\0' && strcmp(arch, "0") != 0) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "query 'archived' must be 0 or 1");
        return 0;
    }
    /* A type names observations only: prompts and summaries have none. */
    if (typ != NULL)
        kinds &= K_OBS;
    if (before == 0)
        before = INT64_MAX;

    struct timeline_q q = {
        proj, typ, include_archived, before, limit, kinds, json_array(), json_array(), json_array(),
    };
    int rc = q.obs != NULL && q.prompts != NULL && q.summaries != NULL ? 0 : MNEMO_ENOMEM;
    mnemo_err_clear(&err);
    if (rc == 0)
        rc = mnemo_store_read(w->st, "dashboard timeline", MNEMO_STORE_TIMEOUT_DEFAULT_MS,
                              timeline_read, &q, &err);
    json_t *items = rc == 0 ? merge_timeline(q.obs, q.prompts, q.summaries, limit) : NULL;
    json_decref(q.obs);
    json_decref(q.prompts);
    json_decref(q.summaries);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *last = json_array_get(items, json_array_size(items) - 1);
    int64_t next = (int64_t)json_array_size(items) == limit
                       ? json_integer_value(json_object_get(last, "at"))
                       : 0;
    return mnemo__routes_json(
        resp, 200,
        items != NULL ? json_pack("{s:o,s:I}", "items", items, "next_before", (json_int_t)next)
                      : NULL);
}

/* ---- per-project statistics -------------------------------------------------------------------
 */

struct projects_q {
    int64_t since_day; /* first day (days since the epoch, UTC) of the growth series */
    json_t *projects;  /* object: name -> stats object, filled by the read */
};

/* A day number (days since the epoch) as "YYYY-MM-DD", in a struct so it can be returned. */
struct day_key {
    char s[16];
};

static struct day_key growth_key(int64_t day)
{
    struct day_key k;
    time_t t = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(k.s, sizeof k.s, "%Y-%m-%d", &tm);
    return k;
}

/* Turns project p's "_days" {day: count} (filled by the read) into "growth", oldest first. */
static int growth_series(json_t *p, int64_t since_day, int64_t days)
{
    json_t *by_day = json_object_get(p, "_days"), *g = json_array();
    int bad = g == NULL;
    for (int64_t d = since_day; !bad && d < since_day + days; d++) {
        struct day_key k = growth_key(d);
        json_t *n = json_object_get(by_day, k.s);
        if (n != NULL)
            bad |= json_array_append_new(
                       g, json_pack("{s:s,s:O}", "day", k.s, "observations", n)) != 0;
    }
    json_object_del(p, "_days");
    return bad || json_object_set_new(p, "growth", g) != 0 ? -1 : 0;
}

/* The stats object of project name (created on first use), NULL when out of memory. */
static json_t *project_obj(struct projects_q *q, const char *name)
{
    json_t *p = json_object_get(q->projects, name);
    if (p != NULL || json_object_size(q->projects) >= PROJECTS_MAX)
        return p;
    p = json_pack("{s:s,s:{s:I,s:I,s:I,s:I,s:{}},s:I,s:I,s:I,s:I,s:{}}", "project", name,
                  "observations", "total", (json_int_t)0, "live", (json_int_t)0, "archived",
                  (json_int_t)0, "superseded", (json_int_t)0, "by_type", "sessions", (json_int_t)0,
                  "prompts", (json_int_t)0, "summaries", (json_int_t)0, "last_activity_at",
                  (json_int_t)0, "_days");
    if (p == NULL || json_object_set_new(q->projects, name, p) != 0)
        return NULL;
    return p;
}

static void set_int(json_t *o, const char *key, int64_t v)
{
    json_object_set_new(o, key, json_integer(v));
}

static void add_int(json_t *o, const char *key, int64_t v)
{
    set_int(o, key, json_integer_value(json_object_get(o, key)) + v);
}

static void raise_activity(json_t *p, int64_t at)
{
    if (at > json_integer_value(json_object_get(p, "last_activity_at")))
        set_int(p, "last_activity_at", at);
}

static int projects_read(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    /* Every observation count comes from one pass over the table (NOT INDEXED: reading it in
     * order beats walking the project index with a table lookup per row; at 100k rows the five
     * queries this replaced took 1.7 s, this one 0.3 s). Day -1 is before the growth window. */
    static const char *const sql[] = {
        "SELECT project, type, CASE WHEN created_at >= ?1 * 86400000 THEN created_at / 86400000"
        " ELSE -1 END, count(*), sum(archived = 0 AND superseded_by IS NULL), sum(archived),"
        " sum(superseded_by IS NOT NULL), max(created_at) FROM observations NOT INDEXED"
        " GROUP BY 1, 2, 3",
        "SELECT s.project, count(DISTINCT s.id), count(p.id), max(max(s.started_at),"
        " coalesce(max(p.created_at), 0)) FROM sessions s LEFT JOIN prompts p ON p.session_id"
        " = s.id GROUP BY s.project",
        "SELECT project, count(*), max(created_at) FROM summaries GROUP BY project",
    };
    struct projects_q *q = arg;
    json_object_clear(q->projects); /* as in timeline_read: a rerun starts from nothing */
    for (size_t k = 0; k < sizeof sql / sizeof sql[0]; k++) {
        sqlite3_stmt *s;
        int rc = mnemo_conn_prepare_cached(conn, sql[k], &s, err);
        if (rc != 0)
            return rc;
        if (k == 0)
            sqlite3_bind_int64(s, 1, q->since_day);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(s, 0);
            json_t *p = project_obj(q, name != NULL ? name : "");
            if (p == NULL)
                continue; /* past PROJECTS_MAX (or out of memory): left out */
            json_t *o = json_object_get(p, "observations");
            if (k == 0) {
                const char *type = (const char *)sqlite3_column_text(s, 1);
                int64_t day = sqlite3_column_int64(s, 2), n = sqlite3_column_int64(s, 3);
                int64_t live = sqlite3_column_int64(s, 4);
                add_int(o, "total", n);
                add_int(o, "live", live);
                add_int(o, "archived", sqlite3_column_int64(s, 5));
                add_int(o, "superseded", sqlite3_column_int64(s, 6));
                if (live > 0)
                    add_int(json_object_get(o, "by_type"), type != NULL ? type : "", live);
                if (day >= q->since_day)
                    add_int(json_object_get(p, "_days"), growth_key(day).s, n);
                raise_activity(p, sqlite3_column_int64(s, 7));
            } else if (k == 1) {
                set_int(p, "sessions", sqlite3_column_int64(s, 1));
                set_int(p, "prompts", sqlite3_column_int64(s, 2));
                raise_activity(p, sqlite3_column_int64(s, 3));
            } else {
                set_int(p, "summaries", sqlite3_column_int64(s, 1));
                raise_activity(p, sqlite3_column_int64(s, 2));
            }
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return mnemo_conn_error(conn, rc, "per-project statistics", err);
    }
    return 0;
}

/* Sorts projects by last activity, newest first. */
static int by_activity(const void *a, const void *b)
{
    int64_t x = json_integer_value(json_object_get(*(json_t *const *)a, "last_activity_at"));
    int64_t y = json_integer_value(json_object_get(*(json_t *const *)b, "last_activity_at"));
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Every project name that has observations, sessions or summaries, into the object arg (as
 * keys): skip-scans of each table's (project, time) index, milliseconds at any size. */
static int project_names_read(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    static const char *const sql[] = {
#define SKIP_SCAN(t)                                                                               \
    "WITH RECURSIVE p(name) AS (SELECT min(project) FROM " t " UNION ALL SELECT (SELECT"           \
    " min(project) FROM " t " WHERE project > p.name) FROM p WHERE p.name IS NOT NULL)"            \
    " SELECT name FROM p WHERE name IS NOT NULL LIMIT 500"
        SKIP_SCAN("observations"),
        SKIP_SCAN("sessions"),
        SKIP_SCAN("summaries"),
#undef SKIP_SCAN
    };
    json_t *names = arg;
    json_object_clear(names);
    for (size_t k = 0; k < sizeof sql / sizeof sql[0]; k++) {
        sqlite3_stmt *s;
        int rc = mnemo_conn_prepare_cached(conn, sql[k], &s, err);
        if (rc != 0)
            return rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(s, 0);
            if (t != NULL && json_object_size(names) < PROJECTS_MAX)
                json_object_set_new(names, t, json_true());
        }
        sqlite3_reset(s);
        if (rc != SQLITE_DONE)
            return mnemo_conn_error(conn, rc, "list project names", err);
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* `names=1`: {projects:[{project}]} sorted by name, for the page's filters. */
static int projects_names(struct mnemo_worker *w, struct mnemo_http_resp *resp)
{
    struct mnemo_err err;
    json_t *names = json_object(), *arr = json_array();
    mnemo_err_clear(&err);
    int rc = names != NULL && arr != NULL ? 0 : MNEMO_ENOMEM;
    if (rc == 0)
        rc = mnemo_store_read(w->st, "dashboard project names", MNEMO_STORE_TIMEOUT_FAST_MS,
                              project_names_read, names, &err);
    const char **list = rc == 0 ? calloc(json_object_size(names) + 1, sizeof *list) : NULL;
    if (rc == 0 && list == NULL)
        rc = mnemo_err_set(&err, MNEMO_ENOMEM, "out of memory");
    if (rc != 0) {
        json_decref(names);
        json_decref(arr);
        free(list);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(names, key, v)
    {
        list[n++] = key;
    }
    qsort(list, n, sizeof *list, by_name);
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= json_array_append_new(arr, json_pack("{s:s}", "project", list[i])) != 0;
    free(list);
    json_decref(names);
    if (bad) {
        json_decref(arr);
        return mnemo__routes_json(resp, 500, NULL);
    }
    return mnemo__routes_json(resp, 200, json_pack("{s:o}", "projects", arr));
}

int route_dashboard_projects(void *ctx, const struct mnemo_http_req *req,
                             struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    int64_t days, names_only;
    struct mnemo_err err;

    if (mnemo__routes_query_int(req, resp, "days", 1, GROWTH_DAYS_MAX, 30, &days) != 0 ||
        mnemo__routes_query_int(req, resp, "names", 0, 1, 0, &names_only) != 0)
        return 0;
    if (names_only)
        return projects_names(w, resp);
    int64_t today = mnemo_clock_wall_ms() / MS_PER_DAY;
    struct projects_q q = {today - days + 1, json_object()};
    if (q.projects == NULL)
        return mnemo__routes_json(resp, 500, NULL);
    mnemo_err_clear(&err);
    int rc = mnemo_store_read(w->st, "dashboard projects", MNEMO_STORE_TIMEOUT_DEFAULT_MS,
                              projects_read, &q, &err);
    if (rc != 0) {
        json_decref(q.projects);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *retrieval = mnemo_routes_retrieval_json(w->retrieval);
    size_t n = json_object_size(q.projects), i = 0;
    json_t **list = calloc(n > 0 ? n : 1, sizeof *list);
    json_t *arr = json_array();
    if (list == NULL || arr == NULL || retrieval == NULL) {
        free(list);
        json_decref(arr);
        json_decref(retrieval);
        json_decref(q.projects);
        return mnemo__routes_json(resp, 500, NULL);
    }
    const char *name;
    json_t *p;
    int bad = 0;
    json_object_foreach(q.projects, name, p)
    {
        bad |= growth_series(p, q.since_day, days);
        json_t *r = json_object_get(retrieval, name);
        json_object_set_new(p, "retrieval",
                            r != NULL ? json_incref(r)
                                      : json_pack("{s:i,s:i,s:i}", "searches", 0,
                                                  "context_requests", 0, "hits", 0));
        list[i++] = p;
    }
    qsort(list, n, sizeof *list, by_activity);
    for (i = 0; i < n; i++)
        bad |= json_array_append(arr, list[i]) != 0;
    free(list);
    json_decref(q.projects);
    json_t *all = json_object_get(retrieval, MNEMO_ROUTES_RETRIEVAL_ALL);
    json_t *j = bad ? NULL
                    : json_pack("{s:O,s:I,s:s,s:O?}", "projects", arr, "days", (json_int_t)days,
                                "since_day", growth_key(q.since_day).s, "retrieval_all", all);
    json_decref(arr);
    json_decref(retrieval);
    return mnemo__routes_json(resp, 200, j);
}

/* ---- health history ---------------------------------------------------------------------------
 */

int route_dashboard_health(void *ctx, const struct mnemo_http_req *req,
                           struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    int64_t since;

    if (mnemo__routes_query_int(req, resp, "since", 0, INT64_MAX, 0, &since) != 0)
        return 0;
    mnemo_dashboard_hist_catch_up(w->hist, w);
    json_t *j = mnemo_dashboard_hist_json(w->hist, since);
    if (j != NULL) {
        const struct mnemo_config *c = mnemo_worker_config_ref(w);
        int64_t threshold = mnemo_config_int(c, "store.wal_threshold_bytes");
        int64_t calls = mnemo_config_int(c, "llm.daily_calls");
        int64_t tokens = mnemo_config_int(c, "llm.daily_tokens");
        mnemo_worker_config_unref(w, c);
        struct mnemo_store_metrics m;
        mnemo_store_metrics(w->st, &m);
        if (json_object_set_new(
                j, "now",
                json_pack("{s:I,s:I,s:I,s:f,s:I,s:I}", "at", (json_int_t)mnemo_clock_wall_ms(),
                          "wal_bytes", (json_int_t)mnemo_store_wal_size(w->st),
                          "wal_threshold_bytes", (json_int_t)threshold, "store_p95_ms",
                          (double)m.p95_ns / 1e6, "llm_daily_calls", (json_int_t)calls,
                          "llm_daily_tokens", (json_int_t)tokens)) != 0) {
            json_decref(j);
            j = NULL;
        }
    }
    return mnemo__routes_json(resp, 200, j);
}
