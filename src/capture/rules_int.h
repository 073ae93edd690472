/*
 * rules_int.h - what rules.c (dispatch, file edits, reads, summaries, per-session state) and
 * rules_bash.c (commands, failure/fix pairing, git commits) and rules_replay.c share; not a
 * public API.
 *
 * Thread-safety: the state belongs to one extractor, used by one thread at a time.
 */
#ifndef MNEMO_CAPTURE_RULES_INT_H
#define MNEMO_CAPTURE_RULES_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "capture/extract.h"

/* Sessions remembered (least recently used evicted), and the bounds of what each keeps. */
#define RULES_SESSIONS  64
#define RULES_FILES     32 /* paths per list; the oldest goes first */
#define RULES_FAILURES  8  /* open failures per session; the oldest goes first */
#define RULES_TITLE_MAX 120
/* Bounds of the text excerpts put into narratives. */
#define RULES_ERROR_MAX   2048 /* error lines of a failed command */
#define RULES_ERROR_LINES 20
#define RULES_PROMPT_MAX  2048
#define RULES_MESSAGE_MAX 4096 /* the stop event's last assistant message */
#define RULES_COMMIT_MAX  2048

/* A bounded list of owned paths, in first-seen order, without duplicates. */
struct rules_files {
    char *items[RULES_FILES];
    size_t n;
};

/* A command that failed and has not passed since. */
struct rules_failure {
    char *key;                /* the normalized command */
    char *target;             /* its build/test target key, or NULL */
    char *command;            /* as run */
    char *error;              /* the last error lines */
    struct rules_files files; /* files modified since the failure */
};

struct rules_session {
    char *id; /* "<agent>:<agent session id>"; NULL = free slot */
    uint64_t used;
    char *first_prompt;
    struct rules_files read;        /* files read, for the next observation */
    struct rules_files modified;    /* files modified in the session (summary notes) */
    struct rules_files uncommitted; /* files modified since the last git commit */
    struct rules_failure fail[RULES_FAILURES];
    size_t n_fail;
};

/* Adds a copy of path (NULL or "" ignored). Returns 0 or MNEMO_ENOMEM. */
int mnemo__rules_files_add(struct rules_files *f, const char *path);
void mnemo__rules_files_clear(struct rules_files *f);
/* "a, b, c" (malloc'd; NULL when the list is empty or out of memory). */
char *mnemo__rules_files_join(const struct rules_files *f);

/* Frees what a failure owns and zeroes it. */
void mnemo__rules_failure_clear(struct rules_failure *fl);

/*
 * The next draft slot of out, set up with project, session, type, provenance "rules", time
 * and title (prefix followed by subject's first line, whitespace collapsed, cut to
 * RULES_TITLE_MAX bytes), and the session's pending files_read (consumed). NULL when out is
 * full. *rc is MNEMO_ENOMEM on allocation failure (and NULL returned).
 */
struct mnemo_obs *mnemo__rules_draft(struct mnemo_extract_output *out,
                                     const struct mnemo_extract_input *in, struct rules_session *s,
                                     const char *type, const char *prefix, const char *subject,
                                     int *rc);

/* The string value of obj[key], or NULL when absent or not a string. */
const char *mnemo__rules_str(const json_t *obj, const char *key);

/* The last max_lines lines of text, at most max_bytes (cut at a line or UTF-8 boundary). */
char *mnemo__rules_tail(const char *text, int max_lines, size_t max_bytes);

/* The first max_lines lines of text, at most max_bytes. */
char *mnemo__rules_head(const char *text, int max_lines, size_t max_bytes);

/* A malloc'd copy of s with whitespace runs collapsed to one space and trimmed. */
char *mnemo__rules_squash(const char *s, size_t max_bytes);

/* Adds path (shown relative to cwd) to every list an edit touches in s. */
int mnemo__rules_note_modified(struct rules_session *s, const char *path);

/* Copies src into the initialised, empty dst (for the replay of a retried event). Returns 0
 * or MNEMO_ENOMEM; on failure dst may hold part of it (release it). */
int mnemo__rules_output_copy(struct mnemo_extract_output *dst,
                             const struct mnemo_extract_output *src);

/*
 * A Bash post-tool-use (or post-tool-use-failure when failed_kind) event. s may be NULL (no
 * session to pair with). Returns 0 or MNEMO_ENOMEM.
 */
int mnemo__rules_bash(const struct mnemo_extract_input *in, struct rules_session *s,
                      int failed_kind, struct mnemo_extract_output *out);

#endif
