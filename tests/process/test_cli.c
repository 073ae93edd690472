/*
 * test_cli.c - process-level tests of the mnemo command line: the real binary ($MNEMO_BIN)
 * runs with MNEMO_HOME inside a fresh temporary directory, and each test pins one behaviour
 * a user or a script relies on (exit status, which stream, what is created and what is not).
 */
#include "cliutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sqlite3.h>

/* Every top-level command; `mnemo help` must list each one. */
static const char *const all_commands[] = {"db", "doctor", "help", "init", "version"};
static const char *const db_subcommands[] = {"check", "checkpoint", "optimize", "stats"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Per-test state: a temporary directory and a home inside it that does not exist yet. */
struct fixture {
    struct tu_dir dir;
    char home[512];
    char db[600];
    char home_env[600];
    char *env[3];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "home", f->home, sizeof f->home);
    snprintf(f->db, sizeof f->db, "%s/mnemo.db", f->home);
    snprintf(f->home_env, sizeof f->home_env, "MNEMO_HOME=%s", f->home);
    f->env[0] = f->home_env;
    /* A developer's MNEMO_LOG_LEVEL=debug must not leak into assertions about stderr. */
    f->env[1] = (char *)"MNEMO_LOG_LEVEL=warn";
    f->env[2] = NULL;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* Runs mnemo with the NULL-terminated arguments that follow, in f's environment. */
static struct cu_result run(struct fixture *f, ...)
{
    va_list ap;
    va_start(ap, f);
    struct cu_result r = cu_run_va(f->env, NULL, ap);
    va_end(ap);
    return r;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void init_home(struct fixture *f)
{
    struct cu_result r = run(f, "init", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
}

static mode_t mode_of(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_mode & 07777;
}

/* ---- help, version, usage errors --------------------------------------------------------- */

static void test_cli_help_lists_every_command_on_stdout(void **state)
{
    struct fixture *f = *state;
    const char *forms[] = {"help", "--help", "-h"};

    for (size_t i = 0; i < N_OF(forms); i++) {
        struct cu_result r = run(f, forms[i], NULL);
        cu_expect_status(&r, 0);
        assert_true(starts_with(r.out, "usage: mnemo"));
        for (size_t c = 0; c < N_OF(all_commands); c++) {
            char line[64];
            snprintf(line, sizeof line, "\n  %s ", all_commands[c]);
            cu_expect_contains(r.out, line);
        }
        assert_string_equal(r.err, "");
        cu_result_free(&r);
    }
}

static void test_cli_command_help_prints_its_usage_and_exits_0(void **state)
{
    struct fixture *f = *state;

    for (size_t c = 0; c < N_OF(all_commands); c++) {
        char usage[64];
        snprintf(usage, sizeof usage, "usage: mnemo %s", all_commands[c]);

        struct cu_result r = run(f, all_commands[c], "--help", NULL);
        cu_expect_status(&r, 0);
        if (!starts_with(r.out, usage))
            fail_msg("'%s --help' printed:\n%s", all_commands[c], r.out);
        assert_string_equal(r.err, "");

        /* `mnemo help <command>` prints the very same text. */
        struct cu_result h = run(f, "help", all_commands[c], NULL);
        cu_expect_status(&h, 0);
        assert_string_equal(h.out, r.out);
        cu_result_free(&h);
        cu_result_free(&r);
    }
}

static void test_cli_db_subcommand_help_prints_its_usage_and_exits_0(void **state)
{
    struct fixture *f = *state;

    struct cu_result db = run(f, "db", "--help", NULL);
    cu_expect_status(&db, 0);
    for (size_t s = 0; s < N_OF(db_subcommands); s++) {
        char usage[64], line[64];
        snprintf(line, sizeof line, "\n  %s ", db_subcommands[s]);
        cu_expect_contains(db.out, line);

        snprintf(usage, sizeof usage, "usage: mnemo db %s", db_subcommands[s]);
        struct cu_result r = run(f, "db", db_subcommands[s], "--help", NULL);
        cu_expect_status(&r, 0);
        assert_true(starts_with(r.out, usage));
        struct cu_result h = run(f, "help", "db", db_subcommands[s], NULL);
        cu_expect_status(&h, 0);
        assert_string_equal(h.out, r.out);
        cu_result_free(&h);
        cu_result_free(&r);
    }
    cu_result_free(&db);
    /* Asking for help never creates the home. */
    assert_int_equal(tu_file_size(f->home), -1);
}

static void test_cli_version_prints_mnemo_and_sqlite_versions(void **state)
{
    struct fixture *f = *state;
    char want[128];
    const char *forms[] = {"version", "--version"};

    snprintf(want, sizeof want, "mnemo %s (sqlite %s)\n", MNEMO_VERSION, sqlite3_libversion());
    for (size_t i = 0; i < N_OF(forms); i++) {
        struct cu_result r = run(f, forms[i], NULL);
        cu_expect_status(&r, 0);
        assert_string_equal(r.out, want);
        assert_string_equal(r.err, "");
        cu_result_free(&r);
    }
}

static void test_cli_unknown_command_prints_usage_on_stderr_and_exits_2(void **state)
{
    struct fixture *f = *state;

    struct cu_result r = run(f, "frobnicate", NULL);
    cu_expect_status(&r, 2);
    assert_string_equal(r.out, "");
    assert_true(starts_with(r.err, "mnemo: "));
    cu_expect_contains(r.err, "'frobnicate'");
    cu_expect_contains(r.err, "usage: mnemo");
    cu_result_free(&r);

    r = run(f, "help", "frobnicate", NULL);
    cu_expect_status(&r, 2);
    assert_string_equal(r.out, "");
    cu_expect_contains(r.err, "usage: mnemo");
    cu_result_free(&r);
}

static void test_cli_no_command_prints_usage_on_stderr_and_exits_2(void **state)
{
    struct fixture *f = *state;

    struct cu_result r = run(f, NULL);
    cu_expect_status(&r, 2);
    assert_string_equal(r.out, "");
    cu_expect_contains(r.err, "usage: mnemo");
    cu_result_free(&r);
}

static void test_cli_bad_options_and_arguments_exit_2_naming_them(void **state)
{
    struct fixture *f = *state;
    struct {
        const char *args[4];
        const char *names;
        const char *usage;
    } cases[] = {
        {{"--bogus", NULL}, "'--bogus'", "usage: mnemo"},
        {{"init", "--bogus", NULL}, "'--bogus'", "usage: mnemo init"},
        {{"init", "extra", NULL}, "'extra'", "usage: mnemo init"},
        {{"doctor", "-x", NULL}, "'-x'", "usage: mnemo doctor"},
        {{"db", NULL}, "subcommand", "usage: mnemo db"},
        {{"db", "vacuum", NULL}, "'vacuum'", "usage: mnemo db"},
        {{"db", "check", "--fast", NULL}, "'--fast'", "usage: mnemo db check"},
        {{"db", "check", "--full=yes", NULL}, "'--full' takes no value", "usage: mnemo db check"},
    };

    for (size_t i = 0; i < N_OF(cases); i++) {
        const char *const *a = cases[i].args;
        struct cu_result r = run(f, a[0], a[1], a[2], a[3], NULL);
        cu_expect_status(&r, 2);
        assert_string_equal(r.out, "");
        cu_expect_contains(r.err, cases[i].names);
        cu_expect_contains(r.err, cases[i].usage);
        cu_result_free(&r);
    }
    assert_int_equal(tu_file_size(f->home), -1);
}

/* ---- init ------------------------------------------------------------------------------- */

static void test_cli_init_creates_home_0700_and_database_idempotently(void **state)
{
    struct fixture *f = *state;
    char wal[700];

    snprintf(wal, sizeof wal, "%s-wal", f->db);
    mode_t old_umask = umask(022); /* the child inherits a permissive umask */
    struct cu_result r = run(f, "init", NULL);
    umask(old_umask);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, f->db);
    assert_string_equal(r.err, "");
    cu_result_free(&r);
    assert_int_equal(mode_of(f->home), 0700);
    assert_true(tu_file_size(f->db) > 0);
    /* The database is the user's alone, even under a permissive umask. */
    assert_int_equal(mode_of(f->db), 0600);
    /* A clean close leaves no write-ahead log behind. */
    assert_int_equal(tu_file_size(wal), -1);

    r = run(f, "init", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, f->db);
    cu_expect_contains(r.out, "already");
    cu_result_free(&r);
    assert_int_equal(mode_of(f->home), 0700);
    assert_int_equal(tu_file_size(wal), -1);
}

static void test_cli_init_keeps_a_loose_home_mode_but_warns(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(mkdir(f->home, 0755), 0);
    assert_int_equal(chmod(f->home, 0755), 0);
    struct cu_result r = run(f, "init", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.err, "chmod 700");
    cu_result_free(&r);
    assert_int_equal(mode_of(f->home), 0755);
}

/* ---- doctor ----------------------------------------------------------------------------- */

static void test_cli_doctor_without_init_fails_and_says_run_init(void **state)
{
    struct fixture *f = *state;

    struct cu_result r = run(f, "doctor", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.out, "FAIL");
    cu_expect_contains(r.out, "mnemo init");
    cu_expect_contains(r.out, "mnemo doctor: 1 problem\n");
    cu_result_free(&r);
    /* Doctor only looks: it never creates the home or the database. */
    assert_int_equal(tu_file_size(f->home), -1);
}

static void test_cli_doctor_with_home_but_no_database_fails_without_creating_it(void **state)
{
    struct fixture *f = *state;

    assert_int_equal(mkdir(f->home, 0700), 0);
    struct cu_result r = run(f, "doctor", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.out, "ok    home ");
    cu_expect_contains(r.out, "FAIL  database ");
    cu_expect_contains(r.out, "mnemo init");
    cu_result_free(&r);
    assert_int_equal(tu_file_size(f->db), -1);
}

static void test_cli_doctor_after_init_is_healthy(void **state)
{
    struct fixture *f = *state;

    init_home(f);
    struct cu_result r = run(f, "doctor", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "ok    home ");
    cu_expect_contains(r.out, "(mode 0700)");
    cu_expect_contains(r.out, "ok    store opens");
    cu_expect_contains(r.out, "ok    health healthy");
    cu_expect_contains(r.out, "ok    sqlite ");
    assert_null(strstr(r.out, "FAIL"));
    /* The machine's own disk may be low; that, and only that, may make a fresh store degraded. */
    if (strstr(r.out, "\nwarn  disk ") != NULL)
        cu_expect_contains(r.out, "\nmnemo doctor: degraded (1 warning)\n");
    else
        cu_expect_contains(r.out, "\nmnemo doctor: healthy\n");
    assert_string_equal(r.err, "");
    cu_result_free(&r);
}

static void test_cli_doctor_warns_about_a_loose_home_mode_with_the_fix(void **state)
{
    struct fixture *f = *state;

    init_home(f);
    assert_int_equal(chmod(f->home, 0750), 0);
    struct cu_result r = run(f, "doctor", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "warn  home ");
    cu_expect_contains(r.out, "0750");
    cu_expect_contains(r.out, "chmod 700");
    cu_expect_contains(r.out, "mnemo doctor: degraded");
    cu_result_free(&r);
}

static void test_cli_doctor_reports_a_non_database_file_verbatim(void **state)
{
    struct fixture *f = *state;
    static const char junk[] = "this is a text file, not an SQLite database\n";

    assert_int_equal(mkdir(f->home, 0700), 0);
    tu_file_write(f->db, junk, sizeof junk - 1);
    struct cu_result r = run(f, "doctor", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.out, "FAIL  store: ");
    cu_expect_contains(r.out, f->db);
    cu_result_free(&r);
}

/* ---- db --------------------------------------------------------------------------------- */

static void test_cli_db_check_reports_ok_on_a_fresh_store(void **state)
{
    struct fixture *f = *state;

    init_home(f);
    struct cu_result r = run(f, "db", "check", NULL);
    cu_expect_status(&r, 0);
    assert_true(starts_with(r.out, "ok (quick_check)\n"));
    cu_expect_contains(r.out, "\nwal ");
    cu_expect_contains(r.out, "\npages ");
    assert_string_equal(r.err, "");
    cu_result_free(&r);

    r = run(f, "db", "check", "--full", NULL);
    cu_expect_status(&r, 0);
    assert_true(starts_with(r.out, "ok (integrity_check)\n"));
    cu_result_free(&r);
}

static void test_cli_db_checkpoint_reports_frames_and_wal_sizes(void **state)
{
    struct fixture *f = *state;

    init_home(f);
    struct cu_result r = run(f, "db", "checkpoint", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "busy          0\n");
    cu_expect_contains(r.out, "log_frames ");
    cu_expect_contains(r.out, "checkpointed ");
    cu_expect_contains(r.out, "wal_before ");
    cu_expect_contains(r.out, "wal_after     0 ");
    assert_string_equal(r.err, "");
    cu_result_free(&r);
}

static void test_cli_db_optimize_reports_its_duration(void **state)
{
    struct fixture *f = *state;

    init_home(f);
    struct cu_result r = run(f, "db", "optimize", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "optimized ");
    cu_expect_contains(r.out, " ms\n");
    cu_result_free(&r);
}

static void test_cli_db_stats_prints_health_as_valid_json(void **state)
{
    struct fixture *f = *state;
    json_error_t jerr;

    init_home(f);
    struct cu_result r = run(f, "db", "stats", NULL);
    cu_expect_status(&r, 0);
    json_t *root = json_loads(r.out, 0, &jerr);
    if (root == NULL)
        fail_msg("db stats printed invalid JSON (%s, line %d):\n%s", jerr.text, jerr.line, r.out);
    assert_true(json_is_object(root));
    json_t *status = json_object_get(root, "status");
    assert_non_null(status);
    assert_true(json_is_string(status));
    const char *s = json_string_value(status);
    assert_true(strcmp(s, "healthy") == 0 || strcmp(s, "degraded") == 0 ||
                strcmp(s, "unhealthy") == 0);
    json_decref(root);
    cu_result_free(&r);
}

static void test_cli_db_commands_without_init_fail_and_say_run_init(void **state)
{
    struct fixture *f = *state;

    for (size_t s = 0; s < N_OF(db_subcommands); s++) {
        struct cu_result r = run(f, "db", db_subcommands[s], NULL);
        cu_expect_status(&r, 1);
        assert_string_equal(r.out, "");
        assert_true(starts_with(r.err, "mnemo: "));
        cu_expect_contains(r.err, "mnemo init");
        cu_result_free(&r);
    }
    assert_int_equal(tu_file_size(f->home), -1);
}

static void test_cli_db_check_refuses_a_non_database_file_naming_it(void **state)
{
    struct fixture *f = *state;
    static const char junk[] =
        "this is a text file, not an SQLite database; it must stay as it is\n";
    char path[700];

    assert_int_equal(mkdir(f->home, 0700), 0);
    tu_file_write(f->db, junk, sizeof junk - 1);

    struct cu_result r = run(f, "db", "check", NULL);
    cu_expect_status(&r, 1);
    assert_true(starts_with(r.err, "mnemo: "));
    cu_expect_contains(r.err, f->db);
    cu_result_free(&r);

    /* Refused without being written: same bytes, and no journal files appeared. */
    size_t len = 0;
    char *now = tu_file_read(f->db, 4096, &len);
    assert_non_null(now);
    assert_int_equal(len, sizeof junk - 1);
    assert_memory_equal(now, junk, len);
    free(now);
    snprintf(path, sizeof path, "%s-wal", f->db);
    assert_int_equal(tu_file_size(path), -1);
    snprintf(path, sizeof path, "%s-journal", f->db);
    assert_int_equal(tu_file_size(path), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_help_lists_every_command_on_stdout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_command_help_prints_its_usage_and_exits_0, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_db_subcommand_help_prints_its_usage_and_exits_0,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_version_prints_mnemo_and_sqlite_versions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_unknown_command_prints_usage_on_stderr_and_exits_2,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_no_command_prints_usage_on_stderr_and_exits_2,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_bad_options_and_arguments_exit_2_naming_them,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_init_creates_home_0700_and_database_idempotently,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_init_keeps_a_loose_home_mode_but_warns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_doctor_without_init_fails_and_says_run_init, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_cli_doctor_with_home_but_no_database_fails_without_creating_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_doctor_after_init_is_healthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_doctor_warns_about_a_loose_home_mode_with_the_fix,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_doctor_reports_a_non_database_file_verbatim, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_db_check_reports_ok_on_a_fresh_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_db_checkpoint_reports_frames_and_wal_sizes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_db_optimize_reports_its_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_db_stats_prints_health_as_valid_json, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_db_commands_without_init_fail_and_say_run_init,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_db_check_refuses_a_non_database_file_naming_it,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
