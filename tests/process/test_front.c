/*
 * test_front.c - the slim `mnemo` front (src/front/main.c): hooks run in it without mnemo-core
 * and without loading mnemo-core's libraries; every other command reaches mnemo-core with its
 * arguments, output and exit status unchanged.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cliutil.h"
#include "testutil.h"

static const char payload[] = "{\"session_id\":\"s1\",\"transcript_path\":\"/nonexistent\","
                              "\"cwd\":\"/tmp\",\"hook_event_name\":\"PostToolUse\","
                              "\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls\"},"
                              "\"tool_response\":{\"stdout\":\"\"}}";

/* Runs the front with the given string arguments (NULL-terminated). */
static struct cu_result run(const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    struct cu_result r = cu_run_va(NULL, NULL, ap);
    va_end(ap);
    return r;
}

/* Copies the front alone (no mnemo-core beside it) into dir; the copy's path into out. */
static void lone_front(const struct tu_dir *dir, char *out, size_t size)
{
    size_t len = 0;
    char *bin = tu_file_read(tu_mnemo_bin(), 64u << 20, &len);
    assert_non_null(bin);
    tu_path(dir, "mnemo", out, size);
    tu_file_write(out, bin, len);
    free(bin);
    assert_int_equal(chmod(out, 0755), 0);
}

static void test_hook_runs_without_mnemo_core(void **state)
{
    (void)state;
    struct tu_dir dir;
    char front[PATH_MAX], home[PATH_MAX + 16];
    tu_dir_make(&dir);
    lone_front(&dir, front, sizeof front);
    snprintf(home, sizeof home, "MNEMO_HOME=%s/home", dir.path);
    char *env[] = {home, (char *)"MNEMO_AUTOSTART=0", NULL};
    char *argv[] = {
        front, (char *)"hook", (char *)"post-tool-use", (char *)"--agent", (char *)"gemini", NULL};
    char *out = NULL, *err = NULL;
    int status = tu_run(argv, env, payload, &out, &err);
    if (status != 0 || out == NULL || strcmp(out, "{}\n") != 0)
        fail_msg("lone front hook: status %d, stdout '%s', stderr '%s'", status, out ? out : "",
                 err ? err : "");
    free(out);
    free(err);

    /* Anything else needs mnemo-core, and says where it looked. */
    char *ver[] = {front, (char *)"version", NULL};
    status = tu_run(ver, env, NULL, &out, &err);
    assert_int_equal(status, 1);
    cu_expect_contains(err, "mnemo-core");
    free(out);
    free(err);
    tu_dir_remove(&dir);
}

/* What makes a hook start fast: the loader maps none of mnemo-core's heavy libraries for the
 * front. LD_TRACE_LOADED_OBJECTS makes the loader list what it would load, then exit. */
static void test_front_loads_no_heavy_library(void **state)
{
    (void)state;
    char *argv[] = {(char *)tu_mnemo_bin(), (char *)"hook", (char *)"stop", NULL};
    char *env[] = {(char *)"LD_TRACE_LOADED_OBJECTS=1", NULL};
    char *out = NULL, *err = NULL;
    int status = tu_run(argv, env, NULL, &out, &err);
    assert_int_equal(status, 0);
    assert_non_null(out);
    cu_expect_contains(out, "libc.so");
    static const char *const heavy[] = {"libcurl",  "libmicrohttpd", "libsqlite3", "libsodium",
                                        "libpcre2", "libutf8proc",   "libssl",     "libgnutls"};
    for (size_t i = 0; i < sizeof heavy / sizeof heavy[0]; i++)
        cu_expect_lacks(out, heavy[i]);
    free(out);
    free(err);
}

static void test_other_commands_reach_core_unchanged(void **state)
{
    (void)state;
    char core[PATH_MAX];
    snprintf(core, sizeof core, "%s", tu_mnemo_bin());
    char *slash = strrchr(core, '/');
    assert_non_null(slash);
    snprintf(slash + 1, sizeof core - (size_t)(slash + 1 - core), "mnemo-core");

    char *via_front[] = {(char *)tu_mnemo_bin(), (char *)"version", NULL};
    char *direct[] = {core, (char *)"version", NULL};
    char *a = NULL, *b = NULL, *ea = NULL, *eb = NULL;
    assert_int_equal(tu_run(via_front, NULL, NULL, &a, &ea), 0);
    assert_int_equal(tu_run(direct, NULL, NULL, &b, &eb), 0);
    assert_string_equal(a, b);
    cu_expect_contains(a, "mnemo ");
    free(a);
    free(b);
    free(ea);
    free(eb);

    /* A usage error keeps its status and message; --help of hook is mnemo-core's. */
    struct cu_result r = run(NULL, "no-such-command", NULL);
    cu_expect_status(&r, 2);
    cu_expect_contains(r.err, "no-such-command");
    cu_result_free(&r);
    r = run(NULL, "hook", "--help", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "mnemo hook");
    cu_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook_runs_without_mnemo_core),
        cmocka_unit_test(test_front_loads_no_heavy_library),
        cmocka_unit_test(test_other_commands_reach_core_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
