/*
 * test_util_config.c - the settings table, config.json, MNEMO_<KEY> overrides and writing the
 * file back with set/unset.
 *
 * Every test starts with no MNEMO_<KEY> variable set (the setup clears them), so a developer's
 * own environment cannot change the outcome.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "util/config.h"
#include "util/err.h"
#include "util/log.h"

struct fixture {
    struct tu_dir dir;
    char file[512];
};

/* Unsets MNEMO_<KEY> for every key of the table. */
static void clear_env(void)
{
    size_t n;
    const struct mnemo_config_key *k = mnemo_config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "MNEMO_%s", k[i].name);
        for (char *p = name; *p != '\0'; p++)
            *p = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        unsetenv(name);
    }
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    clear_env();
    tu_dir_make(&fx->dir);
    tu_path(&fx->dir, MNEMO_CONFIG_FILE, fx->file, sizeof fx->file);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    clear_env();
    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

static void write_file(const struct fixture *fx, const char *text)
{
    tu_file_write(fx->file, text, strlen(text));
}

/* Loads the fixture's home; fails the test unless it succeeds. */
static struct mnemo_config *load_ok(const struct fixture *fx)
{
    struct mnemo_config *c = NULL;
    struct mnemo_err err;

    mnemo_err_clear(&err);
    int rc = mnemo_config_load(fx->dir.path, NULL, &c, &err);
    if (rc != 0)
        fail_msg("load failed: %s", err.msg);
    assert_non_null(c);
    return c;
}

/* Loads the fixture's home expecting rc; returns the error message (static storage). */
static const char *load_fails(const struct fixture *fx, int want)
{
    static struct mnemo_err err;
    struct mnemo_config *c = (struct mnemo_config *)&err; /* must be reset to NULL */

    mnemo_err_clear(&err);
    int rc = mnemo_config_load(fx->dir.path, NULL, &c, &err);
    assert_int_equal(rc, want);
    assert_null(c);
    assert_true(err.msg[0] != '\0');
    return err.msg;
}

static enum mnemo_config_source source_of(const struct mnemo_config *c, const char *key)
{
    enum mnemo_config_source src;
    const char *v;
    assert_int_equal(mnemo_config_get_text(c, key, &v, &src, NULL), 0);
    return src;
}

static const char *text_of(const struct mnemo_config *c, const char *key)
{
    const char *v = NULL;
    assert_int_equal(mnemo_config_get_text(c, key, &v, NULL, NULL), 0);
    assert_non_null(v);
    return v;
}

static int64_t file_mode(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* The file parsed as JSON (fails the test when it is not). */
static json_t *file_json(const struct fixture *fx)
{
    json_error_t jerr;
    json_t *j = json_load_file(fx->file, 0, &jerr);
    if (j == NULL)
        fail_msg("config.json is not JSON: %s", jerr.text);
    return j;
}

/* ---- the table ------------------------------------------------------------------------------- */

static void test_config_table_is_sorted_and_complete(void **state)
{
    static const char *const required[] = {
        "capture.max_attempts",
        "context.prompt_tokens",
        "context.session_tokens",
        "embed.api",
        "embed.api_key",
        "embed.base_url",
        "embed.dim",
        "embed.model",
        "embed.provider",
        "http.max_body",
        "http.rate_limit",
        "http.timeout_s",
        "log.level",
        "log.max_bytes",
        "maintenance.first_delay_s",
        "maintenance.interval_s",
        "privacy.rules_file",
        "reembed.batch",
        "retention.days",
        "retention.prompt_days",
        "retention.superseded_days",
        "scoring.batch",
        "scoring.interval_s",
        "store.wal_threshold_bytes",
        "tcp.listen",
    };
    size_t n;
    const struct mnemo_config_key *k = mnemo_config_keys(&n);

    (void)state;
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(k[i - 1].name, k[i].name) < 0);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(k[i].help);
        assert_true(strlen(k[i].help) > 10);
        assert_ptr_equal(mnemo_config_key_find(k[i].name), &k[i]);
        if (k[i].type == MNEMO_CONFIG_INT)
            assert_true(k[i].min <= k[i].max);
    }
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (mnemo_config_key_find(required[i]) == NULL)
            fail_msg("key '%s' is missing", required[i]);
    }
    assert_null(mnemo_config_key_find("tcp.listn"));
    assert_null(mnemo_config_key_find(""));
    assert_null(mnemo_config_key_find(NULL));
    assert_int_equal(mnemo_config_key_find("embed.api_key")->secret, 1);
    assert_int_equal(mnemo_config_key_find("embed.model")->secret, 0);
}

