/*
 * daemon.c - the worker's process plumbing: the one-worker-per-home lock and pid file, the
 * token file, detaching into a daemon, and the size-rotated log file (see daemon.h), plus
 * mnemo_worker_running_pid (worker.h).
 *
 * The lock is an flock on home/worker.lock, not the pid file: the kernel drops it when the
 * holder dies, even by kill -9, so a stale pid file can never block a new worker and a pid
 * that was reused by another program is never mistaken for a worker.
 */
#include "service/daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "service/worker.h"
#include "util/clock.h"
#include "util/fs.h"

/* Bytes of randomness in a token (hex-encoded to twice as many characters). */
#define TOKEN_BYTES 32
/* How long mnemo_worker_running_pid waits for a worker that holds the lock to write its pid. */
#define PID_WAIT_MS 200

/* What the daemon tells the process that launched it; one write, well under PIPE_BUF. */
struct report {
    int32_t rc;
    int32_t pid;
    char msg[MNEMO_ERR_MSG_MAX];
};

int mnemo__worker_path(char *buf, size_t size, const char *home, const char *name,
                       struct mnemo_err *err)
{
    int n = snprintf(buf, size, "%s/%s", home, name);
    if (n < 0 || (size_t)n >= size)
        return mnemo_err_set(err, MNEMO_EINVAL, "path of '%s' in '%s' is too long", name, home);
    return 0;
}

/* ---- pid file and lock -------------------------------------------------------------------- */

/* Reads the pid in home/worker.pid; 0 when the file is missing, empty or malformed. */
static pid_t read_pid_file(const char *home)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;

    if (mnemo__worker_path(path, sizeof path, home, MNEMO_WORKER_PID_NAME, NULL) != 0)
        return 0;
    if (mnemo_fs_read_all(path, 64, &text, &len, NULL) != 0)
        return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    int ok = errno == 0 && end != text && (*end == '\n' || *end == '\0') && v > 0 && v <= INT_MAX;
    free(text);
    return ok ? (pid_t)v : 0;
}

/* The pid of the worker holding the lock, waiting briefly for one that is still starting. */
static pid_t holder_pid(const char *home)
{
    int64_t deadline = mnemo_deadline_in_ms(PID_WAIT_MS);
    for (;;) {
        pid_t pid = read_pid_file(home);
        if (pid > 0 || mnemo_deadline_left_ns(deadline) == 0)
            return pid;
        mnemo_clock_sleep_ms(10);
    }
}

int mnemo__worker_lock(const char *home, int *fd_out, struct mnemo_err *err)
{
    char path[PATH_MAX];

    *fd_out = -1;
    int rc = mnemo__worker_path(path, sizeof path, home, MNEMO_WORKER_LOCK_NAME, err);
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        return mnemo_err_set(err, mnemo_fs_errno_rc(e), "cannot open lock file '%s': %s", path,
                             strerror(e));
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        close(fd);
        if (e == EWOULDBLOCK) {
            pid_t pid = holder_pid(home);
            if (pid > 0)
                return mnemo_err_set(err, MNEMO_EEXIST,
                                     "another worker is running on '%s' (pid %ld)", home,
                                     (long)pid);
            return mnemo_err_set(err, MNEMO_EEXIST,
                                 "another worker is running on '%s' (it holds '%s')", home, path);
        }
        return mnemo_err_set(err, MNEMO_EIO, "cannot lock '%s': %s", path, strerror(e));
    }
    *fd_out = fd;
    return 0;
}

