/*
 * prompt.c - prompts numbered within their session, counted when private, stored once when
 * repeated within the dedup window (see prompt.h).
 */
#include "memory/prompt.h"

#include <stdlib.h>
#include <string.h>

#include "memory/session_int.h"

/* ---- record ------------------------------------------------------------------------------ */

struct record_args {
    int64_t session_id;
    const char *text;
    int wholly_private;
    int64_t now;
    struct mnemo_prompt_recorded res;
};

/*
 * Prompts compared for the duplicate rule: the session's most recent ones by number. Real
 * sessions see a prompt every few seconds at most, so this many always covers the window,
 * and it bounds the index scan however long the session has run.
 */
#define DEDUP_SCAN 64

/* Looks for the same text in the session within the window; *found 1 fills a->res. */
static int find_duplicate(struct mnemo_conn *conn, struct record_args *a, int64_t counter,
                          int *found, struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    *found = 0;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "SELECT id, number FROM prompts"
                                       " WHERE session_id = ?1 AND number > ?4"
                                       " AND created_at > ?2 AND text = ?3"
                                       " ORDER BY number DESC LIMIT 1",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->session_id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 2, a->now - MNEMO_PROMPT_DEDUP_WINDOW_MS);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 3, a->text, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 4, counter - DEDUP_SCAN);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind prompt dedup", err);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        a->res.id = sqlite3_column_int64(stmt, 0);
        a->res.number = sqlite3_column_int64(stmt, 1);
        a->res.duplicate = 1;
        *found = 1;
        rc = 0;
    } else {
        rc = step == SQLITE_DONE ? 0 : mnemo_conn_error(conn, step, "prompt dedup", err);
    }
    sqlite3_reset(stmt);
    return rc;
}

/* Reads the session's prompt counter; MNEMO_ENOTFOUND when the session does not exist. */
static int read_counter(struct mnemo_conn *conn, int64_t session_id, int64_t *counter,
                        struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn, "SELECT prompt_counter FROM sessions WHERE id = ?1",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, session_id);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind prompt counter", err);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        *counter = sqlite3_column_int64(stmt, 0);
        rc = 0;
    } else if (step == SQLITE_DONE) {
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "no session with id %lld", (long long)session_id);
    } else {
        rc = mnemo_conn_error(conn, step, "read prompt counter", err);
    }
    sqlite3_reset(stmt);
    return rc;
}

static int record_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct record_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    sqlite3 *db = mnemo_conn_db(conn);
    int64_t counter = 0;
    int b;

    /* This callback may run again after a busy snapshot: start from a clean result. */
    memset(&a->res, 0, sizeof a->res);
    /*
     * mnemo_store_write runs this inside BEGIN IMMEDIATE, which takes the write lock before
     * the counter is read, so no other writer can read the same value before this one
     * commits: numbers cannot collide.
     */
    int rc = read_counter(conn, a->session_id, &counter, err);
    if (rc != 0)
        return rc;
    if (!a->wholly_private) {
        int found = 0;
        rc = find_duplicate(conn, a, counter, &found, err);
        if (rc != 0 || found)
            return rc;
    }

    rc = mnemo_conn_prepare_cached(conn, "UPDATE sessions SET prompt_counter = ?2 WHERE id = ?1",
                                   &stmt, err);
    if (rc != 0)
        return rc;
    b = sqlite3_bind_int64(stmt, 1, a->session_id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 2, counter + 1);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind prompt counter", err);
    rc = mnemo__session_step_done(conn, stmt, "count prompt", err);
    if (rc != 0)
        return rc;
    a->res.number = counter + 1;
    if (a->wholly_private)
        return 0;

    rc = mnemo_conn_prepare_cached(conn,
                                   "INSERT INTO prompts(session_id, number, text, created_at)"
                                   " VALUES (?1, ?2, ?3, ?4)",
                                   &stmt, err);
    if (rc != 0)
        return rc;
    b = sqlite3_bind_int64(stmt, 1, a->session_id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 2, a->res.number);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 3, a->text, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 4, a->now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind prompt insert", err);
    rc = mnemo__session_step_done(conn, stmt, "insert prompt", err);
    if (rc != 0)
        return rc;
    a->res.id = sqlite3_last_insert_rowid(db);
    a->res.stored = 1;
    return 0;
}

/* Records a prompt (rules in prompt.h). */
int mnemo_prompt_record(struct mnemo_store *st, int64_t session_id, const char *text,
                        int wholly_private, int64_t now_ms, struct mnemo_prompt_recorded *out,
                        struct mnemo_err *err)
{
    struct record_args a = {.session_id = session_id, .wholly_private = wholly_private != 0};
    int rc;

