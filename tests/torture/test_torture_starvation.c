/*
 * test_torture_starvation.c - checkpoint starvation under load (CI: 2 min; MNEMO_TORTURE_LONG=1:
 * 30 min of writes). A real worker takes constant-rate event appends and new observations while
 * prompt context is requested at a constant rate, in three phases:
 *  1. baseline: no long reader;
 *  2. readers through the API that never finish: a server-sent-events stream held open and an
 *     export whose answer is never read (its connection stays open, the socket buffer full).
 *     The WAL must stay under the checkpoint threshold plus the store's slack all along, and
 *     prompt context keeps answering (its p99 is reported next to the baseline's);
 *  3. a reader the worker cannot reach: another process steps a SELECT on the database and never
 *     resets it, pinning its snapshot. No checkpoint can then reset the WAL (SQLite's rule, not
 *     mnemo's), so the growth is reported, not asserted; what is asserted is that the worker
 *     keeps answering and that once the reader ends the checkpointer brings the WAL back under
 *     the threshold on its own.
 */
#include "torture_rate.h"

#include <sys/socket.h>
#include <sys/un.h>

#define TEST_NAME       "starvation"
#define THRESHOLD_BYTES INT64_C(4194304)
#define WAL_BOUND       (THRESHOLD_BYTES + MNEMO_STORE_WAL_SLACK_BYTES)

static int starvation_setup(void **state)
{
    setup(state);
    struct fixture *f = *state;
    f->env[2] = (char *)"MNEMO_HTTP_RATE_LIMIT=0";
    return 0;
}

/* The load of every phase: writes that grow the WAL, prompt context that must stay prompt. */
static void load_ops(struct tort_op ops[3])
{
    ops[0] = (struct tort_op){.name = "events",
                              .method = "POST",
                              .path = "/v1/events",
                              .body_fn = tort_event_body,
                              .rate = 40,
                              .threads = 4,
                              .ok_code = 202};
    ops[1] = (struct tort_op){.name = "observations",
                              .method = "POST",
                              .path = "/v1/observations",
                              .body_fn = tort_obs_body,
                              .rate = 5,
                              .threads = 2,
                              .ok_code = 201};
    ops[2] = (struct tort_op){.name = "prompt_context",
                              .method = "POST",
                              .path = "/v1/context/prompt",
                              .body_fn = tort_prompt_body,
                              .rate = 10,
                              .threads = 4,
                              .ok_code = 200};
}

/* ---- readers that never finish, through the API ---------------------------------------- */

struct sse_reader {
    struct fixture *f;
    atomic_int stop;
    int64_t bytes;
};

static size_t sse_data(char *data, size_t size, size_t n, void *arg)
{
    struct sse_reader *s = arg;
    s->bytes += (int64_t)(size * n);
    return size * n;
}

static int sse_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct sse_reader *s = arg;
    return atomic_load(&s->stop) ? 1 : 0; /* non-zero aborts the transfer */
}

static void *sse_run(void *arg)
{
    struct sse_reader *s = arg;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, s->f->sock);
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/v1/stream");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, sse_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
    return NULL;
}

