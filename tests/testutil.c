/*
 * testutil.c - helpers shared by mnemo's cmocka tests: temp dirs, processes, files.
 *
 * Helpers fail the calling test (cmocka's fail_msg) rather than return errors, so tests stay
 * about the behaviour they pin instead of about setup plumbing.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"

extern char **environ;

/* The most output tu_run keeps per stream; a runaway child fails the test, not the machine. */
#define TU_RUN_OUTPUT_MAX ((size_t)64 * 1024 * 1024)

/* Passes tu_dir_remove makes to restore permissions before giving up. */
#define TU_CHMOD_PASSES 64

/* ---- directories ------------------------------------------------------------------------ */

/* Creates a fresh 0700 directory under $TMPDIR (or /tmp). */
void tu_dir_make(struct tu_dir *d)
{
    const char *base = getenv("TMPDIR");
    int n;

    if (!base || base[0] == '\0')
        base = "/tmp";
    n = snprintf(d->path, sizeof d->path, "%s/mnemo-test-XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof d->path)
        fail_msg("temporary directory base '%s' is too long", base);
    /* mkdtemp creates the directory with mode 0700 and a name nobody else can have taken. */
    if (!mkdtemp(d->path))
        fail_msg("cannot create temporary directory '%s': %s", d->path, strerror(errno));
}

/*
 * nftw callback of the permission pass: gives every directory back rwx for its owner so its
 * entries can be listed and unlinked. A directory nftw could not read (FTW_DNR) is fixed
 * and the walk restarted, since nftw will not descend into it on this pass.
 */
static int tu_restore_perm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type == FTW_D || type == FTW_DNR) {
        if ((st->st_mode & 0700) != 0700 && chmod(path, 0700) != 0)
            return -1;
        if (type == FTW_DNR)
            return 1;
    }
    return 0;
}

/* nftw callback of the removal pass (depth-first, so directories come after their entries). */
static int tu_remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (remove(path) != 0) {
        print_error("cannot remove '%s': %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Removes the directory tree, restoring write permission where a test took it away. */
void tu_dir_remove(struct tu_dir *d)
{
    int rc = 1;

    if (d->path[0] == '\0')
        return;
    for (int pass = 0; pass < TU_CHMOD_PASSES && rc == 1; pass++)
        rc = nftw(d->path, tu_restore_perm, 16, FTW_PHYS);
    if (rc != 0)
        fail_msg("cannot restore permissions under '%s': %s", d->path, strerror(errno));
    if (nftw(d->path, tu_remove_entry, 16, FTW_PHYS | FTW_DEPTH) != 0)
        fail_msg("cannot remove temporary directory '%s'", d->path);
    d->path[0] = '\0';
}

/* Writes dir/name into buf; returns buf. */
const char *tu_path(const struct tu_dir *d, const char *name, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s/%s", d->path, name);
    if (n < 0 || (size_t)n >= size)
        fail_msg("path '%s/%s' does not fit in %zu bytes", d->path, name, size);
    return buf;
}

/* ---- files ------------------------------------------------------------------------------ */

/* Size of path in bytes, or -1 when it does not exist. */
int64_t tu_file_size(const char *path)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return -1;
    return (int64_t)st.st_size;
}

/* Writes data to path (creating or truncating it). */
void tu_file_write(const char *path, const void *data, size_t len)
{
    const char *p = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        fail_msg("cannot create '%s': %s", path, strerror(errno));
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            fail_msg("cannot write '%s': %s", path, strerror(e));
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) != 0)
        fail_msg("cannot close '%s': %s", path, strerror(errno));
}

/* Reads up to max bytes of path into a malloc'd NUL-terminated buffer; NULL if missing. */
char *tu_file_read(const char *path, size_t max, size_t *len)
{
    size_t used = 0;
    char *buf;
    int fd;

    if (len)
        *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return NULL;
    if (fd < 0)
        fail_msg("cannot open '%s': %s", path, strerror(errno));
    buf = malloc(max + 1);
    if (!buf) {
        close(fd);
        fail_msg("cannot allocate %zu bytes to read '%s'", max + 1, path);
    }
    while (used < max) {
        ssize_t r = read(fd, buf + used, max - used);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            fail_msg("cannot read '%s': %s", path, strerror(e));
        }
        if (r == 0)
            break;
        used += (size_t)r;
    }
    close(fd);
    buf[used] = '\0';
    if (len)
        *len = used;
    return buf;
}

