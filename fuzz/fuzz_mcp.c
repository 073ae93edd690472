/*
 * fuzz_mcp.c - libFuzzer target: the MCP server (mcp/mcp.h) serving one session read from
 * memory: every line of the input is a JSON-RPC message (initialize, tools/list, tools/call,
 * batches, modern-era requests...), answered into memory. The worker socket does not exist,
 * so a tool that gets past its argument checks fails the way it does with no worker running.
 *
 * Input: the client's stdin. Proves: no crash, leak or undefined behaviour in framing,
 * JSON-RPC handling, version negotiation, the tool table and every tool's argument checks;
 * every answer is one line holding a JSON object or array of them with "jsonrpc":"2.0".
 * Cannot prove: anything about the worker's answers (the tools' worker side is covered by the
 * process tests).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mcp/mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const json_t *m, const char *line)
{
    const char *v = json_string_value(json_object_get(m, "jsonrpc"));
    if (!json_is_object(m) || v == NULL || strcmp(v, "2.0") != 0) {
        fprintf(stderr, "answer is not a JSON-RPC 2.0 message: %.300s\n", line);
        abort();
    }
}

static void check_output(char *out, size_t len)
{
    char *save = NULL;
    (void)len;
    for (char *line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        if (j == NULL) {
            fprintf(stderr, "answer is not JSON (%s): %.300s\n", je.text, line);
            abort();
        }
        if (json_is_array(j)) {
            size_t i;
            json_t *m;
            json_array_foreach(j, i, m) check_message(m, line);
        } else {
            check_message(j, line);
        }
        json_decref(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mnemo_mcp_config cfg = {
        .socket_path = "/nonexistent/mnemo-fuzz/mnemo.sock",
        .project = "fuzz",
        .version = "0.0.0",
        .call_timeout_ms = 200,
        .maint_timeout_ms = 200,
    };
    struct mnemo_err err = {0};
    char *out = NULL;
    size_t out_len = 0;

    if (size == 0)
        return 0;
    FILE *in = fmemopen((void *)data, size, "r");
    if (in == NULL)
        return 0;
    FILE *o = open_memstream(&out, &out_len);
    if (o == NULL)
        abort();
    int rc = mnemo_mcp_serve(&cfg, in, o, &err);
    fclose(in);
    fclose(o);
    if (rc != 0) {
        fprintf(stderr, "serve failed on a readable input: %d %s\n", rc, err.msg);
        abort();
    }
    check_output(out, out_len);
    free(out);
    return 0;
}
