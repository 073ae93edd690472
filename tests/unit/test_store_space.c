/*
 * test_store_space.c - the free-space floor and the database file's identity (store/space.h):
 * below the floor writes are refused with a "disk full" MNEMO_ENOSPC while reads go on and
 * health says why, and they resume once space is freed; a database file deleted or replaced
 * under an open store refuses writes (they would be lost) and makes health unhealthy.
 */
#include "storeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/space.h"

/* Exit code of the tmpfs child when mounting is not permitted: the test is skipped. */
#define NO_MOUNT 77

static struct mnemo_store *open_with_floor(const char *db, int64_t floor)
{
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.flags = MNEMO_STORE_NO_CHECKPOINTER;
    cfg.min_free_bytes = floor;
    return su_open(db, &cfg, 0, NULL);
}

static void test_store_space_floor_defaults_off_and_rejects_negative(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store_config cfg;
    struct mnemo_store *st = NULL;
    struct mnemo_err e = {0};

    mnemo_store_config_init(&cfg);
    assert_int_equal(cfg.min_free_bytes, 0);
    cfg.path = f->db;
    cfg.flags = MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER;
    cfg.min_free_bytes = -1;
    assert_int_equal(mnemo_store_open(&cfg, &st, &e), MNEMO_EINVAL);
    assert_null(st);
    assert_non_null(strstr(e.msg, "min_free_bytes"));
}

static void test_store_space_below_floor_refuses_writes_but_reads_go_on(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_with_floor(f->db, 0);
    struct mnemo_err e = {0};
    assert_int_equal(su_insert_rows(st, 3, 100, 1, &e), 0);
    mnemo_store_close(st);

    /* A floor no disk can meet: every write is below it. */
    st = open_with_floor(f->db, INT64_C(1) << 60);
    struct mnemo_store_space s;
    mnemo_store_space(st, 1, &s);
    assert_true(s.free_bytes > 0);
    assert_true(s.total_bytes >= s.free_bytes);
    assert_int_equal(s.below_floor, 1);
    assert_int_equal(s.file, MNEMO_STORE_FILE_OK);

    assert_int_equal(su_insert_rows(st, 1, 100, 1, &e), MNEMO_ENOSPC);
    assert_non_null(strstr(e.msg, "disk full"));
    assert_non_null(strstr(e.msg, "store.min_free_bytes"));
    assert_int_equal(su_count_rows(st), 3);

    struct mnemo_store_health h;
    mnemo_store_health(st, 1, &h);
    assert_int_equal(h.status, MNEMO_STORE_DEGRADED);
    assert_non_null(strstr(h.warning, "disk full"));

    /* A checkpoint is not a write transaction: it must still run to keep the WAL bounded. */
    struct mnemo_store_checkpoint_result cr;
    assert_int_equal(mnemo_store_checkpoint(st, 2000, &cr, &e), 0);
    mnemo_store_close(st);
}

static void test_store_space_describe_is_empty_when_fine(void **state)
{
    (void)state;
    struct mnemo_store_space s = {.free_bytes = 100 << 20, .floor_bytes = 32 << 20};
    char buf[256];
    mnemo_store_space_describe(&s, "/x/mnemo.db", buf, sizeof buf);
    assert_string_equal(buf, "");
    s.below_floor = 1;
    s.free_bytes = 3 << 20;
    mnemo_store_space_describe(&s, "/x/mnemo.db", buf, sizeof buf);
    assert_non_null(strstr(buf, "disk full: 3.0 MiB free"));
    assert_non_null(strstr(buf, "floor of 32.0 MiB"));
    s.file = MNEMO_STORE_FILE_DELETED;
    mnemo_store_space_describe(&s, "/x/mnemo.db", buf, sizeof buf);
    assert_non_null(strstr(buf, "'/x/mnemo.db' was deleted while open"));
}

static void test_store_space_deleted_file_refuses_writes_and_is_unhealthy(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_with_floor(f->db, 0);
    struct mnemo_err e = {0};
    assert_int_equal(su_insert_rows(st, 2, 100, 1, &e), 0);

    assert_int_equal(unlink(f->db), 0);
    struct mnemo_store_space s;
    mnemo_store_space(st, 1, &s);
    assert_int_equal(s.file, MNEMO_STORE_FILE_DELETED);
    assert_int_equal(su_insert_rows(st, 1, 100, 1, &e), MNEMO_EIO);
    assert_non_null(strstr(e.msg, "was deleted while open"));
    assert_non_null(strstr(e.msg, f->db));
    /* Reads still see what the open file holds. */
    assert_int_equal(su_count_rows(st), 2);

    struct mnemo_store_health h;
    mnemo_store_health(st, 1, &h);
    assert_int_equal(h.status, MNEMO_STORE_UNHEALTHY);
    assert_non_null(strstr(h.error, "was deleted while open"));
    mnemo_store_close(st);
}

