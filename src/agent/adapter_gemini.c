/*
 * adapter_gemini.c - Gemini CLI: its own event names and tool names, Claude Code's output shape.
 *
 * Events (docs/hooks/reference.md of gemini-cli): mnemo's session-start <- SessionStart
 * (source startup|resume|clear), user-prompt-submit <- BeforeAgent (prompt), post-tool-use <-
 * AfterTool (tool_name, tool_input, tool_response {llmContent, returnDisplay, error}), stop <-
 * AfterAgent (prompt, prompt_response, stop_hook_active), session-end <- SessionEnd (reason),
 * pre-compact <- PreCompress (trigger). Gemini has no subagent stop; one configured anyway is
 * read like stop. Base fields: session_id, transcript_path, cwd, hook_event_name, timestamp.
 *
 * Tools are renamed to Claude Code's (run_shell_command -> Bash, write_file -> Write, replace ->
 * Edit, read_file -> Read, ...) and their inputs and results rebuilt in Claude Code's shape in
 * in->norm, so the rules extractor reads one format: a shell result becomes {stdout, stderr?,
 * exit_code?, is_error?} and a write result {type: create|update}.
 *
 * Output: exit 0 means stdout must hold only JSON, so without context mnemo prints "{}" (the
 * empty object the Gemini guide's own hooks print; an empty stdout is also accepted by its
 * runner). SessionStart and BeforeAgent take hookSpecificOutput.additionalContext (appended to
 * the turn's prompt; SessionStart's goes first in history). Timeouts are in milliseconds there.
 */
#include "agent/adapter_int.h"

#include <string.h>

/* Gemini CLI's built-in tool names (with the legacy search_file_content) and Claude Code's. */
static const struct {
    const char *gemini, *claude;
} tool_names[] = {
    {"run_shell_command", "Bash"},
    {"write_file", "Write"},
    {"replace", "Edit"},
    {"read_file", "Read"},
    {"glob", "Glob"},
    {"grep_search", "Grep"},
    {"search_file_content", "Grep"},
    {"list_directory", "LS"},
    {"web_fetch", "WebFetch"},
    {"google_web_search", "WebSearch"},
    {"write_todos", "TodoWrite"},
};

static const char *claude_tool(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof tool_names / sizeof tool_names[0]; i++)
        if (strcmp(name, tool_names[i].gemini) == 0)
            return tool_names[i].claude;
    return name;
}

