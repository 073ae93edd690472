/*
 * vfs_fault.h - a fault-injecting SQLite VFS for the torture tests: a registered sqlite3_vfs
 * named VF_NAME that wraps "unix", counts every call of the operations below and can make the
 * Nth one fail, the way SQLite's own I/O-error tests loop N over an operation.
 *
 * Faults:
 *   - VF_ONCE: the Nth call of op (counted from vf_arm) fails with rc; later calls succeed
 *     (a transient error: the retry works).
 *   - VF_PERSIST: the Nth call and every later one fail until vf_disarm (a disk that stays
 *     broken or full).
 *   - VF_SHORT (xWrite only): the Nth write stores only the first half of its bytes, then
 *     fails with rc (a write cut short by a full disk). SQLite's unix VFS retries short writes
 *     and EINTR at the system-call level itself; vf_syscalls_flaky tests exactly that.
 *
 * Thread-safety: every function may be called from any thread (one mutex); the VFS's methods
 * run on whatever thread SQLite calls them from (the store's pool). Ownership: the VFS is
 * static; vf_register is idempotent and the registration lasts until vf_unregister.
 */
#ifndef MNEMO_TESTS_VFS_FAULT_H
#define MNEMO_TESTS_VFS_FAULT_H

#include <stdint.h>

#define VF_NAME "mnemo-fault"

enum vf_op {
    VF_WRITE,    /* xWrite */
    VF_SYNC,     /* xSync */
    VF_TRUNCATE, /* xTruncate */
    VF_SHMMAP,   /* xShmMap */
    VF_READ,     /* xRead */
    VF_N_OPS,
};

enum vf_mode {
    VF_ONCE,
    VF_PERSIST,
    VF_SHORT,
};

/* Registers the VFS (not as the default). Returns SQLITE_OK or SQLite's error. */
int vf_register(void);
void vf_unregister(void);

/* "xWrite", "xSync", ... */
const char *vf_op_name(enum vf_op op);

/* Zeroes every call counter and the fault count, and disarms. */
void vf_reset(void);

/* Arms one fault: the nth (1-based) call of op from now fails with rc as mode says. */
void vf_arm(enum vf_op op, uint64_t nth, int rc, enum vf_mode mode);

/* No more faults (counters keep counting). */
void vf_disarm(void);

/* Calls of op since the last vf_reset. */
uint64_t vf_calls(enum vf_op op);

/* Faults injected since the last vf_reset (a VF_PERSIST fault counts every failed call). */
uint64_t vf_faults(void);

/*
 * Turns system-call-level trouble in the unix VFS on (every) or off (0): every every-th
 * write system call (write, pwrite, pwrite64, whichever this SQLite uses) first fails with
 * EINTR, and every other one writes only half of what it was asked. SQLite must hide both.
 * Returns the number of such events so far (since the last call that turned it on).
 */
uint64_t vf_syscalls_flaky(int every);

#endif