/* ---- store and logging ------------------------------------------------------------------ */

/* A store config with the defaults, the given path, and logs to log (may be NULL). */
void tu_store_config(struct mnemo_store_config *cfg, const char *path, struct mnemo_log *log)
{
    mnemo_store_config_init(cfg);
    cfg->path = path;
    cfg->log = log;
}

/* Opens a logger writing debug and above to path. */
struct mnemo_log *tu_log_open(const char *path)
{
    struct mnemo_log *log = NULL;
    struct mnemo_err err;

    mnemo_err_clear(&err);
    if (mnemo_log_open(path, MNEMO_LOG_DEBUG, &log, &err) != 0)
        fail_msg("cannot open log '%s': %s", path ? path : "-", err.msg);
    return log;
}

/* ---- processes -------------------------------------------------------------------------- */

/* True when the "K=V" entry env names the same variable as some entry of extra. */
static int tu_env_overridden(const char *env, char *const extra[])
{
    const char *eq = strchr(env, '=');
    size_t klen = eq ? (size_t)(eq - env) : strlen(env);

    for (size_t i = 0; extra && extra[i]; i++) {
        if (strncmp(extra[i], env, klen) == 0 && extra[i][klen] == '=')
            return 1;
    }
    return 0;
}

/*
 * environ plus env_extra, as a malloc'd array of borrowed strings. Variables that env_extra
 * sets are left out of the inherited part: getenv returns the first match, so a duplicate
 * appended after the inherited one would be silently ignored.
 */
static char **tu_env_build(char *const env_extra[])
{
    size_t n = 0, m = 0, k = 0;
    char **env;

    while (environ && environ[n])
        n++;
    while (env_extra && env_extra[m])
        m++;
    env = calloc(n + m + 1, sizeof *env);
    if (!env)
        fail_msg("cannot allocate the environment for a child");
    for (size_t i = 0; i < n; i++) {
        if (!tu_env_overridden(environ[i], env_extra))
            env[k++] = environ[i];
    }
    for (size_t i = 0; i < m; i++)
        env[k++] = env_extra[i];
    env[k] = NULL;
    return env;
}

/* Closes *fd if open and marks it closed. */
static void tu_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/*
 * Moves the child's stdin text in and its output out with poll, so neither side can block
 * on a full pipe while the other waits: a child writing lots of stderr before reading stdin
 * would otherwise deadlock against a parent that writes all of stdin first.
 */
static void tu_pump(int in_fd, const char *in, int out_fd, int err_fd, struct mnemo_strbuf *out,
                    struct mnemo_strbuf *errb)
{
    size_t in_len = in ? strlen(in) : 0;
    size_t in_off = 0;
    int fds[3] = {in_fd, out_fd, err_fd};
    struct mnemo_strbuf *sinks[3] = {NULL, out, errb};

    if (in_len == 0)
        tu_close(&fds[0]);
    while (fds[0] >= 0 || fds[1] >= 0 || fds[2] >= 0) {
        struct pollfd pfd[3];
        for (int i = 0; i < 3; i++) {
            pfd[i].fd = fds[i];
            pfd[i].events = i == 0 ? POLLOUT : POLLIN;
            pfd[i].revents = 0;
        }
        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            fail_msg("poll on a child's pipes failed: %s", strerror(errno));
        }
        if (fds[0] >= 0 && pfd[0].revents) {
            ssize_t w = write(fds[0], in + in_off, in_len - in_off);
            if (w > 0)
                in_off += (size_t)w;
            /* EPIPE: the child exited or closed stdin without reading it all; that is its call. */
            if ((w < 0 && errno != EINTR && errno != EAGAIN) || in_off == in_len)
                tu_close(&fds[0]);
        }
        for (int i = 1; i < 3; i++) {
            char chunk[8192];
            ssize_t r;
            if (fds[i] < 0 || !pfd[i].revents)
                continue;
            r = read(fds[i], chunk, sizeof chunk);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r < 0)
                fail_msg("cannot read a child's output: %s", strerror(errno));
            if (r == 0) {
                tu_close(&fds[i]);
                continue;
            }
            if (mnemo_strbuf_append(sinks[i], chunk, (size_t)r) != 0)
                fail_msg("a child wrote more than %zu bytes to one stream", TU_RUN_OUTPUT_MAX);
        }
    }
}

