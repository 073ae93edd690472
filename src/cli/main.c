/*
 * main.c - mnemo's entry point: the command table, global options and dispatch.
 *
 * `mnemo [--help] [--version] <command> [<args>]`. Global options stop at the first
 * non-option ("+" in the option string), so each command parses the rest with its own
 * getopt_long. Exit statuses: 0 success, 1 failure, 2 usage error.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/log.h"

/* The top-level commands, sorted by name (mnemo__cli_find searches them with bsearch). */
static const struct mnemo_cli_cmd commands[] = {
    {
        "add",
        cmd_add,
        "mnemo add --title T --type TYPE [<observation flags>] [--json] | mnemo add --json < FILE",
        "store an observation (from flags, or JSON on stdin)",
        "Stores one observation and prints its id, or `duplicate of #N` when the project already\n"
        "holds one with the same title, narrative and facts. Every text is cleaned first:\n"
        "<private> blocks are removed and secrets are replaced by [REDACTED:<rule>]. The\n"
        "observation is embedded in the same run, so the vector side of search sees it at once.\n"
        "\n"
        "--json prints {\"id\":N,\"uuid\":\"...\",\"duplicate\":false} instead of the id. Given\n"
        "without observation flags, it reads one JSON object, an array, or JSON Lines from stdin\n"
        "(the fields of `mnemo export`), checks them all before storing any, and prints one\n"
        "such line per observation.\n"
        "\n"
        "observation flags:\n"
        "  --title T            the title (required for add)\n"
        "  --type TYPE          decision, bugfix, feature, refactor, discovery or change\n"
        "  --subtitle S         a one-line subtitle\n"
        "  --narrative N        the full story\n"
        "  --fact F             a fact (repeatable)\n"
        "  --concept C          a concept tag such as gotcha or best-practice (repeatable)\n"
        "  --file-read P        a file read (repeatable)\n"
        "  --file-modified P    a file modified (repeatable)\n"
        "  --scope S            project or global (default: the scope rule)\n"
        "  --project P          the project (default: $MNEMO_PROJECT, else the git top level)\n",
    },
    {
        "archive",
        cmd_archive,
        "mnemo archive ID [--reason R]",
        "hide an observation from lists, search and context",
        "Archives observation ID: it no longer appears in list, search or injected context, but\n"
        "`mnemo show ID` still prints it and `mnemo unarchive ID` brings it back.\n",
    },
    {
        "config",
        cmd_config,
        "mnemo config get KEY | set KEY VALUE | unset KEY | list [--json]",
        "read and change settings (config.json, MNEMO_<KEY> variables)",
        "Reads and changes the settings in $MNEMO_HOME/config.json. Every key has a built-in\n"
        "default; the file overrides it and the variable MNEMO_<KEY> (the key upper-cased, dots\n"
        "as underscores: MNEMO_TCP_LISTEN) overrides both. `set` checks the value first and\n"
        "replaces the file atomically; `unset` returns a key to its default. A running worker\n"
        "takes changes on SIGHUP (`kill -HUP <pid>`) or `mnemo restart`; listener addresses\n"
        "need the restart. See `mnemo config <subcommand> --help`.\n",
    },
    {
        "context",
        cmd_context,
        "mnemo context [--prompt TEXT] [--project P]",
        "print exactly what mnemo would inject into an agent",
        "Without --prompt prints the session-start index of the project (its most important\n"
        "observations and the global ones); with --prompt prints the memory block a prompt with\n"
        "that text would receive (the prompt is cleaned first, as the hook does). Prints\n"
        "nothing when nothing would be injected.\n"
        "\n"
        "options:\n"
        "  --prompt TEXT   the prompt to find memories for\n"
        "  --project P     this project (default: $MNEMO_PROJECT, else the git top level)\n",
    },
    {
        "dashboard",
        cmd_dashboard,
        "mnemo dashboard [--no-open]",
        "print the dashboard's address (with its token) and open it in the browser",
        "Prints http://127.0.0.1:37777/?token=... (the address of tcp.listen with the token of\n"
        "$MNEMO_HOME/token) and opens it with xdg-open when a display is available. The worker\n"
        "trades the token for a cookie and drops it from the address bar. The worker must be\n"
        "running (`mnemo start`) with its TCP listener on (tcp.listen is not off).\n"
        "\n"
        "The dashboard shows the timeline of observations, prompts and summaries (live), search\n"
        "with score explanations, each observation (edit, archive, delete, feedback, related),\n"
        "health charts (WAL, checkpoints, store P95, queue, maintenance, embedder, LLM budget)\n"
        "and per-project statistics, and runs maintenance, checkpoints and exports.\n"
        "\n"
        "options:\n"
        "  --no-open   only print the address\n",
    },
    {
        "db",
        cmd_db,
        "mnemo db <check|checkpoint|optimize|stats> [<options>]",
        "inspect and maintain the database: check, checkpoint, optimize, stats",
        "Inspects and maintains the database in $MNEMO_HOME/mnemo.db. Each subcommand opens the\n"
        "existing database (run `mnemo init` first), does its work through the store and closes\n"
        "it again; SQLite's locks make this safe while other mnemo processes use the database.\n",
    },
    {
        "doctor",
        cmd_doctor,
        "mnemo doctor",
        "check the home, the database and the disk, and say how to fix problems",
        "Checks mnemo's home directory, database and disk and prints one line per check,\n"
        "marked ok, warn or FAIL, with the fix for anything that is not ok:\n"
        "\n"
        "  home       the home directory exists, is yours and has mode 0700\n"
        "  database   the database file exists (doctor never creates it)\n"
        "  store      the database opens, and its schema version\n"
        "  health     the store's health check and the latency of its probe query\n"
        "  wal        the write-ahead log is within the checkpoint threshold\n"
        "  disk       free space on the home's file system (warns under 1 GiB or 5 %)\n"
        "  sqlite     the SQLite library in use\n"
        "\n"
        "The last line sums up: healthy, degraded (warnings only) or the number of problems.\n"
        "Exits 0 when no check failed, 1 otherwise.\n",
    },
    {
        "edit",
        cmd_edit,
        "mnemo edit ID [<observation flags>] [--json]",
        "change some fields of an observation",
        "Sets the fields given by the flags and leaves the others as they are; a list flag\n"
        "(--fact, --concept, --file-read, --file-modified) replaces that whole list. Texts are\n"
        "cleaned as in `mnemo add`, and the observation is embedded again. With --json prints\n"
        "the updated observation as JSON.\n"
        "\n"
        "observation flags:\n"
        "  --title T            the title (required for add)\n"
        "  --type TYPE          decision, bugfix, feature, refactor, discovery or change\n"
        "  --subtitle S         a one-line subtitle\n"
        "  --narrative N        the full story\n"
        "  --fact F             a fact (repeatable)\n"
        "  --concept C          a concept tag such as gotcha or best-practice (repeatable)\n"
        "  --file-read P        a file read (repeatable)\n"
        "  --file-modified P    a file modified (repeatable)\n"
        "  --scope S            project or global (default: the scope rule)\n"
        "  --project P          the project (default: $MNEMO_PROJECT, else the git top level)\n",
    },
    {
        "export",
        cmd_export,
        "mnemo export [--format jsonl|json|csv|markdown] [--project P] [--archived]",
        "write observations to stdout (jsonl, json, csv or markdown)",
        "Writes every observation (of one project with --project; archived ones too with\n"
        "--archived) to stdout, oldest first, in a stable field order. jsonl (the default) and\n"
        "json are what `mnemo import` reads; csv quotes as RFC 4180 (lists as JSON arrays);\n"
        "markdown is for reading.\n",
    },
    {
        "forget",
        cmd_forget,
        "mnemo forget ID",
        "delete an observation and its vectors",
        "Deletes observation ID for good, with its vectors and relations. To hide it but keep\n"
        "it, use `mnemo archive`.\n",
    },
    {
        "help",
        cmd_help,
        "mnemo help [<command> [<subcommand>]]",
        "show the list of commands, or one command's help",
        "Without arguments prints the usage and the list of commands. With a command (and, for\n"
        "`db`, a subcommand) prints that command's help, like `mnemo <command> --help`.\n",
    },
    {
        "hook",
        cmd_hook,
        "mnemo hook <event> [--agent claude|codex|gemini|cursor]",
        "run as an agent's hook: send the event to the worker, print the context",
        "Reads the agent's hook JSON on stdin, sends it to the worker in one request over\n"
        "$MNEMO_HOME/mnemo.sock and prints exactly what the agent accepts (the memory context for\n"
        "session-start and user-prompt-submit). Events: session-start, user-prompt-submit,\n"
        "post-tool-use, stop, subagent-stop, session-end, pre-compact.\n"
        "\n"
        "It fails open: every run ends within its deadline (session-start 2000 ms,\n"
        "user-prompt-submit 1000, post-tool-use 300, stop and subagent-stop 1000, session-end\n"
        "and pre-compact 800; MNEMO_HOOK_TIMEOUT_MS overrides them all) and exits 0 whatever\n"
        "happens, printing the agent's minimal output when the worker is missing, slow or\n"
        "failing. Problems go to $MNEMO_HOME/logs/hooks.log, never to stdout. When no worker\n"
        "runs it starts one in the background (at most once per 10 s; MNEMO_AUTOSTART=0 turns\n"
        "that off). MNEMO_DISABLED=1, MNEMO_INTERNAL=1 or a .mnemo-ignore file in the project\n"
        "make it a no-op.\n"
        "\n"
        "options:\n"
        "  --agent A   the agent running the hook: claude (default), codex, gemini or cursor\n",
    },
    {
        "import",
        cmd_import,
        "mnemo import FILE",
        "import observations written by `mnemo export` (jsonl or json)",
        "Imports the observations in FILE (`-` for stdin), as written by `mnemo export\n"
        "--format jsonl` or `--format json`. Each keeps its uuid, timestamps and archive state;\n"
        "texts are cleaned as in `mnemo add`. An observation whose uuid, or whose content in\n"
        "the same project, is already stored is skipped, so importing twice adds nothing.\n"
        "Imported observations are embedded. Prints imported, skipped and failed counts; exits\n"
        "1 when any failed. Shows progress on stderr when it is a terminal.\n",
    },
    {
        "init",
        cmd_init,
        "mnemo init",
        "create the mnemo home and the database",
        "Creates the mnemo home directory with mode 0700 and the database in it, and prints\n"
        "the database's path. Running it again is safe: an existing home and database are kept\n"
        "as they are (a home with looser permissions gets a warning, not a change).\n"
        "\n"
        "The home is $MNEMO_HOME, or ~/.mnemo when MNEMO_HOME is not set.\n",
    },
    {
        "install",
        cmd_install,
        "mnemo install claude|codex|gemini|cursor [--user|--project] [--command PATH] [--dry-run]",
        "add mnemo's hooks and MCP server to an agent's configuration",
        "Merges mnemo's hooks (`mnemo hook <event> --agent <agent>`) and its MCP server\n"
        "(`mnemo mcp`) into the agent's own configuration files, keeping every other entry:\n"
        "\n"
        "  claude  ~/.claude/settings.json and ~/.claude.json (project: .claude/settings.json\n"
        "          and .mcp.json)\n"
        "  codex   ~/.codex/hooks.json and ~/.codex/config.toml ([mcp_servers.mnemo])\n"
        "  gemini  ~/.gemini/settings.json\n"
        "  cursor  ~/.cursor/hooks.json and ~/.cursor/mcp.json (project: also\n"
        "          .cursor/rules/mnemo.mdc)\n"
        "\n"
        "With --user, CLAUDE_CONFIG_DIR and CODEX_HOME move those agents' files as they move\n"
        "them for the agents themselves.\n"
        "\n"
        "Before the first change of an existing file it is copied to <file>.mnemo-backup, and\n"
        "<file>.mnemo-install records what was written, so `mnemo uninstall` can undo it\n"
        "exactly. Running install again replaces mnemo's entries (never duplicates them) and\n"
        "gives the same bytes. A file that cannot be parsed is reported and nothing is changed.\n"
        "\n"
        "options:\n"
        "  --user          the user's configuration under $HOME (the default)\n"
        "  --project       the project's configuration under the current directory\n"
        "  --command PATH  the mnemo binary the agent runs (default: this binary)\n"
        "  --dry-run       say what would change and write nothing\n",
    },
    {
        "list",
        cmd_list,
        "mnemo list [--project P|--all-projects] [--type T] [--since S] [--limit N] [--archived] "
        "[--json]",
        "list the newest observations",
        "Lists the newest observations of the project (see --project), newest first, as a\n"
        "table; --json prints one JSON object per line instead.\n"
        "\n"
        "options:\n"
        "  --project P       this project (default: $MNEMO_PROJECT, else the git top level)\n"
        "  --all-projects    every project\n"
        "  --type T          only this type\n"
        "  --since S         created since a date (YYYY-MM-DD, UTC) or a duration ago (30m, 12h,\n"
        "                    7d, 2w)\n"
        "  --limit N         at most N rows (default 50, at most 1000)\n"
        "  --archived        include archived observations\n"
        "  --json            JSON Lines output\n",
    },
    {
        "mcp",
        cmd_mcp,
        "mnemo mcp [--project P]",
        "run the MCP server on stdin/stdout (what an agent starts)",
        "Serves the Model Context Protocol over stdin and stdout (JSON-RPC, one message per\n"
        "line): the tools search, timeline, get_observations, save_memory and memory_admin,\n"
        "forwarded to the worker on $MNEMO_HOME/mnemo.sock. It answers the legacy initialize\n"
        "handshake (protocol versions 2024-11-05 to 2025-11-25) and the stateless\n"
        "server/discover of 2026-07-28. Logs go to stderr only. It exits when stdin ends or\n"
        "when the process that started it dies. When the worker is not running the tools say\n"
        "so (start it with `mnemo start`).\n"
        "\n"
        "options:\n"
        "  --project P    the default project of search and save_memory (default:\n"
        "                 $MNEMO_PROJECT, else the git top level of the working directory)\n",
    },
    {
        "reembed",
        cmd_reembed,
        "mnemo reembed",
        "embed every observation that lacks a vector of the current model",
        "Embeds, oldest first, every observation without a vector of the current embedding\n"
        "model (MNEMO_EMBED_* variables; the built-in hash model by default). It only does the\n"
        "missing ones, so an interrupted run is resumed by running it again. Prints how many\n"
        "it embedded.\n",
    },
    {
        "restart",
        cmd_restart,
        "mnemo restart [--tcp ADDR|off]",
        "stop the worker (if it runs) and start it again in the background",
        "Does `mnemo stop` and then `mnemo start`: the running worker is asked to stop and\n"
        "given up to 10 s to finish, then a new one is started detached. Exits 1 when the old\n"
        "worker does not stop or the new one does not start.\n"
        "\n"
        "options:\n"
        "  --tcp ADDR|off    the TCP listener for this run (see `mnemo serve`)\n",
    },
    {
        "search",
        cmd_search,
        "mnemo search QUERY [--project P] [--limit N] [--json] [--explain]",
        "find observations by keywords and vector similarity",
        "Searches the live observations of the project (and global ones) with full-text search\n"
        "and vectors together, fused into one ranking, and prints the best as a table.\n"
        "\n"
        "options:\n"
        "  --project P    this project (default: $MNEMO_PROJECT, else the git top level)\n"
        "  --limit N      at most N results (default 10, at most 200)\n"
        "  --json         JSON Lines output, each with its score components\n"
        "  --explain      show each result's score components\n",
    },
    {
        "serve",
        cmd_serve,
        "mnemo serve [--daemon] [--tcp ADDR|off]",
        "run the worker (in the foreground, or detached with --daemon)",
        "Runs the worker: the long-lived process that owns the database and serves the HTTP API\n"
        "on the Unix socket $MNEMO_HOME/mnemo.sock and, unless tcp.listen is off, on TCP\n"
        "127.0.0.1:37777 (every route but /v1/health needs the token in $MNEMO_HOME/token). The\n"
        "home and the database are created when missing. One worker runs per home: a second\n"
        "one exits 1 naming the running worker's pid.\n"
        "\n"
        "In the foreground it logs to stderr and stops on SIGTERM or Ctrl-C (requests in flight\n"
        "finish, the database is checkpointed and closed, no -wal file remains). SIGHUP reloads\n"
        "config.json. With --daemon it detaches (new session, every inherited descriptor\n"
        "closed), logs to $MNEMO_HOME/logs/worker.log (rotated at log.max_bytes), and the\n"
        "command returns once the worker listens, printing its pid.\n"
        "\n"
        "options:\n"
        "  --daemon          detach and run in the background\n"
        "  --tcp ADDR|off    TCP listener for this run, instead of tcp.listen: HOST:PORT,\n"
        "                    [IPV6]:PORT (port 0 picks a free one) or off. An address beyond\n"
        "                    loopback is served only because you asked for it, and always\n"
        "                    with the token\n",
    },
    {
        "show",
        cmd_show,
        "mnemo show ID [--json]",
        "print every field of an observation",
        "Prints every field of observation ID, archived or not; --json prints it as JSON.\n",
    },
    {
        "start",
        cmd_start,
        "mnemo start [--tcp ADDR|off]",
        "start the worker in the background unless it already runs",
        "Starts the worker detached, like `mnemo serve --daemon`, and prints `mnemo worker\n"
        "started (pid N)` once it listens. When a worker already runs on this home it prints\n"
        "`mnemo worker already running (pid N)` and exits 0 as well.\n"
        "\n"
        "options:\n"
        "  --tcp ADDR|off    the TCP listener for this run (see `mnemo serve`)\n",
    },
    {
        "stats",
        cmd_stats,
        "mnemo stats [--json]",
        "count observations by project, type and scope, and vectors by model",
        "Prints the number of observations by project, type and scope, how many are archived\n"
        "and superseded, the vectors by model, and the database and WAL sizes.\n",
    },
    {
        "status",
        cmd_status,
        "mnemo status [--json]",
        "say whether the worker runs and whether it is ready",
        "Prints whether a worker runs on this home, its pid and socket, and what its\n"
        "/v1/health answers over the socket: status (starting, ready, error or stopping),\n"
        "readiness, version and any start-up error. Exits 0 when the worker runs and is ready,\n"
        "1 otherwise (not running, unreachable, starting or failed).\n"
        "\n"
        "options:\n"
        "  --json    one JSON object: {running, pid, socket, ready, health}\n",
    },
    {
        "statusline",
        cmd_statusline,
        "mnemo statusline",
        "print one line for Claude Code's status line (never starts the worker)",
        "Prints one line for Claude Code's status line, such as\n"
        "`mnemo: 1,234 memories \xc2\xb7 queue 0 \xc2\xb7 ready`, from the running worker over the Unix\n"
        "socket within 30 ms: /metrics for readiness and the queue, /v1/stats for the count at\n"
        "most once a minute (kept in $MNEMO_HOME/statusline.cache; `~N` is the vector index's\n"
        "size when the count could not be had in time). Says `mnemo: worker stopped` (or\n"
        "starting, busy) when the worker cannot answer. It never starts the worker and never\n"
        "opens the database, reads only what is already on stdin, and always exits 0. In\n"
        "~/.claude/settings.json:\n"
        "\n"
        "  \"statusLine\": {\"type\": \"command\", \"command\": \"mnemo statusline\"}\n",
    },
    {
        "stop",
        cmd_stop,
        "mnemo stop",
        "stop the running worker",
        "Sends SIGTERM to the worker of this home and waits up to 10 s for it to finish\n"
        "(requests in flight complete, the database is checkpointed and closed). Prints\n"
        "`mnemo worker stopped (pid N)`, or `mnemo worker is not running` and exits 0 when\n"
        "there is none, so scripts may call it unconditionally. Exits 1 when the worker is\n"
        "still running after 10 s.\n",
    },
    {
        "unarchive",
        cmd_unarchive,
        "mnemo unarchive ID",
        "bring an archived observation back",
        "Clears the archive flag of observation ID, so it shows in list, search and context\n"
        "again.\n",
    },
    {
        "uninstall",
        cmd_uninstall,
        "mnemo uninstall claude|codex|gemini|cursor [--user|--project] [--dry-run]",
        "remove what `mnemo install` added to an agent's configuration",
        "Removes exactly what `mnemo install` added. A file install created is deleted; a file\n"
        "that still holds exactly what install wrote gets its original back byte for byte\n"
        "(from <file>.mnemo-backup). A file changed since install (by you or the agent) keeps\n"
        "those changes: only mnemo's hooks and MCP server are taken out (JSON is written back\n"
        "with the file's indentation; the backup is kept). Each changed file is named.\n"
        "\n"
        "options:\n"
        "  --user          the user's configuration under $HOME (the default)\n"
        "  --project       the project's configuration under the current directory\n"
        "  --dry-run       say what would change and write nothing\n",
    },
    {
        "version",
        cmd_version,
        "mnemo version",
        "print the versions of mnemo and of SQLite",
        "Prints mnemo's version and the version of the SQLite library it runs with, as\n"
        "`mnemo <version> (sqlite <version>)`. `mnemo --version` does the same.\n",
    },
};