int mnemo__worker_pid_write(const char *home, struct mnemo_err *err)
{
    char path[PATH_MAX];
    char text[32];

    int rc = mnemo__worker_path(path, sizeof path, home, MNEMO_WORKER_PID_NAME, err);
    if (rc != 0)
        return rc;
    int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    /* No fsync: the pid file only matters while this process lives. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        return mnemo_err_set(err, mnemo_fs_errno_rc(e), "cannot write pid file '%s': %s", path,
                             strerror(e));
    }
    ssize_t w = write(fd, text, (size_t)n);
    int e = w < 0 ? errno : 0;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (w != n || e != 0)
        return mnemo_err_set(err, MNEMO_EIO, "cannot write pid file '%s': %s", path,
                             e != 0 ? strerror(e) : "short write");
    return 0;
}

void mnemo__worker_pid_remove(const char *home)
{
    char path[PATH_MAX];
    if (mnemo__worker_path(path, sizeof path, home, MNEMO_WORKER_PID_NAME, NULL) == 0)
        (void)unlink(path);
}

/*
 * A shared lock succeeds only while no worker holds its exclusive one, so trying one (and
 * dropping it at once) answers "is a worker running?" without ever blocking or racing a pid
 * file that outlived its process.
 */
int mnemo_worker_running_pid(const char *home, pid_t *pid, struct mnemo_err *err)
{
    char path[PATH_MAX];

    *pid = 0;
    int rc = mnemo__worker_path(path, sizeof path, home, MNEMO_WORKER_LOCK_NAME, err);
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR)
            return 0;
        return mnemo_err_set(err, mnemo_fs_errno_rc(e), "cannot open lock file '%s': %s", path,
                             strerror(e));
    }
    while (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        close(fd);
        if (e != EWOULDBLOCK)
            return mnemo_err_set(err, MNEMO_EIO, "cannot test lock '%s': %s", path, strerror(e));
        pid_t p = holder_pid(home);
        if (p <= 0)
            return mnemo_err_set(err, MNEMO_EBUSY,
                                 "a worker holds '%s' but has not written its pid file", path);
        *pid = p;
        return 0;
    }
    close(fd); /* releases the shared lock */
    return 0;
}

/* ---- token ------------------------------------------------------------------------------- */

static int is_hex_token(const char *s, size_t len)
{
    if (len != 2 * TOKEN_BYTES)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

static int token_create(const char *path, char out[65], struct mnemo_err *err)
{
    unsigned char raw[TOKEN_BYTES];

    if (sodium_init() < 0)
        return mnemo_err_set(err, MNEMO_EINTERNAL, "cannot initialise libsodium for the token");
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, 2 * TOKEN_BYTES + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    /* Atomic: a crash can leave no file or the whole token, never a truncated one. The worker
     * lock is held, so no other worker races this write. */
    int rc = mnemo_fs_write_atomic(path, out, 2 * TOKEN_BYTES, 0600, err);
    if (rc != 0)
        sodium_memzero(out, 2 * TOKEN_BYTES + 1);
    return rc;
}

int mnemo__worker_token(const char *home, char out[65], struct mnemo_err *err)
{
    char path[PATH_MAX];
    char buf[2 * TOKEN_BYTES + 8];
    struct stat st;

    out[0] = '\0';
    int rc = mnemo__worker_path(path, sizeof path, home, MNEMO_WORKER_TOKEN_NAME, err);
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return token_create(path, out, err);
        if (e == ELOOP)
            return mnemo_err_set(err, MNEMO_EACCES, "token file '%s' is a symbolic link", path);
        return mnemo_err_set(err, mnemo_fs_errno_rc(e), "cannot open token file '%s': %s", path,
                             strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mnemo_err_set(err, MNEMO_EIO, "cannot stat token file '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
        close(fd);
        return mnemo_err_set(err, MNEMO_EACCES,
                             "token file '%s' is not a regular file owned by you: delete it", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return mnemo_err_set(err, MNEMO_EACCES,
                             "token file '%s' has mode %04o and others may have read it: delete it "
                             "for a new token (or `chmod 600` it to keep this one)",
                             path, (unsigned)(st.st_mode & 07777));
    }
    ssize_t n;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0)
        return mnemo_err_set(err, MNEMO_EIO, "cannot read token file '%s': %s", path, strerror(e));
    size_t len = (size_t)n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (!is_hex_token(buf, len)) {
        sodium_memzero(buf, sizeof buf);
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "token file '%s' does not hold 64 hex characters: delete it for a new "
                             "token",
                             path);
    }
    for (size_t i = 0; i < len; i++)
        out[i] = (char)(buf[i] >= 'A' && buf[i] <= 'F' ? buf[i] - 'A' + 'a' : buf[i]);
    out[len] = '\0';
    sodium_memzero(buf, sizeof buf);
    return 0;
}

/* ---- logs ---------------------------------------------------------------------------------- */

static int open_log(const char *log_path, struct mnemo_err *err)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        return mnemo_err_set(err, mnemo_fs_errno_rc(e), "cannot open log file '%s': %s", log_path,
                             strerror(e));
    }
    /* A log may quote requests and paths: it is the user's alone, whatever it was before. */
    if (fchmod(fd, 0600) != 0) {
        int e = errno;
        close(fd);
        return mnemo_err_set(err, MNEMO_EIO, "cannot set the mode of '%s': %s", log_path,
                             strerror(e));
    }
    return fd;
}

