/*
 * test_memory_privacy_file.c - extra redaction rules from a JSON file: they redact like the
 * built-in ones, every field maps onto struct mnemo_privacy_rule, and any bad file or rule is
 * refused with a message naming it while the redactor stays exactly as it was.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "memory/privacy.h"

struct fixture {
    struct tu_dir dir;
    char path[512];
    struct mnemo_privacy *p;
    size_t builtin;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    tu_dir_make(&fx->dir);
    tu_path(&fx->dir, "rules.json", fx->path, sizeof fx->path);
    assert_int_equal(mnemo_privacy_new(&fx->p, NULL), 0);
    fx->builtin = mnemo_privacy_rule_count(fx->p);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    mnemo_privacy_free(fx->p);
    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

static void write_rules(const struct fixture *fx, const char *text)
{
    tu_file_write(fx->path, text, strlen(text));
}

/* The cleaned text of in (caller frees). */
static char *clean(const struct fixture *fx, const char *in)
{
    struct mnemo_privacy_result res;
    struct mnemo_err err = {0};
    if (mnemo_privacy_clean(fx->p, in, strlen(in), &res, &err) != 0)
        fail_msg("clean: %s", err.msg);
    char *t = res.text;
    res.text = NULL;
    mnemo_privacy_result_release(&res);
    return t;
}

static void assert_clean(const struct fixture *fx, const char *in, const char *want)
{
    char *got = clean(fx, in);
    assert_string_equal(got, want);
    free(got);
}

/* Loading must fail with want, name the file and contain needle; p must be unchanged. */
static void assert_refused(struct fixture *fx, int want, const char *needle)
{
    struct mnemo_err err = {0};
    int rc = mnemo_privacy_load_rules_file(fx->p, fx->path, &err);
    if (rc != want)
        fail_msg("rc %d (%s), want %d", rc, err.msg, want);
    assert_non_null(strstr(err.msg, fx->path));
    if (strstr(err.msg, needle) == NULL)
        fail_msg("'%s' lacks '%s'", err.msg, needle);
    assert_int_equal(mnemo_privacy_rule_count(fx->p), fx->builtin);
}

static void test_privacy_file_rules_redact_like_builtin_ones(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err = {0};

    write_rules(fx, "[{\"name\": \"acme_token\", \"pattern\": \"ACME-[0-9]{6}\"},\n"
                    " {\"name\": \"door_pin\", \"pattern\": \"door pin[:=] *([0-9]{4,8})\",\n"
                    "  \"group\": 1, \"keywords\": \"door\", \"caseless\": true}]");
    assert_clean(fx, "use ACME-123456 here", "use ACME-123456 here");
    assert_int_equal(mnemo_privacy_load_rules_file(fx->p, fx->path, &err), 0);
    assert_int_equal(mnemo_privacy_rule_count(fx->p), fx->builtin + 2);
    assert_string_equal(mnemo_privacy_rule_name(fx->p, fx->builtin), "acme_token");
    assert_string_equal(mnemo_privacy_rule_name(fx->p, fx->builtin + 1), "door_pin");
    assert_clean(fx, "use ACME-123456 here", "use [REDACTED:acme_token] here");
    /* group 1 replaces only the digits; caseless matches "DOOR PIN". */
    assert_clean(fx, "the DOOR PIN: 48213 opens it", "the DOOR PIN: [REDACTED:door_pin] opens it");
}

static void test_privacy_file_entropy_flag_gates_low_entropy_values(void **state)
{
    struct fixture *fx = *state;

    write_rules(fx, "[{\"name\": \"vault\", \"pattern\": \"vault=(\\\\S+)\", \"group\": 1, "
                    "\"entropy\": true}]");
    assert_int_equal(mnemo_privacy_load_rules_file(fx->p, fx->path, NULL), 0);
    assert_clean(fx, "vault=aaaaaaaaaaaa", "vault=aaaaaaaaaaaa");
    assert_clean(fx, "vault=Zq8vX3kP9wLm2RtY", "vault=[REDACTED:vault]");
}

static void test_privacy_file_empty_array_adds_nothing(void **state)
{
    struct fixture *fx = *state;

    write_rules(fx, " [ ] ");
    assert_int_equal(mnemo_privacy_load_rules_file(fx->p, fx->path, NULL), 0);
    assert_int_equal(mnemo_privacy_rule_count(fx->p), fx->builtin);
}

static void test_privacy_file_missing_file_is_enotfound_naming_it(void **state)
{
    struct fixture *fx = *state;
    assert_refused(fx, MNEMO_ENOTFOUND, "rules.json");
}

static void test_privacy_file_malformed_json_names_line_and_column(void **state)
{
    struct fixture *fx = *state;

    write_rules(fx, "[\n  {\"name\": \"a\",\n   \"pattern\": \"x\" oops}\n]");
    assert_refused(fx, MNEMO_EINVAL, "line 3");
    assert_refused(fx, MNEMO_EINVAL, "column");
    write_rules(fx, "{\"name\": \"a\", \"pattern\": \"xy\"}");
    assert_refused(fx, MNEMO_EINVAL, "array");
}

