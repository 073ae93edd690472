/*
 * cmd_export.c - `mnemo export`: every observation (of a project, archived ones on request) to
 * stdout, oldest first, as JSON Lines, one JSON array, CSV (RFC 4180) or Markdown. The field
 * order is mnemo_obs_to_json's, the same in every format. The rows come from the worker when
 * one runs (its JSON Lines export), else from the library; either way each row's JSON goes
 * through the same writer.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/clock.h"

enum export_format { FMT_JSONL, FMT_JSON, FMT_CSV, FMT_MARKDOWN };

/* Writes s as one CSV field: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
static void csv_field(const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            putchar('"');
        putchar(*p);
    }
    putchar('"');
}

/* One CSV record of j's values (or, with header, its keys); lists and objects as JSON. */
static int csv_record(const json_t *j, int header)
{
    const char *key;
    const json_t *v;
    int first = 1;

    json_object_foreach((json_t *)j, key, v)
    {
        if (!first)
            putchar(',');
        first = 0;
        if (header) {
            csv_field(key);
        } else if (json_is_string(v)) {
            csv_field(json_string_value(v));
        } else {
            /* Reals at 12 digits, as in the JSON formats: a worker's export is read at that
             * precision, and the output must not depend on which path ran. */
            char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY |
                                        JSON_REAL_PRECISION(12));
            if (s == NULL)
                return -1;
            csv_field(s);
            free(s);
        }
    }
    fputs("\r\n", stdout);
    return 0;
}

static void md_list(const char *title, char *const *items, size_t n)
{
    if (n == 0)
        return;
    printf("**%s**\n\n", title);
    for (size_t i = 0; i < n; i++)
        printf("- %s\n", items[i]);
    putchar('\n');
}

static void md_obs(const struct mnemo_obs *o)
{
    char d[MNEMO_CLOCK_ISO_LEN];

    printf("## #%lld %s\n\n", (long long)o->id, o->title);
    if (o->subtitle[0] != '\0')
        printf("*%s*\n\n", o->subtitle);
    printf("- type: %s\n- project: %s (%s)\n- created: %s\n- uuid: %s\n", o->type, o->project,
           o->scope, mnemo_clock_format_utc(o->created_at, d, sizeof d), o->uuid);
    if (o->archived)
        printf("- archived: %s\n", o->archived_reason[0] != '\0' ? o->archived_reason : "yes");
    putchar('\n');
    if (o->narrative[0] != '\0')
        printf("%s\n\n", o->narrative);
    md_list("Facts", o->facts, o->n_facts);
    md_list("Concepts", o->concepts, o->n_concepts);
    md_list("Files read", o->files_read, o->n_files_read);
    md_list("Files modified", o->files_modified, o->n_files_modified);
}

/* Writes one observation (its JSON) in fmt; n is how many were written before it. */
static int write_obs(enum export_format fmt, const json_t *j, int64_t n)
{
    if (fmt == FMT_MARKDOWN) {
        struct mnemo_obs o;
        char msg[256];
        if (mnemo__cli_obs_from_json(j, &o, msg, sizeof msg) != 0)
            return -1;
        md_obs(&o);
        mnemo_obs_release(&o);
        return 0;
    }
    int rc = 0;
    if (fmt == FMT_CSV) {
        if (n == 0)
            rc = csv_record(j, 1);
        if (rc == 0)
            rc = csv_record(j, 0);
    } else {
        char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        if (s == NULL) {
            rc = -1;
        } else {
            if (fmt == FMT_JSON)
                fputs(n == 0 ? "[\n" : ",\n", stdout);
            fputs(s, stdout);
            if (fmt == FMT_JSONL)
                putchar('\n');
            free(s);
        }
    }
    return rc;
}

/*
 * The export from the worker, as JSON Lines it writes (the same rows, in the same order, as the
 * library path pages through), each line written in fmt. Returns 0, MNEMO_ECLOSED (no worker),
 * another code with err, or MNEMO_CLI_FAIL after printing why.
 */
static int export_worker(struct mnemo_cli *cli, const struct mnemo_obs_filter *f,
                         enum export_format fmt, int64_t *n, struct mnemo_err *err)
{
    char path[512] = "/v1/observations/export?format=jsonl";
    char *raw = NULL;
    size_t len = 0;
    long status = 0;
    json_t *ans = NULL;

