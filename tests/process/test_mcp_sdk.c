/*
 * test_mcp_sdk.c - `mnemo mcp` driven by the official MCP TypeScript SDK client
 * (@modelcontextprotocol/sdk, pinned in tests/mcp/package-lock.json): tests/mcp/client.mjs
 * connects over stdio, lists the tools and calls every one against a real worker.
 *
 * The SDK is installed with `npm ci` into <build dir>/mcp-sdk (next to the mnemo binary), once:
 * a later run whose lock file is unchanged reuses it. Without node or npm, or when the install
 * fails (offline), the test is skipped with the reason, never failed.
 */
#include "worker_procs.h"
#include "node_procs.h"

#include <libgen.h>
#include <limits.h>

/* npm may be slow on a cold cache; a hang (no network, no DNS answer) must still end. */
#define NPM_TIMEOUT_MS  240000
#define NODE_TIMEOUT_MS 60000

/* The environment of the test plus f's MNEMO_ variables (and MNEMO_BIN for client.mjs). */
static char **sdk_env(struct fixture *f, char *bin_env)
{
    size_t ne = 0;
    while (environ[ne] != NULL)
        ne++;
    char **env = calloc(ne + 6, sizeof *env);
    assert_non_null(env);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "MNEMO_", 6) != 0)
            env[k++] = environ[i];
    for (size_t i = 0; f->env[i] != NULL; i++)
        env[k++] = f->env[i];
    env[k++] = bin_env;
    env[k] = NULL;
    return env;
}

static void test_mcp_sdk_client_lists_and_calls_every_tool(void **state)
{
    struct fixture *f = *state;
    char log[700], src[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 64];
    char bin_env[PATH_MAX + 16];
    const char *bin = tu_mnemo_bin();
    snprintf(bin_env, sizeof bin_env, "MNEMO_BIN=%s", bin);
    char **env = sdk_env(f, bin_env);
    tu_path(&f->dir, "node.out", log, sizeof log);

    char *node_v[] = {(char *)"node", (char *)"--version", NULL};
    char *npm_v[] = {(char *)"npm", (char *)"--version", NULL};
    if (np_run(node_v, env, NULL, log, 20000) != 0 || np_run(npm_v, env, NULL, log, 20000) != 0) {
        free(env);
        print_message("SKIP: node or npm is not installed (apt-get install nodejs npm)\n");
        skip();
    }

    /* tests/mcp next to this file; the install next to the binary under test. */
    snprintf(path, sizeof path, "%s", __FILE__);
    snprintf(src, sizeof src, "%s/../mcp", dirname(path));
    snprintf(path, sizeof path, "%s", bin);
    snprintf(dir, sizeof dir, "%s/mcp-sdk", dirname(path));
    static const char *const files[] = {"package.json", "client.mjs"};
    char why[PATH_MAX + 128];
    if (np_install(src, dir, files, 2, "node_modules/@modelcontextprotocol/sdk/package.json", env,
                   log, NPM_TIMEOUT_MS, why, sizeof why) != 0) {
        char *out = tu_file_read(log, 1 << 16, NULL);
        print_message("SKIP: %s (offline?):\n%s\n", why, out != NULL ? out : "");
        free(out);
        free(env);
        skip();
    }

    serve(f);
    snprintf(path, sizeof path, "%s/client.mjs", dir);
    char *node[] = {(char *)"node", path, NULL};
    int64_t t0 = tu_now_ms();
    int st = np_run(node, env, NULL, log, NODE_TIMEOUT_MS);
    int64_t took = tu_now_ms() - t0;
    free(env);
    char *out = tu_file_read(log, 1 << 22, NULL);
    if (st != 0) {
        fprintf(stderr, "---- node client.mjs output:\n%s\n---- end\n", out != NULL ? out : "");
        fail_worker(f, "node client.mjs exited with %d after %lld ms", st, (long long)took);
    }
    cu_expect_contains(out, "{\"tools\":[\"search\",\"timeline\",\"get_observations\","
                            "\"save_memory\",\"memory_admin\"]}");
    cu_expect_contains(out, "\"tool\":\"memory_admin\",\"isError\":false");
    cu_expect_contains(out, "OK 10 calls, 5 tools");
    print_message("the SDK client's session took %lld ms\n", (long long)took);
    free(out);
    stop_child(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mcp_sdk_client_lists_and_calls_every_tool, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
