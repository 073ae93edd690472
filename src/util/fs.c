/*
 * fs.c - small file-system helpers: mkdir -p, atomic replace, stat-only sizes, bounded reads.
 *
 * Messages follow git: lowercase, say what failed, quote the subject, end with the system's
 * reason ("cannot create directory '/x/y': Permission denied").
 */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/clock.h"

/* Attempts at a fresh temporary name before write_atomic gives up. */
#define TMP_NAME_TRIES 16

/*
 * The system's text for errnum. strerror() may hand every thread the same static buffer;
 * the GNU strerror_r returns either buf or an immutable string and so is safe here.
 */
static const char *errstr(int errnum, char *buf, size_t size)
{
    return strerror_r(errnum, buf, size);
}

/* Maps an errno value to the closest mnemo code. */
int mnemo_fs_errno_rc(int errnum)
{
    switch (errnum) {
    case 0:
        return MNEMO_OK;
    case ENOENT:
        return MNEMO_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return MNEMO_EACCES;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return MNEMO_ENOSPC;
    case ENOTDIR:
    case EEXIST:
        return MNEMO_EEXIST;
    case ENOMEM:
        return MNEMO_ENOMEM;
    default:
        return MNEMO_EIO;
    }
}

/* Records the errno errnum as a failure "<what> '<path>': <reason>" and returns its code. */
static int fs_fail(struct mnemo_err *err, int errnum, const char *what, const char *path)
{
    char eb[128];
    return mnemo_err_set(err, mnemo_fs_errno_rc(errnum), "%s '%s': %s", what, path,
                         errstr(errnum, eb, sizeof eb));
}

/*
 * Like fs_fail, for calls that only look a path up. There a component that is a file
 * (ENOTDIR) means the path does not exist, not that something is in the way of creating it.
 */
static int fs_fail_lookup(struct mnemo_err *err, int errnum, const char *what, const char *path)
{
    char eb[128];
    int rc = errnum == ENOTDIR ? MNEMO_ENOTFOUND : mnemo_fs_errno_rc(errnum);
    return mnemo_err_set(err, rc, "%s '%s': %s", what, path, errstr(errnum, eb, sizeof eb));
}

