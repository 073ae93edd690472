/*
 * routes_search.c - hybrid search and the two context blocks an agent gets (session start and
 * per prompt). These are read-only: the prompt route sits on the agent's prompt path, where a
 * write would wait behind the single writer, so nothing here writes to the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/obs_json.h"
#include "memory/privacy.h"
#include "search/context.h"
#include "search/hybrid.h"
#include "service/routes.h"
#include "service/routes_int.h"
#include "util/clock.h"
#include "util/config.h"

/* The score of a hit: its total always, every component with explain. */
static json_t *score_json(const struct mnemo_fusion_result *s, int explain)
{
    if (!explain)
        return json_pack("{s:f}", "total", s->final);
    return json_pack("{s:f,s:i,s:f,s:i,s:f,s:f,s:f,s:f,s:f,s:i}", "total", s->final, "fts_rank",
                     s->bm25_rank, "fts_bm25", s->bm25, "vec_rank", s->vec_rank, "vec_sim",
                     (double)s->vec_sim, "rrf", s->rrf, "rrf_norm", s->rrf_norm, "importance_boost",
                     s->importance_boost, "recency_boost", s->recency_boost, "duplicates",
                     s->duplicates);
}

/* The optional "project" of body (validated), NULL when absent or "". */
static int opt_project(struct mnemo_http_resp *resp, const json_t *body, int required,
                       const char **out)
{
    if (mnemo__routes_str(resp, body, "project", required, 0, out) != 0)
        return -1;
    if (*out != NULL && (*out)[0] == '\0')
        *out = NULL;
    if (*out != NULL && mnemo__routes_project_check(resp, "field 'project'", *out) != 0)
        return -1;
    return 0;
}

