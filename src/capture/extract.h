/*
 * extract.h - extractors: turn one captured hook event into observation drafts and, for a
 * stop/session-end event, a session summary. The rules extractor (rules.c) is built in and
 * always on; the LLM extractor (agent-integration issue) plugs into the same interface.
 *
 * The event's payload is the agent's hook JSON as the hook sent it, already redacted; what
 * an extractor returns is redacted again by the caller before it is stored, so an extractor
 * never has to think about secrets. Rules extraction is deterministic and offline.
 *
 * What the rules extractor produces (payload keys as Claude Code sends them; the hook adapter
 * maps other agents onto them):
 *   - post-tool-use of a file write/edit (tool_name Write, Edit, MultiEdit, NotebookEdit;
 *     tool_input.file_path): a "change" observation naming the file in files_modified and
 *     summarizing what changed (lines added/removed, the first changed lines, bounded).
 *   - post-tool-use of Read/Grep/Glob: no observation on its own (files_read of the session's
 *     next observation instead).
 *   - post-tool-use of Bash (tool_input.command, tool_response stdout/stderr/exit code or
 *     interrupted): a failing command becomes a "discovery" observation with the command and
 *     the error lines; when the same command (or the same test/build target) later passes in
 *     the session, a "bugfix" observation "Fixed: <command>" linking the failure, the files
 *     modified in between and the command's passing output summary.
 *     Passing commands that are not a fix produce nothing (noise), except git commit (a
 *     "change" with the commit message).
 *   - stop / session-end with last_assistant_message (or transcript tail): a summary with
 *     request = the session's first prompt when given in the payload, completed = the message
 *     (bounded), and notes naming the files modified in the session.
 * Per-session state (last failure per command, files touched) lives in the extractor and is
 * bounded (LRU of 64 sessions); losing it on restart only loses "fix" pairing.
 *
 * Ownership: an extractor is owned by its creator (mnemo_extractor_free). Output structs own
 * their drafts (mnemo_extract_output_release).
 * Thread-safety: an extractor is used by one thread at a time (the capture thread).
 */
#ifndef MNEMO_CAPTURE_EXTRACT_H
#define MNEMO_CAPTURE_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "memory/obs.h"
#include "util/err.h"

/* One event to extract from; everything borrowed. */
struct mnemo_extract_input {
    int64_t event_id;
    const char *agent;            /* "claude" */
    const char *kind;             /* "post-tool-use", "stop", "session-end", "session-start" */
    const char *agent_session_id; /* may be NULL */
    int64_t session_id;           /* 0 when unknown */
    const char *project;          /* the session's project (may be NULL: extractor skips) */
    const json_t *payload;        /* the hook JSON object */
    int64_t created_at;           /* Unix ms */
};

#define MNEMO_EXTRACT_MAX_OBS 8

/* What an extractor produced. Summary strings are owned (malloc) or NULL. */
struct mnemo_extract_output {
    struct mnemo_obs obs[MNEMO_EXTRACT_MAX_OBS]; /* drafts: provenance "rules" or "llm" */
    size_t n_obs;
    int has_summary;
    char *request, *investigated, *learned, *completed, *next_steps, *notes;
};

void mnemo_extract_output_init(struct mnemo_extract_output *out);
void mnemo_extract_output_release(struct mnemo_extract_output *out);

struct mnemo_extractor;

struct mnemo_extractor_ops {
    const char *name; /* "rules", "llm" */
    /* Fills out (initialised by the caller). Returns 0 (possibly with nothing extracted) or an
     * error; an error counts as a failed attempt of the event. */
    int (*extract)(struct mnemo_extractor *x, const struct mnemo_extract_input *in,
                   struct mnemo_extract_output *out, struct mnemo_err *err);
    void (*destroy)(struct mnemo_extractor *x);
};

struct mnemo_extractor {
    const struct mnemo_extractor_ops *ops;
    void *state;
};

/* The built-in rules extractor. */
int mnemo_extractor_rules_new(struct mnemo_extractor **out, struct mnemo_err *err);

/* Calls x->ops->extract. */
int mnemo_extractor_run(struct mnemo_extractor *x, const struct mnemo_extract_input *in,
                        struct mnemo_extract_output *out, struct mnemo_err *err);

void mnemo_extractor_free(struct mnemo_extractor *x);

#endif
