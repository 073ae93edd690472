/*
 * adapter.c - names, the parse dispatch shared by every agent, and the JSON writer that keeps
 * injected context valid and under Claude Code's cap.
 */
#include "agent/adapter.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent/adapter_int.h"

static const char *const agent_names[] = {
    [MNEMO_AGENT_CLAUDE] = "claude",
    [MNEMO_AGENT_CODEX] = "codex",
    [MNEMO_AGENT_GEMINI] = "gemini",
    [MNEMO_AGENT_CURSOR] = "cursor",
};

static const char *const event_names[] = {
    [MNEMO_HOOK_SESSION_START] = "session-start",
    [MNEMO_HOOK_USER_PROMPT_SUBMIT] = "user-prompt-submit",
    [MNEMO_HOOK_POST_TOOL_USE] = "post-tool-use",
    [MNEMO_HOOK_STOP] = "stop",
    [MNEMO_HOOK_SUBAGENT_STOP] = "subagent-stop",
    [MNEMO_HOOK_SESSION_END] = "session-end",
    [MNEMO_HOOK_PRE_COMPACT] = "pre-compact",
};

#define N_AGENTS (sizeof agent_names / sizeof agent_names[0])
#define N_EVENTS (sizeof event_names / sizeof event_names[0])

/* ---- names ------------------------------------------------------------------------------- */

int mnemo_agent_parse(const char *name, enum mnemo_agent *out)
{
    for (size_t i = 0; name != NULL && i < N_AGENTS; i++)
        if (strcmp(name, agent_names[i]) == 0) {
            *out = (enum mnemo_agent)i;
            return 0;
        }
    return MNEMO_EINVAL;
}

const char *mnemo_agent_name(enum mnemo_agent a)
{
    return (size_t)a < N_AGENTS ? agent_names[a] : "unknown";
}

int mnemo_hook_event_parse(const char *name, enum mnemo_hook_event *out)
{
    for (size_t i = 0; name != NULL && i < N_EVENTS; i++)
        if (strcmp(name, event_names[i]) == 0) {
            *out = (enum mnemo_hook_event)i;
            return 0;
        }
    return MNEMO_EINVAL;
}

const char *mnemo_hook_event_name(enum mnemo_hook_event e)
{
    return (size_t)e < N_EVENTS ? event_names[e] : "unknown";
}

/* ---- parsing ----------------------------------------------------------------------------- */

void mnemo_hook_input_release(struct mnemo_hook_input *in)
{
    if (in == NULL)
        return;
    enum mnemo_agent agent = in->agent;
    enum mnemo_hook_event event = in->event;
    json_decref(in->norm);
    json_decref(in->raw);
    memset(in, 0, sizeof *in);
    in->agent = agent;
    in->event = event;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

int mnemo__adapter_str(const json_t *obj, const char *key, const char **out, struct mnemo_err *err)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return mnemo_err_set(err, MNEMO_EINVAL, "hook input field '%s' is %s, not a string", key,
                             json_kind(v));
    *out = json_string_value(v);
    return 0;
}

int mnemo__adapter_common_fields(struct mnemo_hook_input *in, struct mnemo_err *err)
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
        rc = mnemo__adapter_str(raw, "tool_name", &in->tool_name, err);
        /* Any JSON type: built-in tools answer objects, MCP tools arrays of content blocks. */
        in->tool_input = json_object_get(raw, "tool_input");
        in->tool_response = json_object_get(raw, "tool_response");
        return rc;
    case MNEMO_HOOK_STOP:
    case MNEMO_HOOK_SUBAGENT_STOP:
    case MNEMO_HOOK_SESSION_END:
    case MNEMO_HOOK_PRE_COMPACT:
        return mnemo__adapter_str(raw, "last_assistant_message", &in->last_assistant_message, err);
    }
    return 0;
}

json_t *mnemo__adapter_norm(struct mnemo_hook_input *in)
{
    if (in->norm == NULL)
        in->norm = json_object();
    return in->norm;
}

const json_t *mnemo__adapter_keep(struct mnemo_hook_input *in, const char *key, json_t *v)
{
    json_t *norm = mnemo__adapter_norm(in);
    if (v == NULL || norm == NULL || json_object_set_new(norm, key, v) != 0) {
        if (norm == NULL)
            json_decref(v);
        return NULL;
    }
    return v;
}

int mnemo_adapter_parse(enum mnemo_agent agent, enum mnemo_hook_event event, const char *buf,
                        size_t len, struct mnemo_hook_input *out, struct mnemo_err *err)
{
    json_error_t je;
    int rc;

    memset(out, 0, sizeof *out);
    out->agent = agent;
    out->event = event;
    if ((size_t)agent >= N_AGENTS || (size_t)event >= N_EVENTS)
        return mnemo_err_set(err, MNEMO_EINVAL, "unknown agent %d or hook event %d", (int)agent,
                             (int)event);
    if (buf == NULL || len == 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "hook input is empty (expected a JSON object)");
    if (len > MNEMO_ADAPTER_INPUT_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "hook input is %zu bytes, more than the %zu allowed", len,
                             MNEMO_ADAPTER_INPUT_MAX);
    /* Tool output may hold NUL characters; rejecting the event for one would lose it. */
    out->raw = json_loadb(buf, len, JSON_ALLOW_NUL, &je);
    if (out->raw == NULL)
        return mnemo_err_set(err, MNEMO_EINVAL, "hook input is not JSON: %s (line %d, column %d)",
                             je.text, je.line, je.column);
    if (!json_is_object(out->raw)) {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "hook input is %s, not a JSON object",
                           json_kind(out->raw));
        goto fail;
    }
    switch (agent) {
    case MNEMO_AGENT_CLAUDE:
        rc = mnemo__adapter_claude_parse(out, err);
        break;
    case MNEMO_AGENT_CODEX:
        rc = mnemo__adapter_codex_parse(out, err);
        break;
    case MNEMO_AGENT_GEMINI:
        rc = mnemo__adapter_gemini_parse(out, err);
        break;
    case MNEMO_AGENT_CURSOR:
    default:
        rc = mnemo__adapter_cursor_parse(out, err);
        break;
    }
    if (rc == 0)
        return 0;
