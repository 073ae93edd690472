/*
 * adapter_cursor.c - Cursor: its own hooks, field names and output keys.
 *
 * Base fields of every hook: conversation_id (mnemo's session id; session_id when a build sends
 * only that), generation_id (one per turn: the turn id), model, hook_event_name,
 * cursor_version, workspace_roots[] (the first is the cwd; a hook's own cwd field is the
 * fallback), user_email, and transcript_path in newer builds.
 *
 * Which Cursor hook feeds which mnemo event is the installer's choice; the payload's
 * hook_event_name says which shape to read:
 *   session-start      <- sessionStart
 *   user-prompt-submit <- beforeSubmitPrompt (prompt)
 *   post-tool-use      <- postToolUse (tool_name Shell|Read|Write|Grep|MCP:..., tool_input,
 *                         tool_output), afterShellExecution (command, output),
 *                         afterFileEdit (file_path, edits[{old_string,new_string}]),
 *                         afterMCPExecution (tool_name, tool_input and result_json as JSON text)
 *   stop               <- stop (status, loop_count) or afterAgentResponse (text: the message)
 *   session-end, pre-compact, subagent-stop <- sessionEnd, preCompact, subagentStop
 * Shell and edit events are rebuilt as Claude Code's Bash {command} -> {stdout} and MultiEdit
 * {file_path, edits} (the shape afterFileEdit already has), so the rules extractor reads them.
 *
 * Output: Cursor parses stdout as JSON, so every hook gets an object. sessionStart injects with
 * {"additional_context": ...}. beforeSubmitPrompt can only answer {continue, user_message}: it
 * cannot inject context, so mnemo answers {"continue":true} and memory reaches Cursor's prompts
 * through the rules file (a .mdc file under .cursor/rules/) that `mnemo install cursor` writes.
 * Every other hook gets "{}" (stop's followup_message would start another turn).
 */
#include "agent/adapter_int.h"

#include <string.h>

/* Cursor's postToolUse tool names that differ from Claude Code's. */
static const char *claude_tool(const char *name)
{
    if (name != NULL && strcmp(name, "Shell") == 0)
        return "Bash";
    return name;
}

/* v itself, or the JSON a string holds (Cursor sends MCP arguments and results as JSON text). */
static const json_t *decoded(struct mnemo_hook_input *in, const char *key, const json_t *v,
                             int *oom)
{
    const char *s = json_string_value(v);
    if (s == NULL || (s[strspn(s, " \t\r\n")] != '{' && s[strspn(s, " \t\r\n")] != '['))
        return v;
    json_t *parsed = json_loadb(s, json_string_length(v), JSON_ALLOW_NUL, NULL);
    if (parsed == NULL)
        return v; /* not JSON after all: keep the text */
    const json_t *kept = mnemo__adapter_keep(in, key, parsed);
    *oom |= kept == NULL;
    return kept ? kept : v;
}

static int shell_event(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    const char *command, *output;
    int rc = mnemo__adapter_str(in->raw, "command", &command, err);
    if (rc == 0)
        rc = mnemo__adapter_str(in->raw, "output", &output, err);
    if (rc != 0)
        return rc;
    in->tool_name = "Bash";
    in->tool_input = mnemo__adapter_keep(in, "tool_input", json_pack("{s:s*}", "command", command));
    in->tool_response =
        mnemo__adapter_keep(in, "tool_response", json_pack("{s:s*}", "stdout", output));
    return in->tool_input && in->tool_response ? 0 : MNEMO_ENOMEM;
}

static int edit_event(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    const char *path;
    const json_t *edits = json_object_get(in->raw, "edits");
    int rc = mnemo__adapter_str(in->raw, "file_path", &path, err);
    if (rc != 0)
        return rc;
    if (edits != NULL && !json_is_null(edits) && !json_is_array(edits))
        return mnemo_err_set(err, MNEMO_EINVAL, "hook input field 'edits' is not an array");
    in->tool_name = "MultiEdit";
    in->tool_input = mnemo__adapter_keep(
        in, "tool_input", json_pack("{s:s*,s:O*}", "file_path", path, "edits", edits));
    return in->tool_input ? 0 : MNEMO_ENOMEM;
}