/*
 * Opens the stderr logger at MNEMO_LOG_LEVEL (default warn). An unknown level is reported
 * and replaced by the default rather than refused: a typo in the environment should not
 * stop a command that hooks may depend on.
 */
static int open_logger(struct mnemo_cli *cli)
{
    enum mnemo_log_level level = MNEMO_LOG_WARN;
    const char *env = getenv("MNEMO_LOG_LEVEL");
    if (env != NULL && env[0] != '\0' && mnemo_log_level_parse(env, &level) != 0) {
        fprintf(stderr,
                "mnemo: ignoring MNEMO_LOG_LEVEL='%s' (expected debug, info, warn or error)\n",
                env);
        level = MNEMO_LOG_WARN;
    }

    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = mnemo_log_open(NULL, level, &cli->log, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    return 0;
}

/*
 * Flushes stdout and reports a failed write (a full disk, a closed pipe): a command whose
 * output was lost must not exit 0.
 */
static int finish_stdout(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        mnemo__cli_fail("cannot write to standard output: %s", strerror(e));
        if (status == MNEMO_CLI_OK)
            status = MNEMO_CLI_FAIL;
    }
    return status;
}

/* Parses the global options and runs the command. Returns the exit status. */
static int dispatch(struct mnemo_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *forced = NULL;

    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "+:hV", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h' || c == 'V') {
            forced = c == 'h' ? "help" : "version";
            break;
        }
        return mnemo__cli_bad_option(cli, NULL, c, argv, opts);
    }

    if (forced != NULL) {
        /*
         * `mnemo --help [<command>]` is `mnemo help [<command>]`. The option itself stands in
         * as the command's argv[0], which getopt_long never looks at.
         */
        const struct mnemo_cli_cmd *cmd = mnemo__cli_find(cli->commands, cli->n_commands, forced);
        assert(cmd != NULL);
        return cmd->fn(cli, cmd, argc - optind + 1, argv + optind - 1);
    }
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, NULL, "no command given");

    const char *name = argv[optind];
    const struct mnemo_cli_cmd *cmd = mnemo__cli_find(cli->commands, cli->n_commands, name);
    if (cmd == NULL)
        return mnemo__cli_usage_error(cli, NULL, "'%s' is not a mnemo command", name);
    return cmd->fn(cli, cmd, argc - optind, argv + optind);
}

int main(int argc, char **argv)
{
    struct mnemo_cli cli;

    /* Memories are private: the database, its -wal/-shm and anything else mnemo creates are
     * readable by the user alone, whatever the login shell's umask. */
    umask(077);
    memset(&cli, 0, sizeof cli);
    cli.commands = commands;
    cli.n_commands = sizeof commands / sizeof commands[0];
    assert(mnemo__cli_table_sorted(cli.commands, cli.n_commands));

    int status = open_logger(&cli);
    if (status == 0)
        status = dispatch(&cli, argc, argv);
    status = finish_stdout(status);
    mnemo_log_close(cli.log);
    return status;
}
