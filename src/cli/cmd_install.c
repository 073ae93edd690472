/*
 * cmd_install.c - `mnemo install <agent>` and `mnemo uninstall <agent>`: write or remove
 * mnemo's hooks and MCP server in an agent's configuration (agent/install.h does the work;
 * this file parses the arguments, finds the directories and the binary, and says what changed).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/install.h"
#include "cli/cli.h"

struct agent_name {
    const char *name;
    enum mnemo_agent agent;
    const char *title;
};

static const struct agent_name agents[] = {
    {"claude", MNEMO_AGENT_CLAUDE, "Claude Code"},
    {"codex", MNEMO_AGENT_CODEX, "Codex"},
    {"gemini", MNEMO_AGENT_GEMINI, "Gemini CLI"},
    {"cursor", MNEMO_AGENT_CURSOR, "Cursor"},
};

/* Fills base with $HOME (user scope) or the working directory (project scope). */
static int find_base(enum mnemo_install_scope scope, char *base, size_t size)
{
    if (scope == MNEMO_INSTALL_PROJECT) {
        if (getcwd(base, size) == NULL)
            return mnemo__cli_fail("cannot find the current directory: %s", strerror(errno));
        return 0;
    }
    const char *home = getenv("HOME");
    char pwbuf[16384];
    struct passwd pw;
    struct passwd *res = NULL;
    if (home == NULL || home[0] == '\0') {
        if (getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &res) != 0 || res == NULL ||
            pw.pw_dir == NULL || pw.pw_dir[0] == '\0')
            return mnemo__cli_fail("cannot find your home directory: set HOME");
        home = pw.pw_dir;
    }
    if (home[0] != '/')
        return mnemo__cli_fail("HOME ('%s') is not an absolute path", home);
    if (strlen(home) >= size)
        return mnemo__cli_fail("HOME is too long");
    snprintf(base, size, "%s", home);
    return 0;
}

/* The binary hooks run: --command, else the front binary that started us, else this one. */
static int find_command(const char *flag, char *out, size_t size)
{
    if (flag != NULL) {
        if (flag[0] == '\0')
            return mnemo__cli_fail("--command needs a path");
        if (strchr(flag, '/') != NULL && flag[0] != '/') {
            char *abs = realpath(flag, NULL);
            if (abs == NULL)
                return mnemo__cli_fail("--command '%s': %s", flag, strerror(errno));
            snprintf(out, size, "%s", abs);
            free(abs);
            return 0;
        }
        /* An absolute path, or a bare name the agent's shell finds on PATH. */
        snprintf(out, size, "%s", flag);
        return 0;
    }
    /* Run through the front (src/front/main.c), this binary is mnemo-core: agents must call
     * the front, which runs hooks without loading mnemo-core's libraries. */
    const char *front = getenv("MNEMO_FRONT");
    if (front != NULL && front[0] == '/' && access(front, X_OK) == 0) {
        int w = snprintf(out, size, "%s", front);
        if (w > 0 && (size_t)w < size)
            return 0;
    }
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n < 0 || (size_t)n >= size - 1)
        return mnemo__cli_fail("cannot find the mnemo binary (/proc/self/exe): %s; pass "
                               "--command PATH",
                               n < 0 ? strerror(errno) : "path too long");
    out[n] = '\0';
    return 0;
}

static const char *verb(enum mnemo_install_action a, int dry_run)
{
    static const char *const done[] = {"created",  "updated", "unchanged", "removed",
                                       "restored", "cleaned", "kept"};
    static const char *const would[] = {"would create", "would update",  "unchanged",
                                        "would remove", "would restore", "would clean",
                                        "would keep"};
    return dry_run ? would[a] : done[a];
}

static void print_report(const struct mnemo_install_report *rep, int add, int dry_run,
                         const char *command)
{
    for (size_t i = 0; i < rep->n; i++) {
        const struct mnemo_install_change *c = &rep->files[i];
        printf("%s %s", verb(c->action, dry_run), c->path);
        if (add && c->action != MNEMO_INSTALL_UNCHANGED)
            printf(": %s %s", dry_run ? "would add" : "added", c->what);
        else if (add)
            printf(": already has %s", c->what);
        else if (c->action != MNEMO_INSTALL_KEPT && c->action != MNEMO_INSTALL_UNCHANGED)
            printf(": %s %s", dry_run ? "would take out" : "took out", c->what);
        if (c->note[0] != '\0')
            printf(" (%s)", c->note);
        printf("\n");
    }
    if (add)
        printf("hooks run `%s hook <event> --agent ...`; the MCP server runs `%s mcp`\n", command,
               command);
}

