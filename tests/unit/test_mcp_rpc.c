/*
 * test_mcp_rpc.c - the MCP server's JSON-RPC layer over in-memory streams (fmemopen input,
 * open_memstream output): the legacy and the modern conversation, every error code, notifications
 * never answered, malformed lines, batches per protocol version, tool failures as isError
 * results. No worker runs here (its socket path names nothing), so every tool that reaches the
 * worker answers "not running"; test_mcp_tools.c drives the tools against a real worker.
 */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "mcp/mcp.h"
#include "mcp/mcp_int.h"

struct fx {
    struct tu_dir dir;
    char sock[300];
    struct mnemo_mcp_config cfg;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "mnemo.sock", f->sock, sizeof f->sock);
    f->cfg.socket_path = f->sock;
    f->cfg.project = "proj_test";
    f->cfg.version = "9.9.9";
    f->cfg.call_timeout_ms = 2000;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* Serves input (n bytes; 0: strlen) and returns every output line parsed, in an array. */
static json_t *converse_n(struct fx *f, const char *input, size_t n)
{
    char *outbuf = NULL;
    size_t outlen = 0;
    if (n == 0)
        n = strlen(input);
    FILE *in = fmemopen((void *)input, n, "r");
    FILE *out = open_memstream(&outbuf, &outlen);
    assert_non_null(in);
    assert_non_null(out);
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_mcp_serve(&f->cfg, in, out, &err), 0);
    fclose(in);
    fclose(out);
    /* Every answer is exactly one line: nothing but JSON-RPC on the output. */
    size_t newlines = 0;
    for (size_t i = 0; i < outlen; i++)
        newlines += outbuf[i] == '\n';
    assert_true(outlen == 0 || outbuf[outlen - 1] == '\n');
    json_t *lines = json_array();
    char *save = NULL;
    for (char *line = strtok_r(outbuf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, JSON_DECODE_ANY, &je);
        if (j == NULL)
            fail_msg("output line is not JSON (%s): %s", je.text, line);
        json_array_append_new(lines, j);
    }
    assert_int_equal(newlines, json_array_size(lines));
    free(outbuf);
    return lines;
}

static json_t *converse(struct fx *f, const char *input)
{
    return converse_n(f, input, 0);
}

/* The answer with this integer id (borrowed), failing when there is none. */
static json_t *by_id(json_t *lines, json_int_t id)
{
    size_t i;
    json_t *j;
    json_array_foreach(lines, i, j)
    {
        if (json_is_integer(json_object_get(j, "id")) &&
            json_integer_value(json_object_get(j, "id")) == id)
            return j;
    }
    fail_msg("no answer with id %lld", (long long)id);
    return NULL;
}

static void expect_error(const json_t *ans, int code)
{
    const json_t *e = json_object_get(ans, "error");
    if (!json_is_object(e)) {
        char *s = json_dumps(ans, 0);
        fail_msg("expected error %d, got %s", code, s);
    }
    assert_int_equal(json_integer_value(json_object_get(e, "code")), code);
    assert_true(json_is_string(json_object_get(e, "message")));
    assert_string_equal(json_string_value(json_object_get(ans, "jsonrpc")), "2.0");
    assert_null(json_object_get(ans, "result"));
}

static const json_t *result_of(const json_t *ans)
{
    const json_t *r = json_object_get(ans, "result");
    if (!json_is_object(r)) {
        char *s = json_dumps(ans, 0);
        fail_msg("expected a result, got %s", s);
    }
    return r;
}

static const char *tool_text(const json_t *ans)
{
    const json_t *c = json_array_get(json_object_get(result_of(ans), "content"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "type")), "text");
    return json_string_value(json_object_get(c, "text"));
}

#define INIT(v)                                                                                    \
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" v \
    "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n"
#define INITIALIZED "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n"

