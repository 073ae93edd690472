/*
 * main.c - the `mnemo` executable: a slim front that runs hooks itself and hands every other
 * command to the full binary, mnemo-core.
 *
 * Why: agents run `mnemo hook ...` on every prompt and every tool call, and a hook's time is
 * the agent's time. The full binary links libcurl, libmicrohttpd, libsodium, SQLite, PCRE2 and
 * their dependencies (about 40 shared libraries); the dynamic loader spends 10-25 ms mapping
 * and relocating them before main() runs, several times what the hook itself needs. The front
 * links only the agent layer, the util layer and jansson, so a hook starts in about a
 * millisecond (docs/BENCHMARKS.md, "Hooks").
 *
 * Every other command (and `mnemo hook --help`) is execv'd into mnemo-core with the same
 * arguments: the process keeps its pid, so `mnemo serve` is still the worker process its
 * parent started. mnemo-core is looked up next to this binary (the build tree), then in
 * ../libexec/mnemo/ (an installed tree, `make install`). MNEMO_FRONT is set to this binary's
 * path for mnemo-core, which writes it into agent settings (`mnemo install`) so that agents
 * call the front, not the core.
 *
 * Thread-safety: single-threaded; no state outside main's frame.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/hook.h"

#define CORE_NAME "mnemo-core"

/* True when args (after the command name) ask for help rather than a hook run. */
static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

/* dir + "/" + rest into out when it fits and names an executable file. */
static int candidate(char *out, size_t size, const char *dir, const char *rest)
{
    struct stat sb;
    int n = snprintf(out, size, "%s/%s", dir, rest);
    if (n < 0 || (size_t)n >= size)
        return -1;
    if (stat(out, &sb) != 0 || !S_ISREG(sb.st_mode) || access(out, X_OK) != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    /* First: the hook deadline counts from the process's start, and this is its hot path. */
    if (argc >= 2 && strcmp(argv[1], "hook") == 0 && !wants_help(argc - 1, argv + 1)) {
        int64_t start = mnemo_hook_process_start_ns();
        umask(077); /* the hook log and the autostart stamp are the user's alone */
        return mnemo_hook_main(argc - 1, argv + 1, start);
    }

    char self[PATH_MAX], dir[PATH_MAX], core[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0 || (size_t)n >= sizeof self - 1) {
        fprintf(stderr, "mnemo: cannot find this binary's path (/proc/self/exe): %s\n",
                n < 0 ? strerror(errno) : "path too long");
        return 1;
    }
    self[n] = '\0';
    memcpy(dir, self, (size_t)n + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        fprintf(stderr, "mnemo: unexpected binary path '%s'\n", self);
        return 1;
    }
    *slash = '\0';
    if (candidate(core, sizeof core, dir, CORE_NAME) != 0 &&
        candidate(core, sizeof core, dir, "../libexec/mnemo/" CORE_NAME) != 0) {
        fprintf(stderr,
                "mnemo: cannot find %s next to %s or in %s/../libexec/mnemo/; reinstall mnemo "
                "(`make install`)\n",
                CORE_NAME, self, dir);
        return 1;
    }
    if (setenv("MNEMO_FRONT", self, 1) != 0) {
        fprintf(stderr, "mnemo: setenv: %s\n", strerror(errno));
        return 1;
    }
    execv(core, argv);
    fprintf(stderr, "mnemo: cannot run %s: %s\n", core, strerror(errno));
    return 1;
}
