/*
 * node_procs.h - helpers of the process tests that drive Node.js test tooling installed from
 * a committed npm lock file (tests/claude/: the real Claude Code CLI; tests/mcp/: the MCP SDK): run
 * a program with a hard timeout in its own process group, and `npm ci` a tooling directory next to
 * the binary under test once (a later run whose lock file is unchanged reuses the install).
 * Header-only (static inline) because CMake builds each process test from its one source file;
 * include it after cliutil.h. Thread-safety: for the test's main thread.
 */
#ifndef MNEMO_TESTS_NODE_PROCS_H
#define MNEMO_TESTS_NODE_PROCS_H

#include "cliutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* How long a killed process group may take to be reaped. */
#define NP_REAP_MS 20000

/* Waits for pid; returns its exit status, 128+signal, or -1 when timeout_ms passed first. */
static inline int np_wait(pid_t pid, int64_t timeout_ms)
{
    int64_t end = tu_now_ms() + timeout_ms;
    for (;;) {
        int status = 0;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (got < 0 && errno != EINTR)
            fail_msg("waitpid(%ld): %s", (long)pid, strerror(errno));
        if (tu_now_ms() > end)
            return -1;
        usleep(20000);
    }
}

/*
 * Runs argv (argv[0] found in PATH) with env, in dir when not NULL, stdin from /dev/null and
 * both output streams into out_path, in its own process group so that a timeout kills
 * everything it started. Returns the exit status, 128+signal, or -1 when it did not finish
 * within timeout_ms (or could not start).
 */
static inline int np_run(char *const argv[], char **env, const char *dir, const char *out_path,
                         int64_t timeout_ms)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    pid_t pid = 0;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0),
                     0);
    assert_int_equal(posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path,
                                                      O_WRONLY | O_CREAT | O_TRUNC, 0600),
                     0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO), 0);
    if (dir != NULL)
        assert_int_equal(posix_spawn_file_actions_addchdir_np(&fa, dir), 0);
    assert_int_equal(posix_spawnattr_init(&attr), 0);
    assert_int_equal(posix_spawnattr_setpgroup(&attr, 0), 0);
    assert_int_equal(posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP), 0);
    int e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (e != 0)
        return -1;
    int status = np_wait(pid, timeout_ms);
    if (status < 0) {
        kill(-pid, SIGKILL);
        np_wait(pid, NP_REAP_MS);
    }
    return status;
}

/* Copies src to dst (small text files). */
static inline void np_copy_file(const char *src, const char *dst)
{
    size_t len = 0;
    char *data = tu_file_read(src, 1 << 22, &len);
    if (data == NULL)
        fail_msg("cannot read '%s'", src);
    tu_file_write(dst, data, len);
    free(data);
}

/* True when both files exist with the same bytes. */
static inline int np_same_file(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *da = tu_file_read(a, 1 << 22, &la);
    char *db = tu_file_read(b, 1 << 22, &lb);
    int same = da != NULL && db != NULL && la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

/*
 * Makes dst a copy of the tooling directory src: the files named in files (package.json and
 * the scripts; package-lock.json is handled here) are copied every time, and `npm ci` runs
 * when dst's lock file differs from src's or dst/marker (a file the install creates) is
 * missing. npm's output goes to log. Returns 0, or -1 with why filled (npm failed or hung:
 * offline, no registry), in which case the next run tries again.
 */
static inline int np_install(const char *src, const char *dst, const char *const *files,
                             size_t n_files, const char *marker, char **env, const char *log,
                             int64_t timeout_ms, char *why, size_t why_size)
{
    char a[PATH_MAX + 64], b[PATH_MAX + 64], m[PATH_MAX + 256];

    if (mkdir(dst, 0700) != 0 && errno != EEXIST)
        fail_msg("cannot create '%s': %s", dst, strerror(errno));
    for (size_t i = 0; i < n_files; i++) {
        snprintf(a, sizeof a, "%s/%s", src, files[i]);
        snprintf(b, sizeof b, "%s/%s", dst, files[i]);
        np_copy_file(a, b);
    }
    /* npm ci rewrites nothing, so an unchanged lock file next to the marker means done. */
    snprintf(a, sizeof a, "%s/package-lock.json", src);
    snprintf(b, sizeof b, "%s/package-lock.json", dst);
    snprintf(m, sizeof m, "%s/%s", dst, marker);
    if (np_same_file(a, b) && tu_file_size(m) >= 0)
        return 0;
    np_copy_file(a, b);
    char *npm[] = {(char *)"npm",
                   (char *)"ci",
                   (char *)"--no-audit",
                   (char *)"--no-fund",
                   (char *)"--fetch-retries=1",
                   (char *)"--fetch-timeout=60000",
                   (char *)"--prefix",
                   (char *)dst,
                   NULL};
    int64_t t0 = tu_now_ms();
    int st = np_run(npm, env, NULL, log, timeout_ms);
    if (st != 0 || tu_file_size(m) < 0) {
        snprintf(why, why_size, "`npm ci` in %s failed (status %d after %lld ms)", dst, st,
                 (long long)(tu_now_ms() - t0));
        unlink(b);
        return -1;
    }
    print_message("npm ci in %s took %lld ms\n", dst, (long long)(tu_now_ms() - t0));
    return 0;
}

#endif