static void test_config_without_a_file_holds_the_defaults(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_config *c = load_ok(fx);

    assert_int_equal(mnemo_config_int(c, "capture.max_attempts"), 3);
    assert_int_equal(mnemo_config_int(c, "context.prompt_tokens"), 1000);
    assert_int_equal(mnemo_config_int(c, "context.session_tokens"), 1500);
    assert_int_equal(mnemo_config_int(c, "embed.dim"), 0);
    assert_int_equal(mnemo_config_int(c, "http.max_body"), 10485760);
    assert_int_equal(mnemo_config_int(c, "http.rate_limit"), 200);
    assert_int_equal(mnemo_config_int(c, "http.timeout_s"), 30);
    assert_int_equal(mnemo_config_int(c, "log.max_bytes"), 10485760);
    assert_int_equal(mnemo_config_int(c, "maintenance.first_delay_s"), 300);
    assert_int_equal(mnemo_config_int(c, "maintenance.interval_s"), 21600);
    assert_int_equal(mnemo_config_int(c, "reembed.batch"), 64);
    assert_int_equal(mnemo_config_int(c, "retention.days"), 0);
    assert_int_equal(mnemo_config_int(c, "retention.prompt_days"), 30);
    assert_int_equal(mnemo_config_int(c, "retention.superseded_days"), 30);
    assert_int_equal(mnemo_config_int(c, "scoring.batch"), 500);
    assert_int_equal(mnemo_config_int(c, "scoring.interval_s"), 3600);
    assert_int_equal(mnemo_config_int(c, "store.wal_threshold_bytes"), 4194304);
    assert_string_equal(mnemo_config_str(c, "embed.provider"), "hash");
    assert_string_equal(mnemo_config_str(c, "embed.api_key"), "");
    assert_string_equal(mnemo_config_str(c, "log.level"), "info");
    assert_string_equal(mnemo_config_str(c, "privacy.rules_file"), "");
    assert_string_equal(mnemo_config_str(c, "tcp.listen"), "127.0.0.1:37777");
    assert_int_equal(source_of(c, "tcp.listen"), MNEMO_CONFIG_DEFAULT);
    assert_string_equal(text_of(c, "retention.prompt_days"), "30");
    /* No file was created by loading. */
    assert_int_equal(tu_file_size(fx->file), -1);
    mnemo_config_free(c);
}

static void test_config_defaults_apply_the_environment_without_a_home(void **state)
{
    struct mnemo_config *c = NULL;

    (void)state;
    setenv("MNEMO_EMBED_PROVIDER", "none", 1);
    assert_int_equal(mnemo_config_defaults(&c, NULL), 0);
    assert_string_equal(mnemo_config_str(c, "embed.provider"), "none");
    assert_int_equal(source_of(c, "embed.provider"), MNEMO_CONFIG_FROM_ENV);
    assert_int_equal(source_of(c, "tcp.listen"), MNEMO_CONFIG_DEFAULT);
    mnemo_config_free(c);

    setenv("MNEMO_EMBED_PROVIDER", "gpu", 1);
    c = (struct mnemo_config *)state;
    assert_int_equal(mnemo_config_defaults(&c, NULL), MNEMO_EINVAL);
    assert_null(c);
}

/* ---- the file
 * ------------------------------------------------------------------------------------ */

static void test_config_file_values_override_the_defaults(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "{\"tcp.listen\": \"off\", \"retention.days\": 30, "
                   "\"embed.provider\": \"http\", \"embed.model\": \"nomic-embed-text\"}");
    struct mnemo_config *c = load_ok(fx);
    assert_string_equal(mnemo_config_str(c, "tcp.listen"), "off");
    assert_int_equal(mnemo_config_int(c, "retention.days"), 30);
    assert_string_equal(mnemo_config_str(c, "embed.provider"), "http");
    assert_string_equal(mnemo_config_str(c, "embed.model"), "nomic-embed-text");
    assert_int_equal(source_of(c, "retention.days"), MNEMO_CONFIG_FROM_FILE);
    assert_int_equal(source_of(c, "retention.prompt_days"), MNEMO_CONFIG_DEFAULT);
    assert_string_equal(text_of(c, "retention.days"), "30");
    mnemo_config_free(c);
}