static void test_store_space_replaced_file_refuses_writes(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st = open_with_floor(f->db, 0);
    struct mnemo_err e = {0};
    char other[320];
    snprintf(other, sizeof other, "%s.other", f->db);
    tu_file_write(other, "x", 1);
    assert_int_equal(rename(other, f->db), 0);
    struct mnemo_store_space s;
    mnemo_store_space(st, 1, &s);
    assert_int_equal(s.file, MNEMO_STORE_FILE_REPLACED);
    assert_int_equal(su_insert_rows(st, 1, 100, 1, &e), MNEMO_EIO);
    assert_non_null(strstr(e.msg, "was replaced"));
    mnemo_store_close(st);
}

/* Writes len bytes of junk to path; returns 0 or the errno of the first failed write. */
static int write_junk(const char *path, size_t len)
{
    static char block[65536];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return errno;
    int e = 0;
    while (len > 0 && e == 0) {
        size_t n = len < sizeof block ? len : sizeof block;
        ssize_t w = write(fd, block, n);
        if (w < 0)
            e = errno;
        else
            len -= (size_t)w;
    }
    close(fd);
    return e;
}

/*
 * In a child with its own mount namespace: an 8 MiB tmpfs, a 2 MiB floor, a junk file that
 * leaves less than that free. Exit 0 means: the write was refused with "disk full", a read and
 * integrity_check worked, and after the junk was removed the write went through.
 */
static int floor_on_tmpfs(const char *dir)
{
    char mnt[300], db[320], junk[320];
    snprintf(mnt, sizeof mnt, "%s/small", dir);
    if (mkdir(mnt, 0700) != 0)
        return 10;
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", mnt, "tmpfs", 0, "size=8m") != 0)
        return NO_MOUNT;
    snprintf(db, sizeof db, "%s/mnemo.db", mnt);
    snprintf(junk, sizeof junk, "%s/junk", mnt);
    struct mnemo_store *st = open_with_floor(db, INT64_C(2) << 20);
    struct mnemo_err e = {0};
    int rc = 11;
    if (su_insert_rows(st, 5, 1000, 1, &e) != 0)
        goto out;
    struct statvfs vfs;
    if (statvfs(mnt, &vfs) != 0)
        goto out;
    int64_t free_now = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    rc = 12;
    if (write_junk(junk, (size_t)(free_now - (INT64_C(1) << 20))) != 0)
        goto out;
    struct mnemo_store_space s;
    mnemo_store_space(st, 1, &s);
    rc = 13;
    if (!s.below_floor)
        goto out;
    rc = 14;
    if (su_insert_rows(st, 1, 1000, 1, &e) != MNEMO_ENOSPC || !strstr(e.msg, "disk full"))
        goto out;
    rc = 15;
    if (su_count_rows(st) != 5 || mnemo_store_check(st, 1, 10000, NULL, &e) != 0)
        goto out;
    unlink(junk);
    mnemo_store_space(st, 1, &s);
    rc = 16;
    if (s.below_floor || su_insert_rows(st, 1, 1000, 1, &e) != 0 || su_count_rows(st) != 6)
        goto out;
    rc = 0;
out:
    mnemo_store_close(st);
    umount(mnt);
    return rc;
}

static void test_store_space_writes_resume_once_space_is_freed(void **state)
{
    struct su_fixture *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(floor_on_tmpfs(f->dir.path));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == NO_MOUNT) {
        print_message("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_space_floor_defaults_off_and_rejects_negative,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_space_below_floor_refuses_writes_but_reads_go_on,
                                        su_setup, su_teardown),
        cmocka_unit_test(test_store_space_describe_is_empty_when_fine),
        cmocka_unit_test_setup_teardown(
            test_store_space_deleted_file_refuses_writes_and_is_unhealthy, su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_space_replaced_file_refuses_writes, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_space_writes_resume_once_space_is_freed,
                                        su_setup, su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
