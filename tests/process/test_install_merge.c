/*
 * test_install_merge.c - `mnemo install` into configs that already hold the user's hooks and
 * servers: they are kept, a second install changes no byte, uninstall gives the original back
 * byte for byte (or keeps the user's later changes), and a file mnemo cannot parse is
 * reported and left untouched. Also checks that the man page renders.
 */
#include "cliutil.h"

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
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "home", f->home, sizeof f->home);
    assert_int_equal(mkdir(f->home, 0700), 0);
    snprintf(f->home_env, sizeof f->home_env, "HOME=%s", f->home);
    snprintf(f->mnemo_env, sizeof f->mnemo_env, "MNEMO_HOME=%s/mnemo", f->dir.path);
    f->env[0] = f->home_env;
    f->env[1] = f->mnemo_env;
    /* The agents' own overrides of their directories, empty: the developer's are not ours. */
    f->env[2] = (char *)"CLAUDE_CONFIG_DIR=";
    f->env[3] = (char *)"CODEX_HOME=";
    f->env[4] = NULL;
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

static void put(struct fx *f, const char *rel, const char *text)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", f->home, rel);
    char dir[PATH_MAX * 2];
    snprintf(dir, sizeof dir, "%s", p);
    *strrchr(dir, '/') = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", dir, strerror(errno));
    tu_file_write(p, text, strlen(text));
}

static char *get(struct fx *f, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", f->home, rel);
    return tu_file_read(p, 1 << 24, NULL);
}

static int exists(struct fx *f, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", f->home, rel);
    return tu_file_size(p) >= 0;
}

static void expect_file(struct fx *f, const char *rel, const char *want)
{
    char *got = get(f, rel);
    if (got == NULL)
        fail_msg("%s is missing", rel);
    if (strcmp(got, want) != 0)
        fail_msg("%s differs.\n--- want:\n%s\n--- got:\n%s", rel, want, got);
    free(got);
}

static void ok(struct fx *f, const char *verb, const char *agent)
{
    struct cu_result r = run(f, verb, agent, NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
}

/* Installs twice (no byte changes) and uninstalls; every file must be back as it was. */
static void expect_round_trip(struct fx *f, const char *agent, const char *rel, const char *orig)
{
    ok(f, "install", agent);
    char *first = get(f, rel);
    assert_non_null(first);
    assert_string_not_equal(first, orig);
    ok(f, "install", agent);
    expect_file(f, rel, first);
    free(first);
    ok(f, "uninstall", agent);
    expect_file(f, rel, orig);
    char side[PATH_MAX];
    snprintf(side, sizeof side, "%s.mnemo-install", rel);
    assert_false(exists(f, side));
    snprintf(side, sizeof side, "%s.mnemo-backup", rel);
    assert_false(exists(f, side));
}

static const char claude_settings[] =
    "{\n"
    "    \"model\": \"opus\",\n"
    "    \"hooks\": {\n"
    "        \"SessionStart\": [\n"
    "            {\n"
    "                \"hooks\": [\n"
    "                    {\n"
    "                        \"type\": \"command\",\n"
    "                        \"command\": \"echo hello\"\n"
    "                    }\n"
    "                ]\n"
    "            }\n"
    "        ],\n"
    "        \"PreToolUse\": [\n"
    "            {\n"
    "                \"matcher\": \"Bash\",\n"
    "                \"hooks\": [\n"
    "                    {\n"
    "                        \"type\": \"command\",\n"
    "                        \"command\": \"/usr/local/bin/guard\"\n"
    "                    }\n"
    "                ]\n"
    "            }\n"
    "        ]\n"
    "    },\n"
    "    \"permissions\": {\n"
    "        \"allow\": [\n"
    "            \"Bash(ls:*)\"\n"
    "        ]\n"
    "    }\n"
    "}\n";

static void test_install_keeps_other_claude_hooks_and_uninstall_restores_bytes(void **state)
{
    struct fx *f = *state;
    put(f, ".claude/settings.json", claude_settings);
    put(f, ".claude.json", "{\"numStartups\":3,\"mcpServers\":{\"other\":{\"command\":\"x\"}}}");
    ok(f, "install", "claude");

    char *text = get(f, ".claude/settings.json");
    json_t *s = json_loads(text, 0, NULL);
    assert_non_null(s);
    cu_expect_contains(text, "\n    \"model\""); /* the file's 4-space indentation is kept */
    free(text);
    json_t *start = json_object_get(json_object_get(s, "hooks"), "SessionStart");
    assert_int_equal(json_array_size(start), 2);
    /* The user's hook stays first, mnemo's comes after it. */
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_array_get(start, 0), "hooks"), 0), "command")),
        "echo hello");
    assert_non_null(json_object_get(json_object_get(s, "hooks"), "PreToolUse"));
    assert_string_equal(json_string_value(json_object_get(s, "model")), "opus");
    json_decref(s);
    char *ctext = get(f, ".claude.json");
    json_t *c = json_loads(ctext, 0, NULL);
    free(ctext);
    assert_non_null(json_object_get(json_object_get(c, "mcpServers"), "other"));
    assert_non_null(json_object_get(json_object_get(c, "mcpServers"), "mnemo"));
    assert_int_equal(json_integer_value(json_object_get(c, "numStartups")), 3);
    json_decref(c);
    assert_true(exists(f, ".claude/settings.json.mnemo-backup"));
    ok(f, "uninstall", "claude");

    expect_round_trip(f, "claude", ".claude/settings.json", claude_settings);
    expect_file(f, ".claude.json",
                "{\"numStartups\":3,\"mcpServers\":{\"other\":{\"command\":\"x\"}}}");
}