int route_search_run(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *query, *project;
    int64_t limit;
    int include_global, explain;
    struct mnemo_embedder *emb;
    struct mnemo_vindex *vx;
    struct mnemo_search_results res;
    struct mnemo_err err;
    int64_t start = mnemo_clock_mono_ns();

    if (mnemo__routes_body(req, resp, 1, &body) != 0 ||
        mnemo__routes_str(resp, body, "query", 1, MNEMO_SEARCH_MAX_QUERY, &query) != 0 ||
        opt_project(resp, body, 0, &project) != 0 ||
        mnemo__routes_int(resp, body, "limit", 1, MNEMO_FUSION_MAX_RESULTS, 10, &limit) != 0 ||
        mnemo__routes_bool(resp, body, "include_global", 1, &include_global) != 0 ||
        mnemo__routes_bool(resp, body, "explain", 0, &explain) != 0)
        return 0;
    const char *why = NULL;
    mnemo__routes_search_vectors(w, &emb, &vx, &why);
    mnemo_err_clear(&err);
    int rc = mnemo_search_hybrid(w->st, vx, emb, project, query, (int)limit, include_global, 0,
                                 NULL, &res, &err);
    if (rc == 0 && why != NULL)
        snprintf(res.vec_error, sizeof res.vec_error, "%s", why);
    if (rc == 0)
        mnemo_routes_retrieval_record(w->retrieval, project, MNEMO_ROUTES_RETRIEVAL_SEARCH,
                                      (int64_t)res.n);
    if (rc != 0) {
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < res.n; i++) {
        json_t *hit = json_pack("{s:o,s:o}", "observation", mnemo_obs_to_json(&res.items[i].obs),
                                "score", score_json(&res.items[i].score, explain));
        if (json_array_append_new(a, hit) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    json_t *j = a != NULL ? json_pack("{s:o,s:b,s:f}", "results", a, "vec_used", res.vec_used,
                                      "took_ms", mnemo__routes_took_ms(start))
                          : NULL;
    if (j != NULL && res.vec_error[0] != '\0' &&
        json_object_set_new(j, "vec_error", json_string(res.vec_error)) != 0) {
        json_decref(j);
        j = NULL;
    }
    mnemo_search_results_release(&res);
    return mnemo__routes_json(resp, 200, j);
}

/* budget_tokens of body, or the config key's value when absent. */
static int budget(struct mnemo_worker *w, struct mnemo_http_resp *resp, const json_t *body,
                  const char *key, int64_t *out)
{
    const struct mnemo_config *c = mnemo_worker_config_ref(w);
    int64_t def = c != NULL ? mnemo_config_int(c, key) : 0;
    mnemo_worker_config_unref(w, c);
    return mnemo__routes_int(resp, body, "budget_tokens", 1, ROUTES_MAX_BUDGET_TOKENS, def, out);
}

static int answer_context(struct mnemo_http_resp *resp, struct mnemo_strbuf *sb, int shown,
                          int64_t start)
{
    json_t *j = json_pack("{s:s,s:i,s:f}", "context", mnemo_strbuf_str(sb), "shown", shown,
                          "took_ms", mnemo__routes_took_ms(start));
    mnemo_strbuf_release(sb);
    return mnemo__routes_json(resp, 200, j);
}

int route_context_session_start(void *ctx, const struct mnemo_http_req *req,
                                struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *project;
    int64_t tokens;
    struct mnemo_strbuf sb;
    struct mnemo_err err;
    int shown = 0;
    int64_t start = mnemo_clock_mono_ns();

    if (mnemo__routes_body(req, resp, 1, &body) != 0 || opt_project(resp, body, 1, &project) != 0 ||
        budget(w, resp, body, "context.session_tokens", &tokens) != 0)
        return 0;
    mnemo_strbuf_init(&sb, MNEMO_CONTEXT_HARD_CAP * 2);
    mnemo_err_clear(&err);
    int rc = mnemo_context_session_start(w->st, project, (int)tokens, &sb, &shown, &err);
    if (rc != 0) {
        mnemo_strbuf_release(&sb);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    atomic_fetch_add(&w->context_requests, 1);
    mnemo_routes_retrieval_record(w->retrieval, project, MNEMO_ROUTES_RETRIEVAL_CONTEXT, shown);
    return answer_context(resp, &sb, shown, start);
}

int route_context_prompt(void *ctx, const struct mnemo_http_req *req, struct mnemo_http_resp *resp)
{
    struct mnemo_worker *w = ctx;
    const json_t *body;
    const char *project, *prompt;
    int64_t tokens, sid;
    struct mnemo_strbuf sb;
    struct mnemo_err err;
    struct mnemo_embedder *emb;
    struct mnemo_vindex *vx;
    struct mnemo_privacy_result clean = {0};
    int shown = 0;
    int64_t start = mnemo_clock_mono_ns();

    if (mnemo__routes_body(req, resp, 1, &body) != 0 || opt_project(resp, body, 1, &project) != 0 ||
        mnemo__routes_str(resp, body, "prompt", 0, 0, &prompt) != 0 ||
        mnemo__routes_int(resp, body, "session_id", 0, INT64_MAX, 0, &sid) != 0 ||
        budget(w, resp, body, "context.prompt_tokens", &tokens) != 0)
        return 0;
    if (prompt == NULL) {
        mnemo__routes_fail(resp, MNEMO_EINVAL, "field 'prompt' is required");
        return 0;
    }
    mnemo_strbuf_init(&sb, MNEMO_CONTEXT_HARD_CAP * 2);
    /*
     * The prompt is searched with (and may be sent to an embedding server), so it is cleaned
     * like stored text; this also drops mnemo's own earlier context quoted back in it. Only
     * the head is searched, so the privacy pass sees at most what the search would read.
     */
    size_t len = strlen(prompt);
    if (len > 4 * MNEMO_SEARCH_MAX_QUERY)
        len = mnemo_utf8_cut(prompt, 4 * MNEMO_SEARCH_MAX_QUERY);
    mnemo_err_clear(&err);
    int rc = mnemo_privacy_clean(w->priv, prompt, len, &clean, &err);
    if (rc == 0 && clean.len > 0) {
        mnemo__routes_search_vectors(w, &emb, &vx, NULL);
        rc = mnemo_context_prompt(w->st, vx, emb, project, clean.text, (int)tokens, 0, NULL, &sb,
                                  &shown, &err);
    }
    mnemo_privacy_result_release(&clean);
    if (rc != 0) {
        mnemo_strbuf_release(&sb);
        mnemo__routes_fail_err(resp, rc, &err);
        return 0;
    }
    atomic_fetch_add(&w->context_requests, 1);
    mnemo_routes_retrieval_record(w->retrieval, project, MNEMO_ROUTES_RETRIEVAL_CONTEXT, shown);
    return answer_context(resp, &sb, shown, start);
}
