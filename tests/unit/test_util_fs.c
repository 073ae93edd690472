/*
 * test_util_fs.c - mkdir -p, atomic replace, stat sizes, bounded reads, dirname, errno codes.
 *
 * CI runs as root, which ignores file modes. Permission tests therefore run the operation in
 * a forked child that first drops to nobody (65534); the child reports through its exit code
 * because cmocka's asserts must not run in a forked copy of the test runner.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fs.h"

#define NOBODY 65534
/* Exit code of a child that could not drop privileges (no CAP_SETUID in this container). */
#define CHILD_CANNOT_DROP 100

struct fixture {
    struct tu_dir dir;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);

    assert_non_null(fx);
    tu_dir_make(&fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;

    tu_dir_remove(&fx->dir);
    free(fx);
    return 0;
}

/* The mode bits of path. */
static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Number of entries in dir other than "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

/*
 * Runs fn(arg) in a child that has dropped root's permission bypass. fn returns 0 when its
 * expectations hold, else a small number naming the check that failed. Skips the test when
 * the child cannot change its ids.
 */
static int run_unprivileged(int (*fn)(void *), void *arg)
{
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 || setuid(NOBODY) != 0))
            _exit(CHILD_CANNOT_DROP);
        _exit(fn(arg));
    }
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == CHILD_CANNOT_DROP) {
        print_message("cannot drop root privileges here; skipping a permission test\n");
        skip();
    }
    return WEXITSTATUS(status);
}

/* ---- mkdir_p ---------------------------------------------------------------------------- */

static void test_fs_mkdir_p_creates_missing_parents_and_the_leaf(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];
    struct stat st;

    tu_path(&fx->dir, "a/b/c/d", path, sizeof path);
    assert_int_equal(mnemo_fs_mkdir_p(path, 0700, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    tu_path(&fx->dir, "a/b", path, sizeof path);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

static void test_fs_mkdir_p_applies_the_mode_exactly_to_the_leaf(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char leaf[512], parent[512];
    mode_t old = umask(077);

    tu_path(&fx->dir, "p/leaf", leaf, sizeof leaf);
    tu_path(&fx->dir, "p", parent, sizeof parent);
    assert_int_equal(mnemo_fs_mkdir_p(leaf, 0755, &err), 0);
    assert_int_equal(mode_of(leaf), 0755);
    /* Parents follow the umask (and keep u+wx so the leaf could be made inside them). */
    assert_int_equal(mode_of(parent), 0700);

    umask(022);
    tu_path(&fx->dir, "q", leaf, sizeof leaf);
    assert_int_equal(mnemo_fs_mkdir_p(leaf, 0700, &err), 0);
    assert_int_equal(mode_of(leaf), 0700);
    tu_path(&fx->dir, "r", leaf, sizeof leaf);
    assert_int_equal(mnemo_fs_mkdir_p(leaf, 0777, &err), 0);
    assert_int_equal(mode_of(leaf), 0777);
    umask(old);
}

static void test_fs_mkdir_p_accepts_an_existing_directory_and_keeps_its_mode(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];

    tu_path(&fx->dir, "exists", path, sizeof path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chmod(path, 0751), 0);
    assert_int_equal(mnemo_fs_mkdir_p(path, 0700, &err), 0);
    assert_int_equal(mode_of(path), 0751);
    assert_int_equal(mnemo_fs_mkdir_p(fx->dir.path, 0700, &err), 0);
    assert_int_equal(mnemo_fs_mkdir_p("/", 0700, &err), 0);
}

static void test_fs_mkdir_p_accepts_trailing_and_doubled_slashes(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];

    tu_path(&fx->dir, "x//y///z//", path, sizeof path);
    assert_int_equal(mnemo_fs_mkdir_p(path, 0700, &err), 0);
    tu_path(&fx->dir, "x/y/z", path, sizeof path);
    assert_true(mnemo_fs_exists(path));
    assert_int_equal(mode_of(path), 0700);
}

