/*
 * space.h - the file system under the store: a free-space floor for writes, and the identity of
 * the database file.
 *
 * A disk that fills up completely strands a SQLite database: the WAL cannot grow, a checkpoint
 * cannot extend the main file, and even the DELETE that would make room needs pages. So the
 * store refuses write transactions (mnemo_store_write) while the file system holding the
 * database has less than cfg.min_free_bytes available, with MNEMO_ENOSPC and a message that
 * starts "disk full". Reads, checkpoints and the health probe go on; writes resume on their own
 * once space is freed (the free space is re-read at most MNEMO_STORE_SPACE_TTL_MS later).
 *
 * A database file deleted (or replaced) under an open store is still readable and writable
 * through the open descriptors, but everything written to it is lost when the store closes, so
 * the same guard refuses writes with MNEMO_EIO and the health check turns unhealthy, naming the
 * file and what to do.
 *
 * Thread-safety: every function here may be called from any thread at once; the cached result
 * is under the store's space_mu (a leaf lock: nothing else is taken while holding it).
 */
#ifndef MNEMO_STORE_SPACE_H
#define MNEMO_STORE_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct mnemo_store;

/* How long one statvfs()/stat() result is reused: a write costs a clock read, not a syscall. */
#define MNEMO_STORE_SPACE_TTL_MS 1000

/* What the file was, compared with what the store opened. */
enum mnemo_store_file_state {
    MNEMO_STORE_FILE_OK = 0,
    MNEMO_STORE_FILE_DELETED = 1,  /* the path no longer exists */
    MNEMO_STORE_FILE_REPLACED = 2, /* the path names another file (another inode) */
};

struct mnemo_store_space {
    int64_t free_bytes;  /* available to unprivileged users (f_bavail); -1 when unknown */
    int64_t total_bytes; /* size of the file system; -1 when unknown */
    int64_t floor_bytes; /* cfg.min_free_bytes (0 = no floor) */
    int below_floor;     /* 1 when free_bytes < floor_bytes: writes are refused */
    enum mnemo_store_file_state file;
    int64_t checked_ms; /* wall clock of the statvfs()/stat() this comes from */
};

/*
 * Fills *out with the cached state, or a fresh one when the cache is older than
 * MNEMO_STORE_SPACE_TTL_MS or force is set. Uses statvfs() on the database's directory and
 * stat() on its path only (never open()). Always fills *out.
 */
void mnemo_store_space(struct mnemo_store *st, int force, struct mnemo_store_space *out);

/*
 * The write guard mnemo_store_write runs before it takes the writer lock. Returns 0 when a
 * write may proceed; MNEMO_ENOSPC ("disk full: ...", naming the free space, the floor, the
 * directory and the config key) when the file system is below the floor; MNEMO_EIO when the
 * database file was deleted or replaced while open.
 */
int mnemo_store_space_check(struct mnemo_store *st, struct mnemo_err *err);

/*
 * The one-line description of a state that is not fine, for health, doctor and errors: "" when
 * writes may proceed. Pure; path is the database path.
 */
void mnemo_store_space_describe(const struct mnemo_store_space *s, const char *path, char *buf,
                                size_t size);

#endif