fail:
    mnemo_hook_input_release(out);
    return rc;
}

long mnemo__adapter_exit_code(const char *text, int last)
{
    long found = -1;
    static const char *const keys[] = {"exit code:", "process exited with code"};
    for (const char *line = text; line != NULL && *line != '\0';) {
        while (*line == ' ' || *line == '\t')
            line++;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t n = strlen(keys[k]);
            if (strncasecmp(line, keys[k], n) != 0)
                continue;
            const char *num = line + n;
            while (*num == ' ')
                num++;
            if (isdigit((unsigned char)*num)) {
                char *end;
                long code = strtol(num, &end, 10);
                if (code >= 0 && code <= 255) {
                    if (!last)
                        return code;
                    found = code;
                }
            }
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return found;
}

/* ---- output ------------------------------------------------------------------------------ */

int mnemo__adapter_has_context(const char *context)
{
    if (context == NULL)
        return 0;
    for (const char *p = context; *p != '\0'; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return 1;
    return 0;
}

/*
 * Decodes one UTF-8 character at s (NUL-terminated). Returns its length in bytes and the code
 * point in *cp, or 0 when s does not start a valid, shortest-form sequence (RFC 3629: no
 * surrogates, nothing above U+10FFFF).
 */
static size_t utf8_decode(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0], min;
    size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, min = 0x80, c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, min = 0x800, c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

int mnemo__adapter_json_string(struct mnemo_strbuf *out, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t units = 0;
    int rc = mnemo_strbuf_append(out, "\"", 1);

    while (rc == 0 && *p != '\0') {
        unsigned cp;
        size_t n = utf8_decode(p, &cp);
        size_t w = n == 0 ? 1 : (cp >= 0x10000 ? 2 : 1);
        if (units + w > MNEMO_ADAPTER_CONTEXT_MAX)
            break;
        units += w;
        if (n == 0) {
            rc = mnemo_strbuf_append(out, "\xEF\xBF\xBD", 3); /* U+FFFD for a stray byte */
            p++;
            continue;
        }
        if (cp == '"' || cp == '\\') {
            char esc[2] = {'\\', (char)cp};
            rc = mnemo_strbuf_append(out, esc, 2);
        } else if (cp < 0x20) {
            const char *named = cp == '\n'   ? "\\n"
                                : cp == '\t' ? "\\t"
                                : cp == '\r' ? "\\r"
                                : cp == '\b' ? "\\b"
                                : cp == '\f' ? "\\f"
                                             : NULL;
            char u[6] = {'\\', 'u', '0', '0', hex[cp >> 4], hex[cp & 15]};
            rc = named ? mnemo_strbuf_append(out, named, 2) : mnemo_strbuf_append(out, u, 6);
        } else {
            rc = mnemo_strbuf_append(out, p, n);
        }
        p += n;
    }
    return rc == 0 ? mnemo_strbuf_append(out, "\"", 1) : rc;
}

int mnemo__adapter_hook_specific(struct mnemo_strbuf *out, const char *name, const char *context)
{
    int rc = mnemo_strbuf_puts(out, "{\"hookSpecificOutput\":{\"hookEventName\":");
    if (rc == 0)
        rc = mnemo__adapter_json_string(out, name);
    if (rc == 0)
        rc = mnemo_strbuf_puts(out, ",\"additionalContext\":");
    if (rc == 0)
        rc = mnemo__adapter_json_string(out, context);
    return rc == 0 ? mnemo_strbuf_puts(out, "}}\n") : rc;
}

int mnemo_adapter_output(enum mnemo_agent agent, enum mnemo_hook_event event, const char *context,
                         struct mnemo_strbuf *out)
{
    const char *ctx = mnemo__adapter_has_context(context) ? context : NULL;

    if ((size_t)event >= N_EVENTS)
        return MNEMO_EINVAL;
    switch (agent) {
    case MNEMO_AGENT_CLAUDE:
        return mnemo__adapter_claude_output(event, ctx, out);
    case MNEMO_AGENT_CODEX:
        return mnemo__adapter_codex_output(event, ctx, out);
    case MNEMO_AGENT_GEMINI:
        return mnemo__adapter_gemini_output(event, ctx, out);
    case MNEMO_AGENT_CURSOR:
        return mnemo__adapter_cursor_output(event, ctx, out);
    }
    return MNEMO_EINVAL;
}
