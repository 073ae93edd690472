/*
 * test_util_err.c - result codes: names, messages, HTTP statuses, and the error buffer.
 */
#include "testutil.h"

#include <limits.h>
#include <string.h>

#include "util/err.h"

struct expected_rc {
    int code;
    const char *name;
    const char *message;
    int http;
};

/* The table as the header spells it, written out independently of err.c's generated one. */
static const struct expected_rc expected[] = {
#define EXPECTED_RC(name, value, msg, http) {(value), "MNEMO_" #name, (msg), (http)},
    MNEMO_RC_TABLE(EXPECTED_RC)
#undef EXPECTED_RC
};

#define N_EXPECTED (sizeof expected / sizeof expected[0])

static void test_err_every_rc_has_its_name_message_and_http_status(void **state)
{
    (void)state;
    assert_true(N_EXPECTED >= 17);
    for (size_t i = 0; i < N_EXPECTED; i++) {
        int rc = expected[i].code;
        assert_string_equal(mnemo_rcname(rc), expected[i].name);
        assert_string_equal(mnemo_strerror(rc), expected[i].message);
        assert_int_equal(mnemo_rc_http_status(rc), expected[i].http);
        assert_true(expected[i].http >= 200 && expected[i].http <= 599);
        assert_true(strlen(mnemo_strerror(rc)) > 0);
    }
}

static void test_err_rc_names_and_values_are_unique(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_EXPECTED; i++) {
        for (size_t j = i + 1; j < N_EXPECTED; j++) {
            assert_int_not_equal(expected[i].code, expected[j].code);
            assert_string_not_equal(mnemo_rcname(expected[i].code), mnemo_rcname(expected[j].code));
        }
    }
}

static void test_err_codes_are_zero_for_ok_and_negative_for_errors(void **state)
{
    (void)state;
    assert_int_equal(MNEMO_OK, 0);
    assert_int_equal(mnemo_rc_http_status(MNEMO_OK), 200);
    for (size_t i = 0; i < N_EXPECTED; i++) {
        if (expected[i].code != MNEMO_OK)
            assert_true(expected[i].code < 0);
    }
    /* Codes reach logs and JSON, so spot-check that none were renumbered. */
    assert_int_equal(MNEMO_ENOTFOUND, -4);
    assert_int_equal(MNEMO_ETIMEDOUT, -7);
    assert_int_equal(MNEMO_EINTERNAL, -16);
    assert_int_equal(mnemo_rc_http_status(MNEMO_ENOTFOUND), 404);
    assert_int_equal(mnemo_rc_http_status(MNEMO_ETIMEDOUT), 504);
}

static void test_err_unknown_code_reads_as_unknown_error_with_status_500(void **state)
{
    int unknown[] = {1, -1000, 12345, INT_MIN};

    (void)state;
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(mnemo_strerror(unknown[i]), "unknown error");
        assert_string_equal(mnemo_rcname(unknown[i]), "MNEMO_EUNKNOWN");
        assert_int_equal(mnemo_rc_http_status(unknown[i]), 500);
    }
}

static void test_err_set_records_code_and_message_and_returns_code(void **state)
{
    struct mnemo_err err;
    int rc;

    (void)state;
    mnemo_err_clear(&err);
    rc = mnemo_err_set(&err, MNEMO_EIO, "cannot read '%s': %d", "/x/y", 42);
    assert_int_equal(rc, MNEMO_EIO);
    assert_int_equal(err.code, MNEMO_EIO);
    assert_string_equal(err.msg, "cannot read '/x/y': 42");
}

