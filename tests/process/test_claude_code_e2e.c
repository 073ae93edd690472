/*
 * test_claude_code_e2e.c - mnemo end to end with the real Claude Code CLI
 * (@anthropic-ai/claude-code, pinned in tests/claude/package-lock.json) in print mode, against
 * a scripted fake Anthropic Messages API on loopback. tests/claude/e2e.mjs does the work in a
 * throwaway HOME, as a user would: `mnemo start`, `mnemo install claude --user`, a session whose
 * Write tool call is captured as an observation, a second session whose requests carry the
 * session-start index and the prompt's memories and whose model calls mnemo's MCP `search`
 * tool, `claude mcp list` showing mnemo connected, a project named in ignore_projects left
 * alone, `mnemo uninstall claude --user` giving the user's settings back, and then, with the
 * worker stopped, the same capture and recall through the plugin folder
 * integrations/claude-code (--plugin-dir), whose first hook starts the worker.
 *
 * The CLI is installed with `npm ci` into <build dir>/claude-code (next to the mnemo binary),
 * once: a later run whose lock file is unchanged reuses it. Without node or npm, or when the
 * install fails (offline), the test is skipped with the reason, unless MNEMO_E2E_REQUIRE=1
 * (CI with a network) makes that a failure.
 */
#include "cliutil.h"
#include "node_procs.h"

#include <libgen.h>
#include <limits.h>

/* npm may be slow on a cold cache (the CLI's native binary is a large download). */
#define NPM_TIMEOUT_MS 300000
/* e2e.mjs bounds each of its steps; this only ends a driver that hangs anyway. */
#define NODE_TIMEOUT_MS 240000

/*
 * A sanitizer build's hooks start and answer several times slower than a release build's;
 * their deadlines (post-tool-use 300 ms) are the release build's promise, pinned by the hook
 * deadline tests. Here they get 1.5 s, still under every timeout `mnemo install` gives
 * Claude Code (2 s and more), so an overloaded CI machine does not turn a slow ASan hook
 * into a lost event.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && strcmp(v, "1") == 0;
}

/* Skips, or with MNEMO_E2E_REQUIRE=1 fails, with why. */
static void skip_or_fail(const char *why)
{
    if (env_on("MNEMO_E2E_REQUIRE"))
        fail_msg("%s (MNEMO_E2E_REQUIRE=1)", why);
    print_message("SKIP: %s\n", why);
    skip();
}

static void test_claude_code_captures_injects_and_lists_mnemo(void **state)
{
    (void)state;
    struct tu_dir tmp;
    char log[400], src[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 64], why[PATH_MAX + 128];
    char bin_env[PATH_MAX + 16], plugin_env[PATH_MAX + 32];
    const char *bin = tu_mnemo_bin();

    tu_dir_make(&tmp);
    tu_path(&tmp, "node.out", log, sizeof log);
    size_t ne = 0;
    while (environ[ne] != NULL)
        ne++;
    char **env = calloc(ne + 4, sizeof *env);
    assert_non_null(env);
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "MNEMO_BIN=", 10) != 0 &&
            strncmp(environ[i], "MNEMO_HOOK_TIMEOUT_MS=", 22) != 0 &&
            strncmp(environ[i], "E2E_PLUGIN_DIR=", 15) != 0)
            env[k++] = environ[i];
    snprintf(bin_env, sizeof bin_env, "MNEMO_BIN=%s", bin);
    env[k++] = bin_env;
    if (SANITIZED)
        env[k++] = (char *)"MNEMO_HOOK_TIMEOUT_MS=1500";
    /* The plugin folder of this source tree. */
    snprintf(path, sizeof path, "%s", __FILE__);
    snprintf(src, sizeof src, "%s/../../integrations/claude-code", dirname(path));
    char *plugin = realpath(src, NULL);
    if (plugin == NULL)
        fail_msg("no plugin folder '%s': %s", src, strerror(errno));
    snprintf(plugin_env, sizeof plugin_env, "E2E_PLUGIN_DIR=%s", plugin);
    free(plugin);
    env[k++] = plugin_env;
    env[k] = NULL;

    char *node_v[] = {(char *)"node", (char *)"--version", NULL};
    char *npm_v[] = {(char *)"npm", (char *)"--version", NULL};
    if (np_run(node_v, env, NULL, log, 20000) != 0 || np_run(npm_v, env, NULL, log, 20000) != 0) {
        free(env);
        tu_dir_remove(&tmp);
        skip_or_fail("node or npm is not installed (apt-get install nodejs npm)");
    }

    /* tests/claude next to this file; the install next to the binary under test. */
    snprintf(path, sizeof path, "%s", __FILE__);
    snprintf(src, sizeof src, "%s/../claude", dirname(path));
    snprintf(path, sizeof path, "%s", bin);
    snprintf(dir, sizeof dir, "%s/claude-code", dirname(path));
    static const char *const files[] = {"package.json", "e2e.mjs", "fake_anthropic.mjs"};
    if (np_install(src, dir, files, sizeof files / sizeof files[0],
                   "node_modules/@anthropic-ai/claude-code/package.json", env, log, NPM_TIMEOUT_MS,
                   why, sizeof why) != 0) {
        char *out = tu_file_read(log, 1 << 16, NULL);
        print_message("---- npm output:\n%s\n---- end\n", out != NULL ? out : "");
        free(out);
        free(env);
        tu_dir_remove(&tmp);
        skip_or_fail(why);
    }

    snprintf(path, sizeof path, "%s/e2e.mjs", dir);
    char *node[] = {(char *)"node", path, NULL};
    int64_t t0 = tu_now_ms();
    int st = np_run(node, env, dir, log, NODE_TIMEOUT_MS);
    int64_t took = tu_now_ms() - t0;
    free(env);
    char *out = tu_file_read(log, 1 << 22, NULL);
    tu_dir_remove(&tmp);
    if (st != 0) {
        fprintf(stderr, "---- node e2e.mjs output:\n%s\n---- end\n", out != NULL ? out : "");
        free(out);
        fail_msg("node e2e.mjs exited with %d after %lld ms", st, (long long)took);
    }
    assert_non_null(out);
    const char *okline = strstr(out, "E2E OK: ");
    if (okline == NULL)
        fail_msg("e2e.mjs exited 0 without its E2E OK line:\n%s", out);
    print_message("%s(whole run %lld ms)\n", okline, (long long)took);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claude_code_captures_injects_and_lists_mnemo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
