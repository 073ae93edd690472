/*
 * test_agent_hook_ignore.c - the per-project opt-out by configuration (config key
 * ignore_projects): which directories a list names (paths, ~/ paths, symbolic links, project
 * folder names, the MNEMO_PROJECT override), and that the hook runner then never contacts the
 * worker for them while it still answers the agent; and the same for calls of mnemo's own MCP
 * tools, whose answers are memories already stored.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/hook.h"
#include "util/clock.h"

struct fx {
    struct tu_dir dir;
    char repo[300], deep[400], other[300], home[300];
};

static void make_dir(const char *p)
{
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir '%s': %s", p, strerror(errno));
}

/* <tmp>/src/billing-api (a git repository) with a/b inside, <tmp>/src/other, <tmp>/home. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char p[500];
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "src", p, sizeof p);
    make_dir(p);
    tu_path(&f->dir, "src/billing-api", f->repo, sizeof f->repo);
    make_dir(f->repo);
    snprintf(p, sizeof p, "%s/.git", f->repo);
    make_dir(p);
    snprintf(p, sizeof p, "%s/a", f->repo);
    make_dir(p);
    snprintf(f->deep, sizeof f->deep, "%s/a/b", f->repo);
    make_dir(f->deep);
    tu_path(&f->dir, "src/other", f->other, sizeof f->other);
    make_dir(f->other);
    tu_path(&f->dir, "home", f->home, sizeof f->home);
    make_dir(f->home);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    unsetenv("MNEMO_HOME");
    unsetenv("MNEMO_AUTOSTART");
    unsetenv("MNEMO_IGNORE_PROJECTS");
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

static void test_hook_ignore_list_names_directories_and_everything_below(void **state)
{
    struct fx *f = *state;
    char list[1200];

    assert_false(mnemo_hook_ignored_project(f->deep, "", NULL, NULL));
    assert_false(mnemo_hook_ignored_project(f->deep, NULL, NULL, NULL));
    assert_true(mnemo_hook_ignored_project(f->deep, f->repo, NULL, NULL));
    assert_true(mnemo_hook_ignored_project(f->repo, f->repo, NULL, NULL));
    assert_false(mnemo_hook_ignored_project(f->other, f->repo, NULL, NULL));
    /* A longer name that shares the prefix is another directory. */
    snprintf(list, sizeof list, "%s-v2", f->repo);
    assert_false(mnemo_hook_ignored_project(f->repo, list, NULL, NULL));
    /* Trailing slashes, blanks and empty entries in a list of several. */
    snprintf(list, sizeof list, " , %s/ ,  %s//  ,", f->other, f->repo);
    assert_true(mnemo_hook_ignored_project(f->deep, list, NULL, NULL));
    assert_true(mnemo_hook_ignored_project(f->other, list, NULL, NULL));
    snprintf(list, sizeof list, "%s/", f->deep);
    assert_true(mnemo_hook_ignored_project(list, f->deep, NULL, NULL));
    /* "/" names everything; a relative directory or path names nothing. */
    assert_true(mnemo_hook_ignored_project(f->other, "/", NULL, NULL));
    assert_false(mnemo_hook_ignored_project("relative/dir", "/", NULL, NULL));
    assert_false(mnemo_hook_ignored_project(f->deep, "src/billing-api", NULL, NULL));
}

