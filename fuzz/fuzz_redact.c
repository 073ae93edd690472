/*
 * fuzz_redact.c - libFuzzer target: the privacy pipeline (memory/privacy.h) with the built-in
 * rules: UTF-8 repair, <private>/system-tag stripping and PCRE2 redaction, as mnemo_privacy_clean
 * runs it on everything before it is stored, and mnemo_privacy_redact alone as the log path
 * uses it.
 *
 * Input: the text. Proves: no crash, leak or undefined behaviour; the output is what the header
 * promises (valid UTF-8, no NUL, len = strlen; unchanged when nothing was redacted).
 * Cannot prove: that every secret is found (the rule tests in tests/data/privacy do that).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/privacy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mnemo_privacy *g_priv;

static void free_priv(void)
{
    mnemo_privacy_free(g_priv);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct mnemo_err err = {0};
    (void)argc, (void)argv;
    if (mnemo_privacy_new(&g_priv, &err) != 0) {
        fprintf(stderr, "fuzz_redact: %s\n", err.msg);
        abort();
    }
    atexit(free_priv);
    return 0;
}

/* Aborts unless s[0..len) is NUL-free valid UTF-8 (the repair step must have made it so). */
static void check_text(const char *what, const char *s, size_t len)
{
    char *fixed = NULL;
    bool repaired = false;
    struct mnemo_err err = {0};
    if (s == NULL || strlen(s) != len) {
        fprintf(stderr, "%s: length %zu does not match the text\n", what, len);
        abort();
    }
    if (mnemo_privacy_utf8_repair(s, len, &fixed, NULL, &repaired, &err) != 0 || repaired) {
        fprintf(stderr, "%s: output is not valid UTF-8 (%s)\n", what, err.msg);
        abort();
    }
    free(fixed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mnemo_privacy_result res;
    struct mnemo_err err = {0};
    const char *in = (const char *)data;

    int rc = mnemo_privacy_clean(g_priv, in, size, &res, &err);
    if (rc == 0) {
        check_text("clean", res.text, res.len);
        mnemo_privacy_result_release(&res);
    } else if (rc != MNEMO_EINTERNAL && rc != MNEMO_ETOOBIG) {
        fprintf(stderr, "clean failed: %d %s\n", rc, err.msg);
        abort();
    }

    char *out = NULL;
    size_t out_len = 0;
    unsigned n = 0;
    rc = mnemo_privacy_redact(g_priv, in, size, &out, &out_len, &n, &err);
    if (rc == 0) {
        check_text("redact", out, out_len);
        /* Nothing redacted in text that needed no repair: the text comes back unchanged. */
        char *fixed = NULL;
        bool repaired = true;
        if (n == 0 && mnemo_privacy_utf8_repair(in, size, &fixed, NULL, &repaired, &err) == 0 &&
            !repaired && (out_len != size || memcmp(out, in, size) != 0)) {
            fprintf(stderr, "redact changed the text without redacting anything\n");
            abort();
        }
        free(fixed);
        free(out);
    } else if (rc != MNEMO_EINTERNAL && rc != MNEMO_ETOOBIG) {
        fprintf(stderr, "redact failed: %d %s\n", rc, err.msg);
        abort();
    }
    return 0;
}