static void test_mcp_legacy_conversation_answers_each_request_in_order(void **state)
{
    struct fx *f = *state;
    json_t *lines = converse(
        f, INIT("2025-06-18") INITIALIZED
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"search\","
        "\"arguments\":{\"query\":\"x\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"timeline\",\"arguments\":{\"anchor\":1}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"get_observations\",\"arguments\":{\"ids\":[1]}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"save_memory\",\"arguments\":{\"title\":\"t\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"memory_admin\",\"arguments\":{\"action\":\"stats\"}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}\n");
    assert_int_equal(json_array_size(lines), 8); /* the notification got nothing */

    const json_t *init = result_of(by_id(lines, 1));
    assert_string_equal(json_string_value(json_object_get(init, "protocolVersion")), "2025-06-18");
    assert_true(json_is_object(json_object_get(json_object_get(init, "capabilities"), "tools")));
    const json_t *si = json_object_get(init, "serverInfo");
    assert_string_equal(json_string_value(json_object_get(si, "name")), "mnemo");
    assert_string_equal(json_string_value(json_object_get(si, "version")), "9.9.9");
    assert_true(json_is_string(json_object_get(init, "instructions")));
    assert_null(json_object_get(init, "resultType")); /* legacy results stay legacy */

    const json_t *tools = json_object_get(result_of(by_id(lines, 2)), "tools");
    static const char *const names[] = {"search", "timeline", "get_observations", "save_memory",
                                        "memory_admin"};
    assert_int_equal(json_array_size(tools), 5);
    for (size_t i = 0; i < 5; i++) {
        const json_t *t = json_array_get(tools, i);
        assert_string_equal(json_string_value(json_object_get(t, "name")), names[i]);
        assert_true(json_string_length(json_object_get(t, "description")) > 40);
        const json_t *schema = json_object_get(t, "inputSchema");
        assert_string_equal(json_string_value(json_object_get(schema, "type")), "object");
        assert_true(json_object_size(json_object_get(schema, "properties")) > 0);
        const json_t *ann = json_object_get(t, "annotations");
        assert_true(json_is_boolean(json_object_get(ann, "readOnlyHint")));
        assert_true(json_is_boolean(json_object_get(ann, "destructiveHint")));
        assert_true(json_is_boolean(json_object_get(ann, "idempotentHint")));
        assert_true(json_is_false(json_object_get(ann, "openWorldHint")));
        assert_true(json_is_string(json_object_get(ann, "title")));
    }
    /* Read-only tools say so; only memory_admin may destroy (retention runs in maintenance). */
    assert_true(json_is_true(
        json_object_get(json_object_get(json_array_get(tools, 0), "annotations"), "readOnlyHint")));
    assert_true(json_is_true(json_object_get(
        json_object_get(json_array_get(tools, 4), "annotations"), "destructiveHint")));

    /* No worker: each tool answers a result with isError and what to do. */
    for (json_int_t id = 3; id <= 7; id++) {
        const json_t *ans = by_id(lines, id);
        assert_true(json_is_true(json_object_get(result_of(ans), "isError")));
        assert_non_null(strstr(tool_text(ans), "mnemo start"));
    }
    size_t i;
    json_t *j;
    int pinged = 0;
    json_array_foreach(lines, i, j)
    {
        if (json_is_string(json_object_get(j, "id")) &&
            strcmp(json_string_value(json_object_get(j, "id")), "p") == 0) {
            assert_int_equal(json_object_size(result_of(j)), 0);
            pinged = 1;
        }
    }
    assert_true(pinged);
    json_decref(lines);
}

static void test_mcp_initialize_echoes_supported_versions_and_offers_newest_otherwise(void **state)
{
    struct fx *f = *state;
    static const char *const versions[] = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"};
    for (size_t i = 0; i < 4; i++) {
        char input[400];
        snprintf(input, sizeof input,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                 "\"protocolVersion\":\"%s\",\"capabilities\":{}}}\n",
                 versions[i]);
        json_t *lines = converse(f, input);
        assert_string_equal(
            json_string_value(json_object_get(result_of(by_id(lines, 1)), "protocolVersion")),
            versions[i]);
        json_decref(lines);
    }
    json_t *lines = converse(f, INIT("1999-01-01") INIT("2026-07-28"));
    assert_int_equal(json_array_size(lines), 2);
    for (size_t k = 0; k < 2; k++)
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(json_array_get(lines, k), "result"),
                                              "protocolVersion")),
            "2025-11-25");
    json_decref(lines);
}

#define META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}"

