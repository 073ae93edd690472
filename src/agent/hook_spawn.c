/*
 * hook_spawn.c - the hook's log line and the worker autostart (hook.h).
 *
 * The log is opened non-blocking for append and written with one write(2) per line, so
 * concurrent hooks never interleave within a line and a log on a stuck file system cannot
 * hold a hook past its deadline; any failure is ignored (a hook's log is best effort).
 *
 * Autostart detaches completely: the hook forks a child that starts a new session and forks
 * the grandchild that execs `mnemo serve --daemon`; the child exits at once and the hook reaps
 * it, so no zombie is left and the grandchild belongs to init. The grandchild closes every
 * descriptor and puts /dev/null on 0-2 before exec, so the agent's pipes (which it reads to
 * EOF) are held by nobody once the hook exits. Everything the grandchild needs (argv, envp,
 * paths) is prepared before the fork: between fork and exec only async-signal-safe calls run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/hook.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/fs.h"
#include "util/log.h"

extern char **environ;

void mnemo_hook_log(const char *home, enum mnemo_hook_event event, enum mnemo_agent agent, int rc,
                    int64_t elapsed_ms, const char *msg)
{
    char dir[4200], path[4300], old[4400], ts[MNEMO_CLOCK_ISO_LEN], q[600], line[1024];
    struct stat st;

    if (snprintf(dir, sizeof dir, "%s/logs", home) >= (int)sizeof dir)
        return;
    snprintf(path, sizeof path, "%s/" MNEMO_HOOK_LOG_NAME, dir);
    (void)mnemo_fs_mkdir_p(dir, 0700, NULL);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && st.st_size > MNEMO_HOOK_LOG_MAX) {
        /* Two hooks may both rotate: one line lands in the old file, which is harmless. */
        snprintf(old, sizeof old, "%s.1", path);
        (void)rename(path, old);
    }
    mnemo_clock_format_utc(mnemo_clock_wall_ms(), ts, sizeof ts);
    int n =
        snprintf(line, sizeof line,
                 "ts=%s level=%s event=%s agent=%s rc=%s elapsed_ms=%lld pid=%ld msg=%s\n", ts,
                 rc == 0 ? "info" : "warn", mnemo_hook_event_name(event), mnemo_agent_name(agent),
                 rc == 0 ? "ok" : mnemo_rcname(rc), (long long)elapsed_ms, (long)getpid(),
                 mnemo_log_quote(q, sizeof q, msg != NULL ? msg : ""));
    if (n > 0) {
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        line[len - 1] = '\n';
        ssize_t w = write(fd, line, len);
        (void)w;
    }
    close(fd);
}

/* Whether autostart is on: MNEMO_AUTOSTART, and the config key "autostart" when it exists. */
static int autostart_enabled(const char *home)
{
    const char *env = getenv("MNEMO_AUTOSTART");
    if (env != NULL && env[0] != '\0')
        return !(strcmp(env, "0") == 0 || strcmp(env, "false") == 0 || strcmp(env, "no") == 0 ||
                 strcmp(env, "off") == 0);
    const struct mnemo_config_key *k = mnemo_config_key_find("autostart");
    if (k == NULL || k->type != MNEMO_CONFIG_BOOL)
        return 1;
    struct mnemo_config *cfg = NULL;
    if (mnemo_config_load(home, NULL, &cfg, NULL) != 0)
        return 1; /* a broken config file must not stop the worker from starting */
    int on = mnemo_config_bool(cfg, "autostart");
    mnemo_config_free(cfg);
    return on;
}

/*
 * The breaker: under an exclusive lock on the stamp, reads the last attempt's wall time and,
 * when it is older than the gap (or in the future: the clock was set back), writes now.
 * Returns 0 when this hook may start the worker, MNEMO_EBUSY when not.
 */
static int breaker_take(const char *home, struct mnemo_err *err)
{
    char path[4300], buf[32];
    if (snprintf(path, sizeof path, "%s/" MNEMO_HOOK_STAMP_NAME, home) >= (int)sizeof path)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "home path too long");
    int rc = mnemo_fs_mkdir_p(home, 0700, err);
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return mnemo_err_set(err, mnemo_fs_errno_rc(errno), "cannot open '%s': %s", path,
                             strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return MNEMO_EBUSY; /* another hook is deciding right now */
    }
    int64_t now = mnemo_clock_wall_ms();
    ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
    buf[r > 0 ? r : 0] = '\0';
    long long last = strtoll(buf, NULL, 10);
    if (last > 0 && last <= now && now - last < MNEMO_HOOK_AUTOSTART_GAP_MS) {
        close(fd);
        return MNEMO_EBUSY;
    }
    int n = snprintf(buf, sizeof buf, "%lld\n", (long long)now);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        rc = mnemo_err_set(err, MNEMO_EIO, "cannot write '%s': %s", path, strerror(errno));
    close(fd); /* releases the lock */
    return rc;
}

/* The path of the running binary. */
static int self_exe(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0 || (size_t)n >= size - 1)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* The grandchild: detach from everything the hook holds and become the worker's starter. */
static void exec_detached(const char *exe, char *const argv[], char *const envp[])
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL); /* the hook ignores it; exec would keep that */
    if (close_range(0, ~0U, 0) != 0) {
        for (int fd = 0; fd < 1024; fd++)
            close(fd);
    }
    int fd = open("/dev/null", O_RDWR);
    if (fd != 0)
        _exit(127);
    if (dup2(0, 1) != 1 || dup2(0, 2) != 2)
        _exit(127);
    if (chdir("/") != 0)
        _exit(127);
    execve(exe, argv, envp);
    _exit(127);
}

int mnemo_hook_autostart(const char *home, struct mnemo_err *err)
{
    char exe[PATH_MAX], abs_home[PATH_MAX + 16], cwd[PATH_MAX];

    if (!autostart_enabled(home))
        return MNEMO_EACCES;
    if (self_exe(exe, sizeof exe) != 0)
        return mnemo_err_set(err, MNEMO_EIO, "cannot find the mnemo binary (/proc/self/exe)");
    /* The daemon works from "/", so it gets the home as an absolute path. */
    int len = -1;
    if (home[0] == '/')
        len = snprintf(abs_home, sizeof abs_home, "MNEMO_HOME=%s", home);
    else if (getcwd(cwd, sizeof cwd) != NULL)
        len = snprintf(abs_home, sizeof abs_home, "MNEMO_HOME=%s/%s", cwd, home);
    if (len < 0 || (size_t)len >= sizeof abs_home)
        return mnemo_err_set(err, MNEMO_ETOOBIG, "cannot make the home path absolute");
    int rc = breaker_take(home, err);
    if (rc != 0)
        return rc;

    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    if (envp == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "MNEMO_HOME=", 11) != 0)
            envp[k++] = environ[i];
    }
    envp[k++] = abs_home;
    envp[k] = NULL;
    char *argv[] = {exe, (char *)"serve", (char *)"--daemon", NULL};

    pid_t pid = fork();
    if (pid < 0) {
        free(envp);
        return mnemo_err_set(err, MNEMO_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        if (setsid() < 0)
            _exit(127);
        pid_t g = fork();
        if (g == 0)
            exec_detached(exe, argv, envp);
        _exit(g < 0 ? 127 : 0);
    }
    free(envp);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return mnemo_err_set(err, MNEMO_EIO, "could not start the worker (fork failed)");
    return 0;
}
