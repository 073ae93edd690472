/*
 * cmd_hook.c - `mnemo hook <event> [--agent claude|codex|gemini|cursor]`: the command agents run
 * as their hook (the runner is src/agent/hook.c, its argument handling src/agent/hook_main.c).
 *
 * Agents normally reach mnemo_hook_main through the slim front binary (src/front/main.c), which
 * runs hooks without loading this binary's libraries; this entry serves `--help` and anyone
 * who runs mnemo-core directly. A hook always exits 0 (see hook.h).
 */
#include <string.h>

#include "agent/hook.h"
#include "cli/cli.h"

int cmd_hook(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    /* The deadline counts from the process's start: loading the binary is part of the budget. */
    int64_t start = mnemo_hook_process_start_ns();

    (void)cli;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return mnemo__cli_help(self);
    }
    return mnemo_hook_main(argc, argv, start);
}