static void test_mcp_modern_conversation_needs_no_initialize(void **state)
{
    struct fx *f = *state;
    json_t *lines = converse(
        f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{" META "}}\n"
           "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{" META "}}\n"
           "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{" META
           ",\"name\":\"memory_admin\",\"arguments\":{\"action\":\"health\"}}}\n"
           "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{" META
           ",\"name\":\"search\",\"arguments\":{\"limit\":0}}}\n"
           "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":{" META "}}\n"
           "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\",\"params\":{\"_meta\":{"
           "\"io.modelcontextprotocol/protocolVersion\":\"2030-01-01\"}}}\n"
           "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"server/discover\"}\n");
    assert_int_equal(json_array_size(lines), 7);

    const json_t *d = result_of(by_id(lines, 1));
    assert_string_equal(json_string_value(json_object_get(d, "resultType")), "complete");
    const json_t *sv = json_object_get(d, "supportedVersions");
    assert_int_equal(json_array_size(sv), 1);
    assert_string_equal(json_string_value(json_array_get(sv, 0)), "2026-07-28");
    assert_true(json_is_object(json_object_get(json_object_get(d, "capabilities"), "tools")));
    const json_t *info =
        json_object_get(json_object_get(d, "_meta"), "io.modelcontextprotocol/serverInfo");
    assert_string_equal(json_string_value(json_object_get(info, "name")), "mnemo");
    assert_true(json_integer_value(json_object_get(d, "ttlMs")) > 0);
    assert_string_equal(json_string_value(json_object_get(d, "cacheScope")), "public");

    const json_t *tl = result_of(by_id(lines, 2));
    assert_string_equal(json_string_value(json_object_get(tl, "resultType")), "complete");
    assert_true(json_integer_value(json_object_get(tl, "ttlMs")) > 0);
    assert_true(json_is_string(json_object_get(tl, "cacheScope")));
    assert_int_equal(json_array_size(json_object_get(tl, "tools")), 5);

    const json_t *call = result_of(by_id(lines, 3));
    assert_string_equal(json_string_value(json_object_get(call, "resultType")), "complete");
    assert_true(json_is_true(json_object_get(call, "isError")));
    assert_null(json_object_get(call, "ttlMs")); /* a call is not a list */

    /* Bad arguments are the tool's error, for the model to fix. */
    assert_true(json_is_true(json_object_get(result_of(by_id(lines, 4)), "isError")));
    assert_non_null(strstr(tool_text(by_id(lines, 4)), "'limit'"));

    expect_error(by_id(lines, 5), -32601); /* the modern revision has no ping */

    const json_t *bad = by_id(lines, 6);
    expect_error(bad, -32022);
    const json_t *data = json_object_get(json_object_get(bad, "error"), "data");
    assert_string_equal(json_string_value(json_array_get(json_object_get(data, "supported"), 0)),
                        "2026-07-28");
    assert_string_equal(json_string_value(json_object_get(data, "requested")), "2030-01-01");

    /* A probe without _meta is answered too (a client may discover before choosing). */
    assert_string_equal(
        json_string_value(json_object_get(result_of(by_id(lines, 7)), "resultType")), "complete");
    json_decref(lines);
}

static void test_mcp_protocol_errors_carry_their_codes(void **state)
{
    struct fx *f = *state;
    json_t *lines = converse(
        f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n" /* before initialize */
        INIT("2025-11-25") INITIALIZED
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"nope\",\"arguments\":{}}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"search\",\"arguments\":[1]}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\",\"params\":[1]}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\",\"params\":5}\n"
        "{\"jsonrpc\":\"1.0\",\"id\":8,\"method\":\"ping\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":7}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"initialize\",\"params\":{}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/list\",\"params\":{\"cursor\":\"x\"}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}\n"
        "[1,2]\n"
        "42\n"
        "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"ping\"}\n");
    expect_error(by_id(lines, 1), -32600);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(by_id(lines, 1), "error"), "message")),
        "initialize"));
    expect_error(by_id(lines, 2), -32601);
    expect_error(by_id(lines, 3), -32602);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(by_id(lines, 3), "error"), "message")),
        "Unknown tool: nope"));
    expect_error(by_id(lines, 4), -32602);
    expect_error(by_id(lines, 5), -32602);
    expect_error(by_id(lines, 6), -32602);
    expect_error(by_id(lines, 7), -32600);
    expect_error(by_id(lines, 8), -32600);
    expect_error(by_id(lines, 9), -32600);
    expect_error(by_id(lines, 10), -32602);
    expect_error(by_id(lines, 11), -32602);
    assert_int_equal(json_object_size(result_of(by_id(lines, 12))), 0);

    /* Bad ids, a batch in a 2025-11-25 session and a bare number: -32600 with id null. */
    size_t nulls = 0, i;
    json_t *j;
    json_array_foreach(lines, i, j)
    {
        if (json_is_null(json_object_get(j, "id"))) {
            expect_error(j, -32600);
            nulls++;
        }
    }
    assert_int_equal(nulls, 4);
    assert_int_equal(json_array_size(lines), 17); /* 16 requests answered + initialize */
    json_decref(lines);
}

