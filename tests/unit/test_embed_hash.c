/*
 * test_embed_hash.c - the built-in hash embedder and the provider-independent interface.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embed/embed.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/err.h"

#define DIM MNEMO_EMBED_HASH_DIM

/* See test_embed_hash_is_deterministic_across_instances. */
#define PINNED_CHECKSUM (-47.874458)

static struct mnemo_embedder *open_hash(void)
{
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};

    mnemo_embed_config_init(&cfg);
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_non_null(e);
    return e;
}

static void embed1(struct mnemo_embedder *e, const char *text, float *v)
{
    struct mnemo_err err = {0};

    assert_int_equal(mnemo_embed_text(e, text, v, 0, &err), 0);
}

/* |v|^2; the test avoids sqrt so it needs no libm. |v| = 1 +- 1e-5 <=> |v|^2 = 1 +- 2e-5. */
static double norm2(const float *v, int dim)
{
    double s = 0.0;

    for (int i = 0; i < dim; i++)
        s += (double)v[i] * v[i];
    return s;
}

static void assert_unit_and_finite(const float *v, int dim)
{
    for (int i = 0; i < dim; i++)
        assert_true(isfinite(v[i]));
    assert_true(fabs(norm2(v, dim) - 1.0) < 2e-5);
}

/* Cosine of two texts under e. */
static float sim(struct mnemo_embedder *e, const char *a, const char *b)
{
    float va[DIM], vb[DIM];

    embed1(e, a, va);
    embed1(e, b, vb);
    return mnemo_embed_dot(va, vb, DIM);
}

static void test_embed_hash_defaults_are_hash_384_with_model_id(void **state)
{
    struct mnemo_embedder *e = open_hash();

    (void)state;
    assert_true(mnemo_embed_enabled(e));
    assert_int_equal(mnemo_embed_dim(e), 384);
    assert_string_equal(mnemo_embed_model_id(e), "hash-v1-384");
    mnemo_embed_close(e);
}

static void test_embed_hash_is_deterministic_across_instances(void **state)
{
    struct mnemo_embedder *a = open_hash(), *b = open_hash();
    const char *texts[] = {"fix sqlite WAL checkpoint starvation", "getUserName() returned null",
                           "Café ÅNGSTRÖM naïve", ""};
    float va[4 * DIM], vb[4 * DIM], vc[DIM];
    struct mnemo_err err = {0};

    (void)state;
    assert_int_equal(mnemo_embed_texts(a, texts, 4, va, 0, &err), 0);
    assert_int_equal(mnemo_embed_texts(b, texts, 4, vb, 0, &err), 0);
    assert_memory_equal(va, vb, sizeof(va));
    /* One at a time gives the same bits as in a batch. */
    embed1(a, texts[1], vc);
    assert_memory_equal(vc, va + DIM, sizeof(vc));
    /* Pin the scheme: a change of features or weights without bumping the model id would
     * make stored vectors silently stop matching new ones. The checksum weights each
     * component by its position, so any moved or re-signed feature changes it. */
    double sum = 0.0;
    for (int i = 0; i < DIM; i++)
        sum += (double)va[i] * (double)(i + 1);
    print_message("  checksum %.6f\n", sum);
    assert_true(fabs(sum - PINNED_CHECKSUM) < 1e-3);
    mnemo_embed_close(a);
    mnemo_embed_close(b);
}

static void test_embed_hash_vectors_have_unit_norm(void **state)
{
    struct mnemo_embedder *e = open_hash();
    const char *texts[] = {"a b c d e f g",
                           "x",
                           "the quick brown fox jumps over the lazy dog",
                           "getUserName",
                           "日本語のテキスト",
                           "1 2 3 4 5 6",
                           "Ｆｕｌｌｗｉｄｔｈ"};
    float v[DIM];

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        embed1(e, texts[i], v);
        assert_unit_and_finite(v, DIM);
    }
    mnemo_embed_close(e);
}