static int tool_event(struct mnemo_hook_input *in, const char *hook, struct mnemo_err *err)
{
    const char *name;
    int mcp = strcmp(hook, "afterMCPExecution") == 0, oom = 0;
    int rc = mnemo__adapter_str(in->raw, "tool_name", &name, err);
    if (rc != 0)
        return rc;
    in->tool_name = claude_tool(name);
    in->tool_input = decoded(in, "tool_input", json_object_get(in->raw, "tool_input"), &oom);
    const json_t *resp = json_object_get(in->raw, mcp ? "result_json" : "tool_output");
    if (resp == NULL)
        resp = json_object_get(in->raw, "tool_response");
    in->tool_response = decoded(in, "tool_response", resp, &oom);
    /* A shell result names its text "output"; Claude Code's Bash calls it stdout. */
    const json_t *output = json_object_get(in->tool_response, "output");
    if (!oom && in->tool_name != NULL && strcmp(in->tool_name, "Bash") == 0 &&
        json_is_string(output) && json_object_get(in->tool_response, "stdout") == NULL) {
        json_t *copy = json_copy((json_t *)in->tool_response);
        if (copy == NULL || json_object_set(copy, "stdout", (json_t *)output) != 0) {
            json_decref(copy);
            oom = 1;
        } else if ((in->tool_response = mnemo__adapter_keep(in, "tool_response", copy)) == NULL) {
            oom = 1;
        }
    }
    return oom ? MNEMO_ENOMEM : 0;
}

static int first_root(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    const json_t *roots = json_object_get(in->raw, "workspace_roots");
    if (roots != NULL && !json_is_null(roots)) {
        if (!json_is_array(roots))
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "hook input field 'workspace_roots' is not an array");
        const json_t *first = json_array_get(roots, 0);
        if (first != NULL && !json_is_string(first))
            return mnemo_err_set(err, MNEMO_EINVAL,
                                 "hook input field 'workspace_roots' holds a non-string");
        in->cwd = json_string_value(first);
    }
    if (in->cwd == NULL)
        return mnemo__adapter_str(in->raw, "cwd", &in->cwd, err);
    return 0;
}

int mnemo__adapter_cursor_parse(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    const json_t *raw = in->raw;
    const char *hook;
    int rc = mnemo__adapter_str(raw, "conversation_id", &in->session_id, err);

    if (rc == 0 && in->session_id == NULL)
        rc = mnemo__adapter_str(raw, "session_id", &in->session_id, err);
    if (rc == 0)
        rc = mnemo__adapter_str(raw, "generation_id", &in->turn_id, err);
    if (rc == 0)
        rc = mnemo__adapter_str(raw, "transcript_path", &in->transcript_path, err);
    if (rc == 0)
        rc = mnemo__adapter_str(raw, "hook_event_name", &hook, err);
    if (rc == 0)
        rc = first_root(in, err);
    if (rc != 0)
        return rc;
    if (hook == NULL)
        hook = "";
    switch (in->event) {
    case MNEMO_HOOK_USER_PROMPT_SUBMIT:
        return mnemo__adapter_str(raw, "prompt", &in->prompt, err);
    case MNEMO_HOOK_POST_TOOL_USE:
        if (strcmp(hook, "afterShellExecution") == 0 ||
            (hook[0] == '\0' && json_object_get(raw, "command") != NULL))
            rc = shell_event(in, err);
        else if (strcmp(hook, "afterFileEdit") == 0)
            rc = edit_event(in, err);
        else
            rc = tool_event(in, hook, err);
        if (rc == MNEMO_ENOMEM)
            return mnemo_err_set(err, rc, "out of memory normalizing a Cursor tool event");
        return rc;
    case MNEMO_HOOK_STOP:
    case MNEMO_HOOK_SUBAGENT_STOP:
        if (strcmp(hook, "afterAgentResponse") == 0)
            return mnemo__adapter_str(raw, "text", &in->last_assistant_message, err);
        return 0;
    case MNEMO_HOOK_SESSION_START:
    case MNEMO_HOOK_SESSION_END:
    case MNEMO_HOOK_PRE_COMPACT:
        return 0;
    }
    return 0;
}

int mnemo__adapter_cursor_output(enum mnemo_hook_event e, const char *context,
                                 struct mnemo_strbuf *out)
{
    if (e == MNEMO_HOOK_SESSION_START && context != NULL) {
        int rc = mnemo_strbuf_puts(out, "{\"additional_context\":");
        if (rc == 0)
            rc = mnemo__adapter_json_string(out, context);
        return rc == 0 ? mnemo_strbuf_puts(out, "}\n") : rc;
    }
    if (e == MNEMO_HOOK_USER_PROMPT_SUBMIT)
        return mnemo_strbuf_puts(out, "{\"continue\":true}\n");
    return mnemo_strbuf_puts(out, "{}\n");
}
