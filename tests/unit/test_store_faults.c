/*
 * test_store_faults.c - bad files and broken environments get a clear error naming the file
 * and the cause, nothing crashes, and nothing is written.
 */
#include "storeutil.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int try_open(const char *path, unsigned flags, struct mnemo_store **st, struct mnemo_err *e)
{
    struct mnemo_store_config cfg;
    mnemo_store_config_init(&cfg);
    cfg.path = path;
    cfg.flags = flags | MNEMO_STORE_NO_CHECKPOINTER;
    cfg.migrations = su_migrations;
    cfg.n_migrations = su_n_migrations;
    *st = NULL;
    return mnemo_store_open(&cfg, st, e);
}

static void assert_no_sidecars(const char *db)
{
    char p[320];
    snprintf(p, sizeof p, "%s-wal", db);
    assert_int_equal(tu_file_size(p), -1);
    snprintf(p, sizeof p, "%s-shm", db);
    assert_int_equal(tu_file_size(p), -1);
}

static void test_store_missing_directory_is_reported(void **state)
{
    struct su_fixture *f = *state;
    char path[320];
    struct mnemo_store *st;
    struct mnemo_err e = {0};
    snprintf(path, sizeof path, "%s/no/such/dir/mnemo.db", f->dir.path);
    assert_int_equal(try_open(path, MNEMO_STORE_CREATE, &st, &e), MNEMO_ENOTFOUND);
    assert_null(st);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "No such file or directory"));
}

static void test_store_missing_file_without_create_is_reported(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st;
    struct mnemo_err e = {0};
    assert_int_equal(try_open(f->db, 0, &st, &e), MNEMO_ENOTFOUND);
    assert_non_null(strstr(e.msg, "does not exist"));
    assert_non_null(strstr(e.msg, f->db));
    assert_int_equal(tu_file_size(f->db), -1);
}

static void test_store_non_database_file_is_refused_unchanged(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st;
    struct mnemo_err e = {0};
    char text[8192];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "notes about my project\n"[i % 23];
    tu_file_write(f->db, text, sizeof text);

    assert_int_equal(try_open(f->db, MNEMO_STORE_CREATE, &st, &e), MNEMO_ENOTDB);
    assert_null(st);
    assert_non_null(strstr(e.msg, f->db));
    assert_non_null(strstr(e.msg, "not a SQLite database"));
    size_t len = 0;
    char *after = tu_file_read(f->db, sizeof text * 2, &len);
    assert_non_null(after);
    assert_int_equal(len, sizeof text);
    assert_memory_equal(after, text, sizeof text);
    free(after);
    assert_no_sidecars(f->db);
}

static void test_store_corrupt_database_is_refused_unchanged(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st;
    struct mnemo_err e = {0};
    assert_int_equal(try_open(f->db, MNEMO_STORE_CREATE, &st, &e), 0);
    assert_int_equal(su_insert_rows(st, 20, 100, 20, &e), 0);
    assert_int_equal(mnemo_store_close(st), 0);

    /* Page 1 holds the schema; its b-tree header starts at byte 100. A page type that does
     * not exist makes the schema unreadable while the file header stays valid. */
    size_t len = 0;
    char *bytes = tu_file_read(f->db, 1 << 20, &len);
    assert_non_null(bytes);
    assert_true(len >= 4096);
    bytes[100] = 0x7f;
    tu_file_write(f->db, bytes, len);

    assert_int_equal(try_open(f->db, MNEMO_STORE_CREATE, &st, &e), MNEMO_ECORRUPT);
    assert_null(st);
    assert_non_null(strstr(e.msg, f->db));
    assert_non_null(strstr(e.msg, "corrupt"));
    size_t len2 = 0;
    char *after = tu_file_read(f->db, 1 << 20, &len2);
    assert_non_null(after);
    assert_int_equal(len2, len);
    assert_memory_equal(after, bytes, len);
    free(after);
    free(bytes);
    assert_no_sidecars(f->db);
}

static void test_store_check_full_finds_damaged_data_page(void **state)
{
    struct su_fixture *f = *state;
    struct mnemo_store *st;
    struct mnemo_err e = {0};
    assert_int_equal(try_open(f->db, MNEMO_STORE_CREATE, &st, &e), 0);
    assert_int_equal(su_insert_rows(st, 200, 500, 200, &e), 0);
    assert_int_equal(mnemo_store_close(st), 0);

    size_t len = 0;
    char *bytes = tu_file_read(f->db, 1 << 22, &len);
    assert_non_null(bytes);
    assert_true(len >= 6 * 4096);
    /* Scribble over the middle of a data page of table t, past the schema pages. */
    memset(bytes + 4 * 4096 + 8, 0xee, 200);
    tu_file_write(f->db, bytes, len);
    free(bytes);

    assert_int_equal(try_open(f->db, 0, &st, &e), 0); /* the schema is intact: it opens */
    struct mnemo_strbuf problems;
    mnemo_strbuf_init(&problems, 0);
    assert_int_equal(mnemo_store_check(st, 1, 10000, &problems, &e), MNEMO_ECORRUPT);
    assert_true(problems.len > 0);
    assert_non_null(strstr(e.msg, "integrity_check"));
    mnemo_strbuf_release(&problems);
    mnemo_store_close(st);
}