/* Copies path into buf (PATH_MAX bytes) or fails with MNEMO_EINVAL naming the problem. */
static int copy_path(char *buf, const char *path, struct mnemo_err *err)
{
    size_t n;

    if (!path || path[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "empty path");
    n = strlen(path);
    if (n >= PATH_MAX)
        return mnemo_err_set(err, MNEMO_EINVAL, "path too long (%zu bytes, limit %d)", n,
                             PATH_MAX - 1);
    memcpy(buf, path, n + 1);
    return MNEMO_OK;
}

/*
 * Ensures the prefix p of full is a directory, creating it with mode when missing. leaf says
 * p is the whole path; *created tells whether this call made it.
 */
static int ensure_dir(const char *p, const char *full, int leaf, mode_t mode, int *created,
                      struct mnemo_err *err)
{
    struct stat st;
    char eb[128];
    int e = 0;

    *created = 0;
    if (stat(p, &st) != 0) {
        e = errno;
        if (e == ENOENT) {
            if (mkdir(p, mode) == 0) {
                *created = 1;
                return MNEMO_OK;
            }
            e = errno;
            /* Another process may have created it between our stat and mkdir: success. */
            if (e == EEXIST && stat(p, &st) == 0)
                e = 0;
        }
    }
    if (e != 0 && leaf)
        return fs_fail(err, e, "cannot create directory", full);
    if (e != 0)
        return mnemo_err_set(err, mnemo_fs_errno_rc(e),
                             "cannot create directory '%s' (for '%s'): %s", p, full,
                             errstr(e, eb, sizeof eb));
    if (S_ISDIR(st.st_mode))
        return MNEMO_OK;
    if (leaf)
        return mnemo_err_set(err, MNEMO_EEXIST,
                             "cannot create directory '%s': it exists and is not a directory",
                             full);
    return mnemo_err_set(err, MNEMO_EEXIST,
                         "cannot create directory '%s': '%s' exists and is not a directory", full,
                         p);
}

/* Creates path and any missing parents; mode is applied exactly to a leaf this call creates. */
int mnemo_fs_mkdir_p(const char *path, mode_t mode, struct mnemo_err *err)
{
    char p[PATH_MAX];
    size_t n;
    int created = 0;
    int rc;

    mode &= 07777;
    rc = copy_path(p, path, err);
    if (rc != MNEMO_OK)
        return rc;
    n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';

    for (size_t i = 1; i < n; i++) {
        if (p[i] != '/' || p[i - 1] == '/')
            continue;
        p[i] = '\0';
        /*
         * Parents get the owner's write and search bits whatever mode says, or mkdir_p could
         * not create the next component inside a parent it just made (as mkdir -p does).
         */
        rc = ensure_dir(p, path, 0, mode | S_IWUSR | S_IXUSR, &created, err);
        p[i] = '/';
        if (rc != MNEMO_OK)
            return rc;
    }
    rc = ensure_dir(p, path, 1, mode, &created, err);
    if (rc != MNEMO_OK)
        return rc;
    /* mkdir masks mode with the umask; the leaf must get exactly what the caller asked for. */
    if (created && chmod(p, mode) != 0)
        return fs_fail(err, errno, "cannot set the mode of directory", path);
    return MNEMO_OK;
}

/* Writes all of buf to fd, resuming after signals and short writes. Returns 0 or an errno. */
static int write_full(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        /* A regular file never accepts zero bytes of a non-empty write; do not spin. */
        if (w == 0)
            return EIO;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* A hard-to-guess value for temporary names; falls back to the clock if getrandom fails. */
static uint64_t tmp_token(void)
{
    uint64_t r;
    ssize_t got;

    do {
        got = getrandom(&r, sizeof r, GRND_NONBLOCK);
    } while (got < 0 && errno == EINTR);
    if (got != (ssize_t)sizeof r)
        r = (uint64_t)mnemo_clock_mono_ns() ^ ((uint64_t)getpid() << 32);
    return r;
}

/* Opens a new temporary file beside path, writing its name into tmp (PATH_MAX bytes). */
static int open_tmp(const char *path, char *tmp, mode_t mode, int *fd_out, struct mnemo_err *err)
{
    char eb[128];
    int e = EEXIST;

    *fd_out = -1;
    for (int i = 0; i < TMP_NAME_TRIES && e == EEXIST; i++) {
        int n = snprintf(tmp, PATH_MAX, "%s.tmp-%ld-%016llx", path, (long)getpid(),
                         (unsigned long long)tmp_token());
        if (n < 0 || n >= PATH_MAX)
            return mnemo_err_set(err, MNEMO_EINVAL, "cannot write '%s': path too long", path);
        /* O_EXCL: never reuse (or follow a symlink planted at) another writer's name. */
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd >= 0) {
            *fd_out = fd;
            return MNEMO_OK;
        }
        e = errno;
    }
    return mnemo_err_set(err, mnemo_fs_errno_rc(e), "cannot create temporary file for '%s': %s",
                         path, errstr(e, eb, sizeof eb));
}

/* Opens and fsyncs directory dir so a rename inside it survives a crash. */
static int sync_dir(const char *dir, const char *path, struct mnemo_err *err)
{
    int fd;
    int rc = MNEMO_OK;

    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fs_fail(err, errno, "cannot open directory", dir);
    /* Some file systems cannot fsync a directory (EINVAL); the rename is as durable as they get. */
    if (fsync(fd) != 0 && errno != EINVAL)
        rc = fs_fail(err, errno, "cannot sync the directory of", path);
    if (close(fd) != 0 && rc == MNEMO_OK && errno != EINTR)
        rc = fs_fail(err, errno, "cannot close directory", dir);
    return rc;
}

/* Replaces path with data atomically (temp file, fsync, rename, fsync of the directory). */
int mnemo_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          struct mnemo_err *err)
{
    char target[PATH_MAX];
    char dir[PATH_MAX];
    char tmp[PATH_MAX];
    int fd = -1;
    int tmp_made = 0;
    int e;
    int rc;

    mode &= 07777;
    rc = copy_path(target, path, err);
    if (rc != MNEMO_OK)
        goto out;
    if (!data && len > 0) {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "cannot write '%s': no data", path);
        goto out;
    }
    if (target[strlen(target) - 1] == '/') {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "cannot write '%s': path names a directory", path);
        goto out;
    }
    rc = mnemo_fs_dirname(target, dir, sizeof dir);
    if (rc != MNEMO_OK) {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "cannot write '%s': path too long", path);
        goto out;
    }
    rc = open_tmp(target, tmp, mode, &fd, err);
    if (rc != MNEMO_OK)
        goto out;
    tmp_made = 1;
    /* open() masked mode with the umask; the file must end up with exactly mode. */
    if (fchmod(fd, mode) != 0) {
        rc = fs_fail(err, errno, "cannot set the mode of", path);
        goto out;
    }
    e = write_full(fd, data, len);
    if (e != 0) {
        rc = fs_fail(err, e, "cannot write", path);
        goto out;
    }
    if (fsync(fd) != 0) {
        rc = fs_fail(err, errno, "cannot sync", path);
        goto out;
    }
    /* close() can report a deferred write error (NFS); the descriptor is gone either way. */
    e = close(fd) != 0 ? errno : 0;
    fd = -1;
    if (e != 0 && e != EINTR) {
        rc = fs_fail(err, e, "cannot write", path);
        goto out;
    }
    if (rename(tmp, target) != 0) {
        rc = fs_fail(err, errno, "cannot replace", path);
        goto out;
    }
    tmp_made = 0;
    /*
     * The new contents are in place, but until the directory entry is on disk a crash may
     * bring the old file back; a caller that needs durability must hear about that.
     */
    rc = sync_dir(dir, path, err);
