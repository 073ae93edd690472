/*
 * cli.h - internal header of the mnemo command-line tool: the command table, the command
 * functions and the helpers they share (home resolution, opening the store, messages).
 *
 * The CLI is a face: it parses arguments, calls the library layers (store, memory, embed,
 * search) through their public headers and prints. It never runs SQL and never opens a
 * database file itself. Exit statuses are 0 (success), 1 (failure) and 2 (usage error).
 *
 * Thread-safety: the CLI is single-threaded; nothing here is meant to be called from two
 * threads at once. There is no mutable global state: everything a command needs hangs off
 * the struct mnemo_cli that main() owns and passes down.
 */
#ifndef MNEMO_CLI_CLI_H
#define MNEMO_CLI_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "embed/embed.h"
#include "memory/obs.h"
#include "memory/obs_json.h"
#include "memory/privacy.h"
#include "memory/project.h"
#include "search/vindex.h"
#include "store/store.h"
#include "util/log.h"

/* Exit statuses shared by every command. */
enum mnemo_cli_status {
    MNEMO_CLI_OK = 0,
    MNEMO_CLI_FAIL = 1,
    MNEMO_CLI_USAGE = 2,
};

/* Longest home or database path the CLI handles. */
#define MNEMO_CLI_PATH_MAX 4096

/* The database's file name inside the home directory. */
#define MNEMO_CLI_DB_NAME "mnemo.db"

struct mnemo_cli;
struct mnemo_cli_cmd;

/*
 * A command's entry point. argv[0] is the command's own name (e.g. "init" or "check"), so
 * getopt_long sees a conventional argument vector. Returns an enum mnemo_cli_status.
 */
typedef int (*mnemo_cli_cmd_fn)(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                                char **argv);

/* One row of a command table. Tables are static const arrays sorted by name. */
struct mnemo_cli_cmd {
    const char *name;    /* what the user types: "db", "check" */
    mnemo_cli_cmd_fn fn; /* the entry point */
    const char *usage;   /* synopsis without "usage: ", e.g. "mnemo db check [--full]" */
    const char *summary; /* one line for command lists */
    const char *help;    /* the full help text printed by --help, ending in a newline */
};

/*
 * Per-process state, owned by main() on its stack. Fields are filled lazily: home and
 * db_path by mnemo__cli_home, so `mnemo help` works even where no home can be resolved.
 */
struct mnemo_cli {
    const struct mnemo_cli_cmd *commands; /* the top-level table (borrowed, static) */
    size_t n_commands;
    struct mnemo_log *log; /* stderr logger at MNEMO_LOG_LEVEL; owned by main() */
    int have_home;         /* 1 once home and db_path are resolved */
    char home[MNEMO_CLI_PATH_MAX];
    char db_path[MNEMO_CLI_PATH_MAX];
};

/* ---- commands (one cmd_<name>.c each) --------------------------------------------------- */

