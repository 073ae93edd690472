/*
 * adapter_codex.c - OpenAI Codex CLI: Claude Code's wire format with strict output schemas.
 *
 * Input: Claude Code's field names (session_id, transcript_path which may be null, cwd,
 * hook_event_name, model, permission_mode, prompt, tool_name, tool_input, tool_response,
 * last_assistant_message which may be null, source) plus turn_id on turn-scoped events. Tool
 * names: shell-like tools arrive as "Bash" with tool_input {command}; file edits as
 * "apply_patch" with the patch text in tool_input.command (kept as it is: no Claude tool has
 * that shape); MCP tools as mcp__<server>__<tool>. A Bash result that arrives as the text the
 * model saw is rebuilt as Claude Code's {stdout, exit_code?} (the exit code from a line such as
 * "Process exited with code 1"), so the rules extractor can tell a failing command.
 *
 * Output: Codex validates every event's JSON against a schema with additionalProperties:false
 * (codex-rs/hooks/schema/generated/<event>.command.output.schema.json), and it rejected a bare
 * {"continue":true} from SessionStart as "invalid session start JSON output" (claude-mem
 * v13.10.1). Empty stdout is accepted by every event and is what mnemo prints without context;
 * SessionStart and UserPromptSubmit take hookSpecificOutput {hookEventName, additionalContext}
 * (the only two properties their schemas allow inside it).
 */
#include "agent/adapter_int.h"

#include <string.h>

/* {stdout, exit_code?} for a Bash result given as text; NULL when out of memory. */
static json_t *shell_response(const json_t *text)
{
    json_t *out = json_pack("{s:O}", "stdout", (json_t *)text);
    long code = mnemo__adapter_exit_code(json_string_value(text), 0);
    if (out != NULL && code >= 0 &&
        json_object_set_new(out, "exit_code", json_integer(code)) != 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

int mnemo__adapter_codex_parse(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    int rc = mnemo__adapter_common_fields(in, err);
    if (rc == 0)
        rc = mnemo__adapter_str(in->raw, "turn_id", &in->turn_id, err);
    if (rc != 0 || in->event != MNEMO_HOOK_POST_TOOL_USE || in->tool_name == NULL ||
        strcmp(in->tool_name, "Bash") != 0 || !json_is_string(in->tool_response))
        return rc;
    in->tool_response = mnemo__adapter_keep(in, "tool_response", shell_response(in->tool_response));
    if (in->tool_response == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory normalizing a Codex tool event");
    return 0;
}

int mnemo__adapter_codex_output(enum mnemo_hook_event e, const char *context,
                                struct mnemo_strbuf *out)
{
    if (context == NULL)
        return 0;
    if (e == MNEMO_HOOK_SESSION_START)
        return mnemo__adapter_hook_specific(out, "SessionStart", context);
    if (e == MNEMO_HOOK_USER_PROMPT_SUBMIT)
        return mnemo__adapter_hook_specific(out, "UserPromptSubmit", context);
    return 0;
}
