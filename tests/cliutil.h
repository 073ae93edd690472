/*
 * cliutil.h - helpers for process-level tests that drive the real mnemo binary: run it with an
 * environment and optional stdin, keep both output streams, and assert on them.
 * Thread-safety: for the test's main thread.
 */
#ifndef MNEMO_CLIUTIL_H
#define MNEMO_CLIUTIL_H

#include "testutil.h"

/* Most arguments one run takes. */
#define CU_MAX_ARGS 32

/* The outcome of one run; out and err are malloc'd, freed by cu_result_free. */
struct cu_result {
    int status;
    char *out;
    char *err;
};

/* Runs tu_mnemo_bin() with env ("K=V" strings, NULL-terminated), stdin text in (may be NULL)
 * and the NULL-terminated string arguments in ap. */
struct cu_result cu_run_va(char *const *env, const char *in, va_list ap);

/* Frees both outputs. */
void cu_result_free(struct cu_result *r);

/* Fails the test, showing both streams, unless the exit status is want. */
void cu_expect_status(const struct cu_result *r, int want);

/* Fails the test unless haystack contains needle (or, for cu_expect_lacks, does not). */
void cu_expect_contains(const char *haystack, const char *needle);
void cu_expect_lacks(const char *haystack, const char *needle);

#endif
