/*
 * test_cli_config.c - `mnemo config get|set|unset|list` on a temporary home: values round-trip
 * through config.json (mode 0600), secrets are masked unless --reveal, the environment wins
 * and says so, and bad keys or values change nothing.
 */
#include "cliutil.h"

#include <sys/stat.h>

#include <jansson.h>

struct fixture {
    struct tu_dir dir;
    char home[512];
    char file[600];
    char home_env[600];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    tu_dir_make(&f->dir);
    tu_path(&f->dir, "home", f->home, sizeof f->home);
    snprintf(f->file, sizeof f->file, "%s/config.json", f->home);
    snprintf(f->home_env, sizeof f->home_env, "MNEMO_HOME=%s", f->home);
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

/* Runs mnemo in f's home; extra (may be NULL) is one more "K=V" for the environment. */
static struct cu_result run(struct fixture *f, const char *extra, ...)
{
    char *env[3] = {f->home_env, (char *)extra, NULL};
    va_list ap;
    va_start(ap, extra);
    struct cu_result r = cu_run_va(env, NULL, ap);
    va_end(ap);
    return r;
}

static void expect_run(struct fixture *f, int status, const char *out, const char *extra, ...)
{
    va_list ap;
    char *env[3] = {f->home_env, (char *)extra, NULL};
    va_start(ap, extra);
    struct cu_result r = cu_run_va(env, NULL, ap);
    va_end(ap);
    cu_expect_status(&r, status);
    if (out != NULL && strcmp(r.out, out) != 0)
        fail_msg("stdout '%s', expected '%s' (stderr: %s)", r.out, out, r.err);
    cu_result_free(&r);
}

static void test_cli_config_set_get_unset_round_trip_through_a_0600_file(void **state)
{
    struct fixture *f = *state;
    struct stat st;

    expect_run(f, 0, "0\n", NULL, "config", "get", "retention.days", NULL);
    expect_run(f, 0, "", NULL, "config", "set", "retention.days", "30", NULL);
    expect_run(f, 0, "", NULL, "config", "set", "tcp.listen", "off", NULL);
    expect_run(f, 0, "30\n", NULL, "config", "get", "retention.days", NULL);
    assert_int_equal(stat(f->file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char *text = tu_file_read(f->file, 4096, NULL);
    assert_non_null(text);
    cu_expect_contains(text, "\"retention.days\": 30");
    cu_expect_contains(text, "\"tcp.listen\": \"off\"");
    free(text);

    struct cu_result r = run(f, NULL, "config", "list", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.out, "retention.days");
    cu_expect_contains(r.out, "file");
    cu_expect_contains(r.out, "default");
    cu_expect_lacks(r.out, "127.0.0.1:37777"); /* tcp.listen is off now */
    cu_result_free(&r);

    expect_run(f, 0, "", NULL, "config", "unset", "retention.days", NULL);
    expect_run(f, 0, "0\n", NULL, "config", "get", "retention.days", NULL);
    expect_run(f, 0, "off\n", NULL, "config", "get", "tcp.listen", NULL);
}

static void test_cli_config_list_masks_secrets_unless_revealed(void **state)
{
    struct fixture *f = *state;
    const char *key = "sk-test-1234567890";

    expect_run(f, 0, "", NULL, "config", "set", "embed.api_key", key, NULL);
    expect_run(f, 0, "***\n", NULL, "config", "get", "embed.api_key", NULL);
    char want[64];
    snprintf(want, sizeof want, "%s\n", key);
    expect_run(f, 0, want, NULL, "config", "get", "embed.api_key", "--reveal", NULL);

    struct cu_result r = run(f, NULL, "config", "list", NULL);
    cu_expect_status(&r, 0);
    cu_expect_lacks(r.out, key);
    cu_expect_contains(r.out, "***");
    cu_result_free(&r);
    r = run(f, NULL, "config", "list", "--json", NULL);
    cu_expect_status(&r, 0);
    cu_expect_lacks(r.out, key);
    json_t *j = json_loads(r.out, 0, NULL);
    assert_non_null(j);
    json_t *k = json_object_get(j, "embed.api_key");
    assert_string_equal(json_string_value(json_object_get(k, "value")), "***");
    assert_string_equal(json_string_value(json_object_get(k, "source")), "file");
    assert_true(json_is_true(json_object_get(k, "secret")));
    /* Integers stay integers in the JSON. */
    assert_true(json_is_integer(json_object_get(json_object_get(j, "http.timeout_s"), "value")));
    json_decref(j);
    cu_result_free(&r);
    r = run(f, NULL, "config", "list", "--reveal", NULL);
    cu_expect_contains(r.out, key);
    cu_result_free(&r);
}

static void test_cli_config_environment_wins_and_is_reported(void **state)
{
    struct fixture *f = *state;

    expect_run(f, 0, "", NULL, "config", "set", "embed.provider", "none", NULL);
    expect_run(f, 0, "hash\n", "MNEMO_EMBED_PROVIDER=hash", "config", "get", "embed.provider",
               NULL);
    struct cu_result r =
        run(f, "MNEMO_EMBED_PROVIDER=hash", "config", "set", "embed.provider", "http", NULL);
    cu_expect_status(&r, 0);
    cu_expect_contains(r.err, "MNEMO_EMBED_PROVIDER is set in the environment");
    cu_result_free(&r);
    r = run(f, "MNEMO_EMBED_PROVIDER=hash", "config", "list", NULL);
    cu_expect_contains(r.out, "env");
    cu_result_free(&r);
}

static void test_cli_config_refuses_bad_keys_and_values_changing_nothing(void **state)
{
    struct fixture *f = *state;

    expect_run(f, 0, "", NULL, "config", "set", "retention.days", "7", NULL);
    char *before = tu_file_read(f->file, 4096, NULL);
    assert_non_null(before);

    struct cu_result r = run(f, NULL, "config", "set", "retention.dayz", "7", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "unknown config key 'retention.dayz'");
    cu_result_free(&r);
    r = run(f, NULL, "config", "set", "retention.days", "lots", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "retention.days must be an integer");
    cu_result_free(&r);
    r = run(f, NULL, "config", "set", "http.timeout_s", "0", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "out of range");
    cu_result_free(&r);
    r = run(f, NULL, "config", "set", "embed.provider", "gpu", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "hash, http or none");
    cu_result_free(&r);
    r = run(f, NULL, "config", "get", "nope", NULL);
    cu_expect_status(&r, 1);
    cu_result_free(&r);
    r = run(f, NULL, "config", "set", "retention.days", NULL);
    cu_expect_status(&r, 2);
    cu_result_free(&r);
    r = run(f, NULL, "config", "frobnicate", NULL);
    cu_expect_status(&r, 2);
    cu_result_free(&r);

    char *after = tu_file_read(f->file, 4096, NULL);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);

    /* A malformed file is reported with its position, and set leaves it alone. */
    tu_file_write(f->file, "{\"retention.days\": 7,,}", 23);
    r = run(f, NULL, "config", "list", NULL);
    cu_expect_status(&r, 1);
    cu_expect_contains(r.err, "line 1");
    cu_result_free(&r);
    r = run(f, NULL, "config", "set", "retention.days", "8", NULL);
    cu_expect_status(&r, 1);
    cu_result_free(&r);
}

#define CONFIG_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        CONFIG_TEST(test_cli_config_set_get_unset_round_trip_through_a_0600_file),
        CONFIG_TEST(test_cli_config_list_masks_secrets_unless_revealed),
        CONFIG_TEST(test_cli_config_environment_wins_and_is_reported),
        CONFIG_TEST(test_cli_config_refuses_bad_keys_and_values_changing_nothing),
    };
    return cmocka_run_group_tests_name("cli_config", tests, NULL, NULL);
}
