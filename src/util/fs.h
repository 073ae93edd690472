/*
 * fs.h - small file-system helpers.
 *
 * None of these ever open() a path that may be a SQLite database or one of its -wal/-shm
 * files: closing any descriptor of such a file drops the process's POSIX locks on it and can
 * let another process delete a live WAL. Sizes are read with stat() only.
 *
 * Thread-safety: all functions are safe from any thread (they share no state).
 */
#ifndef MNEMO_UTIL_FS_H
#define MNEMO_UTIL_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/*
 * Creates path and any missing parents with mode (subject to umask for parents, applied
 * exactly to the leaf). An existing directory is success and its mode is left as it is.
 * Returns 0, MNEMO_EACCES, MNEMO_ENOSPC, MNEMO_EEXIST (a component is not a directory),
 * MNEMO_EINVAL (empty or over-long path) or MNEMO_EIO, with detail naming the path.
 */
int mnemo_fs_mkdir_p(const char *path, mode_t mode, struct mnemo_err *err);

/*
 * Replaces path with data atomically: writes a temporary file in the same directory with
 * mode, fsyncs it, renames it over path and fsyncs the directory. Readers see the old or the
 * new contents, never a mix. Returns 0 or a negative code with detail.
 */
int mnemo_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                          struct mnemo_err *err);

/* Size of path in bytes via stat(). Returns 0, MNEMO_ENOTFOUND (also for a non-directory in
 * the path), MNEMO_EACCES, MNEMO_EINVAL (NULL argument) or MNEMO_EIO; *out 0 on error. */
int mnemo_fs_size(const char *path, int64_t *out, struct mnemo_err *err);

/* True when path exists (stat succeeds). */
int mnemo_fs_exists(const char *path);

/*
 * Reads a whole regular file of at most max bytes into a malloc'd NUL-terminated buffer.
 * Not for database files. Returns 0, MNEMO_ENOTFOUND, MNEMO_EACCES, MNEMO_ETOOBIG,
 * MNEMO_ENOMEM, MNEMO_EINVAL or MNEMO_EIO. The caller frees *out.
 */
int mnemo_fs_read_all(const char *path, size_t max, char **out, size_t *len, struct mnemo_err *err);

/*
 * Writes the directory part of path into buf ("." when there is none, "/" for the root).
 * Returns 0 or MNEMO_ETOOBIG when buf is too small.
 */
int mnemo_fs_dirname(const char *path, char *buf, size_t size);

/* Maps an errno value to the closest mnemo code (ENOENT -> ENOTFOUND, ENOSPC -> ENOSPC...). */
int mnemo_fs_errno_rc(int errnum);

#endif