static void test_config_environment_beats_the_file(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "{\"tcp.listen\": \"127.0.0.1:4000\", \"retention.days\": 30}");
    setenv("MNEMO_TCP_LISTEN", "off", 1);
    setenv("MNEMO_RETENTION_DAYS", "7", 1);
    setenv("MNEMO_EMBED_PROVIDER", "none", 1);
    struct mnemo_config *c = load_ok(fx);
    assert_string_equal(mnemo_config_str(c, "tcp.listen"), "off");
    assert_int_equal(mnemo_config_int(c, "retention.days"), 7);
    assert_string_equal(mnemo_config_str(c, "embed.provider"), "none");
    assert_int_equal(source_of(c, "tcp.listen"), MNEMO_CONFIG_FROM_ENV);
    assert_int_equal(source_of(c, "retention.days"), MNEMO_CONFIG_FROM_ENV);
    assert_string_equal(mnemo_config_source_name(MNEMO_CONFIG_FROM_ENV), "env");
    assert_string_equal(mnemo_config_source_name(MNEMO_CONFIG_FROM_FILE), "file");
    assert_string_equal(mnemo_config_source_name(MNEMO_CONFIG_DEFAULT), "default");
    mnemo_config_free(c);
}

static void test_config_empty_environment_variable_counts_as_unset(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "{\"retention.days\": 30}");
    setenv("MNEMO_RETENTION_DAYS", "", 1);
    struct mnemo_config *c = load_ok(fx);
    assert_int_equal(mnemo_config_int(c, "retention.days"), 30);
    assert_int_equal(source_of(c, "retention.days"), MNEMO_CONFIG_FROM_FILE);
    mnemo_config_free(c);
}

static void test_config_malformed_file_error_names_line_and_column(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "{\n  \"tcp.listen\": \"off\",\n  oops: 1\n}\n");
    const char *msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, fx->file));
    assert_non_null(strstr(msg, "line 3"));
    assert_non_null(strstr(msg, "column"));
}

static void test_config_file_that_is_not_an_object_is_refused(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "[\"tcp.listen\", \"off\"]");
    const char *msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "JSON object"));
}

static void test_config_value_of_the_wrong_type_names_the_key_and_file(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "{\"tcp.listen\": \"off\", \"retention.days\": \"30\"}");
    const char *msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "retention.days"));
    assert_non_null(strstr(msg, fx->file));
    assert_non_null(strstr(msg, "integer"));

    write_file(fx, "{\"tcp.listen\": 37777}");
    msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "tcp.listen"));
    assert_non_null(strstr(msg, "string"));

    write_file(fx, "{\"http.timeout_s\": 1.5}");
    msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "http.timeout_s"));
}

static void test_config_out_of_range_values_are_refused_from_file_and_env(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "{\"retention.days\": -1}");
    const char *msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "retention.days"));
    assert_non_null(strstr(msg, "out of range"));

    write_file(fx, "{\"http.timeout_s\": 1000000000000}");
    msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "http.timeout_s"));

    write_file(fx, "{}");
    setenv("MNEMO_HTTP_TIMEOUT_S", "0", 1);
    msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "MNEMO_HTTP_TIMEOUT_S"));
    assert_non_null(strstr(msg, "out of range"));

    setenv("MNEMO_HTTP_TIMEOUT_S", "30s", 1);
    msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "must be an integer"));
    unsetenv("MNEMO_HTTP_TIMEOUT_S");

    /* The edges themselves are accepted. */
    write_file(fx, "{\"http.timeout_s\": 1, \"retention.days\": 36500}");
    struct mnemo_config *c = load_ok(fx);
    assert_int_equal(mnemo_config_int(c, "http.timeout_s"), 1);
    mnemo_config_free(c);
}

static void test_config_choice_keys_accept_only_their_values(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "{\"embed.provider\": \"gpu\"}");
    const char *msg = load_fails(fx, MNEMO_EINVAL);
    assert_non_null(strstr(msg, "embed.provider"));
    assert_non_null(strstr(msg, "hash, http or none"));

    write_file(fx, "{\"log.level\": \"loud\"}");
    load_fails(fx, MNEMO_EINVAL);

    write_file(fx, "{\"embed.api\": \"ollama\", \"log.level\": \"debug\"}");
    struct mnemo_config *c = load_ok(fx);
    assert_string_equal(mnemo_config_str(c, "embed.api"), "ollama");
    mnemo_config_free(c);
}

