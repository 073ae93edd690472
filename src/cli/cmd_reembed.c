/*
 * cmd_reembed.c - `mnemo reembed`: embeds every observation that has no vector of the current
 * model. It only ever does the missing ones, so an interrupted run resumes where it stopped.
 * Also home of the helpers that find and embed such observations (import uses them) and that
 * build the vector index for a search.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "memory/obs.h"
#include "search/hybrid.h"

/* Observations embedded per read of missing ids (bounds the id buffer). */
#define EMBED_BATCH 256

/* ---- embedding what lacks a vector ------------------------------------------------------- */

int mnemo__cli_embed_missing(struct mnemo_cli_mem *m, int show_progress, int64_t *done)
{
    int64_t *ids = calloc(EMBED_BATCH, sizeof *ids);
    struct mnemo_err err;
    int64_t n_done = 0, total = 0, after = 0;
    int status = MNEMO_CLI_OK;

    if (done != NULL)
        *done = 0;
    if (ids == NULL)
        return mnemo__cli_fail("out of memory");
    if (m->emb == NULL || !mnemo_embed_enabled(m->emb)) {
        free(ids);
        return MNEMO_CLI_OK;
    }
    mnemo_err_clear(&err);
    const char *model = mnemo_embed_model_id(m->emb);
    int64_t *count_once = &total;
    int rc = 0;
    for (;;) {
        size_t n = 0;
        rc = mnemo_obs_missing_vectors(m->st, model, after, ids, EMBED_BATCH, &n, count_once, &err);
        count_once = NULL;
        if (rc != 0 || n == 0)
            break;
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = mnemo_search_embed_obs(m->st, NULL, m->emb, ids[i], 0, &err);
            /* Deleted in between by another process: nothing left to embed. */
            if (rc == MNEMO_ENOTFOUND)
                rc = 0;
            else if (rc == 0)
                n_done++;
        }
        if (rc != 0)
            break;
        after = ids[n - 1];
        if (show_progress)
            fprintf(stderr, "\rembedding %lld/%lld", (long long)n_done, (long long)total);
    }
    if (show_progress && n_done > 0)
        fputc('\n', stderr);
    if (rc != 0)
        status = mnemo__cli_fail("embedding: %s", mnemo_err_text(&err, rc));
    if (done != NULL)
        *done = n_done;
    free(ids);
    return status;
}

/* ---- vector index ------------------------------------------------------------------------ */

int mnemo__cli_vindex_build(struct mnemo_cli_mem *m, struct mnemo_vindex **out,
                            struct mnemo_err *err)
{
    *out = NULL;
    if (m->emb == NULL || !mnemo_embed_enabled(m->emb))
        return 0;
    struct mnemo_vindex *vx = NULL;
    int rc = mnemo_vindex_open(mnemo_embed_dim(m->emb), MNEMO_VINDEX_FLOAT, &vx, err);
    if (rc == 0)
        rc = mnemo_search_vindex_load(m->st, vx, mnemo_embed_model_id(m->emb), 0, NULL, err);
    if (rc != 0) {
        mnemo_vindex_close(vx);
        return rc;
    }
    *out = vx;
    return 0;
}

/* ---- mnemo reembed ----------------------------------------------------------------------- */

int cmd_reembed(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;

    struct mnemo_cli_mem m;
    if (mnemo__cli_mem_open_config(cli, MNEMO_CLI_MEM_EMBED, &m) != 0)
        return MNEMO_CLI_FAIL;
    if (!mnemo_embed_enabled(m.emb)) {
        mnemo__cli_mem_close(cli, &m);
        return mnemo__cli_fail("embeddings are disabled (MNEMO_EMBED_PROVIDER=none)");
    }
    int64_t done = 0;
    status = mnemo__cli_embed_missing(&m, isatty(STDERR_FILENO), &done);
    if (status == MNEMO_CLI_OK)
        printf("embedded %lld observations with %s\n", (long long)done,
               mnemo_embed_model_id(m.emb));
    mnemo__cli_mem_close(cli, &m);
    return status;
}