/*
 * Runs fn in a child process as an unprivileged user when the test runs as root (root ignores
 * file modes, so permission errors cannot happen to it). Returns the child's exit status.
 */
static int run_unprivileged(int (*fn)(const char *), const char *arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(90);
        _exit(fn(arg));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int open_in_readonly_dir(const char *db)
{
    struct mnemo_store *st;
    struct mnemo_err e = {0};
    int rc = try_open(db, MNEMO_STORE_CREATE, &st, &e);
    if (rc == 0) {
        mnemo_store_close(st);
        return 1;
    }
    if (rc != MNEMO_EACCES)
        return 2;
    if (!strstr(e.msg, db) || !strstr(e.msg, "not writable"))
        return 3;
    return 0;
}

static void test_store_read_only_directory_is_reported(void **state)
{
    struct su_fixture *f = *state;
    char sub[300], db[320];
    snprintf(sub, sizeof sub, "%s/ro", f->dir.path);
    snprintf(db, sizeof db, "%s/mnemo.db", sub);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(chmod(f->dir.path, 0755), 0); /* let the unprivileged child reach it */

    struct mnemo_store *st;
    struct mnemo_err e = {0};
    assert_int_equal(try_open(db, MNEMO_STORE_CREATE, &st, &e), 0);
    assert_int_equal(mnemo_store_close(st), 0);
    assert_int_equal(chmod(db, 0666), 0);
    assert_int_equal(chmod(sub, 0555), 0);
    size_t len = 0;
    char *before = tu_file_read(db, 1 << 20, &len);

    assert_int_equal(run_unprivileged(open_in_readonly_dir, db), 0);

    size_t len2 = 0;
    char *after = tu_file_read(db, 1 << 20, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(before, after, len);
    free(before);
    free(after);
    assert_no_sidecars(db);
    assert_int_equal(chmod(sub, 0755), 0);
}

/*
 * Fills a small file system until a write fails. Prefers a real ENOSPC (a 1 MiB tmpfs in a
 * private mount namespace, which vanishes with the child); where mounting is not permitted,
 * a file-size limit produces the same SQLite failure. Exit 0 means: the write failed with
 * MNEMO_ENOSPC naming the file, every row committed before it is intact, and the database
 * passes integrity_check.
 */
static int fill_disk(const char *dir)
{
    char mnt[300], db[320];
    snprintf(mnt, sizeof mnt, "%s/small", dir);
    if (mkdir(mnt, 0700) != 0)
        return 10;
    int mounted = unshare(CLONE_NEWNS) == 0 &&
                  mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
                  mount("tmpfs", mnt, "tmpfs", 0, "size=1m") == 0;
    if (!mounted) {
        struct rlimit rl = {.rlim_cur = 1 << 20, .rlim_max = 1 << 20};
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            return 11;
    }
    snprintf(db, sizeof db, "%s/mnemo.db", mnt);
    struct mnemo_store *st;
    struct mnemo_err e = {0};
    if (try_open(db, MNEMO_STORE_CREATE, &st, &e) != 0)
        return 12;
    int64_t committed = 0;
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++) {
        rc = su_insert_rows(st, 1, 1000, 1, &e);
        if (rc == 0)
            committed++;
    }
    if (rc != MNEMO_ENOSPC)
        return 13;
    if (!strstr(e.msg, db))
        return 14;
    if (committed == 0 || su_count_rows(st) != committed)
        return 15;
    struct mnemo_err ce = {0};
    if (mnemo_store_check(st, 1, 10000, NULL, &ce) != 0)
        return 16;
    mnemo_store_close(st);
    if (mounted)
        umount(mnt);
    return 0;
}

static void test_store_full_disk_fails_cleanly_and_keeps_committed_rows(void **state)
{
    struct su_fixture *f = *state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fill_disk(f->dir.path));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_missing_directory_is_reported, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_missing_file_without_create_is_reported,
                                        su_setup, su_teardown),
        cmocka_unit_test_setup_teardown(test_store_non_database_file_is_refused_unchanged, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_corrupt_database_is_refused_unchanged, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_check_full_finds_damaged_data_page, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_read_only_directory_is_reported, su_setup,
                                        su_teardown),
        cmocka_unit_test_setup_teardown(test_store_full_disk_fails_cleanly_and_keeps_committed_rows,
                                        su_setup, su_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
