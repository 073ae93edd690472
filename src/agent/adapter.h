/*
 * adapter.h - what each agent's hooks send and accept, mapped onto one normalized event.
 *
 * `mnemo hook <event> --agent <agent>` reads the agent's hook JSON on stdin; the adapter of that
 * agent turns it into a struct mnemo_hook_input (Claude Code's event names are mnemo's), and at
 * the end turns mnemo's answer (a context block, or nothing) into exactly the output that agent
 * validates. Protocols: ../shared/reference/agents-and-peers.md. Adapters are pure: no I/O, no
 * clock, so every agent's behaviour is pinned by recorded payloads (tests/fixtures/).
 *
 * Ownership: a struct mnemo_hook_input owns its raw JSON (json_decref'd by
 * mnemo_hook_input_release) and norm; its string fields point into them or, for tool names
 * mapped onto Claude Code's, at static strings.
 * Thread-safety: pure functions.
 *
 * Per-agent rules (adapter_<agent>.c says where each comes from):
 *   - Context is delivered only by session-start and user-prompt-submit; every other event prints
 *     the agent's minimal output whatever context is passed (a Stop hook's additionalContext
 *     would keep the turn going: claude-mem #1288 loops).
 *   - Claude Code, Codex: {"hookSpecificOutput":{"hookEventName":...,"additionalContext":...}},
 *     and nothing at all without context (exit 0 with an empty stdout is valid for every event
 *     of both; Codex rejects a bare {"continue":true} on some events).
 *   - Gemini CLI: the same hookSpecificOutput (hookEventName SessionStart or BeforeAgent), and
 *     "{}" without context (its stdout must hold only JSON).
 *   - Cursor: sessionStart {"additional_context":...}; beforeSubmitPrompt {"continue":true} (it
 *     cannot inject: memory reaches Cursor through the rules file the installer writes);
 *     "{}" for every other hook.
 *   - Input: the event comes from the command line, not from the payload's hook_event_name
 *     (which only picks among one agent's shapes, as Cursor's several tool hooks). Null counts
 *     as absent; a field of the wrong JSON type is MNEMO_EINVAL. Payload shapes that differ
 *     from Claude Code's (Gemini tool results, Cursor shell/edit/MCP hooks) are rebuilt in
 *     Claude Code's shape in `norm`, so the rules extractor reads one format.
 */
#ifndef MNEMO_AGENT_ADAPTER_H
#define MNEMO_AGENT_ADAPTER_H

#include <stddef.h>

#include <jansson.h>

#include "util/err.h"
#include "util/strbuf.h"

enum mnemo_agent {
    MNEMO_AGENT_CLAUDE,
    MNEMO_AGENT_CODEX,
    MNEMO_AGENT_GEMINI,
    MNEMO_AGENT_CURSOR,
};

/* mnemo's event names are Claude Code's, kebab-case ("user-prompt-submit"). */
enum mnemo_hook_event {
    MNEMO_HOOK_SESSION_START,
    MNEMO_HOOK_USER_PROMPT_SUBMIT,
    MNEMO_HOOK_POST_TOOL_USE,
    MNEMO_HOOK_STOP,
    MNEMO_HOOK_SUBAGENT_STOP,
    MNEMO_HOOK_SESSION_END,
    MNEMO_HOOK_PRE_COMPACT,
};

/*
 * Largest additionalContext written, in UTF-16 code units (the unit in which Claude Code counts
 * its 10,000-character cap on hook strings; a longer string is replaced by a preview). A longer
 * context is cut at a character boundary.
 */
#define MNEMO_ADAPTER_CONTEXT_MAX 10000

/* Largest hook input parsed, in bytes (a larger one is MNEMO_EINVAL). */
#define MNEMO_ADAPTER_INPUT_MAX ((size_t)16 * 1024 * 1024)

/* Parse/format names ("claude", "user-prompt-submit"). parse returns 0 or MNEMO_EINVAL. */
int mnemo_agent_parse(const char *name, enum mnemo_agent *out);
const char *mnemo_agent_name(enum mnemo_agent a);
int mnemo_hook_event_parse(const char *name, enum mnemo_hook_event *out);
const char *mnemo_hook_event_name(enum mnemo_hook_event e);

/* The normalized event. Every pointer may be NULL when the agent did not send it. */
struct mnemo_hook_input {
    enum mnemo_agent agent;
    enum mnemo_hook_event event;
    json_t *raw;                        /* the whole stdin object (owned) */
    json_t *norm;                       /* owned, may be NULL: values rebuilt in Claude Code's
                                           shape that tool_input/tool_response point into */
    const char *session_id;             /* the agent's session/conversation id */
    const char *turn_id;                /* Codex turn id (Cursor: generation_id) */
    const char *cwd;                    /* working directory (Cursor: first workspace root) */
    const char *prompt;                 /* user-prompt-submit */
    const char *tool_name;              /* post-tool-use, normalized to Claude's names where a
                                           tool maps (run_shell_command -> Bash, ...) */
    const json_t *tool_input;           /* post-tool-use (borrowed from raw or norm) */
    const json_t *tool_response;        /* post-tool-use (borrowed from raw or norm) */
    const char *transcript_path;        /* any event that sends it (used by the stop-like ones) */
    const char *last_assistant_message; /* when the agent sends it */
    const char *source;                 /* session-start: startup|resume|clear|compact */
};

void mnemo_hook_input_release(struct mnemo_hook_input *in);

/*
 * Parses the agent's stdin (len bytes, need not be NUL-terminated) for event into *out
 * (released by the caller even on failure). Returns 0, or MNEMO_EINVAL with err saying what
 * was wrong (not JSON, not an object, a field of the wrong type), or MNEMO_ENOMEM. Unknown
 * fields are ignored. On failure *out holds nothing (raw and norm NULL) but its agent and event.
 */
int mnemo_adapter_parse(enum mnemo_agent agent, enum mnemo_hook_event event, const char *buf,
                        size_t len, struct mnemo_hook_input *out, struct mnemo_err *err);

/*
 * Appends to out exactly what the agent accepts on stdout for event: with context (may be NULL
 * or "" for none) as that agent injects it (Claude: hookSpecificOutput.additionalContext;
 * Cursor sessionStart: additional_context; ...), and otherwise the minimal valid output for
 * that agent and event (which may be nothing at all: Codex rejects a bare {"continue":true}
 * where it is not allowed). This is also what a failed hook prints. Returns 0 or a strbuf
 * error.
 */
int mnemo_adapter_output(enum mnemo_agent agent, enum mnemo_hook_event event, const char *context,
                         struct mnemo_strbuf *out);

#endif
