/*
 * events.c - the durable capture queue over the events table (see events.h): short write
 * transactions for append/done/fail/retry/prune, snapshot reads for pending/stats/list.
 */
#include "memory/events.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "memory/session_int.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* Longest agent or kind name, in bytes. */
#define NAME_MAX_BYTES 64
/* Longest agent session id (the sessions table's bound). */
#define AGENT_SID_MAX 256
/* Longest last_error kept; longer messages are cut at a UTF-8 boundary. */
#define ERROR_MAX 1024
/* Events deleted per prune transaction, so a big prune never holds the writer for long. */
#define PRUNE_BATCH 2000
/* Most rows one list call returns, and the default. */
#define LIST_MAX     1000
#define LIST_DEFAULT 100
/* Deadline of the calls on the hook path (append) and of the others. */
#define APPEND_TIMEOUT_MS MNEMO_STORE_TIMEOUT_FAST_MS
#define EVENTS_TIMEOUT_MS MNEMO_STORE_TIMEOUT_DEFAULT_MS

#define EVENT_COLS                                                                                 \
    "id, coalesce(session_id, 0), agent_session_id, agent, kind, payload, status, attempts,"       \
    " last_error, created_at, updated_at"

void mnemo_event_release(struct mnemo_event *e)
{
    if (e == NULL)
        return;
    free(e->agent_session_id);
    free(e->agent);
    free(e->kind);
    free(e->payload);
    free(e->last_error);
    memset(e, 0, sizeof *e);
}

/* ---- validation -------------------------------------------------------------------------- */

/*
 * An agent or kind name: 1..max bytes of printable ASCII. They reach logs, JSON and SQL
 * bindings, so control characters and odd encodings are refused at the door.
 */
static int check_name(const char *s, size_t max, const char *field, struct mnemo_err *err)
{
    if (s == NULL || s[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "event %s is empty", field);
    size_t len = strnlen(s, max + 1);
    if (len > max)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "event %s is longer than %zu bytes", field, max);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "event %s has a non-printable byte 0x%02x at offset %zu", field, c,
                                 i);
    }
    return 0;
}

/* The payload: valid JSON text of at most MNEMO_EVENTS_MAX_PAYLOAD bytes. */
static int check_payload(const char *payload, struct mnemo_err *err)
{
    if (payload == NULL || payload[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "event payload is empty");
    size_t len = strnlen(payload, (size_t)MNEMO_EVENTS_MAX_PAYLOAD + 1);
    if (len > (size_t)MNEMO_EVENTS_MAX_PAYLOAD)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "event payload is larger than %d bytes",
                             MNEMO_EVENTS_MAX_PAYLOAD);
    json_error_t jerr;
    json_t *j = json_loadb(payload, len, JSON_DECODE_ANY, &jerr);
    if (j == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "event payload is not valid JSON: %s (line %d, column %d)", jerr.text,
                             jerr.line, jerr.column);
    json_decref(j);
    return 0;
}

/* ---- append ------------------------------------------------------------------------------ */

struct append_args {
    const char *agent, *agent_session_id, *kind, *payload;
    int64_t session_id, now, id;
};

static int append_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct append_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(
        conn,
        "INSERT INTO events(session_id, agent_session_id, agent, kind, payload, status, attempts,"
        " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6)",
        &stmt, err);
    if (rc != 0)
        return rc;
    int b =
        a->session_id > 0 ? sqlite3_bind_int64(stmt, 1, a->session_id) : sqlite3_bind_null(stmt, 1);
    if (b == SQLITE_OK)
        b = a->agent_session_id ? sqlite3_bind_text(stmt, 2, a->agent_session_id, -1, SQLITE_STATIC)
                                : sqlite3_bind_null(stmt, 2);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 3, a->agent, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 4, a->kind, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 5, a->payload, -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 6, a->now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind event append", err);
    int step = sqlite3_step(stmt);
    if (step != SQLITE_DONE) {
        /* A session id that names no session breaks the foreign key: the caller's mistake. */
        if (sqlite3_extended_errcode(mnemo_conn_db(conn)) == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "event append: no session with id %lld",
                               (long long)a->session_id);
        else
            rc = mnemo_conn_error(conn, step, "append event", err);
        sqlite3_reset(stmt);
        return rc;
    }
    sqlite3_reset(stmt);
    a->id = sqlite3_last_insert_rowid(mnemo_conn_db(conn));
    return 0;
}

