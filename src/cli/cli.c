/*
 * cli.c - helpers shared by the mnemo commands: command tables, usage and help, error
 * messages, formatting, the home directory and opening the store.
 */
#include <errno.h>
#include <assert.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "memory/schema.h"
#include "util/fs.h"

/* ---- command tables --------------------------------------------------------------------- */

/* Comparison for bsearch: the key is a name, the element a table row. */
static int cmd_compare(const void *key, const void *elem)
{
    const struct mnemo_cli_cmd *cmd = elem;
    return strcmp(key, cmd->name);
}

const struct mnemo_cli_cmd *mnemo__cli_find(const struct mnemo_cli_cmd *table, size_t n,
                                            const char *name)
{
    return bsearch(name, table, n, sizeof *table, cmd_compare);
}

int mnemo__cli_table_sorted(const struct mnemo_cli_cmd *table, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (strcmp(table[i - 1].name, table[i].name) >= 0)
            return 0;
    }
    return 1;
}

void mnemo__cli_print_usage(const struct mnemo_cli *cli, FILE *f)
{
    fputs("usage: mnemo [--help] [--version] <command> [<args>]\n"
          "\n"
          "mnemo gives AI coding agents a memory that survives sessions.\n"
          "\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < cli->n_commands; i++)
        fprintf(f, "  %-10s %s\n", cli->commands[i].name, cli->commands[i].summary);
    fputs("\n"
          "Run 'mnemo <command> --help' or 'mnemo help <command>' for a command's help.\n"
          "Environment: MNEMO_HOME (default ~/.mnemo), MNEMO_LOG_LEVEL (debug, info, warn, error;\n"
          "default warn).\n",
          f);
}

int mnemo__cli_help(const struct mnemo_cli_cmd *cmd)
{
    printf("usage: %s\n\n%s", cmd->usage, cmd->help);
    return MNEMO_CLI_OK;
}

int mnemo__cli_usage_error(const struct mnemo_cli *cli, const struct mnemo_cli_cmd *cmd,
                           const char *fmt, ...)
{
    va_list ap;
    fputs("mnemo: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cmd != NULL)
        fprintf(stderr, "usage: %s\nRun 'mnemo help' for the list of commands.\n", cmd->usage);
    else
        mnemo__cli_print_usage(cli, stderr);
    return MNEMO_CLI_USAGE;
}

/*
 * True when getopt_long's error is about the long option in arg: glibc sets optopt to 0 for an
 * unknown long option and to the option's val for a known one used wrongly ("--full=x"), and
 * accepts unambiguous abbreviations ("--fu").
 */
static int error_is_long(const char *arg, const struct option *opts)
{
    if (arg == NULL || strncmp(arg, "--", 2) != 0)
        return 0;
    if (optopt == 0)
        return 1;
    size_t n = strcspn(arg + 2, "=");
    for (const struct option *o = opts; o->name != NULL; o++) {
        if (o->val == optopt && n > 0 && strncmp(o->name, arg + 2, n) == 0)
            return 1;
    }
    return 0;
}

int mnemo__cli_bad_option(const struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int c,
                          char **argv, const struct option *opts)
{
    /*
     * getopt_long has already moved optind past a bad long option, so argv[optind - 1] is it;
     * a bad short option may sit inside a cluster ("-xf"), so it is named by optopt alone.
     */
    const char *arg = optind > 0 ? argv[optind - 1] : NULL;

    if (error_is_long(arg, opts)) {
        int n = (int)strcspn(arg, "=");
        if (c == ':')
            return mnemo__cli_usage_error(cli, self, "option '%.*s' needs a value", n, arg);
        if (optopt != 0)
            return mnemo__cli_usage_error(cli, self, "option '%.*s' takes no value", n, arg);
        return mnemo__cli_usage_error(cli, self, "unknown option '%s'", arg);
    }
    if (c == ':')
        return mnemo__cli_usage_error(cli, self, "option '-%c' needs a value", optopt);
    return mnemo__cli_usage_error(cli, self, "unknown option '-%c'", optopt);
}

int mnemo__cli_parse_no_options(const struct mnemo_cli *cli, const struct mnemo_cli_cmd *self,
                                int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };

    /* optind = 0 makes glibc's getopt start afresh: main() already parsed its own options. */
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
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);
    return -1;
}

/* ---- messages ---------------------------------------------------------------------------- */

int mnemo__cli_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("mnemo: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return MNEMO_CLI_FAIL;
}

int mnemo__cli_fail_err(const char *path, const struct mnemo_err *err, int rc)
{
    const char *text = mnemo_err_text(err, rc);
    if (path != NULL && strstr(text, path) == NULL)
        return mnemo__cli_fail("'%s': %s", path, text);
    return mnemo__cli_fail("%s", text);
}

