/*
 * test_worker_shutdown.c - the worker stops cleanly in the middle of work: SIGTERM while
 * clients keep appending events over the socket and the capture thread turns them into
 * observations. The worker must exit 0 within its grace period, leave no -wal, socket or pid
 * file, and every event it acknowledged (202) must be in the database. Under ASan this also
 * exercises the shutdown order (capture, HTTP server, maintenance, store) for use-after-free.
 */
#include "worker_procs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#define CLIENTS 3
/* How long the clients run before the SIGTERM. */
#define LOAD_BEFORE_STOP_MS 600

struct client {
    struct fixture *f;
    atomic_int *stop;
    int64_t acked;  /* 202 answers */
    int64_t failed; /* anything else (503 while stopping, refused connections) */
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    char body[512];
    int64_t i = 0;

    while (!atomic_load(c->stop)) {
        snprintf(body, sizeof body,
                 "{\"agent\":\"claude\",\"kind\":\"post-tool-use\",\"agent_session_id\":\"s-%p\","
                 "\"project\":\"shutdown-test\",\"payload\":{\"tool_name\":\"Bash\","
                 "\"tool_input\":{\"command\":\"echo %lld\"},\"tool_response\":{\"stdout\":"
                 "\"%lld\",\"exit_code\":0}}}",
                 (void *)c, (long long)i, (long long)i);
        long code = http_request(c->f->sock, "POST", "http://localhost/v1/events", body, NULL);
        if (code == 202)
            c->acked++;
        else
            c->failed++;
        i++;
        /* Once the socket is gone nothing will answer again. */
        if (code == 0 && tu_file_size(c->f->sock) < 0)
            break;
    }
    return NULL;
}

static int64_t count_events(const char *db)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;

    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM events", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void test_worker_sigterm_under_event_load_exits_0_and_keeps_every_acked_event(void **state)
{
    struct fixture *f = *state;
    pthread_t th[CLIENTS];
    struct client cl[CLIENTS];
    atomic_int stop = 0;

    /* The clients must not be throttled: every request should reach a handler. */
    f->env[2] = (char *)"MNEMO_HTTP_RATE_LIMIT=0";
    serve(f);
    for (int i = 0; i < CLIENTS; i++) {
        cl[i] = (struct client){.f = f, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, client_main, &cl[i]), 0);
    }
    usleep(LOAD_BEFORE_STOP_MS * 1000);
    int64_t t0 = tu_now_ms();
    assert_int_equal(kill(f->child, SIGTERM), 0);
    int status = wait_child(f->child, EXIT_WAIT_MS);
    int64_t stop_ms = tu_now_ms() - t0;
    atomic_store(&stop, 1);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    if (status >= 0)
        f->child = 0;
    if (status != 0)
        fail_worker(f, "the worker exited with %d after SIGTERM under load", status);

    int64_t acked = 0, failed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        acked += cl[i].acked;
        failed += cl[i].failed;
    }
    print_message("%lld events acknowledged, %lld refused; SIGTERM to exit: %lld ms\n",
                  (long long)acked, (long long)failed, (long long)stop_ms);
    assert_true(acked > 0);
    expect_clean_stop(f);
    assert_true(count_events(f->db) >= acked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_worker_sigterm_under_event_load_exits_0_and_keeps_every_acked_event, setup,
            teardown),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
