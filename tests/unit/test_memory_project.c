/*
 * test_memory_project.c - project identity: SHA-256 against the FIPS vectors, the git top level
 * found by reading real directory layouts (repositories, worktrees, submodules, bare
 * repositories, broken pointers), a real `git worktree add` when git is installed, the
 * MNEMO_PROJECT override and the naming rules.
 */
#include "testutil.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory/project.h"
#include "memory/sha256.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* snprintf that fails the test on truncation. */
static void tfmt(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void tfmt(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        fail_msg("formatted text does not fit %zu bytes", size);
}

/* mkdir -p for test layouts. */
static void mkdirs(const char *path)
{
    char buf[PATH_MAX];
    tfmt(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            fail_msg("mkdir '%s': %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir '%s': %s", buf, strerror(errno));
}

/* Writes "<dir>/<name>" into out (PATH_MAX bytes); fails the test when it does not fit. */
static const char *join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX)
        fail_msg("path '%s/%s' is too long", dir, name);
    return out;
}

/* Writes text into dir/name. */
static void put(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    tfmt(path, sizeof path, "%s/%s", dir, name);
    tu_file_write(path, text, strlen(text));
}

/* d->path + "/" + rel, resolved when it exists. */
static const char *at(const struct tu_dir *d, const char *rel, char *buf)
{
    char raw[PATH_MAX];
    tfmt(raw, sizeof raw, "%s/%s", d->path, rel);
    if (!realpath(raw, buf))
        tfmt(buf, PATH_MAX, "%s", raw);
    return buf;
}

/* The identity mnemo_project_identify gives dir; fails the test on error. */
static const char *ident(const char *dir, char out[MNEMO_PROJECT_SIZE])
{
    struct mnemo_err e = {0};
    int rc = mnemo_project_identify(dir, NULL, out, MNEMO_PROJECT_SIZE, &e);
    if (rc != 0)
        fail_msg("identify '%s': %s", dir, e.msg);
    return out;
}

/* The top level mnemo_project_toplevel gives dir; fails the test on error. */
static const char *toplevel(const char *dir, char out[PATH_MAX])
{
    struct mnemo_err e = {0};
    int rc = mnemo_project_toplevel(dir, out, PATH_MAX, &e);
    if (rc != 0)
        fail_msg("toplevel '%s': %s", dir, e.msg);
    return out;
}

/* The expected "<basename>_<6 hex>" of a resolved path, computed independently here. */
static void expected_name(const char *path, char out[MNEMO_PROJECT_SIZE])
{
    uint8_t d[MNEMO_SHA256_LEN];
    char hex[MNEMO_SHA256_HEX_LEN];
    mnemo_sha256(path, strlen(path), d);
    mnemo_sha256_hex(d, hex);
    const char *base = strrchr(path, '/') + 1;
    tfmt(out, MNEMO_PROJECT_SIZE, "%s_%.6s", base, hex);
}

static const char *digest_hex(const void *data, size_t n, char hex[MNEMO_SHA256_HEX_LEN])
{
    uint8_t d[MNEMO_SHA256_LEN];
    mnemo_sha256(data, n, d);
    return mnemo_sha256_hex(d, hex);
}

/* ---- SHA-256 ---------------------------------------------------------------------------- */

