/*
 * events.h - the durable capture queue: raw hook events (already redacted by the caller)
 * appended in one short transaction each and processed in order by the worker's capture
 * thread. An event is marked done only in the transaction that writes what was extracted
 * from it, so a crash anywhere loses nothing; after MNEMO_EVENTS_MAX_ATTEMPTS failures it
 * moves to the dead-letter state 'failed' with its last error and stays visible.
 *
 * Ownership: struct mnemo_event strings are owned by the struct (mnemo_event_release).
 * Thread-safety: every function may be called from any thread (the store serializes writes).
 */
#ifndef MNEMO_MEMORY_EVENTS_H
#define MNEMO_MEMORY_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define MNEMO_EVENTS_MAX_ATTEMPTS 3
/* Largest payload accepted, in bytes (a hook event with a big tool output is cut before). */
#define MNEMO_EVENTS_MAX_PAYLOAD (1024 * 1024)

struct mnemo_event {
    int64_t id;
    int64_t session_id; /* 0 when not linked to a session row */
    char *agent_session_id;
    char *agent;    /* "claude", "codex", ... */
    char *kind;     /* "post-tool-use", "stop", "session-start", ... */
    char *payload;  /* JSON text */
    char status[8]; /* "pending", "done", "failed" */
    int attempts;
    char *last_error;
    int64_t created_at, updated_at; /* Unix ms */
};

void mnemo_event_release(struct mnemo_event *e);

/*
 * Appends one pending event; returns once it has committed (durable under the store's
 * synchronous setting). payload must be valid JSON text of at most MNEMO_EVENTS_MAX_PAYLOAD
 * bytes. *id (may be NULL) gets the new id. Returns 0, MNEMO_EINVAL, MNEMO_ETOOBIG or a
 * store error; nothing is written on failure.
 */
int mnemo_events_append(struct mnemo_store *st, const char *agent, const char *agent_session_id,
                        int64_t session_id, const char *kind, const char *payload, int64_t now_ms,
                        int64_t *id, struct mnemo_err *err);

/*
 * Reads up to max pending events with id > after_id in id order into out (caller array of
 * max structs, each initialised here); *n gets the count. Returns 0 or a store error.
 */
int mnemo_events_pending(struct mnemo_store *st, int64_t after_id, struct mnemo_event *out,
                         size_t max, size_t *n, struct mnemo_err *err);

/*
 * Marks event id done inside the caller's write transaction (conn from mnemo_store_write).
 * last_error is kept, so a done event still shows why an earlier attempt failed.
 * MNEMO_ENOTFOUND when no event has that id.
 */
int mnemo_events_done_conn(struct mnemo_conn *conn, int64_t id, int64_t now_ms,
                           struct mnemo_err *err);

/* Marks event id done in its own transaction. */
int mnemo_events_done(struct mnemo_store *st, int64_t id, int64_t now_ms, struct mnemo_err *err);

/*
 * Records a failed attempt with its error; after MNEMO_EVENTS_MAX_ATTEMPTS attempts the
 * event becomes 'failed' (dead letter). *dead (may be NULL) is set to 1 then. The error is
 * kept up to 1024 bytes (cut at a UTF-8 boundary). Only a pending event can fail:
 * MNEMO_EINVAL for a done or dead one, MNEMO_ENOTFOUND for an unknown id.
 */
int mnemo_events_fail(struct mnemo_store *st, int64_t id, const char *error, int64_t now_ms,
                      int *dead, struct mnemo_err *err);

/*
 * Puts dead-lettered events back to pending with attempts 0 (id 0 = all). *n = rows (0 when
 * id names an event that is not dead-lettered).
 */
int mnemo_events_retry(struct mnemo_store *st, int64_t id, int64_t *n, struct mnemo_err *err);

struct mnemo_events_stats {
    int64_t pending, done, failed;
    int64_t oldest_pending_ms; /* created_at of the oldest pending event, 0 when none */
};

int mnemo_events_stats(struct mnemo_store *st, struct mnemo_events_stats *out,
                       struct mnemo_err *err);

/*
 * Deletes done events older than before_ms (maintenance). *n = rows deleted. "Older" is by
 * updated_at, the time the event was marked done; rows go in batches of a few thousand per
 * transaction so the writer lock is never held long.
 */
int mnemo_events_prune(struct mnemo_store *st, int64_t before_ms, int64_t *n,
                       struct mnemo_err *err);

/*
 * Lists recent events, newest first, optionally only one status (NULL = any; otherwise
 * "pending", "done" or "failed", else MNEMO_EINVAL). limit 1..1000, 0 = 100. *out is a
 * malloc'd array (NULL when *n is 0) freed with mnemo_events_list_free.
 */
int mnemo_events_list(struct mnemo_store *st, const char *status, int limit,
                      struct mnemo_event **out, size_t *n, struct mnemo_err *err);

void mnemo_events_list_free(struct mnemo_event *list, size_t n);

#endif
