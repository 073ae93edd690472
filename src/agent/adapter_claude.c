/*
 * adapter_claude.c - Claude Code, whose event and field names are mnemo's.
 *
 * Input (recorded payloads in tests/fixtures/claude/, from Claude Code 2.1.332): every event
 * has session_id, transcript_path, cwd, hook_event_name; SessionStart adds source,
 * UserPromptSubmit prompt, PostToolUse tool_name/tool_input/tool_response (an object for
 * built-in tools, an array of content blocks for MCP tools), Stop and SubagentStop
 * last_assistant_message.
 *
 * Output: SessionStart and UserPromptSubmit take hookSpecificOutput.additionalContext (capped
 * at 10,000 characters by Claude Code: mnemo never writes more). Without context, and for every
 * other event, stdout stays empty: exit 0 with no output is valid everywhere, while a bare
 * {"continue":true} from Stop made claude-mem loop (#1288) and SessionEnd output is discarded.
 */
#include "agent/adapter_int.h"

int mnemo__adapter_claude_parse(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    return mnemo__adapter_common_fields(in, err);
}

int mnemo__adapter_claude_output(enum mnemo_hook_event e, const char *context,
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
