/*
 * session.c - agent sessions (see session.h), and the helpers session_int.h shares with
 * prompt.c and summary.c.
 */
#include "memory/session.h"

#include <stdlib.h>
#include <string.h>

#include "memory/session_int.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* ---- shared helpers (session_int.h) ------------------------------------------------------ */

/* Resolves a caller's timestamp (0 = now). */
int mnemo__session_now(int64_t now_ms, const char *what, int64_t *out, struct mnemo_err *err)
{
    if (now_ms < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s: timestamp %lld is negative", what,
                             (long long)now_ms);
    *out = now_ms == 0 ? mnemo_clock_wall_ms() : now_ms;
    return 0;
}

/* The offset of the first invalid UTF-8 byte, or n. */
size_t mnemo__session_utf8_check(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 3;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 4;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* past U+10FFFF */
        } else {
            return i;
        }
        if (n - i < need || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += need;
    }
    return n;
}

/* Length and encoding check of an optional text field. */
int mnemo__session_check_text(const char *s, size_t max, const char *field, struct mnemo_err *err)
{
    if (!s)
        return 0;
    size_t len = strnlen(s, max + 1);
    if (len > max)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "%s is longer than %zu bytes", field, max);
    size_t bad = mnemo__session_utf8_check(s, len);
    if (bad != len)
        return mnemo_err_set(err, MNEMO_EINVAL, "%s is not valid UTF-8 (byte %zu)", field, bad);
    return 0;
}

/* Steps a statement that returns no rows, then resets it. */
int mnemo__session_step_done(struct mnemo_conn *conn, sqlite3_stmt *stmt, const char *what,
                             struct mnemo_err *err)
{
    int rc = sqlite3_step(stmt);
    int out = rc == SQLITE_DONE ? 0 : mnemo_conn_error(conn, rc, what, err);
    sqlite3_reset(stmt);
    return out;
}

/* A failed bind as a mnemo error. */
int mnemo__session_bind_error(struct mnemo_conn *conn, int rc, const char *what,
                              struct mnemo_err *err)
{
    return mnemo_conn_error(conn, rc, what, err);
}

/* Bounded copy of a text column. */
void mnemo__session_column_copy(sqlite3_stmt *stmt, int col, char *buf, size_t size)
{
    const char *text = (const char *)sqlite3_column_text(stmt, col);
    size_t len = text ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
    if (len >= size)
        len = mnemo_utf8_cut(text, size - 1);
    if (len > 0)
        memcpy(buf, text, len);
    buf[len] = '\0';
}

/* malloc'd copy of a text column. */
char *mnemo__session_column_dup(sqlite3_stmt *stmt, int col)
{
    const char *text = (const char *)sqlite3_column_text(stmt, col);
    size_t len = text ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    if (len > 0)
        memcpy(copy, text, len);
    copy[len] = '\0';
    return copy;
}

/* Room for one more array element. */
void *mnemo__session_grow(void *arr, size_t elem, int n, int *cap, int max)
{
    if (n < *cap)
        return arr;
    int next = *cap == 0 ? 8 : *cap * 2;
    if (next > max)
        next = max;
    if (next <= n)
        next = n + 1; /* never reached: callers stop at max */
    void *grown = realloc(arr, (size_t)next * elem);
    if (grown)
        *cap = next;
    return grown;
}

/* ---- validation -------------------------------------------------------------------------- */

static const char *const status_names[] = {"active", "completed", "failed"};

/* Status name. */
const char *mnemo_session_status_name(enum mnemo_session_status status)
{
    if ((int)status < 0 || (size_t)status >= sizeof status_names / sizeof status_names[0])
        return "unknown";
    return status_names[status];
}

/* Status from its name. */
int mnemo_session_status_parse(const char *name, enum mnemo_session_status *out,
                               struct mnemo_err *err)
{
    for (size_t i = 0; name && i < sizeof status_names / sizeof status_names[0]; i++) {
        if (strcmp(name, status_names[i]) == 0) {
            *out = (enum mnemo_session_status)i;
            return 0;
        }
    }
    return mnemo_err_set(err, MNEMO_EINVAL,
                         "unknown session status '%s' (expected active, completed or failed)",
                         name ? name : "(null)");
}

static int check_agent(const char *agent, struct mnemo_err *err)
{
    if (!agent || agent[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "agent name is empty");
    size_t len = strnlen(agent, MNEMO_SESSION_AGENT_MAX + 1);
    if (len > MNEMO_SESSION_AGENT_MAX)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "agent name is longer than %d bytes",
                             MNEMO_SESSION_AGENT_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = agent[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "agent name '%s' may hold only a-z, 0-9, '_' and '-'", agent);
    }
    return 0;
}