static void test_embed_hash_related_texts_score_higher_than_unrelated(void **state)
{
    struct mnemo_embedder *e = open_hash();
    /* {anchor, related, unrelated} */
    const char *triples[][3] = {
        {"fix sqlite WAL checkpoint starvation", "WAL checkpoint starved by reader",
         "css button color"},
        {"hook times out waiting for the worker", "worker timeout in user prompt hook",
         "add dark mode toggle to settings page"},
        {"redact AWS secret keys before storing", "secret key redaction for AWS credentials",
         "render markdown tables in the dashboard"},
        {"parse JSON config file", "config file JSON parsing failed",
         "memory leak in vector index"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(triples) / sizeof(triples[0]); i++) {
        float rel = sim(e, triples[i][0], triples[i][1]);
        float unrel = sim(e, triples[i][0], triples[i][2]);

        print_message("  '%s': related %.3f unrelated %.3f\n", triples[i][0], rel, unrel);
        assert_true(rel > unrel + 0.2f);
        assert_true(rel > 0.25f);
        assert_true(fabsf(unrel) < 0.2f);
    }
    mnemo_embed_close(e);
}

static void test_embed_hash_normalizes_case_accents_and_width(void **state)
{
    struct mnemo_embedder *e = open_hash();

    (void)state;
    /* Same words after case folding, accent stripping and compatibility mapping. */
    assert_true(sim(e, "Café", "cafe") > 0.999f);
    assert_true(sim(e, "NAÏVE RÉSUMÉ", "naive resume") > 0.999f);
    assert_true(sim(e, "ＳＱＬＩＴＥ", "sqlite") > 0.999f);
    /* Fullwidth keeps case, so the same sub-word split applies as in ASCII. */
    assert_true(sim(e, "ＳＱＬｉｔｅ", "SQLite") > 0.999f);
    assert_true(sim(e, "ﬁle", "file") > 0.999f);
    assert_true(sim(e, "Straße", "STRASSE") > 0.999f);
    /* And distinct words stay distinct. */
    assert_true(sim(e, "cafe", "coffee") < 0.5f);
    mnemo_embed_close(e);
}

static void test_embed_hash_splits_camel_and_snake_case(void **state)
{
    struct mnemo_embedder *e = open_hash();
    float camel = sim(e, "getUserName", "user name");
    float snake = sim(e, "get_user_name", "user name");
    float unrelated = sim(e, "getUserName", "render table");
    float acronym = sim(e, "HTTPServerError", "http server error");

    (void)state;
    print_message("  camel %.3f snake %.3f acronym %.3f unrelated %.3f\n", camel, snake, acronym,
                  unrelated);
    assert_true(camel > 0.5f);
    assert_true(snake > 0.5f);
    assert_true(acronym > 0.5f);
    assert_true(unrelated < 0.2f);
    /* The whole identifier is a feature too, so the folded spelling still matches. */
    assert_true(sim(e, "getUserName", "getusername") > 0.3f);
    mnemo_embed_close(e);
}

static void test_embed_hash_featureless_text_gets_fixed_unit_vector(void **state)
{
    struct mnemo_embedder *e = open_hash();
    const char *empties[] = {"", "   \t\n  ", "🎉🚀✨", "the and of to is", "!!! ??? ..."};
    float v0[DIM], v[DIM], real[DIM];

    (void)state;
    embed1(e, empties[0], v0);
    assert_unit_and_finite(v0, DIM);
    for (size_t i = 1; i < sizeof(empties) / sizeof(empties[0]); i++) {
        embed1(e, empties[i], v);
        assert_memory_equal(v, v0, sizeof(v));
    }
    /* Its cosine with a real text is defined and small, never NaN. */
    embed1(e, "checkpoint starvation", real);
    float c = mnemo_embed_dot(v0, real, DIM);
    assert_true(isfinite(c));
    assert_true(fabsf(c) < 0.3f);
    mnemo_embed_close(e);
}

static void test_embed_hash_invalid_utf8_is_handled(void **state)
{
    struct mnemo_embedder *e = open_hash();
    const char *bad[] = {"abc\xff\xfe def",
                         "\xc3",
                         "\xe2\x82",
                         "ok \xed\xa0\x80 surrogate",
                         "\xf4\x90\x80\x80 beyond",
                         "\xc0\xaf overlong"};
    float v[DIM];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        embed1(e, bad[i], v);
        assert_unit_and_finite(v, DIM);
    }
    /* Invalid bytes separate words: the words around them still count. */
    assert_true(sim(e, "abc\xff\xfe def", "abc def") > 0.99f);
    mnemo_embed_close(e);
}