    if ((f->project != NULL && mnemo__cli_query_add(path, sizeof path, "project", f->project)) ||
        (f->include_archived && mnemo__cli_query_add(path, sizeof path, "archived", "1")))
        return MNEMO_ECLOSED;
    int rc = mnemo__cli_worker_call(cli, "GET", path, NULL, &status, &ans, &raw, &len, err);
    if (rc != 0)
        return rc;
    if (status != 200) {
        const json_t *e = json_object_get(ans, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        /* Too big for the worker to buffer: the library streams it instead. */
        rc = code != NULL && strcmp(code, "MNEMO_ETOOBIG") == 0
                 ? MNEMO_ECLOSED
                 : mnemo_err_set(err, MNEMO_EIO, "export: %s",
                                 msg != NULL ? msg : "the worker refused the export");
        json_decref(ans);
        free(raw);
        return rc;
    }
    json_decref(ans);
    rc = 0;
    for (size_t pos = 0; pos < len && rc == 0;) {
        const char *nl = memchr(raw + pos, '\n', len - pos);
        size_t end = nl != NULL ? (size_t)(nl - raw) : len;
        if (end > pos) {
            json_error_t jerr;
            json_t *j = json_loadb(raw + pos, end - pos, 0, &jerr);
            if (j == NULL)
                rc = mnemo_err_set(err, MNEMO_EIO, "the worker's export is not JSON Lines: %s",
                                   jerr.text);
            else if (write_obs(fmt, j, (*n)++) != 0)
                rc = mnemo__cli_fail("out of memory");
            json_decref(j);
        }
        pos = end + 1;
    }
    free(raw);
    return rc;
}

/* The same export through the library, a page of rows at a time. */
static int export_library(struct mnemo_cli *cli, struct mnemo_obs_filter *f, enum export_format fmt,
                          int64_t *n, struct mnemo_err *err)
{
    struct mnemo_cli_mem m;
    int rc = 0;

    if (mnemo__cli_mem_open(cli, 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    for (;;) {
        struct mnemo_obs_list l;
        rc = mnemo_obs_list(m.st, f, &l, err);
        if (rc != 0)
            break;
        for (size_t i = 0; i < l.n && rc == 0; i++) {
            json_t *j = mnemo_obs_to_json(&l.items[i]);
            if (j == NULL || write_obs(fmt, j, (*n)++) != 0)
                rc = mnemo__cli_fail("out of memory");
            json_decref(j);
        }
        size_t got = l.n;
        if (got > 0)
            f->after_id = l.items[got - 1].id;
        mnemo_obs_list_release(&l);
        if (rc != 0 || got < (size_t)f->limit)
            break;
    }
    mnemo__cli_mem_close(cli, &m);
    return rc;
}

int cmd_export(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    enum { OPT_FORMAT = 256, OPT_PROJECT, OPT_ARCHIVED };
    static const struct option opts[] = {
        {"archived", no_argument, NULL, OPT_ARCHIVED},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {"project", required_argument, NULL, OPT_PROJECT},
        {NULL, 0, NULL, 0},
    };
    static const char *const names[] = {"jsonl", "json", "csv", "markdown"};
    enum export_format fmt = FMT_JSONL;
    const char *project_flag = NULL;
    struct mnemo_obs_filter f;

    mnemo_obs_filter_init(&f);
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'h':
            return mnemo__cli_help(self);
        case OPT_FORMAT: {
            size_t i = 0;
            while (i < sizeof names / sizeof names[0] && strcmp(names[i], optarg) != 0)
                i++;
            if (i == sizeof names / sizeof names[0])
                return mnemo__cli_usage_error(cli, self,
                                              "unknown format '%s' (expected jsonl, json, csv or "
                                              "markdown)",
                                              optarg);
            fmt = (enum export_format)i;
            break;
        }
        case OPT_PROJECT:
            project_flag = optarg;
            break;
        case OPT_ARCHIVED:
            f.include_archived = 1;
            break;
        default:
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
        }
    }
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);

    char project[MNEMO_PROJECT_SIZE];
    if (project_flag != NULL) {
        if (mnemo__cli_project(project_flag, project) != 0)
            return MNEMO_CLI_FAIL;
        f.project = project;
    }
    /* Superseded rows are history a backup must keep; paging by id sees each row once. */
    f.include_superseded = 1;
    f.order = MNEMO_OBS_ORDER_ID_ASC;
    f.limit = MNEMO_OBS_LIST_MAX;

    struct mnemo_err err;
    int64_t n = 0;
    mnemo_err_clear(&err);
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    if (fmt == FMT_MARKDOWN)
        fputs("# mnemo export\n\n", stdout);
    int rc = export_worker(cli, &f, fmt, &n, &err);
    /* Nothing is written before the worker's whole answer is in, so falling back is clean. */
    if (rc == MNEMO_ECLOSED || (rc == MNEMO_ETIMEDOUT && n == 0)) {
        mnemo_err_clear(&err);
        rc = export_library(cli, &f, fmt, &n, &err);
    }
    if (rc == MNEMO_CLI_FAIL)
        return MNEMO_CLI_FAIL;
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    if (fmt == FMT_JSON)
        fputs(n == 0 ? "[]\n" : "\n]\n", stdout);
    int status = MNEMO_CLI_OK;
    return status;
}
