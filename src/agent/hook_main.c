/*
 * hook_main.c - the argument handling of `mnemo hook`, shared by the slim front binary (which
 * runs hooks without loading the rest of mnemo) and the full binary.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/adapter.h"
#include "agent/hook.h"

/* Reports a configuration mistake without failing the agent: stderr and the log, exit 0. */
static int misconfigured(const char *what, const char *value)
{
    char home[4096], msg[256];
    snprintf(msg, sizeof msg, "%s '%.100s' (see `mnemo hook --help`)", what, value);
    fprintf(stderr, "mnemo: %s\n", msg);
    if (mnemo_hook_home(home, sizeof home) == 0)
        mnemo_hook_log(home, MNEMO_HOOK_POST_TOOL_USE, MNEMO_AGENT_CLAUDE, MNEMO_EINVAL, 0, msg);
    return 0;
}

int mnemo_hook_main(int argc, char **argv, int64_t start_ns)
{
    static const struct option opts[] = {
        {"agent", required_argument, NULL, 'a'},
        {NULL, 0, NULL, 0},
    };
    const char *agent_name = "claude";
    struct mnemo_hook_run run;

    /* An agent that closes our stdout early must not turn the exit status into a signal. */
    signal(SIGPIPE, SIG_IGN);
    opterr = 0;
    optind = 0; /* glibc starts afresh: the caller may have parsed its own options */
    for (;;) {
        int c = getopt_long(argc, argv, ":", opts, NULL);
        if (c == -1)
            break;
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
    run.start_ns = start_ns;
    run.in_fd = STDIN_FILENO;
    run.out_fd = STDOUT_FILENO;
    mnemo_hook_run(&run);
    return 0;
}
