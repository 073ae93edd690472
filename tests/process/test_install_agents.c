/*
 * test_install_agents.c - `mnemo install <agent>` into an empty HOME writes each agent's hook
 * and MCP configuration in that agent's format, a second install changes no byte, and
 * `mnemo uninstall` leaves the HOME as empty as it was. Drives the real binary.
 */
#include "cliutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

struct fx {
    struct tu_dir dir;
    char home[PATH_MAX];
    char home_env[PATH_MAX + 8];
    char mnemo_env[PATH_MAX + 16];
    char *env[5];
    char bin[PATH_MAX];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "home", f->home, sizeof f->home);
    assert_int_equal(mkdir(f->home, 0700), 0);
    snprintf(f->home_env, sizeof f->home_env, "HOME=%s", f->home);
    /* The mnemo home is elsewhere, so "HOME is empty again" is checkable. */
    snprintf(f->mnemo_env, sizeof f->mnemo_env, "MNEMO_HOME=%s/mnemo", f->dir.path);
    f->env[0] = f->home_env;
    f->env[1] = f->mnemo_env;
    /* The agents' own overrides of their directories, empty: the developer's are not ours. */
    f->env[2] = (char *)"CLAUDE_CONFIG_DIR=";
    f->env[3] = (char *)"CODEX_HOME=";
    f->env[4] = NULL;
    char *real = realpath(tu_mnemo_bin(), NULL);
    assert_non_null(real);
    snprintf(f->bin, sizeof f->bin, "%s", real);
    free(real);
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

static struct cu_result run(struct fx *f, ...)
{
    va_list ap;
    va_start(ap, f);
    struct cu_result r = cu_run_va(f->env, NULL, ap);
    va_end(ap);
    return r;
}

static char *read_rel(struct fx *f, const char *rel, size_t *len)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", f->home, rel);
    return tu_file_read(p, 1 << 24, len);
}

static json_t *load_rel(struct fx *f, const char *rel)
{
    char *text = read_rel(f, rel, NULL);
    if (text == NULL)
        fail_msg("%s was not written", rel);
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL)
        fail_msg("%s is not valid JSON (%s):\n%s", rel, e.text, text);
    free(text);
    return j;
}

/* Number of entries under dir, recursively (0 for an empty tree). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        print_message("left behind: %s\n", p);
        n += 1 + count_entries(p);
    }
    closedir(d);
    return n;
}

/* One expected hook: the agent's event, mnemo's, and the least acceptable timeout. */
struct want {
    const char *native;
    const char *event;
    long min_timeout; /* strictly above mnemo's deadline, in the agent's unit */
};

/* Checks that hooks.<native> holds exactly one handler running `<bin> hook <event> ...`. */
static void expect_hook(struct fx *f, json_t *hooks, const struct want *w, const char *agent,
                        int nested)
{
    json_t *arr = json_object_get(hooks, w->native);
    if (!json_is_array(arr) || json_array_size(arr) != 1)
        fail_msg("hooks.%s: expected one entry", w->native);
    json_t *h = json_array_get(arr, 0);
    if (nested) {
        json_t *inner = json_object_get(h, "hooks");
        assert_int_equal(json_array_size(inner), 1);
        h = json_array_get(inner, 0);
        assert_string_equal(json_string_value(json_object_get(h, "type")), "command");
    }
    char want_cmd[PATH_MAX * 2];
    snprintf(want_cmd, sizeof want_cmd, "%s hook %s --agent %s", f->bin, w->event, agent);
    assert_string_equal(json_string_value(json_object_get(h, "command")), want_cmd);
    json_int_t t = json_integer_value(json_object_get(h, "timeout"));
    if (t <= w->min_timeout)
        fail_msg("hooks.%s: timeout %lld is not above mnemo's deadline (%ld)", w->native,
                 (long long)t, w->min_timeout);
}

static void expect_mcp(struct fx *f, json_t *root)
{
    json_t *s = json_object_get(json_object_get(root, "mcpServers"), "mnemo");
    assert_non_null(s);
    assert_string_equal(json_string_value(json_object_get(s, "command")), f->bin);
    json_t *args = json_object_get(s, "args");
    assert_int_equal(json_array_size(args), 1);
    assert_string_equal(json_string_value(json_array_get(args, 0)), "mcp");
}

