/*
 * session.h - agent sessions: one row per (agent, the agent's own session id), with the
 * project and working directory it started in, its status and its prompt counter.
 *
 * A session is what hooks hang everything else on: prompts are numbered within it
 * (prompt.h), summaries and observations point at it. Starting is idempotent, because every
 * hook of a session may be the first one mnemo sees (a worker restart, a resumed session).
 *
 * Every call runs its SQL in one mnemo_store_read/mnemo_store_write transaction with the
 * deadline MNEMO_SESSION_TIMEOUT_MS (sessions sit on the hook path, which must not wait long).
 * Timestamps are Unix milliseconds; a now_ms of 0 means "the wall clock now", and tests pass
 * their own to control time.
 *
 * Thread-safety: every function may be called from any thread with the same store; a
 * struct mnemo_session belongs to its caller.
 * Errors: 0 or a negative enum mnemo_rc with detail in the optional struct mnemo_err. Bad
 * input is rejected with MNEMO_EINVAL or MNEMO_ETOOBIG naming the field, and writes nothing.
 */
#ifndef MNEMO_MEMORY_SESSION_H
#define MNEMO_MEMORY_SESSION_H

#include <stdint.h>

#include "memory/project.h"
#include "store/store.h"

/* Agent names: 1..32 bytes of [a-z0-9_-] ("claude", "codex", "gemini", "cursor", ...). */
#define MNEMO_SESSION_AGENT_MAX 32
/* The agent's session id: 1..256 bytes of printable ASCII (agents use UUIDs). */
#define MNEMO_SESSION_AGENT_ID_MAX 256
/* The working directory: 0..4095 bytes without control characters. */
#define MNEMO_SESSION_CWD_MAX 4095
/* The most sessions one list call returns. */
#define MNEMO_SESSION_LIST_MAX 1000
/* Deadline of every call in this module. */
#define MNEMO_SESSION_TIMEOUT_MS MNEMO_STORE_TIMEOUT_FAST_MS

enum mnemo_session_status {
    MNEMO_SESSION_ACTIVE = 0,
    MNEMO_SESSION_COMPLETED = 1,
    MNEMO_SESSION_FAILED = 2,
};

/* One session, by value: it owns no memory and needs no release. */
struct mnemo_session {
    int64_t id;
    char agent[MNEMO_SESSION_AGENT_MAX + 1];
    char agent_session_id[MNEMO_SESSION_AGENT_ID_MAX + 1];
    char project[MNEMO_PROJECT_SIZE];
    char cwd[MNEMO_SESSION_CWD_MAX + 1];
    int64_t started_at;
    int64_t ended_at; /* 0 while active */
    enum mnemo_session_status status;
    int64_t prompt_counter; /* prompts counted so far, wholly private ones included */
};

/* "active", "completed" or "failed" (static); "unknown" for anything else. */
const char *mnemo_session_status_name(enum mnemo_session_status status);

/* Parses a status name. Returns 0 or MNEMO_EINVAL (NULL or unknown name). */
int mnemo_session_status_parse(const char *name, enum mnemo_session_status *out,
                               struct mnemo_err *err);

/*
 * Starts the session (agent, agent_session_id) in project (checked with
 * mnemo_project_validate) and cwd (NULL means ""), or returns the one that exists: the same
 * pair always maps to the same row, and its project, cwd and started_at stay as first
 * recorded. An existing session that had ended is reopened (status active, ended_at 0),
 * because agents resume sessions under the same id. *out (may be NULL) receives the row;
 * *created (may be NULL) is 1 when the row was inserted by this call, else 0.
 * Returns 0, MNEMO_EINVAL/MNEMO_ETOOBIG for bad input, or a store error.
 */
int mnemo_session_start(struct mnemo_store *st, const char *agent, const char *agent_session_id,
                        const char *project, const char *cwd, int64_t now_ms,
                        struct mnemo_session *out, int *created, struct mnemo_err *err);

/* Reads session id into *out. Returns 0, MNEMO_ENOTFOUND or a store error (*out zeroed). */
int mnemo_session_get(struct mnemo_store *st, int64_t id, struct mnemo_session *out,
                      struct mnemo_err *err);

/* Reads the session of (agent, agent_session_id). Same returns as mnemo_session_get. */
int mnemo_session_find(struct mnemo_store *st, const char *agent, const char *agent_session_id,
                       struct mnemo_session *out, struct mnemo_err *err);

/*
 * Ends an active session with status MNEMO_SESSION_COMPLETED or MNEMO_SESSION_FAILED at
 * now_ms (never before its start, should the clock have stepped back). Ending a session
 * that already ended changes nothing and returns 0 (hooks retry), so the first end wins.
 * Returns 0, MNEMO_EINVAL (status active or unknown), MNEMO_ENOTFOUND or a store error.
 */
int mnemo_session_end(struct mnemo_store *st, int64_t id, enum mnemo_session_status status,
                      int64_t now_ms, struct mnemo_err *err);

/*
 * The most recently started sessions of project (NULL: of every project), newest first,
 * at most limit (1..MNEMO_SESSION_LIST_MAX). On success *out is a malloc'd array of *n
 * sessions (NULL when *n is 0) that the caller frees with free(). Returns 0, MNEMO_EINVAL,
 * MNEMO_ENOMEM or a store error (*out NULL, *n 0).
 */
int mnemo_session_list_recent(struct mnemo_store *st, const char *project, int limit,
                              struct mnemo_session **out, int *n, struct mnemo_err *err);

#endif
