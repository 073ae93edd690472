/*
 * test_cli_memory.c - process-level tests of the memory commands (add, show, list, search, edit,
 * archive, unarchive, forget, stats, export, import, reembed): the real binary ($MNEMO_BIN)
 * runs with MNEMO_HOME in a fresh temporary directory and MNEMO_PROJECT set, and each test pins
 * one behaviour a user or a script relies on.
 */
#include "cliutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* A fake GitHub token: "ghp_" and 36 alphanumerics. */
#define FAKE_SECRET "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"

struct fixture {
    struct tu_dir dir;
    char home[512];
    char home2[512];
    char home_env[600];
    char home2_env[600];
    char *env[4];  /* MNEMO_HOME=home */
    char *env2[4]; /* MNEMO_HOME=home2 */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "home", f->home, sizeof f->home);
    tu_path(&f->dir, "home2", f->home2, sizeof f->home2);
    snprintf(f->home_env, sizeof f->home_env, "MNEMO_HOME=%s", f->home);
    snprintf(f->home2_env, sizeof f->home2_env, "MNEMO_HOME=%s", f->home2);
    f->env[0] = f->home_env;
    f->env2[0] = f->home2_env;
    f->env[1] = f->env2[1] = (char *)"MNEMO_LOG_LEVEL=warn";
    f->env[2] = f->env2[2] = (char *)"MNEMO_PROJECT=testproj";
    f->env[3] = f->env2[3] = NULL;
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

/* Runs mnemo in f's first home. */
static struct cu_result run(struct fixture *f, ...)
{
    va_list ap;
    va_start(ap, f);
    struct cu_result r = cu_run_va(f->env, NULL, ap);
    va_end(ap);
    return r;
}

/* Runs mnemo in f's first home with stdin text. */
static struct cu_result run_in(struct fixture *f, const char *in, ...)
{
    va_list ap;
    va_start(ap, in);
    struct cu_result r = cu_run_va(f->env, in, ap);
    va_end(ap);
    return r;
}

/* Runs mnemo in f's second home. */
static struct cu_result run2(struct fixture *f, ...)
{
    va_list ap;
    va_start(ap, f);
    struct cu_result r = cu_run_va(f->env2, NULL, ap);
    va_end(ap);
    return r;
}

/* Runs a command that must succeed and frees its output. */
static void ok(struct cu_result r)
{
    cu_expect_status(&r, 0);
    cu_result_free(&r);
}

static void init_homes(struct fixture *f)
{
    ok(run(f, "init", NULL));
    ok(run2(f, "init", NULL));
}

/* Adds an observation with a title, type and one fact; returns its id. */
static long long add_obs(struct fixture *f, const char *title, const char *type, const char *fact)
{
    struct cu_result r = run(f, "add", "--title", title, "--type", type, "--fact", fact, NULL);
    cu_expect_status(&r, 0);
    char *end = NULL;
    long long id = strtoll(r.out, &end, 10);
    assert_true(id > 0);
    assert_string_equal(end, "\n");
    cu_result_free(&r);
    return id;
}

/* Parses the one JSON document on r's stdout. */
static json_t *parse_out(const struct cu_result *r)
{
    json_error_t jerr;
    json_t *j = json_loads(r->out, 0, &jerr);
    if (j == NULL)
        fail_msg("stdout is not JSON (%s):\n%s", jerr.text, r->out);
    return j;
}

/* The "observations" count of `mnemo stats --json` in home 1 (second = 0) or home 2. */
static long long stats_count(struct fixture *f, int second, const char *key)
{
    struct cu_result r =
        second ? run2(f, "stats", "--json", NULL) : run(f, "stats", "--json", NULL);
    cu_expect_status(&r, 0);
    json_t *j = parse_out(&r);
    long long n = (long long)json_integer_value(json_object_get(j, key));
    json_decref(j);
    cu_result_free(&r);
    return n;
}

/* Number of lines of s. */
static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* ---- add, show ---------------------------------------------------------------------------- */

