/*
 * test_cli_worker.c - the CLI's data commands print the same whether a worker answers them or
 * the library does: each command runs against a real `mnemo serve` (socket only) and again
 * with MNEMO_NO_WORKER=1, and once more after the worker stopped; writes made through the
 * worker are seen by the library and the other way round.
 *
 * Which path ran is read from the CLI's debug log ("worker answered" or "using the library"),
 * so a fallback that silently took over cannot pass for the worker path.
 */
#include "worker_procs.h"

#include <sys/socket.h>
#include <sys/un.h>

#define PROJECT_ENV "MNEMO_PROJECT=wproj"

/* Runs mnemo in f's home with the debug log on; no_worker adds MNEMO_NO_WORKER=1. */
static struct cu_result run_in(struct fixture *f, int no_worker, const char *in, ...)
{
    char *env[6];
    int n = 0;
    va_list ap;

    env[n++] = f->home_env;
    env[n++] = (char *)"MNEMO_TCP_LISTEN=off";
    env[n++] = (char *)PROJECT_ENV;
    env[n++] = (char *)"MNEMO_LOG_LEVEL=debug";
    if (no_worker)
        env[n++] = (char *)"MNEMO_NO_WORKER=1";
    env[n] = NULL;
    va_start(ap, in);
    struct cu_result r = cu_run_va(env, in, ap);
    va_end(ap);
    return r;
}

/* Runs mnemo with exactly env and the arguments that follow. */
static struct cu_result run_env(char **env, ...)
{
    va_list ap;
    va_start(ap, env);
    struct cu_result r = cu_run_va(env, NULL, ap);
    va_end(ap);
    return r;
}

/* s without the log lines ("ts=..."): what a user sees on stderr. Caller frees. */
static char *user_lines(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    assert_non_null(out);
    size_t k = 0;
    for (const char *p = s; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
        if (strncmp(p, "ts=", 3) != 0) {
            memcpy(out + k, p, len);
            k += len;
        }
        p += len;
    }
    out[k] = '\0';
    return out;
}

/* Removes every "score" member of the JSON Lines in s (scores carry a recency boost that
 * moves with the clock) and returns the lines re-serialized. Caller frees. */
static char *without_scores(const char *s)
{
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    for (const char *p = s; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        json_error_t jerr;
        json_t *j = json_loadb(p, len, 0, &jerr);
        if (j == NULL)
            fail_msg("not a JSON line: %.*s (%s)", (int)len, p, jerr.text);
        assert_non_null(json_object_get(j, "score"));
        json_object_del(j, "score");
        char *d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        assert_non_null(d);
        assert_int_equal(mnemo_strbuf_puts(&sb, d), 0);
        assert_int_equal(mnemo_strbuf_puts(&sb, "\n"), 0);
        free(d);
        json_decref(j);
        p += len + (nl != NULL);
    }
    char *out = mnemo_strbuf_detach(&sb);
    assert_non_null(out);
    return out;
}

/* Fails unless a and b show the user the same thing (status, stdout, stderr sans log). */
static void expect_same(const char *what, const struct cu_result *a, const struct cu_result *b,
                        int json_scores)
{
    char *ea = user_lines(a->err), *eb = user_lines(b->err);
    char *oa = json_scores ? without_scores(a->out) : strdup(a->out);
    char *ob = json_scores ? without_scores(b->out) : strdup(b->out);
    assert_non_null(oa);
    assert_non_null(ob);
    if (a->status != b->status || strcmp(oa, ob) != 0 || strcmp(ea, eb) != 0)
        fail_msg("'%s' differs:\n--- status %d, stdout:\n%s--- stderr:\n%s"
                 "=== status %d, stdout:\n%s--- stderr:\n%s",
                 what, a->status, a->out, ea, b->status, b->out, eb);
    free(ea);
    free(eb);
    free(oa);
    free(ob);
}

