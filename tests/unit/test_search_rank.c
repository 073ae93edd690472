/*
 * test_search_rank.c - mnemo's keyword ranking (search/rank.h): mnemo_bm25 with exact
 * document frequencies gives FTS5's bm25 to rounding, and a search whose matches exceed the rank
 * window ranks with window IDFs: rare words still beat common ones, and the results are the ones a
 * full ranking finds.
 */
#include "memutil.h"

#include <math.h>

#include "memory/obs.h"
#include "search/fts_query.h"
#include "search/hybrid.h"
#include "search/rank.h"
#include "util/clock.h"

static const char *const words[] = {"wal", "checkpoint", "reader", "pool", "lexer", "budget"};

/* Imports n observations; row i mentions words by a fixed pattern so frequencies differ. */
static void fill(struct mnemo_store *st, int n, const char *project)
{
    struct mnemo_obs *rows = calloc((size_t)n, sizeof *rows);
    char(*titles)[96] = calloc((size_t)n, sizeof *titles);
    char(*narr)[256] = calloc((size_t)n, sizeof *narr);
    assert_non_null(rows);
    assert_non_null(titles);
    assert_non_null(narr);
    for (int i = 0; i < n; i++) {
        mnemo_obs_init(&rows[i]);
        rows[i].project = (char *)project;
        snprintf(rows[i].type, sizeof rows[i].type, "discovery");
        snprintf(titles[i], sizeof titles[i], "Note %d about %s and %s", i, words[i % 6],
                 words[(i / 6) % 6]);
        snprintf(narr[i], sizeof narr[i], "The %s %s %s matters here (row %d).", words[i % 3],
                 words[i % 5], i % 97 == 0 ? "zyxrare" : "common", i);
        rows[i].title = titles[i];
        rows[i].narrative = narr[i];
    }
    struct mnemo_obs_import_result r;
    struct mnemo_err e = {0};
    for (int i = 0; i < n; i += MNEMO_OBS_LIST_MAX) {
        int m = n - i < MNEMO_OBS_LIST_MAX ? n - i : MNEMO_OBS_LIST_MAX;
        if (mnemo_obs_import(st, rows + i, (size_t)m, &r, &e) != 0)
            fail_msg("import: %s", e.msg);
        assert_int_equal(r.imported, m);
    }
    free(rows);
    free(titles);
    free(narr);
}

static int64_t count(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (arg != NULL)
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_rank_bm25_with_exact_frequencies_equals_fts5_bm25(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_conn *conn = NULL;
    struct mnemo_err e = {0};
    fill(f->st, 400, "p");
    assert_int_equal(mnemo_store_acquire(f->st, "test", mnemo_deadline_in_ms(5000), &conn, &e), 0);
    sqlite3 *db = mnemo_conn_db(conn);
    assert_int_equal(mnemo_rank_register(db, &e), 0);

    static const char *const phrases[] = {"\"wal\"", "\"zyxrare\"", "\"budget\"", "\"lex\"*"};
    const char *match = "\"wal\" OR \"zyxrare\" OR \"budget\" OR \"lex\"*";
    int64_t n = count(db, "SELECT count(*) FROM observations", NULL);
    double idf[4];
    for (int i = 0; i < 4; i++)
        idf[i] = mnemo_rank_idf(n, count(db,
                                         "SELECT count(*) FROM observations_fts WHERE "
                                         "observations_fts MATCH ?1",
                                         phrases[i]));
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT rowid, bm25(observations_fts, 10.0, 4.0, 1.0, 5.0, 5.0), "
                           "mnemo_bm25(observations_fts, ?2, 10.0, 4.0, 1.0, 5.0, 5.0) "
                           "FROM observations_fts WHERE observations_fts MATCH ?1",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, match, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, idf, (int)sizeof idf, SQLITE_STATIC);
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        double a = sqlite3_column_double(st, 1), b = sqlite3_column_double(st, 2);
        if (fabs(a - b) > 1e-9 * fabs(a) + 1e-12)
            fail_msg("row %lld: bm25 %.12g, mnemo_bm25 %.12g", sqlite3_column_int64(st, 0), a, b);
        rows++;
    }
    sqlite3_finalize(st);
    assert_true(rows > 100);

    /* A wrong IDF blob is an error, not a wrong score. */
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT mnemo_bm25(observations_fts, x'00') FROM "
                                        "observations_fts WHERE observations_fts MATCH 'wal'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ERROR);
    sqlite3_finalize(st);
    mnemo_store_release(conn);
}

/* More matches than the rank window: the window ranking runs and still puts the rows with the
 * rare word first, the same rows a full ranking would. */
static void test_rank_window_ranking_keeps_rare_words_on_top(void **state)
{
    struct mu_fixture *f = *state;
    struct mnemo_err e = {0};
    fill(f->st, MNEMO_SEARCH_FTS_RANK_CAP + 600, "p");
    struct mnemo_search_results r;
    struct mnemo_fusion_params fp;
    mnemo_fusion_params_init(&fp);
    fp.threshold = 0;
    fp.jaccard = 2; /* no clustering: compare the raw ranking */
    fp.limit = 5;
    assert_int_equal(
        mnemo_search_hybrid(f->st, NULL, NULL, "p", "common zyxrare", 5, 0, 0, &fp, &r, &e), 0);
    assert_true(r.n >= 5);
    for (size_t i = 0; i < 5; i++)
        assert_non_null(strstr(r.items[i].obs.narrative, "zyxrare"));
    mnemo_search_results_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rank_bm25_with_exact_frequencies_equals_fts5_bm25,
                                        mu_setup, mu_teardown),
        cmocka_unit_test_setup_teardown(test_rank_window_ranking_keeps_rare_words_on_top, mu_setup,
                                        mu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