/* Appends one pending event (see events.h). */
int mnemo_events_append(struct mnemo_store *st, const char *agent, const char *agent_session_id,
                        int64_t session_id, const char *kind, const char *payload, int64_t now_ms,
                        int64_t *id, struct mnemo_err *err)
{
    struct append_args a = {.agent = agent,
                            .agent_session_id = agent_session_id,
                            .kind = kind,
                            .payload = payload,
                            .session_id = session_id};
    int rc;

    if (id)
        *id = 0;
    if (st == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "event append: no store");
    rc = check_name(agent, NAME_MAX_BYTES, "agent", err);
    if (rc == 0)
        rc = check_name(kind, NAME_MAX_BYTES, "kind", err);
    if (rc == 0 && agent_session_id != NULL && agent_session_id[0] != '\0')
        rc = check_name(agent_session_id, AGENT_SID_MAX, "agent_session_id", err);
    if (rc != 0)
        return rc;
    if (agent_session_id != NULL && agent_session_id[0] == '\0')
        a.agent_session_id = NULL;
    if (session_id < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "event session id %lld is negative",
                             (long long)session_id);
    rc = check_payload(payload, err);
    if (rc != 0)
        return rc;
    rc = mnemo__session_now(now_ms, "event append", &a.now, err);
    if (rc != 0)
        return rc;
    rc = mnemo_store_write(st, "event append", APPEND_TIMEOUT_MS, append_fn, &a, err);
    if (rc == 0 && id)
        *id = a.id;
    return rc;
}

/* ---- reading rows ------------------------------------------------------------------------ */

/* A malloc'd copy of a nullable text column: NULL stays NULL. *oom set on allocation failure. */
static char *column_dup_nullable(sqlite3_stmt *stmt, int col, int *oom)
{
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
        return NULL;
    char *s = mnemo__session_column_dup(stmt, col);
    if (s == NULL)
        *oom = 1;
    return s;
}

/* Fills e (zeroed first) from a row selecting EVENT_COLS. Returns 0 or MNEMO_ENOMEM. */
static int read_event(sqlite3_stmt *stmt, struct mnemo_event *e, struct mnemo_err *err)
{
    int oom = 0;
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(stmt, 0);
    e->session_id = sqlite3_column_int64(stmt, 1);
    e->agent_session_id = column_dup_nullable(stmt, 2, &oom);
    e->agent = mnemo__session_column_dup(stmt, 3);
    e->kind = mnemo__session_column_dup(stmt, 4);
    e->payload = mnemo__session_column_dup(stmt, 5);
    mnemo__session_column_copy(stmt, 6, e->status, sizeof e->status);
    e->attempts = sqlite3_column_int(stmt, 7);
    e->last_error = column_dup_nullable(stmt, 8, &oom);
    e->created_at = sqlite3_column_int64(stmt, 9);
    e->updated_at = sqlite3_column_int64(stmt, 10);
    if (oom || e->agent == NULL || e->kind == NULL || e->payload == NULL) {
        mnemo_event_release(e);
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory reading event");
    }
    return 0;
}

/* ---- pending ----------------------------------------------------------------------------- */

struct pending_args {
    int64_t after_id;
    struct mnemo_event *out;
    size_t max, n;
};

static int pending_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct pending_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    for (size_t i = 0; i < a->n; i++)
        mnemo_event_release(&a->out[i]);
    a->n = 0;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "SELECT " EVENT_COLS " FROM events"
                                       " WHERE status = 'pending' AND id > ?1 ORDER BY id LIMIT ?2",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->after_id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 2, (int64_t)a->max);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind pending events", err);
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW && a->n < a->max) {
        rc = read_event(stmt, &a->out[a->n], err);
        if (rc != 0)
            break;
        a->n++;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = mnemo_conn_error(conn, step, "read pending events", err);
    sqlite3_reset(stmt);
    if (rc != 0) {
        /* A read transaction may be retried by the store: leave nothing half filled. */
        for (size_t i = 0; i < a->n; i++)
            mnemo_event_release(&a->out[i]);
        a->n = 0;
    }
    return rc;
}

