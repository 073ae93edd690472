/*
 * cmd_hook.c - `mnemo hook <event> [--agent claude|codex|gemini|cursor]`: the command agents run
 * as their hook (the runner is src/agent/hook.c).
 *
 * A hook always exits 0: an agent treats other statuses as errors it shows, or (exit 2) as a
 * block. Even a misconfigured hook (an unknown event or agent) says so on stderr and in the hook
 * log and exits 0 with nothing on stdout, so a typo in a settings file never blocks a prompt.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/adapter.h"
#include "agent/hook.h"
#include "cli/cli.h"

/* Reports a configuration mistake without failing the agent: stderr and the log, exit 0. */
static int misconfigured(const char *what, const char *value)
{
    char home[4096], msg[256];
    snprintf(msg, sizeof msg, "%s '%.100s' (see `mnemo hook --help`)", what, value);
    fprintf(stderr, "mnemo: %s\n", msg);
    if (mnemo_hook_home(home, sizeof home) == 0)
        mnemo_hook_log(home, MNEMO_HOOK_POST_TOOL_USE, MNEMO_AGENT_CLAUDE, MNEMO_EINVAL, 0, msg);
    return MNEMO_CLI_OK;
}

int cmd_hook(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    /* The deadline counts from the process's start: loading the binary is part of the budget. */
    int64_t start = mnemo_hook_process_start_ns();
    static const struct option opts[] = {
        {"agent", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *agent_name = "claude";
    struct mnemo_hook_run run;

    (void)cli;
    /* An agent that closes our stdout early must not turn the exit status into a signal. */
    signal(SIGPIPE, SIG_IGN);
    opterr = 0;
    optind = 0; /* glibc starts afresh: main() already parsed its own options */
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == 'a') {
            agent_name = optarg;
            continue;
        }
        return misconfigured("bad option", argv[optind - 1 > 0 ? optind - 1 : 0]);
    }
    if (optind >= argc)
        return misconfigured("no hook event given", "");
    if (optind + 1 < argc)
        return misconfigured("unexpected argument", argv[optind + 1]);

    memset(&run, 0, sizeof run);
    if (mnemo_agent_parse(agent_name, &run.agent) != 0)
        return misconfigured("unknown agent", agent_name);
    if (mnemo_hook_event_parse(argv[optind], &run.event) != 0)
        return misconfigured("unknown hook event", argv[optind]);
    run.start_ns = start;
    run.in_fd = STDIN_FILENO;
    run.out_fd = STDOUT_FILENO;
    mnemo_hook_run(&run);
    return MNEMO_CLI_OK;
}