/* The text of an llmContent: a string, a part {text}, or an array of either. */
static int content_text(const json_t *v, struct mnemo_strbuf *sb)
{
    size_t i;
    const json_t *part;

    if (json_is_string(v))
        return mnemo_strbuf_append(sb, json_string_value(v), json_string_length(v));
    if (json_is_object(v)) {
        const json_t *t = json_object_get(v, "text");
        return json_is_string(t)
                   ? mnemo_strbuf_append(sb, json_string_value(t), json_string_length(t))
                   : 0;
    }
    json_array_foreach(v, i, part)
    {
        if (json_is_array(part))
            continue; /* parts do not nest */
        int rc = content_text(part, sb);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* tool_input in Claude Code's names: read_file's older absolute_path becomes file_path and
 * replace's allow_multiple becomes replace_all. NULL when nothing needs renaming. */
static json_t *normalized_input(const char *tool, const json_t *input, int *oom)
{
    const json_t *abs = json_object_get(input, "absolute_path");
    const json_t *multi = json_object_get(input, "allow_multiple");
    int rename_path = strcmp(tool, "Read") == 0 && json_is_string(abs) &&
                      json_object_get(input, "file_path") == NULL;
    int rename_multi = strcmp(tool, "Edit") == 0 && json_is_boolean(multi) &&
                       json_object_get(input, "replace_all") == NULL;
    json_t *copy;

    if (!json_is_object(input) || (!rename_path && !rename_multi))
        return NULL;
    copy = json_copy((json_t *)input);
    if (copy == NULL || (rename_path && json_object_set(copy, "file_path", (json_t *)abs) != 0) ||
        (rename_multi && json_object_set(copy, "replace_all", (json_t *)multi) != 0)) {
        json_decref(copy);
        *oom = 1;
        return NULL;
    }
    return copy;
}

/* The parts of a run_shell_command llmContent. */
struct shell_text {
    const char *out, *err; /* err NULL when the footer says none */
    size_t out_len, err_len;
};

/* The first (or last) line of s[0..end) that starts with key, or NULL. */
static const char *find_line(const char *s, size_t end, const char *key, int last)
{
    size_t n = strlen(key);
    const char *found = NULL;
    for (size_t i = 0; i + n <= end; i++)
        if ((i == 0 || s[i - 1] == '\n') && strncmp(s + i, key, n) == 0) {
            found = s + i;
            if (!last)
                break;
        }
    return found;
}

/*
 * Splits "Command: ...\nDirectory: ...\nOutput: <text>\nError: <e>\nExit Code: <n>\n..." (Gemini
 * CLI's shell result) into the command's output and its error line; a text without an Output:
 * line is all output. The footer is found from the end, since the output may hold such lines.
 */
static struct shell_text split_shell_text(const char *s, size_t len)
{
    struct shell_text st = {s, NULL, len, 0};
    const char *out = find_line(s, len, "Output: ", 0);
    if (out == NULL)
        return st;
    out += strlen("Output: ");
    const char *exit = find_line(s, len, "Exit Code: ", 1);
    size_t end = exit != NULL && exit > out ? (size_t)(exit - s) - 1 : len;
    const char *err = find_line(s, end, "Error: ", 1);
    if (err != NULL && err > out && memchr(err, '\n', (size_t)(s + end - err)) == NULL) {
        const char *e = err + strlen("Error: ");
        size_t n = (size_t)(s + end - e);
        if (!(n == 6 && memcmp(e, "(none)", 6) == 0)) {
            st.err = e;
            st.err_len = n;
        }
        end = (size_t)(err - s) - 1;
    }
    st.out = out;
    st.out_len = out <= s + end ? (size_t)(s + end - out) : 0;
    return st;
}

/* tool_response in Claude Code's shape for the tools the rules extractor reads a result of. */
static json_t *normalized_response(const char *tool, const json_t *resp, int *oom)
{
    struct mnemo_strbuf text;
    json_t *out = NULL;
    int bash = strcmp(tool, "Bash") == 0;

    if (!json_is_object(resp) || (!bash && strcmp(tool, "Write") != 0))
        return NULL;
    mnemo_strbuf_init(&text, MNEMO_ADAPTER_INPUT_MAX);
    if (content_text(json_object_get(resp, "llmContent"), &text) != 0 ||
        mnemo_strbuf_puts(&text, "") != 0 || (out = json_object()) == NULL)
        goto oom;
    const char *s = mnemo_strbuf_str(&text);
    if (!bash) {
        const char *type = strstr(s, "overwrote") ? "update"
                           : strstr(s, "created") ? "create"
                                                  : NULL;
        if (type != NULL && json_object_set_new(out, "type", json_string(type)) != 0)
            goto oom;
        mnemo_strbuf_release(&text);
        return out;
    }
    /* Output and exit code are both in llmContent; error is set when the command could not run. */
    struct shell_text st = split_shell_text(s, text.len);
    if (json_object_set_new(out, "stdout", json_stringn(st.out, st.out_len)) != 0 ||
        (st.err != NULL &&
         json_object_set_new(out, "stderr", json_stringn(st.err, st.err_len)) != 0))
        goto oom;
    long code = mnemo__adapter_exit_code(s, 1);
    if (code >= 0 && json_object_set_new(out, "exit_code", json_integer(code)) != 0)
        goto oom;
    const json_t *error = json_object_get(resp, "error");
    if (error != NULL && !json_is_null(error)) {
        const json_t *msg = json_is_string(error) ? error : json_object_get(error, "message");
        if (json_object_set_new(out, "is_error", json_true()) != 0 ||
            (json_is_string(msg) && json_object_get(out, "stderr") == NULL &&
             json_object_set(out, "stderr", (json_t *)msg) != 0))
            goto oom;
    }
    mnemo_strbuf_release(&text);
    return out;
oom:
    mnemo_strbuf_release(&text);
    json_decref(out);
    *oom = 1;
    return NULL;
}

static int parse_tool(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    const char *name;
    int rc = mnemo__adapter_str(in->raw, "tool_name", &name, err), oom = 0;

    if (rc != 0)
        return rc;
    in->tool_name = claude_tool(name);
    in->tool_input = json_object_get(in->raw, "tool_input");
    in->tool_response = json_object_get(in->raw, "tool_response");
    if (in->tool_name == NULL)
        return 0;
    json_t *input = normalized_input(in->tool_name, in->tool_input, &oom);
    json_t *resp = oom ? NULL : normalized_response(in->tool_name, in->tool_response, &oom);
    if (input != NULL)
        in->tool_input = mnemo__adapter_keep(in, "tool_input", input);
    if (resp != NULL)
        in->tool_response = mnemo__adapter_keep(in, "tool_response", resp);
    if (oom || (input != NULL && in->tool_input == NULL) ||
        (resp != NULL && in->tool_response == NULL))
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory normalizing a Gemini tool event");
    return 0;
}

int mnemo__adapter_gemini_parse(struct mnemo_hook_input *in, struct mnemo_err *err)
{
    const json_t *raw = in->raw;
    int rc = mnemo__adapter_str(raw, "session_id", &in->session_id, err);

    if (rc == 0)
        rc = mnemo__adapter_str(raw, "cwd", &in->cwd, err);
    if (rc == 0)
        rc = mnemo__adapter_str(raw, "transcript_path", &in->transcript_path, err);
    if (rc != 0)
        return rc;
    switch (in->event) {
    case MNEMO_HOOK_SESSION_START:
        return mnemo__adapter_str(raw, "source", &in->source, err);
    case MNEMO_HOOK_USER_PROMPT_SUBMIT:
        return mnemo__adapter_str(raw, "prompt", &in->prompt, err);
    case MNEMO_HOOK_POST_TOOL_USE:
        return parse_tool(in, err);
    case MNEMO_HOOK_STOP:
    case MNEMO_HOOK_SUBAGENT_STOP:
        return mnemo__adapter_str(raw, "prompt_response", &in->last_assistant_message, err);
    case MNEMO_HOOK_SESSION_END:
    case MNEMO_HOOK_PRE_COMPACT:
        return 0;
    }
    return 0;
}

int mnemo__adapter_gemini_output(enum mnemo_hook_event e, const char *context,
                                 struct mnemo_strbuf *out)
{
    if (context != NULL && e == MNEMO_HOOK_SESSION_START)
        return mnemo__adapter_hook_specific(out, "SessionStart", context);
    if (context != NULL && e == MNEMO_HOOK_USER_PROMPT_SUBMIT)
        return mnemo__adapter_hook_specific(out, "BeforeAgent", context);
    return mnemo_strbuf_puts(out, "{}\n");
}