static void test_config_tcp_listen_is_host_port_or_off(void **state)
{
    static const char *const good[] = {"off", "127.0.0.1:37777", "localhost:8080", "[::1]:37777",
                                       "0.0.0.0:0"};
    static const char *const bad[] = {"on",   "127.0.0.1", ":37777", "127.0.0.1:", "h:65536",
                                      "h:-1", "h:+80",     "a b:80", "[::1:80",    "127.0.0.1:80x"};
    struct fixture *fx = *state;

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("MNEMO_TCP_LISTEN", good[i], 1);
        struct mnemo_config *c = load_ok(fx);
        assert_string_equal(mnemo_config_str(c, "tcp.listen"), good[i]);
        mnemo_config_free(c);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("MNEMO_TCP_LISTEN", bad[i], 1);
        const char *msg = load_fails(fx, MNEMO_EINVAL);
        if (strstr(msg, "tcp.listen") == NULL)
            fail_msg("'%s': %s", bad[i], msg);
    }
}

static void test_config_unknown_file_key_is_logged_not_fatal(void **state)
{
    struct fixture *fx = *state;
    char logpath[512];
    struct mnemo_config *c = NULL;

    tu_path(&fx->dir, "test.log", logpath, sizeof logpath);
    struct mnemo_log *log = tu_log_open(logpath);
    write_file(fx, "{\"retention.dayz\": 5, \"retention.days\": 5}");
    assert_int_equal(mnemo_config_load(fx->dir.path, log, &c, NULL), 0);
    mnemo_log_close(log);
    assert_int_equal(mnemo_config_int(c, "retention.days"), 5);
    mnemo_config_free(c);

    char *text = tu_file_read(logpath, 65536, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "unknown config key"));
    assert_non_null(strstr(text, "retention.dayz"));
    free(text);
}