/* Adds the observations the read tests look at (through the library: no worker yet). */
static void seed(struct fixture *f)
{
    struct cu_result r = run(f, "init", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "add", "--title", "cache statements with an LRU", "--type", "decision",
               "--narrative", "prepared statements are cached per connection", "--fact",
               "cache size 64", "--concept", "gotcha", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "add", "--title", "parser dropped trailing commas", "--type", "bugfix",
               "--narrative", "the tokenizer ended a list one token early", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "add", "--title", "old cache experiment", "--type", "discovery", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "archive", "3", "--reason", "superseded by the LRU", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
}

/* The read commands compared below (NULL-terminated argument lists, at most 5 arguments). */
static const char *const reads[][6] = {
    {"show", "1", NULL},
    {"show", "1", "--json", NULL},
    {"show", "99", NULL},
    {"list", NULL},
    {"list", "--json", NULL},
    {"list", "--archived", NULL},
    {"list", "--all-projects", "--type", "bugfix", NULL},
    {"search", "cache", NULL},
    {"search", "cache", "--explain", NULL},
    {"search", "cache", "--json", NULL},
    {"search", "nothing-matches-this", NULL},
    {"context", NULL},
    {"context", "--prompt", "how are statements cached?", NULL},
    {"stats", NULL},
    {"stats", "--json", NULL},
    {"export", NULL},
    {"export", "--archived", "--format", "json", NULL},
    {"export", "--format", "csv", NULL},
    {"export", "--format", "markdown", NULL},
};
#define N_READS (sizeof reads / sizeof reads[0])

static struct cu_result run_read(struct fixture *f, int no_worker, size_t i)
{
    const char *const *a = reads[i];
    return run_in(f, no_worker, NULL, a[0], a[1], a[2], a[3], a[4], NULL);
}

static void test_cli_worker_read_commands_print_the_same_as_the_library(void **state)
{
    struct fixture *f = *state;
    struct cu_result with[N_READS];

    seed(f);
    serve(f);
    for (size_t i = 0; i < N_READS; i++) {
        char what[128];
        snprintf(what, sizeof what, "%s %s %s", reads[i][0], reads[i][1] ? reads[i][1] : "",
                 reads[i][1] && reads[i][2] ? reads[i][2] : "");
        int scores = strcmp(reads[i][0], "search") == 0 && reads[i][2] != NULL &&
                     strcmp(reads[i][2], "--json") == 0;
        with[i] = run_read(f, 0, i);
        /* stats asks the worker first; it may complete its answer from the library. */
        cu_expect_contains(with[i].err, "worker answered");
        struct cu_result lib = run_read(f, 1, i);
        cu_expect_contains(lib.err, "MNEMO_NO_WORKER set; using the library");
        expect_same(what, &with[i], &lib, scores);
        cu_result_free(&lib);
    }
    /* Something was actually found and printed. */
    cu_expect_contains(with[0].out, "cache statements with an LRU");
    cu_expect_contains(with[7].out, "cache statements with an LRU");
    cu_expect_contains(with[12].out, "cache statements with an LRU");
    cu_expect_contains(with[2].err, "no observation #99");
    assert_int_equal(with[2].status, 1);

    /* With the worker gone the CLI falls back on its own and still prints the same. */
    stop_child(f);
    for (size_t i = 0; i < N_READS; i++) {
        int scores = strcmp(reads[i][0], "search") == 0 && reads[i][2] != NULL &&
                     strcmp(reads[i][2], "--json") == 0;
        struct cu_result after = run_read(f, 0, i);
        cu_expect_contains(after.err, "using the library");
        expect_same(reads[i][0], &with[i], &after, scores);
        cu_result_free(&after);
        cu_result_free(&with[i]);
    }
}

static void test_cli_worker_writes_through_the_worker_are_seen_by_the_library(void **state)
{
    struct fixture *f = *state;

    seed(f);
    serve(f);
    struct cu_result r =
        run_in(f, 0, NULL, "add", "--title", "written by the worker", "--type", "change", "--fact",
               "token ghp_Zq8vX3kP9wLm2RtYa1B2c3D4e5F6g7H8i9J0", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.err, "worker answered");
    assert_string_equal(r.out, "4\n");
    cu_result_free(&r);

    /* Same content again: the worker reports the duplicate like the library does. */
    r = run_in(f, 0, NULL, "add", "--title", "written by the worker", "--type", "change", "--fact",
               "token ghp_Zq8vX3kP9wLm2RtYa1B2c3D4e5F6g7H8i9J0", NULL);
    struct cu_result l =
        run_in(f, 1, NULL, "add", "--title", "written by the worker", "--type", "change", "--fact",
               "token ghp_Zq8vX3kP9wLm2RtYa1B2c3D4e5F6g7H8i9J0", NULL);
    expect_same("add duplicate", &r, &l, 0);
    assert_string_equal(r.out, "duplicate of #4\n");
    cu_result_free(&r);
    cu_result_free(&l);

    r = run_in(f, 1, NULL, "show", "4", "--json", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "\"title\":\"written by the worker\"");
    cu_expect_lacks(r.out, "ghp_Zq8vX3kP9wLm2RtYa1B2c3D4e5F6g7H8i9J0");
    cu_result_free(&r);

    /* JSON on stdin, through the worker. */
    r = run_in(f, 0,
               "{\"title\":\"from stdin one\",\"type\":\"change\"}\n"
               "{\"title\":\"from stdin two\",\"type\":\"change\"}\n",
               "add", "--json", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.err, "worker answered");
    cu_expect_contains(r.out, "\"id\":5");
    cu_expect_contains(r.out, "\"id\":6");
    cu_result_free(&r);

    /* edit: a PATCH of the given fields; the library sees the change. */
    r = run_in(f, 0, NULL, "edit", "5", "--title", "renamed through the worker", "--fact",
               "one fact", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.err, "method=PATCH path=/v1/observations/5 status=200");
    assert_string_equal(r.out, "updated #5\n");
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "show", "5", "--json", NULL);
    cu_expect_contains(r.out, "\"title\":\"renamed through the worker\"");
    cu_expect_contains(r.out, "\"facts\":[\"one fact\"]");
    cu_expect_contains(r.out, "\"type\":\"change\"");
    cu_result_free(&r);
    r = run_in(f, 0, NULL, "edit", "5", "--narrative", "worker json", "--json", NULL);
    cu_expect_contains(r.out, "\"narrative\":\"worker json\"");
    cu_expect_contains(r.out, "\"title\":\"renamed through the worker\"");
    cu_result_free(&r);
    r = run_in(f, 0, NULL, "edit", "99", "--title", "x", NULL);
    l = run_in(f, 1, NULL, "edit", "99", "--title", "x", NULL);
    cu_expect_status(&r, 1);
    expect_same("edit 99", &r, &l, 0);
    cu_result_free(&r);
    cu_result_free(&l);

    r = run_in(f, 0, NULL, "archive", "4", "--reason", "done", NULL);
    cu_expect_status(&r, 0);
    assert_string_equal(r.out, "archived #4\n");
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "show", "4", "--json", NULL);
    cu_expect_contains(r.out, "\"archived\":true");
    cu_expect_contains(r.out, "\"archived_reason\":\"done\"");
    cu_result_free(&r);
    r = run_in(f, 0, NULL, "unarchive", "4", NULL);
    assert_string_equal(r.out, "unarchived #4\n");
    cu_result_free(&r);
    r = run_in(f, 0, NULL, "forget", "4", NULL);
    assert_string_equal(r.out, "forgot #4\n");
    cu_result_free(&r);

    /* Errors read the same on both paths. */
    static const char *const bad[][3] = {{"show", "4", NULL},
                                         {"archive", "4", NULL},
                                         {"unarchive", "77", NULL},
                                         {"forget", "77", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = run_in(f, 0, NULL, bad[i][0], bad[i][1], NULL);
        l = run_in(f, 1, NULL, bad[i][0], bad[i][1], NULL);
        cu_expect_status(&r, 1);
        cu_expect_contains(r.err, "worker answered");
        expect_same(bad[i][0], &r, &l, 0);
        cu_result_free(&r);
        cu_result_free(&l);
    }

    /* Importing an export back: everything is already there, on either path. */
    char exp[700];
    tu_path(&f->dir, "export.jsonl", exp, sizeof exp);
    r = run_in(f, 0, NULL, "export", NULL);
    cu_expect_status(&r, 0);
    tu_file_write(exp, r.out, strlen(r.out));
    cu_result_free(&r);
    r = run_in(f, 0, NULL, "import", exp, NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.err, "worker answered");
    cu_expect_contains(r.out, "imported 0, skipped 4");
    cu_result_free(&r);
    l = run_in(f, 1, NULL, "import", exp, NULL);
    cu_expect_contains(l.out, "imported 0, skipped 4");
    cu_result_free(&l);

    /* A bad row is named by its position on both paths; the good one is stored. */
    const char *rows = "{\"title\":\"imported fine\",\"type\":\"change\"}\n"
                       "{\"title\":\"\",\"type\":\"change\"}\n";
    char bad_file[700];
    tu_path(&f->dir, "bad.jsonl", bad_file, sizeof bad_file);
    tu_file_write(bad_file, rows, strlen(rows));
    r = run_in(f, 0, NULL, "import", bad_file, NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "observation 2: ");
    cu_expect_contains(r.out, "imported 1");
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "list", "--json", NULL);
    cu_expect_contains(r.out, "imported fine");
    cu_result_free(&r);
    stop_child(f);
}