static void test_uninstall_restores_formatting_jansson_cannot_reproduce(void **state)
{
    struct fx *f = *state;
    /* Tabs, a key on one line with its value, a number jansson would print differently. */
    static const char odd[] = "{\n\t\"theme\" :\"dark\",  \"ratio\": 1e2,\n\t\"hooks\": {}\n}";
    put(f, ".gemini/settings.json", odd);
    expect_round_trip(f, "gemini", ".gemini/settings.json", odd);
}

static void test_uninstall_after_user_edits_keeps_them_and_takes_out_mnemo(void **state)
{
    struct fx *f = *state;
    static const char orig[] = "{\n  \"version\": 1,\n  \"hooks\": {\n    \"stop\": [\n      {\n"
                               "        \"command\": \"./audit.sh\"\n      }\n    ]\n  }\n}\n";
    put(f, ".cursor/hooks.json", orig);
    ok(f, "install", "cursor");
    /* The user adds a hook of their own after mnemo's install. */
    char *text = get(f, ".cursor/hooks.json");
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    json_array_append_new(json_object_get(json_object_get(j, "hooks"), "stop"),
                          json_pack("{s:s}", "command", "./later.sh"));
    char *edited = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    char with_nl[8192];
    snprintf(with_nl, sizeof with_nl, "%s\n", edited);
    put(f, ".cursor/hooks.json", with_nl);
    free(edited);

    struct cu_result r = run(f, "uninstall", "cursor", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "cleaned");
    cu_expect_contains(r.out, "changed since install");
    cu_result_free(&r);
    expect_file(f, ".cursor/hooks.json",
                "{\n  \"version\": 1,\n  \"hooks\": {\n    \"stop\": [\n      {\n"
                "        \"command\": \"./audit.sh\"\n      },\n      {\n"
                "        \"command\": \"./later.sh\"\n      }\n    ]\n  }\n}\n");
    /* The backup of the original is kept when it could not be used. */
    assert_true(exists(f, ".cursor/hooks.json.mnemo-backup"));
    assert_false(exists(f, ".cursor/mcp.json"));
}

static const char codex_toml[] = "model = \"o3\"  # the default model\n"
                                 "\n"
                                 "[mcp_servers.docs]\n"
                                 "command = \"docs-mcp\"\n"
                                 "args = [\"\"\"\n"
                                 "[mcp_servers.mnemo]\n"
                                 "\"\"\", 'x']   # a string that looks like a header\n"
                                 "\n"
                                 "# profiles follow\n"
                                 "[profiles.fast]\n"
                                 "model = 'o4-mini'\n";

static void test_an_edit_between_two_installs_survives_uninstall(void **state)
{
    struct fx *f = *state;
    static const char orig[] = "{\n  \"theme\": \"dark\"\n}\n";
    put(f, ".gemini/settings.json", orig);
    ok(f, "install", "gemini");
    /* The user edits the file, then installs again: the backup no longer is "the original". */
    char *text = get(f, ".gemini/settings.json");
    char *theme = strstr(text, "\"dark\"");
    assert_non_null(theme);
    memcpy(theme, "\"pink\"", 6);
    put(f, ".gemini/settings.json", text);
    free(text);
    ok(f, "install", "gemini");
    ok(f, "uninstall", "gemini");
    expect_file(f, ".gemini/settings.json", "{\n  \"theme\": \"pink\"\n}\n");
}

