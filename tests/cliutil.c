/*
 * cliutil.c - see cliutil.h.
 */
#include "cliutil.h"

struct cu_result cu_run_va(char *const *env, const char *in, va_list ap)
{
    char *argv[CU_MAX_ARGS + 2];
    struct cu_result r;
    int n = 0;

    argv[n++] = (char *)tu_mnemo_bin();
    for (;;) {
        const char *arg = va_arg(ap, const char *);
        if (arg == NULL)
            break;
        assert_true(n <= CU_MAX_ARGS);
        argv[n++] = (char *)arg;
    }
    argv[n] = NULL;
    r.status = tu_run(argv, env, in, &r.out, &r.err);
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

void cu_result_free(struct cu_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void cu_expect_status(const struct cu_result *r, int want)
{
    if (r->status != want)
        fail_msg("exit status %d, expected %d\n--- stdout:\n%s--- stderr:\n%s", r->status, want,
                 r->out, r->err);
}

void cu_expect_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("expected to find '%s' in:\n%s", needle, haystack);
}

void cu_expect_lacks(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) != NULL)
        fail_msg("did not expect '%s' in:\n%s", needle, haystack);
}