static void test_hook_ignore_list_expands_home_and_follows_symlinks(void **state)
{
    struct fx *f = *state;
    char link[400], via[500];

    /* ~/work/billing -> <tmp>/src/billing-api */
    snprintf(link, sizeof link, "%s/work", f->home);
    make_dir(link);
    snprintf(link, sizeof link, "%s/work/billing", f->home);
    if (symlink(f->repo, link) != 0)
        fail_msg("symlink: %s", strerror(errno));
    assert_true(mnemo_hook_ignored_project(f->deep, "~/work/billing", f->home, NULL));
    assert_false(mnemo_hook_ignored_project(f->other, "~/work/billing", f->home, NULL));
    assert_false(mnemo_hook_ignored_project(f->deep, "~/work/billing", NULL, NULL));
    assert_false(mnemo_hook_ignored_project(f->deep, "~/work/billing", "relative", NULL));
    /* "~" alone is the home; "~user" is no path (and no folder of ours). */
    assert_true(mnemo_hook_ignored_project(link, "~", f->home, NULL));
    assert_false(mnemo_hook_ignored_project(f->deep, "~root", f->home, NULL));
    /* A working directory reached through the link matches the real path listed. */
    snprintf(via, sizeof via, "%s/a", link);
    assert_true(mnemo_hook_ignored_project(via, f->repo, NULL, NULL));
    /* ... and a listed link matches the working directory it points to. */
    assert_true(mnemo_hook_ignored_project(f->deep, link, NULL, NULL));
}

static void test_hook_ignore_list_names_projects_by_folder_or_override(void **state)
{
    struct fx *f = *state;

    /* The repository's folder name, from anywhere inside it. */
    assert_true(mnemo_hook_ignored_project(f->deep, "billing-api", NULL, NULL));
    assert_true(mnemo_hook_ignored_project(f->repo, "x, billing-api", NULL, NULL));
    assert_false(mnemo_hook_ignored_project(f->deep, "billing", NULL, NULL));
    assert_false(mnemo_hook_ignored_project(f->deep, "b", NULL, NULL)); /* not the cwd's name */
    /* Outside any repository, the directory's own name. */
    assert_true(mnemo_hook_ignored_project(f->other, "other", NULL, NULL));
    /* A .git file (a worktree or submodule) makes a top level too. */
    char sub[500], gitfile[600];
    snprintf(sub, sizeof sub, "%s/a/vendored", f->repo);
    make_dir(sub);
    snprintf(gitfile, sizeof gitfile, "%s/.git", sub);
    tu_file_write(gitfile, "gitdir: ../../.git/modules/vendored\n", 36);
    assert_true(mnemo_hook_ignored_project(sub, "vendored", NULL, NULL));
    assert_false(mnemo_hook_ignored_project(sub, "billing-api", NULL, NULL));
    /* MNEMO_PROJECT names the project outright. */
    assert_true(mnemo_hook_ignored_project(f->other, "client-x", NULL, "client-x"));
    assert_false(mnemo_hook_ignored_project(f->other, "client", NULL, "client-x"));
}

/* Runs the hook for post-tool-use of tool with a payload whose cwd is dir; returns what it
 * printed. */
static void run_tool_hook(struct fx *f, const char *dir, const char *tool, char *out, size_t size)
{
    char in_path[400], out_path[400], payload[1200];
    tu_path(&f->dir, "stdin.json", in_path, sizeof in_path);
    tu_path(&f->dir, "stdout.txt", out_path, sizeof out_path);
    int n = snprintf(payload, sizeof payload,
                     "{\"session_id\":\"s1\",\"cwd\":\"%s\",\"hook_event_name\":\"PostToolUse\","
                     "\"tool_name\":\"%s\",\"tool_input\":{\"command\":\"true\"},"
                     "\"tool_response\":{\"stdout\":\"\"}}",
                     dir, tool);
    tu_file_write(in_path, payload, (size_t)n);
    int in = open(in_path, O_RDONLY);
    int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(in >= 0 && o >= 0);
    struct mnemo_hook_run run = {MNEMO_AGENT_CLAUDE, MNEMO_HOOK_POST_TOOL_USE,
                                 mnemo_clock_mono_ns(), in, o};
    assert_int_equal(mnemo_hook_run(&run), 0);
    close(in);
    close(o);
    char *text = tu_file_read(out_path, size - 1, NULL);
    snprintf(out, size, "%s", text != NULL ? text : "");
    free(text);
}

static void run_hook(struct fx *f, const char *dir, char *out, size_t size)
{
    run_tool_hook(f, dir, "Bash", out, size);
}