/* Sends an export request on a raw connection and never reads the answer; returns the fd. */
static int stalled_export(struct fixture *f)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t len = strlen(f->sock);
    assert_true(len < sizeof a.sun_path);
    memcpy(a.sun_path, f->sock, len + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static const char req[] = "GET /v1/observations/export?format=jsonl HTTP/1.1\r\n"
                              "Host: localhost\r\n\r\n";
    assert_int_equal(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    return fd;
}

/* ---- a reader outside the worker -------------------------------------------------------- */

struct pinned {
    sqlite3 *db;
    sqlite3_stmt *st;
};

static void pin_snapshot(struct fixture *f, struct pinned *p)
{
    assert_int_equal(sqlite3_open_v2(f->db, &p->db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(p->db, "SELECT id FROM events", -1, &p->st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(p->st), SQLITE_ROW); /* stepped, never reset */
}

static void unpin_snapshot(struct pinned *p)
{
    sqlite3_finalize(p->st);
    assert_int_equal(sqlite3_close(p->db), SQLITE_OK);
}

static int64_t wait_wal_below(struct fixture *f, int64_t bound, int64_t timeout_ms)
{
    int64_t t0 = tu_now_ms();
    while (tu_file_size(f->wal) > bound) {
        if (tu_now_ms() - t0 > timeout_ms)
            fail_worker(f, "the WAL is still %lld bytes %lld ms after the reader ended",
                        (long long)tu_file_size(f->wal), (long long)timeout_ms);
        usleep(50000);
    }
    return tu_now_ms() - t0;
}

static void test_torture_starvation_wal_bounded_under_never_ending_readers(void **state)
{
    struct fixture *f = *state;
    int64_t base_s = tort_long() ? 300 : 20;
    int64_t starve_s = tort_long() ? 1800 : 80;
    int64_t pin_s = tort_long() ? 60 : 15;
    struct tort_op ops[3];

    tort_begin(TEST_NAME);
    serve(f);
    tort_seed_observations(f, 3000);

    /* 1. Baseline. */
    load_ops(ops);
    struct tort_rate base = {.f = f, .ops = ops, .n_ops = 3};
    tort_rate_run(&base, base_s, 0, NULL);
    tort_figure(TEST_NAME, "rate_scale", "%.2f", TORT_RATE_SCALE);
    tort_figure(TEST_NAME, "baseline_s", "%lld", (long long)base_s);
    tort_rate_figures(TEST_NAME, "baseline_", &base);
    tort_figure(TEST_NAME, "baseline_wal_max_bytes", "%lld", (long long)base.wal_max);
    tort_rate_release(&base);
    tort_rate_expect_no_errors(f, &base, "baseline");

    /* 2. Readers through the API that never finish. */
    struct sse_reader sse = {.f = f};
    pthread_t sse_thread;
    assert_int_equal(pthread_create(&sse_thread, NULL, sse_run, &sse), 0);
    int export_fd = stalled_export(f);
    load_ops(ops);
    struct tort_rate starve = {.f = f, .ops = ops, .n_ops = 3};
    tort_rate_run(&starve, starve_s, 0, NULL);
    atomic_store(&sse.stop, 1);
    assert_int_equal(pthread_join(sse_thread, NULL), 0);
    close(export_fd);
    tort_figure(TEST_NAME, "api_readers_s", "%lld (an open event stream, an export never read)",
                (long long)starve_s);
    tort_rate_figures(TEST_NAME, "api_readers_", &starve);
    tort_figure(TEST_NAME, "api_readers_wal_max_bytes", "%lld (bound %lld)",
                (long long)starve.wal_max, (long long)WAL_BOUND);
    tort_rate_release(&starve);
    tort_rate_expect_no_errors(f, &starve, "never-ending API readers");
    if (starve.wal_max > WAL_BOUND)
        fail_worker(f, "the WAL reached %lld bytes under never-ending API readers (bound %lld)",
                    (long long)starve.wal_max, (long long)WAL_BOUND);

    /* 3. A reader outside the worker pins the WAL: reported, then the recovery asserted. */
    struct pinned pin;
    pin_snapshot(f, &pin);
    load_ops(ops);
    struct tort_rate pinned = {.f = f, .ops = ops, .n_ops = 3};
    tort_rate_run(&pinned, pin_s, 0, NULL);
    struct http_resp h = sock_json(f, "GET", "/v1/health", NULL);
    json_t *store = json_object_get(expect_json(&h, 200, "GET /v1/health"), "store");
    tort_figure(TEST_NAME, "pinned_reader_s", "%lld", (long long)pin_s);
    tort_rate_figures(TEST_NAME, "pinned_reader_", &pinned);
    tort_figure(TEST_NAME, "pinned_reader_wal_max_bytes",
                "%lld (not bounded: no checkpoint "
                "can reset a WAL another process's reader holds)",
                (long long)pinned.wal_max);
    tort_figure(TEST_NAME, "pinned_reader_health", "%s: %s",
                json_string_value(json_object_get(store, "status")),
                json_string_value(json_object_get(store, "warning")));
    http_resp_free(&h);
    tort_rate_release(&pinned);
    tort_rate_expect_no_errors(f, &pinned, "a pinned external reader");
    unpin_snapshot(&pin);
    tort_figure(TEST_NAME, "recovery_after_reader_ms", "%lld (WAL back under %lld bytes)",
                (long long)wait_wal_below(f, THRESHOLD_BYTES, 30000), (long long)THRESHOLD_BYTES);

    char ic[256];
    assert_true(tort_integrity_ok(f->db, ic, sizeof ic));
    stop_child(f);
    expect_clean_stop(f);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_torture_starvation_wal_bounded_under_never_ending_readers, starvation_setup,
            teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