out:
    if (fd >= 0)
        close(fd);
    /* Best effort: the failure being reported matters more than a leftover's unlink error. */
    if (tmp_made)
        unlink(tmp);
    return rc;
}

/* Size of path in bytes via stat(); *out is 0 on error. */
int mnemo_fs_size(const char *path, int64_t *out, struct mnemo_err *err)
{
    struct stat st;

    if (!out)
        return mnemo_err_set(err, MNEMO_EINVAL, "no output for the size of '%s'",
                             path ? path : "(null)");
    *out = 0;
    if (!path || path[0] == '\0')
        return mnemo_err_set(err, MNEMO_EINVAL, "empty path");
    if (stat(path, &st) != 0)
        return fs_fail_lookup(err, errno, "cannot stat", path);
    *out = (int64_t)st.st_size;
    return MNEMO_OK;
}

/* True when path exists (stat succeeds). */
int mnemo_fs_exists(const char *path)
{
    struct stat st;

    if (!path || path[0] == '\0')
        return 0;
    return stat(path, &st) == 0;
}

/* Reads a whole regular file of at most max bytes into a malloc'd NUL-terminated buffer. */
int mnemo_fs_read_all(const char *path, size_t max, char **out, size_t *len, struct mnemo_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t cap;
    size_t used = 0;
    int fd = -1;
    int rc = MNEMO_OK;

    if (out)
        *out = NULL;
    if (len)
        *len = 0;
    /* So that max + 1 below never wraps; nothing that large fits in memory anyway. */
    if (max == SIZE_MAX)
        max = SIZE_MAX - 1;
    if (!out || !path || path[0] == '\0') {
        rc = mnemo_err_set(err, MNEMO_EINVAL, "invalid arguments to read '%s'",
                           path ? path : "(null)");
        goto out;
    }
    /* O_NONBLOCK so a FIFO at path cannot hang the open; it has no effect on regular files. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        rc = fs_fail_lookup(err, errno, "cannot open", path);
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = fs_fail(err, errno, "cannot stat", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = mnemo_err_set(err, MNEMO_EIO, "cannot read '%s': not a regular file", path);
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        rc = mnemo_err_set(err, MNEMO_ETOOBIG,
                           "cannot read '%s': %lld bytes is over the limit of %zu", path,
                           (long long)st.st_size, max);
        goto out;
    }
    /* The size is only a hint: the file may grow while we read, and /proc files report 0. */
    cap = (size_t)st.st_size + 1;
    if (cap < 4096)
        cap = 4096;
    if (cap > max + 1)
        cap = max + 1;
    buf = malloc(cap);
    if (!buf) {
        rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot read '%s': out of memory", path);
        goto out;
    }
    for (;;) {
        char probe;
        char *p;
        size_t ncap;
        ssize_t r;

        if (used + 1 < cap) {
            r = read(fd, buf + used, cap - 1 - used);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = fs_fail(err, errno, "cannot read", path);
                goto out;
            }
            if (r == 0)
                break;
            used += (size_t)r;
            continue;
        }
        /* Full: one more byte tells EOF from a file that grew (or passed the limit). */
        r = read(fd, &probe, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = fs_fail(err, errno, "cannot read", path);
            goto out;
        }
        if (r == 0)
            break;
        if (cap == max + 1) {
            rc = mnemo_err_set(err, MNEMO_ETOOBIG,
                               "cannot read '%s': more than the limit of %zu bytes", path, max);
            goto out;
        }
        ncap = cap > (max + 1) / 2 ? max + 1 : cap * 2;
        p = realloc(buf, ncap);
        if (!p) {
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "cannot read '%s': out of memory", path);
            goto out;
        }
        buf = p;
        cap = ncap;
        buf[used++] = probe;
    }
    buf[used] = '\0';
    *out = buf;
    buf = NULL;
    if (len)
        *len = used;
out:
    /* A read-only descriptor has nothing to flush, so close cannot lose data here. */
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* Writes the directory part of path into buf ("." when there is none, "/" for the root). */
int mnemo_fs_dirname(const char *path, char *buf, size_t size)
{
    const char *res;
    size_t n;

    if (!buf || size == 0)
        return MNEMO_ETOOBIG;
    buf[0] = '\0';
    if (!path)
        return MNEMO_EINVAL;
    n = strlen(path);
    /* Trailing slashes do not start a new component: "a/b/" is "a/b". */
    while (n > 1 && path[n - 1] == '/')
        n--;
    while (n > 0 && path[n - 1] != '/')
        n--;
    if (n == 0) {
        res = ".";
        n = 1;
    } else {
        while (n > 1 && path[n - 1] == '/')
            n--;
        res = path;
    }
    if (n + 1 > size)
        return MNEMO_ETOOBIG;
    memcpy(buf, res, n);
    buf[n] = '\0';
    return MNEMO_OK;
}
