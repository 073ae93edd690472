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
 * Thread-safety: an extractor is used by one thread at a time (the capture thread); the LLM
 * extractor below also allows concurrent calls.
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
/* Size of mnemo_extract_output.note, terminator included. */
#define MNEMO_EXTRACT_NOTE_SIZE 256

/* What an extractor produced. Summary strings are owned (malloc) or NULL. */
struct mnemo_extract_output {
    struct mnemo_obs obs[MNEMO_EXTRACT_MAX_OBS]; /* drafts: provenance "rules" or "llm" */
    size_t n_obs;
    int has_summary;
    char *request, *investigated, *learned, *completed, *next_steps, *notes;
    /*
     * Added for the LLM extractor: why this output is not what the extractor would normally
     * give, "" when it is. The LLM extractor sets it when it fell back to its fallback
     * extractor ("llm: timed out after 60000 ms; rules output used"): the event succeeded
     * and nothing was dropped, so extract returns 0, but the reason deserves a place on the
     * event record (the capture thread may log it or keep it as the event's last_error).
     */
    char note[MNEMO_EXTRACT_NOTE_SIZE];
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

/* ---- the LLM extractor (opt-in) ----------------------------------------------------------------
 *
 * Asks a language model, run as a child command, to turn a post-tool-use event into
 * observations (provenance "llm"). It owns a fallback extractor (the rules extractor in
 * practice) and never drops an event:
 *   - the fallback runs on EVERY event first, so its per-session state (files read, failed
 *     commands awaiting their fix) stays whole; its output is returned for every event the
 *     LLM does not take: kinds other than post-tool-use(-failure) (summaries stay with the
 *     rules), tools in the skip list (Read, Grep, Glob, LS, TodoWrite, Task, TaskOutput,
 *     KillShell, AskUserQuestion, EnterPlanMode, ExitPlanMode, Skill, SlashCommand, ListDir)
 *     and events without a project;
 *   - on any LLM trouble (spent budget, no free slot within timeout_ms, spawn failure,
 *     timeout, non-zero exit, a reply the strict parser rejects) the fallback's output is
 *     returned with extract's rc 0, the reason is put in out->note, counted in the stats and
 *     logged (warn, with the child's stderr, bounded; a spent budget at info once a day, then
 *     at debug). Only a failure of the fallback itself is returned as an error;
 *   - a reply <skip/> is the model's decision that the event holds nothing worth keeping:
 *     no observation (not a fallback);
 *   - the files the fallback had collected as read (its drafts' files_read) are added to the
 *     LLM's drafts, so read tracking survives.
 * A retried event (same event_id among the last few) gets the first attempt's output again
 * without a second call.
 *
 * The child: argv from a shell-like split of `command` (no shell runs: 'single' and "double"
 * quotes and backslash escapes group words; "" is an empty argument; $, |, ;, * and the like
 * are plain characters), found on PATH, in its own process group, with stdin = the rendered
 * prompt, stdout captured up to 256 KiB (more is a rejected reply), stderr up to 4 KiB, every
 * other fd closed, signal mask and dispositions reset, and the environment of the worker plus
 * MNEMO_INTERNAL=1 (mnemo's own hooks inside the child do nothing). At timeout_ms the whole
 * group is SIGKILLed and reaped; it is SIGKILLed after a normal exit as well, so nothing the
 * model's CLI started outlives the call.
 *
 * The prompt: the template of prompts/extract.md, read from prompt_path at creation (a
 * missing or unreadable file is logged and the built-in copy used; prompt_path NULL or "" =
 * the built-in copy). Placeholders {{project}}, {{tool_name}}, {{cwd}}, {{occurred_at}},
 * {{tool_input}} and {{tool_response}} are replaced in one pass (the event text is never
 * scanned for placeholders); the event text is XML-escaped (& < >) and cut to 3,000 bytes of
 * input and 5,000 of response (a failure event without tool_response gives its "error").
 *
 * The reply format (strict; anything else is rejected): optional whitespace around either
 *   <skip/>   or   <skip reason="..."/>
 * or 1 to 3 of
 *   <observation>
 *     <type>decision|bugfix|feature|refactor|discovery|change</type>   required
 *     <title>...</title>                                               required, <= 200 bytes
 *     <subtitle>...</subtitle>                                         optional
 *     <narrative>...</narrative>                                       required
 *     <facts><fact>...</fact>...</facts>                               optional, <= 10
 *     <concepts><concept>...</concept>...</concepts>                   optional, <= 3, from
 *                                                                      the vocabulary below
 *     <files_read><file>...</file>...</files_read>                     optional, <= 50
 *     <files_modified><file>...</file>...</files_modified>             optional, <= 50
 *   </observation>
 * in any order, each element at most once, whitespace between elements; an empty element may
 * be written <x/>. No attributes (but skip's reason), comments, CDATA or other tags. Text may
 * use &amp; &lt; &gt; &quot; &apos; and &#N; / &#xH; (not NUL); other entities are rejected.
 * Text is trimmed; every draft must pass mnemo_obs_validate. One ```xml ... ``` fence around
 * the whole reply is tolerated (models add it despite the instructions). Concept vocabulary:
 * the seeded concept weights (memory/schema.h): security, gotcha, best-practice, anti-pattern,
 * architecture, performance, error-handling, pattern, testing, debugging, workflow, tooling,
 * problem-solution, trade-off, how-it-works, why-it-exists, what-changed.
 *
 * Budget: at most daily_calls calls and daily_tokens tokens per UTC day (tokens estimated as
 * (prompt bytes + reply bytes) / 4; a call is refused when the prompt alone would pass the
 * token budget). Counters reset at UTC midnight. Calls are counted when they start, so
 * concurrent callers never overshoot.
 *
 * Thread-safety: unlike other extractors, extract may be called from several threads at once
 * (the fallback is serialised by an internal lock; at most max_concurrent children run);
 * mnemo_extractor_llm_stats may be called from any thread.
 */

struct mnemo_log;

/* The default command: Claude Code's print mode with Haiku and every tool and MCP server off. */
#define MNEMO_LLM_DEFAULT_COMMAND                                                                  \
    "claude -p --model haiku --tools \"\" --strict-mcp-config --disable-slash-commands"
#define MNEMO_LLM_DEFAULT_TIMEOUT_MS     60000
#define MNEMO_LLM_DEFAULT_MAX_CONCURRENT 2
#define MNEMO_LLM_DEFAULT_DAILY_CALLS    1000
#define MNEMO_LLM_DEFAULT_DAILY_TOKENS   INT64_C(2000000)

/* Everything borrowed for the call; 0 / NULL fields take the defaults above. */
struct mnemo_llm_config {
    const char *command;     /* NULL or "" = MNEMO_LLM_DEFAULT_COMMAND */
    int timeout_ms;          /* per call, spawn to reap; 0 = default; 1..3,600,000 */
    int max_concurrent;      /* children at once; 0 = default; 1..64 */
    int64_t daily_calls;     /* 0 = default, < 0 = no limit */
    int64_t daily_tokens;    /* 0 = default, < 0 = no limit */
    const char *prompt_path; /* the template (prompts/extract.md); NULL/"" = built-in copy */
    struct mnemo_log *log;   /* borrowed; must outlive the extractor; may be NULL */
};

/*
 * Creates the LLM extractor. Takes ownership of fallback (required: MNEMO_EINVAL when NULL),
 * also on failure. A command that does not split (unterminated quote, empty) or out-of-range
 * numbers are MNEMO_EINVAL. The command is not run here (it may be installed later).
 */
int mnemo_extractor_llm_new(const struct mnemo_llm_config *cfg, struct mnemo_extractor *fallback,
                            struct mnemo_extractor **out, struct mnemo_err *err);

/* Counters since creation ("today" = the current UTC day). */
struct mnemo_llm_stats {
    int64_t calls_today;      /* children started today */
    int64_t tokens_today;     /* estimated tokens spent today */
    int64_t calls;            /* children started since creation */
    int64_t successes;        /* replies accepted (observations or skip) */
    int64_t skips;            /* of which <skip/> */
    int64_t failures;         /* spawn failures, non-zero exits, deaths by signal */
    int64_t timeouts;         /* calls killed at timeout_ms */
    int64_t rejected;         /* replies the parser rejected */
    int64_t busy;             /* no free slot within timeout_ms */
    int64_t budget_exhausted; /* events refused for the daily budget */
    int64_t fallbacks;        /* events given the fallback's output for any reason above */
};

/* Fills *out (zeroes when x is not an LLM extractor). */
void mnemo_extractor_llm_stats(struct mnemo_extractor *x, struct mnemo_llm_stats *out);

/* The built-in prompt template (identical to prompts/extract.md; a unit test checks). */
const char *mnemo_extractor_llm_builtin_prompt(void);

#endif
