/*
 * test_memory_privacy_threads.c - one redactor shared by eight threads: every thread gets
 * exactly the output a single thread gets, with no data race (this file also runs under TSan,
 * label "concurrency").
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>

#include "memory/privacy.h"

#define THREADS    8
#define ITERATIONS 200

/* Inputs mixing every stage: secrets of several kinds, private blocks, system tags, bad UTF-8. */
static const char *const inputs[] = {
    "export AWS_ACCESS_KEY_ID=AKIAFAKE1234567890AB\nand a note <private>hidden</private> here",
    "Authorization: Bearer FAKEx9Zq2LmT8vPwRk4Nc7YhQ3sD\npassword = \"changeme\"",
    "<system-reminder id=\"7\">ghp_FAKE0123456789abcdefghijklmnopqrstuv</system-reminder>tail",
    "postgres://app:Fk9Zq2LmT8vPw@db.example.com:5432/app \xff\xfe broken bytes",
    "{\"client_secret\": \"Zx8Qw2Lm7Np4Tr6Vb3\", \"user\": \"dev\"}\n\n\n\nsk-ant-api03-FAKEabcdefghijklmnopqrstuvwxyz0123456789AA",
    "def f(token=None):\n    token = get_token()\n    return token\n",
    "-----BEGIN RSA PRIVATE KEY-----\nFAKEMIIEowIBAAKCAQEAx\nabc\n-----END RSA PRIVATE KEY-----\nafter",
    "<private>all of it</private>",
};
#define N_INPUTS (sizeof inputs / sizeof inputs[0])

struct shared {
    struct mnemo_privacy *p;
    char *expected[N_INPUTS];
    atomic_int mismatches;
    atomic_int errors;
};

static void *worker(void *arg)
{
    struct shared *s = arg;
    for (int it = 0; it < ITERATIONS; it++) {
        for (size_t i = 0; i < N_INPUTS; i++) {
            struct mnemo_privacy_result res;
            struct mnemo_err err = {0};
            if (mnemo_privacy_clean(s->p, inputs[i], strlen(inputs[i]), &res, &err) != 0) {
                atomic_fetch_add(&s->errors, 1);
                continue;
            }
            if (strcmp(res.text, s->expected[i]) != 0)
                atomic_fetch_add(&s->mismatches, 1);
            mnemo_privacy_result_release(&res);
        }
    }
    return NULL;
}

static void test_memory_privacy_threads_share_one_redactor(void **state)
{
    (void)state;
    struct shared s = {0};
    struct mnemo_err err = {0};
    assert_int_equal(mnemo_privacy_new(&s.p, &err), 0);
    for (size_t i = 0; i < N_INPUTS; i++) {
        struct mnemo_privacy_result res;
        assert_int_equal(mnemo_privacy_clean(s.p, inputs[i], strlen(inputs[i]), &res, &err), 0);
        s.expected[i] = res.text;
    }
    /* The reference outputs really are redacted, so agreement below means something. */
    assert_non_null(strstr(s.expected[0], "[REDACTED:aws_access_key]"));
    assert_null(strstr(s.expected[2], "ghp_"));
    assert_string_equal(s.expected[7], "");

    pthread_t tids[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&tids[t], NULL, worker, &s), 0);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(tids[t], NULL), 0);
    assert_int_equal(atomic_load(&s.errors), 0);
    assert_int_equal(atomic_load(&s.mismatches), 0);
    for (size_t i = 0; i < N_INPUTS; i++)
        free(s.expected[i]);
    mnemo_privacy_free(s.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_privacy_threads_share_one_redactor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