static void test_mcp_notifications_are_never_answered(void **state)
{
    struct fx *f = *state;
    json_t *lines = converse(f, INITIALIZED
                             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                             "\"params\":{\"requestId\":3}}\n"
                             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/unknown\"}\n"
                             "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}\n"
                             "{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":"
                             "\"nope\"}}\n"
                             "{\"method\":\"notifications/initialized\"}\n"
                             "{\"jsonrpc\":\"2.0\",\"method\":\"initialize\",\"params\":5}\n"
                             "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}\n");
    assert_int_equal(json_array_size(lines), 0);
    json_decref(lines);
}

static void test_mcp_malformed_lines_get_parse_errors_and_the_session_goes_on(void **state)
{
    struct fx *f = *state;
    size_t big = MNEMO_MCP_MAX_LINE + 100;
    const char *tail = "\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\n"
                       "\n   \n"
                       "{\"jsonrpc\":\"2.0\",\"id\":\n"
                       "not json at all\n"
                       "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"p\xff\"}\n"
                       "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}"; /* no final newline */
    char *input = malloc(big + strlen(tail) + 1);
    assert_non_null(input);
    input[0] = '"';
    memset(input + 1, 'a', big - 1);
    memcpy(input + big, tail, strlen(tail) + 1);

    json_t *lines = converse_n(f, input, big + strlen(tail));
    free(input);
    assert_int_equal(json_array_size(lines), 6);
    size_t parse_errors = 0, i;
    json_t *j;
    json_array_foreach(lines, i, j)
    {
        if (json_object_get(j, "error") != NULL) {
            expect_error(j, -32700);
            assert_true(json_is_null(json_object_get(j, "id")));
            parse_errors++;
        }
    }
    assert_int_equal(parse_errors, 4); /* the huge line, the cut one, the text, bad UTF-8 */
    assert_int_equal(json_object_size(result_of(by_id(lines, 1))), 0);
    assert_int_equal(json_object_size(result_of(by_id(lines, 3))), 0);
    json_decref(lines);
}

static void test_mcp_batches_only_in_sessions_of_versions_that_had_them(void **state)
{
    struct fx *f = *state;
    json_t *lines = converse(
        f, INIT("2025-03-26") "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"},"
                              "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
                              "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"},"
                              "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"nope\"}]\n"
                              "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]\n"
                              "[]\n");
    assert_int_equal(json_array_size(lines), 3); /* init, the batch, the empty batch's error */
    const json_t *batch = json_array_get(lines, 1);
    assert_true(json_is_array(batch));
    assert_int_equal(json_array_size(batch), 3);
    assert_int_equal(json_object_size(result_of(by_id((json_t *)batch, 2))), 0);
    assert_int_equal(
        json_array_size(json_object_get(result_of(by_id((json_t *)batch, 3)), "tools")), 5);
    expect_error(by_id((json_t *)batch, 4), -32601);
    expect_error(json_array_get(lines, 2), -32600);
    json_decref(lines);

    lines =
        converse(f, INIT("2025-06-18") "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]\n");
    assert_int_equal(json_array_size(lines), 2);
    expect_error(json_array_get(lines, 1), -32600);
    assert_true(json_is_null(json_object_get(json_array_get(lines, 1), "id")));
    json_decref(lines);
}