static void test_memory_project_sha256_matches_fips_vectors(void **state)
{
    (void)state;
    char hex[MNEMO_SHA256_HEX_LEN];
    assert_string_equal(digest_hex("", 0, hex),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_string_equal(digest_hex("abc", 3, hex),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_string_equal(digest_hex(two, strlen(two), hex),
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* One million 'a', fed in uneven pieces so block boundaries fall everywhere. */
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    struct mnemo_sha256 ctx;
    uint8_t d[MNEMO_SHA256_LEN];
    mnemo_sha256_init(&ctx);
    size_t left = 1000000, step = 1;
    while (left > 0) {
        size_t n = step < left ? step : left;
        mnemo_sha256_update(&ctx, chunk, n);
        left -= n;
        step = (step + 7) % sizeof chunk + 1; /* 1..sizeof chunk */
    }
    mnemo_sha256_final(&ctx, d);
    assert_string_equal(mnemo_sha256_hex(d, hex),
                        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_memory_project_sha256_padding_boundaries_match_one_shot(void **state)
{
    (void)state;
    /* Lengths around 55/56/64 bytes exercise the one- and two-block padding paths. */
    char msg[130];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)('A' + i % 26);
    for (size_t len = 50; len <= 130; len++) {
        char one[MNEMO_SHA256_HEX_LEN], split[MNEMO_SHA256_HEX_LEN];
        uint8_t d[MNEMO_SHA256_LEN];
        struct mnemo_sha256 ctx;
        digest_hex(msg, len, one);
        mnemo_sha256_init(&ctx);
        mnemo_sha256_update(&ctx, msg, len / 3);
        mnemo_sha256_update(&ctx, NULL, 0);
        mnemo_sha256_update(&ctx, msg + len / 3, len - len / 3);
        mnemo_sha256_final(&ctx, d);
        mnemo_sha256_hex(d, split);
        assert_string_equal(one, split);
    }
    /* 56 'a' is a known two-block padding vector. */
    char hex[MNEMO_SHA256_HEX_LEN];
    assert_string_equal(
        digest_hex("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 56, hex),
        "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

/* ---- layouts ---------------------------------------------------------------------------- */

static void test_memory_project_nested_subdirectory_maps_to_repository_top_level(void **state)
{
    (void)state;
    struct tu_dir d;
    char repo[PATH_MAX], sub[PATH_MAX], got[PATH_MAX], want[MNEMO_PROJECT_SIZE];
    char name[MNEMO_PROJECT_SIZE], name2[MNEMO_PROJECT_SIZE];
    tu_dir_make(&d);
    mkdirs(at(&d, "repo/.git/objects", got));
    mkdirs(at(&d, "repo/src/deep/er", got));
    at(&d, "repo", repo);
    at(&d, "repo/src/deep/er", sub);

    assert_string_equal(toplevel(sub, got), repo);
    assert_string_equal(toplevel(repo, got), repo);
    expected_name(repo, want);
    assert_string_equal(ident(sub, name), want);
    assert_string_equal(ident(repo, name2), want);
    assert_int_equal(strncmp(name, "repo_", 5), 0);
    assert_int_equal(strlen(name), strlen("repo_") + 6);
    tu_dir_remove(&d);
}

static void test_memory_project_same_basename_in_different_parents_differs(void **state)
{
    (void)state;
    struct tu_dir d;
    char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], tmp[PATH_MAX];
    char na[MNEMO_PROJECT_SIZE], nb[MNEMO_PROJECT_SIZE], nc[MNEMO_PROJECT_SIZE];
    tu_dir_make(&d);
    mkdirs(at(&d, "one/app/.git", tmp));
    mkdirs(at(&d, "two/app/.git", tmp));
    mkdirs(at(&d, "three/app", tmp)); /* no git */
    at(&d, "one/app", a);
    at(&d, "two/app", b);
    at(&d, "three/app", c);
    ident(a, na);
    ident(b, nb);
    ident(c, nc);
    assert_int_equal(strncmp(na, "app_", 4), 0);
    assert_int_equal(strncmp(nb, "app_", 4), 0);
    assert_int_equal(strncmp(nc, "app_", 4), 0);
    assert_string_not_equal(na, nb);
    assert_string_not_equal(na, nc);
    assert_string_not_equal(nb, nc);
    tu_dir_remove(&d);
}

static void test_memory_project_without_git_uses_resolved_cwd(void **state)
{
    (void)state;
    struct tu_dir d;
    char dir[PATH_MAX], link[PATH_MAX], got[PATH_MAX], want[MNEMO_PROJECT_SIZE];
    char name[MNEMO_PROJECT_SIZE];
    tu_dir_make(&d);
    mkdirs(at(&d, "plain/inner", got));
    at(&d, "plain/inner", dir);
    assert_string_equal(toplevel(dir, got), dir);
    expected_name(dir, want);
    assert_string_equal(ident(dir, name), want);
    assert_int_equal(strncmp(name, "inner_", 6), 0);

    /* A symbolic link to the same directory, and a trailing slash, give the same identity. */
    tfmt(link, sizeof link, "%s/alias", d.path);
    assert_int_equal(symlink(dir, link), 0);
    assert_string_equal(ident(link, name), want);
    strcat(link, "/");
    assert_string_equal(ident(link, name), want);
    tu_dir_remove(&d);
}

static void test_memory_project_worktree_git_file_maps_to_main_repository(void **state)
{
    (void)state;
    struct tu_dir d;
    char repo[PATH_MAX], wt[PATH_MAX], wtsub[PATH_MAX], gd[PATH_MAX], got[PATH_MAX];
    char line[PATH_MAX + 16], nr[MNEMO_PROJECT_SIZE], nw[MNEMO_PROJECT_SIZE];
    tu_dir_make(&d);
    mkdirs(at(&d, "repo/.git/worktrees/wt", got));
    mkdirs(at(&d, "wt/pkg", got));
    at(&d, "repo", repo);
    at(&d, "wt", wt);
    at(&d, "wt/pkg", wtsub);
    at(&d, "repo/.git/worktrees/wt", gd);
    /* The layout git itself writes: commondir relative, gitdir pointing back. */
    put(gd, "commondir", "../..\n");
    tfmt(line, sizeof line, "%s/.git\n", wt);
    put(gd, "gitdir", line);
    tfmt(line, sizeof line, "gitdir: %s\n", gd);
    put(wt, ".git", line);

    assert_string_equal(toplevel(wt, got), repo);
    assert_string_equal(toplevel(wtsub, got), repo);
    assert_string_equal(ident(wtsub, nw), ident(repo, nr));
    assert_int_equal(strncmp(nw, "repo_", 5), 0);
    tu_dir_remove(&d);
}

static void test_memory_project_worktree_relative_gitdir_and_absolute_commondir(void **state)
{
    (void)state;
    struct tu_dir d;
    char repo[PATH_MAX], wt[PATH_MAX], gd[PATH_MAX], got[PATH_MAX], line[PATH_MAX + 16];
    tu_dir_make(&d);
    mkdirs(at(&d, "main/.git/worktrees/feature", got));
    mkdirs(at(&d, "trees/feature", got));
    at(&d, "main", repo);
    at(&d, "trees/feature", wt);
    at(&d, "main/.git/worktrees/feature", gd);
    tfmt(line, sizeof line, "%s/.git\r\n", repo);
    put(gd, "commondir", line);
    /* Relative to the directory holding the .git file (git worktree repair --relative-paths). */
    put(wt, ".git", "gitdir: ../../main/.git/worktrees/feature");
    assert_string_equal(toplevel(wt, got), repo);
    tu_dir_remove(&d);
}

static void test_memory_project_submodule_keeps_its_own_identity(void **state)
{
    (void)state;
    struct tu_dir d;
    char super[PATH_MAX], sub[PATH_MAX], inner[PATH_MAX], got[PATH_MAX];
    char ns[MNEMO_PROJECT_SIZE], nu[MNEMO_PROJECT_SIZE], want[MNEMO_PROJECT_SIZE];
    tu_dir_make(&d);
    mkdirs(at(&d, "super/.git/modules/lib", got));
    mkdirs(at(&d, "super/lib/src", got));
    at(&d, "super", super);
    at(&d, "super/lib", sub);
    at(&d, "super/lib/src", inner);
    put(sub, ".git", "gitdir: ../.git/modules/lib\n");
    assert_string_equal(toplevel(inner, got), sub);
    expected_name(sub, want);
    assert_string_equal(ident(inner, nu), want);
    assert_string_not_equal(ident(super, ns), nu);
    tu_dir_remove(&d);
}

static void test_memory_project_bare_repository_worktrees_share_the_bare_directory(void **state)
{
    (void)state;
    struct tu_dir d;
    char bare[PATH_MAX], a[PATH_MAX], b[PATH_MAX], gd[PATH_MAX], got[PATH_MAX];
    char line[PATH_MAX + 16];
    tu_dir_make(&d);
    mkdirs(at(&d, "proj.git/worktrees/a", got));
    mkdirs(at(&d, "proj.git/worktrees/b", got));
    mkdirs(at(&d, "a", got));
    mkdirs(at(&d, "b", got));
    at(&d, "proj.git", bare);
    at(&d, "a", a);
    at(&d, "b", b);
    at(&d, "proj.git/worktrees/a", gd);
    put(gd, "commondir", "../..\n");
    tfmt(line, sizeof line, "gitdir: %s\n", gd);
    put(a, ".git", line);
    at(&d, "proj.git/worktrees/b", gd);
    put(gd, "commondir", "../..\n");
    tfmt(line, sizeof line, "gitdir: %s\n", gd);
    put(b, ".git", line);
    assert_string_equal(toplevel(a, got), bare);
    assert_string_equal(toplevel(b, got), bare);
    tu_dir_remove(&d);
}

static void test_memory_project_broken_git_file_falls_back_to_its_directory(void **state)
{
    (void)state;
    struct tu_dir d;
    char dir[PATH_MAX], sub[PATH_MAX], got[PATH_MAX], path[PATH_MAX];
    tu_dir_make(&d);
    mkdirs(at(&d, "outer/.git", got)); /* a repository above must NOT be chosen */
    mkdirs(at(&d, "outer/w/sub", got));
    at(&d, "outer/w", dir);
    at(&d, "outer/w/sub", sub);

    const char *bad[] = {
        "not a pointer\n",
        "gitdir:\n",
        "gitdir: /nonexistent/mnemo/worktrees/x\n",
        "gitdir: ../missing\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put(dir, ".git", bad[i]);
        assert_string_equal(toplevel(sub, got), dir);
    }

    /* A worktree whose commondir points nowhere. */
    mkdirs(at(&d, "gd", got));
    at(&d, "gd", path);
    put(path, "commondir", "../../gone/.git\n");
    char line[PATH_MAX + 16];
    tfmt(line, sizeof line, "gitdir: %s\n", path);
    put(dir, ".git", line);
    assert_string_equal(toplevel(sub, got), dir);

    /* A .git file larger than any real pointer file. */
    char *big = malloc(MNEMO_PROJECT_GITFILE_MAX + 100);
    assert_non_null(big);
    memcpy(big, "gitdir: ", 8);
    memset(big + 8, 'x', MNEMO_PROJECT_GITFILE_MAX + 91);
    big[MNEMO_PROJECT_GITFILE_MAX + 99] = '\0';
    put(dir, ".git", big);
    free(big);
    assert_string_equal(toplevel(sub, got), dir);
    tu_dir_remove(&d);
}

/* The first executable git on PATH, or NULL. */
static const char *find_git(char *buf, size_t size)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        tfmt(buf, size, "%.*s/git", (int)len, path);
        if (len > 0 && access(buf, X_OK) == 0)
            return buf;
        path += len + (colon ? 1 : 0);
    }
    return NULL;
}

/* Runs git with args (NULL-terminated, at most 8) in an isolated environment; fails the test
 * when git fails. */
static void git(const char *gitbin, const char *home, const char *const *args)
{
    char home_env[PATH_MAX + 8];
    tfmt(home_env, sizeof home_env, "HOME=%s", home);
    char *env[] = {home_env,
                   "GIT_CONFIG_NOSYSTEM=1",
                   "GIT_AUTHOR_NAME=t",
                   "GIT_AUTHOR_EMAIL=t@example.com",
                   "GIT_COMMITTER_NAME=t",
                   "GIT_COMMITTER_EMAIL=t@example.com",
                   NULL};
    char *argv[10] = {(char *)gitbin};
    int n = 1;
    for (; args[n - 1] && n < 9; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    char *out = NULL, *errout = NULL;
    int rc = tu_run(argv, env, NULL, &out, &errout);
    if (rc != 0)
        fail_msg("git %s %s failed (%d): %s", args[0], args[1] ? args[1] : "", rc,
                 errout ? errout : "");
    free(out);
    free(errout);
}

static void test_memory_project_real_git_worktree_shares_main_identity(void **state)
{
    (void)state;
    char gitbin[PATH_MAX];
    if (!find_git(gitbin, sizeof gitbin))
        skip();
    struct tu_dir d;
    char repo[PATH_MAX], wt[PATH_MAX], wtsub[PATH_MAX], got[PATH_MAX], file[PATH_MAX];
    char nr[MNEMO_PROJECT_SIZE], nw[MNEMO_PROJECT_SIZE], other[MNEMO_PROJECT_SIZE];
    tu_dir_make(&d);
    at(&d, "repo", repo);
    mkdirs(repo);
    at(&d, "repo", repo);
    git(gitbin, d.path, (const char *const[]){"-C", repo, "init", "-q", NULL});
    join(file, repo, "README");
    tu_file_write(file, "hello\n", 6);
    git(gitbin, d.path, (const char *const[]){"-C", repo, "add", "README", NULL});
    git(gitbin, d.path, (const char *const[]){"-C", repo, "commit", "-q", "-m", "first", NULL});
    join(wt, d.path, "wt-elsewhere");
    git(gitbin, d.path, (const char *const[]){"-C", repo, "worktree", "add", "-q", wt, NULL});
    at(&d, "wt-elsewhere", wt);
    join(wtsub, wt, "sub");
    mkdirs(wtsub);

    assert_string_equal(toplevel(wt, got), repo);
    assert_string_equal(toplevel(wtsub, got), repo);
    assert_string_equal(ident(wt, nw), ident(repo, nr));
    /* The worktree's own directory, taken without git, is a different project. */
    assert_int_equal(mnemo_project_name_for_path(wt, other, sizeof other, NULL), 0);
    assert_string_not_equal(other, nr);
    tu_dir_remove(&d);
}

/* ---- override and naming --------------------------------------------------------------- */

static void test_memory_project_override_wins_when_valid_and_is_rejected_when_not(void **state)
{
    (void)state;
    struct tu_dir d;
    char out[MNEMO_PROJECT_SIZE];
    struct mnemo_err e = {0};
    tu_dir_make(&d);

    assert_int_equal(mnemo_project_identify(d.path, "my project-1", out, sizeof out, &e), 0);
    assert_string_equal(out, "my project-1");
    assert_int_equal(mnemo_project_identify(d.path, "caf\xc3\xa9", out, sizeof out, &e), 0);
    assert_string_equal(out, "caf\xc3\xa9");
    /* The override is not checked against cwd at all. */
    assert_int_equal(mnemo_project_identify("/nonexistent/x", "solo", out, sizeof out, &e), 0);
    /* An empty override is no override. */
    assert_int_equal(mnemo_project_identify(d.path, "", out, sizeof out, &e), 0);
    assert_string_not_equal(out, "");

    char longest[MNEMO_PROJECT_MAX + 2];
    memset(longest, 'p', MNEMO_PROJECT_MAX);
    longest[MNEMO_PROJECT_MAX] = '\0';
    assert_int_equal(mnemo_project_identify(d.path, longest, out, sizeof out, &e), 0);
    assert_string_equal(out, longest);

    longest[MNEMO_PROJECT_MAX] = 'p';
    longest[MNEMO_PROJECT_MAX + 1] = '\0';
    const char *bad[] = {longest,   "a/b",        ".",       "..",        "tab\there", "nl\n",
                         "del\x7f", "c1\xc2\x85", "bad\xff", "trunc\xc3", " lead",     "trail "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mnemo_err_clear(&e);
        strcpy(out, "untouched");
        assert_int_equal(mnemo_project_identify(d.path, bad[i], out, sizeof out, &e), MNEMO_EINVAL);
        assert_string_equal(out, "");
        assert_true(strstr(e.msg, "project name") != NULL);
    }
    tu_dir_remove(&d);
}

static void test_memory_project_name_sanitizes_and_bounds_the_basename(void **state)
{
    (void)state;
    char out[MNEMO_PROJECT_SIZE], want[MNEMO_PROJECT_SIZE];
    struct mnemo_err e = {0};

    assert_int_equal(mnemo_project_name_for_path("/", out, sizeof out, &e), 0);
    assert_int_equal(strncmp(out, "root_", 5), 0);
    assert_int_equal(mnemo_project_name_for_path("/x/b\x01"
                                                 "d\xff",
                                                 out, sizeof out, &e),
                     0);
    assert_int_equal(strncmp(out, "b_d__", 5), 0);
    assert_int_equal(mnemo_project_validate(out, &e), 0);
    assert_int_equal(mnemo_project_name_for_path("/x/ spaced", out, sizeof out, &e), 0);
    assert_int_equal(strncmp(out, "_spaced_", 8), 0);
    assert_int_equal(mnemo_project_validate(out, &e), 0);

    /* Trailing slashes name the same directory. */
    assert_int_equal(mnemo_project_name_for_path("/a/proj/", out, sizeof out, &e), 0);
    expected_name("/a/proj", want);
    assert_string_equal(out, want);

    /* A 250-byte basename of 2-byte characters is cut to whole characters within the bound. */
    char path[600] = "/x/";
    for (int i = 0; i < 125; i++)
        strcat(path, "\xc3\xa9");
    assert_int_equal(mnemo_project_name_for_path(path, out, sizeof out, &e), 0);
    assert_true(strlen(out) <= MNEMO_PROJECT_MAX);
    assert_int_equal(strlen(out), MNEMO_PROJECT_BASENAME_MAX + 7);
    assert_int_equal(mnemo_project_validate(out, &e), 0);

    /* Two long names sharing the kept prefix still differ by their hash. */
    char other[MNEMO_PROJECT_SIZE];
    strcat(path, "z");
    assert_int_equal(mnemo_project_name_for_path(path, other, sizeof other, &e), 0);
    assert_string_not_equal(out, other);

    assert_int_equal(mnemo_project_name_for_path("relative/p", out, sizeof out, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_project_name_for_path("/a/proj", out, 8, &e), MNEMO_ETOOBIG);
    assert_string_equal(out, "");
}

static void test_memory_project_bad_arguments_get_clear_errors(void **state)
{
    (void)state;
    struct tu_dir d;
    char out[MNEMO_PROJECT_SIZE], file[PATH_MAX], top[PATH_MAX];
    struct mnemo_err e = {0};
    tu_dir_make(&d);

    assert_int_equal(mnemo_project_identify(NULL, NULL, out, sizeof out, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_project_identify("", NULL, out, sizeof out, &e), MNEMO_EINVAL);
    assert_int_equal(mnemo_project_identify(d.path, NULL, NULL, 0, &e), MNEMO_EINVAL);

    tfmt(file, sizeof file, "%s/missing/deeper", d.path);
    assert_int_equal(mnemo_project_identify(file, NULL, out, sizeof out, &e), MNEMO_ENOTFOUND);
    assert_non_null(strstr(e.msg, "missing/deeper"));
    assert_string_equal(out, "");

    tfmt(file, sizeof file, "%s/afile", d.path);
    tu_file_write(file, "x", 1);
    assert_int_equal(mnemo_project_identify(file, NULL, out, sizeof out, &e), MNEMO_EINVAL);
    assert_non_null(strstr(e.msg, "not a directory"));

    /* A symbolic link loop. */
    char l1[PATH_MAX], l2[PATH_MAX];
    tfmt(l1, sizeof l1, "%s/l1", d.path);
    tfmt(l2, sizeof l2, "%s/l2", d.path);
    assert_int_equal(symlink(l2, l1), 0);
    assert_int_equal(symlink(l1, l2), 0);
    assert_true(mnemo_project_identify(l1, NULL, out, sizeof out, &e) < 0);
    assert_string_equal(out, "");

    /* A path longer than PATH_MAX. */
    char *huge = malloc(PATH_MAX + 10);
    assert_non_null(huge);
    memset(huge, 'a', PATH_MAX + 9);
    huge[0] = '/';
    huge[PATH_MAX + 9] = '\0';
    assert_int_equal(mnemo_project_identify(huge, NULL, out, sizeof out, &e), MNEMO_ETOOBIG);
    free(huge);

    /* Too small a buffer for the top level. */
    assert_int_equal(mnemo_project_toplevel(d.path, top, 4, &e), MNEMO_ETOOBIG);
    assert_string_equal(top, "");
    tu_dir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_project_sha256_matches_fips_vectors),
        cmocka_unit_test(test_memory_project_sha256_padding_boundaries_match_one_shot),
        cmocka_unit_test(test_memory_project_nested_subdirectory_maps_to_repository_top_level),
        cmocka_unit_test(test_memory_project_same_basename_in_different_parents_differs),
        cmocka_unit_test(test_memory_project_without_git_uses_resolved_cwd),
        cmocka_unit_test(test_memory_project_worktree_git_file_maps_to_main_repository),
        cmocka_unit_test(test_memory_project_worktree_relative_gitdir_and_absolute_commondir),
        cmocka_unit_test(test_memory_project_submodule_keeps_its_own_identity),
        cmocka_unit_test(test_memory_project_bare_repository_worktrees_share_the_bare_directory),
        cmocka_unit_test(test_memory_project_broken_git_file_falls_back_to_its_directory),
        cmocka_unit_test(test_memory_project_real_git_worktree_shares_main_identity),
        cmocka_unit_test(test_memory_project_override_wins_when_valid_and_is_rejected_when_not),
        cmocka_unit_test(test_memory_project_name_sanitizes_and_bounds_the_basename),
        cmocka_unit_test(test_memory_project_bad_arguments_get_clear_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
