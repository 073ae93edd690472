/*
 * rank.c - see rank.h. The scoring mirrors FTS5's bm25() (fts5_aux.c) term for term, so the
 * only difference is where the document frequencies come from.
 */
#include "search/rank.h"

#include <math.h>
#include <string.h>

#define BM25_K1 1.2
#define BM25_B  0.75

double mnemo_rank_idf(int64_t n, int64_t hits)
{
    double idf = log(((double)n - (double)hits + 0.5) / ((double)hits + 0.5));
    return idf <= 0.0 ? 1e-6 : idf;
}

static void bm25_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int n_val,
                    sqlite3_value **val)
{
    double freq[MNEMO_RANK_MAX_PHRASES];
    int n_phrase = api->xPhraseCount(fts);
    if (n_val < 1 || n_phrase > MNEMO_RANK_MAX_PHRASES ||
        sqlite3_value_bytes(val[0]) != n_phrase * (int)sizeof(double)) {
        sqlite3_result_error(ctx, "mnemo_bm25: one IDF per phrase is required", -1);
        return;
    }
    double idf[MNEMO_RANK_MAX_PHRASES];
    if (n_phrase > 0)
        memcpy(idf, sqlite3_value_blob(val[0]), (size_t)n_phrase * sizeof(double));

    sqlite3_int64 n_row = 0, n_tok_all = 0;
    int n_inst = 0, n_tok = 0;
    int rc = api->xRowCount(fts, &n_row);
    if (rc == SQLITE_OK)
        rc = api->xColumnTotalSize(fts, -1, &n_tok_all);
    if (rc == SQLITE_OK)
        rc = api->xInstCount(fts, &n_inst);
    memset(freq, 0, sizeof freq);
    for (int i = 0; rc == SQLITE_OK && i < n_inst; i++) {
        int ip, ic, io;
        rc = api->xInst(fts, i, &ip, &ic, &io);
        if (rc == SQLITE_OK && ip >= 0 && ip < n_phrase)
            freq[ip] += (n_val - 1 > ic) ? sqlite3_value_double(val[1 + ic]) : 1.0;
    }
    if (rc == SQLITE_OK)
        rc = api->xColumnSize(fts, -1, &n_tok);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    double avgdl = n_row > 0 ? (double)n_tok_all / (double)n_row : 1.0;
    if (avgdl <= 0.0)
        avgdl = 1.0;
    double score = 0.0;
    for (int i = 0; i < n_phrase; i++)
        score += idf[i] * ((freq[i] * (BM25_K1 + 1.0)) /
                           (freq[i] + BM25_K1 * (1 - BM25_B + BM25_B * (double)n_tok / avgdl)));
    sqlite3_result_double(ctx, -1.0 * score);
}

int mnemo_rank_register(sqlite3 *db, struct mnemo_err *err)
{
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (api == NULL || api->iVersion < 2)
        return mnemo_err_set(err, MNEMO_ESQLITE, "search: FTS5 is not available (%s)",
                             sqlite3_errstr(src));
    src = api->xCreateFunction(api, "mnemo_bm25", NULL, bm25_fn, NULL);
    if (src != SQLITE_OK)
        return mnemo_err_set(err, MNEMO_ESQLITE, "search: cannot register the ranking: %s",
                             sqlite3_errstr(src));
    return 0;
}
