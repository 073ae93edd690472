/*
 * test_torture_diskfull.c - a real worker whose home (database, WAL, socket, log) is a small
 * tmpfs that the test fills up, twice:
 *  - with the free-space floor (store.min_free_bytes): once the free space drops below it,
 *    writes fail with 507 MNEMO_ENOSPC "disk full", while reads, search, prompt context, the
 *    hooks (which fail open: exit 0, in time) and doctor keep working and say why;
 *  - without a floor, filled to the last byte: SQLite's own SQLITE_FULL reaches the client as
 *    the same clear 507.
 * Each time, once the junk is removed, writes resume on their own, and at the end every
 * acknowledged write is there, integrity_check says ok and a clean stop leaves no -wal.
 * Mounting needs root (CI runs as root): the test runs in its own mount namespace, so the
 * tmpfs vanishes with it, and it is skipped, saying why, where mounting is not permitted.
 */
#include "../process/test_hook_procs.h"
#include "torture_procs.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "store/space.h"

#define TEST_NAME "diskfull"
#define TMPFS_MB  24
/* The floor of the first phase, and what the junk leaves free under it. */
#define FLOOR_BYTES      (INT64_C(4) << 20)
#define LEFT_BYTES       (INT64_C(2) << 20)
#define HOOK_DEADLINE_MS 150
#define HOOK_RUNS        10

/* 1 when main() could make a private mount namespace. */
static int g_private_ns;

struct diskfull {
    struct fixture *f;
    int mounted;
    char junk[700];
    char config[700];
    int64_t *acked; /* observation ids answered 201 */
    size_t n_acked, cap_acked;
    int64_t refused_floor, refused_full, reads_ok, hooks_ok, hook_max_ms, resume_max_ms;
};

static int diskfull_setup(void **state)
{
    struct diskfull *d = calloc(1, sizeof *d);
    assert_non_null(d);
    void *fs = NULL;
    setup(&fs);
    d->f = fs;
    d->f->env[2] = (char *)"MNEMO_HTTP_RATE_LIMIT=0";
    snprintf(d->junk, sizeof d->junk, "%s/junk", d->f->home);
    snprintf(d->config, sizeof d->config, "%s/config.json", d->f->home);
    *state = d;
    return 0;
}

static int diskfull_teardown(void **state)
{
    struct diskfull *d = *state;
    struct fixture *f = d->f;
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        wait_child(f->child, EXIT_WAIT_MS);
        f->child = 0;
    }
    if (d->mounted)
        umount2(f->home, MNT_DETACH);
    void *fs = f;
    teardown(&fs);
    free(d->acked);
    free(d);
    return 0;
}

static int64_t free_bytes(const char *dir)
{
    struct statvfs vfs;
    assert_int_equal(statvfs(dir, &vfs), 0);
    return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
}

/* Writes junk until it is len bytes long or the file system is full. */
static void fill_junk(const char *path, int64_t len)
{
    static char block[65536];
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    assert_true(fd >= 0);
    memset(block, 'j', sizeof block);
    while (len > 0) {
        size_t n = len < (int64_t)sizeof block ? (size_t)len : sizeof block;
        ssize_t w = write(fd, block, n);
        if (w <= 0)
            break;
        len -= w;
    }
    close(fd);
}

/* One observation write; returns the status. A 201 goes into the ledger; a 507 must be
 * MNEMO_ENOSPC saying "disk full"; anything else fails the test. */
static long write_obs(struct diskfull *d, int n, size_t narrative_len)
{
    static char narrative[8192];
    char body[9000];
    memset(narrative, 'n', sizeof narrative - 1);
    narrative[narrative_len < sizeof narrative ? narrative_len : sizeof narrative - 1] = '\0';
    snprintf(body, sizeof body,
             "{\"project\":\"torture\",\"type\":\"discovery\",\"title\":\"disk full write %d\","
             "\"narrative\":\"%d %s\"}",
             n, n, narrative);
    struct http_resp r = sock_json(d->f, "POST", "/v1/observations", body);
    long code = r.code;
    if (code == 201) {
        if (d->n_acked == d->cap_acked) {
            d->cap_acked = d->cap_acked ? d->cap_acked * 2 : 256;
            d->acked = realloc(d->acked, d->cap_acked * sizeof *d->acked);
            assert_non_null(d->acked);
        }
        d->acked[d->n_acked++] = (int64_t)json_integer_value(json_object_get(r.json, "id"));
    } else if (code == 507) {
        const char *m = expect_error(&r, 507, "a write on a full disk");
        const char *c =
            json_string_value(json_object_get(json_object_get(r.json, "error"), "code"));
        if (strcmp(c, "MNEMO_ENOSPC") != 0 || strstr(m, "disk full") == NULL)
            fail_worker(d->f, "a write on a full disk: %s", r.body);
    } else {
        fail_worker(d->f, "a write on a full disk answered %ld: %s", code,
                    r.body != NULL ? r.body : "");
    }
    http_resp_free(&r);
    return code;
}