static int check_agent_id(const char *id, struct mnemo_err *err)
{
    if (!id || id[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "agent session id is empty");
    size_t len = strnlen(id, MNEMO_SESSION_AGENT_ID_MAX + 1);
    if (len > MNEMO_SESSION_AGENT_ID_MAX)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "agent session id is longer than %d bytes",
                             MNEMO_SESSION_AGENT_ID_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] > 0x7E)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "agent session id holds a byte that is not printable ASCII "
                                 "(byte %zu)",
                                 i);
    return 0;
}

static int check_cwd(const char *cwd, struct mnemo_err *err)
{
    if (!cwd)
        return 0;
    int rc = mnemo__session_check_text(cwd, MNEMO_SESSION_CWD_MAX, "session cwd", err);
    if (rc != 0)
        return rc;
    for (const char *p = cwd; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            return mnemo_err_set(err, MNEMO_EINVAL, "session cwd holds a control character");
    return 0;
}

/* ---- rows -------------------------------------------------------------------------------- */

#define SESSION_COLS                                                                               \
    "id, agent, agent_session_id, project, cwd, started_at, coalesce(ended_at, 0), status, "       \
    "prompt_counter"

/* Fills s from the current row of a statement selecting SESSION_COLS. */
static void read_row(sqlite3_stmt *stmt, struct mnemo_session *s)
{
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(stmt, 0);
    mnemo__session_column_copy(stmt, 1, s->agent, sizeof s->agent);
    mnemo__session_column_copy(stmt, 2, s->agent_session_id, sizeof s->agent_session_id);
    mnemo__session_column_copy(stmt, 3, s->project, sizeof s->project);
    mnemo__session_column_copy(stmt, 4, s->cwd, sizeof s->cwd);
    s->started_at = sqlite3_column_int64(stmt, 5);
    s->ended_at = sqlite3_column_int64(stmt, 6);
    const char *status = (const char *)sqlite3_column_text(stmt, 7);
    enum mnemo_session_status parsed = MNEMO_SESSION_ACTIVE;
    if (status)
        mnemo_session_status_parse(status, &parsed, NULL); /* the CHECK constraint allows
                                                              only the three names */
    s->status = parsed;
    s->prompt_counter = sqlite3_column_int64(stmt, 8);
}

/*
 * Runs a bound single-row query selecting SESSION_COLS into *out (may be NULL). Returns 0,
 * MNEMO_ENOTFOUND (with what in the message) or a store error. Resets stmt.
 */
static int fetch_one(struct mnemo_conn *conn, sqlite3_stmt *stmt, const char *what,
                     struct mnemo_session *out, struct mnemo_err *err)
{
    int rc = sqlite3_step(stmt);
    int result = 0;
    if (rc == SQLITE_ROW) {
        if (out)
            read_row(stmt, out);
    } else if (rc == SQLITE_DONE) {
        result = mnemo_err_set(err, MNEMO_ENOTFOUND, "no such session (%s)", what);
    } else {
        result = mnemo_conn_error(conn, rc, what, err);
    }
    sqlite3_reset(stmt);
    return result;
}

/* ---- start ------------------------------------------------------------------------------- */

struct start_args {
    const char *agent, *agent_session_id, *project, *cwd;
    int64_t now;
    struct mnemo_session *out;
    int created;
};

static int start_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct start_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    sqlite3 *db = mnemo_conn_db(conn);

    int rc = mnemo_conn_prepare_cached(
        conn,
        "INSERT INTO sessions(agent, agent_session_id, project, cwd, started_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(agent, agent_session_id) DO NOTHING",
        &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_text(stmt, 1, a->agent, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 2, a->agent_session_id, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 3, a->project, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 4, a->cwd, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 5, a->now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind session start", err);
    rc = mnemo__session_step_done(conn, stmt, "insert session", err);
    if (rc != 0)
        return rc;
    a->created = sqlite3_changes(db) > 0;

    if (!a->created) {
        /* A resumed session: reopen it so prompts and summaries attach to a live session. */
        rc = mnemo_conn_prepare_cached(conn,
                                       "UPDATE sessions SET status = 'active', ended_at = NULL"
                                       " WHERE agent = ?1 AND agent_session_id = ?2"
                                       " AND status <> 'active'",
                                       &stmt, err);
        if (rc != 0)
            return rc;
        b = sqlite3_bind_text(stmt, 1, a->agent, -1, SQLITE_STATIC);
        if (b == SQLITE_OK)
            b = sqlite3_bind_text(stmt, 2, a->agent_session_id, -1, SQLITE_STATIC);
        if (b != SQLITE_OK)
            return mnemo__session_bind_error(conn, b, "bind session reopen", err);
        rc = mnemo__session_step_done(conn, stmt, "reopen session", err);
        if (rc != 0)
            return rc;
    }

    rc = mnemo_conn_prepare_cached(conn,
                                   "SELECT " SESSION_COLS " FROM sessions"
                                   " WHERE agent = ?1 AND agent_session_id = ?2",
                                   &stmt, err);
    if (rc != 0)
        return rc;
    b = sqlite3_bind_text(stmt, 1, a->agent, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 2, a->agent_session_id, -1, SQLITE_STATIC);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind session lookup", err);
    return fetch_one(conn, stmt, "session just started", a->out, err);
}

/* Starts or returns the session of (agent, agent_session_id). */
int mnemo_session_start(struct mnemo_store *st, const char *agent, const char *agent_session_id,
                        const char *project, const char *cwd, int64_t now_ms,
                        struct mnemo_session *out, int *created, struct mnemo_err *err)
{
    struct mnemo_session row;
    struct start_args a = {.agent = agent,
                           .agent_session_id = agent_session_id,
                           .project = project,
                           .cwd = cwd ? cwd : "",
                           .out = &row};
    int rc;

    if (out)
        memset(out, 0, sizeof *out);
    if (created)
        *created = 0;
    if (!st)
        return mnemo_err_set(err, MNEMO_EINVAL, "session start: no store");
    rc = check_agent(agent, err);
    if (rc == 0)
        rc = check_agent_id(agent_session_id, err);
    if (rc == 0)
        rc = mnemo_project_validate(project, err);
    if (rc == 0)
        rc = check_cwd(cwd, err);
    if (rc == 0)
        rc = mnemo__session_now(now_ms, "session start", &a.now, err);
    if (rc != 0)
        return rc;
    rc = mnemo_store_write(st, "session start", MNEMO_SESSION_TIMEOUT_MS, start_fn, &a, err);
    if (rc != 0)
        return rc;
    if (out)
        *out = row;
    if (created)
        *created = a.created;
    return 0;
}

/* ---- get, find --------------------------------------------------------------------------- */

struct get_args {
    int64_t id;
    const char *agent, *agent_session_id;
    struct mnemo_session *out;
};

static int get_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct get_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    int b;
    int rc;

    if (a->agent) {
        rc = mnemo_conn_prepare_cached(conn,
                                       "SELECT " SESSION_COLS " FROM sessions"
                                       " WHERE agent = ?1 AND agent_session_id = ?2",
                                       &stmt, err);
        if (rc != 0)
            return rc;
        b = sqlite3_bind_text(stmt, 1, a->agent, -1, SQLITE_STATIC);
        if (b == SQLITE_OK)
            b = sqlite3_bind_text(stmt, 2, a->agent_session_id, -1, SQLITE_STATIC);
    } else {
        rc = mnemo_conn_prepare_cached(conn, "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1",
                                       &stmt, err);
        if (rc != 0)
            return rc;
        b = sqlite3_bind_int64(stmt, 1, a->id);
    }
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind session get", err);
    rc = fetch_one(conn, stmt, "get session", a->out, err);
    if (rc == MNEMO_ENOTFOUND) {
        if (a->agent)
            mnemo_err_set(err, rc, "no session '%s' of agent '%s'", a->agent_session_id, a->agent);
        else
            mnemo_err_set(err, rc, "no session with id %lld", (long long)a->id);
    }
    return rc;
}

/* Reads a session by id. */
int mnemo_session_get(struct mnemo_store *st, int64_t id, struct mnemo_session *out,
                      struct mnemo_err *err)
{
    struct get_args a = {.id = id, .out = out};
    if (out)
        memset(out, 0, sizeof *out);
    if (!st || !out)
        return mnemo_err_set(err, MNEMO_EINVAL, "session get: no store or no output");
    if (id <= 0)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "no session with id %lld", (long long)id);
    int rc = mnemo_store_read(st, "session get", MNEMO_SESSION_TIMEOUT_MS, get_fn, &a, err);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* Reads a session by (agent, agent_session_id). */
int mnemo_session_find(struct mnemo_store *st, const char *agent, const char *agent_session_id,
                       struct mnemo_session *out, struct mnemo_err *err)
{
    struct get_args a = {.agent = agent, .agent_session_id = agent_session_id, .out = out};
    if (out)
        memset(out, 0, sizeof *out);
    if (!st || !out)
        return mnemo_err_set(err, MNEMO_EINVAL, "session find: no store or no output");
    int rc = check_agent(agent, err);
    if (rc == 0)
        rc = check_agent_id(agent_session_id, err);
    if (rc != 0)
        return rc;
    rc = mnemo_store_read(st, "session find", MNEMO_SESSION_TIMEOUT_MS, get_fn, &a, err);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- end --------------------------------------------------------------------------------- */

struct end_args {
    int64_t id, now;
    const char *status;
};

static int end_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct end_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "UPDATE sessions SET status = ?2,"
                                       " ended_at = max(?3, started_at)"
                                       " WHERE id = ?1 AND status = 'active'",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 2, a->status, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 3, a->now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind session end", err);
    rc = mnemo__session_step_done(conn, stmt, "end session", err);
    if (rc != 0 || sqlite3_changes(mnemo_conn_db(conn)) > 0)
        return rc;
    /* Nothing changed: either it already ended (fine) or it does not exist. */
    rc = mnemo_conn_prepare_cached(conn, "SELECT 1 FROM sessions WHERE id = ?1", &stmt, err);
    if (rc != 0)
        return rc;
    b = sqlite3_bind_int64(stmt, 1, a->id);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind session end", err);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW)
        rc = 0;
    else if (step == SQLITE_DONE)
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "no session with id %lld", (long long)a->id);
    else
        rc = mnemo_conn_error(conn, step, "end session", err);
    sqlite3_reset(stmt);
    return rc;
}

