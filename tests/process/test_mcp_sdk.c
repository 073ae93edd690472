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

#include <libgen.h>
#include <limits.h>

/* npm may be slow on a cold cache; a hang (no network, no DNS answer) must still end. */
#define NPM_TIMEOUT_MS  240000
#define NODE_TIMEOUT_MS 60000

/*
 * Runs argv (found in PATH) with env, stdin from /dev/null and both output streams into
 * out_path, in its own process group so a timeout kills npm's children too. Returns the exit
 * status, 128+signal, or -1 when it did not finish within timeout_ms (or could not start).
 */
static int run_timed(char *const argv[], char **env, const char *out_path, int64_t timeout_ms)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    pid_t pid = 0;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0),
                     0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0600),
                     0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO), 0);
    assert_int_equal(posix_spawnattr_init(&attr), 0);
    assert_int_equal(posix_spawnattr_setpgroup(&attr, 0), 0);
    assert_int_equal(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP), 0);
    int e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (e != 0)
        return -1;
    int status = wait_child(pid, timeout_ms);
    if (status < 0) {
        kill(-pid, SIGKILL);
        wait_child(pid, EXIT_WAIT_MS);
    }
    return status;
}

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

/* Copies src to dst (small text files). */
static void copy_file(const char *src, const char *dst)
{
    size_t len = 0;
    char *data = tu_file_read(src, 1 << 22, &len);
    if (data == NULL)
        fail_msg("cannot read '%s'", src);
    tu_file_write(dst, data, len);
    free(data);
}

/* True when both files exist with the same bytes. */
static int same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *da = tu_file_read(a, 1 << 22, &la);
    char *db = tu_file_read(b, 1 << 22, &lb);
    int same = da != NULL && db != NULL && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

static void test_mcp_sdk_client_lists_and_calls_every_tool(void **state)
{
    struct fixture *f = *state;
    char log[700], src[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 64], path2[PATH_MAX + 64];
    char bin_env[PATH_MAX + 16];
    const char *bin = tu_mnemo_bin();
    snprintf(bin_env, sizeof bin_env, "MNEMO_BIN=%s", bin);
    char **env = sdk_env(f, bin_env);
    tu_path(&f->dir, "node.out", log, sizeof log);

    char *node_v[] = {(char *)"node", (char *)"--version", NULL};
    char *npm_v[] = {(char *)"npm", (char *)"--version", NULL};
    if (run_timed(node_v, env, log, 20000) != 0 || run_timed(npm_v, env, log, 20000) != 0) {
        free(env);
        print_message("SKIP: node or npm is not installed (apt-get install nodejs npm)\n");
        skip();
    }

    /* tests/mcp next to this file; the install next to the binary under test. */
    snprintf(path, sizeof path, "%s", __FILE__);
    snprintf(src, sizeof src, "%s/../mcp", dirname(path));
    snprintf(path, sizeof path, "%s", bin);
    snprintf(dir, sizeof dir, "%s/mcp-sdk", dirname(path));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        fail_msg("cannot create '%s': %s", dir, strerror(errno));
    static const char *const files[] = {"package.json", "client.mjs"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", src, files[i]);
        snprintf(path2, sizeof path2, "%s/%s", dir, files[i]);
        copy_file(path, path2);
    }
    /* npm ci rewrites nothing, so an unchanged lock file next to node_modules means done. */
    snprintf(path, sizeof path, "%s/package-lock.json", src);
    snprintf(path2, sizeof path2, "%s/package-lock.json", dir);
    char sdk[PATH_MAX + 96];
    snprintf(sdk, sizeof sdk, "%s/node_modules/@modelcontextprotocol/sdk/package.json", dir);
    if (!same_file(path, path2) || tu_file_size(sdk) < 0) {
        copy_file(path, path2);
        char *npm[] = {(char *)"npm",
                       (char *)"ci",
                       (char *)"--no-audit",
                       (char *)"--no-fund",
                       (char *)"--fetch-retries=1",
                       (char *)"--fetch-timeout=30000",
                       (char *)"--prefix",
                       dir,
                       NULL};
        int64_t t0 = tu_now_ms();
        int st = run_timed(npm, env, log, NPM_TIMEOUT_MS);
        if (st != 0 || tu_file_size(sdk) < 0) {
            char *out = tu_file_read(log, 1 << 16, NULL);
            print_message("SKIP: `npm ci` of @modelcontextprotocol/sdk failed (status %d after "
                          "%lld ms; offline?):\n%s\n",
                          st, (long long)(tu_now_ms() - t0), out != NULL ? out : "");
            free(out);
            unlink(path2); /* the next run tries again */
            free(env);
            skip();
        }
        print_message("npm ci took %lld ms\n", (long long)(tu_now_ms() - t0));
    }

    serve(f);
    snprintf(path, sizeof path, "%s/client.mjs", dir);
    char *node[] = {(char *)"node", path, NULL};
    int64_t t0 = tu_now_ms();
    int st = run_timed(node, env, log, NODE_TIMEOUT_MS);
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