static void test_mcp_bad_tool_arguments_are_error_results_naming_the_argument(void **state)
{
    struct fx *f = *state;
    json_t *lines = converse(
        f,
        INIT(
            "2025-11-25") "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"search\","
                          "\"arguments\":{\"querry\":\"x\"}}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"search\","
                          "\"arguments\":{\"since\":\"last week\"}}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
                          "\"timeline\",\"arguments\":{}}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":"
                          "\"get_observations\",\"arguments\":{\"ids\":[\"abc\"]}}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":"
                          "\"save_memory\",\"arguments\":{\"narrative\":\"no title\"}}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
                          "\"memory_admin\",\"arguments\":{\"action\":\"drop_all\"}}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":"
                          "\"get_observations\",\"arguments\":{\"ids\":[]}}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":"
                          "\"timeline\",\"arguments\":{\"anchor\":3,\"depth_before\":51}}}\n"
                          "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{\"name\":"
                          "\"search\",\"arguments\":{\"type\":\"cision\"}}}\n");
    static const struct {
        json_int_t id;
        const char *says;
    } want[] = {{2, "unknown argument 'querry'"},
                {3, "'since'"},
                {4, "anchor"},
                {5, "item 0"},
                {6, "'title'"},
                {7, "drop_all"},
                {8, "'ids'"},
                {9, "'depth_before'"},
                {10, "'type' must be one of"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const json_t *ans = by_id(lines, want[i].id);
        assert_true(json_is_true(json_object_get(result_of(ans), "isError")));
        if (strstr(tool_text(ans), want[i].says) == NULL)
            fail_msg("answer %lld says '%s', not '%s'", (long long)want[i].id, tool_text(ans),
                     want[i].says);
    }
    json_decref(lines);
}

static void test_mcp_parse_date_accepts_days_and_rfc3339_only(void **state)
{
    (void)state;
    assert_int_equal(mcp_parse_date("1970-01-02", 0), 86400000);
    assert_int_equal(mcp_parse_date("1970-01-02", 1), 2 * 86400000);
    assert_int_equal(mcp_parse_date("2026-05-01T12:00:00Z", 0), 1777636800000LL);
    assert_int_equal(mcp_parse_date("2026-05-01T14:00:00+02:00", 0), 1777636800000LL);
    assert_int_equal(mcp_parse_date("2026-05-01T12:00:00.250Z", 0), 1777636800250LL);
    assert_int_equal(mcp_parse_date("2026-05-01T12:00", 0), 1777636800000LL);
    assert_int_equal(mcp_parse_date("2026-02-30", 0), -1);
    assert_int_equal(mcp_parse_date("2026-13-01", 0), -1);
    assert_int_equal(mcp_parse_date("yesterday", 0), -1);
    assert_int_equal(mcp_parse_date("2026-05-01T25:00Z", 0), -1);
    assert_int_equal(mcp_parse_date("2026-05-01Tx", 0), -1);
    assert_int_equal(mcp_parse_date("2026-05-01 junk", 0), -1);
}

/* The descriptor path: a pipe whose writer never closes ends when the idle check says so. */
static int idle_stop(void *arg)
{
    int *calls = arg;
    return ++*calls >= 2;
}

static void test_mcp_idle_check_ends_a_session_whose_input_stays_open(void **state)
{
    struct fx *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";
    assert_int_equal(write(fds[1], msg, strlen(msg)), (ssize_t)strlen(msg));
    FILE *in = fdopen(fds[0], "r");
    char *outbuf = NULL;
    size_t outlen = 0;
    FILE *out = open_memstream(&outbuf, &outlen);
    int calls = 0;
    f->cfg.idle = idle_stop;
    f->cfg.idle_arg = &calls;
    int64_t t0 = tu_now_ms();
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_mcp_serve(&f->cfg, in, out, &err), 0);
    assert_true(tu_now_ms() - t0 < 10 * MNEMO_MCP_IDLE_MS);
    assert_int_equal(calls, 2);
    fclose(out);
    assert_non_null(strstr(outbuf, "\"id\":1"));
    free(outbuf);
    fclose(in);
    close(fds[1]);
}

static void test_mcp_closed_output_ends_the_session_with_an_error(void **state)
{
    struct fx *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    close(fds[0]);
    signal(SIGPIPE, SIG_IGN);
    FILE *out = fdopen(fds[1], "w");
    const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";
    FILE *in = fmemopen((void *)msg, strlen(msg), "r");
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_mcp_serve(&f->cfg, in, out, &err), MNEMO_EIO);
    fclose(in);
    fclose(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mcp_legacy_conversation_answers_each_request_in_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_mcp_initialize_echoes_supported_versions_and_offers_newest_otherwise, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_mcp_modern_conversation_needs_no_initialize, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mcp_protocol_errors_carry_their_codes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mcp_notifications_are_never_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_mcp_malformed_lines_get_parse_errors_and_the_session_goes_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcp_batches_only_in_sessions_of_versions_that_had_them,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_mcp_bad_tool_arguments_are_error_results_naming_the_argument, setup, teardown),
        cmocka_unit_test(test_mcp_parse_date_accepts_days_and_rfc3339_only),
        cmocka_unit_test_setup_teardown(test_mcp_idle_check_ends_a_session_whose_input_stays_open,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_mcp_closed_output_ends_the_session_with_an_error,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
