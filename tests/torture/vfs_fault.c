/*
 * vfs_fault.c - see vfs_fault.h. A shim in the style SQLite's docs describe for VFS wrappers:
 * each file is our sqlite3_file header followed by the real "unix" file, and every method
 * forwards to the real one after asking should_fail().
 */
#include "vfs_fault.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <sqlite3.h>

struct vf_file {
    sqlite3_file base;
    sqlite3_file *real; /* follows this struct in the same allocation */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs *g_unix;
static uint64_t g_calls[VF_N_OPS];
static uint64_t g_faults;
static int g_armed;
static enum vf_op g_op;
static uint64_t g_nth; /* fail when g_calls[g_op] reaches this */
static int g_rc;
static enum vf_mode g_mode;

static const char *const op_names[VF_N_OPS] = {"xWrite", "xSync", "xTruncate", "xShmMap", "xRead"};

const char *vf_op_name(enum vf_op op)
{
    return op < VF_N_OPS ? op_names[op] : "?";
}

/* Counts a call of op; returns 0 to let it through, else the error to fail it with and, in
 * *mode, how. */
static int should_fail(enum vf_op op, enum vf_mode *mode)
{
    int rc = 0;
    pthread_mutex_lock(&g_mu);
    uint64_t n = ++g_calls[op];
    if (g_armed && op == g_op && (n == g_nth || (g_mode == VF_PERSIST && n > g_nth))) {
        rc = g_rc;
        *mode = g_mode;
        g_faults++;
        if (g_mode != VF_PERSIST)
            g_armed = 0;
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

void vf_reset(void)
{
    pthread_mutex_lock(&g_mu);
    memset(g_calls, 0, sizeof g_calls);
    g_faults = 0;
    g_armed = 0;
    pthread_mutex_unlock(&g_mu);
}

void vf_arm(enum vf_op op, uint64_t nth, int rc, enum vf_mode mode)
{
    pthread_mutex_lock(&g_mu);
    g_op = op;
    g_nth = g_calls[op] + nth;
    g_rc = rc;
    g_mode = mode;
    g_armed = 1;
    pthread_mutex_unlock(&g_mu);
}

void vf_disarm(void)
{
    pthread_mutex_lock(&g_mu);
    g_armed = 0;
    pthread_mutex_unlock(&g_mu);
}

uint64_t vf_calls(enum vf_op op)
{
    pthread_mutex_lock(&g_mu);
    uint64_t n = op < VF_N_OPS ? g_calls[op] : 0;
    pthread_mutex_unlock(&g_mu);
    return n;
}

uint64_t vf_faults(void)
{
    pthread_mutex_lock(&g_mu);
    uint64_t n = g_faults;
    pthread_mutex_unlock(&g_mu);
    return n;
}

/* ---- io methods ---------------------------------------------------------------------------- */

#define REAL(f) (((struct vf_file *)(f))->real)

static int vf_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int vf_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
    enum vf_mode mode;
    int rc = should_fail(VF_READ, &mode);
    if (rc != 0)
        return rc;
    return REAL(f)->pMethods->xRead(REAL(f), buf, amt, off);
}

static int vf_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
    enum vf_mode mode = VF_ONCE;
    int rc = should_fail(VF_WRITE, &mode);
    if (rc != 0) {
        /* A write cut short: the prefix reaches the file, the rest does not. */
        if (mode == VF_SHORT && amt > 1)
            REAL(f)->pMethods->xWrite(REAL(f), buf, amt / 2, off);
        return rc;
    }
    return REAL(f)->pMethods->xWrite(REAL(f), buf, amt, off);
}

static int vf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    enum vf_mode mode;
    int rc = should_fail(VF_TRUNCATE, &mode);
    if (rc != 0)
        return rc;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int vf_sync(sqlite3_file *f, int flags)
{
    enum vf_mode mode;
    int rc = should_fail(VF_SYNC, &mode);
    if (rc != 0)
        return rc;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int vf_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int vf_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int vf_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int vf_check_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int vf_file_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int vf_sector_size(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int vf_device_chars(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int vf_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out)
{
    enum vf_mode mode;
    int rc = should_fail(VF_SHMMAP, &mode);
    if (rc != 0)
        return rc;
    return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, out);
}

static int vf_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void vf_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int vf_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int vf_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, amt, out);
}