/* What the user still has to do in the agent itself. */
static void print_next_steps(enum mnemo_agent a, enum mnemo_install_scope scope)
{
    switch (a) {
    case MNEMO_AGENT_CLAUDE:
        printf("next: start a new Claude Code session; `claude mcp list` shows mnemo%s\n",
               scope == MNEMO_INSTALL_PROJECT ? " (approve the project's .mcp.json server when "
                                                "Claude Code asks)"
                                              : "");
        break;
    case MNEMO_AGENT_CODEX:
        printf("next: Codex runs new hooks only once you trust them: open /hooks in Codex (older "
               "releases also need `[features] codex_hooks = true` in config.toml)\n");
        break;
    case MNEMO_AGENT_GEMINI:
        printf("next: restart Gemini CLI; `/hooks` and `/mcp` list mnemo\n");
        break;
    case MNEMO_AGENT_CURSOR:
        if (scope == MNEMO_INSTALL_USER)
            printf("next: restart Cursor. Cursor reads rules per project: run `mnemo install "
                   "cursor --project` in a project to add the rule that tells the agent to "
                   "search mnemo\n");
        else
            printf("next: restart Cursor\n");
        break;
    }
}

static int run_install(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc,
                       char **argv, int add)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},    {"user", no_argument, NULL, 'u'},
        {"project", no_argument, NULL, 'p'}, {"command", required_argument, NULL, 'c'},
        {"dry-run", no_argument, NULL, 'n'}, {NULL, 0, NULL, 0},
    };
    enum mnemo_install_scope scope = MNEMO_INSTALL_USER;
    int scopes = 0, dry_run = 0;
    const char *command_flag = NULL;

    opterr = 0;
    /* optind = 0 makes glibc's getopt start afresh: main() already parsed its own options. */
    optind = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'h':
            return mnemo__cli_help(self);
        case 'u':
            scope = MNEMO_INSTALL_USER;
            scopes++;
            break;
        case 'p':
            scope = MNEMO_INSTALL_PROJECT;
            scopes++;
            break;
        case 'c':
            if (!add)
                return mnemo__cli_usage_error(cli, self, "uninstall takes no --command");
            command_flag = optarg;
            break;
        case 'n':
            dry_run = 1;
            break;
        default:
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
        }
    }
    if (scopes > 1)
        return mnemo__cli_usage_error(cli, self, "give --user or --project, not both");
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, self, "which agent? claude, codex, gemini or cursor");
    if (optind + 1 < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind + 1]);
    const struct agent_name *an = NULL;
    for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++)
        if (strcmp(argv[optind], agents[i].name) == 0)
            an = &agents[i];
    if (an == NULL)
        return mnemo__cli_usage_error(cli, self,
                                      "unknown agent '%s' (expected claude, codex, gemini or "
                                      "cursor)",
                                      argv[optind]);

    char base[PATH_MAX];
    char command[PATH_MAX];
    if (find_base(scope, base, sizeof base) != 0)
        return MNEMO_CLI_FAIL;
    if (add && find_command(command_flag, command, sizeof command) != 0)
        return MNEMO_CLI_FAIL;

    /* Where the agent itself reads its user files when the user moved them. */
    const char *agent_dir = NULL;
    if (an->agent == MNEMO_AGENT_CLAUDE)
        agent_dir = getenv("CLAUDE_CONFIG_DIR");
    else if (an->agent == MNEMO_AGENT_CODEX)
        agent_dir = getenv("CODEX_HOME");
    if (agent_dir != NULL && agent_dir[0] != '\0' && agent_dir[0] != '/')
        return mnemo__cli_fail("%s ('%s') is not an absolute path",
                               an->agent == MNEMO_AGENT_CLAUDE ? "CLAUDE_CONFIG_DIR" : "CODEX_HOME",
                               agent_dir);
    struct mnemo_install_opts o = {an->agent, scope,    base, add ? command : NULL,
                                   dry_run,   agent_dir};
    struct mnemo_install_report rep;
    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = add ? mnemo_install_apply(&o, &rep, &err) : mnemo_install_remove(&o, &rep, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);

    printf("%s mnemo %s %s (%s scope)%s\n", add ? "installing" : "uninstalling",
           add ? "for" : "from", an->title, scope == MNEMO_INSTALL_USER ? "user" : "project",
           dry_run ? ": dry run, nothing written" : "");
    print_report(&rep, add, dry_run, add ? command : NULL);
    if (add && !dry_run)
        print_next_steps(an->agent, scope);
    return MNEMO_CLI_OK;
}

int cmd_install(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    return run_install(cli, self, argc, argv, 1);
}

int cmd_uninstall(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    return run_install(cli, self, argc, argv, 0);
}