static void test_privacy_file_bad_rule_names_its_index_and_changes_nothing(void **state)
{
    struct fixture *fx = *state;

    /* The first rule is fine; the second fails to compile: neither is added. */
    write_rules(fx, "[{\"name\": \"ok_rule\", \"pattern\": \"OKAY-[0-9]+\"},"
                    " {\"name\": \"broken\", \"pattern\": \"(unclosed\"}]");
    assert_refused(fx, MNEMO_EINVAL, "rule 2");
    assert_refused(fx, MNEMO_EINVAL, "broken");
    assert_clean(fx, "OKAY-12", "OKAY-12");

    write_rules(fx, "[{\"name\": \"Bad Name\", \"pattern\": \"zz+\"}]");
    assert_refused(fx, MNEMO_EINVAL, "rule 1");
    write_rules(fx, "[{\"pattern\": \"zz+\"}]");
    assert_refused(fx, MNEMO_EINVAL, "needs a name and a pattern");
    write_rules(fx, "[\"zz+\"]");
    assert_refused(fx, MNEMO_EINVAL, "must be an object");
    write_rules(fx, "[{\"name\": \"n\", \"pattern\": 5}]");
    assert_refused(fx, MNEMO_EINVAL, "pattern must be a string");
    write_rules(fx, "[{\"name\": \"n\", \"pattern\": \"zz+\", \"group\": 3}]");
    assert_refused(fx, MNEMO_EINVAL, "rule 1");
    write_rules(fx, "[{\"name\": \"n\", \"pattern\": \"zz+\", \"group\": -1}]");
    assert_refused(fx, MNEMO_EINVAL, "group");
    write_rules(fx, "[{\"name\": \"n\", \"pattern\": \"z*\"}]");
    assert_refused(fx, MNEMO_EINVAL, "rule 1");
    write_rules(fx, "[{\"name\": \"n\", \"pattern\": \"zz+\", \"caseless\": 1}]");
    assert_refused(fx, MNEMO_EINVAL, "caseless must be true or false");
}

static void test_privacy_file_unknown_fields_are_refused(void **state)
{
    struct fixture *fx = *state;

    write_rules(fx, "[{\"name\": \"n\", \"pattern\": \"zz+\", \"min_entropy\": 3.0}]");
    assert_refused(fx, MNEMO_EINVAL, "unknown field 'min_entropy'");
    write_rules(fx, "[{\"name\": \"n\", \"patern\": \"zz+\"}]");
    assert_refused(fx, MNEMO_EINVAL, "unknown field 'patern'");
}

static void test_privacy_file_duplicate_names_are_refused(void **state)
{
    struct fixture *fx = *state;
    const char *builtin = mnemo_privacy_rule_name(fx->p, 0);
    char text[256];

    snprintf(text, sizeof text, "[{\"name\": \"%s\", \"pattern\": \"zz+\"}]", builtin);
    write_rules(fx, text);
    assert_refused(fx, MNEMO_EINVAL, "already exists");

    write_rules(fx, "[{\"name\": \"twice\", \"pattern\": \"zz+\"},"
                    " {\"name\": \"twice\", \"pattern\": \"yy+\"}]");
    assert_refused(fx, MNEMO_EINVAL, "rule 2");

    /* Loading the same file twice: the second time every name is taken. */
    write_rules(fx, "[{\"name\": \"once\", \"pattern\": \"zz+\"}]");
    assert_int_equal(mnemo_privacy_load_rules_file(fx->p, fx->path, NULL), 0);
    fx->builtin++;
    assert_refused(fx, MNEMO_EINVAL, "already exists");
}

static void test_privacy_file_too_many_rules_is_etoobig(void **state)
{
    struct fixture *fx = *state;
    char *text = malloc(64 * 100);
    assert_non_null(text);
    size_t len = 0;

    text[len++] = '[';
    for (int i = 0; i < MNEMO_PRIVACY_MAX_RULES; i++)
        len += (size_t)sprintf(text + len, "%s{\"name\":\"r%d\",\"pattern\":\"q%dq+\"}",
                               i ? "," : "", i, i);
    text[len++] = ']';
    text[len] = '\0';
    write_rules(fx, text);
    free(text);
    assert_refused(fx, MNEMO_ETOOBIG, "do not fit");
}

#define PF_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PF_TEST(test_privacy_file_rules_redact_like_builtin_ones),
        PF_TEST(test_privacy_file_entropy_flag_gates_low_entropy_values),
        PF_TEST(test_privacy_file_empty_array_adds_nothing),
        PF_TEST(test_privacy_file_missing_file_is_enotfound_naming_it),
        PF_TEST(test_privacy_file_malformed_json_names_line_and_column),
        PF_TEST(test_privacy_file_bad_rule_names_its_index_and_changes_nothing),
        PF_TEST(test_privacy_file_unknown_fields_are_refused),
        PF_TEST(test_privacy_file_duplicate_names_are_refused),
        PF_TEST(test_privacy_file_too_many_rules_is_etoobig),
    };
    return cmocka_run_group_tests_name("memory_privacy_file", tests, NULL, NULL);
}
