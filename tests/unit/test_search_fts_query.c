/*
 * test_search_fts_query.c - the FTS query builder keeps user text as data: every query it
 * builds is accepted by a real FTS5 table and matches the literal words typed.
 */
#include "testutil.h"

#include <sqlite3.h>

#include "search/fts_query.h"

struct fx {
    struct tu_dir dir;
    sqlite3 *db;
};

/* A real FTS5 table shaped like mnemo's observations_fts, in a temp database file. */
static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char path[320];
    assert_non_null(f);
    tu_dir_make(&f->dir);
    assert_int_equal(sqlite3_open(tu_path(&f->dir, "fts.db", path, sizeof(path)), &f->db),
                     SQLITE_OK);
    const char *sql =
        "CREATE VIRTUAL TABLE observations_fts USING fts5(title, subtitle, narrative, facts, "
        "concepts, tokenize='porter unicode61 remove_diacritics 2');"
        "INSERT INTO observations_fts(rowid, title, subtitle, narrative, facts, concepts) VALUES"
        "(1, 'near the quote parser', '', 'the parser handles column filters', '[]', '[]'),"
        "(2, 'unrelated', '', 'an orange cat sleeps', '[]', '[]'),"
        "(3, 'title handling', '', 'foo bar baz', '[\"and or not\"]', '[]'),"
        "(4, 'café résumé', '', 'naïve unicode über', '[]', '[]'),"
        "(5, 'checkpointing', '', 'wal truncation checkpoint', '[]', '[\"sqlite\"]'),"
        "(6, 'narrative only', '', 'mentions checkpoint once', '[]', '[]');";
    assert_int_equal(sqlite3_exec(f->db, sql, NULL, NULL, NULL), SQLITE_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sqlite3_close(f->db);
    tu_dir_remove(&f->dir);
    free(f);
    return 0;
}

/* Runs MATCH expr and returns the number of rows, failing the test on any SQLite error.
 * first (may be NULL) receives the best-ranked rowid under the bm25 weights. */
static int run_match(sqlite3 *db, const char *expr, int64_t *first)
{
    char sql[256];
    sqlite3_stmt *st = NULL;
    int n = 0, rc;
    snprintf(sql, sizeof(sql),
             "SELECT rowid FROM observations_fts WHERE observations_fts MATCH ?1 ORDER BY %s",
             mnemo_fts_bm25_expr());
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        fail_msg("prepare: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, expr, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == 0 && first != NULL)
            *first = sqlite3_column_int64(st, 0);
        n++;
    }
    if (rc != SQLITE_DONE)
        fail_msg("MATCH '%s' failed: %s", expr, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return n;
}

static char *build(const char *text)
{
    struct mnemo_strbuf sb;
    struct mnemo_err err;
    mnemo_strbuf_init(&sb, 0);
    int rc = mnemo_fts_query_build(text, strlen(text), &sb, NULL, &err);
    if (rc != 0)
        fail_msg("build '%s': %s", text, err.msg);
    return mnemo_strbuf_detach(&sb);
}

static void test_fts_query_quotes_terms_and_prefixes_last_word(void **state)
{
    char *q = build("Hello World");
    assert_string_equal(q, "\"hello\" OR \"world\"*");
    free(q);
    q = build("Hello World ");
    assert_string_equal(q, "\"hello\" OR \"world\"");
    free(q);
    /* Trailing punctuation means the word is finished. */
    q = build("parser.");
    assert_string_equal(q, "\"parser\"");
    free(q);
    /* Longer text is a sentence, not a word being typed: no prefix on its last word. */
    q = build("fix wal checkp");
    assert_string_equal(q, "\"fix\" OR \"wal\" OR \"checkp\"");
    free(q);
    /* Stop-words do not count as terms. */
    q = build("how is the wal checkp");
    assert_string_equal(q, "\"wal\" OR \"checkp\"*");
    free(q);
}

static void test_fts_query_drops_stopwords_short_tokens_and_duplicates(void **state)
{
    int n = 0;
    struct mnemo_strbuf sb;
    mnemo_strbuf_init(&sb, 0);
    const char *t = "How do I fix the x Parser parser PARSER bug ";
    assert_int_equal(mnemo_fts_query_build(t, strlen(t), &sb, &n, NULL), 0);
    assert_string_equal(mnemo_strbuf_str(&sb), "\"fix\" OR \"parser\" OR \"bug\"");
    assert_int_equal(n, 3);
    mnemo_strbuf_release(&sb);
    assert_true(mnemo_fts_is_stopword("the", 3));
    assert_false(mnemo_fts_is_stopword("parser", 6));
}

static void test_fts_query_nothing_to_search_is_enotfound(void **state)
{
    struct mnemo_strbuf sb;
    struct mnemo_err err;
    mnemo_strbuf_init(&sb, 0);
    const char *texts[] = {"", "   ", "the and of", "\"\"\"", "a b c", "()*:^-"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        assert_int_equal(mnemo_fts_query_build(texts[i], strlen(texts[i]), &sb, NULL, &err),
                         MNEMO_ENOTFOUND);
        assert_int_equal(sb.len, 0);
    }
    assert_int_equal(mnemo_fts_query_build(NULL, 0, &sb, NULL, &err), MNEMO_EINVAL);
    mnemo_strbuf_release(&sb);
}

static void test_fts_query_caps_terms(void **state)
{
    char text[2048];
    size_t off = 0;
    int n = 0;
    struct mnemo_strbuf sb;
    for (int i = 0; i < 50; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "word%02d ", i);
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_fts_query_build(text, strlen(text), &sb, &n, NULL), 0);
    assert_int_equal(n, MNEMO_FTS_MAX_TERMS);
    assert_non_null(strstr(mnemo_strbuf_str(&sb), "\"word31\""));
    assert_null(strstr(mnemo_strbuf_str(&sb), "word32"));
    mnemo_strbuf_release(&sb);
}

