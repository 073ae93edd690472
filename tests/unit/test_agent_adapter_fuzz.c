/*
 * test_agent_adapter_fuzz.c - the adapters against hostile input built from the recorded
 * payloads: every top-level field replaced by every JSON type, and deterministic byte-level
 * mutations (flips, truncations, insertions). Whatever arrives, parse answers 0 or
 * MNEMO_EINVAL (never a crash: this runs under ASan/UBSan in CI), and what it returns is usable.
 */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>

#include "agent/adapter.h"

#define N_EVENTS  (MNEMO_HOOK_PRE_COMPACT + 1)
#define MUTATIONS 150

static void fixture_path(const char *sub, char *buf, size_t size)
{
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir_len = slash ? (int)(slash - file) : 1;
    snprintf(buf, size, "%.*s/../fixtures/%s", dir_len, slash ? file : ".", sub);
}

/* Calls fn on the text of every payload (not the .out.json files) of agent. */
static int for_each_payload(enum mnemo_agent agent,
                            void (*fn)(enum mnemo_agent, const char *, size_t, unsigned *),
                            unsigned *seed)
{
    char dir_path[1024];
    int n = 0;
    fixture_path(mnemo_agent_name(agent), dir_path, sizeof dir_path);
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
        fail_msg("cannot open %s", dir_path);
    for (struct dirent *de; (de = readdir(dir)) != NULL;) {
        size_t len = strlen(de->d_name), text_len;
        char path[1400];
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 ||
            (len > 9 && strcmp(de->d_name + len - 9, ".out.json") == 0))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir_path, de->d_name);
        char *text = tu_file_read(path, 1 << 20, &text_len);
        assert_non_null(text);
        fn(agent, text, text_len, seed);
        free(text);
        n++;
    }
    closedir(dir);
    return n;
}

/* Parses text as event and checks the contract: 0 with usable fields, or EINVAL with a
 * message and nothing held. Returns the rc. */
