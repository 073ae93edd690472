/*
 * cmd_import.c - `mnemo import FILE`: observations written by `mnemo export` (JSON Lines or a
 * JSON array) back into the store, deduplicated by uuid and by content, then embedded. Rows
 * go to the worker's import route in chunks when a worker runs, else through the library.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/fs.h"

/* Largest file import reads. */
#define IMPORT_MAX_BYTES ((size_t)1024 * 1024 * 1024)
/* Observations per import transaction. */
#define IMPORT_BATCH 500

/* The running totals and the first problem met. */
struct import_totals {
    int64_t imported, skipped_uuid, skipped_hash, failed;
    int64_t skipped_other; /* skipped rows a worker did not break down by reason */
    char first_error[256];
};

/* Where the rows go: the worker while one answers, else the library, opened on first need. */
struct importer {
    struct mnemo_cli *cli;
    const char *project;
    int library;            /* 1 once no worker answered */
    struct mnemo_cli_mem m; /* store, redactor and embedder of the library path */
    struct import_totals t;
};

static void note_failure(struct import_totals *t, size_t index, const char *msg)
{
    t->failed++;
    if (t->first_error[0] == '\0')
        snprintf(t->first_error, sizeof t->first_error, "observation %zu: %s", index + 1, msg);
}

/* Converts and cleans docs[start..start+n) and imports the good ones in one transaction. */
static int import_batch(struct mnemo_cli_mem *m, const json_t *docs, size_t start, size_t n,
                        const char *project, struct import_totals *t)
{
    struct mnemo_obs rows[IMPORT_BATCH];
    struct mnemo_obs_import_result res;
    struct mnemo_err err;
    size_t k = 0;
    char msg[200];

    mnemo_err_clear(&err);
    for (size_t i = start; i < start + n; i++) {
        if (mnemo_obs_from_json(json_array_get(docs, i), 1, &rows[k], msg, sizeof msg) != 0) {
            note_failure(t, i, msg);
            continue;
        }
        int rc = mnemo_obs_clean(m->priv, &rows[k], &err);
        /* Hand-written files may leave the project out: it is then the current one. */
        if (rc == 0 && (rows[k].project == NULL || rows[k].project[0] == '\0')) {
            free(rows[k].project);
            rows[k].project = strdup(project);
            if (rows[k].project == NULL)
                rc = mnemo_err_set(&err, MNEMO_ENOMEM, "out of memory");
        }
        /* Checked row by row, as the worker does, so a failure names its row. */
        if (rc == 0)
            rc = mnemo_obs_validate(&rows[k], &err);
        if (rc != 0) {
            note_failure(t, i, mnemo_err_text(&err, rc));
            mnemo_obs_release(&rows[k]);
            mnemo_err_clear(&err);
            continue;
        }
        k++;
    }
    int rc = k > 0 ? mnemo_obs_import(m->st, rows, k, &res, &err) : 0;
    for (size_t i = 0; i < k; i++)
        mnemo_obs_release(&rows[i]);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    if (k == 0)
        return 0;
    t->imported += res.imported;
    t->skipped_uuid += res.skipped_uuid;
    t->skipped_hash += res.skipped_hash;
    t->failed += res.failed;
    if (res.failed > 0 && t->first_error[0] == '\0')
        snprintf(t->first_error, sizeof t->first_error, "%s", mnemo_err_text(&err, MNEMO_EINVAL));
    return 0;
}

/* j[key] as an integer (0 when absent). */
static int64_t int_of(const json_t *j, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(j, key));
}

/*
 * Sends docs[start..start+n) to the worker's import route, rows without a project given the
 * current one (as the library path does). Returns 0 (totals updated), MNEMO_ECLOSED (no
 * worker), MNEMO_ETOOBIG (the chunk is over the worker's body limit: nothing was imported),
 * another code with err.
 */
static int import_worker(struct importer *im, const json_t *docs, size_t start, size_t n,
                         struct mnemo_err *err)
{
    json_t *rows = json_array();
    json_t *ans = NULL;
    int rc = 0;