    if (out)
        memset(out, 0, sizeof *out);
    if (!st)
        return mnemo_err_set(err, MNEMO_EINVAL, "prompt record: no store");
    if (session_id <= 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "prompt record: session id %lld is not valid",
                             (long long)session_id);
    if (!a.wholly_private) {
        if (!text || text[0] == '\0')
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "prompt text is empty (a prompt that was all private is "
                                 "recorded as wholly private)");
        rc = mnemo__session_check_text(text, MNEMO_PROMPT_TEXT_MAX, "prompt text", err);
        if (rc != 0)
            return rc;
        a.text = text;
    }
    rc = mnemo__session_now(now_ms, "prompt record", &a.now, err);
    if (rc != 0)
        return rc;
    rc = mnemo_store_write(st, "prompt record", MNEMO_PROMPT_TIMEOUT_MS, record_fn, &a, err);
    if (rc == 0 && out)
        *out = a.res;
    return rc;
}

/* ---- read -------------------------------------------------------------------------------- */

#define PROMPT_COLS "id, session_id, number, created_at, text"

/* Fills p from a row selecting PROMPT_COLS. Returns 0 or MNEMO_ENOMEM. */
static int read_row(sqlite3_stmt *stmt, struct mnemo_prompt *p)
{
    p->id = sqlite3_column_int64(stmt, 0);
    p->session_id = sqlite3_column_int64(stmt, 1);
    p->number = sqlite3_column_int64(stmt, 2);
    p->created_at = sqlite3_column_int64(stmt, 3);
    p->text = mnemo__session_column_dup(stmt, 4);
    return p->text ? 0 : MNEMO_ENOMEM;
}

struct get_args {
    int64_t session_id, number;
    struct mnemo_prompt *out;
};

static int get_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct get_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "SELECT " PROMPT_COLS " FROM prompts"
                                       " WHERE session_id = ?1 AND number = ?2",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->session_id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 2, a->number);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind prompt get", err);
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        rc = read_row(stmt, a->out);
        if (rc != 0)
            mnemo_err_set(err, rc, "prompt get: out of memory");
    } else if (step == SQLITE_DONE) {
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "no prompt %lld in session %lld",
                           (long long)a->number, (long long)a->session_id);
    } else {
        rc = mnemo_conn_error(conn, step, "get prompt", err);
    }
    sqlite3_reset(stmt);
    return rc;
}

/* Reads one prompt. */
int mnemo_prompt_get(struct mnemo_store *st, int64_t session_id, int64_t number,
                     struct mnemo_prompt *out, struct mnemo_err *err)
{
    struct get_args a = {.session_id = session_id, .number = number, .out = out};
    if (out)
        memset(out, 0, sizeof *out);
    if (!st || !out)
        return mnemo_err_set(err, MNEMO_EINVAL, "prompt get: no store or no output");
    int rc = mnemo_store_read(st, "prompt get", MNEMO_PROMPT_TIMEOUT_MS, get_fn, &a, err);
    if (rc != 0)
        mnemo_prompt_release(out);
    return rc;
}

/* Frees a prompt's text. */
void mnemo_prompt_release(struct mnemo_prompt *p)
{
    if (!p)
        return;
    free(p->text);
    memset(p, 0, sizeof *p);
}

struct list_args {
    int64_t session_id, after;
    int limit;
    struct mnemo_prompt *items;
    int n, cap;
};

static int list_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct list_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "SELECT " PROMPT_COLS " FROM prompts"
                                       " WHERE session_id = ?1 AND number > ?2"
                                       " ORDER BY number LIMIT ?3",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->session_id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 2, a->after);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(stmt, 3, a->limit);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind prompt list", err);
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct mnemo_prompt *grown =
            mnemo__session_grow(a->items, sizeof *a->items, a->n, &a->cap, a->limit);
        rc = grown ? 0 : MNEMO_ENOMEM;
        if (grown) {
            a->items = grown;
            rc = read_row(stmt, &a->items[a->n]);
            if (rc == 0)
                a->n++;
        }
        if (rc != 0) {
            sqlite3_reset(stmt);
            return mnemo_err_set(err, rc, "prompt list: out of memory");
        }
    }
    rc = step == SQLITE_DONE ? 0 : mnemo_conn_error(conn, step, "list prompts", err);
    sqlite3_reset(stmt);
    return rc;
}

/* Lists a session's prompts in number order. */
int mnemo_prompt_list(struct mnemo_store *st, int64_t session_id, int64_t after_number, int limit,
                      struct mnemo_prompt **out, int *n, struct mnemo_err *err)
{
    struct list_args a = {.session_id = session_id, .after = after_number, .limit = limit};
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!st || !out || !n)
        return mnemo_err_set(err, MNEMO_EINVAL, "prompt list: no store or no output");
    if (limit < 1 || limit > MNEMO_PROMPT_LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "prompt list limit %d is outside 1..%d", limit,
                             MNEMO_PROMPT_LIST_MAX);
    if (after_number < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "prompt list: after_number %lld is negative",
                             (long long)after_number);
    int rc = mnemo_store_read(st, "prompt list", MNEMO_PROMPT_TIMEOUT_MS, list_fn, &a, err);
    if (rc != 0) {
        mnemo_prompt_list_free(a.items, a.n);
        return rc;
    }
    *out = a.items;
    *n = a.n;
    return 0;
}

/* Frees a prompt list. */
void mnemo_prompt_list_free(struct mnemo_prompt *list, int n)
{
    if (!list)
        return;
    for (int i = 0; i < n; i++)
        free(list[i].text);
    free(list);
}
