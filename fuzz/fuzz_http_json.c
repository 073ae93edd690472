/*
 * fuzz_http_json.c - libFuzzer target: the worker's JSON routes (POST and PATCH) with hostile
 * bodies, called in-process on a real store the way the HTTP server calls them after it has
 * read the body (size limit, depth scan, jansson parse).
 *
 * Input: byte 0 picks the route, byte 1 the {id}/{event} parameter; the rest is the body.
 * Proves: no crash, leak or undefined behaviour in body handling and in what the handlers do
 * with what they accept (store writes, search, context), and every answer keeps the API's
 * shape (fuzz_worker.c). Cannot prove: anything about MHD's own parsing, headers, or auth.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_worker.h"
#include "service/routes.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Routes with a JSON body. Restart, maintenance and checkpoint are left out: they act on the
 * whole worker (a restart flag, minutes of maintenance) rather than on their body. */
static const struct mnemo_http_route *g_routes[64];
static size_t g_n;

static const char *const g_params[] = {"1",
                                       "2",
                                       "0",
                                       "-1",
                                       "abc",
                                       "999999999999",
                                       "session-start",
                                       "user-prompt-submit",
                                       "post-tool-use",
                                       "stop",
                                       "session-end",
                                       "pre-compact",
                                       "subagent-stop",
                                       "bogus"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    size_t n = 0;
    const struct mnemo_http_route *all = mnemo_routes(&n);
    (void)argc, (void)argv;
    for (size_t i = 0; i < n && g_n < 64; i++) {
        const struct mnemo_http_route *r = &all[i];
        if (r->handler == NULL || (r->flags & (MNEMO_HTTP_RAW_BODY | MNEMO_HTTP_SSE)))
            continue;
        if (strcmp(r->method, "POST") != 0 && strcmp(r->method, "PATCH") != 0)
            continue;
        if (strstr(r->pattern, "restart") || strstr(r->pattern, "maintenance") ||
            strstr(r->pattern, "checkpoint"))
            continue;
        g_routes[g_n++] = r;
    }
    fuzz_worker();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || g_n == 0)
        return 0;
    const struct mnemo_http_route *r = g_routes[data[0] % g_n];
    const char *param = g_params[data[1] % (sizeof g_params / sizeof g_params[0])];
    const char *name = NULL;
    if (strstr(r->pattern, "{id}") != NULL)
        name = "id";
    else if (strstr(r->pattern, "{event}") != NULL)
        name = "event";
    fuzz_worker_call(r->handler, r->method, r->pattern, name, param, 1, (const char *)data + 2,
                     size - 2);
    fuzz_worker_trim(5000);
    return 0;
}