int cmd_add(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_archive(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_config(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_context(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_dashboard(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_db(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_doctor(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_edit(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_export(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_forget(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_help(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_hook(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_import(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_init(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_install(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_list(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_mcp(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_reembed(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_restart(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_search(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_serve(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_show(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_start(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_stats(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_status(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_statusline(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_stop(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_unarchive(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_uninstall(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);
int cmd_version(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv);

/* ---- command tables --------------------------------------------------------------------- */

/*
 * Finds name in a table sorted by strcmp order (binary search). Returns the entry or NULL.
 * main.c and cmd_db.c assert the order in debug builds.
 */
const struct mnemo_cli_cmd *mnemo__cli_find(const struct mnemo_cli_cmd *table, size_t n,
                                            const char *name);

/* True when table's names are strictly increasing (what mnemo__cli_find relies on). */
int mnemo__cli_table_sorted(const struct mnemo_cli_cmd *table, size_t n);

/*
 * Runs the subcommand of a command with subcommands (`mnemo db check`, `mnemo config get`):
 * the command's own options are --help/-h only (help prints the command's help), then
 * argv[optind] names an entry of table (n entries, sorted), which runs with the rest of the
 * arguments. A missing or unknown subcommand is a usage error naming what (e.g. "db").
 */
int mnemo__cli_run_subcommand(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                              char **argv, const struct mnemo_cli_cmd *table, size_t n,
                              int (*help)(const struct mnemo_cli_cmd *self), const char *what);

/* Prints the top-level usage and the command list to f (stdout for help, stderr on errors). */
void mnemo__cli_print_usage(const struct mnemo_cli *cli, FILE *f);

/* Prints "usage: <usage>" and the command's help text to stdout. Returns MNEMO_CLI_OK. */
int mnemo__cli_help(const struct mnemo_cli_cmd *cmd);

/*
 * Reports a usage error: "mnemo: <message>" and the command's usage line on stderr (the
 * top-level usage when cmd is NULL). Returns MNEMO_CLI_USAGE.
 */
int mnemo__cli_usage_error(const struct mnemo_cli *cli, const struct mnemo_cli_cmd *cmd,
                           const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Parses the options of a command that takes none besides --help/-h, and no arguments.
 * Returns -1 when the command should go on, or the status to exit with (help printed, or a
 * usage error reported).
 */
int mnemo__cli_parse_no_options(const struct mnemo_cli *cli, const struct mnemo_cli_cmd *self,
                                int argc, char **argv);

/*
 * Reports getopt_long's '?' or ':' result c for argv (parsed with the long options opts) as a
 * usage error naming the offending option: getopt's own messages are off so that every error
 * reads "mnemo: ...". Returns MNEMO_CLI_USAGE.
 */
int mnemo__cli_bad_option(const struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int c,
                          char **argv, const struct option *opts);

/* ---- messages ---------------------------------------------------------------------------- */

/* Prints "mnemo: <message>" on stderr and returns MNEMO_CLI_FAIL. */
int mnemo__cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prints a failed library call as "mnemo: <detail>", using err's message (or the code's text).
 * When the detail does not already name path (may be NULL), "<path>: " is put in front so
 * every error about a file says which file. Returns MNEMO_CLI_FAIL.
 */
int mnemo__cli_fail_err(const char *path, const struct mnemo_err *err, int rc);

/* Formats a byte count for people ("0 B", "512 B", "48.0 KiB", "4.0 MiB"). Returns buf. */
const char *mnemo__cli_fmt_bytes(int64_t bytes, char *buf, size_t size);

/* Formats a duration in nanoseconds as milliseconds ("0.05 ms", "12.3 ms"). Returns buf. */
const char *mnemo__cli_fmt_ms(int64_t ns, char *buf, size_t size);

/* ---- home and store --------------------------------------------------------------------- */

/*
 * Resolves the mnemo home once: $MNEMO_HOME when set and non-empty, else $HOME/.mnemo, else
 * the password database's home directory + "/.mnemo"; and the database path inside it.
 * Returns 0, or MNEMO_CLI_FAIL after printing why (no home found, path too long).
 */
int mnemo__cli_home(struct mnemo_cli *cli);

/*
 * Opens the store at cli->db_path with flags and the CLI's logger, printing nothing: the
 * result and detail are the caller's to report (doctor shows them as a check line).
 */
int mnemo__cli_store_try_open(struct mnemo_cli *cli, unsigned flags, struct mnemo_store **out,
                              struct mnemo_err *err);

/*
 * Opens the store at cli->db_path with flags (enum mnemo_store_flags) and the CLI's logger.
 * Without MNEMO_STORE_CREATE a missing database is reported as such ("run `mnemo init`")
 * before SQLite is asked. On failure prints the error and returns MNEMO_CLI_FAIL with *out
 * NULL; on success returns 0 and the caller closes *out with mnemo__cli_store_close.
 * mnemo__cli_home must have succeeded.
 */
int mnemo__cli_store_open(struct mnemo_cli *cli, unsigned flags, struct mnemo_store **out);

/*
 * Closes the store (NULL is a no-op). A failed final checkpoint does not fail a one-shot
 * command: the data is safe in the WAL and the next open or checkpoint folds it in, so it is
 * logged as a warning only.
 */
void mnemo__cli_store_close(struct mnemo_cli *cli, struct mnemo_store *st);

/* ---- memory commands (cli_memory.c) ------------------------------------------------------ */

/* What mnemo__cli_mem_open builds besides the store. */
enum mnemo_cli_mem_flags {
    MNEMO_CLI_MEM_PRIVACY = 1u << 0, /* the redactor, for commands that store text */
    MNEMO_CLI_MEM_EMBED = 1u << 1,   /* the embedder (MNEMO_EMBED_* variables, default hash) */
};

/* What a memory command works with; owned by the command, released by mnemo__cli_mem_close. */
struct mnemo_cli_mem {
    struct mnemo_store *st;
    struct mnemo_privacy *priv; /* NULL unless MNEMO_CLI_MEM_PRIVACY */
    struct mnemo_embedder *emb; /* NULL unless MNEMO_CLI_MEM_EMBED */
};

/*
 * Resolves the home, opens the existing store (with the memory migrations) and builds what
 * flags ask for. On failure prints the error, releases everything and returns
 * MNEMO_CLI_FAIL; on success returns 0.
 */
int mnemo__cli_mem_open(struct mnemo_cli *cli, unsigned flags, struct mnemo_cli_mem *m);

/* Releases everything m holds (each part may be NULL) and zeroes it. */
void mnemo__cli_mem_close(struct mnemo_cli *cli, struct mnemo_cli_mem *m);

/*
 * The project a command works on: flag (--project) when given, else $MNEMO_PROJECT when set and
 * non-empty, else the identity of the working directory (memory/project.h). out holds
 * MNEMO_PROJECT_SIZE bytes. Returns 0, or MNEMO_CLI_FAIL after printing why.
 */
int mnemo__cli_project(const char *flag, char out[MNEMO_PROJECT_SIZE]);

/* Parses an observation id (a positive decimal, optionally written "#12"). 0 or -1. */
int mnemo__cli_parse_id(const char *s, int64_t *out);

/* Parses a decimal integer in [lo, hi]. 0 or -1. */
int mnemo__cli_parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out);

/*
 * Parses --since: a duration before now_ms ("30m", "12h", "7d", "2w") or a UTC date
 * "YYYY-MM-DD" (midnight). Stores Unix milliseconds in *out. 0 or -1.
 */
int mnemo__cli_parse_since(const char *s, int64_t now_ms, int64_t *out);

/*
 * Reads all of f (at most max bytes) into a malloc'd NUL-terminated buffer. Returns 0, or
 * MNEMO_CLI_FAIL after printing why (name says what was read, e.g. "standard input").
 */
int mnemo__cli_read_stream(FILE *f, const char *name, size_t max, char **out, size_t *len);

/*
 * Parses buf as JSON documents: one object, an array of objects, or JSON Lines (one object per
 * non-blank line). Returns a new array of the documents, or NULL with the problem (and its line)
 * in msg. The items are not checked to be objects.
 */
json_t *mnemo__cli_parse_docs(const char *buf, size_t len, char *msg, size_t msg_size);

/* Prints j as one compact line on stdout and releases it. MNEMO_CLI_FAIL on NULL or error. */
int mnemo__cli_print_json(json_t *j);

/* Prints the header of an observation table; with_score adds a SCORE column. */
void mnemo__cli_obs_table_header(int with_score);

/* Prints one observation as a table row (title cut to fit, with an ellipsis). */
void mnemo__cli_obs_table_row(const struct mnemo_obs *o, int with_score, double score);

/* Prints every field of o, one "name: value" line each, for `mnemo show`. */
void mnemo__cli_obs_print_full(const struct mnemo_obs *o);

/*
 * Builds the vector index of the current embedding model's vectors (live observations) for a
 * search. *out is NULL (keyword-only search) when m has no embedder or embeddings are off.
 * Returns 0 or the index/store error; the caller frees *out with mnemo_vindex_close.
 */
int mnemo__cli_vindex_build(struct mnemo_cli_mem *m, struct mnemo_vindex **out,
                            struct mnemo_err *err);

/*
 * Embeds every observation lacking a vector of the embedder's model, oldest first, in batches;
 * progress on stderr when show_progress. *done (may be NULL) counts the vectors written. Returns
 * 0, or MNEMO_CLI_FAIL after printing the error (the vectors written so far stay: a rerun only
 * does the rest).
 */
int mnemo__cli_embed_missing(struct mnemo_cli_mem *m, int show_progress, int64_t *done);

#endif