static void test_a_config_deleted_after_install_is_recreated_and_removed_again(void **state)
{
    struct fx *f = *state;
    ok(f, "install", "cursor");
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/.cursor/mcp.json", f->home);
    assert_int_equal(unlink(p), 0);
    ok(f, "install", "cursor");
    assert_true(exists(f, ".cursor/mcp.json"));
    ok(f, "uninstall", "cursor");
    assert_false(exists(f, ".cursor/mcp.json"));
    assert_false(exists(f, ".cursor/hooks.json"));
    assert_false(exists(f, ".cursor"));
}

static void test_codex_toml_keeps_every_other_byte(void **state)
{
    struct fx *f = *state;
    put(f, ".codex/config.toml", codex_toml);
    ok(f, "install", "codex");
    char *text = get(f, ".codex/config.toml");
    assert_int_equal(strncmp(text, codex_toml, strlen(codex_toml)), 0);
    cu_expect_contains(text + strlen(codex_toml), "\n[mcp_servers.mnemo]\ncommand = ");
    free(text);
    ok(f, "uninstall", "codex");
    expect_round_trip(f, "codex", ".codex/config.toml", codex_toml);

    /* Something added after mnemo's table survives uninstall, and nothing else changes. */
    ok(f, "install", "codex");
    char *installed = get(f, ".codex/config.toml");
    char appended[8192];
    snprintf(appended, sizeof appended, "%s\n[profiles.slow]\nmodel = \"o3\"\n", installed);
    free(installed);
    put(f, ".codex/config.toml", appended);
    ok(f, "uninstall", "codex");
    char want[8192];
    snprintf(want, sizeof want, "%s\n[profiles.slow]\nmodel = \"o3\"\n", codex_toml);
    expect_file(f, ".codex/config.toml", want);
}

static void expect_refused(struct fx *f, const char *agent, const char *rel, const char *text,
                           const char *msg)
{
    put(f, rel, text);
    struct cu_result r = run(f, "install", agent, NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, rel);
    cu_expect_contains(r.err, msg);
    cu_result_free(&r);
    expect_file(f, rel, text);
    char side[PATH_MAX];
    snprintf(side, sizeof side, "%s.mnemo-backup", rel);
    assert_false(exists(f, side));
    snprintf(side, sizeof side, "%s.mnemo-install", rel);
    assert_false(exists(f, side));
}

static void test_malformed_configs_are_reported_and_left_untouched(void **state)
{
    struct fx *f = *state;
    expect_refused(f, "claude", ".claude/settings.json", "{\"hooks\": {\"Stop\": [}\n",
                   "not valid JSON");
    /* Nothing at all was written: the MCP file was not created either. */
    assert_false(exists(f, ".claude.json"));
    expect_refused(f, "gemini", ".gemini/settings.json", "[1, 2]\n", "does not hold a JSON object");
    expect_refused(f, "gemini", ".gemini/settings.json", "{\"a\": 1, \"a\": 2}\n",
                   "not valid JSON");
    expect_refused(f, "codex", ".codex/config.toml", "model = \"o3\n", "not valid TOML");
    expect_refused(f, "codex", ".codex/config.toml", "[mcp_servers\ncommand = 1\n",
                   "not valid TOML");
    expect_refused(f, "codex", ".codex/config.toml", "args = [\n  \"a\",\n", "not valid TOML");
    assert_false(exists(f, ".codex/hooks.json"));
}

static void test_entries_of_the_same_name_that_are_not_mnemo_are_refused(void **state)
{
    struct fx *f = *state;
    expect_refused(f, "cursor", ".cursor/mcp.json",
                   "{\"mcpServers\": {\"mnemo\": {\"command\": \"/usr/bin/other\"}}}\n",
                   "does not run `mnemo mcp`");
    expect_refused(f, "codex", ".codex/config.toml",
                   "[mcp_servers.mnemo]\ncommand = \"/usr/bin/other\"\n", "does not run mnemo");
    expect_refused(f, "codex", ".codex/config.toml",
                   "mcp_servers = { mnemo = { command = \"mnemo\" } }\n", "inline");
    expect_refused(f, "codex", ".codex/config.toml", "[mcp_servers]\nmnemo.command = \"mnemo\"\n",
                   "dotted keys");
}