static void test_config_get_text_of_an_unknown_key_is_enotfound(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    const char *v = NULL;

    mnemo_err_clear(&err);
    struct mnemo_config *c = load_ok(fx);
    assert_int_equal(mnemo_config_get_text(c, "no.such", &v, NULL, &err), MNEMO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no.such"));
    mnemo_config_free(c);
}

/* ---- set and unset -----------------------------------------------------------------------------
 */

static void test_config_set_creates_the_file_0600_with_a_typed_value(void **state)
{
    struct fixture *fx = *state;
    char home[256];

    /* A home that does not exist yet is created 0700. */
    tu_path(&fx->dir, "home", home, sizeof home);
    assert_int_equal(mnemo_config_set(home, "retention.days", "14", NULL), 0);
    assert_int_equal(file_mode(home), 0700);
    assert_true((size_t)snprintf(fx->file, sizeof fx->file, "%.255s/%s", home, MNEMO_CONFIG_FILE) <
                sizeof fx->file);
    assert_int_equal(file_mode(fx->file), 0600);

    json_t *j = file_json(fx);
    assert_true(json_is_integer(json_object_get(j, "retention.days")));
    assert_int_equal(json_integer_value(json_object_get(j, "retention.days")), 14);
    json_decref(j);

    struct mnemo_config *c = NULL;
    assert_int_equal(mnemo_config_load(home, NULL, &c, NULL), 0);
    assert_int_equal(mnemo_config_int(c, "retention.days"), 14);
    mnemo_config_free(c);
}

static void test_config_set_and_unset_keep_every_other_key(void **state)
{
    struct fixture *fx = *state;

    write_file(fx, "{\"tcp.listen\": \"off\", \"retention.days\": 30, \"someone.else\": [1]}");
    chmod(fx->file, 0644);
    assert_int_equal(mnemo_config_set(fx->dir.path, "embed.provider", "none", NULL), 0);
    assert_int_equal(file_mode(fx->file), 0600);

    json_t *j = file_json(fx);
    assert_string_equal(json_string_value(json_object_get(j, "tcp.listen")), "off");
    assert_int_equal(json_integer_value(json_object_get(j, "retention.days")), 30);
    assert_string_equal(json_string_value(json_object_get(j, "embed.provider")), "none");
    assert_true(json_is_array(json_object_get(j, "someone.else")));
    json_decref(j);

    assert_int_equal(mnemo_config_set(fx->dir.path, "retention.days", NULL, NULL), 0);
    j = file_json(fx);
    assert_null(json_object_get(j, "retention.days"));
    assert_string_equal(json_string_value(json_object_get(j, "tcp.listen")), "off");
    assert_string_equal(json_string_value(json_object_get(j, "embed.provider")), "none");
    assert_int_equal(json_object_size(j), 3);
    json_decref(j);
    assert_int_equal(file_mode(fx->file), 0600);

    /* Unsetting a key that is not in the file changes nothing but is not an error. */
    assert_int_equal(mnemo_config_set(fx->dir.path, "retention.days", NULL, NULL), 0);

    struct mnemo_config *c = load_ok(fx);
    assert_int_equal(mnemo_config_int(c, "retention.days"), 0);
    assert_int_equal(source_of(c, "retention.days"), MNEMO_CONFIG_DEFAULT);
    mnemo_config_free(c);
}

static void test_config_set_refuses_unknown_keys_and_bad_values_changing_nothing(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    const char *orig = "{\"tcp.listen\": \"off\"}";

    write_file(fx, orig);
    mnemo_err_clear(&err);
    assert_int_equal(mnemo_config_set(fx->dir.path, "tcp.lisen", "off", &err), MNEMO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "tcp.lisen"));

    mnemo_err_clear(&err);
    assert_int_equal(mnemo_config_set(fx->dir.path, "retention.days", "-5", &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "retention.days"));
    assert_non_null(strstr(err.msg, "out of range"));

    mnemo_err_clear(&err);
    assert_int_equal(mnemo_config_set(fx->dir.path, "retention.days", "ten", &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_config_set(fx->dir.path, "embed.provider", "gpu", &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_config_set(fx->dir.path, "embed.model", "a\nb", &err), MNEMO_EINVAL);

    char *text = tu_file_read(fx->file, 4096, NULL);
    assert_non_null(text);
    assert_string_equal(text, orig);
    free(text);
}

static void test_config_set_on_a_malformed_file_refuses_and_keeps_it(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    const char *orig = "{\"tcp.listen\": \"off\",,}";

    write_file(fx, orig);
    mnemo_err_clear(&err);
    assert_int_equal(mnemo_config_set(fx->dir.path, "retention.days", "3", &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "line 1"));
    char *text = tu_file_read(fx->file, 4096, NULL);
    assert_non_null(text);
    assert_string_equal(text, orig);
    free(text);
}

static void test_config_secret_values_are_never_echoed_in_errors(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char big[5000];

    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    big[3] = '\t';
    mnemo_err_clear(&err);
    assert_int_equal(mnemo_config_set(fx->dir.path, "embed.api_key", big, &err), MNEMO_EINVAL);
    assert_null(strstr(err.msg, "kkk"));
    assert_non_null(strstr(err.msg, "embed.api_key"));
}

#define CONFIG_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CONFIG_TEST(test_config_table_is_sorted_and_complete),
        CONFIG_TEST(test_config_without_a_file_holds_the_defaults),
        CONFIG_TEST(test_config_defaults_apply_the_environment_without_a_home),
        CONFIG_TEST(test_config_file_values_override_the_defaults),
        CONFIG_TEST(test_config_environment_beats_the_file),
        CONFIG_TEST(test_config_empty_environment_variable_counts_as_unset),
        CONFIG_TEST(test_config_malformed_file_error_names_line_and_column),
        CONFIG_TEST(test_config_file_that_is_not_an_object_is_refused),
        CONFIG_TEST(test_config_value_of_the_wrong_type_names_the_key_and_file),
        CONFIG_TEST(test_config_out_of_range_values_are_refused_from_file_and_env),
        CONFIG_TEST(test_config_choice_keys_accept_only_their_values),
        CONFIG_TEST(test_config_tcp_listen_is_host_port_or_off),
        CONFIG_TEST(test_config_unknown_file_key_is_logged_not_fatal),
        CONFIG_TEST(test_config_get_text_of_an_unknown_key_is_enotfound),
        CONFIG_TEST(test_config_set_creates_the_file_0600_with_a_typed_value),
        CONFIG_TEST(test_config_set_and_unset_keep_every_other_key),
        CONFIG_TEST(test_config_set_refuses_unknown_keys_and_bad_values_changing_nothing),
        CONFIG_TEST(test_config_set_on_a_malformed_file_refuses_and_keeps_it),
        CONFIG_TEST(test_config_secret_values_are_never_echoed_in_errors),
    };
    return cmocka_run_group_tests_name("util_config", tests, NULL, NULL);
}