/* Installs twice (same bytes in every file), uninstalls, and expects an empty HOME. */
static void round_trip(struct fx *f, const char *agent, const char *const *files, size_t n)
{
    struct cu_result r = run(f, "install", agent, NULL);
    cu_expect_status(&r, 0);
    for (size_t i = 0; i < n; i++) {
        char p[PATH_MAX * 2];
        snprintf(p, sizeof p, "%s/%s", f->home, files[i]);
        cu_expect_contains(r.out, p); /* every changed file is named */
    }
    cu_result_free(&r);

    char *first[4];
    size_t first_len[4];
    for (size_t i = 0; i < n; i++) {
        first[i] = read_rel(f, files[i], &first_len[i]);
        assert_non_null(first[i]);
    }
    r = run(f, "install", agent, NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "unchanged");
    cu_result_free(&r);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *again = read_rel(f, files[i], &len);
        assert_non_null(again);
        assert_int_equal(len, first_len[i]);
        assert_memory_equal(again, first[i], len);
        free(again);
        free(first[i]);
    }

    r = run(f, "uninstall", agent, NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "removed");
    cu_result_free(&r);
    assert_int_equal(count_entries(f->home), 0);
}

static void test_install_claude_into_empty_home_writes_hooks_and_mcp(void **state)
{
    struct fx *f = *state;
    static const char *const files[] = {".claude/settings.json", ".claude.json"};
    static const struct want w[] = {
        {"SessionStart", "session-start", 2}, {"UserPromptSubmit", "user-prompt-submit", 1},
        {"PostToolUse", "post-tool-use", 0},  {"Stop", "stop", 1},
        {"SubagentStop", "subagent-stop", 1}, {"SessionEnd", "session-end", 1},
        {"PreCompact", "pre-compact", 1},
    };
    struct cu_result r = run(f, "install", "claude", "--user", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    json_t *settings = load_rel(f, files[0]);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        expect_hook(f, json_object_get(settings, "hooks"), &w[i], "claude", 1);
    json_decref(settings);
    json_t *mcp = load_rel(f, files[1]);
    expect_mcp(f, mcp);
    json_decref(mcp);
    r = run(f, "uninstall", "claude", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    round_trip(f, "claude", files, 2);
}

static void test_install_codex_into_empty_home_writes_hooks_json_and_toml(void **state)
{
    struct fx *f = *state;
    static const char *const files[] = {".codex/hooks.json", ".codex/config.toml"};
    static const struct want w[] = {
        {"SessionStart", "session-start", 2}, {"UserPromptSubmit", "user-prompt-submit", 1},
        {"PostToolUse", "post-tool-use", 0},  {"Stop", "stop", 1},
        {"SessionEnd", "session-end", 0},
    };
    struct cu_result r = run(f, "install", "codex", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    json_t *hooks = load_rel(f, files[0]);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        expect_hook(f, json_object_get(hooks, "hooks"), &w[i], "codex", 1);
    /* Codex clamps SessionEnd to 3 s: a longer timeout would be a lie. */
    json_t *end = json_array_get(
        json_object_get(
            json_array_get(json_object_get(json_object_get(hooks, "hooks"), "SessionEnd"), 0),
            "hooks"),
        0);
    assert_true(json_integer_value(json_object_get(end, "timeout")) <= 3);
    json_decref(hooks);
    char *toml = read_rel(f, files[1], NULL);
    assert_non_null(toml);
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "[mcp_servers.mnemo]\ncommand = \"%s\"\nargs = [\"mcp\"]\n",
             f->bin);
    cu_expect_contains(toml, want);
    free(toml);
    r = run(f, "uninstall", "codex", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    round_trip(f, "codex", files, 2);
}

static void test_install_gemini_into_empty_home_uses_its_event_names_and_ms(void **state)
{
    struct fx *f = *state;
    static const char *const files[] = {".gemini/settings.json"};
    static const struct want w[] = {
        {"SessionStart", "session-start", 2000}, {"BeforeAgent", "user-prompt-submit", 1000},
        {"AfterTool", "post-tool-use", 300},     {"AfterAgent", "stop", 1000},
        {"SessionEnd", "session-end", 800},      {"PreCompress", "pre-compact", 1000},
    };
    struct cu_result r = run(f, "install", "gemini", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    json_t *s = load_rel(f, files[0]);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        expect_hook(f, json_object_get(s, "hooks"), &w[i], "gemini", 1);
    assert_null(json_object_get(json_object_get(s, "hooks"), "UserPromptSubmit"));
    expect_mcp(f, s);
    json_decref(s);
    r = run(f, "uninstall", "gemini", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    round_trip(f, "gemini", files, 1);
}

static void test_install_cursor_into_empty_home_writes_version_1_hooks_and_mcp(void **state)
{
    struct fx *f = *state;
    static const char *const files[] = {".cursor/hooks.json", ".cursor/mcp.json"};
    static const struct want w[] = {
        {"sessionStart", "session-start", 2},      {"beforeSubmitPrompt", "user-prompt-submit", 1},
        {"afterFileEdit", "post-tool-use", 0},     {"afterShellExecution", "post-tool-use", 0},
        {"afterMCPExecution", "post-tool-use", 0}, {"stop", "stop", 1},
    };
    struct cu_result r = run(f, "install", "cursor", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "--project"); /* says where the rule goes */
    cu_result_free(&r);
    json_t *h = load_rel(f, files[0]);
    assert_int_equal(json_integer_value(json_object_get(h, "version")), 1);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        expect_hook(f, json_object_get(h, "hooks"), &w[i], "cursor", 0);
    json_decref(h);
    json_t *m = load_rel(f, files[1]);
    expect_mcp(f, m);
    json_decref(m);
    r = run(f, "uninstall", "cursor", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    round_trip(f, "cursor", files, 2);
}

static void test_install_cursor_project_adds_a_rule_and_uninstall_removes_it(void **state)
{
    struct fx *f = *state;
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    /* --project works in the current directory: make HOME the project for this test. */
    assert_int_equal(chdir(f->home), 0);
    struct cu_result r = run(f, "install", "cursor", "--project", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    char *rule = read_rel(f, ".cursor/rules/mnemo.mdc", NULL);
    assert_non_null(rule);
    cu_expect_contains(rule, "alwaysApply: true");
    cu_expect_contains(rule, "`search`");
    free(rule);
    json_t *h = load_rel(f, ".cursor/hooks.json");
    assert_non_null(json_object_get(json_object_get(h, "hooks"), "sessionStart"));
    json_decref(h);
    static const char *const files[] = {".cursor/hooks.json", ".cursor/mcp.json",
                                        ".cursor/rules/mnemo.mdc"};
    r = run(f, "uninstall", "cursor", "--project", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    assert_int_equal(count_entries(f->home), 0);
    r = run(f, "install", "cursor", "--project", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    for (size_t i = 0; i < 3; i++) {
        char *t = read_rel(f, files[i], NULL);
        assert_non_null(t);
        free(t);
    }
    r = run(f, "uninstall", "cursor", "--project", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    assert_int_equal(count_entries(f->home), 0);
    assert_int_equal(chdir(cwd), 0);
}

static void test_install_claude_project_writes_dot_mcp_json_in_the_project(void **state)
{
    struct fx *f = *state;
    char cwd[PATH_MAX];
    char proj[PATH_MAX * 2];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(proj, sizeof proj, "%s/proj", f->dir.path);
    assert_int_equal(mkdir(proj, 0700), 0);
    assert_int_equal(chdir(proj), 0);
    struct cu_result r = run(f, "install", "claude", "--project", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    char p[PATH_MAX * 3];
    snprintf(p, sizeof p, "%s/.mcp.json", proj);
    assert_true(tu_file_size(p) > 0);
    snprintf(p, sizeof p, "%s/.claude/settings.json", proj);
    assert_true(tu_file_size(p) > 0);
    assert_int_equal(count_entries(f->home), 0); /* nothing in the user's config */
    r = run(f, "uninstall", "claude", "--project", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    assert_int_equal(count_entries(proj), 0);
    assert_int_equal(chdir(cwd), 0);
}

static void test_install_dry_run_writes_nothing(void **state)
{
    struct fx *f = *state;
    struct cu_result r = run(f, "install", "gemini", "--dry-run", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "would create");
    cu_result_free(&r);
    assert_int_equal(count_entries(f->home), 0);
}

static void test_install_refuses_an_unknown_agent_and_a_command_not_named_mnemo(void **state)
{
    struct fx *f = *state;
    struct cu_result r = run(f, "install", "vim", NULL);
    cu_expect_status(&r, 2);
    cu_expect_contains(r.err, "unknown agent 'vim'");
    cu_result_free(&r);
    r = run(f, "install", "claude", "--command", "/usr/bin/true", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "must name the mnemo binary");
    cu_result_free(&r);
    r = run(f, "install", "claude", "--user", "--project", NULL);
    cu_expect_status(&r, 2);
    cu_result_free(&r);
    assert_int_equal(count_entries(f->home), 0);
}

static void test_install_command_flag_with_spaces_is_shell_quoted(void **state)
{
    struct fx *f = *state;
    struct cu_result r = run(f, "install", "claude", "--command", "/opt/my tools/mnemo", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    json_t *s = load_rel(f, ".claude/settings.json");
    json_t *h = json_array_get(
        json_object_get(json_array_get(json_object_get(json_object_get(s, "hooks"), "Stop"), 0),
                        "hooks"),
        0);
    assert_string_equal(json_string_value(json_object_get(h, "command")),
                        "'/opt/my tools/mnemo' hook stop --agent claude");
    json_decref(s);
    /* Installing again recognises the quoted entries and replaces them. */
    r = run(f, "install", "claude", "--command", "/opt/my tools/mnemo", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "unchanged");
    cu_result_free(&r);
    r = run(f, "uninstall", "claude", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    assert_int_equal(count_entries(f->home), 0);
}

static void test_install_follows_claude_config_dir_and_codex_home(void **state)
{
    struct fx *f = *state;
    char claude_env[PATH_MAX * 2], codex_env[PATH_MAX * 2];
    snprintf(claude_env, sizeof claude_env, "CLAUDE_CONFIG_DIR=%s/claude-config", f->home);
    snprintf(codex_env, sizeof codex_env, "CODEX_HOME=%s/codex-home", f->home);
    f->env[2] = claude_env;
    f->env[3] = codex_env;
    struct cu_result r = run(f, "install", "claude", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    r = run(f, "install", "codex", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    json_t *s = load_rel(f, "claude-config/settings.json");
    assert_non_null(json_object_get(json_object_get(s, "hooks"), "SessionStart"));
    json_decref(s);
    json_t *m = load_rel(f, "claude-config/.claude.json");
    expect_mcp(f, m);
    json_decref(m);
    json_t *h = load_rel(f, "codex-home/hooks.json");
    json_decref(h);
    char *toml = read_rel(f, "codex-home/config.toml", NULL);
    assert_non_null(toml);
    free(toml);
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/.claude", f->home);
    assert_int_equal(tu_file_size(p), -1);
    r = run(f, "uninstall", "claude", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    r = run(f, "uninstall", "codex", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    assert_int_equal(count_entries(f->home), 0);
}

/* The real Claude Code CLI, when one is at hand ($CLAUDE_BIN, else `claude` on PATH). */
static int find_claude(char *out, size_t size)
{
    const char *env = getenv("CLAUDE_BIN");
    if (env != NULL && env[0] != '\0' && access(env, X_OK) == 0) {
        snprintf(out, size, "%s", env);
        return 1;
    }
    const char *path = getenv("PATH");
    while (path != NULL && *path != '\0') {
        const char *colon = strchr(path, ':');
        size_t n = colon != NULL ? (size_t)(colon - path) : strlen(path);
        if (n > 0 && n + 8 < size) {
            snprintf(out, size, "%.*s/claude", (int)n, path);
            if (access(out, X_OK) == 0)
                return 1;
        }
        path = colon != NULL ? colon + 1 : NULL;
    }
    return 0;
}

static void test_real_claude_code_lists_the_installed_mcp_server_as_connected(void **state)
{
    struct fx *f = *state;
    char claude[PATH_MAX];
    if (!find_claude(claude, sizeof claude)) {
        skip();
        return;
    }
    struct cu_result r = run(f, "install", "claude", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    char *argv[] = {claude, (char *)"mcp", (char *)"list", NULL};
    char *env[] = {f->home_env,
                   f->mnemo_env,
                   (char *)"CLAUDE_CONFIG_DIR=",
                   (char *)"MNEMO_TCP_LISTEN=off",
                   (char *)"DISABLE_TELEMETRY=1",
                   (char *)"DISABLE_AUTOUPDATER=1",
                   (char *)"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
                   NULL};
    char *out = NULL, *err = NULL;
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->home), 0);
    int status = tu_run(argv, env, NULL, &out, &err);
    assert_int_equal(chdir(cwd), 0);
    if (status != 0 || strstr(out, "mnemo") == NULL || strstr(out, "Connected") == NULL)
        fail_msg("claude mcp list exited %d:\n%s%s", status, out, err);
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_install_claude_into_empty_home_writes_hooks_and_mcp,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_install_codex_into_empty_home_writes_hooks_json_and_toml, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_install_gemini_into_empty_home_uses_its_event_names_and_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_install_cursor_into_empty_home_writes_version_1_hooks_and_mcp, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_install_cursor_project_adds_a_rule_and_uninstall_removes_it, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_install_claude_project_writes_dot_mcp_json_in_the_project, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_dry_run_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_install_refuses_an_unknown_agent_and_a_command_not_named_mnemo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_command_flag_with_spaces_is_shell_quoted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_follows_claude_config_dir_and_codex_home,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_real_claude_code_lists_the_installed_mcp_server_as_connected, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
