/*
 * adapter_codex.c - OpenAI Codex CLI: Claude Code's wire format with strict output schemas.
 *
 * Input: Claude Code's field names (session_id, transcript_path which may be null, cwd,
 * hook_event_name, model, permission_mode, prompt, tool_name, tool_input, tool_response,
 * last_assistant_message which may be null, source) plus turn_id on turn-scoped events. Tool
 * names: shell-like tools arrive as "Bash" with tool_input {command}; file edits as
 * "apply_patch" with the patch text in tool_input.command (kept as it is: no Claude tool has
 * that shape); MCP tools as mcp__<server>__<tool>.
 *
 * Output: Codex validates every event's JSON against a schema with additionalProperties:false
 * (codex-rs/hooks/schema/generated/<event>.command.output.schema.json), and it rejected a bare
 * {"continue":true} from SessionStart as "invalid session start JSON output" (claude-mem
 * v13.10.1). Empty stdout is accepted by every event and is what mnemo prints without context;
 * SessionStart and UserPromptSubmit take hookSpecificOutput {hookEventName, additionalContext}
 * (the only two properties their schemas allow inside it).
 */
#include "agent/adapter_int.h"

int mnemo__adapter_codex_parse(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    int rc = mnemo__adapter_common_fields(in, err);
    return rc == 0 ? mnemo__adapter_str(in->raw, "turn_id", &in->turn_id, err) : rc;
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