/* Ends an active session. */
int mnemo_session_end(struct mnemo_store *st, int64_t id, enum mnemo_session_status status,
                      int64_t now_ms, struct mnemo_err *err)
{
    struct end_args a = {.id = id};
    if (!st)
        return mnemo_err_set(err, MNEMO_EINVAL, "session end: no store");
    if (status != MNEMO_SESSION_COMPLETED && status != MNEMO_SESSION_FAILED)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "a session can end only as completed or failed, not '%s'",
                             mnemo_session_status_name(status));
    if (id <= 0)
        return mnemo_err_set(err, MNEMO_ENOTFOUND, "no session with id %lld", (long long)id);
    int rc = mnemo__session_now(now_ms, "session end", &a.now, err);
    if (rc != 0)
        return rc;
    a.status = mnemo_session_status_name(status);
    return mnemo_store_write(st, "session end", MNEMO_SESSION_TIMEOUT_MS, end_fn, &a, err);
}

/* ---- list -------------------------------------------------------------------------------- */

struct list_args {
    const char *project;
    int limit;
    struct mnemo_session *items;
    int n, cap;
};

static int list_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct list_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn,
                                       a->project ? "SELECT " SESSION_COLS " FROM sessions"
                                                    " WHERE project = ?1"
                                                    " ORDER BY started_at DESC, id DESC LIMIT ?2"
                                                  : "SELECT " SESSION_COLS " FROM sessions"
                                                    " ORDER BY started_at DESC, id DESC LIMIT ?2",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = a->project ? sqlite3_bind_text(stmt, 1, a->project, -1, SQLITE_STATIC) : SQLITE_OK;
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(stmt, 2, a->limit);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind session list", err);
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct mnemo_session *grown =
            mnemo__session_grow(a->items, sizeof *a->items, a->n, &a->cap, a->limit);
        if (!grown) {
            sqlite3_reset(stmt);
            return mnemo_err_set(err, MNEMO_ENOMEM, "session list: out of memory");
        }
        a->items = grown;
        read_row(stmt, &a->items[a->n++]);
    }
    rc = step == SQLITE_DONE ? 0 : mnemo_conn_error(conn, step, "list sessions", err);
    sqlite3_reset(stmt);
    return rc;
}

/* Lists the most recent sessions. */
int mnemo_session_list_recent(struct mnemo_store *st, const char *project, int limit,
                              struct mnemo_session **out, int *n, struct mnemo_err *err)
{
    struct list_args a = {.project = project, .limit = limit};
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!st || !out || !n)
        return mnemo_err_set(err, MNEMO_EINVAL, "session list: no store or no output");
    if (limit < 1 || limit > MNEMO_SESSION_LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "session list limit %d is outside 1..%d", limit,
                             MNEMO_SESSION_LIST_MAX);
    if (project) {
        int rc = mnemo_project_validate(project, err);
        if (rc != 0)
            return rc;
    }
    int rc = mnemo_store_read(st, "session list", MNEMO_SESSION_TIMEOUT_MS, list_fn, &a, err);
    if (rc != 0) {
        free(a.items);
        return rc;
    }
    *out = a.items;
    *n = a.n;
    return 0;
}