/* Reads up to max pending events after after_id in id order (see events.h). */
int mnemo_events_pending(struct mnemo_store *st, int64_t after_id, struct mnemo_event *out,
                         size_t max, size_t *n, struct mnemo_err *err)
{
    struct pending_args a = {.after_id = after_id, .out = out, .max = max};
    if (n)
        *n = 0;
    if (st == NULL || out == NULL || n == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "events pending: missing argument");
    for (size_t i = 0; i < max; i++)
        memset(&out[i], 0, sizeof out[i]);
    if (max == 0)
        return 0;
    int rc = mnemo_store_read(st, "events pending", EVENTS_TIMEOUT_MS, pending_fn, &a, err);
    if (rc == 0)
        *n = a.n;
    return rc;
}

/* ---- done -------------------------------------------------------------------------------- */

/* Marks id done on the caller's write connection (see events.h). */
int mnemo_events_done_conn(struct mnemo_conn *conn, int64_t id, int64_t now_ms,
                           struct mnemo_err *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t now;
    if (conn == NULL || id <= 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "event done: bad connection or id %lld",
                             (long long)id);
    int rc = mnemo__session_now(now_ms, "event done", &now, err);
    if (rc != 0)
        return rc;
    rc = mnemo_conn_prepare_cached(
        conn, "UPDATE events SET status = 'done', updated_at = ?2 WHERE id = ?1", &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 2, now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind event done", err);
    rc = mnemo__session_step_done(conn, stmt, "mark event done", err);
    if (rc == 0 && sqlite3_changes(mnemo_conn_db(conn)) == 0)
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "no event with id %lld", (long long)id);
    return rc;
}

struct done_args {
    int64_t id, now;
};

static int done_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct done_args *a = arg;
    return mnemo_events_done_conn(conn, a->id, a->now, err);
}

/* Marks id done in its own transaction. */
int mnemo_events_done(struct mnemo_store *st, int64_t id, int64_t now_ms, struct mnemo_err *err)
{
    struct done_args a = {.id = id};
    if (st == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "event done: no store");
    int rc = mnemo__session_now(now_ms, "event done", &a.now, err);
    if (rc != 0)
        return rc;
    return mnemo_store_write(st, "event done", EVENTS_TIMEOUT_MS, done_fn, &a, err);
}

/* ---- fail and retry ---------------------------------------------------------------------- */

struct fail_args {
    int64_t id, now;
    const char *error;
    int dead;
};

static int fail_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct fail_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    a->dead = 0;
    int rc = mnemo_conn_prepare_cached(conn, "SELECT status, attempts FROM events WHERE id = ?1",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->id);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind event fail", err);
    int step = sqlite3_step(stmt);
    char status[8] = "";
    int attempts = 0;
    if (step == SQLITE_ROW) {
        mnemo__session_column_copy(stmt, 0, status, sizeof status);
        attempts = sqlite3_column_int(stmt, 1);
        rc = 0;
    } else if (step == SQLITE_DONE) {
        rc = mnemo_err_set(err, MNEMO_ENOTFOUND, "no event with id %lld", (long long)a->id);
    } else {
        rc = mnemo_conn_error(conn, step, "read event", err);
    }
    sqlite3_reset(stmt);
    if (rc != 0)
        return rc;
    if (strcmp(status, "pending") != 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "event %lld is %s, not pending", (long long)a->id,
                             status);

    attempts++;
    a->dead = attempts >= MNEMO_EVENTS_MAX_ATTEMPTS;
    rc = mnemo_conn_prepare_cached(conn,
                                   "UPDATE events SET attempts = ?2, last_error = ?3,"
                                   " status = ?4, updated_at = ?5 WHERE id = ?1",
                                   &stmt, err);
    if (rc != 0)
        return rc;
    size_t elen = mnemo_utf8_cut(a->error, strnlen(a->error, ERROR_MAX));
    b = sqlite3_bind_int64(stmt, 1, a->id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(stmt, 2, attempts);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 3, a->error, (int)elen, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_text(stmt, 4, a->dead ? "failed" : "pending", -1, SQLITE_STATIC);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 5, a->now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind event fail", err);
    return mnemo__session_step_done(conn, stmt, "record event failure", err);
}