static void test_embed_hash_very_long_input_is_bounded(void **state)
{
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    size_t len = 1024 * 1024;
    char *big = malloc(len + 1);
    float v[DIM];
    int64_t t0;

    (void)state;
    /* The largest text limit, so the whole megabyte goes through the tokenizer. */
    mnemo_embed_config_init(&cfg);
    cfg.max_text_bytes = MNEMO_EMBED_MAX_TEXT_BYTES_LIMIT;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_non_null(big);
    for (size_t i = 0; i < len; i++)
        big[i] = "abcdefghij klmnopqrst uvwxyz0123 "[i % 33];
    big[len] = '\0';
    t0 = tu_now_ms();
    embed1(e, big, v);
    assert_unit_and_finite(v, DIM);
    /* One long token without separators exercises the per-token cap. */
    memset(big, 'x', len);
    embed1(e, big, v);
    assert_unit_and_finite(v, DIM);
    print_message("  two 1 MiB texts embedded in %lld ms\n", (long long)(tu_now_ms() - t0));
    assert_true(tu_now_ms() - t0 < 5000);
    free(big);
    mnemo_embed_close(e);
}

/* FNV-1a over the vector's float bit patterns (as integers, so byte order does not matter). */
static uint64_t vector_fingerprint(const float *v, int n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (int i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        h ^= bits;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* Stored vectors carry the model id "hash-v1-384": the same text must give the same bits in
 * every release, or old and new vectors would silently disagree. These fingerprints were
 * computed by the first implementation (before the ASCII fast path); any change to the
 * features, weights, normalization or summation order shows up here and needs a new id. */
static void test_embed_hash_vectors_are_bit_identical_to_model_v1(void **state)
{
    static const struct {
        const char *text;
        uint64_t fingerprint;
    } golden[] = {
        {"Fix the walCheckpoint starvation in store/checkpoint.c: a pooled reader kept a "
         "statement stepped, so TRUNCATE never ran; reset statements on release. HTTPServer "
         "getUserName __init__ utf8Decode x86_64 the and of",
         UINT64_C(0x93087d1bd7f04cca)},
        {"Caf\u00e9 na\u00efve \ufb01le \uff26\uff49\uff4c\uff45 Stra\u00dfe "
         "\u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3 \u041f\u0440\u0438\u0432\u0435\u0442 "
         "\u043c\u0438\u0440 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 "
         "\u0939\u093f\u0928\u094d\u0926\u0940 emoji \U0001F389 done",
         UINT64_C(0xb94508949894a501)},
        {"", UINT64_C(0xe4494cbdcba3fb25)},
    };
    struct mnemo_embedder *e = open_hash();
    float v[DIM];

    (void)state;
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        embed1(e, golden[i].text, v);
        if (vector_fingerprint(v, DIM) != golden[i].fingerprint)
            fail_msg("text %zu: fingerprint 0x%016llx, model v1 gives 0x%016llx", i,
                     (unsigned long long)vector_fingerprint(v, DIM),
                     (unsigned long long)golden[i].fingerprint);
    }
    mnemo_embed_close(e);
}

static void test_embed_hash_throughput_meets_target(void **state)
{
    struct mnemo_embedder *e = open_hash();
    const char *texts[] = {
        "fix sqlite WAL checkpoint starvation under a long reader",
        "getUserName returns null when the session expired",
        "hook output must be valid JSON for Claude Code",
        "use BEGIN IMMEDIATE for every write transaction",
    };
    float v[DIM];
    int n = 20000;
    int64_t t0 = mnemo_clock_mono_ns(), el;
    double rate;

    (void)state;
    for (int i = 0; i < n; i++)
        embed1(e, texts[i % 4], v);
    el = mnemo_clock_mono_ns() - t0;
    rate = (double)n / ((double)el / 1e9);
    print_message("  hash embedder: %.0f short texts/s single-threaded\n", rate);
    /* The target (20k/s) is for optimised builds; sanitizers slow code down by ~10x. */
#if defined(__SANITIZE_ADDRESS__)
    assert_true(rate > 1000.0);
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    assert_true(rate > 1000.0);
#else
    assert_true(rate > 20000.0);
#endif
#else
    assert_true(rate > 20000.0);
#endif
    mnemo_embed_close(e);
}

/* The worker and the CLI build their embedder from config.json's embed.* keys through one call. */
static void test_embed_open_config_follows_the_embed_keys(void **state)
{
    struct mnemo_config *c = NULL;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};

    (void)state;
    unsetenv("MNEMO_EMBED_PROVIDER");
    unsetenv("MNEMO_EMBED_DIM");
    assert_int_equal(mnemo_config_defaults(&c, &err), 0);
    assert_int_equal(mnemo_embed_open_config(c, NULL, &e, &err), 0);
    assert_true(mnemo_embed_enabled(e));
    assert_int_equal(mnemo_embed_dim(e), DIM);
    mnemo_embed_close(e);
    mnemo_config_free(c);

    setenv("MNEMO_EMBED_PROVIDER", "none", 1);
    assert_int_equal(mnemo_config_defaults(&c, &err), 0);
    assert_int_equal(mnemo_embed_open_config(c, NULL, &e, &err), 0);
    assert_false(mnemo_embed_enabled(e));
    mnemo_embed_close(e);
    mnemo_config_free(c);

    /* A dimension the hash embedder does not have is refused, naming it. */
    setenv("MNEMO_EMBED_PROVIDER", "hash", 1);
    setenv("MNEMO_EMBED_DIM", "7", 1);
    assert_int_equal(mnemo_config_defaults(&c, &err), 0);
    e = NULL;
    assert_int_not_equal(mnemo_embed_open_config(c, NULL, &e, &err), 0);
    assert_null(e);
    mnemo_config_free(c);
    unsetenv("MNEMO_EMBED_PROVIDER");
    unsetenv("MNEMO_EMBED_DIM");
}

