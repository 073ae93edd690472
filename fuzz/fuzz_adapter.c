/*
 * fuzz_adapter.c - libFuzzer target: the hook adapters of every agent (agent/adapter.h), what
 * `mnemo hook <event> --agent <agent>` does with its stdin and with the context it prints.
 *
 * Input: byte 0 picks the agent (and a repeat count), byte 1 the event; the rest is the hook's
 * stdin. The parsed prompt (or the input itself, repeated) is then used as the context the
 * adapter writes out.
 * Proves: no crash, leak or undefined behaviour in parsing any stdin for any agent and event;
 * the output is empty or one JSON object per line (what the agents validate), and an injected
 * additionalContext never exceeds MNEMO_ADAPTER_CONTEXT_MAX UTF-16 code units. Cannot prove:
 * that the agents accept the shape (the fixture tests pin that against recorded payloads).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/adapter.h"
#include "util/strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum mnemo_agent g_agents[] = {MNEMO_AGENT_CLAUDE, MNEMO_AGENT_CODEX,
                                            MNEMO_AGENT_GEMINI, MNEMO_AGENT_CURSOR};
static const enum mnemo_hook_event g_events[] = {
    MNEMO_HOOK_SESSION_START, MNEMO_HOOK_USER_PROMPT_SUBMIT, MNEMO_HOOK_POST_TOOL_USE,
    MNEMO_HOOK_STOP,          MNEMO_HOOK_SUBAGENT_STOP,      MNEMO_HOOK_SESSION_END,
    MNEMO_HOOK_PRE_COMPACT,
};

/* UTF-16 code units of the UTF-8 string s (jansson hands out valid UTF-8). */
static size_t utf16_units(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) != 0x80)
            n += (*p >= 0xF0) ? 2 : 1;
    }
    return n;
}

static void check_context(const json_t *obj)
{
    const json_t *h = json_object_get(obj, "hookSpecificOutput");
    const char *ctx = json_string_value(json_object_get(h, "additionalContext"));
    if (ctx == NULL)
        ctx = json_string_value(json_object_get(obj, "additional_context"));
    if (ctx != NULL && utf16_units(ctx) > MNEMO_ADAPTER_CONTEXT_MAX) {
        fprintf(stderr, "context of %zu UTF-16 units\n", utf16_units(ctx));
        abort();
    }
}

/* Every non-empty line of out must be one JSON object. */
static void check_output(const char *out, size_t len)
{
    const char *p = out, *end = out + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        if (le > p) {
            json_error_t je;
            json_t *j = json_loadb(p, (size_t)(le - p), 0, &je);
            if (!json_is_object(j)) {
                fprintf(stderr, "output line is not a JSON object (%s): %.*s\n", je.text,
                        (int)(le - p > 300 ? 300 : le - p), p);
                abort();
            }
            check_context(j);
            json_decref(j);
        }
        p = le + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mnemo_hook_input in;
    struct mnemo_err err = {0};
    struct mnemo_strbuf out;

    if (size < 2)
        return 0;
    enum mnemo_agent agent = g_agents[data[0] % 4];
    enum mnemo_hook_event event = g_events[data[1] % 7];
    const char *buf = (const char *)data + 2;
    size_t len = size - 2;

    memset(&in, 0, sizeof in);
    int rc = mnemo_adapter_parse(agent, event, buf, len, &in, &err);
    if (rc != 0 && (in.raw != NULL || in.norm != NULL)) {
        fprintf(stderr, "failed parse (%s) kept its JSON\n", err.msg);
        abort();
    }
    /* The context: the prompt when there is one, else the raw bytes (any bytes at all)
     * repeated 1 to 16 times (byte 0's high bits), so that contexts longer than
     * MNEMO_ADAPTER_CONTEXT_MAX reach the cut at a character boundary although libFuzzer's
     * inputs stay short. */
    char *raw = NULL;
    const char *context = in.prompt;
    if (context == NULL) {
        size_t reps = (size_t)(data[0] >> 2) % 16 + 1;
        raw = malloc(len * reps + 1);
        if (raw == NULL)
            abort();
        for (size_t i = 0; i < reps; i++)
            memcpy(raw + i * len, buf, len);
        raw[len * reps] = '\0';
        context = raw;
    }
    mnemo_strbuf_init(&out, 0);
    if (mnemo_adapter_output(agent, event, context, &out) == 0)
        check_output(mnemo_strbuf_str(&out), out.len);
    mnemo_strbuf_release(&out);
    free(raw);
    mnemo_hook_input_release(&in);
    return 0;
}
