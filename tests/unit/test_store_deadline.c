/*
 * test_store_deadline.c - every operation ends at its deadline: CPU-bound work through the
 * progress handler, lock waits through the busy handler, each with an error naming it.
 */
#include "storeutil.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/clock.h"

/* Scheduling noise allowed on top of a deadline (the sanitizer builds are slower). */
#define SLACK_MS 100

static int endless_count_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    int64_t n = 0;
    (void)arg;
    return mnemo_conn_query_int(c,
                                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                "SELECT count(*) FROM c",
                                &n, err);
}

static int insert_one_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    (void)arg;
    return mnemo_conn_exec(c, "INSERT INTO t(body) VALUES ('x')", err);
}

static void test_store_deadline_interrupts_cpu_bound_query(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    struct mnemo_err e = {0};
    int64_t t0 = tu_now_ms();
    int rc = mnemo_store_read(st, "endless-scan", 200, endless_count_fn, NULL, &e);
    int64_t took = tu_now_ms() - t0;
    assert_int_equal(rc, MNEMO_ETIMEDOUT);
    assert_true(took >= 195);
    assert_true(took <= 200 + 50);
    assert_non_null(strstr(e.msg, "'endless-scan'"));
    assert_non_null(strstr(e.msg, "deadline"));
    /* The connection went back clean and the store still works. */
    assert_int_equal(su_count_rows(st), 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_expired_deadline_refuses_work(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    struct mnemo_err e = {0};
    assert_int_equal(mnemo_store_write(st, "too-late", 0, insert_one_fn, NULL, &e),
                     MNEMO_ETIMEDOUT);
    assert_non_null(strstr(e.msg, "'too-late'"));
    assert_int_equal(su_count_rows(st), 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

/*
 * A child process that takes the database's write lock (BEGIN EXCLUSIVE) when told to and
 * holds it for hold_ms or until the parent closes its control pipe. It opens its own SQLite
 * connection after the fork, and the parent forks before opening anything, so no handle
 * crosses the fork.
 */
struct locker {
    pid_t pid;
    int go_fd;    /* parent writes one byte to start, closes to release */
    int ready_fd; /* child writes 'L' once it holds the lock */
};

static void locker_main(const char *db, int go, int ready, int hold_ms)
{
    char b;
    sqlite3 *h = NULL;
    if (read(go, &b, 1) != 1)
        _exit(3);
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        _exit(4);
    if (sqlite3_exec(h, "BEGIN EXCLUSIVE; INSERT INTO t(body) VALUES ('child')", NULL, NULL,
                     NULL) != SQLITE_OK)
        _exit(5);
    if (write(ready, "L", 1) != 1)
        _exit(6);
    struct pollfd p = {.fd = go, .events = POLLIN};
    (void)poll(&p, 1, hold_ms);
    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(h);
    _exit(0);
}

static void locker_fork(struct locker *l, const char *db, int hold_ms)
{
    int go[2], ready[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(ready), 0);
    l->pid = fork();
    assert_true(l->pid >= 0);
    if (l->pid == 0) {
        close(go[1]);
        close(ready[0]);
        locker_main(db, go[0], ready[1], hold_ms);
    }
    close(go[0]);
    close(ready[1]);
    l->go_fd = go[1];
    l->ready_fd = ready[0];
}

static void locker_lock(struct locker *l)
{
    char b = 0;
    assert_int_equal(write(l->go_fd, "g", 1), 1);
    assert_int_equal(read(l->ready_fd, &b, 1), 1);
    assert_int_equal(b, 'L');
}

static int locker_finish(struct locker *l)
{
    int status = 0;
    close(l->go_fd);
    close(l->ready_fd);
    assert_int_equal(waitpid(l->pid, &status, 0), l->pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void create_schema(const char *db)
{
    struct mnemo_store *st = su_open(db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_write_fails_at_deadline_while_another_process_holds_lock(void **state)
{
    struct su_fixture *f = *state;
    struct locker l;
    struct mnemo_err e = {0};
    create_schema(f->db);
    locker_fork(&l, f->db, 10000);
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    locker_lock(&l);

    int64_t t0 = tu_now_ms();
    int rc = mnemo_store_write(st, "blocked-write", 200, insert_one_fn, NULL, &e);
    int64_t took = tu_now_ms() - t0;
    assert_int_equal(rc, MNEMO_ETIMEDOUT);
    assert_true(took >= 195);
    assert_true(took <= 200 + SLACK_MS);
    assert_non_null(strstr(e.msg, "'blocked-write'"));
    assert_non_null(strstr(e.msg, "waiting for a lock"));

    assert_int_equal(locker_finish(&l), 0);
    /* Once the lock is gone the same store writes normally. */
    assert_int_equal(mnemo_store_write(st, "after", 1000, insert_one_fn, NULL, &e), 0);
    assert_int_equal(su_count_rows(st), 2);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_write_waits_for_a_briefly_held_lock(void **state)
{
    struct su_fixture *f = *state;
    struct locker l;
    struct mnemo_err e = {0};
    create_schema(f->db);
    locker_fork(&l, f->db, 300);
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    locker_lock(&l);
    int64_t t0 = tu_now_ms();
    int rc = mnemo_store_write(st, "patient-write", 5000, insert_one_fn, NULL, &e);
    int64_t took = tu_now_ms() - t0;
    if (rc != 0)
        fail_msg("write failed: %s", e.msg);
    assert_true(took >= 200); /* it really waited for the lock... */
    assert_true(took < 2000); /* ...and went ahead soon after it was released */
    assert_int_equal(locker_finish(&l), 0);
    assert_int_equal(su_count_rows(st), 2);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_busy_timeout_ends_lock_wait_before_deadline(void **state)
{
    struct su_fixture *f = *state;
    struct locker l;
    struct mnemo_err e = {0};
    struct mnemo_store_config cfg;
    create_schema(f->db);
    locker_fork(&l, f->db, 10000);
    mnemo_store_config_init(&cfg);
    cfg.busy_timeout_ms = 150;
    struct mnemo_store *st = su_open(f->db, &cfg, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    locker_lock(&l);
    int64_t t0 = tu_now_ms();
    int rc = mnemo_store_write(st, "short-fuse", 5000, insert_one_fn, NULL, &e);
    int64_t took = tu_now_ms() - t0;
    assert_int_equal(rc, MNEMO_EBUSY);
    assert_true(took >= 145 && took <= 150 + SLACK_MS);
    assert_non_null(strstr(e.msg, "is locked"));
    assert_int_equal(locker_finish(&l), 0);
    assert_int_equal(mnemo_store_close(st), 0);
}

/* First attempt: read, let another connection commit, then try to write from the stale
 * snapshot, which SQLite refuses with SQLITE_BUSY_SNAPSHOT. Later attempts just write. */
struct snapshot_args {
    struct mnemo_store *st;
    int attempts;
};

static int stale_snapshot_fn(struct mnemo_conn *c, void *arg, struct mnemo_err *err)
{
    struct snapshot_args *a = arg;
    int64_t n = 0;
    int rc = mnemo_conn_query_int(c, "SELECT count(*) FROM t", &n, err);
    if (rc != 0)
        return rc;
    if (a->attempts++ == 0) {
        struct mnemo_conn *other = NULL;
        rc = mnemo_store_acquire(a->st, "interloper", mnemo_deadline_in_ms(1000), &other, err);
        if (rc != 0)
            return rc;
        rc = mnemo_conn_exec(other, "INSERT INTO t(body) VALUES ('interloper')", err);
        mnemo_store_release(other);
        if (rc != 0)
            return rc;
    }
    return mnemo_conn_exec(c, "INSERT INTO t(body) VALUES ('mine')", err);
}

static void test_store_busy_snapshot_is_retried(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = su_open(f->db, NULL, MNEMO_STORE_NO_CHECKPOINTER, NULL);
    struct mnemo_err e = {0};
    struct snapshot_args a = {.st = st};
    int rc = mnemo_store_read(st, "upgrade", 2000, stale_snapshot_fn, &a, &e);
    if (rc != 0)
        fail_msg("not retried: %s", e.msg);
    assert_int_equal(a.attempts, 2);
    assert_int_equal(su_count_rows(st), 2);
    assert_int_equal(mnemo_store_close(st), 0);
}

static void test_store_slow_operations_are_logged_by_name(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_err e = {0};
    struct mnemo_log *log = tu_log_open(f->log);
    mnemo_store_config_init(&cfg);
    cfg.slow_op_ms = 0; /* every operation is "slow" */
    struct mnemo_store *st = su_open(f->db, &cfg, MNEMO_STORE_NO_CHECKPOINTER, log);
    assert_int_equal(mnemo_store_write(st, "noted-write", 1000, insert_one_fn, NULL, &e), 0);
    assert_int_equal(mnemo_store_close(st), 0);
    mnemo_log_close(log);
    char *text = tu_file_read(f->log, 1 << 20, NULL);
    assert_non_null(text);
    char *line = strstr(text, "msg=\"slow database operation\" op=noted-write");
    assert_non_null(line);
    assert_non_null(strstr(line, "elapsed_ms="));
    free(text);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_deadline_interrupts_cpu_bound_query, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_expired_deadline_refuses_work, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(
            test_store_write_fails_at_deadline_while_another_process_holds_lock, su_setup,
            su_teardown),
        cmocka_unit_test_setup_teardown(test_store_write_waits_for_a_briefly_held_lock, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_busy_timeout_ends_lock_wait_before_deadline,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_busy_snapshot_is_retried, su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_slow_operations_are_logged_by_name, su_setup,
                                        su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
