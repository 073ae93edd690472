/*
 * txn.c - running a unit of work inside a transaction, with one deadline for all of it.
 */
#include <inttypes.h>

#include "store/store_int.h"
#include "util/clock.h"

/* Pause between retries after SQLITE_BUSY_SNAPSHOT: long enough for the competing writer to
 * commit, short enough to be invisible on the prompt path. */
#define SNAPSHOT_RETRY_MS 2

static int is_busy_snapshot(struct mnemo_conn *c)
{
    return sqlite3_extended_errcode(c->db) == SQLITE_BUSY_SNAPSHOT;
}

/* Commits; a COMMIT that fails leaves the transaction open, so it is rolled back here. */
static int txn_commit(struct mnemo_conn *c, struct mnemo_err *err)
{
    int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return 0;
    int out = mnemo_conn_error(c, rc, "commit", err);
    if (!sqlite3_get_autocommit(c->db))
        mnemo__conn_rollback(c);
    return out;
}

/*
 * One attempt: BEGIN, fn, COMMIT. Sets *retry when the attempt failed with
 * SQLITE_BUSY_SNAPSHOT, which only a fresh transaction can resolve.
 */
static int txn_attempt(struct mnemo_conn *c, const char *begin, mnemo_store_txn_fn fn, void *arg,
                       int *retry, struct mnemo_err *err)
{
    *retry = 0;
    /* Work that would start after its deadline is refused outright: a short statement might
     * finish before the progress handler ever looks at the clock. */
    if (c->deadline_ns > 0 && mnemo_clock_mono_ns() >= c->deadline_ns) {
        c->deadline_hit = 1;
        return mnemo_conn_error(c, SQLITE_INTERRUPT, begin, err);
    }
    int rc = sqlite3_exec(c->db, begin, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        *retry = is_busy_snapshot(c);
        return mnemo_conn_error(c, rc, begin, err);
    }
    int frc = fn(c, arg, err);
    if (frc != 0) {
        *retry = is_busy_snapshot(c);
        if (!sqlite3_get_autocommit(c->db))
            mnemo__conn_rollback(c);
        return frc;
    }
    rc = txn_commit(c, err);
    if (rc != 0)
        *retry = is_busy_snapshot(c);
    return rc;
}

static int txn_run(struct mnemo_store *st, const char *op, int64_t start, int64_t deadline,
                   const char *begin, mnemo_store_txn_fn fn, void *arg, struct mnemo_err *err)
{
    struct mnemo_conn *c = NULL;
    int rc = mnemo__pool_acquire(st, op, start, deadline, &c, err);
    if (rc != 0)
        return rc;
    for (;;) {
        int retry = 0;
        rc = txn_attempt(c, begin, fn, arg, &retry, err);
        if (rc == 0 || !retry ||
            mnemo_clock_mono_ns() + SNAPSHOT_RETRY_MS * MNEMO_NS_PER_MS >= deadline)
            break;
        mnemo_log_write(st->log, MNEMO_LOG_DEBUG, "retrying after busy snapshot", "op=%s", op);
        mnemo_clock_sleep_ms(SNAPSHOT_RETRY_MS);
        /* Only the per-attempt flags: op and start are read by the checkpointer under pool_mu
         * and stay as acquire set them. */
        c->deadline_hit = 0;
        c->busy_end = MNEMO__BUSY_NONE;
    }
    mnemo_store_release(c);
    return rc;
}

int mnemo_store_write(struct mnemo_store *st, const char *op_name, int64_t timeout_ms,
                      mnemo_store_txn_fn fn, void *arg, struct mnemo_err *err)
{
    int64_t start = mnemo_clock_mono_ns();
    int64_t deadline = mnemo_deadline_in_ms(timeout_ms);
    int rc = mnemo_store_space_check(st, err);

    if (rc != 0) {
        mnemo__store_op_done(st, op_name, start, rc);
        return rc;
    }
    /* One writer at a time inside this process: writers queue here, in memory, instead of
     * each holding a pooled connection while spinning on SQLite's file lock. */
    if (mnemo__tlock_acquire(&st->write_lock, deadline) != 0) {
        rc = mnemo_err_set(err, MNEMO_ETIMEDOUT,
                           "operation '%s' timed out after %" PRId64
                           " ms waiting for the writer lock of '%s'",
                           op_name, (mnemo_clock_mono_ns() - start) / MNEMO_NS_PER_MS, st->path);
        mnemo__store_op_done(st, op_name, start, rc);
        return rc;
    }
    rc = txn_run(st, op_name, start, deadline, "BEGIN IMMEDIATE", fn, arg, err);
    mnemo__tlock_release(&st->write_lock);
    if (rc == 0)
        mnemo__checkpointer_kick(st);
    mnemo__store_op_done(st, op_name, start, rc);
    return rc;
}

int mnemo_store_read(struct mnemo_store *st, const char *op_name, int64_t timeout_ms,
                     mnemo_store_txn_fn fn, void *arg, struct mnemo_err *err)
{
    int64_t start = mnemo_clock_mono_ns();
    int rc = txn_run(st, op_name, start, mnemo_deadline_in_ms(timeout_ms), "BEGIN", fn, arg, err);
    mnemo__store_op_done(st, op_name, start, rc);
    return rc;
}
