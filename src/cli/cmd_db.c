/*
 * cmd_db.c - `mnemo db <subcommand>`: integrity checks, checkpoints, optimize and statistics
 * on the existing database, through the store API.
 *
 * Every subcommand opens the store without creating it, without the background checkpointer
 * (one-shot commands do their own work and close, which checkpoints) and without warming
 * the pool (they need one connection, not four).
 */
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "util/clock.h"
#include "util/strbuf.h"

#define DB_OPEN_FLAGS (MNEMO_STORE_NO_CHECKPOINTER | MNEMO_STORE_NO_WARMUP)

/* Health JSON is small; this ceiling only guards against a runaway serializer. */
#define STATS_JSON_MAX ((size_t)1024 * 1024)

static int db_check(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
static int db_checkpoint(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                         char **argv);
static int db_optimize(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                       char **argv);
static int db_stats(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);

/* The subcommands, sorted by name. */
static const struct mnemo_cli_cmd db_commands[] = {
    {
        "check",
        db_check,
        "mnemo db check [--full]",
        "verify the database's integrity",
        "Runs PRAGMA quick_check (or, with --full, the slower integrity_check that also\n"
        "verifies indexes) and prints `ok` or the problems found, then the WAL size and the\n"
        "page counts. Exits 1 when the database has problems or cannot be checked.\n"
        "\n"
        "options:\n"
        "  --full     run integrity_check instead of quick_check\n",
    },
    {
        "checkpoint",
        db_checkpoint,
        "mnemo db checkpoint",
        "copy the write-ahead log into the database and truncate it",
        "Runs a TRUNCATE checkpoint: copies every frame of the write-ahead log (mnemo.db-wal)\n"
        "into the database and truncates the log to zero bytes. Prints whether it was busy,\n"
        "the frames in the log and checkpointed, and the WAL size before and after. Exits 1\n"
        "when a reader or writer kept it from finishing; run it again once they are done.\n",
    },
    {
        "optimize",
        db_optimize,
        "mnemo db optimize",
        "refresh the query planner's statistics and checkpoint",
        "Runs ANALYZE, PRAGMA optimize and a TRUNCATE checkpoint, bounded by the slow\n"
        "operation deadline (30 s), and prints how long it took.\n",
    },
    {
        "stats",
        db_stats,
        "mnemo db stats",
        "print the store's health and statistics as JSON",
        "Runs a fresh health check and prints it as JSON: status, probe latency, pool counters,\n"
        "latency metrics, WAL size and checkpoint threshold, the last checkpoint, page and\n"
        "freelist counts and the schema version.\n",
    },
};

#define N_DB_COMMANDS (sizeof db_commands / sizeof db_commands[0])

/* Prints db's help followed by the list of subcommands. */
static int db_help(const struct mnemo_cli_cmd *self)
{
    mnemo__cli_help(self);
    fputs("\nsubcommands:\n", stdout);
    for (size_t i = 0; i < N_DB_COMMANDS; i++)
        printf("  %-12s %s\n", db_commands[i].name, db_commands[i].summary);
    fputs("\nRun 'mnemo db <subcommand> --help' for a subcommand's help.\n", stdout);
    return MNEMO_CLI_OK;
}

int cmd_db(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    return mnemo__cli_run_subcommand(cli, self, argc, argv, db_commands, N_DB_COMMANDS, db_help,
                                     "db");
}

/* Resolves the home and opens the existing store for a db subcommand. */
static int db_open(struct mnemo_cli *cli, struct mnemo_store **st)
{
    *st = NULL;
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    return mnemo__cli_store_open(cli, DB_OPEN_FLAGS, st);
}

/* ---- db check ---------------------------------------------------------------------------- */

/* Prints the WAL and page statistics that follow a check's verdict. */
static void print_db_sizes(struct mnemo_store *st)
{
    struct mnemo_store_health h;
    char b1[32], b2[32];

    mnemo_store_health(st, 1, &h);
    printf("database  %s\n", mnemo_store_path(st));
    printf("wal       %s\n", mnemo__cli_fmt_bytes(mnemo_store_wal_size(st), b1, sizeof b1));
    printf("pages     %lld of %lld B (%s), %lld free (%s)\n", (long long)h.page_count,
           (long long)h.page_size, mnemo__cli_fmt_bytes(h.page_count * h.page_size, b1, sizeof b1),
           (long long)h.freelist_count,
           mnemo__cli_fmt_bytes(h.freelist_count * h.page_size, b2, sizeof b2));
}

static int db_check(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    static const struct option opts[] = {
        {"full", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mnemo_store *st = NULL;
    struct mnemo_strbuf problems;
    struct mnemo_err err;
    int full = 0;

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == 'f') {
            full = 1;
            continue;
        }
        return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);

    int status = db_open(cli, &st);
    if (status != 0)
        return status;

    const char *kind = full ? "integrity_check" : "quick_check";
    mnemo_strbuf_init(&problems, 0);
    mnemo_err_clear(&err);
    int rc = mnemo_store_check(st, full, MNEMO_STORE_TIMEOUT_SLOW_MS, &problems, &err);
    if (rc == 0) {
        printf("ok (%s)\n", kind);
        print_db_sizes(st);
        status = MNEMO_CLI_OK;
    } else if (rc == MNEMO_ECORRUPT) {
        printf("problems (%s):\n%s", kind, mnemo_strbuf_str(&problems));
        if (problems.len > 0 && problems.data[problems.len - 1] != '\n')
            putchar('\n');
        print_db_sizes(st);
        status = mnemo__cli_fail("'%s' failed %s; see the problems above", cli->db_path, kind);
    } else {
        status = mnemo__cli_fail_err(cli->db_path, &err, rc);
    }
    mnemo_strbuf_release(&problems);
    mnemo__cli_store_close(cli, st);
    return status;
}

/* ---- db checkpoint ----------------------------------------------------------------------- */

static int db_checkpoint(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                         char **argv)
{
    struct mnemo_store_checkpoint_result res;
    struct mnemo_store *st = NULL;
    struct mnemo_err err;
    char b[32], t[32];

    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;
    status = db_open(cli, &st);
    if (status != 0)
        return status;

    memset(&res, 0, sizeof res);
    mnemo_err_clear(&err);
    int rc = mnemo_store_checkpoint(st, MNEMO_STORE_TIMEOUT_SLOW_MS, &res, &err);
    if (rc == 0 || rc == MNEMO_EBUSY) {
        printf("busy          %d\n", res.busy);
        printf("log_frames    %d\n", res.log_frames);
        printf("checkpointed  %d\n", res.checkpointed);
        printf("wal_before    %lld (%s)\n", (long long)res.wal_before,
               mnemo__cli_fmt_bytes(res.wal_before, b, sizeof b));
        printf("wal_after     %lld (%s)\n", (long long)res.wal_after,
               mnemo__cli_fmt_bytes(res.wal_after, b, sizeof b));
        printf("duration      %s\n", mnemo__cli_fmt_ms(res.duration_ns, t, sizeof t));
    }
    if (rc == 0)
        status = MNEMO_CLI_OK;
    else if (rc == MNEMO_EBUSY && err.msg[0] == '\0')
        status = mnemo__cli_fail(
            "checkpoint of '%s' was kept busy by a reader or writer; retry later", cli->db_path);
    else
        status = mnemo__cli_fail_err(cli->db_path, &err, rc);
    mnemo__cli_store_close(cli, st);
    return status;
}

/* ---- db optimize ------------------------------------------------------------------------- */

static int db_optimize(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                       char **argv)
{
    struct mnemo_store *st = NULL;
    struct mnemo_err err;
    char t[32];

    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;
    status = db_open(cli, &st);
    if (status != 0)
        return status;

    mnemo_err_clear(&err);
    int64_t start = mnemo_clock_mono_ns();
    int rc = mnemo_store_optimize(st, MNEMO_STORE_TIMEOUT_SLOW_MS, &err);
    int64_t elapsed = mnemo_clock_mono_ns() - start;
    if (rc == 0) {
        printf("optimized %s in %s\n", cli->db_path, mnemo__cli_fmt_ms(elapsed, t, sizeof t));
        status = MNEMO_CLI_OK;
    } else {
        status = mnemo__cli_fail_err(cli->db_path, &err, rc);
    }
    mnemo__cli_store_close(cli, st);
    return status;
}

/* ---- db stats ---------------------------------------------------------------------------- */

/*
 * Prints the store's health JSON indented for people. The store serializes compactly; the
 * text is re-read with jansson, which also proves it is valid JSON before it is printed.
 */
static int print_pretty_json(const char *text)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (root == NULL)
        return mnemo__cli_fail("the store produced invalid health JSON: %s (line %d)", jerr.text,
                               jerr.line);
    char *pretty = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (pretty == NULL)
        return mnemo__cli_fail("out of memory formatting the health JSON");
    puts(pretty);
    free(pretty);
    return MNEMO_CLI_OK;
}

static int db_stats(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    struct mnemo_store_health h;
    struct mnemo_store *st = NULL;
    struct mnemo_strbuf json;

    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;
    status = db_open(cli, &st);
    if (status != 0)
        return status;

    mnemo_store_health(st, 1, &h);
    mnemo_strbuf_init(&json, STATS_JSON_MAX);
    int rc = mnemo_store_health_json(&h, &json);
    if (rc == 0)
        status = print_pretty_json(mnemo_strbuf_str(&json));
    else
        status = mnemo__cli_fail("cannot serialize the health of '%s': %s", cli->db_path,
                                 mnemo_strerror(rc));
    mnemo_strbuf_release(&json);
    mnemo__cli_store_close(cli, st);
    return status;
}