static void test_fs_mkdir_p_with_a_file_in_the_way_fails_with_eexist(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char file[512], below[512];

    tu_path(&fx->dir, "f", file, sizeof file);
    tu_file_write(file, "x", 1);

    mnemo_err_clear(&err);
    assert_int_equal(mnemo_fs_mkdir_p(file, 0700, &err), MNEMO_EEXIST);
    assert_int_equal(err.code, MNEMO_EEXIST);
    assert_non_null(strstr(err.msg, "cannot create directory '"));
    assert_non_null(strstr(err.msg, file));

    tu_path(&fx->dir, "f/sub/leaf", below, sizeof below);
    mnemo_err_clear(&err);
    assert_int_equal(mnemo_fs_mkdir_p(below, 0700, &err), MNEMO_EEXIST);
    assert_non_null(strstr(err.msg, below));
    assert_non_null(strstr(err.msg, "not a directory"));
    assert_int_equal(tu_file_size(file), 1);
}

static void test_fs_mkdir_p_rejects_an_empty_or_too_long_path(void **state)
{
    struct mnemo_err err;
    char *longp = malloc(5000);

    (void)state;
    assert_non_null(longp);
    assert_int_equal(mnemo_fs_mkdir_p("", 0700, &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_fs_mkdir_p(NULL, 0700, &err), MNEMO_EINVAL);
    memset(longp, 'a', 4999);
    longp[4999] = '\0';
    assert_int_equal(mnemo_fs_mkdir_p(longp, 0700, &err), MNEMO_EINVAL);
    assert_non_null(strstr(err.msg, "too long"));
    free(longp);
}

/* Child body: mkdir_p below a read-only directory must fail with EACCES naming the path. */
static int child_mkdir_in_read_only_dir(void *arg)
{
    const char *path = arg;
    struct mnemo_err err;

    mnemo_err_clear(&err);
    if (mnemo_fs_mkdir_p(path, 0700, &err) != MNEMO_EACCES)
        return 1;
    if (!strstr(err.msg, path))
        return 2;
    if (!strstr(err.msg, "Permission denied"))
        return 3;
    if (mnemo_fs_exists(path))
        return 4;
    return 0;
}

static void test_fs_mkdir_p_below_a_read_only_directory_fails_with_eacces(void **state)
{
    struct fixture *fx = *state;
    char ro[512], path[512];

    tu_path(&fx->dir, "ro", ro, sizeof ro);
    tu_path(&fx->dir, "ro/new/leaf", path, sizeof path);
    assert_int_equal(mkdir(ro, 0700), 0);
    assert_int_equal(chmod(ro, 0555), 0);
    assert_int_equal(chmod(fx->dir.path, 0755), 0);
    assert_int_equal(run_unprivileged(child_mkdir_in_read_only_dir, path), 0);
}

/* ---- write_atomic ----------------------------------------------------------------------- */

static void test_fs_write_atomic_creates_the_file_with_its_content_and_exact_mode(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];
    size_t len;
    char *got;
    mode_t old = umask(077);

    tu_path(&fx->dir, "config.json", path, sizeof path);
    assert_int_equal(mnemo_fs_write_atomic(path, "{\"a\":1}\n", 8, 0644, &err), 0);
    umask(old);
    got = tu_file_read(path, 100, &len);
    assert_non_null(got);
    assert_int_equal(len, 8);
    assert_string_equal(got, "{\"a\":1}\n");
    assert_int_equal(mode_of(path), 0644);
    free(got);
}

static void test_fs_write_atomic_replaces_content_and_leaves_no_temp_files(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];
    char *got;

    tu_path(&fx->dir, "state", path, sizeof path);
    tu_file_write(path, "old and much longer content", 27);
    for (int i = 0; i < 20; i++) {
        char body[32];
        int n = snprintf(body, sizeof body, "version %d", i);
        assert_int_equal(mnemo_fs_write_atomic(path, body, (size_t)n, 0600, &err), 0);
        got = tu_file_read(path, 100, NULL);
        assert_string_equal(got, body);
        free(got);
    }
    assert_int_equal(count_entries(fx->dir.path), 1);
    assert_int_equal(mode_of(path), 0600);
}

static void test_fs_write_atomic_of_no_data_makes_an_empty_file(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];

    tu_path(&fx->dir, "empty", path, sizeof path);
    tu_file_write(path, "before", 6);
    assert_int_equal(mnemo_fs_write_atomic(path, NULL, 0, 0600, &err), 0);
    assert_int_equal(tu_file_size(path), 0);
    assert_int_equal(mnemo_fs_write_atomic(path, NULL, 5, 0600, &err), MNEMO_EINVAL);
    assert_int_equal(mnemo_fs_write_atomic("", "x", 1, 0600, &err), MNEMO_EINVAL);
}