static void test_cli_worker_stale_socket_means_the_library(void **state)
{
    struct fixture *f = *state;

    seed(f);
    /* A socket file nobody listens on, as a killed worker leaves it. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    assert_true(strlen(f->sock) < sizeof sa.sun_path);
    memcpy(sa.sun_path, f->sock, strlen(f->sock) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);

    int64_t t0 = tu_now_ms();
    struct cu_result r = run_in(f, 0, NULL, "list", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.err, "no worker answered; using the library");
    cu_expect_contains(r.out, "cache statements with an LRU");
    cu_result_free(&r);
    /* Refused at once: no waiting for a connect timeout. */
    assert_true(tu_now_ms() - t0 < 5000);
}

static void test_cli_worker_user_redaction_rules_apply_on_both_paths(void **state)
{
    struct fixture *f = *state;
    char rules[700], cfg[700];

    seed(f);
    tu_path(&f->dir, "home/rules.json", rules, sizeof rules);
    const char *text = "[{\"name\": \"acme_token\", \"pattern\": \"ACME-[0-9]{6}\"}]";
    tu_file_write(rules, text, strlen(text));
    /* Relative to the home, as the worker reads it. */
    snprintf(cfg, sizeof cfg, "%s/config.json", f->home);
    const char *conf = "{\"privacy.rules_file\": \"rules.json\"}";
    tu_file_write(cfg, conf, strlen(conf));

    struct cu_result r =
        run_in(f, 1, NULL, "add", "--title", "library ACME-123456", "--type", "change", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "archive", "1", "--reason", "old ACME-654321", NULL);
    cu_expect_status(&r, 0);
    cu_result_free(&r);
    serve(f);
    r = run_in(f, 0, NULL, "add", "--title", "worker ACME-222222", "--type", "change", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.err, "worker answered");
    cu_result_free(&r);

    r = run_in(f, 0, NULL, "export", "--archived", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "library [REDACTED:acme_token]");
    cu_expect_contains(r.out, "worker [REDACTED:acme_token]");
    cu_expect_contains(r.out, "old [REDACTED:acme_token]");
    cu_expect_lacks(r.out, "ACME-");
    cu_result_free(&r);
    stop_child(f);

    /* A rules file that does not load stops the command instead of storing unredacted text. */
    tu_file_write(rules, "[{", 2);
    r = run_in(f, 1, NULL, "add", "--title", "must not be stored", "--type", "change", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "rules.json");
    cu_result_free(&r);
    r = run_in(f, 1, NULL, "list", "--json", NULL);
    cu_expect_lacks(r.out, "must not be stored");
    cu_result_free(&r);
}

