/*
 * prompt.h - the user's prompts, numbered within their session.
 *
 * Each prompt the agent reports gets the next number of its session's counter, taken inside
 * the same write transaction that stores it, so numbers are unique and consecutive however
 * many threads record at once (UNIQUE(session_id, number) backs this up). Two rules from the
 * reference:
 * - a wholly private prompt (all of it inside <private> tags) is counted but not stored, so
 *   later numbers still match the agent's own count;
 * - the same text recorded again in the same session within MNEMO_PROMPT_DEDUP_WINDOW_MS is
 *   stored once: the second call returns the first one's number with duplicate set (hooks
 *   retry, and some agents fire the prompt hook twice). Only the session's 64 most recent
 *   prompt numbers are compared, which bounds the work and covers any real 10 s window.
 * The text must already have been cleaned by the privacy module; this module never looks
 * inside it. Full-text search over prompts is the search layer's job (prompts_fts is kept in
 * step by triggers).
 *
 * Every call runs in one mnemo_store_read/mnemo_store_write transaction with the deadline
 * MNEMO_PROMPT_TIMEOUT_MS (recording sits on the prompt path). Timestamps are Unix
 * milliseconds; now_ms 0 means the wall clock.
 *
 * Thread-safety: every function may be called from any thread with the same store; results
 * belong to the caller.
 * Errors: 0 or a negative enum mnemo_rc with detail in the optional struct mnemo_err; bad
 * input writes nothing.
 */
#ifndef MNEMO_MEMORY_PROMPT_H
#define MNEMO_MEMORY_PROMPT_H

#include <stdint.h>

#include "store/store.h"

/* The largest prompt text stored, in bytes (callers cut longer prompts first). */
#define MNEMO_PROMPT_TEXT_MAX (256 * 1024)
/* The same text within this many milliseconds of the last one in a session is a duplicate. */
#define MNEMO_PROMPT_DEDUP_WINDOW_MS 10000
/* The most prompts one list call returns. */
#define MNEMO_PROMPT_LIST_MAX 1000
/* Deadline of every call in this module. */
#define MNEMO_PROMPT_TIMEOUT_MS MNEMO_STORE_TIMEOUT_FAST_MS

/* What mnemo_prompt_record did. */
struct mnemo_prompt_recorded {
    int64_t number; /* the prompt's number in its session (1, 2, ...) */
    int64_t id;     /* the stored row's id; 0 when nothing is stored (wholly private) */
    int stored;     /* 1 when this call stored a new row */
    int duplicate;  /* 1 when an identical recent prompt was found; nothing changed */
};

/* One stored prompt. text is malloc'd and owned by the struct (mnemo_prompt_release). */
struct mnemo_prompt {
    int64_t id;
    int64_t session_id;
    int64_t number;
    int64_t created_at;
    char *text;
};

/*
 * Records a prompt of session session_id at now_ms.
 * - wholly_private != 0: the session's counter goes up by one and nothing is stored; text is
 *   ignored (may be NULL); out->id is 0, out->stored 0.
 * - otherwise text (borrowed; 1..MNEMO_PROMPT_TEXT_MAX bytes of valid UTF-8) is stored with
 *   the next number, unless the same text was stored in this session less than
 *   MNEMO_PROMPT_DEDUP_WINDOW_MS before now_ms (or after it, should the clock have stepped
 *   back), in which case that prompt's number and id come back with out->duplicate = 1 and
 *   the counter does not move.
 * out may be NULL. Returns 0; MNEMO_EINVAL (empty or invalid text, bad session id, negative
 * now_ms); MNEMO_ETOOBIG (text too long); MNEMO_ENOTFOUND (no such session); or a store
 * error. *out is zeroed on failure.
 */
int mnemo_prompt_record(struct mnemo_store *st, int64_t session_id, const char *text,
                        int wholly_private, int64_t now_ms, struct mnemo_prompt_recorded *out,
                        struct mnemo_err *err);

/*
 * Reads prompt number of session_id into *out; the caller releases it with
 * mnemo_prompt_release. Returns 0, MNEMO_ENOTFOUND (also for a private prompt's number) or a
 * store error (*out zeroed).
 */
int mnemo_prompt_get(struct mnemo_store *st, int64_t session_id, int64_t number,
                     struct mnemo_prompt *out, struct mnemo_err *err);

/* Frees the text p owns and zeroes p. NULL is a no-op. */
void mnemo_prompt_release(struct mnemo_prompt *p);

/*
 * The stored prompts of session_id with a number greater than after_number (0 = from the
 * first), in ascending number order, at most limit (1..MNEMO_PROMPT_LIST_MAX): page by
 * passing the last number seen. *out is a malloc'd array of *n prompts (NULL when *n is 0)
 * freed with mnemo_prompt_list_free. An unknown session gives an empty list. Returns 0,
 * MNEMO_EINVAL, MNEMO_ENOMEM or a store error (*out NULL, *n 0).
 */
int mnemo_prompt_list(struct mnemo_store *st, int64_t session_id, int64_t after_number, int limit,
                      struct mnemo_prompt **out, int *n, struct mnemo_err *err);

/* Frees a list from mnemo_prompt_list (n items). NULL is a no-op. */
void mnemo_prompt_list_free(struct mnemo_prompt *list, int n);

#endif
