/*
 * cmd_search.c - `mnemo search QUERY`: hybrid (full-text + vector) search over the live
 * observations of a project and the global ones, as a table, JSON Lines, or with each result's
 * score components (--explain).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "search/hybrid.h"

/* The score components of one hit as JSON. */
static json_t *score_json(const struct mnemo_fusion_result *s)
{
    return json_pack("{s:f,s:i,s:f,s:i,s:f,s:f,s:f,s:f,s:i}", "final", s->final, "bm25_rank",
                     s->bm25_rank, "bm25", s->bm25, "vec_rank", s->vec_rank, "vec_sim",
                     (double)s->vec_sim, "rrf_norm", s->rrf_norm, "importance_boost",
                     s->importance_boost, "recency_boost", s->recency_boost, "duplicates",
                     s->duplicates);
}

static void print_explain(const struct mnemo_fusion_result *s)
{
    char bm[32] = "-", vec[32] = "-";
    if (s->bm25_rank > 0)
        snprintf(bm, sizeof bm, "#%d (%.3f)", s->bm25_rank, s->bm25);
    if (s->vec_rank > 0)
        snprintf(vec, sizeof vec, "#%d (%.3f)", s->vec_rank, (double)s->vec_sim);
    printf("        keyword %s  vector %s  rrf %.4f  x importance %.3f  x recency %.3f"
           "  folded %d\n",
           bm, vec, s->rrf_norm, s->importance_boost, s->recency_boost, s->duplicates);
}

/* Builds the index of the current model's vectors (when embeddings are on) and searches. */
static int run_search(struct mnemo_cli_mem *m, const char *project, const char *query, int limit,
                      struct mnemo_search_results *res, struct mnemo_err *err)
{
    struct mnemo_vindex *vx = NULL;
    int rc = mnemo__cli_vindex_build(m, &vx, err);
    if (rc == 0)
        rc = mnemo_search_hybrid(m->st, vx, vx != NULL ? m->emb : NULL, project, query, limit, 1, 0,
                                 NULL, res, err);
    mnemo_vindex_close(vx);
    return rc;
}

int cmd_search(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    enum { OPT_PROJECT = 256, OPT_LIMIT, OPT_JSON, OPT_EXPLAIN };
    static const struct option opts[] = {
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"project", required_argument, NULL, OPT_PROJECT},
        {NULL, 0, NULL, 0},
    };
    const char *project_flag = NULL;
    int json = 0, explain = 0;
    int64_t limit = 10;

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'h':
            return mnemo__cli_help(self);
        case OPT_PROJECT:
            project_flag = optarg;
            break;
        case OPT_LIMIT:
            if (mnemo__cli_parse_int(optarg, 1, MNEMO_FUSION_MAX_RESULTS, &limit) != 0)
                return mnemo__cli_usage_error(cli, self, "--limit must be 1..%d",
                                              MNEMO_FUSION_MAX_RESULTS);
            break;
        case OPT_JSON:
            json = 1;
            break;
        case OPT_EXPLAIN:
            explain = 1;
            break;
        default:
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
        }
    }
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, self, "search needs a query");
    if (optind + 1 < argc)
        return mnemo__cli_usage_error(cli, self, "give the query as one argument (quote it)");
    const char *query = argv[optind];
    if (strlen(query) > MNEMO_SEARCH_MAX_QUERY)
        return mnemo__cli_usage_error(cli, self, "the query is longer than %d bytes",
                                      MNEMO_SEARCH_MAX_QUERY);

    char project[MNEMO_PROJECT_SIZE];
    if (mnemo__cli_project(project_flag, project) != 0)
        return MNEMO_CLI_FAIL;

    struct mnemo_cli_mem m;
    struct mnemo_search_results res;
    struct mnemo_err err;
    if (mnemo__cli_mem_open(cli, MNEMO_CLI_MEM_EMBED, &m) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_err_clear(&err);
    int status = MNEMO_CLI_OK;
    int rc = run_search(&m, project, query, (int)limit, &res, &err);
    if (rc != 0) {
        status = mnemo__cli_fail_err(NULL, &err, rc);
        goto out;
    }
    if (res.vec_error[0] != '\0') {
        char q[2 * MNEMO_ERR_MSG_MAX + 8];
        mnemo_log_write(cli->log, MNEMO_LOG_WARN, "keyword-only search", "reason=%s",
                        mnemo_log_quote(q, sizeof q, res.vec_error));
    }
    if (!json && res.n > 0)
        mnemo__cli_obs_table_header(1);
    for (size_t i = 0; i < res.n && status == MNEMO_CLI_OK; i++) {
        const struct mnemo_search_hit *h = &res.items[i];
        if (json) {
            json_t *j = mnemo_obs_to_json(&h->obs);
            if (j != NULL && json_object_set_new(j, "score", score_json(&h->score)) != 0) {
                json_decref(j);
                j = NULL;
            }
            status = mnemo__cli_print_json(j);
            continue;
        }
        mnemo__cli_obs_table_row(&h->obs, 1, h->score.final);
        if (explain)
            print_explain(&h->score);
    }
    if (!json && res.n == 0)
        fputs("no matches\n", stderr);
    mnemo_search_results_release(&res);
out:
    mnemo__cli_mem_close(cli, &m);
    return status;
}