static void test_cli_worker_library_path_takes_the_embedder_from_the_config(void **state)
{
    struct fixture *f = *state;
    char cfg[700];

    seed(f);
    struct cu_result r = run_in(f, 1, NULL, "search", "cache statements", "--json", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "\"vec_rank\":1");
    cu_result_free(&r);

    /* embed.provider none in config.json: keyword-only, as the worker would search. */
    snprintf(cfg, sizeof cfg, "%s/config.json", f->home);
    tu_file_write(cfg, "{\"embed.provider\": \"none\"}", 26);
    r = run_in(f, 1, NULL, "search", "cache statements", "--json", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "cache statements with an LRU");
    cu_expect_contains(r.out, "\"vec_rank\":0");
    cu_expect_lacks(r.out, "\"vec_rank\":1");
    cu_result_free(&r);

    /* The environment still wins over the file. */
    char *env[] = {f->home_env, (char *)PROJECT_ENV, (char *)"MNEMO_NO_WORKER=1",
                   (char *)"MNEMO_EMBED_PROVIDER=hash", NULL};
    r = run_env(env, "search", "cache statements", "--json", NULL);
    cu_expect_contains(r.out, "\"vec_rank\":1");
    cu_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cli_worker_read_commands_print_the_same_as_the_library,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cli_worker_writes_through_the_worker_are_seen_by_the_library, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_worker_stale_socket_means_the_library, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cli_worker_user_redaction_rules_apply_on_both_paths,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cli_worker_library_path_takes_the_embedder_from_the_config, setup, teardown),
    };
    return cmocka_run_group_tests_name("cli_worker", tests, NULL, NULL);
}