    for (size_t i = start; rows != NULL && rc == 0 && i < start + n; i++) {
        json_t *doc = json_array_get(docs, i);
        const char *p = json_string_value(json_object_get(doc, "project"));
        json_t *row =
            json_is_object(doc) && (p == NULL || p[0] == '\0') ? json_copy(doc) : json_incref(doc);
        if (row != NULL && row != doc &&
            json_object_set_new(row, "project", json_string(im->project)) != 0) {
            json_decref(row);
            row = NULL;
        }
        /* json_array_append_new releases row when it fails. */
        if (row == NULL || json_array_append_new(rows, row) != 0)
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    json_t *body = rows != NULL && rc == 0 ? json_pack("{s:O}", "observations", rows) : NULL;
    json_decref(rows);
    if (body == NULL)
        return rc != 0 ? rc : mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    rc = mnemo__cli_worker_json(im->cli, "POST", "/v1/observations/import", body, &ans, err);
    json_decref(body);
    if (rc != 0)
        return rc;
    struct import_totals *t = &im->t;
    t->imported += int_of(ans, "imported");
    t->failed += int_of(ans, "failed");
    if (json_object_get(ans, "skipped_uuid") != NULL) {
        t->skipped_uuid += int_of(ans, "skipped_uuid");
        t->skipped_hash += int_of(ans, "skipped_hash");
    } else {
        t->skipped_other += int_of(ans, "skipped");
    }
    const json_t *e = json_array_get(json_object_get(ans, "errors"), 0);
    if (e != NULL && t->first_error[0] == '\0') {
        const json_t *ix = json_object_get(e, "index");
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (json_is_integer(ix))
            snprintf(t->first_error, sizeof t->first_error, "observation %lld: %s",
                     (long long)(start + (size_t)json_integer_value(ix) + 1), msg ? msg : "");
        else
            snprintf(t->first_error, sizeof t->first_error, "%s", msg ? msg : "");
    }
    json_decref(ans);
    return 0;
}

/* Imports one chunk: through the worker while it answers, else the library. */
static int import_chunk(struct importer *im, const json_t *docs, size_t start, size_t n)
{
    struct mnemo_err err;

    mnemo_err_clear(&err);
    if (!im->library) {
        int rc = import_worker(im, docs, start, n, &err);
        if (rc == 0)
            return MNEMO_CLI_OK;
        if (rc != MNEMO_ECLOSED && rc != MNEMO_ETOOBIG)
            return mnemo__cli_fail_err(NULL, &err, rc);
        if (mnemo__cli_mem_open_config(im->cli, MNEMO_CLI_MEM_PRIVACY | MNEMO_CLI_MEM_EMBED,
                                       &im->m) != 0)
            return MNEMO_CLI_FAIL;
        im->library = 1;
    }
    return import_batch(&im->m, docs, start, n, im->project, &im->t);
}

int cmd_import(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, self, "import needs a file (or - for stdin)");
    if (optind + 1 < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind + 1]);
    const char *path = argv[optind];
    char project[MNEMO_PROJECT_SIZE];
    if (mnemo__cli_project(NULL, project) != 0)
        return MNEMO_CLI_FAIL;

    char *buf = NULL, msg[256] = "";
    size_t len = 0;
    if (strcmp(path, "-") == 0) {
        if (mnemo__cli_read_stream(stdin, "standard input", IMPORT_MAX_BYTES, &buf, &len) != 0)
            return MNEMO_CLI_FAIL;
    } else {
        struct mnemo_err err;
        mnemo_err_clear(&err);
        int rc = mnemo_fs_read_all(path, IMPORT_MAX_BYTES, &buf, &len, &err);
        if (rc != 0)
            return mnemo__cli_fail_err(path, &err, rc);
    }
    json_t *docs = mnemo__cli_parse_docs(buf, len, msg, sizeof msg);
    free(buf);
    if (docs == NULL)
        return mnemo__cli_fail("'%s': %s", path, msg);

    struct importer im;
    memset(&im, 0, sizeof im);
    im.cli = cli;
    im.project = project;
    struct import_totals *t = &im.t;
    int progress = isatty(STDERR_FILENO);
    size_t n = json_array_size(docs);
    int status = MNEMO_CLI_OK;
    for (size_t i = 0; i < n && status == MNEMO_CLI_OK; i += IMPORT_BATCH) {
        size_t k = n - i < IMPORT_BATCH ? n - i : IMPORT_BATCH;
        status = import_chunk(&im, docs, i, k);
        if (progress)
            fprintf(stderr, "\rimporting %zu/%zu", i + k, n);
    }
    if (progress && n > 0)
        fputc('\n', stderr);
    json_decref(docs);
    /* Imported rows come without vectors: embed them now so search finds them by meaning (the
     * worker embeds what it imported itself). */
    if (status == MNEMO_CLI_OK && im.library)
        status = mnemo__cli_embed_missing(&im.m, progress, NULL);
    if (im.library)
        mnemo__cli_mem_close(cli, &im.m);
    if (status != MNEMO_CLI_OK)
        return status;

    if (t->skipped_other == 0)
        printf("imported %lld, skipped %lld (%lld same uuid, %lld same content), failed %lld\n",
               (long long)t->imported, (long long)(t->skipped_uuid + t->skipped_hash),
               (long long)t->skipped_uuid, (long long)t->skipped_hash, (long long)t->failed);
    else
        printf("imported %lld, skipped %lld, failed %lld\n", (long long)t->imported,
               (long long)(t->skipped_uuid + t->skipped_hash + t->skipped_other),
               (long long)t->failed);
    if (t->failed > 0)
        return mnemo__cli_fail("%lld observations failed; first: %s", (long long)t->failed,
                               t->first_error);
    return MNEMO_CLI_OK;
}