static void test_cli_add_then_show_round_trips_every_field(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    struct cu_result r =
        run(f, "add", "--title", "Use WAL journal mode", "--type", "decision", "--subtitle",
            "for readers", "--narrative", "Readers never block.", "--fact",
            "wal lets readers run during writes", "--fact", "checkpoint truncates", "--concept",
            "architecture", "--file-read", "src/store/conn.c", "--file-modified",
            "src/store/pool.c", "--json", NULL);
    cu_expect_status(&r, 0);
    json_t *added = parse_out(&r);
    long long id = (long long)json_integer_value(json_object_get(added, "id"));
    assert_true(id > 0);
    assert_true(json_is_false(json_object_get(added, "duplicate")));
    assert_int_equal(strlen(json_string_value(json_object_get(added, "uuid"))), 36);
    cu_result_free(&r);

    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    r = run(f, "show", ids, "--json", NULL);
    cu_expect_status(&r, 0);
    json_t *o = parse_out(&r);
    assert_string_equal(json_string_value(json_object_get(o, "title")), "Use WAL journal mode");
    assert_string_equal(json_string_value(json_object_get(o, "type")), "decision");
    assert_string_equal(json_string_value(json_object_get(o, "subtitle")), "for readers");
    assert_string_equal(json_string_value(json_object_get(o, "narrative")), "Readers never block.");
    assert_string_equal(json_string_value(json_object_get(o, "project")), "testproj");
    assert_string_equal(json_string_value(json_object_get(o, "uuid")),
                        json_string_value(json_object_get(added, "uuid")));
    json_t *facts = json_object_get(o, "facts");
    assert_int_equal(json_array_size(facts), 2);
    assert_string_equal(json_string_value(json_array_get(facts, 1)), "checkpoint truncates");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "files_modified"), 0)),
                        "src/store/pool.c");
    json_decref(o);
    json_decref(added);
    cu_result_free(&r);

    /* The text form names every field a person looks for. */
    r = run(f, "show", ids, NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "title:       Use WAL journal mode");
    cu_expect_contains(r.out, "  - checkpoint truncates");
    cu_expect_contains(r.out, "  - src/store/conn.c");
    cu_result_free(&r);
}

static void test_cli_add_redacts_secret_before_storing(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    ok(run(f, "add", "--title", "leaked token", "--type", "bugfix", "--narrative",
           "the token " FAKE_SECRET " was in the log", "--fact", "export GITHUB=" FAKE_SECRET,
           NULL));
    struct cu_result r = run(f, "export", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "[REDACTED:");
    cu_expect_lacks(r.out, FAKE_SECRET);
    cu_result_free(&r);

    /* Not in the database file either (the CLI checkpoints at close, so the WAL is folded in). */
    char path[700];
    snprintf(path, sizeof path, "%s/mnemo.db", f->home);
    size_t len = 0;
    char *db = tu_file_read(path, 64u * 1024 * 1024, &len);
    assert_non_null(db);
    assert_null(memmem(db, len, "a1B2c3D4e5F6g7H8i9J0", 20));
    free(db);
}

static void test_cli_add_twice_reports_duplicate(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    long long id = add_obs(f, "same thing", "discovery", "the same fact");
    struct cu_result r = run(f, "add", "--title", "same thing", "--type", "discovery", "--fact",
                             "the same fact", NULL);
    cu_expect_status(&r, 0);
    char want[64];
    snprintf(want, sizeof want, "duplicate of #%lld\n", id);
    assert_string_equal(r.out, want);
    cu_result_free(&r);
    assert_int_equal(stats_count(f, 0, "observations"), 1);
}

static void test_cli_add_json_lines_prints_one_result_each(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    struct cu_result r = run_in(f,
                                "{\"title\":\"first\",\"type\":\"feature\",\"facts\":[\"a b\"]}\n"
                                "\n"
                                "{\"title\":\"second\",\"type\":\"change\"}\n"
                                "{\"title\":\"first\",\"type\":\"feature\",\"facts\":[\"a b\"]}\n",
                                "add", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 3);
    json_t *last = json_loads(strrchr(r.out, '{'), 0, NULL);
    assert_non_null(last);
    assert_true(json_is_true(json_object_get(last, "duplicate")));
    json_decref(last);
    cu_result_free(&r);
    assert_int_equal(stats_count(f, 0, "observations"), 2);
}

/* ---- list, search ------------------------------------------------------------------------ */

