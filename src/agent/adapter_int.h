/*
 * adapter_int.h - what the per-agent adapters (adapter_<agent>.c) share with adapter.c.
 *
 * Each agent has a parse step, called with in->raw already a JSON object and every other field
 * zeroed, and an output step. The helpers read typed fields the same way for every agent, so
 * "null is absent, a wrong type is MNEMO_EINVAL" holds everywhere.
 *
 * Thread-safety: pure functions, like adapter.h.
 */
#ifndef MNEMO_AGENT_ADAPTER_INT_H
#define MNEMO_AGENT_ADAPTER_INT_H

#include <stddef.h>

#include <jansson.h>

#include "agent/adapter.h"
#include "util/err.h"
#include "util/strbuf.h"

/* Per-agent steps. parse fills in (raw set, the rest zeroed) or returns MNEMO_EINVAL/ENOMEM;
 * output appends the agent's stdout for event (context NULL when there is none). */
int mnemo__adapter_claude_parse(struct mnemo_hook_input *in, struct mnemo_err *err);
int mnemo__adapter_claude_output(enum mnemo_hook_event e, const char *context,
                                 struct mnemo_strbuf *out);
int mnemo__adapter_codex_parse(struct mnemo_hook_input *in, struct mnemo_err *err);
int mnemo__adapter_codex_output(enum mnemo_hook_event e, const char *context,
                                struct mnemo_strbuf *out);
int mnemo__adapter_gemini_parse(struct mnemo_hook_input *in, struct mnemo_err *err);
int mnemo__adapter_gemini_output(enum mnemo_hook_event e, const char *context,
                                 struct mnemo_strbuf *out);
int mnemo__adapter_cursor_parse(struct mnemo_hook_input *in, struct mnemo_err *err);
int mnemo__adapter_cursor_output(enum mnemo_hook_event e, const char *context,
                                 struct mnemo_strbuf *out);

/*
 * Reads obj[key] as a string into *out (borrowed from obj): absent or null leaves *out NULL and
 * returns 0; any other type returns MNEMO_EINVAL naming the field.
 */
int mnemo__adapter_str(const json_t *obj, const char *key, const char **out, struct mnemo_err *err);

/* The fields Claude Code and Codex name alike (session_id, transcript_path, cwd, prompt,
 * tool_name, tool_input, tool_response, source, last_assistant_message), read for in->event. */
int mnemo__adapter_common_fields(struct mnemo_hook_input *in, struct mnemo_err *err);

/* The norm object of in, created on first use. NULL when out of memory. */
json_t *mnemo__adapter_norm(struct mnemo_hook_input *in);

/*
 * Stores v (a reference is stolen, even on failure) in in->norm under key and returns it
 * borrowed, or NULL when v is NULL or out of memory.
 */
const json_t *mnemo__adapter_keep(struct mnemo_hook_input *in, const char *key, json_t *v);

/*
 * The exit code a shell result's text reports on a line of its own ("Exit Code: 2" as Gemini CLI
 * writes it, "Exit code: 2" or "Process exited with code 2" as Codex does; case ignored), or -1
 * when no line says one. The command's own output may hold such a line too, so the caller says
 * which one is the agent's: the first (Codex puts its header before the output) or the last
 * (Gemini puts its footer after it).
 */
long mnemo__adapter_exit_code(const char *text, int last);

/* Whether context holds anything to inject (NULL, "" and whitespace-only do not). */
int mnemo__adapter_has_context(const char *context);

/*
 * Appends s as a JSON string literal with its quotes: at most MNEMO_ADAPTER_CONTEXT_MAX UTF-16
 * code units of text, cut at a character boundary; bytes that are not UTF-8 become U+FFFD.
 */
int mnemo__adapter_json_string(struct mnemo_strbuf *out, const char *s);

/* Appends {"hookSpecificOutput":{"hookEventName":name,"additionalContext":context}} and a
 * newline: the shape Claude Code, Codex and Gemini CLI share. */
int mnemo__adapter_hook_specific(struct mnemo_strbuf *out, const char *name, const char *context);

#endif