const char *mnemo__cli_fmt_bytes(int64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};

    if (bytes < 1024) {
        snprintf(buf, size, "%lld B", (long long)bytes);
        return buf;
    }
    double v = (double)bytes / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

const char *mnemo__cli_fmt_ms(int64_t ns, char *buf, size_t size)
{
    snprintf(buf, size, "%.2f ms", (double)ns / 1e6);
    return buf;
}

/* ---- home and store --------------------------------------------------------------------- */

/* Removes trailing slashes from path, keeping a lone "/". */
static void strip_trailing_slashes(char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
}

int mnemo__cli_home(struct mnemo_cli *cli)
{
    if (cli->have_home)
        return 0;

    const char *env = getenv("MNEMO_HOME");
    int n;
    if (env != NULL && env[0] != '\0') {
        n = snprintf(cli->home, sizeof cli->home, "%s", env);
    } else {
        /* getpwuid_r with a caller buffer: getpwuid's static result is not ours to keep. */
        char pwbuf[16384];
        struct passwd pw;
        struct passwd *res = NULL;
        const char *base = getenv("HOME");
        if (base == NULL || base[0] == '\0') {
            int e = getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res);
            if (e != 0 || res == NULL || pw.pw_dir == NULL || pw.pw_dir[0] == '\0')
                return mnemo__cli_fail("cannot find a home directory: set HOME or MNEMO_HOME");
            base = pw.pw_dir;
        }
        size_t blen = strlen(base);
        const char *sep = blen > 0 && base[blen - 1] == '/' ? "" : "/";
        n = snprintf(cli->home, sizeof cli->home, "%s%s.mnemo", base, sep);
    }
    if (n < 0 || (size_t)n >= sizeof cli->home)
        return mnemo__cli_fail("home directory path is too long (over %d bytes)",
                               MNEMO_CLI_PATH_MAX - 1);
    strip_trailing_slashes(cli->home);

    const char *sep = strcmp(cli->home, "/") == 0 ? "" : "/";
    n = snprintf(cli->db_path, sizeof cli->db_path, "%s%s%s", cli->home, sep, MNEMO_CLI_DB_NAME);
    if (n < 0 || (size_t)n >= sizeof cli->db_path)
        return mnemo__cli_fail("database path in '%s' is too long", cli->home);
    cli->have_home = 1;
    return 0;
}

int mnemo__cli_store_try_open(struct mnemo_cli *cli, unsigned flags, struct mnemo_store **out,
                              struct mnemo_err *err)
{
    struct mnemo_store_config cfg;
    /* Every command that opens the store brings the schema up to date, so `init` creates the
     * memory tables and `doctor`/`db` report the version the memory commands need. */
    mnemo_memory_store_config(&cfg, cli->db_path, flags);
    cfg.log = cli->log;
    return mnemo_store_open(&cfg, out, err);
}

int mnemo__cli_store_open(struct mnemo_cli *cli, unsigned flags, struct mnemo_store **out)
{
    struct mnemo_err err;

    *out = NULL;
    mnemo_err_clear(&err);
    if (!(flags & MNEMO_STORE_CREATE) && !mnemo_fs_exists(cli->db_path))
        return mnemo__cli_fail("no database at '%s' (run `mnemo init`)", cli->db_path);
    int rc = mnemo__cli_store_try_open(cli, flags, out, &err);
    if (rc != 0) {
        *out = NULL;
        return mnemo__cli_fail_err(cli->db_path, &err, rc);
    }
    return 0;
}

void mnemo__cli_store_close(struct mnemo_cli *cli, struct mnemo_store *st)
{
    if (st == NULL)
        return;
    char qpath[MNEMO_CLI_PATH_MAX + 8];
    int rc = mnemo_store_close(st);
    if (rc != 0)
        mnemo_log_write(cli->log, MNEMO_LOG_WARN, "final checkpoint at close did not finish",
                        "path=%s rc=%s", mnemo_log_quote(qpath, sizeof qpath, cli->db_path),
                        mnemo_rcname(rc));
}

int mnemo__cli_run_subcommand(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                              char **argv, const struct mnemo_cli_cmd *table, size_t n,
                              int (*help)(const struct mnemo_cli_cmd *self), const char *what)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };

    assert(mnemo__cli_table_sorted(table, n));
    /* "+" stops at the subcommand, whose options are its own. */
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "+:h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return help(self);
        return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, self, "%s needs a subcommand", what);

    const char *name = argv[optind];
    const struct mnemo_cli_cmd *sub = mnemo__cli_find(table, n, name);
    if (sub == NULL)
        return mnemo__cli_usage_error(cli, self, "'%s' is not a %s subcommand", name, what);
    return sub->fn(cli, sub, argc - optind, argv + optind);
}