static int parse_checked(enum mnemo_agent a, enum mnemo_hook_event e, const char *text, size_t len)
{
    struct mnemo_hook_input in;
    struct mnemo_err err = {0};
    struct mnemo_strbuf sb;
    int rc = mnemo_adapter_parse(a, e, text, len, &in, &err);

    if (rc != 0 && rc != MNEMO_EINVAL)
        fail_msg("%s %s: rc %d (%s)", mnemo_agent_name(a), mnemo_hook_event_name(e), rc, err.msg);
    if (rc != 0) {
        assert_true(err.msg[0] != '\0');
        assert_null(in.raw);
        assert_null(in.session_id);
        return rc;
    }
    assert_non_null(in.raw);
    /* Every string is readable to its end and makes a valid context (UTF-8 by the parser). */
    const char *strs[] = {in.session_id, in.turn_id,         in.cwd,    in.prompt,
                          in.tool_name,  in.transcript_path, in.source, in.last_assistant_message};
    mnemo_strbuf_init(&sb, 0);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (strs[i] != NULL) {
            (void)strlen(strs[i]);
            mnemo_strbuf_reset(&sb);
            assert_int_equal(mnemo_adapter_output(a, MNEMO_HOOK_SESSION_START, strs[i], &sb), 0);
        }
    /* What the hook sends on: tool values serialize. */
    if (in.tool_input != NULL) {
        char *s = json_dumps(in.tool_input, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_non_null(s);
        free(s);
    }
    if (in.tool_response != NULL) {
        char *s = json_dumps(in.tool_response, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_non_null(s);
        free(s);
    }
    mnemo_strbuf_release(&sb);
    mnemo_hook_input_release(&in);
    return 0;
}

/* The fields the adapters read as strings (for some agent); the others are free-form. */
static int string_field(const char *key)
{
    static const char *const keys[] = {
        "session_id",
        "conversation_id",
        "generation_id",
        "turn_id",
        "cwd",
        "prompt",
        "tool_name",
        "transcript_path",
        "source",
        "last_assistant_message",
        "prompt_response",
        "text",
        "command",
        "output",
        "file_path",
        "hook_event_name",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

/* Replaces every top-level field of the payload with every JSON type, for every event. */
static void retype_fields(enum mnemo_agent a, const char *text, size_t len, unsigned *seed)
{
    static const char *const values[] = {"null",  "0",  "-1.5e300",  "true", "\"\"",
                                         "\"x\"", "[]", "[\"a\",1]", "{}",   "{\"k\":[{}]}"};
    json_t *base = json_loadb(text, len, 0, NULL);
    const char *key;
    json_t *v;
    (void)seed;
    assert_non_null(base);
    json_object_foreach(base, key, v)
    {
        for (size_t t = 0; t < sizeof values / sizeof values[0]; t++) {
            json_t *copy = json_deep_copy(base);
            json_t *nv = json_loads(values[t], JSON_DECODE_ANY, NULL);
            assert_non_null(copy);
            assert_non_null(nv);
            json_object_set_new(copy, key, nv);
            char *s = json_dumps(copy, JSON_COMPACT);
            assert_non_null(s);
            for (int e = 0; e < N_EVENTS; e++)
                parse_checked(a, e, s, strlen(s));
            free(s);
            json_decref(copy);
        }
    }
    json_decref(base);
}

static unsigned next(unsigned *s)
{
    /* xorshift32: deterministic, so a failure reproduces. */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void mutate_bytes(enum mnemo_agent a, const char *text, size_t len, unsigned *seed)
{
    static const char junk[] = "{}[]\",:\\\x80\xff\xc3\xe2\xf0\x00 01nulltrue";
    char *buf = malloc(len + 8);
    assert_non_null(buf);
    for (int m = 0; m < MUTATIONS; m++) {
        size_t n = len;
        memcpy(buf, text, len);
        int edits = 1 + (int)(next(seed) % 3);
        for (int k = 0; k < edits && n > 0; k++) {
            size_t at = next(seed) % n;
            switch (next(seed) % 4) {
            case 0: /* flip a bit */
                buf[at] ^= (char)(1u << (next(seed) % 8));
                break;
            case 1: /* truncate */
                n = at;
                break;
            case 2: /* overwrite with a structural or non-UTF-8 byte */
                buf[at] = junk[next(seed) % (sizeof junk - 1)];
                break;
            default: /* insert one */
                if (n < len + 7) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = junk[next(seed) % (sizeof junk - 1)];
                    n++;
                }
                break;
            }
        }
        parse_checked(a, (enum mnemo_hook_event)(next(seed) % N_EVENTS), buf, n);
    }
    free(buf);
}

static void test_adapter_every_field_of_every_json_type_is_zero_or_einval(void **state)
{
    static const enum mnemo_agent agents[] = {MNEMO_AGENT_CLAUDE, MNEMO_AGENT_CODEX,
                                              MNEMO_AGENT_GEMINI, MNEMO_AGENT_CURSOR};
    unsigned seed = 1;
    (void)state;
    for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++)
        assert_true(for_each_payload(agents[i], retype_fields, &seed) >= 10);
}

static void test_adapter_mutated_payloads_are_zero_or_einval(void **state)
{
    static const enum mnemo_agent agents[] = {MNEMO_AGENT_CLAUDE, MNEMO_AGENT_CODEX,
                                              MNEMO_AGENT_GEMINI, MNEMO_AGENT_CURSOR};
    unsigned seed = 0x9e3779b9u;
    (void)state;
    for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++)
        assert_true(for_each_payload(agents[i], mutate_bytes, &seed) >= 10);
}

/* A string field given any other non-null type is refused, never read as something else. */
static void test_adapter_string_fields_of_other_types_are_refused(void **state)
{
    static const struct {
        enum mnemo_agent agent;
        enum mnemo_hook_event event;
        const char *field;
    } cases[] = {
        {MNEMO_AGENT_CLAUDE, MNEMO_HOOK_SESSION_START, "session_id"},
        {MNEMO_AGENT_CLAUDE, MNEMO_HOOK_SESSION_START, "transcript_path"},
        {MNEMO_AGENT_CODEX, MNEMO_HOOK_USER_PROMPT_SUBMIT, "prompt"},
        {MNEMO_AGENT_CODEX, MNEMO_HOOK_POST_TOOL_USE, "tool_name"},
        {MNEMO_AGENT_GEMINI, MNEMO_HOOK_USER_PROMPT_SUBMIT, "prompt"},
        {MNEMO_AGENT_GEMINI, MNEMO_HOOK_SESSION_START, "cwd"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_USER_PROMPT_SUBMIT, "prompt"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_SESSION_END, "generation_id"},
        {MNEMO_AGENT_CURSOR, MNEMO_HOOK_POST_TOOL_USE, "hook_event_name"},
    };
    static const char *const values[] = {"0", "true", "[]", "{}", "[\"s\"]", "{\"s\":\"s\"}"};
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t t = 0; t < sizeof values / sizeof values[0]; t++) {
            char json[256];
            struct mnemo_hook_input in;
            struct mnemo_err err = {0};
            int len = snprintf(json, sizeof json, "{\"%s\":%s}", cases[c].field, values[t]);
            assert_true(string_field(cases[c].field));
            if (mnemo_adapter_parse(cases[c].agent, cases[c].event, json, (size_t)len, &in, &err) !=
                MNEMO_EINVAL)
                fail_msg("%s as %s: accepted", json, mnemo_agent_name(cases[c].agent));
            assert_non_null(strstr(err.msg, cases[c].field));
            mnemo_hook_input_release(&in);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_every_field_of_every_json_type_is_zero_or_einval),
        cmocka_unit_test(test_adapter_mutated_payloads_are_zero_or_einval),
        cmocka_unit_test(test_adapter_string_fields_of_other_types_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