int mnemo__worker_log_redirect(const char *log_path, int with_stdout, struct mnemo_err *err)
{
    int fd = open_log(log_path, err);
    if (fd < 0)
        return fd;
    int rc = 0;
    if ((with_stdout && dup2(fd, STDOUT_FILENO) < 0) || dup2(fd, STDERR_FILENO) < 0)
        rc = mnemo_err_set(err, MNEMO_EIO, "cannot redirect output to '%s': %s", log_path,
                           strerror(errno));
    close(fd);
    return rc;
}

int mnemo__worker_log_rotate(const char *log_path, int64_t max_bytes, struct mnemo_err *err)
{
    char old[PATH_MAX];
    struct stat st;

    if (max_bytes <= 0 || stat(log_path, &st) != 0 || st.st_size < max_bytes)
        return 0;
    int n = snprintf(old, sizeof old, "%s.1", log_path);
    if (n < 0 || (size_t)n >= sizeof old)
        return mnemo_err_set(err, MNEMO_EINVAL, "log path '%s' is too long", log_path);
    if (rename(log_path, old) != 0) {
        int e = errno;
        return mnemo_err_set(err, MNEMO_EIO, "cannot rotate '%s': %s", log_path, strerror(e));
    }
    int rc = mnemo__worker_log_redirect(log_path, 1, err);
    return rc == 0 ? 1 : rc;
}

/* ---- detaching ----------------------------------------------------------------------------- */

void mnemo__worker_report(int *fd, int rc, const struct mnemo_err *err)
{
    struct report r;

    if (*fd < 0)
        return;
    memset(&r, 0, sizeof r);
    r.rc = rc;
    r.pid = (int32_t)getpid();
    if (rc != 0)
        snprintf(r.msg, sizeof r.msg, "%s", mnemo_err_text(err, rc));
    ssize_t w;
    do
        w = write(*fd, &r, sizeof r);
    while (w < 0 && errno == EINTR);
    /* A launcher that went away is no reason for the daemon to stop. */
    (void)w;
    close(*fd);
    *fd = -1;
}

/*
 * Closes every descriptor from lowest up: close_range (Linux 5.9), else a walk of
 * /proc/self/fd (numbers first, closing after the walk so the directory's own descriptor is
 * not pulled from under readdir), else every number below the descriptor limit.
 */
static void close_from(int lowest)
{
    if (close_range((unsigned)lowest, ~0U, 0) == 0)
        return;
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        int fds[1024];
        size_t n = 0;
        int self = dirfd(d);
        for (struct dirent *e = readdir(d); e != NULL && n < sizeof fds / sizeof fds[0];
             e = readdir(d)) {
            char *end = NULL;
            long fd = strtol(e->d_name, &end, 10);
            if (*end == '\0' && end != e->d_name && fd >= lowest && fd != self && fd <= INT_MAX)
                fds[n++] = (int)fd;
        }
        closedir(d);
        for (size_t i = 0; i < n; i++)
            (void)close(fds[i]);
        if (n < sizeof fds / sizeof fds[0])
            return;
    }
    long limit = sysconf(_SC_OPEN_MAX);
    if (limit < 0 || limit > 65536)
        limit = 65536;
    for (int fd = lowest; fd < (int)limit; fd++)
        (void)close(fd);
}

