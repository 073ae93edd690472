/*
 * space.c - the free-space floor and the database file's identity (see space.h for why).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/clock.h"

void mnemo__space_remember_file(struct mnemo_store *st)
{
    struct stat sb;
    pthread_mutex_lock(&st->space_mu);
    if (stat(st->path, &sb) == 0) {
        st->file_dev = sb.st_dev;
        st->file_ino = sb.st_ino;
        st->have_file_id = 1;
    }
    pthread_mutex_unlock(&st->space_mu);
}

/* Reads the file system and the file now. Caller holds space_mu. */
static void space_refresh(struct mnemo_store *st)
{
    struct mnemo_store_space *s = &st->space;
    struct statvfs vfs;
    struct stat sb;

    s->floor_bytes = st->cfg.min_free_bytes;
    s->free_bytes = -1;
    s->total_bytes = -1;
    if (statvfs(st->dir, &vfs) == 0) {
        s->free_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
        s->total_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
    }
    /* An unknown free space never refuses writes: SQLite's own SQLITE_FULL still reports a
     * real full disk, and a statvfs() hiccup must not stop capture. */
    s->below_floor = s->floor_bytes > 0 && s->free_bytes >= 0 && s->free_bytes < s->floor_bytes;

    s->file = MNEMO_STORE_FILE_OK;
    if (st->have_file_id) {
        if (stat(st->path, &sb) != 0) {
            if (errno == ENOENT)
                s->file = MNEMO_STORE_FILE_DELETED;
        } else if (sb.st_dev != st->file_dev || sb.st_ino != st->file_ino) {
            s->file = MNEMO_STORE_FILE_REPLACED;
        }
    }
    s->checked_ms = mnemo_clock_wall_ms();
    st->space_checked_ns = mnemo_clock_mono_ns();
}

void mnemo_store_space(struct mnemo_store *st, int force, struct mnemo_store_space *out)
{
    int64_t now = mnemo_clock_mono_ns();
    pthread_mutex_lock(&st->space_mu);
    if (force || st->space_checked_ns == 0 ||
        now - st->space_checked_ns >= MNEMO_STORE_SPACE_TTL_MS * MNEMO_NS_PER_MS)
        space_refresh(st);
    *out = st->space;
    pthread_mutex_unlock(&st->space_mu);
}

/* Binary units with one decimal, as people read free space ("3.2 MiB"). */
static const char *fmt_bytes(int64_t n, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%" PRId64 " B", n);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

void mnemo_store_space_describe(const struct mnemo_store_space *s, const char *path, char *buf,
                                size_t size)
{
    char fr[32], fl[32];

    if (size == 0)
        return;
    buf[0] = '\0';
    if (s->file == MNEMO_STORE_FILE_DELETED)
        snprintf(buf, size,
                 "database file '%s' was deleted while open: writes are refused because they "
                 "would be lost; restart the worker to start a new database (pid %ld holds the "
                 "old one under /proc/%ld/fd until it exits)",
                 path, (long)getpid(), (long)getpid());
    else if (s->file == MNEMO_STORE_FILE_REPLACED)
        snprintf(buf, size,
                 "database file '%s' was replaced by another file while open: writes are refused; "
                 "restart the worker to use the new file",
                 path);
    else if (s->below_floor)
        snprintf(buf, size,
                 "disk full: %s free on the database's file system, below the floor of %s "
                 "(store.min_free_bytes): writes are refused until space is freed",
                 fmt_bytes(s->free_bytes, fr, sizeof fr), fmt_bytes(s->floor_bytes, fl, sizeof fl));
}

int mnemo_store_space_check(struct mnemo_store *st, struct mnemo_err *err)
{
    struct mnemo_store_space s;
    char msg[MNEMO_ERR_MSG_MAX];

    mnemo_store_space(st, 0, &s);
    if (s.file == MNEMO_STORE_FILE_OK && !s.below_floor)
        return 0;
    mnemo_store_space_describe(&s, st->path, msg, sizeof msg);
    return mnemo_err_set(err, s.file != MNEMO_STORE_FILE_OK ? MNEMO_EIO : MNEMO_ENOSPC, "%s", msg);
}

void mnemo__space_health(struct mnemo_store *st, struct mnemo_store_health *h)
{
    struct mnemo_store_space s;

    mnemo_store_space(st, 0, &s);
    if (s.file != MNEMO_STORE_FILE_OK) {
        h->status = MNEMO_STORE_UNHEALTHY;
        mnemo_store_space_describe(&s, st->path, h->error, sizeof h->error);
    } else if (s.below_floor) {
        if (h->status == MNEMO_STORE_HEALTHY)
            h->status = MNEMO_STORE_DEGRADED;
        mnemo_store_space_describe(&s, st->path, h->warning, sizeof h->warning);
    }
}