/* Records one failed attempt; dead-letters after MNEMO_EVENTS_MAX_ATTEMPTS (see events.h). */
int mnemo_events_fail(struct mnemo_store *st, int64_t id, const char *error, int64_t now_ms,
                      int *dead, struct mnemo_err *err)
{
    struct fail_args a = {.id = id, .error = error ? error : "unknown error"};
    if (dead)
        *dead = 0;
    if (st == NULL || id <= 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "event fail: bad store or id %lld", (long long)id);
    int rc = mnemo__session_now(now_ms, "event fail", &a.now, err);
    if (rc != 0)
        return rc;
    rc = mnemo_store_write(st, "event fail", EVENTS_TIMEOUT_MS, fail_fn, &a, err);
    if (rc == 0 && dead)
        *dead = a.dead;
    return rc;
}

struct retry_args {
    int64_t id, now, n;
};

static int retry_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct retry_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "UPDATE events SET status = 'pending', attempts = 0,"
                                       " updated_at = ?2 WHERE status = 'failed'"
                                       " AND (?1 = 0 OR id = ?1)",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->id);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int64(stmt, 2, a->now);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind event retry", err);
    rc = mnemo__session_step_done(conn, stmt, "requeue events", err);
    if (rc == 0)
        a->n = sqlite3_changes(mnemo_conn_db(conn));
    return rc;
}

/*
 * Requeues dead-lettered events (see events.h). last_error is kept so the next failure, or
 * the list, still shows why the event died before.
 */
int mnemo_events_retry(struct mnemo_store *st, int64_t id, int64_t *n, struct mnemo_err *err)
{
    struct retry_args a = {.id = id, .now = mnemo_clock_wall_ms()};
    if (n)
        *n = 0;
    if (st == NULL || id < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "event retry: bad store or id %lld", (long long)id);
    int rc = mnemo_store_write(st, "event retry", EVENTS_TIMEOUT_MS, retry_fn, &a, err);
    if (rc == 0 && n)
        *n = a.n;
    return rc;
}

/* ---- stats and prune --------------------------------------------------------------------- */

static int stats_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct mnemo_events_stats *s = arg;
    sqlite3_stmt *stmt = NULL;
    memset(s, 0, sizeof *s);
    /* Each count is an index range scan on events(status, id). */
    int rc =
        mnemo_conn_prepare_cached(conn,
                                  "SELECT (SELECT count(*) FROM events WHERE status = 'pending'),"
                                  " (SELECT count(*) FROM events WHERE status = 'done'),"
                                  " (SELECT count(*) FROM events WHERE status = 'failed'),"
                                  " coalesce((SELECT created_at FROM events"
                                  " WHERE status = 'pending' ORDER BY id LIMIT 1), 0)",
                                  &stmt, err);
    if (rc != 0)
        return rc;
    int step = sqlite3_step(stmt);
    if (step == SQLITE_ROW) {
        s->pending = sqlite3_column_int64(stmt, 0);
        s->done = sqlite3_column_int64(stmt, 1);
        s->failed = sqlite3_column_int64(stmt, 2);
        s->oldest_pending_ms = sqlite3_column_int64(stmt, 3);
        rc = 0;
    } else {
        rc = mnemo_conn_error(conn, step, "count events", err);
    }
    sqlite3_reset(stmt);
    return rc;
}

/* Counts events per status (see events.h). */
int mnemo_events_stats(struct mnemo_store *st, struct mnemo_events_stats *out,
                       struct mnemo_err *err)
{
    if (st == NULL || out == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "events stats: missing argument");
    memset(out, 0, sizeof *out);
    int rc = mnemo_store_read(st, "events stats", EVENTS_TIMEOUT_MS, stats_fn, out, err);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

struct prune_args {
    int64_t before, n;
};

static int prune_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct prune_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    a->n = 0;
    int rc = mnemo_conn_prepare_cached(conn,
                                       "DELETE FROM events WHERE id IN (SELECT id FROM events"
                                       " WHERE status = 'done' AND updated_at < ?1 ORDER BY id"
                                       " LIMIT ?2)",
                                       &stmt, err);
    if (rc != 0)
        return rc;
    int b = sqlite3_bind_int64(stmt, 1, a->before);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(stmt, 2, PRUNE_BATCH);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind event prune", err);
    rc = mnemo__session_step_done(conn, stmt, "prune events", err);
    if (rc == 0)
        a->n = sqlite3_changes(mnemo_conn_db(conn));
    return rc;
}

