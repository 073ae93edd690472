/*
 * fuzz_fts_query.c - libFuzzer target: the FTS query builder (search/fts_query.h), then the
 * expression it built run as a MATCH against a real FTS5 table declared like mnemo's
 * observations_fts (same columns, tokenizer and bm25 weights) in an in-memory database.
 *
 * Input: the user's search text. Proves: no crash, leak or undefined behaviour in the
 * tokenizer and builder, and that user text never becomes FTS5 syntax: any error from the
 * MATCH (a syntax error above all) aborts, because search would fail on it. Also checks the
 * builder's own bounds (term count, term length). Cannot prove: that the terms chosen give
 * good results.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "search/fts_query.h"
#include "util/strbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sqlite3 *g_db;
static sqlite3_stmt *g_match;

static void die_db(const char *what)
{
    fprintf(stderr, "fuzz_fts_query: %s: %s\n", what, g_db ? sqlite3_errmsg(g_db) : "?");
    abort();
}

static void close_db(void)
{
    sqlite3_finalize(g_match);
    sqlite3_close(g_db);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (sqlite3_open(":memory:", &g_db) != SQLITE_OK)
        die_db("open");
    if (sqlite3_exec(g_db,
                     "CREATE VIRTUAL TABLE " MNEMO_FTS_TABLE " USING fts5("
                     " title, subtitle, narrative, facts, concepts,"
                     " tokenize='porter unicode61 remove_diacritics 2');"
                     "INSERT INTO " MNEMO_FTS_TABLE " VALUES"
                     " ('build fails with ninja', 'cmake', 'the build broke after the upgrade',"
                     "  '[\"ninja 1.11\"]', '[\"gotcha\"]'),"
                     " ('Überprüfung der Daten', 'naïve café', 'résumé 東京 データ',"
                     "  '[]', '[\"how-it-works\"]'),"
                     " ('NEAR AND OR NOT', 'column:filter', 'x* ^start \"quoted\"', '[]', '[]');",
                     NULL, NULL, NULL) != SQLITE_OK)
        die_db("schema");
    if (sqlite3_prepare_v2(g_db,
                           "SELECT rowid, " MNEMO_FTS_BM25_EXPR " FROM " MNEMO_FTS_TABLE
                           " WHERE " MNEMO_FTS_TABLE " MATCH ?1 ORDER BY 2 LIMIT 10",
                           -1, &g_match, NULL) != SQLITE_OK)
        die_db("prepare");
    atexit(close_db);
    return 0;
}

struct tok_check {
    size_t n;
};

static int check_token(const char *tok, size_t len, int at_end, void *arg)
{
    struct tok_check *c = arg;
    (void)at_end;
    if (len == 0 || len > MNEMO_FTS_MAX_TERM) {
        fprintf(stderr, "token of %zu bytes\n", len);
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        if (tok[i] >= 'A' && tok[i] <= 'Z') {
            fprintf(stderr, "token not lower-cased: %.*s\n", (int)len, tok);
            abort();
        }
    }
    c->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mnemo_strbuf sb;
    struct mnemo_err err = {0};
    struct tok_check tc = {0};
    int n_terms = -1;
    const char *text = (const char *)data;

    mnemo_fts_tokenize(text, size, MNEMO_FTS_MIN_TERM, 1, check_token, &tc);
    mnemo_strbuf_init(&sb, 0);
    int rc = mnemo_fts_query_build(text, size, &sb, &n_terms, &err);
    if (rc == 0) {
        if (n_terms < 1 || n_terms > MNEMO_FTS_MAX_TERMS) {
            fprintf(stderr, "%d terms\n", n_terms);
            abort();
        }
        const char *q = mnemo_strbuf_str(&sb);
        sqlite3_bind_text(g_match, 1, q, -1, SQLITE_STATIC);
        int src;
        while ((src = sqlite3_step(g_match)) == SQLITE_ROW)
            ;
        if (src != SQLITE_DONE) {
            fprintf(stderr, "MATCH '%s' failed: %s\n", q, sqlite3_errmsg(g_db));
            abort();
        }
        sqlite3_reset(g_match);
        sqlite3_clear_bindings(g_match);
    } else if (rc != MNEMO_ENOTFOUND) {
        fprintf(stderr, "build failed: %d %s\n", rc, err.msg);
        abort();
    }
    mnemo_strbuf_release(&sb);
    return 0;
}