static void test_fts_query_cuts_long_tokens_at_utf8_boundary(void **state)
{
    char text[200];
    memset(text, 'z', 63);
    memcpy(text + 63, "\xc3\xa9tail", 6); /* é straddles byte 64 */
    text[69] = '\0';
    char *q = build(text);
    /* 63 'z', the split é removed, quotes and the prefix star. */
    assert_int_equal(strlen(q), 63 + 3);
    free(q);
}

/* Only the first MNEMO_FTS_MAX_INPUT bytes are read: a word beyond them is not searched. */
static void test_fts_query_reads_a_bounded_prefix_of_the_text(void **state)
{
    size_t len = MNEMO_FTS_MAX_INPUT + 100;
    char *text = malloc(len + 1);
    int n = 0;
    struct mnemo_strbuf sb;
    assert_non_null(text);
    memset(text, ' ', len);
    memcpy(text, "early", 5);
    memcpy(text + MNEMO_FTS_MAX_INPUT + 10, "late", 4);
    text[len] = '\0';
    mnemo_strbuf_init(&sb, 0);
    assert_int_equal(mnemo_fts_query_build(text, len, &sb, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(mnemo_strbuf_str(&sb), "\"early\"");
    mnemo_strbuf_release(&sb);
    free(text);
}

/* Every injection attempt builds a query FTS5 accepts, and the query finds the literal words. */
static void test_fts_query_injection_attempts_are_data(void **state)
{
    struct fx *f = *state;
    struct {
        const char *text;
        int64_t must_match; /* a rowid the literal words match; 0 = only check acceptance */
    } cases[] = {
        {"\"", 0},
        {"near\"", 1},
        {"NEAR(quote parser, 2)", 1},
        {"quote*", 1},
        {"* parser", 1},
        {"-orange", 2},
        {"title:foo", 3},
        {"narrative:cat", 2},
        {"^orange", 2},
        {"AND OR NOT", 0},
        {"orange AND NOT cat", 2},
        {"\"unbalanced quote parser", 1},
        {"parser\" OR \"x", 1},
        {"(orange", 2},
        {"orange)", 2},
        {"((( )))", 0},
        {"{title subtitle}: baz", 3},
        {"+ baz", 3},
        {"café", 4},
        {"über naïve", 4},
        {"checkpoint", 5},
        {"— “quoted” …", 0},
        {"'single' quote's", 1},
        {"col:\"x\" OR 1=1; DROP TABLE observations_fts; --", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mnemo_strbuf sb;
        mnemo_strbuf_init(&sb, 0);
        int rc = mnemo_fts_query_build(cases[i].text, strlen(cases[i].text), &sb, NULL, NULL);
        if (rc == MNEMO_ENOTFOUND) {
            assert_int_equal(cases[i].must_match, 0);
            mnemo_strbuf_release(&sb);
            continue;
        }
        assert_int_equal(rc, 0);
        int64_t first = 0;
        int n = run_match(f->db, mnemo_strbuf_str(&sb), &first);
        if (cases[i].must_match != 0 && n == 0)
            fail_msg("'%s' -> '%s' matched nothing", cases[i].text, mnemo_strbuf_str(&sb));
        mnemo_strbuf_release(&sb);
    }
    /* The table is intact after the DROP TABLE attempt. */
    assert_int_equal(run_match(f->db, "\"orange\"", NULL), 1);
}

/* A prefix of pure punctuation would be an empty prefix that matches every row. */
static void test_fts_query_punctuation_word_is_not_a_prefix(void **state)
{
    struct fx *f = *state;
    char *q = build("\xe2\x80\x94\xe2\x80\x94");
    assert_string_equal(q, "\"\xe2\x80\x94\xe2\x80\x94\"");
    assert_int_equal(run_match(f->db, q, NULL), 0);
    free(q);
}

static void test_fts_query_bm25_weights_title_over_narrative(void **state)
{
    struct fx *f = *state;
    int64_t first = 0;
    char *q = build("checkpoint ");
    assert_int_equal(run_match(f->db, q, &first), 2);
    /* Row 5 has the word in its title, row 6 only in its narrative. */
    assert_int_equal(first, 5);
    free(q);
    assert_string_equal(mnemo_fts_bm25_expr(), "bm25(observations_fts, 10.0, 4.0, 1.0, 5.0, 5.0)");
}

/* Random NUL-free bytes: the builder never fails with anything but ENOTFOUND, and SQLite
 * accepts every query it builds. */
static void test_fts_query_random_bytes_always_accepted(void **state)
{
    struct fx *f = *state;
    unsigned seed = 12345;
    for (int iter = 0; iter < 2000; iter++) {
        char text[64];
        size_t len = 1 + (size_t)(iter % 63);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned char c = (unsigned char)(1 + (seed >> 16) % 255);
            /* Bias towards FTS5 syntax characters. */
            if ((seed >> 8) % 3 == 0)
                c = (unsigned char)"\"*():^-+{}NEAR AND OR NOT"[(seed >> 4) % 25];
            text[i] = (char)c;
        }
        text[len] = '\0';
        struct mnemo_strbuf sb;
        mnemo_strbuf_init(&sb, 0);
        int rc = mnemo_fts_query_build(text, len, &sb, NULL, NULL);
        assert_true(rc == 0 || rc == MNEMO_ENOTFOUND);
        if (rc == 0)
            (void)run_match(f->db, mnemo_strbuf_str(&sb), NULL);
        mnemo_strbuf_release(&sb);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_query_quotes_terms_and_prefixes_last_word),
        cmocka_unit_test(test_fts_query_drops_stopwords_short_tokens_and_duplicates),
        cmocka_unit_test(test_fts_query_nothing_to_search_is_enotfound),
        cmocka_unit_test(test_fts_query_caps_terms),
        cmocka_unit_test(test_fts_query_cuts_long_tokens_at_utf8_boundary),
        cmocka_unit_test(test_fts_query_reads_a_bounded_prefix_of_the_text),
        cmocka_unit_test_setup_teardown(test_fts_query_injection_attempts_are_data, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fts_query_punctuation_word_is_not_a_prefix, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fts_query_bm25_weights_title_over_narrative, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fts_query_random_bytes_always_accepted, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