/*
 * Deletes done events finished before before_ms (updated_at is when they were marked done),
 * PRUNE_BATCH per transaction so other writers get the lock between batches.
 */
int mnemo_events_prune(struct mnemo_store *st, int64_t before_ms, int64_t *n, struct mnemo_err *err)
{
    struct prune_args a = {.before = before_ms};
    int64_t total = 0;
    int rc;
    if (n)
        *n = 0;
    if (st == NULL || before_ms < 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "events prune: bad store or time %lld",
                             (long long)before_ms);
    do {
        rc = mnemo_store_write(st, "events prune", EVENTS_TIMEOUT_MS, prune_fn, &a, err);
        if (rc != 0)
            break;
        total += a.n;
    } while (a.n == PRUNE_BATCH);
    if (n)
        *n = total;
    return rc;
}

/* ---- list -------------------------------------------------------------------------------- */

struct list_args {
    const char *status;
    int limit;
    struct mnemo_event *items;
    size_t n;
};

static void free_items(struct mnemo_event *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mnemo_event_release(&items[i]);
    free(items);
}

static int list_fn(struct mnemo_conn *conn, void *arg, struct mnemo_err *err)
{
    struct list_args *a = arg;
    sqlite3_stmt *stmt = NULL;
    free_items(a->items, a->n);
    a->items = NULL;
    a->n = 0;
    int rc =
        mnemo_conn_prepare_cached(conn,
                                  "SELECT " EVENT_COLS " FROM events"
                                  " WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2",
                                  &stmt, err);
    if (rc != 0)
        return rc;
    int b = a->status ? sqlite3_bind_text(stmt, 1, a->status, -1, SQLITE_STATIC)
                      : sqlite3_bind_null(stmt, 1);
    if (b == SQLITE_OK)
        b = sqlite3_bind_int(stmt, 2, a->limit);
    if (b != SQLITE_OK)
        return mnemo__session_bind_error(conn, b, "bind event list", err);
    a->items = calloc((size_t)a->limit, sizeof *a->items);
    if (a->items == NULL) {
        sqlite3_reset(stmt);
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory listing events");
    }
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW && a->n < (size_t)a->limit) {
        rc = read_event(stmt, &a->items[a->n], err);
        if (rc != 0)
            break;
        a->n++;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = mnemo_conn_error(conn, step, "list events", err);
    sqlite3_reset(stmt);
    return rc;
}

/* Lists recent events, newest first (see events.h); limit 0 means 100, at most 1000. */
int mnemo_events_list(struct mnemo_store *st, const char *status, int limit,
                      struct mnemo_event **out, size_t *n, struct mnemo_err *err)
{
    struct list_args a = {.status = status, .limit = limit == 0 ? LIST_DEFAULT : limit};
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (st == NULL || out == NULL || n == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "events list: missing argument");
    if (a.limit < 1 || a.limit > LIST_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "events list: limit %d is not in 1..%d", limit,
                             LIST_MAX);
    if (status != NULL && strcmp(status, "pending") != 0 && strcmp(status, "done") != 0 &&
        strcmp(status, "failed") != 0)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "events list: status must be pending, done or failed");
    int rc = mnemo_store_read(st, "events list", EVENTS_TIMEOUT_MS, list_fn, &a, err);
    if (rc != 0) {
        free_items(a.items, a.n);
        return rc;
    }
    if (a.n == 0) {
        free(a.items);
        a.items = NULL;
    }
    *out = a.items;
    *n = a.n;
    return 0;
}

void mnemo_events_list_free(struct mnemo_event *list, size_t n)
{
    free_items(list, n);
}