static void test_install_keeps_the_mode_and_edits_a_symlinks_target(void **state)
{
    struct fx *f = *state;
    static const char orig[] = "{\"mcpServers\": {}}\n";
    char real[PATH_MAX * 2], link[PATH_MAX * 2];
    put(f, "dotfiles/settings.json", orig);
    snprintf(real, sizeof real, "%s/dotfiles/settings.json", f->home);
    assert_int_equal(chmod(real, 0640), 0);
    put(f, ".gemini/placeholder", "");
    snprintf(link, sizeof link, "%s/.gemini/settings.json", f->home);
    assert_int_equal(symlink(real, link), 0);
    ok(f, "install", "gemini");
    struct stat sb;
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_int_equal(stat(real, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0640);
    char *text = get(f, "dotfiles/settings.json");
    cu_expect_contains(text, "mnemo hook session-start --agent gemini");
    free(text);
    ok(f, "uninstall", "gemini");
    expect_file(f, "dotfiles/settings.json", orig);
    assert_int_equal(lstat(link, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
}

static void test_an_empty_config_file_is_an_empty_config_and_comes_back_empty(void **state)
{
    struct fx *f = *state;
    put(f, ".claude/settings.json", "");
    put(f, ".claude.json", "\n");
    expect_round_trip(f, "claude", ".claude/settings.json", "");
    expect_file(f, ".claude.json", "\n");
}

/* The plugin folder's files are valid and run the hooks of every event through mnemo-exec. */
static void test_claude_plugin_folder_is_consistent(void **state)
{
    (void)state;
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s", __FILE__);
    char *cut = strstr(root, "/tests/process/");
    if (cut == NULL) {
        skip();
        return;
    }
    *cut = '\0';
    static const char *const events[][2] = {
        {"SessionStart", "session-start"}, {"UserPromptSubmit", "user-prompt-submit"},
        {"PostToolUse", "post-tool-use"},  {"Stop", "stop"},
        {"SubagentStop", "subagent-stop"}, {"SessionEnd", "session-end"},
        {"PreCompact", "pre-compact"},
    };
    char p[PATH_MAX + 64];
    json_error_t e;
    snprintf(p, sizeof p, "%s/integrations/claude-code/.claude-plugin/plugin.json", root);
    json_t *plugin = json_load_file(p, JSON_REJECT_DUPLICATES, &e);
    if (plugin == NULL)
        fail_msg("%s: %s", p, e.text);
    assert_string_equal(json_string_value(json_object_get(plugin, "name")), "mnemo");
    json_decref(plugin);
    snprintf(p, sizeof p, "%s/integrations/claude-code/hooks/hooks.json", root);
    json_t *hooks = json_load_file(p, JSON_REJECT_DUPLICATES, &e);
    if (hooks == NULL)
        fail_msg("%s: %s", p, e.text);
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        json_t *g =
            json_array_get(json_object_get(json_object_get(hooks, "hooks"), events[i][0]), 0);
        json_t *h = json_array_get(json_object_get(g, "hooks"), 0);
        char want[128];
        snprintf(want, sizeof want,
                 "\"${CLAUDE_PLUGIN_ROOT}/bin/mnemo-exec\" hook %s --agent claude", events[i][1]);
        assert_string_equal(json_string_value(json_object_get(h, "command")), want);
        assert_true(json_integer_value(json_object_get(h, "timeout")) >= 2);
    }
    json_decref(hooks);
    snprintf(p, sizeof p, "%s/integrations/claude-code/.mcp.json", root);
    json_t *mcp = json_load_file(p, JSON_REJECT_DUPLICATES, &e);
    if (mcp == NULL)
        fail_msg("%s: %s", p, e.text);
    json_t *s = json_object_get(json_object_get(mcp, "mcpServers"), "mnemo");
    assert_string_equal(json_string_value(json_object_get(s, "command")),
                        "${CLAUDE_PLUGIN_ROOT}/bin/mnemo-exec");
    json_decref(mcp);
    snprintf(p, sizeof p, "%s/integrations/claude-code/bin/mnemo-exec", root);
    assert_int_equal(access(p, X_OK), 0);
}

/* `make install DESTDIR=... PREFIX=/usr` puts the binary, the plugin and the man page in place,
 * the plugin finds the installed binary, and `make uninstall` takes them away again. */
static void test_make_install_puts_binary_plugin_and_man_page_in_place(void **state)
{
    struct fx *f = *state;
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s", __FILE__);
    char *cut = strstr(src, "/tests/process/");
    if (cut == NULL || access("/usr/bin/make", X_OK) != 0) {
        skip();
        return;
    }
    *cut = '\0';
    char bin[PATH_MAX + 16], dest[PATH_MAX + 16];
    char *real = realpath(tu_mnemo_bin(), NULL);
    assert_non_null(real);
    snprintf(bin, sizeof bin, "INSTALL_BIN=%s", real);
    free(real);
    snprintf(dest, sizeof dest, "DESTDIR=%s/dest", f->dir.path);
    char *argv[] = {
        (char *)"/usr/bin/make", (char *)"-s", (char *)"-C", src, (char *)"install", bin, dest,
        (char *)"PREFIX=/usr",   NULL};
    char *out = NULL, *err = NULL;
    int status = tu_run(argv, NULL, NULL, &out, &err);
    if (status != 0)
        fail_msg("make install exited %d:\n%s%s", status, out, err);
    free(out);
    free(err);
    static const char *const files[] = {
        "bin/mnemo",
        "libexec/mnemo/mnemo-core",
        "share/man/man1/mnemo.1",
        "share/mnemo/claude-code/.claude-plugin/plugin.json",
        "share/mnemo/claude-code/hooks/hooks.json",
        "share/mnemo/claude-code/.mcp.json",
        "share/mnemo/claude-code/bin/mnemo-exec",
    };
    char p[PATH_MAX * 2];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/dest/usr/%s", f->dir.path, files[i]);
        if (tu_file_size(p) <= 0)
            fail_msg("make install did not install %s", p);
    }
    /* The plugin's launcher finds PREFIX/bin/mnemo without PATH or MNEMO_BIN. */
    snprintf(p, sizeof p, "%s/dest/usr/share/mnemo/claude-code/bin/mnemo-exec", f->dir.path);
    char *exec_argv[] = {p, (char *)"version", NULL};
    char *env[] = {(char *)"PATH=/nonexistent", (char *)"MNEMO_BIN=", NULL};
    status = tu_run(exec_argv, env, NULL, &out, &err);
    if (status != 0)
        fail_msg("mnemo-exec version exited %d:\n%s%s", status, out, err);
    cu_expect_contains(out, "mnemo ");
    free(out);
    free(err);

    argv[4] = (char *)"uninstall";
    status = tu_run(argv, NULL, NULL, &out, &err);
    if (status != 0)
        fail_msg("make uninstall exited %d:\n%s%s", status, out, err);
    free(out);
    free(err);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/dest/usr/%s", f->dir.path, files[i]);
        assert_int_equal(tu_file_size(p), -1);
    }
}