static void test_fs_write_atomic_into_a_missing_directory_fails_naming_the_path(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];

    tu_path(&fx->dir, "missing/dir/file.txt", path, sizeof path);
    mnemo_err_clear(&err);
    assert_int_equal(mnemo_fs_write_atomic(path, "x", 1, 0600, &err), MNEMO_ENOTFOUND);
    assert_int_equal(err.code, MNEMO_ENOTFOUND);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    assert_false(mnemo_fs_exists(path));
    assert_int_equal(count_entries(fx->dir.path), 0);
}

static void test_fs_write_atomic_that_cannot_rename_removes_its_temp_file(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512], inside[512];
    int rc;

    /* A non-empty directory at the target makes the final rename fail after the write. */
    tu_path(&fx->dir, "target", path, sizeof path);
    tu_path(&fx->dir, "target/keep", inside, sizeof inside);
    assert_int_equal(mkdir(path, 0700), 0);
    tu_file_write(inside, "k", 1);
    mnemo_err_clear(&err);
    rc = mnemo_fs_write_atomic(path, "data", 4, 0600, &err);
    assert_true(rc < 0);
    assert_int_equal(err.code, rc);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(count_entries(fx->dir.path), 1);
    assert_int_equal(tu_file_size(inside), 1);
}

/* Child body: write_atomic in a directory nobody may write must fail with EACCES. */
static int child_write_in_read_only_dir(void *arg)
{
    const char *path = arg;
    struct mnemo_err err;

    mnemo_err_clear(&err);
    if (mnemo_fs_write_atomic(path, "new", 3, 0644, &err) != MNEMO_EACCES)
        return 1;
    if (!strstr(err.msg, path))
        return 2;
    if (!strstr(err.msg, "Permission denied"))
        return 3;
    return 0;
}

static void test_fs_write_atomic_in_a_read_only_directory_fails_with_eacces(void **state)
{
    struct fixture *fx = *state;
    char ro[512], path[512];
    char *got;

    tu_path(&fx->dir, "ro", ro, sizeof ro);
    tu_path(&fx->dir, "ro/file", path, sizeof path);
    assert_int_equal(mkdir(ro, 0755), 0);
    tu_file_write(path, "old", 3);
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(chmod(ro, 0555), 0);
    assert_int_equal(chmod(fx->dir.path, 0755), 0);
    assert_int_equal(run_unprivileged(child_write_in_read_only_dir, path), 0);
    got = tu_file_read(path, 100, NULL);
    assert_string_equal(got, "old");
    free(got);
    assert_int_equal(count_entries(ro), 1);
}

/* ---- size, exists, read_all ------------------------------------------------------------- */

static void test_fs_size_reports_bytes_and_a_missing_file_is_enotfound(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];
    int64_t size = 123;

    tu_path(&fx->dir, "sized", path, sizeof path);
    tu_file_write(path, "0123456789", 10);
    assert_int_equal(mnemo_fs_size(path, &size, &err), 0);
    assert_true(size == 10);

    tu_path(&fx->dir, "nope", path, sizeof path);
    mnemo_err_clear(&err);
    size = 123;
    assert_int_equal(mnemo_fs_size(path, &size, &err), MNEMO_ENOTFOUND);
    assert_true(size == 0);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(mnemo_fs_size(path, NULL, &err), MNEMO_EINVAL);

    /* Below a regular file nothing can exist: that is "not found", not "in the way". */
    tu_path(&fx->dir, "sized/below", path, sizeof path);
    assert_int_equal(mnemo_fs_size(path, &size, &err), MNEMO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "Not a directory"));
}

static void test_fs_exists_is_true_only_for_existing_paths(void **state)
{
    struct fixture *fx = *state;
    char path[512];

    tu_path(&fx->dir, "e", path, sizeof path);
    assert_false(mnemo_fs_exists(path));
    tu_file_write(path, "", 0);
    assert_true(mnemo_fs_exists(path));
    assert_true(mnemo_fs_exists(fx->dir.path));
    assert_false(mnemo_fs_exists(""));
    assert_false(mnemo_fs_exists(NULL));
}