/* The daemon's side of detaching: everything after the second fork. Returns 0 or an error. */
static int become_daemon(const char *log_path, int *report_fd, struct mnemo_err *err)
{
    if (chdir("/") != 0)
        return mnemo_err_set(err, MNEMO_EIO, "cannot chdir to /: %s", strerror(errno));
    umask(077);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0)
        return mnemo_err_set(err, MNEMO_EIO, "cannot open /dev/null: %s", strerror(errno));
    int ok = dup2(null, STDIN_FILENO) >= 0;
    if (null != STDIN_FILENO)
        close(null);
    if (!ok)
        return mnemo_err_set(err, MNEMO_EIO, "cannot redirect stdin: %s", strerror(errno));
    int rc = mnemo__worker_log_redirect(log_path, 1, err);
    if (rc != 0)
        return rc;
    /* The report pipe becomes descriptor 3 and everything inherited above it is closed. */
    if (*report_fd != 3) {
        if (dup3(*report_fd, 3, O_CLOEXEC) < 0)
            return mnemo_err_set(err, MNEMO_EIO, "cannot move the report pipe: %s",
                                 strerror(errno));
        *report_fd = 3;
    }
    close_from(4);
    return 0;
}

/* The launcher's side: waits for the daemon's report. */
static int wait_report(int rfd, struct mnemo_err *err)
{
    struct report r;
    size_t got = 0;
    int64_t deadline = mnemo_deadline_in_ms(MNEMO_WORKER_DETACH_WAIT_MS);

    while (got < sizeof r) {
        int64_t left_ms = mnemo_deadline_left_ns(deadline) / MNEMO_NS_PER_MS;
        if (left_ms <= 0)
            return mnemo_err_set(err, MNEMO_ETIMEDOUT,
                                 "the worker did not start listening within %d s",
                                 MNEMO_WORKER_DETACH_WAIT_MS / 1000);
        struct pollfd p = {.fd = rfd, .events = POLLIN};
        int n = poll(&p, 1, (int)left_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mnemo_err_set(err, MNEMO_EIO, "cannot wait for the worker: %s", strerror(errno));
        if (n == 0)
            continue;
        ssize_t k = read(rfd, (char *)&r + got, sizeof r - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return mnemo_err_set(err, MNEMO_EIO,
                                 "the worker exited during start-up (see its log file)");
        got += (size_t)k;
    }
    r.msg[sizeof r.msg - 1] = '\0';
    if (r.rc != 0)
        return mnemo_err_set(err, r.rc, "%s", r.msg);
    return 0;
}

int mnemo__worker_detach(const char *log_path, int *report_fd, struct mnemo_err *err)
{
    int fds[2];

    *report_fd = -1;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return mnemo_err_set(err, MNEMO_EIO, "cannot create a pipe: %s", strerror(errno));
    /* Buffered output would otherwise be written once by each process. */
    fflush(NULL);
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return mnemo_err_set(err, MNEMO_EIO, "cannot fork: %s", strerror(e));
    }
    if (child > 0) {
        close(fds[1]);
        int status = 0;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
            ;
        int rc = wait_report(fds[0], err);
        close(fds[0]);
        return rc;
    }

    /* First child: a new session leaves the terminal behind; the second fork makes sure the
     * daemon, not being a session leader, can never acquire one again. */
    close(fds[0]);
    int wfd = fds[1];
    struct mnemo_err cerr;
    mnemo_err_clear(&cerr);
    if (setsid() < 0) {
        mnemo_err_set(&cerr, MNEMO_EIO, "setsid failed: %s", strerror(errno));
        mnemo__worker_report(&wfd, cerr.code, &cerr);
        _exit(1);
    }
    pid_t grandchild = fork();
    if (grandchild < 0) {
        mnemo_err_set(&cerr, MNEMO_EIO, "cannot fork the daemon: %s", strerror(errno));
        mnemo__worker_report(&wfd, cerr.code, &cerr);
        _exit(1);
    }
    if (grandchild > 0)
        _exit(0);

    /* The daemon. Its descriptor is moved above the standard ones before they are replaced,
     * in case the launcher ran with one of them closed and the pipe took its number. */
    int moved = fcntl(wfd, F_DUPFD_CLOEXEC, 10);
    if (moved < 0) {
        mnemo_err_set(&cerr, MNEMO_EIO, "cannot move the report pipe: %s", strerror(errno));
        mnemo__worker_report(&wfd, cerr.code, &cerr);
        _exit(1);
    }
    close(wfd);
    *report_fd = moved;
    int rc = become_daemon(log_path, report_fd, &cerr);
    if (rc != 0) {
        mnemo__worker_report(report_fd, rc, &cerr);
        _exit(1);
    }
    return 1;
}
