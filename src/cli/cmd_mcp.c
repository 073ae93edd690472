/*
 * cmd_mcp.c - `mnemo mcp [--project P]`: the MCP server on stdin/stdout (src/mcp/mcp.h). The
 * CLI's part is what needs the process: the home (where the worker's socket is), the default
 * project (the identity of the working directory, which the MCP layer cannot compute without
 * the memory layer), and ending with the client: PR_SET_PDEATHSIG plus a parent check while
 * idle, so a client that dies without closing the pipe leaves no server behind.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mcp/mcp.h"

#ifndef MNEMO_VERSION
#error "MNEMO_VERSION must be defined by the build (CMakeLists.txt does)"
#endif

/* True once the process that started us is gone (re-parented to init or a subreaper). */
static int parent_gone(void *arg)
{
    const pid_t *parent = arg;
    return getppid() != *parent;
}

int cmd_mcp(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    enum { OPT_PROJECT = 256 };
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"project", required_argument, NULL, OPT_PROJECT},
        {NULL, 0, NULL, 0},
    };
    const char *project_flag = NULL;

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "+:h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == OPT_PROJECT)
            project_flag = optarg;
        else
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);

    /*
     * The parent is recorded before the death signal is armed and checked after, so a parent
     * that died in between is still noticed; while idle the server compares getppid() with it
     * too (re-parenting to init or a subreaper means the client is gone). SIGPIPE is ignored:
     * a closed stdout must end the server through a failed write, not kill it mid-line.
     */
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
        mnemo_log_write(cli->log, MNEMO_LOG_WARN, "cannot arm the parent-death signal", NULL);
    if (getppid() != parent)
        return MNEMO_CLI_OK;
    signal(SIGPIPE, SIG_IGN);

    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    char sock[MNEMO_CLI_PATH_MAX + 16];
    snprintf(sock, sizeof sock, "%s/mnemo.sock", cli->home);

    /* Without a project the tools search every project: better than no server at
     * all. */
    char project[MNEMO_PROJECT_SIZE];
    if (mnemo__cli_project(project_flag, project) != 0) {
        if (project_flag != NULL)
            return MNEMO_CLI_USAGE;
        project[0] = '\0';
        mnemo_log_write(cli->log, MNEMO_LOG_WARN, "mcp runs without a default project", NULL);
    }

    struct mnemo_mcp_config cfg = {
        .socket_path = sock,
        .project = project,
        .version = MNEMO_VERSION,
        .log = cli->log,
        .idle = parent_gone,
        .idle_arg = &parent,
    };
    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = mnemo_mcp_serve(&cfg, stdin, stdout, &err);
    if (rc != 0) {
        mnemo_log_write(cli->log, MNEMO_LOG_WARN, "mcp server stopped", "err=%s", mnemo_rcname(rc));
        return MNEMO_CLI_FAIL;
    }
    return MNEMO_CLI_OK;
}