static void test_embed_config_parses_provider_names(void **state)
{
    enum mnemo_embed_provider p;
    enum mnemo_embed_api a;
    struct mnemo_err err = {0};

    (void)state;
    assert_int_equal(mnemo_embed_provider_parse("hash", &p, &err), 0);
    assert_int_equal(p, MNEMO_EMBED_HASH);
    assert_int_equal(mnemo_embed_provider_parse("HTTP", &p, &err), 0);
    assert_int_equal(p, MNEMO_EMBED_HTTP);
    assert_int_equal(mnemo_embed_provider_parse("none", &p, &err), 0);
    assert_int_equal(p, MNEMO_EMBED_NONE);
    assert_int_equal(mnemo_embed_provider_parse("onnx", &p, &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "onnx"));
    assert_int_equal(mnemo_embed_provider_parse(NULL, &p, &err), MNEMO_EINVAL);
    assert_string_equal(mnemo_embed_provider_name(MNEMO_EMBED_HTTP), "http");
    assert_int_equal(mnemo_embed_api_parse("ollama", &a, &err), 0);
    assert_int_equal(a, MNEMO_EMBED_API_OLLAMA);
    assert_int_equal(mnemo_embed_api_parse("cohere", &a, &err), MNEMO_EINVAL);
}

static void test_embed_config_set_parses_keys_and_rejects_bad_values(void **state)
{
    struct mnemo_embed_config cfg;
    struct mnemo_err err = {0};

    (void)state;
    mnemo_embed_config_init(&cfg);
    assert_int_equal(mnemo_embed_config_set(&cfg, "provider", "http", &err), 0);
    assert_int_equal(cfg.provider, MNEMO_EMBED_HTTP);
    assert_int_equal(mnemo_embed_config_set(&cfg, "api", "ollama", &err), 0);
    assert_int_equal(cfg.api, MNEMO_EMBED_API_OLLAMA);
    assert_int_equal(mnemo_embed_config_set(&cfg, "base_url", "http://127.0.0.1:11434", &err), 0);
    assert_string_equal(cfg.base_url, "http://127.0.0.1:11434");
    assert_int_equal(mnemo_embed_config_set(&cfg, "batch_size", "8", &err), 0);
    assert_int_equal(cfg.batch_size, 8);
    assert_int_equal(mnemo_embed_config_set(&cfg, "timeout_ms", "1500", &err), 0);
    assert_int_equal(cfg.timeout_ms, 1500);
    assert_int_equal(mnemo_embed_config_set(&cfg, "max_response_bytes", "4096", &err), 0);
    assert_int_equal(cfg.max_response_bytes, 4096);
    assert_int_equal(mnemo_embed_config_set(&cfg, "batch_size", "8x", &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "batch_size"));
    assert_int_equal(mnemo_embed_config_set(&cfg, "batch_size", "0", &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_embed_config_set(&cfg, "max_retries", "", &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_embed_config_set(&cfg, "dim", "99999999999999999999", &err),
                     MNEMO_EINVAL);
    assert_int_equal(mnemo_embed_config_set(&cfg, "colour", "red", &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "colour"));
    /* Untouched by the failures above. */
    assert_int_equal(cfg.batch_size, 8);
}

static void test_embed_none_provider_is_disabled(void **state)
{
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    float v[4];

    (void)state;
    mnemo_embed_config_init(&cfg);
    cfg.provider = MNEMO_EMBED_NONE;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_false(mnemo_embed_enabled(e));
    assert_int_equal(mnemo_embed_dim(e), 0);
    assert_string_equal(mnemo_embed_model_id(e), "none");
    assert_int_equal(mnemo_embed_text(e, "x", v, 0, &err), MNEMO_EINVAL);
    assert_string_equal(err.msg, "embeddings disabled (provider none)");
    mnemo_embed_close(e);
}

static void test_embed_rejects_bad_config_and_arguments(void **state)
{
    struct mnemo_embed_config cfg;
    struct mnemo_embedder *e = NULL;
    struct mnemo_err err = {0};
    const char *texts[] = {"ok", NULL};
    float v[2 * 64];

    (void)state;
    mnemo_embed_config_init(&cfg);
    cfg.dim = 3;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), MNEMO_EINVAL);
    assert_null(e);
    assert_non_null(strstr(err.msg, "dim"));
    cfg.dim = 64;
    assert_int_equal(mnemo_embed_open(&cfg, &e, &err), 0);
    assert_string_equal(mnemo_embed_model_id(e), "hash-v1-64");
    assert_int_equal(mnemo_embed_texts(e, texts, 2, v, 0, &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "NULL"));
    assert_int_equal(mnemo_embed_texts(e, texts, 1, NULL, 0, &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_embed_texts(e, texts, 0, v, 0, &err), 0);
    /* A deadline already past fails before any work. */
    assert_int_equal(mnemo_embed_texts(e, texts, 1, v, 1, &err), MNEMO_ETIMEDOUT);
    mnemo_embed_close(e);
    mnemo_embed_close(NULL);
}

static void test_embed_normalize_rejects_zero_and_nan(void **state)
{
    float z[4] = {0, 0, 0, 0}, n[4] = {1, NAN, 0, 0}, ok[4] = {3, 4, 0, 0};

    (void)state;
    assert_int_equal(mnemo_embed_normalize(z, 4), MNEMO_EINVAL);
    assert_int_equal(mnemo_embed_normalize(n, 4), MNEMO_EINVAL);
    assert_int_equal(mnemo_embed_normalize(ok, 4), 0);
    assert_true(fabsf(ok[0] - 0.6f) < 1e-6f && fabsf(ok[1] - 0.8f) < 1e-6f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_hash_defaults_are_hash_384_with_model_id),
        cmocka_unit_test(test_embed_hash_is_deterministic_across_instances),
        cmocka_unit_test(test_embed_hash_vectors_have_unit_norm),
        cmocka_unit_test(test_embed_hash_vectors_are_bit_identical_to_model_v1),
        cmocka_unit_test(test_embed_hash_related_texts_score_higher_than_unrelated),
        cmocka_unit_test(test_embed_hash_normalizes_case_accents_and_width),
        cmocka_unit_test(test_embed_hash_splits_camel_and_snake_case),
        cmocka_unit_test(test_embed_hash_featureless_text_gets_fixed_unit_vector),
        cmocka_unit_test(test_embed_hash_invalid_utf8_is_handled),
        cmocka_unit_test(test_embed_hash_very_long_input_is_bounded),
        cmocka_unit_test(test_embed_hash_throughput_meets_target),
        cmocka_unit_test(test_embed_open_config_follows_the_embed_keys),
        cmocka_unit_test(test_embed_config_parses_provider_names),
        cmocka_unit_test(test_embed_config_set_parses_keys_and_rejects_bad_values),
        cmocka_unit_test(test_embed_none_provider_is_disabled),
        cmocka_unit_test(test_embed_rejects_bad_config_and_arguments),
        cmocka_unit_test(test_embed_normalize_rejects_zero_and_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