static void test_fs_read_all_reads_the_whole_file_nul_terminated(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];
    char *data = malloc(100000);
    char *got = NULL;
    size_t len = 0;

    assert_non_null(data);
    for (size_t i = 0; i < 100000; i++)
        data[i] = (char)('a' + i % 26);
    tu_path(&fx->dir, "big", path, sizeof path);
    tu_file_write(path, data, 100000);
    assert_int_equal(mnemo_fs_read_all(path, 100000, &got, &len, &err), 0);
    assert_int_equal(len, 100000);
    assert_memory_equal(got, data, 100000);
    assert_int_equal(got[len], '\0');
    free(got);
    free(data);

    /* An empty file reads as "" (a real allocation the caller frees). */
    tu_path(&fx->dir, "none", path, sizeof path);
    tu_file_write(path, "", 0);
    assert_int_equal(mnemo_fs_read_all(path, 10, &got, NULL, &err), 0);
    assert_non_null(got);
    assert_string_equal(got, "");
    free(got);
}

static void test_fs_read_all_reads_files_whose_size_is_unknown(void **state)
{
    struct mnemo_err err;
    char *got = NULL;
    size_t len = 0;

    (void)state;
    /* /proc files report size 0, so the read must grow past the stat hint. */
    assert_int_equal(mnemo_fs_read_all("/proc/self/status", 1 << 20, &got, &len, &err), 0);
    assert_true(len > 100);
    assert_non_null(strstr(got, "Name:"));
    assert_int_equal(strlen(got), len);
    free(got);
}

static void test_fs_read_all_refuses_a_file_over_max(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];
    char *got = (char *)&got;
    size_t len = 77;

    tu_path(&fx->dir, "ten", path, sizeof path);
    tu_file_write(path, "0123456789", 10);
    assert_int_equal(mnemo_fs_read_all(path, 10, &got, &len, &err), 0);
    assert_string_equal(got, "0123456789");
    free(got);
    mnemo_err_clear(&err);
    assert_int_equal(mnemo_fs_read_all(path, 9, &got, &len, &err), MNEMO_ETOOBIG);
    assert_null(got);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err.msg, path));
}

static void test_fs_read_all_of_a_missing_file_is_enotfound(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];
    char *got = NULL;

    tu_path(&fx->dir, "absent", path, sizeof path);
    assert_int_equal(mnemo_fs_read_all(path, 10, &got, NULL, &err), MNEMO_ENOTFOUND);
    assert_null(got);
    assert_non_null(strstr(err.msg, path));
    assert_int_equal(mnemo_fs_read_all(path, 10, NULL, NULL, &err), MNEMO_EINVAL);
}

static void test_fs_read_all_refuses_directories_and_fifos_without_blocking(void **state)
{
    struct fixture *fx = *state;
    struct mnemo_err err;
    char path[512];
    char *got = NULL;

    assert_int_equal(mnemo_fs_read_all(fx->dir.path, 10, &got, NULL, &err), MNEMO_EIO);
    assert_null(got);
    tu_path(&fx->dir, "fifo", path, sizeof path);
    assert_int_equal(mkfifo(path, 0600), 0);
    /* With no writer, a blocking open would hang here forever. */
    assert_int_equal(mnemo_fs_read_all(path, 10, &got, NULL, &err), MNEMO_EIO);
    assert_null(got);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

/* ---- dirname and errno mapping ---------------------------------------------------------- */

static void test_fs_dirname_follows_posix_cases(void **state)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"/a/b/c.db", "/a/b"}, {"a/b", "a"},     {"a/b/", "a"}, {"a//b", "a"},
        {"/a", "/"},           {"/", "/"},       {"///", "/"},  {"//a", "/"},
        {"file.db", "."},      {"dir/", "."},    {"", "."},     {"./x", "."},
        {"../x/y", "../x"},    {"/a/b//", "/a"},
    };
    char buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(buf, 'x', sizeof buf);
        assert_int_equal(mnemo_fs_dirname(cases[i].in, buf, sizeof buf), 0);
        if (strcmp(buf, cases[i].out) != 0)
            fail_msg("dirname('%s') = '%s', want '%s'", cases[i].in, buf, cases[i].out);
    }
}