static void test_cli_list_filters_by_type_project_and_since(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    add_obs(f, "a decision here", "decision", "fact one");
    add_obs(f, "a bugfix here", "bugfix", "fact two");
    ok(run(f, "add", "--title", "elsewhere note", "--type", "decision", "--project", "otherproj",
           NULL));

    struct cu_result r = run(f, "list", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "a decision here");
    cu_expect_contains(r.out, "a bugfix here");
    cu_expect_lacks(r.out, "elsewhere note");
    cu_result_free(&r);

    r = run(f, "list", "--type", "bugfix", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    cu_expect_contains(r.out, "\"a bugfix here\"");
    cu_result_free(&r);

    r = run(f, "list", "--all-projects", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "elsewhere note");
    cu_result_free(&r);

    r = run(f, "list", "--since", "7d", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 2);
    cu_result_free(&r);

    /* A date in the future keeps nothing. */
    r = run(f, "list", "--since", "2999-01-01", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_string_equal(r.out, "");
    cu_result_free(&r);
}

static void test_cli_list_cuts_long_titles_with_an_ellipsis(void **state)
{
    struct fixture *f = *state;
    init_homes(f);
    const char *title = "a title far longer than any table column should ever have to show "
                        "in one row of the list output";
    ok(run(f, "add", "--title", title, "--type", "change", NULL));

    struct cu_result r = run(f, "list", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "a title far longer");
    cu_expect_contains(r.out, "\xE2\x80\xA6");
    cu_expect_lacks(r.out, title);
    cu_result_free(&r);

    /* --json keeps the whole title for scripts. */
    r = run(f, "list", "--json", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, title);
    cu_result_free(&r);
}

static void test_cli_search_finds_observation_by_fact_word(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    long long id = add_obs(f, "pool sizing", "decision", "connections are capped by zanzibarite");
    add_obs(f, "unrelated", "change", "nothing in common");

    struct cu_result r = run(f, "search", "zanzibarite", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    json_t *hit = parse_out(&r);
    assert_int_equal(json_integer_value(json_object_get(hit, "id")), id);
    assert_true(json_real_value(json_object_get(json_object_get(hit, "score"), "final")) > 0);
    json_decref(hit);
    cu_result_free(&r);

    r = run(f, "search", "zanzibarite", "--explain", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "pool sizing");
    cu_expect_contains(r.out, "keyword #1");
    cu_result_free(&r);
}

/* ---- archive, unarchive, forget ---------------------------------------------------------- */

static void test_cli_archive_hides_and_unarchive_restores(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    long long id = add_obs(f, "hidden soon", "discovery", "quokkas are marsupials");
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);

    ok(run(f, "archive", ids, "--reason", "obsolete", NULL));
    struct cu_result r = run(f, "list", NULL);
    cu_expect_status(&r, 0);
    cu_expect_lacks(r.out, "hidden soon");
    cu_result_free(&r);
    r = run(f, "search", "quokkas", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_string_equal(r.out, "");
    cu_result_free(&r);
    r = run(f, "show", ids, NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "obsolete");
    cu_result_free(&r);
    r = run(f, "list", "--archived", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "hidden soon");
    cu_result_free(&r);

    ok(run(f, "unarchive", ids, NULL));
    r = run(f, "search", "quokkas", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    cu_result_free(&r);
}

static void test_cli_forget_deletes_the_observation(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    long long id = add_obs(f, "to be forgotten", "change", "ephemeral");
    char ids[32];
    snprintf(ids, sizeof ids, "#%lld", id);
    ok(run(f, "forget", ids, NULL));
    struct cu_result r = run(f, "show", ids, NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "mnemo: no observation");
    cu_result_free(&r);
    r = run(f, "forget", ids, NULL);
    cu_expect_status(&r, 1);
    cu_result_free(&r);
    assert_int_equal(stats_count(f, 0, "observations"), 0);
}

/* ---- edit, stats, reembed ---------------------------------------------------------------- */

static void test_cli_edit_changes_only_given_fields_and_reembeds(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    long long id = add_obs(f, "old title", "decision", "old fact kept");
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    ok(run(f, "edit", ids, "--title", "new title with axolotl", NULL));

    struct cu_result r = run(f, "show", ids, "--json", NULL);
    cu_expect_status(&r, 0);
    json_t *o = parse_out(&r);
    assert_string_equal(json_string_value(json_object_get(o, "title")), "new title with axolotl");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "facts"), 0)),
                        "old fact kept");
    json_decref(o);
    cu_result_free(&r);

    r = run(f, "search", "axolotl", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    cu_result_free(&r);

    r = run(f, "edit", ids, NULL);
    cu_expect_status(&r, 2);
    cu_expect_contains(r.err, "nothing to change");
    cu_result_free(&r);
}

static void test_cli_stats_counts_archived_and_vectors(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    long long id = add_obs(f, "one", "decision", "f1");
    add_obs(f, "two", "bugfix", "f2");
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    ok(run(f, "archive", ids, NULL));

    struct cu_result r = run(f, "stats", "--json", NULL);
    cu_expect_status(&r, 0);
    json_t *j = parse_out(&r);
    assert_int_equal(json_integer_value(json_object_get(j, "observations")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "live")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "archived")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "by_type"), "bugfix")),
                     1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "vectors"), "hash-v1-384")), 2);
    assert_true(json_integer_value(json_object_get(j, "db_bytes")) > 0);
    json_decref(j);
    cu_result_free(&r);
}