static int vf_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

/* Version 1 files (the unix VFS's temporary and journal files) have no shm or fetch methods,
 * so each real file gets the table of its own version. */
static const sqlite3_io_methods io_v3 = {
    3,
    vf_close,
    vf_read,
    vf_write,
    vf_truncate,
    vf_sync,
    vf_file_size,
    vf_lock,
    vf_unlock,
    vf_check_reserved,
    vf_file_control,
    vf_sector_size,
    vf_device_chars,
    vf_shm_map,
    vf_shm_lock,
    vf_shm_barrier,
    vf_shm_unmap,
    vf_fetch,
    vf_unfetch,
};
static const sqlite3_io_methods io_v2 = {
    2,
    vf_close,
    vf_read,
    vf_write,
    vf_truncate,
    vf_sync,
    vf_file_size,
    vf_lock,
    vf_unlock,
    vf_check_reserved,
    vf_file_control,
    vf_sector_size,
    vf_device_chars,
    vf_shm_map,
    vf_shm_lock,
    vf_shm_barrier,
    vf_shm_unmap,
    NULL,
    NULL,
};
static const sqlite3_io_methods io_v1 = {
    1,
    vf_close,
    vf_read,
    vf_write,
    vf_truncate,
    vf_sync,
    vf_file_size,
    vf_lock,
    vf_unlock,
    vf_check_reserved,
    vf_file_control,
    vf_sector_size,
    vf_device_chars,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* ---- vfs methods --------------------------------------------------------------------------- */

static int vf_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    struct vf_file *p = (struct vf_file *)f;
    (void)vfs;
    p->real = (sqlite3_file *)&p[1];
    p->base.pMethods = NULL;
    int rc = g_unix->xOpen(g_unix, name, p->real, flags, out_flags);
    if (p->real->pMethods != NULL) {
        int v = p->real->pMethods->iVersion;
        p->base.pMethods = v >= 3 ? &io_v3 : v == 2 ? &io_v2 : &io_v1;
    }
    return rc;
}

static int vf_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return g_unix->xDelete(g_unix, name, sync_dir);
}

static int vf_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return g_unix->xAccess(g_unix, name, flags, out);
}

static int vf_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return g_unix->xFullPathname(g_unix, name, n, out);
}

static void *vf_dlopen(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return g_unix->xDlOpen(g_unix, name);
}

static void vf_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    g_unix->xDlError(g_unix, n, msg);
}

static void (*vf_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return g_unix->xDlSym(g_unix, h, sym);
}

static void vf_dlclose(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    g_unix->xDlClose(g_unix, h);
}

static int vf_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return g_unix->xRandomness(g_unix, n, out);
}

static int vf_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return g_unix->xSleep(g_unix, us);
}

static int vf_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return g_unix->xCurrentTime(g_unix, out);
}

static int vf_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return g_unix->xGetLastError(g_unix, n, out);
}

static int vf_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return g_unix->xCurrentTimeInt64(g_unix, out);
}

static sqlite3_vfs g_vfs = {
    .iVersion = 2,
    .mxPathname = 0, /* filled from unix at registration */
    .zName = VF_NAME,
    .xOpen = vf_open,
    .xDelete = vf_delete,
    .xAccess = vf_access,
    .xFullPathname = vf_full_pathname,
    .xDlOpen = vf_dlopen,
    .xDlError = vf_dlerror,
    .xDlSym = vf_dlsym,
    .xDlClose = vf_dlclose,
    .xRandomness = vf_randomness,
    .xSleep = vf_sleep,
    .xCurrentTime = vf_current_time,
    .xGetLastError = vf_last_error,
    .xCurrentTimeInt64 = vf_current_time64,
};