static void test_fs_dirname_reports_a_too_small_buffer(void **state)
{
    char buf[8];

    (void)state;
    assert_int_equal(mnemo_fs_dirname("/abcdef/x", buf, 8), 0);
    assert_string_equal(buf, "/abcdef");
    assert_int_equal(mnemo_fs_dirname("/abcdefg/x", buf, 8), MNEMO_ETOOBIG);
    assert_string_equal(buf, "");
    assert_int_equal(mnemo_fs_dirname("x", buf, 1), MNEMO_ETOOBIG);
    assert_int_equal(mnemo_fs_dirname("x", buf, 2), 0);
    assert_string_equal(buf, ".");
    assert_int_equal(mnemo_fs_dirname("x", NULL, 0), MNEMO_ETOOBIG);
}

static void test_fs_errno_rc_maps_each_errno_to_its_code(void **state)
{
    static const struct {
        int e;
        int rc;
    } map[] = {
        {0, MNEMO_OK},          {ENOENT, MNEMO_ENOTFOUND}, {EACCES, MNEMO_EACCES},
        {EPERM, MNEMO_EACCES},  {EROFS, MNEMO_EACCES},     {ENOSPC, MNEMO_ENOSPC},
        {EDQUOT, MNEMO_ENOSPC}, {EFBIG, MNEMO_ENOSPC},     {ENOTDIR, MNEMO_EEXIST},
        {EEXIST, MNEMO_EEXIST}, {ENOMEM, MNEMO_ENOMEM},    {EIO, MNEMO_EIO},
        {EISDIR, MNEMO_EIO},    {EBADF, MNEMO_EIO},        {12345, MNEMO_EIO},
    };

    (void)state;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (mnemo_fs_errno_rc(map[i].e) != map[i].rc)
            fail_msg("errno %d mapped to %s, want %s", map[i].e,
                     mnemo_rcname(mnemo_fs_errno_rc(map[i].e)), mnemo_rcname(map[i].rc));
    }
}

#define FS_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        FS_TEST(test_fs_mkdir_p_creates_missing_parents_and_the_leaf),
        FS_TEST(test_fs_mkdir_p_applies_the_mode_exactly_to_the_leaf),
        FS_TEST(test_fs_mkdir_p_accepts_an_existing_directory_and_keeps_its_mode),
        FS_TEST(test_fs_mkdir_p_accepts_trailing_and_doubled_slashes),
        FS_TEST(test_fs_mkdir_p_with_a_file_in_the_way_fails_with_eexist),
        cmocka_unit_test(test_fs_mkdir_p_rejects_an_empty_or_too_long_path),
        FS_TEST(test_fs_mkdir_p_below_a_read_only_directory_fails_with_eacces),
        FS_TEST(test_fs_write_atomic_creates_the_file_with_its_content_and_exact_mode),
        FS_TEST(test_fs_write_atomic_replaces_content_and_leaves_no_temp_files),
        FS_TEST(test_fs_write_atomic_of_no_data_makes_an_empty_file),
        FS_TEST(test_fs_write_atomic_into_a_missing_directory_fails_naming_the_path),
        FS_TEST(test_fs_write_atomic_that_cannot_rename_removes_its_temp_file),
        FS_TEST(test_fs_write_atomic_in_a_read_only_directory_fails_with_eacces),
        FS_TEST(test_fs_size_reports_bytes_and_a_missing_file_is_enotfound),
        FS_TEST(test_fs_exists_is_true_only_for_existing_paths),
        FS_TEST(test_fs_read_all_reads_the_whole_file_nul_terminated),
        cmocka_unit_test(test_fs_read_all_reads_files_whose_size_is_unknown),
        FS_TEST(test_fs_read_all_refuses_a_file_over_max),
        FS_TEST(test_fs_read_all_of_a_missing_file_is_enotfound),
        FS_TEST(test_fs_read_all_refuses_directories_and_fifos_without_blocking),
        cmocka_unit_test(test_fs_dirname_follows_posix_cases),
        cmocka_unit_test(test_fs_dirname_reports_a_too_small_buffer),
        cmocka_unit_test(test_fs_errno_rc_maps_each_errno_to_its_code),
    };
    return cmocka_run_group_tests_name("util_fs", tests, NULL, NULL);
}
