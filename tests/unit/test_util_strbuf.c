/*
 * test_util_strbuf.c - the bounded growable buffer.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/strbuf.h"

static void test_strbuf_starts_empty_and_reads_as_empty_string(void **state)
{
    struct mnemo_strbuf sb;

    (void)state;
    mnemo_strbuf_init(&sb, 100);
    assert_null(sb.data);
    assert_int_equal(sb.len, 0);
    assert_int_equal(sb.max, 100);
    assert_string_equal(mnemo_strbuf_str(&sb), "");
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_zero_max_means_the_default_ceiling(void **state)
{
    struct mnemo_strbuf sb;

    (void)state;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(sb.max, MNEMO_STRBUF_DEFAULT_MAX);
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_append_keeps_contents_nul_terminated(void **state)
{
    struct mnemo_strbuf sb;

    (void)state;
    mnemo_strbuf_init(&sb, 0);
    /* Even an empty append leaves a terminated string behind. */
    assert_int_equal(mnemo_strbuf_append(&sb, "", 0), 0);
    assert_non_null(sb.data);
    assert_int_equal(sb.data[0], '\0');

    assert_int_equal(mnemo_strbuf_append(&sb, "abcXYZ", 3), 0);
    assert_int_equal(sb.len, 3);
    assert_int_equal(sb.data[3], '\0');
    assert_int_equal(mnemo_strbuf_puts(&sb, "def"), 0);
    assert_string_equal(mnemo_strbuf_str(&sb), "abcdef");
    assert_int_equal(sb.len, 6);

    /* Binary data with embedded NULs is kept byte for byte. */
    assert_int_equal(mnemo_strbuf_append(&sb, "g\0h", 3), 0);
    assert_int_equal(sb.len, 9);
    assert_memory_equal(sb.data, "abcdefg\0h", 10);
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_refuses_growth_past_max_and_keeps_contents(void **state)
{
    struct mnemo_strbuf sb;

    (void)state;
    mnemo_strbuf_init(&sb, 8);
    assert_int_equal(mnemo_strbuf_puts(&sb, "12345678"), 0);
    assert_int_equal(sb.len, 8);
    assert_true(sb.cap <= 9);

    assert_int_equal(mnemo_strbuf_puts(&sb, "9"), MNEMO_ETOOBIG);
    assert_int_equal(sb.len, 8);
    assert_string_equal(mnemo_strbuf_str(&sb), "12345678");
    assert_int_equal(mnemo_strbuf_append(&sb, "x", SIZE_MAX), MNEMO_ETOOBIG);
    assert_string_equal(mnemo_strbuf_str(&sb), "12345678");

    /* An empty buffer refuses an oversized first append without allocating. */
    mnemo_strbuf_release(&sb);
    assert_int_equal(sb.max, 8);
    assert_int_equal(mnemo_strbuf_puts(&sb, "123456789"), MNEMO_ETOOBIG);
    assert_null(sb.data);
    assert_int_equal(sb.len, 0);
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_appendf_formats_and_grows(void **state)
{
    struct mnemo_strbuf sb;
    char expect[16384];
    size_t off = 0;

    (void)state;
    mnemo_strbuf_init(&sb, 0);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(mnemo_strbuf_appendf(&sb, "%d,", i), 0);
        off += (size_t)snprintf(expect + off, sizeof expect - off, "%d,", i);
    }
    assert_int_equal(sb.len, off);
    assert_string_equal(mnemo_strbuf_str(&sb), expect);
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_appendf_past_max_fails_and_keeps_contents(void **state)
{
    struct mnemo_strbuf sb;

    (void)state;
    mnemo_strbuf_init(&sb, 10);
    assert_int_equal(mnemo_strbuf_puts(&sb, "abc"), 0);
    /* 3 + 9 > 10: the first formatting attempt scribbles in the spare capacity. */
    assert_int_equal(mnemo_strbuf_appendf(&sb, "%s", "defghijkl"), MNEMO_ETOOBIG);
    assert_int_equal(sb.len, 3);
    assert_string_equal(mnemo_strbuf_str(&sb), "abc");
    /* Exactly reaching max is allowed. */
    assert_int_equal(mnemo_strbuf_appendf(&sb, "%s%d", "defghi", 7), 0);
    assert_string_equal(mnemo_strbuf_str(&sb), "abcdefghi7");
    assert_int_equal(mnemo_strbuf_appendf(&sb, "%c", 'x'), MNEMO_ETOOBIG);
    assert_string_equal(mnemo_strbuf_str(&sb), "abcdefghi7");
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_grows_geometrically(void **state)
{
    struct mnemo_strbuf sb;
    size_t last_cap = 0;
    int reallocs = 0;

    (void)state;
    mnemo_strbuf_init(&sb, 0);
    for (int i = 0; i < 100000; i++) {
        assert_int_equal(mnemo_strbuf_append(&sb, "x", 1), 0);
        if (sb.cap != last_cap) {
            /* Each growth at least doubles (until the ceiling), never creeps by a few bytes. */
            if (last_cap != 0)
                assert_true(sb.cap >= 2 * last_cap);
            last_cap = sb.cap;
            reallocs++;
        }
    }
    assert_int_equal(sb.len, 100000);
    assert_true(reallocs <= 20);
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_detach_hands_over_data_and_leaves_buffer_empty(void **state)
{
    struct mnemo_strbuf sb;
    char *p;

    (void)state;
    mnemo_strbuf_init(&sb, 50);
    assert_int_equal(mnemo_strbuf_puts(&sb, "hello"), 0);
    p = mnemo_strbuf_detach(&sb);
    assert_non_null(p);
    assert_string_equal(p, "hello");
    assert_null(sb.data);
    assert_int_equal(sb.len, 0);
    assert_int_equal(sb.cap, 0);
    assert_int_equal(sb.max, 50);
    assert_string_equal(mnemo_strbuf_str(&sb), "");
    free(p);

    /* The buffer is usable again, and detaching an empty one gives a fresh "". */
    p = mnemo_strbuf_detach(&sb);
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
    assert_int_equal(mnemo_strbuf_puts(&sb, "again"), 0);
    assert_string_equal(mnemo_strbuf_str(&sb), "again");
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_reset_empties_but_keeps_storage(void **state)
{
    struct mnemo_strbuf sb;
    size_t cap;
    char *data;

    (void)state;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_strbuf_puts(&sb, "some text"), 0);
    cap = sb.cap;
    data = sb.data;
    mnemo_strbuf_reset(&sb);
    assert_int_equal(sb.len, 0);
    assert_int_equal(sb.cap, cap);
    assert_ptr_equal(sb.data, data);
    assert_string_equal(mnemo_strbuf_str(&sb), "");
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_release_frees_and_allows_reuse(void **state)
{
    struct mnemo_strbuf sb;

    (void)state;
    mnemo_strbuf_init(&sb, 32);
    assert_int_equal(mnemo_strbuf_puts(&sb, "first"), 0);
    mnemo_strbuf_release(&sb);
    assert_null(sb.data);
    assert_int_equal(sb.len, 0);
    assert_int_equal(sb.max, 32);
    assert_int_equal(mnemo_strbuf_puts(&sb, "second"), 0);
    assert_string_equal(mnemo_strbuf_str(&sb), "second");
    mnemo_strbuf_release(&sb);
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_append_of_its_own_contents_survives_growth(void **state)
{
    struct mnemo_strbuf sb;
    char expect[1024];

    (void)state;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_strbuf_puts(&sb, "abcdefgh"), 0);
    /* Doubling repeatedly forces reallocations while the source lives in the buffer. */
    for (int i = 0; i < 7; i++)
        assert_int_equal(mnemo_strbuf_append(&sb, sb.data, sb.len), 0);
    assert_int_equal(sb.len, 8 * 128);
    for (size_t i = 0; i < 128; i++)
        memcpy(expect + 8 * i, "abcdefgh", 8);
    assert_memory_equal(sb.data, expect, sizeof expect);
    assert_int_equal(sb.data[sb.len], '\0');
    mnemo_strbuf_release(&sb);
}

static void test_strbuf_rejects_null_arguments(void **state)
{
    struct mnemo_strbuf sb;

    (void)state;
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_strbuf_append(&sb, NULL, 3), MNEMO_EINVAL);
    assert_int_equal(mnemo_strbuf_append(NULL, "x", 1), MNEMO_EINVAL);
    assert_int_equal(mnemo_strbuf_puts(&sb, NULL), MNEMO_EINVAL);
    assert_null(sb.data);
    assert_int_equal(mnemo_strbuf_append(&sb, NULL, 0), 0);
    assert_string_equal(mnemo_strbuf_str(&sb), "");
    assert_string_equal(mnemo_strbuf_str(NULL), "");
    assert_null(mnemo_strbuf_detach(NULL));
    mnemo_strbuf_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strbuf_starts_empty_and_reads_as_empty_string),
        cmocka_unit_test(test_strbuf_zero_max_means_the_default_ceiling),
        cmocka_unit_test(test_strbuf_append_keeps_contents_nul_terminated),
        cmocka_unit_test(test_strbuf_refuses_growth_past_max_and_keeps_contents),
        cmocka_unit_test(test_strbuf_appendf_formats_and_grows),
        cmocka_unit_test(test_strbuf_appendf_past_max_fails_and_keeps_contents),
        cmocka_unit_test(test_strbuf_grows_geometrically),
        cmocka_unit_test(test_strbuf_detach_hands_over_data_and_leaves_buffer_empty),
        cmocka_unit_test(test_strbuf_reset_empties_but_keeps_storage),
        cmocka_unit_test(test_strbuf_release_frees_and_allows_reuse),
        cmocka_unit_test(test_strbuf_append_of_its_own_contents_survives_growth),
        cmocka_unit_test(test_strbuf_rejects_null_arguments),
    };
    return cmocka_run_group_tests_name("util_strbuf", tests, NULL, NULL);
}