int vf_register(void)
{
    pthread_mutex_lock(&g_mu);
    int rc = SQLITE_OK;
    if (g_unix == NULL) {
        sqlite3_vfs *u = sqlite3_vfs_find("unix");
        if (u == NULL) {
            rc = SQLITE_ERROR;
        } else {
            g_vfs.szOsFile = (int)sizeof(struct vf_file) + u->szOsFile;
            g_vfs.mxPathname = u->mxPathname;
            rc = sqlite3_vfs_register(&g_vfs, 0);
            if (rc == SQLITE_OK)
                g_unix = u;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

void vf_unregister(void)
{
    pthread_mutex_lock(&g_mu);
    if (g_unix != NULL) {
        sqlite3_vfs_unregister(&g_vfs);
        g_unix = NULL;
    }
    pthread_mutex_unlock(&g_mu);
}

/* ---- system calls -------------------------------------------------------------------------- */

/* The unix VFS's write calls, replaced through its xSetSystemCall hook. */
static const char *const sys_names[] = {"write", "pwrite", "pwrite64"};
static sqlite3_syscall_ptr sys_orig[3];
static int g_flaky_every;
static uint64_t g_flaky_calls, g_flaky_events;

/* Decides what one write system call does: -1 (fail with EINTR), or how many of n bytes to
 * pass on (n, or a short half). */
static ssize_t flaky_plan(size_t n, size_t *pass)
{
    pthread_mutex_lock(&g_mu);
    uint64_t k = ++g_flaky_calls;
    int every = g_flaky_every;
    pthread_mutex_unlock(&g_mu);
    *pass = n;
    if (every <= 0)
        return 0;
    if (k % (uint64_t)every == 0) {
        pthread_mutex_lock(&g_mu);
        g_flaky_events++;
        pthread_mutex_unlock(&g_mu);
        errno = EINTR;
        return -1;
    }
    if (n > 1) {
        *pass = n / 2;
        pthread_mutex_lock(&g_mu);
        g_flaky_events++;
        pthread_mutex_unlock(&g_mu);
    }
    return 0;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

static ssize_t flaky_write(int fd, const void *buf, size_t n)
{
    size_t pass;
    if (flaky_plan(n, &pass) < 0)
        return -1;
    return ((write_fn)sys_orig[0])(fd, buf, pass);
}

static ssize_t flaky_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    size_t pass;
    if (flaky_plan(n, &pass) < 0)
        return -1;
    return ((pwrite_fn)sys_orig[1])(fd, buf, pass, off);
}

static ssize_t flaky_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    size_t pass;
    if (flaky_plan(n, &pass) < 0)
        return -1;
    return ((pwrite_fn)sys_orig[2])(fd, buf, pass, off);
}

uint64_t vf_syscalls_flaky(int every)
{
    sqlite3_vfs *u = sqlite3_vfs_find("unix");
    const sqlite3_syscall_ptr repl[3] = {(sqlite3_syscall_ptr)flaky_write,
                                         (sqlite3_syscall_ptr)flaky_pwrite,
                                         (sqlite3_syscall_ptr)flaky_pwrite64};
    if (u == NULL || u->iVersion < 3)
        return 0;
    pthread_mutex_lock(&g_mu);
    uint64_t events = g_flaky_events;
    if (every > 0 && g_flaky_every == 0) {
        g_flaky_calls = g_flaky_events = 0;
        events = 0;
    }
    g_flaky_every = every;
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < 3; i++) {
        if (every > 0) {
            if (sys_orig[i] == NULL)
                sys_orig[i] = u->xGetSystemCall(u, sys_names[i]);
            if (sys_orig[i] != NULL)
                u->xSetSystemCall(u, sys_names[i], repl[i]);
        } else if (sys_orig[i] != NULL) {
            u->xSetSystemCall(u, sys_names[i], sys_orig[i]);
        }
    }
    return events;
}