/* Reads, search, prompt context and health answer 200 on the full disk; the hooks exit 0 in
 * time; doctor exits 1 naming the problem when want_doctor is set. */
static void expect_reads_and_hooks_work(struct diskfull *d, const char *doctor_says)
{
    struct fixture *f = d->f;
    char path[64];
    snprintf(path, sizeof path, "/v1/observations/%lld", (long long)d->acked[0]);
    const char *reads[][3] = {
        {"GET", path, NULL},
        {"POST", "/v1/search", "{\"query\":\"disk full write\",\"project\":\"torture\"}"},
        {"POST", "/v1/context/prompt",
         "{\"project\":\"torture\",\"prompt\":\"what happened to the disk full write?\"}"},
        {"POST", "/v1/context/session-start", "{\"project\":\"torture\"}"},
        {"GET", "/v1/stats", NULL},
        {"GET", "/v1/health", NULL},
    };
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        struct http_resp r = sock_json(f, reads[i][0], reads[i][1], reads[i][2]);
        if (r.code != 200)
            fail_worker(f, "%s %s on a full disk answered %ld: %s", reads[i][0], reads[i][1],
                        r.code, r.body != NULL ? r.body : "");
        d->reads_ok++;
        http_resp_free(&r);
    }

    static const char *const env[] = {"MNEMO_AUTOSTART=0", "MNEMO_HOOK_TIMEOUT_MS=150", NULL};
    static const char *const events[] = {"user-prompt-submit", "post-tool-use", "session-start"};
    for (int i = 0; i < HOOK_RUNS; i++) {
        for (size_t e = 0; e < 3; e++) {
            char *in = claude_payload(events[e], "diskfull-session", f->dir.path);
            struct hook_result r;
            hook_text(f, env, events[e], "claude", in, &r);
            free(in);
            if (r.status != 0 || r.exit_ms > HOOK_DEADLINE_MS + HOOK_SLACK_MS) {
                dump_hook_log(f);
                fail_msg("hook %s on a full disk: status %d after %lld ms", events[e], r.status,
                         (long long)r.exit_ms);
            }
            if (r.exit_ms > d->hook_max_ms)
                d->hook_max_ms = r.exit_ms;
            d->hooks_ok++;
            hook_result_free(&r);
        }
    }
    if (doctor_says != NULL) {
        struct cu_result r = run(f, "doctor", NULL);
        cu_expect_status(&r, 1);
        cu_expect_contains(r.out, doctor_says);
        cu_result_free(&r);
    }
}

/* Removes the junk and waits until a write goes through; returns how long it took. */
static int64_t free_and_resume(struct diskfull *d, int n)
{
    assert_int_equal(unlink(d->junk), 0);
    int64_t t0 = tu_now_ms();
    while (write_obs(d, n++, 100) != 201) {
        if (tu_now_ms() - t0 > 10000)
            fail_worker(d->f, "writes did not resume within 10 s of freeing space");
        usleep(50000);
    }
    int64_t took = tu_now_ms() - t0;
    if (took > d->resume_max_ms)
        d->resume_max_ms = took;
    return took;
}

static void write_config(struct diskfull *d, int64_t floor)
{
    char text[128];
    snprintf(text, sizeof text, "{\"store.min_free_bytes\": %lld}\n", (long long)floor);
    tu_file_write(d->config, text, strlen(text));
}