/* Runs argv with optional stdin text; captures stdout/stderr and returns the exit status. */
int tu_run(char *const argv[], char *const env_extra[], const char *stdin_text, char **out,
           char **errout)
{
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    struct mnemo_strbuf obuf, ebuf;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    struct sigaction ign, old_pipe;
    sigset_t defaults, empty;
    char **env;
    pid_t pid;
    int status;
    int e;

    if (out)
        *out = NULL;
    if (errout)
        *errout = NULL;
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
        pipe2(err_pipe, O_CLOEXEC) != 0)
        fail_msg("cannot create pipes for '%s': %s", argv[0], strerror(errno));
    if (fcntl(in_pipe[1], F_SETFL, O_NONBLOCK) != 0)
        fail_msg("cannot make a pipe non-blocking: %s", strerror(errno));
    env = tu_env_build(env_extra);

    e = posix_spawn_file_actions_init(&fa);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, in_pipe[0], STDIN_FILENO);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
    if (e == 0)
        e = posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);
    if (e != 0)
        fail_msg("cannot set up the child's descriptors: %s", strerror(e));
    /*
     * The parent ignores SIGPIPE while feeding stdin (see below); the child must start with
     * the default disposition and an empty mask, as it would from a shell.
     */
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    e = posix_spawnattr_init(&attr);
    if (e == 0)
        e = posix_spawnattr_setsigdefault(&attr, &defaults);
    if (e == 0)
        e = posix_spawnattr_setsigmask(&attr, &empty);
    if (e == 0)
        e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (e != 0)
        fail_msg("cannot set up the child's attributes: %s", strerror(e));

    /* A child that exits without reading stdin must not kill the test with SIGPIPE. */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGPIPE, &ign, &old_pipe) != 0)
        fail_msg("cannot ignore SIGPIPE: %s", strerror(errno));

    e = posix_spawn(&pid, argv[0], &fa, &attr, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    free(env);
    tu_close(&in_pipe[0]);
    tu_close(&out_pipe[1]);
    tu_close(&err_pipe[1]);
    if (e != 0) {
        sigaction(SIGPIPE, &old_pipe, NULL);
        tu_close(&in_pipe[1]);
        tu_close(&out_pipe[0]);
        tu_close(&err_pipe[0]);
        fail_msg("cannot run '%s': %s", argv[0], strerror(e));
    }

    mnemo_strbuf_init(&obuf, TU_RUN_OUTPUT_MAX);
    mnemo_strbuf_init(&ebuf, TU_RUN_OUTPUT_MAX);
    tu_pump(in_pipe[1], stdin_text, out_pipe[0], err_pipe[0], &obuf, &ebuf);
    if (sigaction(SIGPIPE, &old_pipe, NULL) != 0)
        fail_msg("cannot restore SIGPIPE: %s", strerror(errno));

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            fail_msg("cannot wait for '%s': %s", argv[0], strerror(errno));
    }
    if (out)
        *out = mnemo_strbuf_detach(&obuf);
    if (errout)
        *errout = mnemo_strbuf_detach(&ebuf);
    mnemo_strbuf_release(&obuf);
    mnemo_strbuf_release(&ebuf);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* The mnemo binary under test (from $MNEMO_BIN); skips the test when unset. */
const char *tu_mnemo_bin(void)
{
    const char *bin = getenv("MNEMO_BIN");

    if (!bin || bin[0] == '\0') {
        print_message("MNEMO_BIN is not set; skipping a test that needs the mnemo binary\n");
        skip();
        return NULL;
    }
    return bin;
}

/* Monotonic milliseconds. */
int64_t tu_now_ms(void)
{
    return mnemo_clock_mono_ms();
}