static void test_cli_reembed_does_only_missing_vectors(void **state)
{
    struct fixture *f = *state;
    init_homes(f);
    add_obs(f, "one", "decision", "f1");
    add_obs(f, "two", "bugfix", "f2");

    /* Vectors of the default model exist: nothing to do. */
    struct cu_result r = run(f, "reembed", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "embedded 0 ");
    cu_result_free(&r);

    /* Another model (a different dimension) lacks both, once. */
    char *env[] = {f->home_env, (char *)"MNEMO_LOG_LEVEL=warn", (char *)"MNEMO_EMBED_DIM=64", NULL};
    char *argv[] = {(char *)tu_mnemo_bin(), (char *)"reembed", NULL};
    r.status = tu_run(argv, env, NULL, &r.out, &r.err);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "embedded 2 ");
    cu_result_free(&r);
    r.status = tu_run(argv, env, NULL, &r.out, &r.err);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "embedded 0 ");
    cu_result_free(&r);
}

/* ---- export, import ---------------------------------------------------------------------- */

static void test_cli_export_import_round_trips_and_second_import_skips(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    add_obs(f, "alpha", "decision", "first fact");
    long long id = add_obs(f, "beta", "bugfix", "second fact with pangolin");
    add_obs(f, "gamma", "feature", "third fact");
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", id);
    ok(run(f, "archive", ids, NULL));

    for (int fmt = 0; fmt < 2; fmt++) {
        struct cu_result r =
            run(f, "export", "--archived", "--format", fmt ? "json" : "jsonl", NULL);
        cu_expect_status(&r, 0);
        char path[700];
        tu_path(&f->dir, fmt ? "export.json" : "export.jsonl", path, sizeof path);
        tu_file_write(path, r.out, strlen(r.out));
        cu_result_free(&r);

        r = run2(f, "import", path, NULL);
        cu_expect_status(&r, 0);
        cu_expect_contains(r.out, fmt ? "imported 0, skipped 3" : "imported 3, skipped 0");
        cu_expect_contains(r.out, "failed 0");
        cu_result_free(&r);
    }
    assert_int_equal(stats_count(f, 1, "observations"), 3);
    assert_int_equal(stats_count(f, 1, "archived"), 1);

    /* The imported copies are searchable (embedded and indexed), archived ones excepted. */
    struct cu_result r = run2(f, "search", "third", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_int_equal(count_lines(r.out), 1);
    cu_result_free(&r);
    r = run2(f, "search", "pangolin", "--json", NULL);
    cu_expect_status(&r, 0);
    assert_string_equal(r.out, "");
    cu_result_free(&r);
}

static void test_cli_export_csv_quotes_as_rfc4180(void **state)
{
    struct fixture *f = *state;
    init_homes(f);
    ok(run(f, "add", "--title", "comma, \"quote\"", "--type", "change", "--narrative",
           "line one\nline two", NULL));

    struct cu_result r = run(f, "export", "--format", "csv", NULL);
    cu_expect_status(&r, 0);
    assert_true(strncmp(r.out, "id,uuid,project,scope,type,title,", 33) == 0);
    cu_expect_contains(r.out, ",\"comma, \"\"quote\"\"\",");
    cu_expect_contains(r.out, ",\"line one\nline two\",");
    cu_expect_contains(r.out, "\r\n");
    cu_result_free(&r);
}

/* ---- context ---------------------------------------------------------------------------- */

static void test_cli_context_prints_index_and_prompt_block(void **state)
{
    struct fixture *f = *state;
    init_homes(f);
    long long id = add_obs(f, "retry budget", "decision", "the okapi service retries three times");

    char want[64];
    snprintf(want, sizeof want, "- #%lld [decision] retry budget", id);
    struct cu_result r = run(f, "context", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "<mnemo-context>");
    cu_expect_contains(r.out, want);
    cu_result_free(&r);

    r = run(f, "context", "--prompt", "how often does okapi retry", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "<mnemo-memory>");
    cu_expect_contains(r.out, "the okapi service retries three times");
    cu_result_free(&r);

    /* A wholly private prompt is never searched: nothing would be injected. */
    r = run(f, "context", "--prompt", "<private>okapi</private>", NULL);
    cu_expect_status(&r, 0);
    assert_string_equal(r.out, "");
    cu_result_free(&r);
}

/* ---- bad input ------------------------------------------------------------------------------ */

static void test_cli_bad_input_fails_clearly_and_stores_nothing(void **state)
{
    struct fixture *f = *state;
    init_homes(f);

    struct cu_result r = run(f, "add", "--title", "x", "--type", "opinion", NULL);
    cu_expect_status(&r, 2);
    cu_expect_contains(r.err, "mnemo: unknown type 'opinion'");
    cu_result_free(&r);

    r = run(f, "add", "--type", "bugfix", NULL);
    cu_expect_status(&r, 2);
    cu_expect_contains(r.err, "--title is required");
    cu_result_free(&r);

    r = run(f, "show", "12abc", NULL);
    cu_expect_status(&r, 2);
    cu_expect_contains(r.err, "invalid observation id '12abc'");
    cu_result_free(&r);

    r = run(f, "archive", "0", NULL);
    cu_expect_status(&r, 2);
    cu_result_free(&r);

    r = run_in(f, "{\"title\": \"broken\",", "add", "--json", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "mnemo: malformed JSON");
    cu_result_free(&r);

    r = run_in(f, "{\"type\":\"bugfix\",\"narrative\":\"no title\"}", "add", "--json", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "title");
    cu_result_free(&r);

    /* One bad object in a batch stores none of them. */
    r = run_in(f,
               "{\"title\":\"good\",\"type\":\"bugfix\"}\n"
               "{\"title\":\"bad\",\"type\":\"musing\"}\n",
               "add", "--json", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "observation 2");
    cu_result_free(&r);

    r = run_in(f, "{\"title\":\"x\",\"type\":\"bugfix\",\"facts\":\"not a list\"}", "add", "--json",
               NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "'facts'");
    cu_result_free(&r);

    assert_int_equal(stats_count(f, 0, "observations"), 0);
}

static void test_cli_memory_commands_need_an_initialised_home(void **state)
{
    struct fixture *f = *state;
    struct cu_result r = run(f, "list", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "mnemo init");
    cu_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_add_then_show_round_trips_every_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_add_redacts_secret_before_storing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_add_twice_reports_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_add_json_lines_prints_one_result_each, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_list_filters_by_type_project_and_since, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_list_cuts_long_titles_with_an_ellipsis, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_search_finds_observation_by_fact_word, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_archive_hides_and_unarchive_restores, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_forget_deletes_the_observation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_edit_changes_only_given_fields_and_reembeds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_stats_counts_archived_and_vectors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_reembed_does_only_missing_vectors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_export_import_round_trips_and_second_import_skips,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_export_csv_quotes_as_rfc4180, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_context_prints_index_and_prompt_block, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_bad_input_fails_clearly_and_stores_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_memory_commands_need_an_initialised_home, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