/* A helper with the shape of every va_list wrapper in the code base. */
static int wrap_vset(struct mnemo_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int wrap_vset(struct mnemo_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = mnemo_err_vset(err, code, fmt, ap);
    va_end(ap);
    return rc;
}

static void test_err_vset_formats_like_set(void **state)
{
    struct mnemo_err err;

    (void)state;
    mnemo_err_clear(&err);
    assert_int_equal(wrap_vset(&err, MNEMO_EBUSY, "%s busy for %d ms", "pool", 7), MNEMO_EBUSY);
    assert_int_equal(err.code, MNEMO_EBUSY);
    assert_string_equal(err.msg, "pool busy for 7 ms");
}

static void test_err_set_truncates_long_message_to_the_buffer(void **state)
{
    struct mnemo_err err;
    char big[1000];

    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memset(err.msg, 'z', sizeof err.msg);
    assert_int_equal(mnemo_err_set(&err, MNEMO_EINVAL, "x%s", big), MNEMO_EINVAL);
    assert_int_equal(strlen(err.msg), MNEMO_ERR_MSG_MAX - 1);
    assert_int_equal(err.msg[0], 'x');
    assert_int_equal(err.msg[MNEMO_ERR_MSG_MAX - 2], 'a');
}

static void test_err_set_truncation_does_not_split_a_utf8_character(void **state)
{
    struct mnemo_err err;
    char s[MNEMO_ERR_MSG_MAX + 8];

    (void)state;
    /* 254 ASCII bytes then "é" (2 bytes): only the first byte of "é" would fit. */
    memset(s, 'a', MNEMO_ERR_MSG_MAX - 2);
    memcpy(s + MNEMO_ERR_MSG_MAX - 2, "\xc3\xa9tail", 7);
    mnemo_err_set(&err, MNEMO_EINVAL, "%s", s);
    assert_int_equal(strlen(err.msg), MNEMO_ERR_MSG_MAX - 2);

    /* When the whole character fits it is kept. */
    memset(s, 'a', MNEMO_ERR_MSG_MAX - 3);
    memcpy(s + MNEMO_ERR_MSG_MAX - 3, "\xc3\xa9tail", 7);
    mnemo_err_set(&err, MNEMO_EINVAL, "%s", s);
    assert_int_equal(strlen(err.msg), MNEMO_ERR_MSG_MAX - 1);
    assert_memory_equal(err.msg + MNEMO_ERR_MSG_MAX - 3, "\xc3\xa9", 2);
}

static void test_err_set_with_null_err_only_returns_the_code(void **state)
{
    (void)state;
    assert_int_equal(mnemo_err_set(NULL, MNEMO_ENOSPC, "disk %s", "full"), MNEMO_ENOSPC);
    assert_int_equal(wrap_vset(NULL, MNEMO_ECLOSED, "closed %d", 1), MNEMO_ECLOSED);
}

static void test_err_set_can_wrap_its_own_previous_message(void **state)
{
    struct mnemo_err err;

    (void)state;
    mnemo_err_set(&err, MNEMO_ENOTFOUND, "no such file '%s'", "/db");
    mnemo_err_set(&err, err.code, "cannot open store: %s", err.msg);
    assert_int_equal(err.code, MNEMO_ENOTFOUND);
    assert_string_equal(err.msg, "cannot open store: no such file '/db'");
}

static void test_err_clear_resets_code_and_message_and_accepts_null(void **state)
{
    struct mnemo_err err;

    (void)state;
    mnemo_err_set(&err, MNEMO_EIO, "boom");
    mnemo_err_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
    mnemo_err_clear(NULL);
}

static void test_err_text_prefers_the_detail_and_falls_back_to_the_code_text(void **state)
{
    struct mnemo_err err;

    (void)state;
    mnemo_err_clear(&err);
    assert_string_equal(mnemo_err_text(&err, MNEMO_ETIMEDOUT), "deadline exceeded");
    assert_string_equal(mnemo_err_text(NULL, MNEMO_EACCES), "permission denied");
    mnemo_err_set(&err, MNEMO_ETIMEDOUT, "operation 'search' exceeded its deadline");
    assert_string_equal(mnemo_err_text(&err, MNEMO_ETIMEDOUT),
                        "operation 'search' exceeded its deadline");
    assert_ptr_equal(mnemo_err_text(&err, MNEMO_ETIMEDOUT), err.msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_every_rc_has_its_name_message_and_http_status),
        cmocka_unit_test(test_err_rc_names_and_values_are_unique),
        cmocka_unit_test(test_err_codes_are_zero_for_ok_and_negative_for_errors),
        cmocka_unit_test(test_err_unknown_code_reads_as_unknown_error_with_status_500),
        cmocka_unit_test(test_err_set_records_code_and_message_and_returns_code),
        cmocka_unit_test(test_err_vset_formats_like_set),
        cmocka_unit_test(test_err_set_truncates_long_message_to_the_buffer),
        cmocka_unit_test(test_err_set_truncation_does_not_split_a_utf8_character),
        cmocka_unit_test(test_err_set_with_null_err_only_returns_the_code),
        cmocka_unit_test(test_err_set_can_wrap_its_own_previous_message),
        cmocka_unit_test(test_err_clear_resets_code_and_message_and_accepts_null),
        cmocka_unit_test(test_err_text_prefers_the_detail_and_falls_back_to_the_code_text),
    };
    return cmocka_run_group_tests_name("util_err", tests, NULL, NULL);
}