static void test_torture_diskfull_writes_fail_clearly_reads_go_on_writes_resume(void **state)
{
    struct diskfull *d = *state;
    struct fixture *f = d->f;
    char opts[64];

    if (!g_private_ns) {
        print_message("skipped: no private mount namespace (needs root or CAP_SYS_ADMIN)\n");
        skip();
    }
    assert_int_equal(mkdir(f->home, 0700), 0);
    snprintf(opts, sizeof opts, "size=%dm,mode=0700", TMPFS_MB);
    if (mount("tmpfs", f->home, "tmpfs", 0, opts) != 0) {
        print_message("skipped: cannot mount a tmpfs on %s: %s (needs root)\n", f->home,
                      strerror(errno));
        skip();
    }
    d->mounted = 1;
    tort_begin(TEST_NAME);

    /* Phase 1: the floor. */
    write_config(d, FLOOR_BYTES);
    serve(f);
    int n = 0;
    for (; n < 20; n++)
        assert_int_equal(write_obs(d, n, 1000), 201);
    /* An empty WAL first: a checkpoint that truncated it later would free space again. */
    struct http_resp ck = sock_json(f, "POST", "/v1/checkpoint", "{}");
    expect_json(&ck, 200, "POST /v1/checkpoint");
    http_resp_free(&ck);
    fill_junk(d->junk, free_bytes(f->home) - LEFT_BYTES);
    /* The store re-reads the free space at most once a second: writes in that second may still
     * go through (the floor is a margin, larger than a second of writes), so wait it out. */
    usleep((MNEMO_STORE_SPACE_TTL_MS + 100) * 1000);
    int64_t t0 = tu_now_ms();
    while (write_obs(d, n++, 1000) != 507) {
        if (tu_now_ms() - t0 > 5000)
            fail_worker(f, "writes still succeed 5 s after the disk went below the floor");
        int64_t fr = free_bytes(f->home);
        if (fr > LEFT_BYTES)
            fill_junk(d->junk, fr - LEFT_BYTES);
        usleep(20000);
    }
    d->refused_floor++;
    struct http_resp h = sock_json(f, "GET", "/v1/health", NULL);
    json_t *store = json_object_get(expect_json(&h, 200, "GET /v1/health"), "store");
    const char *warning = json_string_value(json_object_get(store, "warning"));
    if (warning == NULL || strstr(warning, "disk full") == NULL)
        fail_worker(f, "health does not say the disk is full: %.3000s", h.body);
    http_resp_free(&h);
    for (int i = 0; i < 50; i++)
        if (write_obs(d, n++, 1000) == 507)
            d->refused_floor++;
    expect_reads_and_hooks_work(d, "disk full");
    int64_t resumed1 = free_and_resume(d, n);
    n += 1000;
    stop_child(f);
    expect_clean_stop(f);

    /* Phase 2: no floor, the disk filled to the last byte: SQLite's own error. */
    write_config(d, 0);
    serve(f);
    fill_junk(d->junk, INT64_C(1) << 40);
    int saw_full = 0;
    for (int i = 0; i < 20000 && !saw_full; i++)
        saw_full = write_obs(d, n++, 4000) == 507;
    if (!saw_full)
        fail_worker(f, "20000 writes of 4 KB on a full disk all succeeded");
    d->refused_full++;
    for (int i = 0; i < 50; i++)
        if (write_obs(d, n++, 4000) == 507)
            d->refused_full++;
    expect_reads_and_hooks_work(d, NULL);
    int64_t resumed2 = free_and_resume(d, n);

    /* Every acknowledged write is there; the database is sound; a clean stop. */
    stop_child(f);
    expect_clean_stop(f);
    char ic[256];
    if (!tort_integrity_ok(f->db, ic, sizeof ic))
        fail_msg("integrity_check after the disk was full: %s", ic);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT 1 FROM observations WHERE id = ?", -1, &st, NULL),
        SQLITE_OK);
    for (size_t i = 0; i < d->n_acked; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, d->acked[i]);
        if (sqlite3_step(st) != SQLITE_ROW)
            fail_msg("acknowledged observation %lld is missing", (long long)d->acked[i]);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);

    tort_figure(TEST_NAME, "tmpfs_mib", "%d", TMPFS_MB);
    tort_figure(TEST_NAME, "floor_mib", "%lld", (long long)(FLOOR_BYTES >> 20));
    tort_figure(TEST_NAME, "writes_refused_by_floor", "%lld", (long long)d->refused_floor);
    tort_figure(TEST_NAME, "writes_refused_enospc", "%lld", (long long)d->refused_full);
    tort_figure(TEST_NAME, "reads_ok_while_full", "%lld", (long long)d->reads_ok);
    tort_figure(TEST_NAME, "hooks_ok_while_full", "%lld (max %lld ms, deadline %d ms)",
                (long long)d->hooks_ok, (long long)d->hook_max_ms, HOOK_DEADLINE_MS);
    tort_figure(TEST_NAME, "resume_after_free_ms", "floor %lld, enospc %lld", (long long)resumed1,
                (long long)resumed2);
    tort_figure(TEST_NAME, "acked_writes_present", "%zu of %zu", d->n_acked, d->n_acked);
    tort_figure(TEST_NAME, "integrity_check", "ok");
}

int main(void)
{
    /* Before any thread: unshare(CLONE_NEWNS) is refused in a multi-threaded process. */
    g_private_ns =
        unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_torture_diskfull_writes_fail_clearly_reads_go_on_writes_resume, diskfull_setup,
            diskfull_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