static void test_hook_runner_skips_a_project_the_config_ignores(void **state)
{
    struct fx *f = *state;
    char mhome[400], log[500], cfg[500], out[256], text[600];

    tu_path(&f->dir, "mnemo-home", mhome, sizeof mhome);
    make_dir(mhome);
    snprintf(log, sizeof log, "%s/logs/" MNEMO_HOOK_LOG_NAME, mhome);
    setenv("MNEMO_HOME", mhome, 1);
    setenv("MNEMO_AUTOSTART", "0", 1);

    /* No worker listens: a hook that tries logs the failure; an ignored one never tries. */
    snprintf(cfg, sizeof cfg, "%s/config.json", mhome);
    int n = snprintf(text, sizeof text, "{\"ignore_projects\": \"billing-api\"}\n");
    tu_file_write(cfg, text, (size_t)n);
    run_hook(f, f->deep, out, sizeof out);
    assert_string_equal(out, ""); /* Claude Code's minimal PostToolUse output */
    assert_int_equal(tu_file_size(log), -1);

    run_hook(f, f->other, out, sizeof out);
    assert_string_equal(out, "");
    assert_true(tu_file_size(log) > 0);
    unlink(log);

    /* The environment overrides the file, as for every key. */
    setenv("MNEMO_IGNORE_PROJECTS", f->other, 1);
    run_hook(f, f->other, out, sizeof out);
    assert_int_equal(tu_file_size(log), -1);
    run_hook(f, f->deep, out, sizeof out);
    assert_true(tu_file_size(log) > 0);
    unlink(log);
    unsetenv("MNEMO_IGNORE_PROJECTS");

    /* A config the hook cannot read ignores nothing (the worker reports it). */
    tu_file_write(cfg, "{\"ignore_projects\": [", 21);
    run_hook(f, f->deep, out, sizeof out);
    assert_true(tu_file_size(log) > 0);
}

static void test_hook_own_mcp_tools_are_recognised_by_name(void **state)
{
    (void)state;
    assert_true(mnemo_hook_own_tool("mcp__mnemo__search"));
    assert_true(mnemo_hook_own_tool("mcp__mnemo__save_memory"));
    assert_true(mnemo_hook_own_tool("mcp__plugin_mnemo_mnemo__timeline"));
    assert_false(mnemo_hook_own_tool("mcp__mnemonic__search"));
    assert_false(mnemo_hook_own_tool("mcp__tools__echo"));
    assert_false(mnemo_hook_own_tool("mcp__plugin_other_mnemo__search"));
    assert_false(mnemo_hook_own_tool("Bash"));
    assert_false(mnemo_hook_own_tool("mnemo"));
    assert_false(mnemo_hook_own_tool(""));
    assert_false(mnemo_hook_own_tool(NULL));
}

static void test_hook_runner_does_not_capture_its_own_mcp_tools(void **state)
{
    struct fx *f = *state;
    char mhome[400], log[500], out[256];

    tu_path(&f->dir, "mnemo-home", mhome, sizeof mhome);
    make_dir(mhome);
    snprintf(log, sizeof log, "%s/logs/" MNEMO_HOOK_LOG_NAME, mhome);
    setenv("MNEMO_HOME", mhome, 1);
    setenv("MNEMO_AUTOSTART", "0", 1);

    /* No worker listens: only a hook that tries to send logs a failure. */
    run_tool_hook(f, f->repo, "mcp__mnemo__search", out, sizeof out);
    assert_string_equal(out, "");
    run_tool_hook(f, f->repo, "mcp__plugin_mnemo_mnemo__get_observations", out, sizeof out);
    assert_int_equal(tu_file_size(log), -1);
    run_tool_hook(f, f->repo, "mcp__github__search", out, sizeof out);
    assert_string_equal(out, "");
    assert_true(tu_file_size(log) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_hook_ignore_list_names_directories_and_everything_below, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_ignore_list_expands_home_and_follows_symlinks,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_ignore_list_names_projects_by_folder_or_override,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_runner_skips_a_project_the_config_ignores, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_own_mcp_tools_are_recognised_by_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hook_runner_does_not_capture_its_own_mcp_tools, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