static void test_man_page_renders(void **state)
{
    (void)state;
    /* __FILE__ is tests/process/test_install_merge.c in the source tree. */
    char page[PATH_MAX];
    snprintf(page, sizeof page, "%s", __FILE__);
    char *cut = strstr(page, "/tests/process/");
    if (cut == NULL || access("/usr/bin/man", X_OK) != 0) {
        skip();
        return;
    }
    snprintf(cut, sizeof page - (size_t)(cut - page), "/docs/mnemo.1");
    char *argv[] = {(char *)"/usr/bin/man", (char *)"-l", page, NULL};
    char *env[] = {(char *)"MANPAGER=cat", (char *)"PAGER=cat", (char *)"MANWIDTH=80", NULL};
    char *out = NULL, *err = NULL;
    int status = tu_run(argv, env, NULL, &out, &err);
    if (status != 0)
        fail_msg("man -l %s exited %d:\n%s", page, status, err != NULL ? err : "");
    cu_expect_contains(out, "NAME");
    cu_expect_contains(out, "mnemo install");
    cu_expect_contains(out, "EXIT STATUS");
    free(out);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_install_keeps_other_claude_hooks_and_uninstall_restores_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uninstall_restores_formatting_jansson_cannot_reproduce,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_uninstall_after_user_edits_keeps_them_and_takes_out_mnemo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_edit_between_two_installs_survives_uninstall, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_config_deleted_after_install_is_recreated_and_removed_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codex_toml_keeps_every_other_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_configs_are_reported_and_left_untouched,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_entries_of_the_same_name_that_are_not_mnemo_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_install_keeps_the_mode_and_edits_a_symlinks_target,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_empty_config_file_is_an_empty_config_and_comes_back_empty, setup, teardown),
        cmocka_unit_test(test_claude_plugin_folder_is_consistent),
        cmocka_unit_test_setup_teardown(test_make_install_puts_binary_plugin_and_man_page_in_place,
                                        setup, teardown),
        cmocka_unit_test(test_man_page_renders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
